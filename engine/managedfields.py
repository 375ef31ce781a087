"""Server-side apply and managedFields, with structured-merge-diff's semantics.

Built on the field sets of `fieldpath.py`:

- `update(...)`: an Update (POST/PUT/non-apply PATCH) takes the fields it
  changed from every other manager and adds them to its own entry;
- `apply(...)`: merge the configuration into the live object, drop what the
  manager applied last time and no longer applies (unless someone else owns
  it), and refuse (`Conflicts`) to change another manager's field unless forced.

`track(rt, ...)` and `apply_object(rt, ...)` are the API server's entry
points: they read and write `metadata.managedFields` in upstream's format
(entries sorted as upstream sorts them, empty entries dropped, system
metadata and the other half of a status subresource never owned).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from .apierrors import APIError, bad_request
from .fieldpath import (BUILTIN, FieldSet, Path, Shape, closure, compare, decode_fields, encode_fields, field_set,
                        merge, path_key, path_string, remove_fields, shape_of, to_json, without_nulls)
from .objects import freeze, get_path, thaw
from .timeutil import format_time, parse_time

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

# ---------------------------------------------------------------- entries

# metadata no manager owns (upstream's stripped fields)
STRIPPED = frozenset({("f:apiVersion",), ("f:kind",), ("f:metadata",)} | {
    ("f:metadata", "f:" + name) for name in (
        "name", "namespace", "creationTimestamp", "selfLink", "uid", "clusterName", "generation",
        "managedFields", "resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds")})


@attrs.frozen
class Entry:
    """One managedFields entry, decoded."""

    manager: str
    operation: str  # "Apply" | "Update"
    api_version: str
    time: str | None
    fields: FieldSet
    subresource: str = ""

    @property
    def identity(self) -> tuple:
        """Upstream's manager identifier: an applier is one manager whatever the version it used."""
        return (self.manager, self.operation, "" if self.operation == "Apply" else self.api_version,
                self.subresource)

    def describe(self) -> str:
        """How a conflict names this manager: `"kubectl" with subresource "scale" using apps/v1`."""
        text = to_json(self.manager)
        if self.subresource:
            text += f" with subresource {to_json(self.subresource)}"
        if self.operation == "Update":
            text += f" using {self.api_version}"
        return text

    def document(self) -> dict:
        doc: dict[str, Any] = {"manager": self.manager, "operation": self.operation, "apiVersion": self.api_version}
        if self.time is not None:
            doc["time"] = self.time
        doc["fieldsType"] = "FieldsV1"
        doc["fieldsV1"] = encode_fields(self.fields)
        if self.subresource:
            doc["subresource"] = self.subresource
        return doc


class ManagedFieldsError(ValueError):
    """managedFields that do not decode (the API server then keeps the live object's)."""


def decode(managed: Any) -> list[Entry]:
    """The entries of `metadata.managedFields` (upstream's DecodeManagedFields checks)."""
    entries = []
    for index, doc in enumerate(managed or ()):
        if not isinstance(doc, Mapping):
            raise ManagedFieldsError(f"managed fields entry {index} is not an object")
        operation = doc.get("operation")
        if operation not in ("Apply", "Update"):
            raise ManagedFieldsError("operation must be `Apply` or `Update`")
        if not doc.get("apiVersion"):
            raise ManagedFieldsError("apiVersion must not be empty")
        if doc.get("fieldsType") != "FieldsV1":
            raise ManagedFieldsError(f"invalid fieldsType {doc.get('fieldsType')!r} in managed fields entry {index}")
        try:
            fields = decode_fields(thaw(doc.get("fieldsV1") or {}))
        except ValueError as exc:
            raise ManagedFieldsError(f"error decoding managed fields entry {index}: {exc}") from None
        entries.append(Entry(doc.get("manager") or "", operation, doc["apiVersion"], doc.get("time"), fields,
                             doc.get("subresource") or ""))
    return entries


def encode(entries: Iterable[Entry]) -> list[dict]:
    """`metadata.managedFields`: non-empty entries, in upstream's order (operation, time, manager,
    apiVersion, subresource)."""
    kept = [e for e in entries if e.fields]
    kept.sort(key=lambda e: (e.operation, _seconds(e.time), e.manager, e.api_version, e.subresource))
    return [e.document() for e in kept]


def _seconds(time: str | None) -> float:
    try:
        return parse_time(time) if time else 0.0
    except ValueError:
        return 0.0


