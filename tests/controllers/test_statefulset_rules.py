"""rules/statefulset.rules: the StatefulSet controller, sample-controller style."""

from __future__ import annotations

import pytest


def statefulset(name="web", replicas=3, image="nginx:1.27", **spec_fields):
    spec = {
        "replicas": replicas,
        "serviceName": name,
        "selector": {"matchLabels": {"app": name}},
        "template": {"metadata": {"labels": {"app": name}},
                     "spec": {"containers": [{"name": "c", "image": image}]}},
        **spec_fields,
    }
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": name, "namespace": "demo"},
            "spec": spec}


@pytest.fixture
def cluster(controller_cluster):
    controller_cluster.load("statefulset", "persistentvolume", "volume-provisioner")
    return controller_cluster


def pod_names(c):
    return [p["metadata"]["name"] for p in c.list("Pod") if not p["metadata"].get("deletionTimestamp")]


def ready(c, *names):
    for name in names:
        c.set_pod_status(name)
    c.run()


def gone(c, name):
    """The kubelet confirms a terminating pod's containers stopped: the pod leaves the store."""
    c.delete("Pod", name, grace_period=0)
    c.run()


def revision_of(c, name):
    return c.get("Pod", name)["metadata"]["labels"]["controller-revision-hash"]


def messages(c, reason):
    return [e["message"] for e in sorted(c.list("Event"), key=lambda e: e["metadata"]["name"]) if e["reason"] == reason]


def test_ordered_ready_creates_each_ordinal_after_the_lower_ones_are_running_and_ready(cluster):
    c = cluster
    c.create(statefulset(replicas=3))
    assert c.run().converged
    assert pod_names(c) == ["web-0"]
    ready(c, "web-0")
    assert pod_names(c) == ["web-0", "web-1"]
    c.set_pod_status("web-1", ready=False)
    c.run()
    assert pod_names(c) == ["web-0", "web-1"]
    ready(c, "web-1")
    ready(c, "web-2")
    sts = c.get("StatefulSet", "web")
    revision = sts["status"]["updateRevision"]
    assert sts["status"] == {
        "observedGeneration": 1, "replicas": 3, "readyReplicas": 3, "availableReplicas": 3, "currentReplicas": 3,
        "updatedReplicas": 3, "currentRevision": revision, "updateRevision": revision, "collisionCount": 0}
    pod = c.get("Pod", "web-1")
    assert pod["metadata"]["labels"] == {"app": "web", "statefulset.kubernetes.io/pod-name": "web-1",
                                         "apps.kubernetes.io/pod-index": "1", "controller-revision-hash": revision}
    assert (pod["spec"]["hostname"], pod["spec"]["subdomain"]) == ("web-1", "web")
    assert pod["metadata"]["ownerReferences"][0]["kind"] == "StatefulSet"
    assert messages(c, "SuccessfulCreate") == [f"create Pod web-{i} in StatefulSet web successful" for i in range(3)]


