"""CertificateSigningRequest (certificates.k8s.io/v1): validated as upstream's, the requester recorded
on create, the spec fixed, and the approval and status subresources each changing only their part."""

from __future__ import annotations

import base64

import pytest
from apiserver_fixtures import ADMIN

from engine.access import Actor
from engine.api.auth import User
from engine.api.escalation import Grantor
from engine.apiserver import APIError
from engine.kinds import BUILTIN
from engine.objects import thaw
from engine.printers import columns
from engine.request import Request
from engine.timeutil import format_time

REQUEST_PEM = b"""-----BEGIN CERTIFICATE REQUEST-----
MIGcMFACAQAwHTENMAsGA1UEAwwEamFuZTEMMAoGA1UECgwDZGV2MCowBQYDK2Vw
AyEAbMulQOUopr4JABraDIt2DzYmtSWctQhunj1FqF/ZCPigADAFBgMrZXADQQCT
zeJ55CtGr2w0Bk6KPXUpMHWAJ0ISmzK+szu8I2wg0tvrstVpQX5Y06KvhcaNlavM
lx8Wf2+ruPJp3Ymp1JYO
-----END CERTIFICATE REQUEST-----
"""
CERTIFICATE_PEM = b"""-----BEGIN CERTIFICATE-----
MIHJMH2gAwIBAgIBATAFBgMrZXAwDzENMAsGA1UEAwwEamFuZTAeFw0yNjAxMDEw
MDAwMDBaFw0yNzAxMDEwMDAwMDBaMA8xDTALBgNVBAMMBGphbmUwKjAFBgMrZXAD
IQBsy6VA5SimvgkAGtoMi3YPNia1JZy1CG6ePUWoX9kI+DAFBgMrZXADQQAEQEq0
UrkYfQb1s5lpDaC4ZdpMBH+Zxat/mrwPA1+f5CMaf69Y5USCkYxdzGT//SZDnHzz
bvZWImWf3gZYnnQI
-----END CERTIFICATE-----
"""
GROUP, KIND = "certificates.k8s.io", "CertificateSigningRequest"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def csr(name: str = "jane", **spec) -> dict:
    return {"apiVersion": "certificates.k8s.io/v1", "kind": KIND, "metadata": {"name": name},
            "spec": {"request": b64(REQUEST_PEM), "signerName": "kubernetes.io/kube-apiserver-client",
                     "usages": ["client auth"], **spec}}


def causes(call) -> list[tuple[str, str, str]]:
    with pytest.raises(APIError) as caught:
        call()
    assert caught.value.code == 422
    assert " is invalid: " in caught.value.message
    return [(c["field"], c["reason"], c["message"]) for c in caught.value.details["causes"]]


def write(api, name: str, body: dict, subresource: str, actor=ADMIN):
    return api.request(actor, Request("update", GROUP, KIND, None, name, body, subresource=subresource))


def condition(kind: str, **fields) -> dict:
    return {"type": kind, "status": "True", **fields}


def with_conditions(obj, *conditions) -> dict:
    body = thaw(obj)
    body.setdefault("status", {})["conditions"] = [*(body.get("status", {}).get("conditions") or ()), *conditions]
    return body


# ------------------------------------------------------------------ the kind


def test_csrs_are_a_cluster_scoped_kind_with_status_and_approval_printed_as_upstream(api):
    for name in ("csr", "certificatesigningrequests", "CertificateSigningRequest",
                 "certificatesigningrequests.certificates.k8s.io"):
        rt = BUILTIN.resolve(name)
        assert (rt.group, rt.kind, rt.api_version) == (GROUP, KIND, "certificates.k8s.io/v1")
    rt = BUILTIN.by_kind(GROUP, KIND)
    assert not rt.namespaced and rt.subresources == frozenset({"status", "approval"})
    assert [c.name for c in columns(rt)] == ["NAME", "AGE", "SIGNERNAME", "REQUESTOR", "REQUESTEDDURATION",
                                             "CONDITION"]
    made = api.create(ADMIN, csr(expirationSeconds=86400))
    cells = [c.fn(made, api.clock.now()) for c in columns(rt)]
    assert cells[2:] == ["kubernetes.io/kube-apiserver-client", "admin", "24h", "Pending"]
    plain = api.create(ADMIN, csr("plain"))
    assert columns(rt)[4].fn(plain, 0) == "<none>"


