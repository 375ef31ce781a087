"""rules/daemonset.rules: the DaemonSet controller, sample-controller style.

There is no scheduler nor kubelet here: `settle` plays both, binding each
pod to the node its node affinity names, reporting it ready, and finishing
the graceful deletions the controller started.
"""

from __future__ import annotations

from engine.timeutil import format_time

HASH = "controller-revision-hash"
GENERATION = "pod-template-generation"


def daemonset(name="agent", image="agent:1", strategy=None, node_selector=None, tolerations=None,
              min_ready=None, history=None):
    spec = {"containers": [{"name": "c", "image": image}]}
    if node_selector is not None:
        spec["nodeSelector"] = node_selector
    if tolerations is not None:
        spec["tolerations"] = tolerations
    ds = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": name, "namespace": "demo"},
          "spec": {"selector": {"matchLabels": {"app": name}},
                   "template": {"metadata": {"labels": {"app": name}}, "spec": spec}}}
    if strategy is not None:
        ds["spec"]["updateStrategy"] = strategy
    if min_ready is not None:
        ds["spec"]["minReadySeconds"] = min_ready
    if history is not None:
        ds["spec"]["revisionHistoryLimit"] = history
    return ds


def node(name, labels=None, taints=None, unschedulable=False):
    obj = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": labels or {}}, "spec": {}}
    if taints:
        obj["spec"]["taints"] = taints
    if unschedulable:
        obj["spec"]["unschedulable"] = True
    return obj


def cluster(c, *names, **node_kw):
    for n in names:
        c.create(node(n, **node_kw))
    c.load("daemonset")
    return c


