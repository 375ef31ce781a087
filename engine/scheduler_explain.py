"""Explanations of scheduling: why a pod is Pending, or why it landed where it did.

A pod's last attempt as `recon explain` shows it (`explain_scheduling`), or
the attempt recomputed from a stored snapshot without an engine
(`explain_from_snapshot`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from .objects import get_path
from .scheduler import Scheduler, _pending
from .scheduler_attempt import Attempt


def explain_scheduling(engine: Any, namespace: str, name: str) -> str:
    """Why pod NAME is Pending, or why it landed where it did: its last scheduling attempt."""
    key = ("", "Pod", namespace, name)
    pod = engine.api.store.head.get(key)
    scheduler = getattr(engine, "scheduler", None)
    attempt = scheduler.attempts.get(key) if scheduler is not None else None
    if attempt is None:
        return "\n".join([f"pod {namespace}/{name}", *_from_status(pod)])
    return format_attempt(namespace, name, attempt)


def explain_from_snapshot(snapshot: Any, rules: Any, namespace: str, name: str, *,
                          seed: str = "recon", percentage_of_nodes_to_score: int | None = None) -> str:
    """The scheduling explanation of a pending pod, recomputed from a stored snapshot without an engine.

    Runs the filters and scores of `rules` (a RuleSet, e.g. `load_rules(folder)`)
    for the pod on `snapshot` exactly as an attempt at that revision would,
    and formats it like `explain_scheduling`.  The attempt starts at the first
    node by name (a live scheduler's round-robin start is not stored), which
    matters only with 100 nodes or more.  A bound pod is explained from its
    status (its placement attempt is not recomputed: the pod counts on its node
    now).
    """
    pod = snapshot.get(("", "Pod", namespace, name))
    if pod is None or not _pending(pod):
        return "\n".join([f"pod {namespace}/{name}", *_from_status(pod)])
    scheduler = Scheduler(_SnapshotEngine(snapshot, seed), percentage_of_nodes_to_score=percentage_of_nodes_to_score)
    scheduler.set_rules(rules)
    if not scheduler.enabled:
        return "\n".join([f"pod {namespace}/{name}", "no filters or scores in the rules: nothing to explain"])
    attempt = scheduler.attempt(pod, snapshot)
    return format_attempt(namespace, name, attempt, recomputed=True)


class _SnapshotEngine:
    """What `Scheduler.attempt` needs of an engine, answered from one snapshot."""

    def __init__(self, snapshot: Any, seed: str):
        from .kinds import Registry
        self.seed = seed
        self.registry = Registry.for_snapshot(snapshot)
        self.api = _SnapshotAPI(snapshot, self.registry)
        self.clock = _FixedClock(snapshot.time)

    def resolve(self, kind_ref: Any) -> tuple[str, str] | None:
        if kind_ref.group is not None:
            return (kind_ref.group, kind_ref.kind)
        rt = self.registry.find_kind(kind_ref.kind, self.api.store.head)
        return None if rt is None else (rt.group, rt.kind)


class _SnapshotAPI:
    def __init__(self, snapshot: Any, registry: Any):
        self.registry = registry
        self.store = _SnapshotStore(snapshot)


@attrs.frozen
class _SnapshotStore:
    head: Any


@attrs.frozen
class _FixedClock:
    time: float

    def now(self) -> float:
        return self.time


def format_attempt(namespace: str, name: str, attempt: Attempt, recomputed: bool = False) -> str:
    """An attempt as `recon explain` shows it: rejections per node, scores per feasible node, the choice."""
    lines = [f"pod {namespace}/{name}"]
    what = "scheduling attempt recomputed from the snapshot" if recomputed else "last scheduling attempt"
    lines.append(f"{what} at revision {attempt.revision}: "
                 f"{attempt.num_nodes} node(s), {len(attempt.feasible)} feasible")
    if attempt.chosen is not None:
        lines.append(f"{'would be scheduled' if recomputed else 'scheduled'} to {attempt.chosen}")
    else:
        lines.append(f"unschedulable: {attempt.message}")
    if attempt.rejected:
        lines.append("filtered out:")
        for node in sorted(attempt.rejected):
            plugin, reasons = attempt.rejected[node]
            lines.append(f"  {node}: {plugin}: {'; '.join(reasons)}")
    if attempt.scores:
        lines.append("scores (raw → normalized × weight = weighted):")
        ranked = sorted(attempt.scores, key=lambda n: (-attempt.total(n), n))
        for node in ranked:
            mark = "  <- chosen" if node == attempt.chosen else ""
            lines.append(f"  {node}: total {attempt.total(node)}{mark}")
            for line in attempt.scores[node]:
                lines.append(f"    {line.plugin}: {_raw(line.raw)} → {line.normalized} × {line.weight} "
                             f"= {line.weighted}")
    elif attempt.chosen is not None:
        lines.append(f"only {attempt.chosen} passed the filters: not scored")
    return "\n".join(lines)


def _raw(value: Any) -> str:
    if isinstance(value, float) and value == int(value):
        return str(int(value))
    return "-" if value is None else str(value)


def _from_status(pod: Mapping | None) -> list[str]:
    if pod is None:
        return ["not found"]
    node = get_path(pod, "spec", "nodeName")
    cond = next((c for c in get_path(pod, "status", "conditions") or () if c.get("type") == "PodScheduled"), None)
    if node:
        return [f"scheduled to {node} (no attempt recorded in this process)"]
    if cond is not None and cond.get("status") == "False":
        return [f"unschedulable: {cond.get('message')} (the details of the attempt are not recorded)"]
    return ["not scheduled yet"]
