"""The manifests folder as the desired state of the objects it defines.

`load_folder(root)` reads every `.yaml`, `.yml` and `.json` file under
`root` (recursively, in sorted order; multi-document files; `kind: List`
expanded) and checks each document's shape.  A mistake is a `SourceError`
at the line and column it was made; the whole file is then *bad*.

`apply_folder(api, folder)` makes the cluster match the folder the way
`kubectl apply --prune` does:

- an object is created, or three-way merged into the live object (see
  `three_way_patch`): fields the manifest sets are set, fields it stopped
  setting are removed, fields set by others (status, a Pod's nodeName, a
  Service's clusterIP) are kept;
- every object it writes carries the applied configuration
  (`kubectl.kubernetes.io/last-applied-configuration`), the file it came from
  (`recon.dev/source`) and the label `applyset.kubernetes.io/part-of`;
- an object that carries that label but is no longer defined by any good
  file is deleted (pruned).  Objects of a bad file are never pruned and keep
  their last good version;
- an object two documents define is an error at the definition that is new
  (not the one the live object came from): neither is applied, and the
  object stays as it is until one of them goes;
- an object applied from a file that is now bad cannot be taken over by
  another file: the bad file may still define it, so the other definition is
  an error and the object keeps its last good version until that file is
  fixed (or deleted).

Namespaces and CustomResourceDefinitions are applied first, so a folder may
hold a CRD and its objects; then what admission reads when a pod is created
(ServiceAccounts, PriorityClasses, LimitRanges); then the rest.  So a folder
converges whatever files its dependencies are in.
"""

from __future__ import annotations

import difflib
import itertools
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import yaml
from pyrsistent import PMap

from .api.fieldvalidation import unknown_fields
from . import autoscaling_v1
from .apiserver import MANIFESTS, Actor, APIError, Request
from .errors import ReconError, SourceError, undecodable
from .kinds import CRD_GROUP, CRD_KIND, Registry, ResourceType, crd_types
from .objects import Key, dumps, freeze, get_path, group_of, key_of, thaw
from .patch import MERGE_KEYS, RETAIN_KEYS, RETAIN_KEYS_ITEMS, SET_LISTS, apply_patch

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
SOURCE = "recon.dev/source"
PART_OF = "applyset.kubernetes.io/part-of"
APPLYSET = "recon-manifests"
SUFFIXES = (".yaml", ".yml", ".json")
FIRST = {("", "Namespace"), (CRD_GROUP, CRD_KIND)}
SECOND = {("", "ServiceAccount"), ("scheduling.k8s.io", "PriorityClass"), ("", "LimitRange")}


def _phase(key: Key) -> int:
    """When an object of the folder is applied: 0 (FIRST), 1 (SECOND: what pod admission reads), 2."""
    kind = (key[0], key[1])
    return 0 if kind in FIRST else 1 if kind in SECOND else 2


# ================================================================== loading


KEY = object()  # the last step of a Document's position of a field's key (other positions are its value's)


class _Loader(yaml.CSafeLoader):
    """PyYAML's C loader, keeping timestamps and !!binary as the strings they are (as kubectl does)."""


for _tag in ("timestamp", "binary"):
    _Loader.add_constructor(f"tag:yaml.org,2002:{_tag}", lambda loader, node: loader.construct_scalar(node))


@attrs.frozen(eq=False)
class Document:
    """One object of a manifest file, with the position of each of its fields."""

    path: str  # relative to the folder, "/"-separated: the object's source
    display: str  # the path as the user names it, for messages
    line: int
    obj: Any  # frozen
    positions: Mapping[tuple, tuple[int, int]]
    lines: Sequence[str]

    def where(self, path: Sequence = ()) -> tuple[int, int]:
        """The position of the deepest known part of `path` (the document start at worst)."""
        path = tuple(path)
        while path and path not in self.positions:
            path = path[:-1]
        return self.positions.get(path, (self.line, 1))

    def error(self, message: str, path: Sequence = (), at_key: bool = False) -> SourceError:
        """A mistake at the field `path` (its value; `at_key`: its key, for a field that should not
        be there at all)."""
        line, col = self.positions.get((*path, KEY)) if at_key and (*path, KEY) in self.positions else self.where(path)
        return _error(self.display, self.lines, line, col, message)


