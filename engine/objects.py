"""Kubernetes objects as immutable values.

Objects are JSON documents frozen with pyrsistent: maps are `PMap`, lists
are `PVector`.  Nothing handed out by the store can be mutated; a change
makes a new value that shares everything it did not touch.

An object's key is `(group, kind, namespace, name)`; the core group is `""`
and cluster-scoped objects have namespace `""`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from pyrsistent import PMap, PVector, pmap, pvector

Key = tuple[str, str, str, str]

_EMPTY = pmap()


_SCALARS = frozenset({str, int, float, bool, type(None)})


def freeze(value: Any) -> Any:
    """A deep immutable copy of a JSON-like value (dicts → PMap, lists → PVector)."""
    kind = type(value)
    if kind in _SCALARS or kind is PMap or isinstance(value, (PMap, PVector)):
        return value
    if kind is dict or isinstance(value, Mapping):
        return pmap({k: freeze(v) for k, v in value.items()})
    if kind is list or kind is tuple:
        return pvector([freeze(v) for v in value])
    return value


def thaw(value: Any) -> Any:
    """A deep mutable copy (PMap → dict, PVector → list) for output and editing."""
    kind = type(value)
    if kind in _SCALARS:
        return value
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


def get_path(value: Any, *path: str | int) -> Any:
    """Null-safe lookup: `get_path(pod, "spec", "nodeName")` is None when absent."""
    for step in path:
        if value is None:
            return None
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
    if not rest and new is None:
        return base.discard(step) if step in base else value
    child = set_path(old, rest, new)
    if child is old and step in base:
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
