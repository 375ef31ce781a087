"""The Events about a Node: the kubelet's (start, conditions, schedulability) and the node controller's."""

from __future__ import annotations

from engine.clock import EPOCH
from engine.describe import events_of
from engine.objects import key_of
from engine.timeutil import format_time

from kubelet_helpers import node, pod

DOWN = "sim.recon.dev/kubelet"
STARTED = [
    ("Starting", "Starting kubelet."),
    ("NodeHasSufficientMemory", "Node node-1 status is now: NodeHasSufficientMemory"),
    ("NodeHasNoDiskPressure", "Node node-1 status is now: NodeHasNoDiskPressure"),
    ("NodeHasSufficientPID", "Node node-1 status is now: NodeHasSufficientPID"),
    ("NodeAllocatableEnforced", "Updated Node Allocatable limit across pods"),
    ("NodeReady", "Node node-1 status is now: NodeReady"),
]


def at(seconds: float) -> str:
    return format_time(EPOCH + seconds)


def node_events(kc, name: str = "node-1") -> list:
    n = kc.get("Node", name)
    return events_of(kc.store.head, key_of(n), n)


def said(kc, name: str = "node-1") -> list[tuple[str, str]]:
    return [(e["reason"], e["message"]) for e in node_events(kc, name)]


def cordon(kc, unschedulable: bool | None, name: str = "node-1") -> None:
    kc.api.patch(kc.admin, "", "Node", "", name, {"spec": {"unschedulable": unschedulable}})


def test_a_new_node_records_its_kubelet_start_its_conditions_and_its_registration(kc):
    kc.create(node("node-1"))
    kc.run()
    events = node_events(kc)
    kubelet = [(e["reason"], e["message"]) for e in events if e["source"]["component"] == "kubelet"]
    assert kubelet == STARTED
    registered = [e for e in events if e["reason"] == "RegisteredNode"]
    assert [e["message"] for e in registered] == ["Node node-1 event: Registered Node node-1 in Controller"]
    by_kubelet = next(e for e in events if e["reason"] == "Starting")
    # the kubelet's reference to its node names it by name, uid included (kubelet.go's nodeRef)
    assert by_kubelet["involvedObject"] == {"kind": "Node", "name": "node-1", "uid": "node-1"}
    assert by_kubelet["source"] == {"component": "kubelet", "host": "node-1"}
    assert by_kubelet["metadata"]["namespace"] == "default" and by_kubelet["type"] == "Normal"
    # the controller's names the Node by its uid (nodeutil.RecordNodeEvent)
    assert registered[0]["involvedObject"] == {"apiVersion": "v1", "kind": "Node", "name": "node-1",
                                               "uid": kc.get("Node", "node-1")["metadata"]["uid"]}


def test_node_events_are_not_repeated_by_pods_coming_and_going(kc):
    kc.create(node("node-1"))
    kc.run()
    before = len(node_events(kc))
    for i in range(3):
        kc.create(pod(f"p{i}"))
    kc.run_until(100)
    for i in range(3):
        kc.api.delete(kc.admin, "", "Pod", "demo", f"p{i}")
    kc.run_until(200)
    assert len(node_events(kc)) == before
    assert all(e["count"] == 1 for e in node_events(kc))


def test_cordon_and_uncordon_record_node_not_schedulable_and_node_schedulable(kc):
    kc.create(node("node-1"))
    kc.run_until(10)
    cordon(kc, True)
    kc.run_until(20)
    cordon(kc, None)
    kc.run_until(30)
    cordon(kc, True)
    kc.run_until(40)
    changes = [(e["reason"], e["message"], e["lastTimestamp"], e["count"]) for e in node_events(kc)
               if "Schedulable" in e["reason"]]
    assert changes == [
        ("NodeSchedulable", "Node node-1 status is now: NodeSchedulable", at(20), 1),
        ("NodeNotSchedulable", "Node node-1 status is now: NodeNotSchedulable", at(30), 2),
    ]
    first = next(e for e in node_events(kc) if e["reason"] == "NodeNotSchedulable")
    assert first["firstTimestamp"] == at(10) and first["source"] == {"component": "kubelet", "host": "node-1"}


def test_a_node_created_unschedulable_says_so_when_its_kubelet_starts(kc):
    n = node("node-1")
    n["spec"] = {"unschedulable": True}
    kc.create(n)
    kc.run()
    assert ("NodeNotSchedulable", "Node node-1 status is now: NodeNotSchedulable") in said(kc)
    assert not any(reason == "NodeSchedulable" for reason, _ in said(kc))


def test_a_node_that_comes_back_records_not_ready_then_its_kubelet_starting_again(kc):
    kc.create(node("node-1"))
    kc.run_until(100)
    kc.annotate("Node", "node-1", DOWN, "down")
    kc.run_until(200)
    not_ready = [e for e in node_events(kc) if e["reason"] == "NodeNotReady"]
    assert [(e["message"], e["firstTimestamp"], e["source"]["component"]) for e in not_ready] == [
        ("Node node-1 status is now: NodeNotReady", at(140), "node-lifecycle-controller")]
    assert not_ready[0]["involvedObject"]["uid"] == kc.get("Node", "node-1")["metadata"]["uid"]
    kc.annotate("Node", "node-1", DOWN, None)
    kc.run_until(300)
    again = [(reason, e["lastTimestamp"], e["count"]) for e in node_events(kc)
             for reason in [e["reason"]] if e["source"]["component"] == "kubelet"]
    assert again == [(reason, at(200), 2) for reason, _ in STARTED]


def test_a_kubelet_restarted_before_its_node_went_unknown_records_only_its_start(kc):
    kc.create(node("node-1"))
    kc.run_until(100)
    kc.annotate("Node", "node-1", DOWN, "down")
    kc.run_until(110)
    kc.annotate("Node", "node-1", DOWN, None)
    kc.run_until(120)
    counts = {e["reason"]: e["count"] for e in node_events(kc)}
    assert counts["Starting"] == 2 and counts["NodeAllocatableEnforced"] == 2
    assert counts["NodeReady"] == 1 and counts["NodeHasSufficientMemory"] == 1  # the conditions never changed
    assert "NodeNotReady" not in counts
