"""The reconcile engine: convergence, incrementality, time, fights, guards, failures."""

from __future__ import annotations

from engine.clock import EPOCH

REPLICAS = """
component rs-controller
  reads Pod, ReplicaSet
  writes Pod, ReplicaSet.status

rule replicas for rs in ReplicaSet:
  let pods = Pod in rs.namespace where controlled_by(it, rs) and not deleting(it)
  let diff = rs.spec.replicas - count(pods)
  when diff > 0: create diff Pod from rs.spec.template with name_prefix: rs.name + "-", owner: rs
  when diff < 0: delete take(sort_desc(pods, it.metadata.name), -diff)
  set rs.status.replicas = count(pods)
"""


def replicaset(name: str, replicas: int, app: str | None = None) -> dict:
    app = app or name
    return {
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": name, "namespace": "demo"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": app}},
            "template": {
                "metadata": {"labels": {"app": app}},
                "spec": {"containers": [{"name": "c", "image": "nginx"}]},
            },
        },
    }


def owned_pods(cluster, rs_name: str) -> list:
    rs = cluster.get("ReplicaSet", rs_name)
    uid = rs["metadata"]["uid"]
    return [p for p in cluster.list("Pod")
            if any(r["uid"] == uid for r in p["metadata"].get("ownerReferences", ()))]


def test_replicaset_rule_creates_missing_pods_and_reports_status(cluster):
    cluster.rules(rs=REPLICAS)
    cluster.apply(replicaset("web", 3))
    result = cluster.run()
    assert result.converged, result.message
    pods = owned_pods(cluster, "web")
    assert len(pods) == 3
    assert all(p["metadata"]["name"].startswith("web-") and len(p["metadata"]["name"]) == 9 for p in pods)
    assert all(p["metadata"]["labels"]["app"] == "web" for p in pods)
    assert cluster.get("ReplicaSet", "web")["status"]["replicas"] == 3


def test_scaling_down_deletes_the_surplus_pods(cluster):
    cluster.rules(rs=REPLICAS)
    cluster.apply(replicaset("web", 4))
    cluster.run()
    cluster.apply(replicaset("web", 1))
    result = cluster.run()
    assert result.converged, result.message
    assert len(owned_pods(cluster, "web")) == 1
    assert cluster.get("ReplicaSet", "web")["status"]["replicas"] == 1


def test_history_records_the_rule_as_actor_and_the_change_as_cause(cluster):
    records = []
    cluster.store.listeners.append(lambda snap, events, record: records.append(record))
    cluster.rules(rs=REPLICAS)
    cluster.apply(replicaset("web", 1))
    trigger = cluster.store.revision
    cluster.run()
    creation = next(r for r in records if any(op.key[1] == "Pod" for op in r.ops))
    assert creation.actor == "rs-controller"
    assert creation.cause[0] == {"rule": "rs-controller/replicas", "anchor": ["apps", "ReplicaSet", "demo", "web"]}
    assert {"type": "change", "rev": trigger, "key": ["apps", "ReplicaSet", "demo", "web"]} in creation.cause[1:]


def test_a_change_to_one_pod_reevaluates_only_the_instances_that_read_it(cluster):
    engine = cluster.rules(rs=REPLICAS)
    for i in range(30):
        cluster.apply(replicaset(f"rs{i}", 2))
    assert cluster.run().converged
    before = engine.evaluations["rs-controller/replicas"]
    victim = owned_pods(cluster, "rs7")[0]
    cluster.api.delete(cluster.admin, "", "Pod", "demo", victim["metadata"]["name"])
    result = cluster.run()
    assert result.converged
    # rs7 notices the loss and recreates (1), then sees its own new pod and status (≤ 2 more);
    # none of the 29 other ReplicaSets is evaluated.
    assert engine.evaluations["rs-controller/replicas"] - before <= 3
    assert len(owned_pods(cluster, "rs7")) == 2


def test_full_recompute_mode_evaluates_every_instance_each_round(cluster):
    engine = cluster.rules(rs=REPLICAS)
    for i in range(10):
        cluster.apply(replicaset(f"rs{i}", 1))
    cluster.run()
    engine.full_recompute = True
    before = engine.total_evaluations
    victim = owned_pods(cluster, "rs3")[0]
    cluster.api.delete(cluster.admin, "", "Pod", "demo", victim["metadata"]["name"])
    cluster.run()
    assert engine.total_evaluations - before >= 10


