"""AnchorPaths and Engine._route: a change to a rule's object wakes it only when it touches a path the rule reads."""

from __future__ import annotations

from engine.objects import freeze, freeze_unshared, set_path, thaw
from engine.reconcile import AnchorPaths


class Decl:
    """A stand-in for a CompiledDecl: only its anchor_reads (and anchor_set_only) matter (hashed
    by identity)."""

    def __init__(self, anchor_reads, anchor_set_only=()):
        self.anchor_reads, self.anchor_set_only = anchor_reads, anchor_set_only


POD = freeze({
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "p", "namespace": "demo", "resourceVersion": "1", "labels": {"app": "a"}},
    "spec": {"a": {"b": 1}, "nodeName": "n1"},
    "status": {"phase": "Pending", "message": "m"},
})


def touched(paths: AnchorPaths, decl: Decl, old, new) -> bool:
    return bool(paths.masks[decl] & paths.changed(old, new))


def test_masks_give_each_path_one_bit_and_a_whole_reader_none():
    one, two, whole = Decl((("spec",), ("status", "phase"))), Decl((("spec",),)), Decl(None)
    paths = AnchorPaths([one, two, whole])
    assert paths.masks[whole] is None
    assert paths.masks[two] & paths.masks[one] == paths.masks[two] != 0
    assert paths.masks[one] != paths.masks[two]


def test_a_status_only_change_touches_only_status_paths():
    spec, phase, message = Decl((("spec",), ("metadata", "labels"))), Decl((("status", "phase"),)), Decl((("status", "message"),))
    paths = AnchorPaths([spec, phase, message])
    new = set_path(POD, ("status", "phase"), "Running")
    assert paths.changed(POD, new) == paths.masks[phase]
    assert not touched(paths, spec, POD, new) and not touched(paths, message, POD, new)


def test_a_resource_version_change_touches_nothing_unless_read():
    labels, version, metadata = Decl((("metadata", "labels"),)), Decl((("metadata", "resourceVersion"),)), Decl((("metadata",),))
    paths = AnchorPaths([labels, version, metadata])
    new = set_path(POD, ("metadata", "resourceVersion"), "2")
    assert not touched(paths, labels, POD, new)
    assert touched(paths, version, POD, new) and touched(paths, metadata, POD, new)


def test_a_part_replaced_by_an_equal_but_distinct_object_is_not_a_change():
    paths = AnchorPaths([Decl((("spec",), ("spec", "a", "b"), ("status",)))])
    new = POD.set("spec", freeze_unshared(thaw(POD["spec"]))).set("status", freeze_unshared(thaw(POD["status"])))
    assert new["spec"] is not POD["spec"] and new["spec"]["a"] is not POD["spec"]["a"]
    assert paths.changed(POD, new) == 0


def test_equal_values_of_different_types_are_a_change():
    deep, top = Decl((("spec", "a", "b"),)), Decl((("spec",),))
    paths = AnchorPaths([deep, top])
    old, new = freeze({"spec": {"a": {"b": 1}}}), freeze({"spec": {"a": {"b": True}}})
    assert touched(paths, deep, old, new) and touched(paths, top, old, new)


def test_a_map_replaced_by_a_scalar_at_a_prefix_changes_the_deeper_paths():
    deep, other = Decl((("spec", "a", "b"),)), Decl((("spec", "nodeName"),))
    paths = AnchorPaths([deep, other])
    assert touched(paths, deep, POD, set_path(POD, ("spec", "a"), "x"))
    assert not touched(paths, other, POD, set_path(POD, ("spec", "a"), "x"))
    both = POD.set("spec", "x")
    assert touched(paths, deep, POD, both) and touched(paths, other, POD, both)


def test_versions_that_are_not_maps_touch_everything():
    paths = AnchorPaths([Decl((("spec",),))])
    assert paths.changed(None, POD) == -1
    assert paths.changed(thaw(POD), thaw(POD)) == -1


# ------------------------------------------------------------------ the engine

PROBE_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "probes.example.com"},
    "spec": {
        "group": "example.com", "scope": "Namespaced", "names": {"plural": "probes", "kind": "Probe"},
        "versions": [{
            "name": "v1", "served": True, "storage": True, "subresources": {"status": {}},
            "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}},
        }],
    },
}

