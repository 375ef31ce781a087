"""What a rule reads of its queries' objects follows the branches of its top-level `when`s it took
(dsl.reads.BranchReads): a change to a path read only in a branch the last evaluation did not take
does not wake it; once it takes that branch, the same change does."""

from __future__ import annotations

from engine.dsl import ast as A
from engine.dsl.parser import parse
from engine.dsl.reads import BranchReads, branch_chains, query_reads, with_prefilter

# Counts the running pods; only when there are more than `max` does it read their readiness, to
# name the first unready one.
RULES = """
component counter
  reads ConfigMap, Pod
  writes ConfigMap

rule running for cm in ConfigMap:
  let pods = filter(Pod in cm.namespace where it.metadata.labels.app == "web", it.status.phase == "Running")
  let limit = int(default(cm.data.max, "10"))
  when count(pods) > limit:
    set cm.data.over = default(first(pods, not condition_true(it, "Ready")).metadata.name, "none")
  else:
    set cm.data.over = "no"
"""


def pod(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "demo", "labels": {"app": "web"}},
            "spec": {"containers": [{"name": "c", "image": "nginx"}]}}


def setup(cluster):
    engine = cluster.rules(counter=RULES)
    cluster.api.create(cluster.admin, {"apiVersion": "v1", "kind": "ConfigMap",
                                       "metadata": {"name": "cm", "namespace": "demo"}})
    for name in ("a", "b"):
        cluster.api.create(cluster.admin, pod(name))
        ready(cluster, name, True)()
    cluster.run()
    return engine


def ready(cluster, name: str, value: bool):
    condition = {"type": "Ready", "status": "True" if value else "False"}
    return lambda: cluster.api.patch(cluster.admin, "", "Pod", "demo", name,
                                     {"status": {"phase": "Running", "conditions": [condition]}}, subresource="status")


def evaluated(cluster, engine, change) -> int:
    before = engine.evaluations.get("counter/running", 0)
    change()
    assert cluster.run().converged
    return engine.evaluations.get("counter/running", 0) - before


def test_a_path_read_only_in_a_branch_not_taken_does_not_wake_the_rule(cluster):
    engine = setup(cluster)
    assert cluster.get("ConfigMap", "cm")["data"]["over"] == "no"
    assert evaluated(cluster, engine, ready(cluster, "a", False)) == 0
    assert evaluated(cluster, engine, ready(cluster, "a", True)) == 0


def test_once_the_branch_is_taken_the_same_path_wakes_it(cluster):
    engine = setup(cluster)
    set_max = lambda n: lambda: cluster.api.patch(  # noqa: E731
        cluster.admin, "", "ConfigMap", "demo", "cm", {"data": {"max": n}})
    assert evaluated(cluster, engine, set_max("1")) >= 1
    assert cluster.get("ConfigMap", "cm")["data"]["over"] == "none"
    assert evaluated(cluster, engine, ready(cluster, "b", False)) >= 1
    assert cluster.get("ConfigMap", "cm")["data"]["over"] == "b"
    # back in the other branch: readiness no longer concerns it
    assert evaluated(cluster, engine, set_max("5")) >= 1
    assert cluster.get("ConfigMap", "cm")["data"]["over"] == "no"
    assert evaluated(cluster, engine, ready(cluster, "a", False)) == 0


def test_a_path_every_branch_reads_still_wakes_it(cluster):
    engine = setup(cluster)
    stop = lambda: cluster.api.patch(  # noqa: E731
        cluster.admin, "", "Pod", "demo", "a", {"status": {"phase": "Succeeded"}}, subresource="status")
    assert evaluated(cluster, engine, stop) >= 1


def _rule(body: str) -> A.Rule:
    source = ("component c\n  reads ConfigMap, Pod\n  writes ConfigMap\n\nrule r for cm in ConfigMap:\n"
              + body)
    return next(d for d in parse(source, "t.rules").decls if isinstance(d, A.Rule))


def test_each_outcome_reads_its_conditions_and_its_one_body():
    rule = _rule("""  let pods = Pod in cm.namespace
  when count(pods) > 3:
    set cm.data.a = first(pods).spec.nodeName
  else when count(pods, it.status.phase == "Running") > 1:
    set cm.data.b = first(pods).metadata.uid
""")
    [chain] = branch_chains(rule)
    [(query, (static, empty))] = [(q, sites) for q, sites in
                                  ((q, query_reads(rule)[id(q)]) for q in _all_queries(rule))]
    reads = BranchReads(rule, (chain,), ((query, None, with_prefilter(static, None), empty),))
    paths = lambda taken: set(reads.remap(taken).get(static, static).anchor_reads)  # noqa: E731
    assert ("spec", "nodeName") in paths((0,)) and ("metadata", "uid") not in paths((0,))
    assert ("status", "phase") not in paths((0,))  # (the second condition was not tested)
    assert {("status", "phase"), ("metadata", "uid")} <= paths((1,)) and ("spec", "nodeName") not in paths((1,))
    assert ("status", "phase") in paths((2,)) and not {("spec", "nodeName"), ("metadata", "uid")} & paths((2,))


def _all_queries(rule):
    from engine.dsl.reads import _queries
    return _queries(rule)