EXPIRY = """
component expiry
  reads ConfigMap
  writes ConfigMap

rule expire for cm in ConfigMap:
  when time(cm.metadata.creationTimestamp) + 40s < now:
    set cm.metadata.labels.expired = "true"
"""


def test_a_condition_that_becomes_true_later_wakes_the_rule_at_that_moment(cluster):
    engine = cluster.rules(expiry=EXPIRY)
    cluster.api.create(cluster.admin, {"apiVersion": "v1", "kind": "ConfigMap",
                                         "metadata": {"name": "c", "namespace": "demo"}})
    evaluations = engine.total_evaluations
    result = cluster.run(600)
    assert result.converged
    cm = cluster.get("ConfigMap", "c")
    assert cm["metadata"]["labels"]["expired"] == "true"
    assert EPOCH + 40 < cluster.clock.now() <= EPOCH + 41
    # no polling: created, woken once at the deadline, then once more after its own write
    assert engine.total_evaluations - evaluations <= 3


def test_a_deadline_beyond_until_is_left_for_later(cluster):
    cluster.rules(expiry=EXPIRY)
    cluster.api.create(cluster.admin, {"apiVersion": "v1", "kind": "ConfigMap",
                                         "metadata": {"name": "c", "namespace": "demo"}})
    assert cluster.run(10).converged
    assert "expired" not in (cluster.get("ConfigMap", "c")["metadata"].get("labels") or {})
    assert cluster.engine.next_deadline() is not None


FIGHT_A = """
component painter-a
  reads ConfigMap
  writes ConfigMap

rule paint for cm in ConfigMap:
  set cm.metadata.labels.color = "red"
"""

FIGHT_B = """
component painter-b
  reads ConfigMap
  writes ConfigMap

rule paint for cm in ConfigMap:
  set cm.metadata.labels.color = "blue"
"""


def test_two_rules_that_undo_each_other_are_reported_as_a_fight(cluster):
    cluster.rules(a=FIGHT_A, b=FIGHT_B)
    cluster.api.create(cluster.admin, {"apiVersion": "v1", "kind": "ConfigMap",
                                         "metadata": {"name": "c", "namespace": "demo"}})
    result = cluster.run()
    assert not result.converged
    assert "painter-a/paint" in result.message and "painter-b/paint" in result.message
    assert "ConfigMap demo/c" in result.message and "metadata.labels.color" in result.message
    # state and history stay intact: the object is still there with one of the colours
    assert cluster.get("ConfigMap", "c")["metadata"]["labels"]["color"] in ("red", "blue")


def test_the_rules_of_a_fight_are_held_back_with_a_growing_delay_not_run_again_at_once(cluster):
    cluster.rules(a=FIGHT_A, b=FIGHT_B)
    cluster.api.create(cluster.admin, {"apiVersion": "v1", "kind": "ConfigMap",
                                         "metadata": {"name": "c", "namespace": "demo"}})
    assert not cluster.run().converged
    stopped = cluster.store.revision
    # the next run (a live loop's tick, no time passing) writes nothing: the fighters wait
    now = cluster.engine.run(until=cluster.clock.now())
    assert now.converged and cluster.store.revision == stopped
    [held] = now.failures
    assert held.rule in ("painter-a/paint", "painter-b/paint") and "held back 1 s: rules fight" in held.message
    # once the delay is over, the fight goes on for a few rounds and is stopped again, for longer
    again = cluster.run()
    assert not again.converged and cluster.store.revision - stopped < 10
    assert any("held back 2 s" in f.message for f in cluster.engine.run(until=cluster.clock.now()).failures)


def test_a_held_back_rule_that_settles_is_free_again(cluster):
    cluster.rules(a=FIGHT_A, b=FIGHT_B)
    cluster.api.create(cluster.admin, {"apiVersion": "v1", "kind": "ConfigMap",
                                         "metadata": {"name": "c", "namespace": "demo"}})
    assert not cluster.run().converged
    (cluster.tmp_path / "rules" / "b.rules").unlink()  # the user removes one of the two painters
    from engine.rules import load_rules
    cluster.engine.set_rules(load_rules(cluster.tmp_path / "rules"))
    result = cluster.run()
    assert result.converged and result.failures == ()
    assert cluster.get("ConfigMap", "c")["metadata"]["labels"]["color"] == "red"


