"""One scheduling attempt: its record and the context its plugins run in.

`Attempt` is what the attempt saw and decided (the source of `explain`).
`_AttemptContext` is the EvalContext its filters and scores run in: it
remembers queries, once-per-attempt values and the nodes' answers for the
rest of the attempt and, through the caches of scheduler_cache, across
attempts.  `_NodeProbe` is the watched node that tells whether a plugin read
the node at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import attrs

from .dsl import runtime as R
from .evalctx import EvalContext, captured, query_key
from .objects import Key, lookup
from .scheduler_cache import _USE, NodeResults, QueryCache, _MemoDep, _same_value
from .scheduler_scores import _UNSET

NODE = ("", "Node")


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
