"""What `recon up --once` and `--dry-run` print with -q and --json, and a reader that leaves early."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

from .helpers import REPO, copy_example, recon


def _broken(folder: Path) -> None:
    (folder / "broken.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [\n")


def test_once_quiet_prints_nothing_when_all_goes_well_and_the_errors_when_not(tmp_path):
    folder = copy_example(tmp_path)
    proc = recon("up", "manifests", "--once", "-q", cwd=tmp_path, check=0)
    assert proc.stdout == "" and proc.stderr == ""
    assert "deployment.apps/web" in recon("get", "deploy", "-n", "demo", "-o", "name", cwd=tmp_path, check=0).stdout
    _broken(folder)
    proc = recon("up", "manifests", "--once", "-q", cwd=tmp_path, check=1)
    assert proc.stdout == ""
    assert "manifests/broken.yaml:4:" in proc.stderr


def test_once_json_prints_one_event_per_line_as_the_live_loop_does(tmp_path):
    copy_example(tmp_path)
    proc = recon("up", "manifests", "--once", "--json", cwd=tmp_path, check=0)
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [e["event"] for e in events] == ["applied", "ready"]
    applied, ready = events
    assert {"action": "created", "object": "deployment.apps/web", "source": "web.yaml"} in applied["changes"]
    assert applied["converged"] is True and applied["errors"] == []
    assert ready["revision"] == applied["revisions"][1]
    assert ready["objects"]["Deployment"] >= 1


def test_once_json_reports_a_broken_file_in_its_event(tmp_path):
    _broken(copy_example(tmp_path))
    proc = recon("up", "manifests", "--once", "--json", cwd=tmp_path, check=1)
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    assert events[0]["event"] == "applied"
    assert any(e["path"].endswith("broken.yaml") for e in events[0]["errors"])


def test_dry_run_json_is_the_plan_on_one_line_and_quiet_shows_only_errors(tmp_path):
    copy_example(tmp_path)
    proc = recon("up", "manifests", "--dry-run", "--json", cwd=tmp_path, check=0)
    (line,) = proc.stdout.splitlines()
    plan = json.loads(line)
    assert plan["event"] == "plan"
    assert any(o["ref"] == "deployment.apps/web" and o["action"] == "created" for o in plan["objects"])
    assert recon("up", "manifests", "--dry-run", "-q", cwd=tmp_path, check=0).stdout == ""


def test_a_reader_that_leaves_early_gets_no_traceback(tmp_path):
    copy_example(tmp_path)
    recon("up", "manifests", "--once", "-q", cwd=tmp_path, check=0)
    last = recon("history", cwd=tmp_path, check=0).stdout.splitlines()[-1].split()[0]
    for args, code in ((["get", "all,events", "-A", "-o", "json"], 0), (["diff", "1", last], 1)):
        # (more than a pipe holds, so the reader leaves while the command still writes)
        assert len(recon(*args, cwd=tmp_path, check=code).stdout) > 65_536
        proc = subprocess.Popen([sys.executable, "-m", "engine.cli", *args], cwd=tmp_path,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        proc.stdout.readline()
        proc.stdout.close()  # as `| head -1` does
        err = proc.stderr.read().decode()
        assert proc.wait(timeout=60) == code, err  # (the answer, whether or not it was read)
        assert "Traceback" not in err and "BrokenPipe" not in err


PIN = """component pinner
  reads apps/Deployment
  writes apps/Deployment

rule pin for d in apps/Deployment where d.metadata.name == "web":
  when d.spec.replicas != 5:
    set d.spec.replicas = 5
"""


def _pinning_rules(tmp_path: Path) -> None:
    """The project's rules and one more that keeps deploy/web at 5 replicas (its manifest says 3)."""
    shutil.copytree(REPO / "rules", tmp_path / "rules")
    (tmp_path / "rules" / "pin.rules").write_text(PIN)


def test_once_warns_of_a_field_the_folder_sets_and_a_rule_changes_at_every_run(tmp_path):
    copy_example(tmp_path)
    _pinning_rules(tmp_path)
    warning = ("warning: deployment.apps/web: spec.replicas, which manifests/web.yaml sets, changed by pinner: "
               "the next run of the folder sets it back and pinner changes it again")
    for run in (1, 2):  # (the second run's apply sets 3 again: the turn the warning names)
        proc = recon("up", "manifests", "--rules", "rules", "--once", cwd=tmp_path, check=0)
        assert proc.stderr.splitlines().count(warning) == 1, proc.stderr
        assert ("deployment.apps/web configured" in proc.stdout) == (run == 2)
    got = recon("get", "deploy", "web", "-n", "demo", "-o", "json", cwd=tmp_path, check=0)
    assert json.loads(got.stdout)["spec"]["replicas"] == 5
    (tmp_path / "rules" / "pin.rules").unlink()  # the rule gone: the folder's 3 stays, nothing to warn of
    proc = recon("up", "manifests", "--rules", "rules", "--once", "-q", cwd=tmp_path, check=0)
    assert proc.stderr == ""


