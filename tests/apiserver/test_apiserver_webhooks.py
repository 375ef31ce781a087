"""Validating and mutating webhook configurations (admissionregistration.k8s.io/v1): stored, defaulted
and validated as upstream's (recon calls no webhook)."""

from __future__ import annotations

import pytest
from apiserver_fixtures import ADMIN

from engine.apiserver import APIError
from engine.kinds import BUILTIN
from engine.objects import thaw
from engine.printers import columns

GROUP = "admissionregistration.k8s.io"


def hook(name: str = "check.example.com", **fields) -> dict:
    return {"name": name, "clientConfig": {"service": {"name": "hooks", "namespace": "default"}},
            "admissionReviewVersions": ["v1"], "sideEffects": "None",
            "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}],
            **fields}


def config(*hooks: dict, kind: str = "ValidatingWebhookConfiguration", name: str = "checks") -> dict:
    return {"apiVersion": f"{GROUP}/v1", "kind": kind, "metadata": {"name": name}, "webhooks": list(hooks)}


def causes(api, body: dict, update: bool = False) -> list[tuple[str, str, str]]:
    with pytest.raises(APIError) as caught:
        (api.update if update else api.create)(ADMIN, body)
    assert caught.value.code == 422
    assert caught.value.message.startswith(f'{body["kind"]}.{GROUP} "{body["metadata"]["name"]}" is invalid: ')
    return [(c["field"], c["reason"], c["message"]) for c in caught.value.details["causes"]]


def test_both_kinds_are_cluster_scoped_api_extensions_printed_with_their_webhook_count(api):
    for kind in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"):
        rt = BUILTIN.resolve(f"{kind.lower()}s.{GROUP}")
        assert (rt.kind, rt.namespaced, rt.categories, rt.short_names) == (kind, False, ("api-extensions",), ())
        made = api.create(ADMIN, config(hook(), hook("other.example.com"), kind=kind))
        assert made["metadata"]["generation"] == 1
        assert [c.name for c in columns(rt)] == ["NAME", "WEBHOOKS", "AGE"] and columns(rt)[1].cell(made, 0) == 2


def test_webhooks_are_defaulted_as_upstream(api):
    made = api.create(ADMIN, config(hook(), kind="MutatingWebhookConfiguration"))
    [stored] = thaw(made["webhooks"])
    assert {k: stored[k] for k in ("failurePolicy", "matchPolicy", "namespaceSelector", "objectSelector",
                                   "timeoutSeconds", "reinvocationPolicy")} == {
        "failurePolicy": "Fail", "matchPolicy": "Equivalent", "namespaceSelector": {}, "objectSelector": {},
        "timeoutSeconds": 10, "reinvocationPolicy": "Never"}
    assert stored["rules"][0]["scope"] == "*" and stored["clientConfig"]["service"]["port"] == 443
    validating = thaw(api.create(ADMIN, config(hook(), name="v"))["webhooks"][0])
    assert "reinvocationPolicy" not in validating and validating["failurePolicy"] == "Fail"


def test_a_webhook_name_is_a_unique_name_of_three_segments(api):
    assert causes(api, config(hook("check.example"))) == [
        ("webhooks[0].name", "FieldValueInvalid",
         'Invalid value: "check.example": should be a domain with at least three segments separated by dots')]
    assert causes(api, config(hook(), hook())) == [
        ("webhooks[1].name", "FieldValueDuplicate", 'Duplicate value: "check.example.com"')]
    assert causes(api, config(hook("")))[0] == ("webhooks[0].name", "FieldValueRequired", "Required value")


def test_a_client_config_is_one_https_url_or_one_service(api):
    both = hook(clientConfig={"url": "https://hooks.example.com", "service": {"name": "s", "namespace": "d"}})
    assert causes(api, config(both)) == [
        ("webhooks[0].clientConfig", "FieldValueRequired", "Required value: exactly one of url or service is required")]
    plain = hook(clientConfig={"url": "http://me:pw@hooks.example.com/x?y=1#z"})
    assert [(f, m) for f, _r, m in causes(api, config(plain))] == [
        ("webhooks[0].clientConfig.url",
         "Invalid value: \"http\": 'https' is the only allowed URL scheme; desired format: https://host[/path]"),
        ("webhooks[0].clientConfig.url", 'Invalid value: "me:pw": user information is not permitted in the URL'),
        ("webhooks[0].clientConfig.url", 'Invalid value: "z": fragments are not permitted in the URL'),
        ("webhooks[0].clientConfig.url", 'Invalid value: "y=1": query parameters are not permitted in the URL')]
    bad_service = hook(clientConfig={"service": {"name": "", "namespace": "d", "port": 0, "path": "/a//b"}})
    assert [(f, m) for f, _r, m in causes(api, config(bad_service))] == [
        ("webhooks[0].clientConfig.service.name", "Required value: service name is required"),
        ("webhooks[0].clientConfig.service.port",
         "Invalid value: 0: port is not valid: must be between 1 and 65535, inclusive"),
        ("webhooks[0].clientConfig.service.path", 'Invalid value: "/a//b": segment[1] may not be empty')]
    assert api.create(ADMIN, config(hook(clientConfig={"url": "https://hooks.example.com:8443/validate"})))


