"""`recon up`: apply a folder, rerun after edits, prune, survive broken files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from .helpers import REPO, copy_example, recon


def get_json(cwd: Path, *args: str) -> dict:
    return json.loads(recon("get", *args, "-o", "json", cwd=cwd, check=0).stdout)


def names(cwd: Path, *args: str) -> list[str]:
    return recon("get", *args, "-o", "name", cwd=cwd, check=0).stdout.split()


def test_up_once_applies_the_example_and_reports_each_object(tmp_path):
    copy_example(tmp_path)
    out = recon("up", "manifests", "--once", cwd=tmp_path, check=0).stdout
    for line in ("namespace/demo created", "node/node-1 created", "deployment.apps/web created", "service/web created"):
        assert line in out
    assert (tmp_path / ".recon").is_dir()
    node = get_json(tmp_path, "node", "node-3")
    assert node["metadata"]["labels"]["topology.kubernetes.io/zone"] == "zone-b"
    assert node["status"]["capacity"] == {"cpu": "4", "memory": "8Gi", "pods": "110", "ephemeral-storage": "50Gi"}


def test_rerun_with_no_edits_changes_nothing(tmp_path):
    copy_example(tmp_path)
    recon("up", "manifests", "--once", cwd=tmp_path, check=0)
    out = recon("up", "manifests", "--once", cwd=tmp_path, check=0).stdout
    assert "created" not in out and "configured" not in out
    assert "deployment.apps/web unchanged" in out


def test_rerun_after_an_edit_continues_from_the_saved_state_and_clock(tmp_path):
    folder = copy_example(tmp_path)
    recon("up", "manifests", "--once", cwd=tmp_path, check=0)
    before = get_json(tmp_path, "ns", "demo")
    web = folder / "web.yaml"
    web.write_text(web.read_text().replace("replicas: 3", "replicas: 5"))
    out = recon("up", "manifests", "--once", cwd=tmp_path, check=0).stdout
    assert "deployment.apps/web configured" in out and "namespace/demo unchanged" in out
    after = get_json(tmp_path, "ns", "demo")
    assert after["metadata"]["uid"] == before["metadata"]["uid"]
    assert after["metadata"]["creationTimestamp"] == before["metadata"]["creationTimestamp"]
    assert get_json(tmp_path, "deploy", "web", "-n", "demo")["spec"]["replicas"] == 5


def test_deleting_a_file_prunes_its_objects_only(tmp_path):
    folder = copy_example(tmp_path)
    recon("up", "manifests", "--once", cwd=tmp_path, check=0)
    (folder / "web.yaml").unlink()
    out = recon("up", "manifests", "--once", cwd=tmp_path, check=0).stdout
    assert "deployment.apps/web pruned" in out and "service/web pruned" in out
    assert "web" not in " ".join(names(tmp_path, "deploy,svc", "-n", "demo"))
    assert names(tmp_path, "no") == ["node/node-1", "node/node-2", "node/node-3"]
    assert "namespace/default" in names(tmp_path, "ns")  # never came from the folder


def test_broken_manifest_is_reported_with_position_and_keeps_the_last_good_version(tmp_path):
    folder = copy_example(tmp_path)
    recon("up", "manifests", "--once", cwd=tmp_path, check=0)
    web = folder / "web.yaml"
    lines = web.read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if "replicas: 3" in line)
    lines[at] = "  replicas: [5"
    web.write_text("\n".join(lines) + "\n")
    (folder / "extra.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n  namespace: demo\n")
    proc = recon("up", "manifests", "--once", cwd=tmp_path, check=1)
    assert f"manifests/web.yaml:{at + 2}:" in proc.stderr or f"manifests/web.yaml:{at + 1}:" in proc.stderr
    assert "YAML syntax error" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert "configmap/extra created" in proc.stdout  # the rest of the batch is applied
    assert "pruned" not in proc.stdout  # nothing of the broken file is pruned
    assert get_json(tmp_path, "deploy", "web", "-n", "demo")["spec"]["replicas"] == 3
    assert "service/web" in names(tmp_path, "svc", "-n", "demo")


def test_invalid_object_is_reported_at_its_field(tmp_path):
    folder = copy_example(tmp_path)
    web = folder / "web.yaml"
    web.write_text(web.read_text().replace("replicas: 3", "replicas: -1"))
    proc = recon("up", "manifests", "--once", cwd=tmp_path, check=1)
    line = next(i for i, text in enumerate(web.read_text().splitlines(), 1) if "replicas: -1" in text)
    assert f"manifests/web.yaml:{line}:" in proc.stderr and "spec.replicas" in proc.stderr
    assert "replicas: -1" in proc.stderr  # the source line
    assert "service/web" not in proc.stdout  # the file is applied not at all


def test_an_unknown_field_is_reported_at_its_key_as_the_live_loop_reports_it(tmp_path):
    folder = copy_example(tmp_path)
    web = folder / "web.yaml"
    web.write_text(web.read_text().replace("replicas: 3", "replcas: 3"))
    (folder / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: demo}\nx:\n")
    proc = recon("up", "manifests", "--once", cwd=tmp_path, check=1)
    line, text = next((i, t) for i, t in enumerate(web.read_text().splitlines(), 1) if "replcas: 3" in t)
    col = text.index("replcas") + 1
    assert (f'error: manifests/web.yaml:{line}:{col}: unknown field "spec.replcas"\n    {text}\n'
            f"    {' ' * (col - 1)}^\n") in proc.stderr
    assert 'error: manifests/cm.yaml:4:1: unknown field "x"\n    x:\n    ^\n' in proc.stderr
    assert "  web.yaml: not applied; its last good version stays\n" in proc.stderr


def test_the_same_object_in_two_files_names_both_places(tmp_path):
    folder = copy_example(tmp_path)
    (folder / "zz-copy.yaml").write_text((folder / "demo.yaml").read_text())
    proc = recon("up", "manifests", "--once", cwd=tmp_path, check=1)
    assert "manifests/zz-copy.yaml:5:9:" in proc.stderr
    assert "namespace/demo is defined twice: also at manifests/demo.yaml:5:9;" in proc.stderr


def test_unknown_kind_in_a_manifest_points_at_the_kind(tmp_path):
    folder = copy_example(tmp_path)
    (folder / "typo.yaml").write_text("apiVersion: apps/v1\nkind: Deploymnet\nmetadata:\n  name: x\n")
    proc = recon("up", "manifests", "--once", cwd=tmp_path, check=1)
    assert 'manifests/typo.yaml:2:7: no matches for kind "Deploymnet"' in proc.stderr
    assert "kind: Deploymnet" in proc.stderr


def test_usage_errors_exit_2(tmp_path):
    proc = recon("up", "--until", "soon", cwd=tmp_path, check=2)
    assert "invalid --until" in proc.stderr and "recon up -h" in proc.stderr
    recon("frobnicate", cwd=tmp_path, check=2)


def test_missing_manifests_folder_is_an_error(tmp_path):
    proc = recon("up", "nowhere", "--once", cwd=tmp_path, check=1)
    assert "nowhere: no such manifests folder" in proc.stderr


def test_dry_run_changes_nothing(tmp_path):
    copy_example(tmp_path)
    out = recon("up", "manifests", "--dry-run", cwd=tmp_path, check=0).stdout
    assert "deployment.apps/web created (dry run)" in out
    assert not (tmp_path / ".recon").exists()


def test_get_works_while_recon_up_is_running(tmp_path):
    copy_example(tmp_path)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "engine.cli", "up", "manifests"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 120
        while "recon is running" not in proc.stderr.readline():
            assert proc.poll() is None and time.monotonic() < deadline, "recon up did not start"
        assert names(tmp_path, "no") == ["node/node-1", "node/node-2", "node/node-3"]
        second = recon("up", "manifests", "--once", cwd=tmp_path, check=1)
        assert "another recon process is writing this state folder" in second.stderr
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0


def test_without_a_manifests_folder_the_bundled_example_runs(tmp_path):
    out = recon("up", "--once", cwd=tmp_path, check=0).stdout
    assert "deployment.apps/web created" in out
    assert names(tmp_path, "no") == ["node/node-1", "node/node-2", "node/node-3"]


def test_the_bundled_defaults_are_the_repository_folders(tmp_path):
    code = "from engine.cli import bundled; print(bundled('manifests').resolve()); print(bundled('rules').resolve())"
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert proc.stdout.split() == [str((REPO / "manifests").resolve()), str((REPO / "rules").resolve())]


def test_recon_without_a_command_shows_help_and_exits_2(tmp_path):
    proc = recon(cwd=tmp_path, check=2)
    assert "recon up manifests --once" in proc.stderr


def test_a_corrupt_state_folder_is_a_clear_error(tmp_path):
    copy_example(tmp_path)
    recon("up", "manifests", "--once", cwd=tmp_path, check=0)
    (tmp_path / ".recon" / "FORMAT").write_text("something else\n")
    for args in (["get", "pods"], ["up", "manifests", "--once"]):
        proc = recon(*args, cwd=tmp_path, check=1)
        assert proc.stderr.startswith("error: .recon/FORMAT: ") and "Traceback" not in proc.stderr


def test_a_folder_that_is_not_a_state_folder_is_refused(tmp_path):
    copy_example(tmp_path)
    proc = recon("up", "manifests", "--once", "--state", "manifests", cwd=tmp_path, check=1)
    assert "is not empty and has no FORMAT file" in proc.stderr


def test_a_broken_rule_file_is_reported_with_its_position(tmp_path):
    copy_example(tmp_path)
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "broken.rules").write_text("this is not a rule\n")
    proc = recon("up", "manifests", "--once", cwd=tmp_path, check=1)
    assert proc.stderr.startswith("rules/broken.rules:1:") and "Traceback" not in proc.stderr


def test_a_start_refused_for_a_broken_rule_file_writes_no_revision(tmp_path):
    copy_example(tmp_path)
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "broken.rules").write_text("this is not a rule\n")
    recon("up", "manifests", "--once", cwd=tmp_path, check=1)
    assert "the history is empty" in recon("history", cwd=tmp_path, check=0).stderr
