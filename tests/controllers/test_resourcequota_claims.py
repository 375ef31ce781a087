"""What PersistentVolumeClaims use of a ResourceQuota (upstream's pvcEvaluator), at admission and in
rules/resourcequota.rules, and LimitRanger's PersistentVolumeClaim items."""

from __future__ import annotations

import pytest

from engine.apierrors import APIError
from engine.quota import claim_usage

GOLD = "gold.storageclass.storage.k8s.io"


def claim(name, size="1Gi", storage_class=None, annotations=None):
    meta = {"name": name, "namespace": "demo"}
    if annotations:
        meta["annotations"] = annotations
    spec = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}}
    if storage_class is not None:
        spec["storageClassName"] = storage_class
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta, "spec": spec}


def quota(hard, name="q"):
    return {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": name, "namespace": "demo"},
            "spec": {"hard": hard}}


def limit_range(*limits):
    return {"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "lr", "namespace": "demo"},
            "spec": {"limits": list(limits)}}


def forbidden(write):
    with pytest.raises(APIError) as caught:
        write()
    assert caught.value.code == 403
    return caught.value.message


def used(c, name="q"):
    return c.get("ResourceQuota", name)["status"]["used"]


def resize(c, name, size):
    return c.patch("PersistentVolumeClaim", name, {"spec": {"resources": {"requests": {"storage": size}}}})


# ------------------------------------------------------------------ what one claim uses


def test_a_claim_uses_its_count_its_storage_request_and_both_by_its_class():
    assert claim_usage(claim("a", "10Gi")) == {
        "persistentvolumeclaims": 1, "count/persistentvolumeclaims": 1, "requests.storage": "10Gi"}
    assert claim_usage(claim("a", "10Gi", "gold")) == {
        "persistentvolumeclaims": 1, "count/persistentvolumeclaims": 1, "requests.storage": "10Gi",
        f"{GOLD}/persistentvolumeclaims": 1, f"{GOLD}/requests.storage": "10Gi"}


def test_the_beta_annotation_names_a_claims_class_before_spec_storage_class_name():
    annotated = claim("a", "1Gi", "silver", annotations={"volume.beta.kubernetes.io/storage-class": "gold"})
    assert f"{GOLD}/requests.storage" in claim_usage(annotated)
    assert not any("silver" in name for name in claim_usage(annotated))


def test_a_claims_storage_is_rounded_up_to_whole_bytes_and_is_what_was_allocated_when_more():
    assert claim_usage(claim("a", "1001m"))["requests.storage"] == 2
    expanding = {**claim("a", "5G"), "status": {"allocatedResources": {"storage": "10G"}}}
    assert str(claim_usage(expanding)["requests.storage"]) == "10G"
    shrunk = {**claim("a", "10G"), "status": {"allocatedResources": {"storage": "5G"}}}
    assert str(claim_usage(shrunk)["requests.storage"]) == "10G"


# ------------------------------------------------------------------ admission


def test_quota_refuses_a_claim_past_requests_storage_with_upstream_words(controller_cluster):
    c = controller_cluster
    c.load("resourcequota")
    c.create(quota({"requests.storage": "10Gi", "persistentvolumeclaims": "5"}))
    c.run(5)
    c.create(claim("a", "6Gi"))
    assert used(c) == {"requests.storage": "6Gi", "persistentvolumeclaims": "1"}  # charged at once
    assert forbidden(lambda: c.create(claim("b", "5Gi"))) == (
        'persistentvolumeclaims "b" is forbidden: exceeded quota: q, requested: requests.storage=5Gi, '
        'used: requests.storage=6Gi, limited: requests.storage=10Gi')
    assert c.get("PersistentVolumeClaim", "b") is None
    c.create(claim("c", "4Gi"))
    c.run(5)
    assert used(c) == {"requests.storage": "10Gi", "persistentvolumeclaims": "2"}


def test_quota_by_storage_class_charges_only_the_claims_of_that_class(controller_cluster):
    c = controller_cluster
    c.load("resourcequota")
    c.create(quota({f"{GOLD}/requests.storage": "5Gi", f"{GOLD}/persistentvolumeclaims": "2"}))
    c.run(5)
    c.create(claim("g1", "2Gi", "gold"))
    c.create(claim("s1", "50Gi", "silver"))
    c.create(claim("none", "50Gi"))
    assert used(c) == {f"{GOLD}/requests.storage": "2Gi", f"{GOLD}/persistentvolumeclaims": "1"}
    assert forbidden(lambda: c.create(claim("g2", "4Gi", "gold"))) == (
        f'persistentvolumeclaims "g2" is forbidden: exceeded quota: q, requested: {GOLD}/requests.storage=4Gi, '
        f'used: {GOLD}/requests.storage=2Gi, limited: {GOLD}/requests.storage=5Gi')
    # the beta annotation's class is the one charged
    c.create(claim("g2", "1Gi", annotations={"volume.beta.kubernetes.io/storage-class": "gold"}))
    assert forbidden(lambda: c.create(claim("g3", "1Gi", "gold"))) == (
        f'persistentvolumeclaims "g3" is forbidden: exceeded quota: q, requested: {GOLD}/persistentvolumeclaims=1, '
        f'used: {GOLD}/persistentvolumeclaims=2, limited: {GOLD}/persistentvolumeclaims=2')
    c.run(5)
    assert used(c) == {f"{GOLD}/requests.storage": "3Gi", f"{GOLD}/persistentvolumeclaims": "2"}


