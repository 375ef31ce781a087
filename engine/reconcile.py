"""The engine loop: from each change, re-evaluate exactly the rule instances it touches.

A rule instance is (rule, anchor object).  Evaluating one reads a snapshot
through `EvalContext` — every query and lookup leaves a *dependency*: the
index entry it read (e.g. "Pods owned by uid X", "Pods labelled app=web in
demo", "the Node named n1").  When a commit changes an object, the index
entries the object had before and has after name the dependencies it can
affect, so the engine finds the instances to re-evaluate without looking at
unrelated objects.

A *round* evaluates every invalidated instance against one snapshot,
collects their writes and submits each instance's writes as one transaction
through the API server, with the component as actor and the changes that
invalidated the instance as cause.  The events an instance recorded (`event`
statements) ride in the same transaction, and only when it writes something:
a level-based rule that finds nothing to change records nothing.  Rounds
repeat until nothing is invalidated and nothing was written: converged.  Then the clock jumps to the
next deadline a rule is waiting on (simulated clocks only).
"""

from __future__ import annotations

import difflib
import functools
import heapq
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs
from pyrsistent import PMap, pvector

from .access import ANY, denied_by_rbac
from .apiserver import Actor, APIError, Permissions, Request
from .crd import pruned_fields
from .dsl import runtime as R
from .dsl.ast import ANY_KIND
from .dsl.compile import CompiledComponent, CompiledDecl, prefilter_test
from .errors import SourceError
from .evalctx import EvalContext, SetWrite, CreateWrite, DeleteWrite, rule_position, statement_column
from .events import EVENT, Emitted, EventRecorder, object_reference
from .kinds import BUILTINS, CRD_GROUP, CRD_KIND, Registry
from .objects import Key, format_key, freeze, get_path, is_mapping, map_items, set_path
from .rules import RuleSet
from .scheduler import Scheduler
from .schemas import builtin_kind_schema, declared_names, undeclared_prefix
from .request import undeclared_fields
from .scheduler_cache import identical
from .store import TooOld, selects_pair

MAX_CAUSES = 5
_PVECTOR = type(pvector())
FIGHT_ROUNDS = 4  # the last rounds of a stopped run whose writers are held back (`Engine._park`)


@attrs.frozen
class RuleFailure:
    """A rule that failed on an object: its evaluation raised, or the API server refused its writes."""

    rule: str
    path: str  # the rule file, and the position in it of what failed
    line: int
    key: Key
    message: str
    col: int = 0  # (0: not known)
    source_line: str | None = None
    # the API server refused its writes for a reason of the cluster's (a quota, a namespace being
    # deleted, a name taken), not the rule's own (an invalid object, a write its component may not do)
    refused: bool = False
    creating: bool = False  # what was refused is a creation (upstream's FailedCreate: `Error creating: …`)
    held_back: bool = False  # not failed: kept from running for a while after a fight it took part in

    @property
    def location(self) -> str:
        return f"{self.path}:{self.line}"

    def format(self) -> str:
        what = "on" if self.held_back else "failed on"
        return _at(self.path, self.line, self.col, self.source_line,
                   f"rule {self.rule} {what} {format_key(self.key)}: {self.message}")


@attrs.frozen
class DroppedFields:
    """Fields a rule sets that the API server drops: of a custom resource, those its CRD's
    structural schema does not declare (upstream prunes them); of a built-in kind, those its type
    does not have (upstream's decode drops them).  The write goes through and leaves the
    object without them, so the rule wants them again whenever it is evaluated: reported for as
    long as it lasts, as a warning (it is no failure of the rule, and no fight)."""

    rule: str
    path: str  # the rule file, and the position in it of the first of those sets
    line: int
    key: Key
    fields: tuple[tuple, ...]  # the paths the rule sets there, of which the API server drops all or part
    undeclared: tuple[tuple, ...]  # the paths the schema does not declare (up to the first such name)
    schema: str  # whose: `CustomResourceDefinition widgets.example.com (v1)`, `v1 ConfigMap`
    col: int = 0
    source_line: str | None = None

    @property
    def location(self) -> str:
        return f"{self.path}:{self.line}"

    def format(self) -> str:
        fields = ", ".join(_dotted(f) for f in self.fields)
        whole = all(any(f[:len(u)] == u for u in self.undeclared) for f in self.fields)
        them = ("it" if len(self.fields) == 1 else "them") if whole else "what the schema does not declare"
        return _at(self.path, self.line, self.col, self.source_line,
                   f"rule {self.rule} sets {fields} of {format_key(self.key)}, but the API server drops {them}: "
                   f"the schema of {self.schema} does not declare "
                   + ", ".join(_dotted(u) for u in self.undeclared))


@attrs.frozen
class UnservedKind:
    """A kind a component's header names that no built-in kind nor CustomResourceDefinition of the
    cluster defines (a typo, or a CRD not applied yet): the rules anchored on it never run, its
    lookups find nothing.  Reported for as long as it lasts, as a warning."""

    rule: str  # the component
    path: str
    line: int
    col: int
    kind: str  # as written
    suggestion: str | None
    source_line: str | None = None
    key: Key = ("", "", "", "")

    def format(self) -> str:
        hint = f" (did you mean {self.suggestion}?)" if self.suggestion else ""
        return _at(self.path, self.line, self.col, self.source_line,
                   f"component {self.rule} names {self.kind}, which no built-in kind or CustomResourceDefinition "
                   f"in the cluster defines: nothing of it is read or written{hint}")


_BUNDLED_RULES = (Path(__file__).parent / "defaults" / "rules").resolve()  # (a link to ../rules in a checkout)
_BUILT_IN = frozenset((t.group, t.kind) for t in BUILTINS)


def _checked_writes(decl: CompiledDecl) -> bool:
    """Are the writes of `decl` checked at run time for fields their built-in kind does not
    declare (the API server drops them, the engine warns)?  A user's rules are; recon's own
    bundled rules are not: the checker finds no such field in their text (`undeclared_writes`,
    which their tests hold to none), and what their values hold beyond it is recon's own making
    (the runtime's container statuses, copies of the objects they read), so at every write the
    walk over each value would find nothing, at about 5 % of a scale edit."""
    return not bundled_rules(decl.path)


@functools.lru_cache(maxsize=1024)
def bundled_rules(path: str) -> bool:
    """Is the rule file at `path` one of the rules bundled with recon (not a user's own)?"""
    return Path(path).resolve().is_relative_to(_BUNDLED_RULES)


def unserved_kinds(components: Iterable[CompiledComponent], registry: Any, source_line: Any) -> list[UnservedKind]:
    """The kinds the components' headers name that `registry` does not serve.  Not those of the
    rules bundled with recon, which run where no ./rules folder is: their example controller's
    kind is defined only by the bundled example manifests, not by a user's folder."""
    served = {f"{rt.group}/{rt.kind}" if rt.group else rt.kind for rt in registry}
    bare = {rt.kind for rt in registry}
    found = []
    for comp in components:
        if bundled_rules(comp.path):
            continue
        refs = [*comp.reads, *(w.ref for w in comp.writes)]
        seen = set()
        for ref in refs:
            if ref.is_any or str(ref) in seen:
                continue
            seen.add(str(ref))
            if registry.named(ref.group, ref.kind):
                continue
            close = difflib.get_close_matches(str(ref), sorted(served | bare), n=1, cutoff=0.75)
            line, col = ref.pos.line, ref.pos.col
            found.append(UnservedKind(comp.name, comp.path, line, col, str(ref), close[0] if close else None,
                                      source_line(comp.path, line)))
    return found


@attrs.frozen
class UndeclaredRead:
    """A field a rule reads of its own object that the schema of its kind does not declare (a
    misspelt `spec.mesage` of a custom object, `spec.replics` of a Deployment): the API server
    prunes or drops such fields, so it always reads null.  Reported for as long as it lasts, as
    a warning (the rule runs; its text says where)."""

    rule: str
    path: str
    line: int
    kind: str
    field: tuple
    schema: str  # whose: `CustomResourceDefinition widgets.example.com (v1)`, `apps/v1 Deployment`
    suggestion: str | None
    key: Key = ("", "", "", "")
    col: int = 0
    source_line: str | None = None

    def format(self) -> str:
        hint = f" (did you mean {self.suggestion}?)" if self.suggestion else ""
        return _at(self.path, self.line, self.col, self.source_line,
                   f"rule {self.rule} reads {_dotted(self.field)} of its {self.kind}, which the schema of "
                   f"{self.schema} does not declare: it is always null{hint}")


