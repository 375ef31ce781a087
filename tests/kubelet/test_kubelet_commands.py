"""The simulated runtime plays out a few commands whose course needs no real process (sleep, true,
false, exit, echo, one after another in `sh -c`); any other runs until stopped."""

from __future__ import annotations

import pytest

from engine.clock import EPOCH
from engine.runtime import command_exit
from engine.timeutil import format_time

from kubelet_helpers import node, pod


def running(command=None, args=None, restart="Never", annotations=None, name="p") -> dict:
    container = {"name": "app", "image": "busybox:1.36"}
    if command is not None:
        container["command"] = command
    if args is not None:
        container["args"] = args
    return pod(name, restart=restart, containers=[container], annotations=annotations)


def terminated(kc, name="p") -> dict | None:
    return kc.get("Pod", name)["status"]["containerStatuses"][0]["state"].get("terminated")


@pytest.mark.parametrize("words, outcome", [
    (("echo", "hello"), (0.0, 0)),
    (("sleep", "30"), (30.0, 0)),
    (("sleep", "1m", "30s"), (90.0, 0)),
    (("/bin/sh", "-c", "sleep 5; exit 3"), (5.0, 3)),
    (("sh", "-c", "false && sleep 9"), (0.0, 1)),  # (`&&`: not after a failure)
    (("sh", "-c", "false; sleep 2\necho done"), (2.0, 0)),
    (("bash", "-c", "sleep 1 && exit"), (1.0, 0)),
    (("sleep", "infinity"), None),
    (("nginx", "-g", "daemon off;"), None),
    (("sh", "-c", "echo hi | tee /tmp/x"), None),  # (a pipe is not played out)
    (("sh", "-c", "while true; do sleep 1; done"), None),
    (("sleep", "$DELAY"), None),
    ((), None),
])
def test_the_commands_played_out_and_the_ones_left_running(words, outcome):
    assert command_exit(words) == outcome


def test_a_job_style_pod_running_echo_succeeds_at_once_and_sleep_after_its_seconds(kc):
    kc.create(node("node-1"))
    kc.create(running(command=["echo", "hi"], name="quick"))
    kc.create(running(args=["sleep", "30"], name="slow"))  # (kubectl run's args replace the image's command)
    kc.run(10)
    assert kc.get("Pod", "quick")["status"]["phase"] == "Succeeded"
    assert terminated(kc, "quick")["exitCode"] == 0
    assert kc.get("Pod", "slow")["status"]["phase"] == "Running"
    kc.run()
    assert kc.get("Pod", "slow")["status"]["phase"] == "Succeeded"
    assert terminated(kc, "slow")["finishedAt"] == format_time(EPOCH + 30)


def test_a_shell_script_exit_code_fails_the_pod_and_an_annotation_overrides_the_command(kc):
    kc.create(node("node-1"))
    kc.create(running(command=["sh", "-c", "sleep 5; exit 3"], name="bad"))
    kc.create(running(command=["sleep", "5"], name="told", annotations={"sim.recon.dev/exit-code": "2"}))
    kc.run()
    assert kc.get("Pod", "bad")["status"]["phase"] == "Failed"
    assert terminated(kc, "bad")["exitCode"] == 3 and terminated(kc, "bad")["finishedAt"] == format_time(EPOCH + 5)
    assert terminated(kc, "told")["exitCode"] == 2 and terminated(kc, "told")["finishedAt"] == format_time(EPOCH)


def test_a_server_or_an_unknown_command_runs_until_stopped(kc):
    kc.create(node("node-1"))
    kc.create(running(name="server"))
    kc.create(running(command=["/migrate.sh"], name="script"))
    kc.run(3600)
    assert [kc.get("Pod", n)["status"]["phase"] for n in ("server", "script")] == ["Running", "Running"]


def test_a_restarting_container_that_exits_at_once_backs_off_as_a_crash_loop(kc):
    kc.create(node("node-1"))
    kc.create(running(command=["echo", "done"], restart="Always"))
    kc.run(60)
    status = kc.get("Pod", "p")["status"]["containerStatuses"][0]
    assert status["restartCount"] >= 2 and status["state"]["waiting"]["reason"] == "CrashLoopBackOff"
