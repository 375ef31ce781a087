"""ReplicationController (core v1): served, defaulted and validated as upstream, with its scale and
status subresources and its orphaning default on delete."""

from __future__ import annotations

import pytest
from apiserver_fixtures import ADMIN, refused

from engine.apiserver import APIError
from engine.kinds import BUILTIN
from engine.objects import thaw
from engine.printers import columns
from engine.validation import validate


def rc(name: str = "web", selector: dict | None = None, labels: dict | None = None, **spec) -> dict:
    body = {
        "template": {"metadata": {"labels": labels if labels is not None else {"app": name}},
                     "spec": {"containers": [{"name": "app", "image": "nginx:1.25"}]}},
        **spec,
    }
    if selector is not None:
        body["selector"] = selector
    return {"apiVersion": "v1", "kind": "ReplicationController", "metadata": {"name": name, "namespace": "default"},
            "spec": body}


def test_kubectl_names_resolve_to_the_core_kind_in_category_all():
    for name in ("rc", "replicationcontrollers", "replicationcontroller", "ReplicationController"):
        rt = BUILTIN.resolve(name)
        assert (rt.group, rt.version, rt.kind) == ("", "v1", "ReplicationController")
    rt = BUILTIN.resolve("rc")
    assert rt.namespaced and rt.categories == ("all",) and rt.subresources == {"status", "scale"}
    assert rt.short_names == ("rc",) and rt.list_kind == "ReplicationControllerList"


def test_the_selector_and_labels_default_to_the_templates_labels_and_one_replica(api):
    made = api.create(ADMIN, rc(labels={"app": "web", "tier": "fe"}))
    assert made["spec"]["selector"] == {"app": "web", "tier": "fe"}
    assert made["metadata"]["labels"] == {"app": "web", "tier": "fe"}
    assert made["spec"]["replicas"] == 1
    template = made["spec"]["template"]["spec"]
    assert template["restartPolicy"] == "Always" and template["dnsPolicy"] == "ClusterFirst"
    assert template["containers"][0]["imagePullPolicy"] == "IfNotPresent"
    assert made["metadata"]["generation"] == 1
    assert made["status"] == {"replicas": 0}  # (PrepareForCreate's zero status: replicas is never omitted)


def test_a_given_selector_and_labels_are_kept(api):
    body = rc(selector={"app": "web"}, labels={"app": "web", "tier": "fe"}, replicas=0)
    body["metadata"]["labels"] = {"team": "a"}
    made = api.create(ADMIN, body)
    assert made["spec"]["selector"] == {"app": "web"} and made["metadata"]["labels"] == {"team": "a"}
    assert made["spec"]["replicas"] == 0


def test_a_selector_that_does_not_select_the_template_is_refused(api):
    message = refused(api, rc(selector={"app": "db"}))
    assert message == ('ReplicationController "web" is invalid: spec.template.metadata.labels: Invalid value: '
                       'map[string]string{"app":"web"}: `selector` does not match template `labels`')


def test_a_template_without_labels_leaves_the_selector_empty_and_required(api):
    message = refused(api, rc(labels={}))
    assert message == 'ReplicationController "web" is invalid: spec.selector: Required value'


def test_replicas_and_min_ready_seconds_may_not_be_negative(api):
    message = refused(api, rc(replicas=-1, minReadySeconds=-2))
    assert message == ('ReplicationController "web" is invalid: [spec.minReadySeconds: Invalid value: -2: must be '
                       'greater than or equal to 0, spec.replicas: Invalid value: -1: must be greater than or equal '
                       'to 0]')


def test_the_template_is_required_and_its_pods_restart_always_without_a_deadline(api):
    body = rc(selector={"app": "web"})
    del body["spec"]["template"]
    assert refused(api, body) == 'ReplicationController "web" is invalid: spec.template: Required value'
    body = rc()
    body["spec"]["template"]["spec"].update(restartPolicy="OnFailure", activeDeadlineSeconds=10)
    assert refused(api, body) == (
        'ReplicationController "web" is invalid: [spec.template.spec.restartPolicy: Unsupported value: "OnFailure": '
        'supported values: "Always", spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in '
        'ReplicationController is not Supported]')


