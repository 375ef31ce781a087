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
- by uid:               uid → {key}  (one key, unless uids were reused)

The objects themselves are pyrsistent values (see `objects.py`).  The maps
that hold them and the indexes are `immutables.Map` HAMTs: a pyrsistent
`PMap` keeps its buckets in one C vector that Python's cyclic GC walks whole
each time a new version of it is young, which made every commit cost
O(objects) (2,300 commits/s at 20k objects, against 160,000 with a HAMT,
whose nodes are small separate GC objects).

Every object carries a 64-bit content hash (of its canonical JSON without
`metadata.resourceVersion`); a snapshot's `state_hash` is their sum, so it is
updated per change, recorded with every commit, and checked on replay.
"""

from __future__ import annotations

import gc
import hashlib
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Set
from contextlib import contextmanager
from itertools import islice
from typing import Any

import attrs
import orjson
from immutables import Map
from pyrsistent import PMap, PVector, pmap, pvector

from .errors import ReconError, TemporaryError
from .objects import Key, freeze, key_of, non_finite, pmap_of, resource_version, thaw
from .selectors import selects_entry

_EMPTY = Map()
_EMPTY_PMAP = pmap()
_MASK64 = (1 << 64) - 1
_INDEXES = ("kind", "ns", "label", "owner", "node", "uid", "address", "selects")


# ---------------------------------------------------------------- JSON codec


_PVECTOR = type(pvector())
_CONTAINERS = (dict, list)
_SCALARS = frozenset({str, int, float, bool, type(None)})
_ABSENT = object()


def _plain(value: Any) -> Any:
    """orjson's `default`: the plain dict or list behind a frozen value."""
    if type(value) is PMap:
        # PMap's own iteration runs ~10x slower than reading its buckets.
        return {k: v for bucket in value._buckets if bucket for k, v in bucket}
    if type(value) is _PVECTOR or isinstance(value, PVector):
        return list(value)
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def encode(value: Any) -> bytes:
    """Canonical JSON (sorted keys): the same bytes as `objects.dumps`, faster."""
    return orjson.dumps(value, default=_plain, option=orjson.OPT_SORT_KEYS)


def decode(data: bytes | str) -> Any:
    """The frozen value of JSON (as `objects.loads`, faster)."""
    return _freeze(orjson.loads(data))


def _freeze(value: Any) -> Any:
    kind = type(value)
    if kind is dict:
        return pmap_of({k: _freeze(v) if type(v) in _CONTAINERS else v for k, v in value.items()})
    if kind is list:
        return pvector([_freeze(v) if type(v) in _CONTAINERS else v for v in value])
    return value


class Interner:
    """Freezes decoded JSON, sharing equal maps and lists among the values it makes.

    Objects read back from a checkpoint or the log then share their common
    parts (a Pod template's containers, tolerations, conditions): loading
    runs twice as fast and the loaded objects take a fifth of the memory.
    Equal parts are found by their JSON, so one Interner serves one load;
    `limit` bounds its memo.
    """

    __slots__ = ("_memo", "limit")

    def __init__(self, limit: int = 200_000):
        self._memo: dict[bytes, Any] = {}
        self.limit = limit

    def freeze(self, value: Any) -> Any:
        kind = type(value)
        if kind is not dict and kind is not list:
            return value
        memo = self._memo
        text = orjson.dumps(value)
        frozen = memo.get(text)
        if frozen is None:
            freeze = self.freeze
            if kind is dict:
                frozen = pmap_of({k: freeze(v) if type(v) in _CONTAINERS else v for k, v in value.items()})
            else:
                frozen = pvector([freeze(v) if type(v) in _CONTAINERS else v for v in value])
            if len(memo) >= self.limit:
                memo.clear()
            memo[text] = frozen
        return frozen

    def freeze_object(self, value: dict, rv: int = 0) -> Any:
        """A whole object, with `rv` (if any) as its resourceVersion; only its parts
        are shared (an object is unique, so remembering it would only cost memory)."""
        if rv:
            meta = value.get("metadata")
            if type(meta) is not dict:
                meta = value["metadata"] = {}
            meta["resourceVersion"] = str(rv)
        freeze = self.freeze
        return pmap_of({k: freeze(v) if type(v) in _CONTAINERS else v for k, v in value.items()})