# ------------------------------------------------------------- operations


@attrs.frozen
class Conflict:
    entry: Entry
    path: Path


class Conflicts(Exception):
    """An apply that would change fields other managers own (upstream's merge.Conflicts)."""

    def __init__(self, conflicts: list[Conflict]):
        self.conflicts = conflicts
        super().__init__(self.message)

    @property
    def message(self) -> str:
        items = self.conflicts
        if len(items) == 1:
            only = items[0]
            return f"Apply failed with 1 conflict: conflict with {only.entry.describe()}: {path_string(only.path)}"
        lines = []
        for who in sorted({c.entry.describe() for c in items}):
            lines.append(f"conflicts with {who}:")
            lines.extend(f"- {path_string(c.path)}" for c in items if c.entry.describe() == who)
        return f"Apply failed with {len(items)} conflicts: " + "\n".join(lines)

    def error(self) -> APIError:
        """The 409 Status: reason Conflict, one FieldManagerConflict cause per field."""
        causes = [{"type": "FieldManagerConflict", "message": f"conflict with {c.entry.describe()}",
                   "field": path_string(c.path)} for c in self.conflicts]
        return APIError("Conflict", self.message, {"causes": causes}, code=409)


def _owned(fields: FieldSet, ignored: Any) -> FieldSet:
    return frozenset(p for p in fields if p not in STRIPPED and not _ignored(p, ignored))


def _ignored(path: Path, ignored: Any) -> bool:
    return ignored is not None and ignored(path)


def update(old: Any, new: Any, entries: list[Entry], manager: str, api_version: str, now: str,
           subresource: str = "", shape: Shape = BUILTIN, ignored: Any = None) -> list[Entry]:
    """The entries after an Update by `manager`: the fields it changed move to it, removed fields
    leave every entry; its entry's time moves only when it changed something."""
    diff = compare(old if old is not None else {}, new, shape)
    changed, removed = _owned(diff.changed, ignored), _owned(diff.removed, ignored)
    me = ("Update", api_version, subresource)
    result, mine = [], None
    for entry in entries:
        if (entry.manager, entry.operation, entry.api_version, entry.subresource) == (manager, *me):
            mine = entry
            continue
        fields = entry.fields - removed - changed
        result.append(entry if fields == entry.fields else attrs.evolve(entry, fields=fields))
    if changed:
        previous = mine.fields - removed if mine else frozenset()
        result.append(Entry(manager, "Update", api_version, now, previous | changed, subresource))
    elif mine is not None:
        result.append(attrs.evolve(mine, fields=mine.fields - removed))
    return [e for e in result if e.fields]


def apply(live: Any, config: Any, entries: list[Entry], manager: str, api_version: str, now: str,
          force: bool = False, subresource: str = "", shape: Shape = BUILTIN, ignored: Any = None,
          allowed: FieldSet = frozenset()) -> tuple[Any, list[Entry]]:
    """Apply `config` as `manager`: the merged object (thawed) and the entries, or `Conflicts`.

    `allowed` are conflicting fields that do not count (kubectl's client-side apply upgrade)."""
    applied = _owned(field_set(config, shape), ignored)
    me = ("Apply", subresource)
    last = next((e for e in entries if (e.manager, e.operation, e.subresource) == (manager, *me)), None)
    others = [e for e in entries if e is not last]
    merged = merge(live if live is not None else {}, config, shape)
    if last is not None:
        keep = closure(applied.union(*(e.fields for e in others)))
        merged = remove_fields(merged, last.fields - keep, keep, shape)
    diff = compare(live if live is not None else {}, merged, shape)
    changed, removed = _owned(diff.changed, ignored), _owned(diff.removed, ignored)
    conflicts = [Conflict(e, p) for e in others for p in sorted(e.fields & changed, key=path_key)
                 if p not in allowed]
    if conflicts and not force:
        raise Conflicts(conflicts)
    result = []
    for entry in others:
        fields = entry.fields - changed - removed
        result.append(entry if fields == entry.fields else attrs.evolve(entry, fields=fields))
    unchanged = live is not None and not (diff.added or diff.modified or diff.removed)
    time = last.time if unchanged and last is not None else now
    result.append(Entry(manager, "Apply", api_version, time, applied, subresource))
    return merged, [e for e in result if e.fields]


# ------------------------------------------------- the API server's side