def target(pod):
    terms = pod["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    return terms[0]["matchFields"][0]["values"][0]


def settle(c, ready=True, rounds=20):
    """Run the controller, playing the scheduler and kubelet, until nothing changes."""
    for _ in range(rounds):
        assert c.run().converged
        changed = False
        for pod in c.list("Pod"):
            name = pod["metadata"]["name"]
            if pod["metadata"].get("deletionTimestamp"):
                c.delete("Pod", name, grace_period=0)
                changed = True
            elif not pod["spec"].get("nodeName"):
                c.patch("Pod", name, {"spec": {"nodeName": target(pod)}})
                if ready:
                    c.set_pod_status(name)
                changed = True
        if not changed:
            return
    raise AssertionError("the cluster did not settle")


def by_node(c, ds_name="agent"):
    ds = c.get("DaemonSet", ds_name)
    return {p["spec"].get("nodeName") or target(p): p for p in c.owned("Pod", ds)}


def events(c, reason):
    return sorted(e["message"] for e in c.list("Event") if e["reason"] == reason)


def test_one_pod_per_node_bound_by_node_affinity_with_the_daemon_tolerations(controller_cluster):
    c = cluster(controller_cluster, "n1", "n2", "n3")
    c.create(daemonset(tolerations=[{"key": "node.kubernetes.io/not-ready", "operator": "Exists",
                                     "effect": "NoExecute", "tolerationSeconds": 60}]))
    assert c.run().converged
    ds = c.get("DaemonSet", "agent")
    pods = c.owned("Pod", ds)
    assert sorted(target(p) for p in pods) == ["n1", "n2", "n3"]
    rev = c.list("ControllerRevision")[0]
    pod = pods[0]
    assert pod["metadata"]["name"].startswith("agent-")
    assert pod["metadata"]["labels"] == {"app": "agent", HASH: rev["metadata"]["labels"][HASH], GENERATION: "1"}
    assert pod["spec"]["affinity"]["nodeAffinity"] == {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": [target(pod)]}]}]}}
    # the user's not-ready toleration is replaced in place by the daemon one (no tolerationSeconds)
    assert [(t["key"], t["effect"], t.get("tolerationSeconds")) for t in pod["spec"]["tolerations"]] == [
        ("node.kubernetes.io/not-ready", "NoExecute", None), ("node.kubernetes.io/unreachable", "NoExecute", None),
        ("node.kubernetes.io/disk-pressure", "NoSchedule", None), ("node.kubernetes.io/memory-pressure", "NoSchedule", None),
        ("node.kubernetes.io/pid-pressure", "NoSchedule", None), ("node.kubernetes.io/unschedulable", "NoSchedule", None)]
    assert events(c, "SuccessfulCreate") == sorted(f"Created pod: {p['metadata']['name']}" for p in pods)


def test_host_network_pods_also_tolerate_network_unavailable(controller_cluster):
    c = cluster(controller_cluster, "n1")
    ds = daemonset()
    ds["spec"]["template"]["spec"]["hostNetwork"] = True
    c.create(ds)
    c.run()
    keys = [t["key"] for t in c.list("Pod")[0]["spec"]["tolerations"]]
    assert keys[-1] == "node.kubernetes.io/network-unavailable"


def test_node_selector_and_node_label_changes_decide_the_nodes(controller_cluster):
    c = cluster(controller_cluster)
    c.create(node("ssd-1", labels={"disk": "ssd"}))
    c.create(node("hdd-1", labels={"disk": "hdd"}))
    c.create(daemonset(node_selector={"disk": "ssd"}))
    settle(c)
    assert sorted(by_node(c)) == ["ssd-1"]
    c.patch("Node", "hdd-1", {"metadata": {"labels": {"disk": "ssd"}}}, "")
    c.patch("Node", "ssd-1", {"metadata": {"labels": {"disk": "hdd"}}}, "")
    settle(c)
    assert sorted(by_node(c)) == ["hdd-1"]
    status = c.get("DaemonSet", "agent")["status"]
    assert (status["desiredNumberScheduled"], status["currentNumberScheduled"], status["numberMisscheduled"]) == (1, 1, 0)


def test_required_node_affinity_is_honoured(controller_cluster):
    c = cluster(controller_cluster)
    c.create(node("a", labels={"zone": "a"}))
    c.create(node("b", labels={"zone": "b"}))
    ds = daemonset()
    ds["spec"]["template"]["spec"]["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": [{"key": "zone", "operator": "In", "values": ["b"]}]}]}}}
    c.create(ds)
    c.run()
    pods = c.list("Pod")
    assert [target(p) for p in pods] == ["b"]
    # the node affinity is replaced by the one term naming the node, as upstream does
    assert len(pods[0]["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]) == 1


def test_taints_keep_new_pods_off_and_noexecute_ones_remove_them(controller_cluster):
    c = cluster(controller_cluster, "n1", "n2", "n3")
    c.create(node("cordoned", taints=[{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}],
                  unschedulable=True))
    c.create(node("gpu", taints=[{"key": "gpu", "value": "true", "effect": "NoSchedule"}]))
    c.create(daemonset())
    settle(c)
    # a cordoned node still runs one: daemon pods tolerate node.kubernetes.io/unschedulable
    assert sorted(by_node(c)) == ["cordoned", "n1", "n2", "n3"]
    # a new NoSchedule taint leaves the running pod alone; NoExecute deletes it
    c.patch("Node", "n1", {"spec": {"taints": [{"key": "maintenance", "effect": "NoSchedule"}]}}, "")
    c.patch("Node", "n2", {"spec": {"taints": [{"key": "maintenance", "effect": "NoExecute"}]}}, "")
    settle(c)
    assert sorted(by_node(c)) == ["cordoned", "n1", "n3"]
    status = c.get("DaemonSet", "agent")["status"]
    # n1 still runs its pod but should not: misscheduled
    assert (status["desiredNumberScheduled"], status["currentNumberScheduled"], status["numberMisscheduled"]) == (2, 2, 1)
    assert len(events(c, "SuccessfulDelete")) == 1


def test_a_new_node_gets_a_pod_and_a_deleted_nodes_unscheduled_pod_goes(controller_cluster):
    c = cluster(controller_cluster, "n1")
    c.create(daemonset())
    settle(c)
    c.create(node("n2"))
    c.run()
    pending = next(p for p in c.list("Pod") if not p["spec"].get("nodeName"))
    assert target(pending) == "n2"
    c.delete("Node", "n2", namespace="")
    c.run()
    assert c.get("Pod", pending["metadata"]["name"]) is None
    assert sorted(by_node(c)) == ["n1"]


def test_surplus_pods_on_a_node_are_deleted_oldest_kept(controller_cluster):
    c = cluster(controller_cluster, "n1")
    c.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "stray", "namespace": "demo",
                                                              "labels": {"app": "agent"}},
              "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "agent:1"}]}})
    c.clock.advance(5)
    c.create(daemonset(strategy={"type": "OnDelete"}))  # (a rolling update would replace the old pod)
    settle(c)
    # the orphan is adopted and, the oldest on n1, kept: no second pod
    ds = c.get("DaemonSet", "agent")
    assert [p["metadata"]["name"] for p in c.owned("Pod", ds)] == ["stray"]
    c.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "extra", "namespace": "demo",
                                                              "labels": {"app": "agent"}},
              "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "agent:1"}]}})
    settle(c)
    assert [p["metadata"]["name"] for p in c.owned("Pod", ds)] == ["stray"]
    assert events(c, "SuccessfulDelete") == ["Deleted pod: extra"]


