"""PodTopologySpread through the shipped rules: the cases of upstream's filtering and scoring tables."""

from __future__ import annotations

import math

import pytest

from sched_helpers import node, pod, sched  # noqa: F401 (fixture)

SPREAD = "node(s) didn't match pod topology spread constraints"
MISSING = "node(s) didn't match pod topology spread constraints (missing required label)"
FOO = {"matchExpressions": [{"key": "foo", "operator": "Exists"}]}


def constraint(key, max_skew=1, selector=FOO, when="DoNotSchedule", **extra):
    return {"maxSkew": max_skew, "topologyKey": key, "whenUnsatisfiable": when, "labelSelector": selector, **extra}


def spread_pod(name, *constraints, labels=None, **spec):
    return pod(name, labels={"foo": ""} if labels is None else labels,
               topologySpreadConstraints=list(constraints), **spec)


def four_nodes(sched, b_zone="zone1"):
    """zone1: node-a, node-b; zone2: node-x, node-y (upstream's usual layout)."""
    b_labels = {"zone": b_zone} if b_zone else {}
    sched.add(node("node-a", labels={"zone": "zone1"}), node("node-b", labels=b_labels),
              node("node-x", labels={"zone": "zone2"}), node("node-y", labels={"zone": "zone2"}))


def place(sched, counts, labels=None, namespace="demo"):
    for node_name, n in counts.items():
        for i in range(n):
            sched.add(pod(f"{node_name}-{i}-{namespace}", namespace=namespace, node_name=node_name,
                          labels={"foo": ""} if labels is None else labels))


def fitting(sched, incoming):
    a = sched.attempt(incoming)
    return sorted(a.feasible), {n: r for n, (_p, r) in a.rejected.items()}


def test_with_no_existing_pods_every_node_fits(sched):
    four_nodes(sched)
    assert fitting(sched, spread_pod("p", constraint("zone")))[0] == ["node-a", "node-b", "node-x", "node-y"]


def test_pods_of_another_namespace_do_not_count(sched):
    four_nodes(sched)
    sched.add({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "other"}})
    place(sched, {"node-a": 2, "node-b": 1}, namespace="other")
    assert fitting(sched, spread_pod("p", constraint("zone")))[0] == ["node-a", "node-b", "node-x", "node-y"]


def test_zones_spread_3_to_1_leave_only_the_emptier_zone(sched):
    four_nodes(sched)
    place(sched, {"node-a": 2, "node-b": 1, "node-x": 1})
    feasible, rejected = fitting(sched, spread_pod("p", constraint("zone")))
    assert feasible == ["node-x", "node-y"]
    assert rejected == {"node-a": (SPREAD,), "node-b": (SPREAD,)}


def test_a_node_without_the_topology_key_is_out_and_its_pods_do_not_count(sched):
    four_nodes(sched, b_zone=None)
    place(sched, {"node-a": 1, "node-b": 2, "node-x": 1, "node-y": 1})
    feasible, rejected = fitting(sched, spread_pod("p", constraint("zone")))
    # zone1 counts 1 (node-b's pods are not counted), zone2 counts 2
    assert rejected == {"node-b": (MISSING,), "node-x": (SPREAD,), "node-y": (SPREAD,)}
    assert feasible == ["node-a"]


def test_hostname_spread_2_1_0_3_fits_only_the_empty_node(sched):
    four_nodes(sched)
    place(sched, {"node-a": 2, "node-b": 1, "node-y": 3})
    assert fitting(sched, spread_pod("p", constraint("kubernetes.io/hostname")))[0] == ["node-x"]


def test_hostname_spread_2_1_0_3_with_max_skew_2_fits_two_nodes(sched):
    four_nodes(sched)
    place(sched, {"node-a": 2, "node-b": 1, "node-y": 3})
    assert fitting(sched, spread_pod("p", constraint("kubernetes.io/hostname", 2)))[0] == ["node-b", "node-x"]


def test_a_pod_that_does_not_match_its_own_selector_adds_nothing_to_the_skew(sched):
    four_nodes(sched)
    place(sched, {"node-a": 2, "node-b": 1, "node-y": 3})
    incoming = spread_pod("p", constraint("kubernetes.io/hostname"), labels={"bar": ""})
    assert fitting(sched, incoming)[0] == ["node-b", "node-x"]


def test_two_constraints_must_both_hold(sched):
    four_nodes(sched)
    place(sched, {"node-a": 3, "node-b": 1, "node-x": 1, "node-y": 2})  # zones 4/3, nodes 3/1/1/2
    incoming = spread_pod("p", constraint("zone"), constraint("kubernetes.io/hostname"))
    assert fitting(sched, incoming)[0] == ["node-x"]


