"""Builtins for the batch controllers (Jobs, CronJobs): cron schedule arithmetic, completion indexes,
pod failure policy rules.

Primitives only: `rules/cronjob.rules` decides when a Job is due and what
to do about it; these functions only know which minutes a schedule names
(engine/cron.py, robfig/cron's standard parser as upstream uses it).
`rules/job.rules` decides which index an Indexed Job runs next; the index
functions only read a pod's completion index, spell the name prefix of an
index's pods and do arithmetic on sets of indexes written as upstream's
`status.completedIndexes` ("0-2,4,6-7", pkg/controller/job/indexed_job_utils.go),
kept as intervals so a Job of a hundred thousand completions costs a few
intervals, not a list of them.
`pod_failure_rule` only says which rule of a Job's podFailurePolicy a failed
pod meets, and `success_policy_rule` which rule of its successPolicy the
succeeded indexes meet; the rule file decides what that does to the Job.
`index_failure_count` and its twin read the per-index failure counts the
controller keeps on each pod, `finish_time` when a pod finished (for the
failure back-off).
"""

from __future__ import annotations

import re

from engine import cron
from engine.naming import MAX_GENERATED_NAME_LENGTH
from engine.objects import pmap_of

from .builtins import _dig, _section, _seq, builtin

_section("Batch")


def _seconds(value):
    from .builtins import time_

    return time_(value)


