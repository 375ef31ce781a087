"""LimitRanger and ResourceQuota admission, and rules/resourcequota.rules (the quota controller)."""

from __future__ import annotations

import pytest

from engine.apierrors import APIError


def pod(name, requests=None, limits=None, phase=None):
    resources = {}
    if requests is not None:
        resources["requests"] = requests
    if limits is not None:
        resources["limits"] = limits
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "demo"},
            "spec": {"containers": [{"name": "c", "image": "nginx:1.27", "resources": resources}]}}


def quota(hard, name="q", scopes=None):
    spec = {"hard": hard}
    if scopes:
        spec["scopes"] = scopes
    return {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": name, "namespace": "demo"}, "spec": spec}


def limit_range(*limits):
    return {"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "lr", "namespace": "demo"},
            "spec": {"limits": list(limits)}}


def refused(c, obj):
    with pytest.raises(APIError) as caught:
        c.create(obj)
    assert caught.value.code == 403
    return caught.value.message


def test_limit_range_defaults_requests_and_limits_of_a_container(controller_cluster):
    c = controller_cluster
    c.create(limit_range({"type": "Container", "default": {"cpu": "500m", "memory": "256Mi"},
                          "defaultRequest": {"cpu": "100m"}}))
    created = c.create(pod("x", requests={"memory": "64Mi"}))
    resources = created["spec"]["containers"][0]["resources"]
    assert resources == {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}}
    assert created["metadata"]["annotations"]["kubernetes.io/limit-ranger"] == (
        "LimitRanger plugin set: cpu request for container c; cpu, memory limit for container c")


def test_a_pod_given_its_resources_by_a_limit_range_has_the_qos_class_they_make(controller_cluster):
    c = controller_cluster
    c.create(limit_range({"type": "Container", "default": {"cpu": "500m", "memory": "256Mi"}}))
    created = c.create(pod("g"))  # (limits defaulted, requests from them: equal, so Guaranteed)
    assert created["status"]["qosClass"] == "Guaranteed"


def test_limit_range_max_defaults_the_limit_and_refuses_a_larger_one(controller_cluster):
    c = controller_cluster
    c.create(limit_range({"type": "Container", "max": {"cpu": "1"}, "min": {"memory": "10Mi"}}))
    assert c.create(pod("ok", requests={"memory": "20Mi"}))["spec"]["containers"][0]["resources"]["limits"] == {"cpu": "1"}
    assert refused(c, pod("x", requests={"memory": "20Mi"}, limits={"cpu": "2"})) == (
        'pods "x" is forbidden: maximum cpu usage per Container is 1, but limit is 2')
    assert refused(c, pod("y", requests={"memory": "1Mi", "cpu": "2"}, limits={"cpu": "2"})) == (
        'pods "y" is forbidden: [minimum memory usage per Container is 10Mi, but request is 1Mi, '
        'maximum cpu usage per Container is 1, but limit is 2]')
    assert c.get("Pod", "x") is None


def test_limit_range_pod_type_and_ratio(controller_cluster):
    c = controller_cluster
    c.create(limit_range({"type": "Pod", "max": {"memory": "100Mi"}},
                         {"type": "Container", "maxLimitRequestRatio": {"cpu": "2"}}))
    assert refused(c, pod("x", requests={"cpu": "100m"}, limits={"cpu": "300m", "memory": "200Mi"})) == (
        'pods "x" is forbidden: [maximum memory usage per Pod is 100Mi, but limit is 200Mi, '
        'cpu max limit to request ratio per Container is 2, but provided ratio is 3.000000]')


def test_a_namespace_without_limit_ranges_leaves_pods_alone(controller_cluster):
    created = controller_cluster.create(pod("x"))
    assert created["spec"]["containers"][0].get("resources") in (None, {})
    assert "annotations" not in created["metadata"]