def test_a_failed_pod_is_deleted_and_replaced(controller_cluster):
    c = cluster(controller_cluster, "n1")
    c.create(daemonset())
    settle(c)
    old = by_node(c)["n1"]["metadata"]["name"]
    c.set_pod_status(old, phase="Failed", ready=False)
    settle(c)
    new = by_node(c)["n1"]["metadata"]["name"]
    assert new != old and c.get("Pod", old) is None
    assert events(c, "FailedDaemonPod") == [f"Found failed daemon pod demo/{old} on node n1, will try to kill it"]


def test_a_succeeded_pod_is_deleted_and_replaced_and_said_so(controller_cluster):
    c = cluster(controller_cluster, "n1")
    c.create(daemonset())
    settle(c)
    old = by_node(c)["n1"]["metadata"]["name"]
    c.set_pod_status(old, phase="Succeeded", ready=False)
    settle(c)
    assert by_node(c)["n1"]["metadata"]["name"] != old and c.get("Pod", old) is None
    [event] = [e for e in c.list("Event") if e["reason"] == "SucceededDaemonPod"]
    assert (event["type"], event["message"]) == (
        "Normal", f"Found succeeded daemon pod demo/{old} on node n1, will try to delete it")


def test_status_counts_as_upstream_with_min_ready_seconds(controller_cluster):
    c = cluster(controller_cluster, "n1", "n2", "n3")
    c.create(daemonset(min_ready=30))
    settle(c, ready=False)
    pods = by_node(c)
    c.set_pod_status(pods["n1"]["metadata"]["name"])
    c.set_pod_status(pods["n2"]["metadata"]["name"], ready_since=c.clock.now() - 60)
    c.run(1)
    ds = c.get("DaemonSet", "agent")
    assert dict(ds["status"]) == {
        "desiredNumberScheduled": 3, "currentNumberScheduled": 3, "numberMisscheduled": 0, "numberReady": 2,
        "numberAvailable": 1, "numberUnavailable": 2, "updatedNumberScheduled": 3, "observedGeneration": 1}
    c.run(60)  # n1's pod has been ready for minReadySeconds
    assert c.get("DaemonSet", "agent")["status"]["numberAvailable"] == 2


