"""rules/garbage-collector.rules and delete propagation in the API server (upstream garbagecollector)."""

from __future__ import annotations

import pytest

from engine.apiserver import APIError


def ref(owner: dict, block: bool = True) -> dict:
    meta = owner["metadata"]
    return {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": meta["name"], "uid": meta["uid"],
            "blockOwnerDeletion": block}


def configmap(cluster, name: str, owners=(), finalizers=()) -> dict:
    meta: dict = {"name": name, "namespace": "demo"}
    if owners:
        meta["ownerReferences"] = [o if "uid" in o and "metadata" not in o else ref(o) for o in owners]
    if finalizers:
        meta["finalizers"] = list(finalizers)
    return cluster.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta})


def names(cluster, kind: str = "ConfigMap") -> list[str]:
    return [o["metadata"]["name"] for o in cluster.list(kind)]


@pytest.fixture
def gc(controller_cluster):
    controller_cluster.load("garbage-collector")
    return controller_cluster


# ------------------------------------------------------------ API server: propagation


def test_delete_without_policy_removes_an_object_without_finalizers_at_once(controller_cluster):
    configmap(controller_cluster, "owner")
    assert controller_cluster.delete("ConfigMap", "owner") is None
    assert controller_cluster.get("ConfigMap", "owner") is None


def test_foreground_delete_marks_the_owner_with_the_foreground_finalizer(controller_cluster):
    configmap(controller_cluster, "owner", finalizers=["example.com/keep"])
    kept = controller_cluster.delete("ConfigMap", "owner", propagation="Foreground")
    assert kept["metadata"]["finalizers"] == ["example.com/keep", "foregroundDeletion"]
    assert kept["metadata"]["deletionTimestamp"] is not None


def test_orphan_delete_marks_the_owner_with_the_orphan_finalizer(controller_cluster):
    configmap(controller_cluster, "owner")
    kept = controller_cluster.delete("ConfigMap", "owner", propagation="Orphan")
    assert kept["metadata"]["finalizers"] == ["orphan"]


def test_background_delete_of_an_orphaning_object_drops_the_orphan_finalizer(controller_cluster):
    configmap(controller_cluster, "owner")
    controller_cluster.delete("ConfigMap", "owner", propagation="Orphan")
    assert controller_cluster.delete("ConfigMap", "owner", propagation="Background") is None


def test_an_unknown_propagation_policy_is_refused_as_invalid(controller_cluster):
    configmap(controller_cluster, "owner")
    with pytest.raises(APIError) as err:
        controller_cluster.delete("ConfigMap", "owner", propagation="Sideways")
    assert err.value.code == 422
    assert 'supported values: "Foreground", "Background", "Orphan", "nil"' in err.value.message
    assert controller_cluster.get("ConfigMap", "owner") is not None


# --------------------------------------------------------------------- collection


def test_dependents_of_a_deleted_owner_are_deleted_in_the_background(gc):
    owner = configmap(gc, "owner")
    configmap(gc, "child-1", [owner])
    configmap(gc, "child-2", [owner])
    configmap(gc, "bystander")
    assert gc.run().converged
    gc.delete("ConfigMap", "owner")
    result = gc.run()
    assert result.converged, result.message
    assert names(gc) == ["bystander"]


def test_a_dependent_whose_owner_never_existed_is_deleted(gc):
    configmap(gc, "stray", [{"apiVersion": "v1", "kind": "ConfigMap", "name": "ghost", "uid": "no-such-uid"}])
    assert gc.run().converged
    assert names(gc) == []


def test_an_owner_of_that_name_with_another_uid_counts_as_gone(gc):
    owner = configmap(gc, "owner")
    configmap(gc, "child", [owner])
    gc.delete("ConfigMap", "owner")
    configmap(gc, "owner")  # recreated: same name, new uid
    assert gc.run().converged
    assert names(gc) == ["owner"]


def test_a_dependent_with_a_live_owner_only_loses_the_reference_to_the_gone_one(gc):
    alive, doomed = configmap(gc, "alive"), configmap(gc, "doomed")
    configmap(gc, "child", [alive, doomed])
    gc.delete("ConfigMap", "doomed")
    assert gc.run().converged
    child = gc.get("ConfigMap", "child")
    assert [r["name"] for r in child["metadata"]["ownerReferences"]] == ["alive"]


def test_an_owner_of_a_kind_the_collector_does_not_know_keeps_its_dependents(gc):
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "name": "w", "uid": "widget-uid"}
    configmap(gc, "child", [widget])
    assert gc.run().converged
    assert names(gc) == ["child"]


def test_a_pod_owned_by_a_deleted_service_is_collected_across_kinds(gc):
    svc = gc.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc", "namespace": "demo"},
                     "spec": {"ports": [{"port": 80}]}})
    gc.create({"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": "p", "namespace": "demo", "ownerReferences": [ref(svc)]},
               "spec": {"containers": [{"name": "c", "image": "nginx"}]}})
    assert gc.run().converged
    assert names(gc, "Pod") == ["p"]
    gc.delete("Service", "svc")
    assert gc.run().converged
    assert names(gc, "Pod") == []


def test_foreground_deletion_keeps_the_owner_until_its_blocking_dependents_are_gone(gc):
    owner = configmap(gc, "owner")
    configmap(gc, "held", [owner], finalizers=["example.com/hold"])
    gc.delete("ConfigMap", "owner", propagation="Foreground")
    assert gc.run().converged
    held, kept = gc.get("ConfigMap", "held"), gc.get("ConfigMap", "owner")
    assert held["metadata"]["deletionTimestamp"] is not None  # the collector deleted it ...
    assert kept["metadata"]["finalizers"] == ["foregroundDeletion"]  # ... and the owner waits for it
    gc.patch("ConfigMap", "held", {"metadata": {"finalizers": None}})
    assert gc.run().converged
    assert names(gc) == []


