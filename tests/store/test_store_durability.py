"""The durable store: reopen, replay, checkpoints, time travel, locking, fsync policies."""

from __future__ import annotations

import errno
import os

import attrs
import pytest
from store_helpers import assert_indexes_match, config_map, pod

from engine.errors import PermanentError
from engine.objects import key_of
from engine.store import Snapshot, Store, Txn, apply_record, create, delete, put, update
from engine.wal import Checkpoints, HistoryLog, StateError, StateLocked, load_snapshot, open_store


def write_history(store: Store, count: int, start: int = 0) -> list[Snapshot]:
    """`count` commits of a small churning workload; every snapshot they made."""
    snaps = []
    for i in range(start, start + count):
        name = f"p{i % 7}"
        ops = [put(pod(name, labels={"app": "web" if i % 3 else "db"}, node=f"n{i % 4}", uid=f"u{i % 7}",
                       owners=(f"rs{i % 2}",), phase=f"phase-{i}"))]
        if i % 5 == 4:
            ops = [delete(key_of(pod(f"p{(i + 3) % 7}")))] if key_of(pod(f"p{(i + 3) % 7}")) in store.head else ops
        snaps.append(store.commit(Txn(tuple(ops), actor=f"writer-{i % 2}", cause=("step", i)), time=100.0 + i)[0])
    return snaps


@pytest.fixture
def state(tmp_path):
    return tmp_path / "state"


def test_a_new_folder_is_created_on_first_use(state):
    store = open_store(state)
    assert store.revision == 0 and len(store.head) == 0
    store.close()
    assert (state / "FORMAT").read_text() == "recon-state 1\n"
    assert sorted(os.listdir(state)) == ["FORMAT", "checkpoints", "history.log", "lock"]


def test_reopening_after_close_gives_the_same_state_and_revision(state):
    store = open_store(state)
    snaps = write_history(store, 40)
    store.close()
    again = open_store(state)
    assert again.revision == 40 == snaps[-1].revision
    assert again.head.objects == snaps[-1].objects
    assert again.head.state_hash == snaps[-1].state_hash
    assert_indexes_match(again.head, dict(snaps[-1].objects))
    write_history(again, 5, start=40)
    assert again.revision == 45
    again.close()


def test_replaying_the_log_gives_the_live_state_at_every_revision(state):
    store = open_store(state, checkpoint_every=10, checkpoint_ratio=0)
    snaps = write_history(store, 60)
    records = list(store.log.records())
    assert [r.revision for r in records] == list(range(1, 61))
    replayed = Snapshot()
    for record, live in zip(records, snaps):
        replayed = apply_record(replayed, record)
        assert replayed.objects == live.objects and replayed.state_hash == live.state_hash
        assert replayed.indexes == live.indexes and replayed.time == live.time
    assert (records[0].actor, records[0].cause) == ("writer-0", ("step", 0))
    store.close()


def test_opening_starts_from_the_newest_checkpoint_and_reads_no_record_before_it(state):
    store = open_store(state, checkpoint_every=10, checkpoint_ratio=0)
    write_history(store, 57)
    store.close()
    assert sorted(os.listdir(state / "checkpoints")) == [f"{r:020d}.ckpt" for r in (10, 20, 30, 40, 50)]
    again = open_store(state)
    recovery = again.recovery
    assert (recovery.checkpoint, recovery.replayed, recovery.revision) == (50, 7, 57)
    assert again.log.records_read == 7
    assert recovery.replay_from == again.log.checkpoints.position(50).end
    again.close()


def test_reading_records_from_a_revision_starts_at_a_checkpoint_and_decodes_only_what_it_yields(state):
    store = open_store(state, checkpoint_every=10, checkpoint_ratio=0)
    write_history(store, 45)
    log = store.log
    before = log.records_read
    assert [r.revision for r in log.records(33, 36)] == [33, 34, 35, 36]
    assert log.records_read - before == 4
    assert [r.revision for r in log.records(44)] == [44, 45]
    store.close()


def test_checkpoints_wait_for_the_log_to_outgrow_a_large_state(state):
    store = open_store(state, checkpoint_every=5, checkpoint_ratio=1.0)
    store.commit(Txn(tuple(create(config_map(f"big{i}", blob="x" * 2000)) for i in range(20))))
    for i in range(40):
        store.commit(Txn((put(config_map("small", n=str(i))),)))
    revisions = store.log.checkpoints.revisions()
    assert revisions[0] == 5 and len(revisions) == 1  # the next one waits for ~40 KB of log
    store.close()


