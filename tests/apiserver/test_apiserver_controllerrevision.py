"""ControllerRevision (apps/v1): the record DaemonSets and StatefulSets keep of each template."""

from __future__ import annotations

import pytest
from apiserver_fixtures import ADMIN

from engine.apiserver import APIError
from engine.kinds import BUILTIN
from engine.printers import columns


def revision(name: str = "web-6d4b8", number: int = 1, owner: dict | None = None, data: dict | None = None) -> dict:
    meta = {"name": name, "namespace": "default"}
    if owner is not None:
        meta["ownerReferences"] = [owner]
    return {"apiVersion": "apps/v1", "kind": "ControllerRevision", "metadata": meta,
            "data": data if data is not None else {"spec": {"template": {"$patch": "replace"}}}, "revision": number}


def test_kubectl_names_resolve_to_the_apps_kind():
    rt = BUILTIN.resolve("controllerrevisions")
    assert (rt.group, rt.kind, rt.namespaced, rt.api_version) == ("apps", "ControllerRevision", True, "apps/v1")


def test_revision_is_required_and_not_negative(api):
    body = revision()
    del body["revision"]
    with pytest.raises(APIError) as caught:
        api.create(ADMIN, body)
    assert "revision: Required value" in caught.value.message
    with pytest.raises(APIError) as caught:
        api.create(ADMIN, revision(number=-1))
    assert "revision: Invalid value: -1: must be greater than or equal to 0" in caught.value.message


def test_data_is_immutable_but_the_revision_number_may_change(api):
    api.create(ADMIN, revision(number=1))
    assert api.update(ADMIN, revision(number=3))["revision"] == 3
    with pytest.raises(APIError) as caught:
        api.update(ADMIN, revision(number=3, data={"spec": {"template": {"spec": {}}}}))
    assert caught.value.code == 422 and "data: Forbidden: field is immutable" in caught.value.message


def test_kubectl_get_names_the_controller_with_its_group(api):
    owner = {"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "fluentd", "uid": "u1", "controller": True}
    made = api.create(ADMIN, revision(owner=owner, number=2))
    orphan = api.create(ADMIN, revision(name="loose", number=1))
    cols = columns(BUILTIN.by_kind("apps", "ControllerRevision"))
    assert [c.name for c in cols] == ["NAME", "CONTROLLER", "REVISION", "AGE"]
    assert [c.cell(made, 0.0) for c in cols[:3]] == ["web-6d4b8", "daemonset.apps/fluentd", 2]
    assert cols[1].cell(orphan, 0.0) == "<none>"
