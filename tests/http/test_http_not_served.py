"""What the server does not serve: an unknown resource or subresource is a 404 whatever the verb, a
verb a served resource does not take is a 405, and what discovery and RBAC advertise is served
(SelfSubjectReview: `kubectl auth whoami`)."""

from __future__ import annotations

import json

import pytest

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _status(live, method: str, path: str, body: dict | None = None, token: str | None = None) -> tuple[int, dict]:
    headers = {"Content-Type": "application/merge-patch+json"} if method == "PATCH" else None
    code, _, text = live.request(method, path, {} if body is None and method != "GET" else body, token=token,
                                 headers=headers)
    return code, json.loads(text) if text.startswith("{") else {}


def _pod(live) -> str:
    return live.kubectl("get", "pods", "-n", "demo", "-l", "app=web", "-o", "jsonpath={.items[0].metadata.name}").stdout


@pytest.mark.parametrize("method", METHODS)
def test_an_unknown_resource_is_not_found_whatever_the_verb(live, method):
    for path in ("/api/v1/namespaces/demo/widgets", "/api/v1/namespaces/demo/widgets/one",
                 "/apis/example.org/v1/things", "/apis/authentication.k8s.io/v1/tokenreviews"):
        code, status = _status(live, method, path)
        assert (code, status["reason"]) == (404, "NotFound"), (method, path)
        assert status["message"] == "the server could not find the requested resource"


@pytest.mark.parametrize("method", METHODS)
def test_an_unknown_subresource_is_not_found_whatever_the_verb(live, method):
    code, status = _status(live, method, f"/api/v1/namespaces/demo/pods/{_pod(live)}/nothing")
    assert (code, status["reason"], status["details"]) == (404, "NotFound", {}), method


@pytest.mark.parametrize("method", METHODS)
def test_what_needs_a_real_process_is_refused_as_unsupported_whatever_the_verb(live, method):
    pod = _pod(live)
    for sub in ("exec", "attach", "portforward", "proxy"):
        code, status = _status(live, method, f"/api/v1/namespaces/demo/pods/{pod}/{sub}")
        assert (code, status["reason"]) == (400, "BadRequest"), (method, sub)
        assert status["message"].startswith(f"pods/{sub} is not supported: recon simulates containers, "), sub


def test_a_verb_a_served_resource_does_not_take_is_method_not_allowed(live):
    pod = _pod(live)
    assert _status(live, "GET", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews")[0] == 405
    assert _status(live, "DELETE", "/apis/authentication.k8s.io/v1/selfsubjectreviews")[0] == 405
    assert _status(live, "POST", f"/api/v1/namespaces/demo/pods/{pod}/status")[0] == 405
    assert _status(live, "PUT", f"/api/v1/namespaces/demo/pods/{pod}/log")[0] == 405
    assert _status(live, "PUT", "/api/v1/namespaces/demo/configmaps")[0] == 405
    assert _status(live, "POST", "/version")[0] == 405


def test_kubectl_exec_attach_and_port_forward_say_why_they_fail(live):
    pod = _pod(live)
    for args, sub in ((["exec", "-n", "demo", pod, "--", "ls"], "exec"), (["attach", "-n", "demo", pod], "attach"),
                      (["port-forward", "-n", "demo", pod, "0:80"], "portforward")):
        failed = live.kubectl(*args, check=1, timeout=30)
        assert f"pods/{sub} is not supported: recon simulates containers, so there is no process to" \
            in failed.stderr, args


def test_kubectl_debug_adds_an_ephemeral_container_and_only_its_attach_is_refused(live):
    pod = _pod(live)
    done = live.kubectl("debug", "-n", "demo", pod, "--image=busybox", "-it", "-c", "probe", "--", "sh", timeout=30)
    assert "ephemeral containers are disabled" not in done.stderr and "panic" not in done.stderr
    assert "pods/attach is not supported: recon simulates containers" in done.stderr
    assert live.kubectl("get", "pod", "-n", "demo", pod, "-o", "jsonpath={.spec.ephemeralContainers[*].name}").stdout \
        == "probe"
    code, status = _status(live, "PUT", f"/api/v1/namespaces/demo/pods/{pod}/ephemeralcontainers",
                           {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": pod}, "spec": {}})
    assert (code, status["reason"]) == (422, "Invalid")
    assert 'existing ephemeral containers "probe" may not be removed' in status["message"]


def test_kubectl_auth_whoami_shows_the_admin(live):
    out = live.kubectl("auth", "whoami", "-o", "json").stdout
    review = json.loads(out)
    assert review["kind"] == "SelfSubjectReview" and review["apiVersion"] == "authentication.k8s.io/v1"
    assert review["status"]["userInfo"]["username"] == "kubernetes-admin"
    assert "system:masters" in review["status"]["userInfo"]["groups"]
    assert live.kubectl("auth", "whoami").stdout.splitlines()[1].split() == ["Username", "kubernetes-admin"]


def test_a_serviceaccount_without_bindings_may_review_itself(live):
    token = live.kubectl("create", "token", "default", "-n", "demo").stdout.strip()
    code, review = _status(live, "POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                           {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}, token=token)
    assert code == 201
    info = review["status"]["userInfo"]
    assert info["username"] == "system:serviceaccount:demo:default" and info["uid"]
    assert "system:serviceaccounts:demo" in info["groups"]


def test_every_resource_can_i_list_grants_everyone_is_served(live):
    served = set(live.kubectl("api-resources", "-o", "name").stdout.split())
    rows = [row.split() for row in live.kubectl("auth", "can-i", "--list").stdout.splitlines()[1:]]
    named = [row[0] for row in rows if row and not row[0].startswith(("*", "["))]
    assert "selfsubjectreviews.authentication.k8s.io" in named
    for name in named:
        assert name in served, name
