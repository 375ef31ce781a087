"""tune_gc: a group commit ends by freezing what it left alive; cyclic garbage still goes, at the next
full pass (once the store has made as many revisions as it holds objects, at least SETTLE_FULL_EVERY)."""

from __future__ import annotations

import gc
import weakref

import pytest

import engine.store as st
from engine.objects import freeze
from engine.store import Store, Txn, create, update


@pytest.fixture
def tuned(monkeypatch):
    """tune_gc for one test; the process's GC as it was afterwards."""
    thresholds = gc.get_threshold()
    monkeypatch.setattr(st, "SETTLE_FULL_EVERY", 50)
    st.tune_gc()
    yield
    st._settle_gc_on = False
    gc.unfreeze()
    gc.set_threshold(*thresholds)
    gc.collect()


def _pod(name: str, value: int = 0):
    return freeze({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
            "spec": {"n": value}})


class _Cycle:
    """An object in a reference cycle: only the cyclic GC can free it."""

    def __init__(self) -> None:
        self.me = self


def test_a_group_commit_freezes_what_it_left_alive(tuned):
    store = Store()
    frozen = gc.get_freeze_count()
    with store.batch():
        for i in range(20):
            store.commit(Txn([create(_pod(f"p{i}"))]))
    assert gc.get_freeze_count() > frozen  # the new objects are out of the collector's sight
    assert gc.get_count()[0] < 20  # and the young generation starts empty again
    before = gc.get_freeze_count()
    store.commit(Txn([create(_pod("single"))]))  # a commit outside a batch: nothing frozen
    assert gc.get_freeze_count() <= before  # (a frozen object freed by its count leaves it)


def test_cyclic_garbage_caught_by_a_freeze_goes_at_the_next_full_pass(tuned):
    store = Store()
    with store.batch():
        store.commit(Txn([create(_pod("p", 0))]))
    cycle = _Cycle()
    probe = weakref.ref(cycle)
    with store.batch():
        store.commit(Txn([update(_pod("p", 1))]))  # freezes the cycle with everything else
    del cycle
    gc.collect()  # a frozen object is not looked at, even by a full collection
    assert probe() is not None
    for value in range(2, 60):  # 50 revisions (SETTLE_FULL_EVERY here) later: a full pass
        with store.batch():
            store.commit(Txn([update(_pod("p", value))]))
        if probe() is None:
            break
    assert probe() is None
    assert 50 <= store.head.revision <= 60


def test_without_tune_gc_a_group_commit_leaves_the_collector_alone():
    assert not st._settle_gc_on
    store = Store()
    frozen = gc.get_freeze_count()
    with store.batch():
        store.commit(Txn([create(_pod("p"))]))
    assert gc.get_freeze_count() == frozen
