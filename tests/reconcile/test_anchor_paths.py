"""AnchorPaths and Engine._route: a change to a rule's object wakes it only when it touches a path the rule reads."""

from __future__ import annotations

from engine.objects import freeze, freeze_unshared, set_path, thaw
from engine.reconcile import AnchorPaths


class Decl:
    """A stand-in for a CompiledDecl: only its anchor_reads matter (hashed by identity)."""

    def __init__(self, anchor_reads):
        self.anchor_reads = anchor_reads


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


def probe_cluster(cluster):
    cluster.api.create(cluster.admin, PROBE_CRD)
    engine = cluster.rules(probe=RULES)
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
