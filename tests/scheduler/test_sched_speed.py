"""What makes an attempt cheap, counted: plugins that ignore the node run once, node queries are reused."""

from __future__ import annotations

import attrs
import pytest

from engine import evalctx
from sched_helpers import SchedCluster, container, node, pod, sched  # noqa: F401 (fixture)


def count_calls(scheduler, kind, name):
    """Wrap the filter or score `name` so that its evaluations are counted."""
    calls = {"n": 0}
    decls = getattr(scheduler, kind)
    i = next(i for i, d in enumerate(decls) if d.name == name)
    inner = decls[i].fn

    def counted(ctx, pod_, node_):
        calls["n"] += 1
        return inner(ctx, pod_, node_)

    decls[i] = attrs.evolve(decls[i], fn=counted)
    return calls


def test_a_filter_that_does_not_read_the_node_runs_once_per_attempt(sched):
    sched.add(*(node(f"n{i}") for i in range(5)))
    ports = count_calls(sched.scheduler, "filters", "NodePorts")
    fit = count_calls(sched.scheduler, "filters", "NodeResourcesFit")
    a = sched.attempt(pod("p", cpu="100m"))
    assert len(a.feasible) == 5
    assert ports["n"] == 1  # no host ports: its answer is the same for every node
    assert fit["n"] == 1 + 5  # the probe, then every node


def test_a_score_that_does_not_read_the_node_runs_once_and_scores_every_node(sched):
    sched.add(*(node(f"n{i}") for i in range(4)))
    affinity = count_calls(sched.scheduler, "scores", "NodeAffinity")
    a = sched.attempt(pod("p", cpu="100m"))
    assert affinity["n"] == 1
    assert {line.raw for n in a.feasible for line in a.scores[n] if line.plugin == "NodeAffinity"} == {0}


def test_a_filter_that_rejects_every_node_without_reading_it_rejects_as_prefilter_once_uncounted(tmp_path):
    never = """
        component never
          reads Pod, Node
        filter Never(pod, node):
          reject "pods named x are never placed" when pod.metadata.name == "x"
        """
    cluster = SchedCluster(tmp_path, extra={"never": never})
    cluster.add(node("n1"), node("n2"))
    calls = count_calls(cluster.scheduler, "filters", "Never")
    a = cluster.attempt(pod("x"))
    assert calls["n"] == 1
    assert a.rejected == {"n1": ("Never", ("pods named x are never placed",)),
                          "n2": ("Never", ("pods named x are never placed",))}
    # upstream's FitError states a PreFilter rejection once, without a per-node count
    assert a.message == "0/2 nodes are available: pods named x are never placed."


def test_a_constant_rejection_comes_before_every_filter_that_reads_the_node(tmp_path):
    # PreFilter runs before Filter: an unschedulable node is not even looked at
    never = """
        component never
          reads Pod, Node
        filter Never(pod, node):
          reject "never" when pod.metadata.name == "x"
        """
    cluster = SchedCluster(tmp_path, extra={"never": never})
    cluster.add(node("n1"), node("n2", unschedulable=True))
    a = cluster.attempt(pod("x"))
    assert a.rejected == {"n1": ("Never", ("never",)), "n2": ("Never", ("never",))}
    assert a.message == "0/2 nodes are available: never."


@pytest.fixture
def queries(monkeypatch):
    """Counts the queries answered from the snapshot (not from a memo or the scheduler's cache)."""
    seen = []
    inner = evalctx.EvalContext.query

    def counted(self, spec, values, where):
        seen.append(values if where is None else (*values, where.__code__.co_filename))
        return inner(self, spec, values, where)

    monkeypatch.setattr(evalctx.EvalContext, "query", counted)
    return seen


def test_the_pods_of_a_node_are_queried_again_only_after_a_change_on_that_node(sched, queries):
    sched.add(node("n1"), node("n2"), pod("e", cpu="1", node_name="n1"))
    sched.attempt(pod("p", cpu="100m"))
    first = [v[:1] for v in queries if v[:1] in (("n1",), ("n2",))]
    assert sorted(set(first)) == [("n1",), ("n2",)]
    queries.clear()
    sched.attempt(pod("q", cpu="100m"))
    assert [v for v in queries if v[:1] in (("n1",), ("n2",))] == []  # nothing changed: all from the cache
    sched.add(pod("f", cpu="3", node_name="n2"))  # a change on n2 only
    queries.clear()
    a = sched.attempt(pod("r", containers=[container(cpu="2500m")]))
    assert sorted(set(v[:1] for v in queries if v[:1] in (("n1",), ("n2",)))) == [("n2",)]
    assert a.feasible == ("n1",) and a.rejected["n2"] == ("NodeResourcesFit", ("Insufficient cpu",))


