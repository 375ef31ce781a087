"""rules/job.rules: an Indexed Job's spec.successPolicy and its validation, as 1.32's (JobSuccessPolicy, beta, on).

No kubelet: the tests write the pods' terminal statuses as the kubelet would.
"""

from __future__ import annotations

import pytest

from engine.apierrors import APIError
from job_helpers import conditions, running, said, status, terminate


def job(rules, completions=5, parallelism=5, completion_mode="Indexed", **spec):
    body = {"completions": completions, "parallelism": parallelism, "completionMode": completion_mode,
            "successPolicy": {"rules": rules},
            "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox:1.36"}]}}}
    body.update(spec)
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "pi", "namespace": "demo"}, "spec": body}


def finish(c, pod, phase="Succeeded"):
    terminate(c, pod, phase)


@pytest.fixture
def c(controller_cluster):
    controller_cluster.load("job")
    return controller_cluster


def test_a_job_meeting_a_succeeded_indexes_rule_deletes_its_other_pods_and_completes(c):
    c.create(job([{"succeededIndexes": "0-2", "succeededCount": 2}]))
    c.run(1)
    pods = running(c)
    finish(c, pods["0"])
    finish(c, pods["4"])  # not among the rule's indexes
    c.run(1)
    assert conditions(c) == [] and sorted(running(c)) == ["1", "2", "3"]
    finish(c, pods["2"])
    c.run(1)
    message = "Matched rules at index 0"
    assert conditions(c) == [("SuccessCriteriaMet", "True", "SuccessPolicy", message),
                             ("Complete", "True", "SuccessPolicy", message)]
    for i in ("1", "3"):
        assert c.get("Pod", pods[i]["metadata"]["name"]) is None  # unscheduled: deleted at once
        assert ("Normal", "SuccessfulDelete", f"Deleted pod: {pods[i]['metadata']['name']}") in said(c)
    s = status(c)
    assert (s["completedIndexes"], s["succeeded"]) == ("0,2,4", 3)
    assert "failed" not in s and "active" not in s  # the pods a succeeding Job deletes are no failures
    assert s["completionTime"] and ("Normal", "Completed", "Job completed") in said(c)


def test_a_succeeded_count_rule_is_met_by_that_many_indexes_and_names_its_rule(c):
    c.create(job([{"succeededIndexes": "4"}, {"succeededCount": 2}]))
    c.run(1)
    pods = running(c)
    finish(c, pods["1"])
    c.run(1)
    assert conditions(c) == []
    finish(c, pods["3"])
    c.run(1)
    assert conditions(c)[-1] == ("Complete", "True", "SuccessPolicy", "Matched rules at index 1")


def test_a_succeeded_indexes_rule_without_a_count_needs_all_its_indexes(c):
    c.create(job([{"succeededIndexes": "1,3"}]))
    c.run(1)
    pods = running(c)
    for i in ("0", "1", "2"):
        finish(c, pods[i])
    c.run(1)
    assert conditions(c) == [] and sorted(running(c)) == ["3", "4"]
    finish(c, pods["3"])
    c.run(1)
    assert conditions(c)[-1] == ("Complete", "True", "SuccessPolicy", "Matched rules at index 0")


def test_the_job_completes_only_once_the_pods_it_deleted_are_gone(c):
    body = job([{"succeededCount": 1}], completions=3, parallelism=3)
    body["spec"]["template"]["metadata"] = {"finalizers": ["example.com/hold"]}  # the pods stay while terminating
    c.create(body)
    c.run(1)
    pods = running(c)
    finish(c, pods["0"])
    c.run(1)
    assert conditions(c) == [("SuccessCriteriaMet", "True", "SuccessPolicy", "Matched rules at index 0")]
    assert (status(c)["terminating"], status(c).get("active")) == (2, None)
    for i in ("1", "2"):
        finish(c, c.get("Pod", pods[i]["metadata"]["name"]), "Failed")  # killed while terminating
        c.patch("Pod", pods[i]["metadata"]["name"], {"metadata": {"finalizers": None}})
    c.run(1)
    assert [x[0] for x in conditions(c)] == ["SuccessCriteriaMet", "Complete"]
    assert conditions(c)[1][2:] == ("SuccessPolicy", "Matched rules at index 0")
    assert "failed" not in status(c) and status(c)["terminating"] == 0


