"""The garbage collector and the namespace controller over every kind, custom kinds included
(rules/garbage-collector.rules, rules/namespace.rules, rules/examples/webapp.rules)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from engine.reconcile import Engine
from engine.rules import load_rules

REPO = Path(__file__).resolve().parents[2]
WEBAPP_CRD = REPO / "manifests" / "examples" / "webapp-crd.yaml"
GADGET_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "gadgets.example.com"},
    "spec": {"group": "example.com", "scope": "Namespaced",
             "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget"},
             "versions": [{"name": "v1", "served": True, "storage": True,
                           "schema": {"openAPIV3Schema": {"type": "object",
                                                          "x-kubernetes-preserve-unknown-fields": True}}}]},
}


def start(cluster, *files: str) -> None:
    """Run the rule files `files` (paths under rules/) in `cluster`."""
    folder = cluster.tmp_path / "rules"
    folder.mkdir(exist_ok=True)
    for name in files:
        shutil.copy(REPO / "rules" / name, folder / Path(name).name)
    cluster.engine = Engine(cluster.api, load_rules(folder), cluster.clock)


def ref(owner: dict, block: bool = True) -> dict:
    meta = owner["metadata"]
    return {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": meta["name"], "uid": meta["uid"],
            "blockOwnerDeletion": block}


def gadget(cluster, name: str, owners=(), finalizers=()) -> dict:
    meta: dict = {"name": name, "namespace": "demo"}
    if owners:
        meta["ownerReferences"] = [ref(o) for o in owners]
    if finalizers:
        meta["finalizers"] = list(finalizers)
    return cluster.create({"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": meta})


def configmap(cluster, name: str, owners=()) -> dict:
    meta: dict = {"name": name, "namespace": "demo"}
    if owners:
        meta["ownerReferences"] = [ref(o) for o in owners]
    return cluster.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta})


def names(cluster, kind: str) -> list[str]:
    return [o["metadata"]["name"] for o in cluster.list(kind)]


@pytest.fixture
def gc(controller_cluster):
    controller_cluster.create(GADGET_CRD)
    start(controller_cluster, "garbage-collector.rules")
    return controller_cluster


# ------------------------------------------------------------ the WebApp of the guide


def test_deleting_a_webapp_deletes_its_deployment_and_service(controller_cluster):
    cluster = controller_cluster
    cluster.create(yaml.safe_load(WEBAPP_CRD.read_text()))
    start(cluster, "garbage-collector.rules", "examples/webapp.rules")
    cluster.create({"apiVersion": "example.com/v1", "kind": "WebApp",
                    "metadata": {"name": "shop", "namespace": "demo"}, "spec": {"image": "nginx:1.27"}})
    assert cluster.run().converged
    assert names(cluster, "Deployment") == ["shop"] and names(cluster, "Service") == ["shop"]
    cluster.delete("WebApp", "shop")
    result = cluster.run()
    assert result.converged, result.message
    assert cluster.list("WebApp") == []
    assert cluster.list("Deployment") == [] and cluster.list("Service") == []


def test_a_webapp_deleted_in_the_foreground_goes_after_its_deployment(controller_cluster):
    cluster = controller_cluster
    cluster.create(yaml.safe_load(WEBAPP_CRD.read_text()))
    start(cluster, "garbage-collector.rules", "examples/webapp.rules")
    cluster.create({"apiVersion": "example.com/v1", "kind": "WebApp",
                    "metadata": {"name": "shop", "namespace": "demo"}, "spec": {"image": "nginx:1.27"}})
    assert cluster.run().converged
    order = []
    cluster.store.listeners.append(lambda snap, events, record: order.extend(
        e.key[1] for e in events if e.new is None))
    cluster.delete("WebApp", "shop", propagation="Foreground")
    assert cluster.run().converged
    assert order.index("WebApp") > max(order.index("Deployment"), order.index("Service"))
    assert cluster.list("WebApp") == [] and cluster.list("Deployment") == [] and cluster.list("Service") == []


# ---------------------------------------------------------------- custom kinds


def test_a_configmap_owned_by_a_deleted_custom_object_is_collected(gc):
    owner = gadget(gc, "g")
    configmap(gc, "child", [owner])
    assert gc.run().converged
    gc.delete("Gadget", "g")
    assert gc.run().converged
    assert names(gc, "ConfigMap") == []


def test_a_custom_object_owned_by_a_deleted_configmap_is_collected(gc):
    owner = configmap(gc, "owner")
    gadget(gc, "child", [owner])
    gc.delete("ConfigMap", "owner")
    assert gc.run().converged
    assert names(gc, "Gadget") == []


def test_an_owner_of_a_kind_whose_definition_arrives_later_is_then_known_absent(controller_cluster):
    cluster = controller_cluster
    start(cluster, "garbage-collector.rules")
    ghost = {"apiVersion": "example.com/v1", "kind": "Gadget", "name": "g", "uid": "gadget-uid"}
    cluster.create({"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": "child", "namespace": "demo", "ownerReferences": [ghost]}})
    assert cluster.run().converged
    assert names(cluster, "ConfigMap") == ["child"]  # an unknown kind: never collected by mistake
    cluster.create(GADGET_CRD)
    assert cluster.run().converged
    assert names(cluster, "ConfigMap") == []  # a served kind with no such object: gone


def test_orphaning_a_custom_owner_keeps_its_dependents_of_every_kind(gc):
    owner = gadget(gc, "g")
    configmap(gc, "cm", [owner])
    gadget(gc, "sub", [owner])
    gc.delete("Gadget", "g", propagation="Orphan")
    assert gc.run().converged
    assert names(gc, "Gadget") == ["sub"] and names(gc, "ConfigMap") == ["cm"]
    assert "ownerReferences" not in gc.get("ConfigMap", "cm")["metadata"]
    assert "ownerReferences" not in gc.get("Gadget", "sub")["metadata"]


def test_a_cluster_scoped_owner_is_found_whatever_the_dependents_namespace(gc):
    node = gc.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}})
    configmap(gc, "child", [node])
    assert gc.run().converged
    assert names(gc, "ConfigMap") == ["child"]
    gc.delete("Node", "n1", "")
    assert gc.run().converged
    assert names(gc, "ConfigMap") == []


# ------------------------------------------------------------------ incrementality


def test_a_change_to_an_object_without_owners_evaluates_only_its_own_instances(gc):
    owners = [configmap(gc, f"owner-{i}") for i in range(10)]
    for i, owner in enumerate(owners):
        configmap(gc, f"child-{i}", [owner])
    for owner in owners:  # owners held by a finalizer, waiting for their dependents
        gc.patch("ConfigMap", owner["metadata"]["name"], {"metadata": {"finalizers": ["example.com/hold"]}})
        gc.delete("ConfigMap", owner["metadata"]["name"], propagation="Foreground")
    assert gc.run().converged
    assert gc.list("ConfigMap") and all(o["metadata"].get("deletionTimestamp") for o in gc.list("ConfigMap"))
    before = dict(gc.engine.evaluations)
    gc.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "bystander", "namespace": "demo"}})
    gc.patch("ConfigMap", "bystander", {"data": {"a": "b"}})
    assert gc.run().converged
    after = gc.engine.evaluations
    assert after.get("garbage-collector/owner", 0) - before.get("garbage-collector/owner", 0) == 1
    assert after.get("garbage-collector/dependent", 0) - before.get("garbage-collector/dependent", 0) == 1


def test_deleting_one_custom_owner_of_forty_evaluates_a_handful_of_instances(gc):
    owners = [gadget(gc, f"owner-{i}") for i in range(40)]
    for i, owner in enumerate(owners):
        configmap(gc, f"child-{i}", [owner])
    assert gc.run().converged
    before = gc.engine.total_evaluations
    gc.delete("Gadget", "owner-7")
    assert gc.run().converged
    assert gc.get("ConfigMap", "child-7") is None and len(names(gc, "ConfigMap")) == 39
    assert gc.engine.total_evaluations - before <= 2


# ---------------------------------------------------------------- namespace deletion


def test_deleting_a_namespace_deletes_custom_objects_and_names_their_resource(controller_cluster):
    cluster = controller_cluster
    cluster.create(GADGET_CRD)
    start(cluster, "namespace.rules")
    gadget(cluster, "held", finalizers=["example.com/hold"])
    gadget(cluster, "loose")
    configmap(cluster, "cm")
    cluster.create({"apiVersion": "v1", "kind": "Endpoints",
                    "metadata": {"name": "ep", "namespace": "demo", "finalizers": ["example.com/hold"]}})
    cluster.delete("Namespace", "demo", "")
    assert cluster.run().converged
    assert names(cluster, "Gadget") == ["held"] and cluster.list("ConfigMap") == []
    status = cluster.get("Namespace", "demo", "")["status"]
    found = {c["type"]: c["message"] for c in status["conditions"]}
    assert found["NamespaceContentRemaining"] == (
        "Some resources are remaining: endpoints. has 1 resource instances, "
        "gadgets.example.com has 1 resource instances")
    cluster.patch("Gadget", "held", {"metadata": {"finalizers": None}})
    cluster.patch("Endpoints", "ep", {"metadata": {"finalizers": None}})
    assert cluster.run().converged
    assert cluster.get("Namespace", "demo", "") is None
