"""Graceful deletion and finalizers, as kube-apiserver's generic registry does it.

`plan_delete` decides what a delete request does to a stored object:

- an object with finalizers is marked (`deletionTimestamp` now,
  `deletionGracePeriodSeconds` 0, generation+1) and stays until an update
  empties its finalizers (`removed_by_update`);
- a Pod is deleted gracefully: bound to a node, it gets `deletionTimestamp`
  = now + grace (the request's, else its terminationGracePeriodSeconds) and
  disappears when deleted again with grace 0 (the kubelet's confirmation);
  unbound or finished, it goes at once;
- deleting an object already being deleted changes nothing, unless the
  request shortens its grace period;
- a Namespace turns `Terminating` first and goes once its finalizers are gone;
- the request's propagation policy decides the garbage-collection finalizers
  (deletionFinalizersForGarbageCollection): `Orphan` puts `orphan` on the
  object, `Foreground` puts `foregroundDeletion`, `Background` removes both,
  and no policy keeps what the object has; without either, a
  ReplicationController orphans its pods (its v1 DefaultGarbageCollectionPolicy,
  kept for compatibility) and every other kind defaults to Background.

Each plan is `("delete", None)`, `("put", new)` or `("noop", old)`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .kinds import ResourceType
from .objects import freeze, get_path, set_path
from .timeutil import format_time, parse_time

IMMORTAL_NAMESPACES = ("default", "kube-system", "kube-public")
ORPHAN = "orphan"
FOREGROUND = "foregroundDeletion"
PROPAGATION_POLICIES = ("Foreground", "Background", "Orphan")
# Kinds whose DefaultGarbageCollectionPolicy is OrphanDependents: a delete that names no policy
# leaves their dependents (upstream keeps it for core/v1 ReplicationControllers).
ORPHAN_BY_DEFAULT = frozenset({("", "ReplicationController")})

Plan = tuple[str, Any]


def pod_grace_period(pod: Mapping, requested: int | None) -> int:
    """podStrategy.CheckGracefulDelete: the grace period a pod delete gets."""
    period = requested if requested is not None else get_path(pod, "spec", "terminationGracePeriodSeconds") or 0
    if not get_path(pod, "spec", "nodeName"):
        period = 0
    if get_path(pod, "status", "phase") in ("Failed", "Succeeded"):
        period = 0
    return 1 if period < 0 else period


def _with_meta(obj: Mapping, **fields: Any) -> Mapping:
    for field, value in fields.items():
        obj = set_path(obj, ("metadata", field), value)
    return obj


def _bumped(obj: Mapping) -> int | None:
    generation = get_path(obj, "metadata", "generation")
    return generation + 1 if generation else generation


def mark_as_deleting(obj: Mapping, now: float) -> Mapping:
    """markAsDeleting: deletionTimestamp now (never later), grace 0, generation bumped once."""
    stamp = get_path(obj, "metadata", "deletionTimestamp")
    if stamp is None:
        obj = _with_meta(obj, generation=_bumped(obj))
    if stamp is None or parse_time(stamp) > now:
        obj = _with_meta(obj, deletionTimestamp=format_time(now))
    return _with_meta(obj, deletionGracePeriodSeconds=0)


def _graceful(rt: ResourceType, obj: Mapping, requested: int | None, now: float) -> tuple[Mapping, int] | None:
    """(marked object, grace) when this delete is graceful; None when it is not (BeforeDelete)."""
    stamp = get_path(obj, "metadata", "deletionTimestamp")
    if stamp is not None:
        current = get_path(obj, "metadata", "deletionGracePeriodSeconds")
        if not current:
            return None
        if requested is None or requested >= current:
            return obj, -1  # pending: nothing to do
        moved = format_time(parse_time(stamp) - current + requested)
        return _with_meta(obj, deletionTimestamp=moved, deletionGracePeriodSeconds=requested), requested
    if (rt.group, rt.kind) != ("", "Pod"):
        return None
    grace = pod_grace_period(obj, requested)
    marked = _with_meta(obj, deletionTimestamp=format_time(now + grace), deletionGracePeriodSeconds=grace,
                        generation=_bumped(obj))
    return marked, grace


def gc_finalizers(obj: Mapping, propagation: str | None) -> Mapping:
    """OBJ with the garbage-collection finalizers a delete with PROPAGATION asks for.

    Other finalizers keep their order, `orphan` then `foregroundDeletion` are
    appended; OBJ itself comes back when the set does not change.
    """
    current = list(get_path(obj, "metadata", "finalizers") or ())
    if propagation is None:
        return obj
    wanted = [f for f in current if f not in (ORPHAN, FOREGROUND)]
    if propagation == "Orphan":
        wanted.append(ORPHAN)
    elif propagation == "Foreground":
        wanted.append(FOREGROUND)
    if set(wanted) == set(current):
        return obj
    return _with_meta(obj, finalizers=freeze(wanted) if wanted else None)


def plan_delete(rt: ResourceType, obj: Mapping, requested: int | None, now: float,
                propagation: str | None = None) -> Plan:
    if (rt.group, rt.kind) == ("", "Namespace"):
        return _plan_namespace_delete(rt, obj, now)
    if propagation is None and (rt.group, rt.kind) in ORPHAN_BY_DEFAULT and not (
            {ORPHAN, FOREGROUND} & set(get_path(obj, "metadata", "finalizers") or ())):
        propagation = "Orphan"
    updated = gc_finalizers(obj, propagation)
    finalizers = get_path(updated, "metadata", "finalizers")
    graceful = _graceful(rt, updated, requested, now)
    if graceful is None:
        return ("put", mark_as_deleting(updated, now)) if finalizers else ("delete", None)
    marked, grace = graceful
    if grace < 0:
        return "noop", obj  # a graceful deletion is pending: the request changes nothing
    if finalizers or grace > 0:
        return "put", marked
    return "delete", None


def _plan_namespace_delete(rt: ResourceType, ns: Mapping, now: float) -> Plan:
    if get_path(ns, "metadata", "deletionTimestamp") is None:
        marked = _with_meta(ns, deletionTimestamp=format_time(now))
        return "put", set_path(marked, ("status", "phase"), "Terminating")
    if get_path(ns, "spec", "finalizers"):
        return "noop", ns
    if get_path(ns, "metadata", "finalizers"):
        return "put", mark_as_deleting(ns, now)
    return "delete", None


def removed_by_update(rt: ResourceType, old: Mapping, new: Mapping) -> bool:
    """ShouldDeleteDuringUpdate: the update emptied the finalizers of an object being deleted."""
    if get_path(old, "metadata", "deletionTimestamp") is None or get_path(new, "metadata", "finalizers"):
        return False
    if (rt.group, rt.kind) == ("", "Namespace") and get_path(new, "spec", "finalizers"):
        return False
    return not get_path(old, "metadata", "deletionGracePeriodSeconds")
