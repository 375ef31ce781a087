"""rules/cronjob.rules: the CronJob controller, sample-controller style, and end to end through `recon up --once`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from engine.apierrors import APIError
from engine.describe import events_of
from engine.objects import key_of
from engine.timeutil import parse_time

REPO = Path(__file__).resolve().parents[2]


def cronjob(name="tick", schedule="*/5 * * * *", **spec):
    template = {"spec": {"template": {"spec": {"restartPolicy": "Never",
                                               "containers": [{"name": "c", "image": "busybox:1.36"}]}}}}
    return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": name, "namespace": "demo"},
            "spec": {"schedule": schedule, "jobTemplate": template, **spec}}


def jobs(c):
    return [j["metadata"]["name"] for j in c.list("Job")]


def by_hand(c, name="manual1", cronjob_name="tick"):
    """A Job made from the CronJob's template as `kubectl create job NAME --from=cronjob/CRONJOB` makes it:
    controlled by the CronJob, which did not create it."""
    cj = c.get("CronJob", cronjob_name)
    owner = {"apiVersion": "batch/v1", "kind": "CronJob", "name": cronjob_name, "uid": cj["metadata"]["uid"],
             "controller": True, "blockOwnerDeletion": True}
    return c.create({"apiVersion": "batch/v1", "kind": "Job", "metadata": {
        "name": name, "namespace": "demo", "annotations": {"cronjob.kubernetes.io/instantiate": "manual"},
        "ownerReferences": [owner]}, "spec": cj["spec"]["jobTemplate"]["spec"]})


def said(c, name="tick"):
    cj = c.get("CronJob", name)
    return [(e["type"], e["reason"], e["message"]) for e in events_of(c.store.head, key_of(cj), cj)]


def active(c, name="tick"):
    return [r["name"] for r in c.get("CronJob", name).get("status", {}).get("active", ())]


def complete(c, name):
    """Mark a Job complete as the Job controller would (it does not run in these tests)."""
    stamp = "2026-01-01T00:00:00Z"
    c.patch("Job", name, {"status": {"startTime": stamp, "completionTime": stamp, "succeeded": 1, "conditions": [
        {"type": "Complete", "status": "True", "reason": "CompletionsReached"}]}}, subresource="status")


def test_a_new_cronjob_gets_upstream_defaults(controller_cluster):
    spec = controller_cluster.create(cronjob())["spec"]
    assert (spec["concurrencyPolicy"], spec["suspend"]) == ("Allow", False)
    assert (spec["successfulJobsHistoryLimit"], spec["failedJobsHistoryLimit"]) == (3, 1)


def test_a_cronjob_with_a_bad_schedule_is_refused(controller_cluster):
    with pytest.raises(APIError) as err:
        controller_cluster.create(cronjob(schedule="61 * * * *"))
    assert 'spec.schedule: Invalid value: "61 * * * *"' in err.value.message


def test_cronjob_creates_nothing_before_its_first_scheduled_time(controller_cluster):
    c = controller_cluster
    c.load("cronjob")
    c.create(cronjob())
    assert c.run(60).converged
    assert jobs(c) == []


def test_cronjob_creates_a_job_named_after_the_scheduled_minute_when_it_is_due(controller_cluster):
    c = controller_cluster
    c.load("cronjob")
    cj = c.create(cronjob())
    c.run(5 * 60)
    due = parse_time("2026-01-01T00:05:00Z")
    assert c.clock.now() == due  # the engine woke the rule exactly at the scheduled time
    assert jobs(c) == [f"tick-{int(due) // 60}"]
    job = c.list("Job")[0]
    assert job["metadata"]["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"] == "2026-01-01T00:05:00Z"
    assert job["metadata"]["ownerReferences"][0]["uid"] == cj["metadata"]["uid"]
    c.run(1)
    status = c.get("CronJob", "tick")["status"]
    assert status["lastScheduleTime"] == "2026-01-01T00:05:00Z"
    assert [r["name"] for r in status["active"]] == [f"tick-{int(due) // 60}"]


def test_the_scheduled_timestamp_annotation_is_written_in_the_cronjobs_time_zone(controller_cluster):
    c = controller_cluster
    c.load("cronjob")
    c.create(cronjob(schedule="0 9 * * *", timeZone="Europe/Paris"))
    c.run(24 * 3600)
    [job] = c.list("Job")
    assert job["metadata"]["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"] == \
        "2026-01-01T09:00:00+01:00"
    assert c.get("CronJob", "tick")["status"]["lastScheduleTime"] == "2026-01-01T08:00:00Z"


def test_an_every_schedule_runs_each_delay_after_the_last_run(controller_cluster):
    c = controller_cluster
    c.load("cronjob")
    created = parse_time(c.create(cronjob(schedule="@every 1m30s"))["metadata"]["creationTimestamp"])
    c.run(100)
    first = created + 90
    assert jobs(c) == [f"tick-{int(first) // 60}"]
    c.run(100)  # the second run, 90 s after the first
    assert sorted(jobs(c)) == sorted([f"tick-{int(first) // 60}", f"tick-{int(first + 90) // 60}"])
    stamps = sorted(j["metadata"]["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"] for j in c.list("Job"))
    assert [parse_time(s) for s in stamps] == [first, first + 90]
    assert parse_time(c.get("CronJob", "tick")["status"]["lastScheduleTime"]) == first + 90


def test_an_every_schedule_catches_up_with_its_most_recent_run_only(controller_cluster):
    c = controller_cluster
    c.create(cronjob(schedule="@every 2m"))
    created = parse_time(c.get("CronJob", "tick")["metadata"]["creationTimestamp"])
    c.clock.advance(7 * 60)  # the controller is not running: three runs missed
    c.load("cronjob")
    c.run(1)
    assert jobs(c) == [f"tick-{int(created + 6 * 60) // 60}"]  # the latest, as mostRecentScheduleTime


@pytest.mark.parametrize("schedule, message", [
    ("@every 5", 'failed to parse duration @every 5: time: missing unit in duration "5"'),
    ("@every 5x", 'failed to parse duration @every 5x: time: unknown unit "x" in duration "5x"'),
    ("@every", "expected exactly 5 fields, found 1: @every"),
])
def test_a_bad_every_schedule_is_refused_with_the_parsers_words(controller_cluster, schedule, message):
    with pytest.raises(APIError) as err:
        controller_cluster.create(cronjob(schedule=schedule))
    assert f'spec.schedule: Invalid value: "{schedule}": {message}' in err.value.message


def test_forbid_skips_a_run_while_a_job_is_still_running_and_replace_replaces_it(controller_cluster):
    c = controller_cluster
    c.load("cronjob")
    c.create(cronjob(concurrencyPolicy="Forbid"))
    c.run(5 * 60)
    c.run(5 * 60)
    five, ten = (int(parse_time(f"2026-01-01T00:{m}:00Z")) // 60 for m in ("05", "10"))
    assert jobs(c) == [f"tick-{five}"]  # the 00:10 run waits for the 00:05 Job
    assert ("Normal", "JobAlreadyActive", "Not starting job because prior execution is running and concurrency "
            "policy is Forbid") in said(c)
    c.patch("CronJob", "tick", {"spec": {"concurrencyPolicy": "Replace"}})
    c.run(1)
    assert jobs(c) == [f"tick-{ten}"]  # the running Job was deleted, the due run made
    assert ("Normal", "SuccessfulDelete", f"Deleted job tick-{five}") in said(c)


def test_a_job_made_by_hand_from_the_cronjob_is_not_active_so_forbid_still_runs_on_schedule(controller_cluster):
    c = controller_cluster
    c.load("cronjob")
    c.create(cronjob(concurrencyPolicy="Forbid"))
    by_hand(c)
    c.run(60)
    assert active(c) == []  # status.active lists only the Jobs the controller started
    c.run(5 * 60)
    five = f"tick-{int(parse_time('2026-01-01T00:05:00Z')) // 60}"
    assert jobs(c) == ["manual1", five]
    status = c.get("CronJob", "tick")["status"]
    assert status["lastScheduleTime"] == "2026-01-01T00:05:00Z"
    assert [(r["name"], r["uid"]) for r in status["active"]] == [(five, c.get("Job", five)["metadata"]["uid"])]
    assert ("Warning", "UnexpectedJob", "Saw a job that the controller did not create or forgot: manual1") in said(c)
    c.run(5 * 60)
    assert len(jobs(c)) == 2  # now the scheduled Job holds the 00:10 run back


def test_replace_deletes_only_the_jobs_the_cronjob_started(controller_cluster):
    c = controller_cluster
    c.load("cronjob")
    c.create(cronjob(concurrencyPolicy="Replace"))
    c.run(5 * 60)
    by_hand(c)
    c.run(5 * 60)
    five, ten = (f"tick-{int(parse_time(f'2026-01-01T00:{m}:00Z')) // 60}" for m in ("05", "10"))
    assert jobs(c) == ["manual1", ten]
    assert active(c) == [ten]
    assert ("Normal", "SuccessfulDelete", f"Deleted job {five}") in said(c)


def test_an_active_job_that_finishes_or_goes_missing_leaves_status_active(controller_cluster):
    c = controller_cluster
    c.load("cronjob")
    c.create(cronjob(concurrencyPolicy="Forbid"))
    c.run(5 * 60)
    five, ten = (f"tick-{int(parse_time(f'2026-01-01T00:{m}:00Z')) // 60}" for m in ("05", "10"))
    c.delete("Job", five)
    c.run(1)
    assert active(c) == []
    assert ("Normal", "MissingJob", f"Active job went missing: {five}") in said(c)
    c.run(5 * 60)  # nothing holds the 00:10 run back
    assert active(c) == [ten]
    complete(c, ten)
    c.run(1)
    assert active(c) == []
    assert ("Normal", "SawCompletedJob", f"Saw completed job: {ten}, status: Complete") in said(c)


def test_a_suspended_cronjob_creates_no_jobs(controller_cluster):
    c = controller_cluster
    c.load("cronjob")
    c.create(cronjob(suspend=True))
    c.run(30 * 60)
    assert jobs(c) == []


def test_finished_jobs_beyond_the_history_limit_are_deleted_oldest_first(controller_cluster):
    c = controller_cluster
    c.load("cronjob")
    c.create(cronjob(successfulJobsHistoryLimit=2))
    for _ in range(4):
        c.run(5 * 60)
        for name in jobs(c):
            if not c.get("Job", name).get("status", {}).get("conditions"):
                complete(c, name)
        c.run(1)
    minutes = sorted(int(n.rsplit("-", 1)[1]) for n in jobs(c))
    assert len(minutes) == 2 and minutes == [int(parse_time("2026-01-01T00:15:00Z")) // 60,
                                             int(parse_time("2026-01-01T00:20:00Z")) // 60]
    assert c.get("CronJob", "tick")["status"].get("lastSuccessfulTime") == "2026-01-01T00:00:00Z"


# ------------------------------------------------------------- end to end

CRONJOB_YAML = """\
apiVersion: batch/v1
kind: CronJob
metadata: {name: tick, namespace: default}
spec:
  schedule: "*/5 * * * *"
  jobTemplate:
    spec:
      template:
        metadata:
          annotations: {sim.recon.dev/exit-after: "30s"}
        spec:
          restartPolicy: Never
          containers:
          - {name: work, image: "busybox:1.36"}
