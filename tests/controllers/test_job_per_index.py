"""rules/job.rules: an Indexed Job's spec.backoffLimitPerIndex and maxFailedIndexes, and their validation, as 1.32's.

No kubelet: the tests write the pods' terminal statuses (exit codes, conditions) as the kubelet would.
"""

from __future__ import annotations

import pytest

from engine.apierrors import APIError
from engine.describe import describe
from engine.objects import key_of
from job_helpers import conditions, running, status, terminate, warnings

FAILURES = "batch.kubernetes.io/job-index-failure-count"
IGNORED = "batch.kubernetes.io/job-index-ignored-failure-count"


def job(completions=3, parallelism=3, per_index=1, rules=None, **spec):
    body = {"completions": completions, "parallelism": parallelism, "completionMode": "Indexed",
            "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox:1.36"}]}}}
    if per_index is not None:
        body["backoffLimitPerIndex"] = per_index
    if rules is not None:
        body["podFailurePolicy"] = {"rules": rules}
    body.update(spec)
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "pi", "namespace": "demo"}, "spec": body}


def finish(c, pod, phase="Failed", code=None, conditions=()):
    terminate(c, pod, phase, code, conditions)


@pytest.fixture
def c(controller_cluster):
    controller_cluster.load("job")
    return controller_cluster


def test_a_job_with_a_backoff_limit_per_index_gets_the_largest_backoff_limit_and_counts_on_its_pods(c):
    created = c.create(job())
    assert created["spec"]["backoffLimit"] == 2147483647
    c.run(1)
    pods = running(c)
    assert sorted(pods) == ["0", "1", "2"]
    assert all(p["metadata"]["annotations"][FAILURES] == "0" and IGNORED not in p["metadata"]["annotations"]
               for p in pods.values())
    assert status(c)["failedIndexes"] == ""  # upstream's pointer to "" until an index fails


def test_an_index_is_retried_backoff_limit_per_index_times_then_failed_and_not_retried(c):
    c.create(job(per_index=1))
    c.run(1)
    first = running(c)["1"]
    finish(c, first)
    c.run(1)  # the index's replacement waits its 10 s back-off
    assert sorted(running(c)) == ["0", "2"]
    c.run(10)
    second = running(c)["1"]
    assert second["metadata"]["name"] != first["metadata"]["name"]
    assert second["metadata"]["annotations"][FAILURES] == "1"
    finish(c, second)
    c.run(60)
    assert sorted(running(c)) == ["0", "2"]  # index 1 failed for good
    assert (status(c)["failedIndexes"], status(c)["failed"]) == ("1", 2)
    assert conditions(c) == []  # the other indexes still run


def test_a_job_whose_indexes_all_finished_with_one_failed_fails_with_failed_indexes(c):
    c.create(job(per_index=0))
    c.run(1)
    pods = running(c)
    finish(c, pods["1"])
    finish(c, pods["0"], "Succeeded")
    c.run(1)
    assert conditions(c) == []
    finish(c, pods["2"], "Succeeded")
    c.run(1)
    s = status(c)
    assert (s["completedIndexes"], s["failedIndexes"], s["succeeded"], s["failed"]) == ("0,2", "1", 2, 1)
    assert conditions(c) == [("FailureTarget", "True", "FailedIndexes", "Job has failed indexes"),
                             ("Failed", "True", "FailedIndexes", "Job has failed indexes")]
    assert warnings(c) == [("FailedIndexes", "Job has failed indexes")]
    assert "completionTime" not in s


def test_each_index_waits_its_own_failure_back_off(c):
    c.create(job(per_index=3))
    c.run(1)
    finish(c, running(c)["0"])
    c.run(11)
    assert running(c)["0"]["metadata"]["annotations"][FAILURES] == "1"
    finish(c, running(c)["0"])  # index 0's second failure: 20 s
    finish(c, running(c)["1"])  # index 1's first: 10 s, whatever index 0 did
    c.run(11)
    assert sorted(running(c)) == ["1", "2"]
    assert running(c)["1"]["metadata"]["annotations"][FAILURES] == "1"
    c.run(10)
    assert sorted(running(c)) == ["0", "1", "2"]
    assert running(c)["0"]["metadata"]["annotations"][FAILURES] == "2"
    assert status(c)["failed"] == 3 and status(c)["failedIndexes"] == ""


def test_more_failed_indexes_than_max_failed_indexes_fail_the_job_and_delete_its_pods(c):
    c.create(job(completions=4, parallelism=4, per_index=0, maxFailedIndexes=1))
    c.run(1)
    pods = running(c)
    finish(c, pods["0"])
    c.run(1)
    assert conditions(c) == [] and status(c)["failedIndexes"] == "0"
    finish(c, pods["2"])
    c.run(1)
    message = "Job has exceeded the specified maximal number of failed indexes"
    assert conditions(c) == [("FailureTarget", "True", "MaxFailedIndexesExceeded", message),
                             ("Failed", "True", "MaxFailedIndexesExceeded", message)]
    for i in ("1", "3"):
        assert c.get("Pod", pods[i]["metadata"]["name"]) is None  # unscheduled: deleted at once
    s = status(c)
    assert (s["failedIndexes"], s["failed"]) == ("0,2", 4)  # the deleted pods count as failures too
    assert warnings(c) == [("MaxFailedIndexesExceeded", message)]


