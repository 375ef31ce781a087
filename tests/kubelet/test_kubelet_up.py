"""The kubelet end to end: `recon up --once` with the simulation annotations, `recon get`, `recon logs`."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

NODES = """
apiVersion: v1
kind: Node
metadata: {name: node-1, labels: {kubernetes.io/hostname: node-1}%s}
status:
  capacity: {cpu: "4", memory: 8Gi, pods: "110"}
  allocatable: {cpu: "4", memory: 8Gi, pods: "110"}
---
apiVersion: v1
kind: Node
metadata: {name: node-2, labels: {kubernetes.io/hostname: node-2}}
status:
  capacity: {cpu: "4", memory: 8Gi, pods: "110"}
  allocatable: {cpu: "4", memory: 8Gi, pods: "110"}
"""

PODS = """
apiVersion: v1
kind: Namespace
metadata: {name: demo}
---
apiVersion: v1
kind: Pod
metadata:
  name: crash
  namespace: demo
  annotations: {sim.recon.dev/exit-after: "10s", sim.recon.dev/exit-code: "1"}
spec:
  nodeName: node-2
  containers: [{name: app, image: busybox}]
---
apiVersion: v1
kind: Pod
metadata:
  name: done
  namespace: demo
  annotations: {sim.recon.dev/exit-after: "5s"}
spec:
  nodeName: node-2
  restartPolicy: Never
  containers: [{name: app, image: busybox}]
---
apiVersion: v1
kind: Pod
metadata:
  name: broken
  namespace: demo
  annotations: {sim.recon.dev/exit-after: "5s", sim.recon.dev/exit-code: "1"}
spec:
  nodeName: node-2
  restartPolicy: Never
  containers: [{name: app, image: busybox}]
---
apiVersion: v1
kind: Pod
metadata:
  name: slow
  namespace: demo
  annotations: {sim.recon.dev/start-after: "5s", sim.recon.dev/ready-after: "30s"}
spec:
  nodeName: node-2
  initContainers: [{name: setup, image: busybox}]
  containers: [{name: app, image: nginx}]
"""

WEB = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: demo}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: nginx, image: nginx}]
      tolerations:
        - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 60}
"""


def recon(*args: str, cwd: Path, check: int | None = 0) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "engine.cli", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=180)
    if check is not None:
        assert proc.returncode == check, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