def test_a_claim_given_the_default_class_is_charged_to_that_class(controller_cluster):
    c = controller_cluster
    c.load("resourcequota")
    c.create({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "provisioner": "example.com/disk",
              "metadata": {"name": "gold", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}}})
    c.create(quota({f"{GOLD}/persistentvolumeclaims": "1"}))
    c.run(5)
    c.create(claim("a"))
    assert forbidden(lambda: c.create(claim("b"))).startswith(
        f'persistentvolumeclaims "b" is forbidden: exceeded quota: q, requested: {GOLD}/persistentvolumeclaims=1')


def test_quota_charges_an_update_that_grows_a_claims_request_by_what_it_adds(controller_cluster):
    c = controller_cluster
    c.load("resourcequota")
    c.create(quota({"requests.storage": "5Gi", f"{GOLD}/requests.storage": "3Gi"}))
    c.run(5)
    c.create(claim("a", "2Gi", "gold"))
    assert forbidden(lambda: resize(c, "a", "8Gi")) == (
        'persistentvolumeclaims "a" is forbidden: exceeded quota: q, '
        f'requested: {GOLD}/requests.storage=6Gi,requests.storage=6Gi, '
        f'used: {GOLD}/requests.storage=2Gi,requests.storage=2Gi, '
        f'limited: {GOLD}/requests.storage=3Gi,requests.storage=5Gi')
    assert c.get("PersistentVolumeClaim", "a")["spec"]["resources"]["requests"]["storage"] == "2Gi"
    resize(c, "a", "3Gi")
    assert used(c) == {"requests.storage": "3Gi", f"{GOLD}/requests.storage": "3Gi"}  # charged at once
    # an update that adds nothing passes a full quota
    c.patch("PersistentVolumeClaim", "a", {"metadata": {"labels": {"tier": "db"}}})
    c.run(5)
    assert used(c) == {"requests.storage": "3Gi", f"{GOLD}/requests.storage": "3Gi"}


# ------------------------------------------------------------------ the controller's recount


def test_quota_controller_counts_every_claim_of_the_namespace_and_recounts_after_deletes(controller_cluster):
    c = controller_cluster
    c.load("resourcequota", "pvc-protection")
    c.create(claim("a", "1Gi", "gold"))
    c.create(claim("b", "2Gi"))
    c.create({**claim("elsewhere", "7Gi", "gold"), "metadata": {"name": "elsewhere", "namespace": "default"}})
    c.create(quota({"persistentvolumeclaims": "10", "count/persistentvolumeclaims": "10", "requests.storage": "20Gi",
                    f"{GOLD}/persistentvolumeclaims": "10", f"{GOLD}/requests.storage": "20Gi"}))
    c.run(5)
    assert used(c) == {"persistentvolumeclaims": "2", "count/persistentvolumeclaims": "2", "requests.storage": "3Gi",
                       f"{GOLD}/persistentvolumeclaims": "1", f"{GOLD}/requests.storage": "1Gi"}
    # a Lost claim, and one whose expansion allocated more than it asks for, count as any other
    c.patch("PersistentVolumeClaim", "a", {"status": {"phase": "Lost"}}, subresource="status")
    c.patch("PersistentVolumeClaim", "b", {"status": {"allocatedResources": {"storage": "4Gi"}}}, subresource="status")
    c.run(5)
    assert used(c)["requests.storage"] == "5Gi" and used(c)["persistentvolumeclaims"] == "2"
    c.delete("PersistentVolumeClaim", "a")
    c.run(5)
    assert c.get("PersistentVolumeClaim", "a") is None
    assert used(c) == {"persistentvolumeclaims": "1", "count/persistentvolumeclaims": "1", "requests.storage": "4Gi",
                       f"{GOLD}/persistentvolumeclaims": "0", f"{GOLD}/requests.storage": "0"}


# ------------------------------------------------------------------ LimitRanger


def test_limit_range_refuses_a_claim_outside_its_storage_min_and_max(controller_cluster):
    c = controller_cluster
    c.create(limit_range({"type": "PersistentVolumeClaim", "min": {"storage": "1Gi"}, "max": {"storage": "10Gi"}}))
    assert forbidden(lambda: c.create(claim("big", "20Gi"))) == (
        'persistentvolumeclaims "big" is forbidden: maximum storage usage per PersistentVolumeClaim is 10Gi, '
        'but request is 20Gi')
    assert forbidden(lambda: c.create(claim("small", "500Mi"))) == (
        'persistentvolumeclaims "small" is forbidden: minimum storage usage per PersistentVolumeClaim is 1Gi, '
        'but request is 500Mi')
    assert c.create(claim("ok", "10Gi"))["spec"]["resources"]["requests"] == {"storage": "10Gi"}


def test_limit_range_checks_a_claims_update_that_changes_its_request(controller_cluster):
    c = controller_cluster
    c.create(claim("a", "20Gi"))
    c.create(limit_range({"type": "PersistentVolumeClaim", "max": {"storage": "10Gi"}},
                         {"type": "PersistentVolumeClaim", "max": {"storage": "30Gi"}, "min": {"cpu": "1"}}))
    c.patch("PersistentVolumeClaim", "a", {"metadata": {"labels": {"tier": "db"}}})  # (its request is as stored)
    assert forbidden(lambda: resize(c, "a", "25Gi")) == (
        'persistentvolumeclaims "a" is forbidden: [maximum storage usage per PersistentVolumeClaim is 10Gi, '
        'but request is 25Gi, minimum cpu usage per PersistentVolumeClaim is 1.  No request is specified]')


def test_a_claim_ignores_the_container_and_pod_items_of_a_limit_range(controller_cluster):
    c = controller_cluster
    c.create(limit_range({"type": "Container", "max": {"storage": "1Gi"}}, {"type": "Pod", "min": {"storage": "1Ti"}}))
    c.create(claim("a", "20Gi"))
