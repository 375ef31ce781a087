"""A CRD's scale subresource reads and writes the paths it declares."""

from __future__ import annotations

import pytest
from apiserver_fixtures import ADMIN

from engine.apiserver import APIError
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
