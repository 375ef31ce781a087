"""The example cluster, end to end through `recon up --once` with the shipped rules."""

from __future__ import annotations

import json
from pathlib import Path

from .helpers import copy_example, recon


def items(cwd: Path, *args: str) -> list[dict]:
    doc = json.loads(recon("get", *args, "-o", "json", cwd=cwd, check=0).stdout)
    return doc["items"] if doc.get("kind") == "List" else [doc]


def web_pods(cwd: Path) -> list[dict]:
    return [p for p in items(cwd, "pods", "-n", "demo", "-l", "app=web")]


def addresses(cwd: Path) -> list[str]:
    ep = items(cwd, "endpoints", "web", "-n", "demo")[0]
    return sorted(a["ip"] for s in ep.get("subsets", []) for a in s.get("addresses", []))


def test_the_example_cluster_converges_with_every_pod_running_and_endpoints_filled(tmp_path):
    copy_example(tmp_path)
    recon("up", "manifests", "--once", cwd=tmp_path, check=0)
    pods = web_pods(tmp_path)
    assert len(pods) == 3
    assert {p["status"]["phase"] for p in pods} == {"Running"}
    assert all(p["spec"]["nodeName"] in ("node-1", "node-2", "node-3") for p in pods)
    assert addresses(tmp_path) == sorted(p["status"]["podIP"] for p in pods)
    deploy = items(tmp_path, "deploy", "web", "-n", "demo")[0]
    assert deploy["status"]["readyReplicas"] == 3 and deploy["status"]["availableReplicas"] == 3
    ready = {n["metadata"]["name"]: next(c["status"] for c in n["status"]["conditions"] if c["type"] == "Ready")
             for n in items(tmp_path, "nodes")}
    assert ready == {"node-1": "True", "node-2": "True", "node-3": "True"}


def test_scaling_up_between_runs_adds_running_pods_and_addresses(tmp_path):
    folder = copy_example(tmp_path)
    recon("up", "manifests", "--once", cwd=tmp_path, check=0)
    web = folder / "web.yaml"
    web.write_text(web.read_text().replace("replicas: 3", "replicas: 5"))
    recon("up", "manifests", "--once", cwd=tmp_path, check=0)
    pods = web_pods(tmp_path)
    assert len(pods) == 5 and {p["status"]["phase"] for p in pods} == {"Running"}
    assert len(addresses(tmp_path)) == 5


def test_deleting_the_deployments_file_removes_its_replicasets_pods_and_endpoints(tmp_path):
    folder = copy_example(tmp_path)
    recon("up", "manifests", "--once", cwd=tmp_path, check=0)
    (folder / "web.yaml").unlink()
    recon("up", "manifests", "--once", cwd=tmp_path, check=0)
    assert recon("get", "deploy", "web", "-n", "demo", cwd=tmp_path).returncode == 1
    assert [rs for rs in items(tmp_path, "rs", "-n", "demo") if rs["metadata"]["name"].startswith("web-")] == []
    assert web_pods(tmp_path) == []
    assert recon("get", "endpoints", "web", "-n", "demo", cwd=tmp_path).returncode == 1


STUCK = """apiVersion: v1
kind: Pod
metadata:
  name: stuck
  namespace: demo
spec:
  nodeSelector:
    disktype: ssd
  containers:
    - name: c
      image: nginx
"""


def test_explain_says_why_a_pod_is_pending(tmp_path):
    folder = copy_example(tmp_path)
    (folder / "stuck.yaml").write_text(STUCK)
    recon("up", "manifests", "--once", cwd=tmp_path, check=0)
    out = recon("explain", "pod/stuck", "-n", "demo", cwd=tmp_path, check=0).stdout
    assert "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector." in out
    assert "node-1: NodeAffinity: node(s) didn't match Pod's node affinity/selector" in out
    assert "manifests:stuck.yaml" in out
    assert "warning" not in out
