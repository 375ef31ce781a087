"""The store: ordered revisions of immutable snapshots, with watch and history.

This is recon's etcd.  A `Snapshot` is an immutable value holding every
object and persistent secondary indexes over them.  `Store.commit` applies a
`Txn` atomically (all ops or none, after checking its preconditions), makes
revision+1, appends a `CommitRecord` to the durable log (when one is
attached) and only then publishes the new snapshot and its events.

Indexes (all persistent, updated per change, never rebuilt by a scan):

- by kind:              (group, kind) → {key}
- by kind + namespace:  (group, kind, ns) → {key}
- by label:             (group, kind, label, value) → {key}
- by owner uid:         uid → {key}
- by node name:         spec.nodeName → {key}
- by uid:               uid → key
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import attrs
from pyrsistent import PMap, pmap, pset

from .errors import ReconError, TemporaryError
from .objects import Key, dumps, key_of, resource_version

_EMPTY_MAP = pmap()
_EMPTY_SET = pset()
_MASK64 = (1 << 64) - 1


# --------------------------------------------------------------------- errors


class Conflict(TemporaryError):
    """A precondition failed; the whole Txn was rejected and left no trace."""

    def __init__(self, key: Key, message: str):
        self.key = key
        super().__init__(message)


class TooOld(ReconError):
    """A watch or read asked for a revision that was compacted away (HTTP 410)."""

    def __init__(self, revision: int, oldest: int):
        self.revision = revision
        self.oldest = oldest
        super().__init__(
            f"revision {revision} has been compacted; the oldest available is {oldest}"
        )


# ----------------------------------------------------------------- txn & ops


@attrs.frozen
class Op:
    """One operation of a Txn.

    type: "create" (must not exist), "update" (must exist), "put" (create or
    update), "delete" (must exist) or "check" (precondition only).  `rv`, when
    given, must equal the stored object's resourceVersion (0 = must not exist).
    """

    type: str = attrs.field(validator=attrs.validators.in_({"create", "update", "put", "delete", "check"}))
    key: Key
    obj: Any = None
    rv: int | None = None


def create(obj: Mapping) -> Op:
    return Op("create", key_of(obj), obj)


def update(obj: Mapping, rv: int | None = None) -> Op:
    return Op("update", key_of(obj), obj, rv)


def put(obj: Mapping) -> Op:
    return Op("put", key_of(obj), obj)


def delete(key: Key, rv: int | None = None) -> Op:
    return Op("delete", key, None, rv)


def check(key: Key, rv: int | None = None) -> Op:
    return Op("check", key, None, rv)


@attrs.frozen
class Txn:
    """Ops applied atomically, by an actor, for a cause (JSON-able values)."""

    ops: tuple[Op, ...]
    actor: str = "unknown"
    cause: tuple = ()


@attrs.frozen
class Event:
    type: str  # "ADDED" | "MODIFIED" | "DELETED"
    key: Key
    old: Any
    new: Any
    revision: int

    @property
    def object(self) -> Any:
        return self.new if self.new is not None else self.old


@attrs.frozen
class RecordOp:
    type: str  # "put" | "delete"
    key: Key
    obj: Any = None


@attrs.frozen
class CommitRecord:
    """What the history log keeps of one commit."""

    revision: int
    time: float
    actor: str
    cause: tuple
    ops: tuple[RecordOp, ...]
    state_hash: int


# ------------------------------------------------------------------ snapshot


def _object_hash(key: Key, obj: Any) -> int:
    digest = hashlib.blake2b(dumps([list(key), obj]), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def _eget(evolver: Any, key: Any, default: Any = None) -> Any:
    return evolver[key] if key in evolver else default


def _index_entries(key: Key, obj: Mapping) -> list[tuple[str, Any]]:
    """Every (index name, index key) under which `obj` is filed."""
    group, kind, ns, _name = key
    meta = obj.get("metadata") or _EMPTY_MAP
    entries: list[tuple[str, Any]] = [("kind", (group, kind)), ("ns", (group, kind, ns))]
    for label, value in (meta.get("labels") or _EMPTY_MAP).items():
        entries.append(("label", (group, kind, label, value)))
    for ref in meta.get("ownerReferences") or ():
        uid = ref.get("uid")
        if uid:
            entries.append(("owner", uid))
    node = (obj.get("spec") or _EMPTY_MAP).get("nodeName") if isinstance(obj.get("spec"), Mapping) else None
    if node:
        entries.append(("node", node))
    return entries


_INDEXES = ("kind", "ns", "label", "owner", "node")


@attrs.frozen(slots=True)
class Snapshot:
    """All objects at one revision, with persistent secondary indexes."""

    revision: int = 0
    time: float = 0.0
    objects: PMap = _EMPTY_MAP
    indexes: PMap = pmap({name: _EMPTY_MAP for name in _INDEXES})
    uids: PMap = _EMPTY_MAP
    hashes: PMap = _EMPTY_MAP
    state_hash: int = 0

    # -- reads
    def get(self, key: Key) -> Any:
        return self.objects.get(key)

    def __contains__(self, key: Key) -> bool:
        return key in self.objects

    def __len__(self) -> int:
        return len(self.objects)

    def index(self, name: str, value: Any) -> frozenset | Any:
        """The keys filed under `value` in index `name` (a persistent set)."""
        return self.indexes[name].get(value, _EMPTY_SET)

    def keys(self, group: str, kind: str, namespace: str | None = None) -> list[Key]:
        """Keys of a kind (optionally in one namespace), sorted."""
        if namespace is None:
            return sorted(self.index("kind", (group, kind)))
        return sorted(self.index("ns", (group, kind, namespace)))

    def list(self, group: str, kind: str, namespace: str | None = None) -> list[Any]:
        objects = self.objects
        return [objects[k] for k in self.keys(group, kind, namespace)]

    def by_uid(self, uid: str) -> Any:
        key = self.uids.get(uid)
        return None if key is None else self.objects.get(key)

    def by_label(self, group: str, kind: str, label: str, value: str) -> list[Key]:
        return sorted(self.index("label", (group, kind, label, value)))

    def owned_by(self, uid: str) -> list[Key]:
        return sorted(self.index("owner", uid))

    def on_node(self, node: str) -> list[Key]:
        return sorted(self.index("node", node))

    def kinds(self) -> list[tuple[str, str]]:
        return sorted(k for k, keys in self.indexes["kind"].items() if keys)


class _SnapshotBuilder:
    """Applies puts and deletes to a snapshot through evolvers, then seals it."""

    def __init__(self, snap: Snapshot):
        self.snap = snap
        self.objects = snap.objects.evolver()
        self.uids = snap.uids.evolver()
        self.hashes = snap.hashes.evolver()
        self.indexes = {name: snap.indexes[name].evolver() for name in _INDEXES}
        self.state_hash = snap.state_hash

    def _file(self, key: Key, obj: Any, add: bool) -> None:
        for name, value in _index_entries(key, obj):
            index = self.indexes[name]
            keys = _eget(index, value, _EMPTY_SET)
            keys = keys.add(key) if add else keys.discard(key)
            if keys:
                index[value] = keys
            elif value in index:
                del index[value]
        uid = (obj.get("metadata") or _EMPTY_MAP).get("uid")
        if uid:
            if add:
                self.uids[uid] = key
            elif _eget(self.uids, uid) == key:
                del self.uids[uid]

    def remove(self, key: Key) -> None:
        old = _eget(self.objects, key)
        if old is None:
            return
        self._file(key, old, add=False)
        self.state_hash = (self.state_hash - self.hashes[key]) & _MASK64
        del self.objects[key]
        del self.hashes[key]

    def put(self, key: Key, obj: Any) -> None:
        self.remove(key)
        h = _object_hash(key, obj)
        self.objects[key] = obj
        self.hashes[key] = h
        self.state_hash = (self.state_hash + h) & _MASK64
        self._file(key, obj, add=True)

    def seal(self, revision: int, time: float) -> Snapshot:
        return Snapshot(
            revision=revision,
            time=time,
            objects=self.objects.persistent(),
            indexes=pmap({name: ev.persistent() for name, ev in self.indexes.items()}),
            uids=self.uids.persistent(),
            hashes=self.hashes.persistent(),
            state_hash=self.state_hash,
        )


def build_snapshot(objects: Iterable[Any], revision: int, time: float) -> Snapshot:
    """A snapshot holding `objects` (used to load checkpoints)."""
    builder = _SnapshotBuilder(Snapshot())
    for obj in objects:
        builder.put(key_of(obj), obj)
    return builder.seal(revision, time)


def apply_record(snap: Snapshot, record: CommitRecord) -> Snapshot:
    """The snapshot after replaying one logged commit."""
    builder = _SnapshotBuilder(snap)
    for op in record.ops:
        if op.type == "delete":
            builder.remove(op.key)
        else:
            builder.put(op.key, op.obj)
    return builder.seal(record.revision, record.time)


# --------------------------------------------------------------------- watch


class Watch:
    """A subscription to the events of one kind (optionally one namespace).

    Events are queued in commit order; `poll()` drains them.  `on_event`, when
    set, is called for each event as it is published instead.
    """

    def __init__(self, store: "Store", group: str, kind: str, namespace: str | None):
        self.store = store
        self.group, self.kind, self.namespace = group, kind, namespace
        self.queue: deque[Event] = deque()
        self.on_event: Callable[[Event], None] | None = None
        self.closed = False

    def wants(self, key: Key) -> bool:
        group, kind, ns, _ = key
        if (group, kind) != (self.group, self.kind) and self.kind != "*":
            return False
        return self.namespace is None or ns == self.namespace

    def deliver(self, event: Event) -> None:
        if self.on_event is not None:
            self.on_event(event)
        else:
            self.queue.append(event)

    def poll(self) -> list[Event]:
        events = list(self.queue)
        self.queue.clear()
        return events

    def close(self) -> None:
        self.closed = True
        self.store._watches.discard(self)


# --------------------------------------------------------------------- store


class Store:
    """Ordered revisions of snapshots; the only place state changes.

    `log` (optional) is a durable history log with `append(record)`,
    `sync()`; `window` is how many recent revisions stay readable in memory
    (for `at()` and for watches that start in the past).
    """

    def __init__(self, head: Snapshot | None = None, log: Any = None,
                 clock: Callable[[], float] | None = None, window: int = 1000):
        self.head = head or Snapshot()
        self.log = log
        self.clock = clock or (lambda: self.head.time)
        self.window = window
        self._recent: deque[tuple[Snapshot, tuple[Event, ...]]] = deque([(self.head, ())])
        self._watches: set[Watch] = set()
        self._batch_depth = 0
        self._pending: list[tuple[Event, ...]] = []
        self.listeners: list[Callable[[Snapshot, tuple[Event, ...], CommitRecord], None]] = []

    @property
    def revision(self) -> int:
        return self.head.revision

    # -- reads
    def at(self, revision: int) -> Snapshot:
        """The snapshot at `revision` if it is still in memory, else TooOld."""
        oldest = self._recent[0][0].revision
        if revision < oldest:
            raise TooOld(revision, oldest)
        if revision > self.head.revision:
            raise ReconError(f"revision {revision} is in the future (head is {self.head.revision})")
        return self._recent[revision - oldest][0]

    def events_since(self, revision: int) -> Iterator[Event]:
        """Every event after `revision`, in commit order (TooOld if compacted)."""
        oldest = self._recent[0][0].revision
        if revision < oldest:
            raise TooOld(revision, oldest)
        for snap, events in list(self._recent)[revision - oldest + 1:]:
            yield from events

    # -- writes
    def commit(self, txn: Txn, time: float | None = None) -> tuple[Snapshot, tuple[Event, ...]]:
        """Apply `txn` atomically.  Returns the new head and its events.

        A txn whose writes change nothing makes no revision: the head and
        `()` are returned.  A failed precondition raises Conflict.
        """
        snap = self.head
        writes = self._check(snap, txn.ops)
        revision = snap.revision + 1
        builder = _SnapshotBuilder(snap)
        events, record_ops = [], []
        for op_type, key, obj in writes:
            old = snap.objects.get(key)
            if op_type == "delete":
                builder.remove(key)
                events.append(Event("DELETED", key, old, None, revision))
                record_ops.append(RecordOp("delete", key))
                continue
            obj = _with_rv(obj, revision)
            builder.put(key, obj)
            events.append(Event("ADDED" if old is None else "MODIFIED", key, old, obj, revision))
            record_ops.append(RecordOp("put", key, obj))
        if not events:
            return snap, ()
        now = self.clock() if time is None else time
        new = builder.seal(revision, now)
        record = CommitRecord(revision, now, txn.actor, tuple(txn.cause), tuple(record_ops), new.state_hash)
        if self.log is not None:
            self.log.append(record)
            if self._batch_depth == 0:
                self.log.sync()
        self._publish(new, tuple(events), record)
        return new, tuple(events)

    def _check(self, snap: Snapshot, ops: Iterable[Op]) -> list[tuple[str, Key, Any]]:
        """Check every precondition; return the effective writes (no-ops dropped)."""
        writes: list[tuple[str, Key, Any]] = []
        staged: dict[Key, Any] = {}
        for op in ops:
            cur = staged[op.key] if op.key in staged else snap.objects.get(op.key)
            _check_op(op, cur)
            if op.type == "check":
                continue
            new = None if op.type == "delete" else op.obj
            staged[op.key] = new
        for key, new in staged.items():
            old = snap.objects.get(key)
            if new is None:
                if old is not None:
                    writes.append(("delete", key, None))
            elif old is None or _differs(old, new):
                writes.append(("put", key, new))
        return writes

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Group commit: one sync of the log for every commit inside."""
        self._batch_depth += 1
        try:
            yield
        finally:
            self._batch_depth -= 1
            if self._batch_depth == 0:
                if self.log is not None:
                    self.log.sync()
                self._flush_watches()

    def _publish(self, snap: Snapshot, events: tuple[Event, ...], record: CommitRecord) -> None:
        self.head = snap
        self._recent.append((snap, events))
        while len(self._recent) > self.window:
            self._recent.popleft()
        for listener in list(self.listeners):
            listener(snap, events, record)
        self._pending.append(events)
        if self._batch_depth == 0:
            self._flush_watches()

    def _flush_watches(self) -> None:
        pending, self._pending = self._pending, []
        if not self._watches:
            return
        for events in pending:
            for event in events:
                for watch in list(self._watches):
                    if watch.wants(event.key):
                        watch.deliver(event)

    # -- watch
    def watch(self, group: str, kind: str, namespace: str | None = None,
              since: int | None = None) -> Watch:
        """Subscribe to a kind from revision `since` (None: from now on).

        Events after `since` that are still in memory are queued first; a
        `since` older than the in-memory window raises TooOld.
        """
        watch = Watch(self, group, kind, namespace)
        if since is not None:
            for event in self.events_since(since):
                if watch.wants(event.key):
                    watch.deliver(event)
        self._watches.add(watch)
        return watch

    def close(self) -> None:
        if self.log is not None:
            self.log.close()


def _check_op(op: Op, cur: Any) -> None:
    exists = cur is not None
    if op.type == "create" and exists:
        raise Conflict(op.key, f"{_name(op.key)} already exists")
    if op.type in ("update", "delete") and not exists:
        raise Conflict(op.key, f"{_name(op.key)} not found")
    if op.rv is not None and resource_version(cur) != op.rv:
        raise Conflict(
            op.key,
            f"{_name(op.key)}: the object has been modified; expected resourceVersion "
            f"{op.rv}, found {resource_version(cur)}",
        )


def _name(key: Key) -> str:
    from .objects import format_key

    return format_key(key)


def _with_rv(obj: Any, revision: int) -> Any:
    meta = obj.get("metadata") or _EMPTY_MAP
    return obj.set("metadata", meta.set("resourceVersion", str(revision)))


def _strip_rv(obj: Any) -> Any:
    meta = obj.get("metadata")
    if meta is None or "resourceVersion" not in meta:
        return obj
    return obj.set("metadata", meta.discard("resourceVersion"))


def _differs(old: Any, new: Any) -> bool:
    """True when `new` differs from `old` other than in resourceVersion."""
    return old is not new and _strip_rv(old) != _strip_rv(new)