class _EncodedParts:
    """The canonical JSON of frozen maps and lists, by identity (each entry keeps its value, so
    no id is reused while it is there).

    A write mostly changes one part of an object (its status, a label) and
    leaves the others the very same frozen values, and a Deployment's
    replicas share their spec until they are bound; an object's content is
    then put together from its parts' kept bytes (`orjson.Fragment`), and
    only what changed is encoded.  Two generations, each of at most `limit`
    entries and `limit_bytes` of JSON (an entry also keeps its value alive:
    a few times its JSON): a part used again while old moves back to the
    young one.  A part larger than `largest` is encoded every time instead.
    """

    __slots__ = ("young", "old", "young_bytes", "limit", "limit_bytes", "largest")

    def __init__(self, limit: int, limit_bytes: int, largest: int):
        self.young: dict[int, tuple[Any, bytes]] = {}
        self.old: dict[int, tuple[Any, bytes]] = {}
        self.young_bytes = 0
        self.limit, self.limit_bytes, self.largest = limit, limit_bytes, largest

    def get(self, value: Any, depth: int = 0) -> bytes:
        """The JSON of `value`; one not kept is put together from its parts, `depth` levels down."""
        key = id(value)
        found = self.young.get(key)
        if found is None:
            found = self.old.pop(key, None)  # (an entry's value is alive: its id is this value's)
            if found is None:
                data = encode(self.parts(value, depth) if depth else value)
                if len(data) > self.largest:
                    return data
                # (a copy: orjson's bytes keep a buffer of 4 KB or more)
                found = (value, memoryview(data).tobytes())
            if len(self.young) >= self.limit or self.young_bytes >= self.limit_bytes:
                self.old, self.young, self.young_bytes = self.young, {}, 0
            self.young[key] = found
            self.young_bytes += len(found[1])
        return found[1]

    def peek(self, value: Any) -> bytes | None:
        """The JSON of `value` if it is kept (nothing encoded, no entry moved), else None."""
        found = self.young.get(id(value)) or self.old.get(id(value))
        return found[1] if found is not None and found[0] is value else None

    def parts(self, value: Any, depth: int) -> Any:
        """`value` plain at its top, its maps and lists as the Fragments of their JSON."""
        return self.fragments(_plain(value), depth)

    def fragments(self, plain: Any, depth: int) -> Any:
        """The plain map or list `plain`, its maps and lists replaced by the Fragments of their JSON."""
        items = plain.items() if type(plain) is dict else enumerate(plain)
        for name, part in items:  # (only values replaced: the dict or list keeps its size)
            kind = type(part)
            if kind is PMap or kind is _PVECTOR:
                plain[name] = orjson.Fragment(self.get(part, depth - 1))
        return plain


_PARTS = _EncodedParts(50_000, 4 << 20, 256 << 10)


def content_of(obj: Any) -> bytes:
    """What an object's hash covers: its canonical JSON without resourceVersion.

    An Event is encoded whole, its parts not kept: Events are written once
    (or counted up) and share no part with another object (the API server
    freezes them unshared), so keeping their parts would only push out
    those of the objects that are written again (a Pod's spec), at twice
    the cost of encoding the Event whole."""
    top = _plain(obj)  # shallow plain copies: cheaper than a frozen object without the field
    meta = top.get("metadata")
    if meta is not None and "resourceVersion" in meta:  # (its labels, owners, managedFields kept)
        meta = top["metadata"] = _plain(meta)
        del meta["resourceVersion"]
        _PARTS.fragments(meta, 1)
    elif top.get("kind") == "Event":
        return memoryview(encode(top)).tobytes()
    for name, value in top.items():  # (only values replaced: the dict keeps its size)
        kind = type(value)
        if kind is PMap or kind is _PVECTOR:
            top[name] = orjson.Fragment(_PARTS.get(value, 1))
    # A copy of orjson's bytes: they keep a buffer of 4 KB or more, and contents are kept
    # (by the checkpointer) until the next checkpoint.
    return memoryview(encode(top)).tobytes()


def is_kept(value: Any) -> bool:
    """Is `value` (a frozen map or list) a part of an object the store holds, whose JSON it keeps?"""
    return _PARTS.peek(value) is not None