def test_failed_indexes_take_precedence_over_a_success_policy_met_at_the_same_time(c):
    c.create(job([{"succeededCount": 1}], completions=2, parallelism=2, backoffLimitPerIndex=0))
    c.run(1)
    pods = running(c)
    finish(c, pods["0"], "Failed")
    finish(c, pods["1"])
    c.run(1)
    assert [x[:3] for x in conditions(c)] == [("FailureTarget", "True", "FailedIndexes"),
                                              ("Failed", "True", "FailedIndexes")]


def test_a_rule_met_with_the_last_index_gives_the_success_policy_reason_not_completions_reached(c):
    c.create(job([{"succeededIndexes": "0,1", "succeededCount": 2}], completions=2, parallelism=1))
    c.run(1)
    finish(c, running(c)["0"])
    c.run(1)
    assert conditions(c) == []
    finish(c, running(c)["1"])
    c.run(1)
    # completions are reached too, but the success policy is looked at first, as upstream
    assert conditions(c)[-1] == ("Complete", "True", "SuccessPolicy", "Matched rules at index 0")


def refused(c, body):
    with pytest.raises(APIError) as err:
        c.create(body)
    return err.value.message


@pytest.mark.parametrize(("rules", "spec", "message"), [
    ([{"succeededCount": 1}], {"completion_mode": "NonIndexed"},
     "spec.successPolicy: Invalid value: "),
    ([], {}, "spec.successPolicy.rules: Required value: at least one rules must be specified when the successPolicy "
             "is specified"),
    ([{"succeededCount": 1}] * 21, {}, "spec.successPolicy.rules: Too many: 21: must have at most 20 items"),
    ([{}], {}, "spec.successPolicy.rules[0]: Required value: at least one of succeededCount or succeededIndexes must "
               "be specified"),
    ([{"succeededIndexes": "0,x"}], {},
     'spec.successPolicy.rules[0].succeededIndexes: Invalid value: "0,x": error parsing succeededIndexes: cannot '
     'convert string to integer for index: "x"'),
    ([{"succeededIndexes": "1-5"}], {},
     'spec.successPolicy.rules[0].succeededIndexes: Invalid value: "1-5": error parsing succeededIndexes: too large '
     'index: "5"'),
    ([{"succeededIndexes": "3,1"}], {},
     'spec.successPolicy.rules[0].succeededIndexes: Invalid value: "3,1": error parsing succeededIndexes: '
     "non-increasing order, previous: 3, current: 1"),
    ([{"succeededIndexes": "1-2-3"}], {},
     "spec.successPolicy.rules[0].succeededIndexes: Invalid value: \"1-2-3\": error parsing succeededIndexes: the "
     "fragment \"1-2-3\" violates the requirement that an index interval can have at most two parts separated by '-'"),
    ([{"succeededIndexes": "0," * 33000 + "0"}], {},
     "spec.successPolicy.rules[0].succeededIndexes: Too long: may not be more than 65536 bytes"),
    ([{"succeededCount": 6}], {},
     "spec.successPolicy.rules[0].succeededCount: Invalid value: 6: must be less than or equal to 5 (the number of "
     "specified completions)"),
    ([{"succeededCount": -1}], {},
     "spec.successPolicy.rules[0].succeededCount: Invalid value: -1: must be greater than or equal to 0"),
    ([{"succeededIndexes": "0,2", "succeededCount": 3}], {},
     "spec.successPolicy.rules[0].succeededCount: Invalid value: 3: must be less than or equal to 2 (the number of "
     "indexes in the specified succeededIndexes field)"),
])
def test_a_success_policy_is_refused_with_upstreams_messages(c, rules, spec, message):
    got = refused(c, job(rules, **spec))
    assert message in got
    if spec.get("completion_mode") == "NonIndexed":
        assert got.endswith(": requires indexed completion mode")


def test_a_success_policy_is_immutable(c):
    c.create(job([{"succeededCount": 1}]))
    with pytest.raises(APIError) as err:
        c.patch("Job", "pi", {"spec": {"successPolicy": {"rules": [{"succeededCount": 2}]}}})
    assert "spec.successPolicy: Invalid value" in err.value.message and "field is immutable" in err.value.message
