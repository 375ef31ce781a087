"""A Service changing type gives up what the old type needed (engine/servicetype.py, upstream's
dropTypeDependentFields), and a write that leaves out allocated values keeps them (patchAllocatedValues)."""

from __future__ import annotations

import pytest

from engine import proxy
from engine.apierrors import APIError
from engine.objects import thaw

WEB = [("web-a", "10.244.0.2", "node-1")]


def patch(cluster, name: str, spec: dict) -> dict:
    """What `kubectl patch svc NAME -p '{"spec": …}'` sends (a strategic merge patch)."""
    return cluster.api.patch(cluster.admin, "", "Service", "demo", name, {"spec": spec})


def spec_of(cluster, name: str) -> dict:
    return thaw(cluster.svc(name)["spec"])


def test_a_node_port_service_turned_cluster_ip_frees_its_node_port(cluster):
    cluster.node("node-1", "192.168.0.1")
    cluster.service("a", type="NodePort", ports=[{"name": "http", "port": 80, "nodePort": 30000}])
    cluster.endpoints("a", WEB)
    cluster.run()
    assert "KUBE-NODEPORTS" in proxy.node_rules(cluster.head, "node-1")
    patch(cluster, "a", {"type": "ClusterIP"})
    spec = spec_of(cluster, "a")
    assert spec["type"] == "ClusterIP" and spec["clusterIP"] == "10.96.0.2"
    assert [p.get("nodePort") for p in spec["ports"]] == [None] and "externalTrafficPolicy" not in spec
    assert spec["internalTrafficPolicy"] == "Cluster"  # (every type but ExternalName keeps it)
    cluster.run()
    assert "--dport 30000" not in proxy.node_rules(cluster.head, "node-1")
    # the port is free again
    cluster.service("b", type="NodePort", ports=[{"name": "http", "port": 80, "nodePort": 30000}])


def test_a_cluster_ip_service_turned_external_name_frees_its_address_and_its_rules(cluster):
    cluster.service("a")
    cluster.run()
    assert spec_of(cluster, "a")["clusterIP"] == "10.96.0.2" and cluster.rules_of("a") is not None
    patch(cluster, "a", {"type": "ExternalName", "externalName": "example.com"})
    spec = spec_of(cluster, "a")
    for field in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy", "internalTrafficPolicy"):
        assert field not in spec, field
    cluster.run()
    assert cluster.rules_of("a") is None
    assert cluster.service("b", clusterIP="10.96.0.2")["spec"]["clusterIP"] == "10.96.0.2"


def test_a_type_change_that_clears_the_cluster_ip_itself_clears_its_cluster_ips_too(cluster):
    cluster.service("a")
    cluster.run()
    patch(cluster, "a", {"type": "ExternalName", "externalName": "example.com", "clusterIP": ""})
    assert not {"clusterIP", "clusterIPs", "ipFamilies"} & set(spec_of(cluster, "a"))


def test_an_external_name_service_turned_cluster_ip_gets_an_address_again(cluster):
    cluster.service("a")
    cluster.run()
    patch(cluster, "a", {"type": "ExternalName", "externalName": "example.com"})
    patch(cluster, "a", {"type": "ClusterIP", "externalName": None})
    cluster.run()
    spec = spec_of(cluster, "a")
    assert (spec["clusterIP"], spec["ipFamilies"], spec["internalTrafficPolicy"]) == ("10.96.0.2", ["IPv4"], "Cluster")
    assert cluster.rules_of("a") is not None


def test_a_load_balancer_turned_cluster_ip_drops_its_load_balancer_fields_and_status(cluster):
    cluster.service("a", type="LoadBalancer", loadBalancerClass="example.com/lb")
    cluster.run()
    svc = cluster.svc("a")
    assert svc["spec"]["allocateLoadBalancerNodePorts"] is True and svc["spec"]["ports"][0]["nodePort"] == 30000
    status = {"loadBalancer": {"ingress": [{"ip": "203.0.113.7"}]}}
    cluster.api.update(cluster.admin, {**thaw(svc), "status": status}, subresource="status")
    patch(cluster, "a", {"type": "ClusterIP"})
    svc = thaw(cluster.svc("a"))
    for field in ("allocateLoadBalancerNodePorts", "loadBalancerClass", "externalTrafficPolicy"):
        assert field not in svc["spec"], field
    assert "nodePort" not in svc["spec"]["ports"][0] and svc["status"]["loadBalancer"] == {}


def test_leaving_the_local_policy_drops_the_health_check_node_port(cluster):
    cluster.service("a", type="LoadBalancer", externalTrafficPolicy="Local", healthCheckNodePort=30100)
    patch(cluster, "a", {"externalTrafficPolicy": "Cluster"})
    assert "healthCheckNodePort" not in spec_of(cluster, "a")


@pytest.mark.parametrize("spec, message", [
    ({"type": "ClusterIP", "ports": [{"name": "http", "port": 80, "nodePort": 30001}]},
     "spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"),
    ({"type": "ClusterIP", "externalTrafficPolicy": "Local"},
     'spec.externalTrafficPolicy: Invalid value: "Local": may only be set for externally-accessible services'),
    ({"type": "ExternalName", "externalName": "example.com", "ipFamilyPolicy": "PreferDualStack"},
     "spec.ipFamilyPolicy: Forbidden: may not be set for ExternalName services"),
])
def test_a_type_change_that_sets_a_field_the_new_type_rules_out_is_refused(cluster, spec, message):
    cluster.service("a", type="NodePort", ports=[{"name": "http", "port": 80, "nodePort": 30000}])
    cluster.run()
    with pytest.raises(APIError) as err:
        patch(cluster, "a", spec)
    assert err.value.code == 422 and message in err.value.message


def test_a_replace_that_leaves_out_the_allocated_values_keeps_them(cluster):
    created = cluster.service("a", type="NodePort", ports=[{"name": "http", "port": 80}, {"name": "https", "port": 443}])
    cluster.run()
    before = spec_of(cluster, "a")
    # `kubectl replace` of the original manifest: no clusterIP(s), families or node ports
    body = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "a", "namespace": "demo"},
            "spec": thaw(created["spec"])}
    body["spec"]["ports"].reverse()
    cluster.api.update(cluster.admin, body)
    after = spec_of(cluster, "a")
    for field in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"):
        assert after[field] == before[field], field
    by_name = {p["name"]: p["nodePort"] for p in before["ports"]}
    assert {p["name"]: p["nodePort"] for p in after["ports"]} == by_name == {"http": 30000, "https": 30001}


def test_a_load_balancer_that_allocates_no_node_ports_gets_none(cluster):
    cluster.service("a", type="LoadBalancer", allocateLoadBalancerNodePorts=False)
    cluster.service("b", type="NodePort")
    cluster.run()
    assert "nodePort" not in spec_of(cluster, "a")["ports"][0]
    assert spec_of(cluster, "b")["ports"][0]["nodePort"] == 30000
