"""ServiceAccount admission: a new pod's service account must exist in its namespace."""

from __future__ import annotations

import pytest
from apiserver_fixtures import ADMIN, pod

from engine.apierrors import APIError


def _account(name: str, namespace: str = "default") -> dict:
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": namespace}}


def test_a_pod_naming_a_missing_service_account_is_forbidden(api):
    with pytest.raises(APIError) as caught:
        api.create(ADMIN, pod("x", serviceAccountName="ghost"))
    assert (caught.value.code, caught.value.reason) == (403, "Forbidden")
    assert caught.value.message == ('pods "x" is forbidden: error looking up service account default/ghost: '
                                    'serviceaccount "ghost" not found')
    assert api.store.head.get(("", "Pod", "default", "x")) is None


def test_a_generated_name_is_refused_under_its_generate_name(api):
    body = pod("x", serviceAccountName="ghost")
    del body["metadata"]["name"]
    body["metadata"]["generateName"] = "web-"
    with pytest.raises(APIError) as caught:
        api.create(ADMIN, body)
    assert caught.value.message.startswith('pods "web-" is forbidden: error looking up service account')


def test_a_pod_naming_an_existing_service_account_is_admitted(api):
    api.create(ADMIN, _account("builder"))
    created = api.create(ADMIN, pod("x", serviceAccountName="builder"))
    assert created["spec"]["serviceAccountName"] == "builder"


def test_an_account_of_another_namespace_does_not_count(api):
    api.create(ADMIN, _account("builder", "kube-system"))
    with pytest.raises(APIError) as caught:
        api.create(ADMIN, pod("x", serviceAccountName="builder"))
    assert caught.value.code == 403


def test_the_default_account_is_filled_in_and_not_waited_for(api):
    created = api.create(ADMIN, pod("x"))
    assert created["spec"]["serviceAccountName"] == "default"
