"""rules/namespace.rules (upstream pkg/controller/namespace), and `recon up` pruning a namespace."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def ns(controller_cluster):
    controller_cluster.load("namespace")
    return controller_cluster


def fill(cluster, pods: int = 1, configmaps: int = 2, pod_finalizer: str | None = None) -> None:
    for i in range(configmaps):
        cluster.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"cm-{i}", "namespace": "demo"}})
    for i in range(pods):
        meta = {"name": f"pod-{i}", "namespace": "demo"}
        if pod_finalizer:
            meta["finalizers"] = [pod_finalizer]
        cluster.create({"apiVersion": "v1", "kind": "Pod", "metadata": meta,
                        "spec": {"containers": [{"name": "c", "image": "nginx"}]}})
    cluster.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc", "namespace": "demo"},
                    "spec": {"ports": [{"port": 80}]}})


def conditions(namespace: dict) -> dict:
    return {c["type"]: (c["status"], c["reason"], c["message"]) for c in namespace["status"]["conditions"]}


def test_an_active_namespace_is_left_alone(ns):
    fill(ns)
    assert ns.run().converged
    demo = ns.get("Namespace", "demo", "")
    assert demo["status"]["phase"] == "Active" and "conditions" not in demo["status"]
    assert len(ns.list("ConfigMap")) == 2


def test_deleting_a_namespace_deletes_its_content_then_the_namespace(ns):
    fill(ns, pods=2, configmaps=3)
    ns.delete("Namespace", "demo", "")
    assert ns.get("Namespace", "demo", "")["status"]["phase"] == "Terminating"
    result = ns.run()
    assert result.converged, result.message
    assert ns.get("Namespace", "demo", "") is None
    for kind in ("Pod", "ConfigMap", "Service"):
        assert ns.list(kind) == []


def test_pods_go_first_and_the_conditions_say_what_remains(ns):
    fill(ns, pods=1, configmaps=2, pod_finalizer="example.com/hold")
    ns.delete("Namespace", "demo", "")
    assert ns.run().converged
    demo = ns.get("Namespace", "demo", "")
    assert demo["spec"]["finalizers"] == ["kubernetes"]
    assert len(ns.list("ConfigMap")) == 2  # untouched while a pod remains
    assert ns.get("Pod", "pod-0")["metadata"]["deletionTimestamp"] is not None
    found = conditions(demo)
    assert found["NamespaceContentRemaining"] == (
        "True", "SomeResourcesRemain", "Some resources are remaining: pods. has 1 resource instances")
    assert found["NamespaceFinalizersRemaining"] == (
        "True", "SomeFinalizersRemain",
        "Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances")
    assert found["NamespaceDeletionDiscoveryFailure"] == (
        "False", "ResourcesDiscovered", "All resources successfully discovered")
    assert found["NamespaceDeletionContentFailure"][:2] == ("False", "ContentDeleted")
    ns.patch("Pod", "pod-0", {"metadata": {"finalizers": None}})
    assert ns.run().converged
    assert ns.get("Namespace", "demo", "") is None
    assert ns.list("ConfigMap") == []


def test_a_namespace_with_another_finalizer_stays_terminating_once_empty(ns):
    fill(ns, pods=0, configmaps=1)
    ns.patch("Namespace", "demo", {"spec": {"finalizers": ["kubernetes", "example.com/audit"]}}, "", "finalize")
    ns.delete("Namespace", "demo", "")
    assert ns.run().converged
    demo = ns.get("Namespace", "demo", "")
    assert demo["spec"]["finalizers"] == ["example.com/audit"]
    assert conditions(demo)["NamespaceContentRemaining"][:2] == ("False", "ContentRemoved")
    assert ns.list("ConfigMap") == []


# --------------------------------------------------------------------- end to end

NAMESPACE = """
apiVersion: v1
kind: Namespace
metadata: {name: shop}
"""
SHOP = """
apiVersion: v1
kind: Service
metadata: {name: cart, namespace: shop}
spec:
  selector: {app: cart}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: shop}
data: {mode: fast}
"""


def recon(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "engine.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


def get(cwd: Path, *args: str) -> list[dict]:
    out = recon("get", *args, "-o", "json", cwd=cwd).stdout
    doc = json.loads(out)
    return doc.get("items", [doc])


def test_recon_up_empties_and_removes_a_namespace_whose_file_was_pruned(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    for name in ("namespace", "garbage-collector", "serviceaccount", "endpoints", "endpointslice"):
        shutil.copy(REPO / "rules" / f"{name}.rules", rules)
    folder = tmp_path / "manifests"
    folder.mkdir()
    (folder / "namespace.yaml").write_text(textwrap.dedent(NAMESPACE))
    (folder / "shop.yaml").write_text(textwrap.dedent(SHOP))
    recon("up", "manifests", "--once", cwd=tmp_path)
    assert [o["metadata"]["name"] for o in get(tmp_path, "sa", "-n", "shop")] == ["default"]
    assert [o["metadata"]["name"] for o in get(tmp_path, "endpoints", "-n", "shop")] == ["cart"]
    assert len(get(tmp_path, "endpointslices", "-n", "shop")) == 1

    (folder / "namespace.yaml").unlink()
    (folder / "shop.yaml").unlink()
    out = recon("up", "manifests", "--once", cwd=tmp_path).stdout
    assert "namespace/shop pruned" in out
    assert "shop" not in [o["metadata"]["name"] for o in get(tmp_path, "ns")]
    for kind in ("cm", "svc", "endpoints", "endpointslices", "sa", "secrets"):
        assert get(tmp_path, kind, "-n", "shop") == [], kind


def test_remaining_network_policies_and_ingresses_are_named_by_their_irregular_plurals(ns):
    ns.create({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
               "metadata": {"name": "held", "namespace": "demo", "finalizers": ["example.com/hold"]},
               "spec": {"podSelector": {}}})
    ns.create({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
               "metadata": {"name": "held", "namespace": "demo", "finalizers": ["example.com/hold"]},
               "spec": {"defaultBackend": {"service": {"name": "web", "port": {"number": 80}}}}})
    ns.delete("Namespace", "demo", "")
    assert ns.run().converged
    found = conditions(ns.get("Namespace", "demo", ""))
    assert found["NamespaceContentRemaining"][2] == (
        "Some resources are remaining: ingresses.networking.k8s.io has 1 resource instances, "
        "networkpolicies.networking.k8s.io has 1 resource instances")