def test_the_template_is_recorded_as_a_controller_revision_kubectl_can_patch_back(cluster):
    c = cluster
    c.create(statefulset(replicas=1))
    c.run()
    sts = c.get("StatefulSet", "web")
    [revision] = c.list("ControllerRevision")
    assert revision["metadata"]["name"] == sts["status"]["updateRevision"]
    assert revision["metadata"]["name"].startswith("web-") and revision["revision"] == 1
    assert revision["data"]["spec"]["template"]["$patch"] == "replace"
    assert revision["data"]["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.27"
    assert revision["metadata"]["labels"]["app"] == "web"
    assert revision["metadata"]["labels"]["controller.kubernetes.io/hash"] == revision["metadata"]["name"][4:]
    assert revision["metadata"]["ownerReferences"][0]["uid"] == sts["metadata"]["uid"]


def test_parallel_creates_and_deletes_every_pod_at_once(cluster):
    c = cluster
    c.create(statefulset(replicas=3, podManagementPolicy="Parallel"))
    c.run()
    assert pod_names(c) == ["web-0", "web-1", "web-2"]
    c.patch("StatefulSet", "web", {"spec": {"replicas": 1}})
    c.run()
    assert pod_names(c) == ["web-0"]


def three_ready_and_bound(c):
    """web-0..2 created in order, each Running and Ready, all bound (a deletion waits for the kubelet)."""
    c.create(statefulset(replicas=3))
    for i in range(3):
        c.run()
        ready(c, f"web-{i}")
    for p in c.list("Pod"):
        c.patch("Pod", p["metadata"]["name"], {"spec": {"nodeName": "n1"}})
    return c


def test_ordered_scale_down_removes_the_highest_ordinal_first_one_at_a_time(cluster):
    c = three_ready_and_bound(cluster)
    c.patch("StatefulSet", "web", {"spec": {"replicas": 1}})
    c.run()
    assert pod_names(c) == ["web-0", "web-1"]  # web-2 terminating: web-1 waits for it to be gone
    gone(c, "web-2")
    assert pod_names(c) == ["web-0"]
    assert messages(c, "SuccessfulDelete") == ["delete Pod web-2 in StatefulSet web successful",
                                               "delete Pod web-1 in StatefulSet web successful"]


def test_a_statefulset_scaled_to_zero_keeps_replicas_and_available_replicas_only(cluster):
    c = cluster
    c.create(statefulset(replicas=2, podManagementPolicy="Parallel"))
    c.run()
    ready(c, "web-0", "web-1")
    c.apply(statefulset(replicas=0, podManagementPolicy="Parallel"))
    assert c.run().converged
    assert pod_names(c) == []
    status = c.get("StatefulSet", "web")["status"]
    revision = status["updateRevision"]
    assert status == {"observedGeneration": 2, "replicas": 0, "availableReplicas": 0, "currentRevision": revision,
                      "updateRevision": revision, "collisionCount": 0}


def test_ordinals_start_names_the_pods_from_it(cluster):
    c = cluster
    c.create(statefulset(replicas=2, ordinals={"start": 5}, podManagementPolicy="Parallel"))
    c.run()
    assert pod_names(c) == ["web-5", "web-6"]
    assert c.get("Pod", "web-6")["metadata"]["labels"]["apps.kubernetes.io/pod-index"] == "6"


def test_a_failed_pod_is_deleted_and_created_again(cluster):
    c = cluster
    c.create(statefulset(replicas=1))
    c.run()
    first_uid = c.get("Pod", "web-0")["metadata"]["uid"]
    c.set_pod_status("web-0", phase="Failed", ready=False)
    c.run()
    assert c.get("Pod", "web-0")["metadata"]["uid"] != first_uid


def roll_out(c, replicas=3, **spec):
    c.create(statefulset(replicas=replicas, **spec))
    for i in range(replicas):
        c.run()
        ready(c, f"web-{i}")
    for p in c.list("Pod"):
        c.patch("Pod", p["metadata"]["name"], {"spec": {"nodeName": "n1"}})
    return c.get("StatefulSet", "web")["status"]["updateRevision"]


def test_rolling_update_replaces_pods_from_the_highest_ordinal_waiting_for_each(cluster):
    c = cluster
    old = roll_out(c)
    c.patch("StatefulSet", "web", {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "nginx:1.28"}]}}}})
    c.run()
    new = c.get("StatefulSet", "web")["status"]["updateRevision"]
    assert new != old
    assert c.get("Pod", "web-2")["metadata"].get("deletionTimestamp")
    assert c.get("StatefulSet", "web")["status"]["currentRevision"] == old
    order = []
    for i in (2, 1, 0):
        gone(c, f"web-{i}")
        assert revision_of(c, f"web-{i}") == new
        assert c.get("Pod", f"web-{i}")["spec"]["containers"][0]["image"] == "nginx:1.28"
        order.append(i)
        if i:  # the next lower one waits until the replaced one is Running and Ready
            assert not c.get("Pod", f"web-{i - 1}")["metadata"].get("deletionTimestamp")
        ready(c, f"web-{i}")
        c.patch("Pod", f"web-{i}", {"spec": {"nodeName": "n1"}})
        c.run()
    status = c.get("StatefulSet", "web")["status"]
    assert (status["currentRevision"], status["updatedReplicas"], status["currentReplicas"]) == (new, 3, 3)
    assert [r["revision"] for r in sorted(c.list("ControllerRevision"), key=lambda r: r["revision"])] == [1, 2]


def test_a_partition_keeps_the_lower_ordinals_at_the_current_revision(cluster):
    c = cluster
    old = roll_out(c, updateStrategy={"type": "RollingUpdate", "rollingUpdate": {"partition": 2}})
    c.patch("StatefulSet", "web", {"spec": {"template": {"metadata": {"labels": {"app": "web", "v": "2"}}}}})
    c.run()
    gone(c, "web-2")
    ready(c, "web-2")
    status = c.get("StatefulSet", "web")["status"]
    assert revision_of(c, "web-1") == old and revision_of(c, "web-2") == status["updateRevision"]
    assert (status["currentRevision"], status["currentReplicas"], status["updatedReplicas"]) == (old, 2, 1)


