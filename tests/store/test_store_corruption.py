"""A damaged state folder: torn or corrupt log tails are cut off; anything else is a clear error."""

from __future__ import annotations

import os
import shutil
import zlib

import orjson
import pytest
from store_helpers import config_map

from engine.errors import PermanentError
from engine.store import Txn, create, put
from engine.wal import LOG_HEADER, FrameReader, StateError, load_snapshot, open_store

RECORDS = 8
LAST = 3  # the records whose every byte is cut and flipped


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    """A folder with RECORDS small commits: (its files, each frame's (start, end), each state hash)."""
    folder = tmp_path_factory.mktemp("history") / "state"
    store = open_store(folder, checkpoint_every=10_000)
    hashes = [store.head.state_hash]
    for i in range(RECORDS):
        hashes.append(store.commit(Txn((put(config_map(f"c{i % 3}", n=str(i))),)), time=float(i))[0].state_hash)
    store.close()
    log = (folder / "history.log").read_bytes()
    with open(folder / "history.log", "rb") as f:
        frames = [(fr.start, fr.end) for fr in FrameReader(f, len(LOG_HEADER), len(log))]
    assert len(frames) == RECORDS and frames[-1][1] == len(log)
    return {"format": (folder / "FORMAT").read_bytes(), "log": log, "frames": frames, "hashes": hashes}


def fresh(folder, history, log: bytes):
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    (folder / "FORMAT").write_bytes(history["format"])
    (folder / "history.log").write_bytes(log)


def intact_prefix(frames, damaged_at: int) -> tuple[int, int]:
    """(revision, end offset) of the last frame that ends before `damaged_at`."""
    kept = [end for _start, end in frames if end <= damaged_at]
    return len(kept), kept[-1] if kept else len(LOG_HEADER)


def assert_recovers(folder, history, damaged_at: int, log_size: int):
    revision, end = intact_prefix(history["frames"], damaged_at)
    store = open_store(folder)
    try:
        assert store.revision == revision
        assert store.head.state_hash == history["hashes"][revision]
        assert store.recovery.dropped_bytes == log_size - end
        assert os.path.getsize(folder / "history.log") == end
        if store.recovery.saved_to:
            with open(store.recovery.saved_to, "rb") as f:
                assert len(f.read()) == log_size - end
    finally:
        store.close()


@pytest.fixture
def no_fsync(monkeypatch):
    """Hundreds of recoveries in a row: their fsyncs are not what these tests are about."""
    monkeypatch.setattr(os, "fsync", lambda fd: None)
    monkeypatch.setattr(os, "fdatasync", lambda fd: None)


def test_a_log_cut_at_any_byte_of_its_last_records_recovers_the_intact_prefix(tmp_path, history, no_fsync):
    folder = tmp_path / "state"
    start = history["frames"][-LAST][0]
    for cut in range(start, len(history["log"])):
        fresh(folder, history, history["log"][:cut])
        assert_recovers(folder, history, cut, cut)


def test_a_flipped_byte_in_the_last_records_recovers_the_intact_prefix(tmp_path, history, no_fsync):
    folder = tmp_path / "state"
    start = history["frames"][-LAST][0]
    for at in range(start, len(history["log"])):
        log = bytearray(history["log"])
        log[at] ^= 0x01
        fresh(folder, history, bytes(log))
        # The frame holding the flipped byte and every later one are gone.
        damaged_frame_start = max(s for s, _e in history["frames"] if s <= at)
        assert_recovers(folder, history, damaged_frame_start, len(log))


def test_a_torn_tail_is_reported_and_a_corrupt_one_is_kept_aside(tmp_path, history, caplog):
    folder = tmp_path / "state"
    cut = history["frames"][-1][0] + 5
    fresh(folder, history, history["log"][:cut])
    with caplog.at_level("WARNING", logger="recon.store"):
        store = open_store(folder)
    assert store.recovery.dropped_bytes == 5 and store.recovery.saved_to is None
    assert "a frame header is cut short" in store.recovery.reason
    assert "dropped the 5 bytes after the last intact record (revision 7)" in caplog.text
    store.close()

    log = bytearray(history["log"])
    log[history["frames"][-2][0] + 20] ^= 0xFF
    fresh(folder, history, bytes(log))
    store = open_store(folder)
    assert store.revision == RECORDS - 2 and "checksum mismatch" in store.recovery.reason
    dropped_at = history["frames"][-2][0]
    assert store.recovery.saved_to == str(folder / f"history.log.dropped-at-{dropped_at}")
    assert open(store.recovery.saved_to, "rb").read() == bytes(log[dropped_at:])
    store.close()


