"""The durable history: a checksummed log of every commit, and checkpoints.

A state folder (default `.recon/`) holds::

    FORMAT                      "recon-state 1": what wrote the folder
    lock                        flock()ed by the one process that writes
    clock                       while it runs, how the writer's clock reads (`StateFolder.writer_now`)
    history.log                 a header, then one frame per commit
    checkpoints/<rev>.ckpt      full snapshots, each written atomically
    index/history.sqlite        revision → frame offset, key → revisions (`logindex.py`;
                                derived from the log, checked against it, rebuildable)

A log frame is `u32 length, u32 crc32(length bytes + payload), payload`
(little-endian).  The payload is canonical JSON::

    {"actor": …, "cause": […], "hash": state_hash, "rev": R, "time": t,
     "ops": [{"op": "put", "key": [g, k, ns, n], "obj": {…}},
             {"op": "delete", "key": [g, k, ns, n]}]}

Objects are logged without `metadata.resourceVersion`: it is always the
record's revision, and is put back when the record is read.

A commit is appended before it is acknowledged; `fsync` says when the log
reaches the disk: "batch" (default: once per commit, or once per
`Store.batch()` — group commit), "always" (every commit, even inside a
batch) or "none" (written to the OS only).  After a crash the last frame may
be torn: opening keeps every intact frame, cuts the rest off and says so in
`store.recovery` (never a silent reset).  Anything else wrong with the
folder — a corrupt checkpoint, a foreign file, another format version, a
replayed state that does not hash to the recorded one — raises `StateError`
naming the file.

A checkpoint holds every object at one revision, their hashes, and where in
the log that revision's frame ends, so opening loads the newest checkpoint
and replays only the frames after it, and `load_snapshot` travels to any
revision from the nearest checkpoint below it: it parses the frames in
between but builds only the last version of each object they write, then
checks the state hash recorded at that revision.

Checkpoint spacing: the writer cuts one every `checkpoint_every` revisions
once the log has also grown by `checkpoint_ratio` × the last checkpoint's
size.  The newest `DENSE_CHECKPOINTS` stay; older ones are thinned to one
per `SPARSE_FACTOR` × `checkpoint_every` revisions and `SPARSE_RATIO` × their
size in log bytes (`Checkpoints.thin`).  So checkpoints of the past take at
most half the log's bytes, and a jump anywhere parses a bounded number of
frames (about 10,000 with the defaults): at a million revisions a jump
costs the same as at fifty thousand.
"""

from __future__ import annotations

import fcntl
import gc
import logging
import os
import sqlite3
import struct
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

import attrs
import orjson
from pyrsistent import pmap

from .errors import PermanentError
from .logindex import FLUSH_EVERY as INDEX_FLUSH_EVERY
from .logindex import FramePos, LogIndex, writer
from .objects import resource_version
from .store import (
    CommitRecord,
    RecordOp,
    Snapshot,
    Store,
    Interner,
    _plain,
    _SnapshotBuilder,
    apply_record,
    build_snapshot,
    content_of,
    object_hash,
)

logger = logging.getLogger("recon.store")

FORMAT_TEXT = "recon-state 1\n"
LOG_HEADER = b"recon history 1\n"
CHECKPOINT_HEADER = b"recon checkpoint 1\n"
FSYNC_POLICIES = ("always", "batch", "none")

_FRAME = struct.Struct("<II")  # log frame: length, crc
DENSE_CHECKPOINTS = 16  # the newest checkpoints, kept at the writer's spacing
SPARSE_FACTOR = 10  # older ones: at least this × `checkpoint_every` revisions apart …
SPARSE_RATIO = 2.0  # … and this × their own size in log bytes (`Checkpoints.thin`)
_CKPT_FRAME = struct.Struct("<QI")  # checkpoint frame: length, crc
_SORTED = orjson.OPT_SORT_KEYS


class StateError(PermanentError):
    """The state folder is not what recon can safely use; names the file."""

    def __init__(self, path: str | os.PathLike, message: str):
        self.path = str(path)
        super().__init__(f"{self.path}: {message}")


class StateLocked(StateError):
    """Another process holds the state folder's writer lock."""


# ------------------------------------------------------------------ records


def encode_record(record: CommitRecord) -> bytes:
    """The canonical JSON payload of one commit."""
    ops = []
    for op in record.ops:
        if op.type == "delete":
            ops.append({"op": "delete", "key": op.key})
        else:
            content = op.content if op.content is not None else content_of(op.obj)
            ops.append({"op": "put", "key": op.key, "obj": orjson.Fragment(content)})
    return orjson.dumps(
        {"actor": record.actor, "cause": record.cause, "hash": record.state_hash,
         "ops": ops, "rev": record.revision, "time": record.time},
        default=_plain, option=_SORTED,
    )


def decode_record(payload: bytes, interner: Interner | None = None) -> CommitRecord:
    freeze_object = (interner or Interner()).freeze_object
    data = orjson.loads(payload)
    revision = data["rev"]
    ops = []
    for op in data["ops"]:
        key = tuple(op["key"])
        if op["op"] == "delete":
            ops.append(RecordOp("delete", key))
        else:
            # The logged object is canonical JSON, and orjson keeps its key
            # order: dumping it again gives back the content its hash covers.
            content = orjson.dumps(op["obj"])
            ops.append(RecordOp("put", key, freeze_object(op["obj"], revision), content))
    return CommitRecord(revision, data["time"], data["actor"], _tuplify(data["cause"]),
                        tuple(ops), data["hash"])