def test_a_failindex_rule_fails_the_pods_index_at_once(c):
    rules = [{"action": "FailIndex", "onExitCodes": {"operator": "In", "values": [42]}}]
    c.create(job(per_index=5, rules=rules))
    c.run(1)
    finish(c, running(c)["2"], code=42)
    c.run(60)
    assert sorted(running(c)) == ["0", "1"]
    assert (status(c)["failedIndexes"], status(c)["failed"]) == ("2", 1)
    finish(c, running(c)["1"], code=1)  # not the rule's: counted, and retried
    c.run(11)
    assert sorted(running(c)) == ["0", "1"] and status(c)["failedIndexes"] == "2"


def test_an_ignored_failure_is_kept_apart_and_does_not_use_up_the_index_limit(c):
    rules = [{"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]}]
    c.create(job(completions=1, parallelism=1, per_index=0, rules=rules))
    c.run(1)
    finish(c, running(c)["0"], code=137, conditions=["DisruptionTarget"])
    c.run(11)
    annotations = running(c)["0"]["metadata"]["annotations"]
    assert (annotations[FAILURES], annotations[IGNORED]) == ("0", "1")
    assert status(c)["failedIndexes"] == "" and "failed" not in status(c)
    finish(c, running(c)["0"])  # a counted failure: past backoffLimitPerIndex 0
    c.run(1)
    assert conditions(c)[-1][:3] == ("Failed", "True", "FailedIndexes")
    assert (status(c)["failedIndexes"], status(c)["failed"]) == ("0", 1)


def test_a_job_without_a_backoff_limit_per_index_has_no_failed_indexes(c):
    c.create(job(per_index=None, backoffLimit=1))
    c.run(1)
    assert "failedIndexes" not in status(c)
    assert all(FAILURES not in p["metadata"]["annotations"] for p in running(c).values())


def test_describe_shows_what_kubectl_shows_of_a_job_with_failed_indexes(c):
    c.create(job(per_index=0))
    c.run(1)
    finish(c, running(c)["1"])
    finish(c, running(c)["0"], "Succeeded")
    c.run(1)
    page = describe(c.store.head, key_of(c.get("Job", "pi")))
    fields = dict(line.split(":", 1) for line in page.splitlines() if ":" in line and not line.startswith(" "))
    assert fields["Backoff Limit"].strip() == "2147483647" and fields["Completed Indexes"].strip() == "0"
    assert fields["Pods Statuses"].strip() == "1 Active (0 Ready) / 1 Succeeded / 1 Failed"
    assert "Failed Indexes" not in page and "Backoff Limit Per Index" not in page  # kubectl 1.32 shows neither


def refused(c, body):
    with pytest.raises(APIError) as err:
        c.create(body)
    return err.value.message


@pytest.mark.parametrize(("spec", "message"), [
    ({"completionMode": "NonIndexed"},
     "spec.backoffLimitPerIndex: Invalid value: 1: requires indexed completion mode"),
    ({"completionMode": "NonIndexed", "maxFailedIndexes": 1},
     "spec.maxFailedIndexes: Invalid value: 1: requires indexed completion mode"),
    ({"backoffLimitPerIndex": -1},
     "spec.backoffLimitPerIndex: Invalid value: -1: must be greater than or equal to 0"),
    ({"maxFailedIndexes": -1},
     "spec.maxFailedIndexes: Invalid value: -1: must be greater than or equal to 0"),
    ({"backoffLimitPerIndex": None, "maxFailedIndexes": 1},
     "spec.backoffLimitPerIndex: Required value: when maxFailedIndexes is specified"),
    ({"maxFailedIndexes": 4},
     "spec.maxFailedIndexes: Invalid value: 4: must be less than or equal to completions"),
    ({"completions": 200000, "parallelism": 10, "maxFailedIndexes": 100001},
     "spec.maxFailedIndexes: Invalid value: 100001: must be less than or equal to 100000"),
    ({"completions": 100001, "parallelism": 10},
     "spec.maxFailedIndexes: Required value: must be specified when completions is above 100000"),
    ({"completions": 100001, "parallelism": 10001, "maxFailedIndexes": 10},
     "spec.parallelism: Invalid value: 10001: must be less than or equal to 10000 when completions are above "
     "100000 and used with backoff limit per index"),
    ({"completions": 100001, "parallelism": 10, "maxFailedIndexes": 10001},
     "spec.maxFailedIndexes: Invalid value: 10001: must be less than or equal to 10000 when completions are above "
     "100000 and used with backoff limit per index"),
])
def test_a_backoff_limit_per_index_is_refused_with_upstreams_messages(c, spec, message):
    spec = dict(spec)
    assert message in refused(c, job(per_index=spec.pop("backoffLimitPerIndex", 1), **spec))


def test_high_completions_are_accepted_within_the_lower_caps(c):
    c.create(job(completions=1_000_000, parallelism=10_000, maxFailedIndexes=10_000))
    c.create({**job(completions=100_000, parallelism=100_000, maxFailedIndexes=100_000),
              "metadata": {"name": "p2", "namespace": "demo"}})


def test_a_backoff_limit_per_index_is_immutable_and_max_failed_indexes_is_not(c):
    c.create(job(maxFailedIndexes=1))
    with pytest.raises(APIError) as err:
        c.patch("Job", "pi", {"spec": {"backoffLimitPerIndex": 2}})
    assert "spec.backoffLimitPerIndex: Invalid value: 2: field is immutable" in err.value.message
    assert c.patch("Job", "pi", {"spec": {"maxFailedIndexes": 2}})["spec"]["maxFailedIndexes"] == 2