def undeclared_reads(decls: Iterable[CompiledDecl], registry: Any,
                     source_line: Callable[[str, int], str | None] | None = None) -> list[UndeclaredRead]:
    """The fields rules read of their objects that the schemas of the objects' kinds do not
    declare: a custom kind's CRD schema, a built-in kind's OpenAPI schema (recon's own kinds
    have none, and a part a schema leaves open is never reported).

    A rule's paths hold both readings of a metadata shortcut (`x.labels` is `x.metadata.labels`
    when `x` has no `labels`, dsl.reads): a read is reported when no reading of it is declared."""
    found = []
    for decl in decls:
        if decl.kind is None or decl.kind.is_any or not decl.anchor_reads:
            continue
        rt = registry.named(decl.kind.group, decl.kind.kind)
        if rt is None:
            continue
        if rt.is_custom:
            schema = rt.schemas.get(rt.version)
            if not isinstance(schema, Mapping):
                continue
            whose = f"CustomResourceDefinition {rt.plural}.{rt.group} ({rt.version})"

            def lost(path: tuple, schema: Mapping = schema) -> tuple | None:
                pruned = pruned_fields(schema, path, None)
                return pruned[0] if pruned else None
        else:
            schema = builtin_kind_schema(rt.group, rt.version, rt.kind)
            if schema is None:  # (recon's own kinds have none)
                continue
            whose = f"{rt.api_version} {rt.kind}"

            def lost(path: tuple, schema: Mapping = schema) -> tuple | None:
                return undeclared_prefix(schema, path)
        readings: dict[tuple, list] = {}
        for path in decl.anchor_reads:
            if path not in decl.anchor_set_only:  # (what it only sets: DroppedFields)
                readings.setdefault(_without_meta_steps(path), []).append(path)
        for paths in readings.values():
            missing = [lost(path) for path in paths]
            if not all(missing):
                continue
            field = min(missing, key=len)
            pos = decl.anchor_positions.get(field) or next(
                (p for steps, p in decl.anchor_positions.items() if _without_meta_steps(steps) == _without_meta_steps(field)),
                None)
            line, col = (pos.line, pos.col) if pos is not None else (decl.line, 0)
            names = declared_names(schema, field[:-1])
            close = difflib.get_close_matches(str(field[-1]), names, n=1, cutoff=0.75)
            found.append(UndeclaredRead(decl.qualname, decl.path, line, str(decl.kind), field, whose,
                                        _dotted((*field[:-1], close[0])) if close else None, col=col,
                                        source_line=source_line(decl.path, line) if source_line and col else None))
    return sorted(found, key=lambda u: (u.path, u.line, u.col))


def _schema_name(rt: Any, version: str) -> str:
    """Whose schema a diagnostic names: `CustomResourceDefinition widgets.example.com (v1)`, `apps/v1 Deployment`."""
    if rt.is_custom:
        return f"CustomResourceDefinition {rt.plural}.{rt.group} ({version})"
    return f"{rt.group}/{version} {rt.kind}" if rt.group else f"{version} {rt.kind}"


@attrs.frozen
class UndeclaredWrite:
    """A field a rule's `set` or `create` writes, of an object of a kind its text shows, that the
    schema of the kind does not declare: the API server drops it (a warning; the rule runs)."""

    rule: str
    path: str
    line: int
    col: int
    kind: str
    field: tuple
    schema: str
    suggestion: str | None
    source_line: str | None = None
    key: Key = ("", "", "", "")

    def format(self) -> str:
        hint = f" (did you mean {self.suggestion}?)" if self.suggestion else ""
        return _at(self.path, self.line, self.col, self.source_line,
                   f"rule {self.rule} writes {self.kind} field {_field(self.field)}, which the schema of "
                   f"{self.schema} does not declare: the API server drops it{hint}")


def undeclared_writes(sites: Iterable[tuple[CompiledComponent, str, Iterable[Any]]], registry: Any,
                      source_line: Callable[[str, int], str | None] | None = None) -> list[UndeclaredWrite]:
    """The fields rules write (`set` paths and `create` templates, as their text spells them out, of
    objects whose kind it shows: `sites`, each component's rule name with its check.WriteSites) that
    the schema of a built-in kind does not declare; the API server drops such fields at run time
    (DroppedFields)."""
    found, seen = [], set()
    for comp, rule, written in sites:
        qualname = f"{comp.name}/{rule}"
        for site in written:
            rt = registry.named(site.kind.group, site.kind.kind)
            schema = builtin_kind_schema(rt.group, rt.version, rt.kind) if rt and not rt.is_custom else None
            if schema is None:
                continue
            path = site.path
            if path and path[0] in R.META_SHORTCUTS and undeclared_prefix(schema, path[:1]):
                path = ("metadata", *path)  # (`x.labels` is `x.metadata.labels`)
            field = undeclared_prefix(schema, path)
            if field is None:
                continue
            depth = len(field) - (len(path) - len(site.path))
            pos = site.positions[max(depth - 1, 0)]
            if (qualname, pos.line, pos.col, field) in seen:
                continue
            seen.add((qualname, pos.line, pos.col, field))
            names = declared_names(schema, field[:-1])
            close = difflib.get_close_matches(str(field[-1]), names, n=1, cutoff=0.75)
            found.append(UndeclaredWrite(qualname, comp.path, pos.line, pos.col, str(site.kind), field,
                                         f"{rt.api_version} {rt.kind}",
                                         _field((*field[:-1], close[0])) if close else None,
                                         source_line(comp.path, pos.line) if source_line else None))
    return sorted(found, key=lambda u: (u.path, u.line, u.col))


def _without_meta_steps(path: tuple) -> tuple:
    """`path` with each `metadata` step before a metadata shortcut left out (`metadata.labels`
    and `labels` are one reading)."""
    out: list = []
    for step in path:
        if step in R.META_SHORTCUTS:
            while out and out[-1] == "metadata":
                out.pop()
        out.append(step)
    return tuple(out)


def _decl_col(rules: Any, decl: CompiledDecl) -> int:
    """The column where `decl` begins on its line (its `rule` keyword): where a diagnostic about the
    whole rule points."""
    text = rules.source_line(decl.path, decl.line) or ""
    return len(text) - len(text.lstrip()) + 1


def _at(path: str, line: int, col: int, source_line: str | None, message: str) -> str:
    """`path:line:col: message`, then the source line and a caret: the one format of the mistakes
    in a user's files (errors.SourceError); `path:line: message` when the column is not known."""
    if col <= 0:
        return f"{path}:{line}: {message}"
    return SourceError(path, line, col, message, source_line).format()


def _field(path: tuple) -> str:
    """`spec.containers[0].image`: a path as a rule spells it."""
    return "".join(f"[{step}]" if isinstance(step, int) else f".{step}" if i else str(step)
                   for i, step in enumerate(path))


def _dotted(path: tuple) -> str:
    return ".".join(map(str, path))


@attrs.frozen
class RunResult:
    converged: bool
    message: str
    rounds: int
    evaluations: int
    failures: tuple[RuleFailure | DroppedFields, ...] = ()  # what fails, and what the API server drops


class Fight(Exception):
    pass


def change_keys(key: Key, obj: Mapping | None) -> Iterable[tuple]:
    """The dependency keys a change to `obj` (one version of it) can affect."""
    group, kind, ns, _name = key
    yield ("kind", group, kind)
    yield ("ns", group, kind, ns)
    yield ("ns*", ns)  # `any in NS`
    yield ("key", key)
    if obj is None:
        return
    meta = obj.get("metadata") or {}
    for label, value in (meta.get("labels") or {}).items():
        yield ("label", group, kind, ns, label, value)
        yield ("label*", group, kind, label, value)
    for ref in meta.get("ownerReferences") or ():
        if ref.get("uid"):
            yield ("owner", group, kind, ref["uid"])
            yield ("owner*", ref["uid"])  # `any where owned_by(it, x)`
    spec = obj.get("spec")
    spec_is_map = is_mapping(spec)
    if spec_is_map and spec.get("nodeName"):
        yield ("node", group, kind, spec["nodeName"])
    pair = selects_pair(spec) if spec_is_map else None
    if pair is not None:
        yield ("selects", group, kind, ns, *pair)
    if meta.get("uid"):
        yield ("uid", meta["uid"])


def touched_keys(event: Any) -> frozenset:
    """The dependency keys a change touches: `change_keys` of both its versions.  The engine's
    routing and the scheduler's caches both ask, so the last few thousand are kept (by the
    event, which the entry holds: no id is reused meanwhile).  When the versions hold the very
    parts `change_keys` reads (a status update), the old one's keys are the new one's."""
    return _touched(event)[1]


def _touched(event: Any) -> tuple:
    """(event, `touched_keys`, the keys of both versions: the index entries the object stays in)."""
    found = _TOUCHED.get(id(event))
    if found is not None and found[0] is event:
        return found
    key, old, new = event.key, event.old, event.new
    if old is not None and new is not None and not _same_keyed_parts(old, new):
        before, after = _version_keys(key, old), _version_keys(key, new)  # (the new version's kept last)
        keys, members = before | after, before & after
    else:
        keys = _version_keys(key, new if new is not None else old)
        members = keys if old is not None and new is not None else frozenset()
    if len(_TOUCHED) >= _TOUCHED_KEPT:
        _TOUCHED.clear()
    found = _TOUCHED[id(event)] = (event, keys, members)
    return found


_TOUCHED: dict[int, tuple[Any, frozenset, frozenset]] = {}
_TOUCHED_KEPT = 4096