def test_on_delete_replaces_a_pod_only_when_the_user_deletes_it(cluster):
    c = cluster
    old = roll_out(c, replicas=2, updateStrategy={"type": "OnDelete"})
    c.patch("StatefulSet", "web", {"spec": {"template": {"metadata": {"labels": {"app": "web", "v": "2"}}}}})
    c.run()
    assert not any(p["metadata"].get("deletionTimestamp") for p in c.list("Pod"))
    gone(c, "web-0")
    assert revision_of(c, "web-0") != old and revision_of(c, "web-1") == old


def test_going_back_to_an_old_template_renumbers_its_revision(cluster):
    c = cluster
    c.create(statefulset(replicas=1, podManagementPolicy="Parallel"))
    c.run()
    first = c.get("StatefulSet", "web")["status"]["updateRevision"]
    c.patch("StatefulSet", "web", {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "nginx:2"}]}}}})
    c.run()
    c.patch("StatefulSet", "web", {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}}}})
    c.run()
    assert c.get("StatefulSet", "web")["status"]["updateRevision"] == first
    assert c.get("ControllerRevision", first)["revision"] == 3


def test_revision_history_limit_deletes_the_oldest_unused_revisions(cluster):
    c = cluster
    c.create(statefulset(replicas=1, revisionHistoryLimit=1, podManagementPolicy="Parallel"))
    c.run()
    for image in ("a:1", "b:1", "c:1"):
        c.patch("StatefulSet", "web", {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": image}]}}}})
        c.run()
    kept = sorted(r["revision"] for r in c.list("ControllerRevision"))
    live = {c.get("StatefulSet", "web")["status"]["currentRevision"], revision_of(c, "web-0"),
            c.get("StatefulSet", "web")["status"]["updateRevision"]}
    assert len(kept) == len(live) + 1 and kept[-1] == 4


def test_volume_claim_templates_create_bound_claims_the_pod_refers_to(cluster):
    c = cluster
    claim = {"metadata": {"name": "data"},
             "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}
    c.create(statefulset(replicas=1, volumeClaimTemplates=[claim]))
    c.run()
    pvc = c.get("PersistentVolumeClaim", "data-web-0")
    assert pvc["metadata"]["labels"] == {"app": "web"} and "ownerReferences" not in pvc["metadata"]
    assert pvc["status"] == {"phase": "Bound", "capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"]}
    # (the default class `standard` provisions a volume for it, which the claim is bound to)
    assert pvc["spec"]["storageClassName"] == "standard"
    assert pvc["spec"]["volumeName"] == "pvc-" + pvc["metadata"]["uid"]
    volume = c.get("PersistentVolume", pvc["spec"]["volumeName"], "")
    assert volume["status"]["phase"] == "Bound" and volume["spec"]["claimRef"]["name"] == "data-web-0"
    assert c.get("Pod", "web-0")["spec"]["volumes"] == [{"name": "data", "persistentVolumeClaim": {"claimName": "data-web-0"}}]
    assert "create Claim data-web-0 Pod web-0 in StatefulSet web success" in messages(c, "SuccessfulCreate")


def test_a_delete_retention_policy_makes_the_set_own_its_claims(cluster):
    c = cluster
    claim = {"metadata": {"name": "data"},
             "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}
    c.create(statefulset(replicas=1, volumeClaimTemplates=[claim],
                         persistentVolumeClaimRetentionPolicy={"whenDeleted": "Delete"}))
    c.run()
    sts = c.get("StatefulSet", "web")
    refs = c.get("PersistentVolumeClaim", "data-web-0")["metadata"]["ownerReferences"]
    assert refs == [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web", "uid": sts["metadata"]["uid"]}]


def test_a_when_scaled_delete_policy_hands_a_condemned_pods_claims_to_the_pod(cluster):
    c = cluster
    claim = {"metadata": {"name": "data"},
             "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}
    c.create(statefulset(replicas=2, volumeClaimTemplates=[claim], podManagementPolicy="Parallel",
                         persistentVolumeClaimRetentionPolicy={"whenDeleted": "Delete", "whenScaled": "Delete"}))
    c.run()
    c.patch("Pod", "web-1", {"spec": {"nodeName": "n1"}})  # bound: its deletion waits for the kubelet
    sts = c.get("StatefulSet", "web")
    set_ref = {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web", "uid": sts["metadata"]["uid"]}
    assert c.get("PersistentVolumeClaim", "data-web-1")["metadata"]["ownerReferences"] == [set_ref]
    c.patch("StatefulSet", "web", {"spec": {"replicas": 1}})
    c.run()
    pod = c.get("Pod", "web-1")
    assert c.get("PersistentVolumeClaim", "data-web-1")["metadata"]["ownerReferences"] == [
        {"apiVersion": "v1", "kind": "Pod", "name": "web-1", "uid": pod["metadata"]["uid"]}]
    assert c.get("PersistentVolumeClaim", "data-web-0")["metadata"]["ownerReferences"] == [set_ref]


def test_a_claim_template_the_api_server_refuses_creates_no_pod_and_says_why(cluster):
    c = cluster
    claim = {"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"]}}
    c.create(statefulset(replicas=1, volumeClaimTemplates=[claim]))
    c.run(30)
    assert pod_names(c) == []
    [warning] = [e for e in c.list("Event") if e["reason"] == "FailedCreate"]
    assert warning["type"] == "Warning" and "spec.resources.requests[storage]: Required value" in warning["message"]


def test_only_orphans_named_as_members_are_adopted(cluster):
    c = cluster
    for name in ("web-0", "web-abc"):
        c.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "demo", "labels": {"app": "web"}},
                  "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}})
    c.create(statefulset(replicas=1))
    c.run()
    sts = c.get("StatefulSet", "web")
    assert [p["metadata"]["name"] for p in c.owned("Pod", sts)] == ["web-0"]
    assert not c.get("Pod", "web-abc")["metadata"].get("ownerReferences")


def test_a_disruption_budget_with_max_unavailable_reads_the_statefulsets_scale(controller_cluster):
    c = controller_cluster
    c.load("statefulset", "disruption")
    c.create(statefulset(replicas=2, podManagementPolicy="Parallel"))
    c.create({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "p", "namespace": "demo"},
              "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": "web"}}}})
    c.run()
    ready(c, "web-0", "web-1")
    status = c.get("PodDisruptionBudget", "p")["status"]
    assert (status["expectedPods"], status["desiredHealthy"], status["disruptionsAllowed"]) == (2, 1, 1)


