"""rules/job.rules: the Job controller, sample-controller style (no kubelet: the tests write pod phases)."""

from __future__ import annotations

import pytest

from engine.apierrors import APIError
from engine.timeutil import format_time


def job(name="pi", completions=None, parallelism=None, backoff=None, restart="Never", **spec):
    body = {"template": {"spec": {"restartPolicy": restart,
                                  "containers": [{"name": "c", "image": "busybox:1.36"}]}}}
    for key, value in (("completions", completions), ("parallelism", parallelism), ("backoffLimit", backoff)):
        if value is not None:
            body[key] = value
    body.update(spec)
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "namespace": "demo"}, "spec": body}


def finish(c, pod, phase, at=None):
    """Write a pod's terminal status as the kubelet would."""
    code = 0 if phase == "Succeeded" else 1
    when = format_time(c.clock.now() if at is None else at)
    status = {"phase": phase, "containerStatuses": [{"name": "c", "ready": False, "restartCount": 0, "state": {
        "terminated": {"exitCode": code, "finishedAt": when, "reason": "Completed" if code == 0 else "Error"}}}]}
    c.patch("Pod", pod["metadata"]["name"], {"status": status}, subresource="status")


def active_pods(c, j):
    return [p for p in c.owned("Pod", j) if p.get("status", {}).get("phase") not in ("Succeeded", "Failed")]


def conditions(j):
    return [(x["type"], x["status"], x.get("reason")) for x in j["status"].get("conditions", ())]


