"""VolumeBinding (rules/scheduler/volume_binding.rules): a pod goes only where the claims its volumes
name can be used, with upstream's messages; and, end to end with the PersistentVolume controller, a
pod waiting for its claims is scheduled once they are there."""

from __future__ import annotations

from pathlib import Path

import pytest

from sched_helpers import ADMIN, SchedCluster, node, pod, sched  # noqa: F401 (fixture)

RULES = Path(__file__).resolve().parents[2] / "rules"

CONFLICT = "node(s) had volume node affinity conflict"
NO_VOLUME = "node(s) didn't find available persistent volumes to bind"
NO_PV = "node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)"
IMMEDIATE = "pod has unbound immediate PersistentVolumeClaims"
STORAGE_RULES = ("persistentvolume", "volume-provisioner", "pvc-protection", "pv-protection")


def user(name="p", *claims, **spec):
    """A pod whose volumes name `claims` (default: "data")."""
    volumes = [{"name": f"v{i}", "persistentVolumeClaim": {"claimName": c}} for i, c in enumerate(claims or ("data",))]
    return pod(name, volumes=volumes, **spec)


def claim(name="data", size="1Gi", modes=("ReadWriteOnce",), annotations=None, **spec):
    meta = {"name": name, "namespace": "demo", **({"annotations": annotations} if annotations else {})}
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta,
            "spec": {"accessModes": list(modes), "resources": {"requests": {"storage": size}}, **spec}}


def on(*nodes):
    """A volume nodeAffinity to the named nodes (by the kubernetes.io/hostname label)."""
    return {"required": {"nodeSelectorTerms": [{"matchExpressions": [
        {"key": "kubernetes.io/hostname", "operator": "In", "values": list(nodes)}]}]}}


def volume(name, size="1Gi", klass="local", modes=("ReadWriteOnce",), labels=None, **spec):
    meta = {"name": name, **({"labels": labels} if labels else {})}
    body = {"capacity": {"storage": size}, "accessModes": list(modes), "storageClassName": klass,
            "local": {"path": f"/mnt/{name}"}, "nodeAffinity": on("n1"), **spec}
    return {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": meta,
            "spec": {k: v for k, v in body.items() if v is not None}}


def storage_class(name, provisioner="kubernetes.io/no-provisioner", mode="WaitForFirstConsumer", **fields):
    return {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": name},
            "provisioner": provisioner, "volumeBindingMode": mode, **fields}


def free(c, *volumes):
    """Create volumes Available, as the PersistentVolume controller makes them (no controller runs here)."""
    for obj in volumes:
        c.add(obj)
        c.api.patch(ADMIN, "", "PersistentVolume", "", obj["metadata"]["name"], {"status": {"phase": "Available"}},
                    subresource="status")


def bind(c, claim_name, volume_name):
    """Bind a claim to a volume as the PersistentVolume controller would (no controller runs here)."""
    c.update({**c.get("PersistentVolumeClaim", claim_name),
              "metadata": {**c.get("PersistentVolumeClaim", claim_name)["metadata"],
                           "annotations": {"pv.kubernetes.io/bind-completed": "yes"}},
              "spec": {**c.get("PersistentVolumeClaim", claim_name)["spec"], "volumeName": volume_name}})


def storage_cluster(tmp_path, *more):
    """The shipped scheduler rules with the PersistentVolume controller, the provisioner and the protections."""
    names = (*STORAGE_RULES, *more)
    return SchedCluster(tmp_path, extra={n: (RULES / f"{n}.rules").read_text() for n in names})


@pytest.fixture
def two(sched):
    sched.add(node("n1", labels={"zone": "a"}), node("n2", labels={"zone": "b"}))
    return sched


def rejected(c, obj):
    """{node: reasons} of the nodes VolumeBinding rules out for `obj`."""
    return {n: reasons for n, (plugin, reasons) in c.attempt(obj).rejected.items() if plugin == "VolumeBinding"}


# ------------------------------------------------------------------ PreFilter

def test_a_pod_without_claims_is_not_looked_at(two):
    assert rejected(two, pod("p", volumes=[{"name": "scratch", "emptyDir": {}}])) == {}