def test_a_bound_pod_is_counted_on_its_node_by_the_next_attempt(sched):
    sched.add(node("n1", cpu="1"), node("n2", cpu="1"))
    for i in range(3):
        sched.add(pod(f"p{i}", cpu="600m"))
    sched.run()
    placed = sorted(sched.node_of(f"p{i}") or "-" for i in range(3))
    assert placed == ["-", "n1", "n2"]


def test_only_the_latest_attempts_are_kept_for_explanations(sched, monkeypatch):
    from engine import scheduler as scheduler_module
    monkeypatch.setattr(scheduler_module, "ATTEMPTS_KEPT", 2)
    sched.add(node("n1"))
    for name in ("a", "b", "c"):
        sched.add(pod(name, cpu="100m"))
    sched.run()
    assert sorted(k[3] for k in sched.scheduler.attempts) == ["b", "c"]
    assert "no attempt recorded" in sched.explain("a")
    assert "scores" in sched.explain("c") or "only n1 passed" in sched.explain("c")


def test_a_change_the_querys_condition_rejects_before_and_after_keeps_its_answer(tmp_path, queries):
    busy = """
        component busy
          reads Pod, Node
        score HostNetworkPods(pod, node) weight 1:
          return count(Pod where it.spec.hostNetwork == true)
        """
    cluster = SchedCluster(tmp_path, extra={"busy": busy})
    cluster.add(node("n1"), node("n2"))

    def scans():
        return [v for v in queries if v and "busy" in str(v[-1])]

    cluster.attempt(pod("p"))
    assert len(scans()) == 1
    queries.clear()
    cluster.add(pod("plain", node_name="n1"))  # not selected before or after: the answer stands
    cluster.attempt(pod("q"))
    assert scans() == []
    cluster.add(pod("host", node_name="n2", hostNetwork=True))
    a = cluster.attempt(pod("r"))
    assert scans() == []  # selected now: taken into the kept answer, not scanned for again
    assert {line.raw for n in a.feasible for line in a.scores[n] if line.plugin == "HostNetworkPods"} == {1}
    cluster.delete("Pod", "host")
    a = cluster.attempt(pod("s"))
    assert scans() == []
    assert {line.raw for n in a.feasible for line in a.scores[n] if line.plugin == "HostNetworkPods"} == {0}


def test_a_kept_answer_over_a_whole_kind_takes_changes_in_in_key_order():
    from types import SimpleNamespace

    from engine.objects import freeze
    from engine.scheduler_cache import _take_in

    def obj(ns, name, color):
        return freeze({"metadata": {"namespace": ns, "name": name}, "spec": {"color": color}})

    def green(o):
        return o["spec"]["color"] == "green"

    def event(old, new):
        meta = (new or old)["metadata"]
        return SimpleNamespace(key=("", "Pod", meta["namespace"], meta["name"]), old=old, new=new)

    a, c = obj("default", "a", "green"), obj("default", "c", "green")
    entry = ([a, c], (), (), frozenset({("kind", "", "Pod")}), green)
    b = obj("default", "b", "green")
    entry = _take_in(entry, event(None, b))
    assert entry[0] == [a, b, c]
    z = obj("aaa", "z", "green")  # an earlier namespace sorts first
    entry = _take_in(entry, event(None, z))
    assert entry[0] == [z, a, b, c]
    b2 = obj("default", "b", "red")  # no longer selected: out
    entry = _take_in(entry, event(b, b2))
    assert entry[0] == [z, a, c]
    c2 = obj("default", "c", "green")  # a new version of a selected object: in its place
    entry = _take_in(entry, event(c, c2))
    assert entry[0] == [z, a, c2] and entry[0][2] is c2
    assert _take_in(entry, event(b, None)) is None  # an old version the answer does not hold: asked again