@builtin()
def cron_next(schedule, after, time_zone=None):
    """The first time (seconds) strictly after AFTER that SCHEDULE names: five cron fields, a macro (@hourly, @daily, @weekly, @monthly, @yearly) or `@every <duration>` (AFTER, to the second, plus the duration), read in the IANA zone TIME_ZONE (UTC when null); null for a schedule that does not parse or never fires within five years.

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
def cron_latest(schedule, at, time_zone=None, since=None):
    """The last time (seconds) at or before AT that SCHEDULE names (see cron_next); null when none within five years or the schedule does not parse. An `@every` schedule runs from SINCE: the last of SINCE + k × its delay (k ≥ 1) at or before AT.

    cron_latest("*/5 * * * *", "2026-01-01T00:13:00Z") → 1767226200.0 (00:10)
    cron_latest("@every 90s", 1000, null, 100) → 910.0
    """
    t = _seconds(at)
    if schedule is None or t is None:
        return None
    try:
        start = _seconds(since)
        return cron.latest_at(str(schedule), float(t), time_zone, None if start is None else float(start))
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


@builtin()
def union_indexes(ranges, others, limit=None):
    """The indexes in RANGES or in OTHERS (both in upstream's completedIndexes format), in that format, counting only indexes below LIMIT (null: no limit).

    union_indexes("0-2,6", "3,8", 8) → "0-3,6"
    union_indexes("", null) → ""
    """
    return _format_intervals(_union(_parse_intervals(ranges, limit) + _parse_intervals(others, limit)))


@builtin()
def has_index(ranges, index):
    """Whether RANGES (upstream's completedIndexes format) holds INDEX.

    has_index("0-2,6", 1) → true
    has_index("0-2,6", 4) → false
    """
    if not isinstance(index, int) or isinstance(index, bool):
        return False
    return any(first <= index <= last for first, last in _parse_intervals(ranges, None))


def _overlap(intervals, others) -> int:
    """How many indexes two lists of sorted, disjoint intervals share."""
    shared, i, j = 0, 0, 0
    while i < len(intervals) and j < len(others):
        shared += max(0, min(intervals[i][1], others[j][1]) - max(intervals[i][0], others[j][0]) + 1)
        if intervals[i][1] < others[j][1]:
            i += 1
        else:
            j += 1
    return shared


def _total(intervals) -> int:
    return sum(last - first + 1 for first, last in intervals)


@builtin()
def success_policy_rule(policy, succeeded, completions):
    """The index of the first rule of a Job's successPolicy POLICY that its succeeded indexes SUCCEEDED (upstream's completedIndexes format) meet, counting indexes below COMPLETIONS; null when none does (upstream's matchSuccessPolicy). A rule with succeededIndexes is met when all of them succeeded, or succeededCount of them; one with succeededCount only when that many indexes succeeded. A rule whose succeededIndexes hold no index below COMPLETIONS is skipped, and nothing is met before an index succeeded.

    success_policy_rule({rules: [{succeededIndexes: "0,2-4", succeededCount: 2}]}, "1-3", 5) → 0
    success_policy_rule({rules: [{succeededCount: 3}]}, "0,1", 5) → null
    """
    done = _union(_parse_intervals(succeeded, completions))
    if not done:
        return None
    for index, rule in enumerate(_seq(_dig(policy, "rules"))):
        wanted, need = rule.get("succeededIndexes"), rule.get("succeededCount")
        if wanted is not None:
            required = _union(_parse_intervals(wanted, completions))
            if not required:
                continue
            shared = _overlap(required, done)
            if shared == _total(required) or (need is not None and shared >= need):
                return index
        elif need is not None and _total(done) >= need:
            return index
    return None


INDEX_FAILURE_COUNT = "batch.kubernetes.io/job-index-failure-count"
INDEX_IGNORED_FAILURE_COUNT = "batch.kubernetes.io/job-index-ignored-failure-count"
_MAX_INT32 = 2**31 - 1


def _count_annotation(pod, key) -> int:
    """upstream's parseInt32 of an annotation: 0 when it is missing, does not parse or is out of int32's range."""
    value = (_dig(pod, "metadata", "annotations") or {}).get(key)
    number = _atoi(value) if isinstance(value, str) else None
    return number if number is not None and 0 <= number <= _MAX_INT32 else 0


@builtin()
def index_failure_count(pod):
    """How many counted failures the index of POD (an Indexed Job's pod with backoffLimitPerIndex) had before it: its batch.kubernetes.io/job-index-failure-count annotation, 0 when missing, not a number or out of int32's range.

    index_failure_count(pod) → 2 (annotation "2")
    """
    return _count_annotation(pod, INDEX_FAILURE_COUNT)


@builtin()
def index_ignored_failure_count(pod):
    """How many failures a podFailurePolicy Ignore rule left uncounted in the index of POD before it: its batch.kubernetes.io/job-index-ignored-failure-count annotation, 0 when missing or not a valid count.

    index_ignored_failure_count(pod) → 1 (annotation "1")
    """
    return _count_annotation(pod, INDEX_IGNORED_FAILURE_COUNT)


@builtin()
def index_name_prefix(job_name, index):
    """The generateName of an Indexed Job's pod of INDEX: "<job>-<index>-", the Job's name cut so that the whole prefix fits in 58 characters, as upstream's podGenerateNameWithIndex.

    index_name_prefix("pi", 3) → "pi-3-"
    index_name_prefix(name_of_60_chars, 12) → the name's first 54 characters + "-12-"
    """
    tail = f"-{index}-"
    prefix = f"{job_name}{tail}"
    if len(prefix) > MAX_GENERATED_NAME_LENGTH:
        prefix = prefix[:MAX_GENERATED_NAME_LENGTH - len(tail)] + tail
    return prefix


def _restartable_init_names(pod) -> set:
    return {c.get("name") for c in _seq(_dig(pod, "spec", "initContainers")) if c.get("restartPolicy") == "Always"}


def _containers_finished(pod):
    """The latest finishedAt of the pod's containers (and sidecars), null while one has not terminated."""
    sidecars = _restartable_init_names(pod)
    statuses = [*_seq(_dig(pod, "status", "containerStatuses")),
                *(s for s in _seq(_dig(pod, "status", "initContainerStatuses")) if s.get("name") in sidecars)]
    latest = None
    for status in statuses:
        at = _seconds(_dig(status, "state", "terminated", "finishedAt"))
        if at is None:
            return None
        latest = at if latest is None else max(latest, at)
    return latest


@builtin()
def finish_time(pod):
    """When POD finished, as upstream's getFinishedTime reads it (seconds): the latest finishedAt of its containers (and sidecar init containers) once all terminated; else when its Ready condition turned False; else its deletionTimestamp less its grace period; else its creationTimestamp.

    finish_time(failed_pod) → 1767225900.0
    """
    at = _containers_finished(pod)
    if at is not None:
        return at
    ready = next((c for c in _seq(_dig(pod, "status", "conditions")) if c.get("type") == "Ready"), None)
    if ready is not None and ready.get("status") == "False" and ready.get("lastTransitionTime"):
        return _seconds(ready["lastTransitionTime"])
    deleted = _seconds(_dig(pod, "metadata", "deletionTimestamp"))
    if deleted is not None:
        return deleted - (_dig(pod, "metadata", "deletionGracePeriodSeconds") or 0)
    return _seconds(_dig(pod, "metadata", "creationTimestamp"))


# ------------------------------------------------------------ pod failure policy


def _exit_code_match(statuses, requirement):
    """The first terminated container of STATUSES whose non-zero exit code meets REQUIREMENT."""
    name, values = requirement.get("containerName"), list(_seq(requirement.get("values")))
    operator = requirement.get("operator")
    for status in _seq(statuses):
        terminated = _dig(status, "state", "terminated")
        code = _dig(terminated, "exitCode") if terminated is not None else None
        if code in (None, 0) or (name is not None and status.get("name") != name):
            continue
        if (operator == "In" and code in values) or (operator == "NotIn" and code not in values):
            return status
    return None


def _condition_match(conditions, patterns):
    """The first of the pod's CONDITIONS that one of PATTERNS names by type and status."""
    for condition in _seq(conditions):
        if any(condition.get("type") == p.get("type") and condition.get("status") == p.get("status")
               for p in _seq(patterns)):
            return condition
    return None


@builtin()
def pod_failure_rule(policy, pod):
    """The first rule of a Job's podFailurePolicy POLICY that the failed POD meets, as {index, action, message}; null when none does (the failure then counts, as upstream's matchPodFailurePolicy). An onExitCodes rule looks at the pod's containers, then its init containers, that terminated with a non-zero exit code (of containerName only, when the rule names one): In matches a code among the values, NotIn one that is not. An onPodConditions rule matches a condition of the pod with the pattern's type and status. The message is upstream's FailJob wording.

    pod_failure_rule(job.spec.podFailurePolicy, pod) → {index: 0, action: "FailJob", message: "Container main for pod demo/pi-x7k2p failed with exit code 42 matching FailJob rule at index 0"}
    pod_failure_rule(policy, evicted) → {index: 1, action: "Ignore", message: "Pod demo/pi-x7k2p has condition DisruptionTarget matching Ignore rule at index 1"}
    pod_failure_rule(null, pod) → null
    """
    ref = f"{_dig(pod, 'metadata', 'namespace')}/{_dig(pod, 'metadata', 'name')}"
    for index, rule in enumerate(_seq(_dig(policy, "rules"))):
        action, why = rule.get("action"), None
        if rule.get("onExitCodes") is not None:
            status = (_exit_code_match(_dig(pod, "status", "containerStatuses"), rule["onExitCodes"])
                      or _exit_code_match(_dig(pod, "status", "initContainerStatuses"), rule["onExitCodes"]))
            if status is not None:
                code = status["state"]["terminated"]["exitCode"]
                why = f"Container {status.get('name')} for pod {ref} failed with exit code {code}"
        elif rule.get("onPodConditions") is not None:
            condition = _condition_match(_dig(pod, "status", "conditions"), rule["onPodConditions"])
            if condition is not None:
                why = f"Pod {ref} has condition {condition.get('type')}"
        if why is not None:
            return pmap_of({"index": index, "action": action,
                            "message": f"{why} matching {action} rule at index {index}"})
    return None
