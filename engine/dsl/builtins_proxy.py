"""Primitives for kube-proxy's rules and service address allocation.

Chain names are kube-proxy's (pkg/proxy/iptables): a KUBE-SVC-, KUBE-SVL-,
KUBE-EXT-, KUBE-FW- chain is the prefix plus `port_proto_hash` of the
service port name ("ns/name:port", or "ns/name" for an unnamed port) and the
lower-case protocol; a KUBE-SEP- chain hashes the endpoint ("ip:port") too.
Probabilities are written as kube-proxy writes them ("%0.10f").
"""

from __future__ import annotations

import base64
import functools
import hashlib
import itertools

from engine import servicetype

from .builtins import _map, _section, _seq, builtin

_section("Proxy")


@builtin()
def port_proto_hash(service_port_name, protocol, endpoint=None):
    """The 16 characters of a kube-proxy chain name: base32(sha256(name + protocol [+ endpoint])).

    port_proto_hash("ns1/svc1:p80", "tcp") → "XPGD46QRK7WJZT7O"
    port_proto_hash("ns1/svc1:p80", "tcp", "10.180.0.1:80") → "SXIVWICOYRO3J4NJ"
    """
    return _chain_hash(f"{service_port_name}{protocol}{endpoint or ''}")


@functools.lru_cache(maxsize=1 << 16)
def _chain_hash(material: str) -> str:
    # (kept: the proxy rule names every endpoint's chain at each evaluation, and base32 is Python)
    return base64.b32encode(hashlib.sha256(material.encode()).digest()).decode()[:16]


@builtin()
def fixed(value, digits):
    """VALUE with exactly DIGITS decimals (Go's %0.Nf); null stays null.

    fixed(1 / 3, 10) → "0.3333333333"
    """
    if value is None:
        return None
    return f"{float(value):.{int(digits)}f}"


@builtin()
def nth_free_port(lo, hi, used, n):
    """The N-th (from 0) lowest port in LO..HI not in USED; null when there are not that many.

    nth_free_port(30000, 32767, [30000], 1) → 30002
    """
    taken = {int(port) for port in _seq(used) if port is not None}
    free = (port for port in range(int(lo), int(hi) + 1) if port not in taken)
    return next(itertools.islice(free, int(n), None), None)


@builtin()
def needs_health_check_port(service):
    """Does SERVICE hold a health-check node port: a LoadBalancer whose externalTrafficPolicy is Local (upstream's NeedsHealthCheck; the API server asks the same)?

    needs_health_check_port({spec: {type: "LoadBalancer", externalTrafficPolicy: "Local"}}) → true
    """
    return servicetype.needs_health_check_port(_map(_map(service).get("spec")))
