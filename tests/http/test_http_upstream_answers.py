"""Small answers that follow kube-apiserver v1.32 word for word: a dryRun value it does not know,
a deletecollection of namespaces, an unknown resource asked for without rights, the Retry-After
of a refused eviction, a custom kind's list Table in a version other than the stored one, and the
log of a container that has not started."""

from __future__ import annotations

import json

import pytest


def _request(live, method: str, path: str, body: dict | None = None, **kw) -> tuple[int, dict, dict]:
    code, headers, text = live.request(method, path, body, **kw)
    return code, headers, json.loads(text) if text.strip().startswith("{") else {"text": text}


@pytest.mark.parametrize("method, options", [("POST", "CreateOptions"), ("PUT", "UpdateOptions"),
                                             ("PATCH", "PatchOptions")])
def test_an_unknown_dry_run_value_is_a_422_naming_the_options_kind(live, method, options):
    live.kubectl("create", "configmap", f"dry-{method.lower()}", "-n", "default", check=None)
    base = "/api/v1/namespaces/default/configmaps"
    path = base if method == "POST" else f"{base}/dry-{method.lower()}"
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"dry-{method.lower()}"}}
    headers = {"Content-Type": "application/merge-patch+json"} if method == "PATCH" else None
    code, _, status = _request(live, method, path + "?dryRun=foo", {} if method == "PATCH" else body,
                               headers=headers)
    assert code == 422, status
    assert status["reason"] == "Invalid"
    assert status["message"] == (f'{options}.meta.k8s.io "" is invalid: dryRun: Unsupported value: '
                                 '[]string{"foo"}: supported values: "All"')
    assert status["details"]["causes"] == [{"reason": "FieldValueNotSupported", "field": "dryRun",
                                            "message": 'Unsupported value: []string{"foo"}: supported values: "All"'}]


def test_a_429_that_suggests_a_delay_says_it_in_a_retry_after_header_too():
    from engine.api.http import status_response
    from engine.api.resources import _decrement

    pdb = {"metadata": {"name": "busy", "namespace": "default", "generation": 2},
           "status": {"observedGeneration": 1, "disruptionsAllowed": 1}}
    with pytest.raises(Exception) as refused:
        _decrement(pdb, "web-1", 0.0)
    response = status_response(refused.value)
    status = json.loads(response.body)
    assert (response.status, status["details"]["retryAfterSeconds"]) == (429, 10)
    assert response.headers["Retry-After"] == "10"
    assert status["details"]["causes"][0]["message"] == "The disruption budget busy is still being processed by " \
                                                        "the server."


def test_a_429_of_a_spent_budget_suggests_no_delay():
    from engine.api.http import status_response
    from engine.api.resources import _decrement

    pdb = {"metadata": {"name": "spent", "namespace": "default", "generation": 1},
           "status": {"observedGeneration": 1, "disruptionsAllowed": 0, "desiredHealthy": 2, "currentHealthy": 2}}
    with pytest.raises(Exception) as refused:
        _decrement(pdb, "web-1", 0.0)
    response = status_response(refused.value)
    assert response.status == 429 and "Retry-After" not in response.headers
    assert "retryAfterSeconds" not in json.loads(response.body)["details"]


def test_namespaces_take_no_deletecollection_in_discovery_or_at_the_door(live):
    resources = json.loads(live.kubectl("get", "--raw", "/api/v1").stdout)["resources"]
    verbs = next(r["verbs"] for r in resources if r["name"] == "namespaces")
    assert verbs == ["create", "delete", "get", "list", "patch", "update", "watch"]
    code, _, status = _request(live, "DELETE", "/api/v1/namespaces")
    assert (code, status["reason"]) == (405, "MethodNotAllowed"), status
    assert status["message"] == "the server does not allow this method on the requested resource"
    assert "demo" in live.kubectl("get", "namespaces", "-o", "name").stdout


