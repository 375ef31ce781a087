"""The columns kubectl shows beyond the common kinds: CRD printer columns, RBAC, PriorityClass, Scale, Events."""

from __future__ import annotations

import pytest

from engine import jsonpath
from engine.api import tables
from engine.clock import EPOCH
from engine.kinds import BUILTIN, crd_types
from engine.objects import freeze
from engine.printers import columns
from engine.timeutil import format_time

NOW = EPOCH + 3600


def crd(columns_: list | None = None, **scale) -> dict:
    version = {"name": "v1", "served": True, "storage": True,
               "subresources": {"status": {}, **({"scale": scale} if scale else {})},
               "schema": {"openAPIV3Schema": {"type": "object"}}}
    if columns_ is not None:
        version["additionalPrinterColumns"] = columns_
    return freeze({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                   "metadata": {"name": "widgets.example.com", "resourceVersion": "7"},
                   "spec": {"group": "example.com", "scope": "Namespaced", "versions": [version],
                            "names": {"plural": "widgets", "kind": "Widget", "shortNames": ["wd"]}}})


SIZE_AND_COLOR = [{"name": "Size", "type": "integer", "jsonPath": ".spec.size"},
                  {"name": "Color", "type": "string", "jsonPath": ".spec.color", "priority": 1}]


def widget(**fields) -> dict:
    return freeze({"apiVersion": "example.com/v1", "kind": "Widget",
                   "metadata": {"name": "w1", "namespace": "default", "creationTimestamp": format_time(EPOCH)},
                   **fields})


def table(rt, *objects, **kw) -> dict:
    return tables.table(rt, list(objects), NOW, {"resourceVersion": "9"}, **kw)


def headers(doc: dict) -> list[tuple[str, str, int]]:
    return [(c["name"], c["type"], c["priority"]) for c in doc["columnDefinitions"]]


# ------------------------------------------------------------- custom kinds


def test_a_crds_printer_columns_are_the_table_in_order_with_priority_1_only_in_wide():
    rt = crd_types(crd(SIZE_AND_COLOR))
    doc = table(rt, widget(spec={"size": 3, "color": "red"}))
    assert headers(doc) == [("Name", "string", 0), ("Size", "integer", 0), ("Color", "string", 1)]
    assert doc["columnDefinitions"][1]["description"] == \
        "Custom resource definition column (in JSONPath format): .spec.size"
    assert doc["rows"][0]["cells"] == ["w1", 3, "red"]
    assert [c.name for c in columns(rt)] == ["NAME", "SIZE"]
    assert [c.fn(widget(spec={"size": 3, "color": "red"}), NOW) for c in columns(rt, wide=True)] == ["w1", "3", "red"]


def test_a_crd_without_printer_columns_shows_age_and_one_with_columns_only_those_it_declares():
    assert [c.name for c in columns(crd_types(crd()))] == ["NAME", "AGE"]
    assert [c.name for c in columns(crd_types(crd(SIZE_AND_COLOR)))] == ["NAME", "SIZE"]
    aged = crd_types(crd([*SIZE_AND_COLOR, {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}]))
    assert table(aged, widget(spec={"size": 1}))["rows"][0]["cells"] == ["w1", 1, None, "60m"]


@pytest.mark.parametrize("type_, value, cell, text", [
    ("integer", 4, 4, "4"),
    ("integer", 2.9, 2, "2"),
    ("integer", "4", None, ""),
    ("number", 2, 2.0, "2"),
    ("number", 0.25, 0.25, "0.25"),
    ("number", 2500000.0, 2500000.0, "2.5e+06"),
    ("boolean", True, True, "true"),
    ("boolean", "yes", None, ""),
    ("string", "a\nb", "a\nb", "a..."),
    ("string", 7, "7", "7"),
    ("string", False, "false", "false"),
    ("string", {"b": 1, "a": [True]}, '{"a":[true],"b":1}', '{"a":[true],"b":1}'),
    ("date", format_time(EPOCH + 3600 - 90), "90s", "90s"),
    ("date", "yesterday", "<invalid>", "<invalid>"),
    ("date", 5, None, ""),
])
def test_custom_cells_are_typed_and_printed_as_apiextensions_and_kubectl_do(type_, value, cell, text):
    rt = crd_types(crd([{"name": "X", "type": type_, "jsonPath": ".spec.x"}]))
    x = columns(rt)[1]
    obj = widget(spec={"x": value})
    assert (x.cell(obj, NOW), x.fn(obj, NOW)) == (cell, text)


def test_a_missing_field_or_a_bad_path_is_an_empty_cell():
    rt = crd_types(crd([{"name": "Gone", "type": "string", "jsonPath": ".status.gone"},
                        {"name": "Bad", "type": "string", "jsonPath": ".spec[?(@.x"}]))
    assert table(rt, widget(spec={}))["rows"][0]["cells"] == ["w1", None, None]


def test_a_condition_column_reads_through_a_jsonpath_filter():
    rt = crd_types(crd([{"name": "Ready", "type": "string",
                         "jsonPath": '.status.conditions[?(@.type=="Ready")].status'}]))
    obj = widget(status={"conditions": [{"type": "Synced", "status": "False"}, {"type": "Ready", "status": "True"}]})
    assert columns(rt)[1].fn(obj, NOW) == "True"