def test_a_non_blocking_dependent_does_not_hold_a_foreground_owner(gc):
    owner = configmap(gc, "owner")
    loose = ref(owner, block=False)
    configmap(gc, "held", [loose], finalizers=["example.com/hold"])
    gc.delete("ConfigMap", "owner", propagation="Foreground")
    assert gc.run().converged
    assert gc.get("ConfigMap", "owner") is None
    assert gc.get("ConfigMap", "held")["metadata"]["deletionTimestamp"] is not None


def test_foreground_deletion_removes_a_chain_from_the_leaves_up(gc):
    order = []
    gc.store.listeners.append(lambda snap, events, record: order.extend(
        e.key[3] for e in events if e.new is None))
    top = configmap(gc, "top")
    middle = configmap(gc, "middle", [top])
    configmap(gc, "leaf", [middle])
    gc.delete("ConfigMap", "top", propagation="Foreground")
    result = gc.run()
    assert result.converged, result.message
    assert order == ["leaf", "middle", "top"]


def test_orphan_deletion_keeps_the_dependents_without_the_reference(gc):
    owner, other = configmap(gc, "owner"), configmap(gc, "other")
    configmap(gc, "child", [owner, other])
    configmap(gc, "only-child", [owner])
    gc.delete("ConfigMap", "owner", propagation="Orphan")
    assert gc.run().converged
    assert names(gc) == ["child", "only-child", "other"]
    assert [r["name"] for r in gc.get("ConfigMap", "child")["metadata"]["ownerReferences"]] == ["other"]
    assert "ownerReferences" not in gc.get("ConfigMap", "only-child")["metadata"]


def test_deleting_one_owner_evaluates_only_what_it_owned(gc):
    owners = [configmap(gc, f"owner-{i}") for i in range(40)]
    for i, owner in enumerate(owners):
        configmap(gc, f"child-{i}", [owner])
    assert gc.run().converged
    before = gc.engine.total_evaluations
    gc.delete("ConfigMap", "owner-7")
    assert gc.run().converged
    assert gc.get("ConfigMap", "child-7") is None and len(names(gc)) == 78
    assert gc.engine.total_evaluations - before <= 4


def test_a_change_to_an_owner_that_the_collector_does_not_read_wakes_none_of_its_dependents(gc):
    # The collector reads an owner's uid, deletionTimestamp and finalizers: a ReplicaSet's
    # status updates (one per pod started) leave its pods' instances asleep.
    owner = configmap(gc, "owner")
    for i in range(5):
        configmap(gc, f"child-{i}", [owner])
    assert gc.run().converged
    before = gc.engine.evaluations.get("garbage-collector/dependent", 0)
    gc.patch("ConfigMap", "owner", {"data": {"replicas": "5"}, "metadata": {"labels": {"ready": "5"}}})
    assert gc.run().converged
    assert gc.engine.evaluations.get("garbage-collector/dependent", 0) == before
    gc.patch("ConfigMap", "owner", {"metadata": {"finalizers": ["example.com/hold"]}})
    gc.delete("ConfigMap", "owner", propagation="Foreground")  # (held: foregroundDeletion, and its own)
    assert gc.run().converged
    assert gc.engine.evaluations["garbage-collector/dependent"] > before
    assert names(gc) == ["owner"]  # its dependents went first


def test_foreground_deletion_deletes_a_dependent_without_dependents_in_the_background(gc):
    """attemptToDeleteItem: a dependent whose owner waits for it goes in the foreground only when
    it has dependents of its own; a leaf gets no `foregroundDeletion` finalizer."""
    seen: dict[str, list] = {}
    gc.store.listeners.append(lambda snap, events, record: [
        seen.setdefault(e.key[3], []).append(list(e.new["metadata"].get("finalizers") or ()))
        for e in events if e.new is not None])
    top = configmap(gc, "top")
    middle = configmap(gc, "middle", [top], finalizers=["example.com/hold"])
    configmap(gc, "leaf", [middle], finalizers=["example.com/hold"])
    gc.delete("ConfigMap", "top", propagation="Foreground")
    assert gc.run().converged
    assert seen["leaf"] == [["example.com/hold"]] * len(seen["leaf"])  # (at no revision more)
    assert ["example.com/hold", "foregroundDeletion"] in seen["middle"]
    middle, leaf = gc.get("ConfigMap", "middle"), gc.get("ConfigMap", "leaf")
    assert middle["metadata"]["deletionTimestamp"] is not None and leaf["metadata"]["deletionTimestamp"] is not None
    assert middle["metadata"]["finalizers"] == ["example.com/hold", "foregroundDeletion"]
    assert leaf["metadata"]["finalizers"] == ["example.com/hold"]


def test_an_emptied_finalizers_list_is_not_stored(gc):
    """ObjectMeta's finalizers are `omitempty`: removing the last one removes the field."""
    configmap(gc, "kept", finalizers=["example.com/hold"])
    gc.patch("ConfigMap", "kept", {"metadata": {"finalizers": []}})
    assert "finalizers" not in gc.get("ConfigMap", "kept")["metadata"]
    configmap(gc, "new", finalizers=[])
    assert "finalizers" not in gc.get("ConfigMap", "new")["metadata"]
