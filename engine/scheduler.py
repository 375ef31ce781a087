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

The rest of the scheduler lives beside this module: the score arithmetic
in scheduler_scores, an attempt's record and the context its plugins run in
in scheduler_attempt, the answers kept across attempts in scheduler_cache,
and the explanations in scheduler_explain.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import operator
from collections.abc import Mapping
from typing import Any

import attrs

from .access import Actor, Permissions
from .apierrors import APIError
from .dsl import runtime as R
from .evalctx import EvalContext
from .objects import Key, get_path, key_of, set_path
from .preemption import preempt, priority
from .request import Request
from .scheduler_attempt import NODE, Attempt, Same, _AttemptContext, _NodeProbe
from .scheduler_cache import _PROBE, NodeResults, QueryCache, touched_by
from .scheduler_scores import (
    fit_error_message, nodes_to_find, prefilter_error_message, normalize_values, settled, spread_normalize_values, spread_values,
)
from .store import content_of, derived, object_hash
from .timeutil import format_time, parse_time
from .volume_binder import volume_requests

SCHEDULER_NAME = "default-scheduler"
# its events' reportingInstance: upstream's is the scheduler's name and its host's ("default-scheduler-HOST")
SCHEDULER_INSTANCE = SCHEDULER_NAME + "-recon"
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
        # (pods: preemption deletes victims; volumes and claims: VolumeBinding's PreBind, volume_binder)
        self.actor = Actor(SCHEDULER_NAME, "component", Permissions(
            reads={("*", "*")}, writes={("", "Binding"), ("", "Event"), ("events.k8s.io", "Event"), POD,
                                        ("", "PersistentVolume"), ("", "PersistentVolumeClaim")},
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
        if plan and plan[-1][1] is not None:
            # a rejection that does not depend on the node is PreFilter's: it holds for every node,
            # no filter runs on any, and FitError says it once, uncounted
            why = plan[-1][1]
            return Attempt(key, snap.revision, n, dict.fromkeys(all_names, why), (), (), None,
                           prefilter_error_message(n, why[1]))
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
            for decl, _constant in plan:  # (none rejects every node: that returned above)
                if not names:
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
        through is left out (upstream's PreFilter returning Skip), one that
        rejects all ends the plan, and the attempt takes its rejection as
        PreFilter's (a rejecting PreFilter status: no filter runs on any node).
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
        # the volumes its waiting claims take there, in the same transaction (VolumeBinding's PreBind)
        requests = [*volume_requests(self.api.store.head, pod, attempt.chosen),
                    Request("create", "", "Binding", ns, name, binding),
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


def _places(span: Any) -> Any:
    """The places in the nodes' order a span of an attempt stands for (a slice or a list)."""
    return range(span.start, span.stop) if type(span) is slice else span


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
