"""Validation of NetworkPolicies.

Worded as upstream's `ValidateNetworkPolicy` (pkg/apis/networking/validation):
the pod selector is a label selector; each rule's ports name a protocol
(TCP, UDP or SCTP), a port number or name, and an `endPort` only after a
numeric `port`; each peer names pods and/or namespaces, or else an `ipBlock`
alone, whose `except` CIDRs lie strictly inside its `cidr`; the policy types
are Ingress and Egress, at most two.  An update is checked as a create.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from . import fieldcheck as fc
from .apierrors import FieldError, forbidden, go_value, invalid, preformatted, required

_PROTOCOLS = ("TCP", "UDP", "SCTP")
_POLICY_TYPES = ("Ingress", "Egress")
_INVALID_CIDR = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"
_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def networkpolicy_errors(np: Mapping, old: Mapping | None) -> list[FieldError]:
    """ValidateNetworkPolicySpec: the selector, the ingress then the egress rules, the policy types."""
    errors, spec = fc.mapping(np.get("spec"), "spec")
    errors += fc.label_selector(spec.get("podSelector"), "spec.podSelector")
    for direction, peers in (("ingress", "from"), ("egress", "to")):
        list_errors, rules = fc.items(spec.get(direction), f"spec.{direction}")
        errors += list_errors
        for path, rule in rules:
            errors += _rule_errors(rule, path, peers)
    return errors + _policy_types_errors(spec.get("policyTypes"))


def _rule_errors(rule: Any, path: str, peers: str) -> list[FieldError]:
    errors, rule = fc.mapping(rule, path)
    port_errors, ports = fc.items(rule.get("ports"), f"{path}.ports")
    errors += port_errors
    for port_path, port in ports:
        errors += _port_errors(port, port_path)
    peer_errors, found = fc.items(rule.get(peers), f"{path}.{peers}")
    errors += peer_errors
    for peer_path, peer in found:
        errors += _peer_errors(peer, peer_path)
    return errors


def _port_errors(port: Any, path: str) -> list[FieldError]:
    """ValidateNetworkPolicyPort: the protocol, the port (number or name) and the end of a range."""
    errors, port = fc.mapping(port, path)
    errors += fc.one_of(port.get("protocol"), f"{path}.protocol", _PROTOCOLS)
    number, end = port.get("port"), port.get("endPort")
    if end is not None and not fc.is_int(end):
        errors += fc.wrong_type(end, f"{path}.endPort", "integer")
        end = None
    if isinstance(number, str):
        errors += [invalid(f"{path}.port", number, m) for m in fc.iana_svc_name_errors(number)]
        if end is not None:
            errors.append(invalid(f"{path}.endPort", end, "may not be specified when `port` is non-numeric"))
        return errors
    if number is None:
        if end is not None:
            errors.append(invalid(f"{path}.endPort", end, "may not be specified when `port` is not specified"))
        return errors
    errors += fc.port_number(number, f"{path}.port", needed=False)
    if end is not None and fc.is_int(number):
        if end < number:  # (v1.32 shows the port's value here, not the endPort's)
            errors.append(invalid(f"{path}.endPort", number, "must be greater than or equal to `port`"))
        errors += fc.port_number(end, f"{path}.endPort", needed=False)
    return errors


def _peer_errors(peer: Any, path: str) -> list[FieldError]:
    """ValidateNetworkPolicyPeer: pods and/or namespaces by selector, or an ipBlock alone."""
    errors, peer = fc.mapping(peer, path)
    errors += fc.label_selector(peer.get("podSelector"), f"{path}.podSelector")
    errors += fc.label_selector(peer.get("namespaceSelector"), f"{path}.namespaceSelector")
    if peer.get("ipBlock") is not None:
        errors += _ip_block_errors(peer["ipBlock"], f"{path}.ipBlock")
    given = [field for field in ("podSelector", "namespaceSelector", "ipBlock") if peer.get(field) is not None]
    if not given:
        errors.append(required(path, "must specify a peer"))
    elif len(given) > 1 and "ipBlock" in given:
        errors.append(forbidden(path, "may not specify both ipBlock and another peer"))
    return errors


def _ip_block_errors(block: Any, path: str) -> list[FieldError]:
    """ValidateIPBlock: a CIDR, and `except` CIDRs each strictly inside it."""
    errors, block = fc.mapping(block, path)
    cidr = block.get("cidr")
    if cidr in (None, ""):
        return errors + [required(f"{path}.cidr")]
    network = parse_cidr(cidr)
    if network is None:
        wrong = fc.wrong_type(cidr, f"{path}.cidr", "string")
        return errors + (wrong or [invalid(f"{path}.cidr", cidr, _INVALID_CIDR)])
    list_errors, excepts = fc.items(block.get("except"), f"{path}.except")
    errors += list_errors
    for except_path, value in excepts:
        inner = parse_cidr(value)
        if inner is None:
            errors += fc.wrong_type(value, except_path, "string") or [invalid(except_path, value, _INVALID_CIDR)]
        elif inner.network_address not in network or inner.prefixlen <= network.prefixlen:
            errors.append(invalid(except_path, value, "must be a strict subset of `cidr`"))
    return errors


def parse_cidr(value: Any) -> _Network | None:
    """The network of a CIDR as upstream's ParseCIDRSloppy reads it (host bits may be set, IPv4
    octets may have leading zeros), or None when it is not one."""
    if not isinstance(value, str):
        return None
    address, slash, length = value.partition("/")
    if not slash or not length.isascii() or not length.isdigit():
        return None
    octets = address.split(".")
    if ":" not in address and len(octets) == 4 and all(o.isascii() and o.isdigit() for o in octets):
        address = ".".join(str(int(o)) for o in octets)
    try:
        return ipaddress.ip_network(f"{address}/{int(length)}", strict=False)
    except ValueError:
        return None


def _policy_types_errors(value: Any) -> list[FieldError]:
    errors, types = fc.items(value, "spec.policyTypes")
    if len(types) > len(_POLICY_TYPES):
        shown = ", ".join(go_value(t) for _, t in types)
        return errors + [preformatted(f"spec.policyTypes: Invalid value: []networking.PolicyType{{{shown}}}: "
                                      "may not specify more than two policyTypes")]
    for path, kind in types:
        errors += fc.one_of(kind, path, _POLICY_TYPES)
    return errors
