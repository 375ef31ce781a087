"""Cron schedules as the CronJob controller reads them (robfig/cron v3's standard parser).

`parse(text)` reads a standard five-field schedule — minute, hour, day of
month, month, day of week — with `*` and `?`, lists (`1,15`), ranges
(`1-5`), steps (`*/5`, `10-40/10`, `5/15` = `5-59/15`), month and weekday
names (`JAN`, `mon-fri`) and the macros `@yearly` (`@annually`),
`@monthly`, `@weekly`, `@daily` (`@midnight`) and `@hourly`.  As in robfig's
parser, when both day fields are restricted a time matches if either does;
when one of them is `*` (or `?`), both must.  `@every <duration>` (a Go
duration: `90s`, `1h30m`, `1.5h`) is robfig's constant delay: whole seconds,
at least one, counted from where the schedule starts, whatever the zone.

`next_after(schedule, t, zone)` is the first whole minute strictly after `t`
(seconds since the epoch) that the schedule names, in the IANA time zone
`zone` (UTC when empty); `latest_at(schedule, t, zone, since)` the last one
at or before `t` (of `@every`, the last of `since` + k × delay, k ≥ 1, at or
before `t`, as the CronJob controller counts its runs from the last one).
Both look at most five years ahead (or back) and answer None beyond:
`0 0 30 2 *` never fires.
"""

from __future__ import annotations

import functools
import math
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from .timeutil import parse_duration

MACROS = {
    "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
}
_MONTHS = {m: i + 1 for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split())}
_DAYS = {d: i for i, d in enumerate("sun mon tue wed thu fri sat".split())}
# field: (low, high, names)
_FIELDS = (("minute", 0, 59, {}), ("hour", 0, 23, {}), ("day of month", 1, 31, {}),
           ("month", 1, 12, _MONTHS), ("day of week", 0, 6, _DAYS))
_HORIZON_YEARS = 5


class CronError(ValueError):
    """A schedule the parser refuses (the message says which field and why)."""


@attrs.frozen
class Schedule:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    any_day: bool  # day of month or day of week is `*`: both must match

    def day_matches(self, when: datetime) -> bool:
        dom = when.day in self.days
        dow = (when.isoweekday() % 7) in self.weekdays
        return dom and dow if self.any_day else dom or dow


@attrs.frozen
class Every:
    """`@every <duration>`: a run every `delay` seconds."""

    delay: int


_EVERY = "@every "


@functools.lru_cache(maxsize=512)
def parse(text: str) -> Schedule | Every:
    """The schedule `text` names, or CronError."""
    if text.startswith(_EVERY):
        try:
            seconds = parse_duration(text[len(_EVERY):], days=False)
        except ValueError as exc:
            raise CronError(f"failed to parse duration {text}: {exc}") from None
        return Every(max(1, math.floor(seconds)))
    spec = MACROS.get(text.strip().lower(), text)
    fields = spec.split()
    if len(fields) != 5:
        raise CronError(f"expected exactly 5 fields, found {len(fields)}: {text}")
    parsed, star = [], []
    for value, (what, low, high, names) in zip(fields, _FIELDS):
        values, is_star = _field(value, what, low, high, names)
        parsed.append(frozenset(values))
        star.append(is_star)
    return Schedule(*parsed, any_day=star[2] or star[4])


def _field(text: str, what: str, low: int, high: int, names: dict) -> tuple[set[int], bool]:
    values: set[int] = set()
    star = False
    for part in text.split(","):
        span, _, step_text = part.partition("/")
        step = _number(step_text, what, names={}) if step_text else 1
        if step_text and step <= 0:
            raise CronError(f"step of {what} must be positive: {part}")
        if span in ("*", "?"):
            start, end = low, high
            star = star or step == 1
        else:
            first, dash, last = span.partition("-")
            start = _number(first, what, names)
            end = _number(last, what, names) if dash else (high if step_text else start)
        if start < low or end > high:
            raise CronError(f"{what} out of range ({low}-{high}): {part}")
        if start > end:
            raise CronError(f"beginning of range ({start}) beyond end of range ({end}): {part}")
        values.update(range(start, end + 1, step))
    return values, star


def _number(text: str, what: str, names: dict) -> int:
    lowered = text.lower()
    if lowered in names:
        return names[lowered]
    if not text.isdigit():
        raise CronError(f"failed to parse int from {text}: invalid {what}")
    return int(text)


def zone_of(name: str | None):
    """The tzinfo of an IANA zone name (UTC for none), or CronError."""
    if not name:
        return timezone.utc
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CronError(f"unknown time zone {name}") from None


def next_after(text: str, t: float, zone: str | None = None) -> float | None:
    """The first scheduled minute strictly after `t`, or None within five years."""
    sched, tz = parse(text), zone_of(zone)
    if type(sched) is Every:  # robfig's ConstantDelaySchedule: `t` to the second, plus the delay
        return float(math.floor(t) + sched.delay)
    wall = datetime.fromtimestamp(t, tz).replace(tzinfo=None, second=0, microsecond=0) + timedelta(minutes=1)
    limit = wall.year + _HORIZON_YEARS
    while wall.year <= limit:
        if wall.month not in sched.months:
            wall = (wall.replace(day=1, hour=0, minute=0) + timedelta(days=32)).replace(day=1)
        elif not sched.day_matches(wall):
            wall = wall.replace(hour=0, minute=0) + timedelta(days=1)
        elif wall.hour not in sched.hours:
            wall = wall.replace(minute=0) + timedelta(hours=1)
        elif wall.minute not in sched.minutes:
            wall += timedelta(minutes=1)
        else:
            found = wall.replace(tzinfo=tz).timestamp()
            if found > t:
                return found
            wall += timedelta(minutes=1)
    return None


def latest_at(text: str, t: float, zone: str | None = None, since: float | None = None) -> float | None:
    """The last scheduled minute at or before `t`, or None within five years; of `@every`, the last
    of `since` + k × delay (k ≥ 1) at or before `t` (None without `since`, or before the first)."""
    sched, tz = parse(text), zone_of(zone)
    if type(sched) is Every:
        if since is None:
            return None
        first = math.floor(since) + sched.delay
        return None if t < first else float(first + (math.floor(t - first) // sched.delay) * sched.delay)
    wall = datetime.fromtimestamp(t, tz).replace(tzinfo=None, second=0, microsecond=0)
    limit = wall.year - _HORIZON_YEARS
    while wall.year >= limit:
        if wall.month not in sched.months:
            wall = wall.replace(day=1, hour=23, minute=59) - timedelta(days=1)
        elif not sched.day_matches(wall):
            wall = wall.replace(hour=23, minute=59) - timedelta(days=1)
        elif wall.hour not in sched.hours:
            wall = wall.replace(minute=59) - timedelta(hours=1)
        elif wall.minute not in sched.minutes:
            wall -= timedelta(minutes=1)
        else:
            found = wall.replace(tzinfo=tz).timestamp()
            if found <= t:
                return found
            wall -= timedelta(minutes=1)
    return None
