"""rules/serviceaccount.rules (upstream serviceaccounts and tokens controllers) and sa_token."""

from __future__ import annotations

import base64

import pytest

from engine.dsl.builtins_controllers import verify_sa_token

TOKEN_TYPE = "kubernetes.io/service-account-token"


@pytest.fixture
def sa(controller_cluster):
    controller_cluster.load("serviceaccount")
    return controller_cluster


def token_secret(cluster, account: str = "default", namespace: str = "demo") -> dict:
    found = [s for s in cluster.list("Secret", namespace) if s.get("type") == TOKEN_TYPE
             and s["metadata"]["annotations"]["kubernetes.io/service-account.name"] == account]
    assert len(found) == 1, found
    return found[0]


def decoded(secret: dict, key: str) -> str:
    return base64.b64decode(secret["data"][key]).decode()


def test_every_active_namespace_gets_a_default_service_account(sa):
    assert sa.run().converged
    accounts = sorted((a["metadata"]["namespace"], a["metadata"]["name"]) for a in sa.list("ServiceAccount", None))
    assert accounts == [(n, "default") for n in ("default", "demo", "kube-node-lease", "kube-public", "kube-system")]


def test_a_deleted_default_service_account_is_recreated(sa):
    assert sa.run().converged
    sa.delete("ServiceAccount", "default")
    assert sa.run().converged
    assert sa.get("ServiceAccount", "default") is not None


def manual_token(cluster, name: str = "manual", account: str = "default") -> dict:
    return cluster.create({"apiVersion": "v1", "kind": "Secret", "type": TOKEN_TYPE,
                           "metadata": {"name": name, "namespace": "demo",
                                        "annotations": {"kubernetes.io/service-account.name": account}}})


def test_no_token_secret_is_generated_for_a_service_account(sa):
    # LegacyServiceAccountTokenNoAutoGeneration (GA in 1.26): tokens come from TokenRequest
    sa.create({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "builder", "namespace": "demo"}})
    assert sa.run().converged
    assert [s for s in sa.list("Secret", None) if s.get("type") == TOKEN_TYPE] == []
    assert "secrets" not in sa.get("ServiceAccount", "builder")


def test_a_token_secret_made_by_hand_holds_the_accounts_signed_token(sa):
    sa.create({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "builder", "namespace": "demo"}})
    manual_token(sa, "builder-token", "builder")
    assert sa.run().converged
    account = sa.get("ServiceAccount", "builder")
    claims = verify_sa_token(decoded(token_secret(sa, "builder"), "token"))
    assert claims == {
        "iss": "kubernetes/serviceaccount",
        "kubernetes.io/serviceaccount/namespace": "demo",
        "kubernetes.io/serviceaccount/secret.name": "builder-token",
        "kubernetes.io/serviceaccount/service-account.name": "builder",
        "kubernetes.io/serviceaccount/service-account.uid": account["metadata"]["uid"],
        "sub": "system:serviceaccount:demo:builder",
    }


def test_a_token_signed_with_another_seed_does_not_verify(sa):
    assert sa.run().converged
    manual_token(sa)
    assert sa.run().converged
    token = decoded(token_secret(sa), "token")
    assert verify_sa_token(token, seed="another-cluster") is None
    assert verify_sa_token(token[:-2] + "xx") is None


def test_the_token_is_the_same_in_every_run(tmp_path, sa):
    (tmp_path / "other").mkdir()
    other = type(sa)(tmp_path / "other")  # a second, independent cluster
    other.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "demo"}})
    other.load("serviceaccount")
    assert sa.run().converged and other.run().converged
    manual_token(sa), manual_token(other)
    assert sa.run().converged and other.run().converged
    assert token_secret(sa)["data"] == token_secret(other)["data"]


def test_the_token_secret_of_a_deleted_service_account_is_deleted(sa):
    sa.create({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "temp", "namespace": "demo"}})
    assert sa.run().converged
    manual_token(sa, "temp-token", "temp")
    assert sa.run().converged
    sa.delete("ServiceAccount", "temp")
    assert sa.run().converged
    assert sa.get("Secret", "temp-token") is None


def test_a_token_secret_created_by_hand_gets_its_token_and_uid(sa):
    assert sa.run().converged
    sa.create({"apiVersion": "v1", "kind": "Secret", "type": TOKEN_TYPE,
               "metadata": {"name": "manual", "namespace": "demo",
                            "annotations": {"kubernetes.io/service-account.name": "default"}}})
    assert sa.run().converged
    manual = sa.get("Secret", "manual")
    uid = sa.get("ServiceAccount", "default")["metadata"]["uid"]
    assert manual["metadata"]["annotations"]["kubernetes.io/service-account.uid"] == uid
    assert decoded(manual, "namespace") == "demo"
    assert verify_sa_token(decoded(manual, "token"))["kubernetes.io/serviceaccount/secret.name"] == "manual"


def test_a_terminating_namespace_gets_no_service_account(sa):
    sa.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "leaving",
                                                                     "finalizers": ["example.com/hold"]}})
    sa.delete("Namespace", "leaving", "")
    result = sa.run()
    assert result.converged and result.failures == ()
    assert sa.list("ServiceAccount", "leaving") == []


def test_pods_without_a_service_account_run_as_default(sa):
    pod = sa.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "demo"},
                     "spec": {"containers": [{"name": "c", "image": "nginx"}]}})
    assert pod["spec"]["serviceAccountName"] == "default"
