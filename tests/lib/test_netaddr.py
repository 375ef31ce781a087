"""IP and port allocation primitives."""

import pytest

from engine.netaddr import (
    cidr_contains,
    cidr_host,
    first_free_ip,
    first_free_port,
    first_free_subnet,
    node_pod_cidr,
)


@pytest.mark.parametrize("cidr, n, expected", [
    ("10.96.0.0/12", 1, "10.96.0.1"), ("10.96.0.0/12", 10, "10.96.0.10"),
    ("10.12.112.0/20", 16, "10.12.112.16"), ("10.12.112.0/20", 268, "10.12.113.12"),
    ("10.12.112.0/20", -2, "10.12.127.254"), ("fd00::/64", 5, "fd00::5"), ("10.0.0.7/24", 0, "10.0.0.0"),
])
def test_cidr_host_counts_from_the_network_address(cidr, n, expected):
    assert cidr_host(cidr, n) == expected


@pytest.mark.parametrize("cidr, n", [("10.0.0.0/30", 4), ("10.0.0.0/30", -5)])
def test_cidr_host_refuses_numbers_outside_the_network(cidr, n):
    with pytest.raises(ValueError, match="has no host number"):
        cidr_host(cidr, n)


def test_a_malformed_cidr_is_refused_with_its_text():
    with pytest.raises(ValueError, match="invalid CIDR 'nonsense'"):
        cidr_host("nonsense", 1)


def test_first_free_ip_skips_network_gateway_and_used_addresses():
    assert first_free_ip("10.244.1.0/24", []) == "10.244.1.2"
    assert first_free_ip("10.244.1.0/24", ["10.244.1.2", None, "", "10.244.1.3"]) == "10.244.1.4"


def test_first_free_ip_without_skipping_the_gateway_starts_at_the_first_host():
    assert first_free_ip("10.96.0.0/12", [], skip_network_and_gateway=False) == "10.96.0.1"


def test_first_free_ip_never_hands_out_the_broadcast_address():
    used = [f"10.0.0.{i}" for i in range(2, 6)]
    assert first_free_ip("10.0.0.0/29", used) == "10.0.0.6"
    assert first_free_ip("10.0.0.0/29", used + ["10.0.0.6"]) is None


def test_first_free_ip_works_for_ipv6():
    assert first_free_ip("fd00::/120", ["fd00::2"]) == "fd00::3"


def test_point_to_point_networks_use_every_address():
    assert first_free_ip("10.0.0.0/31", [], skip_network_and_gateway=False) == "10.0.0.0"
    assert first_free_ip("10.0.0.4/32", [], skip_network_and_gateway=False) == "10.0.0.4"


@pytest.mark.parametrize("cluster, index, mask, expected", [
    ("10.244.0.0/16", 0, 24, "10.244.0.0/24"), ("10.244.0.0/16", 3, 24, "10.244.3.0/24"),
    ("10.244.0.0/16", 255, 24, "10.244.255.0/24"), ("10.0.0.0/8", 1, 16, "10.1.0.0/16"),
    ("10.244.0.0/16", 1, 25, "10.244.0.128/25"), ("fd00:10:244::/56", 2, 64, "fd00:10:244:2::/64"),
])
def test_node_pod_cidr_is_the_index_th_subnet(cluster, index, mask, expected):
    assert node_pod_cidr(cluster, index, mask) == expected


def test_node_pod_cidr_refuses_indexes_past_the_end_and_masks_too_short():
    with pytest.raises(ValueError, match="holds 256 /24 subnets"):
        node_pod_cidr("10.244.0.0/16", 256, 24)
    with pytest.raises(ValueError, match="cannot cut /8 subnets"):
        node_pod_cidr("10.244.0.0/16", 0, 8)


def test_first_free_subnet_skips_overlapping_subnets():
    used = ["10.244.0.0/24", "10.244.1.0/24", None, ""]
    assert first_free_subnet("10.244.0.0/16", 24, used) == "10.244.2.0/24"
    assert first_free_subnet("10.244.0.0/16", 24, ["10.244.0.0/23"]) == "10.244.2.0/24"
    assert first_free_subnet("10.244.0.0/23", 24, ["10.244.0.0/24", "10.244.1.0/24"]) is None


def test_cidr_contains_checks_membership():
    assert cidr_contains("10.96.0.0/12", "10.96.0.10")
    assert not cidr_contains("10.96.0.0/12", "10.112.0.1")
    assert not cidr_contains("10.96.0.0/12", "fd00::1")


def test_first_free_port_is_the_lowest_unused_port_in_the_inclusive_range():
    assert first_free_port(30000, 32767, []) == 30000
    assert first_free_port(30000, 32767, [30000, 30001, None]) == 30002
    assert first_free_port(80, 81, [80, 81]) is None
    assert first_free_port(80, 80, []) == 80