def test_a_daemonset_that_no_node_should_run_leaves_out_the_omitempty_counts(controller_cluster):
    c = cluster(controller_cluster, "n1", "n2")
    c.create(daemonset())
    settle(c)
    assert c.get("DaemonSet", "agent")["status"]["numberAvailable"] == 2
    c.apply(daemonset(node_selector={"role": "none"}))
    settle(c)
    assert dict(c.get("DaemonSet", "agent")["status"]) == {
        "desiredNumberScheduled": 0, "currentNumberScheduled": 0, "numberMisscheduled": 0, "numberReady": 0,
        "observedGeneration": 2}


def test_revisions_record_each_template_and_going_back_renumbers_the_old_one(controller_cluster):
    c = cluster(controller_cluster, "n1")
    c.create(daemonset(image="agent:1"))
    settle(c)
    first = c.list("ControllerRevision")[0]
    ds = c.get("DaemonSet", "agent")
    assert first["metadata"]["name"] == "agent-" + first["metadata"]["labels"][HASH]
    assert first["revision"] == 1 and first["metadata"]["ownerReferences"][0]["uid"] == ds["metadata"]["uid"]
    template = dict(ds["spec"]["template"])
    assert first["data"] == {"spec": {"template": {**template, "$patch": "replace"}}}
    c.apply(daemonset(image="agent:2"))
    settle(c)
    assert sorted((r["revision"], r["metadata"]["name"]) for r in c.list("ControllerRevision"))[0] == (1, first["metadata"]["name"])
    c.apply(daemonset(image="agent:1"))
    settle(c)
    revisions = {r["metadata"]["name"]: r["revision"] for r in c.list("ControllerRevision")}
    assert revisions[first["metadata"]["name"]] == 3 and sorted(revisions.values()) == [2, 3]
    pod = by_node(c)["n1"]
    assert pod["metadata"]["labels"][HASH] == first["metadata"]["labels"][HASH]
    assert pod["metadata"]["labels"][GENERATION] == "3"


def test_old_revisions_beyond_the_history_limit_are_pruned(controller_cluster):
    c = cluster(controller_cluster, "n1")
    c.create(daemonset(image="agent:1", history=1))
    settle(c)
    for image in ("agent:2", "agent:3", "agent:4"):
        c.apply(daemonset(image=image, history=1))
        settle(c)
    assert sorted(r["revision"] for r in c.list("ControllerRevision")) == [3, 4]


def test_a_revision_name_taken_by_another_template_bumps_the_collision_count(controller_cluster):
    c = cluster(controller_cluster, "n1")
    c.create(daemonset())
    c.run()
    rev = c.list("ControllerRevision")[0]
    name = rev["metadata"]["name"]
    c.delete("ControllerRevision", name)
    c.create({"apiVersion": "apps/v1", "kind": "ControllerRevision",
              "metadata": {"name": name, "namespace": "demo", "labels": {"other": "x"}},
              "data": {"spec": {"template": {"$patch": "replace"}}}, "revision": 1})
    c.run()
    ds = c.get("DaemonSet", "agent")
    assert ds["status"]["collisionCount"] == 1
    names = sorted(r["metadata"]["name"] for r in c.owned("ControllerRevision", ds))
    assert len(names) == 1 and names[0] != name


def rolled(c, image):
    return sorted(n for n, p in by_node(c).items() if p["spec"]["containers"][0]["image"] == image)


