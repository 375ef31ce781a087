"""Hot reload: changed rule files are swapped in; broken ones keep their last good version."""

from __future__ import annotations

from engine.rules import reload_rules

PAINT = """
component painter
  reads ConfigMap
  writes ConfigMap

rule paint for cm in ConfigMap:
  set cm.metadata.labels.color = "{color}"
"""

COUNT = """
component counter
  reads ConfigMap
  writes ConfigMap

rule count for cm in ConfigMap:
  set cm.metadata.annotations.seen = "yes"
"""


def configmap(cluster, name: str) -> None:
    cluster.api.create(cluster.admin, {"apiVersion": "v1", "kind": "ConfigMap",
                                       "metadata": {"name": name, "namespace": "demo"}})


def reload(cluster, **files: str):
    folder = cluster.tmp_path / "rules"
    for name, text in files.items():
        (folder / f"{name}.rules").write_text(text.lstrip())
    rules, errors = reload_rules(folder, cluster.engine.rules)
    cluster.engine.set_rules(rules)
    return errors


def test_a_changed_rule_file_is_swapped_in_and_its_instances_reevaluated(cluster):
    engine = cluster.rules(paint=PAINT.format(color="red"), count=COUNT)
    configmap(cluster, "a")
    configmap(cluster, "b")
    assert cluster.run().converged
    counted = engine.evaluations["counter/count"]
    assert reload(cluster, paint=PAINT.format(color="blue")) == []
    assert cluster.run().converged
    assert {cm["metadata"]["labels"]["color"] for cm in cluster.list("ConfigMap")} == {"blue"}
    # the unchanged rule is not re-evaluated: not for the reload itself, nor for the new label
    # (it reads only the annotation of its ConfigMap)
    assert engine.evaluations["counter/count"] - counted == 0


def test_a_broken_rule_file_is_reported_and_its_previous_version_stays_in_force(cluster):
    cluster.rules(paint=PAINT.format(color="red"))
    configmap(cluster, "a")
    cluster.run()
    errors = reload(cluster, paint=PAINT.format(color="blue").replace("set cm", "set"))
    assert len(errors) == 1 and errors[0].path.endswith("paint.rules")
    assert errors[0].line == 6
    configmap(cluster, "b")
    assert cluster.run().converged
    assert cluster.get("ConfigMap", "b")["metadata"]["labels"]["color"] == "red"


def test_fixing_the_broken_file_applies_it(cluster):
    cluster.rules(paint=PAINT.format(color="red"))
    configmap(cluster, "a")
    cluster.run()
    reload(cluster, paint="component painter\n  reads ConfigMap\nrule oops for")
    assert reload(cluster, paint=PAINT.format(color="green")) == []
    cluster.run()
    assert cluster.get("ConfigMap", "a")["metadata"]["labels"]["color"] == "green"


def test_a_removed_rule_file_stops_its_rules(cluster):
    engine = cluster.rules(paint=PAINT.format(color="red"), count=COUNT)
    configmap(cluster, "a")
    cluster.run()
    (cluster.tmp_path / "rules" / "count.rules").unlink()
    rules, errors = reload_rules(cluster.tmp_path / "rules", engine.rules)
    engine.set_rules(rules)
    before = engine.evaluations.get("counter/count", 0)
    configmap(cluster, "b")
    cluster.run()
    assert engine.evaluations.get("counter/count", 0) == before
    assert "seen" not in (cluster.get("ConfigMap", "b")["metadata"].get("annotations") or {})
