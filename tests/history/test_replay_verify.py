"""recon replay rebuilds every state from the log and finds what is corrupt."""

from __future__ import annotations

import zlib

from engine.history import verify
from engine.wal import LOG_HEADER, FrameReader


def _frames(log):
    with open(log, "rb") as f:
        return list(FrameReader(f, len(LOG_HEADER), log.stat().st_size))


def test_an_intact_log_verifies_with_every_checkpoint(recording):
    result = verify(recording.state)
    assert result.ok, result.problems
    assert result.revision == recording.store.revision
    assert result.checkpoints == len(list((recording.state / "checkpoints").iterdir())) > 0
    assert verify(recording.state, to=30).revision == 30


def test_a_flipped_byte_in_a_record_is_reported_with_the_revision_before_it(recording):
    log = recording.state / "history.log"
    frame = _frames(log)[39]  # revision 40
    data = bytearray(log.read_bytes())
    data[frame.start + 20] ^= 0x01
    log.write_bytes(bytes(data))
    result = verify(recording.state)
    assert not result.ok and result.revision == 39
    assert f"offset {frame.start}: checksum mismatch" in result.problems[0]
    assert "the record after revision 39 is corrupt" in result.problems[0]
    assert any("checkpoints exist beyond the last intact revision 39" in p for p in result.problems)


def test_a_rewritten_record_with_a_valid_checksum_fails_its_state_hash(recording):
    log = recording.state / "history.log"
    frames = _frames(log)
    frame = next(f for f in frames[40:] if b'"nodeName":"node-1"' in f.payload)
    revision = frames.index(frame) + 1
    payload = frame.payload.replace(b'"nodeName":"node-1"', b'"nodeName":"node-9"')
    length = len(payload).to_bytes(4, "little")
    crc = zlib.crc32(payload, zlib.crc32(length)).to_bytes(4, "little")
    data = log.read_bytes()
    log.write_bytes(data[:frame.start] + length + crc + payload + data[frame.end:])
    result = verify(recording.state)
    assert result.revision == revision
    assert result.problems[0].startswith(f"revision {revision} (offset {frame.start}): replaying it gives state hash")


def test_replay_of_a_log_without_revisions_says_there_is_nothing_to_replay(tmp_path):
    from history_helpers import recon
    from engine.wal import open_store

    open_store(tmp_path / "s").close()  # (the log is made with its header, before the first commit)
    proc = recon("replay", "--state", "s", cwd=tmp_path, check=0)
    assert (proc.stdout, proc.stderr) == ("nothing to replay: the history log holds no revision yet\n", "")
    # the other history commands say so too, each as it says "nothing there"
    history = recon("history", "--state", "s", cwd=tmp_path, check=0)
    assert (history.stdout, history.stderr) == ("", "No revisions yet: the history is empty.\n")
    check = recon("check", "--invariant", "count(Pod) >= 0", "--state", "s", cwd=tmp_path, check=2)
    assert check.stderr == "error: cannot check the invariant: there is no revision 1: the history is empty\n"


def test_replay_of_a_log_cut_to_nothing_says_its_history_is_lost(recording):
    from history_helpers import recon

    recording.close()
    (recording.state / "history.log").write_bytes(b"")
    proc = recon("replay", "--state", str(recording.state), cwd=recording.state.parent, check=1)
    assert proc.stdout == "replay FAILED: the history log holds no revision that can be read\n"
    log = recording.state / "history.log"
    assert proc.stderr == (f"error: {log}: the history log is empty (0 bytes, not even its header): "
                           "every revision it held is lost\n")
    history = recon("history", "--state", str(recording.state), cwd=recording.state.parent, check=1)
    assert history.stderr.startswith(f"error: {log}: the history log is empty (0 bytes, not even its header)")
