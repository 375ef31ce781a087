"""Shared makers and oracles for the store tests (an independent model of the indexes)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from engine.objects import freeze, key_of
from engine.store import Snapshot


def config_map(name: str, ns: str = "default", **data: str) -> Any:
    return freeze({"apiVersion": "v1", "kind": "ConfigMap",
                   "metadata": {"name": name, "namespace": ns}, "data": data})


def pod(name: str, ns: str = "default", *, labels: dict | None = None, owners: tuple = (),
        node: str | None = None, uid: str | None = None, phase: str = "Running") -> Any:
    meta: dict = {"name": name, "namespace": ns, "labels": labels or {}}
    if uid:
        meta["uid"] = uid
    if owners:
        meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": f"rs-{o}",
                                    "uid": o, "controller": True} for o in owners]
    spec: dict = {"containers": [{"name": "app", "image": "nginx:1.27"}]}
    if node:
        spec["nodeName"] = node
    return freeze({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec,
                   "status": {"phase": phase}})


def expected_indexes(objects: dict) -> dict[str, dict[Any, set]]:
    """Every index, computed by scanning `objects` (key → object)."""
    out: dict[str, dict[Any, set]] = {n: defaultdict(set) for n in ("kind", "ns", "label", "owner", "node", "uid")}
    for key, obj in objects.items():
        group, kind, ns, _ = key
        out["kind"][(group, kind)].add(key)
        out["ns"][(group, kind, ns)].add(key)
        meta = obj.get("metadata") or {}
        for label, value in (meta.get("labels") or {}).items():
            out["label"][(group, kind, label, value)].add(key)
        for ref in meta.get("ownerReferences") or ():
            if ref.get("uid"):
                out["owner"][ref["uid"]].add(key)
        spec = obj.get("spec") or {}
        if spec.get("nodeName"):
            out["node"][spec["nodeName"]].add(key)
        if meta.get("uid"):
            out["uid"][meta["uid"]].add(key)
    return {name: dict(index) for name, index in out.items()}


def snapshot_indexes(snap: Snapshot) -> dict[str, dict[Any, set]]:
    """Every index as the snapshot holds it, read through `Snapshot.index`."""
    return {name: {value: set(snap.index(name, value)) for value in snap.indexes[name].keys()}
            for name in ("kind", "ns", "label", "owner", "node", "uid")}


def assert_indexes_match(snap: Snapshot, objects: dict) -> None:
    want = expected_indexes(objects)
    assert snapshot_indexes(snap) == want
    for (group, kind), keys in want["kind"].items():
        assert snap.keys(group, kind) == sorted(keys)
        assert [key_of(o) for o in snap.list(group, kind)] == sorted(keys)
    for (group, kind, ns), keys in want["ns"].items():
        assert snap.keys(group, kind, ns) == sorted(keys)
    for (group, kind, label, value), keys in want["label"].items():
        assert snap.by_label(group, kind, label, value) == sorted(keys)
    for uid, keys in want["owner"].items():
        assert snap.owned_by(uid) == sorted(keys)
    for node, keys in want["node"].items():
        assert snap.on_node(node) == sorted(keys)
    for uid, keys in want["uid"].items():
        assert snap.by_uid(uid) == objects[min(keys)]
        assert snap.uids.get(uid) == min(keys)
    assert set(snap.uids) == set(want["uid"])
    assert snap.kinds() == sorted(want["kind"])
