"""The HTTP API beyond what kubectl exercises: tokens, RBAC, Tables, watches, errors, shutdown."""

from __future__ import annotations

import http.client
import json
import ssl
import urllib.error
import urllib.request

import pytest

from http_live import start, stop


def sa_token(live, namespace: str = "demo") -> str:
    # a bound token from TokenRequest: v1.32 generates no token Secrets
    request = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}}
    code, _, body = live.request("POST", f"/api/v1/namespaces/{namespace}/serviceaccounts/default/token", request)
    assert code == 201, body
    return json.loads(body)["status"]["token"]


def test_a_wrong_token_is_refused_with_401(live):
    code, _, body = live.request("GET", "/api/v1/pods", token="not-a-token")
    assert code == 401 and json.loads(body)["reason"] == "Unauthorized"


def test_a_service_account_without_a_binding_is_forbidden_in_upstreams_words(live):
    code, _, body = live.request("GET", "/api/v1/namespaces/demo/pods", token=sa_token(live))
    status = json.loads(body)
    assert code == 403 and status["reason"] == "Forbidden"
    assert status["message"] == ('pods is forbidden: User "system:serviceaccount:demo:default" cannot list '
                                 'resource "pods" in API group "" in the namespace "demo"')


def test_a_rolebinding_to_view_lets_the_service_account_read_but_not_write(live):
    token = sa_token(live)
    binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
               "metadata": {"name": "default-view", "namespace": "demo"},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
               "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": "demo"}]}
    code, _, _ = live.request("POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/demo/rolebindings", binding)
    assert code == 201
    assert live.request("GET", "/api/v1/namespaces/demo/pods", token=token)[0] == 200
    assert live.request("GET", "/api/v1/namespaces/default/pods", token=token)[0] == 403
    code, _, body = live.request("DELETE", "/apis/apps/v1/namespaces/demo/deployments/web", token=token)
    assert code == 403 and 'deployments.apps "web" is forbidden' in json.loads(body)["message"]


def test_a_service_account_may_not_grant_itself_more_through_roles_or_bindings(live):
    # upstream's escalation prevention: creating roles and rolebindings grants only what one holds
    rbac = "/apis/rbac.authorization.k8s.io/v1/namespaces/demo"
    assert live.request("POST", "/api/v1/namespaces/demo/serviceaccounts",
                        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "bot"}})[0] == 201
    rules = [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]},
             {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles", "rolebindings"],
              "verbs": ["create", "get", "list"]}]
    live.request("POST", f"{rbac}/roles", {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                                           "metadata": {"name": "bot"}, "rules": rules})
    live.request("POST", f"{rbac}/rolebindings", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "bot"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "bot"},
        "subjects": [{"kind": "ServiceAccount", "name": "bot", "namespace": "demo"}]})
    request = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}}
    token = json.loads(live.request("POST", "/api/v1/namespaces/demo/serviceaccounts/bot/token", request)[2])[
        "status"]["token"]
    sneaky = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "sneaky"},
              "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}]}
    code, _, body = live.request("POST", f"{rbac}/roles", sneaky, token=token)
    status = json.loads(body)
    assert code == 403 and status["reason"] == "Forbidden", body
    assert status["message"] == (
        'roles.rbac.authorization.k8s.io "sneaky" is forbidden: user "system:serviceaccount:demo:bot" '
        '(groups=["system:serviceaccounts" "system:serviceaccounts:demo" "system:authenticated"]) is attempting '
        'to grant RBAC permissions not currently held:\n{APIGroups:[""], Resources:["secrets"], Verbs:["get"]}')
    assert status["details"] == {"name": "sneaky", "group": "rbac.authorization.k8s.io", "kind": "roles"}
    admin = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "sneaky-b"},
             "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
             "subjects": [{"kind": "ServiceAccount", "name": "bot", "namespace": "demo"}]}
    code, _, body = live.request("POST", f"{rbac}/rolebindings", admin, token=token)
    assert code == 403 and "is attempting to grant RBAC permissions not currently held" in json.loads(body)["message"]
    assert live.request("GET", f"{rbac}/rolebindings/sneaky-b")[0] == 404
    assert live.request("GET", "/api/v1/namespaces/demo/secrets", token=token)[0] == 403
    within = {**sneaky, "metadata": {"name": "pod-reader"},
              "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]}
    assert live.request("POST", f"{rbac}/roles", within, token=token)[0] == 201


def test_a_self_subject_access_review_answers_for_the_caller(live):
    review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
              "spec": {"resourceAttributes": {"verb": "create", "resource": "pods", "namespace": "demo"}}}
    code, _, body = live.request("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", review,
                                 token=sa_token(live))
    assert code == 201 and json.loads(body)["status"]["allowed"] is False


