"""What `recon up` shows in the terminal while it runs, and `recon status`.

A `Reporter` receives what the live loop did — started, converged, applied
a change, restored drift, reloaded rules, failed — and shows it one of
three ways: for people (colour with rich, errors in red on stderr, a
spinner while a large change converges), as one JSON object per line on
stdout (`--json`, for tools and tests), or errors only (`-q`).

`status_text(snapshot)` is `recon status`: the Deployments (StatefulSets and
DaemonSets when there are some), the pods the scheduler could not place (with
its reason), and the nodes.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from typing import Any, TextIO

import attrs

from .manifests import ApplyResult
from .objects import get_path
from .plan import Effects, Plan, error_json
from .printers import render_table


@attrs.frozen
class Batch:
    """One applied change: why, which files, the revisions it made, what followed."""

    trigger: str  # start | files | drift | rules | api (others' writes) | engine (timers)
    files: tuple[str, ...]
    result: ApplyResult
    revisions: tuple[int, int] | None
    effects: Effects
    converged: bool
    message: str
    elapsed: float
    failures: tuple[str, ...] = ()
    failing: tuple = attrs.field(default=(), eq=False)  # who failed where, per failure (`failure_ids`)
    writers: tuple[str, ...] = ()  # who wrote over the API since the change before (trigger `api`)
    # per failure, whether it is the rules' own (`live.rule_error`: an error, which `recon up --once`
    # fails on) rather than a warning (the cluster refused a write, a field the API server drops)
    serious: tuple = attrs.field(default=(), eq=False)

    @property
    def quiet_change(self) -> bool:
        """Nothing to show: no object changed and the engine did nothing worth a line."""
        return not self.effects.lines and not any(c.action != "unchanged" for c in self.result.changes)

    def to_json(self) -> dict:
        return {"trigger": self.trigger, "files": list(self.files), "writers": list(self.writers),
                "revisions": list(self.revisions) if self.revisions else None,
                "changes": [{"action": c.action, "object": _ref(c.key), "source": c.source}
                            for c in self.result.changes if c.action != "unchanged"],
                "errors": [error_json(e) for e in self.result.errors], "notes": list(self.result.notes),
                **self.effects.to_json(), "converged": self.converged, "message": self.message,
                "elapsed": round(self.elapsed, 3), "failures": list(self.failures)}


@attrs.frozen
class Drift:
    """A manifest-owned field that another writer changed (or an object it deleted)."""

    object: str
    actor: str
    fields: tuple[str, ...]  # empty when the object was deleted

    def format(self) -> str:
        what = "deleted" if not self.fields else "changed " + ", ".join(self.fields)
        return f"{self.object}: {what} by {self.actor}"


def _ref(key: Any) -> str:
    from .manifests import object_ref

    return object_ref(key)


def cluster_summary(snapshot: Any) -> dict:
    """Objects by kind, and pods by phase."""
    kinds = Counter(key[1] for group, kind in snapshot.kinds() for key in snapshot.keys(group, kind))
    phases = Counter(get_path(p, "status", "phase") or "Pending" for p in snapshot.list("", "Pod", None))
    return {"revision": snapshot.revision, "objects": dict(sorted(kinds.items())),
            "pods": {"Running": phases.get("Running", 0), "Pending": phases.get("Pending", 0),
                     **{k: v for k, v in phases.items() if k not in ("Running", "Pending")}}}


def apply_errors(result: Any) -> list[str]:
    """An apply's mistakes as `recon up` shows them: each error, then each broken file left as it was."""
    return ([f"error: {error.format()}" for error in result.errors]
            + [f"  {path}: not applied; its last good version stays" for path in sorted(result.bad_files)])


