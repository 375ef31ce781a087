"""Field paths and field sets: what server-side apply reasons about (structured-merge-diff's model).

A field set is a frozenset of paths; a path is a tuple of elements, each
spelled as its key in `fieldsV1`: `f:spec` (a field), `k:{"name":"web"}` (an
item of an associative list, by its keys), `v:"x"` (an item of a set list),
`i:0` (an index).  Lists of maps merge by their keys where Kubernetes says so
(containers by name, container ports by containerPort and protocol, ...; a
custom resource's `x-kubernetes-list-type` / `x-kubernetes-list-map-keys`);
every other list is atomic, like upstream's default.

The walkers, each a pure function of plain (thawed or frozen) objects:

- `field_set(obj)`: the fields an applied configuration sets (ToFieldSet);
- `compare(old, new)`: the fields a write added, modified and removed;
- `merge(live, config)`: the configuration merged into the live object;
- `remove_fields(obj, paths, keep)`: an object without some fields;
- `encode_fields` / `decode_fields` / `fields_json`: fieldsV1, byte for byte.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

import attrs
from pyrsistent import PVector

from .objects import thaw

Path = tuple[str, ...]
FieldSet = frozenset

MISSING: Any = object()

# -------------------------------------------------------------- the schema

# associative lists of built-in kinds: field name → its keys (upstream's +listMapKey)
MAP_LISTS: dict[str, tuple[str, ...]] = {
    "containers": ("name",), "initContainers": ("name",), "ephemeralContainers": ("name",),
    "env": ("name",), "volumes": ("name",), "volumeMounts": ("mountPath",), "volumeDevices": ("devicePath",),
    "imagePullSecrets": ("name",), "hostAliases": ("ip",), "conditions": ("type",), "ownerReferences": ("uid",),
    "addresses": ("type",), "podIPs": ("ip",), "hostIPs": ("ip",), "resourceClaims": ("name",),
    "topologySpreadConstraints": ("topologyKey", "whenUnsatisfiable"),
}
SET_LISTS = frozenset({"finalizers"})
KEY_DEFAULTS = {"protocol": "TCP"}  # key fields with a default (a port without protocol is TCP)
# maps and list items that are one value (upstream's +mapType=atomic / +structType=atomic)
ATOMIC_MAPS = frozenset({
    "selector", "podSelector", "namespaceSelector", "labelSelector", "nodeSelector", "configMapKeyRef",
    "secretKeyRef", "fieldRef", "resourceFieldRef", "configMapRef", "secretRef", "targetRef", "claimRef",
    "involvedObject", "dataSource",
})
ATOMIC_ITEMS = frozenset({"ownerReferences", "imagePullSecrets"})


@attrs.frozen
class Shape:
    """What field management needs of the schema at one node: built-in kinds decide by the field's
    name, custom resources read their openAPIV3Schema (`custom`, `schema` None when unknown)."""

    name: str = ""
    custom: bool = False
    schema: Any = None
    item: bool = False

    def child(self, name: str) -> "Shape":
        if not self.custom or (name == "metadata" and not self.name and not self.item):
            return Shape(name)
        props = (self.schema or {}).get("properties") or {}
        if name in props:
            return Shape(name, True, props[name])
        extra = (self.schema or {}).get("additionalProperties")
        return Shape(name, True, extra if isinstance(extra, Mapping) else None)

    def declares(self, name: str) -> bool:
        """A struct's own field (not a key of a free-form map): owned only through its leaves."""
        return not self.custom or name in ((self.schema or {}).get("properties") or {}) or (
            not self.name and not self.item)

    def element(self) -> "Shape":
        return Shape(self.name, self.custom, (self.schema or {}).get("items") if self.custom else None, True)

    def atomic(self) -> bool:
        if self.custom:
            return (self.schema or {}).get("x-kubernetes-map-type") == "atomic"
        return self.name in ATOMIC_ITEMS if self.item else self.name in ATOMIC_MAPS

    def list_kind(self, items: list) -> tuple[str, tuple[str, ...]]:
        if self.custom:
            schema = self.schema or {}
            kind = schema.get("x-kubernetes-list-type") or "atomic"
            return kind, tuple(schema.get("x-kubernetes-list-map-keys") or ())
        if self.name in SET_LISTS:
            return "set", ()
        if self.name == "ports":
            first = items[0] if items and isinstance(items[0], Mapping) else {}
            return "map", ("containerPort", "protocol") if "containerPort" in first else ("port", "protocol")
        if self.name in MAP_LISTS:
            return "map", MAP_LISTS[self.name]
        return "atomic", ()