def _tuplify(value: Any) -> Any:
    """JSON back into a cause: lists become tuples, maps frozen maps."""
    if isinstance(value, list):
        return tuple(_tuplify(v) for v in value)
    if isinstance(value, dict):
        return pmap({k: _tuplify(v) for k, v in value.items()})
    return value


def _frame(payload: bytes) -> tuple[bytes, int]:
    length = len(payload).to_bytes(4, "little")
    crc = zlib.crc32(payload, zlib.crc32(length))
    return length + crc.to_bytes(4, "little") + payload, crc


@attrs.frozen
class Frame:
    start: int
    end: int
    crc: int
    payload: bytes


class FrameReader:
    """Reads log frames from `offset` up to the first one that is not intact.

    After iterating, `end` is the offset after the last intact frame and
    `problem` says why reading stopped early (None: clean end of file).
    """

    def __init__(self, f: BinaryIO, offset: int, size: int):
        self.f, self.end, self.size = f, offset, size
        self.problem: str | None = None
        self.incomplete = False  # the bad frame runs past the end of the file

    def __iter__(self) -> Iterator[Frame]:
        f = self.f
        f.seek(self.end)
        while self.end < self.size:
            start = self.end
            header = f.read(_FRAME.size)
            if len(header) < _FRAME.size:
                self._stop("a frame header is cut short", incomplete=True)
                return
            length, crc = _FRAME.unpack(header)
            if start + _FRAME.size + length > self.size:
                self._stop(f"a frame of {length} bytes runs past the end of the file", incomplete=True)
                return
            payload = f.read(length)
            if zlib.crc32(payload, zlib.crc32(header[:4])) != crc:
                self._stop("checksum mismatch")
                return
            self.end = start + _FRAME.size + length
            yield Frame(start, self.end, crc, payload)

    def skip(self, count: int) -> None:
        """Step over `count` frames reading only their headers."""
        fd = self.f.fileno()
        for _ in range(count):
            header = os.pread(fd, _FRAME.size, self.end)
            if len(header) < _FRAME.size:
                return
            self.end += _FRAME.size + _FRAME.unpack(header)[0]

    def _stop(self, problem: str, incomplete: bool = False) -> None:
        self.problem = f"offset {self.end}: {problem}"
        self.incomplete = incomplete


# ------------------------------------------------------------------ the log


@attrs.frozen
class LogPos:
    """Where one revision's frame sits in the log (a checkpoint records it)."""

    revision: int
    end: int  # the offset just after the frame
    start: int = 0  # the frame's own offset, and its crc: they tie a
    crc: int = 0  # checkpoint to the very log it was cut from