def test_create_records_the_requesting_user_and_drops_the_status(api):
    user = User("jane", ("developers", "system:authenticated"), "uid-1")
    jane = Actor("jane", "user", None, grantor=Grantor(user))
    body = csr(username="mallory", uid="x", groups=["system:masters"], extra={"k": ["v"]})
    body["status"] = {"conditions": [condition("Approved")]}
    made = api.create(jane, body)
    assert made["spec"]["username"] == "jane" and made["spec"]["uid"] == "uid-1"
    assert list(made["spec"]["groups"]) == ["developers", "system:authenticated"]
    assert "extra" not in made["spec"] and "status" not in made
    by_rule = api.create(Actor("csr-maker", "component", None), csr("by-rule"))
    assert by_rule["spec"]["username"] == "csr-maker" and list(by_rule["spec"]["groups"]) == ["system:authenticated"]


def test_the_spec_is_fixed_once_created(api):
    made = api.create(ADMIN, csr())
    changed = thaw(made)
    changed["spec"]["usages"] = ["server auth"]
    changed["metadata"]["labels"] = {"team": "a"}
    updated = api.update(ADMIN, changed)
    assert list(updated["spec"]["usages"]) == ["client auth"] and updated["metadata"]["labels"] == {"team": "a"}


# ------------------------------------------------------------------ validation


def test_a_request_must_be_a_pem_certificate_request_with_a_good_signature(api):
    not_pem = csr("a", request=b64(b"hello"))
    [(field, reason, message)] = causes(lambda: api.create(ADMIN, not_pem))
    assert (field, reason) == ("spec.request", "FieldValueInvalid")
    assert message == "Invalid value: []byte{0x68, 0x65, 0x6c, 0x6c, 0x6f}: PEM block type must be CERTIFICATE REQUEST"
    certificate = csr("b", request=b64(CERTIFICATE_PEM))
    assert causes(lambda: api.create(ADMIN, certificate))[0][2].endswith("PEM block type must be CERTIFICATE REQUEST")
    tampered = REQUEST_PEM.replace(b"amFuZT", b"amFuZj")  # the subject's CN changed after signing
    assert causes(lambda: api.create(ADMIN, csr("c", request=b64(tampered))))[0][2].endswith(
        "x509: Ed25519 verification failure")
    missing = csr("d")
    del missing["spec"]["request"]
    assert causes(lambda: api.create(ADMIN, missing)) == [
        ("spec.request", "FieldValueInvalid", "Invalid value: []byte(nil): PEM block type must be CERTIFICATE REQUEST")]


def test_usages_are_required_known_and_unique(api):
    assert causes(lambda: api.create(ADMIN, csr(usages=[]))) == [("spec.usages", "FieldValueRequired", "Required value")]
    [unknown, dup] = causes(lambda: api.create(ADMIN, csr(usages=["client auth", "magic", "client auth"])))
    assert unknown[:2] == ("spec.usages[1]", "FieldValueNotSupported")
    assert unknown[2].startswith('Unsupported value: "magic": supported values: "any", "cert sign", "client auth", ')
    assert dup == ("spec.usages[2]", "FieldValueDuplicate", 'Duplicate value: "client auth"')


