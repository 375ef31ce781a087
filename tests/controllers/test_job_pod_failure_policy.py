"""rules/job.rules: a Job's spec.podFailurePolicy (FailJob, Ignore, Count) and its validation, as 1.32's.

No kubelet: the tests write the failed pods' statuses (exit codes, conditions) as the kubelet would.
"""

from __future__ import annotations

import pytest

from engine.apierrors import APIError
from engine.timeutil import format_time
from job_helpers import conditions, warnings


def job(rules, backoff=6, parallelism=1, completions=1, restart="Never", **spec):
    body = {"backoffLimit": backoff, "parallelism": parallelism, "completions": completions,
            "podFailurePolicy": {"rules": rules},
            "template": {"spec": {"restartPolicy": restart, "containers": [{"name": "main", "image": "busybox:1.36"}]}}}
    body.update(spec)
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "pi", "namespace": "demo"}, "spec": body}


def on_exit(action, operator, *values, container=None):
    codes = {"operator": operator, "values": list(values)}
    if container is not None:
        codes["containerName"] = container
    return {"action": action, "onExitCodes": codes}


def on_condition(action, kind, status="True"):
    return {"action": action, "onPodConditions": [{"type": kind, "status": status}]}


def fail(c, pod, code=1, conditions=()):
    """The pod's terminal status: its container exited with CODE, the pod has CONDITIONS."""
    when = format_time(c.clock.now())
    status = {"phase": "Failed", "conditions": [{"type": t, "status": "True"} for t in conditions],
              "containerStatuses": [{"name": "main", "ready": False, "restartCount": 0, "state": {
                  "terminated": {"exitCode": code, "finishedAt": when, "reason": "Error"}}}]}
    c.patch("Pod", pod["metadata"]["name"], {"status": status}, subresource="status")


def active(c):
    return [p for p in c.owned("Pod", c.get("Job", "pi")) if p.get("status", {}).get("phase") != "Failed"]


@pytest.fixture
def c(controller_cluster):
    controller_cluster.load("job")
    return controller_cluster


def test_a_job_with_a_pod_failure_policy_defaults_its_pod_replacement_policy_to_failed(c):
    assert c.create(job([on_exit("FailJob", "In", 42)]))["spec"]["podReplacementPolicy"] == "Failed"


def test_a_failjob_exit_code_fails_the_job_at_once_with_the_pod_failure_policy_reason(c):
    c.create(job([on_exit("FailJob", "In", 42)], parallelism=2, completions=2))
    c.run(1)
    first, second = active(c)
    fail(c, first, 42)
    c.run(1)
    name = first["metadata"]["name"]
    message = f"Container main for pod demo/{name} failed with exit code 42 matching FailJob rule at index 0"
    assert conditions(c) == [("FailureTarget", "True", "PodFailurePolicy", message),
                             ("Failed", "True", "PodFailurePolicy", message)]
    assert c.get("Pod", second["metadata"]["name"]) is None  # the other pod was deleted
    assert warnings(c) == [("PodFailurePolicy", message)]
    assert c.get("Job", "pi")["status"]["failed"] == 2


def test_an_exit_code_the_failjob_rule_does_not_name_is_counted_and_retried(c):
    c.create(job([on_exit("FailJob", "In", 42)]))
    c.run(1)
    fail(c, active(c)[0], 1)
    c.run(11)
    assert conditions(c) == []
    assert c.get("Job", "pi")["status"]["failed"] == 1 and len(active(c)) == 1


def test_notin_fails_the_job_on_any_exit_code_but_those_listed(c):
    c.create(job([on_exit("FailJob", "NotIn", 3, 5)]))
    c.run(1)
    fail(c, active(c)[0], 5)  # listed: counted, retried
    c.run(11)
    assert conditions(c) == [] and len(active(c)) == 1
    fail(c, active(c)[0], 7)
    c.run(1)
    assert conditions(c)[-1][:3] == ("Failed", "True", "PodFailurePolicy")
    assert "failed with exit code 7 matching FailJob rule at index 0" in conditions(c)[-1][3]


