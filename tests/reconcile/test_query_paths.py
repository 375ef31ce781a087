"""Engine._route_queries: a change to an object a rule queried wakes the rule only when the change
touches a path the rule reads of the answer's objects, or moves the object into or out of the
index entry the query read (dsl.reads.query_reads)."""

from __future__ import annotations

RULES = """
component counter
  reads ConfigMap, Pod
  writes ConfigMap

rule running for cm in ConfigMap:
  let pods = Pod in cm.namespace where it.metadata.labels.app == "web"
  set cm.data.running = str(count(pods, it.status.phase == "Running"))
"""

FAILING = RULES.replace(
    """  set cm.data.running = str(count(pods, it.status.phase == "Running"))
""", """  # (fails while no pod runs: a set on null)
  let target = cm if count(pods, it.status.phase == "Running") > 0 else null
  set target.data.running = "yes"
""")


def pod(name: str, app: str = "web") -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "demo", "labels": {"app": app}},
            "spec": {"containers": [{"name": "c", "image": "nginx"}]}}


def setup(cluster, rules: str = RULES):
    engine = cluster.rules(counter=rules)
    cluster.api.create(cluster.admin, {"apiVersion": "v1", "kind": "ConfigMap",
                                       "metadata": {"name": "cm", "namespace": "demo"}})
    for name in ("a", "b"):
        cluster.api.create(cluster.admin, pod(name))
    cluster.run()
    return engine


def evaluated(cluster, engine, change) -> int:
    """How many times the rule was evaluated to converge after `change`."""
    before = engine.evaluations.get("counter/running", 0)
    change()
    assert cluster.run().converged
    return engine.evaluations.get("counter/running", 0) - before


def status(cluster, name: str, status: dict):
    return lambda: cluster.api.patch(cluster.admin, "", "Pod", "demo", name, {"status": status}, subresource="status")


def test_a_change_to_a_path_the_rule_does_not_read_does_not_wake_it(cluster):
    engine = setup(cluster)
    assert cluster.get("ConfigMap", "cm")["data"]["running"] == "0"
    assert evaluated(cluster, engine, status(cluster, "a", {"message": "pulling"})) == 0
    assert evaluated(cluster, engine, lambda: cluster.api.patch(
        cluster.admin, "", "Pod", "demo", "a", {"metadata": {"annotations": {"note": "x"}}})) == 0


def test_a_change_to_a_path_it_reads_wakes_it(cluster):
    engine = setup(cluster)
    assert evaluated(cluster, engine, status(cluster, "a", {"phase": "Running"})) >= 1
    assert cluster.get("ConfigMap", "cm")["data"]["running"] == "1"


def test_an_object_entering_or_leaving_the_index_entry_wakes_it(cluster):
    engine = setup(cluster)
    cluster.api.patch(cluster.admin, "", "Pod", "demo", "a", {"status": {"phase": "Running"}}, subresource="status")
    cluster.run()
    relabel = lambda app: lambda: cluster.api.patch(  # noqa: E731
        cluster.admin, "", "Pod", "demo", "a", {"metadata": {"labels": {"app": app}}})
    assert evaluated(cluster, engine, relabel("db")) >= 1
    assert cluster.get("ConfigMap", "cm")["data"]["running"] == "0"
    assert evaluated(cluster, engine, relabel("web")) >= 1
    assert cluster.get("ConfigMap", "cm")["data"]["running"] == "1"


def test_creation_and_deletion_wake_it(cluster):
    engine = setup(cluster)
    running = dict(pod("c"))
    assert evaluated(cluster, engine, lambda: cluster.api.create(cluster.admin, running)) >= 1
    cluster.api.patch(cluster.admin, "", "Pod", "demo", "c", {"status": {"phase": "Running"}}, subresource="status")
    cluster.run()
    assert cluster.get("ConfigMap", "cm")["data"]["running"] == "1"
    assert evaluated(cluster, engine, lambda: cluster.api.delete(
        cluster.admin, "", "Pod", "demo", "c", grace_period=0)) >= 1
    assert cluster.get("ConfigMap", "cm")["data"]["running"] == "0"


def test_a_failed_instance_is_woken_by_any_change(cluster):
    engine = setup(cluster, FAILING)
    [inst] = [i for i in engine.failures if i[0].qualname == "counter/running"]
    assert not engine.dirty
    cluster.api.patch(cluster.admin, "", "Pod", "demo", "a", {"status": {"message": "pulling"}}, subresource="status")
    engine._drain()
    assert inst in engine.dirty


def test_the_dependency_names_the_paths_and_the_entry(cluster):
    engine = setup(cluster)
    [deps] = [d for (decl, key), d in engine.inst_deps.items() if decl.qualname == "counter/running"]
    [query] = [d for d in deps if d[0] == "query"]
    assert query[1] == ("label", "", "Pod", "demo", "app", "web")
    assert set(query[2].anchor_reads) >= {("status", "phase"), ("metadata", "labels", "app")}
    assert ("status", "message") not in query[2].anchor_reads


MARKER = """
component marker
  reads ConfigMap, Pod
  writes Pod

rule mark for cm in ConfigMap:
  for p in Pod in cm.namespace where it.metadata.labels.app == "web":
    set p.metadata.annotations["mark"] = cm.data.mark
"""


