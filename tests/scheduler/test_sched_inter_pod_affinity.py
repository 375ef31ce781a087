"""InterPodAffinity through the shipped rules: the cases of upstream's filtering and scoring tables."""

from __future__ import annotations

from sched_helpers import node, pod, sched  # noqa: F401 (fixture)

AFFINITY = "node(s) didn't match pod affinity rules"
ANTI = "node(s) didn't match pod anti-affinity rules"
EXISTING = "node(s) didn't satisfy existing pods anti-affinity rules"
HOST = "kubernetes.io/hostname"


def term(key=HOST, op="In", values=("securityscan",), label="service", **extra):
    expr = {"key": label, "operator": op}
    if values is not None:
        expr["values"] = list(values)
    return {"labelSelector": {"matchExpressions": [expr]}, "topologyKey": key, **extra}


def affinity(required=(), anti=(), preferred=(), preferred_anti=()):
    result = {}
    if required or preferred:
        result["podAffinity"] = {}
        if required:
            result["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"] = list(required)
        if preferred:
            result["podAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"] = [
                {"weight": w, "podAffinityTerm": t} for w, t in preferred]
    if anti or preferred_anti:
        result["podAntiAffinity"] = {}
        if anti:
            result["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"] = list(anti)
        if preferred_anti:
            result["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"] = [
                {"weight": w, "podAffinityTerm": t} for w, t in preferred_anti]
    return result


def namespace(name, labels=None):
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels or {}}}


def rejection(sched, incoming, node_name="machine1"):
    got = sched.rejection(incoming, node_name)
    return None if got is None else got[1][0]


def one_node_with(sched, *existing, labels=None):
    sched.add(node("machine1", labels=labels), *existing)


SECURITY = {"service": "securityscan"}


def test_a_pod_without_required_affinity_fits_an_empty_node(sched):
    one_node_with(sched)
    assert rejection(sched, pod("p")) is None


def test_required_affinity_with_in_matches_an_existing_pod(sched):
    one_node_with(sched, pod("e", labels=SECURITY, node_name="machine1"))
    assert rejection(sched, pod("p", affinity=affinity([term()]))) is None


def test_required_affinity_with_not_in_matches_an_existing_pod(sched):
    one_node_with(sched, pod("e", labels=SECURITY, node_name="machine1"))
    t = term(op="NotIn", values=["securityscan3", "value3"])
    assert rejection(sched, pod("p", labels={"x": "y"}, affinity=affinity([t]))) is None


def test_required_affinity_does_not_look_in_other_namespaces(sched):
    sched.add(namespace("ns"))
    one_node_with(sched, pod("e", labels=SECURITY, node_name="machine1", namespace="ns"))
    assert rejection(sched, pod("p", labels={"x": "y"}, affinity=affinity([term()]))) == AFFINITY
    # unless the term names the namespace, or selects it
    assert rejection(sched, pod("q", affinity=affinity([term(namespaces=["ns"])]))) is None


def test_required_affinity_with_a_namespace_selector(sched):
    sched.add(namespace("team-a", {"team": "a"}), namespace("team-b", {"team": "b"}))
    one_node_with(sched, pod("e", labels=SECURITY, node_name="machine1", namespace="team-a"))
    selects_a = term(namespaceSelector={"matchLabels": {"team": "a"}})
    selects_b = term(namespaceSelector={"matchLabels": {"team": "b"}})
    everywhere = term(namespaceSelector={})
    assert rejection(sched, pod("p", labels={"x": "y"}, affinity=affinity([selects_a]))) is None
    assert rejection(sched, pod("q", labels={"x": "y"}, affinity=affinity([selects_b]))) == AFFINITY
    assert rejection(sched, pod("r", labels={"x": "y"}, affinity=affinity([everywhere]))) is None


def test_required_affinity_fails_when_no_pod_matches_the_selector(sched):
    one_node_with(sched, pod("e", labels=SECURITY, node_name="machine1"))
    assert rejection(sched, pod("p", labels={"x": "y"}, affinity=affinity([term(values=["antivirusscan"])]))) == AFFINITY


def test_required_affinity_terms_are_anded_and_one_pod_must_match_them_all(sched):
    one_node_with(sched, pod("e", labels={"service": "securityscan", "wrongkey": "wrongvalue"}, node_name="machine1"),
                  pod("f", labels={"service": "securityscan2"}, node_name="machine1"))
    both = [term(), term(label="wrongkey", op="DoesNotExist", values=None)]
    assert rejection(sched, pod("p", labels={"x": "y"}, affinity=affinity(both))) == AFFINITY
    one = [term(), term(label="wrongkey", op="Exists", values=None)]
    assert rejection(sched, pod("q", labels={"x": "y"}, affinity=affinity(one))) is None


