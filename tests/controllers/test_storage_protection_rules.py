"""rules/pvc-protection.rules and rules/pv-protection.rules, with the StorageObjectInUseProtection
admission: a claim a pod uses, and a volume bound to a claim, wait to be deleted until they are no
longer in use, as pvc_protection_controller.go and pv_protection_controller.go do."""

from __future__ import annotations

from test_persistentvolume_rules import STORAGE_RULES, claim, cluster, user, volume  # noqa: F401 (fixture)

PVC_PROTECTION = "kubernetes.io/pvc-protection"
PV_PROTECTION = "kubernetes.io/pv-protection"


def finalizers(obj):
    return list(obj["metadata"].get("finalizers") or ())


def deleting(obj):
    return obj is not None and obj["metadata"].get("deletionTimestamp") is not None


# ----------------------------------------------------------------- admission

def test_a_new_claim_and_a_new_volume_get_their_protection_finalizer_after_their_own(cluster):
    c = cluster
    c.create(volume("disk"))
    c.create({**claim("mine", storageClassName="manual"),
              "metadata": {"name": "mine", "namespace": "demo", "finalizers": ["example.com/keep"]}})
    c.create({**claim("twice", storageClassName="manual"),
              "metadata": {"name": "twice", "namespace": "demo", "finalizers": [PVC_PROTECTION]}})
    assert finalizers(c.get("PersistentVolume", "disk", "")) == [PV_PROTECTION]
    assert finalizers(c.get("PersistentVolumeClaim", "mine")) == ["example.com/keep", PVC_PROTECTION]
    assert finalizers(c.get("PersistentVolumeClaim", "twice")) == [PVC_PROTECTION]


def test_a_provisioned_volume_is_protected_too(cluster):
    c = cluster
    c.create(claim())
    assert c.run(30).converged
    pvc = c.get("PersistentVolumeClaim", "data")
    assert finalizers(c.get("PersistentVolume", pvc["spec"]["volumeName"], "")) == [PV_PROTECTION]


# ----------------------------------------------------------- pvc-protection

def test_an_unused_claim_is_deleted_at_once_and_its_volume_reclaimed(cluster):
    c = cluster
    c.create(claim())
    c.run(30)
    name = c.get("PersistentVolumeClaim", "data")["spec"]["volumeName"]
    c.delete("PersistentVolumeClaim", "data")
    assert deleting(c.get("PersistentVolumeClaim", "data"))  # (marked: the rule takes the finalizer off)
    assert c.run(30).converged
    assert c.get("PersistentVolumeClaim", "data") is None
    assert c.get("PersistentVolume", name, "") is None  # (Released, deleted, let go by pv-protection)


def test_a_claim_in_use_stays_terminating_until_its_pods_are_gone(cluster):
    c = cluster
    c.create(claim())
    c.create(user("app"))
    c.create(user("done"))
    c.run(30)
    c.patch("Pod", "done", {"status": {"phase": "Succeeded"}}, subresource="status")
    assert c.get("Pod", "done")["status"]["phase"] == "Succeeded"
    c.delete("PersistentVolumeClaim", "data")
    c.run(30)
    pvc = c.get("PersistentVolumeClaim", "data")
    assert deleting(pvc) and finalizers(pvc) == [PVC_PROTECTION] and pvc["status"]["phase"] == "Bound"
    assert c.get("PersistentVolume", pvc["spec"]["volumeName"], "")["status"]["phase"] == "Bound"
    c.delete("Pod", "app", grace_period=0)
    c.run(30)
    assert deleting(c.get("PersistentVolumeClaim", "data"))  # (a finished pod that is still there uses it too)
    c.delete("Pod", "done", grace_period=0)
    assert c.run(30).converged
    assert c.get("PersistentVolumeClaim", "data") is None
    assert c.get("PersistentVolume", pvc["spec"]["volumeName"], "") is None


def test_a_pod_not_yet_scheduled_or_naming_another_claim_does_not_hold_it(cluster):
    c = cluster
    c.create(claim())
    c.create(user("pending", node_name=None))
    c.create(user("elsewhere", claim_name="other"))
    c.create(user("other-namespace") | {"metadata": {"name": "other-namespace", "namespace": "default"}})
    c.run(30)
    c.delete("PersistentVolumeClaim", "data")
    assert c.run(30).converged
    assert c.get("PersistentVolumeClaim", "data") is None


