"""rules/endpoints.rules and rules/endpointslice.rules (upstream endpoint and endpointslice controllers)."""

from __future__ import annotations

import pytest

MANAGED_BY = "endpointslice-controller.k8s.io"


@pytest.fixture
def ep(controller_cluster):
    controller_cluster.load("endpoints", "endpointslice", "garbage-collector")
    return controller_cluster


def pod(cluster, name: str, ip: str | None = None, ready: bool = True, labels=None, ports=None,
        node: str | None = "node-1", **spec) -> dict:
    body = {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "demo", "labels": labels or {"app": "web"}},
            "spec": {"containers": [{"name": "c", "image": "nginx",
                                     "ports": ports or [{"name": "http", "containerPort": 8080}]}], **spec}}
    if node:
        body["spec"]["nodeName"] = node
    cluster.create(body)
    if ip is not None:
        cluster.set_pod_status(name, ready=ready, pod_ip=ip)
    return cluster.get("Pod", name)


def service(cluster, name: str = "web", selector=None, ports=None, **spec) -> dict:
    body = {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": "demo", "labels": {"tier": "frontend"}},
            "spec": {"ports": ports if ports is not None else [{"name": "http", "port": 80, "targetPort": "http"}],
                     **spec}}
    if selector is not False:
        body["spec"]["selector"] = selector or {"app": "web"}
    return cluster.create(body)


def address(p: dict, node: str = "node-1") -> dict:
    meta = p["metadata"]
    out = {"ip": p["status"]["podIP"],
           "targetRef": {"kind": "Pod", "namespace": "demo", "name": meta["name"], "uid": meta["uid"]}}
    if node:
        out["nodeName"] = node
    return out


def slices(cluster, svc: str = "web") -> list:
    return [s for s in cluster.list("EndpointSlice") if s["metadata"]["labels"]["kubernetes.io/service-name"] == svc]


# ---------------------------------------------------------------------- Endpoints


def test_ready_and_not_ready_pods_are_listed_apart_sorted_by_ip(ep):
    b = pod(ep, "b", "10.0.0.9")
    a = pod(ep, "a", "10.0.0.10")
    c = pod(ep, "c", "10.0.0.5", ready=False)
    pod(ep, "no-ip")
    pod(ep, "other", "10.0.0.7", labels={"app": "db"})
    service(ep)
    assert ep.run().converged
    endpoints = ep.get("Endpoints", "web")
    assert endpoints["metadata"]["labels"] == {"tier": "frontend"}
    assert endpoints["subsets"] == [{
        "addresses": [address(a), address(b)],  # "10.0.0.10" < "10.0.0.9" as upstream compares strings
        "notReadyAddresses": [address(c)],
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
    }]


def test_a_named_target_port_is_resolved_per_pod_and_splits_subsets(ep):
    a = pod(ep, "a", "10.0.0.1")
    b = pod(ep, "b", "10.0.0.2", ports=[{"name": "http", "containerPort": 9090}])
    pod(ep, "portless", "10.0.0.3", ports=[{"name": "metrics", "containerPort": 9100}])
    service(ep)
    assert ep.run().converged
    assert ep.get("Endpoints", "web")["subsets"] == [
        {"addresses": [address(a)], "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]},
        {"addresses": [address(b)], "ports": [{"name": "http", "port": 9090, "protocol": "TCP"}]},
    ]


def test_pods_serving_the_same_ports_share_one_subset(ep):
    a = pod(ep, "a", "10.0.0.1", ports=[{"name": "http", "containerPort": 8080}, {"name": "admin", "containerPort": 9000}])
    service(ep, ports=[{"name": "http", "port": 80, "targetPort": "http"},
                       {"name": "admin", "port": 9000, "targetPort": 9000}])
    assert ep.run().converged
    assert ep.get("Endpoints", "web")["subsets"] == [{
        "addresses": [address(a)],
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}, {"name": "admin", "port": 9000, "protocol": "TCP"}],
    }]