RULES = """
component probe
  reads example.com/Probe
  writes example.com/Probe, example.com/Probe.status

rule spec_only for p in example.com/Probe:
  when p.spec.a == 0:
    delete p

rule status_reader for p in example.com/Probe:
  when p.status.b == "never":
    delete p

rule whole for p in example.com/Probe:
  let q = p
  when q.spec.a == 0:
    delete p

rule setter for p in example.com/Probe:
  set p.status.f = "mine"

rule labels for p in example.com/Probe:
  when p.metadata.labels.app == "never":
    delete p
"""


STATUS_WRITER = """
component probe
  reads example.com/Probe
  writes example.com/Probe.status
"""


def probe_cluster(cluster, rules: str = RULES):
    """The Probe CRD, `rules`, and one probe `p` (spec.a = 1), converged."""
    cluster.api.create(cluster.admin, PROBE_CRD)
    engine = cluster.rules(probe=rules)
    cluster.api.create(cluster.admin, {"apiVersion": "example.com/v1", "kind": "Probe",
                                       "metadata": {"name": "p", "namespace": "demo"}, "spec": {"a": 1}})
    assert cluster.run().converged
    return engine


def evaluated_after(cluster, engine, patch: dict, subresource: str | None = None) -> set[str]:
    """The rules evaluated again after `patch` to the probe (and the run that follows)."""
    before = dict(engine.evaluations)
    cluster.api.patch(cluster.admin, "example.com", "Probe", "demo", "p", patch, subresource=subresource)
    assert cluster.run().converged
    return {name.split("/")[1] for name, count in engine.evaluations.items() if count != before.get(name, 0)}


def test_a_status_only_update_wakes_the_readers_of_that_status_and_of_the_whole_object(cluster):
    engine = probe_cluster(cluster)
    assert evaluated_after(cluster, engine, {"status": {"b": "x"}}, "status") == {"status_reader", "whole"}


def test_a_rule_setting_a_field_reasserts_it_when_another_writer_changes_it(cluster):
    engine = probe_cluster(cluster)
    assert evaluated_after(cluster, engine, {"status": {"f": "theirs"}}, "status") == {"setter", "whole"}
    assert cluster.get("Probe", "p")["status"]["f"] == "mine"
    assert evaluated_after(cluster, engine, {"status": {"other": 1}}, "status") == {"whole"}
    assert cluster.get("Probe", "p")["status"] == {"f": "mine", "other": 1}


def test_a_label_change_wakes_the_readers_of_labels(cluster):
    engine = probe_cluster(cluster)
    assert evaluated_after(cluster, engine, {"metadata": {"labels": {"app": "web"}}}) == {"labels", "whole"}


def test_a_spec_change_wakes_the_readers_of_spec(cluster):
    engine = probe_cluster(cluster)
    assert evaluated_after(cluster, engine, {"spec": {"a": 2}}) == {"spec_only", "whole"}


def test_a_shortcut_below_the_top_is_followed(cluster):
    """`d.spec.template.labels.tier` reads the template's metadata.labels (the template has no
    `labels` of its own): a change there wakes the rule."""
    cluster.rules(tier="""
component tier
  reads apps/Deployment
  writes apps/Deployment

rule tier for d in apps/Deployment:
  set d.metadata.annotations["tier"] = default(d.spec.template.labels.tier, "none")
""")
    cluster.api.create(cluster.admin, {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "demo"},
        "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web", "tier": "fe"}},
                              "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}})
    assert cluster.run().converged
    cluster.api.patch(cluster.admin, "apps", "Deployment", "demo", "web",
                      {"spec": {"template": {"metadata": {"labels": {"tier": "be"}}}}})
    assert cluster.run().converged
    assert cluster.get("Deployment", "web")["metadata"]["annotations"]["tier"] == "be"


