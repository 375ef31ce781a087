"""Fixtures: a small manifests folder, and `recon up --json` running on it."""

from __future__ import annotations

from pathlib import Path

import pytest

from live_helpers import LiveRecon, make_folder


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """manifests/ with three nodes and a Deployment `web` of 2 replicas behind a Service."""
    return make_folder(tmp_path)


@pytest.fixture
def live(folder: Path):
    """Start `recon up` on `folder` (call it), wait until it is ready; killed at the end if still running."""
    started: list[LiveRecon] = []

    def start(*extra: str) -> LiveRecon:
        running = LiveRecon(folder.parent, *extra)
        started.append(running)
        running.ready()
        return running

    yield start
    for running in started:
        running.close()