def test_a_missing_claim_rules_out_every_node(two):
    assert rejected(two, user("p", "data")) == {n: ('persistentvolumeclaim "data" not found',) for n in ("n1", "n2")}


def test_a_claim_being_deleted_rules_out_every_node(two):
    two.add(claim())
    two.delete("PersistentVolumeClaim", "data")  # (kubernetes.io/pvc-protection keeps it, Terminating)
    assert rejected(two, user())["n1"] == ('persistentvolumeclaim "data" is being deleted',)


def test_a_lost_claim_names_its_missing_volume(two):
    two.add(claim())
    bind(two, "data", "gone")
    two.api.patch(ADMIN, "", "PersistentVolumeClaim", "demo", "data",
                  {"status": {"phase": "Lost"}}, subresource="status")
    assert rejected(two, user())["n2"] == (
        'persistentvolumeclaim "data" bound to non-existent persistentvolume "gone"',)


def test_the_first_broken_claim_in_volume_order_is_the_reason(two):
    two.add(claim("b"))
    two.delete("PersistentVolumeClaim", "b")
    assert rejected(two, user("p", "b", "a"))["n1"] == ('persistentvolumeclaim "b" is being deleted',)
    assert rejected(two, user("p", "a", "b"))["n1"] == ('persistentvolumeclaim "a" not found',)


@pytest.mark.parametrize("spec", [
    {},  # the default class `standard` binds Immediately
    {"storageClassName": "local", "volumeName": "named"},  # a claim naming its volume is not left to the scheduler
    {"storageClassName": "no-such-class"},  # a class that does not exist counts as Immediate
    {"storageClassName": ""},
])
def test_an_unbound_claim_the_scheduler_may_not_bind_makes_the_pod_wait(two, spec):
    two.add(storage_class("local"), claim(**spec))
    assert rejected(two, user()) == {n: (IMMEDIATE,) for n in ("n1", "n2")}


# ---------------------------------------------------------------- bound claims

def test_a_bound_claim_goes_where_its_volume_is(two):
    two.add(storage_class("local"), volume("disk", nodeAffinity=on("n2")), claim(storageClassName="local"))
    bind(two, "data", "disk")
    assert rejected(two, user()) == {"n1": (CONFLICT,)}


def test_a_bound_volume_without_node_affinity_fits_every_node(two):
    two.add(volume("disk", nodeAffinity=None, local=None, hostPath={"path": "/data"}), claim(storageClassName="local"))
    bind(two, "data", "disk")
    assert rejected(two, user()) == {}


def test_a_claim_bound_to_a_missing_volume_fits_no_node(two):
    two.add(claim(storageClassName="local"))
    bind(two, "data", "gone")
    assert rejected(two, user()) == {n: (NO_PV,) for n in ("n1", "n2")}


# ------------------------------------------------------- WaitForFirstConsumer

def test_a_late_bound_claim_fits_the_nodes_of_a_free_volume_that_fits_it(two):
    two.add(storage_class("local"), claim(storageClassName="local", size="2Gi"))
    free(two, volume("small", "1Gi", nodeAffinity=on("n1")), volume("big", "5Gi", nodeAffinity=on("n2")))
    assert rejected(two, user()) == {"n1": (NO_VOLUME,)}


def test_a_pods_late_claims_need_distinct_volumes_on_the_node_smallest_claim_first(two):
    two.add(storage_class("local"), claim("a", storageClassName="local"), claim("b", storageClassName="local"),
            claim("big", size="3Gi", storageClassName="local"))
    free(two, volume("n1-small", nodeAffinity=on("n1")), volume("n1-big", "5Gi", nodeAffinity=on("n1")),
         volume("n2-big", "5Gi", nodeAffinity=on("n2")))
    assert rejected(two, user("p", "a", "b")) == {"n2": (NO_VOLUME,)}  # (n2: one volume for two claims)
    # smallest claim first: a and b take n1's two volumes, none is left for big, though it fits n1-big
    assert rejected(two, user("p", "big", "a", "b")) == {n: (NO_VOLUME,) for n in ("n1", "n2")}
    assert rejected(two, user("p", "big", "a")) == {"n2": (NO_VOLUME,)}  # (a: n1-small, big: n1-big)


