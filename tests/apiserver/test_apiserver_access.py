"""Authorization, atomic submits, recorded actors and causes, determinism."""

from __future__ import annotations

import pytest
from apiserver_fixtures import ADMIN, deployment, make_server, node, pod

from engine.apiserver import MANIFESTS, Actor, APIError, Permissions, Request
from engine.objects import set_path

RS_CONTROLLER = Actor("replicaset-controller", "component", Permissions(
    reads={("apps", "ReplicaSet"), ("", "Pod")}, writes={("", "Pod")}, status_writes={("apps", "ReplicaSet")}))
READER = Actor("reader", "user", Permissions(reads={("*", "*")}))


def create_pod(namespace="default", name="x") -> Request:
    return Request("create", "", "Pod", namespace, None, pod(name, namespace=namespace))


def test_a_refused_write_reads_like_upstream_rbac_and_leaves_no_revision(api):
    before = api.head.revision
    with pytest.raises(APIError) as caught:
        api.submit(READER, [create_pod()])
    assert (caught.value.code, caught.value.reason) == (403, "Forbidden")
    assert caught.value.message == ('pods is forbidden: User "reader" cannot create resource "pods" '
                                    'in API group "" in the namespace "default"')
    assert api.head.revision == before


@pytest.mark.parametrize("actor, request_, message", [
    (RS_CONTROLLER, Request("delete", "apps", "Deployment", "default", "web"),
     'deployments.apps "web" is forbidden: User "replicaset-controller" cannot delete resource "deployments" '
     'in API group "apps" in the namespace "default"'),
    (RS_CONTROLLER, Request("update", "", "Pod", "default", "x", pod("x"), subresource="status"),
     'pods "x" is forbidden: User "replicaset-controller" cannot update resource "pods/status" '
     'in API group "" in the namespace "default"'),
    (MANIFESTS, Request("update", "apps", "Deployment", "default", "web", deployment(), subresource="status"),
     'deployments.apps "web" is forbidden: User "manifests" cannot update resource "deployments/status" '
     'in API group "apps" in the namespace "default"'),
    (READER, Request("delete", "", "Node", None, "node-1"),
     'nodes "node-1" is forbidden: User "reader" cannot delete resource "nodes" in API group "" at the cluster scope'),
])
def test_permissions_separate_kinds_and_status(api, actor, request_, message):
    with pytest.raises(APIError) as caught:
        api.submit(actor, [request_])
    assert caught.value.message == message


def test_a_component_may_write_what_its_header_grants(api):
    api.submit(RS_CONTROLLER, [create_pod()])
    rs = deployment()
    rs["kind"] = "ReplicaSet"
    created = api.create(ADMIN, rs)
    api.update(RS_CONTROLLER, set_path(created, ("status", "replicas"), 1), subresource="status")


def test_manifests_may_write_every_main_resource(api):
    api.create(MANIFESTS, deployment())
    api.create(MANIFESTS, node())


def test_reads_are_authorized_too(api):
    with pytest.raises(APIError) as caught:
        api.list(RS_CONTROLLER, "", "Node")
    assert caught.value.message == ('nodes is forbidden: User "replicaset-controller" cannot list resource "nodes" '
                                    'in API group "" at the cluster scope')


def test_one_bad_request_means_nothing_lands(api):
    bad = pod("bad")
    bad["spec"]["containers"][0]["image"] = ""
    before = api.head.revision
    with pytest.raises(APIError) as caught:
        api.submit(ADMIN, [create_pod(name="a"), Request("create", "", "Pod", "default", None, bad), create_pod(name="b")])
    assert caught.value.message == 'Pod "bad" is invalid: spec.containers[0].image: Required value'
    assert api.head.revision == before and api.list(ADMIN, "", "Pod")[0] == []


def test_a_submit_is_one_revision_recording_actor_and_cause(api):
    records = []
    api.store.listeners.append(lambda snap, events, record: records.append(record))
    snap, events = api.submit(ADMIN, [create_pod(name="a"), create_pod(name="b")], cause=("rule", "rs/pods"))
    assert [e.type for e in events] == ["ADDED", "ADDED"] and snap is api.head
    assert len(records) == 1 and records[0].actor == "admin" and records[0].cause == ("rule", "rs/pods")


def test_later_requests_of_a_submit_see_the_earlier_ones(api):
    created = pod("a")
    relabelled = pod("a", labels={"app": "web", "tier": "front"})
    api.submit(ADMIN, [Request("create", "", "Pod", "default", None, created),
                       Request("update", "", "Pod", "default", "a", relabelled)])
    assert api.get(ADMIN, "", "Pod", "default", "a")["metadata"]["labels"]["tier"] == "front"


def test_dry_run_returns_the_object_and_stores_nothing(api):
    before = api.head.revision
    would_be = api.create(ADMIN, pod("x"), dry_run=True)
    assert would_be["status"]["phase"] == "Pending" and api.head.revision == before


def test_two_fresh_servers_given_the_same_requests_store_identical_objects():
    def run():
        api = make_server()
        api.create(ADMIN, deployment())
        api.create(ADMIN, {**pod(), "metadata": {"generateName": "web-", "namespace": "default"}})
        api.clock.advance(7)
        api.delete(ADMIN, "apps", "Deployment", "default", "web")
        return api.head
    first, second = run(), run()
    assert first.objects == second.objects and first.state_hash == second.state_hash


def test_different_seeds_give_different_uids():
    a = make_server("one").create(ADMIN, pod())["metadata"]["uid"]
    b = make_server("two").create(ADMIN, pod())["metadata"]["uid"]
    assert a != b