def _version_keys(key: Key, obj: Mapping) -> frozenset:
    """`change_keys` of one version, as a set.  The last one made per object is kept with the
    parts it came from (labels, ownerReferences, spec: the very values; uid): the next version
    that holds them (a status update) has the same keys."""
    meta = None if obj is None else obj.get("metadata")
    if type(meta) is not PMap:  # (a plain or odd object: made every time)
        return frozenset(change_keys(key, obj))
    labels, owners, uid, spec = meta.get("labels"), meta.get("ownerReferences"), meta.get("uid"), obj.get("spec")
    found = _VERSION_KEYS.get(key)
    if found is not None and found[0] is labels and found[1] is owners and found[2] is spec \
            and (found[3] is uid or (type(found[3]) is type(uid) and found[3] == uid)):
        return found[4]
    keys = frozenset(change_keys(key, obj))
    if len(_VERSION_KEYS) >= _VERSION_KEYS_KEPT:
        _VERSION_KEYS.clear()
    _VERSION_KEYS[key] = (labels, owners, spec, uid, keys)
    return keys


_VERSION_KEYS: dict[Key, tuple] = {}
_VERSION_KEYS_KEPT = 100_000


def _admits(prefilter: str, obj: Any) -> bool:
    """Can `obj` (a version of an object; None: none) pass a query's `where`, by the conditions of
    it that read the object alone (ReadPaths.prefilter)?  A condition that fails to evaluate
    cannot tell: it admits."""
    if obj is None:
        return False
    try:
        return bool(prefilter_test(prefilter)(obj))
    except Exception:  # (a rule's runtime error: the query's own evaluation reports it)
        return True


def _either(admitted: dict, prefilter: str, old: Any, new: Any) -> bool:
    """`_admits` of either version, found once per change for the sites that share `prefilter`."""
    found = admitted.get(prefilter)
    if found is None:
        found = admitted[prefilter] = _admits(prefilter, old) or _admits(prefilter, new)
    return found


def _entry_kind(entry: tuple) -> str | None:
    """The kind name of the objects an index entry (a `change_keys` key) holds; None for the
    entries across kinds (a uid, an owner's uid, a namespace)."""
    if entry[0] == "key":
        return entry[1][1]
    if entry[0] in ("uid", "owner*", "ns*"):
        return None
    return entry[2]


def _same_keyed_parts(old: Mapping, new: Mapping) -> bool:
    """Do two versions of an object hold the very parts `change_keys` reads of it (its labels,
    ownerReferences and uid, its spec)?"""
    if old.get("spec") is not new.get("spec"):
        return False
    om, nm = old.get("metadata"), new.get("metadata")
    if om is nm:
        return True
    if not isinstance(om, Mapping) or not isinstance(nm, Mapping):
        return False
    return (om.get("labels") is nm.get("labels") and om.get("ownerReferences") is nm.get("ownerReferences")
            and om.get("uid") == nm.get("uid"))


class AnchorPaths:
    """The paths of their object that the rules anchored on one kind read (CompiledDecl.anchor_reads),
    as one tree: which rules a change to such an object concerns, found in one walk.

    Each path has a bit; a rule's mask holds the bits of its paths (None: it may read all of the
    object).  `changed` walks the tree over the old and new versions and leaves out every part
    that is the same object (a write shares what it does not touch), so a status update costs a
    few lookups in `status` and `metadata`, whatever the number of rules.  A part that is not
    the same object is changed unless no rule can tell it from the old one (`identical`).
    """

    def __init__(self, decls: Iterable[Any]):
        self.root: dict[str, list] = {}  # step → [bit of the path ending here, children, bits below]
        self.masks: dict[Any, int | None] = {}
        self.set_masks: dict[Any, int] = {}  # the bits of the paths a rule only sets (anchor_set_only)
        self.guard_masks: dict[Any, int | None] = {}  # … those its `where`, lets and guard read (guard_reads)
        self.where_masks: dict[Any, int | None] = {}  # the bits of the paths its `where` reads (where_reads;
        # without one, all of its mask: a lookup's paths are read by the `where` that made it)
        self.paths: list[tuple] = []  # each bit's path, by the bit's position
        bits: dict[tuple, int] = {}
        for decl in decls:
            paths = decl.anchor_reads
            if paths is None:
                self.masks[decl] = self.where_masks[decl] = self.guard_masks[decl] = None
                continue
            mask = 0
            for path in paths:
                bit = bits.get(path)
                if bit is None:
                    bit = bits[path] = 1 << len(bits)
                    self.paths.append(path)
                    node = self.root
                    for step in path:
                        entry = node.setdefault(step, [0, {}, 0])
                        entry[2] |= bit
                        node = entry[1]
                    entry[0] |= bit
                mask |= bit
            self.masks[decl] = mask
            self.set_masks[decl] = sum(bits[path] for path in decl.anchor_set_only if path in bits)
            where = getattr(decl, "where_reads", None)  # (a lookup's ReadPaths has none: all it reads)
            self.where_masks[decl] = mask if where is None else sum(bits[path] for path in where)
            guarded = getattr(decl, "guard_reads", None)
            self.guard_masks[decl] = mask if guarded is None else sum(bits[path] for path in guarded)

    def changed(self, old: Any, new: Any) -> int:
        """The bits of the paths the change from `old` to `new` touches (-1: all of them)."""
        if type(old) is not PMap or type(new) is not PMap:
            return -1
        return _changed(self.root, old, new)


_ABSENT = object()


def _changed(node: dict, old: PMap, new: PMap) -> int:
    mask = 0
    ob, nb = old._buckets, new._buckets  # (PMap.get's own lookup, inline: the walk's hot path)
    size = len(ob)
    for step, (bit, children, below) in node.items():
        i = hash(step) % size
        bucket = ob[i]
        if size == len(nb) and bucket is nb[i]:  # (a write shares the buckets it leaves alone)
            continue
        a = b = _ABSENT  # (absent is not null: `x.labels`)
        if bucket:
            for k, v in bucket:
                if k == step:
                    a = v
                    break
        bucket = nb[hash(step) % len(nb)]
        if bucket:
            for k, v in bucket:
                if k == step:
                    b = v
                    break
        if a is b:
            continue
        if type(a) is not PMap or type(b) is not PMap:  # not both maps: compared whole
            if not identical(a, b):
                mask |= below
            continue
        if bit and not identical(a, b):
            mask |= bit
        if children:
            mask |= _changed(children, a, b)
    return mask


