"""The scheduler's kept answers change nothing: the same placements with and without them."""

from __future__ import annotations

import pytest

from engine.scheduler_cache import NodeResults, QueryCache
from sched_helpers import SchedCluster, container, node, pod

ZONE = "topology.kubernetes.io/zone"


def nodes():
    out = []
    for i in range(9):
        taints = [{"key": "gpu", "value": "yes", "effect": "NoSchedule"}] if i % 4 == 3 else None
        out.append(node(f"n{i}", cpu=str(2 + i % 3), memory="8Gi", labels={ZONE: f"z{i % 3}", "rack": f"r{i % 2}"},
                        taints=taints))
    return out


def wave(w: int):
    """Pods of several shapes: replicas of a template, spreading, anti-affinity, node affinity, tolerations."""
    pods = []
    for i in range(6):
        pods.append(pod(f"web-{w}-{i}", cpu="300m", labels={"app": "web"}))
    for i in range(4):
        pods.append(pod(f"spread-{w}-{i}", cpu="200m", labels={"app": "spread"}, topologySpreadConstraints=[
            {"maxSkew": 1, "topologyKey": ZONE, "whenUnsatisfiable": "DoNotSchedule",
             "labelSelector": {"matchLabels": {"app": "spread"}}}]))
    for i in range(4):  # scored by their zone's count, which each of them changes (`later`)
        pods.append(pod(f"soft-{w}-{i}", cpu="100m", labels={"app": "soft"}, topologySpreadConstraints=[
            {"maxSkew": 1, "topologyKey": ZONE, "whenUnsatisfiable": "ScheduleAnyway",
             "labelSelector": {"matchLabels": {"app": "soft"}}}]))
    for i in range(3):
        pods.append(pod(f"solo-{w}-{i}", cpu="100m", labels={"app": "solo"}, affinity={"podAntiAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": [
                {"labelSelector": {"matchLabels": {"app": "solo"}}, "topologyKey": "kubernetes.io/hostname"}]}}))
    for i in range(2):
        pods.append(pod(f"rack-{w}-{i}", containers=[container(cpu="500m", memory="1Gi")], labels={"app": "rack"},
                        affinity={"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                            {"weight": 10, "preference": {"matchExpressions": [
                                {"key": "rack", "operator": "In", "values": ["r1"]}]}}]}}))
    for i in range(2):  # with the web pods' zone; away from them on a node, if it can
        pods.append(pod(f"pal-{w}-{i}", cpu="100m", labels={"app": "pal"}, affinity={
            "podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": ZONE}]},
            "podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 50, "podAffinityTerm": {"labelSelector": {"matchLabels": {"app": "web"}},
                                                   "topologyKey": "kubernetes.io/hostname"}}]}}))
    pods.append(pod(f"huge-{w}", cpu="7", labels={"app": "huge"}))  # fits nowhere, ever
    pods.append(pod(f"big-{w}", cpu="5500m", labels={"app": "big"}))  # fits once a node is resized
    pods.append(pod(f"gpu-{w}", cpu="1", labels={"app": "gpu"},
                    tolerations=[{"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}]))
    return pods


def placements(tmp_path, keep: bool, monkeypatch) -> tuple[dict, set]:
    """Each pod's node and PodScheduled message; and the plugins whose answers were no longer kept."""
    with monkeypatch.context() as m:
        if not keep:  # no answer, once-value, item or query answer kept across attempts
            m.setattr(NodeResults, "at", lambda self, snap: None)
            m.setattr(QueryCache, "at", lambda self, snap: None)
        folder = tmp_path / ("kept" if keep else "fresh")
        folder.mkdir()
        cluster = SchedCluster(folder)
        cluster.add(*nodes())
        for w in range(3):
            cluster.add(*wave(w))
            cluster.run()
            for name in (f"web-{w}-1", f"spread-{w}-0", f"solo-{w}-2"):  # free some room between waves
                cluster.delete("Pod", name)
            cluster.update(node(f"n{w}", cpu="6", memory="8Gi", labels={ZONE: f"z{w % 3}", "rack": "r1"}))
            cluster.run()
    result = {}
    for p in cluster.store.head.list("", "Pod", "demo"):
        cond = next((c for c in p.get("status", {}).get("conditions", ()) if c["type"] == "PodScheduled"), {})
        result[p["metadata"]["name"]] = (p["spec"].get("nodeName"), cond.get("message"))
    return result, {decl.name for decl, _sig in cluster.scheduler.results.unkept}


def test_placements_are_the_same_when_the_kept_answers_start_over_all_the_time(tmp_path, monkeypatch):
    monkeypatch.setattr(NodeResults, "SLOTS", 3 * 9)  # room for three plugins' answers on 9 nodes
    kept, _ = placements(tmp_path, True, monkeypatch)
    fresh, _ = placements(tmp_path, False, monkeypatch)
    assert kept == fresh


@pytest.mark.parametrize("trial", [NodeResults.KEEP_TRIAL, 3])  # 3: groups soon judged not worth keeping
def test_placements_are_the_same_with_and_without_the_kept_answers(tmp_path, monkeypatch, trial):
    monkeypatch.setattr(NodeResults, "KEEP_TRIAL", trial)
    kept, unkept = placements(tmp_path, True, monkeypatch)
    fresh, _ = placements(tmp_path, False, monkeypatch)
    assert kept == fresh
    assert sum(1 for n, _ in kept.values() if n) > 30  # most pods placed, some not: both paths exercised
    assert kept["huge-0"][0] is None and kept["huge-0"][1].startswith("0/9 nodes are available")
    assert kept["big-0"][0] is not None  # placed after the resize: a retry on a node change
    if trial == 3:  # answers that binds drop (a node's resources change with each pod it gets)
        assert unkept                    # are judged, and some stop being kept
    else:
        assert unkept == set()


ORDER = """
    component order
      reads Pod, Node
    score Order(pod, node) weight 1:
      let zones = tally([p.metadata.labels.zone for p in (Pod in "demo") if p.spec.nodeName != null])
      let head = first([z for z in zones])
      return 10 if node.metadata.labels.zone == head else 0
    """

FLAGS = """
    component flags
      reads Pod, Node
    score Flags(pod, node) weight 1:
      let flags = [p.spec.foo for p in (Pod in "demo") if p.spec.nodeName != null]
      let shown = str(flags)
      return 10 if node.metadata.labels.zone == "a" and shown == "[1]" else 0
    """


def two_attempts(folder, rules, keep, monkeypatch, before, after) -> tuple:
    """Scores of an attempt, of another after replacing the pods `before` with `after`."""
    with monkeypatch.context() as m:
        if not keep:
            m.setattr(NodeResults, "at", lambda self, snap: None)
            m.setattr(QueryCache, "at", lambda self, snap: None)
        folder.mkdir()
        cluster = SchedCluster(folder, extra={"r": rules}, with_shipped=False)
        cluster.add(node("na", labels={ZONE: "a", "zone": "a"}), node("nb", labels={ZONE: "b", "zone": "b"}))
        cluster.add(*before)
        first = cluster.attempt(pod("x", cpu="10m"))
        for p in before[:1]:
            cluster.delete("Pod", p["metadata"]["name"])
        cluster.add(*after)
        second = cluster.attempt(pod("y", cpu="10m"))
        return tuple({n: lines[0].raw for n, lines in a.scores.items()} for a in (first, second))


@pytest.mark.parametrize("rules, before, after", [
    (ORDER,  # the same counts per zone, the keys in the other order
     [pod("p1", cpu="10m", labels={"zone": "b"}, node_name="na"), pod("p2", cpu="10m", labels={"zone": "a"}, node_name="na")],
     [pod("p3", cpu="10m", labels={"zone": "b"}, node_name="na")]),
    (FLAGS,  # true, then 1: equal in Python, not to a rule
     [pod("p1", cpu="10m", node_name="na", foo=True)], [pod("p2", cpu="10m", node_name="na", foo=1)]),
])
def test_a_value_computed_again_is_the_kept_one_only_when_no_rule_can_tell_them_apart(
        tmp_path, monkeypatch, rules, before, after):
    kept = two_attempts(tmp_path / "kept", rules, True, monkeypatch, before, after)
    fresh = two_attempts(tmp_path / "fresh", rules, False, monkeypatch, before, after)
    assert kept == fresh and kept[0] != kept[1]