def test_a_field_gone_is_not_a_field_set_to_null(cluster):
    """With `labels: null` at the top, `p.labels` is that null; once the key is gone, it is
    `p.metadata.labels`."""
    crd = thaw(PROBE_CRD)  # (one that keeps fields it does not know at the top as well)
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["x-kubernetes-preserve-unknown-fields"] = True
    cluster.api.create(cluster.admin, crd)
    cluster.rules(probe=STATUS_WRITER + """
rule lab for p in example.com/Probe:
  set p.status.app = p.labels.app
""")
    cluster.api.create(cluster.admin, {"apiVersion": "example.com/v1", "kind": "Probe", "labels": None,
                                       "metadata": {"name": "p", "namespace": "demo", "labels": {"app": "web"}},
                                       "spec": {}})
    assert cluster.run().converged
    assert (cluster.get("Probe", "p").get("status") or {}).get("app") is None
    cluster.api.patch(cluster.admin, "example.com", "Probe", "demo", "p", {"labels": None})  # removes the key
    assert cluster.run().converged
    assert cluster.get("Probe", "p")["status"]["app"] == "web"


def test_a_failed_instance_is_tried_again_at_any_change_of_its_object(cluster):
    """The API server refuses the annotation (the object would be too large); removing another
    annotation, which the rule does not read, mends it: the rule is tried at once, not at the end
    of its back-off."""
    engine = cluster.rules(mark="""
component mark
  reads ConfigMap
  writes ConfigMap

rule mark for cm in ConfigMap:
  set cm.metadata.annotations["mark"] = "x" * 100
""")
    cluster.api.create(cluster.admin, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
        "name": "c", "namespace": "demo", "annotations": {"big": "y" * (256 * 1024 - 10)}}})
    cluster.run(seconds=0)
    assert engine.failures
    cluster.api.patch(cluster.admin, "", "ConfigMap", "demo", "c", {"metadata": {"annotations": {"big": None}}})
    cluster.run(seconds=0)  # no time passes
    assert cluster.get("ConfigMap", "c")["metadata"]["annotations"]["mark"] == "x" * 100


# ------------------------------------------------- what a rule only sets, and lookups

SETTER = """
component probe
  reads example.com/Probe, ConfigMap
  writes example.com/Probe.status, ConfigMap

rule setter for p in example.com/Probe:
  set p.status.f = p.spec.a

rule mirror for p in example.com/Probe:
  let cm = ConfigMap[p.namespace, "mirror"]
  when cm != null:
    set cm.data.a = str(p.spec.a)

rule reader for p in example.com/Probe:
  let cm = ConfigMap[p.namespace, "mirror"]
  set p.status.b = default(cm.data.b, "none")
"""


def test_a_rules_own_write_does_not_wake_it_again(cluster):
    engine = probe_cluster(cluster, SETTER)
    assert cluster.get("Probe", "p")["status"]["f"] == 1
    assert engine.evaluations["probe/setter"] == 1  # not once more for the status it wrote
    # another writer setting what the rule wants changes nothing it reads: it stays asleep
    assert evaluated_after(cluster, engine, {"status": {"f": 1, "other": 2}}, "status") == set()
    # … and setting something else wakes it, and it sets its value again
    assert evaluated_after(cluster, engine, {"status": {"f": 7}}, "status") == {"setter"}
    assert cluster.get("Probe", "p")["status"]["f"] == 1


def test_a_value_of_another_type_is_not_the_value_wanted(cluster):
    engine = probe_cluster(cluster, SETTER)
    assert evaluated_after(cluster, engine, {"status": {"f": True}}, "status") == {"setter"}
    assert cluster.get("Probe", "p")["status"]["f"] == 1


def test_a_looked_up_object_wakes_the_rule_only_for_what_it_reads(cluster):
    engine = probe_cluster(cluster, SETTER)
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "mirror", "namespace": "demo"},
          "data": {"b": "x"}}
    before = dict(engine.evaluations)
    cluster.api.create(cluster.admin, cm)  # created: every rule that looked it up wakes
    assert cluster.run().converged
    assert cluster.get("ConfigMap", "mirror")["data"] == {"a": "1", "b": "x"}
    assert cluster.get("Probe", "p")["status"]["b"] == "x"
    woken = {n.split("/")[1] for n, c in engine.evaluations.items() if c != before.get(n, 0)}
    assert woken == {"mirror", "reader"}  # (mirror's own write of data.a woke nobody)

    def patched(data: dict) -> set[str]:
        before = dict(engine.evaluations)
        cluster.api.patch(cluster.admin, "", "ConfigMap", "demo", "mirror", {"data": data})
        assert cluster.run().converged
        return {n.split("/")[1] for n, c in engine.evaluations.items() if c != before.get(n, 0)}

    assert patched({"c": "y"}) == set()  # read by no rule
    assert patched({"b": "z"}) == {"reader"}
    assert cluster.get("Probe", "p")["status"]["b"] == "z"
    assert patched({"a": "9"}) == {"mirror"}  # not what it wants there: it sets it back
    assert cluster.get("ConfigMap", "mirror")["data"]["a"] == "1"
    cluster.api.delete(cluster.admin, "", "ConfigMap", "demo", "mirror")
    before = dict(engine.evaluations)
    assert cluster.run().converged
    assert {n.split("/")[1] for n, c in engine.evaluations.items() if c != before.get(n, 0)} == {"mirror", "reader"}
    assert cluster.get("Probe", "p")["status"]["b"] == "none"