def ignored_for(rt: Any, subresource: str | None, version: str | None = None) -> Any:
    """Upstream's reset fields: a kind with a status subresource owns its status only through
    it, and a status write owns nothing else; a CertificateSigningRequest's approval write owns
    its status but the certificate (csrApprovalStrategy); a pod's ephemeral containers write owns only
    spec.ephemeralContainers.  A scale write owns only the replicas: a custom
    kind's at the `specReplicasPath` of `version` (upstream's ScaleHandler path mapping)."""
    if subresource in ("status", "finalize"):
        return lambda path: path[0] != "f:status"
    if subresource == "approval":  # a CertificateSigningRequest's conditions, not its certificate
        return lambda path: path[0] != "f:status" or path[:2] == ("f:status", "f:certificate")
    if subresource == "ephemeralcontainers":
        return lambda path: path[:2] != ("f:spec", "f:ephemeralContainers")
    if subresource == "scale":
        replicas = _scale_replicas_path(rt, version)
        return lambda path: path[:len(replicas)] != replicas
    if rt.has_status:
        return lambda path: path[0] == "f:status"
    return None


def _scale_replicas_path(rt: Any, version: str | None) -> Path:
    """("f:spec", "f:replicas"), or the field path of a custom kind's declared specReplicasPath."""
    declared = rt.scale_paths.get(version) or rt.scale_paths.get(rt.version) if rt.is_custom else None
    if declared is None:
        return ("f:spec", "f:replicas")
    return tuple("f:" + step for step in declared.spec_replicas.removeprefix(".").split("."))


def _without_managed(obj: Any) -> Any:
    meta = obj.get("metadata") if isinstance(obj, Mapping) else None
    if isinstance(meta, Mapping) and "managedFields" in meta:
        return obj.set("metadata", meta.discard("managedFields")) if hasattr(obj, "set") else \
            {**obj, "metadata": {k: v for k, v in meta.items() if k != "managedFields"}}
    return obj


def _entries_of(obj: Any) -> list[Entry]:
    try:
        return decode(get_path(obj, "metadata", "managedFields"))
    except ManagedFieldsError:
        return []


def _is_reset(managed: Any) -> bool:
    """`managedFields: []` or `[{}]` in an update clears them (upstream's isResetManagedFields)."""
    if managed is None:
        return False
    items = list(managed)
    return not items or (len(items) == 1 and not items[0])


def with_entries(obj: Any, entries: list[Entry]) -> Any:
    """`obj` (frozen) with `metadata.managedFields` set from `entries` (removed when none)."""
    return with_documents(obj, encode(entries))


def with_documents(obj: Any, docs: list[dict]) -> Any:
    """`obj` (frozen) with `metadata.managedFields` = `docs` (removed when empty)."""
    meta = obj.get("metadata") or freeze({})
    meta = meta.set("managedFields", freeze(docs)) if docs else meta.discard("managedFields")
    return obj.set("metadata", meta)


def preserve(old: Any, new: Any) -> Any:
    """A write that records nothing keeps the stored managedFields when its body has none."""
    kept = get_path(old, "metadata", "managedFields") if old is not None else None
    if kept is None or get_path(new, "metadata", "managedFields") is not None:
        return new
    return new.set("metadata", new["metadata"].set("managedFields", kept))


def track(rt: Any, old: Any, new: Any, manager: str, subresource: str | None, now: float) -> Any:
    """The stored object of an Update by `manager` (create when `old` is None), managedFields recorded.

    A main-resource body's own managedFields replace the stored ones (`[]` or `[{}]` clears
    them); undecodable ones, or a subresource write's, are ignored (upstream's decodeLiveOrNew)."""
    sent = get_path(new, "metadata", "managedFields")
    if subresource or sent is None:
        entries = _entries_of(old) if old is not None else []
    elif _is_reset(sent):
        entries = []
    else:
        try:
            entries = decode(sent)
        except ManagedFieldsError:
            entries = _entries_of(old) if old is not None else []
        if not entries and old is not None:
            entries = _entries_of(old)
    api_version = str(new.get("apiVersion") or rt.api_version)
    version = api_version.rpartition("/")[2]
    after = _no_nulls(_without_managed(new))
    before = _zero_filled(_no_nulls(_without_managed(old)) if old is not None else {}, after)
    entries = update(before, _zero_filled(after, before), entries, manager or "unknown", api_version, format_time(now),
                     subresource or "", shape_of(rt, version), ignored_for(rt, subresource, version))
    return with_entries(new, entries)