def thaw_kept(value: Any) -> Any:
    """`objects.thaw(value)`, each map or list whose JSON the store keeps (a part of an object it
    stored, by identity) decoded from that JSON: a rule's write is mostly its stored object's own
    parts, and orjson decodes them several times faster than a copy made in Python.  (Their keys
    come in sorted order; no map's order means anything.)"""
    kind = type(value)
    if kind is PMap:
        data = _PARTS.peek(value)
        if data is not None:
            return orjson.loads(data)
        return {k: v if type(v) in _SCALARS else thaw_kept(v) for bucket in value._buckets if bucket for k, v in bucket}
    if kind is _PVECTOR:
        data = _PARTS.peek(value)
        if data is not None:
            return orjson.loads(data)
        return [v if type(v) in _SCALARS else thaw_kept(v) for v in value]
    return thaw(value)


def freeze_like(value: Any, like: Any) -> Any:
    """`objects.freeze(value)`, where a map or list equals the part of `like` (the object it
    updates) at the same place, that very part: an update's unchanged parts stay the stored
    object's own, so they are not frozen, compared or encoded again.  A part whose JSON the store
    keeps is compared by that JSON; another one key by key."""
    kind = type(value)
    if kind is dict and type(like) is PMap:
        if _same_json(value, like):
            return like
        same = len(value) == len(like)
        items = {}
        for key, part in value.items():
            before = like.get(key, _ABSENT)
            if type(part) in _SCALARS:
                same = same and type(before) is type(part) and before == part
            else:
                part = freeze_like(part, before)
                same = same and part is before
            items[key] = part
        return like if same else pmap_of(items)
    if kind is list and type(like) is _PVECTOR:
        if _same_json(value, like):
            return like
        same, n = len(value) == len(like), len(like)
        items = []
        for i, part in enumerate(value):
            before = like[i] if i < n else _ABSENT
            if type(part) in _SCALARS:
                same = same and type(before) is type(part) and before == part
            else:
                part = freeze_like(part, before)
                same = same and part is before
            items.append(part)
        return like if same else pvector(items)
    return freeze(value)


def _same_json(value: dict | list, like: Any) -> bool:
    """Is the plain `value` the frozen `like`, by the JSON the store keeps of it (False when it keeps
    none)?  (JSON tells 1 from 1.0 and from true; a NaN or an infinity, written as null, is not
    taken for a null.)"""
    data = _PARTS.peek(like)
    if data is None:
        return False
    try:
        text = encode(value)
    except TypeError:
        return False
    return text == data and not (b"null" in text and non_finite(value))


def object_hash(key: Key, content: bytes) -> int:
    digest = hashlib.blake2b(orjson.dumps(key), digest_size=8)
    digest.update(content)
    return int.from_bytes(digest.digest(), "little")


def tune_gc(*, freeze: bool = True, threshold0: int = 10_000) -> None:
    """Tune Python's cyclic GC for a process that holds a large store.

    A process-wide choice, so the CLI's to make, once the store is open
    (`wal.open_store` already freezes the state it loads).  The collector's
    passes over the store's many small, long-lived objects cost about as
    much as the commits themselves (bench/store.py).  A larger young
    generation threshold and rarer full passes stop each commit's survivors
    being traversed again and again, and `gc.freeze()` takes what is alive
    now out of the collector's sight.  With `freeze`, every group commit
    (`Store.batch`) that commits something ends by freezing what it left
    alive as well (`_settle_gc`).  The store's data is acyclic and freed by
    reference counting; cyclic garbage caught by a freeze goes at the next
    full pass.
    """
    gc.set_threshold(threshold0, 50, 100)
    _settle_gc.on = freeze
    _settle_gc.since, _settle_gc.factor = 0, _settle_gc.FULL_FACTOR
    if freeze:
        _settle_gc.watch()
        _settle_gc.full_pass()


