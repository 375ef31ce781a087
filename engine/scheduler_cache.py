"""What the scheduler keeps across attempts, and when a commit drops it.

`QueryCache` keeps query answers; `NodeResults` keeps each filter's and
score's answer per node and the once-per-attempt values they read.  Both
follow the store's commits and drop what a change touches.  `identical`,
the test of values no rule can tell apart, is what sharing them rests on.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from typing import Any

from .dsl import runtime as R
from .evalctx import EvalContext
from .kinds import CRD_KIND
from .objects import MISSING, get_path, lookup, map_items
from .scheduler_scores import _SETTLED, _UNSET

_PMAP, _PVECTOR = R._PMap, R._PVector


def identical(a: Any, b: Any) -> bool:
    """Can no rule tell `a` from `b`?  Equal, of the same types all the way down, maps with
    their keys in the same order (a rule iterating one sees that order); anything but JSON-like
    values only when it is the same object."""
    cls = type(a)
    if cls is not type(b):
        return False
    if cls in _SETTLED:
        return a == b
    if cls is list or cls is tuple or cls is _PVECTOR:
        return len(a) == len(b) and all(x is y or identical(x, y) for x, y in zip(a, b))
    if cls is dict or cls is _PMAP:
        if len(a) != len(b):
            return False
        for (ka, va), (kb, vb) in zip(map_items(a), map_items(b)):
            if not (type(ka) is type(kb) and ka == kb and (va is vb or identical(va, vb))):
                return False
        return True
    return a is b


def _unselected(where: Any, old: Any, new: Any) -> bool:
    """Does a query's condition reject both versions of a changed object (so its answer stands)?

    The answer lists the candidates the condition accepts; an object it
    rejects before and after the change was not in it and is not now.  (Only
    conditions that capture no context are cached, so they read nothing but
    the object and their captured values.)
    """
    if where is None:
        return False
    try:
        return not any(obj is not None and R.truthy(where(obj)) for obj in (old, new))
    except Exception:
        return False


class _DependentCache:
    """Answers kept across scheduling attempts, dropped when a commit touches their dependencies.

    The cache describes the store's head: a store listener (`on_commit`)
    follows every commit, and a snapshot it did not follow empties it.
    """

    LIMIT = 100_000  # past this, start over (entries for pods long gone are never asked again)
    # A change to a dependency that many answers share drops them all without testing each one
    # (only QueryCache tests); testing made each commit cost O(selectors).
    CHECK_AT_MOST = 8

    def __init__(self) -> None:
        self.entries: dict = {}
        self.users: dict[tuple, set] = {}  # dependency → keys of the entries that recorded it
        self.revision: int | None = None  # the snapshot the entries describe

    def at(self, snap: Any) -> Any:
        """The cache, holding answers for `snap` only (emptied if it missed commits)."""
        if self.revision != snap.revision:
            self.clear()
            self.revision = snap.revision
        return self

    def _keep(self, key: Any, entry: Any, deps: Any) -> None:
        if len(self.entries) >= self.LIMIT:
            self.clear()
        self.entries[key] = entry
        self._users_of(key, deps)

    def _users_of(self, key: Any, deps: Any) -> None:
        users = self.users
        for dep in deps:
            found = users.get(dep)
            if found is None:
                users[dep] = {key}
            else:
                found.add(key)

    def clear(self) -> None:
        self.entries.clear()
        self.users.clear()

    def _stands(self, key: Any, entry: Any, event: Any, dep: Any) -> bool:
        """Does `entry` survive `event`, which touched its dependency `dep` (perhaps brought up to
        date in `entries`)?"""
        return False

    def _drop(self, key: Any) -> None:
        self.entries.pop(key, None)

    def on_commit(self, snap: Any, events: tuple, _record: Any) -> None:
        """A store listener: forget the answers a committed change can alter."""
        self.forget(snap, lambda: touched_by(events))

    def forget(self, snap: Any, changes: Any) -> None:
        """Forget the answers the commit of `snap` can alter; `changes()`: its `touched_by`."""
        entries, users = self.entries, self.users
        if self.revision is not None and snap.revision != self.revision + 1:
            self.clear()  # not the next revision: something was missed
        self.revision = snap.revision
        if not users:
            return
        found = changes()
        if found is None:  # kinds come and go: queries may resolve differently
            self.clear()
            return
        for event, touched in found:
            for dep in touched:
                keys = users.get(dep)
                if not keys:
                    continue
                if len(keys) > self.CHECK_AT_MOST:  # testing each would cost more than asking again
                    for key in keys:
                        self._drop(key)
                    keys.clear()
                for key in list(keys):
                    entry = entries.get(key)
                    if entry is None or not self._stands(key, entry, event, dep):
                        self._drop(key)
                        keys.discard(key)
                if not keys:
                    del users[dep]


def touched_by(events: tuple) -> list[tuple[Any, set]] | None:
    """Each committed change with the dependencies it touches; None when a CRD changed."""
    from .reconcile import touched_keys  # the engine's own notion of what a change touches
    found = []
    for event in events:
        if event.key[1] == CRD_KIND:
            return None
        found.append((event, touched_keys(event)))
    return found


class QueryCache(_DependentCache):
    """Query answers (entries: answer, values, captured cells, dependencies, condition)."""

    def __init__(self) -> None:
        super().__init__()
        self.changed: list = []  # keys of the answers dropped or changed since last taken
        self.on_clear: Any = None  # called when the cache starts over

    def put(self, key: Any, entry: tuple) -> bool:
        if any(isinstance(c, (EvalContext, R.TimeVal)) for c in entry[2]):
            return False  # reads the attempt itself or the clock: never valid for another attempt
        self._keep(key, entry, entry[3])
        return True

    def clear(self) -> None:
        super().clear()
        self.changed.clear()
        if self.on_clear is not None:  # what depended on the answers can no longer be told
            self.on_clear()

    def _drop(self, key: Any) -> None:
        if self.entries.pop(key, None) is not None:
            self.changed.append(key)

    def taken(self) -> list:
        """The keys of the answers dropped or changed since last asked."""
        found, self.changed = self.changed, []
        return found

    def _stands(self, key: Any, entry: Any, event: Any, dep: Any) -> bool:
        if _unselected(entry[4], event.old, event.new):
            return True
        # an answer over every object of a kind (in a namespace) takes the change in, in key order
        if dep[0] in ("kind", "ns") and len(entry[3]) == 1:
            patched = _take_in(entry, event)
            if patched is not None:
                self.entries[key] = patched
                self.changed.append(key)
                return True
        return False


def _take_in(entry: tuple, event: Any) -> tuple | None:
    """A query answer over all the objects of a kind (or of a kind in a namespace) with one
    object's change taken in: the old version out, the new one in where the condition
    selects it.  None when that cannot be done (the condition failed, the answer does not
    hold the old version)."""
    answer, where = entry[0], entry[4]
    try:
        was = event.old is not None and (where is None or bool(where(event.old)))
        now = event.new is not None and (where is None or bool(where(event.new)))
    except Exception:
        return None
    found = list(answer)
    at = (event.key[2], event.key[3])
    if was:
        i = bisect.bisect_left(found, at, key=_ns_name)
        if i >= len(found) or found[i] is not event.old:
            return None
        del found[i]
    if now:
        found.insert(bisect.bisect_left(found, at, key=_ns_name), event.new)
    return (found, *entry[1:])


def _changed(before: Any, after: Any, paths: set) -> list:
    """The paths at which two versions of a once-value differ."""
    if before is after:
        return []
    if type(before) is dict and type(after) is dict:  # a table (tally): mostly one-key paths
        was, now = before.get, after.get
        return [p for p in paths if not (_same_value(was(p[0], MISSING), now(p[0], MISSING)) if len(p) == 1
                                         else _same_value(lookup(before, p), lookup(after, p)))]
    return [p for p in paths if not _same_value(lookup(before, p), lookup(after, p))]


def _same_value(a: Any, b: Any) -> bool:
    """`identical`, with Python's == (in C) first: most values that differ differ there."""
    return a is b or (a == b and identical(a, b))


