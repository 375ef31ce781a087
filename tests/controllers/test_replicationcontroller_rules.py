"""rules/replicationcontroller.rules: the replication manager, sample-controller style (with the garbage
collector, the namespace controller, quota, the disruption controller and the autoscaler around it)."""

from __future__ import annotations

import re

import pytest

from engine.clock import EPOCH
from engine.describe import describe


def rc(name="web", replicas=3, selector=None, labels=None, min_ready=None):
    spec = {"replicas": replicas,
            "template": {"metadata": {"labels": labels or {"app": "web", "tier": "fe"}},
                         "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}}}
    spec["selector"] = selector or {"app": "web"}
    if min_ready is not None:
        spec["minReadySeconds"] = min_ready
    return {"apiVersion": "v1", "kind": "ReplicationController", "metadata": {"name": name, "namespace": "demo"},
            "spec": spec}


def pod(name, labels=None, node=None, owner=None):
    meta = {"name": name, "namespace": "demo", "labels": labels if labels is not None else {"app": "web"}}
    if owner is not None:
        meta["ownerReferences"] = [{"apiVersion": owner["apiVersion"], "kind": owner["kind"],
                                    "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"],
                                    "controller": True, "blockOwnerDeletion": True}]
    spec = {"containers": [{"name": "c", "image": "nginx:1.27"}]}
    if node:
        spec["nodeName"] = node
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}


def names(objs):
    return sorted(o["metadata"]["name"] for o in objs)


def live(c, owner):
    return names(p for p in c.owned("Pod", owner) if not p["metadata"].get("deletionTimestamp"))


def events(c, reason):
    return [e for e in c.list("Event") if e["reason"] == reason]


def test_pods_are_created_from_the_template_owned_by_the_controller(controller_cluster):
    c = controller_cluster
    c.load("replicationcontroller")
    c.apply(rc(replicas=3))
    assert c.run().converged
    owner = c.get("ReplicationController", "web")
    pods = c.owned("Pod", owner)
    assert len(pods) == 3
    for p in pods:
        assert re.fullmatch(r"web-[bcdfghjklmnpqrstvwxz2456789]{5}", p["metadata"]["name"])
        assert p["metadata"]["generateName"] == "web-"
        assert p["metadata"]["labels"] == {"app": "web", "tier": "fe"}
        assert p["metadata"]["ownerReferences"] == [{
            "apiVersion": "v1", "kind": "ReplicationController", "name": "web", "uid": owner["metadata"]["uid"],
            "controller": True, "blockOwnerDeletion": True}]
    created = events(c, "SuccessfulCreate")
    assert sorted(e["message"] for e in created) == [f"Created pod: {n}" for n in names(pods)]
    assert {e["source"]["component"] for e in created} == {"replication-controller"}
    assert {(e["involvedObject"]["kind"], e["involvedObject"]["apiVersion"]) for e in created} == {
        ("ReplicationController", "v1")}


def test_scaling_down_deletes_the_surplus_and_records_it(controller_cluster):
    c = controller_cluster
    c.load("replicationcontroller")
    c.apply(rc(replicas=4))
    c.run()
    before = names(c.list("Pod"))
    c.patch("ReplicationController", "web", {"spec": {"replicas": 1}})
    assert c.run().converged
    kept = names(c.list("Pod"))
    assert len(kept) == 1
    gone = sorted(set(before) - set(kept))
    assert sorted(e["message"] for e in events(c, "SuccessfulDelete")) == [f"Deleted pod: {n}" for n in gone]


def test_the_scale_subresource_drives_the_pods(controller_cluster):
    c = controller_cluster
    c.load("replicationcontroller")
    c.apply(rc(replicas=1))
    c.run()
    c.patch("ReplicationController", "web", {"spec": {"replicas": 3}}, subresource="scale")
    assert c.run().converged
    assert len(c.list("Pod")) == 3
    assert c.get("ReplicationController", "web")["status"]["replicas"] == 3


def test_scale_down_takes_unscheduled_then_not_ready_pods_first(controller_cluster):
    c = controller_cluster
    c.load("replicationcontroller")
    owner = c.create(rc(replicas=0))
    t0 = c.clock.now()
    order = ["unassigned", "pending", "notready", "ready-newer", "ready-older"]
    for i, name in enumerate(reversed(order)):
        c.clock.advance_to(t0 + i)
        c.create(pod(name, owner=owner, node=None if name == "unassigned" else "n1"))
    for name in ("notready", "ready-newer", "ready-older"):
        c.set_pod_status(name, ready=name != "notready", ready_since=t0)
    c.set_pod_status("pending", phase="Pending", ready=False)
    c.set_pod_status("unassigned", ready_since=t0)
    c.apply(rc(replicas=len(order)))
    assert c.run().converged
    for kept in range(len(order) - 1, 0, -1):
        c.patch("ReplicationController", "web", {"spec": {"replicas": kept}})
        assert c.run().converged
        assert live(c, owner) == sorted(order[len(order) - kept:]), f"scaling to {kept}"


