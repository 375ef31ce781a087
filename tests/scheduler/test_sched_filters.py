"""Every default filter, through the shipped rules, with the cases of upstream's test tables."""

from __future__ import annotations

import pytest

from sched_helpers import container, node, pod, sched  # noqa: F401 (fixture)

UNSCHEDULABLE = "node(s) were unschedulable"
NODE_NAME = "node(s) didn't match the requested node name"
AFFINITY = "node(s) didn't match Pod's node affinity/selector"
PORTS = "node(s) didn't have free ports for the requested pod ports"


# ------------------------------------------------------------- NodeUnschedulable

@pytest.mark.parametrize("unschedulable, tolerations, fits", [
    (None, None, True),
    (False, None, True),
    (True, None, False),
    (True, [{"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"}], True),
    (True, [{"key": "node.kubernetes.io/unschedulable", "operator": "Exists"}], True),
    (True, [{"operator": "Exists"}], True),
    (True, [{"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoExecute"}], False),
])
def test_node_unschedulable_rejects_cordoned_nodes_unless_tolerated(sched, unschedulable, tolerations, fits):
    sched.add(node("n1", unschedulable=unschedulable))
    spec = {"tolerations": tolerations} if tolerations else {}
    got = sched.rejection(pod("p", **spec), "n1")
    assert got == (None if fits else ("NodeUnschedulable", (UNSCHEDULABLE,)))


# ---------------------------------------------------------------------- NodeName

@pytest.mark.parametrize("wanted, fits", [(None, True), ("n1", True), ("n2", False)])
def test_node_name_fits_only_the_named_node(sched, wanted, fits):
    sched.add(node("n1"))
    got = sched.rejection(pod("p", node_name=wanted), "n1")
    assert got == (None if fits else ("NodeName", (NODE_NAME,)))


# --------------------------------------------------------------- TaintToleration

@pytest.mark.parametrize("taints, tolerations, reason", [
    ([], None, None),
    ([{"key": "dedicated", "value": "user1", "effect": "NoSchedule"}], None,
     "node(s) had untolerated taint {dedicated: user1}"),
    ([{"key": "dedicated", "value": "user1", "effect": "NoSchedule"}],
     [{"key": "dedicated", "operator": "Equal", "value": "user1", "effect": "NoSchedule"}], None),
    ([{"key": "dedicated", "value": "user1", "effect": "NoSchedule"}],
     [{"key": "dedicated", "operator": "Equal", "value": "user2", "effect": "NoSchedule"}],
     "node(s) had untolerated taint {dedicated: user1}"),
    ([{"key": "dedicated", "value": "user1", "effect": "NoSchedule"}],
     [{"key": "dedicated", "value": "user1", "effect": "NoSchedule"}], None),  # operator defaults to Equal
    ([{"key": "foo", "value": "bar", "effect": "NoSchedule"}],
     [{"key": "foo", "operator": "Exists", "effect": "NoSchedule"}], None),
    ([{"key": "foo", "value": "bar", "effect": "NoSchedule"}], [{"operator": "Exists"}], None),
    ([{"key": "foo", "value": "bar", "effect": "NoSchedule"}],
     [{"key": "foo", "operator": "Equal", "value": "bar"}], None),  # empty effect matches all
    ([{"key": "foo", "value": "bar", "effect": "NoSchedule"}],
     [{"key": "foo", "operator": "Equal", "value": "bar", "effect": "PreferNoSchedule"}],
     "node(s) had untolerated taint {foo: bar}"),
    ([{"key": "foo", "effect": "NoExecute"}], None, "node(s) had untolerated taint {foo: }"),
    ([{"key": "foo", "value": "bar", "effect": "PreferNoSchedule"}], None, None),  # only scored
    ([{"key": "a", "value": "1", "effect": "NoSchedule"}, {"key": "b", "value": "2", "effect": "NoSchedule"}],
     [{"key": "a", "operator": "Exists"}], "node(s) had untolerated taint {b: 2}"),
])
def test_taint_toleration_filter(sched, taints, tolerations, reason):
    sched.add(node("n1", taints=taints))
    spec = {"tolerations": tolerations} if tolerations else {}
    got = sched.rejection(pod("p", **spec), "n1")
    assert got == (None if reason is None else ("TaintToleration", (reason,)))


# ------------------------------------------------------------------ NodeAffinity

def required(*terms):
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": list(terms)}}}


def expr(key, op, *values):
    e = {"key": key, "operator": op}
    if values:
        e["values"] = list(values)
    return e


LABELS = {"foo": "bar", "zone": "a", "gpus": "4"}


