"""VolumeBinding's Reserve and PreBind: the scheduler takes volumes for the claims of the pod it binds.

A claim of a WaitForFirstConsumer class waits for its pod's node.  The
filter (rules/scheduler/volume_binding.rules) finds the nodes where each of
the pod's unbound claims could be met; once the scheduler has chosen one,
`volume_requests` says how, as upstream's volume binder does
(FindPodVolumes' findMatchingVolumes, then AssumePodVolumes and
bindAPIUpdate):

- the claims, smallest request first, each take the smallest volume of
  their class that is free (Available, no claimRef, not being deleted), big
  enough, of their volume mode and access modes, picked by their selector,
  whose nodeAffinity admits the node, and that no claim before them took; a
  volume already reserved for the claim (its claimRef) is taken first (the
  filter's `unmet_claims` made sure that the node has them);
- a volume taken gets the claim's claimRef (and
  pv.kubernetes.io/bound-by-controller); the PersistentVolume controller
  then binds the claim to it (rules/persistentvolume.rules, `reserved`);
- a claim left without a volume, of a class that provisions, gets
  volume.kubernetes.io/selected-node: the controller hands it to the
  provisioner for that node.

The scheduler writes these in the transaction of the pod's Binding, so the
next pod's attempt already sees the volumes taken: the work of upstream's
assume cache.  A claim that already names a volume or a node, or whose
class binds at once, is the controller's alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .dsl.builtins import matches, qty
from .dsl.builtins_scheduling import volume_admits, volume_order
from .objects import freeze, get_path, set_path
from .request import Request
from .storage import claim_class, volume_class

SELECTED_NODE = "volume.kubernetes.io/selected-node"
NO_PROVISIONER = ("", "kubernetes.io/no-provisioner")


def claims_of(pod: Mapping) -> list[str]:
    """The names of the claims the pod's volumes use, in volume order."""
    return [name for v in get_path(pod, "spec", "volumes") or ()
            if (name := get_path(v, "persistentVolumeClaim", "claimName"))]


def volume_requests(snap: Any, pod: Mapping, node_name: str) -> list[Request]:
    """The writes that reserve volumes on `node_name` for the pod's waiting claims (none if it has
    none: a pod without claims costs one look at its volumes)."""
    names = claims_of(pod)
    if not names:
        return []
    namespace = pod["metadata"]["namespace"]
    waiting = []
    for name in dict.fromkeys(names):
        pvc = snap.get(("", "PersistentVolumeClaim", namespace, name))
        if pvc is None or get_path(pvc, "spec", "volumeName") or get_path(pvc, "metadata", "deletionTimestamp") \
                or SELECTED_NODE in (get_path(pvc, "metadata", "annotations") or {}):
            continue
        sc = snap.get(("storage.k8s.io", "StorageClass", "", claim_class(pvc)))
        if sc is not None and sc.get("volumeBindingMode") == "WaitForFirstConsumer":
            waiting.append((pvc, sc))
    if not waiting:
        return []
    node = snap.get(("", "Node", "", node_name))
    waiting.sort(key=lambda pair: qty(get_path(pair[0], "spec", "resources", "requests", "storage")))  # (stable)
    volumes = sorted(snap.list("", "PersistentVolume", None), key=volume_order)
    taken: set[str] = set()
    requests = []
    for pvc, sc in waiting:
        pv = matching_volume(pvc, volumes, node, taken)
        if pv is not None:
            taken.add(pv["metadata"]["name"])
            if not _reserved_for(pv, pvc):
                requests.append(_update(pv, _claim_ref(pv, pvc)))
        elif (sc.get("provisioner") or "") not in NO_PROVISIONER:
            requests.append(_update(pvc, set_path(pvc, ("metadata", "annotations", SELECTED_NODE), node_name)))
    return requests


def matching_volume(pvc: Mapping, volumes: list, node: Mapping | None, taken: set) -> Mapping | None:
    """FindMatchingVolume: the volume reserved for the claim that admits the node, else the smallest
    free one that fits it there (`volumes` in (capacity, name) order); None if there is none."""
    request = qty(get_path(pvc, "spec", "resources", "requests", "storage"))
    mode = get_path(pvc, "spec", "volumeMode") or "Filesystem"
    modes = get_path(pvc, "spec", "accessModes") or ()
    selector = get_path(pvc, "spec", "selector")
    klass = claim_class(pvc)
    best = None
    for pv in volumes:
        name = pv["metadata"]["name"]
        if name in taken or get_path(pv, "metadata", "deletionTimestamp") or not volume_admits(pv, node):
            continue
        if _reserved_for(pv, pvc):
            return pv
        if best is not None or get_path(pv, "spec", "claimRef") is not None \
                or get_path(pv, "status", "phase") != "Available":
            continue
        if (volume_class(pv) == klass and qty(get_path(pv, "spec", "capacity", "storage")) >= request
                and (get_path(pv, "spec", "volumeMode") or "Filesystem") == mode
                and all(m in (get_path(pv, "spec", "accessModes") or ()) for m in modes)
                and (selector is None or matches(selector, pv))):
            best = pv
    return best


def _reserved_for(pv: Mapping, pvc: Mapping) -> bool:
    """Is the volume's claimRef this claim (by namespace and name, and uid when it has one)?"""
    ref = get_path(pv, "spec", "claimRef")
    meta = pvc["metadata"]
    return (ref is not None and ref.get("name") == meta["name"] and ref.get("namespace") == meta["namespace"]
            and (not ref.get("uid") or ref.get("uid") == meta.get("uid")))


def _claim_ref(pv: Mapping, pvc: Mapping) -> Mapping:
    """GetBindVolumeToClaim: the volume with the claim's reference, marked as bound by the controller."""
    meta = pvc["metadata"]
    ref = {"kind": "PersistentVolumeClaim", "namespace": meta["namespace"], "name": meta["name"],
           "uid": meta.get("uid"), "apiVersion": "v1"}
    pv = set_path(pv, ("spec", "claimRef"), freeze({k: v for k, v in ref.items() if v is not None}))
    return set_path(pv, ("metadata", "annotations", "pv.kubernetes.io/bound-by-controller"), "yes")


def _update(old: Mapping, new: Mapping) -> Request:
    meta = old["metadata"]
    group, _, _version = old["apiVersion"].rpartition("/")
    return Request("update", group, old["kind"], meta.get("namespace") or "", meta["name"], body=new)