def test_matching_orphans_are_adopted_and_others_left_alone(controller_cluster):
    c = controller_cluster
    c.load("replicationcontroller")
    c.create(pod("stray-1"))
    c.create(pod("stray-2"))
    c.create(pod("other", labels={"app": "db"}))
    c.apply(rc(replicas=3))
    assert c.run().converged
    owner = c.get("ReplicationController", "web")
    owned = names(c.owned("Pod", owner))
    assert len(owned) == 3 and {"stray-1", "stray-2"} < set(owned) and "other" not in owned
    ref = c.get("Pod", "stray-1")["metadata"]["ownerReferences"][0]
    assert (ref["apiVersion"], ref["kind"], ref["uid"], ref["controller"]) == (
        "v1", "ReplicationController", owner["metadata"]["uid"], True)
    assert c.get("Pod", "other")["metadata"].get("ownerReferences") is None


def test_a_pod_controlled_by_a_replicaset_is_not_adopted(controller_cluster):
    c = controller_cluster
    c.load("replicationcontroller")
    other = c.create({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "rs", "namespace": "demo"},
                      "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                               "template": {"metadata": {"labels": {"app": "web"}},
                                            "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}})
    c.create(pod("taken", owner=other))
    c.apply(rc(replicas=1))
    assert c.run().converged
    assert c.get("Pod", "taken")["metadata"]["ownerReferences"][0]["uid"] == other["metadata"]["uid"]
    assert len(c.owned("Pod", c.get("ReplicationController", "web"))) == 1


def test_a_pod_whose_labels_stop_matching_is_released_and_replaced(controller_cluster):
    c = controller_cluster
    c.load("replicationcontroller")
    c.apply(rc(replicas=2))
    c.run()
    victim = names(c.list("Pod"))[0]
    c.patch("Pod", victim, {"metadata": {"labels": {"app": "debug"}}})
    assert c.run().converged
    owner = c.get("ReplicationController", "web")
    assert not c.get("Pod", victim)["metadata"]["ownerReferences"]
    assert victim not in names(c.owned("Pod", owner)) and len(c.owned("Pod", owner)) == 2


def test_a_changed_selector_releases_what_it_no_longer_selects(controller_cluster):
    c = controller_cluster
    c.load("replicationcontroller")
    c.apply(rc(replicas=2, labels={"app": "web", "tier": "fe"}))
    c.run()
    first = names(c.list("Pod"))
    c.patch("Pod", first[0], {"metadata": {"labels": {"app": "web", "tier": "be"}}})
    c.run()
    c.patch("ReplicationController", "web", {"spec": {"selector": {"app": "web", "tier": "fe"}}})
    assert c.run().converged
    owner = c.get("ReplicationController", "web")
    assert first[0] not in names(c.owned("Pod", owner)) and len(c.owned("Pod", owner)) == 2


def test_status_counts_replicas_labels_ready_and_available(controller_cluster):
    c = controller_cluster
    c.load("replicationcontroller")
    owner = c.create(rc(replicas=3))
    c.create(pod("partial", labels={"app": "web"}, owner=owner))  # selected, without every template label
    assert c.run().converged
    pods = names(c.owned("Pod", owner))
    c.set_pod_status(pods[0])
    c.set_pod_status(pods[1], ready=False)
    assert c.run().converged
    got = c.get("ReplicationController", "web")
    assert got["status"] == {"replicas": 3, "fullyLabeledReplicas": 2, "readyReplicas": 1, "availableReplicas": 1,
                             "observedGeneration": got["metadata"]["generation"]}


def test_a_controller_of_no_ready_pods_leaves_the_zero_counts_out(controller_cluster):
    c = controller_cluster
    c.load("replicationcontroller")
    c.apply(rc(replicas=0))
    assert c.run().converged
    assert c.get("ReplicationController", "web")["status"] == {"replicas": 0, "observedGeneration": 1}


def test_a_pod_is_available_min_ready_seconds_after_it_became_ready(controller_cluster):
    c = controller_cluster
    c.load("replicationcontroller")
    c.apply(rc(replicas=1, min_ready=30))
    c.run()
    [name] = names(c.list("Pod"))
    ready_at = c.clock.now()
    c.set_pod_status(name, ready_since=ready_at)
    assert c.run(10).converged
    status = c.get("ReplicationController", "web")["status"]
    assert status["readyReplicas"] == 1 and "availableReplicas" not in status
    assert c.run(60).converged
    assert c.get("ReplicationController", "web")["status"]["availableReplicas"] == 1
    assert ready_at + 30 < c.clock.now() <= ready_at + 31


def test_deleting_with_background_propagation_takes_the_pods_along(controller_cluster):
    c = controller_cluster
    c.load("replicationcontroller", "garbage-collector")
    c.apply(rc(replicas=2))
    c.run()
    c.delete("ReplicationController", "web", propagation="Background")
    assert c.run().converged
    assert c.get("ReplicationController", "web") is None and c.list("Pod") == []


def test_deleting_without_a_policy_orphans_the_pods(controller_cluster):
    c = controller_cluster
    c.load("replicationcontroller", "garbage-collector")
    c.apply(rc(replicas=2))
    c.run()
    c.delete("ReplicationController", "web")
    assert c.run().converged
    assert c.get("ReplicationController", "web") is None
    pods = c.list("Pod")
    assert len(pods) == 2 and all(not p["metadata"].get("ownerReferences") for p in pods)
    # a new controller of the same selector adopts them instead of making new pods
    c.apply(rc(replicas=2))
    assert c.run().converged
    assert names(c.owned("Pod", c.get("ReplicationController", "web"))) == names(pods)


def test_a_deleted_namespace_loses_its_replication_controllers(controller_cluster):
    c = controller_cluster
    c.load("replicationcontroller", "garbage-collector", "namespace")
    c.apply(rc(replicas=2))
    c.run()
    c.delete("Namespace", "demo", namespace="")
    assert c.run().converged
    assert c.list("ReplicationController") == [] and c.list("Pod") == []
    assert c.get("Namespace", "demo", namespace="") is None


def test_quota_counts_replication_controllers_by_both_names(controller_cluster):
    c = controller_cluster
    c.load("resourcequota")
    c.create({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "q", "namespace": "demo"},
              "spec": {"hard": {"replicationcontrollers": "2", "count/replicationcontrollers": "1"}}})
    c.run(5)
    c.create(rc("one", replicas=0))
    from engine.apierrors import APIError
    with pytest.raises(APIError) as caught:
        c.create(rc("two", replicas=0))
    assert caught.value.code == 403
    assert caught.value.message == (
        'replicationcontrollers "two" is forbidden: exceeded quota: q, requested: count/replicationcontrollers=1, '
        'used: count/replicationcontrollers=1, limited: count/replicationcontrollers=1')
    c.run(5)
    assert c.get("ResourceQuota", "q")["status"]["used"] == {
        "replicationcontrollers": "1", "count/replicationcontrollers": "1"}