def test_rules_that_set_one_field_differently_are_still_caught_fighting(cluster):
    """`b` loses the field to `a` in the round they both set it; `a`'s write, holding what `a`
    wanted, must not put `a` to sleep so that `b` wins unseen the next round."""
    cluster.rules(fight="""
component fight
  reads ConfigMap
  writes ConfigMap

rule a for cm in ConfigMap:
  set cm.data.v = "1"

rule b for cm in ConfigMap:
  when cm.data.w != "done":
    set cm.data.v = "2"
    set cm.data.w = "done"
""")
    cluster.api.create(cluster.admin, {"apiVersion": "v1", "kind": "ConfigMap",
                                       "metadata": {"name": "c", "namespace": "demo"}})
    result = cluster.run()
    assert not result.converged
    assert "fight/a sets ConfigMap demo/c data.v to '1' but fight/b sets it to '2'" in result.message


def test_a_key_holding_null_is_not_a_key_set_to_null(cluster):
    """`set p.status.f = null` deletes the key; a writer that stores `f: null` changed that."""
    cluster.api.create(cluster.admin, PROBE_CRD)
    cluster.rules(probe=STATUS_WRITER + """
rule clear for p in example.com/Probe:
  set p.status.f = null
  set p.status.g = "mine"
""")
    cluster.api.create(cluster.admin, {"apiVersion": "example.com/v1", "kind": "Probe",
                                       "metadata": {"name": "p", "namespace": "demo"}, "spec": {}})
    assert cluster.run().converged
    obj = thaw(cluster.get("Probe", "p"))
    obj["status"]["f"] = None
    cluster.api.update(cluster.admin, obj, subresource="status")
    assert "f" in cluster.get("Probe", "p")["status"]
    assert cluster.run().converged
    assert thaw(cluster.get("Probe", "p")["status"]) == {"g": "mine"}


def test_a_removed_rule_leaves_nothing_behind_even_without_dependencies(cluster, tmp_path):
    """A failing instance that read nothing (no dependencies) is dropped with its rule: its
    back-off timer must not fire for a rule that is gone."""
    from engine.rules import load_rules

    engine = cluster.rules(a="""
component a
  reads ConfigMap
  writes ConfigMap

rule a for cm in ConfigMap:
  set cm.data.v = str(int(cm.metadata.name) + 1)
""", b="""
component b
  reads ConfigMap
  writes ConfigMap

rule b for cm in ConfigMap:
  set cm.data.w = "1"
""")
    cluster.api.create(cluster.admin, {"apiVersion": "v1", "kind": "ConfigMap",
                                       "metadata": {"name": "c", "namespace": "demo"}})
    assert cluster.run(seconds=0).failures  # `a` fails: "c" is no number
    (tmp_path / "rules" / "a.rules").unlink()
    engine.set_rules(load_rules(tmp_path / "rules"))
    result = cluster.run(seconds=10)  # (past the back-off of `a`)
    assert result.converged and not result.failures
    assert not [inst for inst in (*engine.wanted, *engine.inst_timer, *engine.failures) if inst[0].name == "a"]


WHERE_RULES = """
component probe
  reads example.com/Probe
  writes example.com/Probe, example.com/Probe.status

rule gated for p in example.com/Probe where p.metadata.labels.stage == "go":
  set p.status.seen = p.spec.a

rule open for p in example.com/Probe:
  when p.spec.a == -1:
    delete p
"""


