"""Kubernetes objects as immutable values.

Objects are JSON documents frozen with pyrsistent: maps are `PMap`, lists
are `PVector`.  Nothing handed out by the store can be mutated; a change
makes a new value that shares everything it did not touch.

An object's key is `(group, kind, namespace, name)`; the core group is `""`
and cluster-scoped objects have namespace `""`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from hashlib import blake2b
from typing import Any

import orjson
from pyrsistent import PMap, PVector, pmap, pvector

Key = tuple[str, str, str, str]

_EMPTY = pmap()


# Reads (and replacing a value) of a PMap, as fast as its layout allows.  PMap inherits `get` from the
# Mapping ABC (`self[key]`, a KeyError when missing), and `[]` and `in` go
# through two static helpers; every read of an object paid for that.  These do
# the same lookup in one function: the bucket of the key's hash, then the key.
def pmap_get(self: PMap, key: Any, default: Any = None) -> Any:
    """`m.get(key, default)` for a PMap (installed as PMap.get; callable directly as well)."""
    buckets = self._buckets
    bucket = buckets[hash(key) % len(buckets)]
    if bucket:
        k, v = bucket[0]  # most buckets hold one entry: try it before setting up a loop
        if k == key:
            return v
        for k, v in bucket:
            if k == key:
                return v
    return default


_ABSENT = object()


def is_mapping(value: Any) -> bool:
    """`isinstance(value, Mapping)`, the exact types objects are made of tested first: pyrsistent
    registers PMap with the ABC, whose check then runs in Python, several times a plain one."""
    return type(value) is PMap or type(value) is dict or isinstance(value, Mapping)


def map_items(m: Any) -> Any:
    """The (key, value) pairs of a map in its order; a PMap's read from its buckets, in the order
    its own iteration gives (which runs several times slower)."""
    if type(m) is PMap:
        return [item for bucket in m._buckets if bucket for item in bucket]
    return m.items()


def _pmap_getitem(self: PMap, key: Any) -> Any:
    value = pmap_get(self, key, _ABSENT)
    if value is _ABSENT:
        raise KeyError(key)
    return value


def _pmap_contains(self: PMap, key: Any) -> bool:
    return pmap_get(self, key, _ABSENT) is not _ABSENT


def pmap_of(items: dict) -> PMap:
    """`pmap(items)` for a plain dict: the same layout (a bucket vector twice the size), built
    without pyrsistent's checks for other kinds of input."""
    size = 2 * len(items)
    if not size:
        return _EMPTY
    buckets: list = [None] * size
    for item in items.items():
        index = hash(item[0]) % size
        bucket = buckets[index]
        if bucket:
            bucket.append(item)
        else:
            buckets[index] = [item]
    return PMap(size >> 1, pvector(buckets))


_pmap_set_new = PMap.set


def _pmap_set(self: PMap, key: Any, value: Any) -> PMap:
    """`set` without an evolver, as the evolver would do it: the key's bucket replaced in a copy
    of the bucket vector (a new resourceVersion, status, spec), or a new key put first in its
    bucket; the evolver only when the new key makes the vector grow."""
    buckets = self._buckets
    index = hash(key) % len(buckets)
    bucket = buckets[index]
    if bucket:
        for k, v in bucket:
            if k == key:
                if v is value:
                    return self
                return PMap(self._size, buckets.set(index, [(k2, value) if k2 == key else (k2, v2)
                                                              for k2, v2 in bucket]))
    if len(buckets) < 0.67 * self._size:  # (the evolver's test for reallocating)
        return _pmap_set_new(self, key, value)
    return PMap(self._size + 1, buckets.set(index, [(key, value), *bucket] if bucket else [(key, value)]))


# PMap's `__eq__` and `__hash__` ask hasattr(self, "_cached_hash"): an unset slot falls back to
# PMap.__getattr__, which looks the name up as a key and raises twice.  The slot's own
# descriptor answers without that; the results are PMap's.
_CACHED_HASH = PMap.__dict__["_cached_hash"]
_pmap_eq_slow = PMap.__eq__


