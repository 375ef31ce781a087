"""Table cells as kubectl prints them."""

from __future__ import annotations

import pytest

from engine.clock import EPOCH
from engine.kinds import BUILTIN
from engine.objects import freeze
from engine.printers import columns, node_status, pod_ready, pod_restarts, pod_status, render_table
from engine.timeutil import format_time


def pod(*statuses, phase="Running", init=(), init_statuses=(), deleting=False, conditions=()):
    meta = {"name": "p", "creationTimestamp": format_time(EPOCH)}
    if deleting:
        meta["deletionTimestamp"] = format_time(EPOCH + 5)
    return freeze({
        "metadata": meta,
        "spec": {"containers": [{"name": f"c{i}"} for i in range(max(len(statuses), 1))],
                 "initContainers": [{"name": f"i{i}"} for i in range(len(init))]},
        "status": {"phase": phase, "containerStatuses": list(statuses),
                   "initContainerStatuses": list(init_statuses), "conditions": list(conditions)},
    })


RUNNING = {"name": "c0", "ready": True, "restartCount": 0, "state": {"running": {"startedAt": "x"}}}


def waiting(reason, restarts=0):
    return {"name": "c0", "ready": False, "restartCount": restarts, "state": {"waiting": {"reason": reason}}}


def test_headers_match_kubectl():
    names = {rt.kind: [c.name for c in columns(rt)] for rt in BUILTIN}
    assert names["Pod"] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert names["Deployment"] == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert names["ReplicaSet"] == ["NAME", "DESIRED", "CURRENT", "READY", "AGE"]
    assert names["Service"] == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    assert names["Node"] == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert names["Namespace"] == ["NAME", "STATUS", "AGE"]
    assert names["Endpoints"] == ["NAME", "ENDPOINTS", "AGE"]
    assert names["PriorityClass"] == ["NAME", "VALUE", "GLOBAL-DEFAULT", "AGE", "PREEMPTIONPOLICY"]
    assert names["ServiceRules"] == ["NAME", "AGE"]


def test_wide_pod_columns():
    pods = BUILTIN.resolve("po")
    assert [c.name for c in columns(pods, wide=True)][5:] == ["IP", "NODE", "NOMINATED NODE", "READINESS GATES"]


@pytest.mark.parametrize("obj, status", [
    (pod(RUNNING), "Running"),
    (pod(waiting("ContainerCreating"), phase="Pending"), "ContainerCreating"),
    (pod(waiting("CrashLoopBackOff", 4)), "CrashLoopBackOff"),
    (pod({"name": "c0", "state": {"terminated": {"reason": "Completed", "exitCode": 0}}}, phase="Succeeded"), "Completed"),
    (pod({"name": "c0", "state": {"terminated": {"exitCode": 137, "signal": 9}}}), "Signal:9"),
    (pod({"name": "c0", "state": {"terminated": {"exitCode": 2}}}), "ExitCode:2"),
    (pod(RUNNING, deleting=True), "Terminating"),
    (pod(waiting("PodInitializing"), phase="Pending", init=[1, 2],
         init_statuses=[{"state": {"terminated": {"exitCode": 0}}}, {"state": {"running": {}}}]), "Init:1/2"),
    (pod(phase="Pending", init=[1], init_statuses=[{"state": {"waiting": {"reason": "CrashLoopBackOff"}}}]),
     "Init:CrashLoopBackOff"),
    (pod(phase="Pending"), "Pending"),
])
def test_pod_status_is_computed_as_kubectl_does(obj, status):
    assert pod_status(obj, EPOCH) == status


def test_pod_ready_counts_running_ready_containers():
    assert pod_ready(pod(RUNNING, waiting("ContainerCreating")), EPOCH) == "1/2"


def test_pod_restarts_sum_with_the_time_of_the_last_one():
    crashed = dict(waiting("CrashLoopBackOff", 3), lastState={"terminated": {"finishedAt": format_time(EPOCH + 60)}})
    assert pod_restarts(pod(crashed, dict(RUNNING, restartCount=1)), EPOCH + 180) == "4 (2m ago)"
    assert pod_restarts(pod(RUNNING), EPOCH) == "0"


