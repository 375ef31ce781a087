"""rules/endpointslice-mirroring.rules (upstream's endpointslicemirroring controller): the Endpoints
a user writes for a Service without a selector, mirrored to EndpointSlices."""

from __future__ import annotations

import pytest

MIRRORING = "endpointslicemirroring-controller.k8s.io"


RULES = ("endpoints", "endpointslice", "endpointslice-mirroring", "garbage-collector")


@pytest.fixture
def mirror(controller_cluster):
    controller_cluster.load(*RULES)
    return controller_cluster


def run(cluster) -> None:
    result = cluster.run()
    assert result.converged, result.message
    assert not result.failures, [f.format() for f in result.failures]


def service(cluster, name: str = "db", selector=None) -> dict:
    spec = {"ports": [{"name": "pg", "port": 5432}]}
    if selector:
        spec["selector"] = selector
    return cluster.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "demo"},
                           "spec": spec})


def endpoints(cluster, name: str = "db", ready=("192.168.1.10",), not_ready=(), ports=None, labels=None,
              annotations=None, subsets=None) -> dict:
    if subsets is None:
        subset = {"ports": ports or [{"name": "pg", "port": 5432, "protocol": "TCP"}]}
        if ready:
            subset["addresses"] = [{"ip": ip} for ip in ready]
        if not_ready:
            subset["notReadyAddresses"] = [{"ip": ip, "nodeName": "node-1"} for ip in not_ready]
        subsets = [subset]
    meta = {"name": name, "namespace": "demo", "labels": labels or {}, "annotations": annotations or {}}
    if cluster.get("Endpoints", name) is None:
        return cluster.create({"apiVersion": "v1", "kind": "Endpoints", "metadata": meta, "subsets": subsets})
    return cluster.patch("Endpoints", name, {"metadata": meta, "subsets": subsets})


def mirrored(cluster, name: str = "db") -> list:
    return sorted((s for s in cluster.list("EndpointSlice")
                   if s["metadata"]["labels"].get("kubernetes.io/service-name") == name),
                  key=lambda s: (s["addressType"], s["metadata"]["name"]))


def test_a_selectorless_services_endpoints_are_mirrored_to_a_slice_owned_by_them(mirror):
    service(mirror)
    ep = endpoints(mirror, ready=("192.168.1.10", "192.168.1.11"), not_ready=("192.168.1.12",),
                   labels={"team": "data"},
                   annotations={"note": "external", "kubectl.kubernetes.io/last-applied-configuration": "{}"})
    run(mirror)
    [slice_] = mirrored(mirror)
    assert slice_["metadata"]["name"].startswith("db-")
    assert slice_["metadata"]["labels"] == {"team": "data", "kubernetes.io/service-name": "db",
                                            "endpointslice.kubernetes.io/managed-by": MIRRORING}
    assert slice_["metadata"]["annotations"] == {"note": "external"}
    [owner] = slice_["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"], owner["uid"], owner["controller"]) == ("Endpoints", "db", ep["metadata"]["uid"], True)
    assert slice_["addressType"] == "IPv4"
    assert slice_["ports"] == [{"name": "pg", "port": 5432, "protocol": "TCP"}]
    assert [(e["addresses"], e["conditions"]) for e in slice_["endpoints"]] == [
        (["192.168.1.10"], {"ready": True}), (["192.168.1.11"], {"ready": True}), (["192.168.1.12"], {"ready": False})]
    assert slice_["endpoints"][2]["nodeName"] == "node-1"


def test_an_edit_of_the_endpoints_updates_the_mirror_in_place(mirror):
    service(mirror)
    endpoints(mirror)
    run(mirror)
    [before] = mirrored(mirror)
    endpoints(mirror, ready=("192.168.1.20",))
    run(mirror)
    [after] = mirrored(mirror)
    assert after["metadata"]["name"] == before["metadata"]["name"]
    assert [e["addresses"] for e in after["endpoints"]] == [["192.168.1.20"]]


def test_subsets_with_other_ports_or_address_types_get_their_own_slices(mirror):
    service(mirror)
    endpoints(mirror, subsets=[
        {"addresses": [{"ip": "192.168.1.10"}], "ports": [{"name": "pg", "port": 5432, "protocol": "TCP"}]},
        {"addresses": [{"ip": "192.168.1.11"}], "ports": [{"name": "pg", "port": 5432, "protocol": "TCP"}]},
        {"addresses": [{"ip": "192.168.1.12"}], "ports": [{"name": "pg", "port": 6432, "protocol": "TCP"}]},
        {"addresses": [{"ip": "fd00::12"}], "ports": [{"name": "pg", "port": 5432, "protocol": "TCP"}]},
    ])
    run(mirror)
    found = sorted((s["addressType"], s["ports"][0]["port"], [e["addresses"][0] for e in s["endpoints"]])
                   for s in mirrored(mirror))
    assert found == [("IPv4", 5432, ["192.168.1.10", "192.168.1.11"]), ("IPv4", 6432, ["192.168.1.12"]),
                     ("IPv6", 5432, ["fd00::12"])]


def test_more_than_a_hundred_addresses_take_more_slices(mirror):
    service(mirror)
    endpoints(mirror, ready=tuple(f"192.168.{i // 200}.{i % 200 + 1}" for i in range(150)))
    run(mirror)
    assert sorted(len(s["endpoints"]) for s in mirrored(mirror)) == [50, 100]
    endpoints(mirror, ready=("192.168.9.1",))
    run(mirror)
    assert [len(s["endpoints"]) for s in mirrored(mirror)] == [1]


@pytest.mark.parametrize("stop", ["selector", "skip-mirror", "service-deleted", "leader"])
def test_the_mirror_goes_when_mirroring_stops(mirror, stop):
    service(mirror)
    endpoints(mirror)
    run(mirror)
    assert len(mirrored(mirror)) == 1
    if stop == "selector":
        mirror.patch("Service", "db", {"spec": {"selector": {"app": "db"}}})
    elif stop == "skip-mirror":
        endpoints(mirror, labels={"endpointslice.kubernetes.io/skip-mirror": "true"})
    elif stop == "leader":
        endpoints(mirror, annotations={"control-plane.alpha.kubernetes.io/leader": "{}"})
    else:
        mirror.delete("Service", "db")
    run(mirror)
    assert [s for s in mirrored(mirror) if s["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"] == MIRRORING] == []


def test_the_endpoints_of_a_service_with_a_selector_are_not_mirrored(mirror):
    service(mirror, selector={"app": "db"})
    run(mirror)
    endpoints(mirror, ready=("192.168.1.10",))  # (the endpoints controller's own would replace these)
    run(mirror)
    assert all(s["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"] != MIRRORING for s in mirrored(mirror))


def test_deleting_the_endpoints_takes_the_mirror_with_them(mirror):
    service(mirror)
    endpoints(mirror)
    run(mirror)
    mirror.delete("Endpoints", "db")
    run(mirror)
    assert mirrored(mirror) == []


def test_kube_proxy_routes_a_selectorless_service_to_its_mirrored_endpoints(controller_cluster):
    mirror = controller_cluster
    mirror.load(*RULES, "proxy", "service-ip")
    service(mirror)
    endpoints(mirror, ready=("192.168.1.10",), not_ready=("192.168.1.12",))
    run(mirror)
    rules = mirror.get("ServiceRules", "db")
    nat = rules["spec"]["ports"]["demo/db:pg"]["*"]["nat"]
    assert any("DNAT --to-destination 192.168.1.10:5432" in line for line in nat)
    assert not any("192.168.1.12" in line for line in nat)
