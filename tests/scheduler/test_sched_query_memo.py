"""An attempt remembers each query's answer under the ids of the values its condition captures;
it must keep those values alive while it does.  A value built per node (here a float) is freed
after that node's run otherwise, the next node's value may get the same id, and an earlier node's
answer would be used again.  It matters when the shared cache does not keep the answer (a
condition reading `now`; no cache at all, as when explaining from a stored snapshot)."""

from __future__ import annotations

from engine.scheduler_cache import NodeResults, QueryCache
from sched_helpers import SchedCluster, node, pod

WEIGHED = """
    component weighed
      reads Pod, Node
    filter Weighed(pod, node):
      let w = float(node.metadata.labels.w)
      reject "no pod of that weight" when count(Pod where float(default(it.metadata.labels.w, "0")) == w NOW) == 0
    """


def cluster_with(tmp_path, rule):
    cluster = SchedCluster(tmp_path, extra={"weighed": rule}, with_shipped=False)
    cluster.add(*[node(f"n{i}", labels={"w": f"{i}.5"}) for i in range(6)])
    cluster.add(pod("x", node_name="n1", labels={"w": "1.5"}))
    return cluster


def test_a_condition_reading_now_is_asked_again_for_each_nodes_value(tmp_path):
    cluster = cluster_with(tmp_path, WEIGHED.replace("NOW", "and now != null"))
    assert cluster.attempt(pod("p")).feasible == ("n1",)


def test_without_kept_answers_each_nodes_value_is_asked_too(tmp_path, monkeypatch):
    monkeypatch.setattr(NodeResults, "at", lambda self, snap: None)
    monkeypatch.setattr(QueryCache, "at", lambda self, snap: None)
    cluster = cluster_with(tmp_path, WEIGHED.replace("NOW", ""))
    assert cluster.attempt(pod("p")).feasible == ("n1",)
