"""Node lifecycle: pod CIDRs, heartbeats through the Lease, NoExecute taints and eviction."""

from __future__ import annotations

from engine.clock import EPOCH
from engine.describe import events_of
from engine.objects import key_of
from engine.timeutil import format_time

from kubelet_helpers import conditions, node, pod

DOWN = "sim.recon.dev/kubelet"


def at(seconds: float) -> str:
    return format_time(EPOCH + seconds)


def taints(n) -> list[tuple[str, str]]:
    return [(t["key"], t["effect"]) for t in n["spec"].get("taints") or ()]


def test_nodes_get_distinct_pod_cidrs_in_name_order(kc):
    for name in ("node-c", "node-a", "node-b"):
        kc.create(node(name))
    kc.run()
    cidrs = {n: kc.get("Node", n)["spec"]["podCIDR"] for n in ("node-a", "node-b", "node-c")}
    assert cidrs == {"node-a": "10.244.0.0/24", "node-b": "10.244.1.0/24", "node-c": "10.244.2.0/24"}
    assert kc.get("Node", "node-b")["spec"]["podCIDRs"] == ["10.244.1.0/24"]
    kc.api.delete(kc.admin, "", "Node", "", "node-a")
    kc.create(node("node-d"))
    kc.run()
    assert kc.get("Node", "node-d")["spec"]["podCIDR"] == "10.244.0.0/24"  # the lowest free one
    assert kc.get("Node", "node-c")["spec"]["podCIDR"] == "10.244.2.0/24"  # never moves


def test_a_stopped_kubelet_makes_the_node_unknown_after_forty_seconds(kc):
    kc.create(node("node-1"))
    kc.run_until(100)
    kc.annotate("Node", "node-1", DOWN, "down")
    kc.run_until(139)
    n = kc.get("Node", "node-1")
    assert conditions(n)["Ready"]["status"] == "True"
    lease = kc.get("Lease", "node-1", "kube-node-lease")
    assert lease["spec"]["renewTime"] == "2026-01-01T00:01:40.000000Z"
    assert lease["metadata"]["annotations"]["sim.recon.dev/heartbeat"] == "stopped"
    kc.run(3600)
    n = kc.get("Node", "node-1")
    ready = conditions(n)["Ready"]
    assert ready["status"] == "Unknown" and ready["reason"] == "NodeStatusUnknown"
    assert ready["message"] == "Kubelet stopped posting node status."
    assert ready["lastTransitionTime"] == at(140)
    assert all(c["status"] == "Unknown" for c in n["status"]["conditions"])
    assert ("node.kubernetes.io/unreachable", "NoExecute") in taints(n)
    assert ("node.kubernetes.io/unreachable", "NoSchedule") in taints(n)
    unreachable = next(t for t in n["spec"]["taints"] if t["effect"] == "NoExecute")
    assert unreachable["timeAdded"] == at(140)


def test_a_node_whose_kubelet_never_ran_is_unknown_after_forty_seconds(kc):
    kc.create(node("node-1", annotations={DOWN: "down"}))
    kc.run()
    ready = conditions(kc.get("Node", "node-1"))["Ready"]
    assert ready["status"] == "Unknown"
    assert ready["message"] == "Kubelet never posted node status."
    assert ready["lastTransitionTime"] == at(40)


def test_a_down_node_changes_none_of_its_pods(kc):
    kc.create(node("node-1"))
    kc.create(pod("job", restart="Never", tolerations=[{"operator": "Exists"}],
                  annotations={"sim.recon.dev/exit-after": "1m"}))
    kc.run_until(10)
    kc.annotate("Node", "node-1", DOWN, "down")
    kc.create(pod("late", tolerations=[{"operator": "Exists"}]))
    kc.run_until(3600)
    job = kc.get("Pod", "job")
    assert job["status"]["phase"] == "Running"  # its exit at +60 s was never reported
    assert conditions(job)["Ready"]["status"] == "False"  # marked not ready by the node controller
    late = kc.get("Pod", "late")
    assert late["status"]["phase"] == "Pending" and "startTime" not in late["status"]
    kc.api.delete(kc.admin, "", "Pod", "demo", "late")
    kc.run_until(7200)
    assert kc.get("Pod", "late") is not None  # nobody confirms the deletion


