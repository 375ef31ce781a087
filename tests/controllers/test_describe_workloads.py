"""recon describe of a DaemonSet and a StatefulSet: the fields kubectl's describers print."""

from __future__ import annotations

from engine.describe import describe


def pod_template(name: str, **spec) -> dict:
    return {"metadata": {"labels": {"app": name}},
            "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}], **spec}}


def test_describe_daemonset_counts_nodes_and_pods(controller_cluster):
    c = controller_cluster
    c.load("daemonset")
    for node in ("n1", "n2"):
        c.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": node, "labels": {"disk": "ssd"}}})
    c.create({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent", "namespace": "demo"},
              "spec": {"selector": {"matchLabels": {"app": "agent"}},
                       "template": pod_template("agent", nodeSelector={"disk": "ssd"})}})
    c.run()
    lines = describe(c.store.head, ("apps", "DaemonSet", "demo", "agent")).splitlines()
    fields = {line.split(":")[0]: line.split(":", 1)[1].strip() for line in lines if ":" in line}
    assert fields["Node-Selector"] == "disk=ssd"
    assert fields["Desired Number of Nodes Scheduled"] == "2"
    assert fields["Number of Nodes Misscheduled"] == "0"
    assert fields["Pods Status"] == "0 Running / 2 Waiting / 0 Succeeded / 0 Failed"


def test_describe_statefulset_shows_its_strategy_partition_and_claim_templates(controller_cluster):
    c = controller_cluster
    c.load("statefulset", "persistentvolume")
    claim = {"metadata": {"name": "data"},
             "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}
    c.create({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db", "namespace": "demo"},
              "spec": {"replicas": 2, "serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
                       "template": pod_template("db"), "volumeClaimTemplates": [claim],
                       "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 1}}}})
    c.run()
    lines = describe(c.store.head, ("apps", "StatefulSet", "demo", "db")).splitlines()
    fields = [line.split(":", 1) for line in lines if ":" in line]
    flat = [(k.strip(), v.strip()) for k, v in fields]
    assert ("Replicas", "2 desired | 1 total") in flat  # OrderedReady: db-1 waits for db-0
    assert ("Update Strategy", "RollingUpdate") in flat and ("Partition", "1") in flat
    assert ("Pods Status", "0 Running / 1 Waiting / 0 Succeeded / 0 Failed") in flat
    claims = lines[lines.index("Volume Claims:") + 1:]
    assert [tuple(s.strip() for s in line.split(":", 1)) for line in claims[:4]] == [
        ("Name", "data"), ("StorageClass", "<none>"), ("Capacity", "1Gi"), ("Access Modes", "ReadWriteOnce")]