COMPLETED = {"name": "c0", "state": {"terminated": {"reason": "Completed", "exitCode": 0}}}
ERRORED = {"name": "c0", "state": {"terminated": {"reason": "Error", "exitCode": 1}}}


@pytest.mark.parametrize("obj, status", [
    (pod(COMPLETED, phase="Succeeded", deleting=True), "Completed"),
    (pod(ERRORED, phase="Failed", deleting=True), "Error"),
    (pod(RUNNING, phase="Running", deleting=True), "Terminating"),
])
def test_a_finished_pod_being_deleted_keeps_its_terminal_reason(obj, status):
    assert pod_status(obj, EPOCH) == status


def test_a_pod_held_by_scheduling_gates_is_schedulinggated():
    gated = pod(phase="Pending").transform(["spec", "schedulingGates"], [{"name": "example.com/quota"}])
    assert pod_status(gated, EPOCH) == "SchedulingGated"
    condition = {"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}
    assert pod_status(pod(phase="Pending", conditions=[condition]), EPOCH) == "SchedulingGated"
    bound = gated.transform(["spec", "nodeName"], "node-1")
    assert pod_status(bound, EPOCH) == "Pending"


def sidecar_pod(sidecar_status: dict, *statuses, initialized=True) -> dict:
    """A pod whose init container i0 is a sidecar (restartPolicy: Always)."""
    conditions = [{"type": "Initialized", "status": "True" if initialized else "False"}]
    return pod(*statuses, init=[1], init_statuses=[dict(sidecar_status, name="i0")], conditions=conditions) \
        .transform(["spec", "initContainers", 0, "restartPolicy"], "Always")


def test_pod_ready_counts_started_sidecars_as_upstream_does():
    started = {"started": True, "ready": True, "restartCount": 2, "state": {"running": {}},
               "lastState": {"terminated": {"finishedAt": format_time(EPOCH + 60)}}}
    obj = sidecar_pod(started, RUNNING)
    assert pod_ready(obj, EPOCH) == "2/2"
    assert pod_status(obj, EPOCH) == "Running"
    assert pod_restarts(obj, EPOCH + 180) == "2 (2m ago)"
    unready = sidecar_pod(dict(started, ready=False), RUNNING)
    assert pod_ready(unready, EPOCH) == "1/2"
    not_started = sidecar_pod({"started": False, "state": {"running": {}}}, waiting("PodInitializing"),
                              initialized=False)
    assert (pod_ready(not_started, EPOCH), pod_status(not_started, EPOCH)) == ("0/2", "Init:0/1")


def test_node_status():
    ready = {"status": {"conditions": [{"type": "Ready", "status": "True"}]}}
    assert node_status(freeze(ready), 0) == "Ready"
    assert node_status(freeze({**ready, "spec": {"unschedulable": True}}), 0) == "Ready,SchedulingDisabled"
    assert node_status(freeze({"status": {"conditions": [{"type": "Ready", "status": "False"}]}}), 0) == "NotReady"
    assert node_status(freeze({"status": {}}), 0) == "Unknown"
    # a node whose kubelet stopped posting: Ready Unknown, shown as kubectl's printNode does
    unknown = {"status": {"conditions": [{"type": "Ready", "status": "Unknown"}]}, "spec": {"unschedulable": True}}
    assert node_status(freeze(unknown), 0) == "NotReady,SchedulingDisabled"


def cells(kind, obj, now=EPOCH + 90, wide=False):
    return [c.fn(freeze(obj), now) for c in columns(BUILTIN.resolve(kind), wide)]


def test_service_row():
    svc = {"metadata": {"name": "web", "creationTimestamp": format_time(EPOCH)},
           "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.12", "selector": {"app": "web"},
                    "ports": [{"port": 80, "protocol": "TCP"}, {"port": 53, "protocol": "UDP", "nodePort": 30053}]}}
    assert cells("svc", svc, wide=True) == ["web", "ClusterIP", "10.96.0.12", "<none>", "80/TCP,53:30053/UDP", "90s", "app=web"]


def _service(kind: str, external_ips=(), ingress=None, **spec) -> dict:
    body = {"metadata": {"name": "web"}, "spec": {"type": kind, **spec}, "status": {"loadBalancer": {}}}
    if external_ips:
        body["spec"]["externalIPs"] = list(external_ips)
    if ingress is not None:
        body["status"]["loadBalancer"]["ingress"] = ingress
    return body