def test_lists_come_as_tables_when_asked_with_row_metadata(live):
    accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
    code, _, body = live.request("GET", "/api/v1/namespaces/demo/pods?labelSelector=app%3Dweb",
                                 headers={"Accept": accept})
    table = json.loads(body)
    assert code == 200 and table["kind"] == "Table"
    assert [c["name"] for c in table["columnDefinitions"] if c["priority"] == 0] == [
        "Name", "Ready", "Status", "Restarts", "Age"]
    assert len(table["rows"]) == 3
    assert table["rows"][0]["object"]["kind"] == "PartialObjectMetadata"


def test_limit_and_continue_page_through_one_consistent_list(live):
    code, _, body = live.request("GET", "/api/v1/pods?limit=2")
    first = json.loads(body)
    assert code == 200 and len(first["items"]) == 2 and first["metadata"]["continue"]
    names = [p["metadata"]["name"] for p in first["items"]]
    token = first["metadata"]["continue"]
    while token:
        page = json.loads(live.request("GET", f"/api/v1/pods?limit=2&continue={token}")[2])
        names += [p["metadata"]["name"] for p in page["items"]]
        token = page["metadata"].get("continue")
    every = [p["metadata"]["name"] for p in json.loads(live.request("GET", "/api/v1/pods")[2])["items"]]
    assert names == every


def test_health_endpoints_list_their_checks_when_verbose(live):
    assert live.request("GET", "/readyz")[2] == "ok"
    code, _, text = live.request("GET", "/readyz?verbose&exclude=etcd")
    lines = text.splitlines()
    assert code == 200 and lines[0] == "[+]ping ok" and "[+]etcd excluded: ok" in lines
    assert lines[-1] == "readyz check passed"
    assert live.request("GET", "/livez?verbose")[2].splitlines()[-1] == "livez check passed"
    assert live.request("GET", "/readyz/informer-sync")[:3:2] == (200, "ok")
    assert live.request("GET", "/readyz/no-such-check")[0] == 404
    out = live.kubectl("get", "--raw", "/healthz?verbose").stdout
    assert out.splitlines()[-1] == "healthz check passed"


def test_a_page_counts_the_items_left_unless_a_selector_filters_them(live):
    every = json.loads(live.request("GET", "/api/v1/pods")[2])["items"]
    page = json.loads(live.request("GET", "/api/v1/pods?limit=2")[2])
    assert page["metadata"]["remainingItemCount"] == len(every) - 2
    selected = json.loads(live.request("GET", "/api/v1/pods?limit=1&labelSelector=app%3Dweb")[2])
    assert selected["metadata"]["continue"] and "remainingItemCount" not in selected["metadata"]


@pytest.mark.parametrize("limit", ["0", "-1", "-5"])
def test_a_limit_of_zero_or_less_lists_everything(live, limit):
    every = json.loads(live.request("GET", "/api/v1/pods")[2])
    code, _, body = live.request("GET", f"/api/v1/pods?limit={limit}")
    listed = json.loads(body)
    assert code == 200 and listed["items"] == every["items"] and "continue" not in listed["metadata"]


def test_a_watch_with_a_timeout_that_is_no_number_is_a_400(live):
    code, _, body = live.request("GET", "/api/v1/pods?watch=true&timeoutSeconds=abc")
    assert code == 400
    assert json.loads(body)["message"] == "invalid timeoutSeconds 'abc': must be an integer"


def test_exec_and_the_proxies_are_refused_as_unsupported_not_as_missing(live):
    pod = json.loads(live.request("GET", "/api/v1/namespaces/demo/pods?labelSelector=app%3Dweb")[2])["items"][0]
    code, _, body = live.request("POST", f"/api/v1/namespaces/demo/pods/{pod['metadata']['name']}/exec?command=ls")
    assert code == 400
    assert json.loads(body)["message"] == ("pods/exec is not supported: recon simulates containers, "
                                           "so there is no process to run a command in")
    code, _, body = live.request("GET", "/api/v1/namespaces/demo/services/web/proxy")
    assert code == 400 and json.loads(body)["message"].startswith("services/proxy is not supported")