class Engine:
    """Runs a RuleSet against an API server until desired and actual state agree."""

    def __init__(self, api: Any, rules: RuleSet, clock: Any, *, seed: str = "recon",
                 full_recompute: bool = False, max_rounds: int = 200,
                 max_creates_per_round: int = 20000, started: float | None = None):
        self.api, self.clock, self.seed = api, clock, seed
        # when this run of the cluster started (rules' `cluster_start()`): the clock's reading now,
        # unless the caller knows better (a re-execution of recorded history continues its run)
        self.started = clock.now() if started is None else float(started)
        self.full_recompute = full_recompute
        self.max_rounds, self.max_creates_per_round = max_rounds, max_creates_per_round
        self.deps: dict[tuple, set] = {}
        self.inst_deps: dict[tuple, frozenset] = {}
        self.dirty: dict[tuple, list] = {}
        self._unserved_cache: tuple | None = None  # (registry, rules, what they name that it does not serve)
        self._start_changes: tuple | None = None  # (start, revision) → what changed between (`_start_triggers`)
        self.timers: list[tuple[float, int, tuple]] = []
        self.inst_timer: dict[tuple, float] = {}
        self.backoff: dict[tuple, float] = {}
        self.create_caps: dict[tuple, int] = {}  # instances in slow start: at most this many creations
        self.failures: dict[tuple, RuleFailure] = {}
        self.dropped: dict[tuple, DroppedFields] = {}  # instances whose last writes lost fields
        self.parked: dict[tuple, RuleFailure] = {}  # instances held back after a fight (`_park`)
        self.fight_delays: dict[frozenset, float] = {}  # the rules of a fight → how long they wait next
        self.evaluations: dict[str, int] = {}
        self.total_evaluations = 0
        self._seq = 0
        self._inbox: list[tuple] = []
        self.field_sites: dict[Key, set] = {}  # key → the ReadPaths of its ("field", key, paths) deps
        self.query_sites: dict[tuple, dict] = {}  # index entry → ReadPaths → the users of ("query", entry, paths)
        self._query_kind_sites: dict[str, dict] = {}  # kind name → the ReadPaths in its `_anchor_paths` (as keys)
        self._query_kinds: set[str] = set()  # the kind names of the entries in query_sites (`_entry_kind`)
        self._query_any_kind = False  # … or an entry that names no kind
        self._read_trees: dict[Any, AnchorPaths] = {}  # ReadPaths (a lookup's or a query's) → its tree of paths
        self.wanted: dict[tuple, dict] = {}  # instance → (key, path) → the value its last evaluation set
        self.dormant: dict[tuple, int] = {}  # instances whose rule's `where` (1) or guard (2) failed at
        # their last evaluation
        self._kinds: dict[Any, tuple[str, str] | None] = {}
        self.last_state: int | None = None
        self.conflicts: list[tuple] = []
        self.names_taken: set = set()
        self.contested: set = set()
        self.between_rounds: Callable[[], None] | None = None
        api.store.listeners.append(self._on_commit)
        self.recorder = EventRecorder(api.store)  # the rules' `event`s: named, counted, folded
        self.rules = RuleSet(())
        self.scheduler = Scheduler(self)  # scheduler hook: the queue and bind cycle
        self.set_rules(rules)

    # ----------------------------------------------------------- rule sets
    def set_rules(self, rules: RuleSet) -> None:
        """Swap in a new rule set; re-evaluate every instance of changed rules.  A rule whose text
        is the same but at other lines (the file edited above it) counts as changed: what it
        compiled to names its lines in its failures."""
        old = {(d.qualname, d.source_hash, d.line): d for d in self.rules.decls()}
        keep = {}
        for comp in rules.components:
            for decl in comp.rules:
                keep[decl] = old.get((decl.qualname, decl.source_hash, decl.line))
        rules = rules.reuse(keep)
        current = set(rules.decls())
        for inst in [i for i in self.inst_deps if i[0] not in current]:
            self._drop(inst)
        self.rules = rules
        self.scheduler.set_rules(rules)  # scheduler hook: filters and scores in force
        self.order = {d: i for i, d in enumerate(rules.decls())}
        self.component_of = {d: c for c in rules.components for d in c.rules}
        self._actors: dict[CompiledComponent, Actor] = {}  # (kept once every kind it names resolved)
        self.anchored: dict[str, list[CompiledDecl]] = {}  # by kind name; `any` rules under "any"
        self._anchor_tree: dict[str, AnchorPaths] = {}  # by kind name (`_anchor_paths`)
        self._read_trees = {}
        self._query_kind_sites = {}
        for comp in rules.components:
            for decl in comp.rules:
                self.anchored.setdefault(decl.kind.kind, []).append(decl)
        head = self.api.store.head
        for decl in rules.decls():
            if decl in old.values():
                continue
            for key in self._anchors(decl, head):
                self._invalidate((decl, key), ("start", head.revision, None))

    def _anchors(self, decl: CompiledDecl, snap: Any) -> list:
        """The keys of the objects `decl` is anchored on: its kind's, or every object for `any`
        (Events aside: see `_route`)."""
        if decl.kind.is_any:
            return [key for group, kind in snap.kinds() if (group, kind) != EVENT
                    for key in snap.keys(group, kind)]
        resolved = self.resolve(decl.kind)
        return snap.keys(*resolved) if resolved is not None else []

    def resolve(self, kind_ref: Any) -> tuple[str, str] | None:
        """(group, kind) of a KindRef; CRD kinds resolve once their CRD exists."""
        cached = self._kinds.get(kind_ref)
        if cached is not None:
            return cached
        if kind_ref.group is not None:
            found = (kind_ref.group, kind_ref.kind)
        else:
            rt = self.api.registry.find_kind(kind_ref.kind, self.api.store.head)
            found = None if rt is None else (rt.group, rt.kind)
        if found is not None:
            self._kinds[kind_ref] = found
        return found

    # --------------------------------------------------------- invalidation
    def _on_commit(self, snap: Any, events: tuple, record: Any) -> None:
        self._inbox.append(events)

    def _invalidate(self, inst: tuple, cause: tuple) -> None:
        """Mark `inst` dirty for `cause`.  A change that reaches an instance through several of its
        dependencies is one cause, once: how many of them it went through depends on the order the
        change's keys are walked in (a set's), which must not reach the history."""
        causes = self.dirty.get(inst)
        if causes is None:
            self.dirty[inst] = [cause]
        elif len(causes) < MAX_CAUSES and causes[-1] is not cause:
            causes.append(cause)

    def _drain(self) -> None:
        inbox, self._inbox = self._inbox, []
        for events in inbox:
            for event in events:
                self._route(event)

    def _route(self, event: Any) -> None:
        key = event.key
        self.scheduler.observe(event)  # scheduler hook: queue pods a change may help
        cause = ("change", event.revision, key)
        # A rule anchored on `any` is not anchored on Events: every component records
        # them, and upstream's garbage collector (the `any` rule) ignores them too.
        anchored_any = self.anchored.get(ANY_KIND, ()) if (key[0], key[1]) != EVENT else ()
        if self.dropped and (key[0], key[1]) == (CRD_GROUP, CRD_KIND):
            self._retry_dropped(event, cause)
        changed = None  # the paths the change touches (AnchorPaths), found for the first rule that asks
        for decl in (*self.anchored.get(key[1], ()), *anchored_any):
            if not decl.kind.is_any and self.resolve(decl.kind) != (key[0], key[1]):
                continue
            if event.new is None:
                self._drop((decl, key))
                continue
            if event.old is not None:  # a change: does it concern what the rule reads of its object?
                paths = self._anchor_paths(key[1])
                if changed is None and paths.masks[decl] is not None:
                    changed = paths.changed(event.old, event.new)
                if not self._concerns((decl, key), key, paths, decl, changed, event.new):
                    continue
            self._invalidate((decl, key), cause)
        _event, keys, members = _touched(event)
        deps, dirty = self.deps, self.dirty
        queried = self.query_sites if key[1] in self._query_kinds or self._query_any_kind else None
        asked = []  # the query sites of these entries: (site, its users, the object is in the entry before and after)
        for dep in keys:
            users = deps.get(dep)
            if users:
                for inst in users:  # (`_invalidate`, inline: the hottest loop of routing)
                    causes = dirty.get(inst)
                    if causes is None:
                        dirty[inst] = [cause]
                    elif len(causes) < MAX_CAUSES and causes[-1] is not cause:
                        causes.append(cause)
            if queried:
                sites = queried.get(dep)
                if sites is not None:
                    for site, users in list(sites.items()):
                        if users:
                            asked.append((site, users, dep in members))
                        else:
                            del sites[site]
                    if not sites:
                        del queried[dep]
        if asked:
            self._route_queries(asked, event, cause, changed)
        sites = self.field_sites.get(key)
        if sites:
            self._route_fields(key, sites, event, cause)

    def _retry_dropped(self, event: Any, cause: tuple) -> None:
        """A changed CustomResourceDefinition may now declare the fields the API server dropped
        from its objects (`DroppedFields`): the instances that set them are evaluated again."""
        kinds = {(get_path(crd, "spec", "group"), get_path(crd, "spec", "names", "kind"))
                 for crd in (event.old, event.new) if crd is not None}
        for inst, dropped in list(self.dropped.items()):
            if dropped.key[:2] in kinds:
                self._invalidate(inst, cause)

    def _route_fields(self, key: Key, sites: set, event: Any, cause: tuple) -> None:
        """Wake the instances that looked `key` up and read only some paths of it
        (EvalContext.lookup_read), as a rule is woken by its own object: at its creation and
        deletion, at a change that touches one of their paths, unless it only left the values
        they set as they wanted them; a failed instance at any change."""
        for site in list(sites):
            users = self.deps.get(("field", key, site))
            if not users:
                sites.discard(site)
                continue
            if event.old is None or event.new is None:
                wake = list(users)
            else:
                tree = self._read_trees.get(site)
                if tree is None:
                    tree = self._read_trees[site] = AnchorPaths((site,))
                changed = tree.changed(event.old, event.new)
                if not tree.masks[site] & changed:  # (one mask for all its users) only failed ones
                    wake = [inst for inst in self.failures if inst in users]
                else:
                    wake = [inst for inst in users if self._concerns(inst, key, tree, site, changed, event.new)]
            for inst in wake:
                self._invalidate(inst, cause)
        if not sites:
            del self.field_sites[key]

    def _route_queries(self, asked: list, event: Any, cause: tuple, changed: int | None) -> None:
        """Wake the instances whose queries read the index entries the change touches and only
        some paths of their objects (EvalContext.query, dsl.reads.query_reads): at a change that
        brings the object into an entry or takes it out (its creation and deletion too), or that
        touches one of the paths, unless it only left what an instance sets there as the instance
        wanted it (`_as_wanted`: its own write coming back); a failed instance at any change.
        None of it when the object fails the site's prefilter (the query's conditions on the
        object alone) both before and after: it was in no answer.
        `asked`: (site, its users, is the object in the site's entry before and after the change);
        `changed`: what it touches of the paths of its kind's tree (`_anchor_paths`), when `_route`
        walked it for the rules anchored there."""
        key, old, new, dirty = event.key, event.old, event.new, self.dirty
        woken = dirty.keys()
        tree = None
        admitted: dict[str, bool] = {}  # prefilter → does the object pass it before or after
        for site, users, inside in asked:
            if woken >= users:  # (woken already: this change is one of their causes, as before; what
                wake = users  # it touches need not be found)
            elif site.prefilter is not None and not _either(admitted, site.prefilter, old, new):
                wake = [inst for inst in self.failures if inst in users]  # (in no answer, before or after)
            elif not inside:
                wake = users
            else:
                if tree is None:  # what the change touches of the paths of the sites to decide: one walk
                    tree, changed = self._sites_tree(key[1], asked, woken, changed)
                    if changed is None:
                        changed = tree.changed(old, new)
                bits = tree.masks[site] & changed
                if not bits:
                    wake = [inst for inst in self.failures if inst in users]
                elif bits & ~tree.set_masks[site]:  # it reads one of them
                    wake = users
                else:  # it only sets them: unless it left them as an instance wanted them
                    wake = [inst for inst in users
                            if inst in self.failures or not self._as_wanted(inst, key, tree, site, bits, new)]
            for inst in wake:  # (`_invalidate`, inline)
                causes = dirty.get(inst)
                if causes is None:
                    dirty[inst] = [cause]
                elif len(causes) < MAX_CAUSES and causes[-1] is not cause:
                    causes.append(cause)

    def _sites_tree(self, kind: str, asked: list, woken: Any, changed: int | None) -> tuple:
        """The tree of paths to find what a change touches for the query sites of `asked` whose users
        are not all woken yet, and what it touches of them when known: `_route`'s walk of the kind's
        tree (`changed`), if that holds them all; else one of their paths alone (the kind's tree
        holds them from its next walk on)."""
        sites = tuple({site: None for site, users, inside in asked if inside and not woken >= users})
        if changed is not None:
            shared = self._anchor_tree.get(kind)
            missing = [site for site in sites if site not in shared.masks]
            if not missing:
                return shared, changed
            self._query_kind_sites.setdefault(kind, {}).update(dict.fromkeys(missing))
            self._anchor_tree.pop(kind, None)
        tree = self._read_trees.get(sites)
        if tree is None:
            tree = self._read_trees[sites] = AnchorPaths(sites)
        return tree, None

    def _concerns(self, inst: tuple, key: Key, paths: AnchorPaths, decl: Any, changed: int | None,
                  new: Any) -> bool:
        """Does a change of the object `key` (touching the paths `changed` of `paths`) concern
        `inst`, which reads the paths of `decl` there?  A failed instance: always (what the API
        server refused may be mended).  Otherwise when it touches one of them, unless it only
        left what the instance sets as the instance wanted it (`_as_wanted`)."""
        dormant = self.dormant.get(inst)
        mask = paths.masks[decl] if dormant is None else (
            paths.where_masks[decl] if dormant == 1 else paths.guard_masks[decl])
        if mask is None or inst in self.failures:
            return True
        bits = mask & changed
        return bool(bits) and not self._as_wanted(inst, key, paths, decl, bits, new)

    def _as_wanted(self, inst: tuple, key: Key, paths: AnchorPaths, decl: Any, bits: int, new: Any) -> bool:
        """Are the paths `bits` of `paths` that the change touched ones `decl` only sets, each holding
        the value the last evaluation of `inst` set there?  Then evaluating it again would want
        the same and write nothing: its own write coming back, or a writer agreeing with it."""
        if bits & ~paths.set_masks.get(decl, 0):
            return False  # it reads one of them
        wanted = self.wanted.get(inst)
        if wanted is None:
            return False
        at = 0
        while bits:
            if bits & 1:
                path = paths.paths[at]
                value = wanted.get((key, path), _ABSENT)
                if value is _ABSENT or (key, path) in self.contested or not _holds(new, path, value):
                    return False  # (a field two rules set differently: both are asked again)
            bits >>= 1
            at += 1
        return True

    def _anchor_paths(self, kind: str) -> AnchorPaths:
        """The paths read of their object by the rules anchored on kinds named `kind` and on `any`,
        and of the objects they find by the queries of that kind `_route_queries` met."""
        found = self._anchor_tree.get(kind)
        if found is None:
            decls = (*self.anchored.get(kind, ()), *self.anchored.get(ANY_KIND, ()))
            found = self._anchor_tree[kind] = AnchorPaths((*decls, *self._query_kind_sites.get(kind, ())))
        return found

    def _drop(self, inst: tuple) -> None:
        for dep in self.inst_deps.pop(inst, ()):
            users = self.deps.get(dep)
            if users is not None:
                users.discard(inst)
                if not users:
                    del self.deps[dep]
        self.dirty.pop(inst, None)
        self.wanted.pop(inst, None)
        self.dormant.pop(inst, None)
        self.parked.pop(inst, None)
        self.inst_timer.pop(inst, None)
        self.failures.pop(inst, None)
        self.backoff.pop(inst, None)
        self.create_caps.pop(inst, None)
        self.dropped.pop(inst, None)

    def _record_deps(self, inst: tuple, deps: frozenset) -> None:
        old = self.inst_deps.get(inst)
        if old == deps:
            return
        old = old or frozenset()  # (an instance without any is listed too: set_rules drops it)
        for dep in old - deps:
            users = self.deps.get(dep)
            if users is not None:
                users.discard(inst)
                if not users:
                    del self.deps[dep]
        for dep in deps - old:
            users = self.deps.get(dep)
            if users is None:
                users = self.deps[dep] = set()
                if dep[0] == "query":  # (index entry, paths): routed by _route_queries, which reads
                    self.query_sites.setdefault(dep[1], {})[dep[2]] = users  # the users from here
                    kind = _entry_kind(dep[1])
                    if kind is None:
                        self._query_any_kind = True
                    else:
                        self._query_kinds.add(kind)
            users.add(inst)
            if dep[0] == "field":  # (key, paths): routed by _route_fields
                self.field_sites.setdefault(dep[1], set()).add(dep[2])
        self.inst_deps[inst] = deps

    # --------------------------------------------------------------- timers
    def _set_timer(self, inst: tuple, at: float | None) -> None:
        if at is None:
            self.inst_timer.pop(inst, None)
            return
        self.inst_timer[inst] = at
        self._seq += 1
        heapq.heappush(self.timers, (at, self._seq, inst))

    def next_deadline(self) -> float | None:
        while self.timers:
            at, _seq, inst = self.timers[0]
            if self.inst_timer.get(inst) == at:
                return at
            heapq.heappop(self.timers)
        return None

    def _fire_timers(self, now: float) -> None:
        while self.timers and self.timers[0][0] <= now:
            at, _seq, inst = heapq.heappop(self.timers)
            if self.inst_timer.get(inst) == at:
                del self.inst_timer[inst]
                self._invalidate(inst, ("timer", self.api.store.revision, None))

    # ----------------------------------------------------------------- run
    def run(self, until: float | None = None) -> RunResult:
        """Reconcile until converged (simulated clocks jump to deadlines ≤ until)."""
        rounds = 0
        evaluations_before = self.total_evaluations
        seen: dict[int, int] = {}
        history: list[list[tuple]] = []
        while True:
            self._drain()
            self._fire_timers(self.clock.now())
            if not self.dirty and not self.scheduler.pending():  # scheduler hook
                deadline = self.next_deadline()
                if (deadline is not None and self.clock.simulated
                        and (until is None or deadline <= until)):
                    self.clock.advance_to(deadline)
                    seen.clear()
                    history.clear()
                    continue
                if not self.parked:
                    self.fight_delays.clear()  # (every fight settled: a new one starts at 1 s)
                return self._result(True, "converged", rounds, evaluations_before)
            if self.full_recompute:
                self._invalidate_all()
            try:
                writes = self._round()
                self._drain()  # (the scheduler queues the pods the round made)
                writes += self.scheduler.cycle()  # scheduler hook: bind queued pods
            except RunawayError as exc:
                return self._result(False, str(exc), rounds + 1, evaluations_before)
            rounds += 1
            history.append(writes)
            if self.between_rounds is not None:
                before = self.api.store.head.revision
                self.between_rounds()  # e.g. let waiting API writers in (cluster.WriterGate)
                if self.api.store.head.revision != before:
                    # Others wrote (a user's create and delete can bring a state back): a state
                    # seen before them is no cycle of the rules'.
                    seen.clear()
            message = self._fight(seen, history, rounds)
            if message is not None:
                self._park(history[-FIGHT_ROUNDS:], message)
                return self._result(False, message, rounds, evaluations_before)

    def _result(self, converged: bool, message: str, rounds: int, before: int) -> RunResult:
        return RunResult(converged, message, rounds, self.total_evaluations - before,
                         (*self.failures.values(), *self.parked.values(), *self.dropped.values(),
                          *self._unserved()))

    def _unserved(self) -> list[UnservedKind | UndeclaredRead]:
        """The kinds the rules name that the cluster does not serve (see UnservedKind), and the
        fields they read of custom objects that the schemas do not declare (UndeclaredRead), as of
        the head's CustomResourceDefinitions (kept while they and the rules stay the same)."""
        registry = Registry.for_snapshot(self.api.store.head)
        cached = self._unserved_cache
        if cached is None or cached[0] is not registry or cached[1] is not self.rules:
            found = [*unserved_kinds(self.rules.components, registry, self.rules.source_line),
                     *undeclared_reads(self.rules.decls(), registry, self.rules.source_line)]
            cached = self._unserved_cache = (registry, self.rules, found)
        return cached[2]

    def _park(self, rounds: list[list[tuple]], message: str) -> None:
        """Hold back the instances of the rules that went on writing when a run stopped (a fight, or
        a rule that never settles): each waits 1 s, doubling up to 5 min at each new stop, as a
        failing rule does, instead of going on at the next run.  A `recon up` would otherwise
        write the fight into the history at every tick.  A change to what it reads still wakes
        it; one that settles is free again (`_settled`)."""
        writers = {w[0] for writes in rounds for w in writes}
        writers.update(name for c in self.conflicts for name in (c[1], c[3]))  # (one of two waited)
        fight = frozenset(writers)
        delay = self.fight_delays[fight] = min(self.fight_delays.get(fight, 0.5) * 2, 300.0)
        now = self.clock.now()
        for inst in [inst for inst in self.dirty if inst[0].qualname in writers]:
            decl, key = inst
            del self.dirty[inst]
            self.parked[inst] = attrs.evolve(self._rule_failure(decl, key, (decl.line, _decl_col(self.rules, decl)),
                                                                f"held back {delay:g} s: {message}"), held_back=True)
            self._set_timer(inst, now + delay)

    def _invalidate_all(self) -> None:
        head = self.api.store.head
        for decl in self.rules.decls():
            for key in self._anchors(decl, head):
                self._invalidate((decl, key), ("full", head.revision, None))

    def _fight(self, seen: dict, history: list, rounds: int) -> str | None:
        """A repeated state while writes go on is a fight; too many rounds is a runaway.

        Events are left out of the state: the events of a fight add up
        (counts grow), the objects it fights over go round in a cycle."""
        state = (self.api.store.head.state_hash - self.recorder.hash) & ((1 << 64) - 1)
        if self.conflicts and state == self.last_state:
            return describe_conflicts(self.conflicts)
        self.last_state = state
        if history[-1]:
            if state in seen:
                return describe_fight(history[seen[state]:])
            seen[state] = len(history)
        if len(history) >= self.max_rounds:
            return (f"did not converge after {self.max_rounds} rounds; still writing: "
                    + describe_writers(history[-5:]) + describe_contested(history))
        return None

    # --------------------------------------------------------------- round
    def _round(self) -> list[tuple]:
        """Evaluate every dirty instance on one snapshot, then submit their writes."""
        snap = self.api.store.head
        self.names_taken: set = set()
        self.conflicts: list[tuple] = []
        self.contested: set = set()  # the fields of `conflicts`
        dirty, self.dirty = self.dirty, {}
        order = self.order
        batch = sorted(dirty.items(), key=lambda item: (order[item[0][0]], item[0][1]))
        results = [(inst, causes, self._evaluate(inst, snap)) for inst, causes in batch]
        results = [(inst, self._start_triggers(causes, ctx, snap), ctx) for inst, causes, ctx in results]
        return self._submit_all(snap, results)

    def _start_triggers(self, causes: list, ctx: EvalContext | None, snap: Any) -> list:
        """The causes of an instance evaluated because the engine started: a new process has no
        dependencies to route changes by, so it evaluates every instance once.  One that read
        objects changed since the start (`recon up --once` after an edit of the folder) is recorded
        with those changes (the newest few), as a running engine would have routed them to it; the
        others keep the start."""
        starts = [c for c in causes if c[0] == "start"]
        if ctx is None or not starts:
            return causes
        changes = self._changes_since(starts[0][1], snap.revision)
        read = {("change", revision, key) for dep in ctx.deps for revision, key in changes.read_by(dep)} \
            if changes is not None else set()
        # (a change routed to it as well, through its anchor: the start says nothing more)
        found = sorted(read.union(c for c in causes if c[0] != "start"), key=lambda c: (c[1], c[2] or ()))
        return found[-MAX_CAUSES:] or causes

    def _changes_since(self, start: int, revision: int) -> _Changes | None:
        """What changed after `start` up to `revision` (None: nothing, or no longer held)."""
        cached = self._start_changes
        if cached is None or cached[0] != (start, revision):
            try:
                changes = _Changes([e for e in self.api.store.events_since(start)
                                    if e.revision <= revision and e.key[:2] != EVENT])
            except TooOld:
                changes = _Changes([])
            cached = self._start_changes = ((start, revision), changes if changes.last else None)
        return cached[1]

    def _evaluate(self, inst: tuple, snap: Any) -> EvalContext | None:
        decl, key = inst
        self.parked.pop(inst, None)  # (held back no more: run again)
        anchor = snap.get(key)
        if anchor is None:
            self._drop(inst)
            return None
        ctx = EvalContext(self, snap, self.clock.now(), inst)
        ctx.create_cap = self.create_caps.get(inst)
        self.total_evaluations += 1
        self.evaluations[decl.qualname] = self.evaluations.get(decl.qualname, 0) + 1
        R.set_clockwatch(ctx.clockwatch)
        try:
            decl.fn(ctx, anchor)
        except Exception as exc:  # a rule's runtime failure: report, back off, keep going
            self._fail(inst, ctx, exc)
            return None
        finally:
            R.set_clockwatch(None)
        self.failures.pop(inst, None)  # (its back-off goes once its writes land, or it has none: `_settled`)
        if ctx.dormant:
            self.dormant[inst] = ctx.dormant
        else:
            self.dormant.pop(inst, None)
        wanted = {(w.key, w.path): w.value for w in ctx.writes if type(w) is SetWrite}
        if wanted:
            self.wanted[inst] = wanted
        else:
            self.wanted.pop(inst, None)
        self._record_deps(inst, frozenset(ctx.deps))
        self._set_timer(inst, ctx.wake())
        return ctx

    def _fail(self, inst: tuple, ctx: EvalContext, exc: Exception) -> None:
        decl, key = inst
        self.wanted.pop(inst, None)
        self.dormant.pop(inst, None)
        self.dropped.pop(inst, None)
        self._record_deps(inst, frozenset(ctx.deps))
        self._back_off(inst, self._rule_failure(decl, key, rule_position(decl, exc), R.describe_failure(exc)))

    def _rule_failure(self, decl: CompiledDecl, key: Key, position: tuple[int, int], message: str) -> RuleFailure:
        """A failure of `decl` on `key` at `position` (line, column) of its file, with that line."""
        line, col = position
        return RuleFailure(decl.qualname, decl.path, line, key, message, col, self.rules.source_line(decl.path, line))

    def _back_off(self, inst: tuple, failure: RuleFailure) -> None:
        """Record a failure; retry the instance after 1 s, doubling up to 5 min."""
        delay = min(self.backoff.get(inst, 0.5) * 2, 300.0)
        self.backoff[inst] = delay
        self.failures[inst] = failure
        self._set_timer(inst, self.clock.now() + delay)

    def _submit_all(self, snap: Any, results: list) -> list[tuple]:
        claimed: dict[tuple, tuple] = {}
        created: dict[str, int] = {}
        done: list[tuple] = []
        with self.api.store.batch():
            for inst, causes, ctx in results:
                if ctx is None or not ctx.writes:
                    if ctx is not None:
                        self._settled(inst)
                        self._record_alone(inst, causes, ctx)
                    continue
                if self._claim(inst, ctx, claimed):
                    self._submit(inst, causes, ctx, created, done)
                else:
                    self._invalidate(inst, ("retry", snap.revision, None))
        return done

    def _claim(self, inst: tuple, ctx: EvalContext, claimed: dict) -> bool:
        """Two instances setting one field differently in a round: the later one waits."""
        mine = {}
        for w in ctx.writes:
            if isinstance(w, SetWrite):
                mine[(w.key, w.path)] = w.value
        for field, value in mine.items():
            other = claimed.get(field)
            if other is not None and other[0] != value:
                self.conflicts.append((field, other[1][0].qualname, other[0], inst[0].qualname, value))
                self.contested.add(field)
                return False
        for field, value in mine.items():
            claimed.setdefault(field, (value, inst))
        return True

    def _submit(self, inst: tuple, causes: list, ctx: EvalContext,
                created: dict, done: list) -> None:
        decl, key = inst
        comp = self.component_of[decl]
        requests = self._requests(inst, ctx)
        if not requests:
            self._settled(inst)
            self._record_alone(inst, causes, ctx)
            return
        if self._overtaken(ctx):  # (upstream's controller would get a Conflict on its resourceVersion)
            self._invalidate(inst, ("retry", self.api.store.revision, None))
            return
        n_created = sum(1 for r in requests if r.verb == "create")
        created[comp.name] = created.get(comp.name, 0) + n_created
        if created[comp.name] > self.max_creates_per_round:
            raise RunawayError(
                f"runaway rule: {decl.qualname} ({decl.path}:{decl.line}) made component "
                f"{comp.name} create more than {self.max_creates_per_round} objects in one round"
            )
        events = self.recorder.requests(comp.name, ctx.events, self.clock.now(),
                                        self.api.store.head, self.names_taken) if ctx.events else []
        cause = cause_record(decl, key, causes)
        before = self.api.store.head
        try:
            self._submit_with_events(comp, requests, events, cause)
        except APIError as exc:
            if exc.reason == "Conflict":  # a concurrent write: evaluate again next round
                self._invalidate(inst, ("retry", self.api.store.revision, None))
                return
            created[comp.name] -= n_created
            refused_create = _refused_create(requests, exc)
            if refused_create and n_created > 1:  # slow start: next round with one creation (then 2, 4, …)
                self.create_caps[inst] = 1
                self._invalidate(inst, ("retry", self.api.store.revision, None))
                return
            self.create_caps.pop(inst, None)
            line = _refused_line(ctx, exc, decl.line)
            failure = self._rule_failure(decl, key, (line, statement_column(decl, line)), exc.message)
            self._back_off(inst, attrs.evolve(failure, refused=_cluster_refusal(exc, self.actor(comp)),
                                              creating=refused_create))
            if refused_create:
                self._failed_create(comp, key, exc.message, cause)
            return
        self.backoff.pop(inst, None)  # (its writes landed: a later refusal backs off from 1 s again)
        cap = self.create_caps.get(inst)
        if cap is not None:  # every creation the cap let through landed: twice as many next time
            if n_created >= cap:
                self.create_caps[inst] = cap * 2
            else:
                del self.create_caps[inst]
        head = self.api.store.head
        sets = [w for w in ctx.writes if type(w) is SetWrite]
        self._note_dropped(inst, sets, head)
        # A set counts as written where it changed its object; where the API server dropped fields
        # of this instance's sets, where it changed what its path holds: one whose fields were all
        # dropped wrote nothing (a state that did not change is no sign of a fight), one that lost
        # some and changed others did write.
        exact = inst in self.dropped
        done.extend((decl.qualname, w.key, w.path, w.value) for w in sets
                    if (_changed_at(before, head, w) if exact else head.get(w.key) is not before.get(w.key)))
        done.extend((decl.qualname, r.verb, r.kind, r.name) for r in requests
                    if r.verb != "update" and (r.group, r.kind) != EVENT)

    def _note_dropped(self, inst: tuple, sets: list, head: Any) -> None:
        """Note in `dropped` the sets of `inst`, just submitted, that the API server dropped (all or
        part of what they set: the schema of their custom resource does not declare it) —
        `DroppedFields`: the first object that lost fields — or clear it when none did."""
        first, fields, undeclared = None, {}, {}
        checked, registry = _checked_writes(inst[0]), None
        for w in sets:
            if w.value is None:  # (a null set removes the field: nothing to drop)
                continue
            if not checked and w.key[:2] in _BUILT_IN:  # (recon's own rules: see _checked_writes)
                continue
            registry = registry or self.api.registry  # (the registry of the head: CRDs listed)
            rt, obj = registry.get(*w.key[:2]), head.get(w.key)
            if rt is None or obj is None:
                continue
            version = str(obj.get("apiVersion") or "").rpartition("/")[2]
            lost = (pruned_fields(rt.schemas.get(version), w.path, w.value) if rt.is_custom
                    else undeclared_fields(rt, version, w.path, w.value))
            if lost:
                first = first or (w, rt, version)
                if w.key == first[0].key:
                    fields[w.path] = None
                    undeclared.update(dict.fromkeys(lost))
        if first is None:
            self.dropped.pop(inst, None)
            return
        decl, _anchor = inst
        w, rt, version = first
        self.dropped[inst] = DroppedFields(
            decl.qualname, decl.path, w.line, w.key, tuple(sorted(fields, key=_dotted)),
            tuple(sorted(undeclared, key=_dotted)), _schema_name(rt, version),
            statement_column(decl, w.line), self.rules.source_line(decl.path, w.line))

    def _settled(self, inst: tuple) -> None:
        """`inst` wants nothing written: no slow start, no back-off, no dropped fields left."""
        self.dropped.pop(inst, None)
        self.create_caps.pop(inst, None)
        self.backoff.pop(inst, None)

    def _overtaken(self, ctx: EvalContext) -> bool:
        """Did another write change a field this evaluation sets, since the snapshot it read?  Its
        value may then rest on what is no longer so (a quota's `used` that admission has counted
        up meanwhile): it is evaluated again, on the new state, instead of writing over it (unless
        the field already holds what it sets)."""
        head, snap = self.api.store.head, ctx.snap
        return head is not snap and any(
            type(w) is SetWrite and _changed_at(snap, head, w) and get_path(head.get(w.key), *w.path) != w.value
            for w in ctx.writes)

    def _record_alone(self, inst: tuple, causes: list, ctx: EvalContext) -> None:
        """The `alone` events of an evaluation that writes nothing: recorded by themselves, best effort."""
        alone = [e for e in ctx.events if e.alone]
        if not alone:
            return
        decl, key = inst
        comp = self.component_of[decl]
        events = self.recorder.requests(comp.name, alone, self.clock.now(), self.api.store.head, self.names_taken)
        if events:
            try:
                self.api.submit(self.actor(comp), events, cause=cause_record(decl, key, causes))
            except APIError:
                pass

    def _failed_create(self, comp: CompiledComponent, key: Key, message: str, cause: tuple) -> None:
        """A Warning Event FailedCreate on the rule's object, as upstream's controllers record a
        refused create (`Error creating: <why>`); best effort, on its own."""
        anchor = self.api.store.head.get(key)
        if anchor is None:
            return
        emitted = Emitted(object_reference(anchor), "FailedCreate", "Warning", f"Error creating: {message}", None, 0)
        try:
            events = self.recorder.requests(comp.name, [emitted], self.clock.now(), self.api.store.head,
                                            self.names_taken)
            if events:
                self.api.submit(self.actor(comp), events, cause=cause)
        except APIError:
            pass

    def _submit_with_events(self, comp: CompiledComponent, requests: list, events: list, cause: tuple) -> None:
        """Submit the writes and their events as one transaction.  Recording an event is
        best effort, as upstream's: should the API server refuse the transaction, the
        writes are submitted again without the events, and succeed or fail on their own."""
        actor = self.actor(comp)
        if events:
            try:
                self.api.submit(actor, requests + events, cause=cause)
                return
            except APIError:
                pass
        self.api.submit(actor, requests, cause=cause)

    def _requests(self, inst: tuple, ctx: EvalContext) -> list[Any]:
        head = self.api.store.head
        requests: list[Any] = []
        checked = _checked_writes(inst[0])
        requests.extend(self._set_requests(head, ctx.writes, checked))
        for w in ctx.writes:
            if isinstance(w, CreateWrite):
                for obj in w.objects:  # named when the rule was evaluated
                    requests.append(Request("create", _group(obj), obj["kind"],
                                            obj["metadata"].get("namespace", ""), obj["metadata"]["name"], body=obj,
                                            by_rule=checked))
            elif isinstance(w, DeleteWrite) and head.get(w.key) is not None:
                group, kind, ns, name = w.key
                body = {"propagationPolicy": w.propagation} if w.propagation else None
                requests.append(Request("delete", group, kind, ns, name, body=body,
                                        grace_period=w.grace_period))
        return requests

    def _set_requests(self, head: Any, writes: list, checked: bool = True) -> list[Any]:
        merged: dict[tuple[Key, bool], Any] = {}
        paths: dict[tuple[Key, bool], list] = {}
        for w in writes:
            if not isinstance(w, SetWrite):
                continue
            status = bool(w.path) and w.path[0] == "status"
            base = merged.get((w.key, status)) or head.get(w.key)
            if base is None:
                continue
            merged[(w.key, status)] = set_path(base, w.path, freeze(w.value))
            if checked and w.value is not None:  # (the paths the API server checks against the kind's schema)
                paths.setdefault((w.key, status), []).append(w.path)
        requests = []
        for (key, status), obj in merged.items():
            if obj is head.get(key) or obj == head.get(key):
                continue
            group, kind, ns, name = key
            requests.append(Request("update", group, kind, ns, name, body=obj,
                                    subresource="status" if status else None, by_rule=checked,
                                    sets=tuple(paths.get((key, status), ()))))
        return requests

    def actor(self, comp: CompiledComponent) -> Any:
        """The component as the API server sees it: its header's kinds, and Events (every
        component may record events about what it does, as upstream's controllers are allowed).
        Kept once every kind it names has resolved (a resolved kind stays resolved)."""
        found = self._actors.get(comp)
        if found is not None:
            return found
        reads, writes, status = set(), {EVENT}, set()
        complete = True
        for ref in comp.reads:
            if (kind := ANY if ref.is_any else self.resolve(ref)) is not None:
                reads.add(kind)
            else:
                complete = False
        for wref in comp.writes:
            if (kind := ANY if wref.ref.is_any else self.resolve(wref.ref)) is not None:
                (status if wref.status else writes).add(kind)
            else:
                complete = False
        perms = Permissions(frozenset(reads), frozenset(writes), frozenset(status))
        found = Actor(comp.name, "component", perms)
        if complete:
            self._actors[comp] = found
        return found


