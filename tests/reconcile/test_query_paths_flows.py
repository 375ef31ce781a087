"""Engine._route_queries with dsl.reads.query_reads, end to end: for each way a rule can use the
objects a query found, a change to a path its result depends on wakes it, and its output follows
(as a fresh engine, evaluating everything, would make it).  Objects ordered, returned or added up
whole (`sort`, `sort_desc`, `min`, `max` without a key) make every change wake the rule."""

from __future__ import annotations

import textwrap

from engine.reconcile import Engine
from engine.rules import load_rules

HEADER = """
component flows
  reads ConfigMap, Pod
  writes ConfigMap, Pod

rule r for cm in ConfigMap:
"""


def rules(body: str) -> str:
    return HEADER + textwrap.indent(textwrap.dedent(body).strip("\n"), "  ") + "\n"


def pod(name: str, app: str = "web", **extra) -> dict:
    obj = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": name, "namespace": "demo", "labels": {"app": app}},
           "spec": {"containers": [{"name": "c", "image": "nginx"}]}}
    obj.update(extra)
    return obj


def setup(cluster, body: str, pods=("a", "b")):
    engine = cluster.rules(flows=rules(body))
    cluster.api.create(cluster.admin, {"apiVersion": "v1", "kind": "ConfigMap",
                                       "metadata": {"name": "cm", "namespace": "demo"}})
    for p in pods:
        cluster.api.create(cluster.admin, pod(p) if isinstance(p, str) else p)
    assert cluster.run().converged
    return engine


def data(cluster, field: str):
    return (cluster.get("ConfigMap", "cm")["data"] or {}).get(field)


def fresh_data(cluster, field: str):
    """What a new engine (every instance evaluated from scratch) makes of the same store."""
    engine = Engine(cluster.api, load_rules(cluster.tmp_path / "rules"), cluster.clock)
    assert engine.run(until=cluster.clock.now() + 600).converged
    return data(cluster, field)


def patch(cluster, name: str, body: dict, subresource: str | None = None):
    if subresource:
        cluster.api.patch(cluster.admin, "", "Pod", "demo", name, body, subresource=subresource)
    else:
        cluster.api.patch(cluster.admin, "", "Pod", "demo", name, body)
    assert cluster.run().converged


def annotate(cluster, name: str, **notes):
    patch(cluster, name, {"metadata": {"annotations": notes}})


def phase(cluster, name: str, value: str):
    patch(cluster, name, {"status": {"phase": value}}, subresource="status")


# ------------------------------------------------ objects ordered or returned whole: no key

def test_sort_without_a_key_orders_by_the_whole_objects(cluster):
    """`sort(pods)` with no key orders the pods by all of their fields (builtins._order of
    maps): an annotation added to pod b makes it sort first, though the rule names no other
    field than the name."""
    setup(cluster, """
        let pods = Pod in cm.namespace where it.metadata.labels.app == "web"
        set cm.data.first = first(sort(pods)).metadata.name
    """)
    assert data(cluster, "first") == "a"
    annotate(cluster, "b", note="x")  # b's metadata now starts with `annotations`: b < a
    assert data(cluster, "first") == "b"


def test_sort_desc_without_a_key_orders_by_the_whole_objects(cluster):
    """As above, with sort_desc."""
    setup(cluster, """
        set cm.data.last = last(sort_desc(Pod in cm.namespace)).metadata.name
    """)
    assert data(cluster, "last") == "a"
    annotate(cluster, "b", note="x")
    assert data(cluster, "last") == "b"


def test_min_without_a_key_returns_an_object(cluster):
    """`min(pods)` with no key returns the element itself (with one pod; several maps cannot
    be ordered and the rule fails): what is read of it counts."""
    setup(cluster, """
        let only = min(Pod in cm.namespace where it.metadata.labels.app == "web")
        set cm.data.phase = default(only.status.phase, "none")
    """, pods=("a",))
    before = data(cluster, "phase")
    phase(cluster, "a", "Running")
    assert before != "Running"
    assert data(cluster, "phase") == "Running"


