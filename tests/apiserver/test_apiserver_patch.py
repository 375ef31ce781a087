"""Patches: JSON merge patch, JSON patch, strategic merge patch."""

from __future__ import annotations

import pytest
from apiserver_fixtures import ADMIN, deployment, pod

from engine.apiserver import APIError
from engine.objects import freeze, thaw
from engine.patch import PatchError, json_patch, merge_patch, strategic_merge_patch


@pytest.mark.parametrize("target, patch, expected", [  # RFC 7386's appendix A
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
])
def test_merge_patch_follows_rfc_7386(target, patch, expected):
    assert thaw(merge_patch(freeze(target), patch)) == expected


@pytest.mark.parametrize("ops, expected", [
    ([{"op": "add", "path": "/b", "value": 2}], {"a": [1, 2], "b": 2}),
    ([{"op": "add", "path": "/a/-", "value": 3}], {"a": [1, 2, 3]}),
    ([{"op": "add", "path": "/a/0", "value": 0}], {"a": [0, 1, 2]}),
    ([{"op": "remove", "path": "/a/1"}], {"a": [1]}),
    ([{"op": "replace", "path": "/a", "value": "x"}], {"a": "x"}),
    ([{"op": "move", "from": "/a", "path": "/b"}], {"b": [1, 2]}),
    ([{"op": "copy", "from": "/a/0", "path": "/c"}], {"a": [1, 2], "c": 1}),
    ([{"op": "test", "path": "/a/1", "value": 2}, {"op": "add", "path": "/t~1u", "value": 1}], {"a": [1, 2], "t/u": 1}),
])
def test_json_patch_follows_rfc_6902(ops, expected):
    assert thaw(json_patch(freeze({"a": [1, 2]}), ops)) == expected


@pytest.mark.parametrize("ops", [
    [{"op": "test", "path": "/a/0", "value": 9}],
    [{"op": "remove", "path": "/missing"}],
    [{"op": "replace", "path": "/a/5", "value": 1}],
    [{"op": "jump", "path": "/a"}],
])
def test_json_patch_that_does_not_apply_is_refused(ops):
    with pytest.raises(PatchError):
        json_patch(freeze({"a": [1, 2]}), ops)


def test_strategic_merge_merges_containers_by_name_and_honours_delete():
    target = freeze({"spec": {"containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "1"}],
                              "finalizers": ["x"]}})
    patch = {"spec": {"containers": [{"name": "a", "image": "2"}, {"name": "b", "$patch": "delete"},
                                     {"name": "c", "image": "3"}], "finalizers": ["y"]}}
    assert thaw(strategic_merge_patch(target, patch)) == {"spec": {
        "containers": [{"name": "a", "image": "2"}, {"name": "c", "image": "3"}], "finalizers": ["x", "y"]}}


def test_apiserver_patch_changes_only_the_patched_fields(api):
    api.create(ADMIN, deployment())
    patched = api.patch(ADMIN, "apps", "Deployment", "default", "web", {"spec": {"replicas": 3}})
    assert patched["spec"]["replicas"] == 3 and patched["metadata"]["generation"] == 2
    image = [{"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "nginx:2"}]
    patched = api.patch(ADMIN, "apps", "Deployment", "default", "web", image, "json")
    assert patched["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:2"


def test_strategic_patch_of_a_pod_image_keeps_the_other_containers(api):
    body = pod("x")
    body["spec"]["containers"].append({"name": "side", "image": "busybox:1"})
    api.create(ADMIN, body)
    patch = {"spec": {"containers": [{"name": "side", "image": "busybox:2"}]}}
    patched = api.patch(ADMIN, "", "Pod", "default", "x", patch, "strategic")
    assert [c["image"] for c in patched["spec"]["containers"]] == ["nginx:1.25", "busybox:2"]


def test_a_failing_patch_is_unprocessable_and_lands_nothing(api):
    api.create(ADMIN, deployment())
    before = api.head.revision
    with pytest.raises(APIError) as caught:
        api.patch(ADMIN, "apps", "Deployment", "default", "web", [{"op": "test", "path": "/spec/replicas", "value": 7}], "json")
    assert caught.value.code == 422 and api.head.revision == before


def test_status_patch_changes_only_status(api):
    api.create(ADMIN, deployment())
    patched = api.patch(ADMIN, "apps", "Deployment", "default", "web",
                        {"spec": {"replicas": 9}, "status": {"replicas": 1}}, subresource="status")
    assert patched["spec"]["replicas"] == 1 and patched["status"]["replicas"] == 1


def test_strategic_retain_keys_clears_the_fields_it_does_not_list():
    live = freeze({"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}, "replicas": 2}})
    patched = strategic_merge_patch(live, {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}})
    assert thaw(patched) == {"spec": {"strategy": {"type": "Recreate"}, "replicas": 2}}


def test_strategic_retain_keys_must_list_every_field_the_patch_sets():
    with pytest.raises(PatchError, match="invalid patch format of retainKeys"):
        strategic_merge_patch(freeze({"a": {}}), {"a": {"$retainKeys": ["x"], "y": 1}})
    with pytest.raises(PatchError, match="invalid patch format of retainKeys"):
        strategic_merge_patch(freeze({"a": {}}), {"a": {"$retainKeys": "x", "x": 1}})


def test_a_deployment_patched_to_recreate_as_kubectl_apply_sends_it(api):
    api.create(ADMIN, deployment("web"))
    assert api.head.get(("apps", "Deployment", "default", "web"))["spec"]["strategy"]["rollingUpdate"]
    patched = api.patch(ADMIN, "apps", "Deployment", "default", "web",
                        {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}, "strategic")
    assert thaw(patched["spec"]["strategy"]) == {"type": "Recreate"}