def test_review_versions_and_side_effects_are_required_as_v1_wants_them(api):
    none = hook(admissionReviewVersions=[], sideEffects=None)
    del none["sideEffects"]
    assert causes(api, config(none)) == [
        ("webhooks[0].sideEffects", "FieldValueRequired", "Required value: must specify one of None, NoneOnDryRun"),
        ("webhooks[0].admissionReviewVersions", "FieldValueRequired", "Required value: must specify one of v1, v1beta1")]
    unknown = hook(admissionReviewVersions=["v2", "v2"], sideEffects="Some")
    assert causes(api, config(unknown)) == [
        ("webhooks[0].sideEffects", "FieldValueNotSupported",
         'Unsupported value: "Some": supported values: "None", "NoneOnDryRun"'),
        ("webhooks[0].admissionReviewVersions[1]", "FieldValueInvalid", 'Invalid value: "v2": duplicate version'),
        ("webhooks[0].admissionReviewVersions", "FieldValueInvalid",
         'Invalid value: []string{"v2", "v2"}: must include at least one of v1, v1beta1')]


def test_policies_timeout_and_rules_are_checked(api):
    odd = hook(failurePolicy="Maybe", matchPolicy="Fuzzy", timeoutSeconds=31, reinvocationPolicy="Always",
               rules=[{"operations": ["*", "CREATE", "PATCH"], "apiGroups": [], "apiVersions": ["v1"],
                       "resources": ["*", "pods", "*/*"], "scope": "Everywhere"}])
    found = causes(api, config(odd, kind="MutatingWebhookConfiguration"))
    assert [(f, m) for f, _r, m in found] == [
        ("webhooks[0].rules[0].operations",
         'Invalid value: []admissionregistration.OperationType{"*", "CREATE", "PATCH"}: '
         "if '*' is present, must not specify other operations"),
        ("webhooks[0].rules[0].operations[2]",
         'Unsupported value: "PATCH": supported values: "*", "CONNECT", "CREATE", "DELETE", "UPDATE"'),
        ("webhooks[0].rules[0].apiGroups", "Required value"),
        ("webhooks[0].rules[0].resources",
         'Invalid value: []string{"*", "pods", "*/*"}: if \'*/*\' is present, must not specify other resources'),
        ("webhooks[0].rules[0].resources",
         'Invalid value: []string{"*", "pods", "*/*"}: if \'*\' is present, must not specify other resources without '
         "subresources"),
        ("webhooks[0].rules[0].scope",
         'Unsupported value: "Everywhere": supported values: "*", "Cluster", "Namespaced"'),
        ("webhooks[0].failurePolicy", 'Unsupported value: "Maybe": supported values: "Fail", "Ignore"'),
        ("webhooks[0].matchPolicy", 'Unsupported value: "Fuzzy": supported values: "Equivalent", "Exact"'),
        ("webhooks[0].timeoutSeconds", "Invalid value: 31: the timeout value must be between 1 and 30 seconds"),
        ("webhooks[0].reinvocationPolicy", 'Unsupported value: "Always": supported values: "IfNeeded", "Never"')]


def test_a_change_of_webhooks_bumps_the_generation(api):
    made = api.create(ADMIN, config(hook()))
    labelled = thaw(made)
    labelled["metadata"]["labels"] = {"team": "a"}
    assert api.update(ADMIN, labelled)["metadata"]["generation"] == 1
    changed = thaw(api.get(ADMIN, GROUP, "ValidatingWebhookConfiguration", None, "checks"))
    changed["webhooks"][0]["timeoutSeconds"] = 5
    assert api.update(ADMIN, changed)["metadata"]["generation"] == 2