def test_quota_status_reports_hard_and_used_and_tracks_creates_and_deletes(controller_cluster):
    c = controller_cluster
    c.load("resourcequota")
    c.create(pod("a", requests={"cpu": "500m", "memory": "128Mi"}, limits={"cpu": "1", "memory": "128Mi"}))
    c.create(quota({"pods": "4", "requests.cpu": "2", "limits.memory": "1Gi", "configmaps": "3"}))
    c.run(5)
    status = c.get("ResourceQuota", "q")["status"]
    assert status["hard"] == {"pods": "4", "requests.cpu": "2", "limits.memory": "1Gi", "configmaps": "3"}
    assert status["used"] == {"pods": "1", "requests.cpu": "500m", "limits.memory": "128Mi", "configmaps": "0"}
    c.create(pod("b", requests={"cpu": "1", "memory": "128Mi"}, limits={"cpu": "1", "memory": "128Mi"}))
    c.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "namespace": "demo"}})
    c.run(5)
    assert c.get("ResourceQuota", "q")["status"]["used"] == {
        "pods": "2", "requests.cpu": "1500m", "limits.memory": "256Mi", "configmaps": "1"}
    c.delete("Pod", "a", grace_period=0)
    c.run(5)
    assert c.get("ResourceQuota", "q")["status"]["used"]["requests.cpu"] == "1"
    c.patch("Pod", "b", {"status": {"phase": "Succeeded"}}, subresource="status")
    c.run(5)
    assert c.get("ResourceQuota", "q")["status"]["used"] == {
        "pods": "0", "requests.cpu": "0", "limits.memory": "0", "configmaps": "1"}


def test_a_quota_of_no_resources_has_neither_hard_nor_used(controller_cluster):
    c = controller_cluster
    c.load("resourcequota")
    c.create(quota({"pods": "4"}))
    c.create(quota({}, name="none"))
    c.run(5)
    assert dict(c.get("ResourceQuota", "q")["status"]) == {"hard": {"pods": "4"}, "used": {"pods": "0"}}
    assert "status" not in c.get("ResourceQuota", "none")


def test_quota_refuses_a_create_past_hard_with_upstream_words(controller_cluster):
    c = controller_cluster
    c.load("resourcequota")
    c.create(quota({"requests.cpu": "1", "pods": "5"}))
    c.run(5)
    c.create(pod("a", requests={"cpu": "600m"}))
    c.create(pod("b", requests={"cpu": "400m"}))  # charged at once: status.used is 1 before the rule runs
    assert c.get("ResourceQuota", "q")["status"]["used"] == {"pods": "2", "requests.cpu": "1"}
    assert refused(c, pod("x", requests={"cpu": "500m"})) == (
        'pods "x" is forbidden: exceeded quota: q, requested: requests.cpu=500m, used: requests.cpu=1, '
        'limited: requests.cpu=1')
    c.run(5)
    assert c.get("ResourceQuota", "q")["status"]["used"] == {"pods": "2", "requests.cpu": "1"}


def test_quota_refuses_a_pod_that_does_not_say_what_the_quota_limits(controller_cluster):
    c = controller_cluster
    c.load("resourcequota")
    c.create(quota({"limits.cpu": "2", "requests.memory": "1Gi"}))
    c.run(5)
    assert refused(c, pod("x", requests={"cpu": "1"})) == (
        'pods "x" is forbidden: failed quota: q: must specify limits.cpu for: c; requests.memory for: c')


def test_quota_counts_objects_and_ignores_pods_outside_its_scope(controller_cluster):
    c = controller_cluster
    c.load("resourcequota")
    c.create(quota({"count/configmaps": "1"}))
    c.create(quota({"pods": "1"}, name="be", scopes=["BestEffort"]))
    c.run(5)
    c.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "one", "namespace": "demo"}})
    assert refused(c, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "two", "namespace": "demo"}}) == (
        'configmaps "two" is forbidden: exceeded quota: q, requested: count/configmaps=1, '
        'used: count/configmaps=1, limited: count/configmaps=1')
    c.create(pod("be1"))
    c.create(pod("burstable", requests={"cpu": "1"}))
    assert refused(c, pod("be2")).startswith('pods "be2" is forbidden: exceeded quota: be, requested: pods=1')
    c.run(5)
    assert c.get("ResourceQuota", "be")["status"]["used"] == {"pods": "1"}


