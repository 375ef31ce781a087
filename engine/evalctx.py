"""What a rule sees while it is evaluated: one snapshot, read through indexes.

`EvalContext` is the `ctx` of compiled rules.  Reads (`query`, `lookup`)
go through the snapshot's indexes and leave dependencies behind; writes
(`set`, `create`, `delete`, `requeue`) and events are only collected — the
engine submits them after the round.  A `create` names its objects here, so
that `create … as p` can tell the rest of the rule (an event's message) who
they are.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
from pyrsistent import pset

from .deletion import gc_finalizers
from .events import Emitted, object_reference
from .dsl import runtime as R
from .dsl.builtins import _as_selector as selector_of  # so the planner reads selectors as matches() does
from .dsl.builtins import _labels_of as labels_of
from .kinds import CRD_GROUP, CRD_KIND, Registry
from .objects import Key, key_of
from .strategy import scale_of as scale_view
from .writes import build_created_objects

_NONE = pset()


@attrs.frozen
class SetWrite:
    key: Key
    path: tuple
    value: Any
    line: int


@attrs.frozen
class CreateWrite:
    kind: Any  # KindRef
    count: int
    template: Any
    options: Mapping
    line: int
    objects: tuple = ()  # the named objects, ready for the API server


@attrs.frozen
class DeleteWrite:
    key: Key
    line: int
    grace_period: int | None = None
    propagation: str | None = None


_NO_TARGET = object()


class EvalContext:
    """The reads and writes of one evaluation of one rule instance."""

    __slots__ = ("engine", "snap", "deps", "writes", "events", "clockwatch", "requeue_at", "now", "_t", "inst",
                 "dormant", "indexed", "_set_target", "_set_key", "create_cap", "_creating", "_cut")

    def __init__(self, engine: Any, snap: Any, now: float, inst: tuple | None = None):
        self.engine = engine
        self.snap = snap
        self.inst = inst  # (rule, anchor key): what generated names derive from
        self.deps: set[tuple] = set()
        self.writes: list[Any] = []
        self.events: list[Emitted] = []  # recorded only if the writes go through
        self.clockwatch = R.Clockwatch()
        self.requeue_at: float | None = None
        self.dormant = 0  # its rule's `where` failed (1) or its guard (2): nothing past it was read
        self.indexed: set | None = None  # where `_query` puts the index entry it read, when asked (`query`)
        self._set_target: Any = _NO_TARGET  # the object of the last `set`, and its key (a rule sets
        self._set_key: Any = None  # several fields of one object in a row)
        self._t = now
        self.now = R.TimeVal(now, 1, now)
        self.create_cap: int | None = None  # at most this many creations (the engine's slow start)
        self._creating = 0  # creations so far
        self._cut: set[int] = set()  # the creates (by line) the cap left nothing to make, when they last ran

    def wake(self) -> float | None:
        times = [t for t in (self.clockwatch.wake, self.requeue_at) if t is not None]
        return min(times) if times else None

    # ---------------------------------------------------------------- reads
    def query(self, spec: Any, values: tuple, where: Any) -> list[Any]:
        """The objects of a query (rules' `Kind in ns where …`), noting what the answer depends on.

        On one snapshot a query's answer depends only on the query and on the
        values it uses, so the same query with the same values (by identity:
        one Service's selector read by the Endpoints, EndpointSlice and proxy
        rules) is answered once per snapshot (`_SnapshotQueries`).  A condition
        that captures the context or the clock is asked every time.
        """
        memo = _SnapshotQueries.of(self.snap) if type(self) is EvalContext else None
        if memo is None:
            return self._query(spec, values, where)
        cells = captured(where)
        key = query_key(spec, values, where, cells)
        found = memo.answers.get(key)
        if found is None:
            outer, self.deps = self.deps, set()
            indexed, self.indexed = self.indexed, set()
            entries = self.indexed
            try:
                answer = self._query(spec, values, where)
            except Exception:  # a condition that fails: what was read so far counts
                outer.update(self.deps)
                outer.update(entries)
                raise
            finally:
                deps, self.deps = self.deps, outer
                self.indexed = indexed
            found = (answer, frozenset(deps), values, cells, spec, frozenset(entries))  # (what the key's
            # ids name, kept alive)
            if not any(isinstance(c, (EvalContext, R.TimeVal)) for c in cells):
                if len(memo.answers) >= SNAPSHOT_QUERIES:
                    memo.answers.clear()
                memo.answers[key] = found
        self.deps.update(found[1])
        reads = spec.reads if found[0] else spec.empty_reads
        if reads is None:
            self.deps.update(found[5])
        else:  # woken by a change there only when it touches what the rule reads of the objects
            self.deps.update([("query", entry, reads) for entry in found[5]])
        return found[0]

    def shared(self, site: Any, compute: Any) -> Any:
        """A rule's let that is the same for every instance (compile.shared_lets): computed once
        per snapshot, its dependencies handed to every instance that uses it."""
        if type(self) is not EvalContext:
            return compute()
        memo = _SnapshotQueries.of(self.snap).shared
        found = memo.get(site)
        if found is None:
            outer, self.deps = self.deps, set()
            try:
                value, failed = compute(), None
            except Exception as exc:  # fails the same in every instance: kept too
                value, failed = None, (exc, exc.__traceback__)
            finally:
                deps, self.deps = self.deps, outer
            found = memo[site] = (value, frozenset(deps), failed)
        self.deps.update(found[1])
        if found[2] is not None:
            exc, tb = found[2]
            raise exc.with_traceback(tb)
        return found[0]

    def _query(self, spec: Any, values: tuple, where: Any) -> list[Any]:
        if spec.kind.is_any:
            return self._query_any(spec, values, where)
        resolved = self.engine.resolve(spec.kind)
        if resolved is None:
            return []
        group, kind = resolved
        if any(t.type == "ns" and not isinstance(v, str) for t, v in zip(spec.terms, values)):
            return []  # `Pod in null`: no namespace, no pods
        keys, dep = self._candidates(group, kind, spec.terms, values)
        # the index entries read: `query`'s to note (kept apart from what the condition reads),
        # or dependencies; the condition's own queries note theirs themselves
        into = self.deps if self.indexed is None else self.indexed
        self.indexed = None
        if type(dep) is frozenset:  # (several: a `selects` term)
            into.update(dep)
        elif dep is not None:
            into.add(dep)
        # the label, node and owner indexes span namespaces: keep the query's own
        ns = next((v for t, v in zip(spec.terms, values) if t.type == "ns"), None)
        objects = self.snap.objects
        found = []
        for key in sorted(keys):
            if key[0] != group or key[1] != kind or (ns is not None and key[2] != ns):
                continue
            obj = objects[key]
            if where is None or where(obj):
                found.append(obj)
        return found

    def _query_any(self, spec: Any, values: tuple, where: Any) -> list[Any]:
        """A query over every kind: the candidates come from the namespace
        across kinds, the owner index or the uid index (the checker makes sure
        the query has one of these terms), never from a scan of the store."""
        snap = self.snap
        ns = next((v for t, v in zip(spec.terms, values) if t.type == "ns"), None)
        options = []
        for term, value in zip(spec.terms, values):
            if term.type == "ns":
                if not isinstance(value, str):
                    return []  # `any in null`: no namespace, no objects
                keys = [key for group, kind in snap.kinds() for key in snap.index("ns", (group, kind, value))]
                options.append((keys, ("ns*", value)))
            elif term.type == "owner":
                uid = value.get("metadata", {}).get("uid") if isinstance(value, Mapping) else value
                if isinstance(uid, str):
                    options.append((snap.index("owner", uid), ("owner*", uid)))
                elif value is None:
                    options.append((_NONE, None))  # owned by nothing: no object
            elif term.type == "uid" and isinstance(value, str):
                key = snap.uids.get(value)
                options.append(((pset([key]) if key else _NONE), ("uid", value)))
        if not options:
            return []
        keys, dep = min(options, key=lambda o: len(o[0]))
        if dep is not None:
            self.deps.add(dep)
        objects = snap.objects
        return [objects[k] for k in sorted(keys)
                if (ns is None or k[2] == ns) and (where is None or where(objects[k]))]

    def _candidates(self, group: str, kind: str, terms: tuple, values: tuple) -> tuple[Any, tuple | None]:
        """The smallest index answer among the query's terms, and its dependency.

        Ties go to the more specific term, so that an empty answer still
        depends on "Pods owned by X" rather than on "every Pod in the namespace".
        """
        ns = next((v for t, v in zip(terms, values) if t.type == "ns"), None)
        if ns is not None:
            best = (self.snap.index("ns", (group, kind, ns)), ("ns", group, kind, ns))
        else:
            best = (self.snap.index("kind", (group, kind)), ("kind", group, kind))
        for term, value in zip(terms, values):
            option = self._term(group, kind, ns, term, value)
            if option is not None and len(option[0]) <= len(best[0]):
                best = option
        return best

    def _term(self, group: str, kind: str, ns: Any, term: Any, value: Any) -> tuple | None:
        snap = self.snap
        if value is None and term.type in ("owner", "selector"):
            return _NONE, None  # owned by nothing, selected by a null selector: no object
        if term.type == "node" and isinstance(value, str):
            return snap.index("node", value), ("node", group, kind, value)
        if term.type == "name" and isinstance(value, str):
            if ns is None and self._namespaced(group, kind):
                return None  # a name without a namespace may be taken in every namespace
            key = (group, kind, ns if ns is not None else "", value)
            found = pset([key]) if key in snap.objects else _NONE
            return found, ("key", key)
        if term.type == "uid" and isinstance(value, str):
            key = snap.uids.get(value)
            return (pset([key]) if key else _NONE), ("uid", value)
        if term.type == "owner":
            uid = value.get("metadata", {}).get("uid") if isinstance(value, Mapping) else value
            if isinstance(uid, str):
                return snap.index("owner", uid), ("owner", group, kind, uid)
        if term.type == "label" and isinstance(value, str):
            return self._label(group, kind, ns, term.label, value)
        if term.type == "selector":
            return self._selector(group, kind, ns, value)
        if term.type == "selects" and isinstance(ns, str):
            return self._selects(group, kind, ns, value)
        return None

    def _selects(self, group: str, kind: str, ns: str, value: Any) -> tuple | None:
        """The objects whose spec.selector may select `value` (an object or its labels): those filed
        under one of its label pairs, or under none (`selectors.selects_entry`); their
        dependencies, one per pair (a frozenset: `_query` adds them all)."""
        try:
            labels = labels_of(value)
        except TypeError:
            labels = None
        if not isinstance(labels, Mapping):
            return None  # no index: the where clause tells (or reports) as before
        snap = self.snap
        keys = set(snap.index("selects", (group, kind, ns, "*")))
        deps = {("selects", group, kind, ns, "*")}
        for pair in labels.items():
            if type(pair[0]) is str and type(pair[1]) is str:  # (only strings are ever filed)
                keys.update(snap.index("selects", (group, kind, ns, *pair)))
                deps.add(("selects", group, kind, ns, *pair))
        return keys, frozenset(deps)

    def _namespaced(self, group: str, kind: str) -> bool:
        registry = Registry.for_snapshot(self.snap)
        return (group, kind) not in registry or registry.by_kind(group, kind).namespaced

    def _label(self, group: str, kind: str, ns: Any, label: str, value: str) -> tuple:
        keys = self.snap.index("label", (group, kind, label, value))
        if ns is not None:
            return keys, ("label", group, kind, ns, label, value)
        return keys, ("label*", group, kind, label, value)

    def _selector(self, group: str, kind: str, ns: Any, value: Any) -> tuple | None:
        try:
            selector = selector_of(value)  # read the way matches() reads it
        except (TypeError, ValueError):
            return None  # the where clause reports the bad selector
        if selector.nothing:
            return _NONE, None  # a selector that selects nothing
        options = [self._label(group, kind, ns, k, v) for k, v in sorted(selector.equalities().items())]
        return min(options, key=lambda o: len(o[0])) if options else None

    def lookup(self, kind_ref: Any, *args: Any) -> Any:
        key = self._lookup_key(kind_ref, args)
        return self._found(key, ("key", key))

    def lookup_read(self, paths: Any, kind_ref: Any, *args: Any) -> Any:
        """`lookup`, for a rule that reads only `paths` (a dsl.reads.ReadPaths) of the object: its
        dependency is ("field", key, paths), which the engine wakes at the object's creation and
        deletion and at a change that touches one of the paths (reconcile.Engine._route_fields)."""
        key = self._lookup_key(kind_ref, args)
        return self._found(key, ("field", key, paths))

    def _lookup_key(self, kind_ref: Any, args: tuple) -> Key | None:
        """The key `Kind[name]` / `Kind[namespace, name]` names (None: an unknown kind, or a
        null or non-string argument)."""
        resolved = self.engine.resolve(kind_ref)
        if resolved is None or any(not isinstance(a, str) for a in args):
            return None
        ns, name = (args[0], args[1]) if len(args) == 2 else ("", args[0])
        return (resolved[0], resolved[1], ns, name)

    def owner_object(self, ref: Any, namespace: Any) -> Any:
        """The object `ref` (an ownerReference: apiVersion, kind, name) points to, or None.

        The group comes from ref.apiVersion; a cluster-scoped kind ignores
        `namespace`.  A kind the API server does not serve has no objects.
        """
        key = self._owner_key(ref, namespace)
        return self._found(key, ("key", key))

    def owner_object_read(self, paths: Any, ref: Any, namespace: Any) -> Any:
        """`owner_object`, for a rule that reads only `paths` (a dsl.reads.ReadPaths) of the
        object there: its dependency is ("field", key, paths), as `lookup_read`'s."""
        key = self._owner_key(ref, namespace)
        return self._found(key, ("field", key, paths))

    def _found(self, key: Key | None, dep: tuple) -> Any:
        """The object at `key` (None for no key), noting the dependency `dep` on it."""
        if key is None:
            return None
        self.deps.add(dep)
        return self.snap.get(key)

    def _owner_key(self, ref: Any, namespace: Any) -> Key | None:
        rt = self._kind_of_ref(ref)
        name = ref.get("name") if isinstance(ref, Mapping) else None
        if rt is None or not isinstance(name, str):
            return None
        if rt.namespaced and not isinstance(namespace, str):
            return None
        return (rt.group, rt.kind, namespace if rt.namespaced else "", name)

    def scale_of(self, ref: Any, namespace: Any) -> Any:
        """The autoscaling/v1 Scale of the object `ref` (an ownerReference) points to, as the
        `scale` subresource answers it (a custom kind's at its CRD's paths); None when there is no
        such object with ref's uid, or its kind has no scale subresource (the disruption
        controller's getScaleController)."""
        rt = self._kind_of_ref(ref)
        if rt is None or "scale" not in rt.subresources:
            return None
        obj = self.owner_object(ref, namespace)
        if obj is None or (obj.get("metadata") or {}).get("uid") != ref.get("uid"):
            return None
        return scale_view(obj, rt)

    def cluster_start(self) -> float:
        """When this run of the cluster started, on its clock (`Engine.started`): a time limit
        measured from then no longer counts the time the cluster was stopped."""
        return self.engine.started

    def known_kind(self, ref: Any) -> bool:
        """Does the API server serve the kind ref.apiVersion and ref.kind name (built-in or custom)?"""
        return self._kind_of_ref(ref) is not None

    def _kind_of_ref(self, ref: Any) -> Any:
        """The registry's type of ref.apiVersion + ref.kind.  Custom kinds come
        and go with their CRD: unless the kind is built in, the answer depends
        on the CRDs."""
        if not isinstance(ref, Mapping):
            return None
        api_version, kind = ref.get("apiVersion"), ref.get("kind")
        if not isinstance(api_version, str) or not isinstance(kind, str):
            return None
        group = api_version.rpartition("/")[0]
        rt = Registry.for_snapshot(self.snap).get(group, kind)
        if rt is None or rt.is_custom:
            self.deps.add(("kind", CRD_GROUP, CRD_KIND))
        return rt

    # --------------------------------------------------------------- writes
    def set(self, target: Any, path: tuple, value: Any, line: int) -> None:
        if target is self._set_target:
            key = self._set_key
        else:
            if not isinstance(target, Mapping) or "metadata" not in target:
                raise R.RuleRuntimeError(f"set needs an object to write to, got {R.type_name(target)}")
            key = self._set_key = key_of(target)
            self._set_target = target
        if any(step is None for step in path):
            raise R.RuleRuntimeError("set path has a null step")
        self.writes.append(SetWrite(key, tuple(path), R.stored(value), line))

    def create(self, kind_ref: Any, count: Any, template: Any, options: dict, line: int) -> tuple:
        """Collect a create; the objects it will make, named (`create … as p` binds them)."""
        if count is None or isinstance(count, bool) or not isinstance(count, (int, float)):
            raise R.RuleRuntimeError(f"create needs a number of objects, got {R.type_name(count)}")
        if int(count) <= 0:
            self._cut.discard(line)
            return ()
        if self.create_cap is not None:  # (a refused batch: fewer this time, as the rule sees it)
            count = min(int(count), self.create_cap - self._creating)
            if count <= 0:
                self._cut.add(line)
                return ()
            self._cut.discard(line)
        if template is not None and not isinstance(template, Mapping):
            raise R.RuleRuntimeError(f"create needs a map as template, got {R.type_name(template)}")
        if self.engine.resolve(kind_ref) is None:
            raise R.RuleRuntimeError(f"unknown kind {kind_ref.kind}: is its CustomResourceDefinition applied?")
        _check_name(int(count), template or {}, options)
        write = CreateWrite(kind_ref, int(count), R.plain(template or {}),
                            {k: R.plain(v) for k, v in options.items()}, line)
        if self.inst is None:
            raise R.RuleRuntimeError("create is only possible in a rule evaluated by the engine")
        objects = tuple(build_created_objects(self.engine, self.inst, write, self.snap, self.engine.names_taken))
        self.writes.append(attrs.evolve(write, objects=objects))
        self._creating += len(objects)
        return objects

    def cut(self, line: int) -> bool:
        """Did the engine's slow start leave the create at `line` nothing to make, the last time it
        ran?  The events that tell of it (`stmt_event`: those after it in its block or in a block
        within) are then left out: that create waits for a later round, and so do they."""
        return line in self._cut

    def delete(self, target: Any, options: Mapping, line: int) -> None:
        if target is None:
            return
        grace = options.get("grace_period")
        if grace is not None and (isinstance(grace, bool) or not isinstance(grace, (int, float))):
            raise R.RuleRuntimeError(f"grace_period must be a number of seconds, got {R.type_name(grace)}")
        propagation = options.get("propagation")
        items = [target] if isinstance(target, Mapping) else target
        if not isinstance(items, Sequence):
            raise R.RuleRuntimeError(f"delete needs an object or a list, got {R.type_name(target)}")
        for obj in items:
            if isinstance(obj, Mapping) and "metadata" in obj and not _pending(obj, grace, propagation):
                self.writes.append(DeleteWrite(key_of(obj), line,
                                               None if grace is None else int(grace), propagation))

    def event(self, target: Any, reason: str, type_: str, message: Any, options: Mapping, line: int) -> None:
        """Collect an event about `target`; the engine records it with the writes, if they go through."""
        if not isinstance(target, Mapping) or not isinstance(target.get("metadata"), Mapping) \
                or not target.get("kind") or not target["metadata"].get("name"):
            raise R.RuleRuntimeError(f"event needs an object to be about, got {R.type_name(target)}")
        if not isinstance(message, str):
            raise R.RuleRuntimeError(f"event message must be a string, got {R.type_name(message)}")
        field_path, host = options.get("field_path"), options.get("host")
        for name, value in (("field_path", field_path), ("host", host)):
            if value is not None and not isinstance(value, str):
                raise R.RuleRuntimeError(f"event option {name} must be a string, got {R.type_name(value)}")
        alone = options.get("alone", False)
        if not isinstance(alone, bool):
            raise R.RuleRuntimeError(f"event option alone must be true or false, got {R.type_name(alone)}")
        self.events.append(Emitted(object_reference(target, field_path), reason, type_, message, host, line, alone))

    def requeue(self, after: Any) -> None:
        if after is None:
            return
        at = self._t + max(float(after), 0.0)
        if self.requeue_at is None or at < self.requeue_at:
            self.requeue_at = at


def _pending(obj: Mapping, grace: Any, propagation: Any) -> bool:
    """Is OBJ already being deleted as this request asks, so the API server would change nothing?

    A level-based rule says "delete X" for as long as X lingers (a graceful
    pod, finalizers); sending that again would be a write that changes nothing.
    """
    meta = obj.get("metadata") or {}
    if meta.get("deletionTimestamp") is None or gc_finalizers(obj, propagation) is not obj:
        return False
    current = meta.get("deletionGracePeriodSeconds")
    return grace is None or not current or grace >= current


def _check_name(count: int, template: Mapping, options: Mapping) -> None:
    """Fail at the `create` line, not at submission, when the objects cannot be named."""
    meta = template.get("metadata")
    meta = meta if isinstance(meta, Mapping) else {}
    fixed = options.get("name") or meta.get("name")
    if fixed and count > 1:
        raise R.RuleRuntimeError(f"create {count} objects with one fixed name {fixed!r}: use name_prefix")
    if not fixed and not (options.get("name_prefix") or meta.get("generateName")):
        raise R.RuleRuntimeError("create needs a name or a name_prefix")


def rule_position(decl: Any, exc: BaseException) -> tuple[int, int]:
    """Line and column in its rule file of what raised `exc` in `decl` (column 0: not known): the
    innermost expression whose code the last frame of the generated code was running (by the
    code positions of its instruction, compile.Placed), else the statement of that line."""
    filename = f"<rules {decl.path}>"
    last = None
    for tb in _frames(exc.__traceback__):
        if tb.tb_frame.f_code.co_filename == filename:
            last = tb
    if last is None:
        return decl.line, 0
    line = decl.linemap.get(last.tb_lineno) or decl.line
    placed = decl.colmap.get(last.tb_lineno)
    if placed is None:
        return line, 0
    start, end = _code_span(last)
    inner = None
    for span in placed.spans if start is not None else ():
        if span[0] <= start and end <= span[1] and (inner is None or span[1] - span[0] < inner[1] - inner[0]):
            inner = span
    return (inner[2].line, inner[2].col) if inner is not None else (line, placed.col)


def statement_column(decl: Any, line: int) -> int:
    """The column of the last statement generated from rule line `line` of `decl`'s file (that of
    the write in `when …: set …`), 0 when not known: where a write the rule made is reported."""
    col = 0
    for number, placed in decl.colmap.items():
        if decl.linemap.get(number) == line:
            col = placed.col
    return col


def _frames(tb: Any):
    while tb is not None:
        yield tb
        tb = tb.tb_next


def _code_span(tb: Any) -> tuple[int | None, int | None]:
    """Where in its line is the code of the instruction `tb` stopped at (UTF-8 bytes)."""
    positions = itertools.islice(tb.tb_frame.f_code.co_positions(), tb.tb_lasti // 2, None)
    _line, _end_line, start, end = next(positions, (None, None, None, None))
    return start, end


def captured(where: Any) -> tuple:
    """The values a query's condition captures (its closure's cells)."""
    closure = None if where is None else where.__closure__
    return tuple([c.cell_contents for c in closure]) if closure else ()


def query_key(spec: Any, values: tuple, where: Any, cells: tuple) -> tuple:
    """What names a query's answer on one snapshot: the query (its text when the condition uses
    nothing of its module, so the same query in another rule file is the same), and the
    identities of the values it uses and of what its condition captures."""
    share = spec.share
    return (id(spec) if share is None else share, tuple(map(id, values)),
            None if where is None or share is not None else where.__code__, tuple(map(id, cells)))


SNAPSHOT_QUERIES = 4096  # answers kept for one snapshot; past this, it starts over


class _SnapshotQueries:
    """The query answers and shared lets of one snapshot (EvalContext.query, .shared), kept for the
    latest snapshot only."""

    __slots__ = ("snap", "answers", "shared")
    _latest: "_SnapshotQueries | None" = None

    def __init__(self, snap: Any):
        self.snap, self.answers = snap, {}
        self.shared: dict[Any, tuple] = {}  # a rule's shared let (its site) → (value, dependencies)

    @classmethod
    def of(cls, snap: Any) -> "_SnapshotQueries":
        latest = cls._latest
        if latest is None or latest.snap is not snap:
            latest = cls._latest = cls(snap)
        return latest
