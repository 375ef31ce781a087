"""Refused patches say why: a patch that does not decode is upstream's 400, one that does not apply is a
422 whose causes kubectl prints (it shows an Invalid error's causes, never its message)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from engine.api.http import status_response
from engine.apierrors import invalid, invalid_error, unprocessable

DEPLOYMENT = "/apis/apps/v1/namespaces/pe/deployments/nginx"


@pytest.fixture(scope="module")
def nginx(live):
    live.kubectl("create", "namespace", "pe")
    live.kubectl("create", "deployment", "nginx", "-n", "pe", "--image=nginx")
    return live


def _raw_patch(live, patch_type: str, body) -> tuple[int, dict]:
    req = urllib.request.Request(live.url + DEPLOYMENT + "?fieldValidation=Strict", data=json.dumps(body).encode(),
                                 method="PATCH", headers={"Content-Type": f"application/{patch_type}"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_kubectl_patch_with_a_patch_that_is_no_object_is_a_bad_request(nginx):
    failed = nginx.kubectl("patch", "deploy", "nginx", "-n", "pe", "-p", "not json", check=1)
    assert failed.stderr.strip() == ("Error from server (BadRequest): json: cannot unmarshal string into Go value "
                                     "of type map[string]interface {}")
    failed = nginx.kubectl("patch", "deploy", "nginx", "-n", "pe", "--type=merge", "-p", "not json", check=1)
    assert "(BadRequest): error decoding patch: json: cannot unmarshal string" in failed.stderr


@pytest.mark.parametrize("body, into", [({"op": "add"}, "[]handlers.jsonPatchOp"),
                                        (["add"], "handlers.jsonPatchOp"), (7, "[]handlers.jsonPatchOp")])
def test_a_json_patch_that_is_no_list_of_operations_is_a_bad_request(nginx, body, into):
    code, status = _raw_patch(nginx, "json-patch+json", body)
    assert (code, status["reason"]) == (400, "BadRequest")
    assert status["message"].startswith("error decoding patch: json: cannot unmarshal ")
    assert status["message"].endswith(f" into Go value of type {into}")


@pytest.mark.parametrize("ops, why", [
    ([{"op": "test", "path": "/spec/replicas", "value": 5}], "testing value /spec/replicas failed: test failed"),
    ([{"op": "remove", "path": "/spec/nothing"}],
     "error in remove for path: '/spec/nothing': Unable to remove nonexistent key: nothing: missing value"),
    ([{"op": "replace", "path": "/metadata/labels/none", "value": "x"}],
     "replace operation does not apply: doc is missing key: /metadata/labels/none: missing value"),
    # a path under a field the kind does not have fails as it applies, not dropped as an unknown field
    ([{"op": "replace", "path": "/spec/nope/x", "value": 1}],
     "replace operation does not apply: doc is missing path: /spec/nope/x: missing value"),
    ([{"op": "add", "path": "/spec/nope/x", "value": 1}],
     'add operation does not apply: doc is missing path: "/spec/nope/x": missing value'),
    ([{"op": "move", "from": "/spec/gone", "path": "/spec/paused"}],
     "move operation does not apply: doc is missing from path: /spec/gone: missing value"),
])
def test_a_json_patch_that_does_not_apply_is_upstreams_422_with_the_patch_librarys_words(nginx, ops, why):
    code, status = _raw_patch(nginx, "json-patch+json", ops)
    assert (code, status["reason"]) == (422, "Invalid")
    assert status["message"] == "the server rejected our request due to an error in our request"
    assert status["details"] == {"causes": [{"reason": "UnexpectedServerResponse", "message": why}]}
    failed = nginx.kubectl("patch", "deploy", "nginx", "-n", "pe", "--type=json", "-p", json.dumps(ops), check=1)
    assert failed.stderr.strip() == f"The request is invalid: : {why}"  # (kubectl prints the cause's empty field)


def test_a_json_patch_adding_an_unknown_field_is_warned_of_and_changes_nothing(nginx):
    before = nginx.kubectl("get", "deploy", "nginx", "-n", "pe", "-o", "json").stdout
    done = nginx.kubectl("patch", "deploy", "nginx", "-n", "pe", "--type=json",
                         "-p", '[{"op": "add", "path": "/spec/nope", "value": 1}]')
    assert 'Warning: unknown field "spec.nope"' in done.stderr
    assert "patched (no change)" in done.stdout
    assert json.loads(nginx.kubectl("get", "deploy", "nginx", "-n", "pe", "-o", "json").stdout) == json.loads(before)


def test_every_422_the_server_answers_names_a_cause():
    bare = json.loads(status_response(unprocessable("the patch does not apply", name="x", kind="Pod")).body)
    assert bare["code"] == 422 and bare["details"]["causes"][0]["message"] == "the patch does not apply"
    errors = [invalid("spec.replicas", -1, "must be greater than or equal to 0")]
    worded = json.loads(status_response(invalid_error("Deployment.apps", "web", errors, "apps")).body)
    assert worded["details"]["causes"] == [{"reason": "FieldValueInvalid", "field": "spec.replicas",
                                            "message": "Invalid value: -1: must be greater than or equal to 0"}]
