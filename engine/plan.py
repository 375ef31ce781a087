"""What a change did, or would do: the objects it touched and what followed downstream.

`Recorder` collects, while it is attached to a store, every object a run of
commits touched (with its state before the first of them).  `effects` turns
that into an `Effects` value: Deployments created, scaled or rolled out, the
pods that appeared or went away (their nodes and phases), Endpoints whose
addresses changed and kube-proxy routes whose endpoint counts changed, and
a count of everything else.  The live loop prints it for each applied
change; `make_plan` prints it for a change not yet made.

`make_plan(head, folder, rules_dir)` is `recon diff DIR` and
`recon up --dry-run`: it forks the state (an in-memory `Store` built from
the head snapshot, nothing is written to disk), converges the fork once so
that only the folder's effects remain (not a fresh state: there the fork
starts as `recon up` does, so the names it predicts are the ones made),
applies the folder to it, runs the rules on a simulated clock, and reports
what changed: objects created, changed (a YAML diff) or deleted, then the
downstream effects.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Iterable, Mapping, Set
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import attrs
import yaml

from .history import BlockYAML
from .manifests import LAST_APPLIED, ApplyResult, apply_folder, load_folder, object_ref
from .objects import Key, get_path, thaw

SHORT = {"Deployment": "deploy", "ReplicaSet": "rs", "Pod": "pod", "Service": "svc", "Endpoints": "ep",
         "ConfigMap": "cm", "Namespace": "ns", "Node": "node", "ServiceAccount": "sa", "Secret": "secret",
         "StatefulSet": "sts", "DaemonSet": "ds", "Job": "job", "EndpointSlice": "endpointslice",
         "ReplicationController": "rc"}
PROXY = ("proxy.recon.dev", "ServiceRules")
# Kinds the engine makes or updates as bookkeeping (heartbeats, derived objects, tokens): not worth a
# line of their own (a Deployment's line covers its ReplicaSets; the folder's own objects have theirs).
_QUIET_KINDS = {"Lease", "Event", "EndpointSlice", "ServiceAccount", "Secret", "Node", "Namespace", "ReplicaSet",
                "ServiceRules", "ControllerRevision", "CustomResourceDefinition", "PriorityClass"}


def short_ref(key: Key) -> str:
    """`deploy/web`, `ep/web`, `pod/web-5d4f-abcde`: kubectl's short names."""
    return f"{SHORT.get(key[1], key[1].lower())}/{key[3]}"


# ================================================================ recording


class Recorder:
    """The objects a run of commits touched: key → the object before the first of them (None: absent)."""

    def __init__(self, store: Any):
        self.store = store
        self.first = store.revision
        self.before: dict[Key, Any] = {}
        self.actors: Counter[str] = Counter()

    def __call__(self, snap: Any, events: tuple, record: Any) -> None:
        for event in events:
            self.before.setdefault(event.key, event.old)
        self.actors[record.actor] += 1

    @property
    def last(self) -> int:
        return self.store.revision

    @property
    def revisions(self) -> tuple[int, int] | None:
        """(first, last) revision made while recording, or None if none was."""
        return (self.first + 1, self.last) if self.last > self.first else None


@contextmanager
def recording(store: Any) -> Iterator[Recorder]:
    recorder = Recorder(store)
    store.listeners.append(recorder)
    try:
        yield recorder
    finally:
        store.listeners.remove(recorder)


# ================================================================== effects


@attrs.frozen
class PodChange:
    ref: str
    action: str  # created | deleted
    owner: str  # the workload it belongs to: deploy/web, rs/x, or the pod itself
    node: str  # "" when not scheduled
    phase: str

    def to_json(self) -> dict:
        return attrs.asdict(self)