def test_once_json_sends_the_same_warning_as_an_event(tmp_path):
    copy_example(tmp_path)
    _pinning_rules(tmp_path)
    proc = recon("up", "manifests", "--rules", "rules", "--once", "--json", cwd=tmp_path, check=0)
    warnings = [e["message"] for e in map(json.loads, proc.stdout.splitlines()) if e["event"] == "warning"]
    assert warnings == ["deployment.apps/web: spec.replicas, which manifests/web.yaml sets, changed by pinner: "
                        "the next run of the folder sets it back and pinner changes it again"]


QUOTA = """\
apiVersion: v1
kind: ResourceQuota
metadata:
  name: pods
  namespace: demo
spec:
  hard:
    pods: "1"
"""


def test_once_quiet_leaves_out_the_warnings(tmp_path):
    # a quota that refuses the Deployment's pods (a warning, as a controller's retries would be) and
    # a rule that changes a field the folder sets (a warning): -q shows neither
    (copy_example(tmp_path) / "quota.yaml").write_text(QUOTA)
    _pinning_rules(tmp_path)
    loud = recon("up", "manifests", "--rules", "rules", "--once", "--state", "loud", cwd=tmp_path, check=0)
    assert "exceeded quota: pods" in loud.stderr and "changed by pinner" in loud.stderr
    quiet = recon("up", "manifests", "--rules", "rules", "--once", "-q", "--state", "quiet", cwd=tmp_path, check=0)
    assert quiet.stdout == "" and quiet.stderr == ""


def test_once_quiet_shows_a_failing_rule_as_the_error_it_is(tmp_path):
    copy_example(tmp_path)
    _pinning_rules(tmp_path)
    (tmp_path / "rules" / "pin.rules").write_text(PIN.replace("set d.spec.replicas = 5",
                                                                "set d.spec.replicas = d.spec.replicas + \"x\""))
    proc = recon("up", "manifests", "--rules", "rules", "--once", "-q", cwd=tmp_path, check=1)
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert lines[0].startswith("error: rules/pin.rules:7:") and "rule pinner/pin failed on apps/Deployment demo/web" in lines[0]
    assert lines[-1].startswith("error: did not converge: 1 rule still failing (pinner/pin)")
    assert not any(line.startswith("warning:") for line in lines)


def test_a_quota_refusal_names_the_objects_of_the_folder_not_the_bundled_rule(tmp_path):
    (copy_example(tmp_path) / "quota.yaml").write_text(QUOTA)
    proc = recon("up", "manifests", "--once", cwd=tmp_path, check=0)  # (the rules bundled with recon)
    refused = [line for line in proc.stderr.splitlines() if "exceeded quota" in line]
    web = next(line for line in refused if "of deployment.apps/web " in line)
    assert re.fullmatch(r'warning: replicaset\.apps/web-\w+ in namespace demo of deployment\.apps/web '
                        r'\(manifests/web\.yaml\): Error creating: pods "web-\w+-\w+" is forbidden: exceeded quota: '
                        r'pods, requested: pods=1, used: pods=1, limited: pods=1', web), web
    # a ReplicaSet of a Deployment of a custom resource: the folder's object is the custom resource
    assert any(" of webapp.example.com/hello (manifests/examples/hello.yaml): Error creating: " in line
               for line in refused), refused
    assert "replicaset.rules" not in proc.stderr
    events = recon("get", "events", "-n", "demo", "-o", "json", cwd=tmp_path, check=0).stdout
    assert "FailedCreate" in events  # (and recorded on the ReplicaSet, as upstream's controller does)


def test_a_quota_refusal_of_a_rule_of_ones_own_is_shown_at_its_line(tmp_path):
    (copy_example(tmp_path) / "quota.yaml").write_text(QUOTA)
    shutil.copytree(REPO / "rules", tmp_path / "rules")  # (the user's copy, theirs to change)
    proc = recon("up", "manifests", "--rules", "rules", "--once", cwd=tmp_path, check=0)
    assert re.search(r"warning: rules/replicaset\.rules:\d+:\d+: rule replicaset-controller/replicas failed on "
                     r"apps/ReplicaSet demo/web-\w+: pods \"web-\w+-\w+\" is forbidden: exceeded quota: pods", proc.stderr)
