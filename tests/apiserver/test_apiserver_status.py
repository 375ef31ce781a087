"""Spec and status are separate: users write spec, controllers write status."""

from __future__ import annotations

import pytest
from apiserver_fixtures import ADMIN, deployment, pod

from engine.apiserver import APIError, Request
from engine.objects import set_path, thaw


def test_create_drops_the_status_of_kinds_with_a_status_subresource(api):
    body = deployment()
    body["status"] = {"replicas": 5}
    assert "status" not in api.create(ADMIN, body)


def test_create_keeps_status_of_kinds_without_a_status_subresource(api):
    body = {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e"}, "involvedObject": {"kind": "Pod"},
            "reason": "Started"}
    assert api.create(ADMIN, body)["reason"] == "Started"


def test_main_update_keeps_the_stored_status(api):
    created = api.create(ADMIN, pod("x"))
    api.update(ADMIN, set_path(created, ("status", "phase"), "Running"), subresource="status")
    stored = api.get(ADMIN, "", "Pod", "default", "x")
    relabelled = set_path(set_path(stored, ("metadata", "labels", "tier"), "front"), ("status", "phase"), "Failed")
    updated = api.update(ADMIN, relabelled)
    assert updated["metadata"]["labels"]["tier"] == "front"
    assert updated["status"]["phase"] == "Running"


def test_status_update_keeps_the_stored_spec_and_metadata(api):
    created = api.create(ADMIN, deployment(replicas=2))
    sneaky = set_path(set_path(created, ("spec", "replicas"), 9), ("metadata", "labels", "x"), "y")
    updated = api.update(ADMIN, set_path(sneaky, ("status", "replicas"), 2), subresource="status")
    assert updated["spec"]["replicas"] == 2
    assert "labels" not in updated["metadata"]
    assert updated["status"]["replicas"] == 2


def test_status_subresource_of_a_kind_without_one_is_not_found(api):
    cm = api.create(ADMIN, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {}})
    with pytest.raises(APIError) as caught:
        api.update(ADMIN, cm, subresource="status")
    assert caught.value.code == 404


@pytest.mark.parametrize("change, bumped", [
    (lambda d: set_path(d, ("spec", "replicas"), 3), True),
    (lambda d: set_path(d, ("metadata", "labels", "a"), "b"), False),
    (lambda d: set_path(d, ("metadata", "annotations", "a"), "b"), False),
    (lambda d: d, False),
])
def test_generation_bumps_only_when_the_spec_changes(api, change, bumped):
    created = api.create(ADMIN, deployment())
    updated = api.update(ADMIN, change(created))
    assert updated["metadata"]["generation"] == (2 if bumped else 1)


def test_status_writes_never_bump_generation(api):
    created = api.create(ADMIN, deployment())
    updated = api.update(ADMIN, set_path(created, ("status", "replicas"), 1), subresource="status")
    assert updated["metadata"]["generation"] == 1


def test_configmap_data_changes_do_not_bump_generation(api):
    cm = api.create(ADMIN, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}})
    assert "generation" not in api.update(ADMIN, set_path(cm, ("data", "a"), "2"))["metadata"]


def test_an_update_that_changes_nothing_makes_no_revision(api):
    created = api.create(ADMIN, deployment())
    before = api.head.revision
    same = api.update(ADMIN, created)
    assert api.head.revision == before and same["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]


def test_stale_resource_version_in_the_body_is_a_conflict(api):
    created = api.create(ADMIN, deployment())
    api.update(ADMIN, set_path(created, ("spec", "replicas"), 2))
    with pytest.raises(APIError) as caught:
        api.update(ADMIN, set_path(created, ("spec", "replicas"), 5))
    assert caught.value.code == 409 and caught.value.reason == "Conflict"
    assert caught.value.message == ('Operation cannot be fulfilled on deployments.apps "web": the object has been '
                                    "modified; please apply your changes to the latest version and try again")


def test_request_rv_is_a_precondition_too(api):
    created = api.create(ADMIN, deployment())
    body = thaw(created)
    del body["metadata"]["resourceVersion"]
    with pytest.raises(APIError) as caught:
        api.submit(ADMIN, [Request("update", "apps", "Deployment", "default", "web", body, rv=1)])
    assert caught.value.reason == "Conflict"


def test_creating_an_existing_object_is_already_exists(api):
    api.create(ADMIN, pod("x"))
    with pytest.raises(APIError) as caught:
        api.create(ADMIN, pod("x"))
    assert (caught.value.code, caught.value.message) == (409, 'pods "x" already exists')


def test_updating_a_missing_object_is_not_found(api):
    with pytest.raises(APIError) as caught:
        api.update(ADMIN, pod("ghost"))
    assert (caught.value.code, caught.value.message) == (404, 'pods "ghost" not found')


def test_scale_subresource_reads_and_writes_replicas(api):
    api.create(ADMIN, deployment(replicas=2))
    scale = api.get(ADMIN, "apps", "Deployment", "default", "web", subresource="scale")
    assert thaw(scale["spec"]) == {"replicas": 2} and scale["status"]["selector"] == "app=web"
    patched = api.patch(ADMIN, "apps", "Deployment", "default", "web", {"spec": {"replicas": 4}}, subresource="scale")
    assert patched["kind"] == "Scale" and patched["spec"]["replicas"] == 4
    stored = api.get(ADMIN, "apps", "Deployment", "default", "web")
    assert stored["spec"]["replicas"] == 4 and stored["metadata"]["generation"] == 2


def test_the_scale_of_a_workload_at_zero_replicas_leaves_spec_replicas_out(api):
    api.create(ADMIN, deployment(replicas=0))
    scale = api.get(ADMIN, "apps", "Deployment", "default", "web", subresource="scale")
    assert (thaw(scale["spec"]), thaw(scale["status"])) == ({}, {"replicas": 0, "selector": "app=web"})


def test_binding_assigns_a_node_once(api):
    api.create(ADMIN, pod("x"))
    bound = api.bind(ADMIN, "default", "x", "node-1")
    assert bound["spec"]["nodeName"] == "node-1"
    assert bound["status"]["conditions"][0]["type"] == "PodScheduled"
    with pytest.raises(APIError) as caught:
        api.bind(ADMIN, "default", "x", "node-2")
    assert caught.value.message == ('Operation cannot be fulfilled on pods/binding "x": '
                                    'pod x is already assigned to node "node-1"')


def test_endpoints_may_be_created_by_an_update(api):
    body = {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "web", "namespace": "default"},
            "subsets": [{"addresses": [{"ip": "10.0.0.1"}], "ports": [{"port": 80}]}]}
    created = api.update(ADMIN, body)
    assert created["subsets"][0]["ports"][0]["protocol"] == "TCP"


