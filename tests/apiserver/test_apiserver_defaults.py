"""Defaulting per kind, as kube-apiserver fills objects on create."""

from __future__ import annotations

import pytest
from apiserver_fixtures import ADMIN, deployment, make_server, node, pod

from engine.apiserver import Request
from engine.naming import generate_name, name_suffix
from engine.objects import get_path, thaw


@pytest.mark.parametrize("path, expected", [
    (("spec", "restartPolicy"), "Always"),
    (("spec", "terminationGracePeriodSeconds"), 30),
    (("spec", "dnsPolicy"), "ClusterFirst"),
    (("spec", "schedulerName"), "default-scheduler"),
    (("spec", "serviceAccountName"), "default"),
    (("spec", "priority"), 0),
    (("spec", "containers", 0, "imagePullPolicy"), "IfNotPresent"),
    (("spec", "containers", 0, "terminationMessagePath"), "/dev/termination-log"),
    (("spec", "containers", 0, "terminationMessagePolicy"), "File"),
    (("status", "phase"), "Pending"),
    (("status", "qosClass"), "BestEffort"),
    (("metadata", "generation"), None),  # pods have none in v1.32
    (("metadata", "creationTimestamp"), "2026-01-01T00:00:00Z"),
])
def test_pod_create_fills_upstream_defaults(api, path, expected):
    created = api.create(ADMIN, pod())
    assert get_path(created, *path) == expected