def _cached_hash(self: PMap) -> Any:
    try:
        return _CACHED_HASH.__get__(self, PMap)
    except AttributeError:
        return None


def _pmap_eq(self: PMap, other: Any) -> Any:
    if self is other:
        return True
    if type(other) is not PMap:
        return _pmap_eq_slow(self, other)
    if self._size != other._size:
        return False
    if self._buckets == other._buckets:  # (the same layout, as versions of one object mostly have)
        return True
    # Another layout, or a difference: each entry looked up in the other (the same size, so the
    # same keys if all are found), stopping at the first that differs.  (PMap's own iteration,
    # and a cached hash's absence, each cost more than a lookup.)
    for bucket in self._buckets:  # (as map_items, without building the list: it stops early)
        if bucket:
            for key, value in bucket:
                theirs = pmap_get(other, key, _ABSENT)
                if theirs is not value and (theirs is _ABSENT or not theirs == value):
                    return False
    return True


def _pmap_hash(self: PMap) -> int:
    found = _cached_hash(self)
    if found is None:
        found = hash(frozenset(map_items(self)))
        _CACHED_HASH.__set__(self, found)
    return found


PMap.get = pmap_get
PMap.__getitem__ = _pmap_getitem
PMap.__contains__ = _pmap_contains
PMap.set = _pmap_set
PMap.__eq__ = _pmap_eq
PMap.__hash__ = _pmap_hash


_SCALARS = frozenset({str, int, float, bool, type(None)})
_PVECTOR = type(pvector())
_FRESH = (dict, list, tuple)  # what `freeze` copies (other mappings too, on the slow path)
# orjson writes these as JSON by itself; passed through, they reach `_json_default`, which
# refuses them, so a value holding one is frozen without sharing.
_SHARE_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS


class _Shared:
    """Frozen maps and lists by a digest of their JSON: what `freeze` hands out again for an
    equal value.  (A digest, not the JSON itself: orjson's bytes keep a buffer of 4 KB or more.)

    Two generations of at most `limit` entries each: when the young one is
    full it becomes the old one, and an old entry that is used again moves
    back, so the parts many objects share stay while one-off parts age out.
    """

    __slots__ = ("young", "old", "limit")

    def __init__(self, limit: int):
        self.young: dict[bytes, Any] = {}
        self.old: dict[bytes, Any] = {}
        self.limit = limit

    def get(self, digest: bytes) -> Any:
        found = self.young.get(digest)
        if found is None:
            found = self.old.get(digest)
            if found is not None:
                self.add(digest, found)
        return found

    def add(self, digest: bytes, frozen: Any) -> None:
        if len(self.young) >= self.limit:
            self.old, self.young = self.young, {}
        self.young[digest] = frozen


_SHARED = _Shared(1024)


def _json_default(value: Any) -> Any:
    if type(value) is PMap:
        return {k: v for bucket in value._buckets if bucket for k, v in bucket}
    if isinstance(value, PVector):
        return list(value)
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def freeze(value: Any) -> Any:
    """A deep immutable copy of a JSON-like value (dicts → PMap, lists and tuples → PVector).

    Equal parts are shared: a map or list equal (as JSON) to one frozen
    recently is that same frozen value, so the Pods of one template hold one
    copy of their containers, tolerations and conditions (bench/store.py's
    Pods: a third of the memory, frozen 3-4x faster).  A value holding
    NaN or an infinity is copied, not shared: its JSON cannot tell them
    from null.
    """
    kind = type(value)
    if kind in _SCALARS or kind is PMap or kind is _PVECTOR:
        return value
    if kind in _FRESH:
        try:
            text = orjson.dumps(value, default=_json_default, option=_SHARE_OPTIONS)
        except TypeError:  # not JSON (a non-str key, a huge int, a foreign type): copy it whole
            return _freeze_copy(value)
        if b"null" in text and non_finite(value):  # NaN and ±inf are written as null
            return _freeze_copy(value)
        return _freeze_shared(value, text)
    return _freeze_copy(value)


