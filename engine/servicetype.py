"""A Service's type-dependent fields: what an update keeps, and what it drops.

A Service is a union discriminated by `spec.type`: a cluster IP for every type
but ExternalName, node ports for NodePort and LoadBalancer, a health-check
node port for a LoadBalancer with the Local external traffic policy.  The
addresses a Service holds are the ones in its spec (the store indexes them,
engine/admission.py checks new ones against that index, rules/service-ip.rules
fills the missing ones), so a value dropped here is released by that very
write, and a value kept here stays held.

- `patch_allocated_values`: a write that leaves out a value the server
  allocated keeps it, as long as the type still needs it (upstream's
  `patchAllocatedValues`, pkg/registry/core/service/storage), so a
  `kubectl replace` of the original manifest neither fails nor reallocates.
- `drop_type_dependent_fields`: a write that changes the type away from one
  that needs a field, and leaves that field as it was, drops it (upstream's
  `dropTypeDependentFields`, pkg/registry/core/service/strategy.go); a field
  the write did change is left for validation to refuse.
- `normalize_cluster_ips`: clusterIP and clusterIPs kept in step.
- `init_ip_families`: the IP family policy and families a Service leaves out
  (upstream's `initIPFamilyFields`), on this single-stack IPv4 cluster.
- `drop_unused_internal_policy`: an ExternalName Service shows no
  internalTrafficPolicy (upstream drops it on read,
  `defaultOnReadInternalTrafficPolicy`; here it is dropped on write).
- `with_load_balancer_status`: every Service's status holds `loadBalancer`,
  `{}` until something fills it (ServiceStatus.LoadBalancer is a struct, not
  a pointer, so upstream always writes it: `status: {loadBalancer: {}}`).

The functions edit a thawed spec (and status) in place.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

# The families of the service CIDR (--service-cluster-ip-range is one IPv4 range): the first
# is the default a Service without families gets.
CLUSTER_FAMILIES = ("IPv4",)
_OTHER_FAMILY = {"IPv4": "IPv6", "IPv6": "IPv4"}


def _type(spec: Mapping) -> str:
    return spec.get("type") or "ClusterIP"


def needs_cluster_ip(spec: Mapping) -> bool:
    """Every type but ExternalName has a cluster IP ("None" counts as one)."""
    return _type(spec) != "ExternalName"


def needs_node_ports(spec: Mapping) -> bool:
    """NodePort and LoadBalancer Services hold node ports (a LoadBalancer with
    allocateLoadBalancerNodePorts false still keeps the ones it was given)."""
    return _type(spec) in ("NodePort", "LoadBalancer")


def needs_health_check_port(spec: Mapping) -> bool:
    return _type(spec) == "LoadBalancer" and spec.get("externalTrafficPolicy") == "Local"


def externally_accessible(spec: Mapping) -> bool:
    """Upstream's ExternallyAccessible: the types an externalTrafficPolicy applies to."""
    kind = _type(spec)
    return kind in ("NodePort", "LoadBalancer") or (kind == "ClusterIP" and bool(spec.get("externalIPs")))


def _ports(spec: Mapping) -> list[dict]:
    ports = spec.get("ports")
    return [p for p in ports if isinstance(p, dict)] if isinstance(ports, list) else []


def _node_ports(spec: Mapping) -> set:
    return {p["nodePort"] for p in _ports(spec) if p.get("nodePort")}


def patch_allocated_values(old: Mapping, new: dict) -> None:
    """Fill what `new` leaves out from `old`: the cluster IP (with its families), the node
    port of each port by name (unless `new` gives that number to another port), the
    health-check node port, each only while both types need it."""
    if needs_cluster_ip(old) and needs_cluster_ip(new):
        if not new.get("clusterIP") and old.get("clusterIP"):
            new["clusterIP"] = old["clusterIP"]
        if not new.get("clusterIPs") and old.get("clusterIPs"):
            new["clusterIPs"] = list(old["clusterIPs"])
        # (upstream re-derives the families from the cluster IPs when a write leaves them out;
        # for the single-stack addresses recon allocates, that is the stored value)
        if new.get("clusterIPs") == old.get("clusterIPs"):
            for field in ("ipFamilies", "ipFamilyPolicy"):
                if new.get(field) is None and old.get(field) is not None:
                    new[field] = old[field]
    if needs_node_ports(old) and needs_node_ports(new):
        taken = _node_ports(old) & _node_ports(new)
        by_name = {p.get("name") or "": p.get("nodePort") for p in _ports(old)}
        for port in _ports(new):
            known = by_name.get(port.get("name") or "")
            if not port.get("nodePort") and known and known not in taken:
                port["nodePort"] = known
    if needs_health_check_port(old) and needs_health_check_port(new):
        if not new.get("healthCheckNodePort") and old.get("healthCheckNodePort"):
            new["healthCheckNodePort"] = old["healthCheckNodePort"]