class HistoryLog:
    """The append-only history log of one state folder.

    A writer (`readonly=False`) holds the folder's lock, appends frames to a
    buffer and writes them out on `sync()`; a reader only reads.
    """

    def __init__(self, path: str | os.PathLike, *, fsync: str = "batch", readonly: bool = False,
                 checkpoints: "Checkpoints | None" = None, lock_fd: int | None = None):
        if fsync not in FSYNC_POLICIES:
            raise ValueError(f"fsync must be one of {', '.join(FSYNC_POLICIES)}, not {fsync!r}")
        self.path = Path(path)
        self.fsync = fsync
        self.readonly = readonly
        self.checkpoints = checkpoints
        self.tail = LogPos(0, len(LOG_HEADER))
        self.records_read = 0  # frames decoded by this process (tests and benchmarks read it)
        self.problem: str | None = None  # why the last `records()` stopped before the end
        self._lock_fd = lock_fd
        self._buffer: list[bytes] = []
        self._written = len(LOG_HEADER)  # bytes handed to the OS
        self._synced = True
        self._failed: str | None = None
        self._fd = -1 if readonly else self._open_for_append()
        self.index: LogIndex | None = None  # the writer's offset and key index (`open_store` attaches it)
        _check_log_header(self.path)

    @property
    def last_revision(self) -> int:
        return self.tail.revision

    @property
    def size(self) -> int:
        """The log's length once everything appended is written."""
        return self.tail.end

    # -- writing
    def append(self, record: CommitRecord) -> None:
        """Add one commit after the last (buffered until `sync()`)."""
        if self.readonly:
            raise StateError(self.path, "this store was opened read-only; it cannot commit")
        if self._failed:
            raise StateError(self.path, f"the log stopped taking commits after an error: {self._failed}")
        if record.revision != self.tail.revision + 1:
            raise ValueError(f"revision {record.revision} does not follow {self.tail.revision}")
        frame, crc = _frame(encode_record(record))
        start = self.tail.end
        self._buffer.append(frame)
        self.tail = LogPos(record.revision, start + len(frame), start, crc)
        if self.index is not None:
            self.index.add(record.revision, FramePos(start, len(frame) - _FRAME.size, crc),
                           [orjson.dumps(op.key).decode() for op in record.ops], writer(record.actor, record.cause))
        if self.fsync == "always":
            self.sync()

    def sync(self, durable: bool | None = None) -> None:
        """Write out what is buffered; fsync unless the policy is "none".

        `durable=True` fsyncs whatever the policy (before a checkpoint).
        """
        if self.readonly:
            return
        self._write()
        if self._synced or not (durable or (durable is None and self.fsync != "none")):
            return
        try:
            _fdatasync(self._fd)
        except OSError as exc:
            self._fail(exc)
        self._synced = True

    def _write(self) -> None:
        if not self._buffer:
            return
        if self._failed:
            raise StateError(self.path, f"the log stopped taking commits after an error: {self._failed}")
        data = b"".join(self._buffer)
        self._buffer.clear()
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view):]
        except OSError as exc:
            self._fail(exc)
        self._written += len(data)
        self._synced = False
        if self.index is not None and len(self.index._tail_frames) >= INDEX_FLUSH_EVERY:
            self._flush_index()

    def _flush_index(self) -> None:
        # The index is derived from the log: failing to write it costs a
        # rebuild later, never a commit.
        try:
            self.index.flush()
        except (sqlite3.Error, OSError) as exc:
            logger.warning("%s: cannot write the history index (%s); it will be rebuilt from the log",
                           self.index.path, exc)
            self.index.discard()
            self.index = None

    def _fail(self, exc: OSError) -> None:
        # Fail-stop: after a failed write or fsync the file's state is unknown,
        # so no later commit may be acknowledged on top of it.
        self._failed = str(exc)
        raise StateError(self.path, f"cannot write the history log ({exc}); "
                         "the store stops taking commits; reopen it to recover") from exc

    def close(self) -> None:
        try:
            if not self.readonly and self._fd >= 0 and not self._failed:
                self.sync()
                if self.index is not None:
                    self._flush_index()
        finally:
            if self.index is not None:
                self.index.discard()
                self.index = None
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1
            if self._lock_fd is not None:
                os.close(self._lock_fd)  # releases the flock
                self._lock_fd = None

    def _open_for_append(self) -> int:
        try:
            return os.open(self.path, os.O_WRONLY | os.O_APPEND)
        except OSError as exc:
            raise StateError(self.path, f"cannot open the history log: {exc.strerror}") from exc

    # -- reading
    def records(self, from_rev: int = 1, to_rev: int | None = None,
                interner: Interner | None = None) -> Iterator[CommitRecord]:
        """The commits from `from_rev` to `to_rev` (default: the last intact one).

        Starts at the newest checkpoint before `from_rev` and steps over the
        frames up to it without decoding them.
        """
        interner = interner or Interner()
        self._write()
        pos = self._start_for(from_rev)
        with open(self.path, "rb") as f:
            reader = FrameReader(f, pos.end, os.fstat(f.fileno()).st_size)
            reader.skip(max(0, from_rev - pos.revision - 1))
            expected = max(from_rev, pos.revision + 1)
            self.problem = None
            for frame in reader:
                if to_rev is not None and expected > to_rev:
                    return
                record = self._decode(frame, expected, interner)
                expected += 1
                yield record
            self.problem = reader.problem
            if reader.problem and not self.readonly and reader.end < self._written:
                raise StateError(self.path, f"{reader.problem} in the middle of the log")

    def _start_for(self, from_rev: int) -> LogPos:
        if self.checkpoints is not None:
            for rev in reversed(self.checkpoints.revisions()):
                if rev < from_rev:
                    try:
                        return self.checkpoints.position(rev)
                    except FileNotFoundError:
                        continue  # a writer thinned it out just now: the next one below will do
        return LogPos(0, len(LOG_HEADER))

    def _decode(self, frame: Frame, expected: int, interner: Interner) -> CommitRecord:
        try:
            record = decode_record(frame.payload, interner)
        except (ValueError, KeyError, TypeError) as exc:
            raise StateError(self.path, f"offset {frame.start}: the record is not valid ({exc})") from exc
        if record.revision != expected:
            raise StateError(self.path, f"offset {frame.start}: revision {record.revision} where "
                             f"{expected} was expected — the log is out of order")
        self.records_read += 1
        return record


@contextmanager
def _os_errors_named(root: Path) -> Iterator[None]:
    """An OSError (no permission, a file where a folder should be) as a StateError naming the file."""
    try:
        yield
    except OSError as exc:
        raise StateError(exc.filename or root, exc.strerror or str(exc)) from exc


@contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic GC while loading, and the loaded state kept out of its sight after.

    What a load makes is acyclic (reference counting frees it) and
    long-lived.  Collecting while it grows cost 3-6x the load itself, and
    afterwards each full collection walked all of it again: commits ran 6x
    slower after opening 20k Pods until `gc.freeze()` moved them to the
    permanent generation (bench/store.py, measured on CPU time).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def _fdatasync(fd: int) -> None:
    (getattr(os, "fdatasync", None) or os.fsync)(fd)


