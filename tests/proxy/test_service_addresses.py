"""ClusterIP and NodePort allocation (rules/service-ip.rules) and the API server's checks."""

from __future__ import annotations

import pytest

from engine.apierrors import APIError


def test_the_kubernetes_service_holds_the_first_address(cluster):
    svc = cluster.svc("kubernetes", "default")
    assert svc["spec"]["clusterIP"] == "10.96.0.1"
    assert [dict(p) for p in svc["spec"]["ports"]] == [{"name": "https", "port": 443, "protocol": "TCP",
                                                       "targetPort": 6443}]


def test_services_created_together_get_distinct_addresses_in_name_order(cluster):
    for name in ("c", "a", "b"):
        cluster.service(name)
    cluster.run()
    assert [cluster.svc(n)["spec"]["clusterIP"] for n in ("a", "b", "c")] == ["10.96.0.2", "10.96.0.3", "10.96.0.4"]
    assert list(cluster.svc("a")["spec"]["clusterIPs"]) == ["10.96.0.2"]
    cluster.service("d")
    cluster.run()
    assert cluster.svc("d")["spec"]["clusterIP"] == "10.96.0.5"


def test_an_explicit_cluster_ip_is_honoured_and_skipped_by_allocation(cluster):
    cluster.service("fixed", clusterIP="10.96.0.2")
    cluster.service("auto")
    cluster.run()
    assert cluster.svc("fixed")["spec"]["clusterIP"] == "10.96.0.2"
    assert cluster.svc("auto")["spec"]["clusterIP"] == "10.96.0.3"


def test_an_empty_cluster_ip_asks_for_one_and_a_given_one_fills_cluster_ips(cluster):
    cluster.service("empty", clusterIP="")
    assert list(cluster.service("fixed", clusterIP="10.96.0.9")["spec"]["clusterIPs"]) == ["10.96.0.9"]
    cluster.run()
    assert cluster.svc("empty")["spec"]["clusterIP"] == "10.96.0.2"


@pytest.mark.parametrize("ip, message", [
    ("10.96.0.1", "spec.clusterIPs[0]: Invalid value: \"10.96.0.1\": failed to allocate IP 10.96.0.1: "
                  "provided IP is already allocated"),
    ("192.168.0.10", "failed to allocate IP 192.168.0.10: the provided IP (192.168.0.10) is not in the valid "
                     "range. The range of valid IPs is 10.96.0.0/12"),
])
def test_an_explicit_cluster_ip_taken_or_out_of_range_is_refused(cluster, ip, message):
    with pytest.raises(APIError) as err:
        cluster.service("bad", clusterIP=ip)
    assert err.value.code == 422 and message in err.value.message


def test_headless_and_external_name_services_get_no_address(cluster):
    cluster.service("headless", clusterIP="None")
    cluster.api.create(cluster.admin, {"apiVersion": "v1", "kind": "Service",
                                         "metadata": {"name": "ext", "namespace": "demo"},
                                         "spec": {"type": "ExternalName", "externalName": "example.com"}})
    cluster.run()
    assert cluster.svc("headless")["spec"]["clusterIP"] == "None"
    assert cluster.svc("ext")["spec"].get("clusterIP") is None
    assert cluster.rules_of("headless") is None and cluster.rules_of("ext") is None


def test_node_ports_are_allocated_for_every_port_without_one(cluster):
    cluster.service("b", type="NodePort", ports=[{"name": "http", "port": 80}, {"name": "https", "port": 443}])
    cluster.service("a", type="NodePort", ports=[{"name": "http", "port": 80, "nodePort": 30001}])
    cluster.service("c", type="LoadBalancer")
    cluster.run()
    ports = {n: [p["nodePort"] for p in cluster.svc(n)["spec"]["ports"]] for n in ("a", "b", "c")}
    assert ports == {"a": [30001], "b": [30000, 30002], "c": [30003]}


def test_a_node_port_taken_or_out_of_range_is_refused(cluster):
    cluster.service("a", type="NodePort", ports=[{"name": "http", "port": 80, "nodePort": 30080}])
    with pytest.raises(APIError) as err:
        cluster.service("b", type="NodePort", ports=[{"name": "http", "port": 80, "nodePort": 30080}])
    assert "spec.ports[0].nodePort: Invalid value: 30080: provided port is already allocated" in err.value.message
    with pytest.raises(APIError) as err:
        cluster.service("c", type="NodePort", ports=[{"name": "http", "port": 80, "nodePort": 8080}])
    assert ("provided port is not in the valid range. The range of valid ports is 30000-32767"
            in err.value.message)



def test_an_address_given_up_can_be_taken_and_a_service_keeps_its_own(cluster):
    cluster.service("a", type="NodePort", clusterIP="10.96.0.7",
                    ports=[{"name": "http", "port": 80, "nodePort": 30080}])
    # the holder writing its own addresses again is no conflict
    cluster.api.patch(cluster.admin, "", "Service", "demo", "a", {"metadata": {"labels": {"x": "y"}}})
    cluster.api.patch(cluster.admin, "", "Service", "demo", "a",
                      {"spec": {"ports": [{"name": "http", "port": 80, "nodePort": 30081}]}})
    with pytest.raises(APIError, match="30081: provided port is already allocated"):
        cluster.service("b", type="NodePort", ports=[{"name": "http", "port": 80, "nodePort": 30081}])
    cluster.service("b", type="NodePort", ports=[{"name": "http", "port": 80, "nodePort": 30080}])  # freed
    with pytest.raises(APIError, match="provided IP is already allocated"):
        cluster.service("c", clusterIP="10.96.0.7")
    cluster.api.delete(cluster.admin, "", "Service", "demo", "a")
    assert cluster.service("c", clusterIP="10.96.0.7")["spec"]["clusterIP"] == "10.96.0.7"