def test_recovery_leaves_a_valid_log_that_takes_new_commits(tmp_path, history):
    folder = tmp_path / "state"
    fresh(folder, history, history["log"][:-7])
    store = open_store(folder)
    assert store.revision == RECORDS - 1
    store.commit(Txn((create(config_map("after")),)))
    store.close()
    again = open_store(folder)
    assert again.revision == RECORDS and again.recovery.dropped_bytes == 0
    assert [r.revision for r in again.log.records()] == list(range(1, RECORDS + 1))
    again.close()


def test_a_reader_stops_before_a_torn_tail_without_touching_the_file(tmp_path, history):
    folder = tmp_path / "state"
    fresh(folder, history, history["log"][:-3])
    store = open_store(folder, readonly=True)
    assert store.revision == RECORDS - 1 and store.recovery.dropped_bytes > 0
    store.close()
    assert (folder / "history.log").read_bytes() == history["log"][:-3]


def test_time_travel_past_a_corrupt_record_says_where_the_log_is_broken(tmp_path, history):
    folder = tmp_path / "state"
    log = bytearray(history["log"])
    log[history["frames"][2][0] + 12] ^= 0x01
    fresh(folder, history, bytes(log))
    with pytest.raises(StateError, match=r"revision 6 cannot be read: the history log is damaged after "
                                         r"revision 2 \(offset \d+: checksum mismatch\); run 'recon replay'"):
        load_snapshot(folder, 6)  # (the log's damage, not a revision past its end)


# ------------------------------------------------------ clear errors, no reset


def make_folder(tmp_path, commits: int = 25, prefix: str = "c"):
    folder = tmp_path / "state"
    store = open_store(folder, checkpoint_every=10, checkpoint_ratio=0)
    for i in range(commits):
        store.commit(Txn((put(config_map(f"{prefix}{i % 4}", n=str(i))),)))
    store.close()
    return folder


def test_a_corrupt_checkpoint_is_a_clear_error_naming_the_file(tmp_path):
    folder = make_folder(tmp_path)
    ckpt = folder / "checkpoints" / "00000000000000000020.ckpt"
    data = bytearray(ckpt.read_bytes())
    data[-10] ^= 0x01
    ckpt.write_bytes(bytes(data))
    with pytest.raises(PermanentError) as info:
        open_store(folder)
    assert str(info.value) == (f"{ckpt}: checksum mismatch in its objects — the file is corrupt; "
                               "move it away to rebuild from the log")
    assert not isinstance(info.value, OSError)
    os.rename(ckpt, tmp_path / "moved-away.ckpt")
    store = open_store(folder)  # from the checkpoint before it, then the log
    assert store.revision == 25 and store.recovery.checkpoint == 10
    store.close()


def test_a_checkpoint_cut_short_is_a_clear_error(tmp_path):
    folder = make_folder(tmp_path)
    ckpt = folder / "checkpoints" / "00000000000000000020.ckpt"
    ckpt.write_bytes(ckpt.read_bytes()[:40])
    with pytest.raises(StateError, match=r"00000000000000000020.ckpt: cut short .*move it away"):
        open_store(folder)


def test_a_foreign_file_as_checkpoint_is_a_clear_error(tmp_path):
    folder = make_folder(tmp_path)
    ckpt = folder / "checkpoints" / "00000000000000000020.ckpt"
    ckpt.write_bytes(b"PK\x03\x04 a zip file")
    with pytest.raises(StateError, match=r"00000000000000000020.ckpt: not a recon checkpoint \(bad header\)"):
        open_store(folder)


def test_a_checkpoint_from_another_log_is_refused(tmp_path):
    folder = make_folder(tmp_path)
    other = make_folder(tmp_path / "other", commits=12, prefix="other")
    shutil.copy(other / "checkpoints" / "00000000000000000010.ckpt",
                folder / "checkpoints" / "00000000000000000020.ckpt")
    with pytest.raises(StateError, match=r"00000000000000000020.ckpt: holds revision 10, not the 20"):
        open_store(folder)
    os.unlink(folder / "checkpoints" / "00000000000000000020.ckpt")
    (other / "history.log").write_bytes((folder / "history.log").read_bytes())  # another history
    with pytest.raises(StateError, match=r"00000000000000000010.ckpt: does not match history.log"):
        open_store(other)