@attrs.frozen
class Effects:
    """What a run of commits did, per kind, in a few readable lines."""

    lines: tuple[str, ...] = ()
    pods: tuple[PodChange, ...] = ()
    endpoints: tuple[tuple[str, int, int], ...] = ()  # (ep/name, addresses before, after)
    routes: tuple[tuple[str, int, int], ...] = ()  # (service port, endpoints before, after)
    counts: tuple[str, ...] = ()  # the lines of `lines` that only count `endpoints` and `routes`

    def summary(self) -> list[str]:
        """The lines that say what the details (pods, endpoints, routes) do not."""
        return [line for line in self.lines if line not in self.counts]

    def to_json(self) -> dict:
        return {"summary": list(self.lines), "pods": [p.to_json() for p in self.pods],
                "endpoints": [{"object": r, "before": b, "after": a} for r, b, a in self.endpoints],
                "routes": [{"port": r, "before": b, "after": a} for r, b, a in self.routes]}


def effects(before: Mapping[Key, Any], after: Any, shown: Set[Key] = frozenset()) -> Effects:
    """The effects of the commits that took each key of `before` from its value there to `after`.

    `shown`: objects already reported (the folder's own), left out of the count of the rest.
    """
    pods = tuple(_pod_changes(before, after))
    endpoints = tuple(_endpoint_changes(before, after))
    routes = tuple(_route_changes(before, after))
    counts = [f"{ref} {n} address{'es' if n != 1 else ''}" for ref, _, n in endpoints]
    counts += [f"route {port} → {n} endpoint{'s' if n != 1 else ''}" for port, _, n in routes]
    lines = _workload_lines(before, after, pods) + counts + _other_lines(before, after, shown)
    return Effects(tuple(lines), pods, endpoints, routes, tuple(counts))


def _gone(obj: Any) -> bool:
    return obj is None or bool(get_path(obj, "metadata", "deletionTimestamp"))


def _controller(obj: Any) -> tuple[str, str] | None:
    for ref in get_path(obj, "metadata", "ownerReferences") or ():
        if ref.get("controller"):
            return ref.get("kind"), ref.get("name")
    return None


def _owner(pod: Any, key: Key, before: Mapping[Key, Any], after: Any) -> str:
    """The workload a pod belongs to: its ReplicaSet's Deployment when there is one."""
    ctl = _controller(pod)
    if ctl is None:
        return short_ref(key)
    kind, name = ctl
    if kind == "ReplicaSet":
        rs_key = ("apps", "ReplicaSet", key[2], name)
        rs = after.get(rs_key) or before.get(rs_key)
        top = _controller(rs) if rs is not None else None
        if top and top[0] == "Deployment":
            return f"deploy/{top[1]}"
    return f"{SHORT.get(kind, kind.lower())}/{name}"


def _pod_changes(before: Mapping[Key, Any], after: Any) -> Iterable[PodChange]:
    for key, old in sorted(before.items()):
        if key[:2] != ("", "Pod"):
            continue
        new = after.get(key)
        if _gone(old) and not _gone(new):
            yield PodChange(short_ref(key), "created", _owner(new, key, before, after),
                            get_path(new, "spec", "nodeName") or "", get_path(new, "status", "phase") or "Pending")
        elif not _gone(old) and _gone(new):
            yield PodChange(short_ref(key), "deleted", _owner(old, key, before, after),
                            get_path(old, "spec", "nodeName") or "", get_path(old, "status", "phase") or "")


def _replicas(obj: Any) -> int:
    value = get_path(obj, "spec", "replicas")
    return 1 if value is None else value


def _workload_lines(before: Mapping[Key, Any], after: Any, pods: tuple[PodChange, ...]) -> list[str]:
    by_owner: dict[str, list[PodChange]] = {}
    for pod in pods:
        by_owner.setdefault(pod.owner, []).append(pod)
    heads: dict[str, str] = {}
    for key, old in sorted(before.items()):
        if key[:2] == ("apps", "Deployment"):
            head = _deployment_head(key, old, after.get(key))
            if head:
                heads[short_ref(key)] = head
    lines = []
    for owner in sorted(set(heads) | set(by_owner)):
        head = heads.get(owner, owner)
        pods_text = _pods_text(by_owner.get(owner, []))
        lines.append(f"{head}: {pods_text}" if pods_text else head)
    return lines


