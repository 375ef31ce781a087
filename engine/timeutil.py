"""Times and durations the way Kubernetes writes them.

Times are float seconds since the epoch (UTC).  Kubernetes serializes
metav1.Time as RFC 3339 in UTC with whole seconds (`format_time`) and
metav1.MicroTime with microseconds (`format_micro_time`); durations are Go
duration strings (`parse_duration`); kubectl's AGE column is `format_age`.
"""

from __future__ import annotations

import calendar
import math
import re
from datetime import datetime, timezone
from fractions import Fraction

_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?"
    r"(?:([Zz])|([+-])(\d{2}):(\d{2}))"
)


def parse_time(text: str) -> float:
    """Epoch seconds of an RFC 3339 time ("2026-01-01T00:00:00Z", "...+02:00", "....5Z")."""
    match = _RFC3339.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"invalid time {text!r}: expected RFC 3339, like 2026-01-01T00:00:00Z")
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    try:
        datetime(year, month, day, hour, minute, min(second, 59))  # leap second 60 is allowed
    except ValueError as error:
        raise ValueError(f"invalid time {text!r}: {error}") from None
    seconds = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    if match.group(9):
        offset = int(match.group(10)) * 3600 + int(match.group(11)) * 60
        seconds -= offset if match.group(9) == "+" else -offset
    fraction = float("0" + match.group(7)) if match.group(7) else 0.0
    return seconds + fraction


def format_time(t: float) -> str:
    """metav1.Time's form: RFC 3339, UTC, whole seconds (truncated)."""
    global _last_formatted
    second = math.floor(float(t))
    last = _last_formatted  # (one tuple, swapped whole: safe for the API server's threads)
    if last[0] == second:  # the engine clock stands still within a round: one second, many stamps
        return last[1]
    text = datetime.fromtimestamp(second, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    _last_formatted = (second, text)
    return text


_last_formatted: tuple = (None, "")  # the last second format_time wrote, and its text


def format_micro_time(t: float) -> str:
    """metav1.MicroTime's form: RFC 3339, UTC, six fraction digits (truncated)."""
    micros = math.floor(round(float(t) * 1_000_000, 3))
    whole, fraction = divmod(micros, 1_000_000)
    moment = datetime.fromtimestamp(whole, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{fraction:06d}Z"


_UNITS = {
    "ns": Fraction(1, 10**9), "us": Fraction(1, 10**6), "µs": Fraction(1, 10**6),
    "μs": Fraction(1, 10**6), "ms": Fraction(1, 1000), "s": Fraction(1),
    "m": Fraction(60), "h": Fraction(3600), "d": Fraction(86400),
}
_COMPONENT = re.compile(r"([0-9]*)(?:\.([0-9]*))?([^0-9.]*)")


def parse_duration(text: str, days: bool = True) -> float:
    """Seconds in a Go duration ("1h30m", "1.5s", "-2m", "300ms"); also "d" for days unless `days` is
    false (Go's time.ParseDuration exactly, as a CronJob's `@every` reads it)."""
    if not isinstance(text, str):
        raise ValueError(f"invalid duration {text!r}: expected a string like 1h30m")
    body = text[1:] if text[:1] in ("+", "-") else text
    if body == "0":
        return 0.0
    if not body:
        raise ValueError(f'time: invalid duration "{text}"')
    total, pos = Fraction(0), 0
    while pos < len(body):
        whole, fraction, unit = _COMPONENT.match(body, pos).groups()
        if not whole and not fraction:
            raise ValueError(f'time: invalid duration "{text}"')
        if not unit:
            raise ValueError(f'time: missing unit in duration "{text}"')
        if unit not in _UNITS or (unit == "d" and not days):
            raise ValueError(f'time: unknown unit "{unit}" in duration "{text}"')
        number = Fraction(int(whole or "0")) + (Fraction(int(fraction), 10 ** len(fraction)) if fraction else 0)
        total += number * _UNITS[unit]
        pos += len(whole) + (len(fraction) + 1 if fraction is not None else 0) + len(unit)
    return float(-total if text.startswith("-") else total)


def format_age(seconds: float) -> str:
    """kubectl's duration.HumanDuration: "45s", "3m2s", "5h", "4d2h", "2y30d"."""
    whole = int(seconds)  # truncates toward zero, as Go's int(d.Seconds())
    if whole < -1:
        return "<invalid>"
    if whole < 0:
        return "0s"
    if whole < 60 * 2:
        return f"{whole}s"
    minutes = whole // 60
    if minutes < 10:
        return f"{minutes}m{whole % 60}s" if whole % 60 else f"{minutes}m"
    if minutes < 60 * 3:
        return f"{minutes}m"
    return _format_hours(whole // 3600, minutes % 60)


def _format_hours(hours: int, minutes: int) -> str:
    if hours < 8:
        return f"{hours}h{minutes}m" if minutes else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    days = hours // 24
    if hours < 24 * 8:
        return f"{days}d{hours % 24}h" if hours % 24 else f"{days}d"
    if hours < 24 * 365 * 2:
        return f"{days}d"
    if hours < 24 * 365 * 8:
        return f"{days // 365}y{days % 365}d" if days % 365 else f"{days // 365}y"
    return f"{days // 365}y"