def test_a_signer_name_is_a_domain_and_a_path(api):
    assert causes(lambda: api.create(ADMIN, csr(signerName=""))) == [
        ("spec.signerName", "FieldValueRequired", "Required value")]
    assert causes(lambda: api.create(ADMIN, csr(signerName="signer"))) == [
        ("spec.signerName", "FieldValueInvalid",
         "Invalid value: \"signer\": must be a fully qualified domain and path of the form 'example.com/signer-name'")]
    assert causes(lambda: api.create(ADMIN, csr(signerName="example/signer"))) == [
        ("spec.signerName", "FieldValueInvalid",
         'Invalid value: "example": should be a domain with at least two segments separated by dots')]
    [(field, _reason, message)] = causes(lambda: api.create(ADMIN, csr(signerName="example.com/My_Signer")))
    assert message.startswith('Invalid value: "My_Signer": validating label "My_Signer": a lowercase RFC 1123 subdomain')
    assert causes(lambda: api.create(ADMIN, csr(signerName="kubernetes.io/legacy-unknown"))) == [
        ("spec.signerName", "FieldValueInvalid",
         'Invalid value: "kubernetes.io/legacy-unknown": the legacy signerName is not allowed via this API version')]
    assert api.create(ADMIN, csr(signerName="example.com/team.signer"))["spec"]["signerName"] == "example.com/team.signer"


def test_expiration_seconds_is_at_least_ten_minutes(api):
    assert causes(lambda: api.create(ADMIN, csr(expirationSeconds=599))) == [
        ("spec.expirationSeconds", "FieldValueInvalid",
         "Invalid value: 599: may not specify a duration less than 600 seconds (10 minutes)")]
    assert api.create(ADMIN, csr(expirationSeconds=600))["spec"]["expirationSeconds"] == 600


# ------------------------------------------------------------------ the approval subresource


def test_approval_adds_the_condition_stamped_with_the_request_time(api):
    made = api.create(ADMIN, csr())
    approved = write(api, "jane", with_conditions(made, condition("Approved", reason="KubectlApprove")), "approval")
    [cond] = approved["status"]["conditions"]
    stamp = format_time(api.clock.now())
    assert cond == {"type": "Approved", "status": "True", "reason": "KubectlApprove",
                    "lastUpdateTime": stamp, "lastTransitionTime": stamp}
    assert columns(BUILTIN.by_kind(GROUP, KIND))[5].fn(approved, 0) == "Approved"


def test_approval_changes_only_the_approval_conditions(api):
    made = api.create(ADMIN, csr())
    failed = write(api, "jane", with_conditions(made, condition("Failed", reason="SignerDown")), "status")
    body = with_conditions(failed, condition("Denied"))
    body["status"]["conditions"][0]["reason"] = "Changed"
    body["status"]["certificate"] = b64(CERTIFICATE_PEM)
    body["spec"]["usages"] = ["server auth"]
    denied = write(api, "jane", body, "approval")
    assert [(c["type"], c.get("reason")) for c in denied["status"]["conditions"]] == [
        ("Failed", "SignerDown"), ("Denied", None)]
    assert "certificate" not in denied["status"] and list(denied["spec"]["usages"]) == ["client auth"]
    assert columns(BUILTIN.by_kind(GROUP, KIND))[5].fn(denied, 0) == "Denied,Failed"


def test_approved_and_denied_together_are_refused_and_neither_can_be_removed(api):
    made = api.create(ADMIN, csr())
    assert causes(lambda: write(api, "jane", with_conditions(made, condition("Approved"), condition("Denied")),
                                "approval")) == [
        ("status.conditions[1].type", "FieldValueInvalid",
         'Invalid value: "Denied": Approved and Denied conditions are mutually exclusive')]
    approved = write(api, "jane", with_conditions(made, condition("Approved")), "approval")
    assert causes(lambda: write(api, "jane", with_conditions(approved, condition("Denied")), "approval"))[0][2] == (
        'Invalid value: "Denied": Approved and Denied conditions are mutually exclusive')
    emptied = thaw(approved)
    emptied["status"]["conditions"] = []
    assert causes(lambda: write(api, "jane", emptied, "approval")) == [
        ("status.conditions", "FieldValueForbidden", 'Forbidden: updates may not remove a condition of type "Approved"')]
    unsure = with_conditions(api.create(ADMIN, csr("unsure")), {"type": "Approved", "status": "False"})
    assert causes(lambda: write(api, "unsure", unsure, "approval")) == [
        ("status.conditions[0].status", "FieldValueNotSupported", 'Unsupported value: "False": supported values: "True"')]