def _deployment_head(key: Key, old: Any, new: Any) -> str | None:
    ref = short_ref(key)
    if _gone(old) and not _gone(new):
        n = _replicas(new)
        return f"{ref} created ({n} replica{'' if n == 1 else 's'})"
    if not _gone(old) and _gone(new):
        return f"{ref} deleted"
    if old is None or new is None:
        return None
    parts = []
    if _replicas(old) != _replicas(new):
        parts.append(f"scaled {_replicas(old)}→{_replicas(new)}")
    if get_path(old, "spec", "template") != get_path(new, "spec", "template"):
        images = [c.get("image") for c in get_path(new, "spec", "template", "spec", "containers") or ()]
        parts.append("rolling out " + ", ".join(i for i in images if i))
    return f"{ref} {' and '.join(parts)}" if parts else None


def _pods_text(pods: list[PodChange]) -> str:
    created = [p for p in pods if p.action == "created"]
    deleted = [p for p in pods if p.action == "deleted"]
    parts = []
    if created:
        nodes = Counter(p.node or "(unscheduled)" for p in created)
        where = ", ".join(n if c == 1 else f"{n} ×{c}" for n, c in sorted(nodes.items()))
        phases = Counter(p.phase for p in created)
        state = next(iter(phases)) if len(phases) == 1 else ", ".join(f"{c} {ph}" for ph, c in sorted(phases.items()))
        parts.append(f"+{len(created)} pod{'s' if len(created) != 1 else ''} → {where} {state}")
    if deleted:
        parts.append(f"-{len(deleted)} pod{'s' if len(deleted) != 1 else ''}")
    return "; ".join(parts)


def _addresses(ep: Any) -> int:
    if _gone(ep):
        return 0
    return sum(len(s.get("addresses") or ()) for s in ep.get("subsets") or ())


def _endpoint_changes(before: Mapping[Key, Any], after: Any) -> Iterable[tuple[str, int, int]]:
    for key, old in sorted(before.items()):
        if key[:2] == ("", "Endpoints"):
            was, now = _addresses(old), _addresses(after.get(key))
            if was != now or (old is None) != (after.get(key) is None):
                yield short_ref(key), was, now


def _route_counts(obj: Any) -> dict[str, int]:
    """Endpoints (KUBE-SEP chains) each service port of a ServiceRules object routes to."""
    if _gone(obj):
        return {}
    counts = {}
    for port, variants in (get_path(obj, "spec", "ports") or {}).items():
        table = variants.get("*") or next(iter(variants.values()), None) or {}
        counts[port] = sum(1 for c in table.get("chains") or () if c.startswith("KUBE-SEP-"))
    return counts


def _route_changes(before: Mapping[Key, Any], after: Any) -> Iterable[tuple[str, int, int]]:
    for key, old in sorted(before.items()):
        if key[:2] == PROXY:
            was, now = _route_counts(old), _route_counts(after.get(key))
            for port in sorted(set(was) | set(now)):
                if was.get(port, 0) != now.get(port, 0):
                    yield port, was.get(port, 0), now.get(port, 0)


def _other_lines(before: Mapping[Key, Any], after: Any, shown: Set[Key]) -> list[str]:
    """Everything else the engine created, deleted or changed, counted per kind."""
    handled = {("", "Pod"), ("apps", "Deployment"), ("", "Endpoints"), PROXY}
    found: dict[tuple[str, str], list[str]] = {}
    for key, old in sorted(before.items()):
        if key[:2] in handled or key[1] in _QUIET_KINDS or key in shown:
            continue
        new = after.get(key)
        if _gone(old) and not _gone(new):
            action = "created"
        elif not _gone(old) and _gone(new):
            action = "deleted"
        elif old is not None and new is not None and _spec(old) != _spec(new):
            action = "changed"
        else:
            continue
        found.setdefault((key[1], action), []).append(short_ref(key))
    lines = []
    for (kind, action), refs in sorted(found.items()):
        lines += [f"{r} {action}" for r in refs] if len(refs) <= 3 else [f"{len(refs)} {kind} objects {action}"]
    return lines