def test_rolling_update_replaces_at_most_max_unavailable_pods_at_a_time(controller_cluster):
    c = cluster(controller_cluster, "n1", "n2", "n3", "n4", "n5")
    # 30% of 5 nodes rounds up to 2
    c.create(daemonset(strategy={"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "30%"}}))
    settle(c)
    c.apply(daemonset(image="agent:2", strategy={"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "30%"}}))
    c.run()
    doomed = [p for p in c.list("Pod") if p["metadata"].get("deletionTimestamp")]
    assert len(doomed) == 2
    status = c.get("DaemonSet", "agent")["status"]
    assert status["observedGeneration"] == 2 and "updatedNumberScheduled" not in status
    settle(c)
    assert rolled(c, "agent:2") == ["n1", "n2", "n3", "n4", "n5"]
    status = c.get("DaemonSet", "agent")["status"]
    assert (status["updatedNumberScheduled"], status["numberAvailable"]) == (5, 5)


def test_an_unavailable_new_pod_holds_the_rollout(controller_cluster):
    c = cluster(controller_cluster, "n1", "n2", "n3")
    c.create(daemonset())
    settle(c)
    c.apply(daemonset(image="agent:2"))
    settle(c, ready=False)
    # one old pod went; its replacement never became ready: nothing more is replaced
    assert rolled(c, "agent:2") == ["n1"] and rolled(c, "agent:1") == ["n2", "n3"]


def test_max_surge_starts_the_new_pod_before_the_old_one_goes(controller_cluster):
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    c = cluster(controller_cluster, "n1", "n2")
    c.create(daemonset(strategy=strategy))
    settle(c)
    c.apply(daemonset(image="agent:2", strategy=strategy))
    c.run()
    pods = c.list("Pod")
    assert len(pods) == 3 and not any(p["metadata"].get("deletionTimestamp") for p in pods)
    settle(c)
    assert rolled(c, "agent:2") == ["n1", "n2"] and len(c.list("Pod")) == 2


def test_on_delete_replaces_only_the_pods_someone_deleted(controller_cluster):
    c = cluster(controller_cluster, "n1", "n2")
    c.create(daemonset(strategy={"type": "OnDelete"}))
    settle(c)
    c.apply(daemonset(image="agent:2", strategy={"type": "OnDelete"}))
    settle(c)
    assert rolled(c, "agent:1") == ["n1", "n2"]
    assert "updatedNumberScheduled" not in c.get("DaemonSet", "agent")["status"]
    c.delete("Pod", by_node(c)["n1"]["metadata"]["name"], grace_period=0)
    settle(c)
    assert rolled(c, "agent:2") == ["n1"] and rolled(c, "agent:1") == ["n2"]


def test_a_cluster_without_daemonsets_never_evaluates_the_rules(controller_cluster):
    c = cluster(controller_cluster, "n1", "n2")
    c.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "demo"},
              "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "x"}]}})
    heartbeat(c, "n1")
    c.run()
    assert c.engine.evaluations == {}


def heartbeat(c, node):
    """The kubelet's status write of a heartbeat: Ready, its time now."""
    c.patch("Node", node, {"status": {"conditions": [{"type": "Ready", "status": "True",
                                                      "lastHeartbeatTime": format_time(c.clock.now())}]}},
            "", subresource="status")


def test_node_heartbeats_do_not_wake_the_daemonset(controller_cluster):
    c = cluster(controller_cluster, "n1", "n2")
    c.create(daemonset())
    settle(c)
    c.engine.evaluations.clear()
    for name in ("n1", "n2"):
        heartbeat(c, name)
    c.run()
    assert c.engine.evaluations == {}


def test_history_spares_a_revision_a_pod_still_runs(controller_cluster):
    c = cluster(controller_cluster, "n1", "n2")
    strategy = {"type": "OnDelete"}
    c.create(daemonset(image="agent:1", history=0, strategy=strategy))
    settle(c)
    first = c.list("ControllerRevision")[0]["metadata"]["name"]
    c.apply(daemonset(image="agent:2", history=0, strategy=strategy))
    settle(c)
    c.delete("Pod", by_node(c)["n1"]["metadata"]["name"], grace_period=0)  # n1 comes back at agent:2
    settle(c)
    c.apply(daemonset(image="agent:3", history=0, strategy=strategy))
    settle(c)
    # n2 still runs agent:1 and n1 agent:2: a limit of 0 deletes neither (cleanupHistory)
    assert rolled(c, "agent:1") == ["n2"] and rolled(c, "agent:2") == ["n1"]
    assert len(c.list("ControllerRevision")) == 3 and c.get("ControllerRevision", first) is not None


def test_a_pod_relabelled_out_of_the_selector_is_released_and_replaced(controller_cluster):
    c = cluster(controller_cluster, "n1")
    c.create(daemonset())
    settle(c)
    old = by_node(c)["n1"]["metadata"]["name"]
    c.patch("Pod", old, {"metadata": {"labels": {"app": "debug"}}})
    settle(c)
    assert not c.get("Pod", old)["metadata"].get("ownerReferences")
    assert by_node(c)["n1"]["metadata"]["name"] != old


def test_a_daemonset_created_again_over_its_orphans_adopts_pods_and_history(controller_cluster):
    c = controller_cluster
    c.create(node("n1"))
    c.load("daemonset", "garbage-collector")
    c.create(daemonset(image="agent:1"))
    settle(c)
    c.apply(daemonset(image="agent:2"))
    settle(c)
    pod = by_node(c)["n1"]["metadata"]["name"]
    c.delete("DaemonSet", "agent", propagation="Orphan")
    c.run()
    c.create(daemonset(image="agent:2"))
    settle(c)
    ds = c.get("DaemonSet", "agent")
    assert [p["metadata"]["name"] for p in c.owned("Pod", ds)] == [pod]
    assert sorted(r["revision"] for r in c.owned("ControllerRevision", ds)) == [1, 2]
    assert ds["status"].get("collisionCount", 0) == 0


def test_an_unavailable_old_pod_goes_at_once_and_counts_against_max_unavailable(controller_cluster):
    c = cluster(controller_cluster, "n1", "n2", "n3")
    c.create(daemonset())
    settle(c)
    pods = by_node(c)
    c.set_pod_status(pods["n3"]["metadata"]["name"], ready=False)
    c.apply(daemonset(image="agent:2"))
    c.run()
    # n3's broken old pod goes at once and takes maxUnavailable 1: the healthy old pods wait (rollingUpdate)
    doomed = sorted(n for n, p in by_node(c).items() if p["metadata"].get("deletionTimestamp"))
    assert doomed == ["n3"]
    settle(c)
    assert rolled(c, "agent:2") == ["n1", "n2", "n3"]


def test_max_surge_deletes_an_old_pod_that_is_not_ready_once_its_replacement_exists(controller_cluster):
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    c = cluster(controller_cluster, "n1")
    c.create(daemonset(strategy=strategy))
    settle(c)
    old = by_node(c)["n1"]["metadata"]["name"]
    c.apply(daemonset(image="agent:2", strategy=strategy))
    c.run()
    assert len(c.list("Pod")) == 2  # the new pod next to the old one, not ready yet
    c.set_pod_status(old, ready=False)
    c.run()
    assert c.get("Pod", old)["metadata"].get("deletionTimestamp")


def test_a_daemonset_on_more_than_a_hundred_nodes_names_every_pod(controller_cluster):
    # one `create` in a loop makes every pod of a round from the same material but its attempt
    # number: past 100 pods the names must still be found (engine/writes.py)
    c = cluster(controller_cluster, *[f"n{i}" for i in range(120)])
    c.create(daemonset())
    assert c.run().converged
    assert len({p["metadata"]["name"] for p in c.list("Pod")}) == 120


def test_a_quota_that_fits_one_pod_gets_one_pod_made_and_said_so_and_the_rest_refused(controller_cluster):
    c = cluster(controller_cluster, "n1", "n2", "n3")
    c.load("daemonset", "resourcequota")
    c.create({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "q", "namespace": "demo"},
              "spec": {"hard": {"pods": "1"}}})
    c.run(5)
    c.create(daemonset())
    result = c.run(60)
    [made] = c.list("Pod")
    assert events(c, "SuccessfulCreate") == ["Created pod: " + made["metadata"]["name"]]
    assert [e for e in c.list("Event") if e["reason"] == "FailedCreate"]
    [failure] = [f for f in result.failures if f.rule.startswith("daemonset-controller/")]
    assert "exceeded quota: q" in failure.message
