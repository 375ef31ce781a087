"""Plugin answers kept per node across attempts: shared by identical pods, dropped by what changes them."""

from __future__ import annotations

from sched_helpers import SchedCluster, node, pod, sched  # noqa: F401 (fixture)
from test_sched_speed import count_calls


def test_an_identical_pod_reuses_every_nodes_answer(sched):
    sched.add(*(node(f"n{i}") for i in range(4)))
    fit = count_calls(sched.scheduler, "filters", "NodeResourcesFit")
    least = count_calls(sched.scheduler, "scores", "NodeResourcesFit")
    sched.attempt(pod("a", cpu="100m", labels={"app": "web"}))
    assert (fit["n"], least["n"]) == (1 + 4, 1 + 4)  # the probe, then each node
    sched.attempt(pod("b", cpu="100m", labels={"app": "web"}))
    assert (fit["n"], least["n"]) == (5 + 1, 5 + 1)  # only the probe: every node's answer stands


def test_after_a_bind_only_the_chosen_nodes_answers_are_computed_again(sched):
    sched.add(*(node(f"n{i}") for i in range(4)))
    for name in ("a", "b", "c"):  # identical once defaulted, except names
        sched.add(pod(name, cpu="100m", labels={"app": "web"}))
    fit = count_calls(sched.scheduler, "filters", "NodeResourcesFit")
    sched.run()
    assert {sched.node_of(n) for n in ("a", "b", "c")} <= {"n0", "n1", "n2", "n3"}
    # a: the probe and 4 nodes; b and c: the probe and the node the previous pod went to
    assert fit["n"] == (1 + 4) + (1 + 1) + (1 + 1)


def test_a_cached_answer_does_not_hide_that_a_node_filled_up(sched):
    sched.add(node("n1", cpu="1"), node("n2", cpu="1"))
    for name in ("a", "b", "c"):
        sched.add(pod(name, cpu="600m", labels={"app": "same"}))
    sched.run()
    assert sorted(sched.node_of(n) or "-" for n in ("a", "b", "c")) == ["-", "n1", "n2"]
    pending = next(n for n in ("a", "b", "c") if sched.node_of(n) is None)
    assert sched.condition(pending)["message"] == "0/2 nodes are available: 2 Insufficient cpu."


def test_a_pod_that_differs_in_what_the_plugin_reads_gets_its_own_answers(sched):
    sched.add(node("n1", cpu="1"), node("n2", cpu="2"))
    fit = count_calls(sched.scheduler, "filters", "NodeResourcesFit")
    assert sched.attempt(pod("small", cpu="500m")).feasible == ("n1", "n2")
    a = sched.attempt(pod("big", cpu="1500m"))
    assert fit["n"] == 2 * (1 + 2)
    assert a.feasible == ("n2",) and a.rejected["n1"] == ("NodeResourcesFit", ("Insufficient cpu",))


def test_a_changed_node_is_asked_again(sched):
    sched.add(node("n1"), node("n2"))
    sched.attempt(pod("a", cpu="100m"))
    sched.update(node("n2", taints=[{"key": "k", "value": "v", "effect": "NoSchedule"}]))
    a = sched.attempt(pod("b", cpu="100m"))
    assert a.feasible == ("n1",) and a.rejected["n2"][0] == "TaintToleration"


def test_a_plugin_reading_the_pods_name_never_shares_answers_between_pods(tmp_path):
    named = """
        component named
          reads Pod, Node
        filter OwnNode(pod, node):
          reject "not mine" when not starts_with(node.metadata.name, pod.metadata.name)
        """
    cluster = SchedCluster(tmp_path, extra={"named": named}, with_shipped=False)
    cluster.add(node("a1"), node("b1"))
    assert cluster.attempt(pod("a")).feasible == ("a1",)
    assert cluster.attempt(pod("b")).feasible == ("b1",)


def test_an_answer_that_used_a_once_per_attempt_value_is_dropped_when_that_value_changes(tmp_path):
    crowd = """
        component crowd
          reads Pod, Node
        filter Crowded(pod, node):
          let everyone = count(Pod in "demo")
          reject "crowded" when node.metadata.labels.size == "small" and everyone >= 2
        """
    cluster = SchedCluster(tmp_path, extra={"crowd": crowd}, with_shipped=False)
    cluster.add(node("s", labels={"size": "small"}), node("l", labels={"size": "large"}))
    cluster.add(pod("x", node_name="l"))
    assert cluster.attempt(pod("p")).feasible == ("l", "s")
    cluster.add(pod("y", node_name="l"))  # no change to node s or its pods, but the count changed
    a = cluster.attempt(pod("q"))
    assert a.feasible == ("l",) and a.rejected["s"] == ("Crowded", ("crowded",))


def test_a_once_per_attempt_value_is_kept_for_the_next_identical_pod_until_what_it_read_changes(tmp_path):
    spread = """
        component spread
          reads Pod, Node
        filter Spread(pod, node):
          let per_node = tally([p.spec.nodeName for p in (Pod in "demo")])
          reject "busy" when default(per_node[node.metadata.name], 0) >= 2
        """
    cluster = SchedCluster(tmp_path, extra={"spread": spread}, with_shipped=False)
    cluster.add(node("n1"), node("n2"), pod("x", node_name="n1"))
    decl = cluster.scheduler.filters[0]
    inner = decl.fn.__globals__["_b_tally"]
    calls = []
    decl.fn.__globals__["_b_tally"] = lambda *a: calls.append(1) or inner(*a)
    try:
        assert cluster.attempt(pod("p", labels={"app": "a"})).feasible == ("n1", "n2")
        assert cluster.attempt(pod("q", labels={"app": "a"})).feasible == ("n1", "n2")
        assert len(calls) == 1  # the second pod reads the same parts of the pod and the cluster
        cluster.add(pod("y", node_name="n1"))
        a = cluster.attempt(pod("r", labels={"app": "a"}))
        assert len(calls) == 2 and a.feasible == ("n2",) and a.rejected["n1"] == ("Spread", ("busy",))
    finally:
        decl.fn.__globals__["_b_tally"] = inner


def test_answers_that_every_bind_drops_stop_being_kept_and_reused_ones_stay(sched, monkeypatch):
    from engine.scheduler import NodeResults
    monkeypatch.setattr(NodeResults, "KEEP_TRIAL", 10)
    sched.add(*(node(f"n{i}") for i in range(6)))
    anti = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "solo"}}, "topologyKey": "kubernetes.io/hostname"}]}}
    for i in range(6):
        sched.add(pod(f"s{i}", cpu="100m", labels={"app": "solo"}, affinity=anti))
    sched.run()
    assert sorted(sched.node_of(f"s{i}") for i in range(6)) == [f"n{i}" for i in range(6)]  # one per node
    unkept = {decl.name for decl, _sig in sched.scheduler.results.unkept}
    assert "InterPodAffinity" in unkept  # each bind changes the pairs every node's answer read
    assert "NodeResourcesFit" not in unkept  # only the chosen node's answer is dropped by a bind
    sched.add(pod("s6", cpu="100m", labels={"app": "solo"}, affinity=anti))
    sched.run()
    assert sched.node_of("s6") is None  # still filtered right without kept answers
