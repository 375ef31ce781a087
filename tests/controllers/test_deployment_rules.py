"""rules/deployment.rules (with rules/replicaset.rules): the Deployment controller."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

RULES_DIR = Path(__file__).resolve().parents[2] / "rules"

HASH = r"[bcdfghjklmnpqrstvwxz2456789]+"


def deployment(name="web", replicas=3, image="nginx:1.27", strategy=None, **spec_extra):
    spec = {
        "replicas": replicas,
        "selector": {"matchLabels": {"app": name}},
        "template": {"metadata": {"labels": {"app": name}},
                     "spec": {"containers": [{"name": "c", "image": image}]}},
        **spec_extra,
    }
    if strategy is not None:
        spec["strategy"] = strategy
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "demo"},
            "spec": spec}


def rolling(surge, unavailable):
    return {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}}


@pytest.fixture
def cluster(controller_cluster):
    controller_cluster.load("replicaset", "deployment")
    return controller_cluster


def replicasets(c, name="web"):
    """The Deployment's ReplicaSets, oldest revision first."""
    d = c.get("Deployment", name)
    return sorted(c.owned("ReplicaSet", d),
                  key=lambda rs: int(rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]))


def live_pods(c, rs):
    return [p for p in c.owned("Pod", rs) if not p["metadata"].get("deletionTimestamp")]


def make_ready(c, rs=None):
    """Mark every live pod (of `rs`, or all) Running and Ready now, as a kubelet would."""
    pods = live_pods(c, rs) if rs is not None else c.list("Pod")
    for p in pods:
        if not (p.get("status") or {}).get("conditions"):
            c.set_pod_status(p["metadata"]["name"])


def condition(d, kind):
    return next((x for x in d["status"].get("conditions", ()) if x["type"] == kind), None)


def converge(c, seconds=600):
    result = c.run(seconds)
    assert result.converged, result.message
    assert not result.failures, [f.format() for f in result.failures]
    return result


def test_deployment_creates_a_replicaset_per_template_with_the_hash_everywhere(cluster):
    c = cluster
    c.apply(deployment(replicas=3))
    converge(c)
    d = c.get("Deployment", "web")
    [rs] = replicasets(c)
    name = rs["metadata"]["name"]
    assert re.fullmatch(rf"web-{HASH}", name)
    h = rs["metadata"]["labels"]["pod-template-hash"]
    assert name == f"web-{h}"
    assert rs["spec"]["selector"]["matchLabels"] == {"app": "web", "pod-template-hash": h}
    assert rs["spec"]["template"]["metadata"]["labels"] == {"app": "web", "pod-template-hash": h}
    assert rs["metadata"]["ownerReferences"][0]["uid"] == d["metadata"]["uid"]
    assert rs["metadata"]["annotations"] == {"deployment.kubernetes.io/revision": "1",
                                             "deployment.kubernetes.io/desired-replicas": "3",
                                             "deployment.kubernetes.io/max-replicas": "4"}
    assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
    pods = live_pods(c, rs)
    assert len(pods) == 3
    assert all(re.fullmatch(rf"{name}-[bcdfghjklmnpqrstvwxz2456789]{{5}}", p["metadata"]["name"]) for p in pods)
    assert all(p["metadata"]["labels"] == {"app": "web", "pod-template-hash": h} for p in pods)


def test_status_and_conditions_follow_the_pods_until_the_rollout_completes(cluster):
    c = cluster
    c.apply(deployment(replicas=3))
    converge(c)
    d = c.get("Deployment", "web")
    [rs] = replicasets(c)
    assert {k: v for k, v in d["status"].items() if k != "conditions"} == {
        "replicas": 3, "updatedReplicas": 3, "unavailableReplicas": 3, "observedGeneration": d["metadata"]["generation"]}
    assert condition(d, "Available")["reason"] == "MinimumReplicasUnavailable"
    assert condition(d, "Progressing")["reason"] in ("NewReplicaSetCreated", "ReplicaSetUpdated")
    make_ready(c)
    converge(c)
    d = c.get("Deployment", "web")
    assert {k: v for k, v in d["status"].items() if k != "conditions"} == {
        "replicas": 3, "updatedReplicas": 3, "readyReplicas": 3, "availableReplicas": 3,
        "observedGeneration": d["metadata"]["generation"]}
    available, progressing = condition(d, "Available"), condition(d, "Progressing")
    assert (available["status"], available["reason"], available["message"]) == (
        "True", "MinimumReplicasAvailable", "Deployment has minimum availability.")
    assert (progressing["status"], progressing["reason"], progressing["message"]) == (
        "True", "NewReplicaSetAvailable", f'ReplicaSet "{rs["metadata"]["name"]}" has successfully progressed.')
    assert progressing["lastUpdateTime"] and progressing["lastTransitionTime"]
    assert [x["type"] for x in d["status"]["conditions"]] == ["Available", "Progressing"]


