"""Builtins for workload controllers (Deployments, ReplicaSets, DaemonSets): condition lists, daemon tolerations.

Primitives only: the Deployment controller's rules decide which condition
holds; these functions only know how upstream edits a condition list.
"""

from __future__ import annotations

from pyrsistent import freeze

from engine import timeutil

from .builtins import _map, _section, _seq, builtin

_section("Workloads")


@builtin()
def with_reason(conditions, cond, now):
    """CONDITIONS with COND set as deploymentutil.SetDeploymentCondition does: unchanged (CONDITIONS itself) while the entry of its type keeps its status and reason; else the old entry is dropped and COND appended with lastUpdateTime NOW, and lastTransitionTime kept while the status is unchanged (else COND's own, else NOW).

    with_reason(d.status.conditions, {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable", "message": "…"}, now) → [{…}]
    """
    items, cond = _seq(conditions), _map(cond)
    kind = cond.get("type")
    if not kind:
        raise ValueError(f"with_reason: the condition needs a type, got {cond!r}")
    current = next((c for c in items if _map(c).get("type") == kind), None)
    if current is not None and current.get("status") == cond.get("status") and current.get("reason") == cond.get("reason"):
        return conditions
    stamp = timeutil.format_time(now)
    since = cond.get("lastTransitionTime") or stamp
    if current is not None and current.get("status") == cond.get("status") and current.get("lastTransitionTime"):
        since = current["lastTransitionTime"]
    entry = freeze(dict(cond.items())).set("lastUpdateTime", stamp).set("lastTransitionTime", since)
    return tuple(c for c in items if _map(c).get("type") != kind) + (entry,)


# Every DaemonSet pod tolerates these, forever (util.AddOrUpdateDaemonPodTolerations): node
# problems must not evict it, and the conditions that taint a node must not keep it off.
_DAEMON_TOLERATIONS = tuple(freeze([
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
]))
_HOST_NETWORK_TOLERATION = freeze({"key": "node.kubernetes.io/network-unavailable", "operator": "Exists",
                                   "effect": "NoSchedule"})
_daemon_cache: dict[int, tuple] = {}


def _same_toleration(a, b) -> bool:
    """Toleration.MatchToleration: the same key, operator, value and effect."""
    return all((_map(a).get(f) or "") == (_map(b).get(f) or "") for f in ("key", "operator", "value", "effect"))


@builtin()
def daemon_tolerations(spec):
    """The tolerations of a DaemonSet's pod of template spec SPEC (AddOrUpdateDaemonPodTolerations): SPEC's, each that matches one of the daemon tolerations (same key, operator, value and effect) replaced by it, then the others appended: not-ready and unreachable NoExecute without tolerationSeconds; disk, memory and PID pressure and unschedulable NoSchedule; network-unavailable NoSchedule with hostNetwork. The same SPEC gives the same list.

    daemon_tolerations(ds.spec.template.spec) → [{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"}, …]
    """
    found = _daemon_cache.get(id(spec))
    if found is not None and found[0] is spec:
        return found[1]
    spec_map = _map(spec)
    wanted = _DAEMON_TOLERATIONS + ((_HOST_NETWORK_TOLERATION,) if spec_map.get("hostNetwork") is True else ())
    own = tuple(_seq(spec_map.get("tolerations")))
    result = tuple(next((w for w in wanted if _same_toleration(w, t)), t) for t in own) + tuple(
        w for w in wanted if not any(_same_toleration(w, t) for t in own))
    if len(_daemon_cache) > 10_000:
        _daemon_cache.clear()
    _daemon_cache[id(spec)] = (spec, result)
    return result
