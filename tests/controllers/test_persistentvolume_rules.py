"""rules/persistentvolume.rules and rules/volume-provisioner.rules: the PersistentVolume controller
binds claims to volumes (static binding, reservations, dynamic provisioning, WaitForFirstConsumer)
and gives volumes back when their claims go, as pv_controller.go does."""

from __future__ import annotations

import pytest

BOUND_BY = "pv.kubernetes.io/bound-by-controller"
COMPLETED = "pv.kubernetes.io/bind-completed"
# the storage controllers: binding and provisioning, and the protection finalizers' rules
STORAGE_RULES = ("persistentvolume", "volume-provisioner", "pvc-protection", "pv-protection")


@pytest.fixture
def cluster(controller_cluster):
    controller_cluster.load(*STORAGE_RULES)
    return controller_cluster


def volume(name, size="1Gi", modes=("ReadWriteOnce",), klass="manual", **spec):
    body = {"capacity": {"storage": size}, "accessModes": list(modes), "hostPath": {"path": f"/data/{name}"}}
    if klass is not None:
        body["storageClassName"] = klass
    labels = spec.pop("labels", None)
    meta = {"name": name, **({"labels": labels} if labels else {})}
    return {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": meta,
            "spec": {k: v for k, v in {**body, **spec}.items() if v is not None}}


def claim(name="data", size="1Gi", modes=("ReadWriteOnce",), **spec):
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name, "namespace": "demo"},
            "spec": {"accessModes": list(modes), "resources": {"requests": {"storage": size}}, **spec}}


def storage_class(name, provisioner="example.com/disk", **fields):
    return {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": name},
            "provisioner": provisioner, **fields}


def user(name, claim_name="data", node_name="node-1"):
    """A pod naming the claim; bound to `node_name` (None: not scheduled).  No kubelet runs here."""
    spec = {"containers": [{"name": "c", "image": "nginx"}],
            "volumes": [{"name": "v", "persistentVolumeClaim": {"claimName": claim_name}}]}
    if node_name:
        spec["nodeName"] = node_name
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "demo"}, "spec": spec}


def events(c, reason):
    return [(e["type"], e["message"]) for e in sorted(c.list("Event", None), key=lambda e: e["metadata"]["name"])
            if e["reason"] == reason]


def pv(c, name):
    return c.get("PersistentVolume", name, "")


def test_a_claim_binds_to_the_smallest_available_volume_that_fits(cluster):
    c = cluster
    for name, size in (("big", "5Gi"), ("right", "2Gi"), ("small", "1Gi")):
        c.create(volume(name, size))
    c.run(5)
    assert {v["metadata"]["name"]: v["status"]["phase"] for v in c.list("PersistentVolume", None)} == {
        "big": "Available", "right": "Available", "small": "Available"}
    c.create(claim(size="1500Mi", storageClassName="manual"))
    assert c.run(60).converged
    pvc = c.get("PersistentVolumeClaim", "data")
    assert pvc["spec"]["volumeName"] == "right"
    assert pvc["status"] == {"phase": "Bound", "capacity": {"storage": "2Gi"}, "accessModes": ["ReadWriteOnce"]}
    assert pvc["metadata"]["annotations"] == {BOUND_BY: "yes", COMPLETED: "yes"}
    bound = pv(c, "right")
    assert bound["status"]["phase"] == "Bound" and bound["metadata"]["annotations"] == {BOUND_BY: "yes"}
    assert bound["spec"]["claimRef"] == {"kind": "PersistentVolumeClaim", "namespace": "demo", "name": "data",
                                         "uid": pvc["metadata"]["uid"], "apiVersion": "v1"}
    assert pv(c, "big")["status"]["phase"] == pv(c, "small")["status"]["phase"] == "Available"
    assert c.list("PersistentVolume", None) and pv(c, "pvc-" + pvc["metadata"]["uid"]) is None