def test_an_ignored_disruption_does_not_count_toward_the_backoff_limit(c):
    c.create(job([on_condition("Ignore", "DisruptionTarget")], backoff=0))
    c.run(1)
    for _ in range(3):
        fail(c, active(c)[0], 137, conditions=["DisruptionTarget"])
        c.run(60)  # past the failure back-off, which ignored failures still lengthen
        assert conditions(c) == []
        assert "failed" not in c.get("Job", "pi")["status"]
        assert len(active(c)) == 1  # replaced
    fail(c, active(c)[0], 1)  # a failure the policy does not name counts: past backoffLimit 0
    c.run(1)
    assert conditions(c)[-1][:3] == ("Failed", "True", "BackoffLimitExceeded")
    assert c.get("Job", "pi")["status"]["failed"] == 1


def test_a_count_rule_counts_the_failure_toward_the_backoff_limit(c):
    c.create(job([on_condition("Count", "DisruptionTarget"), on_exit("FailJob", "In", 137)], backoff=0))
    c.run(1)
    fail(c, active(c)[0], 137, conditions=["DisruptionTarget"])
    c.run(1)
    # the first rule that matches wins: Count, not the FailJob of exit code 137
    assert conditions(c)[-1][:3] == ("Failed", "True", "BackoffLimitExceeded")
    assert warnings(c) == [("BackoffLimitExceeded", "Job has reached the specified backoff limit")]


def test_the_first_matching_rule_wins_and_names_its_index(c):
    c.create(job([on_exit("Ignore", "In", 1), on_exit("FailJob", "NotIn", 1), on_exit("Count", "In", 2)]))
    c.run(1)
    fail(c, active(c)[0], 1)  # Ignore
    c.run(11)
    assert conditions(c) == [] and "failed" not in c.get("Job", "pi")["status"]
    pod = active(c)[0]
    fail(c, pod, 2)  # FailJob (index 1) before Count (index 2)
    c.run(1)
    assert conditions(c)[-1] == ("Failed", "True", "PodFailurePolicy",
                                 f"Container main for pod demo/{pod['metadata']['name']} failed with exit code 2 "
                                 "matching FailJob rule at index 1")


def test_a_condition_rule_names_the_condition_in_its_message(c):
    c.create(job([on_condition("FailJob", "ConfigIssue")]))
    c.run(1)
    pod = active(c)[0]
    fail(c, pod, 1, conditions=["ConfigIssue"])
    c.run(1)
    assert conditions(c)[-1][2:] == (
        "PodFailurePolicy", f"Pod demo/{pod['metadata']['name']} has condition ConfigIssue matching FailJob rule at index 0")


def test_an_exit_code_rule_for_another_container_does_not_match(c):
    body = job([on_exit("FailJob", "In", 42, container="side")])
    body["spec"]["template"]["spec"]["containers"].append({"name": "side", "image": "busybox:1.36"})
    c.create(body)
    c.run(1)
    fail(c, active(c)[0], 42)  # main exited 42, not side
    c.run(1)
    assert conditions(c) == []


def test_a_terminating_pod_is_replaced_only_once_it_has_failed(c):
    body = job([on_exit("FailJob", "In", 42)])
    body["spec"]["template"]["metadata"] = {"finalizers": ["example.com/hold"]}  # the pod stays while terminating
    c.create(body)
    c.run(1)
    pod = active(c)[0]
    c.delete("Pod", pod["metadata"]["name"])
    c.run(11)
    assert [p["metadata"]["name"] for p in c.owned("Pod", c.get("Job", "pi"))] == [pod["metadata"]["name"]]
    assert "failed" not in c.get("Job", "pi")["status"]
    assert c.get("Job", "pi")["status"]["terminating"] == 1
    fail(c, pod, 42)
    c.run(1)
    assert conditions(c)[-1][:3] == ("Failed", "True", "PodFailurePolicy")


def refused(c, body):
    with pytest.raises(APIError) as err:
        c.create(body)
    return err.value.message


