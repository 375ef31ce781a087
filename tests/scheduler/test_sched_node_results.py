"""Plugin answers kept per node across attempts: shared by identical pods, dropped by what changes them."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from engine.scheduler_cache import NodeResults
from engine.scheduler_scores import _UNSET
from sched_helpers import SchedCluster, node, pod, sched  # noqa: F401 (fixture)
from test_sched_speed import count_calls


def test_an_identical_pod_reuses_every_nodes_answer(sched):
    sched.add(*(node(f"n{i}") for i in range(4)))
    fit = count_calls(sched.scheduler, "filters", "NodeResourcesFit")
    least = count_calls(sched.scheduler, "scores", "NodeResourcesFit")
    sched.attempt(pod("a", cpu="100m", labels={"app": "web"}))
    assert (fit["n"], least["n"]) == (1 + 4, 1 + 4)  # the probe, then each node
    sched.attempt(pod("b", cpu="100m", labels={"app": "web"}))
    assert (fit["n"], least["n"]) == (5, 5)  # every node's answer stands, and the probe's


def test_after_a_bind_only_the_chosen_nodes_answers_are_computed_again(sched):
    sched.add(*(node(f"n{i}") for i in range(4)))
    for name in ("a", "b", "c"):  # identical once defaulted, except names
        sched.add(pod(name, cpu="100m", labels={"app": "web"}))
    fit = count_calls(sched.scheduler, "filters", "NodeResourcesFit")
    sched.run()
    assert {sched.node_of(n) for n in ("a", "b", "c")} <= {"n0", "n1", "n2", "n3"}
    # a: the probe and 4 nodes; b and c: the node the previous pod went to (the probe's outcome,
    # "reads the node", stands)
    assert fit["n"] == (1 + 4) + 1 + 1


def test_a_cached_answer_does_not_hide_that_a_node_filled_up(sched):
    sched.add(node("n1", cpu="1"), node("n2", cpu="1"))
    for name in ("a", "b", "c"):
        sched.add(pod(name, cpu="600m", labels={"app": "same"}))
    sched.run()
    assert sorted(sched.node_of(n) or "-" for n in ("a", "b", "c")) == ["-", "n1", "n2"]
    pending = next(n for n in ("a", "b", "c") if sched.node_of(n) is None)
    assert sched.condition(pending)["message"] == \
        "0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod.."


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


# A filter every node's answer of which reads the whole of a value each bind changes.
PLACED = """
    component placed
      reads Pod, Node
    filter Placed(pod, node):
      let placed = count(Pod where it.spec.nodeName != null)
      let limit = node.metadata.labels["limit"]
      reject "full" when limit != null and placed >= int(limit)
