"""Real kubectl (v1.32) with CertificateSigningRequests against `recon up --serve`: created with the
requester recorded, printed with upstream's columns, approved and denied with `kubectl certificate`
(whose typed client sends protobuf to the approval subresource)."""

from __future__ import annotations

import base64
import json

REQUEST_PEM = b"""-----BEGIN CERTIFICATE REQUEST-----
MIGcMFACAQAwHTENMAsGA1UEAwwEamFuZTEMMAoGA1UECgwDZGV2MCowBQYDK2Vw
AyEAbMulQOUopr4JABraDIt2DzYmtSWctQhunj1FqF/ZCPigADAFBgMrZXADQQCT
zeJ55CtGr2w0Bk6KPXUpMHWAJ0ISmzK+szu8I2wg0tvrstVpQX5Y06KvhcaNlavM
lx8Wf2+ruPJp3Ymp1JYO
-----END CERTIFICATE REQUEST-----
"""


def manifest(name: str, **extra: str) -> str:
    lines = [f"  {key}: {value}" for key, value in extra.items()]
    return "\n".join([
        "apiVersion: certificates.k8s.io/v1", "kind: CertificateSigningRequest", f"metadata: {{name: {name}}}",
        "spec:", f"  request: {base64.b64encode(REQUEST_PEM).decode()}",
        "  signerName: kubernetes.io/kube-apiserver-client", "  usages: [client auth]", *lines, ""])


def create(live, name: str, text: str, check: int | None = 0):
    path = live.root / f"{name}.yaml"
    path.write_text(text)
    return live.kubectl("create", "-f", str(path), check=check)


def rows(live, *names: str) -> list[list[str]]:
    return [line.split() for line in live.kubectl("get", "csr", *names).stdout.splitlines()]


def test_kubectl_creates_and_lists_csrs_with_upstreams_columns(live):
    assert "certificatesigningrequest.certificates.k8s.io/jane created" in create(
        live, "jane", manifest("jane", expirationSeconds="86400")).stdout
    resources = [line.split() for line in
                 live.kubectl("api-resources", "--api-group=certificates.k8s.io").stdout.splitlines()]
    assert resources[1] == ["certificatesigningrequests", "csr", "certificates.k8s.io/v1", "false",
                            "CertificateSigningRequest"]
    table = rows(live, "jane")
    assert table[0] == ["NAME", "AGE", "SIGNERNAME", "REQUESTOR", "REQUESTEDDURATION", "CONDITION"]
    assert table[1][0] == "jane" and table[1][2:] == ["kubernetes.io/kube-apiserver-client", "kubernetes-admin",
                                                      "24h", "Pending"]
    spec = json.loads(live.kubectl("get", "csr", "jane", "-o", "json").stdout)["spec"]
    assert spec["username"] == "kubernetes-admin" and "system:masters" in spec["groups"]
    short = create(live, "short", manifest("short", expirationSeconds="60"), check=1)
    assert ('spec.expirationSeconds: Invalid value: 60: may not specify a duration less than 600 seconds '
            '(10 minutes)') in short.stderr


def test_kubectl_certificate_approve_and_deny(live):
    create(live, "approve-me", manifest("approve-me"))
    create(live, "deny-me", manifest("deny-me"))
    approved = live.kubectl("certificate", "approve", "approve-me")
    assert approved.stdout.strip() == "certificatesigningrequest.certificates.k8s.io/approve-me approved"
    denied = live.kubectl("certificate", "deny", "deny-me")
    assert denied.stdout.strip() == "certificatesigningrequest.certificates.k8s.io/deny-me denied"
    assert [row[-1] for row in rows(live, "approve-me", "deny-me")[1:]] == ["Approved", "Denied"]
    [condition] = json.loads(live.kubectl("get", "csr", "approve-me", "-o", "json").stdout)["status"]["conditions"]
    assert (condition["type"], condition["status"], condition["reason"]) == ("Approved", "True", "KubectlApprove")
    assert condition["message"] == "This CSR was approved by kubectl certificate approve."
    assert condition["lastUpdateTime"] and condition["lastTransitionTime"]
    again = live.kubectl("certificate", "deny", "approve-me", check=1)
    assert 'certificate signing request "approve-me" is already Approved' in again.stderr


def test_approving_and_denying_at_once_is_refused(live):
    create(live, "both", manifest("both"))
    csr = json.loads(live.kubectl("get", "csr", "both", "-o", "json").stdout)
    csr["status"] = {"conditions": [{"type": "Approved", "status": "True"}, {"type": "Denied", "status": "True"}]}
    code, _headers, text = live.request("PUT", "/apis/certificates.k8s.io/v1/certificatesigningrequests/both/approval",
                                        csr)
    assert code == 422
    assert json.loads(text)["message"] == (
        'CertificateSigningRequest.certificates.k8s.io "both" is invalid: status.conditions[1].type: Invalid value: '
        '"Denied": Approved and Denied conditions are mutually exclusive')


def test_approving_needs_approve_on_the_signer_and_records_its_own_managed_fields(live):
    create(live, "signed-by-rbac", manifest("signed-by-rbac"))
    rules = live.root / "csr-approver.yaml"
    rules.write_text("\n".join([
        "apiVersion: rbac.authorization.k8s.io/v1", "kind: ClusterRole", "metadata: {name: csr-approver}",
        "rules:",
        "- {apiGroups: [certificates.k8s.io], resources: [certificatesigningrequests], verbs: [get, list]}",
        "- {apiGroups: [certificates.k8s.io], resources: [certificatesigningrequests/approval], verbs: [update]}",
        "---",
        "apiVersion: rbac.authorization.k8s.io/v1", "kind: ClusterRoleBinding", "metadata: {name: csr-approver}",
        "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: csr-approver}",
        "subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: approver}]", ""]))
    live.kubectl("apply", "-f", str(rules))
    refused = live.kubectl("certificate", "approve", "signed-by-rbac", "--as", "approver", check=1)
    assert ('certificatesigningrequests.certificates.k8s.io "signed-by-rbac" is forbidden: user not permitted to '
            'approve requests with signerName "kubernetes.io/kube-apiserver-client"') in refused.stderr
    # (signers is no served resource, so `kubectl create clusterrole` cannot name it: a manifest does)
    rules.write_text(rules.read_text().replace(
        "verbs: [update]}\n",
        "verbs: [update]}\n- {apiGroups: [certificates.k8s.io], resources: [signers], "
        "resourceNames: [kubernetes.io/*], verbs: [approve]}\n"))
    live.kubectl("apply", "-f", str(rules))
    approved = live.kubectl("certificate", "approve", "signed-by-rbac", "--as", "approver")
    assert approved.stdout.strip() == "certificatesigningrequest.certificates.k8s.io/signed-by-rbac approved"
    doc = json.loads(live.kubectl("get", "csr", "signed-by-rbac", "-o", "json", "--show-managed-fields").stdout)
    [entry] = [e for e in doc["metadata"]["managedFields"] if e.get("subresource") == "approval"]
    assert entry["operation"] == "Update" and entry["manager"].startswith("kubectl")
    assert 'k:{"type":"Approved"}' in entry["fieldsV1"]["f:status"]["f:conditions"]