def test_a_volume_of_another_class_mode_or_access_is_not_a_match(cluster):
    c = cluster
    c.create(volume("other-class", klass="fast"))
    c.create(volume("read-only", modes=("ReadOnlyMany",)))
    c.create(volume("block", volumeMode="Block"))
    c.create(volume("both", "3Gi", modes=("ReadWriteOnce", "ReadOnlyMany")))
    c.create(claim(modes=("ReadWriteOnce",), storageClassName="manual"))
    c.run(60)
    assert c.get("PersistentVolumeClaim", "data")["spec"]["volumeName"] == "both"


def test_a_volume_reserved_by_claim_ref_goes_to_that_claim_only(cluster):
    c = cluster
    c.create(volume("reserved", "10Gi", claimRef={"namespace": "demo", "name": "db"}))
    c.create(volume("plain", "1Gi"))
    c.create(claim("web", storageClassName="manual"))
    c.run(30)
    assert c.get("PersistentVolumeClaim", "web")["spec"]["volumeName"] == "plain"
    assert pv(c, "reserved")["status"]["phase"] == "Available"
    c.create(claim("db", storageClassName="other"))  # (a reservation is kept whatever the class)
    c.run(30)
    db = c.get("PersistentVolumeClaim", "db")
    assert db["spec"]["volumeName"] == "reserved" and db["status"]["phase"] == "Bound"
    reserved = pv(c, "reserved")
    assert reserved["spec"]["claimRef"]["uid"] == db["metadata"]["uid"]
    assert BOUND_BY not in (reserved["metadata"].get("annotations") or {})  # (the user chose it)


def test_a_claim_naming_a_volume_binds_to_it_or_says_why_not(cluster):
    c = cluster
    c.create(volume("tiny", "100Mi"))
    c.create(volume("wanted", "1Gi"))
    c.create(claim("first", volumeName="tiny", storageClassName="manual"))
    c.create(claim("second", volumeName="wanted", storageClassName="manual"))
    c.create(claim("third", volumeName="missing", storageClassName="manual"))
    c.run(30)
    first, second = c.get("PersistentVolumeClaim", "first"), c.get("PersistentVolumeClaim", "second")
    assert first["status"]["phase"] == "Pending"
    assert ("Warning", 'Cannot bind to requested volume "tiny": requested PV is too small') in events(
        c, "VolumeMismatch")
    assert second["status"]["phase"] == "Bound"
    assert second["metadata"]["annotations"] == {COMPLETED: "yes"}  # (the user chose the volume)
    assert pv(c, "wanted")["metadata"]["annotations"] == {BOUND_BY: "yes"}
    assert c.get("PersistentVolumeClaim", "third")["status"]["phase"] == "Pending"


def test_a_claim_selector_picks_among_the_volumes_by_label(cluster):
    c = cluster
    c.create(volume("ssd", "2Gi", labels={"disk": "ssd"}))
    c.create(volume("hdd", "1Gi", labels={"disk": "hdd"}))
    c.create(claim(storageClassName="manual", selector={"matchLabels": {"disk": "ssd"}}))
    c.run(30)
    assert c.get("PersistentVolumeClaim", "data")["spec"]["volumeName"] == "ssd"