class _GCSettle:
    """The end of a group commit that committed something, once `tune_gc` asked for it: freeze
    what is alive (`__call__`).

    What a group commit leaves alive is mostly the store's new data (objects,
    snapshots, index entries): long-lived and acyclic.  Left to the
    collector, each such object would be traversed by a young pass, again by
    a middle one and then by every full pass; frozen as soon as its group
    commit ends, most are never traversed (the basic scheduler bench spends
    a third as long in the GC).  The price: cyclic garbage that exists at a
    freeze, or forms later among frozen objects, waits for the next full
    pass, which unfreezes first.

    A full pass traverses the whole heap (0.5-1 s for the 100-node edit
    bench's 600,000-900,000 objects, 8-11 s for the 1,000-node converge's 6
    million), and the store makes almost no cyclic garbage: those passes
    found none at all.  So there is one once the heap has grown `factor`
    times the objects the last one left frozen (at least FULL_AT_LEAST).
    What a freeze takes is counted as the collector counts its young
    generation, objects made less objects freed (`since`), so garbage frozen
    in a cycle (never freed) counts in full; but a frozen object freed later
    by its count (an object's old version, replaced) is not taken off, so
    `since` overstates the growth where objects are replaced, by half in the
    1,000-node converge.  Once `since` reaches the mark, the heap's real
    growth is read (`sys.getallocatedblocks`, a few ms, in BLOCKS_PER_OBJECT
    blocks per object): the pass is made if it grew that much, or if `since`
    went CHURN times past the mark (so garbage frozen amid replaced objects
    goes at the latest then); else `since` is looked at again once it has
    gone as far again as the growth fell short.

    The factor starts at FULL_FACTOR and grows FULL_FACTOR_GROWTH times, up
    to FULL_FACTOR_MAX, after each full pass that found less than one cyclic
    object per GARBAGE_RATE frozen since the one before; a pass that finds
    more sets it back.  So while the rate stays below that, the garbage kept
    frozen stays a small part of the heap (most of what is frozen is data,
    freed by its count); a source of cyclic garbage that starts after a run
    of clean passes (a failing shared let keeps its traceback) is kept until
    the next pass, up to FULL_FACTOR_MAX turnovers later, which then sets
    the factor back.  The state is the process's, as the GC's is.
    """

    FULL_AT_LEAST = 1_000_000  # objects frozen (made less freed) since the last full pass before the next one
    FULL_FACTOR = 2  # … and at least this many times what the last one left frozen, at first
    FULL_FACTOR_MAX = 32  # … at most, after passes that found next to no garbage
    FULL_FACTOR_GROWTH = 4  # how much each such pass makes it grow
    GARBAGE_RATE = 1_000  # frozen objects per cyclic one found, at most, for the factor to grow
    CHURN = 4  # how far past the mark `since` may go while the heap has not grown to it
    # allocated blocks per object the GC tracks, as the store's data takes them (a tracked object
    # and its untracked parts: 1.8-2.0 for pods created, for a 300-node converge's whole heap)
    BLOCKS_PER_OBJECT = 2.0

    def __init__(self) -> None:
        self.on = False
        self.frozen = 0  # what the last full pass left frozen
        self.since = 0  # objects frozen since then
        self.factor = self.FULL_FACTOR
        self.young = 0  # objects young passes left alive since the last freeze (`_young_pass`)
        self.watching = False
        self.blocks = 0  # the heap's allocated blocks after the last full pass
        self.look_at = 0  # the `since` at which the heap's growth is read next

    def __call__(self) -> None:
        # What a freeze takes: the objects made and not freed since the last freeze, which the
        # collector counts for its young generation (its count goes to 0 at a freeze and at a
        # young pass, which `_young_pass` notes).  Listing the young generations to count them
        # cost a few µs per group commit; `gc.get_freeze_count()` walks the whole frozen heap.
        self.since += self.young + gc.get_count()[0]
        self.young = 0
        if self.since >= self.look_at and self._due():
            self.full_pass()
        else:
            gc.freeze()

    def _due(self) -> bool:
        """Is a full pass due?  Else when to ask again (`look_at`)."""
        mark = max(self.FULL_AT_LEAST, self.factor * self.frozen)
        if self.since < mark:
            self.look_at = mark
            return False
        grown = (sys.getallocatedblocks() - self.blocks) / self.BLOCKS_PER_OBJECT  # in objects' worth
        if grown >= mark or self.since >= self.CHURN * mark:
            return True
        self.look_at = min(self.since + max(mark - grown, mark / 16), self.CHURN * mark)
        return False

    def watch(self) -> None:
        """Note the young passes from now on (a gc callback, once per process)."""
        if not self.watching:
            gc.callbacks.append(self._young_pass)
            self.watching = True

    def _young_pass(self, phase: str, info: dict) -> None:
        if phase == "start":  # the objects counted since the last freeze or young pass …
            self.young += gc.get_count()[0]
        else:  # … but those the pass found to be garbage
            self.young -= info["collected"]

    def full_pass(self) -> None:
        gc.unfreeze()
        found = gc.collect()
        gc.freeze()
        self.young = 0
        if self.since:  # (not the first pass, which tune_gc makes)
            clean = found * self.GARBAGE_RATE < self.since
            self.factor = min(self.factor * self.FULL_FACTOR_GROWTH, self.FULL_FACTOR_MAX) if clean else self.FULL_FACTOR
        self.frozen, self.since, self.look_at = gc.get_freeze_count(), 0, 0
        self.blocks = sys.getallocatedblocks()


