"""A LoadBalancer Service with the Local external traffic policy holds a health-check node port
(upstream's allocHealthCheckNodePort / updateHealthCheckNodePort, from the node port range),
and kube-proxy accepts connections to it on every node."""

from __future__ import annotations

import pytest

from engine import proxy
from engine.apierrors import APIError
from engine.objects import thaw


def patch(cluster, name: str, spec: dict) -> dict:
    return cluster.api.patch(cluster.admin, "", "Service", "demo", name, {"spec": spec})


def ports_of(cluster, name: str) -> tuple:
    spec = cluster.svc(name)["spec"]
    return [p.get("nodePort") for p in spec["ports"]], spec.get("healthCheckNodePort")


def test_a_local_load_balancer_gets_a_health_check_port_after_its_node_ports(cluster):
    cluster.service("b", type="LoadBalancer", externalTrafficPolicy="Local")
    cluster.service("a", type="LoadBalancer", externalTrafficPolicy="Local",
                    ports=[{"name": "http", "port": 80}, {"name": "https", "port": 443}])
    cluster.service("c", type="NodePort")
    cluster.run()
    assert ports_of(cluster, "a") == ([30000, 30001], 30002)
    assert ports_of(cluster, "b") == ([30003], 30004)
    assert ports_of(cluster, "c") == ([30005], None)


def test_a_load_balancer_without_node_ports_still_gets_a_health_check_port(cluster):
    cluster.service("a", type="LoadBalancer", externalTrafficPolicy="Local", allocateLoadBalancerNodePorts=False)
    cluster.run()
    assert ports_of(cluster, "a") == ([None], 30000)


def test_a_cluster_policy_load_balancer_gets_none(cluster):
    cluster.service("a", type="LoadBalancer")
    cluster.run()
    assert ports_of(cluster, "a") == ([30000], None)


def test_the_health_check_port_is_kept_on_updates_and_may_not_change(cluster):
    cluster.service("a", type="LoadBalancer", externalTrafficPolicy="Local")
    cluster.run()
    body = thaw(cluster.svc("a"))
    del body["spec"]["healthCheckNodePort"]
    assert cluster.api.update(cluster.admin, body)["spec"]["healthCheckNodePort"] == 30001
    with pytest.raises(APIError) as err:
        patch(cluster, "a", {"healthCheckNodePort": 30500})
    assert err.value.code == 422
    assert "spec.healthCheckNodePort: Forbidden: field is immutable" in err.value.message


def test_switching_to_the_local_policy_allocates_one_and_back_releases_it(cluster):
    cluster.service("a", type="LoadBalancer")
    cluster.run()
    patch(cluster, "a", {"externalTrafficPolicy": "Local"})
    cluster.run()
    assert ports_of(cluster, "a") == ([30000], 30001)
    patch(cluster, "a", {"externalTrafficPolicy": "Cluster"})
    assert ports_of(cluster, "a") == ([30000], None)
    cluster.service("b", type="NodePort", ports=[{"name": "http", "port": 80, "nodePort": 30001}])


def test_an_explicit_health_check_port_is_honoured_and_skipped_by_allocation(cluster):
    cluster.service("a", type="LoadBalancer", externalTrafficPolicy="Local", healthCheckNodePort=30000)
    cluster.run()
    assert ports_of(cluster, "a") == ([30001], 30000)


@pytest.mark.parametrize("port, why", [
    (30000, "provided port is already allocated"),
    (30001, "provided port is already allocated"),
    (30002, "provided port is already allocated"),
    (8080, "provided port is not in the valid range. The range of valid ports is 30000-32767"),
])
def test_an_explicit_health_check_port_taken_or_out_of_range_is_refused(cluster, port, why):
    cluster.service("a", type="LoadBalancer", externalTrafficPolicy="Local")
    cluster.run()
    assert ports_of(cluster, "a") == ([30000], 30001)
    with pytest.raises(APIError) as err:
        cluster.service("b", type="LoadBalancer", externalTrafficPolicy="Local", healthCheckNodePort=port,
                        ports=[{"name": "http", "port": 80, "nodePort": 30002}])
    assert (err.value.code, err.value.reason) == (500, "InternalError")
    assert err.value.message == f"Internal error occurred: failed to allocate requested HealthCheck NodePort {port}: {why}"


def test_a_node_port_held_as_a_health_check_port_is_taken(cluster):
    cluster.service("a", type="LoadBalancer", externalTrafficPolicy="Local", healthCheckNodePort=30100)
    with pytest.raises(APIError) as err:
        cluster.service("b", type="NodePort", ports=[{"name": "http", "port": 80, "nodePort": 30100}])
    assert "spec.ports[0].nodePort: Invalid value: 30100: provided port is already allocated" in err.value.message


def test_a_health_check_port_without_the_local_policy_is_refused(cluster):
    with pytest.raises(APIError) as err:
        cluster.service("a", type="LoadBalancer", healthCheckNodePort=30100)
    assert err.value.code == 422
    assert ("spec.healthCheckNodePort: Invalid value: 30100: may only be set when `type` is 'LoadBalancer' "
            "and `externalTrafficPolicy` is 'Local'") in err.value.message


def test_kube_proxy_accepts_the_health_check_port_on_every_node(cluster):
    cluster.node("node-1", "192.168.0.1")
    cluster.node("node-2", "192.168.0.2")
    cluster.service("lb", type="LoadBalancer", externalTrafficPolicy="Local")
    cluster.endpoints("lb", [("web-a", "10.244.0.2", "node-1")])
    cluster.run()
    accept = ('-A KUBE-NODEPORTS -m comment --comment "demo/lb:http health check node port" '
              "-m tcp -p tcp --dport 30001 -j ACCEPT")
    for node in ("node-1", "node-2"):
        filter_table = proxy.node_rules(cluster.head, node).split("*nat")[0]
        assert accept in filter_table.splitlines(), node
    patch(cluster, "lb", {"externalTrafficPolicy": "Cluster"})
    cluster.run()
    assert "health check node port" not in proxy.node_rules(cluster.head, "node-1")
