"""Fields a rule sets that the API server drops (a CRD's schema does not declare them): a warning
naming the rule, the fields and the schema, the same on every run, and no fight."""

from __future__ import annotations

import copy

from engine.crd import pruned_fields
from engine.reconcile import DroppedFields, Engine
from engine.rules import load_rules

SPEC_ONLY = {"type": "object", "properties": {
    "spec": {"type": "object", "properties": {"size": {"type": "integer"}}}}}

WITH_STATUS = {"type": "object", "properties": {
    **SPEC_ONLY["properties"],
    "status": {"type": "object", "properties": {"seen": {"type": "string"}}}}}


def widget_crd(schema: dict) -> dict:
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com"},
            "spec": {"group": "example.com", "scope": "Namespaced",
                     "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
                     "versions": [{"name": "v1", "served": True, "storage": True,
                                   "subresources": {"status": {}},
                                   "schema": {"openAPIV3Schema": copy.deepcopy(schema)}}]}}


# `mark` writes the ConfigMap `status` reads: `status` sets its field again in the round after a
# round that changed the state, which (the set changing nothing) brings no new state.
WIDGETS = """
component widget-controller
  reads example.com/Widget, ConfigMap
  writes ConfigMap, example.com/Widget.status

rule mark for w in example.com/Widget:
  let cm = ConfigMap[w.namespace, w.name]
  when cm != null:
    set cm.data.seen = "yes"

rule status for w in example.com/Widget:
  let cm = ConfigMap[w.namespace, w.name]
  set w.status.seen = default(cm.data.seen, "no")
"""


def widget_cluster(cluster, schema: dict = SPEC_ONLY):
    cluster.api.create(cluster.admin, widget_crd(schema))
    cluster.api.create(cluster.admin, {"apiVersion": "example.com/v1", "kind": "Widget",
                                       "metadata": {"name": "w", "namespace": "demo"}, "spec": {"size": 1}})
    cluster.api.create(cluster.admin, {"apiVersion": "v1", "kind": "ConfigMap",
                                       "metadata": {"name": "w", "namespace": "demo"}})
    cluster.rules(widgets=WIDGETS)
    return cluster


def dropped(result) -> list[DroppedFields]:
    return [f for f in result.failures if isinstance(f, DroppedFields)]


def test_fields_the_schema_does_not_declare_are_a_warning_not_a_fight(cluster):
    result = widget_cluster(cluster).run()
    assert result.converged, result.message
    [warning] = dropped(result)
    assert warning.rule == "widget-controller/status"
    assert warning.location.endswith("widgets.rules:12")  # the set
    assert warning.key == ("example.com", "Widget", "demo", "w")
    assert warning.fields == (("status", "seen"),)
    head, source, caret = warning.format().split("\n")
    assert head.endswith(
        "widgets.rules:12:3: rule widget-controller/status sets status.seen of example.com/Widget demo/w, but the "
        "API server drops it: the schema of CustomResourceDefinition widgets.example.com (v1) does not declare status")
    assert (source, caret) == ('      set w.status.seen = default(cm.data.seen, "no")', "      ^")
    assert "status" not in cluster.get("Widget", "w")
    assert cluster.get("ConfigMap", "w")["data"] == {"seen": "yes"}


def test_every_run_gives_the_same_outcome_while_the_fields_are_dropped(cluster):
    first = widget_cluster(cluster).run()
    again = cluster.run()  # the same engine, nothing to do
    cluster.engine = Engine(cluster.api, load_rules(cluster.tmp_path / "rules"), cluster.clock)  # a new process
    fresh = cluster.run()
    assert first.converged and again.converged and fresh.converged, (first.message, fresh.message)
    assert [f.format() for f in first.failures] == [f.format() for f in again.failures] \
        == [f.format() for f in fresh.failures]
    assert len(dropped(fresh)) == 1


def test_declaring_the_fields_in_the_schema_ends_the_warning_and_keeps_them(cluster):
    widget_cluster(cluster).run()
    crd = cluster.get("CustomResourceDefinition", "widgets.example.com", "")
    cluster.api.update(cluster.admin, {**crd, "spec": widget_crd(WITH_STATUS)["spec"]})
    result = cluster.run()
    assert result.converged and result.failures == (), [f.format() for f in result.failures]
    assert cluster.get("Widget", "w")["status"] == {"seen": "yes"}


FIGHT = """
component a
  reads example.com/Widget
  writes example.com/Widget.status

rule one for w in example.com/Widget:
  when default(w.status.seen, "") != "a":
    set w.status = {seen: "a", extra: 1}

component b
  reads example.com/Widget
  writes example.com/Widget.status

rule two for w in example.com/Widget:
  when w.status.seen == "a":
    set w.status = {seen: "b", extra: 2}
"""