_settle_gc = _GCSettle()


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
    """One write of a commit.  `content` (not compared) is `content_of(obj)`
    when already computed, so the log does not serialise the object again."""

    type: str  # "put" | "delete"
    key: Key
    obj: Any = None
    content: bytes | None = attrs.field(default=None, eq=False, repr=False)


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


class KeySet(Set):
    """The keys filed under one index value: a read-only persistent set."""

    __slots__ = ("_keys",)

    def __init__(self, keys: Map = _EMPTY):
        self._keys = keys

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def __iter__(self) -> Iterator[Key]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        return f"KeySet({sorted(self._keys)!r})"


class UidIndex(Mapping):
    """uid → key, read from the "uid" index (the smallest key if a uid was reused)."""

    __slots__ = ("_index",)

    def __init__(self, index: Map):
        self._index = index

    def __getitem__(self, uid: Any) -> Key:
        return min(self._index[uid])

    def __iter__(self) -> Iterator[Any]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)


def _get(value: Any, name: str) -> Any:
    """`value.get(name)` for a map, else None (PMap first: objects are PMaps)."""
    if type(value) is PMap:
        return value.get(name)
    return value.get(name) if isinstance(value, Mapping) else None


def _index_entries(key: Key, obj: Mapping) -> list[tuple[str, Any]]:
    """Every (index name, index value) under which `obj` is filed."""
    group, kind, ns, _name = key
    meta = _get(obj, "metadata")
    entries: list[tuple[str, Any]] = [("kind", (group, kind)), ("ns", (group, kind, ns))]
    labels = _get(meta, "labels")
    if labels:
        entries.extend(("label", (group, kind, label, value)) for label, value in labels.items())
    for ref in _get(meta, "ownerReferences") or ():
        uid = _get(ref, "uid")
        if uid:
            entries.append(("owner", uid))
    spec = _get(obj, "spec")
    node = _get(spec, "nodeName")
    if node:
        entries.append(("node", node))
    uid = _get(meta, "uid")
    if uid:
        entries.append(("uid", uid))
    pair = selects_pair(spec)
    if pair is not None:  # what its selector selects (queries `where matches(it.spec.selector, x)`)
        entries.append(("selects", (group, kind, ns, *pair)))
    if kind == "Service" and group == "":  # the addresses it holds (admission's allocation checks)
        entries.extend(("address", address) for address in service_addresses(spec))
    return entries


def service_addresses(spec: Any) -> list[tuple]:
    """The addresses a Service with this spec holds: ("ip", clusterIP) and ("port", N) for its node
    ports and its health-check node port (one range, one pool)."""
    ip = _get(spec, "clusterIP")
    found = [("ip", ip)] if isinstance(ip, str) and ip not in ("", "None") else []
    ports = {port for p in _get(spec, "ports") or () if type(port := _get(p, "nodePort")) is int}
    if type(health := _get(spec, "healthCheckNodePort")) is int:
        ports.add(health)
    return found + [("port", port) for port in sorted(ports)]


