"""Time parsing and formatting, Go durations and kubectl's HumanDuration."""

import calendar

import pytest

from engine.timeutil import format_age, format_micro_time, format_time, parse_duration, parse_time

NEW_YEAR = calendar.timegm((2026, 1, 1, 0, 0, 0))


@pytest.mark.parametrize("text, expected", [
    ("2026-01-01T00:00:00Z", NEW_YEAR),
    ("2026-01-01T00:00:00z", NEW_YEAR),
    ("2026-01-01T02:00:00+02:00", NEW_YEAR),
    ("2025-12-31T19:00:00-05:00", NEW_YEAR),
    ("2026-01-01T00:00:00.5Z", NEW_YEAR + 0.5),
    ("2026-01-01T00:00:00.123456Z", NEW_YEAR + 0.123456),
    ("1970-01-01T00:00:00Z", 0),
])
def test_parse_time_reads_rfc3339_with_offsets_and_fractions(text, expected):
    assert parse_time(text) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("text", ["yesterday", "2026-01-01", "2026-13-01T00:00:00Z", "2026-01-01T00:00:00", ""])
def test_parse_time_refuses_anything_but_rfc3339(text):
    with pytest.raises(ValueError, match="RFC 3339|invalid time"):
        parse_time(text)


@pytest.mark.parametrize("t, text", [
    (NEW_YEAR, "2026-01-01T00:00:00Z"), (NEW_YEAR + 0.999, "2026-01-01T00:00:00Z"), (0, "1970-01-01T00:00:00Z"),
])
def test_format_time_writes_whole_seconds_in_utc(t, text):
    assert format_time(t) == text


def test_format_time_then_parse_time_is_the_whole_second():
    assert parse_time(format_time(NEW_YEAR + 61.7)) == NEW_YEAR + 61


def test_format_micro_time_writes_six_fraction_digits():
    assert format_micro_time(NEW_YEAR + 0.25) == "2026-01-01T00:00:00.250000Z"
    assert format_micro_time(NEW_YEAR) == "2026-01-01T00:00:00.000000Z"


# Go's time.ParseDuration test table (parseDurationTests), in seconds
@pytest.mark.parametrize("text, seconds", [
    ("0", 0), ("5s", 5), ("30s", 30), ("1478s", 1478), ("-5s", -5), ("+5s", 5), ("-0", 0), ("+0", 0),
    ("5.0s", 5), ("5.6s", 5.6), ("5.s", 5), (".5s", 0.5), ("1.0s", 1), ("1.00s", 1), ("1.004s", 1.004),
    ("1.0040s", 1.004), ("100.00100s", 100.001), ("10ns", 10e-9), ("11us", 11e-6), ("12µs", 12e-6),
    ("12μs", 12e-6), ("13ms", 0.013), ("14s", 14), ("15m", 900), ("16h", 57600), ("3h30m", 12600),
    ("10.5s4m", 250.5), ("-2m3.4s", -123.4), ("1h2m3s4ms5us6ns", 3723.004005006), ("39h9m14.425s", 140_954.425),
    ("52763797000ns", 52.763797), ("0.3333333333333333333h", 1200), ("2d", 172_800), ("1d12h", 129_600),
])
def test_parse_duration_reads_go_durations(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("text, message", [
    ("", 'time: invalid duration ""'), ("3", 'time: missing unit in duration "3"'),
    ("-", 'time: invalid duration "-"'), ("s", 'time: invalid duration "s"'), (".", 'time: invalid duration "."'),
    ("-.", 'time: invalid duration "-."'), (".s", 'time: invalid duration ".s"'), ("+.s", 'time: invalid duration "+.s"'),
    ("1x", 'time: unknown unit "x" in duration "1x"'), ("1h 2m", 'time: unknown unit "h " in duration "1h 2m"'),
])
def test_parse_duration_refuses_what_go_refuses(text, message):
    with pytest.raises(ValueError) as caught:
        parse_duration(text)
    assert str(caught.value) == message


# kubectl's duration.HumanDuration (upstream TestHumanDuration, then boundaries)
@pytest.mark.parametrize("seconds, text", [
    (1, "1s"), (70, "70s"), (190, "3m10s"), (70 * 60, "70m"), (47 * 3600, "47h"), (49 * 3600, "2d1h"),
    ((8 * 24 + 2) * 3600, "8d"), (367 * 24 * 3600, "367d"), ((365 * 2 * 24 + 25) * 3600, "2y1d"),
    ((365 * 8 * 24 + 2) * 3600, "8y"),
    (-3, "<invalid>"), (-2, "<invalid>"), (-1.5, "0s"), (-1, "0s"), (0, "0s"), (0.9, "0s"), (119, "119s"),
    (120, "2m"), (121, "2m1s"), (599, "9m59s"), (600, "10m"), (179 * 60 + 59, "179m"), (3 * 3600, "3h"),
    (3 * 3600 + 5 * 60, "3h5m"), (8 * 3600 - 1, "7h59m"), (8 * 3600, "8h"), (48 * 3600, "2d"),
    (24 * 8 * 3600, "8d"), (365 * 2 * 24 * 3600, "2y"), (365 * 9 * 24 * 3600, "9y"),
])
def test_format_age_is_kubectls_human_duration(seconds, text):
    assert format_age(seconds) == text
