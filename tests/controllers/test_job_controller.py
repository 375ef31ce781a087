"""rules/job.rules: the Job controller, sample-controller style (no kubelet: the tests write pod phases)."""

from __future__ import annotations

import pytest
from pyrsistent import thaw

from engine.apierrors import APIError
from engine.describe import events_of
from engine.objects import key_of
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


# ------------------------------------------------------------ Indexed completion mode

INDEX = "batch.kubernetes.io/job-completion-index"
INDEX_ENV = {"name": "JOB_COMPLETION_INDEX", "valueFrom": {"fieldRef": {
    "apiVersion": "v1", "fieldPath": "metadata.labels['batch.kubernetes.io/job-completion-index']"}}}


def indexed_job(name="pi", completions=5, parallelism=2, **spec):
    body = job(name, completions=completions, parallelism=parallelism, completionMode="Indexed", **spec)
    body["spec"]["template"]["spec"]["subdomain"] = "workers"
    return body


def index_of(pod):
    return pod["metadata"]["annotations"][INDEX]


def running_by_index(c, name="pi"):
    """The Job's active pods by their completion index."""
    return {index_of(p): p for p in active_pods(c, c.get("Job", name))}


def said(c, obj):
    return [(e["type"], e["reason"], e["message"]) for e in events_of(c.store.head, key_of(obj), obj)]


def test_an_indexed_job_creates_pods_for_its_lowest_indexes_named_and_labelled_by_index(controller_cluster):
    c = controller_cluster
    c.load("job")
    body = indexed_job()
    template = body["spec"]["template"]["spec"]
    template["initContainers"] = [{"name": "setup", "image": "busybox:1.36"}]
    template["containers"][0]["env"] = [{"name": "MODE", "value": "fast"}]
    c.create(body)
    assert c.run(1).converged
    j = c.get("Job", "pi")
    pods = sorted(c.owned("Pod", j), key=index_of)
    assert [index_of(p) for p in pods] == ["0", "1"]
    for i, pod in enumerate(pods):
        meta, spec = pod["metadata"], pod["spec"]
        assert meta["generateName"] == f"pi-{i}-"
        assert meta["name"].startswith(f"pi-{i}-") and len(meta["name"]) == len(f"pi-{i}-") + 5
        assert meta["labels"][INDEX] == str(i) and meta["labels"]["job-name"] == "pi"
        assert spec["hostname"] == f"pi-{i}" and spec["subdomain"] == "workers"
        assert thaw(spec["containers"][0]["env"]) == [{"name": "MODE", "value": "fast"}, INDEX_ENV]
        assert thaw(spec["initContainers"][0]["env"]) == [INDEX_ENV]
    assert j["status"]["active"] == 2 and "completedIndexes" not in j["status"]
    assert said(c, j) == [("Normal", "SuccessfulCreate", f"Created pod: {p['metadata']['name']}") for p in pods]


def test_an_indexed_job_keeps_a_containers_own_job_completion_index_variable(controller_cluster):
    c = controller_cluster
    c.load("job")
    body = indexed_job(completions=1, parallelism=1)
    own = {"name": "JOB_COMPLETION_INDEX", "value": "42"}
    body["spec"]["template"]["spec"]["containers"][0]["env"] = [own]
    c.create(body)
    c.run(1)
    (pod,) = c.owned("Pod", c.get("Job", "pi"))
    assert pod["metadata"]["annotations"][INDEX] == "0" and pod["spec"]["hostname"] == "pi-0"
    assert thaw(pod["spec"]["containers"][0]["env"]) == [own]
    assert "initContainers" not in pod["spec"]


def test_a_non_indexed_jobs_pods_carry_no_index(controller_cluster):
    c = controller_cluster
    c.load("job")
    c.create(job(completions=2, parallelism=2))
    c.run(1)
    for pod in c.owned("Pod", c.get("Job", "pi")):
        assert pod["metadata"]["generateName"] == "pi-"
        assert INDEX not in pod["metadata"].get("annotations", {}) and INDEX not in pod["metadata"]["labels"]
        assert "hostname" not in pod["spec"] and "env" not in pod["spec"]["containers"][0]


def test_an_indexed_job_records_its_succeeded_indexes_as_intervals(controller_cluster):
    c = controller_cluster
    c.load("job")
    c.create(indexed_job(completions=8, parallelism=8))
    c.run(1)
    pods = running_by_index(c)
    for i in ("6", "0", "4", "1", "7", "2"):
        finish(c, pods[i], "Succeeded")
        c.run(1)
    j = c.get("Job", "pi")
    assert j["status"]["completedIndexes"] == "0-2,4,6,7"
    assert j["status"]["succeeded"] == 6 and j["status"]["active"] == 2
    assert sorted(running_by_index(c)) == ["3", "5"]
    assert conditions(j) == []