def _same_index_fields(old: Mapping, new: Mapping) -> bool:
    """Whether `new` is filed under the same index entries as `old`, judged by identity alone
    (a write that leaves labels, owners, uid, node and addresses alone keeps those very values)."""
    old_meta, new_meta = _get(old, "metadata"), _get(new, "metadata")
    if old_meta is not new_meta and not (  # (a write's metadata differs at least by its resourceVersion)
            _get(old_meta, "labels") is _get(new_meta, "labels")
            and _get(old_meta, "ownerReferences") is _get(new_meta, "ownerReferences")
            and _get(old_meta, "uid") is _get(new_meta, "uid")):
        return False
    old_spec, new_spec = _get(old, "spec"), _get(new, "spec")
    return old_spec is new_spec or (  # (a status write leaves the spec the very same)
        _get(old_spec, "nodeName") is _get(new_spec, "nodeName")
        and _get(old_spec, "clusterIP") is _get(new_spec, "clusterIP")
        and _get(old_spec, "ports") is _get(new_spec, "ports")
        and _get(old_spec, "healthCheckNodePort") == _get(new_spec, "healthCheckNodePort")
        and _get(old_spec, "selector") is _get(new_spec, "selector"))


def selects_pair(spec: Any) -> tuple | None:
    """The `selects` index entry of an object with this spec (selectors.selects_entry), if it
    has a selector."""
    selector = _get(spec, "selector")
    return None if selector is None else selects_entry(selector)


@attrs.frozen(slots=True)
class Snapshot:
    """All objects at one revision, with persistent secondary indexes."""

    revision: int = 0
    time: float = 0.0
    objects: Map = _EMPTY  # key → object
    indexes: Map = Map({name: _EMPTY for name in _INDEXES})  # name → value → {key: True}
    hashes: Map = _EMPTY  # key → object_hash
    state_hash: int = 0

    # -- reads
    def get(self, key: Key) -> Any:
        return self.objects.get(key)

    def __contains__(self, key: Key) -> bool:
        return key in self.objects

    def __len__(self) -> int:
        return len(self.objects)

    def index(self, name: str, value: Any) -> KeySet:
        """The keys filed under `value` in index `name` (a persistent set)."""
        return KeySet(self.indexes[name].get(value, _EMPTY))

    def keys(self, group: str, kind: str, namespace: str | None = None) -> list[Key]:
        """Keys of a kind (optionally in one namespace), sorted."""
        if namespace is None:
            return sorted(self.indexes["kind"].get((group, kind), _EMPTY))
        return sorted(self.indexes["ns"].get((group, kind, namespace), _EMPTY))

    def list(self, group: str, kind: str, namespace: str | None = None) -> list[Any]:
        objects = self.objects
        return [objects[k] for k in self.keys(group, kind, namespace)]

    @property
    def uids(self) -> UidIndex:
        return UidIndex(self.indexes["uid"])

    def by_uid(self, uid: str) -> Any:
        keys = self.indexes["uid"].get(uid)
        return self.objects[min(keys)] if keys else None

    def by_label(self, group: str, kind: str, label: str, value: str) -> list[Key]:
        return sorted(self.index("label", (group, kind, label, value)))

    def owned_by(self, uid: str) -> list[Key]:
        return sorted(self.index("owner", uid))

    def on_node(self, node: str) -> list[Key]:
        return sorted(self.index("node", node))

    def kinds(self) -> list[tuple[str, str]]:
        return sorted(k for k, keys in self.indexes["kind"].items() if keys)


class _SnapshotBuilder:
    """Applies puts and deletes to a snapshot through mutations, then seals it."""

    def __init__(self, snap: Snapshot):
        self.snap = snap
        self.objects = snap.objects.mutate()
        self.hashes = snap.hashes.mutate()
        self.indexes: dict[str, Any] = {}  # the mutations of the indexes touched so far
        self.state_hash = snap.state_hash

    def _index(self, name: str) -> Any:
        index = self.indexes.get(name)
        if index is None:
            index = self.indexes[name] = self.snap.indexes[name].mutate()
        return index

    def _refile(self, key: Key, old: list, new: list) -> None:
        """Move `key` from the index entries `old` to `new` (unchanged ones stay)."""
        if not old:  # (a create)
            for name, value in new:
                index = self._index(name)
                index[value] = index.get(value, _EMPTY).set(key, True)
            return
        if old == new:
            return
        old_set, new_set = set(old), set(new)
        for name, value in old_set - new_set:
            index = self._index(name)
            keys = index[value].delete(key)
            if keys:
                index[value] = keys
            else:
                del index[value]
        for name, value in new_set - old_set:
            index = self._index(name)
            index[value] = index.get(value, _EMPTY).set(key, True)

    def remove(self, key: Key) -> None:
        old = self.objects.get(key)
        if old is None:
            return
        self._refile(key, _index_entries(key, old), [])
        self.state_hash = (self.state_hash - self.hashes[key]) & _MASK64
        del self.objects[key]
        del self.hashes[key]

    def put(self, key: Key, obj: Any, obj_hash: int) -> None:
        old = self.objects.get(key)
        if old is None:
            self._refile(key, [], _index_entries(key, obj))
        else:
            if not _same_index_fields(old, obj):
                self._refile(key, _index_entries(key, old), _index_entries(key, obj))
            self.state_hash -= self.hashes[key]
        self.state_hash = (self.state_hash + obj_hash) & _MASK64
        self.objects[key] = obj
        self.hashes[key] = obj_hash

    def seal(self, revision: int, time: float) -> Snapshot:
        return Snapshot(
            revision=revision,
            time=time,
            objects=self.objects.finish(),
            indexes=self._sealed_indexes(),
            hashes=self.hashes.finish(),
            state_hash=self.state_hash,
        )

    def _sealed_indexes(self) -> Map:
        if not self.indexes:
            return self.snap.indexes  # most updates (status, spec) refile nothing
        return self.snap.indexes.update({name: m.finish() for name, m in self.indexes.items()})


