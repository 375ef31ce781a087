"""Questions to the recorded history: state at a revision, diffs, provenance, replay, what-if.

The history log (`wal.py`) keeps, for every revision, the actor, the cause
and the ops.  Every put op carries the whole object as written, so the log
alone holds every version of every object: `History` reads the records once
and files each revision under the keys it wrote.  From that:

* `snapshot(rev)` — the state at a revision (nearest checkpoint, then replay);
* `diff(rev1, rev2)` — the objects that changed between two revisions, taken
  from the records in between, never by comparing every object;
* `explain(key, path)` — the causal chain of an object or one field: the
  last revision that wrote it, the trigger its cause names (a change of
  another object at an earlier revision, whose record has its own cause),
  and so on back to an external input — a manifest file, an API user, the
  API server's bootstrap;
* `verify(state_dir)` — replay the whole log, checking every frame's
  checksum, every revision's state hash and every checkpoint;
* `what_if(history, rules_dir)` — re-execute history with other rules,
  feeding the same external inputs at the same points and the same clock,
  and find the first revision where the new history differs.

An *external* record is one not written by a rule or the scheduler: its
cause does not name a rule (`{"rule": …}`) or the scheduler
(`{"scheduler": …}`).  Those are the inputs a re-execution feeds again.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import struct
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import yaml

from .errors import ReconError
from .kinds import CRD_GROUP, CRD_KIND, Registry, crd_types, registers
from .objects import MISSING as _MISSING, Key, lookup, thaw
from .logindex import LogIndex, frame_crc
from .store import CommitRecord, Interner, Snapshot, Store, Txn, apply_record, Op
from .timeutil import format_time
from .wal import (
    LOG_HEADER, Frame, FrameReader, HistoryLog, StateError, StateFolder, StateLocked, decode_record,
    snapshot_at,
)

# libyaml's emitter: the same text as yaml.safe_dump, several times faster (a what-if's end-state
# diff of thousands of objects spent as long in the YAML as in re-executing the history)
_YAML = yaml.CSafeDumper


class BlockYAML(yaml.CSafeDumper):
    """YAML as kubectl prints it: a multi-line string (a ConfigMap's file, last-applied-configuration)
    as a `|` block, its lines as lines, so that a line diff of two versions shows the lines changed."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


BlockYAML.add_representer(str, _represent_str)

# kubectl's short names where they read well (pods and nodes keep their names: `po`, `no` do not).
SHORT = {
    "Deployment": "deploy", "ReplicaSet": "rs", "ReplicationController": "rc", "Service": "svc", "Endpoints": "ep",
    "Namespace": "ns", "ServiceAccount": "sa", "ConfigMap": "cm", "DaemonSet": "ds",
    "StatefulSet": "sts", "EndpointSlice": "endpointslice", "PersistentVolumeClaim": "pvc",
    "CustomResourceDefinition": "crd", "PriorityClass": "pc", "HorizontalPodAutoscaler": "hpa",
    "NetworkPolicy": "netpol", "PersistentVolume": "pv", "StorageClass": "sc",
}
NOISE = "kubectl.kubernetes.io/last-applied-configuration"  # left out of change summaries
MAX_CHAIN = 30  # steps of an explanation, at most
DIFF_SCAN = 2000  # a diff over more revisions compares the two states instead of reading the records


class HistoryError(ReconError):
    """A question the history cannot answer (a revision out of range, an object never written)."""


def ref(key: Sequence) -> str:
    """`pod/web-x`, `deploy/web`: the short form of a key in history lines."""
    _group, kind, _ns, name = key
    return f"{SHORT.get(kind, kind.lower())}/{name}"


# ---------------------------------------------------------------- causes


def rule_of(record: CommitRecord) -> str | None:
    """`component/rule` of a rule's write, `default-scheduler` of a bind, else None."""
    head = record.cause[0] if record.cause else None
    if isinstance(head, Mapping):
        if "rule" in head:
            return head["rule"]
        if "scheduler" in head:
            return head["scheduler"]
    return None


def is_external(record: CommitRecord) -> bool:
    """Written from outside the rules: a manifest file, an API user, the bootstrap."""
    return rule_of(record) is None


def triggers(record: CommitRecord) -> list[Mapping]:
    """The triggers a rule's cause lists (changes, timers, starts, retries)."""
    if rule_of(record) is None or not isinstance(record.cause[0], Mapping) or "rule" not in record.cause[0]:
        return []
    return [t for t in record.cause[1:] if isinstance(t, Mapping)]


def who(record: CommitRecord) -> str:
    """The actor as a history line shows it: the rule for rule writes, else the actor."""
    return rule_of(record) or record.actor


def cause_text(record: CommitRecord) -> str:
    """The cause in short: `rs/web-abc@46 +2`, `timer@12`, `manifest web.yaml`."""
    head = record.cause[0] if record.cause else None
    if isinstance(head, Mapping) and "scheduler" in head:
        return f"{ref(head['pod'])}@{head.get('rev')}"
    found = triggers(record)
    if found:
        first = found[0]
        text = f"{ref(first['key'])}@{first['rev']}" if first.get("key") else f"{first['type']}@{first['rev']}"
        return text + (f" +{len(found) - 1}" if len(found) > 1 else "")
    if isinstance(head, Mapping) and "manifest" in head:
        return ("prune " if head.get("pruned") else "") + f"manifest {head['manifest']}"
    return " ".join(str(c) for c in record.cause if not isinstance(c, Mapping)) or "-"


# ---------------------------------------------------------------- fields


class FieldPathError(HistoryError):
    """A field path that cannot be read (the command line's mistake, not the history's)."""


# a key as it is typed: "…" (JSON escapes), '…' (\' and \\ escaped) or bare (\. is a dot in it, as in
# kubectl's jsonpath); a bare key has no dots, brackets, quotes or blanks
_QUOTED = r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\''
_KEY = re.compile(rf'{_QUOTED}|(?:[^.\[\]"\'\\\s]|\\.)+')
_BRACKET = re.compile(rf'\[\s*(?:(\d+)|({_QUOTED})|([^\[\]"\'\s]+))\s*\]')
_BARE = re.compile(r'[^.\[\]"\'\\\s]+')


def field_path(text: str | None) -> tuple:
    """A field path as typed → its steps; None → ().

    `spec.containers[0].image` → ("spec", "containers", 0, "image").  A key
    with dots is quoted, the ways kubectl and jq users know:
    `metadata.labels["kubernetes.io/hostname"]`, `metadata.labels['…']`,
    `metadata.labels."kubernetes.io/hostname"` (the form chains print), or
    `metadata.labels.kubernetes\\.io/hostname`.  A leading dot is allowed.
    """
    if text is None:
        return ()
    steps: list = []
    pos = 1 if text.startswith(".") and len(text) > 1 else 0
    while pos < len(text) or not steps:
        if pos < len(text) and text[pos] == "[":
            found = _BRACKET.match(text, pos)
            step = found and _bracket_step(found)
        else:
            if steps and text[pos] != ".":
                found = None
            else:
                found = _KEY.match(text, pos + 1 if steps else pos)
            step = found and _unquote(found.group())
        if not found:
            raise FieldPathError(_path_problem(text, pos))
        steps.append(step)
        pos = found.end()
    return tuple(steps)


def _bracket_step(found: re.Match) -> Any:
    index, quoted, bare = found.groups()
    return int(index) if index is not None else _unquote(quoted) if quoted is not None else bare


def _unquote(key: str) -> str:
    if key.startswith('"'):
        try:
            return json.loads(key)
        except ValueError:
            raise FieldPathError(f"{key} is not a valid quoted key (its escapes are JSON's)") from None
    if key.startswith("'"):
        key = key[1:-1]
    return re.sub(r"\\(.)", r"\1", key)


def _path_problem(text: str, pos: int) -> str:
    where = f"at column {pos + 1}" if pos < len(text) else "at its end"
    return (f"cannot read the field path {text!r} {where}; write it like spec.containers[0].image, "
            f"and quote a key with dots: metadata.labels[\"kubernetes.io/hostname\"]")


def resolve_field(obj: Any, path: tuple) -> tuple:
    """`path` as `obj` reads it: a key with dots typed without quotes is found.

    `metadata.labels.kubernetes.io/hostname` splits at every dot; where the
    walk meets a map without the next key, the longest run of the following
    steps that, joined with dots, is a key of that map is taken as one key.
    A path that reads as it is, or not at all, is returned as it is.
    """
    if obj is None or lookup(obj, path) is not _MISSING:
        return path
    node, out, i = obj, [], 0
    while i < len(path):
        step = path[i]
        if isinstance(node, Mapping) and step not in node:
            step, i = _joined_key(node, path, i)
        if isinstance(node, Mapping) and step in node:
            node = node[step]
        elif isinstance(step, int) and isinstance(node, Sequence) and not isinstance(node, str) \
                and 0 <= step < len(node):
            node = node[step]
        else:
            return path
        out.append(step)
        i += 1
    return tuple(out)


def _joined_key(node: Mapping, path: tuple, i: int) -> tuple[Any, int]:
    """The longest key of `node` that is path[i:j] joined with dots, and j - 1 (else path[i], i)."""
    for j in range(len(path), i + 1, -1):
        parts = path[i:j]
        if all(isinstance(p, str) for p in parts) and ".".join(parts) in node:
            return ".".join(parts), j - 1
    return path[i], i


def changed_fields(old: Any, new: Any, path: tuple = ()) -> list[tuple[tuple, Any, Any]]:
    """The leaves that differ between two versions: (path, old, new); maps recurse, lists are leaves."""
    if old == new:
        return []
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        found = []
        for name in sorted(set(old) | set(new), key=str):
            if path == ("metadata",) and name in ("resourceVersion", "managedFields"):
                continue
            found += changed_fields(old.get(name, _MISSING), new.get(name, _MISSING), path + (name,))
        return found
    if (isinstance(old, Sequence) and isinstance(new, Sequence) and not isinstance(old, str)
            and not isinstance(new, str) and len(old) == len(new)):
        return [c for i, (a, b) in enumerate(zip(old, new)) for c in changed_fields(a, b, path + (i,))]
    return [(path, old, new)]


def _show(value: Any) -> str:
    if value is _MISSING or value is None:
        return "<none>"
    text = yaml.dump(thaw(value), Dumper=_YAML, default_flow_style=True, width=10_000).strip()
    text = text.removesuffix("\n...").removesuffix("...").strip()
    return text if len(text) <= 60 else text[:57] + "..."


def _dotted(path: Sequence) -> str:
    """A path as `field_path` reads it back: `metadata.labels."kubernetes.io/hostname"`."""
    out = ""
    for step in path:
        if isinstance(step, int):
            out += f"[{step}]"
            continue
        name = str(step) if _BARE.fullmatch(str(step)) else json.dumps(str(step), ensure_ascii=False)
        out += f".{name}" if out else name
    return out


def describe_change(old: Any, new: Any, path: tuple = (), limit: int = 3) -> str:
    """`spec.replicas: 3 → 5`; `created`; `deleted`."""
    if old is None:
        return "created" if not path else f"created, {_dotted(path)}: {_show(lookup(new, path))}"
    if new is None:
        return "deleted"
    changes = [c for c in changed_fields(lookup(old, path), lookup(new, path), path)
               if NOISE not in c[0]]
    parts = [f"{_dotted(p)}: {_show(a)} → {_show(b)}" for p, a, b in changes[:limit]]
    if len(changes) > limit:
        parts.append(f"(+{len(changes) - limit} more)")
    return ", ".join(parts) or "no change"


# ---------------------------------------------------------------- the history


class History:
    """The records of one history, filed by key: every version of every object.

    `History.open(state_dir)` reads a state folder (snapshots come from its
    checkpoints); `History(records)` wraps records already in memory (a
    store listener's, a re-execution's).
    """

    def __init__(self, records: Iterable[CommitRecord], *, log: HistoryLog | None = None,
                 base: Snapshot | None = None, problem: str | None = None):
        self.base = base if base is not None else Snapshot()  # the state before the first record
        self.log = log
        self.problem = problem  # why reading stopped before the end of the log (None: it did not)
        self._records: list[CommitRecord] = list(records)
        self._first = self._records[0].revision if self._records else self.base.revision + 1
        self._by_key: dict[Key, list[int]] = {}
        for record in self._records:
            for op in record.ops:
                self._by_key.setdefault(op.key, []).append(record.revision)

    @classmethod
    def open(cls, state_dir: str | os.PathLike) -> "History":
        """The history of a state folder, read on demand through its index (see `StoredHistory`)."""
        folder = StateFolder(state_dir)
        if not folder.root.is_dir():
            raise HistoryError(f'no cluster state in {state_dir}: start one with "recon up"')
        folder.check_format()
        log = HistoryLog(folder.log, readonly=True, checkpoints=folder.checkpoints)

        def lock() -> int | None:
            try:
                return folder.lock()
            except StateLocked:
                return None

        index = LogIndex.open(folder.root, folder.log, len(LOG_HEADER), writable=False, lock=lock)
        return StoredHistory(log, index)

    # -- revisions
    @property
    def head(self) -> int:
        return self._records[-1].revision if self._records else self.base.revision

    def record(self, revision: int) -> CommitRecord:
        index = revision - self._first
        if not 0 <= index < len(self._records):
            raise HistoryError(f"there is no revision {revision} (the history holds "
                               f"{self._first}..{self.head})")
        return self._records[index]

    def records(self, since: int | None = None, until: int | None = None) -> Iterator[CommitRecord]:
        lo = max(0, (since or self._first) - self._first)
        hi = len(self._records) if until is None else max(0, until - self._first + 1)
        return iter(self._records[lo:hi])

    def check(self, revision: int) -> int:
        if not self.base.revision <= revision <= self.head:
            raise HistoryError(_no_revision(revision, self.head))
        return revision

    def snapshot(self, revision: int) -> Snapshot:
        """The state at `revision` (checked against the recorded state hashes)."""
        self.check(revision)
        if self.log is not None:
            return snapshot_at(self.log, revision)
        snap = self.base
        for record in self.records(self.base.revision + 1, revision):
            snap = apply_record(snap, record)
        return snap

    # -- objects
    def revisions_of(self, key: Key, until: int | None = None, not_by: str | None = None) -> list[int]:
        """The revisions that wrote `key` (up to `until`; not those `who` gives as `not_by`)."""
        revs = self._by_key.get(tuple(key), [])
        revs = revs if until is None else [r for r in revs if r <= until]
        return revs if not_by is None else [r for r in revs if who(self.record(r)) != not_by]

    def keys_of(self, group: str, kind: str) -> list[Key]:
        """Every key of kind (group, kind) that the base state holds or a revision wrote."""
        written = {key for key in self._by_key if key[:2] == (group, kind)}
        return sorted(written.union(self.base.keys(group, kind, None)))

    def version(self, key: Key, revision: int) -> Any:
        """The object as revision `revision` wrote it (None: deleted)."""
        for op in self.record(revision).ops:
            if op.key == tuple(key):
                return op.obj if op.type == "put" else None
        raise HistoryError(f"revision {revision} did not write {ref(key)}")

    def before(self, key: Key, revision: int) -> Any:
        """The object just before `revision` (None: it did not exist)."""
        return self.at(key, revision - 1)

    def at(self, key: Key, revision: int) -> Any:
        """The object as it was at `revision` (None: it did not exist), from its last write."""
        revs = self.revisions_of(key, revision)
        if revs:
            return self.version(key, revs[-1])
        return self.base.get(tuple(key))

    def last_write(self, key: Key, path: tuple = (), at: int | None = None,
                   actor_not: str | None = None) -> int | None:
        """The last revision (≤ `at`) that changed `key` (or its field at `path`)."""
        if actor_not is not None and not path:  # the index answers it without reading records
            others = self.revisions_of(key, at, not_by=actor_not)
            return others[-1] if others else None
        revs = self.revisions_of(key, at)
        for i in range(len(revs) - 1, -1, -1):
            rev = revs[i]
            if actor_not is not None and who(self.record(rev)) == actor_not:
                continue
            new = self.version(key, rev)
            old = self.version(key, revs[i - 1]) if i else self.base.get(tuple(key))
            if not path or new is None or old is None or lookup(old, path) != lookup(new, path):
                return rev
        return None

    def created(self, key: Key, at: int) -> int | None:
        """The revision that created the object alive at `at`."""
        revs = self.revisions_of(key, at)
        for i in range(len(revs) - 1, -1, -1):
            if not i or self.version(key, revs[i - 1]) is None:
                return revs[i] if (i or self.base.get(tuple(key)) is None) else None
        return None


class StoredHistory(History):
    """The history of a state folder, read record by record as questions need them.

    Nothing is read up front: the index (`logindex.py`) says where each
    revision's frame is and which revisions wrote each key, so a question
    about one object reads only that object's records, and `snapshot(rev)`
    starts from the nearest checkpoint.  Every frame read is checked (its
    header against the index, its checksum, its revision).  Recently read
    records are kept (`CACHE` of them).
    """

    CACHE = 4096

    def __init__(self, log: HistoryLog, index: LogIndex):
        self.base = Snapshot()
        self.log = log
        self.index = index
        self.problem = index.problem  # why indexing stopped before the end of the log
        self._last = index.last
        self._first = 1
        self._cache: OrderedDict[int, CommitRecord] = OrderedDict()
        self._interner = Interner()
        self._check_tail()

    @property
    def head(self) -> int:
        return self._last

    def _check_tail(self) -> None:
        """Check the frames after the newest checkpoint, as opening the store does for `get` and
        `status`: the index may know frames whose bytes changed since it was written (a bit flipped
        on disk).  A damaged one ends this history before it, with the damage as its `problem`,
        just as a damaged tail the index never saw does; the checkpoints spare the older frames
        the read, and a question that reaches a damaged one of those says so then."""
        checkpoints = self.log.checkpoints.revisions() if self.log.checkpoints is not None else []
        base = max((rev for rev in checkpoints if rev < self._last), default=0)
        if base >= self._last:
            return
        with open(self.log.path, "rb") as f:
            reader = FrameReader(f, self.index.frame(base + 1).start, self.index.frame(self._last).end)
            intact = sum(1 for _ in reader)
        if reader.problem:
            self._last, self.problem = base + intact, reader.problem

    def record(self, revision: int) -> CommitRecord:
        found = self._cache.get(revision)
        if found is not None:
            self._cache.move_to_end(revision)
            return found
        pos = self.index.frame(revision) if 1 <= revision <= self.head else None
        if pos is None:
            raise HistoryError(f"there is no revision {revision} (the history holds 1..{self.head})")
        with open(self.log.path, "rb") as f:
            data = os.pread(f.fileno(), pos.end - pos.start, pos.start)
        header, payload = data[:8], data[8:]
        if len(data) != pos.end - pos.start or header != struct.pack("<II", pos.length, pos.crc):
            raise StateError(self.index.path, f"does not match {self.log.path.name} at revision {revision} "
                             f"(offset {pos.start}); delete the index folder to rebuild it")
        if frame_crc(header, payload) != pos.crc:  # (the frame the index knows, its bytes changed since)
            raise StateError(self.log.path, f"revision {revision} (offset {pos.start}): checksum mismatch: the "
                             "history log is damaged there; run 'recon replay' for details")
        record = self.log._decode(Frame(pos.start, pos.end, pos.crc, payload), revision, self._interner)
        self._cache[revision] = record
        if len(self._cache) > self.CACHE:
            self._cache.popitem(last=False)
        return record

    def records(self, since: int | None = None, until: int | None = None) -> Iterator[CommitRecord]:
        lo, hi = max(since or 1, 1), self.head if until is None else min(until, self.head)
        if lo > hi:
            return
        start = self.index.frame(lo).start
        with open(self.log.path, "rb") as f:
            reader, rev = FrameReader(f, start, self.index.frame(hi).end), lo - 1
            for rev, frame in enumerate(reader, lo):
                yield self._cache.get(rev) or self.log._decode(frame, rev, self._interner)
            if reader.problem:  # (a frame the index knows whose bytes changed since)
                raise StateError(self.log.path, f"the history log is damaged after revision {rev} "
                                 f"({reader.problem}); run 'recon replay' for details")

    def keys_of(self, group: str, kind: str) -> list[Key]:
        return [key for key in self.index.keys_of(group, kind) if self.revisions_of(key)]

    def revisions_of(self, key: Key, until: int | None = None, not_by: str | None = None) -> list[int]:
        return self.index.revisions(tuple(key), self.head if until is None else min(until, self.head), not_by)


def kinds_at(history: History, at: int | None = None) -> Registry:
    """The kinds a name may mean in `history` at revision `at` (default: the newest): the built-ins,
    the CRDs of that revision, then the kinds of the history's other CRDs, each as it was last
    registered, so that an object is named by its kind before its CRD came or after it went."""
    snap = history.snapshot(history.head if at is None else at)
    current = Registry.for_snapshot(snap)
    others = {}
    for key in history.keys_of(CRD_GROUP, CRD_KIND):
        crd = _last_registered(history, key, snap)
        if crd is not None:
            rt = crd_types(crd)
            if (rt.group, rt.kind) not in current:
                others.setdefault((rt.group, rt.kind), rt)
    return Registry((*current, *others.values())) if others else current


def _last_registered(history: History, key: Key, snap: Snapshot) -> Any:
    """The last version of CRD `key` that registered its kind, unless `snap` has it registered."""
    now = snap.get(key)
    if now is not None and registers(now):
        return None
    for rev in reversed(history.revisions_of(key)):
        crd = history.version(key, rev)
        if crd is not None and registers(crd):
            return crd
    crd = history.base.get(key)
    return crd if crd is not None and registers(crd) else None


# ---------------------------------------------------------------- history lines


def summarize(record: CommitRecord, previous: Mapping, namespace: str | None = None) -> list[str]:
    """`+pod/web-x`, `~deploy/web status`, `-pod/web-y`: one word per op.

    The Events a record also wrote fold into one word (`+3 events`), unless
    they are all it wrote.  `previous` maps keys to the objects before the
    record (a snapshot's objects).  `namespace`: only the ops on objects in it."""
    out = []
    ops, events = (in_namespace(part, namespace) for part in _fold_events(record.ops))  # (folded as unfiltered)
    for op in ops:
        old = previous.get(op.key)
        if op.type == "delete":
            out.append(f"-{ref(op.key)}")
        elif old is None:
            out.append(f"+{ref(op.key)}")
        else:
            parts = sorted({p[0] for p, _a, _b in changed_fields(old, op.obj) if p})
            out.append(f"~{ref(op.key)}" + (f" {','.join(parts)}" if parts else ""))
    if events:
        out.append(f"+{len(events)} event{'s' if len(events) > 1 else ''}")
    return out


def in_namespace(ops: Sequence[Op], namespace: str | None) -> Sequence[Op]:
    """The ops on objects in `namespace` and on the Namespace itself (its creation, its Terminating
    phase, its end); None: all of them.  Other cluster-scoped objects are in none."""
    if namespace is None:
        return ops
    return [op for op in ops if op.key[2] == namespace or op.key == ("", "Namespace", "", namespace)]


def _fold_events(ops: Sequence[Op]) -> tuple[list[Op], list[Op]]:
    """The ops a line names one by one, and the Events it folds into one word (unless they are all)."""
    events = [op for op in ops if op.key[1] == "Event" and op.key[0] in ("", "events.k8s.io")]
    if events and len(events) < len(ops):
        return [op for op in ops if op not in events], events
    return list(ops), []


@attrs.frozen
class Line:
    """One revision as `recon history` shows it."""

    record: CommitRecord
    ops: tuple[str, ...]
    within: str | None = None  # the namespace the ops were limited to (`recon history -n NS`)

    @property
    def namespace(self) -> str:
        """The namespaces of the objects the line names (folded Events left out), comma-separated;
        empty when they are all cluster-scoped."""
        named, _events = _fold_events(self.record.ops)
        return ",".join(dict.fromkeys(op.key[2] for op in in_namespace(named, self.within) if op.key[2]))

    @property
    def outside(self) -> int:
        """How many of the record's ops the line leaves out: those outside the namespace `within`."""
        return 0 if self.within is None else len(self.record.ops) - len(in_namespace(self.record.ops, self.within))

    def format(self, namespace: bool = False) -> str:
        """`namespace`: with a column for the namespace of its objects before the ops (as `get -A`)."""
        r = self.record
        ns = f"{self.namespace:<15}  " if namespace else ""  # (15: kube-node-lease, whose Leases are many)
        more = f"  (+{self.outside} more outside {self.within})" if self.outside else ""
        return (f"{r.revision:>6}  {format_time(r.time)}  {who(r):<40}  {cause_text(r):<28}  "
                f"{ns}{' '.join(self.ops)}{more}")


def _no_revision(revision: int, head: int) -> str:
    if head == 0:
        return f"there is no revision {revision}: the history is empty"
    return f"there is no revision {revision} (the history ends at {head})"


def lines(history: History, key: Key | None = None, since: int | None = None, until: int | None = None,
          actor: str | None = None, namespace: str | None = None) -> Iterator[Line]:
    """The history's lines, optionally only those writing `key`, by `actor` or in `namespace`.

    With `key`, only the revisions that wrote it are read (the index says
    which); otherwise the records from `since` are read in order, from the
    state at `since - 1`.  With `namespace`, only the revisions that wrote an
    object in it, each line naming only those ops (and counting the others).
    """
    start = max(since or 1, history.base.revision + 1)
    if since is not None and start > history.head:
        raise HistoryError(_no_revision(since, history.head))
    if key is not None:
        yield from _lines_of(history, tuple(key), start, until, actor)
        return
    objects = dict(history.snapshot(start - 1).objects) if start > 1 else {}
    for record in history.records(start, until):
        if _wanted(record, actor) and (namespace is None or in_namespace(record.ops, namespace)):
            yield Line(record, tuple(summarize(record, objects, namespace)), namespace)
        for op in record.ops:
            if op.type == "delete":
                objects.pop(op.key, None)
            else:
                objects[op.key] = op.obj


def _wanted(record: CommitRecord, actor: str | None) -> bool:
    """Written by `actor`: the actor or rule named in full, or up to a `/` or `:` in it
    (`kubelet` for kubelet/node_status, `manifests` for manifests:web.yaml)."""
    if actor is None:
        return True
    actor = actor.rstrip("/:")
    return any(name == actor or name.startswith((actor + "/", actor + ":")) for name in (record.actor, who(record)))


def _lines_of(history: History, key: Key, start: int, until: int | None, actor: str | None) -> Iterator[Line]:
    for rev in history.revisions_of(key, until):
        if rev < start:
            continue
        record = history.record(rev)
        if _wanted(record, actor):
            previous = {op.key: history.before(op.key, rev) for op in record.ops}
            yield Line(record, tuple(summarize(record, previous)))


# ---------------------------------------------------------------- diffs


@attrs.frozen
class Change:
    key: Key
    old: Any  # None: did not exist
    new: Any

    def yaml_diff(self, label_old: str, label_new: str) -> str:
        return yaml_diff(self.key, self.old, self.new, label_old, label_new)


def _for_diff(obj: Any) -> list[str]:
    if obj is None:
        return []
    plain = thaw(obj)
    plain.get("metadata", {}).pop("resourceVersion", None)
    return yaml.dump(plain, Dumper=BlockYAML, default_flow_style=False, sort_keys=True).splitlines(keepends=True)


def yaml_diff(key: Key, old: Any, new: Any, label_old: str, label_new: str) -> str:
    """A unified diff of two versions as YAML (resourceVersion left out: it is the revision)."""
    name = ref(key)
    text = difflib.unified_diff(_for_diff(old), _for_diff(new), f"{name} {label_old}", f"{name} {label_new}")
    return "".join(text)


def diff(history: History, rev1: int, rev2: int | None = None, key: Key | None = None) -> list[Change]:
    """The objects that differ between `rev1` and `rev2` (default: the head), by key."""
    rev2 = history.head if rev2 is None else rev2
    history.check(rev1)
    history.check(rev2)
    lo, hi = sorted((rev1, rev2))
    if key is not None:  # its own writes only
        written = [r for r in history.revisions_of(key, hi) if r > lo]
        touched = {tuple(key): history.version(key, written[-1])} if written else {}
        before: Any = {tuple(key): history.at(key, lo)}
    elif hi - lo <= DIFF_SCAN:  # read the records in between
        touched = {}
        for record in history.records(lo + 1, hi):
            for op in record.ops:
                touched[op.key] = op.obj if op.type == "put" else None
        before = history.snapshot(lo).objects if touched else {}
    else:  # far apart: the two states, compared by their objects' hashes
        old_snap, new_snap = history.snapshot(lo), history.snapshot(hi)
        a, b = old_snap.hashes, new_snap.hashes
        touched = {k: new_snap.get(k) for k in set(a) | set(b) if a.get(k) != b.get(k)}
        before = old_snap.objects
    if not touched:
        return []
    changes = []
    for k in sorted(touched):
        old, new = before.get(k), touched[k]
        if rev1 > rev2:
            old, new = new, old
        if changed_fields(old, new) or (old is None) != (new is None):
            changes.append(Change(k, old, new))
    return changes


# ---------------------------------------------------------------- explain


@attrs.frozen
class Step:
    """One link of a causal chain: a revision that wrote `key`, and why."""

    revision: int
    time: float
    actor: str
    rule: str | None
    key: Key
    what: str
    external: bool
    via: str = ""  # how the previous step led here ("a change of" / "the timer of" …)
    notes: tuple[str, ...] = ()

    def format(self, first: bool) -> str:
        lead = "" if first else f"  because ({self.via}) "
        who_ = self.rule or self.actor
        tail = "  [external input]" if self.external else ""
        text = f"{lead}rev {self.revision} {format_time(self.time)}  {who_}: {ref(self.key)} {self.what}{tail}"
        return "\n".join([text, *("      " + n for n in self.notes)])


def explain(history: History, key: Key, path: tuple = (), at: int | None = None,
            scheduling: Any = None) -> list[Step]:
    """The causal chain of `key` (or its field at `path`) as of revision `at`.

    Starts at the last revision that changed it; then follows the cause of
    each record: a rule's change trigger leads to the revision that made the
    change; a timer, start or retry leads to the anchor's last write before
    it by someone else; a bind leads to the pod's creation.  Ends at an
    external input (manifest, user, bootstrap) or after MAX_CHAIN steps.
    `scheduling(record)`, when given, returns lines explaining a bind.
    """
    at = history.head if at is None else history.check(at)
    key = tuple(key)
    rev = history.last_write(key, path, at)
    if rev is None:
        raise HistoryError(f"{ref(key)} was never written up to revision {at}"
                           + (f" (at field {_dotted(path)})" if path else ""))
    steps: list[Step] = []
    seen: set[tuple[int, Key]] = set()
    via = ""
    while rev is not None and len(steps) < MAX_CHAIN and (rev, key) not in seen:
        seen.add((rev, key))
        record = history.record(rev)
        old, new = history.before(key, rev), history.version(key, rev)
        notes = ()
        if scheduling is not None and rule_of(record) == "default-scheduler" and not steps:
            notes = tuple(scheduling(history, record))
        steps.append(Step(rev, record.time, record.actor, rule_of(record), key,
                          describe_change(old, new, path if not steps else ()), is_external(record), via, notes))
        if is_external(record):
            break
        rev, key, via = _follow(history, record)
        path = ()
    return steps


def _follow(history: History, record: CommitRecord) -> tuple[int | None, Key, str]:
    """The revision and object a record's cause points at, and how to say it."""
    head = record.cause[0]
    if "scheduler" in head:
        pod = tuple(head["pod"])
        return history.created(pod, record.revision - 1), pod, "scheduling the pending pod"
    anchor = tuple(head["anchor"])
    found = triggers(record)
    changes = [t for t in found if t.get("type") == "change" and t.get("key")]
    if changes:
        # (the newest change of the anchor, else the newest: the last that made the rule act)
        own = [t for t in changes if tuple(t["key"]) == anchor]
        pick = max(own or changes, key=lambda t: t["rev"])
        more = f", +{len(found) - 1} more" if len(found) > 1 else ""
        return pick["rev"], tuple(pick["key"]), f"a change of {ref(pick['key'])}{more}"
    what = found[0]["type"] if found else "start"
    upto = found[0]["rev"] if found else record.revision - 1
    rev = history.last_write(anchor, (), upto, actor_not=who(record))
    return rev, anchor, f"{what} at rev {upto} of {ref(anchor)}; its last write by another rule or actor"


def format_chain(steps: list[Step], key: Key, path: tuple, value: Any = _MISSING, at: int | None = None) -> str:
    """The chain under its title: the object, the field and its value as of revision `at`.

    A field the object does not have at `at` reads `= <none> (not set at
    revision N)`; the chain then shows the write that left it unset.
    """
    title = ref(key) + (f" {_dotted(path)}" if path else "")
    if value is not _MISSING:
        title += f" = {_show(value)}"
    elif path and at is not None:
        title += f" = <none> (not set at revision {at})"
    return "\n".join([title, *(s.format(i == 0) for i, s in enumerate(steps))])


def scheduling_from(rules_dir: Path) -> Any:
    """A `scheduling` hook for `explain`: re-run the bind's scheduling attempt on the state it saw."""

    def explain_bind(history: History, record: CommitRecord) -> list[str]:
        from .apiserver import APIServer
        from .clock import SimClock
        from .reconcile import Engine
        from .rules import load_rules
        from .scheduler_explain import explain_scheduling

        head = record.cause[0]
        pod_key, seen = tuple(head["pod"]), int(head.get("rev") or record.revision - 1)
        snap = history.snapshot(seen)
        pod = snap.get(pod_key)
        if pod is None:
            return []
        try:
            rules = load_rules(rules_dir)
        except ReconError as exc:  # (a broken rule file elsewhere: the chain is still worth showing)
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            return [f"(the attempt is not re-evaluated: the rules in {rules_dir} do not load: {first})"]
        clock = SimClock(snap.time)
        engine = Engine(APIServer(Store(snap, clock=clock.now), clock), rules, clock)
        attempt = engine.scheduler.attempts[pod_key] = engine.scheduler.attempt(pod, snap)
        text = explain_scheduling(engine, pod_key[2], pod_key[3])
        bound = lookup(history.version(pod_key, record.revision), ("spec", "nodeName"))
        bound = None if bound is _MISSING else bound
        notes = [f"(the attempt re-evaluated on revision {seen} with the rules in {rules_dir})"]
        if attempt.chosen != bound:
            notes.append(f"warning: re-evaluated, it chooses {attempt.chosen}, but the pod was bound to "
                         f"{bound}: the rules or the scheduler changed since")
        return notes + text.splitlines()[1:]

    return explain_bind


# ---------------------------------------------------------------- replay (verify)


@attrs.frozen
class Verification:
    revision: int  # the last revision replayed and verified
    checkpoints: int  # checkpoints compared with the replayed state
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(state_dir: str | os.PathLike, to: int | None = None) -> Verification:
    """Rebuild every state from the log; check checksums, state hashes and checkpoints."""
    folder = StateFolder(state_dir)
    folder.check_format()
    if not folder.log.exists():
        raise StateError(folder.log, "the history log is missing")
    ckpts = set(folder.checkpoints.revisions())
    snap, checked, problems = Snapshot(), 0, []
    with open(folder.log, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        header = f.read(len(LOG_HEADER))
        if not header:
            return Verification(0, 0, (f"{folder.log}: the history log is empty (0 bytes, not even its header): "
                                       "every revision it held is lost",))
        if header != LOG_HEADER:
            return Verification(0, 0, (f"{folder.log}: not a recon history log (bad header)",))
        reader = FrameReader(f, len(LOG_HEADER), size)
        for frame in reader:
            try:
                record = decode_record(frame.payload)
            except (ValueError, KeyError, TypeError) as exc:
                problems.append(f"offset {frame.start}: the record after revision {snap.revision} "
                                f"is not valid ({exc})")
                break
            if record.revision != snap.revision + 1:
                problems.append(f"offset {frame.start}: revision {record.revision} where "
                                f"{snap.revision + 1} was expected")
                break
            snap = apply_record(snap, record)
            if snap.state_hash != record.state_hash:
                problems.append(f"revision {record.revision} (offset {frame.start}): replaying it gives "
                                f"state hash {snap.state_hash:016x}, the log recorded {record.state_hash:016x}")
                break
            if record.revision in ckpts:
                found = _check_checkpoint(folder, snap)
                if found is not None:
                    checked += 1
                    problems += found
            if to is not None and record.revision >= to:
                break
        else:
            if reader.problem:
                problems.append(f"{reader.problem}: the record after revision {snap.revision} is corrupt; "
                                f"{size - reader.end} bytes of the log cannot be read")
    beyond = sorted(r for r in ckpts if r > snap.revision)
    if beyond and to is None:
        problems.append(f"checkpoints exist beyond the last intact revision {snap.revision} "
                        f"(up to {beyond[-1]}): the log has lost records")
    if to is not None and snap.revision < to and not problems:
        problems.append(f"revision {to} is beyond the end of the history ({snap.revision})")
    return Verification(snap.revision, checked, tuple(problems))


def _check_checkpoint(folder: StateFolder, snap: Snapshot) -> list[str] | None:
    """What is wrong with the checkpoint at `snap`'s revision; None if a writer thinned it out meanwhile."""
    path = folder.checkpoints.path(snap.revision)
    try:
        meta = folder.checkpoints.meta(snap.revision)
    except FileNotFoundError:
        return None
    except StateError as exc:
        return [str(exc)]
    if meta.get("hash") != snap.state_hash:
        return [f"{path}: its state hash {meta.get('hash'):016x} differs from the replayed "
                f"{snap.state_hash:016x}"]
    return []


# ---------------------------------------------------------------- what-if


@attrs.frozen
class WhatIf:
    """What re-executing history with other rules did."""

    start: int  # the revision re-execution started from
    inputs: int  # external records fed again
    recorded: History
    new: History
    divergence: int | None  # the first revision whose state differs (None: identical)
    messages: tuple[str, ...]  # runs that did not converge, rule failures
    unsettled: tuple[int, ...] = ()  # inputs that came while the recorded rules had work (`unsettled_inputs`)

    def end_changes(self) -> list[Change]:
        """The objects that differ between the recorded and the new end state."""
        old, new = self.recorded.snapshot(self.recorded.head), self.new.snapshot(self.new.head)
        changes = []
        for key in sorted(set(old.objects) | set(new.objects)):
            a, b = old.get(key), new.get(key)
            if (a is None) != (b is None) or changed_fields(a, b):
                changes.append(Change(key, a, b))
        return changes


def quiet_point(history: History, revision: int) -> int:
    """Where a re-execution from `revision` starts: the last revision ≤ `revision` right before a
    run of external inputs (or the beginning).

    Never inside a run of inputs: the recorded rules had not seen the first
    ones when the last came, and the new ones, started cold there, would.
    """
    rev = min(revision, history.head - 1)
    while rev > history.base.revision and (
            not is_external(history.record(rev + 1)) or is_external(history.record(rev))):
        rev -= 1
    return max(rev, history.base.revision)


def unsettled_inputs(history: History, start: int) -> list[int]:
    """The runs of external inputs after `start` (by their first revision) that came while the
    recorded rules still had work to do.

    The sign: a rule write after the run, before the next inputs, that was
    triggered by something older than the run — a change, timer or retry at
    or before the revision it came to, or the engine's start before it.  A
    re-execution feeds an input only once the rules are done, so from such
    an input on the histories can differ whatever the rules.  Not counted:
    an engine started at that very revision (the log cannot tell whether its
    first evaluations had work of their own), and scheduler binds (a pod may
    wait for a node for good).
    """
    found: list[int] = []
    came_to, previous_external = None, False
    for record in history.records(start + 1):
        if is_external(record):
            if not previous_external:
                came_to = record.revision - 1
            previous_external = True
            continue
        previous_external = False
        if came_to is not None and (not found or found[-1] != came_to + 1) and _older(record, came_to):
            found.append(came_to + 1)
    return found


def _older(record: CommitRecord, revision: int) -> bool:
    """A rule write triggered by something that was already there at `revision`."""
    for trigger in triggers(record):
        rev = trigger.get("rev")
        if isinstance(rev, int) and (rev < revision or (rev == revision and trigger.get("type") != "start")):
            return True
    return False


def _segments(history: History, after: int) -> list[list[CommitRecord]]:
    """Runs of consecutive external records after `after` (the engine did not run inside one)."""
    segments: list[list[CommitRecord]] = []
    previous_external = False
    for record in history.records(after + 1):
        if is_external(record):
            if previous_external:
                segments[-1].append(record)
            else:
                segments.append([record])
        previous_external = is_external(record)
    return segments


def rebase(current: Any, before: Any, after: Any) -> Any:
    """`current` with the edit that turned `before` into `after` (maps merge per field)."""
    if before == after:
        return current
    if isinstance(before, Mapping) and isinstance(after, Mapping) and isinstance(current, Mapping):
        out = current
        for name in set(before) | set(after):
            b, a = before.get(name, _MISSING), after.get(name, _MISSING)
            if b == a:
                continue
            if a is _MISSING:
                out = out.discard(name)
            elif b is _MISSING or name not in out:
                out = out.set(name, a)
            else:
                out = out.set(name, rebase(out[name], b, a))
        return out
    return after


def _feed(store: Store, history: History, record: CommitRecord) -> None:
    """Apply one recorded external input to the new history, as an edit of what is there now."""
    ops = []
    for op in record.ops:
        current = store.head.get(op.key)
        if op.type == "delete":
            if current is not None:
                ops.append(Op("delete", op.key))
            continue
        before = history.before(op.key, record.revision)
        obj = op.obj if current is None or before is None else rebase(current, before, op.obj)
        ops.append(Op("put", op.key, obj))
    if ops:
        store.commit(Txn(tuple(ops), actor=record.actor, cause=record.cause), time=record.time)


def what_if(history: History, rules_dir: Path, from_rev: int = 0, extra: float = 0.0) -> WhatIf:
    """Re-execute history from `from_rev` with the rules in `rules_dir`.

    Starts from the state right before the last run of external inputs at
    or before `from_rev` (`quiet_point`; the beginning when there is none),
    runs the new rules there (they start cold, so the recorded rules should
    have had nothing left to do), feeds every later external input at its
    recorded time once the rules are done, and compares the two histories
    revision by revision.  The inputs the recorded rules did not wait for
    (`unsettled_inputs`) are listed: a divergence from one of them on may
    come from the order, not the rules.
    """
    from .apiserver import APIServer
    from .clock import EPOCH, SimClock
    from .reconcile import Engine, UnservedKind
    from .rules import load_rules

    start = quiet_point(history, from_rev)
    base = history.snapshot(start)
    clock = SimClock(base.time if start else (history.record(start + 1).time if history.head > start else EPOCH))
    store = Store(base, clock=clock.now, window=1)
    new_records: list[CommitRecord] = []
    store.listeners.append(lambda _snap, _events, record: new_records.append(record))
    # (the history does not say when its runs started: it is re-executed as one run, begun before
    # its first revision, so `cluster_start()` extends no time limit)
    engine = Engine(APIServer(store, clock), load_rules(rules_dir), clock, started=0.0)
    messages: list[str] = []
    segments = _segments(history, start)

    def run(until: float) -> None:
        result = engine.run(until=until)
        if not result.converged:
            messages.append(f"at revision {store.revision}: {result.message}")
        messages.extend(f"at revision {store.revision}: {f.format()}" for f in result.failures
                        if not isinstance(f, UnservedKind))  # (a kind whose CRD an input brings later)

    for segment in segments:
        run(segment[0].time)
        with store.batch():
            for record in segment:
                clock.advance_to(record.time)  # the rules then run at the last input's time, as recorded
                _feed(store, history, record)
    end = history.record(history.head).time if history.head > start else clock.now()
    run(end + extra)
    new = History(new_records, base=base)
    return WhatIf(start, sum(map(len, segments)), history, new, first_divergence(history, new, start),
                  tuple(dict.fromkeys(messages)), tuple(unsettled_inputs(history, start)))


def first_divergence(recorded: History, new: History, start: int) -> int | None:
    """The first revision after `start` whose state differs between two histories."""
    rev = start + 1
    while rev <= max(recorded.head, new.head):
        if rev > recorded.head or rev > new.head:
            return rev
        if recorded.record(rev).state_hash != new.record(rev).state_hash:
            return rev
        rev += 1
    return None


# ---------------------------------------------------------------- invariants


@attrs.frozen
class Violation:
    """The first revision where an invariant fails, and for which object (None: no `it`)."""

    revision: int
    key: Key | None
    value: Any  # what the expression gave (None also when it could not be evaluated)
    error: str | None = None  # why it could not be evaluated
    line: Line | None = None  # the revision as `recon history` shows it


@attrs.frozen
class InvariantResult:
    start: int
    end: int
    evaluations: int  # how many times the expression was evaluated
    violation: Violation | None


class _Kinds:
    """What an EvalContext asks of its engine: a kind reference resolved on the snapshot evaluated."""

    def __init__(self, snap: Snapshot):
        self.snap = snap

    def resolve(self, kind_ref: Any) -> tuple[str, str] | None:
        if kind_ref.group is not None:
            return (kind_ref.group, kind_ref.kind)
        rt = Registry.for_snapshot(self.snap).find_kind(kind_ref.kind)
        return None if rt is None else (rt.group, rt.kind)


def evaluate(fn: Any, snap: Snapshot, it: Any = None) -> tuple[Any, str | None]:
    """The value of a compiled expression on a snapshot (`it` bound), or the error it raised."""
    from .dsl.runtime import describe_failure
    from .evalctx import EvalContext

    try:
        return fn(EvalContext(_Kinds(snap), snap, snap.time), it), None
    except Exception as exc:  # whatever a rule's evaluation may raise (as the engine catches it)
        return None, describe_failure(exc)


def check_invariant(history: History, fn: Any, kind: tuple[str, str] | None = None,
                    namespace: str | None = None, start: int | None = None,
                    end: int | None = None) -> InvariantResult:
    """The first revision in start..end where the compiled expression `fn` is not true.

    With `kind` (group, kind): `fn(ctx, obj)` is evaluated for every object of
    the kind (in `namespace`, when given) at `start`, then, at each later
    revision, only for the objects that revision wrote — the log says which, no
    revision is scanned whole.  Without: `fn(ctx, None)` once per revision.
    The state moves forward record by record; queries see the whole state of
    the revision evaluated.  Not a bisection: an invariant may break and heal.
    """
    from .dsl.runtime import truthy

    end = history.check(history.head if end is None else min(end, history.head))
    start = history.check(max(history.base.revision + 1, start or 0, 1))
    snap, count = history.snapshot(start - 1), 0
    for record in history.records(start, end):
        rev, previous = record.revision, snap
        snap = apply_record(snap, record)
        if kind is None:
            candidates: list[Key | None] = [None]
        elif rev == start:
            candidates = list(snap.keys(*kind, namespace))
        else:
            candidates = [op.key for op in record.ops if op.type == "put" and op.key[:2] == kind
                          and (namespace is None or op.key[2] == namespace)]
        for key in candidates:
            count += 1
            value, error = evaluate(fn, snap, None if key is None else snap.get(key))
            if error is not None or not truthy(value):
                line = Line(record, tuple(summarize(record, previous.objects)))
                return InvariantResult(start, end, count, Violation(rev, key, value, error, line))
    return InvariantResult(start, end, count, None)