def _refused_create(requests: list, exc: Any) -> bool:
    """Was it one of the creations the API server refused (by the name it gives, else: only
    creations were asked)?"""
    creates = [r for r in requests if r.verb == "create"]
    details = exc.details if isinstance(exc.details, dict) else {}
    name, kind = details.get("name"), str(details.get("kind") or "").lower()
    if not creates:
        return False
    if name:  # (the details name the kind, or its resource: "Pod" or "pods", "NetworkPolicy" or "networkpolicies")
        return any(r.name == name and (not kind or kind.startswith(r.kind.lower()[:-1])) for r in creates)
    return len(creates) == len(requests)


def _changed_at(before: Any, after: Any, w: SetWrite) -> bool:
    """Did the object `w` sets hold something else at its path before (two snapshots)?"""
    old, new = before.get(w.key), after.get(w.key)
    if old is new:
        return False
    a, b = get_path(old, *w.path), get_path(new, *w.path)
    return a is not b and a != b


class RunawayError(Exception):
    pass


def _group(obj: Mapping) -> str:
    api_version = obj.get("apiVersion") or ""
    return api_version.rpartition("/")[0]


def _refused_line(ctx: EvalContext, exc: Any, default: int) -> int:
    """The line of the write the API server refused (by the object's name), else the first write's."""
    name = (exc.details or {}).get("name") if isinstance(exc.details, dict) else None
    for w in ctx.writes:
        if isinstance(w, CreateWrite):
            written = w.options.get("name") or (w.template.get("metadata") or {}).get("name")
        else:
            written = w.key[3]
        if name is not None and written == name:
            return w.line
    return ctx.writes[0].line if ctx.writes else default


