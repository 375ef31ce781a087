"""Graceful deletion, finalizers and the namespace lifecycle."""

from __future__ import annotations

import pytest
from apiserver_fixtures import ADMIN, namespace, pod

from engine.apiserver import APIError
from engine.objects import set_path

CM = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "finalizers": ["example.com/keep"]}}


def test_an_object_without_finalizers_disappears_at_once(api):
    api.create(ADMIN, {**CM, "metadata": {"name": "c"}})
    assert api.delete(ADMIN, "", "ConfigMap", "default", "c") is None
    assert api.head.get(("", "ConfigMap", "default", "c")) is None


def test_finalizers_keep_an_object_until_an_update_empties_them(api):
    api.create(ADMIN, CM)
    api.clock.advance(5)
    marked = api.delete(ADMIN, "", "ConfigMap", "default", "c")
    assert marked["metadata"]["deletionTimestamp"] == "2026-01-01T00:00:05Z"
    assert marked["metadata"]["deletionGracePeriodSeconds"] == 0
    assert "generation" not in marked["metadata"]  # a ConfigMap has none to bump
    last = api.update(ADMIN, set_path(marked, ("metadata", "finalizers"), []))
    assert api.head.get(("", "ConfigMap", "default", "c")) is None
    # answered with the object as it last was (upstream's registry), not with nothing
    assert last["metadata"]["name"] == "c" and not last["metadata"].get("finalizers")
    assert last["metadata"]["deletionTimestamp"] == "2026-01-01T00:00:05Z"
    assert last["metadata"]["resourceVersion"] == str(api.head.revision)


def test_deleting_an_object_already_being_deleted_makes_no_revision(api):
    api.create(ADMIN, CM)
    api.delete(ADMIN, "", "ConfigMap", "default", "c")
    before = api.head.revision
    api.delete(ADMIN, "", "ConfigMap", "default", "c")
    assert api.head.revision == before


def test_no_new_finalizers_on_an_object_being_deleted(api):
    api.create(ADMIN, CM)
    marked = api.delete(ADMIN, "", "ConfigMap", "default", "c")
    with pytest.raises(APIError) as caught:
        api.update(ADMIN, set_path(marked, ("metadata", "finalizers"), ["example.com/keep", "example.com/more"]))
    assert "no new finalizers can be added if the object is being deleted" in caught.value.message


def test_an_unbound_pod_disappears_at_once(api):
    api.create(ADMIN, pod("x"))
    assert api.delete(ADMIN, "", "Pod", "default", "x") is None


def test_a_bound_pod_waits_for_the_kubelet_to_confirm_with_grace_zero(api):
    api.create(ADMIN, pod("x", nodeName="node-1"))
    marked = api.delete(ADMIN, "", "Pod", "default", "x")
    assert marked["metadata"]["deletionTimestamp"] == "2026-01-01T00:00:30Z"  # now + terminationGracePeriodSeconds
    assert marked["metadata"]["deletionGracePeriodSeconds"] == 30
    before = api.head.revision
    assert api.delete(ADMIN, "", "Pod", "default", "x")["metadata"]["deletionGracePeriodSeconds"] == 30
    assert api.head.revision == before  # a repeated delete is a no-op
    assert api.delete(ADMIN, "", "Pod", "default", "x", grace_period=0) is None


def test_a_delete_may_shorten_the_grace_period(api):
    api.create(ADMIN, pod("x", nodeName="node-1"))
    api.delete(ADMIN, "", "Pod", "default", "x", grace_period=60)
    shorter = api.delete(ADMIN, "", "Pod", "default", "x", grace_period=10)
    assert shorter["metadata"]["deletionGracePeriodSeconds"] == 10
    assert shorter["metadata"]["deletionTimestamp"] == "2026-01-01T00:00:10Z"


def test_a_finished_pod_disappears_at_once_even_when_bound(api):
    created = api.create(ADMIN, pod("x", nodeName="node-1"))
    api.update(ADMIN, set_path(created, ("status", "phase"), "Succeeded"), subresource="status")
    assert api.delete(ADMIN, "", "Pod", "default", "x") is None