BUILTIN = Shape()


def shape_of(rt: Any, version: str | None = None) -> Shape:
    """The root shape of a resource type's objects (a custom resource's schema for `version`)."""
    if not getattr(rt, "is_custom", False):
        return BUILTIN
    schemas = rt.schemas or {}
    schema = schemas.get(version or rt.version) or schemas.get(rt.version)
    return Shape("", True, thaw(schema) if schema is not None else None)


# ---------------------------------------------------------- path elements


def to_json(value: Any) -> str:
    """Compact JSON, as path elements and fieldsV1 spell values."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _items(value: list, shape: Shape) -> list[tuple[str, Any]] | None:
    """A list's items with their path elements; None when the list is atomic (or its items
    do not identify themselves: not maps, a key missing, duplicates)."""
    kind, keys = shape.list_kind(value)
    if kind == "set":
        if any(isinstance(v, (Mapping, list, tuple, PVector)) for v in value):
            return None
        elems = ["v:" + to_json(v) for v in value]
    elif kind == "map" and keys:
        elems = []
        for item in value:
            if not isinstance(item, Mapping):
                return None
            key = {}
            for name in sorted(keys):
                found = item.get(name)
                if found is None:
                    found = KEY_DEFAULTS.get(name)
                    if found is None:
                        return None
                key[name] = found
            elems.append("k:" + to_json(key))
    else:
        return None
    if len(set(elems)) != len(elems):
        return None
    return list(zip(elems, value))


def _kind(value: Any, shape: Shape) -> str:
    """"map" or "list" for a granular container, "leaf" for a scalar or an atomic value."""
    if isinstance(value, Mapping):
        return "leaf" if shape.atomic() else "map"
    if isinstance(value, (list, tuple, PVector)):
        return "list" if _items(list(value), shape) is not None else "leaf"
    return "leaf"


@lru_cache(maxsize=4096)
def _sort_key(elem: str) -> tuple:
    """Upstream's order of path elements: fields, then keys, then values, then indexes."""
    tag, text = elem[:1], elem[2:]
    if tag == "f":
        return (0, text)
    if tag == "k":
        return (1, tuple((name, _value_key(v)) for name, v in json.loads(text).items()))
    if tag == "v":
        return (2, _value_key(json.loads(text)))
    return (3, int(text))


def _value_key(value: Any) -> tuple:
    if isinstance(value, bool):
        return (2, value)
    if isinstance(value, (int, float)):
        return (0, value)
    if isinstance(value, str):
        return (1, value)
    if value is None:
        return (5, 0)
    return (3 if isinstance(value, list) else 4, to_json(value))


def path_string(path: Path) -> str:
    """`.spec.template.spec.containers[name="web"].image`: upstream's Path.String()."""
    out = []
    for elem in path:
        tag, text = elem[:1], elem[2:]
        if tag == "f":
            out.append("." + text)
        elif tag == "k":
            out.append("[" + ",".join(f"{k}={to_json(v)}" for k, v in json.loads(text).items()) + "]")
        elif tag == "v":
            out.append(f"[={text}]")
        else:
            out.append(f"[{text}]")
    return "".join(out)


def path_at(obj: Any, steps: Iterable[str | int], shape: Shape = BUILTIN) -> Path:
    """The path of the part of `obj` that `steps` (field names and list indexes) lead to: an item of
    an associative list by its keys, as managedFields and structured-merge-diff's errors name it, an
    item of an atomic list (or of one whose items do not identify themselves) by its index."""
    path = []
    for step in steps:
        if isinstance(step, int):
            items = _items(list(obj), shape)
            path.append(items[step][0] if items is not None else f"i:{step}")
            shape = shape.element()
        else:
            path.append("f:" + step)
            shape = shape.child(step)
        obj = obj[step]
    return tuple(path)


# -------------------------------------------------------------- fieldsV1


