"""Fixtures: a state folder where the example cluster has run."""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import copy_example, recon


@pytest.fixture(scope="module")
def example(tmp_path_factory) -> Path:
    """A folder where `recon up manifests --once` has run on the example cluster (read-only use)."""
    root = tmp_path_factory.mktemp("example")
    copy_example(root)
    recon("up", "manifests", "--once", cwd=root, check=0)
    return root