def test_a_fight_over_list_elements_and_fields_of_one_object_is_described():
    # A path's steps are names and list indexes: they do not compare, the description still sorts.
    from engine.reconcile import describe_fight
    key = ("", "ConfigMap", "demo", "c")
    rounds = [[("a/paint", key, ("spec", 0), "x"), ("b/paint", key, ("spec", "name"), "y")]]
    assert describe_fight(rounds) == ("rules fight: a/paint, b/paint keep undoing each other: "
                                      "ConfigMap demo/c spec.0 (by a/paint); ConfigMap demo/c spec.name (by b/paint)")


COPIER = """
component copier
  reads ConfigMap
  writes ConfigMap

rule copy for cm in ConfigMap where cm.metadata.name == "copy":
  set cm.data.v = ConfigMap[cm.namespace, "source"].data.v
"""


def test_a_state_brought_back_by_others_writes_between_rounds_is_no_fight(cluster):
    # The rule copies a ConfigMap's value; after each of its rounds a user sets the value: 2, 1,
    # 2 (as the API server's writers get in between rounds).  The state after the third round and
    # the user's write is the one after the first: by the user's doing, not a cycle of the rules'.
    engine = cluster.rules(copier=COPIER)
    for name in ("source", "copy"):
        cluster.api.create(cluster.admin, {"apiVersion": "v1", "kind": "ConfigMap",
                                             "metadata": {"name": name, "namespace": "demo"}, "data": {"v": "0"}})
    cluster.api.patch(cluster.admin, "", "ConfigMap", "demo", "source", {"data": {"v": "1"}})
    users = [lambda v=v: cluster.api.patch(cluster.admin, "", "ConfigMap", "demo", "source", {"data": {"v": v}})
             for v in ("2", "1", "2")]  # (popped from the end)
    engine.between_rounds = lambda: users and users.pop()()
    result = cluster.run()
    assert not users  # (the user did write, three times)
    assert result.converged, result.message
    assert cluster.get("ConfigMap", "copy")["data"] == {"v": "2"}


RUNAWAY = """
component breeder
  reads Namespace, ConfigMap
  writes ConfigMap

rule breed for ns in Namespace where ns.name == "demo":
  let all = ConfigMap in ns.name
  create 1 ConfigMap from {data: {n: str(count(all))}} with name_prefix: "copy-", namespace: ns.name
"""


def test_a_rule_that_keeps_creating_objects_is_stopped_with_a_clear_error(cluster):
    engine = cluster.rules(breeder=RUNAWAY)
    engine.max_rounds = 20
    cluster.api.create(cluster.admin, {"apiVersion": "v1", "kind": "ConfigMap",
                                         "metadata": {"name": "seed", "namespace": "demo"}})
    result = cluster.run()
    assert not result.converged
    assert "did not converge after 20 rounds" in result.message
    assert "breeder/breed" in result.message


BURST = """
component burst
  reads Namespace
  writes ConfigMap

rule burst for ns in Namespace where ns.name == "demo":
  create 50 ConfigMap from {} with name_prefix: "b-", namespace: "demo"
"""


def test_creating_more_than_the_per_round_limit_is_refused(cluster):
    engine = cluster.rules(burst=BURST)
    engine.max_creates_per_round = 10
    result = cluster.run()
    assert not result.converged
    assert "runaway rule: burst/burst" in result.message
    assert cluster.list("ConfigMap") == []


BROKEN_AT_RUNTIME = """
component fragile
  reads ConfigMap
  writes ConfigMap

rule divide for cm in ConfigMap:
  let n = cm.data.n
  set cm.metadata.labels.double = str(n * {})
"""

HEALTHY = """
component healthy
  reads ConfigMap
  writes ConfigMap

rule mark for cm in ConfigMap:
  set cm.metadata.labels.seen = "yes"
"""