def test_terminating_and_finished_pods_are_left_out(ep):
    keep = pod(ep, "keep", "10.0.0.1")
    pod(ep, "going", "10.0.0.2", finalizers=None)
    pod(ep, "done", "10.0.0.3")
    ep.patch("Pod", "done", {"status": {"phase": "Succeeded"}}, subresource="status")
    ep.delete("Pod", "going", grace_period=30)
    assert ep.get("Pod", "going")["metadata"]["deletionTimestamp"] is not None
    service(ep)
    assert ep.run(seconds=5).converged
    assert ep.get("Endpoints", "web")["subsets"][0]["addresses"] == [address(keep)]
    assert "notReadyAddresses" not in ep.get("Endpoints", "web")["subsets"][0]


def test_publish_not_ready_addresses_lists_every_pod_as_ready(ep):
    a = pod(ep, "a", "10.0.0.1", ready=False)
    service(ep, publishNotReadyAddresses=True)
    assert ep.run().converged
    assert ep.get("Endpoints", "web")["subsets"][0]["addresses"] == [address(a)]


def test_a_service_without_a_selector_gets_no_endpoints(ep):
    pod(ep, "a", "10.0.0.1")
    service(ep, selector=False)
    assert ep.run().converged
    assert ep.get("Endpoints", "web") is None and slices(ep) == []


def test_endpoints_follow_pod_readiness(ep):
    a = pod(ep, "a", "10.0.0.1", ready=False)
    service(ep)
    assert ep.run().converged
    assert "addresses" not in ep.get("Endpoints", "web")["subsets"][0]
    ep.set_pod_status("a", ready=True, pod_ip="10.0.0.1")
    assert ep.run().converged
    assert ep.get("Endpoints", "web")["subsets"][0]["addresses"] == [address(a)]


def test_a_headless_service_without_ports_lists_addresses_without_ports(ep):
    a = pod(ep, "a", "10.0.0.1", hostname="a", subdomain="web")
    service(ep, ports=[], clusterIP="None")
    assert ep.run().converged
    endpoints = ep.get("Endpoints", "web")
    assert endpoints["metadata"]["labels"] == {"tier": "frontend", "service.kubernetes.io/headless": ""}
    assert endpoints["subsets"] == [{"addresses": [{**address(a), "hostname": "a"}]}]


def test_endpoints_and_slices_of_a_deleted_service_are_removed(ep):
    pod(ep, "a", "10.0.0.1")
    service(ep)
    assert ep.run().converged
    assert ep.get("Endpoints", "web") is not None and len(slices(ep)) == 1
    ep.delete("Service", "web")
    assert ep.run().converged
    assert ep.get("Endpoints", "web") is None and slices(ep) == []