def test_pod_gets_not_ready_and_unreachable_tolerations_for_300_seconds(api):
    tolerations = thaw(api.create(ADMIN, pod()).spec["tolerations"])
    assert tolerations == [
        {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
        {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
    ]


def test_pod_with_an_equivalent_toleration_gets_no_duplicate(api):
    mine = {"operator": "Exists", "effect": "NoExecute"}  # empty key tolerates every NoExecute taint
    created = api.create(ADMIN, pod(tolerations=[mine]))
    assert thaw(created["spec"]["tolerations"]) == [mine]


@pytest.mark.parametrize("image, policy", [
    ("nginx", "Always"),
    ("nginx:latest", "Always"),
    ("nginx:1.25", "IfNotPresent"),
    ("registry:5000/team/nginx", "Always"),
    ("nginx@sha256:abc", "IfNotPresent"),
])
def test_image_pull_policy_follows_the_tag(api, image, policy):
    body = pod()
    body["spec"]["containers"][0]["image"] = image
    assert api.create(ADMIN, body)["spec"]["containers"][0]["imagePullPolicy"] == policy


def test_pod_ports_default_to_tcp_and_limits_become_requests(api):
    body = pod()
    body["spec"]["containers"][0]["ports"] = [{"containerPort": 80}]
    body["spec"]["containers"][0]["resources"] = {"limits": {"cpu": "1", "memory": "1Gi"}}
    created = api.create(ADMIN, body)
    container = created["spec"]["containers"][0]
    assert container["ports"][0]["protocol"] == "TCP"
    assert thaw(container["resources"]["requests"]) == {"cpu": "1", "memory": "1Gi"}
    assert created["status"]["qosClass"] == "Guaranteed"


def test_pod_priority_comes_from_its_priority_class(api):
    api.create(ADMIN, {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                       "metadata": {"name": "high"}, "value": 1000, "preemptionPolicy": "Never"})
    created = api.create(ADMIN, pod(priorityClassName="high"))
    assert created["spec"]["priority"] == 1000
    assert created["spec"]["preemptionPolicy"] == "Never"


def test_system_priority_classes_exist_after_bootstrap(api):
    created = api.create(ADMIN, pod(priorityClassName="system-node-critical"))
    assert created["spec"]["priority"] == 2000001000


def test_service_defaults_type_affinity_protocol_and_target_port(api):
    svc = api.create(ADMIN, {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                             "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}})
    assert svc["spec"]["type"] == "ClusterIP"
    assert svc["spec"]["sessionAffinity"] == "None"
    assert thaw(svc["spec"]["ports"]) == [{"port": 80, "protocol": "TCP", "targetPort": 80}]


def service(api, name: str, **spec) -> dict:
    body = {"selector": {"app": "web"}, "ports": [{"port": 80}], **spec}
    return thaw(api.create(ADMIN, {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": body}))


def test_service_defaults_affinity_config_only_for_client_ip(api):
    """SetDefaults_Service: ClientIP gets a 10800 s timeout when it names none; None drops the config."""
    assert service(api, "sticky", sessionAffinity="ClientIP")["spec"]["sessionAffinityConfig"] == {
        "clientIP": {"timeoutSeconds": 10800}}
    loose = service(api, "loose", sessionAffinityConfig={"clientIP": {"timeoutSeconds": 60}})["spec"]
    assert loose["sessionAffinity"] == "None" and "sessionAffinityConfig" not in loose
    turned = api.patch(ADMIN, "", "Service", "default", "sticky", {"spec": {"sessionAffinity": "None"}})
    assert "sessionAffinityConfig" not in turned["spec"]


def test_service_with_external_ips_defaults_the_cluster_external_policy(api):
    spec = service(api, "ext", externalIPs=["203.0.113.5"])["spec"]
    assert (spec["type"], spec["externalTrafficPolicy"]) == ("ClusterIP", "Cluster")
    assert "externalTrafficPolicy" not in service(api, "plain")["spec"]


def test_service_zero_or_empty_target_port_defaults_to_the_port(api):
    ports = service(api, "web", ports=[{"name": "a", "port": 80, "targetPort": 0},
                                       {"name": "b", "port": 81, "targetPort": ""}])["spec"]["ports"]
    assert [p["targetPort"] for p in ports] == [80, 81]


def test_deployment_defaults_strategy_history_deadline_and_replicas(api):
    spec = api.create(ADMIN, deployment())["spec"]
    assert spec["replicas"] == 1
    assert thaw(spec["strategy"]) == {"type": "RollingUpdate",
                                      "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}
    assert spec["revisionHistoryLimit"] == 10
    assert spec["progressDeadlineSeconds"] == 600
    assert spec["template"]["spec"]["restartPolicy"] == "Always"
    assert "tolerations" not in spec["template"]["spec"]  # admission fills pods, not templates


def test_replicaset_defaults_replicas_to_one(api):
    body = deployment()
    body["kind"] = "ReplicaSet"
    assert api.create(ADMIN, body)["spec"]["replicas"] == 1


@pytest.mark.parametrize("kind, status", [
    ("Deployment", None),
    ("ReplicaSet", {"replicas": 0}),
    ("StatefulSet", {"replicas": 0, "availableReplicas": 0}),
    ("DaemonSet", {"currentNumberScheduled": 0, "numberMisscheduled": 0, "desiredNumberScheduled": 0,
                   "numberReady": 0}),
])
def test_a_new_workload_has_the_zero_status_with_the_counts_upstream_never_omits(api, kind, status):
    body = deployment(replicas=None if kind == "DaemonSet" else 2)
    body["kind"] = kind
    if kind == "StatefulSet":
        body["spec"]["serviceName"] = "web"
    body["status"] = {"replicas": 5, "readyReplicas": 5, "observedGeneration": 7}
    assert thaw(api.create(ADMIN, body).get("status")) == status


def test_a_new_disruption_budget_has_its_four_counts_at_zero(api):
    made = api.create(ADMIN, {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                              "metadata": {"name": "web", "namespace": "default"},
                              "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}}})
    assert thaw(made["status"]) == {"disruptionsAllowed": 0, "currentHealthy": 0, "desiredHealthy": 0,
                                    "expectedPods": 0}


def test_namespace_gets_kubernetes_finalizer_active_phase_and_name_label(api):
    ns = api.create(ADMIN, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "demo"}})
    assert list(ns["spec"]["finalizers"]) == ["kubernetes"]
    assert ns["status"]["phase"] == "Active"
    assert ns["metadata"]["labels"]["kubernetes.io/metadata.name"] == "demo"


def test_secret_defaults_to_opaque_and_string_data_is_encoded(api):
    secret = api.create(ADMIN, {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
                                "stringData": {"password": "hunter2"}})
    assert secret["type"] == "Opaque"
    assert thaw(secret["data"]) == {"password": "aHVudGVyMg=="}
    assert "stringData" not in secret


def test_namespace_defaults_to_default_and_cluster_scoped_objects_get_none(api):
    body = pod()
    del body["metadata"]["namespace"]
    assert api.create(ADMIN, body)["metadata"]["namespace"] == "default"
    created = api.create(ADMIN, {**node(), "metadata": {"name": "n1", "namespace": "oops"}})
    assert "namespace" not in created["metadata"]


def test_generate_name_makes_a_deterministic_five_letter_suffix(api):
    body = pod()
    body["metadata"] = {"generateName": "web-", "namespace": "default"}
    first = api.create(ADMIN, body)["metadata"]["name"]
    second = api.create(ADMIN, body)["metadata"]["name"]
    assert first.startswith("web-") and len(first) == 9 and first != second
    assert set(first[4:]) <= set("bcdfghjklmnpqrstvwxz2456789")
    again = make_server()
    assert again.create(ADMIN, body)["metadata"]["name"] == first


def test_generate_name_retries_when_the_suffix_is_taken(api):
    revision = api.head.revision + 1
    taken = generate_name("web-", name_suffix(f"recon/{revision}/1", 0))
    generated = pod()
    generated["metadata"] = {"generateName": "web-", "namespace": "default"}
    api.submit(ADMIN, [Request("create", "", "Pod", "default", None, pod(taken)),
                       Request("create", "", "Pod", "default", None, generated)])
    names = [p["metadata"]["name"] for p in api.list(ADMIN, "", "Pod")[0]]
    assert sorted(names) == sorted([taken, generate_name("web-", name_suffix(f"recon/{revision}/1", 1))])


def test_node_keeps_capacity_and_allocatable_defaults_to_capacity(api):
    created = api.create(ADMIN, node(capacity={"cpu": "4", "pods": "110"},
                                     conditions=[{"type": "Ready", "status": "True"}]))
    assert thaw(created["status"]) == {"capacity": {"cpu": "4", "pods": "110"},
                                       "allocatable": {"cpu": "4", "pods": "110"}}


def test_uids_differ_per_object_and_look_like_uuids(api):
    a = api.create(ADMIN, pod("a"))["metadata"]["uid"]
    b = api.create(ADMIN, pod("b"))["metadata"]["uid"]
    assert a != b and len(a) == 36 and a.count("-") == 4