def test_a_node_without_the_topology_key_fails_required_affinity(sched):
    sched.add(node("machine1"), node("machine2", labels={"zone": "z1"}),
              pod("e", labels=SECURITY, node_name="machine2"))
    incoming = pod("p", labels={"x": "y"}, affinity=affinity([term(key="zone")]))
    assert rejection(sched, incoming, "machine1") == AFFINITY
    assert rejection(sched, incoming, "machine2") is None


def test_affinity_holds_across_the_topology_domain(sched):
    sched.add(node("machine1", labels={"region": "r1"}), node("machine2", labels={"region": "r1"}),
              node("machine3", labels={"region": "r2"}), pod("e", labels=SECURITY, node_name="machine1"))
    incoming = pod("p", labels={"x": "y"}, affinity=affinity([term(key="region")]))
    assert sorted(sched.attempt(incoming).feasible) == ["machine1", "machine2"]


def test_the_first_pod_of_a_group_may_go_anywhere_when_it_matches_its_own_terms(sched):
    sched.add(node("machine1", labels={"region": "r1"}), node("machine2", labels={"region": "r2"}))
    first = pod("p", labels=SECURITY, affinity=affinity([term(key="region")]))
    assert sorted(sched.attempt(first).feasible) == ["machine1", "machine2"]
    stranger = pod("q", labels={"x": "y"}, affinity=affinity([term(key="region")]))
    assert sched.attempt(stranger).feasible == ()
    # once a matching pod runs somewhere, the exception no longer applies
    sched.add(pod("e", labels=SECURITY, node_name="machine2"))
    assert sched.attempt(first).feasible == ("machine2",)


def test_required_anti_affinity_rejects_the_domain_of_a_matching_pod(sched):
    sched.add(node("machine1", labels={"region": "r1"}), node("machine2", labels={"region": "r1"}),
              node("machine3", labels={"region": "r2"}), pod("e", labels=SECURITY, node_name="machine1"))
    incoming = pod("p", labels={"x": "y"}, affinity=affinity(anti=[term(key="region")]))
    a = sched.attempt(incoming)
    assert a.feasible == ("machine3",)
    assert {n: r for n, (_p, r) in a.rejected.items()} == {"machine1": (ANTI,), "machine2": (ANTI,)}


def test_existing_pods_anti_affinity_keeps_the_incoming_pod_away(sched):
    guard = pod("e", labels={"x": "y"}, node_name="machine1", affinity=affinity(anti=[term()]))
    sched.add(node("machine1"), node("machine2"), guard)
    a = sched.attempt(pod("p", labels=SECURITY))
    assert a.feasible == ("machine2",) and a.rejected["machine1"] == ("InterPodAffinity", (EXISTING,))
    assert sorted(sched.attempt(pod("q", labels={"a": "b"})).feasible) == ["machine1", "machine2"]


def test_existing_pods_anti_affinity_is_checked_in_the_existing_pods_namespace(sched):
    sched.add(namespace("ns"))
    guard = pod("e", labels={"x": "y"}, node_name="machine1", namespace="ns", affinity=affinity(anti=[term()]))
    sched.add(node("machine1"), guard)
    assert rejection(sched, pod("p", labels=SECURITY)) is None  # the term covers "ns" only
    guard2 = pod("f", labels={"x": "y"}, node_name="machine1", namespace="ns",
                 affinity=affinity(anti=[term(namespaces=["demo"])]))
    sched.add(guard2)
    assert rejection(sched, pod("q", labels=SECURITY)) == EXISTING


def test_affinity_is_checked_before_anti_affinity(sched):
    one_node_with(sched, pod("e", labels=SECURITY, node_name="machine1"))
    both = affinity([term(values=["other"])], anti=[term()])
    assert rejection(sched, pod("p", labels={"x": "y"}, affinity=both)) == AFFINITY


def test_terminated_pods_do_not_count(sched):
    one_node_with(sched, pod("e", labels=SECURITY, node_name="machine1"))
    incoming = pod("p", labels={"x": "y"}, affinity=affinity(anti=[term()]))
    assert rejection(sched, incoming) == ANTI
    e = sched.get("Pod", "e")
    sched.update({**e, "status": {"phase": "Failed"}})
    assert rejection(sched, incoming) is None


def score_of(attempt, node_name):
    return next((line.raw, line.normalized, line.weighted) for line in attempt.scores[node_name]
                if line.plugin == "InterPodAffinity")