def _check_log_header(path: Path) -> None:
    try:
        with open(path, "rb") as f:
            header = f.read(len(LOG_HEADER))
    except FileNotFoundError as exc:
        raise StateError(path, "the history log is missing") from exc
    if header == LOG_HEADER:
        return
    if not header:  # (the log is made whole, header and all: an empty one was cut to nothing)
        raise StateError(path, "the history log is empty (0 bytes, not even its header): every revision it "
                         "held is lost; move it away, or point recon at another state folder")
    if header.startswith(b"recon history "):
        version = header[len(b"recon history "):].strip().decode(errors="replace")
        raise StateError(path, f"history log format {version} is not supported by this recon "
                         f"(it reads format 1); use the recon that wrote it")
    raise StateError(path, "not a recon history log (bad header); move it away, "
                     "or point recon at another state folder")


def _create_log(path: Path) -> None:
    _write_atomically(path, LOG_HEADER)


# -------------------------------------------------------------- checkpoints


class Checkpoints:
    """The checkpoints folder: full snapshots, one file per revision."""

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)
        self._meta: dict[int, dict] = {}

    def path(self, revision: int) -> Path:
        return self.folder / f"{revision:020d}.ckpt"

    def revisions(self) -> list[int]:
        try:
            names = os.listdir(self.folder)
        except FileNotFoundError:
            return []
        revs = []
        for name in names:
            stem, dot, ext = name.partition(".")
            if ext == "ckpt" and dot and stem.isdigit():
                revs.append(int(stem))
        return sorted(revs)

    def remove_temporaries(self) -> None:
        """Drop what a crash left of a checkpoint being written (writer only)."""
        for name in os.listdir(self.folder):
            if name.endswith(".tmp"):
                os.unlink(self.folder / name)

    def write(self, snap: Snapshot, pos: LogPos, fresh: dict | None = None,
              base: dict | None = None) -> tuple[int, dict]:
        """Write the checkpoint of `snap` (whose frame is at `pos`); its size and its entries.

        Objects are stored as their content (`content_of`) beside their
        resourceVersion and hash.  The content of an object is taken from
        `fresh` (key → (rv, content, object) of what was written since the
        last checkpoint), else from `base`, the entries (the same triples)
        of the checkpoint `fresh` is relative to, which its writer keeps;
        from either only when the entry holds the very object the snapshot
        holds (so a commit its writer did not see is encoded, not taken
        stale).  Without
        `base`, from the newest checkpoint before this one on disk when the
        object's resourceVersion is the same there; else it is encoded.  So
        a checkpoint costs I/O, and CPU only for what changed.  The entries
        returned are this checkpoint's, the `base` of the next one.
        """
        if base is None:
            previous = self._previous_contents(snap.revision)
        fresh = fresh or {}
        items = sorted(snap.objects.items())  # (keys are unique: objects are never compared)
        entries = {}
        for key, obj in items:
            known = fresh.get(key)
            if known is None and base is not None:
                known = base.get(key)
            if known is None or known[2] is not obj or known[1] is None:  # (None: written, not kept)
                rv = resource_version(obj)
                content = previous.get((key, rv)) if base is None else None
                # (a copy: a view would keep the whole previous checkpoint's buffer alive)
                known = (rv, bytes(content) if content is not None else content_of(obj), obj)
            entries[key] = known
        keys = [key for key, _obj in items]
        known_hash = snap.hashes.__getitem__
        contents = [known[1] for known in entries.values()]
        index = orjson.dumps({"hashes": [known_hash(key) for key in keys], "keys": keys,
                              "lengths": [len(c) for c in contents],
                              "rvs": [known[0] for known in entries.values()]})
        meta = orjson.dumps({
            "count": len(keys), "hash": snap.state_hash, "rev": snap.revision, "time": snap.time,
            "log": {"end": pos.end, "start": pos.start, "crc": pos.crc},
        }, option=_SORTED)
        # The objects' frame is written from its parts: joined, a large state's JSON would be
        # copied twice more into fresh memory.
        parts = [b"["]
        for content in contents:
            parts.append(content)
            parts.append(b",")
        if contents:
            parts.pop()
        parts.append(b"]")
        head = CHECKPOINT_HEADER + _ckpt_frame(meta) + _ckpt_frame(index) + _ckpt_header(parts)
        _write_atomically(self.path(snap.revision), [head, *parts])
        return len(head) + sum(map(len, parts)), entries

    def _previous_contents(self, revision: int) -> dict:
        """(key, rv) → content of the newest checkpoint before `revision` ({} if none, or unreadable)."""
        older = [r for r in self.revisions() if r < revision]
        if not older:
            return {}
        try:
            index, objects = self._read_body(older[-1])
        except (OSError, StateError) as exc:
            logger.warning("%s: not reusing it for the next checkpoint (%s)", self.path(older[-1]), exc)
            return {}
        view, at, found = memoryview(objects), 1, {}
        for key, rv, length in zip(index["keys"], index["rvs"], index["lengths"]):
            found[(tuple(key), rv)] = view[at:at + length]
            at += length + 1
        return found

    def _read_body(self, revision: int) -> tuple[dict, bytes]:
        path = self.path(revision)
        with _open_checkpoint(path) as f:
            _read_json_frame(path, f, "header")
            index = _read_json_frame(path, f, "index")
            objects = _read_frame(path, f, "objects")
        return index, objects

    def meta(self, revision: int) -> dict:
        """The small header of a checkpoint: revision, time, hash, log position."""
        meta = self._meta.get(revision)
        if meta is None:
            path = self.path(revision)
            with _open_checkpoint(path) as f:
                meta = _read_json_frame(path, f, "header")
            if meta.get("rev") != revision:
                raise StateError(path, f"holds revision {meta.get('rev')}, not the {revision} "
                                 "its name says; move it away to rebuild from the log")
            self._meta[revision] = meta
        return meta  # (not the cache's: the writer's `thin` may drop the entry meanwhile)

    def thin(self, dense: int, every: int, ratio: float) -> list[int]:
        """Drop older checkpoints down to a sparser spacing; the revisions dropped.

        The newest `dense` are kept.  Of the older ones, the oldest is kept,
        and then each one that is at least `every` revisions and `ratio` × its
        own size in log bytes past the last one kept; the others are deleted.
        So past checkpoints take at most 1/`ratio` of the log's bytes, and a
        jump into the past replays under `every` revisions plus `ratio`
        states' worth of log after the checkpoint it starts from.
        """
        revs = self.revisions()
        kept, dropped = None, []
        for rev in revs[:max(0, len(revs) - dense)]:
            if kept is not None:
                grown = self.position(rev).end - self.position(kept).end
                if rev - kept < every or grown < ratio * self.path(rev).stat().st_size:
                    os.unlink(self.path(rev))
                    self._meta.pop(rev, None)
                    dropped.append(rev)
                    continue
            kept = rev
        return dropped

    def position(self, revision: int) -> LogPos:
        log = self.meta(revision)["log"]
        return LogPos(revision, log["end"], log["start"], log["crc"])

    def load(self, revision: int, interner: Interner | None = None) -> Snapshot:
        """The snapshot a checkpoint holds (checksums and state hash checked)."""
        meta = self.meta(revision)
        index, objects = self._read_body(revision)
        freeze_object = (interner or Interner()).freeze_object
        loaded = [freeze_object(content, rv) for content, rv in zip(orjson.loads(objects), index["rvs"])]
        snap = build_snapshot(loaded, meta["rev"], meta["time"], index["hashes"])
        if snap.state_hash != meta["hash"] or len(snap) != meta["count"]:
            raise StateError(self.path(revision), "its objects do not add up to its state hash — the "
                             "file is corrupt; move it away to rebuild from the log")
        return snap

    def check_against(self, revision: int, log_path: Path, log_size: int) -> LogPos:
        """The checkpoint's log position, after checking it is a position in *this* log."""
        pos = self.position(revision)
        problem = None
        if pos.end > log_size:
            problem = f"it ends at offset {pos.end} of the log, which is only {log_size} bytes long"
        else:
            with open(log_path, "rb") as f:
                f.seek(pos.start)
                header = f.read(_FRAME.size)
            if len(header) < _FRAME.size or _FRAME.unpack(header) != (pos.end - pos.start - _FRAME.size, pos.crc):
                problem = f"the log has no frame of revision {revision} at offset {pos.start}"
        if problem:
            raise StateError(self.path(revision), f"does not match {log_path.name}: {problem}; "
                             "move the checkpoint away to rebuild from the log")
        return pos


