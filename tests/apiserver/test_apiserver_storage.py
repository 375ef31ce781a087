"""PersistentVolume (v1) and StorageClass (storage.k8s.io/v1): served, defaulted, validated and printed
as upstream's; the default class `standard` and the DefaultStorageClass admission of claims."""

from __future__ import annotations

import pytest
from apiserver_fixtures import ADMIN, make_server

from engine.api.auth import Attributes, authorized, service_account_user
from engine.apiserver import APIError
from engine.history import ref
from engine.kinds import BUILTIN
from engine.printers import columns
from engine.timeutil import format_time


def volume(name: str = "disk", **spec) -> dict:
    body = {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"], "hostPath": {"path": "/data"}}
    body.update(spec)
    return {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": name},
            "spec": {k: v for k, v in body.items() if v is not None}}


def storage_class(name: str = "fast", **fields) -> dict:
    body = {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": name},
            "provisioner": "example.com/disk", **fields}
    return {k: v for k, v in body.items() if v is not None}


def claim(name: str = "data", annotations: dict | None = None, **spec) -> dict:
    meta = {"name": name, "namespace": "default", **({"annotations": annotations} if annotations else {})}
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta,
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}, **spec}}


def messages(api, body, update: bool = False) -> list[str]:
    """The messages of a refused write, which must be 422 Invalid naming the object."""
    with pytest.raises(APIError) as caught:
        api.update(ADMIN, body) if update else api.create(ADMIN, body)
    assert caught.value.code == 422 and caught.value.reason == "Invalid"
    kind = "PersistentVolume" if body["kind"] == "PersistentVolume" else "StorageClass.storage.k8s.io"
    assert caught.value.message.startswith(f'{kind} "{body["metadata"]["name"]}" is invalid: ')
    return [f'{c["field"]}: {c["message"]}' for c in caught.value.details["causes"]]


# ------------------------------------------------------------------ registry


def test_kubectl_names_resolve_to_the_cluster_scoped_storage_kinds():
    for name in ("pv", "persistentvolumes", "persistentvolume", "PersistentVolume"):
        rt = BUILTIN.resolve(name)
        assert (rt.group, rt.kind, rt.api_version, rt.namespaced) == ("", "PersistentVolume", "v1", False)
    assert BUILTIN.by_kind("", "PersistentVolume").subresources == frozenset({"status"})
    for name in ("sc", "storageclasses", "storageclass", "storageclasses.storage.k8s.io"):
        rt = BUILTIN.resolve(name)
        assert (rt.group, rt.kind, rt.api_version, rt.namespaced) == (
            "storage.k8s.io", "StorageClass", "storage.k8s.io/v1", False)
    assert ref(("", "PersistentVolume", "", "disk")) == "pv/disk"
    assert ref(("storage.k8s.io", "StorageClass", "", "fast")) == "sc/fast"


# ------------------------------------------------------------------ defaults


def test_a_volume_defaults_to_retain_filesystem_and_starts_pending(api):
    made = api.create(ADMIN, volume(status={"phase": "Bound"}))
    assert made["spec"]["persistentVolumeReclaimPolicy"] == "Retain"
    assert made["spec"]["volumeMode"] == "Filesystem"
    assert made["status"] == {"phase": "Pending", "lastPhaseTransitionTime": made["metadata"]["creationTimestamp"]}


def test_a_volume_phase_written_through_status_notes_when_it_changed(api):
    made = api.create(ADMIN, volume())
    api.clock.advance(5)
    moved = api.patch(ADMIN, "", "PersistentVolume", "", "disk", {"status": {"phase": "Available"}},
                      subresource="status")
    assert moved["status"] == {"phase": "Available", "lastPhaseTransitionTime": format_time(api.clock.now())}
    assert moved["status"]["lastPhaseTransitionTime"] != made["status"]["lastPhaseTransitionTime"]


def test_a_class_defaults_to_delete_and_immediate_binding(api):
    made = api.create(ADMIN, storage_class())
    assert (made["reclaimPolicy"], made["volumeBindingMode"]) == ("Delete", "Immediate")


