"""Builtins for the ResourceQuota controller: what a pod uses of a quota, and the quota's total.

The counting itself is engine/quota.py's, shared with the quota admission.
"""

from __future__ import annotations

from pyrsistent import pmap

from engine import quota as _quota

from .builtins import _map, _section, _seq, builtin

_section("Quota")


@builtin()
def quota_pod_usage(q, pod):
    """What POD uses of ResourceQuota Q (upstream's pod evaluator): its count/pods, and while it is not Succeeded or Failed its pods, cpu, memory, requests.* and limits.*; empty when Q's scopes leave it out.

    quota_pod_usage(q, pod)["requests.cpu"] → 500m
    """
    q, pod = _map(q), _map(pod)
    if not _quota.matches(q, "", "Pod", pod):
        return pmap()
    return pmap(_quota.usage("", "Pod", "pods", pod))


@builtin()
def quota_service_usage(service):
    """What SERVICE uses of a quota beyond its count (upstream's service evaluator): services.nodeports (a NodePort's or LoadBalancer's ports; with allocateLoadBalancerNodePorts false, those that name a nodePort) and services.loadbalancers.

    quota_service_usage(svc)["services.nodeports"] → 2
    """
    return pmap(_quota.service_usage(_map(service)))


@builtin()
def quota_counts(hard, name):
    """Does HARD (a ResourceQuota's spec.hard) limit NAME: a `count/<resource>`, or `pods` for what pods use (their count, cpu, memory, requests.*, limits.*, hugepages); a count's older name (`services` for `count/services`) counts too.

    quota_counts({"services": "5"}, "count/services") → true
    quota_counts({"requests.cpu": "2"}, "pods") → true
    """
    hard = _map(hard)
    if name == "pods":
        return bool(_quota.matching_resources("", "Pod", "pods", hard))
    return name in hard or _quota.LEGACY_BY_COUNT.get(name) in hard


@builtin()
def quota_used(hard, usages, counts=None):
    """A ResourceQuota's status.used: for each resource of HARD, the sum over USAGES (maps from quota_pod_usage, quota_service_usage, or PersistentVolumeClaims, whose usage is worked out here: persistentvolumeclaims, requests.storage, each also per class) plus COUNTS (object counts by `count/<resource>` name, given under its older name too), as quantity strings; 0 for what nothing uses.

    quota_used({"pods": "10", "requests.cpu": "2"}, [quota_pod_usage(q, p) for p in pods]) → {"pods": "3", "requests.cpu": "1500m"}
    """
    extra = {}
    for name, n in _map(counts).items():  # (a count under its older name too: `services`)
        extra[name] = _quota.Quantity(n)
        if name in _quota.LEGACY_BY_COUNT:
            extra[_quota.LEGACY_BY_COUNT[name]] = extra[name]
    return pmap(_quota.total(list(_seq(usages)) + [extra], _map(hard)))