def test_max_without_a_key_returns_an_object(cluster):
    """As above, with max."""
    setup(cluster, """
        set cm.data.phase = default(max(Pod in cm.namespace).status.phase, "none")
    """, pods=("a",))
    phase(cluster, "a", "Running")
    assert data(cluster, "phase") == "Running"


# ------------------------------------------------------------------------- the other flows

def test_a_conditional_and_default_keep_the_object(cluster):
    setup(cluster, """
        let p = first(Pod in cm.namespace) if cm.metadata.name == "cm" else null
        set cm.data.phase = default(default(p, {}).status.phase, "none")
    """)
    phase(cluster, "a", "Running")
    assert data(cluster, "phase") == "Running"


def test_a_nested_lambda_reads_the_part_it_iterates(cluster):
    setup(cluster, """
        let pods = Pod in cm.namespace
        set cm.data.n = str(count(filter(pods, any(it.spec.containers, it.image == "redis"))))
    """)
    assert data(cluster, "n") == "0"
    cluster.api.delete(cluster.admin, "", "Pod", "demo", "b", grace_period=0)
    cluster.api.create(cluster.admin, pod("b", spec={"containers": [{"name": "c", "image": "redis"}]}))
    assert cluster.run().converged
    assert data(cluster, "n") == "1"


def test_take_last_get_and_plus_keep_the_objects(cluster):
    setup(cluster, """
        let pods = Pod in cm.namespace
        set cm.data.last = default(last(take(pods, 2)).status.phase, "none")
        set cm.data.got = default(get(pods, 0).status.phase, "none")
        set cm.data.plus = default(last(pods + [first(pods)]).status.phase, "none")
    """)
    phase(cluster, "a", "Running")
    assert data(cluster, "got") == "Running" and data(cluster, "plus") == "Running"
    phase(cluster, "b", "Failed")
    assert data(cluster, "last") == "Failed"


def test_min_by_and_max_by_read_their_key_and_what_is_read_of_the_choice(cluster):
    setup(cluster, """
        let pods = Pod in cm.namespace
        let top = max_by(pods, default(it.metadata.annotations.rank, ""))
        set cm.data.top = top.metadata.name
        set cm.data.phase = default(top.status.phase, "none")
    """)
    assert data(cluster, "top") == "a"  # (the first of equals)
    annotate(cluster, "b", rank="9")
    assert data(cluster, "top") == "b"
    phase(cluster, "b", "Running")
    assert data(cluster, "phase") == "Running"


def test_a_keyed_sort_and_unique_read_their_keys(cluster):
    setup(cluster, """
        let pods = Pod in cm.namespace
        set cm.data.first = first(sort(pods, default(it.metadata.annotations.rank, "5"))).metadata.name
        set cm.data.n = str(count(unique(pods, it.metadata.annotations.tier)))
    """)
    assert data(cluster, "first") == "a" and data(cluster, "n") == "1"
    annotate(cluster, "b", rank="1", tier="x")
    assert data(cluster, "first") == "b" and data(cluster, "n") == "2"


def test_map_to_the_objects_then_a_loop_and_a_comprehension(cluster):
    setup(cluster, """
        let pods = map(Pod in cm.namespace, it)
        let running = [p.metadata.name for p in pods if p.status.phase == "Running"]
        set cm.data.running = join(running, ",")
        for p in pods:
          when p.metadata.annotations.pick == "yes":
            set cm.data.picked = p.metadata.name
    """)
    phase(cluster, "b", "Running")
    assert data(cluster, "running") == "b"
    annotate(cluster, "a", pick="yes")
    assert data(cluster, "picked") == "a"