def test_an_indexed_job_counts_an_index_once_however_many_of_its_pods_succeeded(controller_cluster):
    c = controller_cluster
    c.load("job")
    c.create(indexed_job(completions=3, parallelism=1))
    c.run(1)
    first = running_by_index(c)["0"]
    twin = {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "pi-0-twin", "namespace": "demo", "labels": dict(first["metadata"]["labels"]),
                         "annotations": {INDEX: "0"}, "ownerReferences": [dict(first["metadata"]["ownerReferences"][0])]},
            "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox:1.36"}]}}
    c.create(twin)
    finish(c, first, "Succeeded")
    finish(c, c.get("Pod", "pi-0-twin"), "Succeeded")
    c.run(1)
    j = c.get("Job", "pi")
    assert j["status"]["completedIndexes"] == "0" and j["status"]["succeeded"] == 1
    assert sorted(running_by_index(c)) == ["1"]


def test_an_indexed_job_replaces_a_failed_pod_with_one_of_the_same_index_and_never_reruns_a_succeeded_one(
        controller_cluster):
    c = controller_cluster
    c.load("job")
    c.create(indexed_job(completions=3, parallelism=2))
    c.run(1)
    pods = running_by_index(c)
    finish(c, pods["0"], "Succeeded")
    c.run(1)
    assert sorted(running_by_index(c)) == ["1", "2"]
    c.clock.advance(5)
    finish(c, running_by_index(c)["1"], "Failed")
    c.run(1)  # the failure back-off (10 s) holds the replacement back
    assert sorted(running_by_index(c)) == ["2"]
    c.run(11)
    now = running_by_index(c)
    assert sorted(now) == ["1", "2"]
    replacement = now["1"]
    assert replacement["metadata"]["name"] != pods["1"]["metadata"]["name"]
    assert replacement["metadata"]["name"].startswith("pi-1-") and replacement["spec"]["hostname"] == "pi-1"
    j = c.get("Job", "pi")
    assert j["status"]["failed"] == 1 and j["status"]["completedIndexes"] == "0"
    assert [index_of(p) for p in c.owned("Pod", j)].count("0") == 1


def test_an_indexed_job_is_complete_when_every_index_succeeded(controller_cluster):
    c = controller_cluster
    c.load("job")
    c.create(indexed_job(completions=3, parallelism=3))
    c.run(1)
    pods = running_by_index(c)
    for i in ("2", "0"):
        finish(c, pods[i], "Succeeded")
    c.run(1)
    assert conditions(c.get("Job", "pi")) == []
    finish(c, pods["1"], "Succeeded")
    c.run(1)
    j = c.get("Job", "pi")
    assert j["status"]["completedIndexes"] == "0-2" and j["status"]["succeeded"] == 3
    assert conditions(j) == [("SuccessCriteriaMet", "True", "CompletionsReached"),
                             ("Complete", "True", "CompletionsReached")]
    assert j["status"]["completionTime"] and "active" not in j["status"]
    assert ("Normal", "Completed", "Job completed") in said(c, j)


def test_an_indexed_job_deletes_extra_pods_of_an_index_and_pods_of_no_index_of_its_own(controller_cluster):
    c = controller_cluster
    c.load("job")
    c.create(indexed_job(completions=3, parallelism=2))
    c.run(1)
    j = c.get("Job", "pi")
    original = running_by_index(c)["0"]
    c.set_pod_status(original["metadata"]["name"])  # Running and Ready: the one to keep
    c.clock.advance(5)

    def stray(name, annotations):
        return {"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": name, "namespace": "demo", "labels": dict(original["metadata"]["labels"]),
                             "annotations": annotations,
                             "ownerReferences": [dict(original["metadata"]["ownerReferences"][0])]},
                "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox:1.36"}]}}

    c.create(stray("pi-0-extra", {INDEX: "0"}))
    c.create(stray("pi-9-beyond", {INDEX: "9"}))
    c.create(stray("pi-no-index", {INDEX: "x"}))
    c.run(1)
    j = c.get("Job", "pi")
    for name in ("pi-0-extra", "pi-9-beyond", "pi-no-index"):
        assert c.get("Pod", name) is None  # unscheduled: deleted at once
        assert ("Normal", "SuccessfulDelete", f"Deleted pod: {name}") in said(c, j)
    assert c.get("Pod", original["metadata"]["name"])["metadata"].get("deletionTimestamp") is None
    assert sorted(running_by_index(c)) == ["0", "1"]
    # the extra pod of index 0 counts as a failure, the pods of no index of the Job's do not
    assert j["status"]["failed"] == 1


def test_an_indexed_job_scaled_down_deletes_the_pods_of_the_indexes_it_no_longer_has(controller_cluster):
    c = controller_cluster
    c.load("job")
    c.create(indexed_job(completions=4, parallelism=4))
    c.run(1)
    finish(c, running_by_index(c)["3"], "Succeeded")
    c.run(1)
    assert c.get("Job", "pi")["status"]["completedIndexes"] == "3"
    c.patch("Job", "pi", {"spec": {"completions": 2, "parallelism": 2}})
    c.run(1)
    j = c.get("Job", "pi")
    assert sorted(running_by_index(c)) == ["0", "1"]
    assert "completedIndexes" not in j["status"] and "succeeded" not in j["status"]
    assert "failed" not in j["status"]  # pods of indexes past completions are not the Job's failures