def test_the_selector_may_change_unlike_a_replicasets(api):
    api.create(ADMIN, rc(labels={"app": "web", "tier": "fe"}))
    body = thaw(api.get(ADMIN, "", "ReplicationController", "default", "web"))
    body["spec"]["selector"] = {"tier": "fe"}
    updated = api.update(ADMIN, body)
    assert updated["spec"]["selector"] == {"tier": "fe"} and updated["metadata"]["generation"] == 2
    body = thaw(updated)
    body["spec"]["selector"] = {"tier": "be"}
    assert "`selector` does not match template `labels`" in refused(api, body, update=True)


def test_a_status_write_may_not_count_more_ready_than_existing_replicas(api):
    made = thaw(api.create(ADMIN, rc()))
    made["status"] = {"replicas": 1, "readyReplicas": 2, "availableReplicas": 1}
    with pytest.raises(APIError) as caught:
        api.update(ADMIN, made, subresource="status")
    assert caught.value.message == ('ReplicationController "web" is invalid: status.readyReplicas: Invalid value: 2: '
                                    'cannot be greater than status.replicas')
    made["status"] = {"replicas": 2, "readyReplicas": 2, "availableReplicas": 2, "fullyLabeledReplicas": 2}
    assert api.update(ADMIN, made, subresource="status")["status"]["readyReplicas"] == 2


def test_the_scale_subresource_reads_and_writes_replicas_with_the_selector_as_text(api):
    api.create(ADMIN, rc(replicas=2, labels={"app": "web", "tier": "fe"}))
    scale = api.get(ADMIN, "", "ReplicationController", "default", "web", subresource="scale")
    assert (scale["kind"], scale["spec"], scale["status"]) == (
        "Scale", {"replicas": 2}, {"replicas": 0, "selector": "app=web,tier=fe"})
    api.patch(ADMIN, "", "ReplicationController", "default", "web", {"spec": {"replicas": 5}}, subresource="scale")
    stored = api.get(ADMIN, "", "ReplicationController", "default", "web")
    assert stored["spec"]["replicas"] == 5 and stored["metadata"]["generation"] == 2


def test_a_delete_naming_no_policy_orphans_the_pods_as_v1_always_did(api):
    api.create(ADMIN, rc())
    left = api.delete(ADMIN, "", "ReplicationController", "default", "web")
    assert left["metadata"]["finalizers"] == ["orphan"] and left["metadata"]["deletionTimestamp"]
    api.create(ADMIN, rc("other"))
    assert api.delete(ADMIN, "", "ReplicationController", "default", "other", propagation="Background") is None
    api.create(ADMIN, rc("third"))
    left = api.delete(ADMIN, "", "ReplicationController", "default", "third", propagation="Foreground")
    assert left["metadata"]["finalizers"] == ["foregroundDeletion"]


def test_validation_of_a_replication_controller_alone():
    rt = BUILTIN.by_kind("", "ReplicationController")
    ok = {"apiVersion": "v1", "kind": "ReplicationController", "metadata": {"name": "web", "namespace": "default"},
          "spec": {"replicas": 1, "selector": {"app": "web"},
                   "template": {"metadata": {"labels": {"app": "web"}},
                                "spec": {"restartPolicy": "Always", "containers": [{"name": "c", "image": "x"}]}}}}
    assert validate(rt, ok) == []
    bad = {**ok, "spec": {**ok["spec"], "selector": {"app": 3}}}
    assert [e.message() for e in validate(rt, bad)] == ["spec.selector[app]: Invalid value: 3: must be of type string"]


def test_kubectl_get_columns_are_upstreams():
    rt = BUILTIN.by_kind("", "ReplicationController")
    assert [c.name for c in columns(rt)] == ["NAME", "DESIRED", "CURRENT", "READY", "AGE"]
    wide = columns(rt, wide=True)
    assert [c.name for c in wide] == ["NAME", "DESIRED", "CURRENT", "READY", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"]
    obj = {"metadata": {"name": "web", "creationTimestamp": "2026-01-01T00:00:00Z"},
           "spec": {"replicas": 3, "selector": {"tier": "fe", "app": "web"},
                    "template": {"spec": {"containers": [{"name": "a", "image": "nginx"}, {"name": "b", "image": "x"}]}}},
           "status": {"replicas": 2, "readyReplicas": 1}}
    assert [c.cell(obj, 60.0 + 1767225600) for c in wide] == [
        "web", 3, 2, 1, "60s", "a,b", "nginx,x", "app=web,tier=fe"]