def test_a_bound_pod_with_finalizers_stays_after_grace_zero_until_they_go(api):
    body = pod("x", nodeName="node-1")
    body["metadata"]["finalizers"] = ["example.com/keep"]
    api.create(ADMIN, body)
    api.delete(ADMIN, "", "Pod", "default", "x")
    stays = api.delete(ADMIN, "", "Pod", "default", "x", grace_period=0)
    assert stays["metadata"]["deletionGracePeriodSeconds"] == 0
    assert api.update(ADMIN, set_path(stays, ("metadata", "finalizers"), []))["metadata"]["name"] == "x"
    assert api.head.get(("", "Pod", "default", "x")) is None


def test_deleting_a_missing_object_is_not_found(api):
    with pytest.raises(APIError) as caught:
        api.delete(ADMIN, "apps", "Deployment", "default", "ghost")
    assert caught.value.message == 'deployments.apps "ghost" not found'


# ------------------------------------------------------------ namespaces


def test_creating_in_a_missing_namespace_is_not_found(api):
    with pytest.raises(APIError) as caught:
        api.create(ADMIN, pod("x", namespace="nowhere"))
    assert (caught.value.code, caught.value.message) == (404, 'namespaces "nowhere" not found')


def test_namespace_delete_marks_it_terminating_until_its_finalizer_is_removed(api):
    api.create(ADMIN, namespace("demo"))
    api.create(ADMIN, pod("x", namespace="demo"))
    terminating = api.delete(ADMIN, "", "Namespace", None, "demo")
    assert terminating["status"]["phase"] == "Terminating"
    assert terminating["metadata"]["deletionTimestamp"] == "2026-01-01T00:00:00Z"
    with pytest.raises(APIError) as caught:
        api.create(ADMIN, pod("y", namespace="demo"))
    assert caught.value.code == 403
    assert caught.value.message == ('pods "y" is forbidden: unable to create new content in namespace demo '
                                    "because it is being terminated")
    # the namespace controller: empty the namespace, then finalize
    api.delete(ADMIN, "", "Pod", "demo", "x")
    finalized = set_path(terminating, ("spec", "finalizers"), [])
    assert list(api.update(ADMIN, finalized, subresource="finalize")["spec"]["finalizers"]) == []
    assert api.head.get(("", "Namespace", "", "demo")) is None


def test_a_main_update_cannot_remove_the_finalizer_of_a_live_namespace(api):
    created = api.create(ADMIN, namespace("demo"))
    updated = api.update(ADMIN, set_path(created, ("spec", "finalizers"), []))
    assert list(updated["spec"]["finalizers"]) == ["kubernetes"]


def test_a_main_update_may_finalize_a_terminating_namespace(api):
    api.create(ADMIN, namespace("demo"))
    terminating = api.delete(ADMIN, "", "Namespace", None, "demo")
    added = api.update(ADMIN, set_path(terminating, ("spec", "finalizers"), ["kubernetes", "example.com/x"]))
    assert list(added["spec"]["finalizers"]) == ["kubernetes"]
    assert list(api.update(ADMIN, set_path(added, ("spec", "finalizers"), []))["spec"]["finalizers"]) == []
    assert api.head.get(("", "Namespace", "", "demo")) is None


@pytest.mark.parametrize("name", ["default", "kube-system", "kube-public"])
def test_system_namespaces_may_not_be_deleted(api, name):
    with pytest.raises(APIError) as caught:
        api.delete(ADMIN, "", "Namespace", None, name)
    assert caught.value.message == f'namespaces "{name}" is forbidden: this namespace may not be deleted'


def test_bootstrap_is_idempotent(api):
    before = api.head.revision
    api.bootstrap()
    assert api.head.revision == before
    names = [ns["metadata"]["name"] for ns in api.list(ADMIN, "", "Namespace")[0]]
    assert names == ["default", "kube-node-lease", "kube-public", "kube-system"]