def test_an_indexed_job_needs_completions_with_upstreams_message(controller_cluster):
    body = indexed_job(completions=None, parallelism=2)
    with pytest.raises(APIError) as err:
        controller_cluster.create(body)
    assert "spec.completions: Required value: when completion mode is Indexed" in err.value.message


def test_an_indexed_jobs_parallelism_is_at_most_100000(controller_cluster):
    with pytest.raises(APIError) as err:
        controller_cluster.create(indexed_job(completions=10, parallelism=100001))
    assert ("spec.parallelism: Invalid value: 100001: must be less than or equal to 100000 "
            "when completion mode is Indexed") in err.value.message
    controller_cluster.create(indexed_job(completions=10, parallelism=100000))
    controller_cluster.create(job("plain", completions=10, parallelism=100001))  # NonIndexed: no such cap


def test_an_indexed_jobs_last_pod_hostname_must_be_a_dns_label(controller_cluster):
    name = "j" * 61
    with pytest.raises(APIError) as err:
        controller_cluster.create(indexed_job(name, completions=100, parallelism=1))
    assert (f'metadata.name: Invalid value: "{name}": will not able to create pod with invalid DNS label: '
            f"{name}-99") in err.value.message
    controller_cluster.create(indexed_job(name, completions=10, parallelism=1))  # j…j-9: 63 characters


def test_an_indexed_jobs_long_name_is_cut_so_its_pods_name_prefix_fits_in_58_characters(controller_cluster):
    c = controller_cluster
    c.load("job")
    name = "j" * 61  # j…j-9, the last hostname, is a DNS label of 63 characters
    c.create(indexed_job(name, completions=10, parallelism=2))
    c.run(1)
    pods = sorted(c.owned("Pod", c.get("Job", name)), key=index_of)
    assert [p["metadata"]["generateName"] for p in pods] == ["j" * 55 + "-0-", "j" * 55 + "-1-"]
    for pod in pods:
        meta = pod["metadata"]
        assert meta["name"].startswith(meta["generateName"]) and len(meta["name"]) == 63
        assert pod["spec"]["hostname"] == f"{name}-{index_of(pod)}"  # the hostname keeps the whole name


def test_a_short_indexed_jobs_pod_prefix_is_not_cut(controller_cluster):
    c = controller_cluster
    c.load("job")
    name = "j" * 52  # j…j-12- is 56 characters
    c.create(indexed_job(name, completions=13, parallelism=13))
    c.run(1)
    prefixes = {p["metadata"]["generateName"] for p in c.owned("Pod", c.get("Job", name))}
    assert f"{name}-12-" in prefixes and f"{name}-0-" in prefixes


def test_a_job_with_a_name_of_63_characters_names_its_pods_within_63_characters(controller_cluster):
    c = controller_cluster
    c.load("job")
    name = "n" * 63
    c.create(job(name, completions=2, parallelism=2))
    c.run(1)
    for pod in c.owned("Pod", c.get("Job", name)):
        # the whole prefix stays in generateName; the name takes its first 58 characters, as SimpleNameGenerator
        assert pod["metadata"]["generateName"] == name + "-"
        assert pod["metadata"]["name"][:58] == "n" * 58 and len(pod["metadata"]["name"]) == 63


def test_the_api_server_cuts_a_long_generate_name_to_58_characters(controller_cluster):
    pod = controller_cluster.create({"apiVersion": "v1", "kind": "Pod", "metadata": {
        "generateName": "p" * 70, "namespace": "demo"}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}})
    assert pod["metadata"]["generateName"] == "p" * 70
    assert pod["metadata"]["name"][:58] == "p" * 58 and len(pod["metadata"]["name"]) == 63


def test_an_indexed_jobs_completions_change_only_with_parallelism(controller_cluster):
    c = controller_cluster
    c.create(indexed_job(completions=4, parallelism=4))
    with pytest.raises(APIError) as err:
        c.patch("Job", "pi", {"spec": {"completions": 6}})
    assert "spec.completions: Invalid value: 6: can only be modified in tandem with spec.parallelism" \
        in err.value.message
    scaled = c.patch("Job", "pi", {"spec": {"completions": 6, "parallelism": 6}})
    assert (scaled["spec"]["completions"], scaled["spec"]["parallelism"]) == (6, 6)
    c.create(job("plain", completions=4, parallelism=4))
    with pytest.raises(APIError) as err:
        c.patch("Job", "plain", {"spec": {"completions": 6, "parallelism": 6}})
    assert "spec.completions: Invalid value: 6: field is immutable" in err.value.message


def test_an_indexed_jobs_completion_mode_is_immutable(controller_cluster):
    c = controller_cluster
    c.create(indexed_job(completions=2, parallelism=2))
    with pytest.raises(APIError) as err:
        c.patch("Job", "pi", {"spec": {"completionMode": "NonIndexed"}})
    assert 'spec.completionMode: Invalid value: "NonIndexed": field is immutable' in err.value.message