def test_the_api_server_ships_the_default_class_standard():
    api = make_server()
    standard = api.head.get(("storage.k8s.io", "StorageClass", "", "standard"))
    assert standard["metadata"]["annotations"] == {"storageclass.kubernetes.io/is-default-class": "true"}
    assert (standard["provisioner"], standard["reclaimPolicy"], standard["volumeBindingMode"]) == (
        "recon.dev/simulated", "Delete", "Immediate")
    api.delete(ADMIN, "storage.k8s.io", "StorageClass", "", "standard")
    api.create(ADMIN, storage_class("mine"))
    api.bootstrap()  # (a cluster that has its own classes is left as it is)
    assert api.head.get(("storage.k8s.io", "StorageClass", "", "standard")) is None


# ------------------------------------------------------------ DefaultStorageClass admission


def test_a_claim_without_a_class_gets_the_default_one(api):
    assert api.create(ADMIN, claim())["spec"]["storageClassName"] == "standard"
    assert api.create(ADMIN, claim("empty", storageClassName=""))["spec"]["storageClassName"] == ""
    assert api.create(ADMIN, claim("named", storageClassName="fast"))["spec"]["storageClassName"] == "fast"
    beta = api.create(ADMIN, claim("beta", annotations={"volume.beta.kubernetes.io/storage-class": "old"}))
    assert "storageClassName" not in beta["spec"]


def test_the_newest_of_several_default_classes_wins(api):
    api.clock.advance(10)
    api.create(ADMIN, storage_class("newer", metadata={"name": "newer", "annotations": {
        "storageclass.beta.kubernetes.io/is-default-class": "true"}}))
    assert api.create(ADMIN, claim())["spec"]["storageClassName"] == "newer"


def test_without_a_default_class_a_claim_stays_without_one(api):
    api.patch(ADMIN, "storage.k8s.io", "StorageClass", "", "standard", {"metadata": {"annotations": {
        "storageclass.kubernetes.io/is-default-class": "false"}}})
    assert "storageClassName" not in api.create(ADMIN, claim())["spec"]


def test_a_claim_may_get_a_class_once_and_a_volume_name_once(api):
    api.delete(ADMIN, "storage.k8s.io", "StorageClass", "", "standard")
    api.create(ADMIN, claim())
    api.patch(ADMIN, "", "PersistentVolumeClaim", "default", "data", {"spec": {"storageClassName": "late"}})
    api.patch(ADMIN, "", "PersistentVolumeClaim", "default", "data", {"spec": {"volumeName": "disk"}})
    for change in ({"storageClassName": "other"}, {"volumeName": "other"}):
        with pytest.raises(APIError) as caught:
            api.patch(ADMIN, "", "PersistentVolumeClaim", "default", "data", {"spec": change})
        assert caught.value.code == 422 and "spec: Forbidden: spec is immutable after creation" in caught.value.message


def test_a_claim_class_and_selector_are_checked(api):
    with pytest.raises(APIError) as caught:
        api.create(ADMIN, claim(storageClassName="Fast_Disk", selector={"matchLabels": {"a": "-bad-"}}))
    assert 'spec.storageClassName: Invalid value: "Fast_Disk": a lowercase RFC 1123 subdomain' in caught.value.message
    assert 'spec.selector.matchLabels: Invalid value: "-bad-"' in caught.value.message


# ------------------------------------------------------------------ volume validation


def test_a_volume_needs_capacity_access_modes_and_one_source(api):
    assert messages(api, volume(capacity=None, accessModes=None, hostPath=None)) == [
        "spec.accessModes: Required value",
        "spec.capacity: Required value",
        'spec.capacity: Unsupported value: map[string]string{}: supported values: "storage"',
        "spec: Required value: must specify a volume type",
    ]


def test_a_volume_capacity_is_storage_only_and_positive(api):
    assert messages(api, volume(capacity={"storage": "0"})) == [
        'spec.capacity[storage]: Invalid value: "0": must be greater than zero']
    assert messages(api, volume(capacity={"storage": "1Gi", "cpu": "1"}))[0].startswith(
        'spec.capacity: Unsupported value: map[string]string{"cpu":"1", "storage":"1Gi"}: supported values: '
        '"storage"')