class Reporter:
    """Shows what the live loop does: for people, as JSON lines (`json`), or errors only (`quiet`)."""

    def __init__(self, *, json_lines: bool = False, quiet: bool = False,
                 out: TextIO | None = None, err: TextIO | None = None):
        self.json_lines, self.quiet = json_lines, quiet
        self.out, self.err = out or sys.stdout, err or sys.stderr
        self._console = self._error_console = None
        if not json_lines:
            from rich.console import Console

            self._console = Console(file=self.out, highlight=False, soft_wrap=True)
            self._error_console = Console(file=self.err, highlight=False, soft_wrap=True)

    # ------------------------------------------------------------- output
    def _event(self, event: str, **fields: Any) -> None:
        print(json.dumps({"event": event, **fields}, ensure_ascii=False), file=self.out, flush=True)

    def _say(self, text: str, style: str | None = None) -> None:
        if not self.quiet:
            self._console.print(text, style=style, markup=False)
            self.out.flush()

    def _error(self, text: str) -> None:
        self._error_console.print(text, style="red", markup=False)
        self.err.flush()

    # ------------------------------------------------------------- events
    def started(self, folder: str, rules: str | None, state: str) -> None:
        if self.json_lines:
            return self._event("start", folder=folder, rules=rules, state=state)
        self._say(f"recon up: folder {folder}, rules {rules or '(none: apply only)'}, state {state}", "bold")

    def ready(self, batch: Batch, summary: dict) -> None:
        """The first change (the folder applied at start) and the cluster once converged."""
        if self.json_lines:
            self._event("applied", **batch.to_json())
            return self._event("ready", **summary, elapsed=round(batch.elapsed, 3))
        self._batch(batch, header=False)
        kinds = ", ".join(f"{n} {k}" for k, n in summary["objects"].items())
        pods = summary["pods"]
        self._say(f"converged at revision {summary['revision']} in {batch.elapsed:.2f}s: "
                  f"pods {pods['Running']} Running, {pods['Pending']} Pending", "green")
        self._say(f"  objects: {kinds}", "dim")
        if not self.quiet:
            print("recon is running; press Ctrl-C to stop", file=self.err, flush=True)

    def applied(self, batch: Batch) -> None:
        if self.json_lines:
            return self._event("applied", **batch.to_json())
        self._batch(batch, header=True)

    def _batch(self, batch: Batch, header: bool) -> None:
        if header and (batch.revisions or batch.result.errors or not batch.quiet_change):
            files = ", ".join(batch.files) or (f"api: {', '.join(batch.writers)}" if batch.trigger == "api"
                                               else batch.trigger)
            revs = (("revision {}" if batch.revisions[0] == batch.revisions[1] else "revisions {}–{}")
                    .format(*batch.revisions) if batch.revisions
                    else "nothing applied" if batch.result.errors else "no changes")
            self._say(f"── {files} ({revs})", "bold cyan")
        for change in batch.result.changes:
            if change.action != "unchanged":
                self._say(f"  {change.format()}")
        for line in batch.effects.lines:
            self._say(f"  {line}")
        for note in batch.result.notes:
            self._say(f"  note: {note}", "yellow")
        for line in apply_errors(batch.result):
            self._error(line)
        for i, failure in enumerate(batch.failures):
            if not self.quiet:
                self._error(f"warning: {failure}")
            elif i < len(batch.serious) and batch.serious[i]:  # (errors only: as `recon up --once -q`)
                self._error(f"error: {failure}")
        if not batch.converged:
            self._error(f"error: did not converge: {batch.message}")
        elif header and batch.revisions:
            self._say(f"  converged in {batch.elapsed:.2f}s", "green")

    def drifted(self, drifts: Sequence[Drift]) -> None:
        if self.json_lines:
            return self._event("drift", objects=[attrs.asdict(d) for d in drifts])
        for drift in drifts:
            self._say(f"drift: {drift.format()}; restoring the manifest's version", "yellow")

    def rules_reloaded(self, errors: Sequence[Any]) -> None:
        if self.json_lines:
            return self._event("rules", errors=[error_json(e) for e in errors])
        for error in errors:
            self._error(f"error: {error.format()}")
        self._say("rules reloaded" + (" (broken files keep their last good version)" if errors else ""), "bold")

    def warning(self, message: str) -> None:
        if self.json_lines:
            return self._event("warning", message=message)
        if not self.quiet:  # (errors only)
            self._error(f"warning: {message}")

    def stopped(self, revision: int) -> None:
        if self.json_lines:
            return self._event("stopped", revision=revision)
        self._say(f"stopped at revision {revision}; the state is saved", "bold")

    @contextmanager
    def converging(self, label: str) -> Iterator[None]:
        """A spinner while a change converges (people, on a terminal only)."""
        if self.json_lines or self.quiet or not self._console.is_terminal:
            with nullcontext():
                yield
            return
        with self._console.status(label):
            yield


# =================================================================== status


def _condition(obj: Any, kind: str) -> Any:
    for cond in get_path(obj, "status", "conditions") or ():
        if cond.get("type") == kind:
            return cond
    return None


# The other workload kinds `recon status` shows when there are some: title, kind, and the columns
# after NAMESPACE and NAME as (header, status field or a function of the object).
_WORKLOADS = (
    ("StatefulSets", "StatefulSet", [
        ("READY", lambda o: f"{get_path(o, 'status', 'readyReplicas') or 0}/{get_path(o, 'spec', 'replicas')}"),
        ("UP-TO-DATE", "updatedReplicas"), ("AVAILABLE", "availableReplicas")]),
    ("DaemonSets", "DaemonSet", [
        ("DESIRED", "desiredNumberScheduled"), ("CURRENT", "currentNumberScheduled"), ("READY", "numberReady"),
        ("UP-TO-DATE", "updatedNumberScheduled"), ("AVAILABLE", "numberAvailable")]),
)