def _ckpt_frame(payload: bytes) -> bytes:
    return _ckpt_header([payload]) + payload


def _ckpt_header(parts: list) -> bytes:
    """A checkpoint frame's header (length, crc) for the payload made of `parts`."""
    length = sum(map(len, parts)).to_bytes(8, "little")
    crc = zlib.crc32(length)
    for part in parts:
        crc = zlib.crc32(part, crc)
    return length + crc.to_bytes(4, "little")


def _open_checkpoint(path: Path) -> BinaryIO:
    f = open(path, "rb")
    header = f.read(len(CHECKPOINT_HEADER))
    if header != CHECKPOINT_HEADER:
        f.close()
        if header.startswith(b"recon checkpoint "):
            raise StateError(path, "checkpoint format not supported by this recon (it reads format 1); "
                             "move it away to rebuild from the log")
        raise StateError(path, "not a recon checkpoint (bad header); move it away to rebuild from the log")
    return f


def _read_frame(path: Path, f: BinaryIO, what: str) -> bytes:
    header = f.read(_CKPT_FRAME.size)
    corrupt = f"checksum mismatch in its {what} — the file is corrupt; move it away to rebuild from the log"
    if len(header) < _CKPT_FRAME.size:
        raise StateError(path, f"cut short before its {what} — the file is corrupt; "
                         "move it away to rebuild from the log")
    length, crc = _CKPT_FRAME.unpack(header)
    payload = f.read(length)
    if len(payload) != length:
        raise StateError(path, f"cut short in its {what} — the file is corrupt; "
                         "move it away to rebuild from the log")
    if zlib.crc32(payload, zlib.crc32(header[:8])) != crc:
        raise StateError(path, corrupt)
    return payload


def _read_json_frame(path: Path, f: BinaryIO, what: str) -> dict:
    payload = _read_frame(path, f, what)
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise StateError(path, f"its {what} is not valid JSON ({exc})") from exc


