"""Every default score, through the shipped rules: raw values, normalisation, weights."""

from __future__ import annotations

from sched_helpers import container, node, pod, sched  # noqa: F401 (fixture)

MB = 1024 * 1024


def lines(attempt, node_name):
    return {line.plugin: (line.raw, line.normalized, line.weighted) for line in attempt.scores[node_name]}


def test_least_allocated_scores_the_free_share_of_cpu_and_memory(sched):
    # upstream table: nothing scheduled, pod requests 3000m/5000 on 4000m/10000 and 6000m/10000 nodes
    sched.add(node("n1", cpu="4", memory="10000"), node("n2", cpu="6", memory="10000"))
    a = sched.attempt(pod("p", cpu="3", memory="5000"))
    # n1: cpu (4000-3000)*100/4000 = 25, memory 50 → 37; n2: cpu 50, memory 50 → 50
    assert lines(a, "n1")["NodeResourcesFit"] == (37, 37, 37)
    assert lines(a, "n2")["NodeResourcesFit"] == (50, 50, 50)


def test_least_allocated_counts_requests_of_pods_on_the_node_and_defaults_for_empty_ones(sched):
    sched.add(node("n1", cpu="4", memory="2000Mi"), node("n2", cpu="4", memory="2000Mi"),
              pod("e", cpu="2", memory="1000Mi", node_name="n1"))
    a = sched.attempt(pod("p"))  # no requests: 100m cpu and 200Mi memory
    # n1: cpu (4000-2100)*100/4000 = 47, memory (2000-1200)*100/2000 = 40 → 43
    assert lines(a, "n1")["NodeResourcesFit"][0] == 43
    # n2: cpu 97, memory 90 → 93
    assert lines(a, "n2")["NodeResourcesFit"][0] == 93


def test_balanced_allocation_prefers_equal_cpu_and_memory_shares(sched):
    sched.add(node("n1", cpu="4", memory="10000"), node("n2", cpu="6", memory="10000"))
    a = sched.attempt(pod("p", cpu="3", memory="5000"))
    # n1: 0.75 and 0.5 → std 0.125 → 87; n2: 0.5 and 0.5 → 100
    assert lines(a, "n1")["NodeResourcesBalancedAllocation"] == (87, 87, 87)
    assert lines(a, "n2")["NodeResourcesBalancedAllocation"] == (100, 100, 100)


def test_balanced_allocation_caps_fractions_at_one_and_skips_best_effort_pods(sched):
    sched.add(node("n1", cpu="4", memory="10000"), node("n2", cpu="4", memory="10000"),
              pod("e", cpu="6", node_name="n1"))
    a = sched.attempt(pod("p", cpu="0", memory="5000"))
    assert lines(a, "n1")["NodeResourcesBalancedAllocation"][0] == 75  # fractions 1 and 0.5
    a = sched.attempt(pod("q"))
    assert {lines(a, n)["NodeResourcesBalancedAllocation"][0] for n in ("n1", "n2")} == {0}


def test_node_affinity_score_sums_matching_preferred_weights_normalised_to_100(sched):
    sched.add(node("n1", labels={"foo": "bar"}), node("n2", labels={"foo": "bar", "key": "value"}), node("n3"))
    preferred = [
        {"weight": 2, "preference": {"matchExpressions": [{"key": "foo", "operator": "In", "values": ["bar"]}]}},
        {"weight": 4, "preference": {"matchExpressions": [{"key": "key", "operator": "Exists"}]}},
        {"weight": 8, "preference": {}},  # an empty term matches nothing
    ]
    a = sched.attempt(pod("p", affinity={"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": preferred}}))
    assert lines(a, "n1")["NodeAffinity"] == (2, 33, 66)
    assert lines(a, "n2")["NodeAffinity"] == (6, 100, 200)
    assert lines(a, "n3")["NodeAffinity"] == (0, 0, 0)
    assert a.chosen == "n2"


def test_taint_toleration_score_prefers_fewer_untolerated_prefer_no_schedule_taints(sched):
    soft = lambda key: {"key": key, "value": "v", "effect": "PreferNoSchedule"}  # noqa: E731
    sched.add(node("n1"), node("n2", taints=[soft("a")]), node("n3", taints=[soft("a"), soft("b")]),
              node("n4", taints=[soft("c"), {"key": "x", "effect": "NoSchedule"}]))
    tolerations = [{"key": "c", "operator": "Exists", "effect": "PreferNoSchedule"},
                   {"key": "x", "operator": "Exists", "effect": "NoSchedule"}]
    a = sched.attempt(pod("p", tolerations=tolerations))
    assert lines(a, "n1")["TaintToleration"] == (0, 100, 300)
    assert lines(a, "n2")["TaintToleration"] == (1, 50, 150)
    assert lines(a, "n3")["TaintToleration"] == (2, 0, 0)
    assert lines(a, "n4")["TaintToleration"] == (0, 100, 300)


def test_taint_toleration_score_is_100_everywhere_without_soft_taints(sched):
    sched.add(node("n1"), node("n2"))
    a = sched.attempt(pod("p"))
    assert lines(a, "n1")["TaintToleration"] == (0, 100, 300)


def test_image_locality_scales_image_size_by_spread(sched):
    # upstream table: 2 containers; n1 has 40MB and 300MB images, n2 has 250MB; 3 nodes in all
    sched.add(node("n1", images=[(["gcr.io/40:latest", "gcr.io/40:v1"], 40 * MB), (["gcr.io/300:latest"], 300 * MB)]),
              node("n2", images=[(["gcr.io/250:latest"], 250 * MB)]), node("n3"))
    a = sched.attempt(pod("p", containers=[container("a", image="gcr.io/40"), container("b", image="gcr.io/250")]))
    # n1: 40MB * 1/3 = 13.3MB, clamped to 23MB → 0; n2: 250MB/3 = 83.3MB → (83.3-23)*100/(2000-23) = 3
    assert lines(a, "n1")["ImageLocality"] == (0, 0, 0)
    assert lines(a, "n2")["ImageLocality"] == (3, 3, 3)
    assert lines(a, "n3")["ImageLocality"] == (0, 0, 0)


def test_image_locality_counts_init_containers_and_nodes_sharing_an_image(sched):
    sched.add(node("n1", images=[(["big:v1"], 2000 * MB)]), node("n2", images=[(["big:v1"], 2000 * MB)]))
    a = sched.attempt(pod("p", containers=[container("a", image="big:v1")],
                          initContainers=[container("i", image="busybox")]))
    # 2000MB * 2/2 = 2000MB; max threshold 2 containers * 1000MB → (2000-23)*100/(2000-23) = 100
    assert lines(a, "n1")["ImageLocality"][0] == 100


def test_a_single_feasible_node_is_chosen_without_scoring(sched):
    sched.add(node("n1"), node("n2", unschedulable=True))
    a = sched.attempt(pod("p"))
    assert a.chosen == "n1" and a.scores == {}
