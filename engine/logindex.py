"""An index of the history log: where each revision's frame is, and which revisions wrote each key.

The log (`wal.py`) is the only truth; this index is derived from it, so it
can always be thrown away and rebuilt.  It lives in `index/history.sqlite`
of the state folder (SQLite from the standard library: B-trees, atomic
transactions and concurrent readers during a write are what this needs, and
it does them better than a file format of our own would)::

    frames(rev → start, length, crc,     the frame of each revision in the log,
           who)                          and who wrote it (rule, scheduler, else actor)
    actors(id → name)                    each writer once
    keys(id → key)                       each object key once, as JSON
    writes(key id, rev)                  the revisions that wrote each key
    meta                                 the last frame indexed: rev, start, length, crc,
                                         and the first frame's crc (which log this is)

With it `History` reads one record by offset (O(log n)) instead of scanning
the log, and `explain` / `history KIND/NAME` read only the revisions that
wrote the object.

Trust: the index is used only if the frame it says it ends with is in the log
at the offset it names, with the same length and checksum, and the first
frame's checksum matches too.  Every frame read through it is checked again
(its header against the index row, its payload's checksum, its revision).  A
writer whose log lost a torn tail cuts the index back to the log; any other
mismatch rebuilds it from the log.

Growth: the writer (`HistoryLog`) adds a row per frame as it appends, and
writes them to SQLite in batches (`FLUSH_EVERY` frames, and on close), always
after the frames themselves reached the OS, so the index never runs ahead of
the log.  A reader indexes in memory whatever the log holds beyond the index
(a running writer's last unflushed batch, or all of it when there is no
index and the writer lock is taken); a reader that can take the writer lock
persists what it indexed, so the next reader finds it.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import struct
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path

import orjson

logger = logging.getLogger("recon.store")

VERSION = 1
FLUSH_EVERY = 1024  # frames a writer keeps before writing them to the index
PERSIST_OVER = 4 << 20  # a reader that indexes more log bytes than this saves them, if it can lock
_FRAME = struct.Struct("<II")  # the log's frame header: length, crc (as in wal.py)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS frames (rev INTEGER PRIMARY KEY, start INTEGER NOT NULL,
                                   length INTEGER NOT NULL, crc INTEGER NOT NULL, who INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS actors (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS keys (id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS writes (key INTEGER NOT NULL, rev INTEGER NOT NULL,
                                   PRIMARY KEY (key, rev)) WITHOUT ROWID;
"""


class FramePos(tuple):
    """(start, length, crc) of one frame: `length` is the payload's."""

    __slots__ = ()

    def __new__(cls, start: int, length: int, crc: int):
        return tuple.__new__(cls, (start, length, crc))

    start = property(lambda self: self[0])
    length = property(lambda self: self[1])
    crc = property(lambda self: self[2])

    @property
    def end(self) -> int:
        return self[0] + _FRAME.size + self[1]


