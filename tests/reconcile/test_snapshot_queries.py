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
