"""The history index (revision → frame, key → revisions) and checkpoint thinning."""

from __future__ import annotations

import os
import shutil

from engine.history import History
from engine.logindex import FLUSH_EVERY, LogIndex
from engine.objects import key_of
from engine.store import Txn, put
from engine.wal import LOG_HEADER, Checkpoints, load_snapshot, open_store

from store_helpers import config_map, pod


def write(folder, commits: int, every: int = 10, prefix: str = "c"):
    """`commits` writes of 4 ConfigMaps in turn; the revisions that wrote each, and every live snapshot."""
    store = open_store(folder, checkpoint_every=every, checkpoint_ratio=0)
    wrote: dict = {}
    live = {}
    for i in range(commits):
        obj = config_map(f"{prefix}{i % 4}", n=str(i))
        snap, _ = store.commit(Txn((put(obj),), actor=f"a{i % 2}"), time=float(i))
        wrote.setdefault(key_of(obj), []).append(snap.revision)
        live[snap.revision] = snap
    store.close()
    return wrote, live


def reader(folder) -> LogIndex:
    return LogIndex.open(folder, folder / "history.log", len(LOG_HEADER), writable=False)


def test_the_index_lists_the_revisions_that_wrote_each_key_after_reopening(tmp_path):
    folder = tmp_path / "state"
    wrote, _ = write(folder, FLUSH_EVERY + 300)
    index = reader(folder)
    assert index.covered == FLUSH_EVERY + 300 and not index.rebuilt  # the writer flushed it on close
    for key, revs in wrote.items():
        assert index.revisions(key) == revs
        assert index.revisions(key, until=500) == [r for r in revs if r <= 500]
        assert index.revisions(key, not_by="a0") == [r for r in revs if r % 2 == 0]


def test_the_index_lists_the_keys_of_a_kind_saved_and_not_yet_saved(tmp_path):
    folder = tmp_path / "state"
    wrote, _ = write(folder, 8)
    store = open_store(folder)  # (still open: what it commits now is read from the log, not the file)
    try:
        late = (config_map("late"), pod("p1"))
        store.commit(Txn(tuple(put(obj) for obj in late), actor="a0"), time=9.0)
        index = reader(folder)
        assert (index.covered, index.last) == (8, 9)
        assert index.keys_of("", "ConfigMap") == sorted([*wrote, key_of(late[0])])
        assert index.keys_of("", "Pod") == [key_of(late[1])] and index.keys_of("apps", "Pod") == []
    finally:
        store.close()


def test_a_record_read_through_the_index_is_the_one_written(tmp_path):
    folder = tmp_path / "state"
    write(folder, 60)
    history = History.open(folder)
    assert history.head == 60
    assert [history.record(r).revision for r in (60, 1, 33)] == [60, 1, 33]
    assert history.record(33).ops[0].obj["data"]["n"] == "32"


def test_an_index_from_another_log_is_not_trusted(tmp_path):
    write(tmp_path / "other", 40, prefix="x")
    folder = tmp_path / "state"
    wrote, _ = write(folder, 40)
    shutil.rmtree(folder / "index")
    shutil.copytree(tmp_path / "other" / "index", folder / "index")
    index = reader(folder)
    assert index.rebuilt and index.db is None  # a reader indexes the log in memory
    assert {k: index.revisions(k) for k in wrote} == wrote
    store = open_store(folder)  # the writer rebuilds the file
    store.close()
    again = reader(folder)
    assert again.covered == 40 and not again.rebuilt
    assert {k: again.revisions(k) for k in wrote} == wrote


def test_a_missing_index_is_rebuilt_from_the_log(tmp_path):
    folder = tmp_path / "state"
    wrote, _ = write(folder, 30)
    shutil.rmtree(folder / "index")
    history = History.open(folder)
    assert {k: history.revisions_of(k) for k in wrote} == wrote
    assert (history.index.covered, history.index.last) == (0, 30)  # a small log is indexed in memory
    store = open_store(folder)  # the writer saves it
    store.close()
    assert reader(folder).covered == 30


def test_the_index_is_cut_back_when_a_torn_tail_is_dropped(tmp_path):
    folder = tmp_path / "state"
    wrote, _ = write(folder, 33)
    size = (folder / "history.log").stat().st_size
    os.truncate(folder / "history.log", size - 5)  # the last frame is torn
    store = open_store(folder)
    assert store.revision == 32 and store.recovery.dropped_bytes
    store.close()
    index = reader(folder)
    assert index.covered == 32 and not index.rebuilt
    assert {k: index.revisions(k) for k in wrote} == {k: [r for r in v if r <= 32] for k, v in wrote.items()}


def test_old_checkpoints_are_thinned_and_every_revision_is_still_reachable(tmp_path):
    folder = tmp_path / "state"
    _, live = write(folder, 400, every=5)
    revs = Checkpoints(folder / "checkpoints").revisions()
    assert revs[-16:] == list(range(325, 401, 5))  # the newest 16 at the writer's spacing
    old = revs[:-16]
    assert old[0] == 5 and all(b - a >= 50 for a, b in zip(old, old[1:]))  # sparser before
    for rev in (1, 49, 57, 250, 324, 333, 400):
        assert dict(load_snapshot(folder, rev).objects) == dict(live[rev].objects)