def drop_type_dependent_fields(old: Mapping, new: dict, status: dict | None = None) -> None:
    """Drop what the new type no longer uses, where `new` left it as `old` had it.

    Node ports go only when the write adds none of its own (upstream's
    sameNodePorts: the old ports are a superset of the new); the cluster IP
    when both clusterIP and clusterIPs are unchanged.  A LoadBalancer's
    status.loadBalancer is cleared once the type is something else.
    """
    if needs_cluster_ip(old) and not needs_cluster_ip(new):
        if new.get("clusterIP") == old.get("clusterIP") and _list(new, "clusterIPs") == _list(old, "clusterIPs"):
            new.pop("clusterIP", None)
            new.pop("clusterIPs", None)
        for field in ("ipFamilies", "ipFamilyPolicy"):
            if new.get(field) == old.get(field):
                new.pop(field, None)
    if needs_node_ports(old) and not needs_node_ports(new) and _node_ports(new) <= _node_ports(old):
        for port in _ports(new):
            port.pop("nodePort", None)
    if (needs_health_check_port(old) and not needs_health_check_port(new)
            and new.get("healthCheckNodePort") == old.get("healthCheckNodePort")):
        new.pop("healthCheckNodePort", None)
    if _type(old) == "LoadBalancer" and _type(new) != "LoadBalancer":
        for field in ("allocateLoadBalancerNodePorts", "loadBalancerClass"):
            if new.get(field) == old.get(field):
                new.pop(field, None)
    if externally_accessible(old) and not externally_accessible(new):
        if new.get("externalTrafficPolicy") == old.get("externalTrafficPolicy"):
            new.pop("externalTrafficPolicy", None)
    if status is not None and _type(new) != "LoadBalancer" and status.get("loadBalancer"):
        status["loadBalancer"] = {}


def with_load_balancer_status(status: Any) -> dict:
    """A Service's status as upstream stores it: a copy with `loadBalancer: {}` when it has none
    (a create's status is reset to exactly that, PrepareForCreate's `ServiceStatus{}`)."""
    status = dict(status) if isinstance(status, Mapping) else {}
    if status.get("loadBalancer") is None:
        status["loadBalancer"] = {}
    return status


def normalize_cluster_ips(old: Mapping | None, new: dict) -> None:
    """Keep clusterIPs in step with clusterIP (upstream's normalizeClusterIPs): a write that
    names only clusterIP (an old client) gets clusterIPs to match, one that clears clusterIP
    and leaves clusterIPs as they were clears both.  An empty clusterIP is no value at all
    (upstream omits it; the allocator gives a Service without one an address)."""
    ip, ips = new.get("clusterIP") or "", _list(new, "clusterIPs")
    if old is None:
        if ip and not ips:
            new["clusterIPs"] = [ip]
    else:
        old_ip, old_ips = old.get("clusterIP") or "", _list(old, "clusterIPs")
        if old_ips and not ips and ip == old_ip:
            new["clusterIPs"] = ips = old_ips
        if ip != old_ip and ips == old_ips:
            if not ip:
                new.pop("clusterIPs", None)
            else:
                new["clusterIPs"] = [ip]
    if new.get("clusterIP") == "":
        del new["clusterIP"]


def family_of(ip: Any) -> str | None:
    """"IPv4" or "IPv6" for an address, None for anything else ("None", a malformed one)."""
    try:
        return f"IPv{ipaddress.ip_address(ip).version}" if isinstance(ip, str) else None
    except ValueError:
        return None


def headless_without_selector(spec: Mapping) -> bool:
    """Upstream's special case: a headless Service without a selector may be of any family."""
    return spec.get("clusterIP") == "None" and not spec.get("selector")


def init_ip_families(old: Mapping | None, new: dict) -> None:
    """Fill the ipFamilyPolicy and ipFamilies a write leaves out (upstream's initIPFamilyFields).

    The policy is the stored one on an update, else RequireDualStack for a headless Service
    without a selector and SingleStack for any other.  The families follow the cluster IPs
    given (only those the cluster has; engine/admission.py refuses the others), else the
    cluster's default family; a headless Service without a selector that is not SingleStack
    gets both families, whatever the cluster has, as upstream's.  ExternalName has none.
    """
    if _type(new) == "ExternalName" or not isinstance(new.get("ipFamilies", []), (list, type(None))):
        return
    if new.get("ipFamilyPolicy") is None:
        if old is not None and old.get("ipFamilyPolicy") is not None:
            new["ipFamilyPolicy"] = old["ipFamilyPolicy"]
        elif headless_without_selector(new):
            new["ipFamilyPolicy"] = "RequireDualStack"
        else:
            new["ipFamilyPolicy"] = "SingleStack"
    families = list(new.get("ipFamilies") or [])
    for ip in _list(new, "clusterIPs")[len(families):]:
        family = family_of(ip)
        if family is None:  # ("None", or malformed: validation's to report)
            break
        if family not in CLUSTER_FAMILIES:
            return  # (refused by admission, naming the address)
        families.append(family)
    if not families:
        families.append(CLUSTER_FAMILIES[0])
    if (headless_without_selector(new) and len(families) == 1 and families[0] in _OTHER_FAMILY
            and new["ipFamilyPolicy"] != "SingleStack"):
        families.append(_OTHER_FAMILY[families[0]])
    new["ipFamilies"] = families


def drop_unused_internal_policy(spec: dict) -> None:
    """An ExternalName Service has no internalTrafficPolicy (upstream drops it when read)."""
    if _type(spec) == "ExternalName":
        spec.pop("internalTrafficPolicy", None)


def _list(spec: Mapping, field: str) -> list[Any]:
    value = spec.get(field)
    return list(value) if isinstance(value, (list, tuple)) else []
