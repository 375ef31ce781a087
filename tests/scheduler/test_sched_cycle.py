"""The queue and bind cycle: order, messages, retries, explanations, determinism."""

from __future__ import annotations

import pytest

from engine.scheduler_scores import nodes_to_find
from sched_helpers import SchedCluster, node, pod, sched  # noqa: F401 (fixture)

DEDICATED = [{"key": "dedicated", "value": "user1", "effect": "NoSchedule"}]


def test_a_pod_no_node_accepts_gets_upstreams_message_condition_and_event(sched):
    sched.add(node("n1", taints=DEDICATED), node("n2", cpu="1"), node("n3", cpu="1"), pod("p", cpu="2"))
    sched.run()
    message = ("0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: user1}, 2 Insufficient cpu."
               " preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod..")
    assert sched.node_of("p") is None
    cond = sched.condition("p")
    assert (cond["status"], cond["reason"], cond["message"]) == ("False", "Unschedulable", message)
    [event] = sched.events("p")
    assert (event["type"], event["reason"], event["message"]) == ("Warning", "FailedScheduling", message)
    # written as upstream's scheduler writes it, through the events.k8s.io recorder: an eventTime and
    # who reports it, none of the core fields (firstTimestamp, lastTimestamp, count, source)
    assert event["reportingComponent"] == "default-scheduler" and event["action"] == "Scheduling"
    assert event["eventTime"] == "2026-01-01T00:00:00.000000Z"
    assert (event["firstTimestamp"], event["lastTimestamp"], event["source"]) == (None, None, {})
    assert "count" not in event


def test_a_bound_pod_gets_podscheduled_true_and_a_scheduled_event(sched):
    sched.add(node("n1"), pod("p", cpu="100m"))
    sched.run()
    assert sched.node_of("p") == "n1"
    assert sched.condition("p")["status"] == "True"
    [event] = sched.events("p")
    assert (event["reason"], event["message"]) == ("Scheduled", "Successfully assigned demo/p to n1")


def test_the_binding_is_written_by_the_scheduler_with_the_pod_as_cause(sched):
    records = []
    sched.store.listeners.append(lambda snap, events, record: records.append(record))
    sched.add(node("n1"), pod("p"))
    sched.run()
    [bind] = [r for r in records if r.actor == "default-scheduler"]
    assert bind.cause[0]["pod"] == ["", "Pod", "demo", "p"]


def test_higher_priority_pods_are_scheduled_first(sched):
    sched.api.create(sched.api.store and __import__("sched_helpers").ADMIN, {
        "apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": "high"}, "value": 1000})
    sched.add(node("n1", cpu="1"), pod("low", cpu="1"), pod("high", cpu="1", priorityClassName="high"))
    sched.run()
    assert sched.node_of("high") == "n1" and sched.node_of("low") is None


def test_equal_priority_pods_go_in_creation_order(sched):
    sched.add(node("n1", cpu="1"), pod("b-first", cpu="1"))
    sched.clock.advance(1)
    sched.add(pod("a-second", cpu="1"))
    sched.run()
    assert sched.node_of("b-first") == "n1" and sched.node_of("a-second") is None


def test_an_unschedulable_pod_is_retried_when_a_node_is_added(sched):
    sched.add(node("n1", cpu="1"), pod("p", cpu="2"))
    sched.run()
    assert sched.node_of("p") is None
    sched.add(node("n2", cpu="4"))
    sched.run()
    assert sched.node_of("p") == "n2"


def test_an_unschedulable_pod_is_retried_when_a_pod_is_deleted(sched):
    sched.add(node("n1", cpu="2"), pod("big", cpu="2"))
    sched.run()
    sched.add(pod("p", cpu="1"))
    sched.run()
    assert sched.node_of("p") is None
    sched.delete("Pod", "big")
    sched.run()
    assert sched.node_of("p") == "n1"


def test_an_unschedulable_pod_is_retried_when_a_node_is_uncordoned(sched):
    sched.add(node("n1", unschedulable=True), pod("p"))
    sched.run()
    assert sched.condition("p")["message"] == ("0/1 nodes are available: 1 node(s) were unschedulable."
                                               " preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling..")
    sched.update(node("n1", unschedulable=False))
    sched.run()
    assert sched.node_of("p") == "n1"


def test_unrelated_changes_do_not_retry_and_an_unchanged_message_is_not_rewritten(sched):
    sched.add(node("n1", cpu="1"), pod("p", cpu="2"))
    sched.run()
    attempts = sched.scheduler.attempts[("", "Pod", "demo", "p")].revision
    revision = sched.store.revision
    sched.api.create(__import__("sched_helpers").ADMIN, {"apiVersion": "v1", "kind": "ConfigMap",
                                                         "metadata": {"name": "x", "namespace": "demo"}})
    sched.run()
    assert sched.scheduler.attempts[("", "Pod", "demo", "p")].revision == attempts
    sched.update(node("n1", cpu="1", labels={"x": "y"}))  # retried, same answer
    sched.run()
    assert sched.scheduler.attempts[("", "Pod", "demo", "p")].revision > attempts
    assert sched.store.revision == revision + 2  # the ConfigMap and the node: no new condition, no event
    assert len(sched.events("p")) == 1


def test_pods_with_a_node_name_or_another_scheduler_are_left_alone(sched):
    sched.add(node("n1"), node("n2"), pod("fixed", node_name="n2"), pod("other", schedulerName="my-scheduler"))
    sched.run()
    assert sched.node_of("fixed") == "n2" and sched.node_of("other") is None
    assert sched.condition("other") is None and sched.events("fixed") == []


