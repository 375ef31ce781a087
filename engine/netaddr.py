"""IP and port allocation primitives over the standard `ipaddress` module.

Everything is first-free and in address order, so allocation is
deterministic (upstream's service-IP and NodePort allocators pick at random;
the node IPAM controller's CIDR set is first-free too).  Allocators return
None when the range is full.  "used" collections may hold None or "" (a pod
without an IP yet); those are skipped.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator

_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _network(cidr: str) -> _Network:
    try:
        return ipaddress.ip_network(cidr, strict=False)
    except ValueError as error:
        raise ValueError(f"invalid CIDR {cidr!r}: {error}") from None


def _used_addresses(used: Iterable[str] | None) -> set:
    return {ipaddress.ip_address(ip) for ip in used or () if ip}


def cidr_host(cidr: str, n: int) -> str:
    """The address `n` places into `cidr`; negative `n` counts back from the end.

    ``cidr_host("10.96.0.0/12", 1)`` → ``"10.96.0.1"`` (Terraform's cidrhost).
    """
    network = _network(cidr)
    index = n if n >= 0 else network.num_addresses + n
    if not 0 <= index < network.num_addresses:
        raise ValueError(f"{cidr} has no host number {n}: it holds {network.num_addresses} addresses")
    return str(network.network_address + index)


def cidr_contains(cidr: str, ip: str) -> bool:
    """Is address `ip` inside `cidr`? (False for an address of the other family.)"""
    return ipaddress.ip_address(ip) in _network(cidr)


def _hosts(network: _Network) -> Iterator:
    """Usable host addresses: no network or IPv4 broadcast address, as hosts()."""
    first, last = 1, network.num_addresses - 1
    if network.prefixlen >= network.max_prefixlen - 1:  # point-to-point: every address
        first, last = 0, network.num_addresses
    elif network.version == 6:  # no broadcast in IPv6
        last = network.num_addresses
    for index in range(first, last):
        yield network.network_address + index


def first_free_ip(cidr: str, used: Iterable[str] | None = (), skip_network_and_gateway: bool = True) -> str | None:
    """The lowest host address of `cidr` not in `used`, or None.

    Host addresses exclude the network address and, for IPv4, the broadcast
    address.  With `skip_network_and_gateway` the first host (the gateway,
    ``.1``) is skipped too, as CNI host-local IPAM starts at ``.2``.
    """
    return next(free_ips(cidr, used, skip_network_and_gateway), None)


def free_ips(cidr: str, used: Iterable[str] | None = (), skip_network_and_gateway: bool = True) -> Iterator[str]:
    """The host addresses of `cidr` not in `used`, lowest first (see first_free_ip)."""
    network, taken = _network(cidr), _used_addresses(used)
    hosts = _hosts(network)
    if skip_network_and_gateway:
        next(hosts, None)
    for address in hosts:
        if address not in taken:
            yield str(address)


def _subnets(cluster_cidr: str, mask: int) -> tuple[_Network, int]:
    """The network and how many /`mask` subnets it holds."""
    network = _network(cluster_cidr)
    if not network.prefixlen <= mask <= network.max_prefixlen:
        raise ValueError(f"cannot cut /{mask} subnets out of {cluster_cidr}")
    return network, 1 << (mask - network.prefixlen)


def _subnet(network: _Network, index: int, mask: int) -> _Network:
    size = 1 << (network.max_prefixlen - mask)
    return ipaddress.ip_network((network.network_address + index * size, mask))


def node_pod_cidr(cluster_cidr: str, index: int, mask: int) -> str:
    """The `index`-th /`mask` subnet of `cluster_cidr` (10.244.0.0/16, 3, 24 → 10.244.3.0/24)."""
    network, count = _subnets(cluster_cidr, mask)
    if not 0 <= index < count:
        raise ValueError(f"{cluster_cidr} holds {count} /{mask} subnets, so there is no subnet {index}")
    return str(_subnet(network, index, mask))


def first_free_subnet(cluster_cidr: str, mask: int, used: Iterable[str] | None = ()) -> str | None:
    """The lowest /`mask` subnet of `cluster_cidr` that overlaps none of `used`, or None."""
    return next(free_subnets(cluster_cidr, mask, used), None)


def free_subnets(cluster_cidr: str, mask: int, used: Iterable[str] | None = ()) -> Iterator[str]:
    """The /`mask` subnets of `cluster_cidr` that overlap none of `used`, lowest first.

    Each used network marks the run of subnet indexes it overlaps, so the cost
    grows with the used networks and the subnets walked, not their product.
    """
    network, count = _subnets(cluster_cidr, mask)
    size = 1 << (network.max_prefixlen - mask)
    base = int(network.network_address)
    taken: set[int] = set()
    for cidr in used or ():
        if not cidr:
            continue
        other = _network(cidr)
        if other.version != network.version or not other.overlaps(network):
            continue
        first = max(int(other.network_address) - base, 0) // size
        last = min(int(other.broadcast_address) - base, count * size - 1) // size
        taken.update(range(first, last + 1))
    for index in range(count):
        if index not in taken:
            yield str(_subnet(network, index, mask))


def first_free_port(lo: int, hi: int, used: Iterable[int] | None = ()) -> int | None:
    """The lowest port in ``lo..hi`` (both included) not in `used`, or None."""
    taken = {int(port) for port in used or () if port is not None}
    for port in range(int(lo), int(hi) + 1):
        if port not in taken:
            return port
    return None