@pytest.mark.parametrize("spec, fits", [
    ({}, True),
    ({"nodeSelector": {"foo": "bar"}}, True),
    ({"nodeSelector": {"foo": "baz"}}, False),
    ({"nodeSelector": {"foo": "bar", "zone": "b"}}, False),
    ({"affinity": required({"matchExpressions": [expr("foo", "In", "bar", "value2")]})}, True),
    ({"affinity": required({"matchExpressions": [expr("foo", "In", "value1", "value2")]})}, False),
    ({"affinity": required({"matchExpressions": [expr("foo", "NotIn", "x")]})}, True),
    ({"affinity": required({"matchExpressions": [expr("missing", "NotIn", "x")]})}, True),
    ({"affinity": required({"matchExpressions": [expr("foo", "NotIn", "bar")]})}, False),
    ({"affinity": required({"matchExpressions": [expr("foo", "Exists")]})}, True),
    ({"affinity": required({"matchExpressions": [expr("missing", "Exists")]})}, False),
    ({"affinity": required({"matchExpressions": [expr("missing", "DoesNotExist")]})}, True),
    ({"affinity": required({"matchExpressions": [expr("foo", "DoesNotExist")]})}, False),
    ({"affinity": required({"matchExpressions": [expr("gpus", "Gt", "3")]})}, True),
    ({"affinity": required({"matchExpressions": [expr("gpus", "Gt", "4")]})}, False),
    ({"affinity": required({"matchExpressions": [expr("gpus", "Lt", "5")]})}, True),
    ({"affinity": required({"matchExpressions": [expr("gpus", "Lt", "4")]})}, False),
    ({"affinity": required({"matchExpressions": [expr("foo", "Gt", "1")]})}, False),  # not a number
    ({"affinity": required({"matchExpressions": [expr("missing", "Lt", "1")]})}, False),
    # expressions of a term are ANDed
    ({"affinity": required({"matchExpressions": [expr("foo", "In", "bar"), expr("zone", "In", "b")]})}, False),
    # terms are ORed
    ({"affinity": required({"matchExpressions": [expr("zone", "In", "b")]},
                           {"matchExpressions": [expr("zone", "In", "a")]})}, True),
    # an empty term, or no terms, matches nothing
    ({"affinity": required({})}, False),
    ({"affinity": required({"matchExpressions": []})}, False),
    ({"affinity": required()}, False),
    # no required node affinity at all: fits
    ({"affinity": {"nodeAffinity": {}}}, True),
    # matchFields on metadata.name
    ({"affinity": required({"matchFields": [expr("metadata.name", "In", "n1")]})}, True),
    ({"affinity": required({"matchFields": [expr("metadata.name", "In", "n2")]})}, False),
    ({"affinity": required({"matchFields": [expr("metadata.name", "NotIn", "n2")]})}, True),
    ({"affinity": required({"matchFields": [expr("metadata.name", "In", "n1")],
                            "matchExpressions": [expr("foo", "In", "baz")]})}, False),
    # nodeSelector and affinity must both hold
    ({"nodeSelector": {"foo": "bar"}, "affinity": required({"matchExpressions": [expr("zone", "In", "b")]})}, False),
])
def test_node_affinity_filter(sched, spec, fits):
    sched.add(node("n1", labels=LABELS))
    got = sched.rejection(pod("p", **spec), "n1")
    assert got == (None if fits else ("NodeAffinity", (AFFINITY,)))


# --------------------------------------------------------------------- NodePorts

def hp(port, protocol=None, ip=None):
    p = {"containerPort": port, "hostPort": port}
    if protocol:
        p["protocol"] = protocol
    if ip is not None:
        p["hostIP"] = ip
    return p


@pytest.mark.parametrize("existing, wanted, fits", [
    ([], [hp(8080)], True),
    ([hp(8080)], [hp(8080)], False),
    ([hp(8080)], [hp(8081)], True),
    ([hp(8080, "UDP")], [hp(8080, "TCP")], True),
    ([hp(8080, "UDP")], [hp(8080, "UDP")], False),
    ([hp(8080, ip="127.0.0.1")], [hp(8080, ip="127.0.0.2")], True),
    ([hp(8080, ip="127.0.0.1")], [hp(8080, ip="127.0.0.1")], False),
    ([hp(8080, ip="0.0.0.0")], [hp(8080, ip="127.0.0.1")], False),
    ([hp(8080, ip="127.0.0.1")], [hp(8080, ip="0.0.0.0")], False),
    ([hp(8080, ip="127.0.0.1")], [hp(8080)], False),  # an empty hostIP is 0.0.0.0
    ([hp(8080, "UDP", "127.0.0.1")], [hp(8080, "TCP", "0.0.0.0")], True),
    ([{"containerPort": 80}], [{"containerPort": 80}], True),  # no host ports
])
def test_node_ports_filter(sched, existing, wanted, fits):
    sched.add(node("n1"), pod("old", containers=[container(ports=existing)], node_name="n1"))
    got = sched.rejection(pod("p", containers=[container(ports=wanted)]), "n1")
    assert got == (None if fits else ("NodePorts", (PORTS,)))


def test_node_ports_ignore_terminated_pods(sched):
    sched.add(node("n1"), pod("old", containers=[container(ports=[hp(80)])], node_name="n1"))
    old = sched.get("Pod", "old")
    sched.update({**old, "status": {**old.get("status", {}), "phase": "Succeeded"}})
    assert sched.rejection(pod("p", containers=[container(ports=[hp(80)])]), "n1") is None


# -------------------------------------------------------------- NodeResourcesFit