def _holds(obj: Any, path: tuple, value: Any) -> bool:
    """Does the stored object `obj` hold `value` (a rule's set value, `runtime.stored`) at `path`,
    the same all the way down and of the same types (True is not 1; floats as JSON)?  Null is
    held where the key is not, in a map that is there.  False when unsure."""
    for step in path[:-1]:
        obj = obj.get(step, _ABSENT) if type(obj) is PMap else _ABSENT
        if obj is _ABSENT:
            return False
    if type(obj) is not PMap:
        return False
    found = obj.get(path[-1], _ABSENT)
    if value is None:  # (a set of null deletes the key: a key there holding null is not that)
        return found is _ABSENT
    return found is not _ABSENT and _same_stored(found, value)


def _same_stored(found: Any, value: Any) -> bool:
    if found is value:
        return True
    cls = type(value)
    if cls is dict or cls is PMap:
        if type(found) is not PMap or len(found) != len(value):
            return False
        for key, part in map_items(value):
            mine = found.get(key, _ABSENT)
            if mine is _ABSENT or not _same_stored(mine, part):
                return False
        return True
    if cls is list or cls is tuple or cls is _PVECTOR:
        return (type(found) is _PVECTOR and len(found) == len(value)
                and all(_same_stored(a, b) for a, b in zip(found, value)))
    if cls is str or cls is int or cls is bool or value is None:
        return type(found) is cls and found == value
    if cls is float:
        return type(found) is float and found == value and repr(found) == repr(value)
    return False


