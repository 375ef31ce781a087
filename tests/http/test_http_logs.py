"""kubectl logs: the PodLogOptions a container's simulated log honours (--timestamps, --since, --since-time,
--tail, --limit-bytes, --previous, -f), with the simulated lines' times read against the engine clock."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from http_live import Live, pod_manifest, wait_for


def _apply(live: Live, name: str, **annotations: str) -> None:
    path = live.root / f"{name}.yaml"
    path.write_text(pod_manifest(name, **annotations))
    live.kubectl("apply", "-f", str(path))


def _logs(live: Live, pod: str, *args: str) -> str:
    return live.kubectl("logs", pod, *args).stdout


@pytest.fixture(scope="module")
def steady(live) -> str:
    """A pod whose container started, then turned ready 3 s later: two lines, three seconds apart."""
    _apply(live, "steady", ready_after="3s")
    wait_for(lambda: "is ready" in _logs(live, "steady"), "the ready line")
    return "steady"


def _stamped(live: Live, pod: str) -> list[tuple[datetime, str]]:
    lines = []
    for line in _logs(live, pod, "--timestamps").splitlines():
        stamp, _, text = line.partition(" ")
        lines.append((datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%f000Z").replace(tzinfo=timezone.utc), text))
    return lines


def test_lines_carry_their_time_only_with_timestamps(live, steady):
    assert _logs(live, steady).splitlines() == ["started container app", "container app is ready"]
    (started, first), (ready, second) = _stamped(live, steady)
    assert (first, second) == ("started container app", "container app is ready")
    assert ready - started == timedelta(seconds=3)
    stamp = _logs(live, steady, "--timestamps").split()[0]
    assert stamp.endswith(".000000000Z") and len(stamp) == len("2026-01-01T00:00:00.000000000Z")


def test_since_time_leaves_out_the_lines_written_before_it(live, steady):
    (started, _), (ready, _) = _stamped(live, steady)
    after_start = (started + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert _logs(live, steady, f"--since-time={after_start}") == "container app is ready\n"
    assert _logs(live, steady, f"--since-time={started.strftime('%Y-%m-%dT%H:%M:%SZ')}").count("\n") == 2
    later = (ready + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert _logs(live, steady, f"--since-time={later}") == ""


def test_since_counts_back_from_the_engine_clock(live):
    _apply(live, "recent", ready_after="3s")
    wait_for(lambda: "is ready" in _logs(live, "recent"), "the ready line")
    # now is between 3 and 6 s after the start: two seconds back is after the start, before the ready line
    assert _logs(live, "recent", "--since=2s") == "container app is ready\n"
    assert _logs(live, "recent", "--since=1h").count("\n") == 2


def test_limit_bytes_cuts_the_log_mid_line_and_tail_keeps_the_last_lines(live, steady):
    whole = _logs(live, steady)
    assert _logs(live, steady, "--limit-bytes=10") == whole[:10]
    assert _logs(live, steady, "--tail=1") == "container app is ready\n"
    assert _logs(live, steady, "--tail=1", "--limit-bytes=9") == "container"


def test_follow_ends_once_the_byte_limit_is_sent(live, steady):
    out = live.kubectl("logs", "-f", steady, "--limit-bytes=12", timeout=20).stdout
    assert out == "started cont"


def test_previous_of_a_container_that_never_restarted_is_a_bad_request(live, steady):
    failed = live.kubectl("logs", steady, "--previous", check=1)
    assert failed.stderr.strip() == ('Error from server (BadRequest): previous terminated container "app" in pod '
                                     '"steady" not found')


def test_previous_shows_the_run_before_and_the_log_only_the_current_run(live):
    _apply(live, "flaky", exit_after="6s", exit_code="1")  # exits after 6 s and restarts at once, once
    wait_for(lambda: "(restart 1)" in _logs(live, "flaky"), "the first restart", timeout=60)
    assert _logs(live, "flaky").splitlines() == ["restarted container app (restart 1)", "container app is ready"]
    assert _logs(live, "flaky", "--previous").splitlines() == [
        "started container app", "container app is ready", "container app exited with code 1"]


def test_bad_log_options_are_invalid_with_the_field_named(live, steady):
    code, _, body = live.request("GET", f"/api/v1/namespaces/default/pods/{steady}/log?tailLines=-1&limitBytes=0")
    assert code == 422
    assert body.count('"field":"tailLines"') == 1 and body.count('"field":"limitBytes"') == 1
    code, _, body = live.request("GET", f"/api/v1/namespaces/default/pods/{steady}/log?sinceSeconds=0")
    assert code == 422 and "sinceSeconds: Invalid value: 0: must be greater than 0" in body