def _write_atomically(path: Path, data: bytes | list) -> None:
    """Write `path` (bytes, or a list of parts) so that a crash leaves the old file or the new, never half."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb", buffering=1 << 20) as f:
        if isinstance(data, list):
            f.writelines(data)
        else:
            f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# ------------------------------------------------------------- the folder


@attrs.frozen
class Recovery:
    """What opening a state folder found and did."""

    checkpoint: int  # revision of the checkpoint loaded (0: none; replayed from the start)
    replay_from: int  # log offset the replay started at
    replayed: int  # log records replayed after the checkpoint
    revision: int  # the head revision after opening
    dropped_bytes: int = 0  # a torn or corrupt tail cut off (writer) or not read (reader)
    dropped_at: int | None = None  # the offset where the intact log ends
    reason: str | None = None  # why the tail was dropped
    saved_to: str | None = None  # a copy of a dropped tail that was not just a torn frame

    def __str__(self) -> str:
        text = f"revision {self.revision}: checkpoint {self.checkpoint} + {self.replayed} records replayed"
        if self.dropped_bytes:
            text += f"; dropped {self.dropped_bytes} bytes at {self.reason}"
        return text


class StateFolder:
    """The files of one state folder, and their checks."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.format = self.root / "FORMAT"
        self.log = self.root / "history.log"
        self.checkpoints = Checkpoints(self.root / "checkpoints")
        self.clock = self.root / "clock"

    def lock(self) -> int:
        """Take the writer lock (released when the fd closes, or the process dies)."""
        path = self.root / "lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StateLocked(path, "another recon process is writing this state folder; "
                              "stop it, or open the folder read-only") from None
        return fd

    def writer_running(self) -> bool:
        """Does a recon process hold the writer lock now (a live `recon up`, a `--once` run)?  Asked
        without taking it for longer than the question."""
        try:
            fd = os.open(self.root / "lock", os.O_RDONLY)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)  # (releases the shared lock, if taken)
        return False

    def publish_clock(self, lead: float | None) -> None:
        """Say, for the readers of the folder while this writer runs, how its clock reads: the
        machine's, `lead` seconds ahead (a live run), or simulated (None: it stands at the last
        revision's time for whoever looks in from outside).  Never recorded in the history."""
        body = {"simulated": True} if lead is None else {"lead": float(lead)}
        _write_atomically(self.clock, orjson.dumps(body))

    def unpublish_clock(self) -> None:
        self.clock.unlink(missing_ok=True)

    def writer_now(self, last: float) -> float:
        """The moment the cluster is at for a reader (ages, logs), `last` being the time of its last
        revision: that, unless a live `recon up` runs on the folder; then now on its clock, which
        moves on without writing (the machine's, or ahead of it as far as the state was when it
        started: `clock.WallClock`).  What is shown, never what is recorded."""
        if not self.writer_running():
            return last
        try:
            published = orjson.loads(self.clock.read_bytes())
        except (OSError, orjson.JSONDecodeError):
            published = {}  # (a writer just starting, or one that publishes nothing: the machine's)
        if not isinstance(published, dict) or published.get("simulated"):
            return last
        lead = published.get("lead")
        lead = float(lead) if isinstance(lead, (int, float)) else 0.0
        return max(last, float(int(time.time() + lead)))

    def prepare(self) -> None:
        """Create the folder's files on first use; check them otherwise (writer)."""
        for name in os.listdir(self.root):
            if name.startswith(".") and name.endswith(".tmp"):
                os.unlink(self.root / name)  # a file being written when a process died
        if not self.format.exists():
            others = [n for n in os.listdir(self.root) if n != "lock"]
            if others:
                raise StateError(self.root, "is not empty and has no FORMAT file, so it is not a recon "
                                 f"state folder (it holds {', '.join(sorted(others)[:3])}…); "
                                 "choose another folder")
            _write_atomically(self.format, FORMAT_TEXT.encode())
        self.check_format()
        self.checkpoints.folder.mkdir(exist_ok=True)
        if not self.log.exists():
            if self.checkpoints.revisions():
                raise StateError(self.log, "the history log is missing but checkpoints exist; "
                                 "restore the log, or move the folder away to start afresh")
            _create_log(self.log)
        self.checkpoints.remove_temporaries()

    def check_format(self) -> None:
        try:
            text = self.format.read_text(errors="replace")
        except FileNotFoundError:
            raise StateError(self.root, "is not a recon state folder (no FORMAT file)") from None
        word, _, version = text.strip().partition(" ")
        if word != "recon-state":
            raise StateError(self.format, f"not a recon FORMAT file (it starts {text[:20]!r})")
        if version != FORMAT_TEXT.split()[1]:
            raise StateError(self.format, f"state format {version} is not supported by this recon "
                             f"(it reads format {FORMAT_TEXT.split()[1]}); use the recon that wrote it")


# ------------------------------------------------------------- open & load