"""


def test_answers_that_every_bind_drops_stop_being_kept_and_reused_ones_stay(tmp_path, monkeypatch):
    from engine.scheduler_cache import NodeResults
    monkeypatch.setattr(NodeResults, "KEEP_TRIAL", 10)
    cluster = SchedCluster(tmp_path, extra={"placed": PLACED})
    cluster.add(*(node(f"n{i}", labels={"limit": "7"}) for i in range(6)))
    for i in range(8):
        cluster.add(pod(f"p{i}", cpu="100m", labels={"app": "web"}))
    cluster.run()
    unkept = {decl.name for decl, _sig in cluster.scheduler.results.unkept}
    assert "Placed" in unkept  # each bind changes the count every node's answer read
    assert "NodeResourcesFit" not in unkept  # only the chosen node's answer is dropped by a bind
    assert sorted(cluster.node_of(f"p{i}") is not None for i in range(8)) == [False] + [True] * 7
    assert cluster.condition(next(f"p{i}" for i in range(8) if cluster.node_of(f"p{i}") is None))["message"] \
        == "0/6 nodes are available: 6 full. preemption: 0/6 nodes are available: 6 No preemption victims found for incoming pod.."  # (filtered right)


ANTI = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
    {"labelSelector": {"matchLabels": {"app": "solo"}}, "topologyKey": "kubernetes.io/hostname"}]}}


def test_a_bind_drops_only_the_answers_that_read_the_pair_it_changed(sched):
    sched.add(*(node(f"n{i}") for i in range(6)))
    calls = count_calls(sched.scheduler, "filters", "InterPodAffinity")
    for i in range(6):
        sched.add(pod(f"s{i}", cpu="100m", labels={"app": "solo"}, affinity=ANTI))
    sched.run()
    assert sorted(sched.node_of(f"s{i}") for i in range(6)) == [f"n{i}" for i in range(6)]  # one per node
    # the first pod meets no pair: the probe answers for every node; the second: the probe and
    # 6 nodes; each later one: the probe and the node the one before it went to (its pair
    # "kubernetes.io/hostname=nX" is the only part of the values they read that changed)
    assert calls["n"] == 1 + (1 + 6) + 4 * (1 + 1)
    assert not sched.scheduler.results.unkept
    sched.add(pod("s6", cpu="100m", labels={"app": "solo"}, affinity=ANTI))
    sched.run()
    assert sched.node_of("s6") is None
    assert sched.condition("s6")["message"] == \
        "0/6 nodes are available: 6 node(s) didn't match pod anti-affinity rules." \
        " preemption: 0/6 nodes are available: 6 No preemption victims found for incoming pod.."


# `busy` is computed after a statement that may return: a probe of an "early" node never gets
# to it, and the kept answers that read it must not be used while it is out of date.
BUSY = """
    component busy
      reads Pod, Node
    filter Busy(pod, node):
      reject "early" when node.metadata.labels["early"] == "yes"
      let busy = tally([p.spec.nodeName for p in (Pod where it.spec.nodeName != null)])
      reject "busy" when node.metadata.name in busy