def fit(sched, new_pod, *existing, **node_args):
    sched.add(node("n1", **node_args), *existing)
    return sched.rejection(new_pod, "n1")


def test_resources_fit_when_nothing_is_requested(sched):
    assert fit(sched, pod("p"), pod("e", cpu="4", memory="8Gi", node_name="n1")) is None


@pytest.mark.parametrize("new, existing, reasons", [
    (("1", "1Gi"), ("2", "2Gi"), None),
    (("3", "1Gi"), ("2", "2Gi"), ("Insufficient cpu",)),
    (("1", "7Gi"), ("2", "2Gi"), ("Insufficient memory",)),
    (("3", "7Gi"), ("2", "2Gi"), ("Insufficient cpu", "Insufficient memory")),
    (("2", "6Gi"), ("2", "2Gi"), None),  # exactly full fits
    (("2001m", None), ("2", None), ("Insufficient cpu",)),
])
def test_resources_fit_cpu_and_memory(sched, new, existing, reasons):
    got = fit(sched, pod("p", cpu=new[0], memory=new[1]), pod("e", cpu=existing[0], memory=existing[1], node_name="n1"))
    assert got == (None if reasons is None else ("NodeResourcesFit", reasons))


def test_resources_fit_init_containers_count_as_their_maximum(sched):
    sched.add(node("n1"), pod("e", cpu="2", node_name="n1"))
    init = [container("i1", cpu="3"), container("i2", cpu="1")]
    assert sched.rejection(pod("p", cpu="1", initContainers=init), "n1") == \
        ("NodeResourcesFit", ("Insufficient cpu",))
    assert sched.rejection(pod("q", cpu="1", initContainers=[container("i1", cpu="2")]), "n1") is None


def test_resources_fit_sidecars_add_to_the_regular_containers(sched):
    sidecar = dict(container("s", cpu="1"), restartPolicy="Always")
    assert fit(sched, pod("p", cpu="2", initContainers=[sidecar]), pod("e", cpu="2", node_name="n1")) == \
        ("NodeResourcesFit", ("Insufficient cpu",))


def test_resources_fit_counts_pod_overhead(sched):
    got = fit(sched, pod("p", cpu="1500m", overhead={"cpu": "600m"}), pod("e", cpu="2", node_name="n1"))
    assert got == ("NodeResourcesFit", ("Insufficient cpu",))


def test_resources_fit_ephemeral_storage_and_extended_resources(sched):
    new = pod("p", containers=[container(ephemeral_storage="10Gi", **{"example.com/foo": "3"})])
    got = fit(sched, new, pod("e", containers=[container(**{"example.com/foo": "1"})], node_name="n1"),
              ephemeral_storage="5Gi", **{"example.com/foo": "3"})
    assert got == ("NodeResourcesFit", ("Insufficient ephemeral-storage", "Insufficient example.com/foo"))


def test_resources_fit_an_extended_resource_the_node_lacks(sched):
    got = fit(sched, pod("p", containers=[container(**{"example.com/gpu": "1"})]))
    assert got == ("NodeResourcesFit", ("Insufficient example.com/gpu",))


def test_resources_fit_too_many_pods_comes_with_the_other_reasons(sched):
    got = fit(sched, pod("p", cpu="3"), pod("e", cpu="2", node_name="n1"), pods="1")
    assert got == ("NodeResourcesFit", ("Too many pods", "Insufficient cpu"))


def test_resources_fit_ignores_terminated_pods(sched):
    sched.add(node("n1"), pod("e", cpu="4", node_name="n1"))
    e = sched.get("Pod", "e")
    sched.update({**e, "status": {"phase": "Failed"}})
    assert sched.rejection(pod("p", cpu="1"), "n1") is None


# ------------------------------------------------------------- filter ordering

def test_the_first_rejecting_filter_in_the_default_order_names_the_node(sched):
    sched.add(node("n1", unschedulable=True, taints=[{"key": "a", "effect": "NoSchedule"}], cpu="1"))
    assert sched.rejection(pod("p", cpu="2"), "n1") == ("NodeUnschedulable", (UNSCHEDULABLE,))


def test_a_runtime_class_overhead_and_node_selector_decide_where_its_pods_fit(sched):
    kata = {"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass", "metadata": {"name": "kata"}, "handler": "kata",
            "overhead": {"podFixed": {"cpu": "500m"}}, "scheduling": {"nodeSelector": {"sandbox": "kata"}}}
    sched.add(kata, node("plain", cpu="8"), node("small", cpu="2800m", labels={"sandbox": "kata"}),
              node("big", cpu="3", labels={"sandbox": "kata"}))
    sched.add(pod("fits", cpu="2500m", runtimeClassName="kata"), pod("over", cpu="2600m", runtimeClassName="kata"))
    sched.run()
    assert sched.get("Pod", "fits")["spec"]["overhead"] == {"cpu": "500m"}
    assert sched.node_of("fits") == "big"  # (2.5 fits small, 2.5 + 0.5 does not; plain lacks the label)
    assert sched.node_of("over") is None
    assert sched.condition("over")["message"].startswith(
        "0/3 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 2 Insufficient cpu.")
