"""rules/podgc.rules: the pod garbage collector, sample-controller style.

There is no kubelet here: a pod's status is written by the test, and a pod
whose Node is gone has nobody left to finish it but the collector.  A pod
that holds a finalizer outlives its force deletion, so the marks the
collector leaves before deleting can be read on it.
"""

from __future__ import annotations

from engine.timeutil import format_time
from test_daemonset_rules import by_node, daemonset, node, rolled, target

QUARANTINE = 40
ORPHANED_SINCE = "podgc.recon.dev/orphaned-since"


def pod(name, node_name=None, finalizers=None):
    obj = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "demo"},
           "spec": {"containers": [{"name": "c", "image": "x"}], "terminationGracePeriodSeconds": 30}}
    if node_name is not None:
        obj["spec"]["nodeName"] = node_name
    if finalizers is not None:
        obj["metadata"]["finalizers"] = finalizers
    return obj


def cluster(c, *names, rules=("podgc",)):
    for n in names:
        c.create(node(n))
    c.load(*rules)
    return c


def condition(obj, kind):
    return next((x for x in obj["status"].get("conditions", ()) if x["type"] == kind), None)


def test_a_deleted_nodes_pods_go_after_the_quarantine_and_not_before(controller_cluster):
    c = cluster(controller_cluster, "n1", "n2")
    for name, node_name, finalizers in (("gone", "n1", None), ("held", "n1", ["demo/hold"]),
                                        ("stays", "n2", None)):
        c.create(pod(name, node_name, finalizers))
        c.set_pod_status(name)
    c.run()
    c.delete("Node", "n1", namespace="")
    deleted_at = c.clock.now()
    c.run(0)
    c.clock.advance_to(deleted_at + QUARANTINE - 1)
    c.run(0)
    for name in ("gone", "held"):
        lingering = c.get("Pod", name)
        assert lingering["status"]["phase"] == "Running" and condition(lingering, "DisruptionTarget") is None
        assert not lingering["metadata"].get("deletionTimestamp")
    c.run(2)
    assert c.clock.now() == deleted_at + QUARANTINE
    # force-deleted: gone at once, though its grace period is 30 s
    assert c.get("Pod", "gone") is None
    held = c.get("Pod", "held")
    assert held["metadata"]["deletionGracePeriodSeconds"] == 0
    # marked first, as markFailedAndDeletePodWithCondition does
    assert held["status"]["phase"] == "Failed"
    target_condition = condition(held, "DisruptionTarget")
    assert {k: target_condition[k] for k in ("status", "reason", "message")} == {
        "status": "True", "reason": "DeletionByPodGC", "message": "PodGC: node no longer exists"}
    assert target_condition["lastTransitionTime"] == format_time(deleted_at + QUARANTINE)
    assert c.get("Pod", "stays")["metadata"].get("deletionTimestamp") is None


def test_a_terminal_orphaned_pod_is_deleted_without_being_marked(controller_cluster):
    c = cluster(controller_cluster, "n1")
    c.create(pod("done", "n1", ["demo/hold"]))
    c.set_pod_status("done", phase="Succeeded", ready=False)
    c.run()
    c.delete("Node", "n1", namespace="")
    c.run(QUARANTINE + 1)
    done = c.get("Pod", "done")
    assert done["metadata"]["deletionGracePeriodSeconds"] == 0
    assert done["status"]["phase"] == "Succeeded" and condition(done, "DisruptionTarget") is None


def test_a_node_back_within_the_quarantine_spares_its_pods(controller_cluster):
    c = cluster(controller_cluster, "n1")
    c.create(pod("p", "n1"))
    c.set_pod_status("p")
    c.run()
    c.delete("Node", "n1", namespace="")
    c.run(0)
    c.clock.advance(QUARANTINE - 1)
    c.run(0)
    assert ORPHANED_SINCE in c.get("Pod", "p")["metadata"]["annotations"]
    c.create(node("n1"))
    c.run(QUARANTINE * 3)
    spared = c.get("Pod", "p")
    assert spared["status"]["phase"] == "Running" and not spared["metadata"].get("deletionTimestamp")
    assert ORPHANED_SINCE not in spared["metadata"].get("annotations", {})


def test_an_unbound_terminating_pod_is_marked_failed_and_force_deleted(controller_cluster):
    c = cluster(controller_cluster, "n1")
    c.create(pod("unbound", finalizers=["demo/hold"]))
    c.run()
    c.delete("Pod", "unbound")
    c.run()
    unbound = c.get("Pod", "unbound")
    assert unbound["status"]["phase"] == "Failed" and condition(unbound, "DisruptionTarget") is None
    assert unbound["metadata"]["deletionGracePeriodSeconds"] == 0
    c.patch("Pod", "unbound", {"metadata": {"finalizers": None}})
    c.run()
    assert c.get("Pod", "unbound") is None


def test_healthy_pods_status_updates_never_evaluate_the_rules(controller_cluster):
    c = cluster(controller_cluster, "n1")
    c.create(pod("p"))
    c.patch("Pod", "p", {"spec": {"nodeName": "n1"}})
    c.run()
    before = dict(c.engine.evaluations)
    for phase in ("Pending", "Running"):
        c.set_pod_status("p", phase=phase)
        c.run()
    assert c.engine.evaluations == before


def settle_live_nodes(c, rounds=20):
    """Run the rules, playing the scheduler and a kubelet on each node that still exists."""
    for _ in range(rounds):
        assert c.run(QUARANTINE + 1).converged
        changed = False
        for p in c.list("Pod"):
            name = p["metadata"]["name"]
            node_name = p["spec"].get("nodeName")
            if node_name and c.get("Node", node_name, "") is None:
                continue  # no kubelet to finish it
            if p["metadata"].get("deletionTimestamp"):
                c.delete("Pod", name, grace_period=0)
                changed = True
            elif not node_name:
                c.patch("Pod", name, {"spec": {"nodeName": target(p)}})
                c.set_pod_status(name)
                changed = True
        if not changed:
            return
    raise AssertionError("the cluster did not settle")


def test_a_daemonset_rolling_update_goes_on_after_a_node_is_deleted(controller_cluster):
    c = cluster(controller_cluster, "n1", "n2", "n3", rules=("daemonset", "podgc"))
    c.create(daemonset())
    settle_live_nodes(c)
    c.delete("Node", "n3", namespace="")
    c.apply(daemonset(image="agent:2"))
    settle_live_nodes(c)
    assert rolled(c, "agent:2") == ["n1", "n2"] and sorted(by_node(c)) == ["n1", "n2"]
    status = c.get("DaemonSet", "agent")["status"]
    assert (status["updatedNumberScheduled"], status["numberAvailable"]) == (2, 2)
