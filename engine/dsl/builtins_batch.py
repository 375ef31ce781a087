"""Builtins for the batch controllers (Jobs, CronJobs): cron schedule arithmetic, completion indexes.

Primitives only: `rules/cronjob.rules` decides when a Job is due and what
to do about it; these functions only know which minutes a schedule names
(engine/cron.py, robfig/cron's standard parser as upstream uses it).
`rules/job.rules` decides which index an Indexed Job runs next; the index
functions only read a pod's completion index and do arithmetic on sets of
indexes written as upstream's `status.completedIndexes` ("0-2,4,6-7",
pkg/controller/job/indexed_job_utils.go), kept as intervals so a Job of a
hundred thousand completions costs a few intervals, not a list of them.
"""

from __future__ import annotations

import re

from engine import cron

from .builtins import _dig, _section, _seq, builtin

_section("Batch")


def _seconds(value):
    from .builtins import time_

    return time_(value)


@builtin()
def cron_next(schedule, after, time_zone=None):
    """The first time (seconds) strictly after AFTER that SCHEDULE names: five cron fields or a macro (@hourly, @daily, @weekly, @monthly, @yearly), read in the IANA zone TIME_ZONE (UTC when null); null for a schedule that does not parse or never fires within five years.

    cron_next("*/5 * * * *", "2026-01-01T00:03:00Z") → 1767225900.0 (00:05)
    cron_next("0 9 * * mon-fri", t, "Europe/Paris") → 09:00 Paris time, next weekday
    """
    t = _seconds(after)
    if schedule is None or t is None:
        return None
    try:
        return cron.next_after(str(schedule), float(t), time_zone)
    except cron.CronError:
        return None


@builtin()
def cron_latest(schedule, at, time_zone=None):
    """The last time (seconds) at or before AT that SCHEDULE names (see cron_next); null when none within five years or the schedule does not parse.

    cron_latest("*/5 * * * *", "2026-01-01T00:13:00Z") → 1767226200.0 (00:10)
    """
    t = _seconds(at)
    if schedule is None or t is None:
        return None
    try:
        return cron.latest_at(str(schedule), float(t), time_zone)
    except cron.CronError:
        return None


# ------------------------------------------------------------ completion indexes

COMPLETION_INDEX = "batch.kubernetes.io/job-completion-index"
_DECIMAL = re.compile(r"[+-]?[0-9]+")  # what Go's strconv.Atoi reads


def _atoi(text: str) -> int | None:
    return int(text) if _DECIMAL.fullmatch(text) else None


def _parse_intervals(ranges, limit) -> list[tuple[int, int]]:
    """upstream's parseIndexesFromString: "a-b" and "a" parts below LIMIT (a part that does not
    parse is skipped, the first one at or past LIMIT ends the list, a last past it is cut)."""
    out: list[tuple[int, int]] = []
    if not ranges or not isinstance(ranges, str):
        return out
    for part in ranges.split(","):
        bounds = part.split("-")
        first = _atoi(bounds[0])
        if first is None:
            continue
        if limit is not None and first >= limit:
            break
        last = _atoi(bounds[1]) if len(bounds) > 1 else first
        if last is None:
            continue
        if limit is not None:
            last = min(last, limit - 1)
        out.append((first, last))
    return out


def _union(intervals) -> list[tuple[int, int]]:
    """Sorted intervals, the overlapping and adjacent ones joined."""
    out: list[list[int]] = []
    for first, last in sorted(intervals):
        if out and first <= out[-1][1] + 1:
            out[-1][1] = max(out[-1][1], last)
        else:
            out.append([first, last])
    return [(first, last) for first, last in out]


def _format_intervals(intervals) -> str:
    """upstream's orderedIntervals.String: "a-b" for three or more, "a,b" for two, "a" for one."""
    parts = []
    for first, last in intervals:
        if last == first:
            parts.append(str(first))
        elif last == first + 1:
            parts.append(f"{first},{last}")
        else:
            parts.append(f"{first}-{last}")
    return ",".join(parts)


@builtin()
def completion_index(pod):
    """The completion index of an Indexed Job's pod: its batch.kubernetes.io/job-completion-index annotation read as a decimal integer; null when the annotation is missing, does not parse or is negative (upstream's getCompletionIndex).

    completion_index(pod) → 3 (annotation "3")
    completion_index(pod) → null (annotation "x", "-1" or none)
    """
    value = (_dig(pod, "metadata", "annotations") or {}).get(COMPLETION_INDEX)
    index = _atoi(value) if isinstance(value, str) else None
    return index if index is not None and index >= 0 else None


@builtin()
def merge_indexes(ranges, indexes, limit=None):
    """The indexes written in RANGES (upstream's completedIndexes format) and those in the list INDEXES, in that format, counting only indexes below LIMIT (null: no limit); nulls in INDEXES are skipped. Two neighbours are written "a,b", three or more "a-c".

    merge_indexes("0-2,6", [4, 7, 3], 8) → "0-4,6,7"
    merge_indexes(null, [5, 1, 2], 5) → "1,2"
    merge_indexes("0-9", [], 4) → "0-3"
    """
    added = [(i, i) for i in _seq(indexes)
             if isinstance(i, int) and not isinstance(i, bool) and i >= 0 and (limit is None or i < limit)]
    return _format_intervals(_union(_parse_intervals(ranges, limit) + added))


@builtin()
def count_indexes(ranges):
    """How many indexes RANGES (upstream's completedIndexes format) holds; 0 for null or "".

    count_indexes("0-2,4,6,7") → 6
    """
    return sum(last - first + 1 for first, last in _union(_parse_intervals(ranges, None)))


@builtin()
def missing_indexes(ranges, n, limit):
    """The N lowest indexes below LIMIT that RANGES (upstream's completedIndexes format) does not hold (upstream's firstPendingIndexes).

    missing_indexes("0,1,3", 2, 6) → [2, 4]
    missing_indexes("0-4", 3, 5) → []
    """
    if limit is None:
        return ()
    out: list[int] = []
    want = int(n or 0)
    candidate = 0
    for first, last in _union(_parse_intervals(ranges, limit)) + [(limit, limit)]:
        while candidate < min(first, limit) and len(out) < want:
            out.append(candidate)
            candidate += 1
        if len(out) >= want or candidate >= limit:
            break
        candidate = max(candidate, last + 1)
    return tuple(out)
