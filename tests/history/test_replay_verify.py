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