def write(folder: Path, name: str, text: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(textwrap.dedent(text).lstrip())


def pods(cwd: Path) -> dict:
    out = recon("get", "pods", "-n", "demo", "-o", "json", "--state", "st", cwd=cwd).stdout
    return {p["metadata"]["name"]: p for p in json.loads(out)["items"]}


def revision(proc: subprocess.CompletedProcess) -> int:
    return int(re.search(r"converged at revision (\d+)", proc.stdout).group(1))


@pytest.fixture
def site(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "rules", tmp_path / "rules")
    write(tmp_path / "manifests", "nodes.yaml", NODES % "")
    write(tmp_path / "manifests", "pods.yaml", PODS)
    return tmp_path


def test_recon_up_runs_every_pod_lifecycle_from_the_annotations(site):
    recon("up", "manifests", "--once", "--until", "2m", "--state", "st", cwd=site)
    found = pods(site)
    crash = found["crash"]["status"]["containerStatuses"][0]
    assert found["crash"]["status"]["phase"] == "Running"
    assert crash["restartCount"] >= 3
    assert crash["lastState"]["terminated"]["exitCode"] == 1
    assert found["done"]["status"]["phase"] == "Succeeded"
    assert found["broken"]["status"]["phase"] == "Failed"
    slow = found["slow"]["status"]
    assert slow["initContainerStatuses"][0]["state"]["terminated"]["reason"] == "Completed"
    assert slow["containerStatuses"][0]["state"]["running"]["startedAt"] == "2026-01-01T00:00:05Z"
    ready = next(c for c in slow["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "True" and ready["lastTransitionTime"] == "2026-01-01T00:00:35Z"
    table = recon("get", "pods", "-n", "demo", "--state", "st", cwd=site).stdout
    assert re.search(r"^done\s+0/1\s+Completed", table, re.M)
    assert re.search(r"^crash\s+0/1\s+(CrashLoopBackOff|Error|Running)", table, re.M)


def test_recon_logs_prints_the_simulated_lifecycle_lines(site):
    recon("up", "manifests", "--once", "--until", "1m", "--state", "st", cwd=site)
    lines = recon("logs", "crash", "-n", "demo", "--state", "st", cwd=site).stdout.splitlines()
    assert lines[:9] == [
        "2026-01-01T00:00:00Z started container app",
        "2026-01-01T00:00:00Z container app is ready",
        "2026-01-01T00:00:10Z container app exited with code 1",
        "2026-01-01T00:00:10Z restarted container app (restart 1)",
        "2026-01-01T00:00:10Z container app is ready",
        "2026-01-01T00:00:20Z container app exited with code 1",
        "2026-01-01T00:00:20Z back-off 10s restarting failed container app",
        "2026-01-01T00:00:30Z restarted container app (restart 2)",
        "2026-01-01T00:00:30Z container app is ready",
    ]
    slow = recon("logs", "slow", "-n", "demo", "--state", "st", cwd=site)
    assert 'Defaulted container "app" out of: app, setup (init)' in slow.stderr
    assert slow.stdout.splitlines() == ["2026-01-01T00:00:05Z started container app",
                                        "2026-01-01T00:00:35Z container app is ready"]
    setup = recon("logs", "slow", "-c", "setup", "-n", "demo", "--state", "st", cwd=site).stdout
    assert "container setup exited with code 0" in setup
    missing = recon("logs", "nope", "-n", "demo", "--state", "st", cwd=site, check=1)
    assert 'pods "nope" not found' in missing.stderr
    wrong = recon("logs", "slow", "-c", "db", "-n", "demo", "--state", "st", cwd=site, check=1)
    assert "container db is not valid for pod slow" in wrong.stderr


def test_an_idle_converged_cluster_writes_no_revisions_while_up_runs_on(site):
    settled = [doc for doc in textwrap.dedent(PODS).split("---") if "name: crash" not in doc]
    (site / "manifests" / "pods.yaml").write_text("---".join(settled))
    write(site / "manifests", "web.yaml", WEB)
    first = recon("up", "manifests", "--once", "--until", "10m", "--state", "st", cwd=site)
    events = recon("get", "events", "-A", "-o", "name", "--state", "st", cwd=site).stdout.split()
    second = recon("up", "manifests", "--once", "--until", "24h", "--state", "st", cwd=site)
    # the one thing an hour changes: the Events expire (event-ttl.rules), one deletion each
    assert revision(second) == revision(first) + len(events) > revision(first)
    assert recon("get", "events", "-A", "-o", "name", "--state", "st", cwd=site).stdout.split() == []
    third = recon("up", "manifests", "--once", "--until", "48h", "--state", "st", cwd=site)
    assert revision(third) == revision(second)


def test_a_node_that_goes_down_loses_its_pods_to_healthy_nodes_and_comes_back(site):
    write(site / "manifests", "web.yaml", WEB)
    recon("up", "manifests", "--once", "--state", "st", cwd=site)
    on_node_1 = [n for n, p in pods(site).items() if p["spec"].get("nodeName") == "node-1"]
    assert on_node_1, "the scheduler spreads the web pods over both nodes"
    write(site / "manifests", "nodes.yaml", NODES % ', annotations: {sim.recon.dev/kubelet: "down"}')
    recon("up", "manifests", "--once", "--until", "5m", "--state", "st", cwd=site)
    nodes = json.loads(recon("get", "nodes", "-o", "json", "--state", "st", cwd=site).stdout)["items"]
    node_1 = next(n for n in nodes if n["metadata"]["name"] == "node-1")
    assert {(t["key"], t["effect"]) for t in node_1["spec"]["taints"]} == {
        ("node.kubernetes.io/unreachable", "NoExecute"), ("node.kubernetes.io/unreachable", "NoSchedule")}
    found = pods(site)
    for name in on_node_1:  # evicted after their 60 s toleration; stuck Terminating on the dead node
        assert found[name]["metadata"]["deletionTimestamp"]
    web = [p for p in found.values() if p["metadata"]["name"].startswith("web-") and
           "deletionTimestamp" not in p["metadata"]]
    assert len(web) == 2 and all(p["spec"]["nodeName"] == "node-2" for p in web)
    assert all(p["status"]["phase"] == "Running" for p in web)
    write(site / "manifests", "nodes.yaml", NODES % "")
    recon("up", "manifests", "--once", "--state", "st", cwd=site)
    nodes = json.loads(recon("get", "nodes", "-o", "json", "--state", "st", cwd=site).stdout)["items"]
    node_1 = next(n for n in nodes if n["metadata"]["name"] == "node-1")
    assert not node_1["spec"].get("taints")
    assert all(pn not in pods(site) for pn in on_node_1)  # the kubelet confirmed their deletion