def test_objects_held_in_map_literals_wake_for_what_is_read_through_them(cluster):
    """Targets as `{pod: p, size: n}` maps (the rollout's shape): a change to a path read through
    the map wakes the rule and its output follows; a change to another path does not wake it."""
    engine = setup(cluster, """
        let pods = Pod in cm.namespace
        let targets = [{pod: p, size: 2 if p.status.phase == "Running" else 1} for p in pods]
        let big = filter(targets, it.size > 1)
        set cm.data.big = join(map(big, it.pod.metadata.name), ",")
        set cm.data.total = str(sum(targets, it.size))
    """)
    assert data(cluster, "big") == "" and data(cluster, "total") == "2"
    before = engine.evaluations["flows/r"]
    annotate(cluster, "a", note="x")
    patch(cluster, "b", {"status": {"message": "pulling"}}, subresource="status")
    assert engine.evaluations["flows/r"] == before
    phase(cluster, "b", "Running")
    assert data(cluster, "big") == "b" and data(cluster, "total") == "3"
    assert engine.evaluations["flows/r"] == before + 1
    assert fresh_data(cluster, "big") == "b"


def test_a_shadowing_loop_variable_does_not_hide_the_outer_objects(cluster):
    setup(cluster, """
        let pods = Pod in cm.namespace
        for p in pods:
          let names = [p for p in ["x", "y"]]
          when p.status.phase == "Running":
            set cm.data.running = p.metadata.name + join(names, "")
    """)
    phase(cluster, "a", "Running")
    assert data(cluster, "running") == "axy"


def test_builtins_known_to_read_some_paths(cluster):
    owner = {"apiVersion": "v1", "kind": "ConfigMap", "name": "cm", "uid": "u-1", "controller": True}
    setup(cluster, """
        let pods = Pod in cm.namespace
        set cm.data.owner = default(controller_of(first(pods)).name, "none")
        set cm.data.port = str(default(find_port(last(pods), {"port": 80, "targetPort": "http"}), 0))
    """)
    assert data(cluster, "owner") == "none" and data(cluster, "port") == "0"
    patch(cluster, "a", {"metadata": {"ownerReferences": [owner]}})
    assert data(cluster, "owner") == "cm"
    cluster.api.delete(cluster.admin, "", "Pod", "demo", "b", grace_period=0)
    cluster.api.create(cluster.admin, pod("b", spec={"containers": [
        {"name": "c", "image": "nginx", "ports": [{"name": "http", "containerPort": 8080}]}]}))
    assert cluster.run().converged
    assert data(cluster, "port") == "8080"


def test_an_empty_answer_wakes_when_an_object_comes_to_pass_the_where(cluster):
    setup(cluster, """
        let failed = Pod in cm.namespace where it.status.phase == "Failed"
        set cm.data.failed = join(map(failed, it.metadata.name), ",")
    """)
    assert data(cluster, "failed") == ""
    phase(cluster, "b", "Failed")
    assert data(cluster, "failed") == "b"


def test_deleting_a_filtered_list_follows_the_filter(cluster):
    setup(cluster, """
        delete filter(Pod in cm.namespace, it.status.phase == "Failed")
    """)
    phase(cluster, "a", "Failed")
    assert cluster.get("Pod", "a") is None and cluster.get("Pod", "b") is not None


def test_an_event_on_and_an_owner_of_the_objects_read_their_reference(cluster):
    setup(cluster, """
        for p in Pod in cm.namespace where it.status.phase == "Running":
          create ConfigMap from {data: {pod: p.metadata.name}} with owner: p, name: "for-" + p.metadata.name
          event "Seen" on p: "running"
    """)
    phase(cluster, "a", "Running")
    made = cluster.get("ConfigMap", "for-a")
    assert made is not None and made["metadata"]["ownerReferences"][0]["name"] == "a"


def test_the_oracle_agrees_on_a_handled_case(cluster):
    """(The helper `fresh_data`, a new engine over the same store, gives what a full evaluation
    gives: here, the same as the engine that followed the changes.)"""
    setup(cluster, """
        set cm.data.n = str(count(Pod in cm.namespace, it.status.phase == "Running"))
    """)
    phase(cluster, "a", "Running")
    assert data(cluster, "n") == "1" == fresh_data(cluster, "n")


def test_a_fresh_engine_sorts_as_the_keyless_sort_tests_expect(cluster):
    """The values the keyless sort tests expect are what a full evaluation gives."""
    setup(cluster, """
        set cm.data.first = first(sort(Pod in cm.namespace)).metadata.name
    """)
    annotate(cluster, "b", note="x")
    assert fresh_data(cluster, "first") == "b"
