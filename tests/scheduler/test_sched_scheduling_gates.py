"""spec.schedulingGates: a gated pod waits, without attempts or events, until its last gate is removed."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.apiserver import APIError
from engine.printers import pod_summary
from sched_helpers import ADMIN, SchedCluster, node, pod, sched  # noqa: F401 (fixture)

GATED = "Scheduling is blocked due to non-empty scheduling gates"
RULES = Path(__file__).resolve().parents[2] / "rules"


def gated(name, *gates, **spec):
    return pod(name, schedulingGates=[{"name": g} for g in gates or ("example.com/quota",)], **spec)


def ungate(sched, name, gates=None):
    sched.api.patch(ADMIN, "", "Pod", "demo", name, {"spec": {"schedulingGates": gates}})


def test_a_gated_pod_stays_pending_with_the_scheduling_gated_condition_and_no_events(sched):
    sched.add(node("n1"), gated("p"))
    sched.run()
    assert sched.node_of("p") is None
    cond = sched.condition("p")
    assert (cond["status"], cond["reason"], cond["message"]) == ("False", "SchedulingGated", GATED)
    assert cond["lastTransitionTime"] is None
    assert sched.events("p") == []
    assert ("", "Pod", "demo", "p") not in sched.scheduler.attempts
    assert pod_summary(sched.get("Pod", "p")).reason == "SchedulingGated"


def test_a_pod_without_gates_gets_no_scheduling_gated_condition(sched):
    sched.add(pod("p"))
    assert sched.condition("p") is None


def test_removing_the_last_gate_schedules_the_pod(sched):
    sched.add(node("n1"), gated("p", "a.example.com/one", "b.example.com/two"))
    sched.run()
    ungate(sched, "p", [{"name": "b.example.com/two"}])
    sched.run()
    assert sched.node_of("p") is None and sched.events("p") == []
    ungate(sched, "p")
    sched.run()
    assert sched.node_of("p") == "n1"
    assert sched.condition("p")["status"] == "True"
    [event] = sched.events("p")
    assert event["reason"] == "Scheduled"


def test_a_pod_ungated_when_no_node_fits_becomes_unschedulable(sched):
    sched.add(node("n1", cpu="1"), gated("p", cpu="2"))
    sched.run()
    ungate(sched, "p")
    sched.run()
    cond = sched.condition("p")
    assert (cond["reason"], cond["message"]) == ("Unschedulable", "0/1 nodes are available: 1 Insufficient cpu."
                                                 " preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod..")
    assert [e["reason"] for e in sched.events("p")] == ["FailedScheduling"]


def test_adding_a_gate_after_creation_is_refused(sched):
    sched.add(gated("p", "g1"))
    with pytest.raises(APIError) as caught:
        ungate(sched, "p", [{"name": "g1"}, {"name": "x"}])
    assert caught.value.code == 422
    assert caught.value.message == ('Pod "p" is invalid: spec.schedulingGates[1].name: Forbidden: '
                                    "only deletion is allowed, but found new scheduling gate 'x'")


def test_gating_a_pod_created_without_gates_is_refused(sched):
    sched.add(pod("p"))
    with pytest.raises(APIError) as caught:
        ungate(sched, "p", [{"name": "x"}])
    assert "spec.schedulingGates[0].name: Forbidden: only deletion is allowed" in caught.value.message


def test_a_pod_with_a_node_name_cannot_have_gates(sched):
    with pytest.raises(APIError) as caught:
        sched.add(gated("p", node_name="n1"))
    assert caught.value.message == ('Pod "p" is invalid: spec.nodeName: Forbidden: '
                                    "cannot be set until all schedulingGates have been cleared")


def test_a_gated_pod_cannot_be_bound_by_an_update(sched):
    sched.add(node("n1"), gated("p"))
    current = sched.get("Pod", "p")
    body = {**current, "spec": {**current["spec"], "nodeName": "n1"}}
    with pytest.raises(APIError) as caught:
        sched.api.update(ADMIN, body)
    assert "spec.nodeName: Forbidden: cannot be set until all schedulingGates have been cleared" \
        in caught.value.message


def test_a_gated_pod_cannot_be_bound_by_a_binding(sched):
    sched.add(node("n1"), gated("p"))
    with pytest.raises(APIError) as caught:
        sched.api.bind(ADMIN, "demo", "p", "n1")
    assert caught.value.code == 500 and caught.value.message.endswith("pod p has non-empty .spec.schedulingGates")
    assert "nodeName" not in sched.get("Pod", "p")["spec"]


def test_gate_names_are_qualified_names_named_once(sched):
    with pytest.raises(APIError) as caught:
        sched.add(gated("p", "a", "a"))
    assert caught.value.message == 'Pod "p" is invalid: spec.schedulingGates[1]: Duplicate value: "a"'
    with pytest.raises(APIError) as caught:
        sched.add(gated("q", "Not Qualified!"))
    assert caught.value.message.startswith('Pod "q" is invalid: spec.schedulingGates[0]: Invalid value: ')


def test_a_deployment_whose_template_has_a_gate_makes_pods_that_stay_gated(tmp_path):
    extra = {name: (RULES / f"{name}.rules").read_text() for name in ("deployment", "replicaset")}
    sched = SchedCluster(tmp_path, extra=extra)
    # a PodTemplateSpec: the gated pod's spec, no apiVersion or kind (fields it does not declare,
    # which the API server drops from the ReplicaSet the rules make, as upstream's decode does)
    template = {"metadata": {"labels": {"app": "web"}}, "spec": gated("web")["spec"]}
    sched.add(node("n1"), {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "demo"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}, "template": template}})
    sched.run()
    pods = sched.store.head.list("", "Pod", "demo")
    assert len(pods) == 2
    for p in pods:
        assert p["spec"].get("nodeName") is None
        cond = next(c for c in p["status"]["conditions"] if c["type"] == "PodScheduled")
        assert cond["reason"] == "SchedulingGated"
        assert sched.events(p["metadata"]["name"]) == []


# ---- a gated pod's node directives may be tightened (the doc's "Mutable Pod scheduling directives")

def affinity_term(*requirements, fields=()):
    term = {"matchExpressions": [{"key": k, "operator": "In", "values": [v]} for k, v in requirements]}
    if fields:
        term["matchFields"] = [{"key": "metadata.name", "operator": "In", "values": [f]} for f in fields]
    return term


def required(*terms):
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": list(terms)}}}


def replace_spec(sched, name, **changes):
    """A full update of the pod with `changes` to its spec (None removes a field), as `kubectl replace`."""
    current = sched.get("Pod", name)
    spec = {**current["spec"], **changes}
    return sched.api.update(ADMIN, {**current, "spec": {k: v for k, v in spec.items() if v is not None}})


def refused(sched, name, **changes):
    with pytest.raises(APIError) as caught:
        replace_spec(sched, name, **changes)
    assert caught.value.code == 422
    return caught.value.message


def test_a_gated_pod_may_gain_node_selector_entries_and_is_then_placed_by_them(sched):
    sched.add(node("n1", labels={"disk": "hdd"}), node("n2", labels={"disk": "ssd"}),
              gated("p", nodeSelector={"team": "a"}))
    sched.add(node("n3", labels={"disk": "ssd", "team": "a"}))
    replace_spec(sched, "p", nodeSelector={"team": "a", "disk": "ssd"})
    assert sched.get("Pod", "p")["spec"]["nodeSelector"] == {"team": "a", "disk": "ssd"}
    ungate(sched, "p")
    sched.run()
    assert sched.node_of("p") == "n3"


def test_a_gated_pod_without_a_node_selector_may_get_one(sched):
    sched.add(gated("p"))
    replace_spec(sched, "p", nodeSelector={"disk": "ssd"})
    assert sched.get("Pod", "p")["spec"]["nodeSelector"] == {"disk": "ssd"}


@pytest.mark.parametrize("selector", [{"team": "b"}, {"disk": "ssd"}, None])
def test_a_gated_pods_node_selector_entries_cannot_change_or_go(sched, selector):
    sched.add(gated("p", nodeSelector={"team": "a"}))
    message = refused(sched, "p", nodeSelector=selector)
    assert "spec.nodeSelector: Invalid value:" in message
    assert message.endswith("only additions to spec.nodeSelector are allowed (no mutations or deletions)")


def test_an_ungated_pods_node_selector_cannot_change(sched):
    sched.add(pod("p", nodeSelector={"team": "a"}))
    message = refused(sched, "p", nodeSelector={"team": "a", "disk": "ssd"})
    assert "spec: Forbidden: pod updates may not change fields other than" in message


def test_a_gated_pod_may_gain_a_required_node_affinity_or_requirements_in_its_terms(sched):
    sched.add(gated("p"))
    replace_spec(sched, "p", affinity=required(affinity_term(("disk", "ssd"))))
    grown = required(affinity_term(("zone", "z1"), ("disk", "ssd"), fields=("n1",)))  # order does not matter
    replace_spec(sched, "p", affinity=grown)
    assert sched.get("Pod", "p")["spec"]["affinity"] == grown


def test_a_gated_pods_preferred_node_affinity_may_change_freely(sched):
    preferred = {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 10, "preference": affinity_term(("disk", "ssd"))}]}}
    sched.add(gated("p", affinity=preferred))
    replace_spec(sched, "p", affinity=None)
    assert "affinity" not in sched.get("Pod", "p")["spec"]


def test_a_gated_pods_required_node_affinity_cannot_lose_or_change_a_requirement_or_a_term(sched):
    path = "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms"
    sched.add(gated("p", affinity=required(affinity_term(("disk", "ssd")), affinity_term(("zone", "z1")))))
    message = refused(sched, "p", affinity=required(affinity_term(("disk", "ssd"))))
    assert f"{path}: Invalid value:" in message
    assert message.endswith("no additions/deletions to non-empty NodeSelectorTerms list are allowed")
    message = refused(sched, "p", affinity=required(affinity_term(("disk", "hdd")), affinity_term(("zone", "z1"))))
    assert f"{path}[0]: Invalid value:" in message
    assert message.endswith("only additions are allowed (no mutations or deletions)")
    message = refused(sched, "p", affinity=None)
    assert "no additions/deletions to non-empty NodeSelectorTerms list are allowed" in message


def test_a_gated_pods_pod_affinity_stays_immutable(sched):
    anti = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "p"}}, "topologyKey": "kubernetes.io/hostname"}]}}
    sched.add(gated("p"))
    message = refused(sched, "p", affinity=anti)
    assert "spec: Forbidden: pod updates may not change fields other than" in message