def test_a_pod_that_lost_its_identity_labels_gets_them_back(cluster):
    c = cluster
    c.create(statefulset(replicas=1))
    c.run()
    c.patch("Pod", "web-0", {"metadata": {"labels": {"statefulset.kubernetes.io/pod-name": None,
                                                     "apps.kubernetes.io/pod-index": "7"}}})
    c.run()
    labels = c.get("Pod", "web-0")["metadata"]["labels"]
    assert (labels["statefulset.kubernetes.io/pod-name"], labels["apps.kubernetes.io/pod-index"]) == ("web-0", "0")


def test_ordered_ready_waits_min_ready_seconds_before_the_next_ordinal(cluster):
    c = cluster
    c.create(statefulset(replicas=2, minReadySeconds=30))
    c.run()
    c.set_pod_status("web-0")
    c.run(20)  # (the clock moves only to a deadline within the run: none before 30s)
    assert pod_names(c) == ["web-0"]
    assert c.get("StatefulSet", "web")["status"]["availableReplicas"] == 0
    c.run(40)
    assert pod_names(c) == ["web-0", "web-1"]
    assert c.get("StatefulSet", "web")["status"]["availableReplicas"] == 1


def test_a_set_created_again_over_its_orphans_adopts_them_without_a_collision(controller_cluster):
    c = controller_cluster
    c.load("statefulset", "garbage-collector")
    c.create(statefulset(replicas=2, podManagementPolicy="Parallel"))
    c.run()
    revision = c.get("StatefulSet", "web")["status"]["updateRevision"]
    c.delete("StatefulSet", "web", propagation="Orphan")
    c.run()
    c.create(statefulset(replicas=2, podManagementPolicy="Parallel"))
    c.run()
    sts = c.get("StatefulSet", "web")
    # the orphaned revision of the same template is adopted, as its pods are: no hash collision
    assert (sts["status"]["updateRevision"], sts["status"]["collisionCount"]) == (revision, 0)
    assert [r["metadata"]["name"] for r in c.owned("ControllerRevision", sts)] == [revision]
    assert [p["metadata"]["name"] for p in c.owned("Pod", sts)] == ["web-0", "web-1"]