def test_a_volume_access_modes_reclaim_policy_and_volume_mode_are_upstreams(api):
    assert messages(api, volume(accessModes=["ReadWriteSome"], persistentVolumeReclaimPolicy="Keep",
                                volumeMode="Raw")) == [
        'spec.accessModes: Unsupported value: "ReadWriteSome": supported values: "ReadOnlyMany", "ReadWriteMany", '
        '"ReadWriteOnce", "ReadWriteOncePod"',
        'spec.persistentVolumeReclaimPolicy: Unsupported value: "Keep": supported values: "Delete", "Recycle", '
        '"Retain"',
        'spec.volumeMode: Unsupported value: "Raw": supported values: "Block", "Filesystem"',
    ]
    assert messages(api, volume(accessModes=["ReadWriteOncePod", "ReadOnlyMany"])) == [
        "spec.accessModes: Forbidden: may not use ReadWriteOncePod with other access modes"]


def test_a_volume_has_exactly_one_source_each_checked(api):
    assert messages(api, volume(nfs={"server": "nas", "path": "/export"})) == [
        "spec.nfs: Forbidden: may not specify more than 1 volume type"]
    assert messages(api, volume("a", hostPath={"path": ""})) == ["spec.hostPath.path: Required value"]
    assert messages(api, volume("b", hostPath=None, nfs={"server": "nas", "path": "export"})) == [
        'spec.nfs.path: Invalid value: "export": must be an absolute path']
    assert messages(api, volume("c", hostPath=None, csi={"driver": "disk.example.com"})) == [
        "spec.csi.volumeHandle: Required value"]
    assert messages(api, volume("d", hostPath=None, local={"path": "/mnt/disk"})) == [
        "spec.nodeAffinity: Required value: Local volume requires node affinity"]


def test_a_volume_node_affinity_is_a_node_selector(api):
    assert messages(api, volume(nodeAffinity={})) == [
        "spec.nodeAffinity.required: Required value: must specify required node constraints"]
    assert messages(api, volume(nodeAffinity={"required": {"nodeSelectorTerms": []}})) == [
        "spec.nodeAffinity.required.nodeSelectorTerms: Required value: must have at least one node selector term"]
    terms = [{"matchExpressions": [{"key": "zone", "operator": "In"}, {"key": "disk", "operator": "Near"}],
              "matchFields": [{"key": "metadata.uid", "operator": "In", "values": ["x"]}]}]
    assert messages(api, volume(nodeAffinity={"required": {"nodeSelectorTerms": terms}})) == [
        "spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values: Required value: must be "
        "specified when `operator` is 'In' or 'NotIn'",
        'spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[1].operator: Invalid value: "Near": not '
        "a valid selector operator",
        'spec.nodeAffinity.required.nodeSelectorTerms[0].matchFields[0].key: Invalid value: "metadata.uid": not a '
        "valid field selector key",
    ]


def test_a_volume_class_name_is_a_dns_subdomain_and_claim_ref_an_object(api):
    found = messages(api, volume(storageClassName="Fast!", claimRef="data"))
    assert found[0] == 'spec.claimRef: Invalid value: "data": must be of type object'
    assert found[1].startswith('spec.storageClassName: Invalid value: "Fast!": a lowercase RFC 1123 subdomain')


def test_a_volume_source_mode_and_node_affinity_never_change(api):
    made = api.create(ADMIN, volume(nodeAffinity={"required": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}]}}))
    changed = dict(made, spec=dict(made["spec"], hostPath={"path": "/elsewhere"}, volumeMode="Block",
                                   nodeAffinity=None))
    found = messages(api, changed, update=True)
    assert found[:2] == [
        "spec.persistentvolumesource: Forbidden: spec.persistentvolumesource is immutable after creation",
        'volumeMode: Invalid value: "Block": field is immutable']
    assert found[2].startswith("nodeAffinity: Invalid value: null: field is immutable")
    grown = dict(made, spec=dict(made["spec"], capacity={"storage": "2Gi"}))
    assert api.update(ADMIN, grown)["spec"]["capacity"] == {"storage": "2Gi"}


# ------------------------------------------------------------------ class validation


