"""`recon up` follows the folder: each settled batch of real file operations is one applied change."""

from __future__ import annotations

import json
import os
from pathlib import Path

from live_helpers import config_map, pods, recon, state_of, web


def test_editing_a_manifest_scales_the_deployment_and_reports_the_new_pods(live, folder: Path):
    up = live()
    (folder / "web.yaml").write_text(web(4))
    event = up.applied("web.yaml")
    assert event["changes"] == [{"action": "configured", "object": "deployment.apps/web", "source": "web.yaml"}]
    first, last = event["revisions"]
    assert first <= last
    line = next(s for s in event["summary"] if s.startswith("deploy/web"))
    assert line.startswith("deploy/web scaled 2→4: +2 pods → node-") and line.endswith("Running")
    assert [p["owner"] for p in event["pods"]] == ["deploy/web", "deploy/web"]
    assert all(p["node"].startswith("node-") and p["phase"] == "Running" for p in event["pods"])
    assert "ep/web 4 addresses" in event["summary"]
    assert event["converged"] and not event["errors"]
    deploy = json.loads(recon("get", "deploy", "web", "-o", "json", cwd=folder.parent, check=0).stdout)
    assert deploy["spec"]["replicas"] == 4
    assert sorted(p["status"]["phase"] for p in pods(state_of(folder.parent))) == ["Running"] * 4


def test_adding_a_file_creates_its_objects_and_deleting_it_prunes_them(live, folder: Path):
    up = live()
    (folder / "settings.yaml").write_text(config_map("settings"))
    event = up.applied("settings.yaml")
    assert {"action": "created", "object": "configmap/settings", "source": "settings.yaml"} in event["changes"]
    assert state_of(folder.parent).get(("", "ConfigMap", "default", "settings")) is not None
    (folder / "settings.yaml").unlink()
    event = up.applied("settings.yaml")
    assert event["changes"] == [{"action": "pruned", "object": "configmap/settings", "source": "settings.yaml"}]
    snapshot = state_of(folder.parent)
    assert snapshot.get(("", "ConfigMap", "default", "settings")) is None
    assert snapshot.get(("apps", "Deployment", "default", "web")) is not None  # nothing else pruned


def test_a_broken_file_is_reported_and_keeps_its_last_good_version_until_it_is_fixed(live, folder: Path):
    up = live()
    broken = web(5).replace("replicas: 5", "replicas: [5")
    (folder / "web.yaml").write_text(broken)
    (folder / "other.yaml").write_text(config_map("other"))
    event = up.applied("web.yaml", "other.yaml")
    [error] = event["errors"]
    assert error["path"].endswith("manifests/web.yaml") and error["line"] in (6, 7) and error["col"] >= 1
    assert "YAML syntax error" in error["message"] and error["source"] is not None
    assert event["changes"] == [{"action": "created", "object": "configmap/other", "source": "other.yaml"}]
    snapshot = state_of(folder.parent)
    assert snapshot.get(("apps", "Deployment", "default", "web"))["spec"]["replicas"] == 2  # last good version
    assert snapshot.get(("", "Service", "default", "web")) is not None  # not pruned
    (folder / "web.yaml").write_text(web(5))
    event = up.applied("web.yaml")
    assert not event["errors"]
    assert any(s.startswith("deploy/web scaled 2→5") for s in event["summary"])
    assert len(pods(state_of(folder.parent))) == 5


def test_an_object_that_is_not_valid_is_reported_at_its_field(live, folder: Path):
    up = live()
    (folder / "web.yaml").write_text(web(-1))
    event = up.applied("web.yaml")
    [error] = event["errors"]
    assert error["line"] == 6 and "replicas" in error["message"]
    assert state_of(folder.parent).get(("apps", "Deployment", "default", "web"))["spec"]["replicas"] == 2