def test_service_update_keeps_its_cluster_ip_and_refuses_to_change_it(api):
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
           "spec": {"ports": [{"port": 80}], "clusterIP": "10.96.0.10"}}
    api.create(ADMIN, svc)
    updated = api.update(ADMIN, {**svc, "spec": {"ports": [{"port": 81}]}})
    assert updated["spec"]["clusterIP"] == "10.96.0.10"
    with pytest.raises(APIError) as caught:
        api.update(ADMIN, {**svc, "spec": {"ports": [{"port": 80}], "clusterIP": "10.96.0.11"}})
    assert 'spec.clusterIP: Invalid value: "10.96.0.11": field is immutable' in caught.value.message


@pytest.mark.parametrize("status, expected", [
    ({"podIPs": [{"ip": "10.244.0.9"}], "hostIPs": [{"ip": "192.168.0.1"}]},
     {"podIP": "10.244.0.9", "podIPs": [{"ip": "10.244.0.9"}], "hostIP": "192.168.0.1", "hostIPs": [{"ip": "192.168.0.1"}]}),
    ({"podIP": "10.244.0.9", "hostIP": "192.168.0.1"},
     {"podIP": "10.244.0.9", "podIPs": [{"ip": "10.244.0.9"}], "hostIP": "192.168.0.1", "hostIPs": [{"ip": "192.168.0.1"}]}),
    ({"podIP": "10.244.0.8", "podIPs": [{"ip": "10.244.0.9"}]},
     {"podIP": "10.244.0.8", "podIPs": [{"ip": "10.244.0.8"}]}),
])
def test_a_pods_single_and_plural_ips_are_kept_in_step(api, status, expected):
    """Upstream's v1 PodStatus conversion: podIPs from podIP when only podIP is given or the two
    differ (podIP wins, for old clients), podIP from podIPs[0]; hostIP and hostIPs the same way."""
    created = api.create(ADMIN, pod("p"))
    updated = api.update(ADMIN, {**created, "status": {"phase": "Running", **status}}, subresource="status")
    assert {k: v for k, v in thaw(updated["status"]).items() if k in expected} == expected


def service(name: str = "web", **spec) -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "default"},
            "spec": {"selector": {"app": name}, "ports": [{"port": 80}], **spec}}


@pytest.mark.parametrize("kind", ["ClusterIP", "NodePort", "LoadBalancer"])
def test_every_new_service_has_an_empty_load_balancer_status(api, kind):
    """PrepareForCreate resets the status to ServiceStatus{}, whose loadBalancer is always written."""
    body = service(type=kind)
    body["status"] = {"loadBalancer": {"ingress": [{"ip": "192.0.2.7"}]}}
    assert thaw(api.create(ADMIN, body)["status"]) == {"loadBalancer": {}}
    assert thaw(api.get(ADMIN, "", "Service", "default", "web")["status"]) == {"loadBalancer": {}}


def test_the_bootstrapped_kubernetes_service_has_an_empty_load_balancer_status(api):
    assert thaw(api.get(ADMIN, "", "Service", "default", "kubernetes")["status"]) == {"loadBalancer": {}}


def test_a_service_keeps_its_load_balancer_status_through_updates(api):
    created = api.create(ADMIN, service(type="LoadBalancer"))
    ingress = {"loadBalancer": {"ingress": [{"ip": "192.0.2.7", "ipMode": "VIP"}]}}
    assert thaw(api.update(ADMIN, set_path(created, ("status",), ingress), subresource="status")["status"]) == ingress
    relabelled = api.patch(ADMIN, "", "Service", "default", "web", {"metadata": {"labels": {"tier": "front"}}})
    assert thaw(relabelled["status"]) == ingress
    cleared = api.patch(ADMIN, "", "Service", "default", "web", {"status": None}, subresource="status")
    assert thaw(cleared["status"]) == {"loadBalancer": {}}


def test_a_service_turned_from_load_balancer_to_cluster_ip_keeps_an_empty_load_balancer_status(api):
    created = api.create(ADMIN, service(type="LoadBalancer"))
    api.update(ADMIN, set_path(created, ("status", "loadBalancer", "ingress"), [{"ip": "192.0.2.7"}]),
               subresource="status")
    turned = api.patch(ADMIN, "", "Service", "default", "web", {"spec": {"type": "ClusterIP"}})
    assert thaw(turned["status"]) == {"loadBalancer": {}}
