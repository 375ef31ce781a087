"""Real kubectl (v1.32) driving a DaemonSet against `recon up --serve` (the example cluster's three nodes)."""

from __future__ import annotations

import json

from http_live import wait_for

DAEMONSET = """\
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: {name}
  namespace: default
spec:
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      containers:
      - name: agent
        image: agent:1
"""

NODE = """\
apiVersion: v1
kind: Node
metadata:
  name: {name}
  labels: {{kubernetes.io/hostname: {name}}}
status:
  capacity: {{cpu: "4", memory: 8Gi, pods: "110"}}
  allocatable: {{cpu: "4", memory: 8Gi, pods: "110"}}
"""


def apply(live, name: str, text: str) -> None:
    path = live.root / name
    path.write_text(text)
    live.kubectl("apply", "-f", str(path))


def pods(live, app: str) -> dict[str, dict]:
    """The running pods of `app` by node (pods being deleted left out)."""
    items = json.loads(live.kubectl("get", "pods", "-l", f"app={app}", "-o", "json").stdout)["items"]
    return {p["spec"].get("nodeName"): p for p in items
            if not p["metadata"].get("deletionTimestamp") and p["status"].get("phase") == "Running"}


def images(live, app: str) -> set[str]:
    return {p["spec"]["containers"][0]["image"] for p in pods(live, app).values()}


def test_kubectl_get_ds_shows_one_ready_pod_per_node(live):
    apply(live, "agent.yaml", DAEMONSET.format(name="agent"))
    out = live.kubectl("rollout", "status", "ds/agent", "--timeout=30s").stdout
    assert 'daemon set "agent" successfully rolled out' in out
    table = live.kubectl("get", "ds", "agent").stdout.splitlines()
    assert table[0].split() == ["NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "NODE", "SELECTOR",
                                "AGE"]
    assert table[1].split()[:7] == ["agent", "3", "3", "3", "3", "3", "<none>"]
    wide = live.kubectl("get", "daemonsets.apps", "agent", "-o", "wide").stdout.splitlines()
    assert wide[1].split()[-3:] == ["agent", "agent:1", "app=agent"]
    assert sorted(pods(live, "agent")) == ["node-1", "node-2", "node-3"]
    assert "daemonset.apps/agent" in live.kubectl("get", "all").stdout


def test_set_image_rolls_and_history_and_undo_go_back(live):
    apply(live, "roll.yaml", DAEMONSET.format(name="roll"))
    live.kubectl("rollout", "status", "ds/roll", "--timeout=30s")
    live.kubectl("set", "image", "ds/roll", "agent=agent:2")
    out = live.kubectl("rollout", "status", "ds/roll", "--timeout=60s").stdout
    assert 'daemon set "roll" successfully rolled out' in out
    assert images(live, "roll") == {"agent:2"}
    history = live.kubectl("rollout", "history", "ds/roll").stdout.split()
    assert history[history.index("CHANGE-CAUSE") + 1:] == ["1", "<none>", "2", "<none>"]
    assert "agent:1" in live.kubectl("rollout", "history", "ds/roll", "--revision=1").stdout
    assert "rolled back" in live.kubectl("rollout", "undo", "ds/roll").stdout
    live.kubectl("rollout", "status", "ds/roll", "--timeout=60s")
    wait_for(lambda: images(live, "roll") == {"agent:1"} and len(pods(live, "roll")) == 3, "the pods of revision 1")
    history = live.kubectl("rollout", "history", "ds/roll").stdout.split()
    assert history[history.index("CHANGE-CAUSE") + 1:] == ["2", "<none>", "3", "<none>"]


def test_rollout_restart_replaces_every_pod(live):
    apply(live, "restart.yaml", DAEMONSET.format(name="restart"))
    live.kubectl("rollout", "status", "ds/restart", "--timeout=30s")
    before = {p["metadata"]["name"] for p in pods(live, "restart").values()}
    live.kubectl("rollout", "restart", "ds/restart")
    live.kubectl("rollout", "status", "ds/restart", "--timeout=60s")
    after = wait_for(lambda: (found := pods(live, "restart")) and len(found) == 3 and not (
        {p["metadata"]["name"] for p in found.values()} & before) and found, "three new pods")
    assert all("kubectl.kubernetes.io/restartedAt" in p["metadata"]["annotations"] for p in after.values())


def test_cordoned_and_new_nodes_run_a_pod_and_deleting_the_daemonset_deletes_them(live):
    live.kubectl("cordon", "node-2")
    try:
        apply(live, "nodes.yaml", DAEMONSET.format(name="nodes"))
        live.kubectl("rollout", "status", "ds/nodes", "--timeout=30s")
        assert sorted(pods(live, "nodes")) == ["node-1", "node-2", "node-3"]
        apply(live, "node-4.yaml", NODE.format(name="node-4"))
        wait_for(lambda: "node-4" in pods(live, "nodes"), "a pod on the new node")
        described = live.kubectl("describe", "ds", "nodes").stdout
        assert "Desired Number of Nodes Scheduled: 4" in described
        assert "SuccessfulCreate" in described and "Created pod: nodes-" in described
        live.kubectl("delete", "ds", "nodes")
        wait_for(lambda: not live.kubectl("get", "pods", "-l", "app=nodes", "-o", "name").stdout, "the pods gone")
        assert "nodes-" not in live.kubectl("get", "controllerrevisions").stdout
    finally:
        live.kubectl("uncordon", "node-2")
        live.kubectl("delete", "node", "node-4", "--ignore-not-found")
