"""The in-memory store: revisions, preconditions, snapshots, indexes, watch, group commit."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from store_helpers import assert_indexes_match, config_map, pod

from engine.objects import dumps, freeze, key_of, loads, set_path
from engine.store import (
    Conflict,
    Op,
    Snapshot,
    Store,
    TooOld,
    Txn,
    check,
    create,
    decode,
    delete,
    encode,
    put,
    update,
)


def commit(store: Store, *ops: Op, actor: str = "test") -> Snapshot:
    return store.commit(Txn(tuple(ops), actor=actor))[0]


def rv(obj) -> int:
    return int(obj["metadata"]["resourceVersion"])


# ---------------------------------------------------------------- revisions


def test_revisions_increase_by_one_with_no_gaps():
    store = Store()
    revisions = [commit(store, put(config_map(f"c{i % 3}", n=str(i)))).revision for i in range(20)]
    assert revisions == list(range(1, 21))
    assert store.revision == 20


def test_every_written_object_carries_its_revision_as_resource_version():
    store = Store()
    commit(store, create(config_map("a")), create(config_map("b")))
    snap = commit(store, update(config_map("a", x="1")))
    assert rv(snap.get(key_of(config_map("a")))) == 2
    assert rv(snap.get(key_of(config_map("b")))) == 1


def test_a_write_that_changes_nothing_makes_no_revision():
    store = Store()
    head = commit(store, create(config_map("a", x="1")))
    same = config_map("a", x="1")
    assert store.commit(Txn((put(same),))) == (head, ())
    assert store.commit(Txn((put(store.head.get(key_of(same))),))) == (head, ())
    stale_rv = set_path(same, ["metadata", "resourceVersion"], "999")
    assert store.commit(Txn((update(stale_rv),))) == (head, ())
    assert store.commit(Txn((check(key_of(same), rv=1),))) == (head, ())
    # A put and a delete of the same key in one txn cancel out for a new key.
    assert store.commit(Txn((create(config_map("b")), delete(key_of(config_map("b")))))) == (head, ())
    assert store.revision == 1


@pytest.mark.parametrize("ops, message", [
    ((create(config_map("new")), create(config_map("a"))), "already exists"),
    ((create(config_map("new")), update(config_map("missing"))), "not found"),
    ((create(config_map("new")), delete(key_of(config_map("missing")))), "not found"),
    ((create(config_map("new")), update(config_map("a", x="2"), rv=7)), "expected resourceVersion 7"),
    ((create(config_map("new")), check(key_of(config_map("a")), rv=0)), "expected resourceVersion 0"),
    ((create(config_map("new")), check(key_of(config_map("missing")), rv=1)), "found 0"),
    ((create(config_map("new")), delete(key_of(config_map("a")), rv=2)), "expected resourceVersion 2"),
])
def test_a_failed_precondition_rejects_the_whole_txn_with_no_trace(ops, message):
    store = Store()
    head = commit(store, create(config_map("a", x="1")))
    watch = store.watch("", "ConfigMap", since=0)
    seen = watch.poll()
    with pytest.raises(Conflict, match=message):
        store.commit(Txn(ops))
    assert store.head is head and store.revision == 1
    assert key_of(config_map("new")) not in store.head
    assert watch.poll() == [] and seen[0].revision == 1


def test_preconditions_see_earlier_ops_of_the_same_txn():
    store = Store()
    snap = commit(store, create(config_map("a")), update(config_map("a", x="1")), check(key_of(config_map("a"))))
    assert snap.get(key_of(config_map("a")))["data"] == {"x": "1"}
    with pytest.raises(Conflict):
        store.commit(Txn((delete(key_of(config_map("a"))), update(config_map("a", x="2")))))


def test_a_matching_resource_version_lets_the_write_through():
    store = Store()
    commit(store, create(config_map("a")))
    snap = commit(store, update(config_map("a", x="1"), rv=1), check(key_of(config_map("b")), rv=0))
    assert snap.revision == 2
    snap = commit(store, delete(key_of(config_map("a")), rv=2))
    assert key_of(config_map("a")) not in snap


def test_an_unknown_op_type_is_refused():
    with pytest.raises(ValueError):
        Op("replace", key_of(config_map("a")))


# ---------------------------------------------------------------- snapshots


def test_snapshots_never_change_after_being_handed_out():
    store = Store()
    first = commit(store, create(pod("p1", labels={"app": "web"}, node="n1", uid="u1")))
    frozen = (dict(first.objects), first.state_hash, first.by_label("", "Pod", "app", "web"), first.on_node("n1"))
    commit(store, update(pod("p1", labels={"app": "db"}, node="n2", uid="u1")))
    commit(store, create(pod("p2", labels={"app": "web"}, node="n1", uid="u2")))
    commit(store, delete(key_of(pod("p1"))))
    assert (dict(first.objects), first.state_hash, first.by_label("", "Pod", "app", "web"),
            first.on_node("n1")) == frozen
    assert first.revision == 1 and store.at(1) is first


def test_every_index_answers_after_creates_updates_deletes_and_relabels():
    store = Store()
    live: dict = {}

    def apply(*ops):
        snap = commit(store, *ops)
        live.clear()
        live.update(snap.objects)
        assert_indexes_match(snap, live)

    apply(create(pod("a", labels={"app": "web", "tier": "fe"}, owners=("rs1",), node="n1", uid="ua")),
          create(pod("b", "prod", labels={"app": "web"}, owners=("rs1", "rs2"), uid="ub")),
          create(config_map("c")))
    apply(update(pod("a", labels={"app": "api"}, owners=("rs2",), node="n2", uid="ua")))  # relabel, re-own, move
    apply(update(pod("b", "prod", labels={"app": "web"}, owners=("rs1", "rs2"), node="n1", uid="ub")))
    apply(delete(key_of(pod("a"))), create(pod("a", labels={"app": "web"}, uid="ua2")))  # a new incarnation
    apply(delete(key_of(pod("b", "prod"))), delete(key_of(config_map("c"))))
    assert store.head.by_uid("ub") is None and store.head.by_uid("ua") is None
    assert store.head.by_uid("ua2")["metadata"]["name"] == "a"
    assert store.head.kinds() == [("", "Pod")]


def test_a_services_node_and_health_check_ports_are_filed_as_its_addresses():
    store = Store()
    ports = freeze([{"port": 80, "nodePort": 30000}])
    svc = freeze({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "lb", "namespace": "default"},
                  "spec": {"type": "LoadBalancer", "clusterIP": "10.96.0.10", "ports": ports}})
    key = key_of(svc)
    snap = commit(store, create(svc))
    assert [set(snap.index("address", a)) for a in (("ip", "10.96.0.10"), ("port", 30000), ("port", 30001))] == [
        {key}, {key}, set()]
    # the health-check port set by an update that leaves the ports the very same value
    snap = commit(store, update(set_path(svc, ["spec", "healthCheckNodePort"], 30001)))
    assert set(snap.index("address", ("port", 30001))) == {key}
    snap = commit(store, update(svc))  # released
    assert set(snap.index("address", ("port", 30001))) == set() and set(snap.index("address", ("port", 30000))) == {key}


def test_an_index_entry_is_a_set_that_compares_with_python_sets():
    store = Store()
    snap = commit(store, create(pod("a", labels={"app": "web"})), create(pod("b", labels={"app": "web"})))
    keys = snap.index("label", ("", "Pod", "app", "web"))
    assert keys == {key_of(pod("a")), key_of(pod("b"))} and len(keys) == 2
    assert snap.index("label", ("", "Pod", "app", "nope")) == set()


# -------------------------------------------------------------------- watch


def test_watch_from_a_revision_delivers_every_later_event_in_commit_order_with_old_and_new():
    store = Store()
    a1 = commit(store, create(config_map("a", v="1"))).get(key_of(config_map("a")))
    commit(store, create(pod("p")))
    a2 = commit(store, update(config_map("a", v="2"))).get(key_of(config_map("a")))
    watch = store.watch("", "ConfigMap", since=1)
    commit(store, delete(key_of(config_map("a"))), create(config_map("b", "other")))
    events = watch.poll()
    assert [(e.type, e.key[3], e.revision) for e in events] == [
        ("MODIFIED", "a", 3), ("DELETED", "a", 4), ("ADDED", "b", 4)]
    assert events[0].old == a1 and events[0].new == a2
    assert events[1].old == a2 and events[1].new is None and events[1].object == a2
    everything = store.watch("", "*", since=0).poll()
    assert [e.revision for e in everything] == [1, 2, 3, 4, 4]


def test_a_watch_on_one_namespace_sees_only_that_namespace():
    store = Store()
    watch = store.watch("", "ConfigMap", namespace="prod")
    commit(store, create(config_map("a")), create(config_map("b", "prod")))
    assert [e.key for e in watch.poll()] == [key_of(config_map("b", "prod"))]
    watch.close()
    commit(store, create(config_map("c", "prod")))
    assert watch.poll() == []


def test_watch_from_a_compacted_revision_raises_too_old():
    store = Store(window=5)
    for i in range(10):
        commit(store, put(config_map("a", v=str(i))))
    assert store.oldest == 6
    with pytest.raises(TooOld, match="revision 4 has been compacted; the oldest available is 6") as info:
        store.watch("", "ConfigMap", since=4)
    assert info.value.oldest == 6
    with pytest.raises(TooOld):
        store.at(5)
    assert [e.revision for e in store.watch("", "ConfigMap", since=6).poll()] == [7, 8, 9, 10]
    assert store.at(8).revision == 8


# ------------------------------------------------------------- group commit


class CountingLog:
    def __init__(self):
        self.records, self.syncs = [], 0

    def append(self, record):
        self.records.append(record)

    def sync(self):
        self.syncs += 1

    def close(self):
        pass


def test_a_commit_outside_a_batch_is_synced_before_it_returns():
    log = CountingLog()
    store = Store(log=log)
    commit(store, create(config_map("a")))
    assert log.syncs == 1 and [r.revision for r in log.records] == [1]


def test_group_commit_syncs_once_per_batch_and_shows_events_after_the_sync():
    log = CountingLog()
    store = Store(log=log)
    watch = store.watch("", "ConfigMap")
    with store.batch():
        for i in range(10):
            commit(store, put(config_map("a", v=str(i))))
        with store.batch():
            commit(store, create(config_map("b")))
        assert log.syncs == 0 and watch.poll() == []
        assert store.revision == 11
    assert log.syncs == 1
    assert [e.revision for e in watch.poll()] == list(range(1, 12))
    assert [r.revision for r in log.records] == list(range(1, 12))


def test_a_commit_record_carries_actor_cause_ops_and_state_hash():
    log = CountingLog()
    store = Store(log=log)
    snap, _ = store.commit(Txn((create(config_map("a")), create(config_map("b"))), actor="rule:x",
                               cause=("rev", 0)), time=12.5)
    record = log.records[0]
    assert (record.revision, record.time, record.actor, record.cause) == (1, 12.5, "rule:x", ("rev", 0))
    assert [(op.type, op.key[3]) for op in record.ops] == [("put", "a"), ("put", "b")]
    assert record.state_hash == snap.state_hash and snap.time == 12.5


# -------------------------------------------------------------------- codec

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**53, 2**53) | st.text(max_size=5)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=5),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_the_fast_codec_gives_the_same_bytes_and_values_as_objects(value):
    frozen = freeze(value)
    assert encode(frozen) == dumps(frozen)
    assert decode(encode(frozen)) == loads(dumps(frozen)) == frozen
    assert type(decode(encode(frozen))) is type(loads(dumps(frozen)))