def test_a_count_of_a_kind_the_controller_does_not_count_is_not_enforced_either(controller_cluster):
    # (admission charging it while the controller reset it to 0 let every create through anyway, and showed 0)
    c = controller_cluster
    c.load("resourcequota")
    c.create(quota({"count/serviceaccounts": "1", "count/configmaps": "5"}))
    c.run(5)
    for name in ("a", "b"):
        c.create({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": "demo"}})
        c.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "demo"}})
        # as admission leaves it (before the controller recounts): the same as the controller says
        assert c.get("ResourceQuota", "q")["status"]["used"]["count/serviceaccounts"] == "0"
        c.run(5)
    assert c.get("ResourceQuota", "q")["status"]["used"] == {"count/serviceaccounts": "0", "count/configmaps": "2"}


def _replicaset(replicas):
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "web", "namespace": "demo"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}}}}


def _replicaset_past_its_quota(c):
    """A ReplicaSet of 3 in a namespace whose quota allows 2 pods, run for a minute."""
    c.load("resourcequota", "replicaset")
    c.create(quota({"pods": "2"}))
    c.run(5)
    c.create(_replicaset(3))
    return c.run(60)


def test_a_replicaset_refused_by_quota_backs_off_with_the_quota_error(controller_cluster):
    c = controller_cluster
    result = _replicaset_past_its_quota(c)
    [failure] = [f for f in result.failures if f.rule == "replicaset-controller/replicas"]
    assert "is forbidden: exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2" in failure.message
    assert c.api.get(c.admin, "", "ResourceQuota", "demo", "q")["status"]["used"] == {
        "pods": str(len(c.list("Pod")))}


def test_a_replicaset_refused_by_quota_makes_what_fits_and_records_failed_create(controller_cluster):
    c = controller_cluster
    _replicaset_past_its_quota(c)
    assert len(c.list("Pod")) == 2
    failed = [e for e in c.list("Event") if e.get("reason") == "FailedCreate"]
    assert failed and all("Error creating: " in e["message"] for e in failed)
    # the refused rule backs off 1, 2, 4, … s (a minute: a handful of tries, not one a second)
    assert sum(e.get("count", 1) for e in failed) <= 8


def test_only_cpu_and_memory_decide_the_qos_class():
    from engine.defaulting import qos_class
    from engine.quota import best_effort

    storage_only = {"containers": [{"name": "c", "resources": {"requests": {"ephemeral-storage": "1Gi"}}}]}
    assert qos_class(storage_only) == "BestEffort" and best_effort({"spec": storage_only})
    cpu = {"containers": [{"name": "c", "resources": {"requests": {"cpu": "100m"}}}]}
    assert qos_class(cpu) == "Burstable" and not best_effort({"spec": cpu})


def service(name, type_="ClusterIP", ports=(80,), **spec):
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "demo"},
            "spec": {"type": type_, "selector": {"app": name},
                     "ports": [{"name": f"p{p}", "port": p} for p in ports], **spec}}


def refused_patch(c, kind, name, patch):
    with pytest.raises(APIError) as caught:
        c.patch(kind, name, patch)
    assert caught.value.code == 403
    return caught.value.message


def test_quota_counts_the_node_ports_and_load_balancers_services_ask_for(controller_cluster):
    c = controller_cluster
    c.load("resourcequota")
    c.create(quota({"services": "5", "services.nodeports": "3", "services.loadbalancers": "1"}))
    c.run(5)
    c.create(service("plain"))
    c.create(service("np", "NodePort", ports=(80, 81)))
    c.create(service("lb", "LoadBalancer"))
    assert c.get("ResourceQuota", "q")["status"]["used"] == {
        "services": "3", "services.nodeports": "3", "services.loadbalancers": "1"}
    assert refused(c, service("np2", "NodePort")) == (
        'services "np2" is forbidden: exceeded quota: q, requested: services.nodeports=1, '
        'used: services.nodeports=3, limited: services.nodeports=3')
    c.run(5)
    assert c.get("ResourceQuota", "q")["status"]["used"] == {
        "services": "3", "services.nodeports": "3", "services.loadbalancers": "1"}
    c.delete("Service", "lb")
    c.run(5)
    assert c.get("ResourceQuota", "q")["status"]["used"] == {
        "services": "2", "services.nodeports": "2", "services.loadbalancers": "0"}