def _spec(obj: Any) -> Any:
    """What a user sets: everything but status and the metadata the server keeps."""
    return (obj.discard("status").discard("metadata"), get_path(obj, "metadata", "labels"),
            get_path(obj, "metadata", "annotations"))


# ===================================================================== plans


@attrs.frozen
class ObjectDiff:
    action: str  # created | configured | pruned
    ref: str  # deployment.apps/web
    namespace: str
    source: str
    diff: str  # a unified YAML diff (the whole object for created and pruned)

    def to_json(self) -> dict:
        return attrs.asdict(self)


@attrs.frozen
class Plan:
    """What applying a folder now would change, and what would follow."""

    objects: tuple[ObjectDiff, ...]
    effects: Effects
    result: ApplyResult
    converged: bool = True
    message: str = ""

    @property
    def changed(self) -> bool:
        return bool(self.objects)

    def to_json(self) -> dict:
        return {"objects": [o.to_json() for o in self.objects], "effects": self.effects.to_json(),
                "errors": [error_json(e) for e in self.result.errors], "notes": list(self.result.notes),
                "converged": self.converged, "changed": self.changed}


def error_json(error: Any) -> dict:
    return {"path": error.path, "line": error.line, "col": error.col, "message": error.message,
            "source": error.source_line, "text": error.format()}


def _shown(obj: Any) -> str:
    """An object as the diff shows it: YAML, without the bookkeeping of every write."""
    if obj is None:
        return ""
    data = thaw(obj)
    meta = data.get("metadata") or {}
    meta.pop("resourceVersion", None)
    meta.pop("managedFields", None)
    annotations = meta.get("annotations") or {}
    annotations.pop(LAST_APPLIED, None)
    if not annotations:
        meta.pop("annotations", None)
    return yaml.dump(data, Dumper=BlockYAML, default_flow_style=False, sort_keys=True)


def yaml_diff(old: Any, new: Any, old_name: str, new_name: str) -> str:
    lines = difflib.unified_diff(_shown(old).splitlines(), _shown(new).splitlines(), old_name, new_name, lineterm="")
    return "\n".join(lines)


def make_plan(head: Any, folder: Path, rules_dir: Path | None, horizon: float = 60.0) -> Plan:
    """Apply `folder` to a fork of `head` (in memory), run the rules, and say what changed."""
    from .cluster import Cluster
    from .store import Store

    cluster = Cluster(Store(head), rules_dir, simulated=True)
    until = cluster.clock.now() + horizon
    if cluster.engine is not None and _has_run(head):
        cluster.engine.run(until=until)  # what would happen anyway is not the folder's effect
    loaded = load_folder(folder)
    base = cluster.store.head
    with recording(cluster.store) as recorder:
        result = apply_folder(cluster.api, loaded)
        applied = cluster.store.head
        run = cluster.engine.run(until=until) if cluster.engine is not None else None
    objects = []
    for change in result.changes:
        if change.action == "unchanged":
            continue
        old, new = base.get(change.key), applied.get(change.key)
        diff = yaml_diff(old, new, f"live/{object_ref(change.key)}", f"{folder.name}/{change.source}")
        objects.append(ObjectDiff(change.action, object_ref(change.key), change.key[2], change.source, diff))
    found = effects(recorder.before, cluster.store.head, {c.key for c in result.changes})
    converged = run is None or run.converged
    return Plan(tuple(objects), found, attrs.evolve(result, dry_run=True), converged,
                "" if run is None else run.message)


def _has_run(head: Any) -> bool:
    """Whether the state has run before; a fresh one is not converged ahead of the folder.

    `recon up` on a fresh state applies the folder right after the bootstrap
    writes and lets the rules' first round (ServiceAccounts, Endpoints, ...)
    interleave with its effects.  Generated names and uids hang on revision
    numbers, so a fork converged first would predict pods named differently.
    """
    return head is not None and head.revision > 0
