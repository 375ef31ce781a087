"""Real kubectl (v1.32) and ReplicationControllers against `recon up --serve`: discovery, get, scale,
expose, describe, delete, and the commands that expect the kind served (`apply --prune` with its
default allowlist, `cluster-info dump`)."""

from __future__ import annotations

import json

from http_live import wait_for

NAMESPACE = "rcs"
RC = """\
apiVersion: v1
kind: ReplicationController
metadata:
  name: {name}
  namespace: rcs
spec:
  replicas: {replicas}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      containers:
      - name: app
        image: nginx:1.27
        ports:
        - containerPort: 8080
"""


def setup_namespace(live) -> None:
    if live.kubectl("get", "namespace", NAMESPACE, check=None).returncode != 0:
        live.kubectl("create", "namespace", NAMESPACE)


def write(live, name: str, text: str) -> str:
    path = live.root / name
    path.write_text(text)
    return str(path)


def pods_of(live, app: str) -> list[dict]:
    out = live.kubectl("get", "pods", "-n", NAMESPACE, "-l", f"app={app}", "-o", "json").stdout
    return [p for p in json.loads(out)["items"] if not p["metadata"].get("deletionTimestamp")]


def ready(live, name: str, replicas: int) -> bool:
    out = live.kubectl("get", "rc", name, "-n", NAMESPACE, "-o", "jsonpath={.status.readyReplicas}", check=None)
    return out.stdout == str(replicas) and len(pods_of(live, name)) == replicas


