"""The scheduler's preemption (kube-scheduler's DefaultPreemption PostFilter plugin).

When no node fits a pod, the scheduler asks whether deleting pods of lower
priority would make one fit:

1. the pod may preempt: its `preemptionPolicy` is not `Never`, and the node it
   is already nominated to has no lower-priority pod still terminating for
   an earlier preemption (PodEligibleToPreemptOthers);
2. the candidates are the nodes a filter rejected for a reason that removing
   pods can change (`Unschedulable`, not `UnschedulableAndUnresolvable`: node
   name, affinity, taints, unschedulable nodes and a missing topology label
   stay as they are).  On each, from an offset and until enough are found
   (max(10 % of them, 100)), the lower-priority pods are taken away
   (SelectVictimsOnNode; the pods nominated to the node with at least the
   pod's priority count as bound there): if the pod still does not fit, the node is no
   candidate; else the victims are given back one at a time, the most
   important first (higher priority, then the earlier started), those whose
   PodDisruptionBudget would be broken first, and a pod stays a victim only
   if the pod no longer fits with it back;
3. the node chosen has the fewest budget violations, then the lowest highest
   victim priority, the smallest sum of priorities, the fewest victims, the
   latest start among its highest-priority victims, then comes first;
4. each victim gets the `DisruptionTarget` condition (PreemptionByScheduler)
   and is deleted, with a `Preempted` event; lower-priority pods nominated to
   that node lose their nomination; the pod gets `status.nominatedNodeName`.
   Its next attempt tries the nominated node first.

The filters run on snapshots derived from the attempt's one (the victims
removed, some given back), never written: nothing lands but step 4.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from .objects import get_path, key_of
from .selectors import from_label_selector
from .store import derived
from .timeutil import parse_time

MIN_CANDIDATE_NODES_PERCENTAGE = 10
MIN_CANDIDATE_NODES_ABSOLUTE = 100

# Filters whose rejection no preemption can change (UnschedulableAndUnresolvable upstream),
# and the reasons that are so from filters that can also answer Unschedulable.
UNRESOLVABLE_PLUGINS = frozenset({"NodeUnschedulable", "NodeName", "TaintToleration", "NodeAffinity", "VolumeBinding"})
UNRESOLVABLE_REASONS = frozenset({
    "node(s) didn't match pod affinity rules",
    "node(s) didn't match pod topology spread constraints (missing required label)",
})
NO_VICTIMS = "No preemption victims found for incoming pod"
NOT_HELPFUL = "Preemption is not helpful for scheduling"
PDB = ("policy", "PodDisruptionBudget")


@attrs.frozen
class Candidate:
    node: str
    victims: tuple  # the victim pods, the most important first
    violations: int  # of them, those whose PodDisruptionBudget does not allow their disruption


@attrs.frozen
class Outcome:
    """What preemption made of an unschedulable pod: the message it adds to the scheduling failure
    (empty when it nominated a node), the node nominated ("" clears a nomination, None keeps
    it) and the chosen candidate, if any."""

    message: str
    nominate: str | None
    candidate: Candidate | None = None


def priority(pod: Mapping) -> int:
    return get_path(pod, "spec", "priority") or 0


def _start(pod: Mapping) -> float:
    started = get_path(pod, "status", "startTime")
    return parse_time(started) if started else float("inf")  # (not started: as if now, the latest)


def importance(pod: Mapping) -> tuple:
    """MoreImportantPod as a sort key: higher priority first, then the earlier started."""
    return (-priority(pod), _start(pod), get_path(pod, "metadata", "namespace") or "", pod["metadata"]["name"])


def terminating_by_preemption(pod: Mapping) -> bool:
    if not get_path(pod, "metadata", "deletionTimestamp"):
        return False
    return any(c.get("type") == "DisruptionTarget" and c.get("reason") == "PreemptionByScheduler"
               for c in get_path(pod, "status", "conditions") or ())


def resolvable(rejection: tuple) -> bool:
    plugin, reasons = rejection
    return plugin not in UNRESOLVABLE_PLUGINS and not any(r in UNRESOLVABLE_REASONS for r in reasons)


def _assigned(snap: Any, node: str) -> list:
    """The pods the scheduler counts on `node`: assigned and not terminal."""
    found = []
    for key in snap.on_node(node):
        pod = snap.get(key)
        if pod is not None and key[1] == "Pod" and get_path(pod, "status", "phase") not in ("Succeeded", "Failed"):
            found.append(pod)
    return found


class _Budgets:
    """The PodDisruptionBudgets and how many disruptions each still allows (filterPodsWithPDBViolation)."""

    def __init__(self, snap: Any):
        self.pdbs = snap.list(*PDB)

    def split(self, pods: list) -> tuple[list, list]:
        """(violating, not violating), each in the order of `pods`."""
        allowed = [get_path(p, "status", "disruptionsAllowed") or 0 for p in self.pdbs]
        violating, fine = [], []
        for pod in pods:
            meta = pod["metadata"]
            broken = False
            for i, pdb in enumerate(self.pdbs):
                if pdb["metadata"].get("namespace") != meta.get("namespace"):
                    continue
                selector = get_path(pdb, "spec", "selector")
                if not selector or not (selector.get("matchLabels") or selector.get("matchExpressions")):
                    continue  # an empty selector matches no pod here
                try:
                    matched = from_label_selector(selector).matches(meta.get("labels") or {})
                except ValueError:
                    continue
                if not matched:
                    continue
                if meta["name"] in (get_path(pdb, "status", "disruptedPods") or {}):
                    continue  # already counted as disrupted
                allowed[i] -= 1
                if allowed[i] < 0:
                    broken = True
            (violating if broken else fine).append(pod)
        return violating, fine


def preempt(scheduler: Any, pod: Mapping, attempt: Any, snap: Any) -> Outcome:
    """The DefaultPreemption PostFilter for `pod`, which `attempt` found no node for on `snap`."""
    if (get_path(pod, "spec", "preemptionPolicy") or "PreemptLowerPriority") == "Never":
        return Outcome("preemption: not eligible due to preemptionPolicy=Never.", None)
    nominated = get_path(pod, "status", "nominatedNodeName")
    if nominated:
        rejection = attempt.rejected.get(nominated)
        if rejection is None or resolvable(rejection):
            mine = priority(pod)
            if any(priority(p) < mine and terminating_by_preemption(p) for p in _assigned(snap, nominated)):
                return Outcome("preemption: not eligible due to a terminating pod on the nominated node.", None)
    names = [k[3] for k in scheduler._node_list(snap)]
    n = len(names)
    potential = [name for name in names if name in attempt.rejected and resolvable(attempt.rejected[name])]
    statuses: dict[str, tuple] = {}
    candidates: list[Candidate] = []
    if potential:
        want = max(len(potential) * MIN_CANDIDATE_NODES_PERCENTAGE // 100, MIN_CANDIDATE_NODES_ABSOLUTE)
        want = min(want, len(potential))
        offset = scheduler.preemption_offset(pod, len(potential))
        budgets = _Budgets(snap)
        others = scheduler.nominated_for(pod, snap)
        fine_found = 0
        for i in range(len(potential)):
            name = potential[(offset + i) % len(potential)]
            found = _victims_on(scheduler, pod, snap, name, budgets, others)
            if isinstance(found, Candidate):
                candidates.append(found)
                fine_found += found.violations == 0
                if fine_found and len(candidates) >= want:
                    break
            else:
                statuses[name] = found
    if not candidates:
        histogram: dict[str, int] = {}
        for reasons in statuses.values():
            for reason in reasons:
                histogram[reason] = histogram.get(reason, 0) + 1
        if len(statuses) < n:
            histogram[NOT_HELPFUL] = histogram.get(NOT_HELPFUL, 0) + n - len(statuses)
        parts = sorted(f"{count} {reason}" for reason, count in histogram.items())
        return Outcome(f"preemption: 0/{n} nodes are available: {', '.join(parts)}.", "")
    return Outcome("", None, _pick(candidates))


def _victims_on(scheduler: Any, pod: Mapping, snap: Any, node_name: str, budgets: _Budgets,
                others: dict) -> Candidate | tuple:
    """SelectVictimsOnNode: the candidate `node_name` makes, or the reasons it makes none.  The pods
    nominated to the node with at least `pod`'s priority (`others`) keep their room: the pod must
    fit beside them."""
    node = snap.get(("", "Node", "", node_name))
    mine = priority(pod)
    potential = [p for p in _assigned(snap, node_name) if priority(p) < mine]
    if not potential:
        return (NO_VICTIMS,)
    reduced = derived(snap, remove=map(key_of, potential))
    why = scheduler.filters_reject(pod, reduced, node, others)
    if why is not None:
        return why[1]
    potential.sort(key=importance)
    violating, fine = budgets.split(potential)
    victims: list = []
    violations = 0
    for group, counted in ((violating, True), (fine, False)):
        for victim in group:
            key = key_of(victim)
            tried = derived(reduced, put=[(key, victim, snap.hashes[key])])
            if scheduler.filters_reject(pod, tried, node, others) is None:
                reduced = tried  # it fits with this pod back: reprieved
            else:
                victims.append(victim)
                violations += counted
    if violating and fine:
        victims.sort(key=importance)
    return Candidate(node_name, tuple(victims), violations)


def _pick(candidates: list[Candidate]) -> Candidate:
    """pickOneNodeForPreemption: each criterion keeps the candidates that are best by it."""
    def highest(c: Candidate) -> int:
        return priority(c.victims[0]) if c.victims else -(2 ** 31)

    def earliest_of_highest(c: Candidate) -> float:
        if not c.victims:
            return float("inf")
        top = highest(c)
        return min(_start(v) for v in c.victims if priority(v) == top)

    criteria = (
        lambda c: c.violations,
        highest,
        lambda c: sum(priority(v) + 2 ** 31 for v in c.victims),
        lambda c: len(c.victims),
        lambda c: -earliest_of_highest(c),  # the latest start wins
    )
    kept = candidates
    for criterion in criteria:
        best = min(criterion(c) for c in kept)
        kept = [c for c in kept if criterion(c) == best]
        if len(kept) == 1:
            break
    return kept[0]
