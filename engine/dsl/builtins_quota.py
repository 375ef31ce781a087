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
def quota_used(hard, usages, counts=None):
    """A ResourceQuota's status.used: for each resource of HARD, the sum over USAGES (maps from quota_pod_usage) plus COUNTS (object counts by resource name), as quantity strings; 0 for what nothing uses.

    quota_used({"pods": "10", "requests.cpu": "2"}, [quota_pod_usage(q, p) for p in pods]) → {"pods": "3", "requests.cpu": "1500m"}
    """
    extra = {name: _quota.Quantity(n) for name, n in _map(counts).items()}
    return pmap(_quota.total(list(_seq(usages)) + [extra], _map(hard)))
