"""The scheduler: a queue of pending pods and the bind cycle; the plugins are rules.

Every `filter` and `score` declaration of the loaded rule files (rules/
scheduler/ by default) is a plugin of one profile, kube-scheduler's default
profile when the shipped files are loaded.  This module only does what
upstream's framework does around them (pkg/scheduler/schedule_one.go):

* the queue: pending pods (no `spec.nodeName`, `schedulerName`
  default-scheduler, not terminating) by priority, then creation time;
  a pod with `spec.schedulingGates` never enters it (SchedulingGates'
  PreEnqueue) until an update removes the last gate;
  pods no node accepts wait in an unschedulable set until a change that
  could help (a node added or changed, an assigned pod removed, or, for
  pods that pod-based plugins rejected, an assigned pod changed) moves them
  back: event-driven, never polled;
* one attempt: filters in the profile's order over the nodes, starting
  where the previous attempt stopped and stopping once enough feasible
  nodes were found (percentageOfNodesToScore); scores over the feasible
  nodes, normalised per the score's `normalize` mode and weighted; the best
  node, ties broken by a hash of the seed and the pod (deterministic);
* the writes, as actor `default-scheduler`: a Binding and a `Scheduled`
  Event, or the PodScheduled=False condition and a `FailedScheduling`
  Event, written only when the message changes;
* the explanation of each pod's last attempt, kept in memory for
  `explain_scheduling`.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import math
import operator
from collections.abc import Mapping
from typing import Any, NamedTuple

import attrs

from .access import Actor, Permissions
from .apierrors import APIError
from .dsl import runtime as R
from .evalctx import EvalContext, captured, query_key
from .kinds import CRD_KIND
from .objects import MISSING, ByIdentity, Key, get_path, key_of, lookup, map_items, set_path
from .preemption import preempt, priority
from .request import Request
from .store import content_of, derived, object_hash
from .timeutil import format_time, parse_time

_PMAP, _PVECTOR = R._PMap, R._PVector

SCHEDULER_NAME = "default-scheduler"
# its events' reportingInstance: upstream's is the scheduler's name and its host's ("default-scheduler-HOST")
SCHEDULER_INSTANCE = SCHEDULER_NAME + "-recon"
NODE = ("", "Node")
POD = ("", "Pod")

# kube-scheduler's default profile, in its order: a filter or score of these
# names runs in this position; other (user) plugins run after them, by file.
DEFAULT_ORDER = (
    "NodeUnschedulable", "NodeName", "TaintToleration", "NodeAffinity", "NodePorts",
    "NodeResourcesFit", "VolumeRestrictions", "NodeVolumeLimits", "VolumeBinding",
    "VolumeZone", "PodTopologySpread", "InterPodAffinity",
    "NodeResourcesBalancedAllocation", "ImageLocality",
)
# Filters that only look at the node and the pod itself: a pod they rejected
# cannot be helped by another pod being bound or relabelled.
NODE_ONLY_FILTERS = frozenset({"NodeUnschedulable", "NodeName", "TaintToleration", "NodeAffinity"})
# Other kinds whose creation or change may help a pod these filters rejected
# (upstream's EventsToRegister beyond pods and nodes).
QUEUEING_KINDS = {
    ("", "PersistentVolumeClaim"): frozenset({"VolumeBinding"}),
    ("", "PersistentVolume"): frozenset({"VolumeBinding"}),
    ("storage.k8s.io", "StorageClass"): frozenset({"VolumeBinding"}),
}

# The last attempts kept for explanations (one holds a score line per feasible
# node and plugin: ~350 kB at 5,000 nodes); older pods are explained from
# their PodScheduled condition.
ATTEMPTS_KEPT = 1000
BIND_CHUNK = 100  # binds per group commit in one cycle
MIN_FEASIBLE_NODES_TO_FIND = 100
MIN_FEASIBLE_NODES_PERCENTAGE = 5
MAX_NODE_SCORE = 100


def nodes_to_find(num_all_nodes: int, percentage: int | None = None) -> int:
    """numFeasibleNodesToFind: how many feasible nodes an attempt looks for."""
    if num_all_nodes < MIN_FEASIBLE_NODES_TO_FIND:
        return num_all_nodes
    if not percentage:
        percentage = max(50 - num_all_nodes // 125, MIN_FEASIBLE_NODES_PERCENTAGE)
    if percentage >= 100:
        return num_all_nodes
    return max(num_all_nodes * percentage // 100, MIN_FEASIBLE_NODES_TO_FIND)


def normalize(mode: str | None, raw: dict[str, Any]) -> dict[str, int]:
    """A score's values over the feasible nodes, rescaled as upstream's NormalizeScore."""
    if mode == "spread":
        return spread_normalize(spread_scores(raw))
    return dict(zip(raw, normalize_values(mode, list(raw.values()))))


def normalize_values(mode: str | None, raw: list) -> list[int]:
    """`normalize` for a score other than spread, over the values alone (in the nodes' order)."""
    if {*map(type, raw)} <= {int}:
        values = raw
    else:
        values = [int(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else 0 for v in raw]
    if mode is None or not values:
        return values
    high, low = max(values), min(values)
    if mode == "max":  # helper.DefaultNormalizeScore(MaxNodeScore, false)
        return [v * MAX_NODE_SCORE // high for v in values] if high else [0] * len(values)
    if mode == "reverse":  # helper.DefaultNormalizeScore(MaxNodeScore, true)
        if high == 0:
            return [MAX_NODE_SCORE] * len(values)
        return [MAX_NODE_SCORE - v * MAX_NODE_SCORE // high for v in values]
    if mode == "minmax":  # InterPodAffinity's NormalizeScore
        spread = high - low
        return [int(MAX_NODE_SCORE * (v - low) / spread) for v in values] if spread > 0 else [0] * len(values)
    raise ValueError(f"unknown normalize mode {mode!r}")


def spread_scores(raw: dict[str, Any], read: Any = None, kept: bool = False) -> dict[str, int | None]:
    """PodTopologySpread's Score over the feasible nodes (by name), from each node's terms:
    `spread_values` over the answers in the map's order."""
    return dict(zip(raw, spread_values(list(raw.values()), read, kept)))


def spread_values(raws: list, read: Any = None, kept: bool = False) -> list[int | None]:
    """PodTopologySpread's Score over the feasible nodes, from each node's per-constraint terms
    (in the nodes' order).

    A node's raw value is null when the plugin ignores it (no constraints, or
    a key of the pod's own constraints missing), else one map per constraint:
    `domain` (the node's value of the key, null without it), `hostname`,
    `count` (matching pods in the domain) and `maxSkew`.  Each constraint's
    count is weighted by log(size + 2), size being the number of scored nodes
    for hostname, else the number of their domains; plus maxSkew - 1; rounded.
    `read(part, at)` reads a `later` part of the answer at place `at` (see
    `settled`); only the fields used are read, nothing is copied.  `kept`: the
    answers are the scheduler's, never changed once made, so what is read of
    each is kept for the next attempt (`_spread_rows`).
    """
    rows_of = _spread_rows if kept else _rows_of
    scored = []  # (place, per constraint (domain, hostname, count, maxSkew), plan)
    for at, terms in enumerate(raws):
        if not isinstance(terms, (list, tuple)):
            continue
        rows, parts, plan = rows_of(terms)
        if parts and read is not None:  # a `later` part other than a count: read it now
            rows = [[v if i == 2 else settled(v, read, at) for i, v in enumerate(row)] for row in rows]
        scored.append((at, rows, plan))
    width = max((len(rows) for _at, rows, _plan in scored), default=0)
    weights = []
    for i in range(width):
        first = next((rows[i] for _at, rows, _plan in scored if i < len(rows)), None)
        if first is not None and first[1]:
            size = len(scored)
        else:
            size = len({rows[i][0] or "" for _at, rows, _plan in scored if i < len(rows)})
        weights.append(math.log(size + 2))
    whole = getattr(read, "whole", None)
    counts = _AttemptCounts(whole) if whole is not None else None
    count_of = counts.part if counts is not None else read
    result: list[int | None] = [None] * len(raws)
    floor, later = math.floor, R.Later
    for at, rows, plan in scored:
        total = 0.0
        if plan is not None and counts is not None:  # (the same sums, in the same order)
            planned, known = counts.planned, counts.planned_counts
            for i, max_skew, key, _held, parent, last, count in plan:
                if key is not None:
                    found = known.get(key, _UNSET)
                    count = int((planned(key, parent, last, at) if found is _UNSET else found) or 0)
                total += count * weights[i] + max_skew - 1
        else:
            for (domain, _hostname, count, max_skew), weight in zip(rows, weights):
                if domain is None:
                    continue
                if count_of is not None and type(count) not in _SETTLED:
                    count = count_of(count, at) if type(count) is later else settled(count, read, at)
                total += int(count or 0) * weight + int(max_skew or 0) - 1
        result[at] = int(floor(total + 0.5))
    return result


class _AttemptCounts:
    """The `later` counts of one attempt's spread answers, read through `read.whole(site, at)`
    (`_AttemptContext.reader`: a let's value, _UNSET when it has none yet).

    A part names a let's value and the steps into it, and the value is the
    same whichever node's answer holds the part: each let is asked for once
    (a let with no value yet is asked for again: reading it for another
    node may compute it), and each part read once (the nodes of a zone
    share their zone's count).  `part` serves the general loop; `planned`
    the planned sums (`_plan`), by the id of their interned (site, steps)
    key and through the map the steps but the last lead to, read once per
    interned (site, those steps): a node's own count (hostname) is then one
    lookup in the let's per-node map.  (The interned keys a plan holds stay
    alive while it does, so no id is reused within an attempt.)
    """

    __slots__ = ("whole", "lets", "parts", "planned_counts", "parents")

    def __init__(self, whole: Any) -> None:
        self.whole = whole
        self.lets: dict = {}  # site → the let's value
        self.parts: dict = {}  # (site, steps) → the part
        self.planned_counts: dict = {}  # id of an interned (site, steps) → the part
        self.parents: dict = {}  # id of an interned (site, steps but the last) → what they lead to

    def let(self, site: Any, at: int) -> Any:
        found = self.lets.get(site, _UNSET)
        if found is _UNSET:
            found = self.whole(site, at)
            if found is not _UNSET:
                self.lets[site] = found
        return found

    def part(self, part: R.Later, at: int) -> Any:
        site, steps = part.site, part.steps
        if not _plain_steps(steps):  # (true and 1 are one key in a dict, and a map none)
            found = self.whole(site, at)
            return None if found is _UNSET else R.walk(found, steps)
        found = self.parts.get((site, steps), _UNSET)
        if found is _UNSET:
            found = self.let(site, at)
            if found is _UNSET:
                return None
            found = self.parts[(site, steps)] = R.walk(found, steps)
        return found

    def planned(self, key: int, parent: tuple, last: Any, at: int) -> Any:
        found = self.planned_counts.get(key, _UNSET)
        if found is not _UNSET:
            return found
        found = self.parents.get(id(parent), _UNSET)
        if found is _UNSET:
            found = self.let(parent[0], at)
            if found is _UNSET:
                return None
            found = self.parents[id(parent)] = R.walk(found, parent[1])
        found = self.planned_counts[key] = R.index(found, last)
        return found


_COUNT_KEYS: dict = {}  # (site, steps) → itself: one tuple per key, for the planned sums' memos
_COUNT_KEYS_KEPT = 200_000


def _count_key(key: tuple) -> tuple:
    found = _COUNT_KEYS.get(key)
    if found is None:
        if len(_COUNT_KEYS) >= _COUNT_KEYS_KEPT:  # (plans keep their own keys: only sharing is lost)
            _COUNT_KEYS.clear()
        found = _COUNT_KEYS[key] = key
    return found


def _plain_steps(steps: tuple) -> bool:
    """Are `steps` names and positions only (no value a dict key would take for another)?"""
    for step in steps:
        if type(step) is not str and type(step) is not int:
            return False
    return True


_SPREAD_ROWS = ByIdentity(65_536)  # a node's answer → _rows_of it


def _spread_rows(terms: Any) -> tuple[tuple, bool, tuple | None]:
    """`_rows_of(terms)`, kept per answer: a node's answer is kept across attempts, and a pod's
    scores read it on every node they look at."""
    found = _SPREAD_ROWS.get(terms)
    if found is None:
        found = _rows_of(terms)
        _SPREAD_ROWS.put(terms, found)
    return found


def _rows_of(terms: Any) -> tuple[tuple, bool, tuple | None]:
    """A spread answer's terms as rows (domain, hostname, count, maxSkew); whether a field other
    than the count is a `later` part (or holds one); and the plan of its sum (`_plan`)."""
    rows = tuple((t.get("domain"), t.get("hostname"), t.get("count"), t.get("maxSkew")) for t in terms)
    parts = any(type(v) not in _SETTLED for row in rows for v in (row[0], row[1], row[3]))
    return rows, parts, None if parts else _plan(rows)


def _plan(rows: tuple) -> tuple | None:
    """The terms of a node's spread score, ready to be summed: per row with a domain (column,
    maxSkew as an int; for a `later` count the id of the interned (site, steps), that key (held
    so the id stays its own), the interned (site, steps but the last) and the last step, else
    four Nones; the `later` part or the count as an int).  None where a value is not a plain one
    (the general loop says what is wrong)."""
    plan = []
    try:
        for i, (domain, _hostname, count, max_skew) in enumerate(rows):
            if domain is None:
                continue
            if type(count) is R.Later:
                steps = count.steps
                if not steps or not _plain_steps(steps):
                    return None
                key = _count_key((count.site, steps))
                plan.append((i, int(max_skew or 0), id(key), key, _count_key((count.site, steps[:-1])),
                             steps[-1], count))
            elif type(count) in _SETTLED:
                plan.append((i, int(max_skew or 0), None, None, None, None, int(count or 0)))
            else:
                return None
    except (TypeError, ValueError):
        return None
    return tuple(plan)


def settled(value: Any, read: Any, at: int) -> Any:
    """The answer `value` of the node at place `at` with each `later` part in it
    (runtime.Later) read by `read(part, at)`: a copy where there was one."""
    cls = type(value)
    if cls is R.Later:
        return read(value, at)
    if cls is list or cls is tuple or cls is _PVECTOR:
        return _settled_parts(value, enumerate(value), list, read, at)
    if cls is dict or cls is _PMAP:
        return _settled_parts(value, value.items(), dict, read, at)
    return value


def _settled_parts(value: Any, parts: Any, copied: Any, read: Any, at: int) -> Any:
    copy = None
    for place, part in parts:
        if type(part) in _SETTLED:
            continue
        new = settled(part, read, at)
        if new is not part:
            if copy is None:
                copy = copied(value)
            copy[place] = new
    return value if copy is None else copy


_SETTLED = frozenset({str, int, float, bool, type(None)})  # (nothing to read in them)


def spread_normalize(scores: dict[str, int | None]) -> dict[str, int]:
    """PodTopologySpread's NormalizeScore: fewer is better; ignored nodes get 0."""
    return dict(zip(scores, spread_normalize_values(list(scores.values()))))


def spread_normalize_values(scores: list) -> list[int]:
    """`spread_normalize` over the values alone (in the nodes' order)."""
    values = [v for v in scores if v is not None]
    if not values:
        return [0] * len(scores)
    high, low = max(values), min(values)
    if high == 0:
        return [0 if v is None else MAX_NODE_SCORE for v in scores]
    top = high + low
    return [0 if v is None else MAX_NODE_SCORE * (top - v) // high for v in scores]


def fit_error_message(num_nodes: int, rejected: Mapping[str, tuple]) -> str:
    """FitError.Error(): `0/N nodes are available: <count reason>, ... .` sorted as strings."""
    histogram: dict[str, int] = {}
    for _plugin, reasons in rejected.values():
        for reason in reasons:
            histogram[reason] = histogram.get(reason, 0) + 1
    parts = sorted(f"{count} {reason}" for reason, count in histogram.items())
    return f"0/{num_nodes} nodes are available: {', '.join(parts)}."


class ScoreLine(NamedTuple):
    """One score plugin's result for one node, as an explanation shows it."""

    plugin: str
    raw: Any
    normalized: int
    weight: int

    @property
    def weighted(self) -> int:
        return self.normalized * self.weight


@attrs.frozen
class Attempt:
    """What one scheduling attempt saw and decided: the source of `explain`."""

    pod: Key
    revision: int
    num_nodes: int
    rejected: dict  # node → (plugin, reasons)
    feasible: tuple  # node names, in evaluation order
    # per score plugin: (name, weight, raw values, normalized values), each a list in the order of
    # `feasible` or, for a score that is the same on every node, one value (`Same`)
    table: tuple
    chosen: str | None
    message: str

    @property
    def scores(self) -> dict[str, tuple[ScoreLine, ...]]:
        """Each scored node's lines, one per score plugin (built when asked: an attempt keeps
        one list per plugin, not a line per node and plugin)."""
        if not self.table:
            return {}
        return {node: tuple(ScoreLine(plugin, _at(raw, i), _at(normalized, i), weight)
                            for plugin, weight, raw, normalized in self.table)
                for i, node in enumerate(self.feasible)}

    def total(self, node: str) -> int:
        if node not in self.feasible or not self.table:
            return 0
        i = self.feasible.index(node)
        return sum(_at(normalized, i) * weight for _plugin, weight, _raw, normalized in self.table)


class Same(NamedTuple):
    """A score's value on every node of an attempt."""

    value: Any


def _at(values: Any, i: int) -> Any:
    return values.value if type(values) is Same else values[i]


class _AttemptContext(EvalContext):
    """An EvalContext whose queries are remembered for the rest of one attempt, and across attempts.

    One attempt reads one snapshot, and a query's answer depends only on the
    snapshot and the values its condition captures, so `count(Node)` or
    `Pod where matches(sel, it)` asked for every node is computed once.  An
    answer also stays valid for later attempts until a commit touches one of
    the dependencies it recorded (`QueryCache`, upstream's scheduler cache of
    per-node state): "the pods on node n7" is recomputed only when a pod of
    n7 changes.
    """

    __slots__ = ("memo", "once_memo", "shared", "probing", "results", "signatures", "current", "keeping",
                 "decl", "seen", "pod_parts", "donors", "donor", "holds", "let_failed")

    def __init__(self, engine: Any, snap: Any, now: float, shared: "QueryCache | None" = None,
                 results: "NodeResults | None" = None):
        super().__init__(engine, snap, now)
        self.memo: dict = {}
        self.once_memo: dict = {}  # a filter's or score's node-independent lets (runtime.once)
        self.shared = shared
        self.probing = False  # a plugin is running on a watched node (`_probe`)
        self.results = results  # plugin answers per node kept across attempts, if any
        self.signatures: dict = {}  # decl → the pod's signature for it (NodeResults.signature)
        self.current: int | None = None  # the signature of the plugin running, if shareable
        self.keeping = False  # are its answers and once-values kept (its group is worth keeping)?
        self.decl: Any = None  # the plugin running
        self.pod_parts: dict = {}  # path → the pod's value there (signatures)
        self.seen: dict = {}  # site → (value, _MemoDep, …) of the once-values the running plugin used so far
        self.donors: dict = {}  # decl → the signature of what its node code reads of the pod (donor groups)
        self.donor: int | None = None  # that of the plugin running, when it is keeping
        self.holds: dict = {}  # id of a shared answer's once-value parts → (parts, whether they hold here)
        self.let_failed = False  # did a once-let fail to compute (since the last node's run began)?

    def running(self, decl: Any, pod: Mapping) -> int | None:
        """Note that `decl` runs now for `pod`; its pod signature, or None when neither its answers
        nor its once-per-attempt values are kept.  (Its once-lets' items per element are kept
        whenever it has a signature.)"""
        results = self.results
        self.decl = decl
        self.seen = {}
        if results is None:
            self.current = None
            self.keeping = False
            return None
        sig = self.signatures.get(decl, _UNSET)
        if sig is _UNSET:
            sig = self.signatures[decl] = results.signature(decl, pod, self.pod_parts)
        self.current = sig
        self.keeping = sig is not None and (decl, sig) not in results.unkept
        if not self.keeping:
            self.donor = None
            return None
        donor = self.donors.get(decl, _UNSET)
        if donor is _UNSET:
            donor = self.donors[decl] = results.donor(decl, pod, sig, self.pod_parts)
        self.donor = donor
        return sig

    def remember(self, site: Any, compute: Any) -> Any:
        """A node-independent `let`: computed once per attempt, and kept for later attempts of
        pods of the same signature while nothing it read changes (one `_MemoDep` stands for
        all it read: a value every node uses may have read the whole cluster) and the lets
        before it are the values it was computed after (`NodeResults.value`).

        A value computed again that is the same as the one kept (`identical`:
        equal, of the same types and in the same order throughout) is the
        kept one (early cutoff): the lets after it stand.  The pod's owner
        changing its status makes PodTopologySpread's constraints be computed
        again, the same; the eligible nodes after them are not.  (A value
        that is not kept depends on the lets before it instead: it is
        dropped with them.)

        A node's answer depends only on the parts of the value it used
        (`used`): when the value is computed again, the answers that read a
        part that changed are dropped (`NodeResults.keep_value`).
        """
        found = self.once_memo.get(site)
        if found is None:
            kept = (site, self.current) if self.keeping else None
            if kept is not None:
                found = self.results.values.get(kept)
                if found is not None and not (found[1].alive and self._inputs_stand(found[2])):
                    found = None
            if found is None:
                seen = self.seen  # a let may use the lets before it
                inputs = tuple([(s, f[0]) for s, f in seen.items()])
                start = set() if kept is not None else {f[1] for f in seen.values()}
                outer, self.deps = self.deps, start
                try:
                    value = compute()
                except Exception:  # what uses the let fails as well: it depends on what was read
                    outer.update(self.deps)
                    self.let_failed = True
                    raise
                finally:
                    deps, self.deps = self.deps, outer
                if kept is not None:
                    old = self.results.values.get(kept)
                    if old is not None and _same_value(old[0], value):
                        value = old[0]
                found = (value, _MemoDep(frozenset(deps)), inputs)
                if kept is not None:
                    self.results.keep_value(kept, found, self.decl)
            self.once_memo[site] = found
        self.seen[site] = found
        return found[0]

    def _inputs_stand(self, inputs: tuple) -> bool:
        """Are the lets a kept value was computed after the values they are in this attempt?
        (They come before it, so they were asked for already.)"""
        once_memo = self.once_memo
        for site, before in inputs:
            now = once_memo.get(site)
            if now is None or now[0] is not before:
                return False
        return True

    def used(self, site: Any, path: tuple) -> None:
        """Node-dependent code read the once-value of `site` at `path` (runtime.use*)."""
        self.deps.add((_USE, site, self.current, path))

    def later(self, site: Any, steps: tuple) -> R.Later:
        """`later(x[a][b])` in a score: the part, named, for the scores' normalisation to read
        (`reader`); the node's answer does not depend on it, so a change to it drops none."""
        return R.Later(site, steps)

    def reader(self, decl: Any, pod: Mapping, nodes: list, run: Any) -> Any:
        """How `decl`'s `later` parts in the answers for `nodes` are read in this attempt: from
        its once-values as computed in it, or as kept from an earlier one while they stand (a
        kept answer of a node is never newer than they are).  A value neither holds (the
        attempt ran no code that computes it) is computed by running the score again on the
        node whose answer holds the part: that run got as far as the let before.  (`read.whole(
        site, at)`: the value of the let at `site` a part names, _UNSET when there is none.)"""
        sig = self.signatures.get(decl)
        results, once_memo = self.results, self.once_memo
        ran: set = set()

        def whole(site: Any, at: int) -> Any:
            found = once_memo.get(site)
            if found is None and results is not None and sig is not None and sig is not _UNSET:
                found = results.value((site, sig))
            if found is None and at not in ran:
                ran.add(at)
                self.running(decl, pod)
                run(decl, self, pod, nodes[at])  # (its answer is not kept: only its once-values are wanted)
                found = once_memo.get(site)
            return _UNSET if found is None else found[0]

        def read(later: R.Later, at: int) -> Any:
            value = whole(later.site, at)
            return None if value is _UNSET else R.walk(value, later.steps)
        read.whole = whole  # type: ignore[attr-defined]
        return read

    def elements(self, site: Any, items: Any, item: Any, lets: tuple, kept: bool = True) -> list:
        """A once-let's comprehension (`runtime.each`): each element's item kept across attempts
        for pods of the running plugin's signature, while the element is the same object and
        nothing it read changed (what it read of the snapshot) and the once-lets `lets` are
        the values it was computed with.

        The let depends on the group's marker, which a commit dropping any
        of its items drops, rather than on what every item read.
        """
        sig, once_memo = self.current, self.once_memo
        memos = [once_memo.get(s) for s in lets]
        if sig is None or None in memos or not kept:
            return [v for v in map(item, items) if v is not R.SKIP]
        results = self.results
        if self.keeping:  # the lets are kept values: an item stands while they are the same objects
            now, start = tuple([found[0] for found in memos]), set()
            last = results.lets.get((site, sig))  # one tuple for the same values: items test it by `is`
            if last is not None and _same(last, now):
                now = last
            else:
                results.lets[(site, sig)] = now
        else:  # the lets are computed each attempt: an item depends on what they read
            now, start = None, {found[1] for found in memos}
        marker = results.marker((site, sig))
        get = results.group(site, sig).get
        values = [found[1] if (found := get(id(x))) is not None and found[0] is x and found[2] is now
                  else _UNSET for x in items]
        deps = self.deps
        for i, value in enumerate(values):
            if value is _UNSET:
                x = items[i]
                self.deps = start.copy()
                try:
                    value = values[i] = item(x)
                finally:
                    read, self.deps = self.deps, deps
                read = frozenset(read)
                if not results.put((site, sig, id(x)), (x, value, now), read):
                    deps.update(read)  # not kept: what it read counts for the let directly
        if not marker.alive:  # the cache started over meanwhile: the marker stands for nothing
            return self.elements(site, items, item, lets, kept=False)
        deps.add(marker)
        return [v for v in values if v is not R.SKIP]

    def answers(self, decl: Any, pod: Mapping, names: list[str], nodes: list[Mapping], span: Any,
                run: Any) -> list[Any]:
        """`run(decl, self, pod, node)` for each of `nodes` (named `names`, at `span` in the
        nodes' order: a slice or a list of places), or the answer kept from an earlier attempt
        where it stands.

        An answer stands while the node is the same (a change to it drops
        its answers), no commit touched what the plugin read of the
        snapshot, and the pod agrees with the earlier one on every path the
        plugin reads (`decl.pod_reads`), or, in a shared group (`_shared`),
        on every path its node code reads and every part of a once-value
        the answer read.
        """
        results = self.results
        sig = self.running(decl, pod)
        if sig is None:
            return [run(decl, self, pod, node) for node in nodes]
        results.refresh(decl, sig, self.once_memo)
        if self.donor is not None:
            return self._shared(decl, pod, sig, names, nodes, span, run)
        group = results.node_group(decl, sig)
        found = group[span] if type(span) is slice else [group[i] for i in span]
        misses = found.count(_UNSET)  # (found by C's scans: a slice is mostly kept)
        at = -1
        for _ in range(misses):
            at = found.index(_UNSET, at + 1)
            found[at] = self._fresh(decl, pod, nodes[at], (decl, sig, names[at]), run)
        results.used((decl, sig), len(names) - misses)
        return found

    def _shared(self, decl: Any, pod: Mapping, sig: int, names: list[str], nodes: list[Mapping],
                span: Any, run: Any) -> list[Any]:
        """`answers` from the group the plugin's answers for pods of every signature whose node
        code reads the same of the pod share (`NodeResults.donor`).

        Such an answer differs between two of these pods only where a part
        of a once-value it read differs, so it is kept with those parts'
        values (`_keep_shared`) and stands for this pod where each of them
        is the same in this attempt's once-values.  Many answers read the
        same parts (all the nodes' PodTopologySpread terms read the
        constraints' keys and skews, not their selectors): that is found
        once per attempt for each set of parts.  One Deployment's pods after
        another's score on the nodes the old ones did without computing or
        copying anything.

        Where a node's shared answer does not stand for this pod (pods of
        two shapes take turns), the pod's answer is kept in its own group,
        and found there next time; the shared one stays.
        """
        results, donor = self.results, self.donor
        group = results.node_group(decl, donor)
        shared = group[span] if type(span) is slice else [group[i] for i in span]
        own = results.entries.get((decl, sig))
        holds = self.holds
        found = []
        hits = own_hits = 0
        for at, entry in enumerate(shared):
            if entry is not _UNSET:
                parts = entry[1]
                known = holds.get(id(parts))
                if known is None or known[0] is not parts:
                    stands = self._parts_hold(parts, sig)
                    if stands is not None:  # (None: a once-value not computed yet; ask again)
                        holds[id(parts)] = (parts, stands)
                else:
                    stands = known[1]
                if stands:
                    found.append(entry[0])
                    hits += 1
                    continue
            if own is not None:
                answer = own[results.positions[names[at]]]
                if answer is not _UNSET:
                    found.append(answer)
                    own_hits += 1
                    continue
            found.append(self._fresh(decl, pod, nodes[at], (decl, sig, names[at]), run,
                                     mine=entry is not _UNSET or own is not None, shared=entry is _UNSET))
        results.used((decl, donor), hits)
        if own is not None:
            results.used((decl, sig), own_hits)
        return found

    def _parts_hold(self, parts: tuple, sig: int) -> bool | None:
        """Are the once-value parts a shared answer read (site, path, value) the same for pods of
        `sig` in this attempt?  None when a once-value is neither computed in it nor kept."""
        once_memo, values = self.once_memo, self.results.values
        for site, path, value in parts:
            now = once_memo.get(site)
            if now is None:
                now = values.get((site, sig))  # (kept and standing: `refresh` ran)
                if now is None or not now[1].alive:
                    return None
            if not _same_value(lookup(now[0], path), value):
                return False
        return True

    def _fresh(self, decl: Any, pod: Mapping, node: Mapping, key: tuple, run: Any, mine: bool = True,
               shared: bool = True) -> Any:
        """Run the plugin for one node, noting what it read (the node too), and keep the answer
        under `key` (plugin, signature, node name) if `mine`, and in the plugin's shared group if
        it has one and `shared`.  (An answer given after a once-let failed is not shared: the
        let has no value to say for which pods it stands.)"""
        outer, self.deps = self.deps, set()
        self.let_failed = False
        try:
            answer = run(decl, self, pod, node)
        finally:
            deps, self.deps = self.deps, outer
        outer.update(deps)
        deps.add(("key", (*NODE, "", key[2])))
        if mine or (self.let_failed and self.donor is not None):
            self.results.put(key, answer, frozenset(deps))
        if shared and self.donor is not None and not self.let_failed:
            self._keep_shared((key[0], self.donor, key[2]), answer, deps)
        return answer

    def _keep_shared(self, key: tuple, answer: Any, deps: set) -> None:
        """Keep a shared group's answer with the values of the once-value parts it read, instead
        of a dependency on them (`_shared`)."""
        once_memo = self.once_memo
        parts, rest = [], []
        for dep in deps:
            if type(dep) is tuple and dep[0] is _USE:
                found = once_memo.get(dep[1])
                if found is None:  # (node code reads once-values of this attempt only)
                    return
                parts.append((dep[1], dep[3], lookup(found[0], dep[3])))
            else:
                rest.append(dep)
        results = self.results
        if results.put(key, (answer, results.intern(tuple(parts))), rest):
            results.shared.add(key[:2])

    def query(self, spec: Any, values: tuple, where: Any) -> list[Any]:
        cells = captured(where)
        if self.probing:
            cells, values = _unwrap(cells), _unwrap(values)  # the probed node's own answer
        key = query_key(spec, values, where, cells)
        found = self.memo.get(key)
        if found is None:
            shared = self.shared
            entry = shared.entries.get(key) if shared is not None else None
            if entry is None:
                outer, self.deps = self.deps, set()  # this query's own dependencies
                try:
                    answer = super().query(spec, values, where)
                except Exception:  # a condition that fails: what was read so far counts
                    outer.update(self.deps)
                    raise
                finally:
                    deps, self.deps = self.deps, outer
                # the entry keeps what its key's ids name alive, so no id is reused meanwhile
                entry = (answer, values, cells, frozenset(deps), where)
                kept = shared is not None and shared.put(key, entry)
            else:
                kept = True
            # a kept answer is followed by the cache: what uses it depends on the answer itself
            # (dropped when the answer changes), not on everything that could change it.  The memo
            # holds the entry, which keeps what its key's ids name alive for the attempt.
            found = self.memo[key] = (entry, frozenset({("query", key)}) if kept else entry[3])
        elif self.shared is not None and key not in self.shared.entries:  # the cache started over
            found = self.memo[key] = (found[0], found[0][3])               # meanwhile: nothing
        self.deps.update(found[1])                                          # follows the answer
        return found[0][0]


def _same(before: tuple, now: tuple) -> bool:
    """Are the values `now` the very objects `before`?"""
    return all(a is b for a, b in zip(before, now))


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


def _places(span: Any) -> Any:
    """The places in the nodes' order a span of an attempt stands for (a slice or a list)."""
    return range(span.start, span.stop) if type(span) is slice else span


def _ns_name(obj: Mapping) -> tuple:
    meta = obj["metadata"]
    return (meta.get("namespace") or "", meta["name"])


_UNSET = object()
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


class Scheduler:
    """The queue and bind cycle over the profile of filters and scores in force."""

    def __init__(self, engine: Any, *, percentage_of_nodes_to_score: int | None = None):
        self.engine, self.api = engine, engine.api
        self.percentage = percentage_of_nodes_to_score
        self.filters: list = []
        self.scores: list = []
        self.active: set[Key] = set()
        self.unschedulable: dict[Key, frozenset] = {}  # pod → plugins that rejected it
        self.nominated: dict[Key, str] = {}  # pending pod → the node preemption nominated it to
        self.attempts: dict[Key, Attempt] = {}
        self.next_start = 0
        self.scheduled = 0
        self._nodes: tuple[Any, list] = (None, [])
        self._node_objects: tuple | None = None  # (node keys, names, objects) of the store's head
        self.cache = QueryCache()
        self.results = NodeResults()
        self.cache.on_clear = self.results.clear
        listeners = getattr(self.api.store, "listeners", None)
        if listeners is not None:  # (a snapshot's stand-in store for explanations has none)
            listeners.append(self._on_commit)
        self.actor = Actor(SCHEDULER_NAME, "component", Permissions(  # (pods: preemption deletes victims)
            reads={("*", "*")}, writes={("", "Binding"), ("", "Event"), ("events.k8s.io", "Event"), POD},
            status_writes={POD}))

    def _on_commit(self, snap: Any, events: tuple, _record: Any) -> None:
        """A store listener: both caches forget what the commit can alter (its changes worked out
        once, and only if a cache holds anything)."""
        if self._node_objects is not None and any(e.key[1] == "Node" and e.key[0] == "" for e in events):
            self._node_objects = None
        computed: list = []

        def changes() -> Any:
            if not computed:
                computed.append(touched_by(events))
            return computed[0]

        self.cache.forget(snap, changes)
        for key in self.cache.taken():  # what read a query answer that changed
            self.results.drop_users(("query", key))
        self.results.forget(snap, changes)

    # ------------------------------------------------------------ profile
    def set_rules(self, rules: Any) -> None:
        """Take the filters and scores of `rules` as the profile; retry every waiting pod."""
        rank = {name: i for i, name in enumerate(DEFAULT_ORDER)}

        def order(decl: Any) -> tuple:
            return (rank.get(decl.name, len(rank)), decl.path, decl.line)

        comps = rules.components
        self.filters = sorted((d for c in comps for d in c.filters), key=order)
        self.scores = sorted((d for c in comps for d in c.scores), key=order)
        self.results.clear()
        if self.enabled:
            self.active.update(self.unschedulable)
            self.unschedulable.clear()
            self.nominated.clear()
            for pod in self.api.store.head.list(*POD):
                if _pending(pod):
                    self.active.add(_key(pod))
                    self._note_nomination(_key(pod), pod)

    @property
    def enabled(self) -> bool:
        return bool(self.filters or self.scores)

    def pending(self) -> bool:
        return bool(self.active) and self.enabled

    # ------------------------------------------------------------- events
    def observe(self, event: Any) -> None:
        """Queue what a committed change makes schedulable again (queueing hints, simplified)."""
        if not self.enabled:
            return
        group, kind = event.key[0], event.key[1]
        if (group, kind) == NODE:
            if event.new is not None and _node_changed(event.old, event.new):
                self._retry(lambda plugins: True)
        elif (group, kind) == POD:
            self._pod_event(event)
        elif event.new is not None and (group, kind) in QUEUEING_KINDS:  # (added or changed)
            helped = QUEUEING_KINDS[(group, kind)]
            self._retry(lambda plugins: not plugins.isdisjoint(helped))

    def _note_nomination(self, key: Key, pod: Mapping | None) -> None:
        """Keep `nominated` (upstream's nominator) up to date with a pending pod, or one gone or bound."""
        node = get_path(pod, "status", "nominatedNodeName") if pod is not None and _pending(pod) else None
        if node:
            self.nominated[key] = node
        else:
            self.nominated.pop(key, None)

    def _pod_event(self, event: Any) -> None:
        old, new, key = event.old, event.new, event.key
        self._note_nomination(key, new)
        if new is not None and _pending(new):
            if old is None or key not in self.unschedulable or old.get("spec") != new.get("spec") \
                    or get_path(old, "metadata", "labels") != get_path(new, "metadata", "labels"):
                self.unschedulable.pop(key, None)
                self.active.add(key)
            return
        self.active.discard(key)
        self.unschedulable.pop(key, None)
        was, now = _holds_resources(old), _holds_resources(new)
        if was and not now:  # an assigned pod went away: resources and ports are free
            self._retry(lambda plugins: True)
        elif now and (not was or get_path(old, "metadata", "labels") != get_path(new, "metadata", "labels")):
            self._retry(lambda plugins: not plugins <= NODE_ONLY_FILTERS)

    def _retry(self, helps: Any) -> None:
        for key in [k for k, plugins in self.unschedulable.items() if helps(plugins)]:
            del self.unschedulable[key]
            self.active.add(key)

    # -------------------------------------------------------------- cycle
    def cycle(self) -> list[tuple]:
        """Attempt every queued pod once, in queue order; the writes made (for fight detection)."""
        if not self.pending():
            return []
        head = self.api.store.head
        queue = sorted((p for p in (head.get(k) for k in self.active) if p is not None and _pending(p)),
                       key=_queue_order)
        self.active.clear()
        done: list[tuple] = []
        # Binds are group-committed BIND_CHUNK at a time: watchers see a large scale-up land
        # progressively, and API writers waiting for the lock get in between two chunks.
        for start in range(0, len(queue), BIND_CHUNK):
            let_in = getattr(self.engine, "between_rounds", None)
            if start and let_in is not None:
                let_in()
            with self.api.store.batch():
                for pod in queue[start:start + BIND_CHUNK]:
                    current = self.api.store.head.get(_key(pod))
                    if current is not None and _pending(current):
                        done.extend(self.schedule_one(current))
        return done

    def schedule_one(self, pod: Mapping) -> list[tuple]:
        snap = self.api.store.head
        attempt = self.attempt(pod, snap)
        self.attempts.pop(attempt.pod, None)  # newest last: the oldest go first past the limit
        self.attempts[attempt.pod] = attempt
        if len(self.attempts) > ATTEMPTS_KEPT:
            del self.attempts[next(iter(self.attempts))]
        if attempt.chosen is None:
            self.unschedulable[attempt.pod] = frozenset(p for p, _ in attempt.rejected.values())
            outcome = preempt(self, pod, attempt, snap) if attempt.num_nodes else None
            if outcome is not None and outcome.message:
                attempt = attrs.evolve(attempt, message=f"{attempt.message} {outcome.message}.")  # (FitError's " %v.")
                self.attempts[attempt.pod] = attempt
            if outcome is not None and outcome.candidate is not None:
                if not self._preempt_victims(pod, outcome.candidate, attempt):
                    return []
                return self._report_unschedulable(pod, attempt, outcome.candidate.node)
            return self._report_unschedulable(pod, attempt, outcome.nominate if outcome is not None else None)
        return self._bind(pod, attempt)

    def filters_reject(self, pod: Mapping, snap: Any, node: Mapping, nominated: dict | None = None) -> tuple | None:
        """The first (plugin, reasons) of the filters that reject `node` for `pod` on `snap` (any
        snapshot: preemption's have victims taken away), None when every filter lets it through.
        With `nominated` (`nominated_for`), the pods nominated to the node are first taken as bound
        there (`_reject_with_nominated`)."""
        if nominated and (found := nominated.get(node["metadata"]["name"])):
            why = self._reject_with_nominated(pod, snap, node, found)
            if why is not None:
                return why
        ctx = _AttemptContext(self.engine, snap, self.engine.clock.now())
        for decl in self.filters:
            ctx.running(decl, pod)
            why = self._run_filter(decl, ctx, pod, node)
            if why is not None:
                return why
        return None

    def nominated_for(self, pod: Mapping, snap: Any) -> dict[str, list]:
        """The pods `pod` must leave room for, by the node they are nominated to (upstream's
        addGENominatedPods): pending on `snap`, still nominated there, of at least `pod`'s priority,
        `pod` itself excepted.  Empty (the common case) while no preemption nominated a pod."""
        if not self.nominated:
            return {}
        mine, own = priority(pod), _key(pod)
        found: dict[str, list] = {}
        for key in sorted(self.nominated):
            other = snap.get(key) if key != own else None
            node = self.nominated[key]
            if other is not None and _pending(other) and priority(other) >= mine \
                    and get_path(other, "status", "nominatedNodeName") == node:
                found.setdefault(node, []).append(other)
        return found

    def _reject_with_nominated(self, pod: Mapping, snap: Any, node: Mapping, others: list) -> tuple | None:
        """RunFilterPluginsWithNominatedPods' first pass: the filters on a snapshot derived from `snap`
        with `others` bound to `node` (the second pass, without them, is the ordinary one), so that a
        pod of lower priority does not take the room a preemption made for a higher one."""
        name = node["metadata"]["name"]
        put = []
        for other in others:
            key, bound = key_of(other), set_path(other, ("spec", "nodeName"), name)
            put.append((key, bound, object_hash(key, content_of(bound))))
        return self.filters_reject(pod, derived(snap, put=put), node)

    def preemption_offset(self, pod: Mapping, n: int) -> int:
        """Where preemption starts among its `n` potential nodes (upstream: at random; here from
        the pod's identity, so the same inputs give the same history)."""
        return _tie_break(self.engine.seed, pod, n)

    def attempt(self, pod: Mapping, snap: Any) -> Attempt:
        """Filter, score and choose, on one snapshot; writes nothing."""
        live = snap is self.api.store.head and getattr(self.api.store, "listeners", None) is not None
        keys, all_names, all_nodes = self._nodes_of(snap, live)
        key = _key(pod)
        if not all_names:
            return Attempt(key, snap.revision, 0, {}, (), (), None, "no nodes available to schedule pods")
        results = self.results.at(snap) if live else None
        if results is not None:
            results.arrange(keys)
        ctx = _AttemptContext(self.engine, snap, self.engine.clock.now(),
                              self.cache.at(snap) if live else None, results)
        n = len(all_names)
        want = nodes_to_find(n, self.percentage)
        others = self.nominated_for(pod, snap)
        nominated = get_path(pod, "status", "nominatedNodeName")
        if nominated and (key_at := bisect.bisect_left(all_names, nominated)) < n and all_names[key_at] == nominated:
            # the node an earlier preemption made room on is tried first: if it fits, it is chosen
            # without looking at the others (evaluateNominatedNode)
            if self.filters_reject(pod, snap, all_nodes[key_at], others) is None:
                return Attempt(key, snap.revision, n, {}, (nominated,), (), nominated, "")
        rejected: dict[str, tuple] = {}
        feasible: list[Any] = []
        feasible_names: list[str] = []
        places: list[int] = []  # of the feasible nodes
        plan = self._filter_plan(ctx, pod, all_nodes[self.next_start % n])
        start, examined = self.next_start, 0
        # the nodes in order from `start` (round robin: after the last, the first), a chunk at a
        # time, until `want` are feasible; within a chunk each filter runs over the nodes the
        # filters before it let through
        while examined < n and len(feasible) < want:
            first = (start + examined) % n
            size = min(want - len(feasible), n - examined, n - first)
            names, nodes = all_names[first:first + size], all_nodes[first:first + size]
            span: Any = slice(first, first + size)
            examined += size
            for decl, constant in plan:
                if not names:
                    break
                if constant is not None:  # rejects every node: the filters after it do not matter
                    rejected.update(dict.fromkeys(names, constant))
                    names, nodes, span = [], [], []
                    break
                whys = ctx.answers(decl, pod, names, nodes, span, self._run_filter)
                if whys.count(None) != len(whys):
                    passed_names, passed, at, span = [], [], _places(span), []
                    for name, node, i, why in zip(names, nodes, at, whys):
                        if why is None:
                            passed_names.append(name)
                            passed.append(node)
                            span.append(i)
                        else:
                            rejected[name] = why
                    names, nodes = passed_names, passed
            if others:  # a node holding room for pods nominated to it must fit them as well
                names, nodes, span = self._leave_room(pod, snap, others, names, nodes, _places(span), rejected)
            feasible_names += names
            feasible += nodes
            places += _places(span)
        self.next_start = (start + examined) % n
        names = tuple(feasible_names)
        if not feasible:
            return Attempt(key, snap.revision, n, rejected, (), (), None, fit_error_message(n, rejected))
        if len(feasible) == 1:  # upstream skips scoring when only one node fits
            return Attempt(key, snap.revision, n, rejected, names, (), names[0], "")
        whole = places[-1] - places[0] + 1 == len(places)  # in order, and nothing left out between
        table, varying = self._score(ctx, pod, feasible, names, slice(places[0], places[-1] + 1) if whole else places)
        totals = [0] * len(names)  # a score that is the same on every node changes no choice
        for weight, values in varying:
            totals = list(map(operator.add, totals, map(operator.mul, values, itertools.repeat(weight))))
        best = max(totals)
        # the nodes of the best total in name order: `names` runs in name order from `start`, round
        # to the first node and on, so `ties` is sorted once turned to start at its least name
        ties = list(itertools.compress(names, map(operator.eq, totals, itertools.repeat(best))))
        turn = ties.index(min(ties))
        chosen = ties[(turn + _tie_break(self.engine.seed, pod, len(ties))) % len(ties)]
        return Attempt(key, snap.revision, n, rejected, names, table, chosen, "")

    def _leave_room(self, pod: Mapping, snap: Any, others: dict, names: list, nodes: list, at: list,
                    rejected: dict) -> tuple[list, list, list]:
        """Of the nodes the filters let through, those that also fit `pod` with the pods nominated
        to them bound there; the others go to `rejected`, with the reason that pass gave."""
        kept: tuple[list, list, list] = ([], [], [])
        for name, node, i in zip(names, nodes, at):
            why = self._reject_with_nominated(pod, snap, node, others[name]) if name in others else None
            if why is None:
                kept[0].append(name)
                kept[1].append(node)
                kept[2].append(i)
            else:
                rejected[name] = why
        return kept

    def _filter_plan(self, ctx: EvalContext, pod: Mapping, sample: Mapping) -> list[tuple]:
        """The filters to run per node for this pod: (decl, None), or (decl, reasons) when it answers
        the same for every node.

        A filter that, for this pod, gives its answer without reading the node
        (probed on one node) gives it for every node: one that lets all nodes
        through is left out, one that rejects all is not run again, and no
        filter after it can matter (upstream's PreFilter returning Skip, or
        an UnschedulableAndUnresolvable PreFilter status).
        """
        plan: list[tuple] = []
        for decl in self.filters:
            constant, reason = _probe(decl, ctx, pod, sample)
            why = _rejection(decl, reason) if constant else None
            if not constant:
                plan.append((decl, None))
            elif why is not None:
                plan.append((decl, why))
                break
        return plan

    @staticmethod
    def _run_filter(decl: Any, ctx: EvalContext, pod: Mapping, node: Mapping) -> tuple | None:
        """(plugin, reasons) when `decl` rejects the node, else None."""
        try:
            reason = decl.fn(ctx, pod, node)
        except Exception as exc:  # a broken filter rejects, and says so
            reason = f"filter {decl.qualname} failed ({decl.path}:{decl.line}): {_describe(exc)}"
        return _rejection(decl, reason)

    def _score(self, ctx: Any, pod: Mapping, feasible: list, names: tuple, span: Any) -> tuple[tuple, list]:
        """The table of scores (see Attempt.table), and (weight, normalized values in the order of
        `names`) of each weighed score that is not the same on every node."""
        table = []
        varying = []
        for decl in self.scores:
            constant, value = _probe(decl, ctx, pod, feasible[0])
            reader = getattr(ctx, "reader", None) if decl.defers else None
            read = reader(decl, pod, feasible, self._run_score) if reader is not None else None
            if constant and read is not None:
                value = settled(value, read, 0)
            if constant:  # the score did not read the node: the same raw value everywhere
                if decl.normalize == "spread" and value is None:  # no constraint: every node ignored
                    table.append((decl.name, decl.weight, Same(value), Same(0)))
                    continue
                if decl.normalize != "spread":  # (spread weighs terms by the number of nodes)
                    one = normalize_values(decl.normalize, [value])[0]
                    table.append((decl.name, decl.weight, Same(value), Same(one)))
                    continue
                raws = [value] * len(names)
            else:
                raws = ctx.answers(decl, pod, names, feasible, span, self._run_score)
                if read is not None and decl.normalize != "spread":  # (spread reads the parts it uses)
                    raws = [settled(v, read, i) for i, v in enumerate(raws)]
            if decl.normalize == "spread":  # explain upstream's per-node score, not the terms
                raws = spread_values(raws, None if constant else read, kept=True)
                values = spread_normalize_values(raws)
            else:
                values = normalize_values(decl.normalize, raws)
            table.append((decl.name, decl.weight, raws, values))
            if decl.weight and values.count(values[0]) != len(values):  # (all the same: no choice made)
                varying.append((decl.weight, values))
        return tuple(table), varying

    @staticmethod
    def _run_score(decl: Any, ctx: EvalContext, pod: Mapping, node: Mapping) -> Any:
        try:
            return decl.fn(ctx, pod, node)
        except Exception:  # a broken score counts 0 for that node
            return None

    def _nodes_of(self, snap: Any, live: bool) -> tuple[list[Key], list[str], list[Mapping]]:
        """The nodes' keys, sorted, their names and the node objects in that order (for the
        store's head, kept until a node changes)."""
        keys = self._node_list(snap)
        if live and self._node_objects is not None and self._node_objects[0] is keys:
            return self._node_objects
        objects = snap.objects
        found = (keys, [k[3] for k in keys], [objects[k] for k in keys])
        if live:
            self._node_objects = found
        return found

    def _node_list(self, snap: Any) -> list:
        """The node keys, sorted by name (cached while the set of nodes is the same)."""
        index = snap.indexes["kind"].get(NODE)
        if self._nodes[0] is not index or index is None:
            self._nodes = (index, snap.keys(*NODE))
        return self._nodes[1]

    # ------------------------------------------------------------- writes
    def _bind(self, pod: Mapping, attempt: Attempt) -> list[tuple]:
        ns, name = attempt.pod[2], attempt.pod[3]
        binding = {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": name, "namespace": ns},
                   "target": {"apiVersion": "v1", "kind": "Node", "name": attempt.chosen}}
        message = f"Successfully assigned {ns}/{name} to {attempt.chosen}"
        requests = [Request("create", "", "Binding", ns, name, binding),
                    self._event(pod, "Normal", "Scheduled", message, "Binding")]
        if not self._submit(requests, attempt):
            return []
        self.scheduled += 1
        return [(SCHEDULER_NAME, "bind", attempt.pod, attempt.chosen)]

    def _report_unschedulable(self, pod: Mapping, attempt: Attempt, nominate: str | None = None) -> list[tuple]:
        """The PodScheduled condition and FailedScheduling event of a failed attempt; `nominate`
        sets status.nominatedNodeName ("" clears it, None leaves it)."""
        current = next((c for c in get_path(pod, "status", "conditions") or () if c.get("type") == "PodScheduled"),
                       None)
        renominated = nominate is not None and nominate != (get_path(pod, "status", "nominatedNodeName") or "")
        said = current is not None and current.get("status") == "False" and current.get("message") == attempt.message
        if said and current.get("reason") == "Unschedulable" and not renominated:
            return []
        now = format_time(self.engine.clock.now())
        condition = {"type": "PodScheduled", "status": "False", "lastProbeTime": None,
                     "lastTransitionTime": (current.get("lastTransitionTime") if current is not None
                                            and current.get("status") == "False" else now),
                     "reason": "Unschedulable", "message": attempt.message}
        others = [c for c in get_path(pod, "status", "conditions") or () if c.get("type") != "PodScheduled"]
        body = R.plain(pod)
        status = body.setdefault("status", {})
        status["conditions"] = [*others, condition]
        if renominated:
            if nominate:
                status["nominatedNodeName"] = nominate
            else:
                status.pop("nominatedNodeName", None)
        ns, name = attempt.pod[2], attempt.pod[3]
        requests = [Request("update", "", "Pod", ns, name, body=body, subresource="status")]
        if not said:  # (a new nomination alone records no second FailedScheduling)
            requests.append(self._event(pod, "Warning", "FailedScheduling", attempt.message, "Scheduling"))
        if not self._submit(requests, attempt):
            return []
        return [(SCHEDULER_NAME, attempt.pod, ("status", "conditions"), attempt.message)]

    def _preempt_victims(self, pod: Mapping, candidate: Any, attempt: Attempt) -> bool:
        """prepareCandidate: each victim not yet being deleted gets the DisruptionTarget condition,
        is deleted and gets a Preempted event; lower-priority pods nominated to the node lose their
        nomination.  One transaction; False when it did not land."""
        now = format_time(self.engine.clock.now())
        scheduler_name = get_path(pod, "spec", "schedulerName") or SCHEDULER_NAME
        condition = {"type": "DisruptionTarget", "status": "True", "lastProbeTime": None, "lastTransitionTime": now,
                     "reason": "PreemptionByScheduler",
                     "message": f"{scheduler_name}: preempting to accommodate a higher priority pod"}
        uid = get_path(pod, "metadata", "uid")
        requests: list = []
        for victim in candidate.victims:
            if get_path(victim, "metadata", "deletionTimestamp"):
                continue
            ns, name = victim["metadata"]["namespace"], victim["metadata"]["name"]
            conditions = list(get_path(victim, "status", "conditions") or ())
            if not any(c.get("type") == "DisruptionTarget" and c.get("status") == "True"
                       and c.get("reason") == "PreemptionByScheduler" for c in conditions):
                body = R.plain(victim)
                body.setdefault("status", {})["conditions"] = [
                    *(R.plain(c) for c in conditions if c.get("type") != "DisruptionTarget"), condition]
                requests.append(Request("update", "", "Pod", ns, name, body=body, subresource="status"))
            requests.append(Request("delete", "", "Pod", ns, name))
            requests.append(self._event(victim, "Normal", "Preempted",
                                        f"Preempted by pod {uid} on node {candidate.node}", "Preempting",
                                        related=pod))
        mine = priority(pod)
        head = self.api.store.head
        for key in sorted(k for k, node in self.nominated.items() if node == candidate.node and k != attempt.pod):
            other = head.get(key)
            if other is not None and priority(other) < mine:
                body = R.plain(other)
                body["status"].pop("nominatedNodeName", None)
                requests.append(Request("update", "", "Pod", key[2], key[3], body=body, subresource="status"))
        return not requests or self._submit(requests, attempt)

    def _event(self, pod: Mapping, type_: str, reason: str, message: str, action: str,
               related: Mapping | None = None) -> Request:
        meta = pod["metadata"]
        now = self.engine.clock.now()
        head = self.api.store.head
        stamp = int(round(now * 1e9))
        while head.get(("", "Event", meta["namespace"], f"{meta['name']}.{stamp:x}")) is not None:
            stamp += 1
        name = f"{meta['name']}.{stamp:x}"
        event = {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": name, "namespace": meta["namespace"]},
            "involvedObject": {"apiVersion": "v1", "kind": "Pod", "namespace": meta["namespace"],
                               "name": meta["name"], "uid": meta.get("uid")},
            "type": type_, "reason": reason, "message": message, "action": action,
            # as upstream's scheduler records through events.k8s.io: an eventTime (MicroTime, here to the
            # second like the other events' times); the core fields unset (null and {} as Go writes them)
            "eventTime": format_time(now).replace("Z", ".000000Z"),
            "firstTimestamp": None, "lastTimestamp": None, "source": {},
            "reportingComponent": SCHEDULER_NAME, "reportingInstance": SCHEDULER_INSTANCE,
        }
        if related is not None:
            rmeta = related["metadata"]
            event["related"] = {"apiVersion": "v1", "kind": "Pod", "namespace": rmeta.get("namespace"),
                                "name": rmeta["name"], "uid": rmeta.get("uid")}
        return Request("create", "", "Event", meta["namespace"], name, body=event)

    def _submit(self, requests: list, attempt: Attempt) -> bool:
        cause = ({"scheduler": SCHEDULER_NAME, "pod": list(attempt.pod), "rev": attempt.revision},)
        try:
            self.api.submit(self.actor, requests, cause=cause)
        except APIError as exc:
            if exc.code == 409:  # the pod changed or went away meanwhile: try again next round
                self.active.add(attempt.pod)
                self.unschedulable.pop(attempt.pod, None)
                return False
            raise
        return True


# ----------------------------------------------------------------- helpers


def _key(pod: Mapping) -> Key:
    meta = pod["metadata"]
    return ("", "Pod", meta.get("namespace", ""), meta["name"])


def _pending(pod: Mapping) -> bool:
    """Is this pod the scheduler's to place?  (Not while it has scheduling gates: upstream's
    SchedulingGates PreEnqueue keeps it out of the active queue, with no attempt and no event.)"""
    spec = pod.get("spec") or {}
    if spec.get("nodeName") or (spec.get("schedulerName") or SCHEDULER_NAME) != SCHEDULER_NAME:
        return False
    if spec.get("schedulingGates"):
        return False
    if get_path(pod, "metadata", "deletionTimestamp"):
        return False
    return get_path(pod, "status", "phase") not in ("Succeeded", "Failed")


def _holds_resources(pod: Mapping | None) -> bool:
    """An assigned pod that counts on its node (the scheduler cache's view)."""
    return (pod is not None and bool(get_path(pod, "spec", "nodeName"))
            and get_path(pod, "status", "phase") not in ("Succeeded", "Failed"))


def _node_changed(old: Mapping | None, new: Mapping) -> bool:
    if old is None:
        return True
    return (old.get("spec") != new.get("spec")
            or get_path(old, "metadata", "labels") != get_path(new, "metadata", "labels")
            or get_path(old, "status", "allocatable") != get_path(new, "status", "allocatable")
            or get_path(old, "status", "images") != get_path(new, "status", "images"))


def _queue_order(pod: Mapping) -> tuple:
    """PrioritySort: higher priority first, then earlier creation, then name."""
    meta = pod["metadata"]
    created = meta.get("creationTimestamp")
    return (-priority(pod), parse_time(created) if created else 0.0,
            meta.get("namespace", ""), meta["name"])


def _tie_break(seed: str, pod: Mapping, n: int) -> int:
    material = f"{seed}|{get_path(pod, 'metadata', 'uid')}|{get_path(pod, 'metadata', 'name')}"
    return int.from_bytes(hashlib.blake2b(material.encode(), digest_size=8).digest(), "little") % n


class _NodeProbe(Mapping):
    """A node that notes whether anything read it: every read goes through these methods."""

    __slots__ = ("_node", "read")

    def __init__(self, node: Mapping):
        self._node = node
        self.read = False

    def __getitem__(self, key: Any) -> Any:
        self.read = True
        return self._node[key]

    def get(self, key: Any, default: Any = None) -> Any:
        self.read = True
        return self._node.get(key, default)

    def __contains__(self, key: object) -> bool:
        self.read = True
        return key in self._node

    def __iter__(self) -> Any:
        self.read = True
        return iter(self._node)

    def __len__(self) -> int:
        self.read = True
        return len(self._node)

    def __eq__(self, other: object) -> bool:
        self.read = True
        return self._node == (other._node if isinstance(other, _NodeProbe) else other)

    def __hash__(self) -> int:
        self.read = True
        return hash(self._node)

    def __repr__(self) -> str:
        self.read = True
        return repr(self._node)

    def __getattr__(self, name: str) -> Any:  # any other use of the node (pyrsistent methods)
        self.read = True
        return getattr(self._node, name)


def _unwrap(items: tuple) -> tuple:
    """Captured values with a watched node replaced by the node, which counts as reading it."""
    result = []
    for item in items:
        if type(item) is _NodeProbe:
            item.read = True
            item = item._node
        result.append(item)
    return tuple(result)


def _probe(decl: Any, ctx: Any, pod: Mapping, sample: Mapping) -> tuple[bool, Any]:
    """Run a filter or score on `sample` watched: (True, its answer) when it never read the node.

    Within one attempt a plugin's answer depends only on the pod, the snapshot
    and the node, so one given without reading the node is its answer for
    every node.  (False, None) when it read the node or failed (a failure is
    reported by the per-node runs).

    Until the node is first read, a run does the same on every node, so
    whether it reads one, and the answer when it does not, are kept like a
    node's answer (`NodeResults.probe`).
    """
    probing = getattr(ctx, "probing", None)
    sig = None
    if probing is not None:
        sig = ctx.running(decl, pod)
        if sig is not None:
            found = ctx.results.probe(decl, sig, ctx.once_memo)
            if found is not None:
                return found
        ctx.probing = True
        outer, ctx.deps = ctx.deps, set()  # this run's own reads
    watched = _NodeProbe(sample)
    try:
        answer = decl.fn(ctx, pod, watched)
    except Exception:
        return False, None
    finally:
        if probing is not None:
            ctx.probing = probing
            deps, ctx.deps = ctx.deps, outer
            outer.update(deps)
    found = (False, None) if watched.read else (True, answer)
    if sig is not None:
        ctx.results.put((decl, sig, _PROBE), found, deps)
    return found


def _rejection(decl: Any, reason: Any) -> tuple | None:
    """A filter's answer as (plugin, reasons), or None when it lets the node through."""
    if reason is None:
        return None
    reasons = (reason,) if isinstance(reason, str) else tuple(str(r) for r in reason)
    return (decl.name, reasons) if reasons else None


def _describe(exc: Exception) -> str:
    return str(exc) if isinstance(exc, R.RuleRuntimeError) else f"{type(exc).__name__}: {exc}"


# ------------------------------------------------------------ explanation


def explain_scheduling(engine: Any, namespace: str, name: str) -> str:
    """Why pod NAME is Pending, or why it landed where it did: its last scheduling attempt."""
    key = ("", "Pod", namespace, name)
    pod = engine.api.store.head.get(key)
    scheduler = getattr(engine, "scheduler", None)
    attempt = scheduler.attempts.get(key) if scheduler is not None else None
    if attempt is None:
        return "\n".join([f"pod {namespace}/{name}", *_from_status(pod)])
    return format_attempt(namespace, name, attempt)


def explain_from_snapshot(snapshot: Any, rules: Any, namespace: str, name: str, *,
                          seed: str = "recon", percentage_of_nodes_to_score: int | None = None) -> str:
    """The scheduling explanation of a pending pod, recomputed from a stored snapshot without an engine.

    Runs the filters and scores of `rules` (a RuleSet, e.g. `load_rules(folder)`)
    for the pod on `snapshot` exactly as an attempt at that revision would,
    and formats it like `explain_scheduling`.  The attempt starts at the first
    node by name (a live scheduler's round-robin start is not stored), which
    matters only with 100 nodes or more.  A bound pod is explained from its
    status (its placement attempt is not recomputed: the pod counts on its node
    now).
    """
    pod = snapshot.get(("", "Pod", namespace, name))
    if pod is None or not _pending(pod):
        return "\n".join([f"pod {namespace}/{name}", *_from_status(pod)])
    scheduler = Scheduler(_SnapshotEngine(snapshot, seed), percentage_of_nodes_to_score=percentage_of_nodes_to_score)
    scheduler.set_rules(rules)
    if not scheduler.enabled:
        return "\n".join([f"pod {namespace}/{name}", "no filters or scores in the rules: nothing to explain"])
    attempt = scheduler.attempt(pod, snapshot)
    return format_attempt(namespace, name, attempt, recomputed=True)


class _SnapshotEngine:
    """What `Scheduler.attempt` needs of an engine, answered from one snapshot."""

    def __init__(self, snapshot: Any, seed: str):
        from .kinds import Registry
        self.seed = seed
        self.registry = Registry.for_snapshot(snapshot)
        self.api = _SnapshotAPI(snapshot, self.registry)
        self.clock = _FixedClock(snapshot.time)

    def resolve(self, kind_ref: Any) -> tuple[str, str] | None:
        if kind_ref.group is not None:
            return (kind_ref.group, kind_ref.kind)
        rt = self.registry.find_kind(kind_ref.kind, self.api.store.head)
        return None if rt is None else (rt.group, rt.kind)


class _SnapshotAPI:
    def __init__(self, snapshot: Any, registry: Any):
        self.registry = registry
        self.store = _SnapshotStore(snapshot)


@attrs.frozen
class _SnapshotStore:
    head: Any


@attrs.frozen
class _FixedClock:
    time: float

    def now(self) -> float:
        return self.time


def format_attempt(namespace: str, name: str, attempt: Attempt, recomputed: bool = False) -> str:
    """An attempt as `recon explain` shows it: rejections per node, scores per feasible node, the choice."""
    lines = [f"pod {namespace}/{name}"]
    what = "scheduling attempt recomputed from the snapshot" if recomputed else "last scheduling attempt"
    lines.append(f"{what} at revision {attempt.revision}: "
                 f"{attempt.num_nodes} node(s), {len(attempt.feasible)} feasible")
    if attempt.chosen is not None:
        lines.append(f"{'would be scheduled' if recomputed else 'scheduled'} to {attempt.chosen}")
    else:
        lines.append(f"unschedulable: {attempt.message}")
    if attempt.rejected:
        lines.append("filtered out:")
        for node in sorted(attempt.rejected):
            plugin, reasons = attempt.rejected[node]
            lines.append(f"  {node}: {plugin}: {'; '.join(reasons)}")
    if attempt.scores:
        lines.append("scores (raw → normalized × weight = weighted):")
        ranked = sorted(attempt.scores, key=lambda n: (-attempt.total(n), n))
        for node in ranked:
            mark = "  <- chosen" if node == attempt.chosen else ""
            lines.append(f"  {node}: total {attempt.total(node)}{mark}")
            for line in attempt.scores[node]:
                lines.append(f"    {line.plugin}: {_raw(line.raw)} → {line.normalized} × {line.weight} "
                             f"= {line.weighted}")
    elif attempt.chosen is not None:
        lines.append(f"only {attempt.chosen} passed the filters: not scored")
    return "\n".join(lines)


def _raw(value: Any) -> str:
    if isinstance(value, float) and value == int(value):
        return str(int(value))
    return "-" if value is None else str(value)


def _from_status(pod: Mapping | None) -> list[str]:
    if pod is None:
        return ["not found"]
    node = get_path(pod, "spec", "nodeName")
    cond = next((c for c in get_path(pod, "status", "conditions") or () if c.get("type") == "PodScheduled"), None)
    if node:
        return [f"scheduled to {node} (no attempt recorded in this process)"]
    if cond is not None and cond.get("status") == "False":
        return [f"unschedulable: {cond.get('message')} (the details of the attempt are not recorded)"]
    return ["not scheduled yet"]
