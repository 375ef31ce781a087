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


def test_a_new_file_with_a_component_in_force_is_refused_whatever_its_name(cluster):
    """The copy is blamed and the running rules stay, whether its name sorts before the
    original's (`greeting-copy` before `greeting`) or after it (`zz-greeting`)."""
    for copy in ("greeting-copy", "zz-greeting"):
        folder = cluster.tmp_path / "rules"
        for old in folder.glob("*.rules") if folder.exists() else ():
            old.unlink()
        cluster.rules(greeting=PAINT.format(color="red"))
        configmap(cluster, copy)
        errors = reload(cluster, **{copy: PAINT.format(color="blue")})
        assert [(e.path.rsplit("/", 1)[-1], e.line, e.col) for e in errors] == [(f"{copy}.rules", 1, 11)], copy
        assert errors[0].message == (f"component 'painter' is already defined in {folder / 'greeting.rules'}:1:11, "
                                     "which stays in force; rename this one")
        assert [c.path.rsplit("/", 1)[-1] for c in cluster.engine.rules.components] == ["greeting.rules"]
        assert cluster.run().converged
        assert {cm["metadata"]["labels"]["color"] for cm in cluster.list("ConfigMap")} == {"red"}


def test_a_component_two_files_define_at_a_fresh_start_loads_from_neither(cluster):
    from engine.rules import RuleSet

    folder = cluster.tmp_path / "rules"
    folder.mkdir()
    (folder / "greeting.rules").write_text(PAINT.format(color="red").lstrip())
    (folder / "zz-greeting.rules").write_text("# a copy\n" + PAINT.format(color="blue").lstrip())
    rules, errors = reload_rules(folder, RuleSet(()))
    assert rules.components == ()
    [error] = errors
    assert error.message == (f"component 'painter' is defined by 2 files ({folder / 'greeting.rules'}:1:11, "
                             f"{folder / 'zz-greeting.rules'}:2:11); none of them is loaded until one is "
                             "renamed or removed")
