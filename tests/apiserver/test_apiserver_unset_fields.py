"""API writes store what upstream's decode stores: a null is the field unset, and a built-in kind's
empty map or list is no map or list at all, while an empty struct (`emptyDir: {}`) stays; custom
resources lose the nulls their schema does not call `nullable`.  Writing back what was read, in
any of the ways kubectl does (replace, strategic patch, rollout undo's JSON patch, apply), changes
nothing."""

from __future__ import annotations

import copy

from apiserver_fixtures import ADMIN, deployment

from engine.objects import get_path, thaw
from engine.request import Request

MANAGER = "kubectl"  # an API write names its field manager; the rules' writes do not


def write(api, verb: str, body, kind: str = "Deployment", group: str = "apps", name: str = "web",
          patch_type: str = "merge", namespace: str = "default"):
    """One API write, as the HTTP API submits it."""
    return api.request(ADMIN, Request(verb, group, kind, namespace, name if verb != "create" else None, body,
                                      patch_type=patch_type, field_manager=MANAGER))


def created(api) -> dict:
    return thaw(write(api, "create", deployment()))


def test_replacing_a_deployment_with_what_kubectl_sends_changes_nothing(api):
    before = created(api)
    body = copy.deepcopy(before)
    template = body["spec"]["template"]
    template["metadata"].update(creationTimestamp=None, annotations={})
    template["spec"].update(nodeSelector=None, tolerations=[], affinity=None)
    template["spec"]["containers"][0].update(env=[], args=None)
    body["status"] = {}
    after = thaw(write(api, "update", body))
    assert after["spec"]["template"] == before["spec"]["template"]
    assert after["metadata"]["generation"] == 1


def test_a_strategic_null_for_an_annotation_the_template_lacks_leaves_no_annotations(api):
    before = created(api)
    patch = {"spec": {"template": {"metadata": {"annotations": {"x": None}}}}}
    after = thaw(write(api, "patch", patch, patch_type="strategic"))
    assert "annotations" not in after["spec"]["template"]["metadata"]
    assert after["metadata"]["generation"] == before["metadata"]["generation"]


def test_rollout_undos_json_patch_restores_the_very_same_template(api):
    before = created(api)
    write(api, "patch", {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}}}},
          patch_type="strategic")
    template = copy.deepcopy(before["spec"]["template"])  # as kubectl serialises the old ReplicaSet's
    template["metadata"]["creationTimestamp"] = None
    ops = [{"op": "replace", "path": "/spec/template", "value": template}]
    after = thaw(write(api, "patch", ops, patch_type="json"))
    assert after["spec"]["template"] == before["spec"]["template"]


def test_a_merge_patch_of_an_empty_map_stores_no_map(api):
    created(api)
    after = thaw(write(api, "patch", {"spec": {"template": {"spec": {"nodeSelector": {}}}}}))
    assert "nodeSelector" not in after["spec"]["template"]["spec"]


def test_empty_structs_stay_where_empty_maps_and_lists_go(api):
    body = deployment()
    spec = body["spec"]["template"]["spec"]
    spec.update(volumes=[{"name": "scratch", "emptyDir": {}}], securityContext={}, nodeSelector={})
    spec["containers"][0].update(resources={}, ports=[], volumeMounts=[{"name": "scratch", "mountPath": "/s"}])
    stored = thaw(write(api, "create", body))["spec"]["template"]["spec"]
    assert stored["volumes"] == [{"name": "scratch", "emptyDir": {}}]
    assert stored["securityContext"] == {} and stored["containers"][0]["resources"] == {}
    assert "nodeSelector" not in stored and "ports" not in stored["containers"][0]


def test_a_null_label_value_is_an_empty_string_as_in_a_go_map(api):
    body = deployment()
    body["metadata"]["labels"] = {"team": None, "app": "web"}
    assert thaw(write(api, "create", body))["metadata"]["labels"] == {"team": "", "app": "web"}


def test_server_side_apply_stores_no_nulls(api):
    config = deployment()
    config["spec"]["template"]["metadata"]["creationTimestamp"] = None
    config["spec"]["template"]["spec"]["nodeSelector"] = {}
    stored = thaw(write(api, "patch", config, patch_type="apply"))
    assert stored["spec"]["template"]["metadata"] == {"labels": {"app": "web"}}
    assert "nodeSelector" not in stored["spec"]["template"]["spec"]


def test_writes_without_a_field_manager_are_taken_as_written(api):
    # the rules' writes: the placeholder EndpointSlice's `endpoints: []` is what its rule means
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "default"}, "data": {}}
    assert thaw(api.create(ADMIN, body))["data"] == {}
    assert "data" not in thaw(write(api, "create", dict(body, metadata={"name": "d", "namespace": "default"}),
                                    kind="ConfigMap", group=""))


# ------------------------------------------------------------ free-form parts and custom resources

SCHEMA = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "properties": {
                "size": {"type": "integer"},
                "color": {"type": "string", "default": "red"},
                "note": {"type": "string", "nullable": True},
                "owner": {"type": "string"},
                "tags": {"type": "object", "additionalProperties": {"type": "string"}},
                "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            },
            "example": {"size": None, "tags": {}},
        },
    },
}


def crd() -> dict:
    return {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
                 "names": {"plural": "widgets", "kind": "Widget"},
                 "versions": [{"name": "v1", "served": True, "storage": True, "subresources": {"status": {}},
                               "schema": {"openAPIV3Schema": copy.deepcopy(SCHEMA)}}]},
    }


def test_free_form_parts_of_a_built_in_kind_keep_their_nulls_and_empties(api):
    stored = thaw(write(api, "create", crd(), kind="CustomResourceDefinition", group="apiextensions.k8s.io",
                        namespace=None))
    version = stored["spec"]["versions"][0]
    assert version["subresources"] == {"status": {}}  # an empty status subresource still enables it
    assert version["schema"]["openAPIV3Schema"]["properties"]["spec"]["example"] == {"size": None, "tags": {}}


def test_a_custom_resource_loses_the_nulls_its_schema_does_not_call_nullable(api):
    write(api, "create", crd(), kind="CustomResourceDefinition", group="apiextensions.k8s.io", namespace=None)
    body = {"apiVersion": "example.com/v1", "kind": "Widget",
            "metadata": {"name": "w", "namespace": "default", "annotations": {}},
            "spec": {"size": 3, "color": None, "note": None, "owner": None, "tags": {}, "extra": {"a": None}}}
    stored = thaw(write(api, "create", body, kind="Widget", group="example.com"))
    assert stored["spec"] == {"size": 3, "color": "red", "note": None, "tags": {}, "extra": {"a": None}}
    assert "annotations" not in stored["metadata"]


def test_a_merge_patch_null_for_a_custom_resources_missing_annotation_leaves_none(api):
    write(api, "create", crd(), kind="CustomResourceDefinition", group="apiextensions.k8s.io", namespace=None)
    body = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "default"},
            "spec": {"size": 3}}
    write(api, "create", body, kind="Widget", group="example.com")
    after = write(api, "patch", {"metadata": {"annotations": {"x": None}}}, kind="Widget", group="example.com",
                  name="w")
    assert get_path(after, "metadata", "annotations") is None
