"""rules/disruption.rules: the disruption controller's PodDisruptionBudget status, sample-controller style."""

from __future__ import annotations

import pytest

from engine.timeutil import format_time


def pdb(name="web", min_available=None, max_unavailable=None, app="web"):
    spec = {"selector": {"matchLabels": {"app": app}}}
    if min_available is not None:
        spec["minAvailable"] = min_available
    if max_unavailable is not None:
        spec["maxUnavailable"] = max_unavailable
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": name, "namespace": "demo"},
            "spec": spec}


def replicaset(name="web", replicas=4):
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": name, "namespace": "demo"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}}}}


def ready_pods(c, ready=3):
    """The ReplicaSet's pods, the first `ready` of them Ready (there is no kubelet here)."""
    c.run()
    pods = c.list("Pod")
    for i, p in enumerate(pods):
        c.set_pod_status(p["metadata"]["name"], ready=i < ready)
    c.run()
    return pods


def status(c, name="web"):
    return c.get("PodDisruptionBudget", name)["status"]


@pytest.mark.parametrize("spec, expected, desired, allowed", [
    ({"min_available": 2}, 4, 2, 1),
    ({"min_available": "50%"}, 6, 3, 0),         # 50 % of the ReplicaSet's 6 replicas, 3 ready
    ({"min_available": "40%"}, 6, 3, 0),         # rounded up
    ({"max_unavailable": 1}, 6, 5, 0),
    ({"max_unavailable": "50%"}, 6, 3, 0),
    ({"max_unavailable": "10%"}, 6, 5, 0),       # rounded up: 1 unavailable
])
def test_pdb_status_from_min_available_or_max_unavailable(controller_cluster, spec, expected, desired, allowed):
    c = controller_cluster
    c.load("replicaset", "disruption")
    c.apply(replicaset(replicas=6 if expected == 6 else 4))
    ready_pods(c, ready=3)
    c.apply(pdb(**spec))
    c.run()
    s = status(c)
    assert (s["expectedPods"], s["desiredHealthy"], s["currentHealthy"], s["disruptionsAllowed"]) == \
        (expected, desired, 3, allowed)
    assert s["observedGeneration"] == 1
    cond = s["conditions"][0]
    assert (cond["type"], cond["status"], cond["reason"]) == \
        ("DisruptionAllowed", "True" if allowed else "False", "SufficientPods" if allowed else "InsufficientPods")


def test_max_unavailable_reads_the_deployments_scale_not_its_replicasets(controller_cluster):
    c = controller_cluster
    c.load("replicaset", "deployment", "disruption")
    c.apply({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "demo"},
             "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                      "template": {"metadata": {"labels": {"app": "web"}},
                                   "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}}}})
    ready_pods(c, ready=3)
    c.apply(pdb(max_unavailable=1))
    c.run()
    s = status(c)
    assert (s["expectedPods"], s["desiredHealthy"], s["currentHealthy"], s["disruptionsAllowed"]) == (3, 2, 3, 1)


def test_pods_being_deleted_or_just_evicted_are_not_healthy(controller_cluster):
    c = controller_cluster
    c.load("replicaset", "disruption")
    c.apply(replicaset(replicas=4))
    pods = ready_pods(c, ready=4)
    c.apply(pdb(min_available=2))
    c.run()
    assert status(c)["disruptionsAllowed"] == 2
    evicted = pods[0]["metadata"]["name"]
    c.patch("PodDisruptionBudget", "web", {"status": {"disruptedPods": {evicted: format_time(c.clock.now())},
                                                      "disruptionsAllowed": 1}}, subresource="status")
    c.run(10)
    s = status(c)
    assert (s["currentHealthy"], s["disruptionsAllowed"]) == (3, 1)
    assert evicted in s["disruptedPods"]
    c.run(300)  # never deleted: dropped after two minutes
    s = status(c)
    assert (s["currentHealthy"], s["disruptionsAllowed"]) == (4, 2)
    assert "disruptedPods" not in s


def test_a_pdb_without_a_scale_to_read_fails_safe(controller_cluster):
    c = controller_cluster
    c.load("disruption")
    c.create({"apiVersion": "v1", "kind": "Pod", "metadata": {
        "name": "job-pod", "namespace": "demo", "labels": {"app": "web"},
        "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": "j", "uid": "u-1", "controller": True}]},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]}})
    c.set_pod_status("job-pod")
    c.apply(pdb(max_unavailable=1))
    c.run()
    s = status(c)
    assert s["disruptionsAllowed"] == 0
    assert s["conditions"][0]["reason"] == "SyncFailed"
    assert s["conditions"][0]["message"] == 'found no controllers for pod "job-pod"'


def scaled_crd(plural="widgets", kind="Widget", scale=True):
    schema = {"type": "object", "properties": {"spec": {"type": "object", "properties": {"size": {"type": "integer"}}}}}
    subresources = {"scale": {"specReplicasPath": ".spec.size", "statusReplicasPath": ".status.size"}} if scale else {}
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural}.example.com"},
            "spec": {"group": "example.com", "scope": "Namespaced", "names": {"plural": plural, "kind": kind},
                     "versions": [{"name": "v1", "served": True, "storage": True,
                                   "schema": {"openAPIV3Schema": schema}, "subresources": subresources}]}}


def owned_pods(c, owner, ready):
    ref = {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": owner["metadata"]["name"],
           "uid": owner["metadata"]["uid"], "controller": True}
    for i in range(ready):
        c.create({"apiVersion": "v1", "kind": "Pod", "metadata": {
            "name": f"w-{i}", "namespace": "demo", "labels": {"app": "web"}, "ownerReferences": [ref]},
            "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}})
        c.set_pod_status(f"w-{i}")


@pytest.mark.parametrize("spec, desired, allowed", [
    ({"max_unavailable": 1}, 4, 0),
    ({"min_available": "50%"}, 3, 1),
])
def test_a_pdb_reads_the_scale_of_a_custom_controller(controller_cluster, spec, desired, allowed):
    c = controller_cluster
    c.load("disruption")
    c.create(scaled_crd())
    widget = c.create({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "demo"},
                       "spec": {"size": 5}})
    owned_pods(c, widget, 4)
    c.apply(pdb(**spec))
    c.run()
    s = status(c)
    assert (s["expectedPods"], s["desiredHealthy"], s["currentHealthy"], s["disruptionsAllowed"]) == (
        5, desired, 4, allowed)
    assert s["conditions"][0]["reason"] == ("SufficientPods" if allowed else "InsufficientPods")


def test_a_custom_controller_without_a_scale_fails_the_pdb_safe(controller_cluster):
    c = controller_cluster
    c.load("disruption")
    c.create(scaled_crd("gadgets", "Gadget", scale=False))
    gadget = c.create({"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "g", "namespace": "demo"},
                       "spec": {"size": 5}})
    owned_pods(c, gadget, 2)
    c.apply(pdb(max_unavailable=1))
    c.run()
    assert status(c)["conditions"][0]["reason"] == "SyncFailed"
    assert status(c)["disruptionsAllowed"] == 0
