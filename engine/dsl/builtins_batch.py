"""Builtins for the batch controllers (Jobs, CronJobs): cron schedule arithmetic.

Primitives only: `rules/cronjob.rules` decides when a Job is due and what
to do about it; these functions only know which minutes a schedule names
(engine/cron.py, robfig/cron's standard parser as upstream uses it).
"""

from __future__ import annotations

from engine import cron

from .builtins import _section, builtin

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
