"""Stopping `recon up` flushes everything; starting again applies what changed meanwhile."""

from __future__ import annotations

import json
from pathlib import Path

from live_helpers import RULES, LiveRecon, config_map, pods, recon, state_of, web


def test_sigterm_stops_cleanly_and_a_restart_applies_the_edits_made_meanwhile(live, folder: Path):
    up = live()
    assert up.stop() == 0
    stopped = up.seen[-1] if up.seen[-1]["event"] == "stopped" else up.wait(lambda e: e["event"] == "stopped")
    assert stopped["revision"] == state_of(folder.parent).revision
    uid = state_of(folder.parent).get(("apps", "Deployment", "default", "web"))["metadata"]["uid"]
    (folder / "web.yaml").write_text(web(3))
    (folder / "settings.yaml").write_text(config_map("settings"))
    again = live()
    start = next(e for e in again.seen if e["event"] == "applied" and e["trigger"] == "start")
    assert {c["object"]: c["action"] for c in start["changes"]} == {
        "deployment.apps/web": "configured", "configmap/settings": "created"}
    assert start["revisions"][0] == stopped["revision"] + 1  # continues the history
    snapshot = state_of(folder.parent)
    assert snapshot.get(("apps", "Deployment", "default", "web"))["metadata"]["uid"] == uid
    assert len(pods(snapshot)) == 3
    assert again.stop() == 0


def test_json_events_describe_the_start_and_the_converged_cluster(live, folder: Path):
    up = live()
    start = up.seen[0]
    assert start["event"] == "start" and start["folder"] == "manifests" and start["state"] == ".recon"
    ready = up.seen[-1]
    assert ready["objects"]["Node"] == 3 and ready["objects"]["Deployment"] == 1
    assert ready["pods"]["Running"] == 2 and ready["pods"]["Pending"] == 0
    assert ready["elapsed"] >= 0


def test_quiet_output_shows_errors_only(tmp_path: Path, folder: Path):
    (folder / "bad.yaml").write_text("kind: [\n")
    up = LiveRecon(tmp_path, "-q", json_lines=False)
    try:
        up.wait_stderr(lambda text: "manifests/bad.yaml:1:8: YAML syntax error" in text)  # (just past `kind: [`)
        assert up.stop() == 0
        assert up.proc.stdout.read() == ""  # nothing but errors
        assert "recon is running" not in "".join(up.stderr)
    finally:
        up.close()


def test_a_live_run_on_a_state_a_once_run_made_keeps_its_events_for_an_hour(live, folder: Path):
    root = folder.parent
    recon("up", "manifests", "--once", "--rules", str(RULES), cwd=root, check=0)  # simulated: 2026-01-01
    events = sorted(e["metadata"]["name"] for e in state_of(root).list("", "Event", "default"))
    assert events  # (the Deployment's, its ReplicaSet's and the scheduler's)
    up = live()  # the machine's clock: later than the Events' hour, but the hour counts from the start
    start = next(e for e in up.seen if e["event"] == "applied" and e["trigger"] == "start")
    assert start["revisions"] is None  # nothing changed: nothing written
    assert sorted(e["metadata"]["name"] for e in state_of(root).list("", "Event", "default")) == events
    # how its clock reads, for `recon get`'s ages meanwhile: the machine's (the state is behind it)
    assert json.loads((root / ".recon" / "clock").read_text()) == {"lead": 0.0}
    assert up.stop() == 0
    assert not (root / ".recon" / "clock").exists()


def test_quiet_output_leaves_out_the_warnings(tmp_path: Path, folder: Path):
    # the quota refuses one of web's two pods: a warning (the ReplicaSet retries), not an error
    (folder / "quota.yaml").write_text('apiVersion: v1\nkind: ResourceQuota\nmetadata:\n  name: pods\n'
                                       'spec:\n  hard:\n    pods: "1"\n')
    (folder / "bad.yaml").write_text("kind: [\n")
    up = LiveRecon(tmp_path, "-q", json_lines=False)
    try:
        up.wait_stderr(lambda text: "manifests/bad.yaml:1:8: YAML syntax error" in text)
        assert up.stop() == 0  # (the start's whole report is out: it is one change)
        assert len(pods(state_of(tmp_path))) == 1
        assert up.proc.stdout.read() == ""
        assert not [line for line in "".join(up.stderr).splitlines() if line.startswith("warning:")]
    finally:
        up.close()