def test_a_route_not_served_is_upstreams_404_with_empty_details(live):
    pod = json.loads(live.request("GET", "/api/v1/namespaces/demo/pods?labelSelector=app%3Dweb")[2])["items"][0]
    for path in (f"/api/v1/namespaces/demo/pods/{pod['metadata']['name']}/resize", "/api/v1/nonsense"):
        code, _, body = live.request("GET", path)
        status = json.loads(body)
        assert code == 404
        assert (status["message"], status["details"]) == ("the server could not find the requested resource", {})


def test_field_selectors_pick_by_name_and_by_node(live):
    body = json.loads(live.request("GET", "/api/v1/namespaces/demo/services?fieldSelector=metadata.name%3Dweb")[2])
    assert [s["metadata"]["name"] for s in body["items"]] == ["web"]
    pods = json.loads(live.request("GET", "/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-1")[2])["items"]
    assert pods and all(p["spec"]["nodeName"] == "node-1" for p in pods)


def test_a_watch_sends_initial_added_events_then_ends_at_its_timeout(live):
    req = urllib.request.Request(live.url + "/api/v1/namespaces/demo/services?watch=true&timeoutSeconds=1")
    with urllib.request.urlopen(req, timeout=10) as resp:
        events = [json.loads(line) for line in resp.read().splitlines()]
    assert {e["type"] for e in events} == {"ADDED"}
    assert sorted(e["object"]["metadata"]["name"] for e in events) == ["hello", "web"]


def test_a_watch_from_a_compacted_revision_gets_a_410_error_event(live):
    req = urllib.request.Request(live.url + "/api/v1/pods?watch=true&resourceVersion=1&timeoutSeconds=1")
    with urllib.request.urlopen(req, timeout=10) as resp:
        events = [json.loads(line) for line in resp.read().splitlines()]
    # revision 1 is still held by a young store: then its events replay; else one ERROR 410
    if events and events[0]["type"] == "ERROR":
        assert events[0]["object"]["code"] == 410 and events[0]["object"]["reason"] == "Expired"
    else:
        assert events and all(e["type"] in ("ADDED", "MODIFIED", "DELETED") for e in events)


def test_malformed_json_is_a_400_status_never_a_500(live):
    req = urllib.request.Request(live.url + "/api/v1/namespaces/default/configmaps", data=b"{not json",
                                 method="POST", headers={"Content-Type": "application/json"})
    try:
        urllib.request.urlopen(req, timeout=10)
        raise AssertionError("accepted malformed JSON")
    except urllib.error.HTTPError as exc:
        status = json.loads(exc.read())
        assert exc.code == 400 and status["kind"] == "Status" and status["reason"] == "BadRequest"


def test_a_body_without_content_type_is_read_as_json(live):
    scale = {"kind": "Scale", "apiVersion": "autoscaling/v1",
             "metadata": {"name": "hello", "namespace": "demo"}, "spec": {"replicas": 3}}
    host, port = live.url.removeprefix("http://").rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.putrequest("PUT", "/apis/apps/v1/namespaces/demo/deployments/hello/scale", skip_accept_encoding=True)
    data = json.dumps(scale).encode()
    conn.putheader("Content-Length", str(len(data)))
    conn.endheaders(data)
    resp = conn.getresponse()
    assert resp.status == 200 and json.loads(resp.read())["spec"]["replicas"] == 3
    conn.close()


def test_with_tls_kubectl_authenticates_a_request_without_a_token_gets_401_and_sigterm_stops_cleanly(tmp_path):
    server = start(tmp_path, "--tls")
    try:
        assert server.url.startswith("https://127.0.0.1:")
        assert "demo" in server.kubectl("get", "namespaces", "-o", "name").stdout
        # the server's CA is the state folder's own, made at random, not the fixed one every
        # namespace publishes (whose key anyone can derive)
        serving = (tmp_path / ".recon" / "pki" / "ca.crt").read_text()
        published = server.kubectl("get", "configmap", "kube-root-ca.crt", "-n", "demo",
                                   "-o", r"jsonpath={.data.ca\.crt}").stdout
        assert published.startswith("-----BEGIN CERTIFICATE-----") and published != serving
        context = ssl.create_default_context(cadata=serving)
        try:
            urllib.request.urlopen(server.url + "/api/v1/pods", timeout=10, context=context)
            raise AssertionError("served a request without a token")
        except urllib.error.HTTPError as exc:
            assert exc.code == 401
    finally:
        assert stop(server) == 0