"""


def test_answers_that_read_a_value_a_probe_did_not_compute_again_are_not_used(tmp_path):
    cluster = SchedCluster(tmp_path, extra={"busy": BUSY}, with_shipped=False)
    cluster.add(node("n0", labels={"early": "yes"}), node("n1"), node("n2"))
    busy = count_calls(cluster.scheduler, "filters", "Busy")
    cluster.add(pod("a", labels={"app": "web"}))
    cluster.run()
    cluster.add(pod("b", labels={"app": "web"}))
    cluster.run()
    assert {cluster.node_of("a"), cluster.node_of("b")} == {"n1", "n2"}
    assert busy["n"] == (1 + 3) + (1 + 2)  # b: the probe (on n0) and both answers that read `busy`
    cluster.add(pod("c", labels={"app": "web"}))
    cluster.run()
    assert cluster.node_of("c") is None
    assert cluster.condition("c")["message"] == \
        "0/3 nodes are available: 1 early, 2 busy. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.."


def test_a_once_per_attempt_value_computed_again_the_same_leaves_the_lets_after_it_standing(tmp_path, monkeypatch):
    import attrs

    from engine.dsl.builtins import BUILTINS

    tallies = {"n": 0}
    inner = BUILTINS["tally"].fn

    def counted(*args):
        tallies["n"] += 1
        return inner(*args)

    monkeypatch.setitem(BUILTINS, "tally", attrs.evolve(BUILTINS["tally"], fn=counted))
    chain = """
        component chain
          reads Pod, Node, ConfigMap
        score Chain(pod, node) weight 1:
          let mode = ConfigMap["demo", "settings"].data.mode
          let zones = tally([nd.metadata.labels.zone for nd in (Node) if mode == "on"])
          return later(zones[node.metadata.labels.zone])
        """
    cluster = SchedCluster(tmp_path, extra={"chain": chain}, with_shipped=False)
    cluster.add(node("a1", labels={"zone": "a"}), node("a2", labels={"zone": "a"}), node("b1", labels={"zone": "b"}))
    settings = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": "demo"},
                "data": {"mode": "on"}}
    cluster.add(settings)
    first = cluster.attempt(pod("p"))
    assert tallies["n"] == 1 and first.chosen in ("a1", "a2")
    cluster.update({**settings, "data": {"mode": "on", "other": "x"}})  # `mode` is computed again: the same
    assert cluster.attempt(pod("q")).chosen in ("a1", "a2")
    assert tallies["n"] == 1  # so `zones` stands
    cluster.update({**settings, "data": {"mode": "off"}})
    third = cluster.attempt(pod("r"))
    assert tallies["n"] == 2
    assert {n: lines[0].raw for n, lines in third.scores.items()} == {"a1": None, "a2": None, "b1": None}


_VALUES = st.recursive(
    st.none() | st.integers(-3, 3) | st.text(max_size=2),
    lambda inner: (st.lists(inner, max_size=3) | st.lists(inner, max_size=3).map(tuple)
                   | st.dictionaries(st.sampled_from(["a", "b", ""]), inner, max_size=3)),
    max_leaves=10)


@given(_VALUES, st.lists(st.sampled_from(["a", "b", 0, 1, -1, 2, "", True]), max_size=4).map(tuple))
def test_the_paths_of_a_once_value_are_read_as_lookup_reads_them(value, path):
    from engine.objects import _lookup, freeze, lookup

    for version in (value, freeze(value)):
        assert lookup(version, path) == _lookup(version, path)


WEIGH = """
    component weigh
      reads Pod, Node
    score Weigh(pod, node) weight 1:
      let factor = int(default(pod.metadata.labels.factor, "1"))
      let app = pod.metadata.labels.app
      return factor * int(node.metadata.labels.size)
    """


def test_a_pod_of_another_signature_takes_the_answers_whose_once_values_it_shares(tmp_path):
    cluster = SchedCluster(tmp_path, extra={"weigh": WEIGH}, with_shipped=False)
    cluster.add(*(node(f"n{i}", labels={"size": str(i + 1)}) for i in range(4)))
    weigh = count_calls(cluster.scheduler, "scores", "Weigh")
    scores = lambda a: {n: a.scores[n][0].raw for n in a.feasible}  # noqa: E731

    first = cluster.attempt(pod("a", labels={"app": "a", "factor": "2"}))
    assert scores(first) == {"n0": 2, "n1": 4, "n2": 6, "n3": 8} and weigh["n"] == 1 + 4  # probe, nodes
    # a second signature (the plugin reads the labels): computed, and from now on given as donors
    second = cluster.attempt(pod("b", labels={"app": "b", "factor": "2"}))
    assert scores(second) == scores(first) and weigh["n"] == 5 + 1 + 4
    # another app, the same factor: the node code read only `factor` of the once-values, so every
    # node's answer is taken over; only the probe runs
    other = cluster.attempt(pod("c", labels={"app": "c", "factor": "2"}))
    assert scores(other) == scores(first) and weigh["n"] == 10 + 1
    # a factor that differs: nothing to take over, every node is asked
    third = cluster.attempt(pod("d", labels={"app": "d", "factor": "3"}))
    assert scores(third) == {"n0": 3, "n1": 6, "n2": 9, "n3": 12} and weigh["n"] == 11 + 1 + 4
    # the answers taken over are kept for their new signature like computed ones
    again = cluster.attempt(pod("c2", labels={"app": "c", "factor": "2"}))
    assert scores(again) == scores(first) and weigh["n"] == 16


def test_an_answer_taken_over_is_dropped_with_the_node_like_any_other(tmp_path):
    cluster = SchedCluster(tmp_path, extra={"weigh": WEIGH}, with_shipped=False)
    cluster.add(node("n0", labels={"size": "1"}), node("n1", labels={"size": "2"}))
    cluster.attempt(pod("a", labels={"app": "a"}))
    cluster.attempt(pod("b", labels={"app": "b"}))  # donating from here on
    cluster.attempt(pod("c", labels={"app": "c"}))  # taken over
    cluster.update(node("n1", labels={"size": "5"}))
    after = cluster.attempt(pod("c2", labels={"app": "c"}))
    assert {n: after.scores[n][0].raw for n in after.feasible} == {"n0": 1, "n1": 5}


def test_pods_of_two_shapes_taking_turns_each_keep_their_answers(tmp_path):
    cluster = SchedCluster(tmp_path, extra={"weigh": WEIGH}, with_shipped=False)
    cluster.add(*(node(f"n{i}", labels={"size": str(i + 1)}) for i in range(4)))
    weigh = count_calls(cluster.scheduler, "scores", "Weigh")
    scores = lambda a: {n: a.scores[n][0].raw for n in a.feasible}  # noqa: E731
    cluster.attempt(pod("a", labels={"app": "a", "factor": "2"}))
    cluster.attempt(pod("b", labels={"app": "b", "factor": "2"}))  # shared from here on
    cluster.attempt(pod("d", labels={"app": "d", "factor": "3"}))  # the shared answers do not stand: its own
    before = weigh["n"]
    for i in range(3):  # more Deployments of both shapes, in turns: every node's answer is kept for each
        two = cluster.attempt(pod(f"two-{i}", labels={"app": f"two-{i}", "factor": "2"}))
        three = cluster.attempt(pod(f"three-{i}", labels={"app": "d", "factor": "3"}))
        assert scores(two) == {"n0": 2, "n1": 4, "n2": 6, "n3": 8}
        assert scores(three) == {"n0": 3, "n1": 6, "n2": 9, "n3": 12}
    assert weigh["n"] - before == 3  # the probe of each new signature (app two-i), no node
    # one answer per node is kept for all the signatures that share it, not a copy for each
    groups = [g for key, g in cluster.scheduler.results.entries.items()
              if type(g) is list and getattr(key[0], "name", None) == "Weigh"]
    assert sum(1 for g in groups for entry in g if entry is not _UNSET) == 4 + 4 + 4  # a, shared, d


def test_a_shared_answer_stands_only_for_the_values_it_read(tmp_path):
    cluster = SchedCluster(tmp_path, extra={"weigh": WEIGH}, with_shipped=False)
    cluster.add(*(node(f"n{i}", labels={"size": str(i + 1)}) for i in range(3)))
    for i, factor in enumerate(["2", "2", "5", "2", "7", "5"]):
        got = cluster.attempt(pod(f"p{i}", labels={"app": f"p{i}", "factor": factor}))
        assert {n: got.scores[n][0].raw for n in got.feasible} == {f"n{k}": int(factor) * (k + 1) for k in range(3)}


FLAGGED = """
    component flagged
      reads Pod, Node
    score Flagged(pod, node) weight 1:
      let flag = pod.spec.foo
      let app = pod.metadata.labels.app
      return int(node.metadata.labels.size) * 10 if str(flag) == "1" else 30 - int(node.metadata.labels.size) * 10
    """
FLAGGED_BY_NODE = """
    component flagged
      reads Pod, Node
    score Flagged(pod, node) weight 1:
      return int(node.metadata.labels.size) * 10 if str(pod.spec.foo) == "1" else 30 - int(node.metadata.labels.size) * 10
    """


def test_values_equal_in_python_but_not_to_a_rule_share_no_answer(tmp_path):
    """`true` and `1` are equal in Python (and hash alike), but `str` tells them apart."""
    for rule in (FLAGGED, FLAGGED_BY_NODE):  # read in a once-value (shared group), or by node code (signature)
        folder = tmp_path / str(len(rule))
        folder.mkdir()
        cluster = SchedCluster(folder, extra={"flagged": rule}, with_shipped=False)
        cluster.add(node("n0", labels={"size": "1"}), node("n1", labels={"size": "2"}))
        raw = lambda a: {n: a.scores[n][0].raw for n in a.feasible}  # noqa: E731
        assert raw(cluster.attempt(pod("p1", labels={"app": "a"}, foo=1))) == {"n0": 10, "n1": 20}
        assert raw(cluster.attempt(pod("p2", labels={"app": "b"}, foo=1))) == {"n0": 10, "n1": 20}
        cluster.update(node("n1", labels={"size": "2", "x": "y"}))  # n1's answers go: kept anew below
        assert raw(cluster.attempt(pod("p3", labels={"app": "c"}, foo=True))) == {"n0": 20, "n1": 10}
        assert raw(cluster.attempt(pod("p4", labels={"app": "d"}, foo=1))) == {"n0": 10, "n1": 20}
        assert raw(cluster.attempt(pod("p5", labels={"app": "a"}, foo=True))) == {"n0": 20, "n1": 10}


def test_a_later_count_is_read_at_steps_no_rule_could_mistake(tmp_path):
    """`xs[true]` is null and `xs[1]` is 7: a count read for one node is not taken for the other."""
    rule = """
        component sp
          reads Pod, Node
        score Sp(pod, node) weight 1 normalize spread:
          let xs = [5, 7]
          return [{domain: node.metadata.name, hostname: false, maxSkew: 1,
                   count: later(xs[1 if node.metadata.labels.b == "i" else true])}]
        """
    cluster = SchedCluster(tmp_path, extra={"sp": rule}, with_shipped=False)
    cluster.add(node("n0", labels={"b": "t"}), node("n1", labels={"b": "i"}), node("n2", labels={"b": "t"}))
    got = cluster.attempt(pod("p"))
    assert {n: got.scores[n][0].raw for n in got.feasible} == {"n0": 0, "n1": round(7 * math.log(5)), "n2": 0}


def test_the_parts_of_shared_answers_long_gone_are_not_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(NodeResults, "PARTS_AT_LEAST", 8)
    rule = """
        component placed
          reads Pod, Node
        filter Fresh(pod, node):
          let app = pod.metadata.labels.app
          let placed = keys(tally([p.metadata.name for p in (Pod where it.spec.nodeName != null)]))
          reject "taken" when str(placed) == node.metadata.name
        """
    cluster = SchedCluster(tmp_path, extra={"placed": rule}, with_shipped=False)
    cluster.add(*(node(f"n{i}") for i in range(6)))
    made = set()
    for i in range(120):  # every bind changes `placed`, which the answers read whole
        cluster.add(pod(f"p{i}", labels={"app": f"a{i % 5}"}, cpu="1m"))
        cluster.run()
        for k in range(6):  # and the nodes change: their answers go, and are kept anew
            cluster.update(node(f"n{k}", labels={"round": str(i)}))
        results = cluster.scheduler.results
        made.update(map(id, results.parts))
        held = {id(e[1]) for key in results.shared for e in results.entries.get(key, ()) if e is not _UNSET}
        assert len(results.parts) <= max(8, 2 * len(held)) + 1
    assert len(made) > 40  # many sets were made: most are gone


CAPPED = """
    component capx
      reads Pod, Node, ConfigMap
    filter Capx(pod, node):
      let app = pod.metadata.labels.app
      let k = int(default(pod.metadata.labels.cap, ConfigMap["demo", "cfg"].data.cap))
      reject "too small" when int(node.metadata.labels.size) < k
    """


def _config(cap):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": "demo"},
            "data": {"cap": cap}}


def test_an_answer_given_after_a_once_let_failed_is_not_taken_by_another_pod(tmp_path):
    cluster = SchedCluster(tmp_path, extra={"capx": CAPPED}, with_shipped=False)
    cluster.add(node("n0", labels={"size": "1"}), node("n1", labels={"size": "2"}), _config("x"))
    assert cluster.attempt(pod("p1", labels={"app": "a", "cap": "1"})).feasible == ("n0", "n1")
    failed = cluster.attempt(pod("p2", labels={"app": "b", "cap": "bad"}))  # a second signature: shared
    assert failed.chosen is None and "cannot convert" in failed.message
    assert cluster.attempt(pod("p3", labels={"app": "c", "cap": "2"})).feasible == ("n1",)


def test_an_answer_given_after_a_once_let_failed_goes_with_what_the_let_read(tmp_path):
    cluster = SchedCluster(tmp_path, extra={"capx": CAPPED}, with_shipped=False)
    cluster.add(node("n0", labels={"size": "1"}), node("n1", labels={"size": "2"}), _config("x"))
    assert cluster.attempt(pod("q1", labels={"app": "z"})).chosen is None  # "x" is no number
    cluster.update(_config("2"))
    assert cluster.attempt(pod("q2", labels={"app": "z"})).feasible == ("n1",)