def derived(snap: Snapshot, remove: Iterable[Key] = (), put: Iterable[tuple[Key, Any, int]] = ()) -> Snapshot:
    """A snapshot like `snap` (same revision and time) without the objects `remove` and with the
    objects `put` (key, object, its object_hash), never stored: what-if states such as the
    scheduler's preemption tries."""
    builder = _SnapshotBuilder(snap)
    for key in remove:
        builder.remove(key)
    for key, obj, obj_hash in put:
        builder.put(key, obj, obj_hash)
    return builder.seal(snap.revision, snap.time)


def build_snapshot(objects: Iterable[Any], revision: int, time: float,
                   hashes: Iterable[int] | None = None) -> Snapshot:
    """A snapshot holding `objects` (used to load checkpoints).

    `hashes`, when given, are the objects' `object_hash`es, in the same order
    (a checkpoint stores them, so loading one does not serialise every object).
    """
    objects = list(objects)
    if hashes is None:
        hashes = (object_hash(key_of(obj), content_of(obj)) for obj in objects)
    by_key = {key_of(obj): (obj, h) for obj, h in zip(objects, hashes)}  # the last one wins
    indexes: dict[str, dict[Any, dict[Key, bool]]] = {name: {} for name in _INDEXES}
    for key, (obj, _h) in by_key.items():
        for name, value in _index_entries(key, obj):
            indexes[name].setdefault(value, {})[key] = True
    return Snapshot(
        revision=revision,
        time=time,
        objects=Map({key: obj for key, (obj, _h) in by_key.items()}),
        indexes=Map({name: Map({v: Map(ks) for v, ks in index.items()})
                     for name, index in indexes.items()}),
        hashes=Map({key: h for key, (_obj, h) in by_key.items()}),
        state_hash=sum(h for _obj, h in by_key.values()) & _MASK64,
    )


