"""Drift is reported once per change and names the writer that changed the field (in process, with the rules)."""

from __future__ import annotations

import io
import json
from pathlib import Path

from engine.access import Actor
from engine.cluster import Cluster
from engine.live import Live
from engine.report import Reporter
from engine.store import Store
from live_helpers import RULES

ADMIN = Actor("kubernetes-admin", "user", None)
CONTROLLER = Actor("deployment-controller", "component", None)
WEB = ("apps", "Deployment", "default", "web")


def _live(folder: Path, rules: Path | None) -> Live:
    out = io.StringIO()
    live = Live(Cluster(Store(), rules, simulated=True), folder, Reporter(json_lines=True, out=out), quiet=0.0)
    live.out = out
    live.start()
    live.out.seek(0)
    live.out.truncate()
    return live


def _drifts(live: Live) -> list[dict]:
    return [obj for line in live.out.getvalue().splitlines() if (e := json.loads(line))["event"] == "drift"
            for obj in e["objects"]]


def test_a_status_write_after_a_drift_is_not_reported_as_changing_the_drifted_field(folder: Path):
    live = _live(folder, None)
    try:
        live.cluster.api.patch(ADMIN, *WEB, {"spec": {"replicas": 4}}, subresource="scale")
        for n in range(3):  # the controller reports progress on the still-drifted object
            live.cluster.api.patch(CONTROLLER, *WEB, {"status": {"observedGeneration": n + 1}}, subresource="status")
        live.step()
        assert _drifts(live) == [{"object": "deployment.apps/web", "actor": "kubernetes-admin",
                                  "fields": ["spec.replicas"]}]
    finally:
        live.close()


def test_a_second_writer_changing_the_drifted_field_again_is_named_too(folder: Path):
    live = _live(folder, None)
    try:
        live.cluster.api.patch(ADMIN, *WEB, {"spec": {"replicas": 4}})
        live.cluster.api.patch(Actor("someone", "user", None), *WEB, {"spec": {"replicas": 5}})
        live.step()
        assert [d["actor"] for d in _drifts(live)] == ["kubernetes-admin", "someone"]
    finally:
        live.close()


def test_kubectl_scale_of_a_folder_deployment_is_one_drift_by_its_writer_with_the_rules_running(folder: Path):
    live = _live(folder, RULES)
    try:
        with live.cluster.lock:
            live.cluster.api.patch(ADMIN, *WEB, {"spec": {"replicas": 4}}, subresource="scale")
            live.cluster.engine.run(until=live.cluster.clock.now())  # the controllers react before the loop's turn
        live.step()
        assert _drifts(live) == [{"object": "deployment.apps/web", "actor": "kubernetes-admin",
                                  "fields": ["spec.replicas"]}]
        assert live.cluster.store.head.get(WEB)["spec"]["replicas"] == 2
    finally:
        live.close()
