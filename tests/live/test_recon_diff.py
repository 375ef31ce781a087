"""`recon diff DIR`: what applying the folder would change, downstream effects included; nothing is written."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from live_helpers import RULES, config_map, make_folder, pods, recon, state_of, web


@pytest.fixture(scope="module")
def converged(tmp_path_factory) -> Path:
    """A folder where `recon up --once` has run (copied by each test that uses it)."""
    root = tmp_path_factory.mktemp("converged")
    make_folder(root)
    recon("up", "manifests", "--once", "--rules", str(RULES), cwd=root, check=0)
    return root


@pytest.fixture
def state(converged: Path, tmp_path: Path) -> Path:
    """The manifests folder of a fresh copy of `converged`, its state beside it."""
    shutil.copytree(converged, tmp_path / "copy")
    return tmp_path / "copy" / "manifests"


def diff(folder: Path, *args: str, check: int) -> str:
    return recon("diff", "manifests", "--rules", str(RULES), *args, cwd=folder.parent, check=check).stdout


def test_a_scale_up_shows_the_new_pods_and_the_nodes_they_would_run_on(state: Path):
    folder = state
    before = state_of(folder.parent)
    (folder / "web.yaml").write_text(web(4))
    plan = json.loads(diff(folder, "--json", check=1))
    [obj] = plan["objects"]
    assert obj["action"] == "configured" and obj["ref"] == "deployment.apps/web" and obj["source"] == "web.yaml"
    assert "-  replicas: 2\n+  replicas: 4" in obj["diff"]
    created = [p for p in plan["effects"]["pods"] if p["action"] == "created"]
    assert len(created) == 2 and all(p["owner"] == "deploy/web" for p in created)
    assert all(p["node"] in ("node-1", "node-2", "node-3") and p["phase"] == "Running" for p in created)
    assert plan["effects"]["endpoints"] == [{"object": "ep/web", "before": 2, "after": 4}]
    assert [r["after"] for r in plan["effects"]["routes"]] == [4]
    after = state_of(folder.parent)
    assert after.revision == before.revision  # nothing was written
    assert after.get(("apps", "Deployment", "default", "web"))["spec"]["replicas"] == 2


def test_the_text_plan_shows_the_yaml_diff_then_each_new_pod_and_its_node(state: Path):
    folder = state
    (folder / "web.yaml").write_text(web(3))
    out = diff(folder, check=1)
    assert out.startswith("deployment.apps/web configured (from web.yaml)\n--- live/deployment.apps/web\n")
    assert "+  replicas: 3" in out
    effects = out[out.index("downstream effects:"):].splitlines()
    assert any(line.startswith("  deploy/web scaled 2→3: +1 pod → node-") for line in effects)
    assert sum(1 for line in effects if line.startswith("  + pod/web-") and " → node-" in line) == 1
    assert "  ep/web: 2 → 3 addresses" in effects
    # each effect once: the counts only as before → after
    assert not any(line.startswith("  ep/web 3 addresses") or "→ 3 endpoints" in line and ":" not in line
                   for line in effects)
    assert len(effects) == len(set(effects))


def test_no_changes_exits_0_and_prints_nothing(state: Path):
    folder = state
    assert diff(folder, check=0) == ""


def test_a_new_file_and_a_removed_one_show_as_created_and_pruned(state: Path):
    folder = state
    (folder / "web.yaml").unlink()
    (folder / "settings.yaml").write_text(config_map("settings"))
    plan = json.loads(diff(folder, "--json", check=1))
    actions = {o["ref"]: o["action"] for o in plan["objects"]}
    assert actions == {"configmap/settings": "created", "deployment.apps/web": "pruned", "service/web": "pruned"}
    deleted = [p for p in plan["effects"]["pods"] if p["action"] == "deleted"]
    assert len(deleted) == 2 and {p["owner"] for p in deleted} == {"deploy/web"}


def test_a_broken_file_exits_2_with_its_position(state: Path):
    folder = state
    (folder / "web.yaml").write_text(web(3).replace("replicas: 3", "replicas: [3"))
    proc = recon("diff", "manifests", "--rules", str(RULES), cwd=folder.parent, check=2)
    assert "manifests/web.yaml:7:11: YAML syntax error" in proc.stderr and "Traceback" not in proc.stderr


def test_an_object_defined_again_in_a_new_file_is_an_error_and_not_in_the_plan(state: Path):
    folder = state
    (folder / "web.yaml").write_text(web(3))
    (folder / "aa.yaml").write_text(web(2).split("---\n")[1].replace("port: 80", "port: 81"))
    proc = recon("diff", "manifests", "--json", "--rules", str(RULES), cwd=folder.parent, check=2)
    plan = json.loads(proc.stdout)
    assert [o["ref"] for o in plan["objects"]] == ["deployment.apps/web"]  # the Service stays as it is
    [error] = plan["errors"]
    assert error["path"].endswith("manifests/aa.yaml") and "defined twice" in error["message"]
    assert error["text"].startswith("manifests/aa.yaml:4:9: service/web in namespace default is defined twice")


def test_diff_without_a_state_plans_the_whole_folder(folder: Path):
    plan = json.loads(diff(folder, "--json", check=1))
    assert {o["action"] for o in plan["objects"]} == {"created"}
    assert len([p for p in plan["effects"]["pods"] if p["action"] == "created"]) == 2
    assert not (folder.parent / ".recon").exists()


def test_up_dry_run_shows_the_same_plan(state: Path):
    folder = state
    (folder / "web.yaml").write_text(web(3))
    out = recon("up", "manifests", "--dry-run", "--rules", str(RULES), cwd=folder.parent, check=0).stdout
    assert "deployment.apps/web configured (dry run)" in out and "+1 pod → node-" in out


def test_diff_without_a_state_predicts_the_pods_up_then_creates(folder: Path):
    plan = json.loads(diff(folder, "--json", check=1))
    predicted = sorted((p["ref"], p["node"]) for p in plan["effects"]["pods"] if p["action"] == "created")
    recon("up", "manifests", "--once", "--rules", str(RULES), cwd=folder.parent, check=0)
    made = sorted((f"pod/{p['metadata']['name']}", p["spec"]["nodeName"]) for p in pods(state_of(folder.parent)))
    assert len(predicted) == 2 and predicted == made


def test_a_new_file_defining_an_object_of_a_broken_file_is_an_error_and_not_in_the_plan(state: Path):
    folder = state
    (folder / "web.yaml").write_text(web(3).replace("replicas: 3", "replicas: [3"))
    (folder / "aa.yaml").write_text(web(2).split("---\n")[1].replace("port: 80", "port: 81"))
    proc = recon("diff", "manifests", "--json", "--rules", str(RULES), cwd=folder.parent, check=2)
    plan = json.loads(proc.stdout)
    assert plan["objects"] == []  # the Service is neither taken over nor pruned
    held = next(e for e in plan["errors"] if e["path"].endswith("manifests/aa.yaml"))
    assert held["text"].startswith("manifests/aa.yaml:4:9: service/web in namespace default is defined in "
                                   "manifests/web.yaml, which has an error (line 7): fix that first")
    out = recon("up", "manifests", "--dry-run", "--rules", str(RULES), cwd=folder.parent, check=None)
    assert "service/web" not in out.stdout and "manifests/aa.yaml:4:9: service/web" in out.stdout + out.stderr