def test_a_claim_whose_finalizer_was_taken_off_gets_it_back(cluster):
    c = cluster
    c.create(claim(storageClassName="manual"))
    c.patch("PersistentVolumeClaim", "data", {"metadata": {"finalizers": None}})
    assert finalizers(c.get("PersistentVolumeClaim", "data")) == []
    c.run(30)
    assert finalizers(c.get("PersistentVolumeClaim", "data")) == [PVC_PROTECTION]


def test_other_finalizers_of_a_deleted_claim_are_left_to_their_owners(cluster):
    c = cluster
    c.create({**claim(storageClassName="manual"),
              "metadata": {"name": "data", "namespace": "demo", "finalizers": ["example.com/keep"]}})
    c.run(30)
    c.delete("PersistentVolumeClaim", "data")
    c.run(30)
    assert finalizers(c.get("PersistentVolumeClaim", "data")) == ["example.com/keep"]


# ------------------------------------------------------------ pv-protection

def test_a_volume_deleted_while_bound_stays_until_its_claim_goes(cluster):
    c = cluster
    c.create(volume("disk", persistentVolumeReclaimPolicy="Retain"))
    c.create(claim(storageClassName="manual"))
    c.run(30)
    c.delete("PersistentVolume", "disk")
    c.run(30)
    disk = c.get("PersistentVolume", "disk", "")
    assert deleting(disk) and finalizers(disk) == [PV_PROTECTION] and disk["status"]["phase"] == "Bound"
    assert c.get("PersistentVolumeClaim", "data")["status"]["phase"] == "Bound"
    c.delete("PersistentVolumeClaim", "data")
    assert c.run(30).converged
    assert c.get("PersistentVolume", "disk", "") is None  # (Released, then let go)


def test_an_available_volume_is_deleted_at_once(cluster):
    c = cluster
    c.create(volume("disk"))
    c.run(30)
    c.delete("PersistentVolume", "disk")
    assert c.run(30).converged
    assert c.get("PersistentVolume", "disk", "") is None


def test_a_volume_whose_finalizer_was_taken_off_gets_it_back(cluster):
    c = cluster
    c.create(volume("disk"))
    c.patch("PersistentVolume", "disk", {"metadata": {"finalizers": None}}, "")
    c.run(30)
    assert finalizers(c.get("PersistentVolume", "disk", "")) == [PV_PROTECTION]


# --------------------------------------------------------------- end to end

def running_user(c, *more_rules):
    """A node with a kubelet, and the pod `app` running on it with the provisioned claim `data`."""
    c.load(*STORAGE_RULES, "kubelet", "node-lifecycle", *more_rules)
    hardware = {"cpu": "4", "memory": "8Gi", "pods": "110"}
    c.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-1"},
              "status": {"capacity": hardware, "allocatable": hardware}})
    c.create(claim())
    c.create(user("app"))
    c.run(60)
    assert c.get("Pod", "app")["status"]["phase"] == "Running"


def test_a_claim_deleted_under_a_running_pod_goes_once_the_kubelet_has_stopped_the_pod(controller_cluster):
    c = controller_cluster
    running_user(c)
    volume_name = c.get("PersistentVolumeClaim", "data")["spec"]["volumeName"]
    c.delete("PersistentVolumeClaim", "data")
    c.run(60)
    assert deleting(c.get("PersistentVolumeClaim", "data"))
    assert c.get("Pod", "app")["status"]["phase"] == "Running"
    c.delete("Pod", "app")  # (graceful: the kubelet stops it, then it goes)
    assert c.run(120).converged
    assert c.get("Pod", "app") is None
    assert c.get("PersistentVolumeClaim", "data") is None
    assert c.get("PersistentVolume", volume_name, "") is None


def test_a_namespace_being_deleted_goes_with_its_pods_then_its_claims_and_their_volumes(controller_cluster):
    c = controller_cluster
    running_user(c, "namespace", "garbage-collector")
    volume_name = c.get("PersistentVolumeClaim", "data")["spec"]["volumeName"]
    c.delete("Namespace", "demo", "")
    assert c.run(300).converged
    assert c.get("Namespace", "demo", "") is None and c.get("PersistentVolumeClaim", "data") is None
    assert c.get("PersistentVolume", volume_name, "") is None
