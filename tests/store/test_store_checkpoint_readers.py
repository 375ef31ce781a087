"""Readers of a state folder whose checkpoints a writer thins out from under them."""

from __future__ import annotations

import os

import pytest
from store_helpers import config_map

from engine.history import verify
from engine.store import Snapshot, Txn, put
from engine.wal import Checkpoints, HistoryLog, open_store, snapshot_at


@pytest.fixture
def state(tmp_path):
    return tmp_path / "state"


def written(state, count: int) -> list[Snapshot]:
    """A folder of `count` commits (each rewrites one of 4 ConfigMaps), checkpointed every 10; their
    snapshots."""
    store = open_store(state, checkpoint_every=10, checkpoint_ratio=0)
    snaps = [store.commit(Txn((put(config_map(f"c{r % 4}", n=str(r))),)), time=float(r))[0]
             for r in range(1, count + 1)]
    store.close()
    return snaps


def reader(state) -> HistoryLog:
    return HistoryLog(state / "history.log", readonly=True, checkpoints=Checkpoints(state / "checkpoints"))


def test_readers_whose_checkpoint_was_thinned_out_under_them_start_from_the_one_below(state, monkeypatch):
    # records() and snapshot_at start from the one below; verify checks the ones left.
    snaps = written(state, 35)
    log = reader(state)
    listed = log.checkpoints.revisions()
    assert listed == [10, 20, 30]
    os.unlink(log.checkpoints.path(30))
    revisions = Checkpoints.revisions

    def listed_before_it_went():
        stale = iter([listed])  # (the next listing, only: a reader that lists again finds it gone)
        monkeypatch.setattr(Checkpoints, "revisions", lambda self: next(stale, None) or revisions(self))

    listed_before_it_went()
    assert [r.revision for r in log.records(33)] == [33, 34, 35] and log.records_read == 3
    listed_before_it_went()
    snap = snapshot_at(log, 33)
    assert (snap.objects, snap.state_hash) == (snaps[32].objects, snaps[32].state_hash)
    listed_before_it_went()
    result = verify(state)
    assert result.ok and result.checkpoints == 2


def test_a_checkpoint_header_is_read_even_when_thinned_from_the_cache_meanwhile(state):
    written(state, 25)
    checkpoints = Checkpoints(state / "checkpoints")

    class Forgetful(dict):  # a writer's `thin` dropping each entry as soon as it is kept
        def __setitem__(self, key, value):
            pass

    checkpoints._meta = Forgetful()
    assert checkpoints.meta(20)["rev"] == 20


def test_a_time_travel_that_finds_every_listed_checkpoint_gone_replays_from_the_log_start(state, monkeypatch):
    snaps = written(state, 25)
    log = reader(state)
    listed = log.checkpoints.revisions()
    assert listed == [10, 20]
    for revision in listed:
        os.unlink(log.checkpoints.path(revision))
    monkeypatch.setattr(Checkpoints, "revisions", lambda self: listed)  # (a listing that stays stale)
    snap = snapshot_at(log, 23)
    assert (snap.revision, snap.objects, snap.state_hash) == (23, snaps[22].objects, snaps[22].state_hash)