def test_min_domains_above_the_number_of_domains_makes_the_global_minimum_zero(sched):
    four_nodes(sched)
    place(sched, {"node-a": 1, "node-x": 1})  # zones 1/1: fine with one domain more to come
    assert fitting(sched, spread_pod("p", constraint("zone", minDomains=2)))[0] == ["node-a", "node-b", "node-x", "node-y"]
    assert fitting(sched, spread_pod("q", constraint("zone", minDomains=3)))[0] == []


def test_node_affinity_policy_honor_leaves_unselected_nodes_out_of_the_domains(sched):
    sched.add(node("node-a", labels={"zone": "zone1", "foo": ""}), node("node-x", labels={"zone": "zone2", "foo": ""}),
              node("node-z", labels={"zone": "zone3"}))
    place(sched, {"node-a": 1, "node-x": 1})
    honored = spread_pod("p", constraint("zone"), nodeSelector={"foo": ""})
    # zone3 is not a domain for this pod (its node does not match the selector): the minimum is 1
    assert sched.rejection(honored, "node-a") is None
    ignored = spread_pod("q", constraint("zone", nodeAffinityPolicy="Ignore"), nodeSelector={"foo": ""})
    assert sched.rejection(ignored, "node-a") == ("PodTopologySpread", (SPREAD,))


def test_node_taints_policy_honor_leaves_untolerated_nodes_out_of_the_domains(sched):
    taint = [{"key": "dedicated", "value": "x", "effect": "NoSchedule"}]
    sched.add(node("node-a", labels={"zone": "zone1"}), node("node-x", labels={"zone": "zone2"}),
              node("node-z", labels={"zone": "zone3"}, taints=taint))
    place(sched, {"node-a": 1, "node-x": 1})
    assert sched.rejection(spread_pod("p", constraint("zone")), "node-a") == ("PodTopologySpread", (SPREAD,))
    honored = spread_pod("q", constraint("zone", nodeTaintsPolicy="Honor"))
    assert sched.rejection(honored, "node-a") is None


def test_match_label_keys_narrow_the_selector_to_the_pods_own_values(sched):
    four_nodes(sched)
    place(sched, {"node-a": 2}, labels={"foo": "", "rev": "1"})
    place(sched, {"node-x": 1}, labels={"foo": "", "rev": "2"})
    incoming = spread_pod("p", constraint("zone", matchLabelKeys=["rev"]), labels={"foo": "", "rev": "2"})
    # only rev=2 pods count: zone1 0, zone2 1 → zone2 is at the skew limit
    assert fitting(sched, incoming)[0] == ["node-a", "node-b"]


def test_terminating_and_terminated_pods_do_not_count(sched):
    four_nodes(sched)
    place(sched, {"node-a": 1})
    assert fitting(sched, spread_pod("p", constraint("zone")))[0] == ["node-x", "node-y"]
    done = sched.get("Pod", "node-a-0-demo")
    sched.update({**done, "status": {"phase": "Succeeded"}})
    assert fitting(sched, spread_pod("p", constraint("zone")))[0] == ["node-a", "node-b", "node-x", "node-y"]


def test_schedule_anyway_constraints_do_not_filter_but_score_emptier_domains_higher(sched):
    four_nodes(sched)
    place(sched, {"node-a": 2, "node-b": 1, "node-y": 3})
    a = sched.attempt(spread_pod("p", constraint("kubernetes.io/hostname", when="ScheduleAnyway")))
    assert sorted(a.feasible) == ["node-a", "node-b", "node-x", "node-y"]
    raw = {n: next(line for line in a.scores[n] if line.plugin == "PodTopologySpread") for n in a.feasible}
    # log(4 + 2) per pod, maxSkew - 1 = 0: 2 → 4, 1 → 2, 0 → 0, 3 → 5
    assert {n: line.raw for n, line in raw.items()} == {"node-a": 4, "node-b": 2, "node-x": 0, "node-y": 5}
    # 100 * (max + min - s) / max, weight 2
    assert {n: line.normalized for n, line in raw.items()} == {"node-a": 20, "node-b": 60, "node-x": 100, "node-y": 0}
    assert raw["node-x"].weighted == 200