@pytest.mark.parametrize("other", [
    {"klass": "other"},
    {"modes": ("ReadOnlyMany",)},
    {"volumeMode": "Block"},
    {"labels": {"disk": "hdd"}},
    {"claimRef": {"namespace": "demo", "name": "someone-else"}},
])
def test_a_volume_of_another_class_mode_access_label_or_claim_is_not_a_match(two, other):
    two.add(storage_class("local"), storage_class("other"),
            claim(storageClassName="local", selector={"matchLabels": {"disk": "ssd"}}))
    free(two, volume("disk", **{"labels": {"disk": "ssd"}, **other}))
    assert rejected(two, user()) == {n: (NO_VOLUME,) for n in ("n1", "n2")}


def test_a_volume_that_is_not_available_or_being_deleted_is_not_a_match(two):
    two.add(storage_class("local"), claim(storageClassName="local"), volume("disk"))
    assert rejected(two, user()) == {n: (NO_VOLUME,) for n in ("n1", "n2")}  # (Pending: new, not yet seen)
    two.api.patch(ADMIN, "", "PersistentVolume", "", "disk", {"status": {"phase": "Available"}}, subresource="status")
    assert rejected(two, user()) == {"n2": (NO_VOLUME,)}
    two.delete("PersistentVolume", "disk", namespace="")
    assert rejected(two, user()) == {n: (NO_VOLUME,) for n in ("n1", "n2")}


def test_a_volume_reserved_for_the_claim_decides_where_it_goes(two):
    two.add(storage_class("local"), claim(storageClassName="local"))
    free(two, volume("mine", nodeAffinity=on("n2"), claimRef={"namespace": "demo", "name": "data"}),
         volume("free", nodeAffinity=on("n1")))
    assert rejected(two, user()) == {"n1": (NO_VOLUME,)}


def test_a_class_that_provisions_fits_every_node_its_topologies_admit(two):
    two.add(storage_class("late", "example.com/disk"), claim(storageClassName="late"))
    assert rejected(two, user()) == {}
    two.add(storage_class("zoned", "example.com/disk", allowedTopologies=[
        {"matchLabelExpressions": [{"key": "zone", "values": ["b", "c"]}]}]), claim("z", storageClassName="zoned"))
    assert rejected(two, user("p", "z")) == {"n1": (NO_VOLUME,)}


def test_a_claim_with_a_selected_node_fits_that_node_only(two):
    two.add(storage_class("late", "example.com/disk"),
            claim(storageClassName="late", annotations={"volume.kubernetes.io/selected-node": "n2"}))
    assert rejected(two, user()) == {"n1": (NO_VOLUME,)}


def test_a_bound_and_a_late_claim_give_both_reasons(two):
    two.add(storage_class("local"), volume("disk", nodeAffinity=on("n2")), claim("bound", storageClassName="local"),
            claim("late", storageClassName="local", size="9Gi"))
    bind(two, "bound", "disk")
    assert rejected(two, user("p", "bound", "late")) == {"n1": (CONFLICT, NO_VOLUME), "n2": (NO_VOLUME,)}


# ------------------------------------------------------------------- the cycle

def test_a_pod_whose_claim_is_missing_says_so_and_is_scheduled_once_it_is_made(tmp_path):
    c = storage_cluster(tmp_path)
    c.add(node("n1"), node("n2"), user())
    c.run()
    # PreFilter's rejection, said once (no per-node count), then preemption's FitError
    message = ('0/2 nodes are available: persistentvolumeclaim "data" not found. '
               "preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling..")
    assert c.node_of("p") is None and c.condition("p")["message"] == message
    assert [e["message"] for e in c.events("p") if e["reason"] == "FailedScheduling"] == [message]
    c.add(claim())  # (the default class provisions it at once)
    c.run()
    assert c.get("PersistentVolumeClaim", "data")["status"]["phase"] == "Bound"
    assert c.node_of("p") in ("n1", "n2")