# ------------------------------------------------------------------ the status subresource and the main resource


def test_status_sets_the_certificate_once_and_keeps_the_approval(api):
    made = api.create(ADMIN, csr())
    approved = write(api, "jane", with_conditions(made, condition("Approved")), "approval")
    body = thaw(approved)
    body["status"]["certificate"] = b64(CERTIFICATE_PEM)
    body["status"]["conditions"][0]["reason"] = "Rewritten"
    issued = write(api, "jane", body, "status")
    assert issued["status"]["certificate"] == b64(CERTIFICATE_PEM)
    assert issued["status"]["conditions"] == approved["status"]["conditions"]
    assert columns(BUILTIN.by_kind(GROUP, KIND))[5].fn(issued, 0) == "Approved,Issued"
    again = thaw(issued)
    again["status"]["certificate"] = b64(CERTIFICATE_PEM + CERTIFICATE_PEM)
    assert causes(lambda: write(api, "jane", again, "status")) == [
        ("status.certificate", "FieldValueForbidden", "Forbidden: updates may not modify existing certificate content")]
    assert causes(lambda: write(api, "jane", with_conditions(issued, condition("Denied")), "status")) == [
        ("status.conditions[1].type", "FieldValueInvalid",
         'Invalid value: "Denied": Approved and Denied conditions are mutually exclusive'),
        ("status.conditions", "FieldValueForbidden", 'Forbidden: updates may not add a condition of type "Denied"')]


def test_a_certificate_must_be_pem_certificate_blocks(api):
    made = api.create(ADMIN, csr())
    body = thaw(made)
    body["status"] = {"certificate": b64(REQUEST_PEM)}
    assert causes(lambda: write(api, "jane", body, "status")) == [
        ("status.certificate", "FieldValueInvalid",
         'Invalid value: "<certificate data>": only CERTIFICATE PEM blocks are allowed, found "CERTIFICATE REQUEST"')]
    body["status"] = {"certificate": b64(b"no pem here")}
    assert causes(lambda: write(api, "jane", body, "status"))[0][2].endswith(
        "must contain at least one CERTIFICATE PEM block")


def test_a_main_update_changes_neither_conditions_nor_certificate(api):
    made = api.create(ADMIN, csr())
    body = with_conditions(made, condition("Approved"))
    body["status"]["certificate"] = b64(CERTIFICATE_PEM)
    updated = api.update(ADMIN, body)
    assert "status" not in updated


# ------------------------------------------------------------------ who may approve (CertificateApproval)


def grant(api, user: str, rules: list[dict]) -> Actor:
    """A user holding `rules` cluster-wide (a ClusterRole and its binding), as an API caller."""
    rbac = "rbac.authorization.k8s.io"
    api.create(ADMIN, {"apiVersion": f"{rbac}/v1", "kind": "ClusterRole", "metadata": {"name": user},
                       "rules": rules})
    api.create(ADMIN, {"apiVersion": f"{rbac}/v1", "kind": "ClusterRoleBinding", "metadata": {"name": user},
                       "roleRef": {"apiGroup": rbac, "kind": "ClusterRole", "name": user},
                       "subjects": [{"kind": "User", "apiGroup": rbac, "name": user}]})
    return Actor(user, "user", None, grantor=Grantor(User(user, ("system:authenticated",))))