def test_time_travel_loads_any_revision_from_the_nearest_checkpoint(state):
    store = open_store(state, checkpoint_every=10, checkpoint_ratio=0)
    snaps = write_history(store, 35)
    store.close()
    for revision in (1, 9, 10, 11, 20, 29, 35):
        snap = load_snapshot(state, revision)
        live = snaps[revision - 1]
        assert (snap.revision, snap.time, snap.objects, snap.state_hash) == (
            live.revision, live.time, live.objects, live.state_hash)
        assert snap.indexes == live.indexes
    assert len(load_snapshot(state, 0)) == 0


def test_time_travel_beyond_the_end_is_a_clear_error(state):
    store = open_store(state)
    write_history(store, 3)
    store.close()
    with pytest.raises(StateError, match=r"history.log: revision 9 is beyond the end of the history "
                                         r"\(the last intact revision is 3\)"):
        load_snapshot(state, 9)


def test_the_clock_resumes_at_the_time_of_the_last_record(state):
    store = open_store(state)
    write_history(store, 4)
    store.close()
    again = open_store(state)
    assert again.head.time == 103.0
    snap, _ = again.commit(Txn((create(config_map("later")),)))
    assert snap.time == 103.0  # the default clock stands still at the resumed time
    again.close()

    class Clock:
        def now(self):
            return 500.0

    timed = open_store(state, clock=Clock())
    assert timed.commit(Txn((create(config_map("later2")),)))[0].time == 500.0
    timed.close()


def test_a_second_writer_is_refused_while_the_first_holds_the_lock(state):
    first = open_store(state)
    with pytest.raises(StateLocked, match=r"lock: another recon process is writing this state folder"):
        open_store(state)
    first.close()
    open_store(state).close()  # the lock went with the first writer


def test_a_reader_sees_what_a_writer_has_committed_and_cannot_commit(state):
    writer = open_store(state, checkpoint_every=5, checkpoint_ratio=0)
    write_history(writer, 12)
    reader = open_store(state, readonly=True)
    assert reader.revision == 12 and reader.head.objects == writer.head.objects
    with pytest.raises(StateError, match="opened read-only"):
        reader.commit(Txn((create(config_map("no")),)))
    write_history(writer, 3, start=12)
    assert [r.revision for r in reader.log.records(13)] == [13, 14, 15]
    reader.close()
    writer.close()


def test_opening_read_only_a_folder_that_is_not_there_is_a_clear_error(tmp_path):
    with pytest.raises(StateError, match="is not a recon state folder"):
        open_store(tmp_path / "nowhere", readonly=True)


@pytest.mark.parametrize("policy, inside_batch, outside", [("batch", 1, 3), ("always", 10, 3), ("none", 0, 0)])
def test_fsync_policies_sync_per_commit_per_batch_or_never(state, monkeypatch, policy, inside_batch, outside):
    store = open_store(state, fsync=policy)
    calls = []
    monkeypatch.setattr(os, "fdatasync", lambda fd: calls.append(fd))
    with store.batch():
        for i in range(10):
            store.commit(Txn((put(config_map("a", n=str(i))),)))
    assert len(calls) == inside_batch
    calls.clear()
    for i in range(3):
        store.commit(Txn((put(config_map("b", n=str(i))),)))
    assert len(calls) == outside
    store.close()


def test_an_unknown_fsync_policy_is_refused(state):
    with pytest.raises(ValueError, match="fsync must be one of always, batch, none"):
        open_store(state, fsync="sometimes")