def test_a_pod_waits_for_its_immediate_claim_to_be_bound(tmp_path):
    c = storage_cluster(tmp_path)
    c.add(node("n1"), node("n2"), storage_class("manual", mode="Immediate"), claim(storageClassName="manual"), user())
    c.run()
    message = (f"0/2 nodes are available: {IMMEDIATE}. "
               "preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling..")
    assert c.node_of("p") is None and c.condition("p")["message"] == message
    assert [e["message"] for e in c.events("p") if e["reason"] == "FailedScheduling"] == [message]
    c.add(volume("disk", klass="manual", nodeAffinity=on("n2")))
    c.run()
    assert c.get("PersistentVolumeClaim", "data")["spec"]["volumeName"] == "disk"
    assert c.node_of("p") == "n2"


def test_a_late_bound_claim_takes_the_local_volume_of_the_node_its_pod_went_to(tmp_path):
    c = storage_cluster(tmp_path)
    c.add(node("n1"), node("n2"), node("n3"), storage_class("local"), claim(storageClassName="local"),
          volume("on-n3", nodeAffinity=on("n3")))
    c.run()
    c.add(user())
    c.run()
    assert c.node_of("p") == "n3"
    assert c.get("PersistentVolumeClaim", "data")["spec"]["volumeName"] == "on-n3"


def test_a_late_bound_claim_without_a_volume_leaves_its_pod_pending_until_one_comes(tmp_path):
    c = storage_cluster(tmp_path)
    c.add(node("n1"), node("n2"), storage_class("local"), claim(storageClassName="local"), user())
    c.run()
    assert c.node_of("p") is None
    assert c.condition("p")["message"].startswith(f"0/2 nodes are available: 2 {NO_VOLUME}.")
    c.add(volume("on-n2", nodeAffinity=on("n2")))
    c.run()
    assert c.node_of("p") == "n2"
    assert c.get("PersistentVolumeClaim", "data")["spec"]["volumeName"] == "on-n2"


def test_a_late_bound_claim_is_provisioned_on_the_node_its_pod_went_to(tmp_path):
    c = storage_cluster(tmp_path)
    c.add(node("n1"), node("n2", labels={"zone": "b"}),
          storage_class("late", "example.com/disk", allowedTopologies=[
              {"matchLabelExpressions": [{"key": "zone", "values": ["b"]}]}]),
          claim(storageClassName="late"), user())
    c.run()
    assert c.node_of("p") == "n2"
    pvc = c.get("PersistentVolumeClaim", "data")
    assert pvc["metadata"]["annotations"]["volume.kubernetes.io/selected-node"] == "n2"
    assert pvc["status"]["phase"] == "Bound"


def test_statefulset_pods_are_scheduled_once_their_provisioned_claims_are_bound(tmp_path):
    c = storage_cluster(tmp_path, "statefulset")
    template = {"metadata": {"labels": {"app": "db"}}, "spec": {"containers": [{"name": "c", "image": "db"}]}}
    c.add(node("n1"), {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db", "namespace": "demo"},
                       "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "db"}}, "template": template,
                                "podManagementPolicy": "Parallel",
                                "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
                                    "accessModes": ["ReadWriteOnce"],
                                    "resources": {"requests": {"storage": "1Gi"}}}}]}})
    c.run()
    assert [c.node_of(f"db-{i}") for i in range(2)] == ["n1", "n1"]
    assert all(c.get("PersistentVolumeClaim", f"data-db-{i}")["status"]["phase"] == "Bound" for i in range(2))


# ------------------------------------------------------------ Reserve / PreBind

def recorded(c) -> list:
    """The commits from now on (a store listener)."""
    records = []
    c.store.listeners.append(lambda _snap, _events, record: records.append(record))
    return records


def with_binding(records, key) -> list[tuple]:
    """(actor, keys written) of the commits that wrote `key` together with a pod's binding."""
    return [(r.actor, sorted(op.key for op in r.ops)) for r in records
            if any(op.key == key for op in r.ops) and any(op.key[1] == "Pod" for op in r.ops)]