def test_noexecute_eviction_honours_toleration_seconds(kc):
    kc.create(node("node-1"))
    kc.create(pod("default"))  # admission gives it 300 s for unreachable
    kc.create(pod("impatient", tolerations=[{"key": "node.kubernetes.io/unreachable", "operator": "Exists",
                                              "effect": "NoExecute", "tolerationSeconds": 0}]))
    kc.create(pod("forever", tolerations=[{"key": "node.kubernetes.io/unreachable", "operator": "Exists",
                                            "effect": "NoExecute"}]))
    kc.run_until(100)
    kc.annotate("Node", "node-1", DOWN, "down")
    kc.run_until(140)
    impatient = kc.get("Pod", "impatient")
    assert impatient["metadata"]["deletionTimestamp"] == at(170)  # evicted at once, graceful
    disruption = conditions(impatient)["DisruptionTarget"]
    assert disruption["reason"] == "DeletionByTaintManager"
    kc.run_until(439)
    assert "deletionTimestamp" not in kc.get("Pod", "default")["metadata"]
    kc.run(3600)
    assert kc.get("Pod", "default")["metadata"]["deletionTimestamp"] == at(440 + 30)
    assert "deletionTimestamp" not in kc.get("Pod", "forever")["metadata"]


def test_a_node_that_comes_back_is_ready_untainted_and_finishes_its_pods(kc):
    kc.create(node("node-1"))
    kc.create(pod("web", tolerations=[{"operator": "Exists"}]))
    kc.run_until(100)
    kc.annotate("Node", "node-1", DOWN, "down")
    kc.run_until(200)
    assert conditions(kc.get("Node", "node-1"))["Ready"]["status"] == "Unknown"
    kc.annotate("Node", "node-1", DOWN, None)
    kc.run_until(300)
    n = kc.get("Node", "node-1")
    ready = conditions(n)["Ready"]
    assert ready["status"] == "True" and ready["lastTransitionTime"] == at(200)
    assert taints(n) == []
    assert kc.get("Lease", "node-1", "kube-node-lease")["metadata"]["annotations"]["sim.recon.dev/heartbeat"] == "implied"
    web = kc.get("Pod", "web")
    assert conditions(web)["Ready"]["status"] == "True"
    assert conditions(web)["Ready"]["lastTransitionTime"] == at(200)


def test_an_unschedulable_node_gets_the_unschedulable_taint(kc):
    kc.create(node("node-1"))
    kc.run()
    kc.api.patch(kc.admin, "", "Node", "", "node-1", {"spec": {"unschedulable": True}})
    kc.run()
    assert taints(kc.get("Node", "node-1")) == [("node.kubernetes.io/unschedulable", "NoSchedule")]
    kc.api.patch(kc.admin, "", "Node", "", "node-1", {"spec": {"unschedulable": None}})
    kc.run()
    assert "taints" not in kc.get("Node", "node-1")["spec"]


def test_the_pod_network_has_room_for_a_thousand_nodes_each_with_its_own_address(kc):
    names = [f"n{i:04}" for i in range(258)]
    for name in names:
        kc.create(node(name))
    kc.run()
    last = kc.get("Node", names[-1])
    assert kc.get("Node", names[255])["spec"]["podCIDR"] == "10.244.255.0/24"
    assert last["spec"]["podCIDR"] == "10.245.1.0/24"  # past the first /16 of 10.244.0.0/14
    ips = {a["address"] for n in names for a in kc.get("Node", n)["status"]["addresses"] if a["type"] == "InternalIP"}
    assert len(ips) == 258
    assert {a["address"] for a in last["status"]["addresses"] if a["type"] == "InternalIP"} == {"172.18.1.3"}


def test_a_noexecute_taint_added_without_time_added_evicts_after_toleration_seconds(kc):
    kc.create(node("node-3"))
    kc.create(pod("patient", node_name="node-3", tolerations=[{"key": "evict", "operator": "Exists",
                                                                 "effect": "NoExecute", "tolerationSeconds": 10}]))
    kc.create(pod("intolerant", node_name="node-3"))
    kc.run_until(100)
    # kubectl taint nodes node-3 evict=yes:NoExecute: no timeAdded
    kc.api.patch(kc.admin, "", "Node", "", "node-3",
                 {"spec": {"taints": [{"key": "evict", "value": "yes", "effect": "NoExecute"}]}})
    kc.run_until(100)
    assert kc.get("Pod", "intolerant") is None  # evicted at once; the kubelet stops it
    (taint,) = kc.get("Node", "node-3")["spec"]["taints"]
    assert taint == {"key": "evict", "value": "yes", "effect": "NoExecute", "timeAdded": at(100)}
    patient = kc.get("Pod", "patient")
    kc.run_until(109)
    assert kc.get("Pod", "patient") is not None
    kc.run_until(110)
    assert kc.get("Pod", "patient") is None  # evicted tolerationSeconds after the taint was added
    said = [(e["reason"], e["message"], e["firstTimestamp"])
            for e in events_of(kc.store.head, key_of(patient), patient)]
    assert ("TaintManagerEviction", "Marking for deletion Pod demo/patient", at(110)) in said
