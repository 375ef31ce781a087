"""explain walks a field's causes back to the user's input, with the shipped rules."""

from __future__ import annotations

from history_helpers import ADMIN, REPO

from engine.history import History, explain, format_chain, scheduling_from


def _web_rs(recording):
    return next(k for k in recording.store.head.objects if k[1] == "ReplicaSet" and k[3].startswith("web-"))


def test_a_scheduled_pods_node_goes_back_through_scheduler_replicaset_and_deployment_to_the_manifest(recording):
    history = History.open(recording.state)
    pod = next(k for k in recording.store.head.objects if k[1] == "Pod" and k[3].startswith("web-"))
    steps = explain(history, pod, ("spec", "nodeName"), scheduling=scheduling_from(REPO / "rules"))
    assert [s.rule or s.actor for s in steps] == [
        "default-scheduler", "replicaset-controller/replicas", "deployment-controller/rollout",
        "manifests:web.yaml"]
    assert [s.key[1] for s in steps] == ["Pod", "Pod", "ReplicaSet", "Deployment"]
    assert steps[-1].external and not any(s.external for s in steps[:-1])
    assert steps[1].what == "created" and steps[1].revision < steps[0].revision
    node = recording.store.head.get(pod)["spec"]["nodeName"]
    assert steps[0].what == f"spec.nodeName: <none> → {node}"
    assert any("scores" in note for note in steps[0].notes)
    assert not any(note.startswith("warning") for note in steps[0].notes)
    text = format_chain(steps, pod, ("spec", "nodeName"), node)
    assert text.splitlines()[0] == f"pod/{pod[3]} spec.nodeName = {node}"


def test_a_scaled_replicaset_goes_back_to_the_manifest_edit(recording):
    recording.edit("web.yaml", "replicas: 3", "replicas: 5")
    recording.sync()
    history = History.open(recording.state)
    steps = explain(history, _web_rs(recording), ("spec", "replicas"))
    assert [s.rule or s.actor for s in steps] == ["deployment-controller/rollout", "manifests:web.yaml"]
    assert steps[0].what == "spec.replicas: 3 → 5"
    assert "spec.replicas: 3 → 5" in steps[1].what and steps[1].external
    assert steps[1].revision == steps[0].revision - 1


def test_a_drift_repair_goes_back_to_the_users_edit(recording):
    rs = _web_rs(recording)
    recording.api.patch(ADMIN, "apps", "ReplicaSet", "demo", rs[3], {"spec": {"replicas": 7}})
    recording.run()
    history = History.open(recording.state)
    steps = explain(history, rs, ("spec", "replicas"))
    assert [(s.rule or s.actor, s.what) for s in steps] == [
        ("deployment-controller/rollout", "spec.replicas: 7 → 3"),
        ("admin", "metadata.generation: 1 → 2, spec.replicas: 3 → 7")]


def test_an_evicted_pod_goes_back_to_its_node_going_down(recording):
    recording.api.patch(ADMIN, "", "Node", "", "node-1",
                        {"metadata": {"annotations": {"sim.recon.dev/kubelet": "down"}}})
    assert recording.run(900).converged
    history = History.open(recording.state)
    evicted = [k for k, o in recording.store.head.objects.items()
               if k[1] == "Pod" and o["metadata"].get("deletionTimestamp")]
    assert evicted
    steps = explain(history, evicted[0], ("metadata", "deletionTimestamp"))
    assert steps[0].rule == "node-lifecycle-controller/evict"
    assert steps[-1].actor == "admin" and steps[-1].key == ("", "Node", "", "node-1")
    assert steps[-1].what == 'metadata.annotations."sim.recon.dev/kubelet": <none> → down'
    assert any(s.rule == "node-lifecycle-controller/heartbeat" for s in steps)


def test_explaining_an_object_never_written_is_an_error(recording):
    import pytest

    from engine.history import HistoryError

    history = History.open(recording.state)
    with pytest.raises(HistoryError, match="never written"):
        explain(history, ("", "Pod", "demo", "nope"))