def test_a_deployment_scaled_to_zero_leaves_out_every_count(cluster):
    c = cluster
    c.apply(deployment(replicas=2))
    converge(c)
    make_ready(c)
    converge(c)
    c.apply(deployment(replicas=0))
    converge(c)
    d = c.get("Deployment", "web")
    assert {k: v for k, v in d["status"].items() if k != "conditions"} == {"observedGeneration": 2}
    assert [(x["type"], x["status"]) for x in d["status"]["conditions"]] == [("Available", "True"), ("Progressing", "True")]
    [rs] = replicasets(c)
    assert dict(rs["status"]) == {"replicas": 0, "observedGeneration": 2}


def test_the_replicaset_takes_min_ready_seconds_and_leaves_it_out_at_zero(cluster):
    c = cluster
    c.apply(deployment(replicas=1))
    converge(c)
    [rs] = replicasets(c)
    assert "minReadySeconds" not in rs["spec"]
    c.apply(deployment(replicas=1, minReadySeconds=10))
    converge(c)
    [rs] = replicasets(c)
    assert rs["spec"]["minReadySeconds"] == 10
    c.apply(deployment(replicas=1, minReadySeconds=0))
    converge(c)
    [rs] = replicasets(c)
    assert "minReadySeconds" not in rs["spec"]


@pytest.mark.parametrize("surge, unavailable, first_new, first_old", [
    ("25%", "25%", 5, 8),    # surge 2.5 rounds up to 3 (13 pods), unavailable 2.5 down to 2 (8 available)
    ("0%", "1%", 1, 9),      # both round to zero: maxUnavailable becomes 1
    (2, 0, 2, 10),
    ("0%", "30%", 3, 7),
])
def test_a_stalled_rollout_stops_at_the_rounded_surge_and_unavailable_bounds(cluster, surge, unavailable,
                                                                             first_new, first_old):
    c = cluster
    c.apply(deployment(replicas=10, strategy=rolling(surge, unavailable)))
    converge(c)
    make_ready(c)
    converge(c)
    c.apply(deployment(replicas=10, image="nginx:1.28", strategy=rolling(surge, unavailable)))
    converge(c)  # the new pods never become ready
    old, new = replicasets(c)
    assert (new["spec"]["replicas"], old["spec"]["replicas"]) == (first_new, first_old)