def test_preferred_affinity_scores_the_domain_with_matching_pods(sched):
    sched.add(node("machine1", labels={"region": "China"}), node("machine2", labels={"region": "India"}),
              node("machine3", labels={"region": "China"}), pod("e", labels=SECURITY, node_name="machine1"))
    a = sched.attempt(pod("p", labels={"x": "y"}, affinity=affinity(preferred=[(5, term(key="region"))])))
    assert score_of(a, "machine1") == (5, 100, 200)
    assert score_of(a, "machine3") == (5, 100, 200)
    assert score_of(a, "machine2") == (0, 0, 0)


def test_preferred_anti_affinity_subtracts_and_min_max_normalises(sched):
    sched.add(node("machine1", labels={"region": "China"}), node("machine2", labels={"region": "India"}),
              pod("e", labels=SECURITY, node_name="machine1"), pod("f", labels={"tier": "db"}, node_name="machine2"))
    prefs = affinity(preferred=[(5, term(key="region"))], preferred_anti=[(3, term(key="region", label="tier", values=["db"]))])
    a = sched.attempt(pod("p", labels={"x": "y"}, affinity=prefs))
    assert score_of(a, "machine1") == (5, 100, 200)
    assert score_of(a, "machine2") == (-3, 0, 0)


def test_existing_pods_terms_score_the_incoming_pod(sched):
    # existing pods' required affinity (weight 1) and preferred affinity/anti-affinity select the incoming pod
    sched.add(node("machine1"), node("machine2"), node("machine3"),
              pod("e", labels={"a": "b"}, node_name="machine1", affinity=affinity([term()])),
              pod("f", labels={"a": "b"}, node_name="machine2", affinity=affinity(preferred=[(4, term())])),
              pod("g", labels={"a": "b"}, node_name="machine3", affinity=affinity(preferred_anti=[(2, term())])))
    a = sched.attempt(pod("p", labels=SECURITY))
    assert [score_of(a, n)[0] for n in ("machine1", "machine2", "machine3")] == [1, 4, -2]
    assert [score_of(a, n)[1] for n in ("machine1", "machine2", "machine3")] == [50, 100, 0]


def test_without_any_affinity_every_node_scores_zero(sched):
    sched.add(node("machine1"), node("machine2"), pod("e", node_name="machine1"))
    a = sched.attempt(pod("p"))
    assert {score_of(a, n) for n in ("machine1", "machine2")} == {(0, 0, 0)}


def test_the_scheduler_places_anti_affine_replicas_on_distinct_nodes(sched):
    sched.add(node("n1"), node("n2"), node("n3"))
    for i in range(4):
        sched.add(pod(f"p{i}", labels={"app": "web"},
                      affinity=affinity(anti=[term(label="app", values=["web"])])))
    sched.run()
    placed = sorted(n for n in (sched.node_of(f"p{i}") for i in range(4)) if n)
    assert placed == ["n1", "n2", "n3"]
    pending = next(f"p{i}" for i in range(4) if not sched.node_of(f"p{i}"))
    assert sched.condition(pending)["message"] == \
        f"0/3 nodes are available: 3 {ANTI}. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.."


# -- matchLabelKeys / mismatchLabelKeys (upstream test/integration/scheduler/filters: TestInterPodAffinity)

def keyed_term(key, match=(), mismatch=()):
    t = {"labelSelector": {"matchExpressions": [{"key": "foo", "operator": "Exists"}]}, "topologyKey": key}
    if match:
        t["matchLabelKeys"] = list(match)
    if mismatch:
        t["mismatchLabelKeys"] = list(mismatch)
    return t


def two_nodes_in_one_zone(sched, *existing):
    zone = {"region": "r1", "zone": "z11"}
    sched.add(node("testnode-0", memory="1G", labels={**zone, "node": "n1"}),
              node("anothernode-0", memory="1G", labels={**zone, "node": "n2"}), *existing)


def full_pod(name, labels, node_name):
    return pod(name, memory="1G", labels=labels, node_name=node_name)


def test_anti_affinity_match_label_keys_add_in_with_the_incoming_pods_value(sched):
    two_nodes_in_one_zone(sched, pod("pod1", labels={"foo": "", "bar": "fuga"}, node_name="testnode-0"),
                          pod("pod2", labels={"foo": "", "bar": "hoge"}, node_name="testnode-0"))
    incoming = pod("incoming", labels={"foo": "", "bar": "a"}, affinity=affinity(anti=[keyed_term("zone", match=["bar"])]))
    assert sorted(sched.attempt(incoming).feasible) == ["anothernode-0", "testnode-0"]
    # without the key, the selector alone picks both pods: the whole zone is out
    plain = pod("plain", labels={"foo": "", "bar": "a"}, affinity=affinity(anti=[keyed_term("zone")]))
    assert sched.attempt(plain).feasible == ()


