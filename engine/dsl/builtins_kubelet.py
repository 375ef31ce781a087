"""Builtins for the kubelet and node lifecycle rules: the container runtime and node resources.

The runtime builtins call the runtime in force (engine/runtime.py, the
simulated one by default); they are pure functions of the pod and `now`, so
a rule that writes their answer writes only when a container changed, and
their comparisons against `now` wake the rule at the next transition.
"""

from __future__ import annotations

import itertools

import hashlib
from collections.abc import Mapping

from pyrsistent import freeze

from engine import netaddr, runtime
from engine.timeutil import format_time
from engine.quantity import Quantity

from . import builtins_scheduling as _scheduling  # (a module: the two import each other through .builtins)
from .builtins import _dig, _is_map, _map, _section, _seq, builtin

_section("Kubelet and container runtime")

KUBELET_ANNOTATION = "sim.recon.dev/kubelet"
_TERMINAL = ("Succeeded", "Failed")


@builtin(pure=False)  # the simulated runtime in force (runtime.use)
def container_statuses(pod, now, annotations=None):
    """The runtime's init, app and ephemeral container statuses of an admitted POD at NOW (state, ready, restartCount, image, imageID, containerID, lastState); with ANNOTATIONS, as if the pod had those (definition_changes).

    container_statuses(pod, now).containerStatuses[0].state → {"running": {"startedAt": "2026-01-01T00:00:05Z"}}
    container_statuses(pod, now).initContainerStatuses → null (no init containers)
    container_statuses(pod, now).ephemeralContainerStatuses → null (no kubectl debug containers)
    """
    pod = _map(pod)
    if annotations is not None:
        meta = _map(pod.get("metadata"))
        pod = pod.set("metadata", meta.set("annotations", _map(annotations)))
    return freeze(runtime.current().status(pod, now))


@builtin()
def definition_changes(before, statuses, annotations, now):
    """The app containers to restart at NOW because their definition changed (computePodActions): those whose image in STATUSES (the runtime's, from the pod's spec) differs from the one BEFORE (the status last written) for the same run, running (killed, then started again) or backing off (started at once); null when none.  `annotations` are ANNOTATIONS with the restarts recorded (runtime.restart_moments), `containers` the names and whether each was running.

    definition_changes(pod.status.containerStatuses, statuses, pod.metadata.annotations, now) → null
    definition_changes(…).containers → [{"name": "app", "running": true}]
    """
    seen = {_dig(s, "name"): s for s in _seq(before)}
    changed = []
    for status in _seq(statuses):
        was = seen.get(_dig(status, "name"))
        if was is None or _dig(was, "image") == _dig(status, "image"):
            continue  # (the common case: one dict lookup and a comparison per container)
        running = _dig(status, "state", "running") is not None
        backing_off = _dig(status, "state", "waiting", "reason") == "CrashLoopBackOff"
        if (running or backing_off) and _dig(was, "containerID") == _dig(status, "containerID"):
            changed.append({"name": _dig(status, "name"), "running": running})
        elif _dig(status, "state", "waiting", "reason") in runtime.PULL_WAITING:
            # the new image cannot be pulled (sim.recon.dev/pull-error, set with it): the runtime
            # shows the container waiting for it from its start until the restart is recorded
            was_running = _dig(was, "state", "running") is not None
            if was_running or _dig(was, "state", "waiting", "reason") == "CrashLoopBackOff":
                changed.append({"name": _dig(status, "name"), "running": was_running})
    if not changed:
        return None
    notes = dict(_map(annotations))
    moment = format_time(float(now))
    for change in changed:
        key = f"{runtime.PREFIX}{runtime.RESTARTED}.{change['name']}"
        notes[key] = f"{notes[key]} {moment}" if notes.get(key) else moment
    return freeze({"annotations": notes, "containers": changed})


@builtin(pure=False)  # the simulated runtime in force (runtime.use)
def sandbox_start(pod, now):
    """The moment the runtime starts POD's sandbox when the kubelet admits it at NOW: the pod's status.startTime, the origin of its timeline.

    sandbox_start(pod, now) → 1767225600.0
    """
    return runtime.current().start(_map(pod), float(now))


@builtin(pure=False)  # the simulated runtime in force (runtime.use)
def containers_stopped_at(pod):
    """The moment the containers of POD (being deleted) have stopped: the delete request plus the time they take, at most the grace period.

    containers_stopped_at(pod) → 1767225630.0
    """
    return runtime.current().stop(_map(pod))


@builtin(pure=False)  # the simulated runtime in force (runtime.use)
def runtime_version():
    """The container runtime's name and version, as node.status.nodeInfo.containerRuntimeVersion reports it.

    runtime_version() → "sim://1.0"
    """
    return runtime.runtime_version()


@builtin()
def registry_image_size(image):
    """The size in bytes of IMAGE as the simulated registry gives it when a node pulls it (made up: 10 to 200 MB, the same for the same image).

    registry_image_size("nginx:1.27") → 68268044
    """
    return runtime.image_size(image)


@builtin()
def kubelet_running(node):
    """Whether NODE exists and its simulated kubelet runs (no annotation sim.recon.dev/kubelet: "down").

    kubelet_running(Node["node-1"]) → true
    """
    if not _is_map(node):
        return False
    return (_dig(node, "metadata", "annotations") or {}).get(KUBELET_ANNOTATION) != "down"


