"""`pods/ephemeralcontainers`: a pod's ephemeral containers are added through the subresource only,
which changes nothing else, never removes or changes one already there, and checks each as
upstream's validateEphemeralContainers does."""

from __future__ import annotations

import pytest
from apiserver_fixtures import ADMIN, deployment, pod

from engine.apiserver import APIError, Request
from engine.objects import set_path, thaw

DEBUGGER = {"name": "debugger", "image": "busybox", "command": ["sh"]}


def add(api, *containers: dict, name: str = "web", patch_type: str = "strategic"):
    """PATCH pods/NAME/ephemeralcontainers with `containers` (kubectl debug sends a strategic merge patch)."""
    patch = {"spec": {"ephemeralContainers": list(containers)}}
    return api.request(ADMIN, Request("patch", "", "Pod", "default", name, patch, subresource="ephemeralcontainers",
                                      patch_type=patch_type))


def refused(api, *containers: dict, **kw) -> list[str]:
    with pytest.raises(APIError) as caught:
        add(api, *containers, **kw)
    assert caught.value.code == 422 and caught.value.message.startswith('Pod "web" is invalid: ')
    return [f"{c['field']}: {c['message']}" for c in caught.value.details["causes"]]


def test_a_patch_adds_an_ephemeral_container_defaulted_as_a_container(api):
    api.create(ADMIN, pod())
    added = add(api, dict(DEBUGGER, targetContainerName="app"))
    assert thaw(added["spec"]["ephemeralContainers"]) == [{
        "name": "debugger", "image": "busybox", "command": ["sh"], "targetContainerName": "app",
        "imagePullPolicy": "Always", "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File", "resources": {}}]
    assert api.get(ADMIN, "", "Pod", "default", "web")["spec"]["ephemeralContainers"][0]["name"] == "debugger"


def test_a_get_of_the_subresource_is_the_pod(api):
    created = api.create(ADMIN, pod())
    assert api.get(ADMIN, "", "Pod", "default", "web", subresource="ephemeralcontainers") == created


def test_the_subresource_changes_nothing_but_the_ephemeral_containers(api):
    created = api.create(ADMIN, pod())
    sneaky = set_path(set_path(set_path(created, ("metadata", "labels", "tier"), "front"),
                               ("spec", "containers", 0, "image"), "nginx:9"), ("status", "phase"), "Failed")
    sneaky = set_path(sneaky, ("spec", "ephemeralContainers"), [DEBUGGER])
    updated = api.update(ADMIN, sneaky, subresource="ephemeralcontainers")
    assert updated["metadata"]["labels"] == {"app": "web"}
    assert updated["spec"]["containers"][0]["image"] == "nginx:1.25"
    assert "status" not in updated or updated["status"].get("phase") != "Failed"
    assert [c["name"] for c in updated["spec"]["ephemeralContainers"]] == ["debugger"]


def test_an_update_of_the_subresource_checks_the_resource_version(api):
    created = api.create(ADMIN, pod())
    add(api, DEBUGGER)
    with pytest.raises(APIError) as caught:
        api.update(ADMIN, set_path(created, ("spec", "ephemeralContainers"), [DEBUGGER, dict(DEBUGGER, name="two")]),
                   subresource="ephemeralcontainers")
    assert caught.value.code == 409


def test_an_existing_ephemeral_container_may_not_be_removed_or_changed(api):
    api.create(ADMIN, pod())
    add(api, DEBUGGER)
    stored = api.get(ADMIN, "", "Pod", "default", "web")
    with pytest.raises(APIError) as caught:
        api.update(ADMIN, set_path(stored, ("spec", "ephemeralContainers"), [dict(DEBUGGER, name="other")]),
                   subresource="ephemeralcontainers")
    assert [c["message"] for c in caught.value.details["causes"]] == [
        'Forbidden: existing ephemeral containers "debugger" may not be removed\n']
    changed = refused(api, {"name": "debugger", "command": ["sleep", "9"]})
    assert len(changed) == 1 and changed[0].startswith(
        'spec.ephemeralContainers: Forbidden: existing ephemeral containers "debugger" may not be changed\n')
    assert '-command: ["sh"]\n+command: ["sleep","9"]' in changed[0]


def test_a_second_ephemeral_container_is_added_beside_the_first(api):
    api.create(ADMIN, pod())
    add(api, DEBUGGER)
    stored = api.get(ADMIN, "", "Pod", "default", "web")
    both = list(thaw(stored["spec"]["ephemeralContainers"])) + [dict(DEBUGGER, name="second")]
    updated = api.update(ADMIN, set_path(stored, ("spec", "ephemeralContainers"), both), subresource="ephemeralcontainers")
    assert [c["name"] for c in updated["spec"]["ephemeralContainers"]] == ["debugger", "second"]