def test_a_load_balancer_without_node_ports_is_charged_only_the_ports_that_name_one(controller_cluster):
    c = controller_cluster
    c.load("resourcequota")
    c.create(quota({"services.nodeports": "1"}))
    c.run(5)
    c.create(service("lb", "LoadBalancer", ports=(80, 81), allocateLoadBalancerNodePorts=False))
    c.run(5)
    assert c.get("ResourceQuota", "q")["status"]["used"] == {"services.nodeports": "0"}


def test_quota_refuses_an_update_that_turns_a_service_into_a_load_balancer_past_hard(controller_cluster):
    c = controller_cluster
    c.load("resourcequota")
    c.create(quota({"services": "5", "services.nodeports": "2", "services.loadbalancers": "1"}))
    c.run(5)
    c.create(service("lb", "LoadBalancer"))
    c.create(service("a"))
    assert refused_patch(c, "Service", "a", {"spec": {"type": "LoadBalancer"}}) == (
        'services "a" is forbidden: exceeded quota: q, requested: services.loadbalancers=1, '
        'used: services.loadbalancers=1, limited: services.loadbalancers=1')
    assert c.get("Service", "a")["spec"]["type"] == "ClusterIP"
    # a NodePort of one port fits: charged at once, by the difference the update makes
    c.patch("Service", "a", {"spec": {"type": "NodePort"}})
    assert c.get("ResourceQuota", "q")["status"]["used"]["services.nodeports"] == "2"
    assert refused_patch(c, "Service", "a", {"spec": {"ports": [{"name": "p80", "port": 80},
                                                                {"name": "p81", "port": 81}]}}) == (
        'services "a" is forbidden: exceeded quota: q, requested: services.nodeports=1, '
        'used: services.nodeports=2, limited: services.nodeports=2')


def test_an_update_that_does_not_change_what_a_service_uses_passes_a_full_quota(controller_cluster):
    c = controller_cluster
    c.load("resourcequota")
    c.create(quota({"services": "1", "services.nodeports": "1"}))
    c.run(5)
    c.create(service("np", "NodePort"))
    c.run(5)
    c.patch("Service", "np", {"metadata": {"labels": {"tier": "web"}}})
    c.patch("Service", "np", {"spec": {"type": "ClusterIP"}})  # (gives back: never refused)
    assert c.get("Service", "np")["spec"]["type"] == "ClusterIP"
    c.run(5)
    assert c.get("ResourceQuota", "q")["status"]["used"] == {"services": "1", "services.nodeports": "0"}


def test_quota_counts_the_overhead_a_runtime_class_gives_a_pod(controller_cluster):
    c = controller_cluster
    c.load("resourcequota")
    c.create({"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass", "metadata": {"name": "kata"},
              "handler": "kata", "overhead": {"podFixed": {"cpu": "250m", "memory": "64Mi"}}})
    c.create(quota({"requests.cpu": "1", "limits.memory": "1Gi"}))
    c.run(5)
    sandboxed = pod("a", requests={"cpu": "500m"}, limits={"memory": "128Mi"})
    sandboxed["spec"]["runtimeClassName"] = "kata"
    c.create(sandboxed)  # (admission charges requests plus overhead at once)
    assert c.get("ResourceQuota", "q")["status"]["used"] == {"requests.cpu": "750m", "limits.memory": "192Mi"}
    c.run(5)
    assert c.get("ResourceQuota", "q")["status"]["used"] == {"requests.cpu": "750m", "limits.memory": "192Mi"}
    second = pod("b", requests={"cpu": "500m"}, limits={"memory": "128Mi"})
    second["spec"]["runtimeClassName"] = "kata"
    assert refused(c, second) == (
        'pods "b" is forbidden: exceeded quota: q, requested: requests.cpu=750m, used: requests.cpu=750m, '
        'limited: requests.cpu=1')