"""


def recon(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "engine.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, f"{proc.stdout}\n{proc.stderr}"
    return proc


def test_recon_up_runs_a_cronjob_every_five_minutes_and_keeps_three_successful_jobs(tmp_path):
    site = tmp_path
    (site / "manifests").mkdir()
    (site / "manifests" / "nodes.yaml").write_text((REPO / "manifests" / "nodes.yaml").read_text())
    (site / "manifests" / "cron.yaml").write_text(CRONJOB_YAML)
    recon("up", "manifests", "--once", "--until", "27m", "--state", "st", cwd=site)
    found = json.loads(recon("get", "jobs", "-n", "default", "-o", "json", "--state", "st", cwd=site).stdout)["items"]
    assert sorted(j["metadata"]["name"] for j in found) == [
        f"tick-{int(parse_time(f'2026-01-01T00:{m}:00Z')) // 60}" for m in ("15", "20", "25")]
    by_name = {j["metadata"]["name"]: j for j in found}
    older = by_name[f"tick-{int(parse_time('2026-01-01T00:15:00Z')) // 60}"]
    assert [c["type"] for c in older["status"]["conditions"]] == ["SuccessCriteriaMet", "Complete"]
    assert older["status"]["succeeded"] == 1
    newest = by_name[f"tick-{int(parse_time('2026-01-01T00:25:00Z')) // 60}"]
    assert newest["status"]["succeeded"] == 1  # started 00:25, exited 30 s later
    cj = json.loads(recon("get", "cronjob", "tick", "-n", "default", "-o", "json", "--state", "st", cwd=site).stdout)
    assert cj["status"]["lastScheduleTime"] == "2026-01-01T00:25:00Z"
    assert "active" not in cj["status"]
    pods = json.loads(recon("get", "pods", "-n", "default", "-o", "json", "--state", "st", cwd=site).stdout)["items"]
    assert sorted(p["metadata"]["labels"]["job-name"] for p in pods) == sorted(by_name)  # older pods went with their Jobs
    assert all(p["status"]["phase"] == "Succeeded" for p in pods)