def test_claims_keep_their_templates_labels_next_to_the_selectors(cluster):
    c = cluster
    claim = {"metadata": {"name": "data", "labels": {"tier": "db"}},
             "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}
    c.create(statefulset(replicas=1, volumeClaimTemplates=[claim]))
    c.run()
    assert c.get("PersistentVolumeClaim", "data-web-0")["metadata"]["labels"] == {"tier": "db", "app": "web"}


def test_a_pod_below_the_partition_is_created_again_at_the_current_revision(cluster):
    c = cluster
    old = roll_out(c, updateStrategy={"type": "RollingUpdate", "rollingUpdate": {"partition": 2}})
    c.patch("StatefulSet", "web", {"spec": {"template": {"metadata": {"labels": {"app": "web", "v": "2"}}}}})
    c.run()
    gone(c, "web-2")
    ready(c, "web-2")
    gone(c, "web-0")  # the user deletes a pod the partition holds back (newVersionedStatefulSetPod)
    assert revision_of(c, "web-0") == old and "v" not in c.get("Pod", "web-0")["metadata"]["labels"]


def test_parallel_deletes_every_condemned_pod_in_one_go(cluster):
    c = cluster
    c.create(statefulset(replicas=3, podManagementPolicy="Parallel"))
    c.run()
    for p in c.list("Pod"):  # bound: a deletion waits for the kubelet
        c.patch("Pod", p["metadata"]["name"], {"spec": {"nodeName": "n1"}})
    c.patch("StatefulSet", "web", {"spec": {"replicas": 1}})
    c.run()
    assert pod_names(c) == ["web-0"]


def test_ordered_scale_down_waits_for_a_condemned_pod_above_the_first_unhealthy_one(cluster):
    c = three_ready_and_bound(cluster)
    c.set_pod_status("web-1", ready=False)
    c.set_pod_status("web-2", ready=False)
    c.patch("StatefulSet", "web", {"spec": {"replicas": 1}})
    c.run()
    # web-1 is the first unhealthy pod: web-2, unhealthy too, is not deleted until it is healthy (processCondemned)
    assert pod_names(c) == ["web-0", "web-1", "web-2"]
    ready(c, "web-2")
    assert pod_names(c) == ["web-0", "web-1"]


def image(c, value):
    c.patch("StatefulSet", "web", {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": value}]}}}})
    c.run()
    return c.get("StatefulSet", "web")["status"]["updateRevision"]


def test_revision_history_keeps_the_current_revision_and_those_pods_still_run(cluster):
    c = cluster
    c.create(statefulset(replicas=1, revisionHistoryLimit=0, updateStrategy={"type": "OnDelete"}))
    c.run()
    ready(c, "web-0")
    first = c.get("StatefulSet", "web")["status"]["currentRevision"]
    second = image(c, "a:1")
    gone(c, "web-0")  # OnDelete: web-0 comes back at the second revision
    latest = image(c, "b:1")
    # the first is still current (OnDelete never completes a rollout), web-0 runs the second (truncateHistory)
    assert c.get("StatefulSet", "web")["status"]["currentRevision"] == first and revision_of(c, "web-0") == second
    assert sorted(r["metadata"]["name"] for r in c.list("ControllerRevision")) == sorted([first, second, latest])


def test_a_pod_relabelled_out_of_the_selector_is_released(cluster):
    c = cluster
    c.create(statefulset(replicas=1))
    c.run()
    c.patch("Pod", "web-0", {"metadata": {"labels": {"app": "other"}}})
    c.run()
    assert not c.get("Pod", "web-0")["metadata"].get("ownerReferences")


def test_a_refused_claim_records_no_successful_create_for_the_pod_or_claim_that_never_was(cluster):
    c = cluster
    claim = {"metadata": {"name": "Bad_Name"},
             "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}
    c.create(statefulset(replicas=1, volumeClaimTemplates=[claim]))
    c.run(30)
    assert pod_names(c) == [] and c.list("PersistentVolumeClaim") == []
    assert messages(c, "SuccessfulCreate") == []
    [warning] = [e for e in c.list("Event") if e["reason"] == "FailedCreate"]
    assert warning["type"] == "Warning" and "Bad_Name-web-0" in warning["message"]