def test_a_failed_write_stops_the_store_taking_commits(state, monkeypatch):
    store = open_store(state)
    write_history(store, 3)

    def full(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", full)
    with pytest.raises(PermanentError, match="history.log: cannot write the history log .*No space left"):
        store.commit(Txn((create(config_map("x")),)))
    assert store.revision == 3
    monkeypatch.undo()
    with pytest.raises(StateError, match="stopped taking commits"):
        store.commit(Txn((create(config_map("y")),)))
    store.close()
    again = open_store(state)
    assert again.revision == 3
    again.close()


def test_updates_that_keep_index_entries_replay_to_the_same_indexes(state):
    store = open_store(state, checkpoint_every=2, checkpoint_ratio=0)
    store.commit(Txn((create(pod("a", labels={"app": "web"}, node="n1", uid="u1")),)))
    for phase in ("Pending", "Running", "Succeeded"):
        store.commit(Txn((update(pod("a", labels={"app": "web"}, node="n1", uid="u1", phase=phase)),)))
    live = store.head
    store.close()
    again = open_store(state)
    assert again.head.indexes == live.indexes and again.head.objects == live.objects
    again.close()


def test_a_history_log_refuses_a_revision_that_does_not_follow(state):
    store = open_store(state)
    write_history(store, 2)
    log: HistoryLog = store.log
    record = next(iter(log.records(2)))
    with pytest.raises(ValueError, match="revision 2 does not follow 2"):
        log.append(record)
    store.close()


def test_reopening_a_folder_whose_objects_were_all_deleted_keeps_its_revision(state):
    store = open_store(state)
    store.commit(Txn((create(config_map("a")),)))
    store.commit(Txn((delete(key_of(config_map("a"))),)))
    store.close()
    again = open_store(state)
    assert again.revision == 2 and len(again.head) == 0
    again.close()


def test_a_checkpoint_that_reuses_earlier_work_is_byte_for_byte_one_written_from_scratch(state, tmp_path):
    store = open_store(state, checkpoint_every=10, checkpoint_ratio=0)
    write_history(store, 25)
    store.close()
    store = open_store(state, checkpoint_every=10, checkpoint_ratio=0)  # nothing fresh: encodes what changed
    snaps = write_history(store, 20, start=25)
    store.close()
    checkpoints = Checkpoints(state / "checkpoints")
    scratch = Checkpoints(tmp_path / "scratch")
    scratch.folder.mkdir()
    for revision in (10, 20, 30, 40):
        live = snaps[revision - 26] if revision > 25 else load_snapshot(state, revision)
        scratch.write(live, checkpoints.position(revision))
        assert scratch.path(revision).read_bytes() == checkpoints.path(revision).read_bytes()
        os.unlink(scratch.path(revision))


def test_checkpoints_written_from_the_entries_a_writer_keeps_are_byte_for_byte_ones_written_from_scratch(
        state, tmp_path):
    # Most objects stay as the first checkpoint holds them, some are rewritten, deleted or made
    # again under the same name; every later checkpoint takes the untouched ones from the entries
    # the writer kept of the one before.
    store = open_store(state, checkpoint_every=10, checkpoint_ratio=0)
    store.commit(Txn(tuple(create(config_map(f"cm{i}", n="0")) for i in range(30))))
    snaps = {}
    for i in range(1, 45):
        name = f"cm{i % 6}"
        key = key_of(config_map(name))
        if i % 4 == 0 and key in store.head:
            ops = (delete(key),)
        else:
            ops = (put(config_map(name, n=str(i))),)
        snap = store.commit(Txn(ops))[0]
        snaps[snap.revision] = snap
    checkpointer = store.listeners[-1]
    assert checkpointer.entries is not None and set(checkpointer.entries) == set(snaps[40].objects)
    store.close()
    checkpoints = Checkpoints(state / "checkpoints")
    scratch = Checkpoints(tmp_path / "scratch")
    scratch.folder.mkdir()
    assert checkpoints.revisions() == [10, 20, 30, 40]
    for revision in checkpoints.revisions():
        scratch.write(snaps[revision], checkpoints.position(revision))
        assert scratch.path(revision).read_bytes() == checkpoints.path(revision).read_bytes()
        assert checkpoints.load(revision).objects == snaps[revision].objects


def test_an_object_logged_without_its_content_is_encoded_at_the_checkpoint(state):
    # A commit record may carry an object without its encoded content; the entry kept from the
    # last checkpoint is then stale, and the object is encoded again.
    store = open_store(state, checkpoint_every=1, checkpoint_ratio=0)
    store.commit(Txn((create(config_map("a", n="1")),)))
    checkpointer = store.listeners.pop()  # (kept the entries of checkpoint 1)
    snap, _events = store.commit(Txn((put(config_map("a", n="2")),)))
    record = next(iter(store.log.records(2)))
    checkpointer(snap, (), attrs.evolve(record, ops=(attrs.evolve(record.ops[0], content=None),)))
    store.close()
    assert load_snapshot(state, 2).objects == snap.objects


def test_a_commit_the_checkpointer_did_not_see_is_encoded_not_taken_stale(state):
    # The entries kept from the last checkpoint are used only for the very objects they were
    # taken from: an object changed behind the checkpointer's back is encoded again.
    store = open_store(state, checkpoint_every=1, checkpoint_ratio=0)
    store.commit(Txn((create(config_map("a", n="1")),)))
    checkpointer = store.listeners.pop()
    store.commit(Txn((put(config_map("a", n="2")),)))  # (not seen by it)
    store.listeners.append(checkpointer)
    snap, _events = store.commit(Txn((create(config_map("b", n="3")),)))
    store.close()
    assert Checkpoints(state / "checkpoints").load(3).objects == snap.objects
    assert load_snapshot(state, 3).objects == snap.objects