def test_two_pods_placed_in_one_cycle_do_not_count_on_the_same_free_volume(tmp_path):
    c = storage_cluster(tmp_path)
    c.add(node("n1"), storage_class("local"), volume("only"),
          claim("a", storageClassName="local"), claim("b", storageClassName="local"))
    c.run()
    c.add(user("p1", "a"), user("p2", "b"))  # (one cycle: p1 first, by creation)
    c.run()
    assert (c.node_of("p1"), c.node_of("p2")) == ("n1", None)
    assert c.get("PersistentVolumeClaim", "a")["spec"]["volumeName"] == "only"
    assert c.get("PersistentVolumeClaim", "b")["status"]["phase"] == "Pending"
    assert c.condition("p2")["message"].startswith(f"0/1 nodes are available: 1 {NO_VOLUME}.")
    c.add(volume("more"))
    c.run()
    assert c.node_of("p2") == "n1"
    assert c.get("PersistentVolumeClaim", "b")["spec"]["volumeName"] == "more"


def test_the_scheduler_reserves_the_smallest_volume_that_fits_on_the_node_for_the_controller_to_bind(tmp_path):
    c = storage_cluster(tmp_path)
    c.add(node("n1"), node("n2", unschedulable=True), storage_class("local"), claim(storageClassName="local"),
          volume("big", size="5Gi"), volume("small", size="2Gi"), volume("tiny", size="500Mi"),
          volume("elsewhere", size="1Gi", nodeAffinity=on("n2")))
    c.run()
    records = recorded(c)
    c.add(user())
    c.run()
    assert c.node_of("p") == "n1"
    pv = c.get("PersistentVolume", "small")
    claim_obj = c.get("PersistentVolumeClaim", "data")
    assert pv["spec"]["claimRef"] == {"kind": "PersistentVolumeClaim", "namespace": "demo", "name": "data",
                                      "uid": claim_obj["metadata"]["uid"], "apiVersion": "v1"}
    assert pv["metadata"]["annotations"]["pv.kubernetes.io/bound-by-controller"] == "yes"
    assert with_binding(records, ("", "PersistentVolume", "", "small")) == [  # (in the Binding's transaction)
        ("default-scheduler", [("", "Event", "demo", e["metadata"]["name"]) for e in c.events("p")
                               if e["reason"] == "Scheduled"] + [("", "PersistentVolume", "", "small"),
                                                                ("", "Pod", "demo", "p")])]
    assert claim_obj["spec"]["volumeName"] == "small" and claim_obj["status"]["phase"] == "Bound"
    assert all(c.get("PersistentVolume", v)["status"]["phase"] == "Available" for v in ("big", "tiny", "elsewhere"))


def test_a_pods_claims_take_different_volumes_smallest_claim_first(tmp_path):
    c = storage_cluster(tmp_path)
    c.add(node("n1"), storage_class("local"), claim("big", size="2Gi", storageClassName="local"),
          claim("a", storageClassName="local"), claim("b", storageClassName="local"),
          volume("v1"), volume("v2"), volume("v3", size="2Gi"))
    c.run()
    c.add(user("p", "big", "a", "b"))
    c.run()
    assert c.node_of("p") == "n1"
    assert {n: c.get("PersistentVolumeClaim", n)["spec"]["volumeName"] for n in ("a", "b", "big")} == \
        {"a": "v1", "b": "v2", "big": "v3"}


def test_a_claim_to_provision_gets_its_node_from_the_scheduler(tmp_path):
    c = storage_cluster(tmp_path)
    c.add(node("n1"), storage_class("late", "example.com/disk"), claim(storageClassName="late"))
    c.run()
    records = recorded(c)
    c.add(user())
    c.run()
    assert c.node_of("p") == "n1"
    assert c.get("PersistentVolumeClaim", "data")["metadata"]["annotations"][
        "volume.kubernetes.io/selected-node"] == "n1"
    assert [actor for actor, _keys in with_binding(records, ("", "PersistentVolumeClaim", "demo", "data"))] == \
        ["default-scheduler"]
    assert c.get("PersistentVolumeClaim", "data")["status"]["phase"] == "Bound"
