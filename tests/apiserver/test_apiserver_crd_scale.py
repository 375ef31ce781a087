"""A CRD's scale subresource reads and writes the paths it declares."""

from __future__ import annotations

import pytest
from apiserver_fixtures import ADMIN

from engine.apiserver import APIError, Request
from engine.objects import thaw

SCHEMA = {
    "type": "object",
    "properties": {
        "spec": {"type": "object", "properties": {"size": {"type": "integer"}, "color": {"type": "string"}}},
        "status": {"type": "object", "properties": {"size": {"type": "integer"}, "selector": {"type": "string"}}},
    },
}


def crd(**scale) -> dict:
    return {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com", "scope": "Namespaced",
            "names": {"plural": "widgets", "kind": "Widget", "shortNames": ["wd"]},
            "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": SCHEMA},
                          "subresources": {"status": {}, "scale": scale}}],
        },
    }


PATHS = {"specReplicasPath": ".spec.size", "statusReplicasPath": ".status.size",
         "labelSelectorPath": ".status.selector"}


@pytest.fixture
def widget(api):
    api.create(ADMIN, crd(**PATHS))
    api.create(ADMIN, {"apiVersion": "example.com/v1", "kind": "Widget",
                       "metadata": {"name": "w1", "namespace": "default"}, "spec": {"size": 2, "color": "red"}})
    api.patch(ADMIN, "example.com", "Widget", "default", "w1", {"status": {"size": 5, "selector": "app=w"}},
              subresource="status")
    return api


def test_a_custom_scale_reads_the_declared_replicas_and_selector_paths(widget):
    scale = widget.get(ADMIN, "example.com", "Widget", "default", "w1", subresource="scale")
    assert thaw(scale["spec"]) == {"replicas": 2}
    assert thaw(scale["status"]) == {"replicas": 5, "selector": "app=w"}


def test_a_custom_scale_without_a_selector_path_has_no_selector(api):
    api.create(ADMIN, crd(specReplicasPath=".spec.size", statusReplicasPath=".status.size"))
    api.create(ADMIN, {"apiVersion": "example.com/v1", "kind": "Widget",
                       "metadata": {"name": "w1", "namespace": "default"}, "spec": {"size": 2}})
    scale = api.get(ADMIN, "example.com", "Widget", "default", "w1", subresource="scale")
    assert thaw(scale["status"]) == {"replicas": 0}  # (selector is omitempty upstream)


def test_scaling_a_custom_resource_writes_its_spec_replicas_path(widget):
    scaled = widget.patch(ADMIN, "example.com", "Widget", "default", "w1", {"spec": {"replicas": 3}},
                          subresource="scale")
    assert scaled["kind"] == "Scale" and scaled["spec"]["replicas"] == 3 and scaled["status"]["replicas"] == 5
    stored = widget.get(ADMIN, "example.com", "Widget", "default", "w1")
    assert thaw(stored["spec"]) == {"size": 3, "color": "red"}
    assert stored["metadata"]["generation"] == 2


def test_a_negative_scale_of_a_custom_resource_is_invalid(widget):
    with pytest.raises(APIError) as caught:
        widget.patch(ADMIN, "example.com", "Widget", "default", "w1", {"spec": {"replicas": -1}}, subresource="scale")
    assert caught.value.code == 422
    assert widget.get(ADMIN, "example.com", "Widget", "default", "w1")["spec"]["size"] == 2


def refusal(api, body) -> APIError:
    with pytest.raises(APIError) as caught:
        api.create(ADMIN, body)
    assert caught.value.code == 422
    return caught.value


SCALE = "spec.versions[0].subresources.scale"


@pytest.mark.parametrize("paths, message", [
    ({**PATHS, "specReplicasPath": ".status.size"},
     f'{SCALE}.specReplicasPath: Invalid value: ".status.size": should be a json path under .spec'),
    ({**PATHS, "statusReplicasPath": "status.size"},
     f'{SCALE}.statusReplicasPath: Invalid value: "status.size": must be a simple json path starting with .'),
    ({**PATHS, "labelSelectorPath": ".metadata.labels"},
     f'{SCALE}.labelSelectorPath: Invalid value: ".metadata.labels": should be a json path under either .spec or .status'),
    ({"statusReplicasPath": ".status.size"}, f"{SCALE}.specReplicasPath: Required value"),
    ({**PATHS, "specReplicasPath": ".spec"}, f'{SCALE}.specReplicasPath: Invalid value: ".spec": should be a json path under .spec'),
])
def test_scale_paths_must_be_simple_json_paths_where_upstream_allows_them(api, paths, message):
    error = refusal(api, crd(**paths))
    assert message in error.message
    assert any(c["field"].startswith(SCALE) for c in error.details["causes"])


def crd_with_columns(*columns) -> dict:
    body = crd(**PATHS)
    body["spec"]["versions"][0]["additionalPrinterColumns"] = list(columns)
    return body


COLUMNS = "spec.versions[0].additionalPrinterColumns"


@pytest.mark.parametrize("column, message", [
    ({"name": "Size", "type": "int", "jsonPath": ".spec.size"},
     f'{COLUMNS}[0].type: Invalid value: "int": must be one of boolean,date,integer,number,string'),
    ({"name": "Size", "jsonPath": ".spec.size"},
     f"{COLUMNS}[0].type: Required value: must be one of boolean,date,integer,number,string"),
    ({"type": "integer", "jsonPath": ".spec.size"}, f"{COLUMNS}[0].name: Required value"),
    ({"name": "Size", "type": "integer", "format": "percent", "jsonPath": ".spec.size"},
     f'{COLUMNS}[0].format: Invalid value: "percent": must be one of byte,date,date-time,double,float,int32,int64,password'),
    ({"name": "Size", "type": "integer", "jsonPath": "spec.size"},
     f'{COLUMNS}[0].JSONPath: Invalid value: "spec.size": must be a simple json path starting with .'),
    ({"name": "Size", "type": "integer"}, f"{COLUMNS}[0].JSONPath: Required value"),
])
def test_printer_columns_are_validated_as_apiextensions_does(api, column, message):
    error = refusal(api, crd_with_columns(column))
    assert message in error.message
    assert error.details["causes"][0]["field"].startswith(f"{COLUMNS}[0]")


def test_valid_printer_columns_and_scale_paths_are_accepted(api):
    api.create(ADMIN, crd_with_columns({"name": "Size", "type": "integer", "format": "int32", "jsonPath": ".spec.size"},
                                       {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}))


def test_a_custom_scale_write_manages_the_declared_spec_replicas_path(widget):
    widget.request(ADMIN, Request("patch", "example.com", "Widget", "default", "w1", {"spec": {"replicas": 4}},
                                  subresource="scale", field_manager="kubectl"))
    stored = widget.get(ADMIN, "example.com", "Widget", "default", "w1")
    [scale_entry] = [e for e in stored["metadata"]["managedFields"] if e.get("subresource") == "scale"]
    assert thaw(scale_entry["fieldsV1"]) == {"f:spec": {"f:size": {}}}
    assert scale_entry["operation"] == "Update" and scale_entry["apiVersion"] == "example.com/v1"