def test_a_change_to_a_dependency_many_cached_answers_share_drops_them_without_testing_each():
    from types import SimpleNamespace

    from engine.objects import freeze
    from engine.scheduler_cache import QueryCache

    tested: list[int] = []

    def condition(i: int):
        return lambda obj: tested.append(i) or False  # rejects everything, but counts the tests

    def cache_with(answers: int) -> QueryCache:
        cache = QueryCache()
        cache.revision = 1
        for i in range(answers):
            cache.put(("q", i), ([], (), (), frozenset({("ns", "", "Pod", "demo")}), condition(i)))
        return cache

    pod_a = freeze({"metadata": {"name": "a", "namespace": "demo"}})
    event = SimpleNamespace(key=("", "Pod", "demo", "a"), old=None, new=pod_a)
    few = cache_with(QueryCache.CHECK_AT_MOST)
    few.on_commit(SimpleNamespace(revision=2), (event,), None)
    assert len(few.entries) == QueryCache.CHECK_AT_MOST and len(tested) == QueryCache.CHECK_AT_MOST

    tested.clear()
    many = cache_with(QueryCache.CHECK_AT_MOST + 1)
    many.on_commit(SimpleNamespace(revision=2), (event,), None)
    assert many.entries == {} and tested == []


def test_pod_units_computes_a_templates_requests_once_and_tells_different_ones_apart(monkeypatch):
    from engine.dsl import builtins_scheduling as B
    from engine.objects import freeze

    calls = []
    inner = B._pod_requests
    monkeypatch.setattr(B, "_pod_requests", lambda pod, defaults=None: calls.append(1) or inner(pod, defaults))
    monkeypatch.setattr(B, "_pod_cache", {})
    monkeypatch.setattr(B, "_parts_cache", {})

    def replica(name, cpu, node=None):
        spec = {"containers": [{"name": "c", "image": "x", "resources": {"requests": {"cpu": cpu, "memory": "1Gi"}}}]}
        if node:
            spec["nodeName"] = node
        return freeze({"metadata": {"name": name}, "spec": spec})

    a, b = replica("a", "250m"), replica("b", "250m")  # one template: equal parts are shared
    assert B.pod_units(a)["cpu"] == 250 and B.pod_units(b)["cpu"] == 250
    bound = a.set("spec", a["spec"].set("nodeName", "n1"))  # a's next version keeps its containers
    assert B.pod_units(bound)["cpu"] == 250
    assert len(calls) == 1
    c = replica("c", "500m")  # other requests: computed, not taken from a or b
    assert B.pod_units(c)["cpu"] == 500 and B.pod_units(c)["memory"] == 1024 ** 3
    assert len(calls) == 2
    assert B.pod_units([a, b, c])["cpu"] == 1000


def test_plugins_of_different_rule_files_asking_the_same_query_share_its_answer(tmp_path, queries):
    def plugin(name: str, condition: str) -> str:
        return f"""
        component {name.lower()}
          reads Pod, Node
        score {name}(pod, node) weight 1:
          return count(Pod where {condition})
        """
    same = "it.spec.nodeName == node.metadata.name and it.spec.hostNetwork == true"
    other = "it.spec.nodeName == node.metadata.name and it.spec.hostNetwork != true"
    cluster = SchedCluster(tmp_path, with_shipped=False, extra={
        "first": plugin("HostPodsA", same), "second": plugin("HostPodsB", same),
        "third": plugin("OtherPods", other)})
    cluster.add(node("n1"), node("n2"), pod("host", node_name="n1", hostNetwork=True), pod("plain", node_name="n2"))

    def asked(filename_part: str) -> list:
        return [v for v in queries if v and filename_part in str(v[-1])]

    a = cluster.attempt(pod("p"))
    # one rule file's query answered from the snapshot per node; the other file's same query is
    # answered from the kept one; a different condition is asked on its own
    assert len(asked("first")) + len(asked("second")) == 2
    assert len(asked("third")) == 2
    scores = {(line.plugin, n): line.raw for n in a.feasible for line in a.scores[n]}
    assert scores[("HostPodsA", "n1")] == scores[("HostPodsB", "n1")] == 1
    assert scores[("HostPodsA", "n2")] == scores[("HostPodsB", "n2")] == 0
    assert scores[("OtherPods", "n1")] == 0 and scores[("OtherPods", "n2")] == 1
