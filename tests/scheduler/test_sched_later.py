"""`later(...)`: a score hands a part of a node-independent let over, read when the scores are
normalised, so a change to that part (a zone's count) recomputes no node's answer."""

from __future__ import annotations

from engine.dsl import check
from engine.dsl import runtime as R
from engine.errors import SourceErrors
from sched_helpers import SchedCluster, node, pod, sched  # noqa: F401 (fixture)
from test_sched_speed import count_calls

ZONE = "topology.kubernetes.io/zone"

CROWD = """
    component crowd
      reads Pod, Node
    score Crowd(pod, node) weight 1:
      let per_zone = tally([Node[p.spec.nodeName].metadata.labels.zone for p in (Pod in "demo")
                            if p.spec.nodeName != null])
      return later(per_zone[node.metadata.labels.zone])
    """


def zones(cluster, per_zone=2, zones=3, key="zone"):
    cluster.add(*(node(f"n{z}{i}", cpu="8", labels={key: f"z{z}"})
                  for z in range(zones) for i in range(per_zone)))


def test_a_score_handing_over_a_count_later_scores_with_the_count_of_the_attempt(tmp_path):
    cluster = SchedCluster(tmp_path, extra={"crowd": CROWD}, with_shipped=False)
    zones(cluster)
    crowd = count_calls(cluster.scheduler, "scores", "Crowd")
    first = cluster.attempt(pod("a", cpu="100m"))
    assert {n: lines[0].raw for n, lines in first.scores.items()} == dict.fromkeys(first.feasible, None)
    assert crowd["n"] == 1 + 6  # the probe, then each node
    cluster.add(pod("x", cpu="100m", node_name="n10"), pod("y", cpu="100m", node_name="n11"),
                pod("z", cpu="100m", node_name="n20"))
    second = cluster.attempt(pod("b", cpu="100m"))
    assert {n: lines[0].raw for n, lines in second.scores.items()} == {
        "n00": None, "n01": None, "n10": 2, "n11": 2, "n20": 1, "n21": 1}
    assert second.chosen in ("n10", "n11")  # the most crowded zone: the score is the count itself
    # the pods bound changed the per-zone counts: the probe runs again (the let it computes changed),
    # every node's answer stands (an answer reads the node's zone, not the count)
    assert crowd["n"] == 7 + 1


def test_zone_spreading_recomputes_only_the_node_a_pod_went_to(sched):
    zones(sched, per_zone=3, key=ZONE)
    spread = count_calls(sched.scheduler, "scores", "PodTopologySpread")
    soft = {"maxSkew": 1, "topologyKey": ZONE, "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": {"app": "soft"}}}
    for i in range(6):
        sched.add(pod(f"s{i}", cpu="100m", labels={"app": "soft"}, topologySpreadConstraints=[soft]))
    sched.run()
    placed = [sched.node_of(f"s{i}") for i in range(6)]
    assert sorted(n[1] for n in placed) == ["0", "0", "1", "1", "2", "2"]  # two per zone
    # the first pod: the probe and 9 nodes; each later one: the node the one before went to
    # (its pods changed); its zone's count changed too, but that count is read `later`
    assert spread["n"] == (1 + 9) + 5


def test_outside_a_scheduling_attempt_later_is_the_part_itself():
    class Plain:  # a context without the attempt's `later`
        pass

    assert R.later(Plain(), object(), {"a": [1, {"b": 2}]}, ("a", 1, "b")) == 2
    assert R.later(Plain(), object(), {"a": 1}, ("x",)) is None


HEADER = "component c\n  reads Pod, Node\n  writes Pod\n\n"


def messages(decl: str, body: str) -> list[str]:
    text = HEADER + decl + "\n" + "".join(f"  {line}\n" for line in body.splitlines())
    try:
        check.load(text, "t.rules")
    except SourceErrors as e:
        return [err.message for err in e.errors]
    return []


def test_later_is_checked():
    assert messages("score S(pod, node):", "let c = {}\nreturn later(c[node.metadata.name])") == []
    assert messages("rule r for p in Pod:", "let c = {}\nset p.x = later(c)") == [
        "'later' can only be used in a score, not in a rule"]
    assert messages("score S(pod, node):", "return later(1 + 2)") == [
        "later() takes a let or a part of one, like later(counts[zone])"]
    assert messages("score S(pod, node):", "let c = {}\nreturn later(c, c)") == ["later() takes 1 argument, got 2"]
    assert messages("score S(pod, node):", "return later") == ["'later' is a function; call it like later(...)"]


EARLY = """
    component crowd
      reads Pod, Node
    score Crowd(pod, node) weight 1:
      when node.metadata.labels.early == "yes":
        return 0
      let per_zone = tally([Node[p.spec.nodeName].metadata.labels.zone for p in (Pod in "demo")
                            if p.spec.nodeName != null])
      return later(per_zone[node.metadata.labels.zone])
    """


