"""Builtins for workload controllers (Deployments, ReplicaSets): condition lists.

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
