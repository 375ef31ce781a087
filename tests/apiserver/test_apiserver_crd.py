"""CustomResourceDefinitions: registering kinds, schema validation, unknown kinds."""

from __future__ import annotations

import copy

import pytest
from apiserver_fixtures import ADMIN

from engine.apiserver import APIError, Request
from engine.kinds import UnknownKind
from engine.objects import set_path, thaw

SCHEMA = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "required": ["size"],
            "properties": {
                "size": {"type": "integer", "minimum": 1, "maximum": 10},
                "color": {"type": "string", "enum": ["red", "blue"], "default": "red"},
                "port": {"x-kubernetes-int-or-string": True},
            },
        },
        "status": {"type": "object", "properties": {"ready": {"type": "boolean"}}},
    },
}


def crd(scope: str = "Namespaced", **names) -> dict:
    return {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com", "scope": scope,
            "names": {"plural": "widgets", "kind": "Widget", "shortNames": ["wd"], "categories": ["all"], **names},
            "versions": [{"name": "v1", "served": True, "storage": True, "subresources": {"status": {}},
                          "schema": {"openAPIV3Schema": copy.deepcopy(SCHEMA)}}],
        },
    }


def widget(name: str = "w", **spec) -> dict:
    return {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": name, "namespace": "default"},
            "spec": {"size": 3, **spec}}


def refusal(api, body) -> APIError:
    with pytest.raises(APIError) as caught:
        api.create(ADMIN, body)
    return caught.value


def test_an_object_of_an_unknown_kind_asks_for_its_crd(api):
    error = refusal(api, widget())
    assert error.code == 404
    assert error.message == ('no matches for kind "Widget" in group "example.com": ensure its '
                             "CustomResourceDefinition is installed first")


def test_a_crd_registers_its_kind_names_and_scope(api):
    created = api.create(ADMIN, crd())
    rt = api.registry.resolve("widgets.example.com")
    assert (rt.kind, rt.plural, rt.singular, rt.short_names, rt.namespaced) == ("Widget", "widgets", "widget", ("wd",), True)
    assert api.registry.resolve("wd") is rt and rt.subresources == frozenset({"status"})
    assert rt in api.registry.category("all")
    conditions = {c["type"]: c["status"] for c in created["status"]["conditions"]}
    assert conditions == {"NamesAccepted": "True", "Established": "True"}
    assert created["spec"]["names"]["listKind"] == "WidgetList"


def test_custom_objects_are_validated_by_the_schema_with_field_paths(api):
    api.create(ADMIN, crd())
    assert refusal(api, widget(size="big")).message == (
        'Widget.example.com "w" is invalid: spec.size: Invalid value: "string": '
        'spec.size in body must be of type integer: "big"')
    assert refusal(api, widget(size=11)).message == (
        'Widget.example.com "w" is invalid: spec.size: Invalid value: 11: spec.size in body should be less than or equal to 10')
    assert refusal(api, widget(color="green")).message == (
        'Widget.example.com "w" is invalid: spec.color: Unsupported value: "green": supported values: "red", "blue"')
    body = widget()
    del body["spec"]["size"]
    assert refusal(api, body).message == 'Widget.example.com "w" is invalid: spec.size: Required value'


def test_custom_objects_get_schema_defaults_and_lose_unknown_fields(api):
    api.create(ADMIN, crd())
    created = api.create(ADMIN, widget(port="http", extra="dropped"))
    assert thaw(created["spec"]) == {"size": 3, "color": "red", "port": "http"}
    assert created["metadata"]["generation"] == 1


def test_custom_status_subresource_is_separate(api):
    api.create(ADMIN, crd())
    created = api.create(ADMIN, {**widget(), "status": {"ready": True}})
    assert "status" not in created
    ready = api.update(ADMIN, set_path(created, ("status", "ready"), True), subresource="status")
    assert ready["status"]["ready"] is True and ready["metadata"]["generation"] == 1
    grown = api.update(ADMIN, set_path(ready, ("spec", "size"), 4))
    assert grown["metadata"]["generation"] == 2 and grown["status"]["ready"] is True


def test_a_crd_and_its_objects_can_land_in_one_submit(api):
    api.submit(ADMIN, [Request("create", "apiextensions.k8s.io", "CustomResourceDefinition", None, None, crd()),
                       Request("create", "example.com", "Widget", "default", None, widget())])
    assert api.get(ADMIN, "example.com", "Widget", "default", "w")["spec"]["size"] == 3


def test_cluster_scoped_custom_objects_have_no_namespace(api):
    api.create(ADMIN, crd(scope="Cluster"))
    created = api.create(ADMIN, widget())
    assert "namespace" not in created["metadata"]


def test_deleting_a_crd_removes_its_kind_and_objects(api):
    api.create(ADMIN, crd())
    api.create(ADMIN, widget())
    api.delete(ADMIN, "apiextensions.k8s.io", "CustomResourceDefinition", None, "widgets.example.com")
    assert api.head.keys("example.com", "Widget") == []
    assert api.registry.get("example.com", "Widget") is None


@pytest.mark.parametrize("change, message", [
    (lambda c: c["metadata"].update(name="gadgets.example.com"),
     'metadata.name: Invalid value: "gadgets.example.com": must be spec.names.plural+"."+spec.group'),
    (lambda c: c["spec"].update(group="example"), 'spec.group: Invalid value: "example": should be a domain with at least one dot'),
    (lambda c: c["spec"]["versions"][0].update(storage=False), "must have exactly one version marked as storage version"),
    (lambda c: c["spec"]["versions"][0].pop("schema"), "spec.versions[0].schema.openAPIV3Schema: Required value: schemas are required"),
    (lambda c: c["spec"].update(scope="Global"), 'spec.scope: Unsupported value: "Global": supported values: "Cluster", "Namespaced"'),
])
def test_crd_definition_errors(api, change, message):
    body = crd()
    change(body)
    assert message in refusal(api, body).message


def test_schema_with_a_bad_type_is_refused(api):
    body = crd()
    body["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["type"] = "thing"
    assert refusal(api, body).message.endswith(
        "spec.versions[0].schema.openAPIV3Schema.properties[spec].type: Unsupported value: \"thing\": "
        'supported values: "array", "boolean", "integer", "number", "object", "string"')
    items = crd()
    items["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"] = {
        "tags": {"type": "array", "items": {"type": "strng"}}}
    assert ('spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[tags].items.type: '
            'Unsupported value: "strng"') in refusal(api, items).message


def test_updating_a_crd_updates_its_registered_names(api):
    created = api.create(ADMIN, crd())
    api.update(ADMIN, set_path(created, ("spec", "names", "shortNames"), ["wdg"]))
    assert api.registry.resolve("wdg").kind == "Widget"
    assert api.registry.find_kind("Widget").group == "example.com"
    with pytest.raises(UnknownKind):
        api.registry.resolve("wd")


def test_a_crd_may_not_take_a_built_in_kind(api):
    body = crd()
    body["metadata"]["name"] = "endpointslices.discovery.k8s.io"
    body["spec"]["group"] = "discovery.k8s.io"
    body["spec"]["names"].update(plural="endpointslices", kind="EndpointSlice")
    assert 'spec.names.kind: Invalid value: "EndpointSlice": conflicts with a built-in kind' in refusal(api, body).message