@builtin()
def stable_id(value, length=32):
    """LENGTH hex digits derived from VALUE (a machine ID, a boot ID): the same value gives the same ID.

    stable_id("node-1/machine") → "6f1c…" (32 hex digits)
    """
    return hashlib.sha256(str(value).encode()).hexdigest()[: int(length)]


# -- admission ----------------------------------------------------------------


def _sort_key(pod: Mapping) -> tuple:
    return (_dig(pod, "metadata", "creationTimestamp") or "", _dig(pod, "metadata", "name") or "")


def _amount(name: str, q: Quantity | None) -> int:
    if q is None:
        return 0
    return q.milli() if name == "cpu" else q.value()


def _insufficient(pod: Mapping, others: list, allocatable: Mapping) -> tuple | None:
    """The first resource POD does not fit in beside OTHERS, as noderesources.Fits orders them."""
    capacity_pods = allocatable.get("pods")
    if capacity_pods is not None:
        allowed = Quantity(capacity_pods).value()
        if len(others) + 1 > allowed:
            return "pods", 1, len(others), allowed
    wanted = _scheduling.request_units(pod)  # (kept per pod version: a node's pods are asked again at each admission)
    used: dict[str, int] = {}
    for other in others:
        for name, amount in _scheduling.request_units(other).items():
            used[name] = used.get(name, 0) + amount
    order = ["cpu", "memory", "ephemeral-storage"] + sorted(n for n in wanted if n not in
                                                             ("cpu", "memory", "ephemeral-storage", "pods"))
    for name in order:
        requested = wanted.get(name, 0)
        if requested <= 0:
            continue
        capacity = _amount(name, Quantity(allocatable[name]) if allocatable.get(name) is not None else None)
        if requested > capacity - used.get(name, 0):
            return name, requested, used.get(name, 0), capacity
    return None


@builtin()
def node_fit(pod, pods, allocatable):
    """The kubelet's resource admission of POD among PODS (those bound to its node) on ALLOCATABLE.

    Pods already admitted (status.startTime set) and not finished use
    resources.  Pods still waiting ahead of POD (older, then by name) are
    admitted first, in that order.  The verdict is "admit" (with `ahead`, how
    many are admitted before it), "reject" (with upstream's `reason`, such as
    OutOfcpu, and `message`) or "wait" (it fits only if some pod ahead is
    rejected: decided once they are).

    node_fit(pod, Pod where it.spec.nodeName == node.name, node.status.allocatable) → {"verdict": "admit", "ahead": 0}
    node_fit(big, pods, {"cpu": "1"}).reason → "OutOfcpu"
    """
    pod, allocatable = _map(pod), _map(allocatable)
    me, uid = _sort_key(pod), _dig(pod, "metadata", "uid")
    admitted, ahead = [], []
    for other in _seq(pods):
        if _dig(other, "metadata", "uid") == uid or _dig(other, "status", "phase") in _TERMINAL:
            continue
        if _dig(other, "status", "startTime") is not None:
            admitted.append(other)
        elif _dig(other, "metadata", "deletionTimestamp") is None and _sort_key(other) < me:
            ahead.append(other)
    short = _insufficient(pod, admitted, allocatable)
    if short is not None:
        name, requested, used, capacity = short
        message = (f"Pod was rejected: Node didn't have enough resource: {name}, requested: {requested}, "
                   f"used: {used}, capacity: {capacity}")
        return freeze({"verdict": "reject", "reason": f"OutOf{name}", "message": message})
    if ahead and _insufficient(pod, admitted + ahead, allocatable) is not None:
        return freeze({"verdict": "wait", "ahead": len(ahead)})
    return freeze({"verdict": "admit", "ahead": len(ahead)})


# -- addresses ----------------------------------------------------------------


@builtin()
def nth_free_ip(cidr, used, n, skip_gateway=True):
    """The N-th (from 0) host address of CIDR not in USED, skipping the .1 gateway unless SKIP_GATEWAY is false; null when full.

    nth_free_ip("10.244.1.0/24", ["10.244.1.2"], 1) → "10.244.1.4"
    """
    free = netaddr.free_ips(cidr, list(_seq(used)), skip_gateway)
    return next(itertools.islice(free, int(n), None), None)


@builtin()
def free_ips(cidr, used, n, skip_gateway=True):
    """The N lowest host addresses of CIDR not in USED (fewer when there are not that many), skipping the .1 gateway unless SKIP_GATEWAY is false.

    free_ips("10.244.1.0/24", ["10.244.1.3"], 2) → ["10.244.1.2", "10.244.1.4"]
    """
    return tuple(itertools.islice(netaddr.free_ips(cidr, list(_seq(used)), skip_gateway), max(int(n), 0)))


@builtin()
def free_subnets(cluster_cidr, mask, used, n):
    """The N lowest /MASK subnets of CLUSTER_CIDR overlapping none of USED (fewer when there are not that many).

    free_subnets("10.244.0.0/16", 24, ["10.244.0.0/24"], 2) → ["10.244.1.0/24", "10.244.2.0/24"]
    """
    return tuple(itertools.islice(netaddr.free_subnets(cluster_cidr, int(mask), list(_seq(used))), max(int(n), 0)))


@builtin()
def nth_free_subnet(cluster_cidr, mask, used, n):
    """The N-th (from 0) /MASK subnet of CLUSTER_CIDR overlapping none of USED; null when full.

    nth_free_subnet("10.244.0.0/16", 24, ["10.244.0.0/24"], 1) → "10.244.2.0/24"
    """
    free = netaddr.free_subnets(cluster_cidr, int(mask), list(_seq(used)))
    return next(itertools.islice(free, int(n), None), None)
