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


def test_status_without_a_state_folder_says_how_to_make_one(tmp_path: Path):
    proc = recon("status", cwd=tmp_path, check=1)
    assert 'no cluster state in .recon: start one with "recon up"' in proc.stderr