def non_finite(value: Any) -> bool:
    """Does `value` hold a float NaN or infinity anywhere?"""
    if type(value) is float:
        return value != value or value in (_INF, -_INF)
    if isinstance(value, Mapping):
        return any(non_finite(v) for v in value.values())
    if isinstance(value, (list, tuple, PVector)):
        return any(non_finite(v) for v in value)
    return False


_INF = float("inf")


def _freeze_shared(value: dict | list | tuple, text: bytes) -> Any:
    """`value` frozen, given its JSON `text`; its parts shared as well."""
    digest = blake2b(text, digest_size=16).digest()
    frozen = _SHARED.get(digest)
    if frozen is None:
        if type(value) is dict:
            frozen = pmap_of({k: v if type(v) in _SCALARS else _shared_part(v) for k, v in value.items()})
        else:
            frozen = pvector([v if type(v) in _SCALARS else _shared_part(v) for v in value])
        _SHARED.add(digest, frozen)
    return frozen


def _shared_part(value: Any) -> Any:
    if type(value) in _FRESH:
        return _freeze_shared(value, orjson.dumps(value, default=_json_default, option=_SHARE_OPTIONS))
    return _freeze_copy(value)  # a frozen part stays as it is


def freeze_unshared(value: Any) -> Any:
    """`freeze` for a value whose parts are seldom equal to another's (an Event names its own
    object, time and message): copied without looking for an equal frozen value, and without
    filling the table of shared parts with entries nothing will ask for again."""
    return _freeze_copy(value)


def _freeze_copy(value: Any) -> Any:
    """`freeze` without sharing: every map and list copied."""
    kind = type(value)
    if kind is dict:  # (the exact types first: an ABC's isinstance costs several times more)
        return pmap_of({k: v if type(v) in _SCALARS else _freeze_copy(v) for k, v in value.items()})
    if kind is list or kind is tuple:
        return pvector([v if type(v) in _SCALARS else _freeze_copy(v) for v in value])
    if kind in _SCALARS or kind is PMap or kind is _PVECTOR or isinstance(value, (PMap, PVector)):
        return value
    if isinstance(value, Mapping):
        return pmap({k: _freeze_copy(v) for k, v in value.items()})
    return value


def thaw(value: Any) -> Any:
    """A deep mutable copy (PMap → dict, PVector → list) for output and editing."""
    kind = type(value)
    if kind is PMap:  # PMap's own iteration runs ~10x slower than reading its buckets
        return {k: v if type(v) in _SCALARS else thaw(v)
                for bucket in value._buckets if bucket for k, v in bucket}
    if kind is _PVECTOR or kind is list:
        return [v if type(v) in _SCALARS else thaw(v) for v in value]
    if kind in _SCALARS:
        return value
    if kind is dict:  # (a plain body, copied: the exact type before the ABCs)
        return {k: v if type(v) in _SCALARS else thaw(v) for k, v in value.items()}
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, (PVector, list, tuple)):
        return [thaw(v) for v in value]
    return value


