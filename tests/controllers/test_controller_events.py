"""The Events the shipped controllers and the kubelet record (their `event` statements).

Each test starts from a state, reconciles with the real rule files, and reads
the core/v1 Events about one object, oldest first, as `kubectl describe`
lists them.
"""

from __future__ import annotations

from engine.describe import events_of
from engine.objects import key_of

DOWN = "sim.recon.dev/kubelet"


def deployment(replicas: int) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "demo"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "web", "image": "nginx:1.25"}]}}}}


def node(name: str = "node-1") -> dict:
    hardware = {"cpu": "4", "memory": "8Gi", "pods": "110"}
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
            "status": {"capacity": hardware, "allocatable": hardware}}


def pod(name: str, annotations: dict | None = None, tolerations: list | None = None) -> dict:
    spec = {"nodeName": "node-1", "containers": [{"name": "web", "image": "nginx:1.25"}]}
    if tolerations is not None:
        spec["tolerations"] = tolerations
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "demo", "annotations": annotations or {}}, "spec": spec}


def events(cluster, obj) -> list[dict]:
    return events_of(cluster.store.head, key_of(obj), obj)


def said(cluster, obj) -> list[tuple]:
    return [(e["type"], e["reason"], e["message"]) for e in events(cluster, obj)]


def only_replicaset(cluster):
    (rs,) = cluster.list("ReplicaSet")
    return rs


# ------------------------------------------------------------ deployment and replicaset

def test_scaling_a_deployment_from_zero_to_three_records_the_scale_and_each_created_pod(controller_cluster):
    c = controller_cluster
    c.load("deployment", "replicaset")
    c.apply(deployment(0))
    c.run()
    assert said(c, c.get("Deployment", "web")) == []  # a replica set of size 0: nothing scaled
    c.apply(deployment(3))
    c.run()
    rs = only_replicaset(c)
    assert said(c, c.get("Deployment", "web")) == [
        ("Normal", "ScalingReplicaSet", f"Scaled up replica set {rs['metadata']['name']} from 0 to 3")]
    pods = sorted(p["metadata"]["name"] for p in c.owned("Pod", rs))
    created = events(c, rs)
    assert [e["reason"] for e in created] == ["SuccessfulCreate"] * 3
    assert sorted(e["message"] for e in created) == [f"Created pod: {name}" for name in pods]
    assert {e["source"]["component"] for e in created} == {"replicaset-controller"}
    assert {e["involvedObject"]["uid"] for e in created} == {rs["metadata"]["uid"]}


def test_scaling_down_records_the_scale_and_each_deleted_pod(controller_cluster):
    c = controller_cluster
    c.load("deployment", "replicaset")
    c.apply(deployment(3))
    c.run()
    rs = only_replicaset(c)
    before = {p["metadata"]["name"] for p in c.owned("Pod", rs)}
    c.apply(deployment(1))
    c.run()
    rs = only_replicaset(c)
    left = {p["metadata"]["name"] for p in c.owned("Pod", rs)}
    assert said(c, c.get("Deployment", "web"))[-1] == (
        "Normal", "ScalingReplicaSet", f"Scaled down replica set {rs['metadata']['name']} from 3 to 1")
    deleted = [e["message"] for e in events(c, rs) if e["reason"] == "SuccessfulDelete"]
    assert sorted(deleted) == sorted(f"Deleted pod: {name}" for name in before - left)


def test_a_creating_deployment_records_its_new_replica_set_scaled_up_from_zero(controller_cluster):
    c = controller_cluster
    c.load("deployment", "replicaset")
    c.apply(deployment(2))
    c.run()
    rs = only_replicaset(c)
    assert said(c, c.get("Deployment", "web")) == [
        ("Normal", "ScalingReplicaSet", f"Scaled up replica set {rs['metadata']['name']} from 0 to 2")]


def test_a_replicaset_that_keeps_its_size_records_nothing_more(controller_cluster):
    c = controller_cluster
    c.load("deployment", "replicaset")
    c.apply(deployment(2))
    c.run()
    count = len(c.list("Event"))
    c.set_pod_status(c.list("Pod")[0]["metadata"]["name"])  # a status change re-evaluates the rules
    c.run()
    assert len(c.list("Event")) == count


