"""rules/replicaset.rules: the ReplicaSet controller, sample-controller style."""

from __future__ import annotations

import re

from engine.clock import EPOCH
from engine.timeutil import format_time


def replicaset(name="web", replicas=3, app="web", min_ready=None, labels=None):
    spec = {
        "replicas": replicas,
        "selector": {"matchLabels": {"app": app}},
        "template": {"metadata": {"labels": labels or {"app": app, "tier": "fe"}},
                     "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}},
    }
    if min_ready is not None:
        spec["minReadySeconds"] = min_ready
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": name, "namespace": "demo"},
            "spec": spec}


def pod(name, labels=None, node=None, owner=None, created=None):
    meta = {"name": name, "namespace": "demo", "labels": labels if labels is not None else {"app": "web"}}
    if owner is not None:
        meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": owner["metadata"]["name"],
                                    "uid": owner["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}]
    spec = {"containers": [{"name": "c", "image": "nginx:1.27"}]}
    if node:
        spec["nodeName"] = node
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}


def names(objs):
    return sorted(o["metadata"]["name"] for o in objs)


def test_replicaset_creates_missing_pods_from_its_template(controller_cluster):
    c = controller_cluster
    c.load("replicaset")
    c.apply(replicaset(replicas=3))
    assert c.run().converged
    rs = c.get("ReplicaSet", "web")
    pods = c.owned("Pod", rs)
    assert len(pods) == 3
    for p in pods:
        assert re.fullmatch(r"web-[bcdfghjklmnpqrstvwxz2456789]{5}", p["metadata"]["name"])
        assert p["metadata"]["labels"] == {"app": "web", "tier": "fe"}
        assert p["spec"]["containers"][0]["image"] == "nginx:1.27"
        ref = p["metadata"]["ownerReferences"][0]
        assert ref == {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web", "uid": rs["metadata"]["uid"],
                       "controller": True, "blockOwnerDeletion": True}


def test_replicaset_deletes_surplus_pods_when_scaled_down(controller_cluster):
    c = controller_cluster
    c.load("replicaset")
    c.apply(replicaset(replicas=4))
    c.run()
    c.apply(replicaset(replicas=1))
    assert c.run().converged
    assert len(c.owned("Pod", c.get("ReplicaSet", "web"))) == 1


def test_finished_and_terminating_pods_do_not_count_as_replicas(controller_cluster):
    c = controller_cluster
    c.load("replicaset")
    c.apply(replicaset(replicas=2))
    c.run()
    first, second = names(c.list("Pod"))
    c.patch("Pod", first, {"status": {"phase": "Succeeded"}}, subresource="status")
    c.patch("Pod", second, {"spec": {"nodeName": "n1"}})  # bound: deletion is graceful, the pod stays
    c.delete("Pod", second)
    assert c.get("Pod", second)["metadata"].get("deletionTimestamp")
    assert c.run().converged
    rs = c.get("ReplicaSet", "web")
    active = [p for p in c.owned("Pod", rs)
              if p["metadata"]["name"] not in (first, second)]
    assert len(active) == 2
    assert rs["status"]["replicas"] == 2


def test_replicaset_adopts_matching_orphans_instead_of_creating(controller_cluster):
    c = controller_cluster
    c.load("replicaset")
    c.create(pod("stray-1"))
    c.create(pod("stray-2"))
    c.create(pod("other", labels={"app": "db"}))
    c.apply(replicaset(replicas=3))
    assert c.run().converged
    rs = c.get("ReplicaSet", "web")
    owned = names(c.owned("Pod", rs))
    assert len(owned) == 3
    assert "stray-1" in owned and "stray-2" in owned and "other" not in owned
    ref = c.get("Pod", "stray-1")["metadata"]["ownerReferences"][0]
    assert ref["uid"] == rs["metadata"]["uid"] and ref["controller"] is True


def test_replicaset_releases_a_pod_whose_labels_stop_matching_and_replaces_it(controller_cluster):
    c = controller_cluster
    c.load("replicaset")
    c.apply(replicaset(replicas=2))
    c.run()
    victim = names(c.list("Pod"))[0]
    c.patch("Pod", victim, {"metadata": {"labels": {"app": "debug"}}})
    assert c.run().converged
    rs = c.get("ReplicaSet", "web")
    assert c.get("Pod", victim)["metadata"]["ownerReferences"] == []
    assert victim not in names(c.owned("Pod", rs))
    assert len(c.owned("Pod", rs)) == 2


def test_a_pod_controlled_by_another_owner_is_never_adopted(controller_cluster):
    c = controller_cluster
    c.load("replicaset")
    other = c.create(replicaset("other", replicas=1))
    c.create(pod("taken", owner=other))
    c.apply(replicaset(replicas=1))
    assert c.run().converged
    assert c.get("Pod", "taken")["metadata"]["ownerReferences"][0]["uid"] == other["metadata"]["uid"]
    assert len(c.owned("Pod", c.get("ReplicaSet", "web"))) == 1


