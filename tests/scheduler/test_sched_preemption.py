"""Preemption (DefaultPreemption): a pod no node fits makes room by deleting pods of lower priority."""

from __future__ import annotations

from sched_helpers import ADMIN, node, pod, sched  # noqa: F401


def priority_class(name, value, policy=None):
    obj = {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": name}, "value": value}
    if policy:
        obj["preemptionPolicy"] = policy
    return obj


def terminating(sched, name):
    return sched.get("Pod", name) is not None and bool(sched.get("Pod", name)["metadata"].get("deletionTimestamp"))


def finish_deletion(sched, *names):
    """What the kubelet does once a deleted pod's containers stopped: the pod goes."""
    for name in names:
        sched.delete("Pod", name)


def setup(sched, *extra):
    sched.add(priority_class("low", 100), priority_class("high", 1000),
              priority_class("high-never", 1000, "Never"), *extra)


def full_node_then(sched, name, priority_class_name):
    """One 2-cpu node that a low-priority pod fills, then the pod `name` asking for it all."""
    setup(sched, node("n1", cpu="2"))
    sched.add(pod("low", cpu="2", priorityClassName="low"))
    sched.run()
    assert sched.node_of("low") == "n1"
    sched.add(pod(name, cpu="2", priorityClassName=priority_class_name))
    sched.run()


def test_a_high_priority_pod_preempts_a_low_priority_one_and_lands_on_the_node_it_freed(sched):
    full_node_then(sched, "vip", "high")
    # the victim is marked and deleted, the preemptor nominated to its node and still pending
    assert terminating(sched, "low")
    victim = sched.get("Pod", "low")
    [target] = [c for c in victim["status"]["conditions"] if c["type"] == "DisruptionTarget"]
    assert (target["status"], target["reason"], target["message"]) == (
        "True", "PreemptionByScheduler", "default-scheduler: preempting to accommodate a higher priority pod")
    vip = sched.get("Pod", "vip")
    assert vip["status"]["nominatedNodeName"] == "n1" and sched.node_of("vip") is None
    [preempted] = [e for e in sched.events("low") if e["reason"] == "Preempted"]
    assert preempted["type"] == "Normal"
    assert preempted["message"] == f"Preempted by pod {vip['metadata']['uid']} on node n1"
    assert preempted["related"]["name"] == "vip"
    # (preemption succeeded: the failure message is the filters' alone, as upstream's)
    assert sched.condition("vip")["message"] == "0/1 nodes are available: 1 Insufficient cpu."
    # the victim's deletion completes: the preemptor is bound to the node it was nominated to
    finish_deletion(sched, "low")
    sched.run()
    assert sched.node_of("vip") == "n1"


def test_a_pod_of_equal_or_lower_priority_finds_no_victims(sched):
    setup(sched, node("n1", cpu="2"))
    sched.add(pod("first", cpu="2", priorityClassName="high"))
    sched.run()
    sched.add(pod("same", cpu="2", priorityClassName="high"), pod("lower", cpu="1", priorityClassName="low"))
    sched.run()
    assert not terminating(sched, "first")
    for name in ("same", "lower"):
        assert sched.condition(name)["message"] == (
            "0/1 nodes are available: 1 Insufficient cpu."
            " preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod..")
        assert "nominatedNodeName" not in sched.get("Pod", name).get("status", {})


def test_preemption_policy_never_does_not_preempt(sched):
    full_node_then(sched, "polite", "high-never")
    assert not terminating(sched, "low")
    assert sched.condition("polite")["message"] == (
        "0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never..")


def test_nodes_rejected_for_reasons_removing_pods_cannot_change_are_not_candidates(sched):
    setup(sched, node("tainted", cpu="2", taints=[{"key": "k", "value": "v", "effect": "NoSchedule"}]),
          node("small", cpu="1"))
    sched.add(pod("low", cpu="1", priorityClassName="low", nodeName="tainted"))
    sched.run()
    sched.add(pod("vip", cpu="2", priorityClassName="high"))
    sched.run()
    # the tainted node would fit once emptied, but the taint stays; the small one never fits 2 cpus
    assert not terminating(sched, "low")
    assert sched.condition("vip")["message"] == (
        "0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint {k: v}."
        " preemption: 0/2 nodes are available: 1 No preemption victims found for incoming pod,"
        " 1 Preemption is not helpful for scheduling..")


def test_only_the_victims_needed_are_deleted_the_most_important_kept(sched):
    setup(sched, priority_class("mid", 500), node("n1", cpu="4"))
    sched.add(pod("low-a", cpu="1", priorityClassName="low"), pod("low-b", cpu="1", priorityClassName="low"),
              pod("mid", cpu="1", priorityClassName="mid"), pod("keep", cpu="1", priorityClassName="high"))
    sched.run()
    assert all(sched.node_of(n) == "n1" for n in ("low-a", "low-b", "mid", "keep"))
    sched.add(pod("vip", cpu="2", priorityClassName="high"))
    sched.run()
    # two cpus are needed: the two lowest go, the mid-priority pod is reprieved, equal priority is never a victim
    assert terminating(sched, "low-a") and terminating(sched, "low-b")
    assert not terminating(sched, "mid") and not terminating(sched, "keep")


def test_the_node_with_the_least_important_victims_is_chosen(sched):
    setup(sched, priority_class("mid", 500), node("n1", cpu="1"), node("n2", cpu="1"))
    sched.add(pod("on-1", cpu="1", priorityClassName="mid", nodeName="n1"),
              pod("on-2", cpu="1", priorityClassName="low", nodeName="n2"))
    sched.run()
    sched.add(pod("vip", cpu="1", priorityClassName="high"))
    sched.run()
    assert terminating(sched, "on-2") and not terminating(sched, "on-1")
    assert sched.get("Pod", "vip")["status"]["nominatedNodeName"] == "n2"


def test_a_node_whose_victims_a_disruption_budget_protects_is_avoided(sched):
    setup(sched, node("n1", cpu="1"), node("n2", cpu="1"))
    sched.add(pod("guarded", cpu="1", priorityClassName="low", nodeName="n1", labels={"app": "db"}),
              pod("free", cpu="1", priorityClassName="low", nodeName="n2", labels={"app": "web"}))
    pdb = sched.api.create(ADMIN, {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                                   "metadata": {"name": "db", "namespace": "demo"},
                                   "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "db"}}}})
    sched.api.update(ADMIN, {**pdb, "status": {"disruptionsAllowed": 0, "currentHealthy": 1, "desiredHealthy": 1,
                                               "expectedPods": 1, "observedGeneration": 1}}, subresource="status")
    sched.run()
    sched.add(pod("vip", cpu="1", priorityClassName="high"))
    sched.run()
    assert terminating(sched, "free") and not terminating(sched, "guarded")


def test_a_pod_waits_while_a_victim_of_its_nomination_terminates(sched):
    full_node_then(sched, "vip", "high")
    assert terminating(sched, "low")
    events = len(sched.events("vip"))
    # tried again while the victim terminates: no new victims, no new nomination
    sched.scheduler.active.add(("", "Pod", "demo", "vip"))
    sched.run()
    assert sched.get("Pod", "vip")["status"]["nominatedNodeName"] == "n1"
    assert sched.condition("vip")["message"] == (
        "0/1 nodes are available: 1 Insufficient cpu."
        " preemption: not eligible due to a terminating pod on the nominated node..")
    assert len(sched.events("vip")) == events + 1  # the new message's FailedScheduling
    assert [e["reason"] for e in sched.events("low")].count("Preempted") == 1


def test_the_same_cluster_preempts_the_same_way_twice(tmp_path):
    from sched_helpers import SchedCluster

    def run(folder):
        s = SchedCluster(folder)
        setup(s, *(node(f"n{i}", cpu="2") for i in range(5)))
        s.add(*(pod(f"low{i}", cpu="2", priorityClassName="low") for i in range(5)))
        s.run()
        s.add(pod("vip", cpu="2", priorityClassName="high"))
        s.run()
        return s.get("Pod", "vip")["status"]["nominatedNodeName"], [
            n for n in (f"low{i}" for i in range(5)) if terminating(s, n)]

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = run(tmp_path / "a")
    assert first == run(tmp_path / "b")
    assert len(first[1]) == 1


def test_a_higher_priority_preemption_takes_a_lower_priority_pods_nomination_away(sched):
    sched.add(priority_class("mid", 500))
    full_node_then(sched, "mid", "mid")
    assert sched.get("Pod", "mid")["status"]["nominatedNodeName"] == "n1" and terminating(sched, "low")
    sched.add(pod("vip", cpu="2", priorityClassName="high"))
    sched.run()
    # the room the terminating victim leaves goes to the more important pod: the other forgets it
    assert sched.get("Pod", "vip")["status"]["nominatedNodeName"] == "n1"
    assert "nominatedNodeName" not in sched.get("Pod", "mid")["status"]
    finish_deletion(sched, "low")
    sched.run()
    assert sched.node_of("vip") == "n1" and sched.node_of("mid") is None


def test_a_pod_of_lower_or_equal_priority_leaves_the_room_kept_for_a_nominated_one(sched):
    full_node_then(sched, "vip", "high")
    finish_deletion(sched, "low")  # the node is empty, and the pod nominated to it not bound yet
    assert sched.node_of("vip") is None and sched.get("Pod", "vip")["status"]["nominatedNodeName"] == "n1"
    # the filters count the nominated pod as if it were bound there, for pods not more important
    for name, prio in (("lower", 500), ("equal", 1000)):
        assert sched.rejection(pod(name, cpu="1", priority=prio), "n1") == ("NodeResourcesFit", ("Insufficient cpu",))
    # a more important pod does not see it (it may preempt the nominated pod's nomination instead)
    assert sched.rejection(pod("higher", cpu="1", priority=2000), "n1") is None
    # the nominated pod itself fits, of course
    sched.run()
    assert sched.node_of("vip") == "n1"


def test_a_preemption_does_not_count_on_the_room_a_higher_priority_nomination_holds(sched):
    sched.add(priority_class("mid", 500))
    full_node_then(sched, "vip", "high")
    sched.add(pod("mid", cpu="2", priorityClassName="mid"))
    sched.run()
    # taking the terminating low-priority pod away would make room, but the room is vip's: the
    # node is no candidate, and no second nomination is made to it
    assert "nominatedNodeName" not in sched.get("Pod", "mid").get("status", {})
    assert sched.condition("mid")["message"] == (
        "0/1 nodes are available: 1 Insufficient cpu."
        " preemption: 0/1 nodes are available: 1 Insufficient cpu..")
    finish_deletion(sched, "low")
    sched.run()
    assert sched.node_of("vip") == "n1" and sched.node_of("mid") is None
