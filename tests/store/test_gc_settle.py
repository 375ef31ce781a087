"""tune_gc: a group commit that commits something ends by freezing what it left alive; cyclic garbage
still goes, at the next full pass (once the heap grew by as many objects as the last one left
frozen, at least FULL_AT_LEAST, times a factor that grows while full passes find next to no garbage;
what a freeze takes counted as objects made less objects freed, across young passes, and the heap's
real growth read once that count reaches the mark, since frozen objects freed later are not taken
off it; at the latest once the count went CHURN times past the mark), and a batch that commits
nothing freezes nothing."""

from __future__ import annotations

import gc
import weakref

import pytest

import engine.store as st
from engine.objects import freeze
from engine.store import Store, Txn, create, update


@pytest.fixture
def tuned(monkeypatch):
    """tune_gc for one test, with full passes due after a few thousand frozen objects; the
    process's GC as it was afterwards."""
    thresholds = gc.get_threshold()
    monkeypatch.setattr(st._GCSettle, "FULL_AT_LEAST", 5_000)
    st.tune_gc()
    st._settle_gc.frozen = 0  # (the test process's own objects do not count)
    yield st._settle_gc
    st._settle_gc.on = False
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


def test_a_group_commit_freezes_what_it_left_alive(tuned, monkeypatch):
    # (no full pass here: one could free more cyclic garbage, another thread's, than was frozen)
    monkeypatch.setattr(st._GCSettle, "FULL_AT_LEAST", 10**9)
    store = Store()
    with store.batch():
        for i in range(20):
            store.commit(Txn([create(_pod(f"p{i}"))]))
    # the new objects are out of the collector's sight: tracked, and in no generation it walks
    # (asked by identity, not by counting the frozen or young objects: objects frozen before, an
    # earlier test's, may be freed meanwhile, and another thread, an earlier test's server, may
    # be allocating)
    assert gc.is_tracked(store.head.objects)
    young = [o for generation in range(3) for o in gc.get_objects(generation)]
    assert not any(o is store.head or o is store.head.objects for o in young)
    before = gc.get_freeze_count()
    store.commit(Txn([create(_pod("single"))]))  # a commit outside a batch: nothing frozen
    assert gc.get_freeze_count() <= before  # (a frozen object freed by its count leaves it)


def test_what_a_freeze_takes_is_counted_across_young_passes(tuned, monkeypatch):
    monkeypatch.setattr(st._GCSettle, "FULL_AT_LEAST", 10**9)  # (no full pass to start the count over)
    store = Store()
    before = tuned.since
    kept = []
    with store.batch():
        store.commit(Txn([create(_pod("p"))]))
        kept.extend([i] for i in range(30_000))  # three young passes' worth of survivors
    assert tuned.since - before >= 30_000
    assert tuned.since - before < 40_000


def test_a_batch_that_commits_nothing_freezes_nothing(tuned):
    store = Store()
    with store.batch():
        store.commit(Txn([create(_pod("p"))]))
    probes = []
    for _ in range(50):  # e.g. rounds where no rule writes, with a server's garbage in between
        cycle = _Cycle()
        probes.append(weakref.ref(cycle))
        del cycle
        with store.batch():
            store.commit(Txn([update(_pod("p"))]))  # the same object: no revision
    assert store.head.revision == 1
    gc.collect()
    assert all(probe() is None for probe in probes)  # never frozen: the collector found them


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
    for value in range(2, 2_000):  # each commit freezes a few dozen objects: 5,000 come soon
        with store.batch():
            store.commit(Txn([update(_pod("p", value))]))
        if probe() is None:
            break
    assert probe() is None
    assert tuned.since < 5_000  # counted again from the full pass
    assert store.head.revision < 2_000


def test_without_tune_gc_a_group_commit_leaves_the_collector_alone(monkeypatch):
    # (untuned here whatever ran before in this process: `recon up` run in-process tunes it)
    monkeypatch.setattr(st._settle_gc, "on", False)
    store = Store()
    frozen = gc.get_freeze_count()
    with store.batch():
        store.commit(Txn([create(_pod("p"))]))
    assert gc.get_freeze_count() == frozen


def test_full_passes_grow_rarer_while_they_find_next_to_no_garbage(tuned):
    assert tuned.factor == st._GCSettle.FULL_FACTOR
    factors = []
    for _ in range(8):
        tuned.since = 10_000_000  # frozen since the last pass (a stray cycle of another thread is far below 1 in 1,000)
        tuned.full_pass()
        factors.append(tuned.factor)
    assert factors == [8, 32, 32, 32, 32, 32, 32, 32]  # four times as large each time, up to FULL_FACTOR_MAX
    assert tuned.since == 0


def test_a_full_pass_that_finds_garbage_sets_the_factor_back(tuned):
    tuned.factor = 32
    cycles = [_Cycle() for _ in range(100)]  # 200 objects (each with its __dict__) in cycles
    probe = weakref.ref(cycles[0])
    gc.freeze()  # caught frozen, as a group commit would
    del cycles
    assert probe() is not None
    tuned.since = 10_000  # … among 10,000 frozen objects: more than 1 in 1,000
    tuned.full_pass()
    assert probe() is None
    assert tuned.factor == st._GCSettle.FULL_FACTOR


def _count_full_passes(monkeypatch, tuned) -> list:
    passes = []
    real = st._GCSettle.full_pass

    def counted(self):
        passes.append(self.since)
        real(self)
    monkeypatch.setattr(st._GCSettle, "full_pass", counted)
    return passes


def test_objects_replaced_rather_than_added_do_not_bring_a_full_pass_at_the_mark(tuned, monkeypatch):
    monkeypatch.setattr(st._GCSettle, "FULL_AT_LEAST", 30_000)  # (well above what the test process adds)
    passes = _count_full_passes(monkeypatch, tuned)
    store = Store(window=1)  # (no older revisions kept: each update frees the version before)
    with store.batch():
        store.commit(Txn([create(_pod("p", 0))]))
    mark = st._GCSettle.FULL_AT_LEAST
    value = 0
    while not passes:  # each version replaces the last: the heap grows by the commit's record only
        value += 1
        with store.batch():
            store.commit(Txn([update(_pod("p", value))]))
    # counted past the mark long before the heap grew by it; the pass comes at CHURN times the mark
    assert 2 * mark <= passes[0] < (st._GCSettle.CHURN + 1) * mark


def test_a_heap_that_grows_by_the_mark_gets_its_full_pass_there(tuned, monkeypatch):
    passes = _count_full_passes(monkeypatch, tuned)
    store = Store()
    i = 0
    while not passes:  # every pod kept: what is frozen stays
        with store.batch():
            store.commit(Txn([create(_pod(f"p{i}", i)) for i in range(i, i + 20)]))
        i += 20
    # (the heap's growth is read in blocks, BLOCKS_PER_OBJECT per object: roughly)
    assert st._GCSettle.FULL_AT_LEAST <= passes[0] < st._GCSettle.CHURN * st._GCSettle.FULL_AT_LEAST / 2