def _cluster_refusal(exc: APIError, actor: Actor) -> bool:
    """Did the API server refuse a rule's writes for the cluster's reasons (see RuleFailure.refused)?"""
    return exc.reason in ("Forbidden", "AlreadyExists", "TooManyRequests") and not denied_by_rbac(exc, actor)


class _Changes:
    """The objects changed over a span of revisions, each with its last change's revision and its
    versions before and after the span, for finding which of them an evaluation read."""

    def __init__(self, events: list):
        self.last: dict[Key, tuple[int, tuple]] = {}  # key → (revision, (old, new)), oldest first
        for e in events:
            before = self.last.pop(e.key, None)
            self.last[e.key] = (e.revision, (before[1][0] if before else e.old, e.new))
        self.by_kind: dict[tuple, list] = {}
        self.by_ns: dict[tuple, list] = {}
        for key in self.last:  # (in the order of their last change)
            self.by_kind.setdefault(key[:2], []).append(key)
            self.by_ns.setdefault(key[:3], []).append(key)

    def read_by(self, dep: tuple) -> list[tuple[int, Key]]:
        """(revision, key) of the newest few changed objects that the dependency `dep` (an
        evaluation's, see evalctx) reads."""
        what, last = dep[0], self.last
        if what in ("key", "field"):
            found = last.get(dep[1])
            return [(found[0], dep[1])] if found else []
        if what == "query":
            return self.read_by(dep[1])
        if what == "kind":
            keys, test = self.by_kind.get((dep[1], dep[2]), ()), None
        elif what in ("ns", "selects"):
            keys, test = self.by_ns.get((dep[1], dep[2], dep[3]), ()), None
        elif what == "node":
            keys, test = self.by_kind.get((dep[1], dep[2]), ()), lambda o: get_path(o, "spec", "nodeName") == dep[3]
        elif what == "owner":
            keys, test = self.by_kind.get((dep[1], dep[2]), ()), lambda o: _owned(o, dep[3])
        elif what == "label":
            keys = self.by_ns.get((dep[1], dep[2], dep[3]), ())
            test = lambda o: get_path(o, "metadata", "labels", dep[4]) == dep[5]  # noqa: E731
        elif what == "label*":
            keys = self.by_kind.get((dep[1], dep[2]), ())
            test = lambda o: get_path(o, "metadata", "labels", dep[3]) == dep[4]  # noqa: E731
        elif what == "uid":
            keys, test = list(last), lambda o: get_path(o, "metadata", "uid") == dep[1]
        elif what == "owner*":
            keys, test = list(last), lambda o: _owned(o, dep[1])
        elif what == "ns*":
            keys, test = [k for k in last if k[2] == dep[1]], None
        else:
            return []
        found = []
        for key in reversed(keys):
            revision, objs = last[key]
            if test is None or any(o is not None and test(o) for o in objs):
                found.append((revision, key))
                if len(found) == MAX_CAUSES:
                    break
        return found