def test_a_rolling_update_walked_step_by_step_keeps_within_surge_and_unavailable(cluster):
    c = cluster
    c.apply(deployment(replicas=4, strategy=rolling(1, 1)))
    converge(c)
    make_ready(c)
    converge(c)
    violations = []

    def check(snap, events, record):
        rss = [o for k, o in snap.objects.items() if k[1] == "ReplicaSet"]
        pods = [o for k, o in snap.objects.items() if k[1] == "Pod" and not o["metadata"].get("deletionTimestamp")]
        total = sum(rs["spec"]["replicas"] for rs in rss)
        ready = sum(1 for p in pods if any(x["type"] == "Ready" and x["status"] == "True"
                                           for x in (p.get("status") or {}).get("conditions", ())))
        if total > 4 + 1 or ready < 4 - 1:
            violations.append((snap.revision, total, ready))

    c.store.listeners.append(check)
    c.apply(deployment(replicas=4, image="nginx:1.28", strategy=rolling(1, 1)))
    steps = []
    for _ in range(10):
        converge(c)
        old, new = replicasets(c)
        steps.append((old["spec"]["replicas"], new["spec"]["replicas"]))
        if new["spec"]["replicas"] == 4 and old["spec"]["replicas"] == 0:
            break
        make_ready(c, new)
    make_ready(c)
    converge(c)
    assert violations == []
    # surge 1, unavailable 1: new +2 / old -2 per step once the new pods are ready
    assert steps == [(3, 2), (1, 4), (0, 4)]
    d = c.get("Deployment", "web")
    old, new = replicasets(c)
    assert condition(d, "Progressing")["reason"] == "NewReplicaSetAvailable"
    assert condition(d, "Progressing")["message"] == f'ReplicaSet "{new["metadata"]["name"]}" has successfully progressed.'
    assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
    assert new["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
    assert d["status"]["replicas"] == d["status"]["updatedReplicas"] == d["status"]["availableReplicas"] == 4


def test_recreate_removes_every_old_pod_before_the_new_replicaset_exists(cluster):
    c = cluster
    c.apply(deployment(replicas=2, strategy={"type": "Recreate"}))
    converge(c)
    make_ready(c)
    converge(c)
    [old] = replicasets(c)
    for p in live_pods(c, old):  # bound pods: their deletion waits for the (absent) kubelet
        c.patch("Pod", p["metadata"]["name"], {"spec": {"nodeName": "n1"}})
    c.apply(deployment(replicas=2, image="nginx:1.28", strategy={"type": "Recreate"}))
    converge(c)
    assert [rs["spec"]["replicas"] for rs in replicasets(c)] == [0]  # no new ReplicaSet while old pods run
    for p in c.owned("Pod", old):  # the kubelet confirms the containers are gone
        c.delete("Pod", p["metadata"]["name"], grace_period=0)
    converge(c)
    old, new = replicasets(c)
    assert old["spec"]["replicas"] == 0 and new["spec"]["replicas"] == 2
    assert len(live_pods(c, new)) == 2
    progressing = condition(c.get("Deployment", "web"), "Progressing")
    assert (progressing["reason"], progressing["message"]) == (
        "ReplicaSetUpdated", f'ReplicaSet "{new["metadata"]["name"]}" is progressing.')


def test_a_paused_deployment_scales_but_does_not_roll_out_until_resumed(cluster):
    c = cluster
    c.apply(deployment(replicas=2))
    converge(c)
    make_ready(c)
    converge(c)
    c.apply(deployment(replicas=3, image="nginx:1.28", paused=True))
    converge(c)
    [rs] = replicasets(c)
    assert rs["spec"]["replicas"] == 3  # scaling still happens
    assert rs["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.27"
    progressing = condition(c.get("Deployment", "web"), "Progressing")
    assert (progressing["status"], progressing["reason"], progressing["message"]) == (
        "Unknown", "DeploymentPaused", "Deployment is paused")
    c.patch("Deployment", "web", {"spec": {"paused": False}})
    converge(c)
    assert len(replicasets(c)) == 2
    assert condition(c.get("Deployment", "web"), "Progressing")["reason"] in (
        "DeploymentResumed", "NewReplicaSetCreated", "ReplicaSetUpdated")


def test_revision_history_limit_deletes_the_oldest_replicasets_scaled_to_zero(cluster):
    c = cluster
    for i in range(4):
        c.apply(deployment(replicas=1, image=f"nginx:1.{i}", revisionHistoryLimit=1))
        for _ in range(4):
            converge(c)
            make_ready(c)
        converge(c)
    rss = replicasets(c)
    assert [rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"] for rs in rss] == ["3", "4"]
    assert [rs["spec"]["template"]["spec"]["containers"][0]["image"] for rs in rss] == ["nginx:1.2", "nginx:1.3"]


def test_the_history_rule_sleeps_while_there_are_no_more_old_replicasets_than_the_limit(cluster):
    """Its guard reads the old ReplicaSets' templates only: scaling the Deployment and the
    status updates that follow do not wake it; a new template (one more old ReplicaSet) does."""
    c = cluster
    c.apply(deployment(replicas=2, revisionHistoryLimit=1))
    converge(c)
    make_ready(c)
    converge(c)
    before = c.engine.evaluations["deployment-controller/history"]
    c.apply(deployment(replicas=3, revisionHistoryLimit=1))
    converge(c)
    make_ready(c)
    converge(c)
    assert c.get("Deployment", "web")["status"]["readyReplicas"] == 3
    assert c.engine.evaluations["deployment-controller/history"] == before
    c.apply(deployment(replicas=3, image="nginx:1.28", revisionHistoryLimit=1))
    converge(c)
    assert c.engine.evaluations["deployment-controller/history"] > before


def test_scaling_mid_rollout_spreads_replicas_proportionally(cluster):
    c = cluster
    c.apply(deployment(replicas=10, strategy=rolling(3, 2)))
    converge(c)
    make_ready(c)
    converge(c)
    c.apply(deployment(replicas=10, image="nginx:1.28", strategy=rolling(3, 2)))
    converge(c)  # new pods never become ready: the rollout is stuck at old 8 / new 5
    old, new = replicasets(c)
    assert (old["spec"]["replicas"], new["spec"]["replicas"]) == (8, 5)
    c.apply(deployment(replicas=20, image="nginx:1.28", strategy=rolling(3, 2)))
    converge(c)
    old, new = replicasets(c)
    # 13 → 23 (20 + surge 3): old 8·23/13 = 14.15 → 14, new 5·23/13 = 8.85 → 9
    assert (old["spec"]["replicas"], new["spec"]["replicas"]) == (14, 9)
    for rs in (old, new):
        assert rs["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] == "20"
        assert rs["metadata"]["annotations"]["deployment.kubernetes.io/max-replicas"] == "23"


def test_a_stalled_rollout_reports_progress_deadline_exceeded(cluster):
    c = cluster
    c.apply(deployment(replicas=2, progressDeadlineSeconds=60))
    converge(c, 300)
    d = c.get("Deployment", "web")
    [rs] = replicasets(c)
    progressing = condition(d, "Progressing")
    assert (progressing["status"], progressing["reason"], progressing["message"]) == (
        "False", "ProgressDeadlineExceeded", f'ReplicaSet "{rs["metadata"]["name"]}" has timed out progressing.')


def test_the_deployment_adopts_a_matching_orphan_replicaset_with_its_template(cluster):
    c = cluster
    c.apply(deployment(replicas=2))
    converge(c)
    [rs] = replicasets(c)
    name = rs["metadata"]["name"]
    # orphan it: drop the owner reference; the controller claims it back instead of creating another
    c.patch("ReplicaSet", name, {"metadata": {"ownerReferences": []}})
    converge(c)
    [again] = replicasets(c)
    assert again["metadata"]["name"] == name
    assert len(c.list("ReplicaSet")) == 1


# ------------------------------------------------------------------ end to end

def _recon(*args, cwd):
    proc = subprocess.run([sys.executable, "-m", "engine.cli", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, f"recon {' '.join(args)}: exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


MANIFEST = """\
apiVersion: v1
kind: Namespace
metadata: {{name: shop}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: shop}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec: {{containers: [{{name: web, image: "{image}"}}]}}
"""


def test_recon_up_once_runs_a_deployment_to_replicaset_and_pods_and_rolls_a_new_image(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    for name in ("replicaset", "deployment"):
        shutil.copy(RULES_DIR / f"{name}.rules", rules / f"{name}.rules")
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    (manifests / "web.yaml").write_text(MANIFEST.format(image="nginx:1.27"))
    _recon("up", "manifests", "--once", "--rules", "rules", cwd=tmp_path)

    def get(*args):
        return json.loads(_recon("get", *args, "-n", "shop", "-o", "json", cwd=tmp_path))

    deploy = get("deployment", "web")
    [rs] = get("replicasets")["items"]
    h = rs["metadata"]["labels"]["pod-template-hash"]
    assert rs["metadata"]["name"] == f"web-{h}"
    assert rs["metadata"]["ownerReferences"][0]["uid"] == deploy["metadata"]["uid"]
    pods = get("pods")["items"]
    assert len(pods) == 2
    for p in pods:
        assert re.fullmatch(rf"web-{h}-[bcdfghjklmnpqrstvwxz2456789]{{5}}", p["metadata"]["name"])
        assert p["metadata"]["labels"] == {"app": "web", "pod-template-hash": h}
        assert p["metadata"]["ownerReferences"][0]["uid"] == rs["metadata"]["uid"]

    (manifests / "web.yaml").write_text(MANIFEST.format(image="nginx:1.28"))
    _recon("up", "manifests", "--once", "--rules", "rules", cwd=tmp_path)
    rss = get("replicasets")["items"]
    assert len(rss) == 2
    [new] = [r for r in rss if r["metadata"]["name"] != rs["metadata"]["name"]]
    assert new["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.28"
    assert new["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
    assert new["metadata"]["name"] == "web-" + new["metadata"]["labels"]["pod-template-hash"]