def test_a_runtime_error_names_the_rule_and_line_and_other_rules_keep_running(cluster):
    cluster.rules(fragile=BROKEN_AT_RUNTIME, healthy=HEALTHY)
    cluster.api.create(cluster.admin, {"apiVersion": "v1", "kind": "ConfigMap",
                                         "metadata": {"name": "c", "namespace": "demo"},
                                         "data": {"n": "2"}})
    result = cluster.run(5)
    assert cluster.get("ConfigMap", "c")["metadata"]["labels"]["seen"] == "yes"
    failure = next(f for f in result.failures if f.rule == "fragile/divide")
    assert failure.location.endswith("fragile.rules:7")
    assert failure.key == ("", "ConfigMap", "demo", "c")
    assert "cannot compute string * map" in failure.message


def test_a_failing_instance_is_retried_with_back_off(cluster):
    engine = cluster.rules(fragile=BROKEN_AT_RUNTIME)
    cluster.api.create(cluster.admin, {"apiVersion": "v1", "kind": "ConfigMap",
                                         "metadata": {"name": "c", "namespace": "demo"},
                                         "data": {"n": "2"}})
    cluster.run(0)
    first = engine.total_evaluations
    cluster.run(60)
    retries = engine.total_evaluations - first
    # back-off doubles from 1 s: retries at +1, +3, +7, +15, +31 s within a minute
    assert 4 <= retries <= 6


FIXED_NAME = """
component stubborn
  reads ConfigMap
  writes ConfigMap

rule copy for cm in ConfigMap where cm.name == "source":
  set cm.metadata.labels.touched = "yes"
  create ConfigMap from {data: {a: "1"}} with name: "copy"
"""


def test_creating_an_object_that_already_exists_backs_off_instead_of_retrying_every_round(cluster):
    cluster.rules(stubborn=FIXED_NAME)
    cluster.api.create(cluster.admin, {"apiVersion": "v1", "kind": "ConfigMap",
                                       "metadata": {"name": "copy", "namespace": "demo"}})
    cluster.api.create(cluster.admin, {"apiVersion": "v1", "kind": "ConfigMap",
                                       "metadata": {"name": "source", "namespace": "demo"}})
    result = cluster.run(5)
    assert result.converged, result.message
    failure = next(f for f in result.failures if f.rule == "stubborn/copy")
    assert "already exists" in failure.message
    assert failure.location.endswith("stubborn.rules:7")  # the create line, not the rule's


NO_NAMESPACE = """
component lister
  reads Node, Pod
  writes Node

rule count for node in Node:
  set node.metadata.labels.pods = str(count(Pod in node.namespace))
"""


def test_a_query_in_a_null_namespace_finds_nothing(cluster):
    cluster.rules(lister=NO_NAMESPACE)
    cluster.api.create(cluster.admin, {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}})
    cluster.api.create(cluster.admin, {"apiVersion": "v1", "kind": "Pod",
                                       "metadata": {"name": "p", "namespace": "demo"},
                                       "spec": {"containers": [{"name": "c", "image": "i"}]}})
    assert cluster.run().converged
    assert cluster.get("Node", "n1", "")["metadata"]["labels"]["pods"] == "0"


TWO_MAKERS = """
component maker
  reads Namespace, ConfigMap
  writes ConfigMap

rule make for ns in Namespace where ns.name == "demo":
  for name in ["good", "Bad_Name"]:
    when ConfigMap["demo", name] == null:
      create ConfigMap from {} as made with name: name, namespace: "demo"
      event "SuccessfulCreate" on ns: "Created config map: " + made.name
  event "Checked" on ns: "looked at both"
"""


def test_a_refused_create_records_no_event_of_its_own_and_the_others_land_with_theirs(cluster):
    cluster.rules(maker=TWO_MAKERS)
    result = cluster.run(30)
    assert [cm["metadata"]["name"] for cm in cluster.list("ConfigMap")] == ["good"]
    events = cluster.list("Event", "default")  # (about the Namespace: in default, as upstream)
    assert [e["message"] for e in events if e["reason"] == "SuccessfulCreate"] == ["Created config map: good"]
    assert any(e["reason"] == "Checked" for e in events)  # (not tied to a create: recorded with what landed)
    assert [f.rule for f in result.failures] == ["maker/make"]
    assert "Bad_Name" in result.failures[0].message
    assert any(e["reason"] == "FailedCreate" and "Bad_Name" in e["message"] for e in events)
