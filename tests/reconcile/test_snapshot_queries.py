"""One query with the same values on one snapshot is answered once, for every rule that asks it."""

from __future__ import annotations

from engine.evalctx import EvalContext

COUNTERS = {
    name: f"""
        component {name}
          reads ConfigMap, Pod
          writes ConfigMap
        rule count for cm in ConfigMap where cm.metadata.name == "web":
          set cm.data["{name}"] = str(count(Pod in cm.metadata.namespace where it.metadata.labels.app == cm.data.app))
        """
    for name in ("first", "second")
}


def pod(name: str, app: str) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "demo", "labels": {"app": app}},
            "spec": {"containers": [{"name": "c", "image": "x"}]}}


def test_rules_asking_the_same_query_on_one_snapshot_share_its_answer_and_both_follow_it(cluster, monkeypatch):
    asked = []
    inner = EvalContext._query

    def counted(self, spec, values, where):
        asked.append(self.snap.revision)
        return inner(self, spec, values, where)

    monkeypatch.setattr(EvalContext, "_query", counted)
    cluster.rules(**COUNTERS)
    cluster.apply(pod("a", "web"))
    cluster.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "web", "namespace": "demo"},
                   "data": {"app": "web"}})
    assert cluster.run().converged
    data = cluster.get("ConfigMap", "web")["data"]
    assert (data["first"], data["second"]) == ("1", "1")
    assert len(asked) == len(set(asked))  # one query per snapshot, though two rules asked it
    cluster.apply(pod("b", "web"))  # both rules depend on the answer: both see the new pod
    assert cluster.run().converged
    data = cluster.get("ConfigMap", "web")["data"]
    assert (data["first"], data["second"]) == ("2", "2")
    assert len(asked) == len(set(asked))


def configmap(name: str, **data: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "demo"}, "data": data}


def test_a_rule_whose_query_condition_fails_is_woken_when_the_object_is_mended(cluster):
    cluster.rules(counter="""
        component counter
          reads ConfigMap
          writes ConfigMap
        rule count for cm in ConfigMap where cm.metadata.name == "anchor":
          set cm.data["n"] = str(count(ConfigMap in "demo" where it.metadata.name != "anchor" and it.data.v + 1 > 0))
        """)
    cluster.apply(configmap("anchor"))
    cluster.apply(configmap("bad", v="abc"))  # "abc" + 1 fails
    cluster.run(0.1)
    assert len(cluster.engine.failures) == 1
    cluster.api.patch(cluster.admin, "", "ConfigMap", "demo", "bad", {"data": {"v": "2026-01-01T00:00:00Z"}})
    cluster.run(0.1)  # well before the failure's back-off (1 s): the change itself wakes the rule
    assert not cluster.engine.failures and cluster.get("ConfigMap", "anchor")["data"] == {"n": "1"}


def test_the_answers_kept_for_one_snapshot_are_bounded(cluster, monkeypatch):
    from engine import evalctx

    monkeypatch.setattr(evalctx, "SNAPSHOT_QUERIES", 3)
    engine = cluster.rules(**COUNTERS)
    snap = cluster.store.head
    spec = engine.rules.components[0].rules[0]
    ctx = EvalContext(engine, snap, 0.0)
    query_spec = next(c for c in spec.fn.__globals__.values() if type(c).__name__ == "QuerySpec")
    for i in range(10):
        ctx.query(query_spec, (f"ns-{i}",), None)
    assert 0 < len(evalctx._SnapshotQueries.of(snap).answers) <= 3
