"""The read-only kinds the server computes on each read instead of storing.

ComponentStatus (`v1`, `kubectl get cs`): deprecated upstream but served;
kube-apiserver probes the scheduler, the controller manager and each etcd
server and answers what it found.  Here the scheduler is healthy when
scheduler rules are in force, the controller manager when controller rules
are, and the store (`etcd-0`) always: it lives in the process.

APIService (`apiregistration.k8s.io/v1`, `kubectl get apiservices`): the
Local APIService kube-aggregator registers for every group version the
server serves (`v1.` for the core group, `v1.apps`, ...), each with
upstream's group and version priorities, and for every version a CRD
serves (1000 and 100, as upstream's CRD registration controller gives
them); all Available, reason Local.  recon registers no other API servers.

Neither lands in the store nor in the history: get and list answer them,
every other verb is a 405.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..kinds import CRD_GROUP, CRD_KIND, ResourceType
from ..objects import get_path

COMPONENT_STATUS = ResourceType("", "v1", "ComponentStatus", "componentstatuses", short_names=("cs",),
                                namespaced=False, has_spec=False)
API_SERVICE = ResourceType("apiregistration.k8s.io", "v1", "APIService", "apiservices", namespaced=False,
                           categories=("api-extensions",))
COMPUTED = (COMPONENT_STATUS, API_SERVICE)
# the Warning header upstream answers every ComponentStatus request with
COMPONENT_STATUS_WARNING = "v1 ComponentStatus is deprecated in v1.19+"


def is_computed(rt: ResourceType) -> bool:
    return rt in COMPUTED


# ------------------------------------------------------------ ComponentStatus


def component_statuses(components: Iterable[str]) -> list[dict]:
    """scheduler, controller-manager and etcd-0, healthy as the rules in force (`components`, their
    names) say: scheduler rules are named scheduler-*, controllers *-controller."""
    names = list(components)
    found = (
        ("scheduler", any(n.startswith("scheduler") for n in names), "no scheduler rules are in force"),
        ("controller-manager", any(n.endswith("-controller") for n in names), "no controller rules are in force"),
        ("etcd-0", True, ""),
    )
    return [_component_status(name, healthy, why) for name, healthy, why in found]


def _component_status(name: str, healthy: bool, why: str) -> dict:
    condition = {"type": "Healthy", "status": "True", "message": "ok"} if healthy else \
        {"type": "Healthy", "status": "False", "error": why}
    return {"kind": "ComponentStatus", "apiVersion": "v1", "metadata": {"name": name, "creationTimestamp": None},
            "conditions": [condition]}


# ------------------------------------------------------------ APIService

# upstream's priorities of the group versions it serves (DefaultGenericAPIServicePriorities and
# kube-apiserver's own additions): (groupPriorityMinimum, versionPriority)
PRIORITIES: dict[tuple[str, str], tuple[int, int]] = {
    ("", "v1"): (18000, 1),
    ("apiregistration.k8s.io", "v1"): (18000, 15),
    ("apps", "v1"): (17800, 15),
    ("events.k8s.io", "v1"): (17750, 15),
    ("authentication.k8s.io", "v1"): (17700, 15),
    ("authorization.k8s.io", "v1"): (17600, 15),
    ("autoscaling", "v1"): (17500, 15),
    ("autoscaling", "v2"): (17500, 30),
    ("batch", "v1"): (17400, 15),
    ("certificates.k8s.io", "v1"): (17300, 15),
    ("networking.k8s.io", "v1"): (17200, 15),
    ("policy", "v1"): (17100, 15),
    ("rbac.authorization.k8s.io", "v1"): (17000, 12),
    ("storage.k8s.io", "v1"): (16800, 15),
    ("apiextensions.k8s.io", "v1"): (16700, 15),
    ("admissionregistration.k8s.io", "v1"): (16700, 15),
    ("scheduling.k8s.io", "v1"): (16600, 15),
    ("coordination.k8s.io", "v1"): (16500, 15),
    ("node.k8s.io", "v1"): (16300, 15),
    ("discovery.k8s.io", "v1"): (16200, 15),
}
CUSTOM_PRIORITY = (1000, 100)  # a CRD's, and recon's own groups'
ONSTART, AUTOMANAGED = "onstart", "true"


def api_services(served: Iterable[tuple[ResourceType, str]], crds: Iterable[Mapping], started: Any) -> list[dict]:
    """One Local APIService per (group, version) of `served`, by name.  `started`: when the server
    started (the creation time of the built-in ones); a CRD's group version was created with the
    oldest CRD serving it."""
    created: dict[tuple[str, str], Any] = {}
    for crd in crds:
        for version in get_path(crd, "spec", "versions") or ():
            if version.get("served", True):
                key = (get_path(crd, "spec", "group") or "", version.get("name") or "")
                stamp = get_path(crd, "metadata", "creationTimestamp")
                created[key] = min(created.get(key) or stamp, stamp)
    services = {}
    for rt, version in served:
        key = (rt.group, version)
        if key in services:
            continue
        custom = rt.is_custom or key not in PRIORITIES
        group_priority, version_priority = CUSTOM_PRIORITY if custom else PRIORITIES[key]
        services[key] = _api_service(rt.group, version, group_priority, version_priority,
                                     created.get(key) if rt.is_custom else started,
                                     AUTOMANAGED if rt.is_custom else ONSTART)
    return sorted(services.values(), key=lambda s: s["metadata"]["name"])


def _api_service(group: str, version: str, group_priority: int, version_priority: int, created: Any,
                 managed: str) -> dict:
    return {
        "kind": "APIService", "apiVersion": "apiregistration.k8s.io/v1",
        "metadata": {"name": f"{version}.{group}", "creationTimestamp": created,
                     "labels": {"kube-aggregator.kubernetes.io/automanaged": managed}},
        "spec": {"group": group, "version": version, "groupPriorityMinimum": group_priority,
                 "versionPriority": version_priority},
        "status": {"conditions": [{"type": "Available", "status": "True", "lastTransitionTime": created,
                                   "reason": "Local", "message": "Local APIServices are always available"}]},
    }


def objects(rt: ResourceType, snapshot: Any, served: Iterable[tuple[ResourceType, str]],
            components: Iterable[str]) -> list[dict]:
    """Every object of a computed kind, as of `snapshot` and the rule components in force."""
    if rt is COMPONENT_STATUS:
        return component_statuses(components)
    started = get_path(snapshot.get(("", "Namespace", "", "kube-system")) or {}, "metadata", "creationTimestamp")
    return api_services(served, snapshot.list(CRD_GROUP, CRD_KIND), started)
