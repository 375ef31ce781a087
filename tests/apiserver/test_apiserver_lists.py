"""Lists by label and field selectors (through the store's indexes), gets and watches."""

from __future__ import annotations

import pytest
from apiserver_fixtures import ADMIN, namespace, node, pod

from engine.apiserver import APIError
from engine.selectors import parse


@pytest.fixture
def cluster(api):
    api.create(ADMIN, namespace("demo"))
    api.create(ADMIN, pod("a", labels={"app": "web", "tier": "front"}, nodeName="n1"))
    api.create(ADMIN, pod("b", labels={"app": "web", "tier": "back"}, nodeName="n2"))
    api.create(ADMIN, pod("c", labels={"app": "db"}))
    api.create(ADMIN, pod("d", namespace="demo", labels={"app": "web"}, nodeName="n1"))
    return api


def names(items):
    return [f"{i['metadata']['namespace']}/{i['metadata']['name']}" for i in items]


@pytest.mark.parametrize("namespace_, labels, fields, expected", [
    (None, None, None, ["default/a", "default/b", "default/c", "demo/d"]),
    ("default", None, None, ["default/a", "default/b", "default/c"]),
    (None, "app=web", None, ["default/a", "default/b", "demo/d"]),
    ("default", "app=web,tier!=back", None, ["default/a"]),
    (None, "tier in (front,back)", None, ["default/a", "default/b"]),
    (None, "!tier", None, ["default/c", "demo/d"]),
    (None, None, "spec.nodeName=n1", ["default/a", "demo/d"]),
    (None, None, "spec.nodeName=", ["default/c"]),
    (None, "app=web", "spec.nodeName=n1,metadata.namespace=default", ["default/a"]),
    ("demo", None, "metadata.name=d", ["demo/d"]),
    (None, None, "metadata.name=b", ["default/b"]),
    (None, None, "status.phase=Pending", ["default/a", "default/b", "default/c", "demo/d"]),
])
def test_list_filters_by_namespace_labels_and_fields(cluster, namespace_, labels, fields, expected):
    items, revision = cluster.list(ADMIN, "", "Pod", namespace_, labels, fields)
    assert names(items) == expected and revision == cluster.head.revision


def test_a_pods_spec_host_selects_as_its_node_name(cluster):
    items, _ = cluster.list(ADMIN, "", "Pod", None, None, "spec.host=n1")
    assert names(items) == ["default/a", "demo/d"]


def test_unset_boolean_and_number_fields_select_as_upstream_formats_them(api):
    """PodToSelectableFields, NodeToSelectableFields, … format a bool or a number whatever the
    object holds: an unset spec.hostNetwork is "false", an unset status.succeeded "0"."""
    api.create(ADMIN, pod("plain"))
    api.create(ADMIN, pod("on-host", hostNetwork=True))
    api.create(ADMIN, node("schedulable"))
    api.create(ADMIN, {**node("cordoned"), "spec": {"unschedulable": True}})
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "once", "namespace": "default"},
           "spec": {"template": {"spec": {"restartPolicy": "Never",
                                          "containers": [{"name": "app", "image": "busybox:1.36"}]}}}}
    created = api.create(ADMIN, job)
    template = {"metadata": {"labels": {"app": "rs"}}, "spec": {"containers": [{"name": "app", "image": "nginx"}]}}
    api.create(ADMIN, {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "rs", "namespace": "default"},
                       "spec": {"selector": {"matchLabels": {"app": "rs"}}, "template": template}})

    def selected(kind: str, fields: str, group: str = "") -> list[str]:
        return [i["metadata"]["name"] for i in api.list(ADMIN, group, kind, None, None, fields)[0]]

    assert selected("Pod", "spec.hostNetwork=false") == ["plain"]
    assert selected("Pod", "spec.hostNetwork=true") == ["on-host"]
    assert selected("Node", "spec.unschedulable=false") == ["schedulable"]
    assert selected("Node", "spec.unschedulable!=false") == ["cordoned"]
    assert selected("Job", "status.successful=0", "batch") == ["once"]
    assert selected("ReplicaSet", "status.replicas=0", "apps") == ["rs"]
    api.update(ADMIN, {**created, "status": {"succeeded": 1}}, subresource="status")
    assert selected("Job", "status.successful=1", "batch") == ["once"]


def test_services_select_by_type_and_cluster_ip(api):
    api.create(ADMIN, {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "np", "namespace": "default"},
                       "spec": {"type": "NodePort", "ports": [{"port": 80}]}})
    items, _ = api.list(ADMIN, "", "Service", None, None, "spec.type=NodePort")
    assert names(items) == ["default/np"]
    items, _ = api.list(ADMIN, "", "Service", None, None, "spec.clusterIP=10.96.0.1")
    assert names(items) == ["default/kubernetes"]


def test_list_accepts_a_parsed_selector_and_an_old_snapshot(cluster):
    old = cluster.head
    cluster.create(ADMIN, pod("e", labels={"app": "web"}))
    items, revision = cluster.list(ADMIN, "", "Pod", "default", parse("app=web"), snapshot=old)
    assert names(items) == ["default/a", "default/b"] and revision == old.revision


@pytest.mark.parametrize("labels, fields, message", [
    ("app in (", None, "unable to parse requirement: found '', expected: ',', ')' or identifier"),
    (None, "spec.color=red", "field label not supported: spec.color"),
])
def test_bad_selectors_are_bad_requests(cluster, labels, fields, message):
    with pytest.raises(APIError) as caught:
        cluster.list(ADMIN, "", "Pod", None, labels, fields)
    assert caught.value.code == 400 and message in caught.value.message


def test_get_of_a_missing_object_is_not_found(api):
    with pytest.raises(APIError) as caught:
        api.get(ADMIN, "", "Pod", "default", "ghost")
    assert caught.value.status()["details"] == {"name": "ghost", "kind": "pods"}


def test_watch_delivers_events_since_a_revision(api):
    since = api.head.revision
    api.create(ADMIN, pod("a"))
    api.delete(ADMIN, "", "Pod", "default", "a")
    watch = api.watch(ADMIN, "", "Pod", since=since)
    assert [e.type for e in watch.poll()] == ["ADDED", "DELETED"]
    api.create(ADMIN, pod("b"))
    assert [e.key[3] for e in watch.poll()] == ["b"]


def test_watch_from_a_compacted_revision_is_gone(api):
    api.store.window = 2
    for name in "abcd":
        api.create(ADMIN, pod(name))
    with pytest.raises(APIError) as caught:
        api.watch(ADMIN, "", "Pod", since=1)
    assert caught.value.code == 410 and caught.value.message.startswith("too old resource version: 1")


def test_a_pods_status_pod_ip_selects_its_first_pod_ip(api):
    """PodToSelectableFields reads status.podIP from status.podIPs[0]; status.podIPs itself is a
    field label no pod carries, so only an empty value matches it."""
    created = api.create(ADMIN, pod("only-ips"))
    api.update(ADMIN, {**created, "status": {"podIPs": [{"ip": "10.244.0.9"}]}}, subresource="status")
    api.create(ADMIN, pod("no-ip"))

    def selected(fields: str) -> list[str]:
        return [i["metadata"]["name"] for i in api.list(ADMIN, "", "Pod", None, None, fields)[0]]

    assert selected("status.podIP=10.244.0.9") == ["only-ips"]
    assert selected("status.podIP=") == ["no-ip"]
    assert selected("status.podIPs=10.244.0.9") == []
