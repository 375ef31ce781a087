"""The arithmetic of a scheduling attempt, apart from the rules it runs.

How many feasible nodes an attempt looks for (percentageOfNodesToScore);
the scores' normalisation (upstream's NormalizeScore); PodTopologySpread's
per-node score, with the `later` parts of its answers read once per
attempt; the FitError message of a pod no node accepts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from .dsl import runtime as R
from .objects import ByIdentity

_PMAP, _PVECTOR = R._PMap, R._PVector

MIN_FEASIBLE_NODES_TO_FIND = 100
MIN_FEASIBLE_NODES_PERCENTAGE = 5
MAX_NODE_SCORE = 100
_UNSET = object()  # no value (yet); the scheduler's modules share it and test it with `is`


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


def prefilter_error_message(num_nodes: int, reasons: tuple) -> str:
    """FitError.Error() when PreFilter rejected the pod: `0/N nodes are available: <reasons>.`

    The reasons hold for every node, so they are said once, uncounted (upstream
    leaves the per-node statuses out of the message then)."""
    return f"0/{num_nodes} nodes are available: {', '.join(reasons)}."


def fit_error_message(num_nodes: int, rejected: Mapping[str, tuple]) -> str:
    """FitError.Error(): `0/N nodes are available: <count reason>, ... .` sorted as strings."""
    histogram: dict[str, int] = {}
    for _plugin, reasons in rejected.values():
        for reason in reasons:
            histogram[reason] = histogram.get(reason, 0) + 1
    parts = sorted(f"{count} {reason}" for reason, count in histogram.items())
    return f"0/{num_nodes} nodes are available: {', '.join(parts)}."