GADGETS = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gadgets.versions.example.com
spec:
  group: versions.example.com
  scope: Namespaced
  names: {plural: gadgets, singular: gadget, kind: Gadget}
  versions:
  - name: v1
    served: true
    storage: true
    additionalPrinterColumns:
    - {name: Size, type: integer, jsonPath: .spec.size}
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
  - name: v2
    served: true
    storage: false
    additionalPrinterColumns:
    - {name: Colour, type: string, jsonPath: .spec.color}
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
"""
TABLE = {"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"}


def test_a_list_table_of_a_custom_kind_has_the_printer_columns_of_the_version_asked_for(live):
    from http_live import wait_for

    (live.root / "gadgets.yaml").write_text(GADGETS)
    live.kubectl("apply", "-f", str(live.root / "gadgets.yaml"))
    base = "/apis/versions.example.com/{}/namespaces/default/gadgets"
    wait_for(lambda: live.request("GET", base.format("v2"))[0] == 200, "the Gadget kind")
    code, _, _ = _request(live, "POST", base.format("v1"), {"apiVersion": "versions.example.com/v1",
                                                          "kind": "Gadget", "metadata": {"name": "g1"},
                                                          "spec": {"size": 3, "color": "teal"}})
    assert code == 201
    for version, column, cell in (("v1", "Size", 3), ("v2", "Colour", "teal")):
        code, _, table = _request(live, "GET", base.format(version) + "?includeObject=Object", headers=TABLE)
        assert code == 200, table
        assert [c["name"] for c in table["columnDefinitions"]] == ["Name", column]
        assert table["rows"][0]["cells"][:2] == ["g1", cell]
        assert table["rows"][0]["object"]["apiVersion"] == f"versions.example.com/{version}"
    out = live.kubectl("get", "gadgets.v2.versions.example.com", "-n", "default").stdout.split("\n")
    assert out[0].split() == ["NAME", "COLOUR"]


def test_an_unknown_resource_is_authorized_as_a_resource_before_its_404(live):
    from test_http_api_surface import sa_token

    token = sa_token(live, "default")
    code, _, status = _request(live, "POST", "/apis/nonexist.io/v1/foos", {"kind": "Foo"}, token=token)
    assert (code, status["reason"]) == (403, "Forbidden"), status
    assert status["message"] == ('foos.nonexist.io is forbidden: User "system:serviceaccount:default:default" '
                                 'cannot create resource "foos" in API group "nonexist.io" at the cluster scope')
    assert status["details"] == {"group": "nonexist.io", "kind": "foos"}
    code, _, status = _request(live, "GET", "/api/v1/namespaces/default/foos/f1/status", token=token)
    assert code == 403
    assert status["message"] == ('foos "f1" is forbidden: User "system:serviceaccount:default:default" cannot get '
                                 'resource "foos/status" in API group "" in the namespace "default"')
    code, _, status = _request(live, "POST", "/apis/nonexist.io/v1/foos", {"kind": "Foo"})  # the admin
    assert (code, status["reason"]) == (404, "NotFound")
    code, _, _ = _request(live, "GET", "/apis/nonexist.io/v1", token=token)  # a discovery path (system:discovery)
    assert code == 404


def test_the_log_of_a_container_that_has_not_started_is_a_400_naming_why_it_waits(live):
    from http_live import pod_manifest, wait_for

    (live.root / "later.yaml").write_text(pod_manifest("later", start_after="1h"))
    live.kubectl("apply", "-f", str(live.root / "later.yaml"))
    wait_for(lambda: live.kubectl("get", "pod", "later", "-n", "default", "-o",
                                  "jsonpath={.status.startTime}").stdout, "the kubelet to admit the pod")
    for args in ((), ("-f",)):
        failed = live.kubectl("logs", "later", "-n", "default", *args, check=1)
        assert failed.stderr.strip() == ('Error from server (BadRequest): container "app" in pod "later" is waiting '
                                         'to start: ContainerCreating')
    code, _, status = _request(live, "GET", "/api/v1/namespaces/default/pods/later/log")
    assert (code, status["reason"]) == (400, "BadRequest")


@pytest.mark.parametrize("state, why", [
    ({"waiting": {"reason": "PodInitializing"}}, "is waiting to start: PodInitializing"),
    ({"waiting": {"reason": "CreateContainerConfigError", "message": "x"}},
     "is waiting to start: CreateContainerConfigError"),
    ({"waiting": {"reason": "ErrImagePull"}}, "is waiting to start: image can't be pulled"),
    ({"waiting": {"reason": "ImagePullBackOff"}}, "is waiting to start: trying and failing to pull image"),
    ({}, "is waiting to start - no logs yet"),
])
def test_the_kubelets_words_for_a_container_waiting_to_start(state, why):
    from engine import runtime
    from engine.api.logs import _check_started

    class Waiting(runtime.SimulatedRuntime):
        def status(self, pod, now):
            return {"containerStatuses": [{"name": "app", "state": state, "lastState": {}}]}

    pod = {"metadata": {"name": "p", "namespace": "default"}, "spec": {"nodeName": "n", "containers": [{"name": "app"}]}}
    previous = runtime.use(Waiting())
    try:
        with pytest.raises(Exception) as refused:
            _check_started(pod, "app", 0.0)
    finally:
        runtime.use(previous)
    assert (refused.value.code, refused.value.message) == (400, f'container "app" in pod "p" {why}')