@pytest.mark.parametrize("svc, external", [
    (_service("ClusterIP"), "<none>"),
    (_service("NodePort"), "<none>"),
    (_service("ClusterIP", ["192.0.2.1", "192.0.2.2"]), "192.0.2.1,192.0.2.2"),
    (_service("LoadBalancer"), "<pending>"),
    (_service("LoadBalancer", ingress=[]), "<pending>"),
    (_service("LoadBalancer", ingress=[{"ipMode": "VIP"}]), "<pending>"),
    # the balancer's addresses (an IP, else the hostname) sorted and unique, then the external IPs
    (_service("LoadBalancer", ingress=[{"ip": "203.0.113.9"}, {"hostname": "lb.example.com"},
                                       {"ip": "203.0.113.10", "hostname": "ignored"}, {"ip": "203.0.113.9"}]),
     "203.0.113.10,203.0.113.9,lb.example.com"),
    (_service("LoadBalancer", ["192.0.2.1"], ingress=[{"ip": "203.0.113.9"}]), "203.0.113.9,192.0.2.1"),
    (_service("LoadBalancer", ["192.0.2.1"]), "192.0.2.1"),
    (_service("ExternalName", externalName="db.example.com"), "db.example.com"),
])
def test_service_external_ip_is_upstreams_get_service_external_ip(svc, external):
    """The server prints tables wide, so a long list of balancer addresses is not cut to 16 characters."""
    assert cells("svc", svc)[3] == external


def test_deployment_and_replicaset_rows():
    deploy = {"metadata": {"name": "web"}, "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                                                     "template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"}]}}},
              "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}}
    assert cells("deploy", deploy, wide=True) == ["web", "2/3", "3", "2", "<unknown>", "nginx", "nginx:1.27", "app=web"]
    rs = {"metadata": {"name": "web-1"}, "spec": {"replicas": 3}, "status": {"replicas": 3}}
    assert cells("rs", rs) == ["web-1", "3", "3", "0", "<unknown>"]


def test_endpoints_show_three_addresses_then_how_many_more():
    ep = {"metadata": {"name": "web"}, "subsets": [
        {"addresses": [{"ip": f"10.0.0.{i}"} for i in range(1, 6)], "ports": [{"port": 80}]}]}
    assert cells("ep", ep)[1] == "10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 2 more..."
    assert cells("ep", {"metadata": {"name": "x"}})[1] == "<none>"


def test_endpoints_with_only_not_ready_addresses_show_an_empty_cell():
    """formatEndpoints says <none> only when there are no subsets at all."""
    ep = {"metadata": {"name": "web"}, "subsets": [
        {"notReadyAddresses": [{"ip": "10.0.0.1"}], "ports": [{"port": 80}]}]}
    assert cells("ep", ep)[1] == ""


def test_endpointslices_show_three_ports_and_addresses_then_how_many_more_or_unset():
    """formatDiscoveryPorts and formatDiscoveryEndpoints: a port without a number shows its name
    (or *), and an empty list is <unset>."""
    slice_ = {"metadata": {"name": "web-abc"}, "addressType": "IPv4",
              "ports": [{"name": "a", "port": 80}, {"name": "named"}, {}, {"port": 8443}],
              "endpoints": [{"addresses": [f"10.0.0.{i}"]} for i in range(1, 5)]}
    assert cells("endpointslices", slice_)[2:4] == ["80,named,* + 1 more...", "10.0.0.1,10.0.0.2,10.0.0.3 + 1 more..."]
    empty = {"metadata": {"name": "web-def"}, "addressType": "IPv4", "ports": [], "endpoints": []}
    assert cells("endpointslices", empty)[2:4] == ["<unset>", "<unset>"]


def test_node_roles_from_labels():
    node = {"metadata": {"name": "n", "labels": {"node-role.kubernetes.io/control-plane": "", "x": "y"}}}
    assert cells("no", node)[2] == "control-plane"


def test_render_table_pads_like_tabwriter():
    assert render_table(["NAME", "AGE"], [["web", "5m"], ["a-long-name", "3s"]]) == (
        "NAME          AGE\n"
        "web           5m\n"
        "a-long-name   3s"
    )