def test_a_new_job_gets_upstream_defaults_and_a_generated_selector(controller_cluster):
    c = controller_cluster
    created = c.create(job())
    spec, uid = created["spec"], created["metadata"]["uid"]
    assert (spec["completions"], spec["parallelism"], spec["backoffLimit"]) == (1, 1, 6)
    assert (spec["completionMode"], spec["suspend"], spec["manualSelector"]) == ("NonIndexed", False, False)
    assert spec["podReplacementPolicy"] == "TerminatingOrFailed"
    assert spec["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
    assert spec["template"]["metadata"]["labels"] == {
        "batch.kubernetes.io/controller-uid": uid, "controller-uid": uid,
        "batch.kubernetes.io/job-name": "pi", "job-name": "pi"}
    assert created["metadata"]["labels"] == spec["template"]["metadata"]["labels"]


def test_a_job_whose_pods_restart_always_is_refused_with_upstreams_message(controller_cluster):
    with pytest.raises(APIError) as err:
        controller_cluster.create(job(restart="Always"))
    assert 'spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"' \
        in err.value.message


def test_job_creates_pods_up_to_parallelism_while_completions_remain(controller_cluster):
    c = controller_cluster
    c.load("job")
    c.create(job(completions=5, parallelism=2))
    assert c.run(1).converged
    j = c.get("Job", "pi")
    pods = c.owned("Pod", j)
    assert len(pods) == 2
    assert all(p["metadata"]["name"].startswith("pi-") and p["metadata"]["labels"]["job-name"] == "pi" for p in pods)
    assert j["status"]["active"] == 2 and j["status"]["ready"] == 0 and j["status"]["startTime"]
    assert "succeeded" not in j["status"] and "conditions" not in j["status"]


def test_job_counts_succeeded_pods_and_completes_with_success_criteria_met_then_complete(controller_cluster):
    c = controller_cluster
    c.load("job")
    c.create(job(completions=3, parallelism=2))
    c.run(1)
    for _ in range(3):
        finish(c, active_pods(c, c.get("Job", "pi"))[0], "Succeeded")
        c.run(1)
    j = c.get("Job", "pi")
    assert j["status"]["succeeded"] == 3 and "active" not in j["status"]
    assert conditions(j) == [("SuccessCriteriaMet", "True", "CompletionsReached"),
                             ("Complete", "True", "CompletionsReached")]
    assert j["status"]["completionTime"]
    assert len(c.owned("Pod", j)) == 3  # finished pods stay until the Job goes


def test_a_succeeded_job_leaves_its_zero_counts_out_as_upstreams_omitempty_fields_do(controller_cluster):
    c = controller_cluster
    c.load("job")
    c.create(job())
    c.run(1)
    finish(c, active_pods(c, c.get("Job", "pi"))[0], "Succeeded")
    c.run(1)
    status = c.get("Job", "pi")["status"]
    assert ("Complete", "True", "CompletionsReached") in conditions(c.get("Job", "pi"))
    # active, succeeded and failed are omitempty int32s; ready and terminating pointers the controller sets
    assert status["succeeded"] == 1 and "failed" not in status and "active" not in status
    assert (status["ready"], status["terminating"]) == (0, 0)


def test_job_fails_with_backoff_limit_exceeded_and_deletes_its_active_pods(controller_cluster):
    c = controller_cluster
    c.load("job")
    c.create(job(completions=2, parallelism=2, backoff=1))
    c.run(1)
    first, second = active_pods(c, c.get("Job", "pi"))
    finish(c, first, "Failed")
    c.run(1)  # one failure is within the limit: a replacement waits the 10 s back-off
    assert len(active_pods(c, c.get("Job", "pi"))) == 1
    c.run(11)
    replacement = [p for p in active_pods(c, c.get("Job", "pi")) if p["metadata"]["name"] != second["metadata"]["name"]]
    assert len(replacement) == 1
    finish(c, replacement[0], "Failed")
    c.run(1)
    j = c.get("Job", "pi")
    # the active pod was deleted (unscheduled: at once), then the terminal condition followed
    assert c.get("Pod", second["metadata"]["name"]) is None
    assert conditions(j) == [("FailureTarget", "True", "BackoffLimitExceeded"),
                             ("Failed", "True", "BackoffLimitExceeded")]
    assert j["status"]["failed"] == 3 and "completionTime" not in j["status"]
    assert j["status"]["conditions"][1]["message"] == "Job has reached the specified backoff limit"


def test_job_without_completions_is_complete_when_one_pod_succeeded_and_none_runs(controller_cluster):
    c = controller_cluster
    c.load("job")
    c.create(job(parallelism=2))
    c.run(1)
    a, b = active_pods(c, c.get("Job", "pi"))
    finish(c, a, "Succeeded")
    c.run(1)
    assert len(active_pods(c, c.get("Job", "pi"))) == 1  # no new pod after a success
    finish(c, b, "Succeeded")
    c.run(1)
    assert ("Complete", "True", "CompletionsReached") in conditions(c.get("Job", "pi"))


def test_a_suspended_job_deletes_its_active_pods_and_says_so(controller_cluster):
    c = controller_cluster
    c.load("job")
    c.create(job(completions=2, parallelism=2))
    c.run(1)
    c.patch("Job", "pi", {"spec": {"suspend": True}})
    c.run(1)
    j = c.get("Job", "pi")
    assert all(p["metadata"].get("deletionTimestamp") for p in c.owned("Pod", j))
    assert ("Suspended", "True", "JobSuspended") in conditions(j)


def test_a_job_past_its_active_deadline_fails_with_deadline_exceeded(controller_cluster):
    c = controller_cluster
    c.load("job")
    c.create(job(activeDeadlineSeconds=30))
    c.run(1)
    pod = active_pods(c, c.get("Job", "pi"))[0]
    c.run(29)
    assert conditions(c.get("Job", "pi")) == []
    c.run(40)  # the engine wakes the rule at the deadline
    assert c.get("Pod", pod["metadata"]["name"]) is None
    assert ("Failed", "True", "DeadlineExceeded") in conditions(c.get("Job", "pi"))


def test_a_finished_job_with_a_ttl_is_deleted_that_long_after_it_finished(controller_cluster):
    c = controller_cluster
    c.load("job")
    c.create(job(ttlSecondsAfterFinished=60))
    c.run(1)
    finish(c, active_pods(c, c.get("Job", "pi"))[0], "Succeeded")
    c.run(30)
    assert c.get("Job", "pi") is not None
    c.run(60)
    j = c.get("Job", "pi")
    assert j is None or j["metadata"].get("deletionTimestamp")
