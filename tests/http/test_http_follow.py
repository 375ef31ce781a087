"""kubectl commands that wait on the cluster: `wait --for`, `logs -f`, `get -w` on one pod.

The pods here use the simulated runtime's annotations so that something
happens a few seconds after kubectl started waiting: the command must
return (or print) because of it, not because it was already true.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time

import pytest

from http_live import KUBECTL, Live, pod_manifest, start, stop


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> Live:
    server = start(tmp_path_factory.mktemp("follow"))
    yield server
    stop(server)


def _apply(live: Live, name: str, text: str) -> None:
    path = live.root / f"{name}.yaml"
    path.write_text(text)
    live.kubectl("apply", "-f", str(path))


def _kubectl_bg(live: Live, *args: str, limit: float = 60) -> subprocess.Popen:
    """kubectl in the background; killed after `limit` seconds so a stream that never comes ends the test."""
    env = {"HOME": str(live.root / "home"), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    proc = subprocess.Popen([KUBECTL, "--kubeconfig", str(live.kubeconfig), *args], cwd=live.root, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    timer = threading.Timer(limit, proc.kill)
    timer.daemon = True
    timer.start()
    return proc


def test_wait_for_ready_returns_when_the_pod_becomes_ready_not_before(live):
    _apply(live, "slow", pod_manifest("slow", ready_after="4s"))
    assert live.kubectl("get", "pod", "slow", "-o", "jsonpath={.status.conditions[?(@.type=='Ready')].status}",
                        ).stdout != "True"
    started = time.monotonic()
    out = live.kubectl("wait", "--for=condition=Ready", "pod/slow", "--timeout=60s", timeout=90).stdout
    assert out.strip() == "pod/slow condition met"
    assert live.kubectl("get", "pod", "slow", "-o", "jsonpath={.status.conditions[?(@.type=='Ready')].status}",
                        ).stdout == "True"
    assert time.monotonic() - started < 60


def test_wait_for_a_condition_that_never_comes_times_out_with_kubectls_error(live):
    _apply(live, "never", pod_manifest("never", ready_after="1h"))
    proc = live.kubectl("wait", "--for=condition=Ready", "pod/never", "--timeout=2s", check=None)
    assert proc.returncode != 0
    assert "timed out waiting for the condition on pods/never" in proc.stderr


def test_wait_for_delete_returns_once_the_pod_is_gone(live):
    _apply(live, "doomed", pod_manifest("doomed", stop_after="3s"))
    live.kubectl("wait", "--for=condition=Ready", "pod/doomed", "--timeout=60s", timeout=90)
    live.kubectl("delete", "pod", "doomed", "--wait=false")
    out = live.kubectl("wait", "--for=delete", "pod/doomed", "--timeout=60s", timeout=90).stdout
    assert "pod/doomed condition met" in out
    assert live.kubectl("get", "pod", "doomed", check=None).returncode == 1


def test_logs_follow_streams_lines_written_after_it_started(live):
    _apply(live, "chatty", pod_manifest("chatty", ready_after="3s"))
    proc = _kubectl_bg(live, "logs", "-f", "pod/chatty")
    try:
        seen = []
        assert proc.stdout is not None
        for line in proc.stdout:
            seen.append(line.rstrip("\n"))
            if "container app is ready" in line:
                break
        assert any("started container app" in line for line in seen)
        assert seen[-1].endswith("container app is ready")
        assert proc.poll() is None, "logs -f ended instead of following"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_logs_follow_ends_when_the_container_it_follows_exits(live):
    _apply(live, "brief", pod_manifest("brief", exit_after="3s"))
    live.kubectl("wait", "--for=condition=Ready", "pod/brief", "--timeout=60s", timeout=90)
    proc = _kubectl_bg(live, "logs", "-f", "pod/brief")
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0  # ended by the server, not killed
    lines = out.splitlines()
    assert lines[0].endswith("started container app")
    assert lines[-1].endswith("container app exited with code 0")
    assert sum("started container app" in line for line in lines) == 1  # the restart's run is not followed
    again = _kubectl_bg(live, "logs", "-f", "pod/brief")  # a stopped or restarted instance: its log, then the end
    assert again.wait(timeout=60) == 0


def test_get_watch_on_one_pod_prints_its_changes(live):
    _apply(live, "watched", pod_manifest("watched", ready_after="3s"))
    proc = _kubectl_bg(live, "get", "pod", "watched", "-w", "--no-headers")
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line.split())
            if lines[-1][1] == "1/1":
                break
        assert lines[0][0] == "watched"
        assert lines[-1][:3] == ["watched", "1/1", "Running"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
