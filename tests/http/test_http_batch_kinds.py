"""Real kubectl (v1.32): batch, policy, networking and quota kinds; tokens, rules reviews, impersonation."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from http_live import bound_service_account, wait_for

RBAC = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: pod-reader, namespace: default}
rules:
- {apiGroups: [""], resources: [pods], verbs: [get, list, watch]}
---
""" + bound_service_account("default", "reader", "pod-reader", "reader-reads-pods", role_kind="Role")


def header(live, *args: str) -> list[str]:
    return live.kubectl("get", *args).stdout.splitlines()[0].split()


def test_a_delete_with_a_malformed_json_body_is_a_400_status(live):
    req = urllib.request.Request(live.url + "/api/v1/namespaces/default/configmaps/nope", data=b"{oops",
                                 method="DELETE", headers={"Content-Type": "application/json"})
    try:
        urllib.request.urlopen(req, timeout=10)
        raise AssertionError("accepted a malformed body")
    except urllib.error.HTTPError as exc:
        code, status = exc.code, json.loads(exc.read())
    assert code == 400 and status["kind"] == "Status" and status["reason"] == "BadRequest"


def test_kubectl_create_job_runs_it_to_completion_and_get_shows_its_columns(live):
    live.kubectl("create", "job", "hello-job", "--image=busybox:1.36", "-n", "default")
    job = json.loads(live.kubectl("get", "job", "hello-job", "-n", "default", "-o", "json").stdout)
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    assert job["spec"]["selector"]["matchLabels"]["batch.kubernetes.io/controller-uid"] == job["metadata"]["uid"]
    assert header(live, "jobs", "-n", "default") == ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"]
    # busybox's command exits at once in the simulated runtime only when asked: the pod runs
    wait_for(lambda: "hello-job-" in live.kubectl("get", "pods", "-n", "default", "-l", "job-name=hello-job",
                                                  "-o", "name").stdout)
    row = live.kubectl("get", "job", "hello-job", "-n", "default").stdout.splitlines()[1].split()
    assert row[:3] == ["hello-job", "Running", "0/1"]


def test_kubectl_create_cronjob_and_get_shows_its_columns(live):
    live.kubectl("create", "cronjob", "nightly", "--image=busybox:1.36", "--schedule=0 3 * * *", "-n", "default")
    assert header(live, "cj", "-n", "default") == ["NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE",
                                                   "LAST", "SCHEDULE", "AGE"]
    row = live.kubectl("get", "cronjob", "nightly", "-n", "default").stdout.splitlines()[1].split()
    assert row[:8] == ["nightly", "0", "3", "*", "*", "*", "<none>", "False"]
    cj = json.loads(live.kubectl("get", "cj", "nightly", "-n", "default", "-o", "json").stdout)
    assert cj["spec"]["concurrencyPolicy"] == "Allow" and cj["spec"]["successfulJobsHistoryLimit"] == 3


def test_kubectl_create_pdb_ingress_and_quota_and_get_shows_their_columns(live):
    live.kubectl("create", "pdb", "web-pdb", "--selector=app=web", "--min-available=1", "-n", "default")
    assert header(live, "pdb", "-n", "default") == ["NAME", "MIN", "AVAILABLE", "MAX", "UNAVAILABLE", "ALLOWED",
                                                    "DISRUPTIONS", "AGE"]
    assert live.kubectl("get", "pdb", "web-pdb", "-n", "default").stdout.splitlines()[1].split()[:4] == [
        "web-pdb", "1", "N/A", "0"]
    live.kubectl("create", "ingress", "web-ing", "--rule=example.com/=web:80", "-n", "default")
    assert header(live, "ing", "-n", "default") == ["NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"]
    ing = json.loads(live.kubectl("get", "ingress", "web-ing", "-n", "default", "-o", "json").stdout)
    assert ing["spec"]["rules"][0]["http"]["paths"][0]["pathType"] == "Exact"
    assert live.kubectl("get", "ing", "web-ing", "-n", "default").stdout.splitlines()[1].split()[:4] == [
        "web-ing", "<none>", "example.com", "80"]
    live.kubectl("create", "quota", "small", "--hard=pods=10,cpu=4", "-n", "default")
    assert header(live, "quota", "-n", "default") == ["NAME", "AGE", "REQUEST", "LIMIT"]
    quota = json.loads(live.kubectl("get", "resourcequota", "small", "-n", "default", "-o", "json").stdout)
    assert quota["spec"]["hard"] == {"pods": "10", "cpu": "4"}
    # (a cpu quota refuses pods without a cpu request, as upstream's: the module's later pods have none)
    live.kubectl("delete", "quota", "small", "-n", "default")