def encode_fields(fields: Iterable[Path]) -> dict:
    """The fieldsV1 trie of a field set (`.` marks a node that is itself owned), in upstream's order."""
    root: dict = {}
    for path in fields:
        node = root
        for elem in path:
            node = node.setdefault(elem, {})
        node["."] = None
    return _emit(root, top=True)


def _emit(node: dict, top: bool = False) -> dict:
    children = [k for k in node if k != "."]
    out: dict = {}
    if "." in node and children and not top:
        out["."] = {}
    for elem in sorted(children, key=_sort_key):
        out[elem] = _emit(node[elem])
    return out


def decode_fields(doc: Any) -> FieldSet:
    """The field set of a fieldsV1 trie; keys and values are canonicalised."""
    out: set[Path] = set()

    def walk(node: Any, path: Path) -> None:
        if not isinstance(node, Mapping):
            raise ValueError("fieldsV1 must be a JSON object of objects")
        if not node and path:
            out.add(path)
        for key, child in node.items():
            if key == ".":
                if path:
                    out.add(path)
                continue
            walk(child, path + (_canonical(key),))

    walk(doc, ())
    return frozenset(out)


def _canonical(elem: str) -> str:
    tag = elem[:2]
    if tag in ("k:", "v:"):
        try:
            value = json.loads(elem[2:])
        except ValueError:
            raise ValueError(f"invalid path element {elem!r}") from None
        if tag == "k:":
            if not isinstance(value, Mapping):
                raise ValueError(f"invalid key {elem!r}")
            value = dict(sorted(value.items()))
        return tag + to_json(value)
    if tag == "i:" and elem[2:].isdigit():
        return elem
    if tag == "f:":
        return elem
    raise ValueError(f"invalid path element {elem!r}")


def fields_json(fields: Iterable[Path]) -> str:
    """The compact JSON text of a field set's fieldsV1, byte for byte upstream's."""
    return to_json(encode_fields(fields))


# -------------------------------------------------------- walking objects


def field_set(obj: Any, shape: Shape = BUILTIN) -> FieldSet:
    """The fields an object (an applied configuration) sets: its leaves, list items, empty maps."""
    out: set[Path] = set()
    _collect(obj, shape, (), out)
    return frozenset(out)


def _collect(value: Any, shape: Shape, path: Path, out: set) -> None:
    kind = _kind(value, shape)
    if kind == "map":
        for key, child in value.items():
            sub = path + ("f:" + key,)
            if child is None or (isinstance(child, Mapping) and not child) or not shape.declares(key):
                out.add(sub)
            _collect(child, shape.child(key), sub, out)
    elif kind == "list":
        element = shape.element()
        for elem, item in _items(list(value), shape) or ():
            _collect(item, element, path + (elem,), out)
            out.add(path + (elem,))
    elif path:
        out.add(path)


@attrs.frozen
class Comparison:
    added: FieldSet
    modified: FieldSet
    removed: FieldSet

    @property
    def changed(self) -> FieldSet:
        return self.added | self.modified


def compare(old: Any, new: Any, shape: Shape = BUILTIN) -> Comparison:
    """What `new` added, modified and removed relative to `old` (structured-merge-diff's Compare)."""
    added: set[Path] = set()
    modified: set[Path] = set()
    removed: set[Path] = set()
    _compare(old, new, shape, (), added, modified, removed)
    return Comparison(frozenset(added), frozenset(modified), frozenset(removed))


def _compare(left: Any, right: Any, shape: Shape, path: Path, added: set, modified: set, removed: set) -> None:
    lkind = None if left is MISSING else _kind(left, shape)
    rkind = None if right is MISSING else _kind(right, shape)
    if lkind is not None and rkind is not None and lkind != rkind:  # a field changed its type
        _compare(left, MISSING, shape, path, set(), set(), removed)
        _compare(MISSING, right, shape, path, added, set(), set())
        added.discard(path)
        removed.discard(path)
        modified.add(path)
        return
    kind = lkind or rkind
    if kind == "map":
        lmap = left if lkind else {}
        rmap = right if rkind else {}
        for key in dict.fromkeys([*lmap, *rmap]):
            _compare(lmap.get(key, MISSING), rmap.get(key, MISSING), shape.child(key), path + ("f:" + key,),
                     added, modified, removed)
    elif kind == "list":
        litems = dict(_items(list(left), shape) or ()) if lkind else {}
        ritems = dict(_items(list(right), shape) or ()) if rkind else {}
        element = shape.element()
        for elem in dict.fromkeys([*litems, *ritems]):
            _compare(litems.get(elem, MISSING), ritems.get(elem, MISSING), element, path + (elem,),
                     added, modified, removed)
    elif lkind and rkind:
        if left != right:
            modified.add(path)
        return
    if not path:
        return
    if lkind is None:
        added.add(path)
    elif rkind is None:
        removed.add(path)