@pytest.mark.parametrize(("rules", "spec", "message"), [
    ([on_exit("FailJob", "In", 42)], {"restart": "OnFailure"},
     'spec.template.spec.restartPolicy: Invalid value: "OnFailure": only "Never" is supported when '
     'podFailurePolicy is specified'),
    ([on_exit("FailJob", "In", 42)], {"podReplacementPolicy": "TerminatingOrFailed"},
     'spec.podReplacementPolicy: Unsupported value: "TerminatingOrFailed": supported values: "Failed"'),
    ([on_exit("FailJob", "In", 1)] * 21, {},
     "spec.podFailurePolicy.rules: Too many: 21: must have at most 20 items"),
    ([on_exit("FailJob", "Is", 42)], {},
     'spec.podFailurePolicy.rules[0].onExitCodes.operator: Unsupported value: "Is": supported values: "In", "NotIn"'),
    ([on_exit("FailJob", "In", 0, 3)], {},
     "spec.podFailurePolicy.rules[0].onExitCodes.values[0]: Invalid value: 0: must not be 0 for the In operator"),
    ([on_exit("FailJob", "In", 5, 3)], {},
     "spec.podFailurePolicy.rules[0].onExitCodes.values: Invalid value: []int32{5, 3}: must be ordered"),
    ([on_exit("FailJob", "In", 3, 3)], {},
     "spec.podFailurePolicy.rules[0].onExitCodes.values[1]: Duplicate value: 3"),
    ([on_exit("FailJob", "In", *range(1, 257))], {},
     "spec.podFailurePolicy.rules[0].onExitCodes.values: Too many: 256: must have at most 255 items"),
    ([on_exit("FailJob", "In", 42, container="nope")], {},
     'spec.podFailurePolicy.rules[0].onExitCodes.containerName: Invalid value: "nope": must be one of the '
     "container or initContainer names in the pod template"),
    ([on_condition("Ignore", "DisruptionTarget", "Maybe")], {},
     'spec.podFailurePolicy.rules[0].onPodConditions[0].status: Unsupported value: "Maybe": supported values: '
     '"False", "True", "Unknown"'),
    ([{"action": "FailJob"}], {},
     "spec.podFailurePolicy.rules[0]: Invalid value: specifying one of OnExitCodes and OnPodConditions is required"),
    ([{**on_exit("FailJob", "In", 42), **on_condition("FailJob", "DisruptionTarget")}], {},
     "spec.podFailurePolicy.rules[0]: Invalid value: specifying both OnExitCodes and OnPodConditions is not "
     "supported"),
    ([on_exit("Stop", "In", 42)], {},
     'spec.podFailurePolicy.rules[0].action: Unsupported value: "Stop": supported values: "Count", "FailIndex", '
     '"FailJob", "Ignore"'),
    ([on_exit("FailIndex", "In", 42)], {},
     'spec.podFailurePolicy.rules[0].action: Invalid value: "FailIndex": requires the backoffLimitPerIndex to be set'),
])
def test_a_pod_failure_policy_is_refused_with_upstreams_messages(c, rules, spec, message):
    restart = spec.pop("restart", "Never")
    assert message in refused(c, job(rules, restart=restart, **spec))


def test_a_rule_without_an_action_is_refused_with_the_valid_values(c):
    rule = on_exit(None, "In", 42)
    del rule["action"]
    assert 'spec.podFailurePolicy.rules[0].action: Required value: valid values: ["Count" "FailIndex" "FailJob" ' \
        '"Ignore"]' in refused(c, job([rule]))


def test_a_pod_failure_policy_is_immutable(c):
    c.create(job([on_exit("FailJob", "In", 42)]))
    with pytest.raises(APIError) as err:
        c.patch("Job", "pi", {"spec": {"podFailurePolicy": {"rules": [on_exit("FailJob", "In", 43)]}}})
    assert "spec.podFailurePolicy: Invalid value" in err.value.message and "field is immutable" in err.value.message


def test_a_pod_the_simulated_runtime_fails_with_exit_code_42_fails_the_job(c):
    c.load("job", "kubelet", "node-lifecycle")
    hardware = {"cpu": "4", "memory": "8Gi", "pods": "110"}
    c.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-1"},
              "status": {"capacity": hardware, "allocatable": hardware}})
    body = job([on_exit("FailJob", "In", 42)])
    body["spec"]["template"]["metadata"] = {"annotations": {"sim.recon.dev/exit-code": "42"}}
    body["spec"]["template"]["spec"]["nodeName"] = "node-1"
    c.create(body)
    c.run(60)
    assert conditions(c)[-1][:3] == ("Failed", "True", "PodFailurePolicy")
    assert "failed with exit code 42 matching FailJob rule at index 0" in warnings(c)[0][1]
