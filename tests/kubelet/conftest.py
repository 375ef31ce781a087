"""Fixtures for the kubelet and node lifecycle tests (helpers live in kubelet_helpers.py)."""

from __future__ import annotations

import pytest

from kubelet_helpers import KubeletCluster


@pytest.fixture
def kc(tmp_path) -> KubeletCluster:
    """A cluster running the kubelet and the node lifecycle controller."""
    c = KubeletCluster(tmp_path)
    c.load("kubelet", "node-lifecycle")
    return c