# structs a Go zero value has (not pointers): a create owns their fields, not them
ZERO_STRUCTS = (("spec", "template"), ("spec", "template", "metadata"), ("spec", "template", "spec"),
                ("spec", "strategy"), ("spec", "updateStrategy"), ("spec", "jobTemplate"),
                ("spec", "jobTemplate", "spec"))


def _zero_filled(obj: dict, other: Mapping) -> dict:
    """`obj` as a Go typed value reads: the structs a zero value has (metadata, spec, status, a pod
    template, ...) exist, empty, where `other` has them; so a write owns their fields, not them."""
    for key, value in other.items():
        if isinstance(value, Mapping) and key not in obj:
            obj[key] = {}
    for path in ZERO_STRUCTS:
        parent = get_path(obj, *path[:-1])
        if isinstance(get_path(other, *path), Mapping) and isinstance(parent, dict) and path[-1] not in parent:
            parent[path[-1]] = {}
    return obj


def _no_nulls(obj: Any) -> Any:
    """A typed object's view: a null field is an unset one (`creationTimestamp: null`)."""
    return without_nulls(thaw(obj))


def apply_object(rt: Any, live: Any, config: Mapping, manager: str, force: bool, subresource: str | None,
                 now: float) -> tuple[dict, list[dict]]:
    """The body an apply patch turns into (thawed) and the managedFields to store; `Conflicts`
    or a 400 when the apply is refused."""
    api_version = applied_version(rt, config)
    shape = shape_of(rt, api_version.rpartition("/")[2])
    entries = _entries_of(live) if live is not None else []
    base = thaw(_without_managed(live)) if live is not None else None
    config = thaw(config)
    stamp, ignored = format_time(now), ignored_for(rt, subresource, api_version.rpartition("/")[2])
    try:
        merged, entries = apply(base, config, entries, manager, api_version, stamp, force, subresource or "",
                                shape, ignored)
    except Conflicts:
        if manager != "kubectl" or live is None:
            raise
        allowed = _last_applied_fields(live, api_version, shape)
        merged, entries = apply(base, config, entries, manager, api_version, stamp, force, subresource or "",
                                shape, ignored, allowed)
    if manager == "kubectl" and get_path(live, "metadata", "annotations", LAST_APPLIED):
        annotations = merged.setdefault("metadata", {}).setdefault("annotations", {})
        annotations[LAST_APPLIED] = _last_applied_text(config)
    merged.setdefault("metadata", {}).pop("managedFields", None)
    return merged, encode(entries)


def applied_version(rt: Any, config: Any) -> str:
    """The apiVersion an apply configuration is in; the 400 upstream answers before merging anything
    when it is no object, sets managedFields, or is of another version or kind."""
    if not isinstance(config, Mapping):
        raise bad_request("the body of an apply patch must be an object")
    if get_path(config, "metadata", "managedFields") is not None:
        raise bad_request("metadata.managedFields must be nil")
    api_version = str(config.get("apiVersion") or "")
    if api_version.rpartition("/")[0] != rt.group or api_version.rpartition("/")[2] not in rt.versions:
        raise bad_request(f"Incorrect version specified in apply patch. Specified patch version: "
                          f"{api_version or '/'}, expected: {rt.api_version}")
    if config.get("kind") != rt.kind:
        raise bad_request(f"the kind in the data ({config.get('kind')}) does not match the expected kind ({rt.kind})")
    return api_version


def _last_applied_fields(live: Any, api_version: str, shape: Shape) -> FieldSet:
    """Fields kubectl's client-side apply set that still hold their applied value: `kubectl apply
    --server-side` takes them over without a conflict (upstream's lastAppliedManager)."""
    text = get_path(live, "metadata", "annotations", LAST_APPLIED)
    try:
        last = json.loads(text)
    except (TypeError, ValueError):
        return frozenset()
    if not isinstance(last, dict) or last.get("apiVersion") != api_version:
        return frozenset()
    diff = compare(last, thaw(_without_managed(live)), shape)
    return field_set(last, shape) - diff.modified - diff.added - diff.removed


def _last_applied_text(config: dict) -> str:
    doc = json.loads(json.dumps(config))
    annotations = (doc.get("metadata") or {}).get("annotations")
    if isinstance(annotations, dict):
        annotations.pop(LAST_APPLIED, None)
        if not annotations:
            doc["metadata"].pop("annotations")
    return json.dumps(doc, separators=(",", ":"), sort_keys=True) + "\n"