def _ns_name(obj: Mapping) -> tuple:
    meta = obj["metadata"]
    return (meta.get("namespace") or "", meta["name"])


_PROBE = object()  # the node name under which NodeResults keeps a plugin's probe (`_probe`)
_USE = object()  # first item of a dependency on part of a once-value: (_USE, site, signature, path)


class _MemoDep:
    """A dependency on a once-per-attempt value: on everything it read (`deps`).

    `alive` turns false when a commit touches one of them (or the cache
    starts over): a value kept for later attempts is then computed again.
    """

    __slots__ = ("deps", "alive")

    def __init__(self, deps: frozenset):
        self.deps = deps
        self.alive = True


class NodeResults(_DependentCache):
    """Each filter's and score's answer per node, kept across attempts (upstream's per-node cache).

    `entries`: (plugin, pod signature) → node name → the answer (each
    depends on its node's key, so a change to the node drops it); a
    dependency's users are (plugin, signature, node name).  A once-let's
    comprehension keeps its items the same way: (site, signature) → id of
    the element → (element, item).
    Identical pods (the replicas of one template) share answers: after a
    bind only the answers for the chosen node, whose pods changed, are
    computed again.  The pod signature interns the values of the paths
    the plugin reads of the pod (`dsl.reads.pod_reads`).  Pods whose node
    code reads the same of them (the replicas of many Deployments alike)
    share one group (plugin, donor signature), each answer kept as (answer,
    the once-value parts it read, with their values): see
    `_AttemptContext._shared`.
    """

    SIGNATURES_KEPT = 10_000
    PARTS_AT_LEAST = 1_024  # sets of once-value parts kept for shared answers before a sweep
    SLOTS = 4_000_000  # places in node_group lists (32 MB): past this, start over
    KEEP_TRIAL = 2_000  # answers dropped before a group's reuse is judged

    def __init__(self) -> None:
        super().__init__()
        self.signatures: dict = {}  # (plugin, node_code, values) → [(a small int, the values)]: one per
        #                             set of values no rule can tell apart (`identical`)
        self.next_signature = 0
        self.size = 0
        self.memos: set = set()  # the _MemoDeps whose own dependencies are registered
        self.values: dict = {}  # (let site, signature) → (value, _MemoDep, the lets before it): once-values kept
        self.hits: dict = {}  # (plugin, signature) → answers used again
        self.dropped: dict = {}  # (plugin, signature) → answers dropped by commits
        self.unkept: set = set()  # (plugin, signature) groups not worth keeping
        self.paths: dict = {}  # (let site, signature) → the paths of its value answers read
        self.markers: dict = {}  # (comprehension site, signature) → the _MemoDep of its kept items
        self.lets: dict = {}  # (comprehension site, signature) → the values of the lets its items read
        self.layout: list | None = None  # the node keys node_group's lists follow
        self.probes: dict = {}  # (plugin, signature) → its probe's outcome (`_probe`)
        self.slots = 0  # places allocated in node_group lists
        self.positions: dict = {}  # node name → its place in them
        self.sites: dict = {}  # plugin → the sites of its once-lets
        self.donating: dict = {}  # (plugin, donor signature) → the one signature seen, or True once two were
        self.parts: dict = {}  # the once-value parts shared answers read, each set kept once (`intern`)
        self.parts_limit = self.PARTS_AT_LEAST  # past this many, those no answer holds go
        self.shared: set = set()  # the keys (plugin, donor signature) of the shared groups

    def clear(self) -> None:
        super().clear()
        self.donating.clear()
        self.parts.clear()
        self.shared.clear()
        self.paths.clear()
        self.markers.clear()
        self.lets.clear()
        self.probes.clear()
        self.slots = 0
        self.signatures.clear()
        for memo in self.memos:  # nothing would tell them of a change any more
            memo.alive = False
        self.memos.clear()
        self.values.clear()
        self.hits.clear()
        self.dropped.clear()
        self.unkept.clear()
        self.size = 0

    def value(self, key: tuple, checked: dict | None = None) -> tuple | None:
        """A once-per-attempt value kept under (site, signature), while what it read stands and
        the lets it was computed after are still the values it was computed after (`checked`:
        the lets' answers so far)."""
        found = self.values.get(key)
        if found is None or not found[1].alive:
            return None
        if checked is None:
            checked = {}
        for site, before in found[2]:
            at = (site, key[1])
            now = checked[at] if at in checked else checked.setdefault(at, self.value(at, checked))
            if now is None or now[0] is not before:
                return None
        return found

    def keep_value(self, key: tuple, found: tuple, decl: Any) -> None:
        """Keep a once-value computed (again) under key (site, signature); drop the answers that
        read a part of the value it replaces that is not the same in it."""
        if len(self.values) >= self.LIMIT:
            self.clear()
        old = self.values.get(key)
        if old is not None:
            paths = self.paths.get(key)
            if paths:
                before, after = old[0], found[0]
                changed = _changed(before, after, paths)
                for path in changed:
                    paths.discard(path)
                    self.drop_users((_USE, key[0], key[1], path))
        else:
            sites = self.sites.get(decl)
            if sites is None:
                sites = self.sites[decl] = set()
            sites.add(key[0])
        self.values[key] = found
        self._watch(found[1])

    def _out_of_date(self, decl: Any, sig: int, computed: dict) -> list[tuple]:
        """The (site, signature) keys of `decl`'s once-values for `sig` that are not up to date:
        not computed in this attempt (`computed`), and not kept or no longer standing."""
        checked: dict = {}
        return [(site, sig) for site in self.sites.get(decl, ()) if site not in computed
                and self.value((site, sig), checked) is None]

    def refresh(self, decl: Any, sig: int, computed: dict) -> None:
        """Before `decl`'s kept answers for `sig` are used: a once-value they read that is out of
        date and was not computed again in this attempt cannot say which of them still stand,
        so all that read it are dropped."""
        for key in self._out_of_date(decl, sig, computed):
            self.values.pop(key, None)
            for path in self.paths.pop(key, ()):
                self.drop_users((_USE, *key, path))

    def probe(self, decl: Any, sig: int, computed: dict) -> tuple | None:
        """The kept outcome of probing `decl` for pods of `sig`, while it stands and every
        once-value of the plugin is up to date (a probe that is run computes those again,
        which tells the nodes' answers exactly what changed)."""
        found = self.probes.get((decl, sig))
        return found if found is not None and not self._out_of_date(decl, sig, computed) else None

    def marker(self, key: tuple) -> "_MemoDep":
        """The dependency standing for every item kept in element group `key` (site, signature):
        dropped with the first of them."""
        found = self.markers.get(key)
        if found is None:
            found = self.markers[key] = _MemoDep(frozenset())
            self._watch(found)
        return found

    def drop_users(self, dep: Any) -> None:
        for user in self.users.pop(dep, ()):
            self._drop(user)

    def _watch(self, memo: "_MemoDep") -> None:
        if memo.alive and memo not in self.memos:
            self.memos.add(memo)
            self._users_of(memo, memo.deps)

    def group(self, site: Any, sig: int) -> dict:
        """The items of a once-let's comprehension for pods of signature `sig`, by element id."""
        found = self.entries.get((site, sig))
        if found is None:
            found = self.entries[(site, sig)] = {}
        return found

    def node_group(self, decl: Any, sig: int) -> list:
        """The answers of `decl` for pods of signature `sig`, one per node in name order (_UNSET
        where there is none), so that a run of nodes is a slice."""
        found = self.entries.get((decl, sig))
        if found is None:
            if self.slots + len(self.positions) > self.SLOTS:
                self.clear()
            self.slots += len(self.positions)
            found = self.entries[(decl, sig)] = [_UNSET] * len(self.positions)
        return found

    def arrange(self, keys: list) -> None:
        """Number the nodes `keys` (sorted) for node_group; a different set of nodes starts over."""
        if keys is not self.layout:
            self.clear()
            self.layout = keys
            self.positions = {key[3]: i for i, key in enumerate(keys)}

    def _drop(self, key: Any) -> None:
        if type(key) is _MemoDep:  # a value many answers used changed: drop them all
            key.alive = False
            self.memos.discard(key)
            self.drop_users(key)
            return
        if key[2] is _PROBE:
            if self.probes.pop(key[:2], None) is not None:
                self.size -= 1
            return
        group = self.entries.get(key[:2])
        if group is None:
            return
        if type(group) is list:  # a node's answer
            at = self.positions.get(key[2])
            if at is None or group[at] is _UNSET:
                return
            group[at] = _UNSET
            self.dropped[key[:2]] = self.dropped.get(key[:2], 0) + 1
        elif group.pop(key[2], _UNSET) is _UNSET:
            return
        else:  # an element group's item: the lets that used the group are out of date
            marker = self.markers.pop(key[:2], None)
            if marker is not None:
                self._drop(marker)
        self.size -= 1

    def used(self, group: tuple, hits: int) -> None:
        """Count the answers of `group` used again; a group whose answers are nearly all dropped
        before any use (they read something every bind changes) is no longer kept: keeping
        costs more than it saves."""
        if hits:
            self.hits[group] = self.hits.get(group, 0) + hits
        dropped = self.dropped.get(group, 0)
        if dropped > self.KEEP_TRIAL and self.hits.get(group, 0) * 10 < dropped:
            self.unkept.add(group)
            if type(self.entries.pop(group, None)) is list:
                self.slots -= len(self.positions)

    def donor(self, decl: Any, pod: Mapping, sig: int, parts: dict) -> int | None:
        """The group `decl`'s answers for `pod` (of signature `sig`) are kept in, shared with pods
        of other signatures (`_AttemptContext._shared`): named by what its node code reads of the
        pod.  None when that is all the plugin reads (no pod of another signature could share),
        and until a second signature shares the group (with one, its own group serves)."""
        if getattr(decl, "node_reads", None) == getattr(decl, "pod_reads", None):
            return None
        donor = self.signature(decl, pod, parts, node_code=True)
        if donor is None or (decl, donor) in self.unkept:
            return None
        first = self.donating.setdefault((decl, donor), sig)
        if first is not True and first != sig:
            first = self.donating[(decl, donor)] = True
        return donor if first is True else None

    def signature(self, decl: Any, pod: Mapping, parts: dict | None = None, node_code: bool = False) -> int | None:
        """The interned values of what `decl` reads of `pod`; None when it reads all of the pod.
        (`parts`: the pod's values by path, shared by the plugins of one attempt.)  With
        `node_code`: of what its node-dependent code reads itself (`decl.node_reads`), which
        names its group of donors (`_AttemptContext.answers`)."""
        paths = getattr(decl, "node_reads" if node_code else "pod_reads", None)
        if paths is None:
            return None
        if parts is None:
            parts = {}
        found_parts = []
        for path in paths:
            value = parts.get(path, _UNSET)
            if value is _UNSET:
                value = parts[path] = get_path(pod, *path)
            found_parts.append(value)
        values = tuple(found_parts)
        try:
            known = self.signatures.get((decl, node_code, values))
        except TypeError:  # an unhashable value: no sharing
            return None
        if known is not None:  # equal values; the same signature only for values no rule can tell
            for sig, before in known:  # apart (True and 1 are equal in Python)
                if before is values or identical(before, values):
                    return sig
        if len(self.signatures) >= self.SIGNATURES_KEPT:
            self.clear()
            known = None
        if known is None:
            known = self.signatures[(decl, node_code, values)] = []
        found = self.next_signature  # never reused: an attempt may hold one across a clear
        self.next_signature += 1
        known.append((found, values))
        return found

    def intern(self, parts: tuple) -> tuple:
        """One tuple for every equal set of once-value parts that shared answers read, so that
        whether they hold is found once per attempt (`_AttemptContext._shared`)."""
        try:
            found = self.parts.get(parts)
        except TypeError:  # an unhashable value: not shared
            return parts
        if found is None:
            if len(self.parts) >= self.parts_limit:
                self._sweep_parts()
            found = self.parts[parts] = parts
        elif not identical(found, parts):
            return parts  # equal, but a rule can tell them apart (True and 1)
        return found

    def _sweep_parts(self) -> None:
        """Forget the sets of once-value parts no kept answer holds any more (with their values:
        a value every bind changes would otherwise be held once per bind); the next sweep when
        twice as many are kept."""
        held = set()
        for key in self.shared:
            group = self.entries.get(key)
            if type(group) is list:
                held.update([id(entry[1]) for entry in group if entry is not _UNSET])
        self.parts = {parts: parts for parts in self.parts if id(parts) in held}
        self.parts_limit = max(self.PARTS_AT_LEAST, 2 * len(self.parts))

    def put(self, key: tuple, entry: tuple, deps: Any) -> bool:
        """Keep `entry`, the answer of plugin key[0] for signature key[1] on node key[2] (or a
        comprehension's item for an element); False when it cannot be kept."""
        if key[:2] in self.unkept:  # (judged during this attempt)
            return False
        if self.size >= self.LIMIT:
            self.clear()
        memos = []
        uses = []
        for dep in deps:
            cls = type(dep)
            if cls is _MemoDep:
                memos.append(dep)
            elif cls is tuple and dep[0] is _USE:
                uses.append(dep)
        if not all(memo.alive for memo in memos):  # (the cache started over during this attempt)
            return False
        values = self.values
        for use in uses:  # a part of a once-value: only while the value is kept can it be followed
            found = values.get(use[1:3])
            if found is None or not found[1].alive:
                return False
        for memo in memos:
            self._watch(memo)
        for use in uses:
            paths = self.paths.get(use[1:3])
            if paths is None:
                paths = self.paths[use[1:3]] = set()
            paths.add(use[3])
        if key[2] is _PROBE:
            if key[:2] not in self.probes:
                self.size += 1
            self.probes[key[:2]] = entry
        elif type(key[2]) is str:  # a node's answer
            at = self.positions.get(key[2])
            if at is None:
                return False
            group = self.node_group(key[0], key[1])
            if group[at] is _UNSET:
                self.size += 1
            group[at] = entry
        else:
            group = self.group(key[0], key[1])
            if key[2] not in group:
                self.size += 1
            group[key[2]] = entry
        self._users_of(key, deps)
        return True