@pytest.mark.parametrize("path, found", [
    (".spec.size", [3]),
    ("{.spec.size}", [3]),
    (".metadata.labels.app\\.kubernetes\\.io/name", ["web"]),
    (".spec.items[-1].name", ["c"]),
    (".spec.items[*].name", ["a", "b", "c"]),
    (".spec.items[0:2].name", ["a", "b"]),
    (".spec['size']", [3]),
    (".spec.items[?(@.n > 1)].name", ["b", "c"]),
    (".spec.items[?(@.n)].name", ["a", "b", "c"]),
    (".spec.items[9].name", []),
    (".spec.nothing.deeper", []),
])
def test_jsonpath_selects_as_client_go_does(path, found):
    obj = freeze({"metadata": {"labels": {"app.kubernetes.io/name": "web"}},
                  "spec": {"size": 3, "items": [{"name": "a", "n": 1}, {"name": "b", "n": 2}, {"name": "c", "n": 3}]}})
    assert jsonpath.find(path, obj) == found


# --------------------------------------------------------------- built-ins


def test_priorityclass_columns_are_printpriorityclasss():
    pc = freeze({"metadata": {"name": "high", "creationTimestamp": format_time(EPOCH)}, "value": 1000,
                 "preemptionPolicy": "Never"})
    doc = table(BUILTIN.resolve("pc"), pc)
    assert headers(doc) == [("Name", "string", 0), ("Value", "integer", 0), ("Global-Default", "boolean", 0),
                            ("Age", "string", 0), ("PreemptionPolicy", "string", 0)]
    assert doc["rows"][0]["cells"] == ["high", 1000, False, "60m", "Never"]
    assert [c.fn(pc, NOW) for c in columns(BUILTIN.resolve("pc"))] == ["high", "1000", "false", "60m", "Never"]


@pytest.mark.parametrize("plural", ["rolebindings", "clusterrolebindings"])
def test_bindings_show_their_role_and_in_wide_their_subjects(plural):
    binding = freeze({"metadata": {"name": "b", "creationTimestamp": format_time(EPOCH)},
                      "roleRef": {"kind": "ClusterRole", "name": "view"},
                      "subjects": [{"kind": "User", "name": "alice"}, {"kind": "User", "name": "bob"},
                                   {"kind": "Group", "name": "devs"},
                                   {"kind": "ServiceAccount", "name": "sa1", "namespace": "default"}]})
    rt = BUILTIN.resolve(plural)
    assert [c.name for c in columns(rt)] == ["NAME", "ROLE", "AGE"]
    assert [c.fn(binding, NOW) for c in columns(rt, wide=True)] == \
        ["b", "ClusterRole/view", "60m", "alice, bob", "devs", "default/sa1"]


@pytest.mark.parametrize("plural", ["roles", "clusterroles"])
def test_roles_show_when_they_were_created(plural):
    doc = table(BUILTIN.resolve(plural), freeze({"metadata": {"name": "r", "creationTimestamp": format_time(EPOCH)}}))
    assert headers(doc) == [("Name", "string", 0), ("Created At", "date", 0)]
    assert doc["rows"][0]["cells"] == ["r", format_time(EPOCH)]


def test_a_scale_subresource_table_shows_desired_and_available():
    scale = freeze({"apiVersion": "autoscaling/v1", "kind": "Scale",
                    "metadata": {"name": "web", "creationTimestamp": format_time(EPOCH)},
                    "spec": {"replicas": 3}, "status": {"replicas": 2, "selector": "app=web"}})
    doc = table(BUILTIN.resolve("deploy"), scale, subresource="scale")
    assert headers(doc) == [("Name", "string", 0), ("Desired", "integer", 0), ("Available", "integer", 0),
                            ("Age", "string", 0)]
    assert doc["rows"][0]["cells"] == ["web", 3, 2, "60m"]
    custom = table(crd_types(crd(specReplicasPath=".spec.size", statusReplicasPath=".status.size")), scale,
                   subresource="scale")
    assert headers(custom)[-1] == ("Age", "date", 0) and custom["rows"][0]["cells"] == ["web", 3, 2, "60m"]


def test_a_status_subresource_table_has_the_kinds_own_columns():
    deploy = BUILTIN.resolve("deploy")
    assert headers(table(deploy, subresource="status")) == headers(table(deploy))


def test_wide_events_add_subobject_source_first_seen_count_and_name():
    event = freeze({"metadata": {"name": "web.1", "creationTimestamp": format_time(EPOCH)},
                    "involvedObject": {"kind": "Pod", "name": "web", "fieldPath": "spec.containers{app}"},
                    "type": "Normal", "reason": "Pulled", "message": " pulled \n",
                    "source": {"component": "kubelet", "host": "node-1"},
                    "firstTimestamp": format_time(EPOCH), "lastTimestamp": format_time(EPOCH + 3000), "count": 4})
    events = BUILTIN.resolve("ev")
    assert [c.name for c in columns(events)] == ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert [(c.name, c.cell(event, NOW)) for c in columns(events, wide=True)] == [
        ("LAST SEEN", "10m"), ("TYPE", "Normal"), ("REASON", "Pulled"), ("OBJECT", "pod/web"),
        ("SUBOBJECT", "spec.containers{app}"), ("SOURCE", "kubelet, node-1"), ("MESSAGE", "pulled"),
        ("FIRST SEEN", "60m"), ("COUNT", 4), ("NAME", "web.1")]
