"""A Service's checks besides its ports and type-dependent fields (engine/validate_workloads.py):
upstream's ValidateService and ValidateServiceUpdate (pkg/apis/core/validation) for session
affinity, cluster IPs and IP families, traffic policies, external names and IPs, and the
LoadBalancer-only fields.  Each takes the spec (and the stored one on an update) and returns
field errors in upstream's words.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from typing import Any

from . import fieldcheck as fc
from .apierrors import FieldError, duplicate, forbidden, invalid

MAX_CLIENT_IP_AFFINITY_SECONDS = 86400  # core.MaxClientIPServiceAffinitySeconds
_INVALID_IP = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
_INVALID_CIDR = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"
_LOAD_BALANCER_ONLY = "may only be used when `type` is 'LoadBalancer'"


def spec_errors(spec: Mapping, kind: str, old_spec: Mapping) -> list[FieldError]:
    return (_affinity_errors(spec) + _cluster_ip_errors(spec, kind) + _policy_errors(spec)
            + _external_errors(spec, kind) + _load_balancer_errors(spec, kind, old_spec))


def _affinity_errors(spec: Mapping) -> list[FieldError]:
    """validateClientIPAffinityConfig: a ClientIP timeout in (0, 86400]."""
    if spec.get("sessionAffinity") != "ClientIP":
        return []
    path = "spec.sessionAffinityConfig.clientIP.timeoutSeconds"
    config = spec.get("sessionAffinityConfig")
    client = config.get("clientIP") if isinstance(config, Mapping) else None
    timeout = client.get("timeoutSeconds") if isinstance(client, Mapping) else None
    if not fc.is_int(timeout):
        return fc.wrong_type(timeout, path, "integer")
    if 0 < timeout <= MAX_CLIENT_IP_AFFINITY_SECONDS:
        return []
    return [invalid(path, timeout, f"must be greater than 0 and less than {MAX_CLIENT_IP_AFFINITY_SECONDS}")]


def _cluster_ip_errors(spec: Mapping, kind: str) -> list[FieldError]:
    """The cluster IPs are addresses ("None" first and alone), headless only for ClusterIP
    Services; the IP families are known ones, each once (ValidateServiceClusterIPsRelatedFields)."""
    if kind == "ExternalName":
        return []
    errors = []
    ips = _strings(spec.get("clusterIPs"))
    if kind in ("LoadBalancer", "NodePort") and ips[:1] == ["None"]:
        errors.append(invalid("spec.clusterIPs[0]", "None", f"may not be set to 'None' for {kind} services"))
    for i, ip in enumerate(ips):
        if ip == "None" and i == 0:
            continue
        if not _is_ip(ip):
            errors.append(invalid(f"spec.clusterIPs[{i}]", ip, _INVALID_IP))
    errors += fc.one_of(spec.get("ipFamilyPolicy"), "spec.ipFamilyPolicy",
                        ("PreferDualStack", "RequireDualStack", "SingleStack"))
    seen: set = set()
    for i, family in enumerate(_strings(spec.get("ipFamilies"))):
        errors += fc.one_of(family, f"spec.ipFamilies[{i}]", ("IPv4", "IPv6"))
        if family in seen:
            errors.append(duplicate(f"spec.ipFamilies[{i}]", family))
        seen.add(family)
    return errors


def _policy_errors(spec: Mapping) -> list[FieldError]:
    """The traffic policies are Cluster or Local (an external one only where it applies, which
    engine/validate_workloads.py checks)."""
    errors = fc.one_of(spec.get("internalTrafficPolicy"), "spec.internalTrafficPolicy", ("Cluster", "Local"))
    return errors + fc.one_of(spec.get("externalTrafficPolicy"), "spec.externalTrafficPolicy", ("Cluster", "Local"))


def _external_errors(spec: Mapping, kind: str) -> list[FieldError]:
    """An ExternalName's name is a DNS subdomain (a trailing dot allowed); external IPs are
    addresses outside the unspecified, loopback and link-local ranges (ValidateNonSpecialIP)."""
    errors = []
    name = spec.get("externalName")
    if kind == "ExternalName" and isinstance(name, str) and name.rstrip("."):
        cname = name[:-1] if name.endswith(".") else name
        errors += fc.named(cname, "spec.externalName")
    for i, ip in enumerate(_strings(spec.get("externalIPs"))):
        path = f"spec.externalIPs[{i}]"
        if not _is_ip(ip):
            errors.append(invalid(path, ip, _INVALID_IP))
            continue
        address = ipaddress.ip_address(ip)
        if address.is_unspecified:
            errors.append(invalid(path, ip, f"may not be unspecified ({ip})"))
        if address.is_loopback:
            errors.append(invalid(path, ip, "may not be in the loopback range (127.0.0.0/8, ::1/128)"))
        if address.is_link_local:
            errors.append(invalid(path, ip, "may not be in the link-local range (169.254.0.0/16, fe80::/10)"))
        if address in ipaddress.ip_network("224.0.0.0/24") or address in ipaddress.ip_network("ff02::/16"):
            errors.append(invalid(path, ip, "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"))
    return errors


def _load_balancer_errors(spec: Mapping, kind: str, old_spec: Mapping) -> list[FieldError]:
    """Source ranges, allocateLoadBalancerNodePorts and loadBalancerClass belong to a LoadBalancer;
    the class may not change while it stays one (validateLoadBalancerClassField)."""
    errors = []
    ranges = _strings(spec.get("loadBalancerSourceRanges"))
    if ranges and kind != "LoadBalancer":
        errors.append(forbidden("spec.LoadBalancerSourceRanges", _LOAD_BALANCER_ONLY))
    for i, value in enumerate(ranges):
        if not _is_cidr(value.strip()):
            errors.append(invalid(f"spec.LoadBalancerSourceRanges[{i}]", value.strip(), _INVALID_CIDR))
    if kind != "LoadBalancer":
        errors += [forbidden(f"spec.{field}", _LOAD_BALANCER_ONLY)
                   for field in ("allocateLoadBalancerNodePorts", "loadBalancerClass") if spec.get(field) is not None]
    elif (old_spec.get("type") == "LoadBalancer"
          and spec.get("loadBalancerClass") != old_spec.get("loadBalancerClass")):
        errors.append(invalid("spec.loadBalancerClass", spec.get("loadBalancerClass"), "may not change once set"))
    return errors


def _strings(value: Any) -> list:
    return list(value) if isinstance(value, Sequence) and not isinstance(value, str) else []


def _is_ip(value: Any) -> bool:
    try:
        return isinstance(value, str) and bool(ipaddress.ip_address(value))
    except ValueError:
        return False


def _is_cidr(value: str) -> bool:
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return False
    return "/" in value