def test_the_best_scoring_node_wins(sched):
    sched.add(node("n1"), node("n2"), node("n3"), pod("e", cpu="2", memory="4Gi", node_name="n1"),
              pod("e2", cpu="1", memory="1Gi", node_name="n3"), pod("p", cpu="1", memory="1Gi"))
    sched.run()
    assert sched.node_of("p") == "n2"


def test_ties_are_broken_the_same_way_every_run(tmp_path):
    placements = []
    for run in range(2):
        (tmp_path / str(run)).mkdir()
        c = SchedCluster(tmp_path / str(run))
        c.add(*(node(f"n{i}") for i in range(5)), *(pod(f"p{i}", cpu="100m", memory="100Mi") for i in range(8)))
        c.run()
        placements.append([c.node_of(f"p{i}") for i in range(8)])
    assert placements[0] == placements[1]
    assert len(set(placements[0])) > 1


def test_explanation_of_a_pending_pod_names_each_node_and_filter(sched):
    sched.add(node("n1", taints=DEDICATED), node("n2", cpu="1"), pod("p", cpu="2"))
    sched.run()
    text = sched.explain("p")
    assert "unschedulable: 0/2 nodes are available: 1 Insufficient cpu, " \
           "1 node(s) had untolerated taint {dedicated: user1}." in text
    assert "  n1: TaintToleration: node(s) had untolerated taint {dedicated: user1}" in text
    assert "  n2: NodeResourcesFit: Insufficient cpu" in text


def test_explanation_of_a_placed_pod_shows_every_score_and_the_choice(sched):
    sched.add(node("n1"), node("n2", cpu="8"), node("n3", unschedulable=True), pod("p", cpu="1", memory="1Gi"))
    sched.run()
    text = sched.explain("p")
    assert sched.node_of("p") == "n2"
    assert "scheduled to n2" in text
    assert "  n3: NodeUnschedulable: node(s) were unschedulable" in text
    assert "  n2: total 487  <- chosen" in text
    assert "    NodeResourcesFit: 87 → 87 × 1 = 87" in text
    assert "    TaintToleration: 0 → 100 × 3 = 300" in text


def test_explanation_without_a_recorded_attempt_falls_back_to_the_condition(sched):
    sched.add(node("n1", cpu="1"), pod("p", cpu="2"))
    sched.run()
    sched.scheduler.attempts.clear()
    assert "unschedulable: 0/1 nodes are available: 1 Insufficient cpu." in sched.explain("p")
    assert sched.explain("missing").endswith("not found")


def test_no_nodes_at_all(sched):
    sched.add(pod("p"))
    sched.run()
    assert sched.condition("p")["message"] == "no nodes available to schedule pods"


@pytest.mark.parametrize("nodes, found", [(5, 5), (99, 99), (100, 100), (250, 120), (1000, 420),
                                          (5000, 500), (6000, 300), (20000, 1000)])
def test_number_of_nodes_to_find_follows_percentage_of_nodes_to_score(nodes, found):
    assert nodes_to_find(nodes) == found


def test_large_clusters_stop_filtering_early_and_rotate_the_starting_node(tmp_path):
    c = SchedCluster(tmp_path)
    c.add(*(node(f"n{i:03}") for i in range(250)))
    a = c.scheduler.attempt(c.store.head.get(("", "Pod", "demo", "x")) or pod("x"), c.store.head)
    assert len(a.feasible) == 120 and a.feasible[0] == "n000"
    b = c.scheduler.attempt(pod("y"), c.store.head)
    assert b.feasible[0] == "n120"


def test_a_user_filter_dropped_into_the_rules_folder_joins_the_profile(tmp_path):
    rack = """
    component rack-spread
      reads Pod, Node

    filter OnePerRack(pod, node):
      let rack = node.metadata.labels["rack"]
      let app = pod.metadata.labels["app"]
      let taken = [p for p in (Pod where it.metadata.labels["app"] == app) if p.spec.nodeName != null and Node[p.spec.nodeName].metadata.labels["rack"] == rack]
      reject "node(s) are in a rack that already runs this app" when rack != null and count(taken) > 0
    """
    c = SchedCluster(tmp_path, extra={"rack": rack})
    c.add(node("a1", labels={"rack": "a"}), node("a2", labels={"rack": "a"}), node("b1", labels={"rack": "b"}))
    c.add(*(pod(f"w{i}", labels={"app": "web"}) for i in range(3)))
    c.run()
    racks = sorted(c.node_of(f"w{i}")[0] for i in range(3) if c.node_of(f"w{i}"))
    assert racks == ["a", "b"]
    pending = next(f"w{i}" for i in range(3) if c.node_of(f"w{i}") is None)
    assert c.condition(pending)["message"] == \
        "0/3 nodes are available: 3 node(s) are in a rack that already runs this app." \
        " preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.."


MAKER = {"maker": """
component maker
  reads ConfigMap, Pod
  writes Pod, ConfigMap

rule make for cm in ConfigMap:
  when Pod[cm.namespace, cm.name] == null:
    create Pod from {spec: {containers: [{name: "c", image: "nginx"}]}} with name: cm.name

rule seen for p in Pod:
  let cm = ConfigMap[p.namespace, p.name]
  when cm != null:
    set cm.data.node = default(p.spec.nodeName, "none")
"""}


def test_a_pod_a_rule_creates_is_bound_before_the_rules_see_it(tmp_path):
    """The cycle runs right after the round that created the pod: the rules anchored on it see
    its creation and its bind in one evaluation."""
    sched = SchedCluster(tmp_path, extra=MAKER)
    sched.add(node("n1"), {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "p", "namespace": "demo"}})
    assert sched.engine.run().converged
    assert sched.node_of("p") == "n1"
    assert sched.engine.evaluations["maker/seen"] == 1
    assert sched.get("ConfigMap", "p", "demo")["data"] == {"node": "n1"}
