"""The pods/eviction subresource and the disruption controller, through HTTP and real kubectl (drain)."""

from __future__ import annotations

import json

from http_live import wait_for

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: default}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      nodeSelector: {{kubernetes.io/hostname: {node}}}
      containers: [{{name: app, image: nginx:1.27}}]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {{name: {name}, namespace: default}}
spec:
  minAvailable: {min}
  selector: {{matchLabels: {{app: {name}}}}}
"""


def deploy(live, name: str, replicas: int, min_available: int, node: str = "node-1") -> list[str]:
    """A Deployment pinned to `node` and its PDB; the pods' names once the PDB counts them all ready."""
    path = live.root / f"{name}.yaml"
    path.write_text(DEPLOYMENT.format(name=name, replicas=replicas, min=min_available, node=node))
    live.kubectl("apply", "-f", str(path))
    wait_for(lambda: pdb(live, name).get("currentHealthy") == replicas, f"{name}'s PDB to count its pods")
    return pods(live, name)


def pdb(live, name: str) -> dict:
    out = live.kubectl("get", "pdb", name, "-n", "default", "-o", "json", check=None).stdout
    return json.loads(out).get("status", {}) if out else {}


def pods(live, name: str) -> list[str]:
    out = live.kubectl("get", "pods", "-n", "default", "-l", f"app={name}", "-o",
                       "jsonpath={range .items[?(@.metadata.deletionTimestamp)]}{end}"
                       "{range .items[*]}{.metadata.name} {end}").stdout
    return out.split()


def evict(live, name: str, pod: str, token: str | None = None, options: dict | None = None):
    body = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": pod, "namespace": "default"}}
    if options is not None:
        body["deleteOptions"] = options
    return live.request("POST", f"/api/v1/namespaces/default/pods/{pod}/eviction", body, token=token)


def test_eviction_is_served_in_discovery(live):
    resources = json.loads(live.kubectl("get", "--raw", "/api/v1").stdout)["resources"]
    entry = next(r for r in resources if r["name"] == "pods/eviction")
    assert (entry["group"], entry["version"], entry["kind"], entry["verbs"]) == ("policy", "v1", "Eviction", ["create"])


def test_pdb_status_and_kubectl_get_pdb_show_allowed_disruptions(live):
    deploy(live, "budget", 3, 1)
    status = pdb(live, "budget")
    assert (status["expectedPods"], status["desiredHealthy"], status["disruptionsAllowed"]) == (3, 1, 2)
    out = live.kubectl("get", "pdb", "budget", "-n", "default").stdout.split("\n")
    assert out[0].split() == ["NAME", "MIN", "AVAILABLE", "MAX", "UNAVAILABLE", "ALLOWED", "DISRUPTIONS", "AGE"]
    assert out[1].split()[:4] == ["budget", "1", "N/A", "2"]


def test_eviction_is_refused_with_429_then_allowed_once_the_budget_allows(live):
    first, second = deploy(live, "evictee", 2, 2)
    code, _, body = evict(live, "evictee", second)
    assert code == 429, body
    status = json.loads(body)
    assert status["reason"] == "TooManyRequests"
    assert status["message"] == "Cannot evict pod as it would violate the pod's disruption budget."
    assert status["details"]["causes"] == [{"reason": "DisruptionBudget",
                                            "message": "The disruption budget evictee needs 2 healthy pods and has "
                                                       "2 currently"}]
    assert second in pods(live, "evictee")
    live.kubectl("patch", "pdb", "evictee", "-n", "default", "--type=merge", "-p", '{"spec":{"minAvailable":1}}')
    wait_for(lambda: pdb(live, "evictee").get("disruptionsAllowed") == 1, "the budget to allow one disruption")
    code, _, body = evict(live, "evictee", first)
    assert code == 201, body
    assert json.loads(body)["status"] == "Success"
    gone = json.loads(live.kubectl("get", "pod", first, "-n", "default", "-o", "json", check=None).stdout or "{}")
    assert not gone or any(c["type"] == "DisruptionTarget" and c["reason"] == "EvictionByEvictionAPI"
                           for c in gone["status"]["conditions"])


def test_eviction_dry_run_and_a_pod_without_budget(live):
    pod = deploy(live, "dry", 1, 0)[0]
    code, _, body = evict(live, "dry", pod, options={"dryRun": ["All"]})
    assert code == 201, body
    assert pdb(live, "dry")["disruptionsAllowed"] == 1 and "disruptedPods" not in pdb(live, "dry")
    assert pod in pods(live, "dry")
    live.kubectl("delete", "pdb", "dry", "-n", "default")
    code, _, body = evict(live, "dry", pod, options={"gracePeriodSeconds": 0})
    assert code == 201, body
    wait_for(lambda: pod not in pods(live, "dry"), "the pod to be gone")


def test_eviction_needs_create_on_pods_eviction(live):
    from test_http_api_surface import sa_token

    code, _, body = evict(live, "x", "any-pod", token=sa_token(live, "default"))
    assert code == 403, body
    assert 'cannot create resource "pods/eviction"' in json.loads(body)["message"]


def test_kubectl_drain_server_dry_run_deletes_nothing(live):
    deploy(live, "shadow", 2, 1, node="node-3")
    before = pods(live, "shadow")
    out = live.kubectl("drain", "node-3", "--ignore-daemonsets", "--dry-run=server", "--timeout=10s")
    assert "(server dry run)" in out.stdout
    assert pods(live, "shadow") == before
    assert pdb(live, "shadow")["disruptionsAllowed"] == 1
    assert "unschedulable" not in live.kubectl("get", "node", "node-3", "-o", "json").stdout


def test_kubectl_drain_evicts_and_is_refused_by_a_budget(live):
    kept = deploy(live, "drained", 2, 2, node="node-3")
    free = deploy(live, "movable", 2, 1, node="node-3")
    proc = live.kubectl("drain", "node-3", "--ignore-daemonsets", "--timeout=5s", check=1, timeout=60)
    text = proc.stdout + proc.stderr
    assert "Cannot evict pod as it would violate the pod's disruption budget." in text
    assert "global timeout reached: 5s" in text
    assert sorted(pods(live, "drained")) == sorted(kept)
    # one of these was evicted; its replacement cannot run on the cordoned node, so the other stays
    assert len(set(free) & set(pods(live, "movable"))) == 1
    live.kubectl("uncordon", "node-3")