def apply_record(snap: Snapshot, record: CommitRecord) -> Snapshot:
    """The snapshot after replaying one logged commit."""
    builder = _SnapshotBuilder(snap)
    for op in record.ops:
        if op.type == "delete":
            builder.remove(op.key)
        else:
            content = op.content if op.content is not None else content_of(op.obj)
            builder.put(op.key, op.obj, object_hash(op.key, content))
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
    `sync()`, `close()` (see `wal.HistoryLog`; `wal.open_store` attaches one);
    `window` is how many recent revisions stay readable in memory (for `at()`
    and for watches that start in the past); older ones are compacted, the
    log keeps everything.  `recovery` says what opening a state folder had
    to repair (None for a store that was not opened from one).
    """

    def __init__(self, head: Snapshot | None = None, log: Any = None,
                 clock: Callable[[], float] | None = None, window: int = 1000):
        self.head = head if head is not None else Snapshot()  # an empty one is falsy
        # The newest acknowledged snapshot (durable and shown to watches): what readers that don't
        # hold the writers' lock may see.  Inside a group commit `head` runs ahead of it.
        self.visible = self.head
        self.log = log
        self.clock = clock or (lambda: self.head.time)
        self.window = max(1, window)
        self.recovery: Any = None
        self._recent: deque[tuple[Snapshot, tuple[Event, ...]]] = deque([(self.head, ())])
        self._watches: set[Watch] = set()
        self._batch_depth = 0
        self._batch_from = 0  # the revision the outermost batch started at
        self._pending: list[tuple[Event, ...]] = []
        self.listeners: list[Callable[[Snapshot, tuple[Event, ...], CommitRecord], None]] = []

    @property
    def revision(self) -> int:
        return self.head.revision

    @property
    def oldest(self) -> int:
        """The oldest revision still readable in memory."""
        return self._recent[0][0].revision

    # -- reads
    def at(self, revision: int) -> Snapshot:
        """The snapshot at `revision` if it is still in memory, else TooOld."""
        oldest = self.oldest
        if revision < oldest:
            raise TooOld(revision, oldest)
        if revision > self.head.revision:
            raise ReconError(f"revision {revision} is in the future (head is {self.head.revision})")
        return self._recent[revision - oldest][0]

    def events_since(self, revision: int) -> Iterator[Event]:
        """Every event after `revision`, in commit order (TooOld if compacted)."""
        oldest = self.oldest
        if revision < oldest:
            raise TooOld(revision, oldest)
        for _snap, events in islice(list(self._recent), revision - oldest + 1, None):
            yield from events

    # -- writes
    def commit(self, txn: Txn, time: float | None = None) -> tuple[Snapshot, tuple[Event, ...]]:
        """Apply `txn` atomically.  Returns the new head and its events.

        A txn whose writes change nothing makes no revision: the head and
        `()` are returned.  A failed precondition raises Conflict.
        """
        snap = self.head
        staged = _stage(snap, txn.ops)
        revision = snap.revision + 1
        builder = _SnapshotBuilder(snap)
        events, record_ops = [], []
        for key, new in staged.items():
            old = snap.objects.get(key)
            if new is None:
                if old is not None:
                    builder.remove(key)
                    events.append(Event("DELETED", key, old, None, revision))
                    record_ops.append(RecordOp("delete", key))
                continue
            if new is old:
                continue
            content = content_of(new)
            new_hash = object_hash(key, content)
            if old is not None and snap.hashes[key] == new_hash and _strip_rv(old) == _strip_rv(new):
                continue  # the same object; the hash only rules out changes fast
            obj = _with_rv(new, revision)
            builder.put(key, obj, new_hash)
            events.append(Event("ADDED" if old is None else "MODIFIED", key, old, obj, revision))
            record_ops.append(RecordOp("put", key, obj, content))
        if not events:
            return snap, ()
        now = self.clock() if time is None else time
        head = builder.seal(revision, now)
        record = CommitRecord(revision, now, txn.actor, tuple(txn.cause), tuple(record_ops), head.state_hash)
        if self.log is not None:
            self.log.append(record)
            if self._batch_depth == 0:
                self.log.sync()
        events = tuple(events)
        self._publish(head, events, record)
        return head, events

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Group commit: one sync of the log for every commit inside.

        Commits inside are acknowledged (made durable, then shown to
        watches) when the outermost batch ends.
        """
        if self._batch_depth == 0:
            self._batch_from = self.head.revision
        self._batch_depth += 1
        try:
            yield
        finally:
            self._batch_depth -= 1
            if self._batch_depth == 0:
                if self.log is not None:
                    self.log.sync()
                self._flush_watches()
                if _settle_gc.on and self.head.revision != self._batch_from:
                    _settle_gc()

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
        self.visible = self.head
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


def _stage(snap: Snapshot, ops: Iterable[Op]) -> dict[Key, Any]:
    """Check every precondition; return each written key's final value (None: deleted)."""
    staged: dict[Key, Any] = {}
    for op in ops:
        cur = staged[op.key] if op.key in staged else snap.objects.get(op.key)
        _check_op(op, cur)
        if op.type != "check":
            staged[op.key] = None if op.type == "delete" else op.obj
    return staged


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
    meta = obj.get("metadata") or _EMPTY_PMAP
    return obj.set("metadata", meta.set("resourceVersion", str(revision)))


def _strip_rv(obj: Any) -> Any:
    meta = obj.get("metadata")
    if meta is None or "resourceVersion" not in meta:
        return obj
    return obj.set("metadata", meta.discard("resourceVersion"))
