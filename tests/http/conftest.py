"""Fixtures: a live `recon up --serve --port 0` on loopback, and real kubectl pointed at it."""

from __future__ import annotations

import pytest
from http_live import Live, start, stop


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> Live:
    """The example cluster running with the HTTP API (shared by a module's tests; each uses its own names)."""
    server = start(tmp_path_factory.mktemp("live"))
    yield server
    stop(server)


@pytest.fixture(autouse=True)
def _server_still_running(request):
    """A test during which the module's server died fails with what the server wrote last."""
    yield
    if "live" in request.fixturenames:
        died = request.getfixturevalue("live").died()
        assert died is None, died