# ------------------------------------------------------------------------ kubelet

def test_a_started_pod_records_pulled_created_and_started_for_its_container(controller_cluster):
    c = controller_cluster
    c.load("kubelet", "node-lifecycle")
    c.create(node())
    c.create(pod("web"))
    c.run()
    p = c.get("Pod", "web")
    assert said(c, p) == [
        ("Normal", "Pulled", 'Container image "nginx:1.25" already present on machine'),
        ("Normal", "Created", "Created container: web"),
        ("Normal", "Started", "Started container web"),
    ]
    for e in events(c, p):
        assert e["involvedObject"]["fieldPath"] == "spec.containers{web}"
        assert e["source"] == {"component": "kubelet", "host": "node-1"}
        assert (e["reportingComponent"], e["reportingInstance"]) == ("kubelet", "node-1")
        assert e["count"] == 1 and e["firstTimestamp"] == e["lastTimestamp"]


def test_a_crash_looping_container_records_backoff_warnings_with_a_growing_count(controller_cluster):
    c = controller_cluster
    c.load("kubelet", "node-lifecycle")
    c.create(node())
    c.create(pod("crash", annotations={"sim.recon.dev/exit-code": "1", "sim.recon.dev/exit-after": "5s"}))
    c.run(60)
    p = c.get("Pod", "crash")
    (backoff,) = [e for e in events(c, p) if e["reason"] == "BackOff"]
    assert backoff["type"] == "Warning"
    assert backoff["message"] == ("Back-off restarting failed container web in pod "
                                  f"crash_demo({p['metadata']['uid']})")
    first = backoff["count"]
    c.run(600)
    (later,) = [e for e in events(c, c.get("Pod", "crash")) if e["reason"] == "BackOff"]
    assert later["metadata"]["name"] == backoff["metadata"]["name"]  # the same Event, counted
    assert later["count"] > first >= 1
    assert later["firstTimestamp"] == backoff["firstTimestamp"] < later["lastTimestamp"]
    (started,) = [e for e in events(c, c.get("Pod", "crash")) if e["reason"] == "Started"]
    assert started["count"] > 1  # every restart started the container again


def test_deleting_a_running_pod_records_killing_its_container(controller_cluster):
    c = controller_cluster
    c.load("kubelet", "node-lifecycle")
    c.create(node())
    c.create(pod("web"))
    c.run()
    p = c.get("Pod", "web")
    c.delete("Pod", "web")
    c.run()
    assert c.get("Pod", "web") is None
    assert said(c, p)[-1] == ("Normal", "Killing", "Stopping container web")


# ------------------------------------------------------------------ node lifecycle

def test_a_node_going_down_records_node_not_ready_on_the_node_and_its_pods_and_evicts(controller_cluster):
    c = controller_cluster
    c.load("kubelet", "node-lifecycle")
    c.create(node())
    c.create(pod("web", tolerations=[{"key": "node.kubernetes.io/unreachable", "operator": "Exists",
                                      "effect": "NoExecute", "tolerationSeconds": 30}]))
    c.run()
    p = c.get("Pod", "web")
    c.patch("Node", "node-1", {"metadata": {"annotations": {DOWN: "down"}}}, namespace="")
    c.run(3600)
    n = c.get("Node", "node-1")
    # after the kubelet's start (tests/kubelet/test_node_events.py), the controller's NodeNotReady
    assert said(c, n)[-1] == ("Normal", "NodeNotReady", "Node node-1 status is now: NodeNotReady")
    (node_event,) = [e for e in events(c, n) if e["reason"] == "NodeNotReady"]
    assert node_event["metadata"]["namespace"] == "default"
    assert node_event["source"] == {"component": "node-lifecycle-controller"}
    assert said(c, p)[3:] == [
        ("Warning", "NodeNotReady", "Node is not ready"),
        ("Normal", "TaintManagerEviction", "Marking for deletion Pod demo/web"),
    ]