def test_a_foreign_file_as_the_log_is_a_clear_error(tmp_path):
    folder = make_folder(tmp_path)
    (folder / "history.log").write_bytes(b'{"not": "a recon log"}\n' * 10)
    for readonly in (False, True):
        with pytest.raises(StateError, match=r"history.log: not a recon history log \(bad header\)"):
            open_store(folder, readonly=readonly)
    (folder / "history.log").write_bytes(b"recon history 7\n")
    with pytest.raises(StateError, match=r"history.log: history log format 7 is not supported"):
        open_store(folder)


def test_a_wrong_format_version_is_a_clear_error(tmp_path):
    folder = make_folder(tmp_path)
    (folder / "FORMAT").write_text("recon-state 2\n")
    with pytest.raises(StateError, match=r"FORMAT: state format 2 is not supported by this recon "
                                         r"\(it reads format 1\)"):
        open_store(folder)
    (folder / "FORMAT").write_text("something else")
    with pytest.raises(StateError, match=r"FORMAT: not a recon FORMAT file"):
        open_store(folder, readonly=True)


def test_a_folder_that_holds_other_things_is_not_taken_over(tmp_path):
    folder = tmp_path / "state"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    with pytest.raises(StateError, match=r"state: is not empty and has no FORMAT file"):
        open_store(folder)
    assert sorted(os.listdir(folder)) == ["lock", "notes.txt"]


def test_a_missing_log_beside_checkpoints_is_a_clear_error(tmp_path):
    folder = make_folder(tmp_path)
    os.unlink(folder / "history.log")
    with pytest.raises(StateError, match=r"history.log: the history log is missing but checkpoints exist"):
        open_store(folder)


def _append_frame(folder, payload: bytes) -> None:
    length = len(payload).to_bytes(4, "little")
    crc = zlib.crc32(payload, zlib.crc32(length)).to_bytes(4, "little")
    with open(folder / "history.log", "ab") as f:
        f.write(length + crc + payload)


def test_a_record_whose_replay_does_not_give_its_state_hash_is_a_clear_error(tmp_path):
    folder = make_folder(tmp_path, commits=3)
    _append_frame(folder, orjson.dumps({"actor": "x", "cause": [], "hash": 12345, "rev": 4, "time": 0.0,
                                        "ops": [{"op": "delete", "key": ["", "ConfigMap", "default", "c0"]}]}))
    with pytest.raises(StateError, match=r"history.log: revision 4 \(offset \d+\): replaying it gives state hash "
                                         r"[0-9a-f]{16}, the log recorded 0000000000003039"):
        open_store(folder)


def test_a_well_framed_record_out_of_order_or_not_json_is_a_clear_error(tmp_path):
    folder = make_folder(tmp_path, commits=3)
    _append_frame(folder, orjson.dumps({"actor": "x", "cause": [], "hash": 0, "rev": 9, "time": 0.0, "ops": []}))
    with pytest.raises(StateError, match=r"revision 9 where 4 was expected — the log is out of order"):
        open_store(folder)
    folder = make_folder(tmp_path / "b", commits=3)
    _append_frame(folder, b"\x00garbage")
    with pytest.raises(StateError, match=r"history.log: offset \d+: the record is not valid"):
        open_store(folder)


def test_a_checkpoint_being_written_when_the_process_died_is_ignored(tmp_path):
    folder = make_folder(tmp_path)
    (folder / "checkpoints" / ".00000000000000000030.ckpt.tmp").write_bytes(b"half a checkpo")
    store = open_store(folder)
    assert store.revision == 25 and store.recovery.checkpoint == 20
    store.close()
    assert not any(n.endswith(".tmp") for n in os.listdir(folder / "checkpoints"))


def test_a_file_where_the_folder_should_be_is_a_clear_error(tmp_path):
    (tmp_path / "state").write_text("oops")
    with pytest.raises(StateError, match=r"state: File exists"):
        open_store(tmp_path / "state")
