"""recon describe: one object as a page, with its conditions and events, now or at a revision."""

from __future__ import annotations


import pytest

from history_helpers import example_run, recon
from engine import history as H
from engine.describe import describe, events_of


@pytest.fixture(scope="module")
def scaled_down(tmp_path_factory):
    """The example cluster, then web scaled 3 → 1: (folder, the revision before the edit)."""
    cwd = tmp_path_factory.mktemp("describe")
    example_run(cwd)
    before = H.History.open(cwd / "s").head
    web = cwd / "manifests" / "web.yaml"
    web.write_text(web.read_text().replace("replicas: 3", "replicas: 1", 1))
    recon("up", "manifests", "--once", "--state", "s", cwd=cwd)
    return cwd, before


def web_pods(cwd, at):
    out = recon("get", "pods", "-n", "demo", "-o", "name", "--at", str(at), "--state", "s", cwd=cwd).stdout
    return [line.split("/", 1)[1] for line in out.split() if line.startswith("pod/web-")]


def test_describe_shows_a_pods_node_containers_conditions_and_events(scaled_down):
    cwd, _ = scaled_down
    (name,) = web_pods(cwd, H.History.open(cwd / "s").head)
    out = recon("describe", "pod", name, "-n", "demo", "--state", "s", cwd=cwd).stdout
    lines = out.splitlines()
    assert lines[:2] == [f"Name:         {name}", "Namespace:    demo"]
    assert "Status:       Running" in lines and "    Image:        nginx:1.27" in lines
    conditions = lines[lines.index("Conditions:") + 3:lines.index("Events:")]
    assert [c.split() for c in conditions][0] == ["PodScheduled", "True"] and len(conditions) == 5
    events = lines[lines.index("Events:") + 3:]
    assert events[0].split()[:4] == ["Normal", "Scheduled", "0s", "default-scheduler"]
    node = next(line.split()[1].split("/")[0] for line in lines if line.startswith("Node:"))
    assert events[0].endswith(f"Successfully assigned demo/{name} to {node}")
    assert "last-applied-configuration" not in out


def test_describe_at_a_revision_shows_the_object_as_it_was(scaled_down):
    cwd, before = scaled_down
    gone = [p for p in web_pods(cwd, before) if p not in web_pods(cwd, H.History.open(cwd / "s").head)]
    assert len(gone) == 2
    then = recon("describe", f"pod/{gone[0]}", "-n", "demo", "--at", str(before), "--state", "s", cwd=cwd).stdout
    assert then.startswith(f"Name:         {gone[0]}\n") and "Scheduled" in then
    err = recon("describe", "pod", gone[0], "-n", "demo", "--state", "s", cwd=cwd, check=1).stderr
    assert "not found in namespace demo at revision" in err
    old = recon("describe", "deploy", "web", "-n", "demo", "--at", str(before), "--state", "s", cwd=cwd).stdout
    new = recon("describe", "deploy", "web", "-n", "demo", "--state", "s", cwd=cwd).stdout
    assert "Replicas:     3 desired | 3 updated | 3 total | 3 available" in old
    assert "Replicas:     1 desired | 1 updated | 1 total | 1 available" in new
    assert "Available    True    MinimumReplicasAvailable" in new


def test_describe_kind_alone_describes_every_object_of_the_namespace(scaled_down):
    cwd, _ = scaled_down
    out = recon("describe", "deploy", "-n", "demo", "--state", "s", cwd=cwd).stdout
    assert [line for line in out.splitlines() if line.startswith("Name:")] == [
        "Name:         hello", "Name:         web"]


def test_events_match_the_involved_objects_kind_name_namespace_and_uid(scaled_down):
    cwd, before = scaled_down
    snap = H.History.open(cwd / "s").snapshot(before)
    pod_key = next(k for k in snap.keys("", "Pod", "demo") if k[3].startswith("web-"))
    pod = snap.get(pod_key)
    assert [e["reason"] for e in events_of(snap, pod_key, pod)] == ["Scheduled", "Pulled", "Created", "Started"]
    other = pod.set("metadata", pod["metadata"].set("uid", "another-pod-of-that-name"))
    assert events_of(snap, pod_key, other) == []
    node_key = ("", "Node", "", pod["spec"]["nodeName"])
    node = snap.get(node_key)
    # a Node's: the controller's by its uid, the kubelet's by its name (kubectl describe node looks for both)
    assert {"RegisteredNode", "Starting"} <= {e["reason"] for e in events_of(snap, node_key, node)}
    renamed = node.set("metadata", node["metadata"].set("uid", "another-node-of-that-name"))
    assert "RegisteredNode" not in [e["reason"] for e in events_of(snap, node_key, renamed)]
    assert "Scheduled" not in describe(snap, node_key)