def test_each_ephemeral_container_is_checked_as_upstream(api):
    created = api.create(ADMIN, pod(initContainers=[{"name": "init", "image": "busybox"}]))
    assert refused(api, {"name": "app", "image": "busybox"}, {"name": "init", "image": "busybox"}) == [
        'spec.ephemeralContainers[0].name: Duplicate value: "app"',
        'spec.ephemeralContainers[1].name: Duplicate value: "init"']
    twice = [{"name": "x", "image": "busybox"}, {"name": "x", "image": "busybox"}]  # (a patch would merge them)
    with pytest.raises(APIError) as caught:
        api.update(ADMIN, set_path(created, ("spec", "ephemeralContainers"), twice), subresource="ephemeralcontainers")
    assert caught.value.details["causes"] == [{"reason": "FieldValueDuplicate", "message": 'Duplicate value: "x"',
                                               "field": "spec.ephemeralContainers[1].name"}]
    assert refused(api, {"name": "d"}) == ["spec.ephemeralContainers[0].image: Required value"]
    assert refused(api, {"name": "d", "image": "busybox", "targetContainerName": "nope"}) == [
        'spec.ephemeralContainers[0].targetContainerName: Not found: "nope"']
    assert add(api, {"name": "d", "image": "busybox", "targetContainerName": "init"})  # (an init container will do)


@pytest.mark.parametrize("field, value", [
    ("ports", [{"containerPort": 80}]),
    ("resources", {"requests": {"cpu": "1"}}),
    ("livenessProbe", {"exec": {"command": ["true"]}}),
    ("readinessProbe", {"exec": {"command": ["true"]}}),
    ("startupProbe", {"exec": {"command": ["true"]}}),
    ("lifecycle", {"preStop": {"exec": {"command": ["true"]}}}),
    ("restartPolicy", "Always"),
])
def test_what_serves_the_pod_cannot_be_set_for_an_ephemeral_container(api, field, value):
    api.create(ADMIN, pod())
    assert refused(api, dict(DEBUGGER, **{field: value})) == [
        f"spec.ephemeralContainers[0].{field}: Forbidden: cannot be set for an Ephemeral Container"]


def test_an_ephemeral_container_mounts_no_sub_path(api):
    api.create(ADMIN, pod(volumes=[{"name": "data", "emptyDir": {}}]))
    mount = {"name": "data", "mountPath": "/data", "subPath": "x"}
    assert refused(api, dict(DEBUGGER, volumeMounts=[mount])) == [
        "spec.ephemeralContainers[0].volumeMounts[0].subPath: Forbidden: cannot be set for an Ephemeral Container"]
    assert add(api, dict(DEBUGGER, volumeMounts=[{"name": "data", "mountPath": "/data"}]))


def test_a_pod_is_not_created_with_ephemeral_containers(api):
    with pytest.raises(APIError) as caught:
        api.create(ADMIN, pod(ephemeralContainers=[DEBUGGER]))
    assert "spec.ephemeralContainers: Forbidden: cannot be set on create" in caught.value.message


def test_a_pod_template_has_no_ephemeral_containers(api):
    body = deployment()
    body["spec"]["template"]["spec"]["ephemeralContainers"] = [DEBUGGER]
    with pytest.raises(APIError) as caught:
        api.create(ADMIN, body)
    assert ("spec.template.spec.ephemeralContainers: Forbidden: ephemeral containers not allowed in pod template"
            in caught.value.message)


def test_a_main_update_may_not_add_an_ephemeral_container_and_keeps_those_it_leaves_out(api):
    created = api.create(ADMIN, pod())
    with pytest.raises(APIError) as caught:
        api.update(ADMIN, set_path(created, ("spec", "ephemeralContainers"), [DEBUGGER]))
    assert "spec: Forbidden: pod updates may not change fields other than" in caught.value.message
    add(api, DEBUGGER)
    relabelled = set_path(thaw(created), ("metadata", "labels", "tier"), "front")  # (a manifest re-applied in full)
    relabelled = set_path(relabelled, ("metadata", "resourceVersion"), None)
    updated = api.update(ADMIN, relabelled)
    assert updated["metadata"]["labels"]["tier"] == "front"
    assert [c["name"] for c in updated["spec"]["ephemeralContainers"]] == ["debugger"]


def test_a_json_merge_patch_replaces_the_list_so_it_must_name_every_container(api):
    api.create(ADMIN, pod())
    add(api, DEBUGGER)
    assert refused(api, dict(DEBUGGER, name="second"), patch_type="merge") == [
        'spec.ephemeralContainers: Forbidden: existing ephemeral containers "debugger" may not be removed\n']


def test_only_the_subresource_records_its_manager_for_the_ephemeral_containers(api):
    api.create(ADMIN, pod())
    request = Request("patch", "", "Pod", "default", "web", {"spec": {"ephemeralContainers": [DEBUGGER]}},
                      subresource="ephemeralcontainers", patch_type="strategic", field_manager="kubectl-debug")
    updated = api.request(ADMIN, request)
    entry = next(e for e in updated["metadata"]["managedFields"] if e["manager"] == "kubectl-debug")
    assert entry["subresource"] == "ephemeralcontainers" and entry["operation"] == "Update"
    assert list(entry["fieldsV1"]) == ["f:spec"] and list(entry["fieldsV1"]["f:spec"]) == ["f:ephemeralContainers"]