def test_renaming_a_file_keeps_its_objects(live, folder: Path):
    up = live()
    uid = state_of(folder.parent).get(("apps", "Deployment", "default", "web"))["metadata"]["uid"]
    (folder / "web.yaml").rename(folder / "app.yaml")
    event = up.applied("app.yaml")
    assert not any(c["action"] == "pruned" for c in event["changes"])
    deploy = state_of(folder.parent).get(("apps", "Deployment", "default", "web"))
    assert deploy["metadata"]["uid"] == uid
    assert deploy["metadata"]["annotations"]["recon.dev/source"] == "app.yaml"
    assert len(pods(state_of(folder.parent))) == 2


def test_saving_through_a_temporary_file_and_a_rename_is_one_change(live, folder: Path):
    up = live()
    temp = folder / ".web.yaml.swp-1234"
    temp.write_text(web(3))
    os.replace(temp, folder / "web.yaml")
    event = up.applied("web.yaml")
    assert event["files"] == ["web.yaml"]
    assert any(s.startswith("deploy/web scaled 2→3") for s in event["summary"])
    assert len(pods(state_of(folder.parent))) == 3


def test_a_burst_of_fifty_files_is_applied_in_one_change(live, folder: Path):
    up = live()
    (folder / "many").mkdir()
    for i in range(50):
        (folder / "many" / f"cm-{i:02d}.yaml").write_text(config_map(f"cm-{i:02d}"))
    batches = []
    while sum(len(b["changes"]) for b in batches) < 50:
        batches.append(up.wait(lambda e: e["event"] == "applied" and e["trigger"] == "files"))
    assert len(batches) <= 2  # one, unless the machine paused longer than the debounce mid-burst
    created = sorted(c["object"] for b in batches for c in b["changes"])
    assert created == [f"configmap/cm-{i:02d}" for i in range(50)]
    assert len(state_of(folder.parent).list("", "ConfigMap", "default")) >= 50


def test_a_file_defining_a_live_object_again_is_reported_and_changes_nothing_until_removed(live, folder: Path):
    up = live()
    before = state_of(folder.parent).get(("", "Service", "default", "web"))
    (folder / "aa.yaml").write_text(web(2).split("---\n")[1].replace("port: 80", "port: 81"))
    event = up.applied("aa.yaml")
    [error] = event["errors"]
    assert error["path"].endswith("manifests/aa.yaml") and (error["line"], error["col"]) == (4, 9)
    assert "service/web in namespace default is defined twice: also at" in error["message"]
    assert "manifests/web.yaml:22:9;" in error["message"]
    assert error["source"] == "  name: web"
    assert event["changes"] == []  # (unchanged objects are not listed)
    assert state_of(folder.parent).get(("", "Service", "default", "web")) == before
    (folder / "aa.yaml").unlink()
    event = up.applied("aa.yaml")
    assert not event["errors"] and event["changes"] == []
    assert state_of(folder.parent).get(("", "Service", "default", "web")) == before


def test_a_new_file_cannot_take_over_an_object_of_a_broken_file_until_it_is_fixed(live, folder: Path):
    up = live()
    before = state_of(folder.parent).get(("", "Service", "default", "web"))
    (folder / "web.yaml").write_text(web(2).replace("replicas: 2", "replicas: [2"))
    up.applied("web.yaml")
    (folder / "aa.yaml").write_text(web(2).split("---\n")[1].replace("port: 80", "port: 81"))
    event = up.applied("aa.yaml")
    [error] = [e for e in event["errors"] if e["path"].endswith("manifests/aa.yaml")]
    assert (error["line"], error["col"]) == (4, 9) and error["source"] == "  name: web"
    assert "service/web in namespace default is defined in " in error["message"]
    assert "manifests/web.yaml, which has an error (line " in error["message"]
    assert event["changes"] == []
    assert state_of(folder.parent).get(("", "Service", "default", "web")) == before
    (folder / "web.yaml").write_text(web(2).split("---\n")[0])  # fixed, without the Service: it moved
    event = up.applied("web.yaml")
    assert not event["errors"]
    assert {"action": "configured", "object": "service/web", "source": "aa.yaml"} in event["changes"]
    service = state_of(folder.parent).get(("", "Service", "default", "web"))
    assert service["spec"]["ports"][0]["port"] == 81 and service["metadata"]["annotations"]["recon.dev/source"] == "aa.yaml"
