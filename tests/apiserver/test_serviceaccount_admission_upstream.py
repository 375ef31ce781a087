"""ServiceAccount admission as upstream words it: the name it refuses under, and mirror pods."""

from __future__ import annotations

import pytest
from apiserver_fixtures import ADMIN, pod

from engine.apierrors import APIError
from engine.admission import MIRROR_POD


def _mirror(name: str = "etcd-node-1", **spec) -> dict:
    body = pod(name, **spec)
    body["metadata"]["annotations"] = {MIRROR_POD: "3f2a"}
    return body


def _refusal(api, body: dict, **options) -> str:
    with pytest.raises(APIError) as caught:
        api.create(ADMIN, body, **options)
    assert (caught.value.code, caught.value.reason) == (403, "Forbidden")
    return caught.value.message


def test_a_pod_with_a_name_is_refused_under_its_name_not_its_generate_name(api):
    body = pod("web-1", serviceAccountName="ghost")
    body["metadata"]["generateName"] = "web-"
    assert _refusal(api, body).startswith('pods "web-1" is forbidden: error looking up service account')


def test_a_mirror_pod_without_references_is_admitted(api):
    assert api.create(ADMIN, _mirror())["metadata"]["name"] == "etcd-node-1"


def test_a_mirror_pod_may_not_name_a_service_account_even_one_that_exists(api):
    api.create(ADMIN, {"apiVersion": "v1", "kind": "ServiceAccount",
                       "metadata": {"name": "builder", "namespace": "default"}})
    for account in ("builder", "default"):
        assert _refusal(api, _mirror(serviceAccountName=account)) == (
            'pods "etcd-node-1" is forbidden: a mirror pod may not reference service accounts')


@pytest.mark.parametrize("spec", [
    {"volumes": [{"name": "v", "secret": {"secretName": "s"}}]},
    {"volumes": [{"name": "v", "projected": {"sources": [{"secret": {"name": "s"}}]}}]},
    {"volumes": [{"name": "v", "csi": {"driver": "d", "nodePublishSecretRef": {"name": "s"}}}]},
    {"imagePullSecrets": [{"name": "s"}]},
    {"containers": [{"name": "c", "image": "i", "envFrom": [{"secretRef": {"name": "s"}}]}]},
    {"containers": [{"name": "c", "image": "i",
                     "env": [{"name": "E", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]}]},
])
def test_a_mirror_pod_may_not_reference_a_secret(api, spec):
    assert _refusal(api, _mirror(**spec)) == 'pods "etcd-node-1" is forbidden: a mirror pod may not reference secrets'


def test_a_mirror_pod_may_not_project_a_service_account_token(api):
    volume = {"name": "token", "projected": {"sources": [{"serviceAccountToken": {"path": "token"}}]}}
    assert _refusal(api, _mirror(volumes=[volume])) == (
        'pods "etcd-node-1" is forbidden: a mirror pod may not use ServiceAccountToken volume projections')


def test_a_dry_run_is_refused_too(api):
    assert "may not reference service accounts" in _refusal(api, _mirror(serviceAccountName="x"), dry_run=True)
    assert "error looking up service account" in _refusal(api, pod("x", serviceAccountName="ghost"), dry_run=True)


def test_an_update_is_not_checked(api):
    account = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "builder", "namespace": "default"}}
    api.create(ADMIN, account)
    created = api.create(ADMIN, pod("x", serviceAccountName="builder"))
    api.delete(ADMIN, "", "ServiceAccount", "default", "builder")
    labelled = {**created, "metadata": {**created["metadata"], "labels": {"a": "b"}}}
    assert api.update(ADMIN, labelled)["metadata"]["labels"] == {"a": "b"}