def test_a_claim_without_a_class_gets_standard_and_a_provisioned_volume(cluster):
    c = cluster
    c.create(claim(size="3Gi", modes=("ReadWriteMany",)))
    assert c.run(30).converged
    pvc = c.get("PersistentVolumeClaim", "data")
    name = "pvc-" + pvc["metadata"]["uid"]
    assert pvc["spec"]["storageClassName"] == "standard" and pvc["spec"]["volumeName"] == name
    assert pvc["status"] == {"phase": "Bound", "capacity": {"storage": "3Gi"}, "accessModes": ["ReadWriteMany"]}
    assert pvc["metadata"]["annotations"]["volume.kubernetes.io/storage-provisioner"] == "recon.dev/simulated"
    made = pv(c, name)
    assert made["metadata"]["annotations"] == {"pv.kubernetes.io/provisioned-by": "recon.dev/simulated"}
    assert made["spec"]["persistentVolumeReclaimPolicy"] == "Delete" and made["status"]["phase"] == "Bound"
    assert made["spec"]["storageClassName"] == "standard" and made["spec"]["capacity"] == {"storage": "3Gi"}
    assert made["spec"]["hostPath"] == {"path": f"/var/lib/recon/volumes/{name}", "type": "DirectoryOrCreate"}
    assert events(c, "ExternalProvisioning") == [(
        "Normal", "Waiting for a volume to be created either by the external provisioner 'recon.dev/simulated' or "
                  "manually by the system administrator. If volume creation is delayed, please verify that the "
                  "provisioner is running and correctly registered.")]
    assert events(c, "Provisioning") == [
        ("Normal", 'External provisioner is provisioning volume for claim "demo/data"')]
    assert events(c, "ProvisioningSucceeded") == [("Normal", f"Successfully provisioned volume {name}")]


def test_a_matching_volume_is_bound_before_anything_is_provisioned(cluster):
    c = cluster
    c.create(volume("static", "1Gi", klass="standard"))
    c.create(claim())
    c.run(30)
    assert c.get("PersistentVolumeClaim", "data")["spec"]["volumeName"] == "static"
    assert [v["metadata"]["name"] for v in c.list("PersistentVolume", None)] == ["static"]


def test_a_missing_class_or_no_provisioner_leaves_the_claim_pending_and_says_why(cluster):
    c = cluster
    c.create(storage_class("local", "kubernetes.io/no-provisioner"))
    c.create(claim("typo", storageClassName="fsat"))
    c.create(claim("local", storageClassName="local"))
    c.create(claim("none", storageClassName=""))
    c.run(30)
    for name in ("typo", "local", "none"):
        assert c.get("PersistentVolumeClaim", name)["status"] == {"phase": "Pending"}
    assert events(c, "ProvisioningFailed") == [
        ("Warning", "no volume plugin matched name: kubernetes.io/no-provisioner"),
        ("Warning", 'storageclass.storage.k8s.io "fsat" not found')]
    assert events(c, "FailedBinding") == [
        ("Normal", "no persistent volumes available for this claim and no storage class is set")]
    assert c.list("PersistentVolume", None) == []


def test_wait_for_first_consumer_binds_once_a_pod_using_the_claim_has_a_node(cluster):
    c = cluster
    c.create(storage_class("late", volumeBindingMode="WaitForFirstConsumer"))
    c.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-1"}})
    c.create(claim(storageClassName="late"))
    c.run(30)
    assert c.get("PersistentVolumeClaim", "data")["status"] == {"phase": "Pending"}
    assert events(c, "WaitForFirstConsumer") == [("Normal", "waiting for first consumer to be created before binding")]
    assert c.list("PersistentVolume", None) == []
    c.create(user("app", node_name=None))
    c.run(30)
    assert c.get("PersistentVolumeClaim", "data")["status"]["phase"] == "Pending"  # (no node yet)
    c.patch("Pod", "app", {"spec": {"nodeName": "node-1"}})
    assert c.run(30).converged
    pvc = c.get("PersistentVolumeClaim", "data")
    assert pvc["metadata"]["annotations"]["volume.kubernetes.io/selected-node"] == "node-1"
    assert pvc["status"]["phase"] == "Bound"
    made = pv(c, pvc["spec"]["volumeName"])
    assert made["spec"]["nodeAffinity"] == {"required": {"nodeSelectorTerms": [
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["node-1"]}]}]}}