def _workload_sections(snapshot: Any) -> list[str]:
    sections = []
    for title, kind, columns in _WORKLOADS:
        rows = [[get_path(o, "metadata", "namespace"), get_path(o, "metadata", "name"),
                 *(str(field(o) if callable(field) else get_path(o, "status", field) or 0) for _, field in columns)]
                for o in snapshot.list("apps", kind, None)]
        if rows:
            sections.append(f"{title}\n" + render_table(["NAMESPACE", "NAME", *(h for h, _ in columns)], rows))
    return sections


def status_text(snapshot: Any) -> str:
    """`recon status`: Deployments (StatefulSets and DaemonSets when there are some), pods waiting to be
    scheduled (and why), nodes."""
    sections = []
    deploys = snapshot.list("apps", "Deployment", None)
    rows = [[get_path(d, "metadata", "namespace"), get_path(d, "metadata", "name"),
             f"{get_path(d, 'status', 'readyReplicas') or 0}/{get_path(d, 'spec', 'replicas')}",
             str(get_path(d, "status", "updatedReplicas") or 0), str(get_path(d, "status", "availableReplicas") or 0)]
            for d in deploys]
    sections.append("Deployments\n" + (render_table(["NAMESPACE", "NAME", "READY", "UP-TO-DATE", "AVAILABLE"], rows)
                                         if rows else "  (none)"))
    sections += _workload_sections(snapshot)
    pending = [p for p in snapshot.list("", "Pod", None) if (get_path(p, "status", "phase") or "Pending") == "Pending"]
    rows = []
    for pod in pending:
        cond = _condition(pod, "PodScheduled") or {}
        scheduled = cond.get("status") == "True"
        reason = "Scheduled" if scheduled else cond.get("reason") or "Waiting"
        message = (f"on {get_path(pod, 'spec', 'nodeName')}, starting" if scheduled
                   else cond.get("message") or "not yet considered by the scheduler")
        rows.append([get_path(pod, "metadata", "namespace"), get_path(pod, "metadata", "name"), reason, message])
    sections.append("Pending pods\n" + (render_table(["NAMESPACE", "NAME", "REASON", "MESSAGE"], rows)
                                          if rows else "  (none)"))
    rows = []
    for node in snapshot.list("", "Node", None):
        name = get_path(node, "metadata", "name")
        ready = _condition(node, "Ready") or {}
        status = {"True": "Ready", "False": "NotReady"}.get(ready.get("status"), "Unknown")
        if get_path(node, "spec", "unschedulable"):
            status += ",SchedulingDisabled"
        pressure = [c.get("type") for c in get_path(node, "status", "conditions") or ()
                    if c.get("type") != "Ready" and c.get("status") == "True"]
        pods = len(snapshot.on_node(name)) if hasattr(snapshot, "on_node") else 0
        rows.append([name, status, ", ".join(pressure) or "-", str(pods), ready.get("message") or ""])
    sections.append("Nodes\n" + (render_table(["NAME", "STATUS", "PRESSURE", "PODS", "MESSAGE"], rows)
                                   if rows else "  (none)"))
    return "\n\n".join(sections) + "\n"


def plan_text(plan: Plan, dry_run: bool = False) -> str:
    """`recon diff DIR`: each object's YAML diff, then the downstream effects."""
    out = []
    for obj in plan.objects:
        out.append(f"{obj.ref} {obj.action}" + (" (dry run)" if dry_run else "")
                   + (f" (from {obj.source})" if obj.source else ""))
        if obj.diff:
            out.append(obj.diff)
        out.append("")
    if plan.effects.lines or plan.effects.pods:
        out.append("downstream effects:")
        out += [f"  {line}" for line in plan.effects.summary()]  # (the counts: below, before → after)
        for pod in plan.effects.pods:
            where = f" → {pod.node}" if pod.node else " (not scheduled)"
            sign = "+" if pod.action == "created" else "-"
            out.append(f"  {sign} {pod.ref}{where if pod.action == 'created' else ''} {pod.phase}".rstrip())
        for ref, was, now in plan.effects.endpoints:
            out.append(f"  {ref}: {was} → {now} addresses")
        for port, was, now in plan.effects.routes:
            out.append(f"  route {port}: {was} → {now} endpoints")
    if not plan.converged:
        out.append(f"warning: the plan did not converge: {plan.message}")
    return "\n".join(out).rstrip("\n") + ("\n" if out else "")