APPROVAL = {"apiGroups": [GROUP], "resources": ["certificatesigningrequests/approval"], "verbs": ["update"]}


def signers(*names: str, verb: str = "approve") -> dict:
    return {"apiGroups": [GROUP], "resources": ["signers"], "resourceNames": list(names), "verbs": [verb]}


def forbidden_message(call) -> str:
    with pytest.raises(APIError) as caught:
        call()
    assert caught.value.code == 403 and caught.value.reason == "Forbidden"
    return caught.value.message


def test_approving_needs_approve_on_the_requests_signer(api):
    made = api.create(ADMIN, csr())
    bob = grant(api, "bob", [APPROVAL, signers("example.com/other"), signers("kubernetes.io/kube-apiserver-client",
                                                                               verb="sign")])
    body = with_conditions(made, condition("Approved", reason="KubectlApprove"))
    assert forbidden_message(lambda: write(api, "jane", body, "approval", bob)) == (
        'certificatesigningrequests.certificates.k8s.io "jane" is forbidden: '
        'user not permitted to approve requests with signerName "kubernetes.io/kube-apiserver-client"')
    assert "status" not in api.get(ADMIN, GROUP, KIND, "", "jane")
    # denying is a write of the approval too
    denial = with_conditions(made, condition("Denied"))
    assert "not permitted to approve" in forbidden_message(lambda: write(api, "jane", denial, "approval", bob))

    alice = grant(api, "alice", [APPROVAL, signers("kubernetes.io/kube-apiserver-client")])
    approved = write(api, "jane", body, "approval", alice)
    assert [c["type"] for c in approved["status"]["conditions"]] == ["Approved"]


def test_approve_on_the_signers_domain_wildcard_covers_every_signer_of_the_domain(api):
    api.create(ADMIN, csr("one", signerName="example.com/one"))
    api.create(ADMIN, csr("two", signerName="other.io/two"))
    carol = grant(api, "carol", [APPROVAL, signers("example.com/*")])
    one = api.get(ADMIN, GROUP, KIND, "", "one")
    assert write(api, "one", with_conditions(one, condition("Approved")), "approval", carol)["status"]
    two = api.get(ADMIN, GROUP, KIND, "", "two")
    assert 'signerName "other.io/two"' in forbidden_message(
        lambda: write(api, "two", with_conditions(two, condition("Approved")), "approval", carol))


def test_an_invalid_approval_is_refused_as_invalid_before_the_signer_is_checked(api):
    made = api.create(ADMIN, csr())
    bob = grant(api, "bob", [APPROVAL])
    both = with_conditions(made, condition("Approved"), condition("Denied"))
    assert causes(lambda: write(api, "jane", both, "approval", bob))[0][0] == "status.conditions[1].type"


def test_an_approval_records_its_own_managed_fields_entry_for_the_approval_subresource(api):
    made = api.create(ADMIN, csr())
    body = with_conditions(made, condition("Approved", reason="KubectlApprove", message="This CSR was approved"))
    approved = api.request(ADMIN, Request("update", GROUP, KIND, None, "jane", body, subresource="approval",
                                          field_manager="kubectl"))
    entries = [e for e in approved["metadata"]["managedFields"] if e.get("subresource") == "approval"]
    assert len(entries) == 1
    entry = entries[0]
    assert (entry["manager"], entry["operation"], entry["apiVersion"]) == ("kubectl", "Update",
                                                                            "certificates.k8s.io/v1")
    assert list(entry["fieldsV1"]) == ["f:status"]
    [key] = [k for k in entry["fieldsV1"]["f:status"]["f:conditions"] if k.startswith("k:")]
    assert key == 'k:{"type":"Approved"}'
    assert set(entry["fieldsV1"]["f:status"]["f:conditions"][key]) >= {
        ".", "f:type", "f:status", "f:reason", "f:message", "f:lastUpdateTime", "f:lastTransitionTime"}