def test_api_resources_lists_replication_controllers_with_scale_and_status(live):
    rows = [line.split() for line in live.kubectl("api-resources").stdout.splitlines()]
    assert ["replicationcontrollers", "rc", "v1", "true", "ReplicationController"] in rows
    code, _, text = live.request("GET", "/api/v1")
    resources = {r["name"]: r for r in json.loads(text)["resources"]}
    assert resources["replicationcontrollers"]["shortNames"] == ["rc"]
    assert resources["replicationcontrollers"]["categories"] == ["all"]
    assert sorted(resources["replicationcontrollers"]["verbs"]) == [
        "create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
    assert resources["replicationcontrollers/scale"]["kind"] == "Scale"
    assert resources["replicationcontrollers/scale"]["group"] == "autoscaling"
    assert resources["replicationcontrollers/status"]["kind"] == "ReplicationController"


def test_kubectl_runs_scales_exposes_and_deletes_a_replication_controller(live):
    setup_namespace(live)
    live.kubectl("apply", "-f", write(live, "rc-web.yaml", RC.format(name="web", replicas=3)))
    wait_for(lambda: ready(live, "web", 3), "three ready pods")
    got = live.kubectl("get", "rc", "web", "-n", NAMESPACE).stdout.splitlines()
    assert got[0].split() == ["NAME", "DESIRED", "CURRENT", "READY", "AGE"]
    assert got[1].split()[:4] == ["web", "3", "3", "3"]
    wide = live.kubectl("get", "rc", "-n", NAMESPACE, "-o", "wide").stdout.splitlines()
    assert wide[0].split() == ["NAME", "DESIRED", "CURRENT", "READY", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"]
    assert wide[1].split()[5:] == ["app", "nginx:1.27", "app=web"]
    stored = json.loads(live.kubectl("get", "rc", "web", "-n", NAMESPACE, "-o", "json").stdout)
    assert stored["spec"]["selector"] == {"app": "web"} and stored["metadata"]["labels"] == {"app": "web"}
    assert "replicationcontroller/web" in live.kubectl("get", "all", "-n", NAMESPACE, "-o", "name").stdout.split()

    assert live.kubectl("scale", "rc", "web", "-n", NAMESPACE, "--replicas=1").stdout.strip() == (
        "replicationcontroller/web scaled")
    wait_for(lambda: ready(live, "web", 1), "one pod left")
    deleted = live.kubectl("get", "events", "-n", NAMESPACE, "--field-selector",
                           "reason=SuccessfulDelete,involvedObject.name=web", "-o", "json").stdout
    assert len(json.loads(deleted)["items"]) == 2

    assert live.kubectl("expose", "rc", "web", "-n", NAMESPACE, "--port=80", "--target-port=8080").stdout.strip() == (
        "service/web exposed")
    service = json.loads(live.kubectl("get", "svc", "web", "-n", NAMESPACE, "-o", "json").stdout)
    assert service["spec"]["selector"] == {"app": "web"}
    assert [(p["port"], p["targetPort"]) for p in service["spec"]["ports"]] == [(80, 8080)]

    described = live.kubectl("describe", "rc", "web", "-n", NAMESPACE).stdout
    assert "Replicas:     1 current / 1 desired" in described
    assert "Pods Status:  1 Running / 0 Waiting / 0 Succeeded / 0 Failed" in described
    assert "SuccessfulCreate" in described and "replication-controller" in described

    assert live.kubectl("delete", "rc", "web", "-n", NAMESPACE).stdout.strip() == (
        'replicationcontroller "web" deleted')
    wait_for(lambda: not pods_of(live, "web"), "the pods to go with their controller")


def test_a_raw_delete_without_options_orphans_the_pods(live):
    setup_namespace(live)
    live.kubectl("apply", "-f", write(live, "rc-keep.yaml", RC.format(name="keep", replicas=2)))
    wait_for(lambda: ready(live, "keep", 2), "two ready pods")
    code, _, _ = live.request("DELETE", f"/api/v1/namespaces/{NAMESPACE}/replicationcontrollers/keep")
    assert code == 200
    wait_for(lambda: live.kubectl("get", "rc", "keep", "-n", NAMESPACE, check=None).returncode != 0, "the rc to go")
    pods = pods_of(live, "keep")
    assert len(pods) == 2 and all(not p["metadata"].get("ownerReferences") for p in pods)
    live.kubectl("delete", "pods", "-n", NAMESPACE, "-l", "app=keep")


def test_apply_prune_with_the_default_allowlist(live):
    setup_namespace(live)
    folder = live.root / "prune"
    folder.mkdir()
    (folder / "rc.yaml").write_text(RC.format(name="pruned", replicas=1).replace(
        "metadata:\n  name: pruned", "metadata:\n  name: pruned\n  labels: {set: prune}"))
    (folder / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: kept, namespace: rcs, "
                                    "labels: {set: prune}}\ndata: {a: b}\n")
    out = live.kubectl("apply", "--prune", "-l", "set=prune", "-f", str(folder))
    assert "replicationcontroller/pruned created" in out.stdout and "configmap/kept created" in out.stdout
    wait_for(lambda: ready(live, "pruned", 1), "the pruned rc's pod")
    (folder / "rc.yaml").unlink()
    out = live.kubectl("apply", "--prune", "-l", "set=prune", "-f", str(folder))
    assert "error retrieving RESTMappings" not in out.stderr
    assert "replicationcontroller/pruned pruned" in out.stdout
    assert live.kubectl("get", "rc", "pruned", "-n", NAMESPACE, check=None).returncode != 0
    wait_for(lambda: not pods_of(live, "pruned"), "the pruned rc's pods to go")


def test_cluster_info_dump_of_a_namespace(live):
    setup_namespace(live)
    live.kubectl("apply", "-f", write(live, "rc-dump.yaml", RC.format(name="dump", replicas=1)))
    wait_for(lambda: ready(live, "dump", 1), "the dump rc's pod")
    target = live.root / "dump"
    live.kubectl("cluster-info", "dump", "--namespaces", NAMESPACE, "--output-directory", str(target), timeout=60)
    dumped = json.loads((target / NAMESPACE / "replication-controllers.json").read_text())
    assert dumped["kind"] == "ReplicationControllerList"
    assert "dump" in [item["metadata"]["name"] for item in dumped["items"]]
    assert (target / "nodes.json").exists() and (target / NAMESPACE / "pods.json").exists()