def test_zone_scores_use_the_domain_count_and_ignore_nodes_without_the_key(sched):
    four_nodes(sched, b_zone=None)
    place(sched, {"node-a": 1, "node-x": 2, "node-y": 1})
    a = sched.attempt(spread_pod("p", constraint("zone", when="ScheduleAnyway")))
    raw = {n: next(line for line in a.scores[n] if line.plugin == "PodTopologySpread") for n in a.feasible}
    # 2 domains: weight log(4); zone1 1 pod → 1, zone2 3 pods → 4; node-b is ignored (0)
    assert {n: (line.raw, line.normalized) for n, line in raw.items()} == {
        "node-a": (1, 100), "node-b": (None, 0), "node-x": (4, 25), "node-y": (4, 25)}


def spread_scores(sched, incoming):
    a = sched.attempt(incoming)
    return {n: next(line for line in a.scores[n] if line.plugin == "PodTopologySpread").raw for n in a.feasible}


@pytest.mark.parametrize("policy, counted", [("Honor", {"node-a": 0, "node-x": 1}), ("Ignore", {"node-a": 3, "node-x": 1})])
def test_a_score_counts_only_pods_on_nodes_its_node_affinity_policy_includes(sched, policy, counted):
    sched.add(node("node-a", labels={"zone": "zone1", "foo": ""}), node("node-b", labels={"zone": "zone1"}),
              node("node-x", labels={"zone": "zone2", "foo": ""}))
    place(sched, {"node-b": 3, "node-x": 1})
    incoming = spread_pod("p", constraint("zone", when="ScheduleAnyway", nodeAffinityPolicy=policy),
                          nodeSelector={"foo": ""})
    # 2 domains: a zone's count weighted by log(2 + 2); node-b fails the node selector
    weight = math.log(4)
    assert spread_scores(sched, incoming) == {n: round(c * weight) for n, c in counted.items()}


@pytest.mark.parametrize("policy, counted", [("Honor", {"node-a": 0, "node-x": 1}), ("Ignore", {"node-a": 2, "node-x": 1})])
def test_a_score_counts_only_pods_on_nodes_whose_taints_its_taints_policy_lets_through(sched, policy, counted):
    taint = [{"key": "dedicated", "value": "x", "effect": "NoSchedule"}]
    sched.add(node("node-a", labels={"zone": "zone1"}), node("node-b", labels={"zone": "zone1"}, taints=taint),
              node("node-x", labels={"zone": "zone2"}))
    place(sched, {"node-b": 2, "node-x": 1})
    incoming = spread_pod("p", constraint("zone", when="ScheduleAnyway", nodeTaintsPolicy=policy))
    weight = math.log(4)
    assert spread_scores(sched, incoming) == {n: round(c * weight) for n, c in counted.items()}


def test_system_default_spreading_applies_to_pods_a_service_selects(sched):
    sched.add(node("n1", labels={"topology.kubernetes.io/zone": "z1"}),
              node("n2", labels={"topology.kubernetes.io/zone": "z1"}))
    place(sched, {"n1": 2}, labels={"app": "web"})
    plain = sched.attempt(pod("p", labels={"app": "web"}))
    assert {next(line for line in plain.scores[n] if line.plugin == "PodTopologySpread").normalized
            for n in ("n1", "n2")} == {0}  # no service, no owner: no default constraints
    sched.add({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "demo"},
               "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}})
    a = sched.attempt(pod("q", labels={"app": "web"}))
    lines = {n: next(line for line in a.scores[n] if line.plugin == "PodTopologySpread") for n in ("n1", "n2")}
    # hostname (maxSkew 3): n1 2 pods × log(4) + 2 = 5, n2 0 + 2; zone (maxSkew 5): 2 × log(3) + 4 each
    assert lines["n1"].raw == round(2 * 1.3862943611198906 + 2 + 2 * 1.0986122886681098 + 4)
    assert lines["n2"].raw == round(2 + 2 * 1.0986122886681098 + 4)
    assert lines["n2"].normalized == 100 and lines["n1"].normalized < 100


def test_the_scheduler_spreads_a_deployment_like_set_across_zones(sched):
    four_nodes(sched)
    for i in range(4):
        sched.add(spread_pod(f"p{i}", constraint("zone")))
        sched.run()
    zones = [sched.get("Node", sched.node_of(f"p{i}"), "").get("metadata")["labels"]["zone"] for i in range(4)]
    assert sorted(zones) == ["zone1", "zone1", "zone2", "zone2"]


def test_spread_scores_read_a_callers_terms_afresh_each_time():
    from engine.scheduler_scores import spread_scores as scores

    terms = [{"domain": "z1", "hostname": False, "count": 1, "maxSkew": 1}]
    assert scores({"n1": terms}) == {"n1": 1}
    terms[0]["count"] = 10  # the caller's own list, changed: only the scheduler's answers are kept
    assert scores({"n1": terms}) == {"n1": 11}