def early_cluster(folder):
    folder.mkdir()
    cluster = SchedCluster(folder, extra={"crowd": EARLY}, with_shipped=False)
    cluster.add(node("n00", cpu="8", labels={"zone": "z0", "early": "yes"}))  # the first node
    cluster.add(*(node(f"n{z}{i}", cpu="8", labels={"zone": f"z{z}"}) for z in (1, 2) for i in range(2)))
    return cluster


def test_a_part_no_code_of_the_attempt_computed_is_computed_by_the_node_that_handed_it_over(tmp_path):
    kept = early_cluster(tmp_path / "kept")
    kept.attempt(pod("a", cpu="100m"))
    kept.add(pod("x", cpu="100m", node_name="n10"), pod("y", cpu="100m", node_name="n11"))
    # the first node (the probe's) returns before the let: only the nodes' kept answers hold parts
    second = kept.attempt(pod("b", cpu="100m"))
    fresh = early_cluster(tmp_path / "fresh")
    fresh.add(pod("x", cpu="100m", node_name="n10"), pod("y", cpu="100m", node_name="n11"))
    expected = {"n00": 0, "n10": 2, "n11": 2, "n20": None, "n21": None}
    assert {n: lines[0].raw for n, lines in second.scores.items()} == expected
    assert {n: lines[0].raw for n, lines in fresh.attempt(pod("b", cpu="100m")).scores.items()} == expected


def test_a_part_anywhere_in_a_spread_term_is_read(tmp_path):
    skewed = """
        component spready
          reads Pod, Node
        score Spready(pod, node) weight 1 normalize spread:
          let skews = {z0: 1, z1: 4}
          let domains = {z0: "a", z1: "b"}
          return [{domain: later(domains[node.metadata.labels.zone]), hostname: false, count: 0,
                   maxSkew: later(skews[node.metadata.labels.zone])}]
        """
    cluster = SchedCluster(tmp_path, extra={"s": skewed}, with_shipped=False)
    cluster.add(*(node(f"n{z}{i}", cpu="8", labels={"zone": f"z{z}"}) for z in (0, 1) for i in range(2)))
    scores = cluster.attempt(pod("a", cpu="100m")).scores
    assert {n: lines[0].raw for n, lines in scores.items()} == {"n00": 0, "n01": 0, "n10": 3, "n11": 3}


def test_planned_spread_sums_read_the_counts_the_general_loop_reads():
    # spread_values plans a kept answer's sum and reads its `later` counts through the let's
    # value once per attempt (`read.whole`); a reader without `whole` takes the general loop
    import math

    from engine.scheduler_scores import _UNSET, spread_values

    lets = {"H": ({"n1": 2, "n3": 1}, {}), "Z": ({"a": 3, "b": 1},)}

    def read(part, at):
        return R.walk(lets[part.site], part.steps) if part.site in lets else None

    class Reader:
        def __call__(self, part, at):
            return read(part, at)

        def whole(self, site, at):
            return lets.get(site, _UNSET)

    nodes = (("n1", "a"), ("n2", "a"), ("n3", "b"), ("n4", "c"))
    raws = [[{"domain": zone, "hostname": False, "count": R.Later("Z", (0, zone)), "maxSkew": 5},
             {"domain": name, "hostname": True, "count": R.Later("H", (0, name)), "maxSkew": 3},
             {"domain": name, "hostname": True, "count": R.Later("M", (0, name)), "maxSkew": 1}]
            for name, zone in nodes] + [None]
    planned, general = spread_values(raws, Reader()), spread_values(raws, read)
    zone_weight, host_weight = math.log(3 + 2), math.log(4 + 2)  # 3 zones; 4 nodes scored
    by_hand = [math.floor(z * zone_weight + 4 + h * host_weight + 2 + 0 + 0 + 0.5)
               for z, h in ((3, 2), (3, 0), (1, 1), (0, 0))]
    assert planned == general == by_hand + [None]
    assert len(set(by_hand)) == 4  # (each node's counts matter)


def test_planned_spread_sums_ask_for_a_let_once_per_attempt_whatever_steps_they_read():
    # two counts of one let under different steps (a zone's, a node's): the let is asked for
    # once, so every node's sum reads one value of it
    from engine.scheduler_scores import spread_values

    values = iter([{"z": {"a": 1}, "n": {"n0": 1, "n1": 1}}] + [{"z": {"a": 9}, "n": {"n0": 9, "n1": 9}}] * 9)
    asked = []

    def read(part, at):
        return R.walk(read.whole(part.site, at), part.steps)

    def whole(site, at):
        asked.append(site)
        return next(values)
    read.whole = whole
    raws = [({"domain": "a", "hostname": False, "count": R.Later("S", ("z", "a")), "maxSkew": 1},
             {"domain": f"n{i}", "hostname": True, "count": R.Later("S", ("n", f"n{i}")), "maxSkew": 1})
            for i in range(2)]
    assert spread_values(raws, read) == [2, 2]  # round(1 x log(1 + 2) + 1 x log(2 + 2))
    assert asked == ["S"]
