"""`recon status`: Deployments, pods waiting for a node with the scheduler's reason, nodes."""

from __future__ import annotations

from pathlib import Path

from live_helpers import RULES, recon

HUNGRY = """\
apiVersion: v1
kind: Pod
metadata:
  name: hungry
spec:
  containers:
    - name: app
      image: busybox
      resources:
        requests: {cpu: "64"}
"""


def test_status_shows_deployments_pending_pods_with_the_reason_and_nodes(folder: Path):
    (folder / "hungry.yaml").write_text(HUNGRY)
    recon("up", "manifests", "--once", "--rules", str(RULES), cwd=folder.parent, check=0)
    out = recon("status", cwd=folder.parent, check=0).stdout
    deployments, pending, nodes = out.strip().split("\n\n")
    assert deployments.splitlines()[1].split() == ["NAMESPACE", "NAME", "READY", "UP-TO-DATE", "AVAILABLE"]
    assert deployments.splitlines()[2].split() == ["default", "web", "2/2", "2", "2"]
    [row] = pending.splitlines()[2:]
    assert row.split()[:3] == ["default", "hungry", "Unschedulable"] and "Insufficient cpu" in row
    assert [line.split()[:2] for line in nodes.splitlines()[2:]] == [
        ["node-1", "Ready"], ["node-2", "Ready"], ["node-3", "Ready"]]


WORKLOADS = """\
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
spec:
  replicas: 2
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers: [{name: db, image: postgres:16}]
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: agent
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      containers: [{name: agent, image: fluent-bit:3}]
"""


def test_status_shows_statefulsets_and_daemonsets_when_there_are_some(folder: Path):
    recon("up", "manifests", "--once", "--rules", str(RULES), cwd=folder.parent, check=0)
    before = recon("status", cwd=folder.parent, check=0).stdout
    assert "StatefulSets" not in before and "DaemonSets" not in before
    (folder / "workloads.yaml").write_text(WORKLOADS)
    recon("up", "manifests", "--once", "--rules", str(RULES), cwd=folder.parent, check=0)
    sections = {part.splitlines()[0]: part.splitlines()[1:]
                for part in recon("status", cwd=folder.parent, check=0).stdout.strip().split("\n\n")}
    assert list(sections) == ["Deployments", "StatefulSets", "DaemonSets", "Pending pods", "Nodes"]
    assert [row.split() for row in sections["StatefulSets"]] == [
        ["NAMESPACE", "NAME", "READY", "UP-TO-DATE", "AVAILABLE"], ["default", "db", "2/2", "2", "2"]]
    assert [row.split() for row in sections["DaemonSets"]] == [
        ["NAMESPACE", "NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE"],
        ["default", "agent", "3", "3", "3", "3", "3"]]


def test_status_without_a_state_folder_says_how_to_make_one(tmp_path: Path):
    proc = recon("status", cwd=tmp_path, check=1)
    assert 'no cluster state in .recon: start one with "recon up"' in proc.stderr