def test_no_slice_is_made_for_a_service_being_deleted(ep):
    pod(ep, "a", "10.0.0.1")
    ep.create({"apiVersion": "v1", "kind": "Service",
               "metadata": {"name": "web", "namespace": "demo", "finalizers": ["example.com/hold"]},
               "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}})
    assert ep.run().converged
    [made] = slices(ep)
    ep.delete("Service", "web")
    ep.delete("EndpointSlice", made["metadata"]["name"])
    assert ep.run().converged
    assert ep.get("Service", "web")["metadata"]["deletionTimestamp"]
    assert slices(ep) == []


def test_a_change_to_one_pod_reevaluates_only_its_service(ep):
    for i in range(20):
        pod(ep, f"p{i}", f"10.0.1.{i}", labels={"app": f"app{i}"})
        service(ep, f"svc{i}", selector={"app": f"app{i}"})
    assert ep.run().converged
    before = dict(ep.engine.evaluations)
    ep.set_pod_status("p3", ready=False, pod_ip="10.0.1.3")
    assert ep.run().converged
    # the service of p3 only: once for the pod, once more to see its own write
    assert ep.engine.evaluations["endpoint-controller/endpoints"] - before["endpoint-controller/endpoints"] <= 2
    assert ep.engine.evaluations["endpointslice-controller/slices"] - before["endpointslice-controller/slices"] <= 2


# ------------------------------------------------------------------ EndpointSlices


def test_a_service_gets_an_owned_labelled_endpoint_slice(ep):
    a = pod(ep, "a", "10.0.0.1")
    b = pod(ep, "b", "10.0.0.2", ready=False)
    svc = service(ep)
    assert ep.run().converged
    [eps] = slices(ep)
    assert eps["metadata"]["name"].startswith("web-") and len(eps["metadata"]["name"]) == 9
    assert eps["metadata"]["labels"] == {"tier": "frontend", "kubernetes.io/service-name": "web",
                                         "endpointslice.kubernetes.io/managed-by": MANAGED_BY}
    assert eps["metadata"]["ownerReferences"] == [{"apiVersion": "v1", "kind": "Service", "name": "web",
                                                   "uid": svc["metadata"]["uid"], "controller": True,
                                                   "blockOwnerDeletion": True}]
    assert eps["addressType"] == "IPv4"
    assert eps["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]

    def endpoint(p, ready):
        return {"addresses": [p["status"]["podIP"]], "nodeName": "node-1",
                "conditions": {"ready": ready, "serving": ready, "terminating": False},
                "targetRef": {"kind": "Pod", "namespace": "demo", "name": p["metadata"]["name"],
                              "uid": p["metadata"]["uid"]}}
    assert eps["endpoints"] == [endpoint(a, True), endpoint(b, False)]


def test_an_endpoint_carries_its_nodes_zone(ep):
    ep.create({"apiVersion": "v1", "kind": "Node",
               "metadata": {"name": "node-z", "labels": {"topology.kubernetes.io/zone": "zone-a"}}})
    pod(ep, "a", "10.0.0.1", node="node-z")
    pod(ep, "b", "10.0.0.2")  # node-1: no such Node, so no zone
    service(ep)
    assert ep.run().converged
    [eps] = slices(ep)
    assert [(e["nodeName"], e.get("zone")) for e in eps["endpoints"]] == [("node-z", "zone-a"), ("node-1", None)]
    ep.patch("Node", "node-z", {"metadata": {"labels": {"topology.kubernetes.io/zone": "zone-b"}}}, namespace="")
    assert ep.run().converged
    assert [e.get("zone") for e in slices(ep)[0]["endpoints"]] == ["zone-b", None]


def test_a_terminating_pod_stays_in_its_slice_as_terminating(ep):
    pod(ep, "a", "10.0.0.1")
    service(ep)
    assert ep.run().converged
    ep.delete("Pod", "a", grace_period=30)
    assert ep.run(seconds=5).converged
    [endpoint] = slices(ep)[0]["endpoints"]
    assert endpoint["conditions"] == {"ready": False, "serving": True, "terminating": True}


def test_a_service_selecting_nothing_keeps_an_empty_placeholder_slice(ep):
    service(ep)
    assert ep.run().converged
    [eps] = slices(ep)
    assert eps["endpoints"] == [] and eps["ports"] == []


def test_the_placeholder_slice_is_taken_over_by_the_first_pod_and_given_back_by_the_last(ep):
    # Upstream's reconciler turns a create and a delete into an update: the slice keeps its name.
    service(ep)
    assert ep.run().converged
    [placeholder] = slices(ep)
    pod(ep, "a", "10.0.0.1")
    assert ep.run().converged
    [taken] = slices(ep)
    assert taken["metadata"]["name"] == placeholder["metadata"]["name"]
    assert taken["metadata"]["uid"] == placeholder["metadata"]["uid"]
    assert [e["addresses"] for e in taken["endpoints"]] == [["10.0.0.1"]]
    assert [p["port"] for p in taken["ports"]] == [8080]
    ep.delete("Pod", "a", grace_period=0)
    assert ep.run().converged
    [given_back] = slices(ep)
    assert given_back["metadata"]["uid"] == placeholder["metadata"]["uid"]
    assert given_back["endpoints"] == [] and given_back["ports"] == []


def test_a_new_port_set_takes_over_the_slice_of_the_old_one(ep):
    pod(ep, "a", "10.0.0.1")
    service(ep)
    assert ep.run().converged
    [before] = slices(ep)
    ep.delete("Pod", "a", grace_period=0)
    pod(ep, "b", "10.0.0.2", ports=[{"name": "http", "containerPort": 9090}])
    assert ep.run().converged
    [after] = slices(ep)
    assert after["metadata"]["uid"] == before["metadata"]["uid"]
    assert [p["port"] for p in after["ports"]] == [9090]
    assert [e["targetRef"]["name"] for e in after["endpoints"]] == ["b"]


def managed_slice(cluster, name: str, owner: dict, port: int = 9090, finalizers=None) -> dict:
    """A slice labelled as `web`'s and managed by the controller, owned by `owner`, before it runs."""
    meta = owner["metadata"]
    return cluster.create({
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "addressType": "IPv4",
        "metadata": {"name": name, "namespace": "demo", "finalizers": finalizers or [],
                     "labels": {"kubernetes.io/service-name": "web",
                                "endpointslice.kubernetes.io/managed-by": MANAGED_BY},
                     "ownerReferences": [{"apiVersion": "v1", "kind": "Service", "name": meta["name"],
                                          "uid": meta["uid"], "controller": True}]},
        "ports": [{"name": "http", "port": port, "protocol": "TCP"}], "endpoints": []})


def test_a_slice_being_deleted_is_left_alone_not_taken_over(ep):
    web = service(ep)
    managed_slice(ep, "web-going", web, finalizers=["example.com/hold"])
    ep.delete("EndpointSlice", "web-going")
    pod(ep, "a", "10.0.0.1")
    assert ep.run().converged
    going = ep.get("EndpointSlice", "web-going")
    assert going["metadata"]["deletionTimestamp"] and going["endpoints"] == []
    [live] = [s for s in slices(ep) if s["metadata"]["name"] != "web-going"]
    assert [e["targetRef"]["name"] for e in live["endpoints"]] == ["a"]


def test_a_slice_labelled_for_the_service_but_owned_by_another_is_deleted_not_filled(ep):
    other = service(ep, "other", selector={"app": "db"})
    managed_slice(ep, "web-foreign", other, port=8080)
    web = service(ep)
    pod(ep, "a", "10.0.0.1")
    assert ep.run().converged
    assert ep.get("EndpointSlice", "web-foreign") is None
    [own] = slices(ep)
    assert own["metadata"]["ownerReferences"][0]["uid"] == web["metadata"]["uid"]
    assert [e["targetRef"]["name"] for e in own["endpoints"]] == ["a"]


def test_pods_with_different_ports_get_different_slices(ep):
    pod(ep, "a", "10.0.0.1")
    pod(ep, "b", "10.0.0.2", ports=[{"name": "http", "containerPort": 9090}])
    service(ep)
    assert ep.run().converged
    ports = sorted(s["ports"][0]["port"] for s in slices(ep))
    assert ports == [8080, 9090]
    ep.delete("Pod", "b", grace_period=0)
    assert ep.run().converged
    assert [s["ports"][0]["port"] for s in slices(ep)] == [8080]


def test_a_slice_holds_at_most_one_hundred_endpoints(ep):
    for i in range(130):
        pod(ep, f"p{i:03}", f"10.1.{i // 200}.{i % 200 + 1}", node=None)
    service(ep)
    result = ep.run()
    assert result.converged, result.message
    sizes = sorted(len(s["endpoints"]) for s in slices(ep))
    assert sizes == [30, 100]
    for i in range(40):
        ep.delete("Pod", f"p{i:03}")
    assert ep.run().converged
    assert [len(s["endpoints"]) for s in slices(ep)] == [90]