def test_anti_affinity_mismatch_label_keys_add_not_in_with_the_incoming_pods_value(sched):
    two_nodes_in_one_zone(sched, pod("pod1", labels={"foo": "", "bar": "a"}, node_name="testnode-0"),
                          pod("pod2", labels={"foo": "", "bar": "a"}, node_name="testnode-0"))
    incoming = pod("incoming", labels={"foo": "", "bar": "a"}, affinity=affinity(anti=[keyed_term("zone", mismatch=["bar"])]))
    assert sorted(sched.attempt(incoming).feasible) == ["anothernode-0", "testnode-0"]


def test_affinity_match_label_keys_leave_only_pods_with_the_same_value(sched):
    two_nodes_in_one_zone(sched, full_pod("pod1", {"foo": "", "bar": "a"}, "anothernode-0"),
                          pod("pod2", labels={"foo": "", "bar": "hoge"}, node_name="testnode-0"),
                          pod("pod3", labels={"foo": "", "bar": "fuga"}, node_name="testnode-0"))
    incoming = pod("incoming", memory="1G", labels={"foo": "", "bar": "a"},
                   affinity=affinity([keyed_term("node", match=["bar"])]))
    a = sched.attempt(incoming)
    assert a.chosen is None
    assert a.rejected["testnode-0"] == ("InterPodAffinity", (AFFINITY,))
    assert a.rejected["anothernode-0"][0] == "NodeResourcesFit"


def test_affinity_mismatch_label_keys_leave_only_pods_with_another_value(sched):
    two_nodes_in_one_zone(sched, full_pod("pod1", {"foo": "", "bar": "fuga"}, "anothernode-0"),
                          pod("pod2", labels={"foo": "", "bar": "a"}, node_name="testnode-0"),
                          pod("pod3", labels={"foo": "", "bar": "a"}, node_name="testnode-0"))
    incoming = pod("incoming", memory="1G", labels={"foo": "", "bar": "a"},
                   affinity=affinity([keyed_term("node", mismatch=["bar"])]))
    a = sched.attempt(incoming)
    assert a.chosen is None
    assert a.rejected["testnode-0"] == ("InterPodAffinity", (AFFINITY,))


def test_label_keys_the_incoming_pod_lacks_are_ignored(sched):
    two_nodes_in_one_zone(sched, pod("pod1", labels={"foo": "", "bar": "fuga"}, node_name="testnode-0"))
    incoming = pod("incoming", labels={"foo": ""},
                   affinity=affinity(anti=[keyed_term("node", match=["bar"], mismatch=["baz"])]))
    assert sched.attempt(incoming).feasible == ("anothernode-0",)


def test_label_keys_do_not_turn_a_null_selector_into_one_that_selects(sched):
    two_nodes_in_one_zone(sched, pod("pod1", labels={"foo": "", "bar": "a"}, node_name="testnode-0"))
    t = {"topologyKey": "node", "matchLabelKeys": ["bar"]}
    incoming = pod("incoming", labels={"foo": "", "bar": "a"}, affinity=affinity(anti=[t]))
    assert sorted(sched.attempt(incoming).feasible) == ["anothernode-0", "testnode-0"]


def test_an_existing_pods_anti_affinity_uses_its_own_labels_for_the_keys(sched):
    guard = pod("guard", labels={"foo": "", "bar": "v1"}, node_name="testnode-0",
                affinity=affinity(anti=[keyed_term("node", match=["bar"])]))
    two_nodes_in_one_zone(sched, guard)
    same = sched.attempt(pod("same", labels={"foo": "", "bar": "v1"}))
    assert same.rejected["testnode-0"] == ("InterPodAffinity", (EXISTING,))
    assert sorted(sched.attempt(pod("other", labels={"foo": "", "bar": "v2"})).feasible) == \
        ["anothernode-0", "testnode-0"]


def test_preferred_terms_apply_label_keys_when_scoring(sched):
    sched.add(node("machine1"), node("machine2"),
              pod("old", labels={"foo": "", "rev": "1"}, node_name="machine1"),
              pod("new", labels={"foo": "", "rev": "2"}, node_name="machine2"))
    t = keyed_term(HOST, match=["rev"])
    a = sched.attempt(pod("p", labels={"foo": "", "rev": "2"}, affinity=affinity(preferred=[(5, t)])))
    assert score_of(a, "machine2") == (5, 100, 200) and score_of(a, "machine1") == (0, 0, 0)
    b = sched.attempt(pod("q", labels={"foo": "", "rev": "2"},
                          affinity=affinity(preferred_anti=[(5, keyed_term(HOST, mismatch=["rev"]))])))
    assert score_of(b, "machine1") == (-5, 0, 0) and score_of(b, "machine2") == (0, 100, 200)
