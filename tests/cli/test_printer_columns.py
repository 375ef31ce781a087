"""The columns kubectl shows beyond the common kinds: CRD printer columns, RBAC, PriorityClass, Scale, Events."""

from __future__ import annotations

import pytest

from engine import jsonpath
from engine.api import tables
from engine.clock import EPOCH
from engine.kinds import crd_types
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
    assert headers(doc) == [("NAME", "string", 0), ("SIZE", "integer", 0), ("COLOR", "string", 1)]
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