@attrs.frozen
class Folder:
    """What `load_folder` read: the documents of good files, and every mistake."""

    root: str
    files: tuple[str, ...]  # every manifest file, relative
    documents: tuple[Document, ...]
    errors: tuple[SourceError, ...]
    bad_files: frozenset[str]
    notes: tuple[str, ...] = ()


def _error(display: str, lines: Sequence[str], line: int, col: int, message: str) -> SourceError:
    source = lines[line - 1] if 1 <= line <= len(lines) else None
    return SourceError(display, line, col, message, source)


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def manifest_files(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    return sorted(p for p in root.rglob("*") if p.suffix in SUFFIXES and p.is_file())


def load_folder(root: str | os.PathLike) -> Folder:
    """Read and check every manifest file under `root` (a folder or one file)."""
    root = Path(root)
    if not root.exists():
        raise ReconError(f"{root}: no such manifests folder")
    files, documents, errors, bad, notes = [], [], [], set(), []
    for path in manifest_files(root):
        rel = path.name if root.is_file() else path.relative_to(root).as_posix()
        files.append(rel)
        docs, file_errors = load_file(path, rel)
        if file_errors:
            bad.add(rel)
            errors += file_errors
        elif not docs:
            notes.append(f"{_display(path)}: no objects (empty file)")
        documents += docs if not file_errors else []
    return Folder(str(root), tuple(files), tuple(documents), tuple(errors), frozenset(bad), tuple(notes))


def load_file(path: Path, rel: str) -> tuple[list[Document], list[SourceError]]:
    display = _display(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        return [], [SourceError(display, 1, 1, f"cannot read manifest: {exc}")]
    except UnicodeDecodeError as exc:
        return [], [undecodable(display, path.read_bytes(), exc, "the manifest")]
    lines = text.splitlines()
    docs, errors = [], []
    try:
        for node in _compose_all(text):
            found, errs = _documents(node, rel, display, lines)
            docs += found
            errors += errs
    except yaml.MarkedYAMLError as exc:
        return [], [_syntax_error(exc, display, lines)]
    return docs, errors


def _syntax_error(exc: yaml.MarkedYAMLError, display: str, lines: Sequence[str]) -> SourceError:
    """PyYAML's error at the position it names, and the context it gives ("while parsing ... at line N")."""
    mark = exc.problem_mark or exc.context_mark
    line, col = _within(lines, mark.line + 1, mark.column + 1)
    message = "YAML syntax error: " + (exc.problem or exc.context or "invalid YAML")
    if exc.context and exc.problem and exc.context_mark:
        context_line, _ = _within(lines, exc.context_mark.line + 1, exc.context_mark.column + 1)
        message += f" ({exc.context} at line {context_line})"
    return _error(display, lines, line, col, message)


def _within(lines: Sequence[str], line: int, col: int) -> tuple[int, int]:
    """A position past the file's last line of YAML moved back to just after that line.

    PyYAML places a mistake found at the end of the stream (an unclosed `[`
    or quote) after the trailing blank and comment lines, where there is no
    source line to show; the YAML left unfinished ends on the last line that
    holds any.
    """
    last = next((n for n in range(len(lines), 0, -1) if lines[n - 1].strip()[:1] not in ("", "#")), 0)
    if last and line > last:
        return last, len(lines[last - 1].rstrip()) + 1
    return line, col


def _compose_all(text: str) -> Iterable[tuple[yaml.Node, Any]]:
    """Each document's node (for positions) and its value."""
    loader = _Loader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            yield node, loader.construct_document(node)
    finally:
        loader.dispose()


def _documents(item: tuple, rel: str, display: str, lines: Sequence[str]) -> tuple[list[Document], list[SourceError]]:
    """The objects of one YAML document (several for a `kind: List`)."""
    node, value = item
    if isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null"):
        return [], []
    positions: dict[tuple, tuple[int, int]] = {}
    errors: list[str | tuple] = []
    _walk(node, (), positions, errors, set())
    line = node.start_mark.line + 1
    obj = freeze(_json_keys(value))
    doc = Document(rel, display, line, obj, positions, lines)
    if errors:
        return [], [_error(display, lines, ln, col, msg) for msg, ln, col in errors]
    if isinstance(obj, Mapping) and obj.get("kind") == "List" and isinstance(obj.get("items"), Sequence):
        return _list_items(doc)
    problem = check_shape(obj)
    if problem:
        return [], [doc.error(*problem)]
    return [doc], []


def _list_items(doc: Document) -> tuple[list[Document], list[SourceError]]:
    docs, errors = [], []
    for i, item in enumerate(doc.obj["items"]):
        prefix = ("items", i)
        positions = {p[2:]: pos for p, pos in doc.positions.items() if p[:2] == prefix}
        line = doc.where(prefix)[0]
        sub = Document(doc.path, doc.display, line, item, positions, doc.lines)
        problem = check_shape(item)
        (errors.append(sub.error(*problem)) if problem else docs.append(sub))
    return docs, errors


def _walk(node: yaml.Node, path: tuple, positions: dict, errors: list, active: set) -> None:
    """Record where each field starts (values for scalars, keys for blocks); find duplicate keys."""
    if id(node) in active:
        return
    active.add(id(node))
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for knode, vnode in node.value:
            key = str(knode.value)
            mark = knode.start_mark
            if key in seen:
                errors.append((f'duplicate key "{key}" (first set at line {seen[key]})', mark.line + 1, mark.column + 1))
            seen[key] = mark.line + 1
            at = vnode.start_mark if isinstance(vnode, yaml.ScalarNode) else mark
            positions[path + (key,)] = (at.line + 1, at.column + 1)
            positions[path + (key, KEY)] = (mark.line + 1, mark.column + 1)  # (where its key is)
            _walk(vnode, path + (key,), positions, errors, active)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            positions[path + (i,)] = (item.start_mark.line + 1, item.start_mark.column + 1)
            _walk(item, path + (i,), positions, errors, active)
    if not path:
        positions[()] = (node.start_mark.line + 1, node.start_mark.column + 1)
    active.discard(id(node))


def _json_keys(value: Any) -> Any:
    """Map keys as JSON has them: strings (YAML allows `1:` or `true:`)."""
    if isinstance(value, dict):
        return {_key_text(k): _json_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_keys(v) for v in value]
    return value


def _key_text(key: Any) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    return "null" if key is None else str(key)


def check_shape(obj: Any) -> tuple[str, tuple] | None:
    """What makes `obj` not a Kubernetes object: (message, field path), or None."""
    if not isinstance(obj, Mapping):
        found = "a list" if isinstance(obj, Sequence) and not isinstance(obj, str) else f"{obj!r}"
        return (f"expected a Kubernetes object (a mapping with apiVersion, kind and metadata.name), found {found}", ())
    missing = [f for f in ("apiVersion", "kind") if not obj.get(f)]
    if len(missing) == 2:
        return ("not a Kubernetes object: it has no apiVersion and no kind", ())
    if missing:
        example = "v1" if missing[0] == "apiVersion" else "Deployment"
        return (f'missing "{missing[0]}" (e.g. "{missing[0]}: {example}")', ())
    for field in ("apiVersion", "kind"):
        if not isinstance(obj[field], str):
            return (f"{field} must be a string", (field,))
    meta = obj.get("metadata")
    if not isinstance(meta, Mapping):
        where = ("metadata",) if "metadata" in obj else ()
        return ('missing "metadata.name": every object in the folder needs a name', where)
    return _check_metadata(meta)


def _check_metadata(meta: Mapping) -> tuple[str, tuple] | None:
    name = meta.get("name")
    if not name and meta.get("generateName"):
        return ("metadata.generateName cannot be applied: give the object a metadata.name",
                ("metadata", "generateName"))
    if not name:
        return ('missing "metadata.name": every object in the folder needs a name', ("metadata",))
    for field in ("name", "namespace"):
        if field in meta and not isinstance(meta[field], str):
            return (f"metadata.{field} must be a string", ("metadata", field))
    return None


# ========================================================== three-way patch


def three_way_patch(live: Mapping, last: Mapping | None, new: Mapping, strategic: bool = True) -> dict:
    """kubectl apply's patch from the manifest `new` to the `live` object (CreateThreeWayMergePatch).

    It sets the fields of `new` that `live` does not have as `new` has them,
    and removes (null, or `$patch: delete` for a list item) what the previous
    manifest `last` set and `new` no longer does.  Everything else in `live`
    (fields set by controllers and other writers) is left alone.  With
    `strategic` (built-in kinds) lists of named items (containers, env,
    ports, ...) are patched item by item, by the merge keys of
    `engine.patch`; custom resources replace lists whole (JSON merge patch).
    An empty patch means the object already is as the manifest says.
    """
    last = last if isinstance(last, Mapping) else {}
    patch: dict = {key: None for key in last if key not in new and key in live}
    for key, value in new.items():
        current = live.get(key)
        if value is None:
            if key in live:
                patch[key] = None  # an explicit null removes the field
        elif isinstance(value, Mapping) and isinstance(current, Mapping):
            sub = three_way_patch(current, last.get(key), value, strategic)
            if sub:
                patch[key] = _retaining(sub, value) if strategic and key in RETAIN_KEYS else sub
        elif strategic and _is_list(value) and _is_list(current) and key in SET_LISTS:
            _set_list_patch(patch, key, current, last.get(key), value)
        elif strategic and _is_list(value) and _is_list(current) and (mkey := _merge_key(key, value)):
            sub = _list_patch(mkey, current, last.get(key), value, strategic, key in RETAIN_KEYS_ITEMS)
            if sub:
                patch[key] = sub
        elif value != current:
            patch[key] = thaw(value)
    return patch


def _is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str)


def _merge_key(field: str, items: Sequence) -> str | None:
    """The key naming the items of list `field`, when every item has it."""
    for key in MERGE_KEYS.get(field, ()):
        if all(isinstance(item, Mapping) and key in item for item in items):
            return key
    return None


def _retaining(sub: dict, new: Mapping) -> dict:
    """A patch of a `retainKeys` union (engine.patch.RETAIN_KEYS) keeps only the fields the manifest
    sets: `strategy: {type: Recreate}` drops the `rollingUpdate` the API server defaulted."""
    return {"$retainKeys": sorted(k for k, v in new.items() if v is not None), **sub}


def _list_patch(mkey: str, live: Sequence, last: Any, new: Sequence, strategic: bool, retain: bool = False) -> list:
    live_by = {item.get(mkey): item for item in live if isinstance(item, Mapping)}
    last_by = {item.get(mkey): item for item in last if isinstance(item, Mapping)} if _is_list(last) else {}
    patch = []
    for item in new:
        current = live_by.get(item[mkey])
        if current is None:
            patch.append(thaw(item))
        elif sub := three_way_patch(current, last_by.get(item[mkey]), item, strategic):
            patch.append({mkey: item[mkey], **(_retaining(sub, item) if retain else sub)})
    named = {item[mkey] for item in new}
    patch += [{mkey: k, "$patch": "delete"} for k in last_by if k not in named and k in live_by]
    return patch


def _set_list_patch(patch: dict, key: str, live: Sequence, last: Any, new: Sequence) -> None:
    """Lists merged as sets (finalizers): add what is new, delete what the manifest dropped."""
    added = [v for v in new if v not in live]
    dropped = [v for v in (last if _is_list(last) else ()) if v not in new and v in live]
    if added:
        patch[key] = thaw(added)
    if dropped:
        patch[f"$deleteFromPrimitiveList/{key}"] = thaw(dropped)


def last_applied(obj: Mapping) -> Mapping | None:
    """The configuration the folder last applied to `obj` (None if never, or unreadable)."""
    text = get_path(obj, "metadata", "annotations", LAST_APPLIED)
    try:
        value = freeze(json.loads(text)) if text else None
    except ValueError:
        return None
    return value if isinstance(value, Mapping) else None


# ================================================================= applying


def object_ref(key: Key) -> str:
    """kubectl's name for an object: `deployment.apps/web`, `service/web`."""
    group, kind, _ns, name = key
    return f"{kind.lower()}.{group}/{name}" if group else f"{kind.lower()}/{name}"


@attrs.frozen
class Change:
    """What applying the folder did to one object."""

    action: str  # created | configured | unchanged | pruned
    key: Key
    source: str

    def format(self, dry_run: bool = False) -> str:
        return f"{object_ref(self.key)} {self.action}" + (" (dry run)" if dry_run else "")


@attrs.frozen
class ApplyResult:
    """What applying the folder did: one Change per object, the mistakes, and notes."""

    changes: tuple[Change, ...] = ()
    errors: tuple[SourceError, ...] = ()
    notes: tuple[str, ...] = ()
    bad_files: frozenset[str] = frozenset()
    dry_run: bool = False

    def count(self, action: str) -> int:
        return sum(1 for c in self.changes if c.action == action)


@attrs.frozen
class Item:
    """A document resolved to the object it defines."""

    doc: Document
    rtype: ResourceType
    key: Key
    config: PMap  # what the folder says the object is (namespace filled in)


def resolve(folder: Folder, registry: Registry, live: Any = None) -> tuple[list[Item], list[SourceError]]:
    """Each document's kind, scope and key; unknown kinds and objects defined twice are errors.

    `live`: the snapshot the folder is applied to, which tells which of two
    definitions of an object is the one already in force (see `defined_once`).
    """
    items, errors = _resolve_documents(folder, registry)
    items, twice = defined_once(items, live)
    return items, [*errors, *twice]


def _resolve_documents(folder: Folder, registry: Registry) -> tuple[list[Item], list[SourceError]]:
    """Each document's item, duplicates included; unknown kinds and fields are errors."""
    crds = _folder_crds(folder)
    items, errors = [], []
    for doc in folder.documents:
        item = _item(doc, registry, crds)
        if isinstance(item, SourceError):
            errors.append(item)
            continue
        unknown = unknown_fields(item.rtype, doc.obj["apiVersion"].rpartition("/")[2], doc.obj)
        if unknown:  # what `kubectl apply` (fieldValidation=Strict) refuses
            errors.extend(doc.error(f'unknown field "{field}"', field_path(field), at_key=True) for field in unknown)
            continue
        items.append(item)
    return items, errors


def defined_once(items: list[Item], live: Any = None) -> tuple[list[Item], list[SourceError]]:
    """The items whose object no other document defines, and an error at each extra definition.

    An object defined twice is applied from neither definition: it keeps the
    version it has (the folder's last good one, or none) until one of them
    goes.  The error is placed at every definition but one: the one the live
    object was applied from, else the first in path order (so a new file is
    blamed, not the one in force).
    """
    by_key: dict[Key, list[Item]] = {}
    for item in items:
        by_key.setdefault(item.key, []).append(item)
    kept = {key: _in_force(defs, live) for key, defs in by_key.items() if len(defs) > 1}
    errors = [_defined_twice(i, kept[i.key]) for i in items if i.key in kept and i is not kept[i.key]]
    return [i for i in items if i.key not in kept], errors


def _in_force(definitions: list[Item], live: Any) -> Item:
    """The definition the live object was applied from; the first one when none was."""
    obj = live.get(definitions[0].key) if live is not None else None
    source = get_path(obj, "metadata", "annotations", SOURCE)
    return next((d for d in definitions if d.doc.path == source), definitions[0])


def _named(key: Key) -> str:
    """An object as the folder's errors name it: `service/web in namespace demo`."""
    return f"{object_ref(key)} in namespace {key[2]}" if key[2] else object_ref(key)


def _defined_twice(item: Item, other: Item) -> SourceError:
    line, col = other.doc.where(("metadata", "name"))
    return item.doc.error(
        f"{_named(item.key)} is defined twice: also at {other.doc.display}:{line}:{col}; "
        "define each object in one place (until then neither definition is applied)", ("metadata", "name"))


def _folder_crds(folder: Folder) -> dict[tuple[str, str], ResourceType]:
    """The kinds the folder's own CustomResourceDefinitions will register."""
    found = {}
    for doc in folder.documents:
        if (group_of(doc.obj["apiVersion"]), doc.obj["kind"]) == (CRD_GROUP, CRD_KIND):
            try:
                rt = crd_types(doc.obj)
            except (AttributeError, TypeError, IndexError):
                continue  # a malformed CRD: the apiserver says why when it is applied
            found[(rt.group, rt.kind)] = rt
    return found


def _item(doc: Document, registry: Registry, crds: Mapping) -> Item | SourceError:
    obj = doc.obj
    api_version, kind = obj["apiVersion"], obj["kind"]
    group, version = group_of(api_version), api_version.rpartition("/")[2]
    rtype = crds.get((group, kind)) or registry.get(group, kind)
    if rtype is None:
        return doc.error(_unknown_kind(kind, api_version, [*registry, *crds.values()]), ("kind",))
    if version not in rtype.versions:
        return doc.error(f'no matches for kind "{kind}" in version "{api_version}": '
                         f'{kind} is served as "{rtype.api_version}"', ("apiVersion",))
    meta = obj["metadata"]
    meta = meta.set("namespace", meta.get("namespace") or "default") if rtype.namespaced else meta.discard("namespace")
    config = obj.set("metadata", meta)
    return Item(doc, rtype, key_of(config), config)


def _unknown_kind(kind: str, api_version: str, types: Sequence[ResourceType]) -> str:
    message = f'no matches for kind "{kind}" in version "{api_version}"'
    close = difflib.get_close_matches(kind, sorted({t.kind for t in types}), n=1)
    if close:
        match = next(t for t in types if t.kind == close[0])
        return f'{message}: did you mean "{match.kind}" (apiVersion: {match.api_version})?'
    return f"{message}: ensure its CustomResourceDefinition is installed first"


def apply_folder(api: Any, folder: Folder, leave: frozenset = frozenset()) -> ApplyResult:
    """Make the objects the folder defines match it; prune those that left it.  The objects of
    `leave` (keys) stay as they are, though defined (the live loop's objects drifted too often)."""
    every, errors = _resolve_documents(folder, api.registry)
    broken = set(folder.bad_files) | _paths_of(errors, folder)
    items, held = not_held(every, api.store.head, broken, [*folder.errors, *errors])
    items, twice = defined_once(items, api.store.head)
    items = [i for i in items if i.key not in leave]
    errors = [*folder.errors, *errors, *held, *twice]
    bad = set(folder.bad_files) | _paths_of(errors, folder)
    changes: list[Change] = []
    notes = list(folder.notes) + _status_edits(items, api.store.head, bad)
    for number in (0, 1, 2):
        phase = [i for i in items if _phase(i.key) == number]
        for path, file_items in itertools.groupby(phase, key=lambda i: i.doc.path):
            if path not in bad:
                _apply_file(api, path, list(file_items), bad, errors, changes)
    defined = {i.key for i in every}  # an object defined twice stays as it is: it is not pruned either
    for key, source in prune_candidates(api.store.head, defined, bad):
        try:
            _delete(api, key, source)
        except APIError as exc:
            notes.append(f"cannot prune {object_ref(key)} (it left {source}): {exc.message}")
            continue
        changes.append(Change("pruned", key, source))
    return ApplyResult(tuple(changes), tuple(errors), tuple(notes), frozenset(bad))


def _status_edits(items: list[Item], head: Any, bad: set[str]) -> list[str]:
    """A note for each object whose status its file changed since it was applied: status is the
    kubelet's and the controllers' (requests_for), so only a new object takes it from the file (a
    Node's capacity, say), as upstream's apply leaves a status alone."""
    notes = []
    for item in items:
        live = head.get(item.key) if item.rtype.has_status and item.doc.path not in bad else None
        status = get_path(item.config, "status")
        last = last_applied(live) if live is not None else None
        if last is not None and status is not None and freeze(status) != get_path(last, "status"):
            notes.append(f"{item.doc.display}: the status of {object_ref(item.key)} changed, but only a new "
                         f"object takes its status from the file (it is its controller's, or its kubelet's): "
                         f"delete {object_ref(item.key)} to have it created with this one")
    return notes


def not_held(items: list[Item], live: Any, broken: set[str],
             mistakes: Sequence[SourceError]) -> tuple[list[Item], list[SourceError]]:
    """The items whose live object no broken file holds, and an error at each of the others.

    A file with a mistake is not read, so it may still define the objects
    applied from it: another file defining one of them is not a move yet
    (which would prune nothing and apply the new definition) but a second
    definition nobody can see.  The object keeps its last good version until
    the broken file is fixed without it, or deleted.
    """
    kept, errors = [], []
    for item in items:
        source = get_path(live.get(item.key), "metadata", "annotations", SOURCE)
        if source in broken and source != item.doc.path:
            errors.append(_held_by(item, source, mistakes))
        else:
            kept.append(item)
    return kept, errors


def _held_by(item: Item, source: str, mistakes: Sequence[SourceError]) -> SourceError:
    display = _display_of(item.doc, source)
    first = next((e for e in mistakes if e.path == display), None)
    at = f" (line {first.line})" if first is not None else ""
    return item.doc.error(
        f"{_named(item.key)} is defined in {display}, which has an error{at}: fix that first, "
        f"or remove {object_ref(item.key)} from it (until then its last good version stays in force)",
        ("metadata", "name"))


def _display_of(doc: Document, path: str) -> str:
    """How the user names the folder's file `path`, seen from a document of the same folder."""
    if not doc.display.endswith(doc.path):
        return path
    return doc.display[:len(doc.display) - len(doc.path)] + path


def _paths_of(errors: Iterable[SourceError], folder: Folder) -> set[str]:
    docs = {d.display: d.path for d in folder.documents}
    return {docs[e.path] for e in errors if e.path in docs}


def _apply_file(api: Any, path: str, items: list[Item], bad: set[str], errors: list, changes: list) -> None:
    """Apply the documents of one file (of one phase) as one transaction: all or nothing."""
    lives = [api.store.head.get(item.key) for item in items]
    requests = [requests_for(item, live) for item, live in zip(items, lives)]
    flat = [r for rs in requests for r in rs]
    try:
        events = api.submit(actor_for(path), flat, cause=({"manifest": path},))[1] if flat else ()
    except APIError as exc:
        culprit, exc = _culprit(api, path, items, requests) or (items[0], exc)
        errors.append(_api_error(culprit, exc))
        bad.add(path)
        return
    written = {event.key for event in events}
    for item, live in zip(items, lives):
        action = "created" if live is None else "configured" if item.key in written else "unchanged"
        changes.append(Change(action, item.key, path))


def _culprit(api: Any, path: str, items: list[Item], requests: list[list]) -> tuple[Item, APIError] | None:
    """The first document whose writes are refused (dry runs of growing prefixes of the file)."""
    prefix: list = []
    for item, item_requests in zip(items, requests):
        prefix += [attrs.evolve(r, dry_run=True) for r in item_requests]
        try:
            api.submit(actor_for(path), prefix)
        except APIError as exc:
            return item, exc
    return None


def requests_for(item: Item, live: Mapping | None) -> list[Request]:
    """The writes that make the object what `item` says it is: none when it already is."""
    group, kind, ns, name = item.key
    applied = _stamped(item.config, item)
    if live is None:  # (a client's body, as kubectl's: the API server decodes it as upstream's does)
        return [Request("create", group, kind, ns, name, body=applied, client_body=True)]
    last = last_applied(live)
    if item.rtype.has_status:  # status is the controllers'; a manifest's counts only on create
        applied, last = applied.discard("status"), last and last.discard("status")
    if autoscaling_v1.is_v1(applied):  # an autoscaling/v1 file: compared with (and patched into) the v1 view
        return _v1_requests(item, live, last, applied)
    patch = three_way_patch(live, last, applied, strategic=not item.rtype.is_custom)
    if not patch:
        return []
    return [Request("patch", group, kind, ns, name, body=patch, client_body=True,
                    patch_type="merge" if item.rtype.is_custom else "strategic")]


def _v1_requests(item: Item, live: Mapping, last: Mapping | None, applied: Mapping) -> list[Request]:
    """The write of an autoscaling/v1 HorizontalPodAutoscaler file, as kubectl apply makes it: the
    patch from the v1 view of the stored object, applied to that view and sent back as an update."""
    view = autoscaling_v1.to_v1(live)
    view.pop("status", None)
    patch = three_way_patch(view, last, applied)
    if not patch:
        return []
    group, kind, ns, name = item.key
    body = apply_patch(view, patch, "strategic")
    return [Request("update", group, kind, ns, name, body=body, client_body=True,
                    rv=get_path(live, "metadata", "resourceVersion"))]


def _stamped(obj: PMap, item: Item) -> PMap:
    """`obj` marked as applied from the folder: last-applied configuration, source file, applyset label."""
    meta = obj["metadata"]
    annotations = freeze(meta.get("annotations") or {})
    annotations = annotations.set(LAST_APPLIED, dumps(item.config).decode() + "\n").set(SOURCE, item.doc.path)
    labels = freeze(meta.get("labels") or {}).set(PART_OF, APPLYSET)
    return obj.set("metadata", meta.set("annotations", annotations).set("labels", labels))


def actor_for(path: str) -> Actor:
    """The folder's actor, named for the file a write came from (the history shows it)."""
    return attrs.evolve(MANIFESTS, name=f"manifests:{path}")


def _delete(api: Any, key: Key, source: str) -> None:
    group, kind, ns, name = key
    # (Background, as kubectl apply --prune deletes: a ReplicationController takes its pods along)
    prune = Request("delete", group, kind, ns, name, body={"propagationPolicy": "Background"})
    api.submit(actor_for(source), [prune], cause=({"manifest": source, "pruned": True},))


def prune_candidates(snapshot: Any, keep: set[Key], bad: set[str]) -> list[tuple[Key, str]]:
    """Objects applied from the folder that no good file defines any more (dependents first)."""
    found = []
    for group, kind in snapshot.kinds():
        for key in snapshot.by_label(group, kind, PART_OF, APPLYSET):
            meta = snapshot.get(key).get("metadata") or {}
            source = (meta.get("annotations") or {}).get(SOURCE, "")
            if not source:
                continue  # the label alone was copied by a controller (an Endpoints takes its Service's labels)
            if key not in keep and source not in bad and not meta.get("deletionTimestamp"):
                found.append((key, source))
    return sorted(found, key=lambda ks: (-_phase(ks[0]), ks[0][1] == "Namespace", ks[0]))


_FIELD_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]|\[([^\]]*)\]")


def field_path(field: str) -> tuple:
    """`spec.containers[0].image` → ("spec", "containers", 0, "image")."""
    steps: list = []
    for name, index, key in _FIELD_STEP.findall(field):
        steps.append(name or (int(index) if index else key))
    return tuple(steps)


def _api_error(item: Item, exc: APIError) -> SourceError:
    """A refused write, placed at the field it names."""
    path: tuple = ()
    for cause in exc.details.get("causes") or ():
        if cause.get("field"):
            path = field_path(cause["field"])
            break
    if exc.reason == "NotFound" and exc.message.startswith("namespaces "):
        path = ("metadata", "namespace")
    return item.doc.error(f"{exc.message} ({exc.reason})", path)