def _owned(obj: Any, uid: str) -> bool:
    return any(r.get("uid") == uid for r in get_path(obj, "metadata", "ownerReferences") or ())


def cause_record(decl: CompiledDecl, key: Key, causes: list) -> tuple:
    """The cause a rule's transaction carries into the history."""
    head: dict[str, Any] = {"rule": decl.qualname, "anchor": list(key)}
    triggers = []
    for what, revision, changed in causes:
        entry: dict[str, Any] = {"type": what, "rev": revision}
        if changed is not None:
            entry["key"] = list(changed)
        triggers.append(entry)
    return (head, *triggers)


def describe_conflicts(conflicts: list[tuple]) -> str:
    """Name the rules that keep setting the same field to different values."""
    parts = []
    for (key, path), rule_a, value_a, rule_b, value_b in conflicts[:5]:
        field = ".".join(map(str, path))
        parts.append(f"{rule_a} sets {format_key(key)} {field} to {R.plain(value_a)!r} "
                     f"but {rule_b} sets it to {R.plain(value_b)!r}")
    rules = sorted({c[1] for c in conflicts} | {c[3] for c in conflicts})
    return f"rules fight: {', '.join(rules)}: " + "; ".join(parts)


def describe_writers(rounds: list[list[tuple]]) -> str:
    rules = sorted({w[0] for writes in rounds for w in writes})
    return ", ".join(rules) or "(nothing)"


def describe_contested(rounds: list[list[tuple]]) -> str:
    """`; X and Y keep setting OBJ FIELD (X to A, Y to B)` for the fields that rules set to different
    values over `rounds` (a fight that never repeats a whole state: the pods it churns get new
    names), else ''."""
    last: dict[tuple, dict[str, Any]] = {}
    for writes in rounds:
        for w in writes:
            if len(w) == 4 and isinstance(w[2], tuple):
                rule, key, path, value = w
                last.setdefault((key, _dotted(path)), {})[rule] = value
    fights = []
    for (key, field), by_rule in sorted(last.items(), key=lambda item: (format_key(item[0][0]), item[0][1])):
        if len(by_rule) > 1 and len({repr(R.plain(v)) for v in by_rule.values()}) > 1:
            setters = ", ".join(f"{rule} to {R.plain(v)!r}" for rule, v in sorted(by_rule.items()))
            fights.append(f"{' and '.join(sorted(by_rule))} keep setting {format_key(key)} {field} ({setters})")
    return "; " + "; ".join(fights[:3]) if fights else ""


def describe_fight(rounds: list[list[tuple]]) -> str:
    """Name the rules, objects and fields that went round in a cycle."""
    fields: dict[tuple, set] = {}
    for writes in rounds:
        for w in writes:
            if len(w) == 4 and isinstance(w[2], tuple):
                rule, key, path, _value = w
                fields.setdefault((key, path), set()).add(rule)
    rules = sorted({w[0] for writes in rounds for w in writes})
    # (by the text shown: a path's steps are names and list indexes, which do not compare)
    parts = sorted(f"{format_key(k)} {_dotted(p)} (by {', '.join(sorted(r))})"
                   for (k, p), r in fields.items())
    detail = "; ".join(parts) if parts else "objects created and deleted"
    return f"rules fight: {', '.join(rules)} keep undoing each other: {detail}"