class LogIndex:
    """Revision → frame, key → revisions, for one history log.

    `covered` is the last revision the SQLite file holds (0: none); frames
    after it are held in memory (`_tail_*`) until `flush()` writes them
    (writer) or for the life of the object (reader).
    """

    def __init__(self, path: Path, log_path: Path, *, writable: bool):
        self.path, self.log_path, self.writable = path, log_path, writable
        self.db: sqlite3.Connection | None = None
        self.covered = 0
        self.covered_end = 0  # the log offset after the last frame the file holds
        self.first_crc: int | None = None
        self.rebuilt = False  # this open threw a stale index away (tests read it)
        self.problem: str | None = None  # why indexing stopped before the end of the log
        self._tail_frames: list[FramePos] = []  # revisions covered+1, covered+2, …
        self._tail_who: list[str] = []
        self._tail_keys: dict[str, list[int]] = {}  # key JSON → revisions after `covered`
        self._key_ids: dict[str, int] | None = None  # writer: key JSON → id

    # ------------------------------------------------------------ open

    @classmethod
    def open(cls, root: Path, log_path: Path, header_size: int, *, writable: bool,
             lock: Callable[[], int | None] | None = None) -> "LogIndex":
        """The index of `log_path`, checked against it, then extended to its end.

        `writable`: the caller holds the writer lock (so may create, cut back,
        rebuild and extend the file); otherwise the file is only read, and
        what it lacks is indexed in memory — unless that is much (over
        `PERSIST_OVER` bytes of log) and `lock()` takes the writer lock: then
        the file is brought up to date for the next reader.
        """
        index = cls(root / "index" / "history.sqlite", log_path, writable=writable)
        size = log_path.stat().st_size
        if writable and size <= header_size and not index.path.exists():
            return index  # nothing to index yet: the file is made by the first flush
        index._connect()
        if not writable and lock is not None and size - (index.covered_end or header_size) > PERSIST_OVER:
            fd = lock()  # None: a writer runs, and indexes what it writes
            if fd is not None:
                try:
                    index.discard()
                    index = cls.open(root, log_path, header_size, writable=True)
                    index.writable = False
                    return index
                finally:
                    os.close(fd)
        if not index._matches_log(size):
            if index.covered and writable:
                logger.warning("%s: does not match %s; rebuilding it from the log", index.path, log_path.name)
            index.rebuilt = bool(index.covered)
            index._reset()
        index.extend(header_size if not index.covered else index.covered_end, size)
        if writable:
            index.flush()
        return index

    def _connect(self) -> None:
        if self.writable:
            self.path.parent.mkdir(exist_ok=True)
            self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")  # derived data: a lost tail is re-indexed
            self.db.executescript(_SCHEMA)
        elif self.path.exists():
            try:
                self.db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, isolation_level=None,
                                          check_same_thread=False)
            except sqlite3.Error:
                self.db = None
        self._read_meta()

    def _read_meta(self) -> None:
        self.covered, self.covered_end, self.first_crc = 0, 0, None
        self._meta: dict[str, int] = {}
        if self.db is None:
            return
        try:
            self._meta = dict(self.db.execute("SELECT name, value FROM meta"))
        except sqlite3.Error as exc:
            logger.warning("%s: unreadable (%s); indexing the log in memory", self.path, exc)
            self.db = None
            return
        if self._meta.get("version") != VERSION or "rev" not in self._meta:
            return
        self.covered = self._meta["rev"]
        self.covered_end = self._meta["start"] + _FRAME.size + self._meta["length"]
        self.first_crc = self._meta.get("first_crc")

    def _matches_log(self, size: int) -> bool:
        """Is the file's last frame (and first) in this log, as the file says? Cut back a torn tail."""
        if not self.covered:
            return not self._meta  # an empty index is fine; a foreign or old one is not
        m = self._meta
        if self._frame_in_log(FramePos(m["start"], m["length"], m["crc"]), size) \
                and self._first_matches(size):
            return True
        return self.writable and self._cut_back(size)

    def _first_matches(self, size: int) -> bool:
        first = self._frame_row(1)
        return first is not None and first.crc == self.first_crc and self._frame_in_log(first, size)

    def _frame_in_log(self, pos: FramePos, size: int) -> bool:
        if pos.end > size:
            return False
        with open(self.log_path, "rb") as f:
            header = os.pread(f.fileno(), _FRAME.size, pos.start)
        return len(header) == _FRAME.size and _FRAME.unpack(header) == (pos.length, pos.crc)

    def _cut_back(self, size: int) -> bool:
        """The log was cut (a torn tail dropped): drop the rows beyond its last frame, if the rest agrees."""
        row = self.db.execute("SELECT rev, start, length, crc FROM frames WHERE start + ? + length <= ? "
                              "ORDER BY rev DESC LIMIT 1", (_FRAME.size, size)).fetchone()
        if row is None:
            return False
        rev, *pos = row
        pos = FramePos(*pos)
        if not (self._frame_in_log(pos, size) and self._first_matches(size)):
            return False
        with self.db:
            self.db.execute("BEGIN")
            self.db.execute("DELETE FROM frames WHERE rev > ?", (rev,))
            self.db.execute("DELETE FROM writes WHERE rev > ?", (rev,))
            self._write_meta(rev, pos)
        self._read_meta()
        return True

    def _reset(self) -> None:
        self._tail_frames.clear()
        self._tail_who.clear()
        self._tail_keys.clear()
        self.covered, self.covered_end, self.first_crc = 0, 0, None
        if self.writable:
            with self.db:
                self.db.execute("BEGIN")
                for table in ("meta", "frames", "keys", "actors", "writes"):
                    self.db.execute(f"DELETE FROM {table}")
            self._key_ids, self._actor_ids = {}, {}
        else:
            self.db = None  # not to be trusted: everything is indexed in memory

    # ------------------------------------------------------------ growing

    def extend(self, offset: int, size: int) -> int:
        """Index the log's frames from `offset` up to `size` (or the first damaged frame); how many."""
        from .wal import FrameReader

        count = 0
        with open(self.log_path, "rb") as f:
            reader = FrameReader(f, offset, size)
            for frame in reader:
                data = orjson.loads(frame.payload)
                keys = [orjson.dumps(op["key"]).decode() for op in data["ops"]]
                self.add(data["rev"], FramePos(frame.start, frame.end - frame.start - _FRAME.size, frame.crc),
                         keys, writer(data["actor"], data["cause"]))
                count += 1
        self.problem = reader.problem
        return count

    @property
    def last(self) -> int:
        """The last revision indexed (in the file or in memory)."""
        return self.covered + len(self._tail_frames)

    def add(self, rev: int, pos: FramePos, keys: Iterable[str], who: str) -> None:
        """Index one more frame (revision `last + 1`); `keys` are its ops' keys as JSON."""
        if rev != self.last + 1:
            raise ValueError(f"index: revision {rev} does not follow {self.last}")
        if rev == 1:
            self.first_crc = pos.crc
        self._tail_frames.append(pos)
        self._tail_who.append(who)
        tail = self._tail_keys
        for key in keys:
            revs = tail.get(key)
            if revs is None:
                tail[key] = [rev]
            elif revs[-1] != rev:
                revs.append(rev)

    def flush(self) -> None:
        """Write the frames held in memory to the file (writer only)."""
        if not self.writable or not self._tail_frames:
            return
        if self.db is None:  # the first flush of a new folder makes the file
            first_crc = self.first_crc
            self._connect()
            self.first_crc = first_crc
        ids, actors = self._ids()
        first = self.covered + 1
        with self.db:
            self.db.execute("BEGIN")
            for key in self._tail_keys:
                if key not in ids:
                    ids[key] = self.db.execute("INSERT INTO keys (key) VALUES (?)", (key,)).lastrowid
            for name in set(self._tail_who) - actors.keys():
                actors[name] = self.db.execute("INSERT INTO actors (name) VALUES (?)", (name,)).lastrowid
            self.db.executemany("INSERT INTO frames VALUES (?, ?, ?, ?, ?)",
                                ((first + i, *pos, actors[who])
                                 for i, (pos, who) in enumerate(zip(self._tail_frames, self._tail_who))))
            self.db.executemany("INSERT INTO writes VALUES (?, ?)",
                                ((ids[k], rev) for k, revs in self._tail_keys.items() for rev in revs))
            last = self.last
            self._write_meta(last, self._tail_frames[-1])
        self._tail_frames.clear()
        self._tail_who.clear()
        self._tail_keys.clear()
        self._read_meta()

    def _write_meta(self, rev: int, pos: FramePos) -> None:
        first = self.first_crc if self.first_crc is not None else pos.crc
        self.db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", [
            ("version", VERSION), ("rev", rev), ("start", pos.start), ("length", pos.length),
            ("crc", pos.crc), ("first_crc", first)])

    def _ids(self) -> tuple[dict[str, int], dict[str, int]]:
        if self._key_ids is None:
            self._key_ids = {key: id_ for id_, key in self.db.execute("SELECT id, key FROM keys")}
            self._actor_ids = {name: id_ for id_, name in self.db.execute("SELECT id, name FROM actors")}
        return self._key_ids, self._actor_ids

    def discard(self) -> None:
        """Close the file; what is held in memory and not flushed is dropped (the log has it)."""
        if self.db is not None:
            self.db.close()
            self.db = None

    # ------------------------------------------------------------ questions

    def frame(self, rev: int) -> FramePos | None:
        """Where revision `rev`'s frame is (None: not indexed)."""
        if rev > self.covered:
            i = rev - self.covered - 1
            return self._tail_frames[i] if i < len(self._tail_frames) else None
        return self._frame_row(rev) if rev >= 1 else None

    def _frame_row(self, rev: int) -> FramePos | None:
        if self.db is None:
            return self._tail_frames[rev - 1] if 0 < rev <= len(self._tail_frames) else None
        row = self.db.execute("SELECT start, length, crc FROM frames WHERE rev = ?", (rev,)).fetchone()
        return FramePos(*row) if row else None

    def revisions(self, key: tuple, until: int | None = None, not_by: str | None = None) -> list[int]:
        """The revisions that wrote `key`, in order (up to `until`; not those by writer `not_by`)."""
        text = orjson.dumps(list(key)).decode()
        revs: list[int] = []
        if self.db is not None and self.covered:
            hi = self.covered if until is None else min(until, self.covered)
            query = "SELECT w.rev FROM writes w WHERE w.key = (SELECT id FROM keys WHERE key = ?) AND w.rev <= ?"
            params: tuple = (text, hi)
            if not_by is not None:
                query += (" AND (SELECT who FROM frames f WHERE f.rev = w.rev) IS NOT "
                          "(SELECT id FROM actors WHERE name = ?)")
                params += (not_by,)
            revs = [r for (r,) in self.db.execute(query + " ORDER BY w.rev", params)]
        tail = self._tail_keys.get(text, ())
        revs += [r for r in tail if (until is None or r <= until)
                 and (not_by is None or self._tail_who[r - self.covered - 1] != not_by)]
        return revs

    def keys_of(self, group: str, kind: str) -> list[tuple]:
        """Every key of kind (group, kind) that an indexed revision wrote, in order."""
        prefix = orjson.dumps([group, kind]).decode()[:-1] + ","
        texts = {key for key in self._tail_keys if key.startswith(prefix)}
        if self.db is not None:
            texts.update(key for (key,) in self.db.execute(
                "SELECT key FROM keys WHERE substr(key, 1, ?) = ?", (len(prefix), prefix)))
        return sorted(tuple(orjson.loads(text)) for text in texts)


def writer(actor: str, cause) -> str:
    """Who wrote a record, as history lines name it: the rule, the scheduler, else the actor."""
    head = cause[0] if cause else None
    if isinstance(head, dict) or hasattr(head, "get"):
        return head.get("rule") or head.get("scheduler") or actor
    return actor


def frame_crc(header: bytes, payload: bytes) -> int:
    """The checksum a log frame's header carries (covers the length word and the payload)."""
    return zlib.crc32(payload, zlib.crc32(header[:4]))