def test_a_controller_past_its_pod_quota_makes_what_fits_and_records_failed_create(controller_cluster):
    c = controller_cluster
    c.load("resourcequota", "replicationcontroller")
    c.create({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "q", "namespace": "demo"},
              "spec": {"hard": {"pods": "2"}}})
    c.run(5)
    c.create(rc(replicas=3))
    result = c.run(60)
    assert len(c.list("Pod")) == 2
    [failure] = [f for f in result.failures if f.rule == "replication-controller/replicas"]
    assert "exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2" in failure.message
    failed = events(c, "FailedCreate")
    assert failed and all(e["message"].startswith("Error creating: ") for e in failed)
    assert {e["involvedObject"]["kind"] for e in failed} == {"ReplicationController"}


def test_a_pdb_percentage_reads_the_controllers_scale(controller_cluster):
    c = controller_cluster
    c.load("replicationcontroller", "disruption")
    c.apply(rc(replicas=4, labels={"app": "web"}))
    c.run()
    for i, p in enumerate(c.list("Pod")):
        c.set_pod_status(p["metadata"]["name"], ready=i < 3)
    c.apply({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "web", "namespace": "demo"},
             "spec": {"selector": {"matchLabels": {"app": "web"}}, "minAvailable": "50%"}})
    c.run()
    status = c.get("PodDisruptionBudget", "web")["status"]
    assert (status["expectedPods"], status["desiredHealthy"], status["currentHealthy"],
            status["disruptionsAllowed"]) == (4, 2, 3, 1)


def test_the_autoscaler_brings_a_controller_within_its_bounds(controller_cluster):
    c = controller_cluster
    c.load("replicationcontroller", "horizontal-pod-autoscaler")
    c.apply(rc(replicas=8))
    c.run()
    c.create({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
              "metadata": {"name": "web", "namespace": "demo"},
              "spec": {"scaleTargetRef": {"apiVersion": "v1", "kind": "ReplicationController", "name": "web"},
                       "minReplicas": 2, "maxReplicas": 5}})
    assert c.run().converged
    assert c.get("ReplicationController", "web")["spec"]["replicas"] == 5
    assert len(c.list("Pod")) == 5
    [rescale] = [e for e in events(c, "SuccessfulRescale")]
    assert rescale["message"] == "New size: 5; reason: Current number of replicas above Spec.MaxReplicas"


def test_recon_describe_shows_the_selector_replicas_and_pods(controller_cluster):
    c = controller_cluster
    c.load("replicationcontroller")
    c.apply(rc(replicas=2))
    c.run()
    for p in c.list("Pod"):
        c.set_pod_status(p["metadata"]["name"], ready_since=EPOCH)
    c.run()
    page = describe(c.store.head, ("", "ReplicationController", "demo", "web"))
    lines = page.splitlines()
    assert "Selector:     app=web" in lines
    assert "Replicas:     2 current / 2 desired" in lines
    assert "Pods Status:  2 Running / 0 Waiting / 0 Succeeded / 0 Failed" in lines
    assert any(line.split()[:2] == ["Normal", "SuccessfulCreate"] for line in lines)