def test_a_class_needs_a_qualified_provisioner_and_known_policies(api):
    assert messages(api, storage_class(provisioner=None, reclaimPolicy="Recycle", volumeBindingMode="Later")) == [
        "provisioner: Required value",
        'reclaimPolicy: Unsupported value: "Recycle": supported values: "Delete", "Retain"',
        'volumeBindingMode: Unsupported value: "Later": supported values: "Immediate", "WaitForFirstConsumer"',
    ]
    found = messages(api, storage_class(provisioner="Example.com/my disk", parameters={"": "x"}))
    assert found[0].startswith('provisioner: Invalid value: "example.com/my disk": name part must consist of')
    assert found[1] == 'parameters: Invalid value: "": field can not be empty.'


def test_a_class_provisioner_parameters_and_policies_never_change(api):
    made = api.create(ADMIN, storage_class(parameters={"type": "ssd"}))
    changed = dict(made, provisioner="example.com/other", parameters={"type": "hdd"}, reclaimPolicy="Retain",
                   volumeBindingMode="WaitForFirstConsumer")
    assert messages(api, changed, update=True) == [
        "parameters: Forbidden: updates to parameters are forbidden.",
        "provisioner: Forbidden: updates to provisioner are forbidden.",
        "reclaimPolicy: Forbidden: updates to reclaimPolicy are forbidden.",
        'volumeBindingMode: Invalid value: "WaitForFirstConsumer": field is immutable',
    ]
    relabeled = dict(made, allowVolumeExpansion=True, metadata=dict(made["metadata"], labels={"tier": "fast"}))
    assert api.update(ADMIN, relabeled)["allowVolumeExpansion"] is True


# ------------------------------------------------------------------ printers


def test_kubectl_get_pv_prints_upstreams_columns(api):
    made = api.create(ADMIN, volume(storageClassName="fast", accessModes=["ReadWriteOnce", "ReadOnlyMany"],
                                    claimRef={"namespace": "default", "name": "data"}))
    cols = columns(BUILTIN.by_kind("", "PersistentVolume"))
    assert [c.name for c in cols] == ["NAME", "CAPACITY", "ACCESS MODES", "RECLAIM POLICY", "STATUS", "CLAIM",
                                      "STORAGECLASS", "VOLUMEATTRIBUTESCLASS", "REASON", "AGE"]
    assert [c.cell(made, 0.0) for c in cols[:-1]] == ["disk", "1Gi", "RWO,ROX", "Retain", "Pending", "default/data",
                                                      "fast", "<unset>", ""]
    wide = columns(BUILTIN.by_kind("", "PersistentVolume"), wide=True)
    assert wide[-1].name == "VOLUMEMODE" and wide[-1].cell(made, 0.0) == "Filesystem"


def test_kubectl_get_sc_marks_the_default_class(api):
    cols = columns(BUILTIN.by_kind("storage.k8s.io", "StorageClass"))
    assert [c.name for c in cols] == ["NAME", "PROVISIONER", "RECLAIMPOLICY", "VOLUMEBINDINGMODE",
                                      "ALLOWVOLUMEEXPANSION", "AGE"]
    standard = api.head.get(("storage.k8s.io", "StorageClass", "", "standard"))
    assert [c.cell(standard, 0.0) for c in cols[:-1]] == [
        "standard (default)", "recon.dev/simulated", "Delete", "Immediate", False]
    assert cols[4].fn(standard, 0.0) == "false"


# ------------------------------------------------------------------ RBAC


@pytest.mark.parametrize("role", ["view", "edit", "admin"])
@pytest.mark.parametrize("resource, group", [("persistentvolumes", ""), ("storageclasses", "storage.k8s.io")])
def test_the_default_user_roles_grant_no_cluster_scoped_storage(api, role, resource, group):
    """Upstream's admin, edit and view are for namespaces: volumes and classes are cluster-admin's."""
    api.create(ADMIN, {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                       "metadata": {"name": f"bot-{role}"},
                       "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
                       "subjects": [{"kind": "ServiceAccount", "name": "bot", "namespace": "default"}]})
    bot = service_account_user("default", "bot")
    assert not any(authorized(api.head, bot, Attributes(verb, group, resource, name="x"))
                   for verb in ("get", "list", "create", "delete"))
    claims = Attributes("get", "", "persistentvolumeclaims", namespace="default", name="data")
    assert authorized(api.head, bot, claims)
