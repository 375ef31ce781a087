"""Generate the scale suite's manifests folder: nodes in 3 zones, Deployments with requests, Services.

The scenario of issue 10 is 1,000 nodes, 1,000 Deployments x 10 replicas and
one Service per Deployment; every bench takes the sizes as parameters.

    write_folder(path, nodes=100, deployments=100, replicas=5)

writes path/nodes.yaml and path/apps.yaml (namespace "bench").
"""

from __future__ import annotations

from pathlib import Path

import yaml

NAMESPACE = "bench"
ZONES = ("zone-a", "zone-b", "zone-c")


def node(i: int) -> dict:
    name = f"node-{i:04d}"
    hardware = {"cpu": "16", "memory": "64Gi", "pods": "110", "ephemeral-storage": "100Gi"}
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {
                "kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64", "topology.kubernetes.io/zone": ZONES[i % len(ZONES)]}},
            "status": {"capacity": dict(hardware), "allocatable": dict(hardware)}}


def deployment(i: int, replicas: int, image: str = "nginx:1.27") -> dict:
    app = f"app-{i:04d}"
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": app, "namespace": NAMESPACE, "labels": {"app": app}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": app}},
                     "template": {"metadata": {"labels": {"app": app}}, "spec": {"containers": [{
                         "name": "web", "image": image, "ports": [{"containerPort": 80}],
                         "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}}]}}}}


def service(i: int) -> dict:
    app = f"app-{i:04d}"
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": app, "namespace": NAMESPACE},
            "spec": {"selector": {"app": app}, "ports": [{"port": 80, "targetPort": 80}]}}


def namespace() -> dict:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}


def objects(nodes: int, deployments: int, replicas: int) -> tuple[list[dict], list[dict]]:
    """(node objects, namespace + Deployment + Service objects)."""
    apps = [namespace()]
    for i in range(deployments):
        apps += [deployment(i, replicas), service(i)]
    return [node(i) for i in range(nodes)], apps


def write_folder(path: Path, nodes: int, deployments: int, replicas: int) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    node_objs, app_objs = objects(nodes, deployments, replicas)
    (path / "nodes.yaml").write_text(yaml.safe_dump_all(node_objs, sort_keys=False))
    (path / "apps.yaml").write_text(yaml.safe_dump_all(app_objs, sort_keys=False))
    return path