def test_a_job_whose_pods_restart_always_is_refused_with_upstreams_message(live):
    manifest = json.dumps({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "bad", "namespace": "default"},
                           "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "busybox"}]}}}})
    proc = live.kubectl("create", "-f", "-", input=manifest, check=1)
    assert 'spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"' \
        in proc.stderr


def test_kubectl_runs_an_indexed_job_one_pod_an_index_to_completion(live):
    manifest = json.dumps({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "idx", "namespace": "default"},
                           "spec": {"completions": 3, "parallelism": 2, "completionMode": "Indexed", "template": {
                               "spec": {"restartPolicy": "Never", "containers": [
                                   {"name": "c", "image": "busybox:1.36", "command": ["true"]}]}}}})
    live.kubectl("apply", "-f", "-", input=manifest)

    def completed():
        job = json.loads(live.kubectl("get", "job", "idx", "-n", "default", "-o", "json").stdout)
        return job if any(c["type"] == "Complete" for c in job["status"].get("conditions", ())) else None

    job = wait_for(completed, "the Indexed Job to complete")
    assert job["status"]["completedIndexes"] == "0-2" and job["status"]["succeeded"] == 3
    assert live.kubectl("get", "job", "idx", "-n", "default").stdout.splitlines()[1].split()[:3] == [
        "idx", "Complete", "3/3"]
    second = json.loads(live.kubectl("get", "pods", "-n", "default", "-l", "batch.kubernetes.io/job-completion-index=1",
                                     "-o", "json").stdout)["items"]
    assert [p["metadata"]["generateName"] for p in second] == ["idx-1-"]
    assert second[0]["metadata"]["name"].startswith("idx-1-") and second[0]["spec"]["hostname"] == "idx-1"
    assert second[0]["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"] == "1"
    assert second[0]["spec"]["containers"][0]["env"] == [{"name": "JOB_COMPLETION_INDEX", "valueFrom": {"fieldRef": {
        "apiVersion": "v1", "fieldPath": "metadata.labels['batch.kubernetes.io/job-completion-index']"}}}]
    page = live.kubectl("describe", "job", "idx", "-n", "default").stdout
    lines = {line.split(":", 1)[0]: line.split(":", 1)[1].strip() for line in page.splitlines() if ":" in line}
    assert (lines["Completion Mode"], lines["Completed Indexes"]) == ("Indexed", "0-2")


def test_kubectl_is_refused_an_indexed_job_without_completions(live):
    manifest = json.dumps({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "idx-bad", "namespace": "default"},
                           "spec": {"parallelism": 2, "completionMode": "Indexed", "template": {
                               "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}}})
    proc = live.kubectl("create", "-f", "-", input=manifest, check=1)
    assert "spec.completions: Required value: when completion mode is Indexed" in proc.stderr


def test_kubectl_create_token_gives_a_token_that_acts_as_the_service_account(live):
    live.kubectl("apply", "-f", "-", input=RBAC)
    token = live.kubectl("create", "token", "reader", "-n", "default", "--duration=20m").stdout.strip()
    code, _, text = live.request("GET", "/api/v1/namespaces/default/pods", token=token)
    assert code == 200 and json.loads(text)["kind"] == "PodList"
    code, _, text = live.request("GET", "/api/v1/namespaces/default/secrets", token=token)
    assert code == 403 and ('User "system:serviceaccount:default:reader" cannot list resource "secrets"'
                            in json.loads(text)["message"])
    code, _, _ = live.request("GET", "/api/v1/namespaces/default/pods", token=token[:-2] + "xx")
    assert code == 401
    review = json.loads(live.kubectl("create", "token", "reader", "-n", "default", "-o", "json").stdout)
    assert review["kind"] == "TokenRequest" and review["status"]["expirationTimestamp"]


def test_kubectl_auth_can_i_list_shows_the_callers_rules(live):
    live.kubectl("apply", "-f", "-", input=RBAC)
    mine = live.kubectl("auth", "can-i", "--list", "-n", "default",
                        "--as=system:serviceaccount:default:reader").stdout
    pods = [line for line in mine.splitlines() if line.startswith("pods ")]
    assert pods and "[get list watch]" in pods[0]
    assert "selfsubjectaccessreviews.authorization.k8s.io" in mine
    admin = live.kubectl("auth", "can-i", "--list", "-n", "default").stdout
    assert any(line.startswith("*.*") and "[*]" in line for line in admin.splitlines())


def test_the_admin_may_impersonate_and_a_service_account_without_the_verb_may_not(live):
    live.kubectl("apply", "-f", "-", input=RBAC)
    as_reader = ["--as=system:serviceaccount:default:reader"]
    assert live.kubectl("get", "pods", "-n", "default", "-o", "name", *as_reader).returncode == 0
    denied = live.kubectl("get", "secrets", "-n", "default", *as_reader, check=1)
    assert 'User "system:serviceaccount:default:reader" cannot list resource "secrets"' in denied.stderr
    assert live.kubectl("auth", "can-i", "create", "deployments", "--as=alice", "--as-group=devs",
                        check=1).stdout == "no\n"  # (upstream's RBAC authorizer gives a denial no reason)
    token = live.kubectl("create", "token", "reader", "-n", "default").stdout.strip()
    code, _, text = live.request("GET", "/api/v1/namespaces/default/pods", token=token,
                                 headers={"Impersonate-User": "bob"})
    assert code == 403
    assert json.loads(text)["message"] == ('users "bob" is forbidden: User "system:serviceaccount:default:reader" '
                                           'cannot impersonate resource "users" in API group "" at the cluster scope')


def test_kubectl_describe_job_and_cronjob_show_kubectls_pages(live):
    live.kubectl("create", "job", "described", "--image=busybox:1.36", "-n", "default")
    wait_for(lambda: "described-" in live.kubectl("get", "pods", "-n", "default", "-l", "job-name=described",
                                                  "-o", "name").stdout)
    page = live.kubectl("describe", "job", "described", "-n", "default").stdout
    assert "Parallelism:      1" in page and "Completions:      1" in page
    assert "Pods Statuses:    1 Active" in page
    assert "SuccessfulCreate" in page  # the Job controller's event, as upstream records it
    live.kubectl("create", "cronjob", "described-cron", "--image=busybox:1.36", "--schedule=0 3 * * *",
                 "-n", "default")
    page = live.kubectl("describe", "cronjob", "described-cron", "-n", "default").stdout
    assert "Schedule:                      0 3 * * *" in page and "Concurrency Policy:            Allow" in page