def test_scale_down_deletes_pods_in_upstream_order(controller_cluster):
    c = controller_cluster
    c.load("replicaset")
    rs = c.create(replicaset(replicas=0))
    t0 = c.clock.now()
    # one pod per criterion, each "worse" than the next; the list is the expected deletion order
    order = ["unassigned", "pending", "unknown", "notready", "restarted", "newer", "older"]
    for i, name in enumerate(reversed(order)):  # created oldest-first: "older" first
        c.clock.advance_to(t0 + i)
        c.create(pod(name, owner=rs, node=None if name == "unassigned" else f"n{i}"))
    for name in ("unknown", "notready", "restarted", "newer", "older"):
        phase = "Unknown" if name == "unknown" else "Running"
        c.set_pod_status(name, phase=phase, ready=name != "notready", ready_since=t0,
                         restarts=3 if name == "restarted" else 0)
    c.set_pod_status("pending", phase="Pending", ready=False)
    c.set_pod_status("unassigned", phase="Running", ready=True, ready_since=t0)
    c.apply(replicaset(replicas=len(order)))
    c.run()
    assert names(c.owned("Pod", c.get("ReplicaSet", "web"))) == sorted(order)
    for kept in range(len(order) - 1, 0, -1):
        c.apply(replicaset(replicas=kept))
        assert c.run().converged
        survivors = names(p for p in c.owned("Pod", c.get("ReplicaSet", "web"))
                          if not p["metadata"].get("deletionTimestamp"))
        assert survivors == sorted(order[len(order) - kept:]), f"scaling to {kept}"


def test_scale_down_prefers_pods_doubled_up_on_a_node(controller_cluster):
    c = controller_cluster
    c.load("replicaset")
    rs = c.create(replicaset(replicas=0))
    c.create(pod("alone", owner=rs, node="n1"))
    c.create(pod("crowded-a", owner=rs, node="n2"))
    c.create(pod("crowded-b", owner=rs, node="n2"))
    for name in ("alone", "crowded-a", "crowded-b"):
        c.set_pod_status(name, ready_since=EPOCH)
    c.apply(replicaset(replicas=2))
    assert c.run().converged
    remaining = [p for p in c.owned("Pod", c.get("ReplicaSet", "web")) if not p["metadata"].get("deletionTimestamp")]
    assert "alone" in names(remaining) and len(remaining) == 2


def test_status_counts_replicas_labels_ready_and_available(controller_cluster):
    c = controller_cluster
    c.load("replicaset")
    rs = c.create(replicaset(replicas=3))
    c.create(pod("partial", labels={"app": "web"}, owner=rs))  # matches the selector, not all template labels
    assert c.run().converged
    pods = names(c.owned("Pod", c.get("ReplicaSet", "web")))
    c.set_pod_status(pods[0])
    c.set_pod_status(pods[1], ready=False)
    assert c.run().converged
    status = c.get("ReplicaSet", "web")["status"]
    assert status["replicas"] == 3
    assert status["fullyLabeledReplicas"] == 2
    assert status["readyReplicas"] == 1
    assert status["availableReplicas"] == 1
    assert status["observedGeneration"] == c.get("ReplicaSet", "web")["metadata"]["generation"]


def test_a_pod_becomes_available_min_ready_seconds_after_it_became_ready(controller_cluster):
    c = controller_cluster
    engine = c.load("replicaset")
    c.apply(replicaset(replicas=1, min_ready=30))
    c.run()
    name = names(c.list("Pod"))[0]
    ready_at = c.clock.now()
    c.set_pod_status(name, ready_since=ready_at)
    assert c.run(10).converged
    status = c.get("ReplicaSet", "web")["status"]
    assert status["readyReplicas"] == 1 and "availableReplicas" not in status
    before = engine.evaluations["replicaset-controller/status"]
    assert c.run(60).converged
    assert c.get("ReplicaSet", "web")["status"]["availableReplicas"] == 1
    assert ready_at + 30 < c.clock.now() <= ready_at + 31
    # woken once at the deadline, once more after its own write; no polling
    assert engine.evaluations["replicaset-controller/status"] - before <= 2


def test_a_replicaset_scaled_to_zero_reports_only_replicas_and_observed_generation(controller_cluster):
    c = controller_cluster
    c.load("replicaset")
    c.apply(replicaset(replicas=2))
    c.run()
    for name in names(c.list("Pod")):
        c.set_pod_status(name)
    assert c.run().converged
    assert dict(c.get("ReplicaSet", "web")["status"]) == {
        "replicas": 2, "fullyLabeledReplicas": 2, "readyReplicas": 2, "availableReplicas": 2, "observedGeneration": 1}
    c.apply(replicaset(replicas=0))
    assert c.run().converged
    assert dict(c.get("ReplicaSet", "web")["status"]) == {"replicas": 0, "observedGeneration": 2}


def test_at_most_500_pods_are_created_per_evaluation(controller_cluster):
    c = controller_cluster
    c.load("replicaset")
    batches = []
    c.store.listeners.append(lambda snap, events, record: batches.append(
        sum(1 for e in events if e.key[1] == "Pod" and e.old is None)))
    c.apply(replicaset(replicas=600))
    assert c.run().converged
    assert len(c.list("Pod")) == 600
    assert max(batches) == 500
    assert sorted(b for b in batches if b) == [100, 500]


def test_a_replicaset_being_deleted_neither_creates_nor_adopts(controller_cluster):
    c = controller_cluster
    c.load("replicaset")
    rs = c.create({**replicaset(replicas=2), "metadata": {"name": "web", "namespace": "demo",
                                                          "finalizers": ["example.com/hold"]}})
    c.delete("ReplicaSet", "web")
    c.create(pod("stray"))
    assert c.run().converged
    assert c.owned("Pod", rs) == []
    assert c.get("Pod", "stray")["metadata"].get("ownerReferences") in (None, [])
    assert format_time(c.clock.now())  # the clock is still sane