def open_store(state_dir: str | os.PathLike = ".recon", *, fsync: str = "batch",
               checkpoint_every: int = 1000, checkpoint_ratio: float = 0.25, window: int = 1000,
               clock: Any = None, readonly: bool = False) -> Store:
    """The store kept in `state_dir`: created on first use, else recovered.

    Loads the newest checkpoint and replays the log after it, checking every
    replayed state against its recorded hash.  A writer cuts a torn tail off
    the log (see `store.recovery`); a reader (`readonly=True`, no lock, for
    reading a folder another process writes) stops before it.

    The writer checkpoints every `checkpoint_every` revisions, once the log
    has also grown by `checkpoint_ratio` × the last checkpoint's size (so a
    large state is not rewritten for a few small commits).
    """
    folder = StateFolder(state_dir)
    with _os_errors_named(folder.root):
        lock_fd = None
        if readonly:
            folder.check_format()
        else:
            folder.root.mkdir(parents=True, exist_ok=True)
            lock_fd = folder.lock()
        try:
            if not readonly:
                folder.prepare()
            log = HistoryLog(folder.log, fsync=fsync, readonly=readonly,
                             checkpoints=folder.checkpoints, lock_fd=lock_fd)
        except BaseException:
            if lock_fd is not None:
                os.close(lock_fd)
            raise
        try:
            with _gc_paused():
                head, recovery = _recover(folder, log)
            if not readonly:
                log.index = _open_index(folder)
        except BaseException:
            log.close()
            raise
    now = clock.now if hasattr(clock, "now") else clock
    store = Store(head, log=log, clock=now, window=window)
    store.recovery = recovery
    if not readonly:
        store.listeners.append(Checkpointer(folder.checkpoints, log, checkpoint_every, checkpoint_ratio))
    return store


def _open_index(folder: StateFolder) -> LogIndex | None:
    """The writer's history index, brought up to the (recovered) log; None if it cannot be used."""
    try:
        return LogIndex.open(folder.root, folder.log, len(LOG_HEADER), writable=True)
    except (sqlite3.Error, OSError) as exc:
        logger.warning("%s: cannot use the history index (%s); history questions will scan the log",
                       folder.root / "index", exc)
        return None


def _recover(folder: StateFolder, log: HistoryLog) -> tuple[Snapshot, Recovery]:
    checkpoints = folder.checkpoints.revisions()
    size = folder.log.stat().st_size
    interner = Interner()
    if checkpoints:
        base = checkpoints[-1]
        pos = folder.checkpoints.check_against(base, folder.log, size)
        snap = folder.checkpoints.load(base, interner)
    else:
        base, pos, snap = 0, LogPos(0, len(LOG_HEADER)), Snapshot()
    with open(folder.log, "rb") as f:
        reader = FrameReader(f, pos.end, size)
        snap, tail, replayed = _replay(log, reader, snap, pos, interner)
    log.tail = tail
    log._written = tail.end
    recovery = Recovery(base, pos.end, replayed, snap.revision)
    if reader.problem:
        recovery = _drop_tail(folder, log, reader, size, recovery)
    return snap, recovery


def _replay(log: HistoryLog, reader: FrameReader, snap: Snapshot, pos: LogPos,
            interner: Interner) -> tuple[Snapshot, LogPos, int]:
    count = 0
    for frame in reader:
        record = log._decode(frame, snap.revision + 1, interner)
        snap = apply_record(snap, record)
        if snap.state_hash != record.state_hash:
            raise StateError(log.path, f"revision {record.revision} (offset {frame.start}): replaying it "
                             f"gives state hash {snap.state_hash:016x}, the log recorded "
                             f"{record.state_hash:016x} — the log or this recon's replay is wrong")
        pos = LogPos(record.revision, frame.end, frame.start, frame.crc)
        count += 1
    return snap, pos, count


def _drop_tail(folder: StateFolder, log: HistoryLog, reader: FrameReader, size: int,
               recovery: Recovery) -> Recovery:
    dropped = size - reader.end
    saved = None
    if not log.readonly:
        with open(folder.log, "r+b") as f:
            if not reader.incomplete:
                # A whole frame that fails its checksum is not just a torn
                # write: keep the bytes, in case they are worth a look.
                f.seek(reader.end)
                saved = folder.root / f"history.log.dropped-at-{reader.end}"
                _write_atomically(saved, f.read())
            f.truncate(reader.end)
            f.flush()
            os.fsync(f.fileno())
        logger.warning("%s: %s; dropped the %d bytes after the last intact record (revision %d)%s",
                       folder.log, reader.problem, dropped, recovery.revision,
                       f", kept a copy in {saved}" if saved else "")
    return attrs.evolve(recovery, dropped_bytes=dropped, dropped_at=reader.end,
                        reason=reader.problem, saved_to=str(saved) if saved else None)


