"""End to end: `recon up --once` with the shipped scheduler rules places pods where only one node fits."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def recon(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "engine.cli", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


CLUSTER = """
apiVersion: v1
kind: Namespace
metadata: {name: demo}
---
apiVersion: v1
kind: Node
metadata: {name: tainted, labels: {disk: ssd}}
spec:
  taints: [{key: dedicated, value: user1, effect: NoSchedule}]
status: {capacity: {cpu: "8", memory: 8Gi, pods: "110"}}
---
apiVersion: v1
kind: Node
metadata: {name: small, labels: {disk: ssd}}
status: {capacity: {cpu: "1", memory: 8Gi, pods: "110"}}
---
apiVersion: v1
kind: Node
metadata: {name: big, labels: {disk: ssd}}
status: {capacity: {cpu: "8", memory: 8Gi, pods: "110"}}
---
apiVersion: v1
kind: Node
metadata: {name: hdd, labels: {disk: hdd}}
status: {capacity: {cpu: "8", memory: 8Gi, pods: "110"}}
---
apiVersion: v1
kind: Pod
metadata: {name: app, namespace: demo}
spec:
  nodeSelector: {disk: ssd}
  containers: [{name: c, image: nginx, resources: {requests: {cpu: "2"}}}]
---
apiVersion: v1
kind: Pod
metadata: {name: huge, namespace: demo}
spec:
  containers: [{name: c, image: nginx, resources: {requests: {cpu: "64"}}}]
"""


def test_recon_up_once_binds_each_pod_to_the_only_node_that_fits(tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "cluster.yaml").write_text(textwrap.dedent(CLUSTER))
    recon("up", "m", "--once", "--rules", str(REPO / "rules" / "scheduler"), cwd=tmp_path)
    app = json.loads(recon("get", "pod", "app", "-n", "demo", "-o", "json", cwd=tmp_path).stdout)
    assert app["spec"]["nodeName"] == "big"
    huge = json.loads(recon("get", "pod", "huge", "-n", "demo", "-o", "json", cwd=tmp_path).stdout)
    assert "nodeName" not in huge["spec"]
    [cond] = [c for c in huge["status"]["conditions"] if c["type"] == "PodScheduled"]
    assert cond["message"] == ("0/4 nodes are available: 1 node(s) had untolerated taint {dedicated: user1}, "
                               "3 Insufficient cpu. preemption: 0/4 nodes are available: "
                               "1 Preemption is not helpful for scheduling, 3 No preemption victims found for incoming pod..")


def test_a_pending_pods_explanation_is_recomputed_from_the_state_folder(tmp_path):
    from engine.cli import _read_state
    from engine.rules import load_rules
    from engine.scheduler_explain import explain_from_snapshot

    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "cluster.yaml").write_text(textwrap.dedent(CLUSTER))
    recon("up", "m", "--once", "--rules", str(REPO / "rules" / "scheduler"), cwd=tmp_path)
    snapshot = _read_state(str(tmp_path / ".recon"), None)
    rules = load_rules(REPO / "rules" / "scheduler")
    text = explain_from_snapshot(snapshot, rules, "demo", "huge")
    assert text.splitlines()[:3] == [
        "pod demo/huge",
        f"scheduling attempt recomputed from the snapshot at revision {snapshot.revision}: 4 node(s), 0 feasible",
        "unschedulable: 0/4 nodes are available: 1 node(s) had untolerated taint {dedicated: user1}, "
        "3 Insufficient cpu.",
    ]
    assert "  tainted: TaintToleration: node(s) had untolerated taint {dedicated: user1}" in text
    assert "  big: NodeResourcesFit: Insufficient cpu" in text
    bound = explain_from_snapshot(snapshot, rules, "demo", "app")
    assert bound == "pod demo/app\nscheduled to big (no attempt recorded in this process)"
    assert explain_from_snapshot(snapshot, rules, "demo", "nope") == "pod demo/nope\nnot found"
