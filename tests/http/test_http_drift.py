"""Drift through the real API: kubectl changes a field the manifest owns; the live run restores it."""

from __future__ import annotations

import json
import time

from http_live import start, stop


def replicas(live) -> int:
    out = live.kubectl("get", "deploy", "web", "-n", "demo", "-o", "json").stdout
    return json.loads(out)["spec"]["replicas"]


def test_kubectl_scaling_a_manifest_owned_field_is_reported_as_drift_and_restored(tmp_path):
    live = start(tmp_path)
    try:
        live.kubectl("scale", "deploy/web", "-n", "demo", "--replicas=7")
        deadline = time.monotonic() + 30
        while replicas(live) != 3:
            assert time.monotonic() < deadline, "the manifest's replicas were not restored"
            time.sleep(0.2)
        # a field the manifest does not set is the user's to change: it stays
        live.kubectl("annotate", "deploy/web", "-n", "demo", "note=mine")
        time.sleep(1)
        out = live.kubectl("get", "deploy", "web", "-n", "demo", "-o", "json").stdout
        assert json.loads(out)["metadata"]["annotations"]["note"] == "mine"
    finally:
        code = stop(live)
    output = live.text()
    assert code == 0
    assert "drift: " in output and "deploy" in output and "restoring the manifest's version" in output
    assert "converged at revision" in output and "Running" in output  # the text-mode summary
    assert "Traceback" not in output