class Checkpointer:
    """A store listener that writes a checkpoint every so many revisions.

    It keeps the content of every object written since the last checkpoint
    (the log encoded it already), and the content of every object in the
    last checkpoint it wrote (about the state's size in JSON), so a
    checkpoint encodes and reads nothing again.
    """

    def __init__(self, checkpoints: Checkpoints, log: HistoryLog, every: int, ratio: float):
        self.checkpoints, self.log = checkpoints, log
        self.every, self.ratio = every, ratio
        self.fresh: dict = {}  # key → (rv, content, object) of the objects written since the last checkpoint
        self.entries: dict | None = None  # key → (rv, content, object) of the last checkpoint it wrote
        revs = checkpoints.revisions()
        self.last = checkpoints.position(revs[-1]) if revs else LogPos(0, len(LOG_HEADER))
        self.last_size = checkpoints.path(revs[-1]).stat().st_size if revs else 0
        self.failures = 0

    def __call__(self, snap: Snapshot, events: Any, record: CommitRecord) -> None:
        for op in record.ops:
            if op.type == "delete":
                self.fresh.pop(op.key, None)
            else:
                self.fresh[op.key] = (record.revision, op.content, op.obj)  # (None: encoded at the checkpoint)
        if snap.revision - self.last.revision < self.every:
            return
        if self.log.tail.end - self.last.end < self.ratio * self.last_size:
            return
        pos = self.log.tail
        if pos.revision != snap.revision:
            return
        try:
            self.log.sync(durable=True)  # a checkpoint is never ahead of the durable log
            self.last_size, self.entries = self.checkpoints.write(snap, pos, self.fresh, self.entries)
            self.fresh.clear()
            self.checkpoints.thin(DENSE_CHECKPOINTS, SPARSE_FACTOR * self.every, SPARSE_RATIO)
        except (OSError, StateError) as exc:
            # The log has every commit: a missing checkpoint costs only replay
            # time.  (A log that failed fails the commits themselves.)
            self.failures += 1
            logger.warning("%s: cannot write a checkpoint (%s); will retry in %d revisions",
                           self.checkpoints.path(snap.revision), exc, self.every)
        self.last = pos


def load_snapshot(state_dir: str | os.PathLike, revision: int) -> Snapshot:
    """The state at `revision`: the nearest checkpoint at or below it, then replay."""
    folder = StateFolder(state_dir)
    with _os_errors_named(folder.root):
        folder.check_format()
        log = HistoryLog(folder.log, readonly=True, checkpoints=folder.checkpoints)
        try:
            with _gc_paused():
                return snapshot_at(log, revision)
        finally:
            log.close()


def snapshot_at(log: HistoryLog, revision: int) -> Snapshot:
    """The state at `revision`, read from `log` and its checkpoints.

    Loads the nearest checkpoint at or below `revision`, reads the frames
    after it (checksums checked, revisions in order) keeping only the last
    write of each key, applies those once, and checks that the result hashes
    to the state hash recorded at `revision`.  The objects that were written
    and overwritten in between are never built: a jump costs one checkpoint
    load plus a JSON parse per frame.
    """
    if revision < 0:
        raise StateError(log.path, f"there is no revision {revision}")
    interner = Interner()
    for _attempt in range(3):
        base = _checkpoint_below(log.checkpoints, revision)
        try:
            if base:
                pos = log.checkpoints.check_against(base, log.path, log.path.stat().st_size)
                snap = log.checkpoints.load(base, interner)
            else:
                pos, snap = LogPos(0, len(LOG_HEADER)), Snapshot()
            break
        except FileNotFoundError:
            continue  # a writer thinned that checkpoint out just now: take the next one below
    else:  # (thinned out from under it three times over: from the start of the log)
        base, pos, snap = 0, LogPos(0, len(LOG_HEADER)), Snapshot()
    if revision == base:
        return snap
    log._write()
    last: dict[tuple, Any] = {}  # key → the JSON of its last write (None: deleted), with its revision
    data = None
    expected = base + 1
    with open(log.path, "rb") as f:
        reader = FrameReader(f, pos.end, os.fstat(f.fileno()).st_size)
        for frame in reader:
            try:
                data = orjson.loads(frame.payload)
                rev, ops = data["rev"], data["ops"]
            except (ValueError, KeyError, TypeError) as exc:
                raise StateError(log.path, f"offset {frame.start}: the record is not valid ({exc})") from exc
            if rev != expected:
                raise StateError(log.path, f"offset {frame.start}: revision {rev} where "
                                 f"{expected} was expected — the log is out of order")
            for op in ops:
                last[tuple(op["key"])] = (rev, op.get("obj") if op["op"] == "put" else None)
            if rev == revision:
                break
            expected += 1
        else:
            if reader.problem:  # (a damaged frame before `revision`: the log's damage, not a revision too far)
                raise StateError(log.path, f"revision {revision} cannot be read: the history log is damaged "
                                 f"after revision {expected - 1} ({reader.problem}); run 'recon replay' for details")
            raise StateError(log.path, f"revision {revision} is beyond the end of the history "
                             f"(the last intact revision is {expected - 1})")
    builder = _SnapshotBuilder(snap)
    for key, (rev, obj) in last.items():
        if obj is None:
            builder.remove(key)
        else:
            content = orjson.dumps(obj)  # canonical already: the hash covers these bytes
            builder.put(key, interner.freeze_object(obj, rev), object_hash(key, content))
    snap = builder.seal(revision, data["time"])
    if snap.state_hash != data["hash"]:
        raise StateError(log.path, f"revision {revision}: replaying it gives state hash "
                         f"{snap.state_hash:016x}, the log recorded {data['hash']:016x}")
    return snap


def _checkpoint_below(checkpoints: "Checkpoints | None", revision: int) -> int:
    if checkpoints is None:
        return 0
    return max((r for r in checkpoints.revisions() if r <= revision), default=0)


__all__ = [
    "Checkpoints", "HistoryLog", "LogPos", "Recovery", "StateError", "StateFolder", "StateLocked",
    "decode_record", "encode_record", "load_snapshot", "open_store", "snapshot_at",
]