def test_an_instance_whose_where_failed_wakes_only_for_what_its_where_reads(cluster):
    engine = probe_cluster(cluster, WHERE_RULES)
    # dormant (no `stage: go` label): what its body would read does not wake it
    assert evaluated_after(cluster, engine, {"spec": {"a": 2}}) == {"open"}
    assert evaluated_after(cluster, engine, {"metadata": {"labels": {"stage": "wait"}}}) == {"gated"}
    assert "seen" not in (cluster.get("Probe", "p").get("status") or {})
    # its `where` holds now: awake, and its body's reads wake it again
    assert evaluated_after(cluster, engine, {"metadata": {"labels": {"stage": "go"}}}) == {"gated"}
    assert cluster.get("Probe", "p")["status"]["seen"] == 2
    assert evaluated_after(cluster, engine, {"spec": {"a": 3}}) == {"gated", "open"}
    assert cluster.get("Probe", "p")["status"]["seen"] == 3
    # dormant again once its `where` fails
    assert evaluated_after(cluster, engine, {"metadata": {"labels": {"stage": None}}}) == {"gated"}
    assert evaluated_after(cluster, engine, {"spec": {"a": 4}}) == {"open"}


GATE_RULES = """
component probe
  reads example.com/Probe, ConfigMap
  writes example.com/Probe.status

rule gated for p in example.com/Probe where ConfigMap["demo", "gate"].data.open == "yes":
  set p.status.open = true
"""


def test_a_dormant_instance_wakes_for_what_its_where_reads_of_a_lookup_and_only_that(cluster):
    cluster.api.create(cluster.admin, {"apiVersion": "v1", "kind": "ConfigMap",
                                       "metadata": {"name": "gate", "namespace": "demo"}, "data": {"open": "no"}})
    engine = probe_cluster(cluster, GATE_RULES)
    before = engine.evaluations["probe/gated"]
    cluster.api.patch(cluster.admin, "", "ConfigMap", "demo", "gate", {"metadata": {"labels": {"unread": "x"}}})
    assert cluster.run().converged
    assert engine.evaluations["probe/gated"] == before  # (not a path its `where` reads)
    cluster.api.patch(cluster.admin, "", "ConfigMap", "demo", "gate", {"data": {"open": "yes"}})
    assert cluster.run().converged
    assert cluster.get("Probe", "p")["status"]["open"] is True


GUARD_RULES = """
component probe
  reads example.com/Probe, ConfigMap
  writes example.com/Probe, example.com/Probe.status

rule guarded for p in example.com/Probe where p.metadata.labels.skip != "yes":
  let limit = default(p.spec.limit, 10)
  when p.spec.a > limit:
    let cm = ConfigMap["demo", p.spec.config]
    set p.status.over = str(p.spec.a) + default(cm.data.note, "") + default(p.spec.note, "")
"""


def test_an_instance_whose_guard_failed_wakes_only_for_its_where_lets_and_guard(cluster):
    """`lets…; when c: …`: while c is false the block's reads (spec.note, spec.config, the
    ConfigMap it would look up) do not wake the rule; the guard's own reads and the lets' do."""
    engine = probe_cluster(cluster, GUARD_RULES)
    assert not [d for d in engine.inst_deps[next(i for i in engine.inst_deps if i[0].name == "guarded")]
                if d[0] == "field"]  # (the lookup inside the block was not made)
    assert evaluated_after(cluster, engine, {"spec": {"note": "n", "config": "c"}}) == set()
    assert evaluated_after(cluster, engine, {"spec": {"limit": 5}}) == {"guarded"}  # (a let's read)
    assert evaluated_after(cluster, engine, {"spec": {"a": 7}}) == {"guarded"}
    assert cluster.get("Probe", "p")["status"]["over"] == "7n"
    # awake now: the block's reads wake it
    assert evaluated_after(cluster, engine, {"spec": {"note": "m"}}) == {"guarded"}
    assert cluster.get("Probe", "p")["status"]["over"] == "7m"
    # dormant by its `where`: only what the `where` reads wakes it, not the guard's reads
    assert evaluated_after(cluster, engine, {"metadata": {"labels": {"skip": "yes"}}}) == {"guarded"}
    assert evaluated_after(cluster, engine, {"spec": {"a": 8, "limit": 1}}) == set()
    assert evaluated_after(cluster, engine, {"metadata": {"labels": {"skip": None}}}) == {"guarded"}
    assert cluster.get("Probe", "p")["status"]["over"] == "8m"