def _orjson_default(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, (PVector, tuple)):
        return list(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def dumps(value: Any, sort_keys: bool = True) -> bytes:
    """Canonical JSON bytes (sorted keys) of a frozen or plain value."""
    option = orjson.OPT_SORT_KEYS if sort_keys else 0
    return orjson.dumps(value, default=_orjson_default, option=option)


def loads(data: bytes | str) -> Any:
    """Frozen value from JSON."""
    return freeze(orjson.loads(data))


def group_of(api_version: str) -> str:
    """`apps/v1` → `apps`; `v1` → `` (the core group)."""
    group, _, _version = api_version.rpartition("/")
    return group


def key_of(obj: Mapping) -> Key:
    meta = obj.get("metadata") or _EMPTY
    return (
        group_of(obj.get("apiVersion") or ""),
        obj.get("kind") or "",
        meta.get("namespace") or "",
        meta.get("name") or "",
    )


def format_key(key: Key) -> str:
    """Human form: `apps/Deployment demo/web`, `Node node-1`."""
    group, kind, ns, name = key
    kind_s = f"{group}/{kind}" if group else kind
    return f"{kind_s} {ns}/{name}" if ns else f"{kind_s} {name}"


MISSING = object()  # `lookup`'s answer where a path leads nowhere


def lookup(value: Any, path: Sequence) -> Any:
    """The value at `path` (MISSING when absent)."""
    for i, step in enumerate(path):  # the usual types first, without the ABC checks
        kind = type(value)
        if (kind is PMap or kind is dict) and type(step) is str:
            value = value.get(step, MISSING)
        elif (kind is tuple or kind is list or kind is _PVECTOR) and type(step) is int:
            value = value[step] if -len(value) <= step < len(value) else MISSING
        else:
            return _lookup(value, path[i:])
        if value is MISSING:
            return value
    return value


def _lookup(value: Any, path: Sequence) -> Any:
    for step in path:
        if isinstance(step, int) and isinstance(value, Sequence) and not isinstance(value, str):
            value = value[step] if -len(value) <= step < len(value) else MISSING
        elif isinstance(value, Mapping):
            value = value.get(step, MISSING)
        else:
            return MISSING
        if value is MISSING:
            return value
    return value


def get_path(value: Any, *path: str | int) -> Any:
    """Null-safe lookup: `get_path(pod, "spec", "nodeName")` is None when absent."""
    for step in path:
        if value is None:
            return None
        kind = type(value)
        if (kind is PMap or kind is dict) and type(step) is str:  # (most steps: no ABC checks)
            value = value.get(step)
            continue
        if isinstance(step, int):
            if not isinstance(value, Sequence) or isinstance(value, str):
                return None
            value = value[step] if -len(value) <= step < len(value) else None
        else:
            value = value.get(step) if isinstance(value, Mapping) else None
    return value


def set_path(value: Any, path: Sequence[str | int], new: Any) -> Any:
    """A copy of `value` with `path` set to `new` (None deletes a map key).

    Missing maps along the path are created.  Returns `value` itself when
    nothing changes, so callers detect no-ops with `is`.
    """
    if not path:
        return new
    step, rest = path[0], path[1:]
    if isinstance(step, int):
        seq = value if isinstance(value, PVector) else pvector(value or ())
        if not -len(seq) <= step < len(seq):
            raise IndexError(f"index {step} out of range")
        child = set_path(seq[step], rest, new)
        return value if child is seq[step] else seq.set(step, child)
    base = value if isinstance(value, PMap) else freeze(value or {})
    old = base.get(step)
    if not rest:
        if new is None:
            return base.discard(step) if step in base else value
        if old is not None and type(old) is type(new) and old == new:  # an equal value: no change
            return value
    child = set_path(old, rest, new)
    if child is old and (step in base or child is None):  # (deleting under a missing key: nothing)
        return value
    return base.set(step, child)


def meta(obj: Mapping) -> Mapping:
    return obj.get("metadata") or _EMPTY


def labels_of(obj: Mapping) -> Mapping:
    return meta(obj).get("labels") or _EMPTY


def resource_version(obj: Mapping | None) -> int:
    if obj is None:
        return 0
    rv = meta(obj).get("resourceVersion")
    return int(rv) if rv else 0


class ByIdentity:
    """Values worked out from immutable objects, kept by the object's identity.

    An entry holds its object, so the id cannot be reused while it is kept;
    past `limit` entries the memo starts over.  Only for objects nothing
    changes once made (frozen values, the scheduler's answers).
    """

    __slots__ = ("entries", "limit")

    def __init__(self, limit: int):
        self.entries: dict[int, tuple] = {}
        self.limit = limit

    def get(self, obj: Any, default: Any = None) -> Any:
        found = self.entries.get(id(obj))
        return found[1] if found is not None and found[0] is obj else default

    def put(self, obj: Any, value: Any) -> None:
        if len(self.entries) >= self.limit:
            self.entries.clear()
        self.entries[id(obj)] = (obj, value)