def test_its_own_write_coming_back_does_not_wake_it_and_another_writers_does(cluster):
    engine = cluster.rules(marker=MARKER)
    for name in ("a", "b"):
        cluster.api.create(cluster.admin, pod(name))
    cluster.run()
    before = engine.evaluations.get("marker/mark", 0)
    cluster.api.create(cluster.admin, {"apiVersion": "v1", "kind": "ConfigMap",
                                       "metadata": {"name": "cm", "namespace": "demo"}, "data": {"mark": "x"}})
    assert cluster.run().converged
    assert engine.evaluations["marker/mark"] - before == 1  # the two pods' updates did not wake it
    assert cluster.get("Pod", "a")["metadata"]["annotations"]["mark"] == "x"
    cluster.api.patch(cluster.admin, "", "Pod", "demo", "a", {"metadata": {"annotations": {"mark": "y"}}})
    assert cluster.run().converged
    assert cluster.get("Pod", "a")["metadata"]["annotations"]["mark"] == "x"


TWO_SITES = RULES.replace(
    """  set cm.data.running = str(count(pods, it.status.phase == "Running"))
""", """  let placed = Pod in cm.namespace where it.metadata.labels.app == "web" and it.spec.nodeName == null
  set cm.data.running = str(count(pods, it.status.phase == "Running")) + "/" + str(count(placed))
""")


def test_a_change_reaching_an_instance_through_several_queries_is_one_cause(cluster):
    """The two queries read one index entry with different paths (two sites): a phase change
    wakes the rule through both, and is listed once in its write's cause, whatever order the
    sites are walked in."""
    engine = setup(cluster, TWO_SITES)
    [deps] = [d for (decl, key), d in engine.inst_deps.items() if decl.qualname == "counter/running"]
    assert len({d[2] for d in deps if d[0] == "query"}) == 2
    records = []
    cluster.store.listeners.append(lambda snap, events, record: records.append(record))
    status(cluster, "a", {"phase": "Running"})()
    trigger = cluster.store.revision
    assert cluster.run().converged
    [write] = [r for r in records if r.actor == "counter"]
    assert list(write.cause[1:]) == [{"type": "change", "rev": trigger, "key": ["", "Pod", "demo", "a"]}]
    assert cluster.get("ConfigMap", "cm")["data"]["running"] == "1/2"


ADDRESSED = """
component counter
  reads ConfigMap, Pod
  writes ConfigMap

rule running for cm in ConfigMap:
  let pods = Pod in cm.namespace where it.metadata.labels.app == "web" and it.status.podIP != null
  set cm.data.running = join(sort([p.metadata.name + "@" + default(p.spec.nodeName, "-") for p in pods]), ",")
"""


def test_an_object_failing_the_conditions_of_a_where_on_itself_wakes_nothing(cluster):
    """`it.status.podIP != null` reads the pod alone: a pod without an address is in the answer
    neither before nor after its creation, binding or deletion, so none of them wakes the
    rule; its address does."""
    engine = setup(cluster, ADDRESSED)
    [deps] = [d for (decl, key), d in engine.inst_deps.items() if decl.qualname == "counter/running"]
    [site] = {d[2] for d in deps if d[0] == "query"}
    assert site.prefilter is not None and "podIP" in site.prefilter
    assert evaluated(cluster, engine, lambda: cluster.api.create(cluster.admin, pod("c"))) == 0
    assert evaluated(cluster, engine, lambda: cluster.api.patch(
        cluster.admin, "", "Pod", "demo", "c", {"spec": {"nodeName": "n1"}})) == 0
    assert evaluated(cluster, engine, status(cluster, "c", {"podIP": "10.0.0.3"})) == 1
    assert cluster.get("ConfigMap", "cm")["data"]["running"] == "c@n1"
    assert evaluated(cluster, engine, lambda: cluster.api.delete(cluster.admin, "", "Pod", "demo", "a",
                                                                 grace_period=0)) == 0
    assert evaluated(cluster, engine, lambda: cluster.api.delete(cluster.admin, "", "Pod", "demo", "c",
                                                                 grace_period=0)) == 1
    assert cluster.get("ConfigMap", "cm")["data"]["running"] == ""


def test_conditions_reading_more_than_the_object_are_no_prefilter():
    from engine.dsl.check import load
    from engine.dsl.compile import compile_module

    text = """
component c
  reads ConfigMap, Pod
  writes ConfigMap

rule r for cm in ConfigMap:
  let pods = Pod in cm.namespace where it.metadata.labels.app == cm.data.app and time(it.metadata.creationTimestamp) < now
  let ready = Pod in cm.namespace where condition_true(it, "Ready") and len(it.spec.containers) > 0
  set cm.data.n = str(count(pods) + count(ready))
"""
    rule = compile_module(load(text, "t.rules"), text)
    specs = [v for k, v in _consts(rule).items() if type(v).__name__ == "QuerySpec"]
    prefilters = sorted(str(s.reads.prefilter) for s in specs)
    assert prefilters[0] == "None"  # (one reads cm, the other the clock)
    assert "condition_true" in prefilters[1] and "_b_len" in prefilters[1]


def _consts(compiled) -> dict:
    return compiled.rules[0].fn.__globals__