def merge(live: Any, config: Any, shape: Shape = BUILTIN) -> Any:
    """The live object with the configuration merged in: maps recursively, associative lists by key
    (upstream's item order), everything else replaced; a null in the configuration unsets."""
    if live is MISSING or live is None:
        return without_nulls(thaw(config))
    lkind, rkind = _kind(live, shape), _kind(config, shape)
    if lkind != rkind or rkind == "leaf":
        return without_nulls(thaw(config))
    if rkind == "map":
        out = thaw(live)
        for key, value in config.items():
            if value is None:
                out.pop(key, None)
            else:
                out[key] = merge(live.get(key, MISSING), value, shape.child(key))
        return out
    return _merge_items(_items(list(live), shape) or [], _items(list(config), shape) or [], shape.element())


def without_nulls(value: Any) -> Any:
    """A thawed value without null map entries (a null field is an unset one)."""
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


def _merge_items(left: list, right: list, element: Shape) -> list:
    """Merged items: live-only items keep their place, shared and new ones follow the config's order."""
    lmap, rmap = dict(left), dict(right)
    shared = [elem for elem, _ in right if elem in lmap]
    out, merged = [], set()
    li = ri = si = 0

    def take(elem: str) -> None:
        nonlocal si
        merged.add(elem)
        out.append(merge(lmap.get(elem, MISSING), rmap[elem], element))
        if si < len(shared) and shared[si] == elem:
            si += 1

    while li < len(left) or ri < len(right):
        if li < len(left) and ri < len(right):
            elem = left[li][0]
            if elem == right[ri][0]:
                take(elem)
                li, ri = li + 1, ri + 1
                continue
            if elem in rmap and si < len(shared) and shared[si] != elem:
                li += 1
                continue
        if li < len(left):
            elem = left[li][0]
            if elem not in rmap:
                out.append(thaw(left[li][1]))
                li += 1
                continue
            if elem in merged:
                li += 1
                continue
        if ri < len(right):
            take(right[ri][0])
            ri += 1
    return out


def remove_fields(obj: Any, remove: FieldSet, keep: FieldSet, shape: Shape = BUILTIN) -> Any:
    """`obj` (thawed) without the fields in `remove`; a container left empty goes too unless some
    path in `keep` (owned fields and their parents) is at or under it."""
    inner = _prefixes(remove)
    _remove(obj, shape, (), remove, inner, keep)
    return obj


def _remove(value: Any, shape: Shape, path: Path, remove: FieldSet, inner: frozenset, keep: frozenset) -> None:
    kind = _kind(value, shape)
    if kind == "map":
        for key in list(value):
            sub = path + ("f:" + key,)
            if sub in remove:
                del value[key]
            elif sub in inner:
                _remove(value[key], shape.child(key), sub, remove, inner, keep)
                if isinstance(value[key], (dict, list)) and not value[key] and sub not in keep:
                    del value[key]
    elif kind == "list":
        element = shape.element()
        kept = []
        for elem, item in _items(value, shape) or ():
            sub = path + (elem,)
            if sub in remove:
                continue
            if sub in inner:
                _remove(item, element, sub, remove, inner, keep)
            kept.append(item)
        value[:] = kept


def _prefixes(paths: Iterable[Path]) -> frozenset:
    return frozenset(p[:n] for p in paths for n in range(1, len(p)))


def closure(paths: Iterable[Path]) -> frozenset:
    """The paths and every parent of them."""
    paths = frozenset(paths)
    return paths | _prefixes(paths)


def path_key(path: Path) -> tuple:
    """Upstream's order of paths (element by element)."""
    return tuple(_sort_key(e) for e in path)