def test_wait_for_first_consumer_binds_a_static_volume_the_node_may_use(cluster):
    c = cluster
    c.create(storage_class("local", "kubernetes.io/no-provisioner", volumeBindingMode="WaitForFirstConsumer"))
    c.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-1"}})
    affinity = lambda node: {"required": {"nodeSelectorTerms": [  # noqa: E731
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}]}}
    c.create(volume("on-2", klass="local", local={"path": "/mnt/a"}, nodeAffinity=affinity("node-2"),
                    hostPath=None))
    c.create(volume("on-1", "2Gi", klass="local", local={"path": "/mnt/b"}, nodeAffinity=affinity("node-1"),
                    hostPath=None))
    c.create(claim(storageClassName="local"))
    c.create(user("app"))
    c.run(30)
    assert c.get("PersistentVolumeClaim", "data")["spec"]["volumeName"] == "on-1"


def test_deleting_a_claim_releases_its_volume_then_deletes_or_keeps_it_by_policy(cluster):
    c = cluster
    c.create(volume("kept", persistentVolumeReclaimPolicy="Retain"))
    c.create(claim("static", storageClassName="manual"))
    c.create(claim("dynamic"))
    c.run(30)
    dynamic = c.get("PersistentVolumeClaim", "dynamic")["spec"]["volumeName"]
    assert pv(c, dynamic)["status"]["phase"] == pv(c, "kept")["status"]["phase"] == "Bound"
    c.delete("PersistentVolumeClaim", "static")
    c.delete("PersistentVolumeClaim", "dynamic")
    assert c.run(30).converged
    assert pv(c, dynamic) is None  # (Delete, the class's policy)
    kept = pv(c, "kept")
    assert kept["status"]["phase"] == "Released" and kept["spec"]["claimRef"]["name"] == "static"
    c.create(claim("static", storageClassName="manual"))  # (a new claim of the same name: not its claim)
    c.run(30)
    assert pv(c, "kept")["status"]["phase"] == "Released"
    assert c.get("PersistentVolumeClaim", "static")["status"]["phase"] == "Pending"


def test_a_recycle_policy_fails_the_released_volume_as_without_a_recycler(cluster):
    c = cluster
    c.create(volume("old", persistentVolumeReclaimPolicy="Recycle"))
    c.create(claim(storageClassName="manual"))
    c.run(30)
    c.delete("PersistentVolumeClaim", "data")
    c.run(30)
    failed = pv(c, "old")
    assert failed["status"]["phase"] == "Failed"
    assert failed["status"]["message"] == "No recycler plugin found for the volume!"
    assert events(c, "VolumeFailedRecycle") == [("Warning", "No recycler plugin found for the volume!")]


def test_a_bound_claim_whose_volume_goes_is_lost(cluster):
    c = cluster
    c.create(volume("disk"))
    c.create(claim(storageClassName="manual"))
    c.run(30)
    c.delete("PersistentVolume", "disk")
    c.run(30)
    assert c.get("PersistentVolumeClaim", "data")["status"]["phase"] == "Bound"  # (pv-protection holds it)
    c.patch("PersistentVolume", "disk", {"metadata": {"finalizers": None}}, "")  # (forced away)
    c.run(30)
    pvc = c.get("PersistentVolumeClaim", "data")
    assert pvc["status"] == {"phase": "Lost"} and pvc["spec"]["volumeName"] == "disk"
    assert events(c, "ClaimLost") == [
        ("Warning", "Bound claim has lost its PersistentVolume. Data on the volume is lost!")]


def test_a_claim_made_before_any_default_class_gets_the_one_that_comes(cluster):
    c = cluster
    c.delete("StorageClass", "standard")
    c.create(claim())
    c.run(30)
    assert c.get("PersistentVolumeClaim", "data")["status"] == {"phase": "Pending"}
    assert "storageClassName" not in c.get("PersistentVolumeClaim", "data")["spec"]
    c.create(storage_class("new", metadata={"name": "new", "annotations": {
        "storageclass.kubernetes.io/is-default-class": "true"}}))
    c.run(30)
    pvc = c.get("PersistentVolumeClaim", "data")
    assert pvc["spec"]["storageClassName"] == "new" and pvc["status"]["phase"] == "Bound"
