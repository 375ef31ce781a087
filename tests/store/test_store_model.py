"""A Hypothesis state machine: random txns against the store and a plain-dict model.

The store runs on a real state folder (fsync off, a checkpoint every few
revisions, a tiny in-memory window), and is sometimes closed and reopened,
so the same run also checks that replay(log) == live and time travel.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from store_helpers import assert_indexes_match

from engine.objects import freeze, resource_version, thaw
from engine.store import Conflict, Op, TooOld, Txn
from engine.wal import load_snapshot, open_store

KINDS = [("", "Pod"), ("apps", "ReplicaSet")]


@pytest.fixture(autouse=True)
def no_fsync(monkeypatch):
    """The machine checks logic, not the disk: skip the checkpoints' fsyncs."""
    monkeypatch.setattr(os, "fsync", lambda fd: None)

NAMESPACES = ["default", "prod"]
NAMES = ["a", "b", "c"]
WINDOW = 4

keys = st.tuples(st.sampled_from(KINDS), st.sampled_from(NAMESPACES), st.sampled_from(NAMES)).map(
    lambda t: (t[0][0], t[0][1], t[1], t[2]))


@st.composite
def objects(draw, key=None):
    group, kind, ns, name = key or draw(keys)
    meta = {"name": name, "namespace": ns,
            "labels": draw(st.dictionaries(st.sampled_from(["app", "tier"]), st.sampled_from(["web", "db"]),
                                           max_size=2))}
    uid = draw(st.none() | st.sampled_from(["u1", "u2", "u3", "u4"]))
    if uid:
        meta["uid"] = uid
    owners = draw(st.lists(st.sampled_from(["o1", "o2", "o3"]), max_size=2))
    if owners:
        meta["ownerReferences"] = [{"uid": o, "kind": "ReplicaSet", "name": o} for o in owners]
    obj = {"apiVersion": f"{group}/v1" if group else "v1", "kind": kind, "metadata": meta,
           "spec": {"replicas": draw(st.integers(0, 2))}}
    node = draw(st.none() | st.sampled_from(["n1", "n2"]))
    if node:
        obj["spec"]["nodeName"] = node
    if draw(st.booleans()):
        meta["resourceVersion"] = str(draw(st.integers(1, 9)))  # stale or not: ignored when comparing
    return freeze(obj)


def strip(obj):
    plain = thaw(obj)
    plain["metadata"].pop("resourceVersion", None)
    return plain


class StoreMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.folder = tempfile.mkdtemp(prefix="recon-model-")
        self.model: dict = {}
        self.revision = 0
        self.history: list[tuple] = [(None, {})]  # revision → (snapshot handed out, its objects)
        self.expected_events: list[tuple] = []
        self.seen_events: list[tuple] = []
        self.store = None
        self.watch = None

    @initialize()
    def open(self):
        self._open()

    def _open(self):
        self.store = open_store(self.folder, fsync="none", checkpoint_every=3, checkpoint_ratio=0,
                                window=WINDOW)
        self.watch = self.store.watch("*", "*", since=self.store.revision)

    def teardown(self):
        if self.store is not None:
            self.store.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    # -- the model
    def _model_commit(self, ops):
        staged: dict = {}
        for op in ops:
            cur = staged[op.key] if op.key in staged else self.model.get(op.key)
            if op.type == "create" and cur is not None:
                return None
            if op.type in ("update", "delete") and cur is None:
                return None
            if op.rv is not None and resource_version(cur) != op.rv:
                return None
            if op.type != "check":
                staged[op.key] = None if op.type == "delete" else op.obj
        events = []
        for key, new in staged.items():
            old = self.model.get(key)
            if new is None:
                if old is not None:
                    events.append(("DELETED", key, old, None))
            elif old is None or strip(old) != strip(new):
                events.append(("ADDED" if old is None else "MODIFIED", key, old, new))
        return events

    # -- rules
    @rule(data=st.data(), count=st.integers(1, 4))
    def commit(self, data, count):
        ops = []
        for _ in range(count):
            key = data.draw(keys)
            cur = self.model.get(key)
            rv = data.draw(st.sampled_from([None, None, 0, resource_version(cur), resource_version(cur) + 1]))
            kind = data.draw(st.sampled_from(["create", "update", "put", "delete", "check"]))
            obj = data.draw(objects(key)) if kind in ("create", "update", "put") else None
            ops.append(Op(kind, key, obj, None if kind in ("create", "put") else rv))
        events = self._model_commit(ops)
        before = self.store.head
        if events is None:
            with pytest.raises(Conflict):
                self.store.commit(Txn(tuple(ops), actor="model"))
            assert self.store.head is before
            return
        snap, got = self.store.commit(Txn(tuple(ops), actor="model", cause=("test", self.revision)))
        if not events:
            assert got == () and snap is before
            return
        self.revision += 1
        assert snap.revision == self.revision
        for type_, key, old, new in events:
            if new is not None:
                assert resource_version(snap.get(key)) == self.revision
                assert strip(snap.get(key)) == strip(new)
                self.model[key] = snap.get(key)
            else:
                del self.model[key]
            self.expected_events.append((type_, key, old, self.model.get(key), self.revision))
        assert [(e.type, e.key, e.old, e.new, e.revision) for e in got] == self.expected_events[-len(events):]
        self.history.append((snap, dict(self.model)))

    @precondition(lambda self: self.revision > 0)
    @rule()
    def reopen(self):
        self.seen_events += self._poll()
        self.store.close()
        self._open()
        assert self.store.revision == self.revision
        assert self.store.head.state_hash == self.history[-1][0].state_hash

    @precondition(lambda self: self.revision > 0)
    @rule(data=st.data())
    def travel_in_time(self, data):
        revision = data.draw(st.integers(0, self.revision))
        snap = load_snapshot(self.folder, revision)
        assert dict(snap.objects) == self.history[revision][1]
        assert_indexes_match(snap, self.history[revision][1])

    @precondition(lambda self: self.revision > 0)
    @rule(data=st.data())
    def read_a_past_revision(self, data):
        revision = data.draw(st.integers(0, self.revision))
        if revision < self.store.oldest:
            with pytest.raises(TooOld):
                self.store.at(revision)
        else:
            assert dict(self.store.at(revision).objects) == self.history[revision][1]

    # -- invariants
    def _poll(self):
        return [(e.type, e.key, e.old, e.new, e.revision) for e in self.watch.poll()]

    @invariant()
    def store_matches_the_model(self):
        if self.store is None:
            return
        head = self.store.head
        assert head.revision == self.revision
        assert dict(head.objects) == self.model
        assert_indexes_match(head, self.model)

    @invariant()
    def snapshots_handed_out_never_change(self):
        for snap, objects in self.history[1:]:
            assert dict(snap.objects) == objects

    @invariant()
    def the_watch_stream_is_the_commit_sequence(self):
        if self.store is None:
            return
        assert self.seen_events + self._poll() == self.expected_events
        self.seen_events = list(self.expected_events)


_HEALTH = [HealthCheck.too_slow, HealthCheck.data_too_large]
StoreMachine.TestCase.settings = settings(max_examples=40, stateful_step_count=30, deadline=None,
                                          suppress_health_check=_HEALTH)
test_store_behaves_like_a_dict_model = StoreMachine.TestCase


class LongStoreMachine(StoreMachine):
    pass


LongStoreMachine.TestCase.settings = settings(max_examples=1000, stateful_step_count=60, deadline=None,
                                              suppress_health_check=_HEALTH)
test_store_behaves_like_a_dict_model_for_longer = pytest.mark.soak(LongStoreMachine.TestCase)