def test_a_fight_over_fields_the_schema_partly_drops_is_still_a_fight(cluster):
    cluster.api.create(cluster.admin, widget_crd(WITH_STATUS))
    cluster.api.create(cluster.admin, {"apiVersion": "example.com/v1", "kind": "Widget",
                                       "metadata": {"name": "w", "namespace": "demo"}, "spec": {"size": 1}})
    a, b = FIGHT.split("component b")
    cluster.rules(a=a, b="component b" + b)
    result = cluster.run()
    assert not result.converged
    assert "rules fight: a/one, b/two keep undoing each other" in result.message, result.message


def test_a_status_the_schema_declares_is_set_without_a_warning(cluster):
    result = widget_cluster(cluster, WITH_STATUS).run()
    assert result.converged and result.failures == ()
    assert cluster.get("Widget", "w")["status"] == {"seen": "yes"}


def test_pruned_fields_follow_the_schema_as_pruning_does():
    schema = {"type": "object", "properties": {
        "spec": {"type": "object", "properties": {
            "ports": {"type": "array", "items": {"type": "object", "properties": {"port": {"type": "integer"}}}},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            "raw": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}}}
    assert pruned_fields(schema, ("status", "replicas"), 1) == [("status",)]
    assert pruned_fields(schema, ("spec", "size"), 1) == [("spec", "size")]
    assert pruned_fields(schema, ("spec", "ports"), [{"port": 80, "name": "http"}]) == [("spec", "ports", 0, "name")]
    assert pruned_fields(schema, ("spec", "ports", 0, "port"), 80) == []
    assert pruned_fields(schema, ("spec", "labels", "app"), "web") == []
    assert pruned_fields(schema, ("spec", "raw", "anything", "deep"), 1) == []
    assert pruned_fields(schema, ("metadata", "labels", "app"), "web") == []
    assert pruned_fields(None, ("status", "replicas"), 1) == []


UNDECLARED_BUILT_IN = """
component writer
  reads ConfigMap
  writes ConfigMap

rule spec for c in ConfigMap where c.name == "c":
  set c.spec.replicas = 3
  set c.data.seen = "yes"

rule copy for c in ConfigMap where c.name == "c":
  create ConfigMap from {metadata: {name: "copy", labels: {app: "web"}}, dta: {a: "b"}, data: {a: "b"}}
"""


def test_fields_a_built_in_kind_does_not_declare_are_dropped_with_a_warning_at_the_set(cluster):
    cluster.api.create(cluster.admin, {"apiVersion": "v1", "kind": "ConfigMap",
                                       "metadata": {"name": "c", "namespace": "demo"}})
    cluster.rules(writer=UNDECLARED_BUILT_IN)
    result = cluster.run()
    assert result.converged, result.message
    stored = cluster.get("ConfigMap", "c")
    assert "spec" not in stored and stored["data"] == {"seen": "yes"}  # (the declared set stays)
    copy = cluster.get("ConfigMap", "copy")
    assert "dta" not in copy and copy["data"] == {"a": "b"} and copy["metadata"]["labels"] == {"app": "web"}
    [warning] = dropped(result)
    assert warning.rule == "writer/spec" and warning.fields == (("spec", "replicas"),)
    head, source, caret = warning.format().split("\n")
    assert head.endswith("writer.rules:6:3: rule writer/spec sets spec.replicas of ConfigMap demo/c, but the API "
                         "server drops it: the schema of v1 ConfigMap does not declare spec")
    assert (source, caret) == ("      set c.spec.replicas = 3", "      ^")
    again = cluster.run()  # (dropped, the field is wanted again at every evaluation: no fight, no write)
    assert again.converged and len(dropped(again)) == 1
    assert cluster.get("ConfigMap", "c") is stored


def test_undeclared_fields_of_a_built_in_kind_follow_its_type():
    from engine.kinds import BUILTIN
    from engine.request import drop_undeclared, undeclared_fields

    deploy = BUILTIN.named("apps", "Deployment")
    template = {"metadata": {"labels": {"any-key": "kept"}}, "spec": {"containers": [{"name": "a", "imag": "x"}]}}
    assert undeclared_fields(deploy, "v1", ("spec", "template"), template) == [
        ("spec", "template", "spec", "containers", 0, "imag")]
    assert undeclared_fields(deploy, "v1", ("spec", "replics"), 2) == [("spec", "replics")]
    assert undeclared_fields(deploy, "v1", ("metadata", "annotations", "x"), "y") == []
    body = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "bogus": 1,
            "spec": {"replicas": 1, "template": template}}
    kept = drop_undeclared(deploy, body)
    assert "bogus" not in kept and kept["spec"]["template"]["spec"]["containers"] == [{"name": "a"}]
    assert body["bogus"] == 1 and "imag" in template["spec"]["containers"][0]  # (the caller's value is kept)
