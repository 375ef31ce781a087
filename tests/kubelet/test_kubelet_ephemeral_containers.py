"""Ephemeral containers (kubectl debug): the kubelet starts each as soon as it is added to a running
pod, plays its command out like any container's, never restarts it, and reports it in
status.ephemeralContainerStatuses without counting it for the pod's phase or readiness."""

from __future__ import annotations

from engine import runtime
from engine.clock import EPOCH
from engine.objects import thaw
from engine.request import Request
from engine.timeutil import format_time

from kubelet_helpers import ADMIN, conditions, node, pod


def at(seconds: float) -> str:
    return format_time(EPOCH + seconds)


def debug(kc, name: str, *command: str, pod_name: str = "web", **extra) -> None:
    """What `kubectl debug POD --image=busybox -c NAME -- COMMAND` writes."""
    container = {"name": name, "image": "busybox", "command": list(command), **extra}
    patch = {"spec": {"ephemeralContainers": [container]}}
    kc.api.request(ADMIN, Request("patch", "", "Pod", "demo", pod_name, patch, subresource="ephemeralcontainers",
                                  patch_type="strategic"))


def ephemeral(kc, name: str, pod_name: str = "web") -> dict:
    statuses = kc.get("Pod", pod_name)["status"].get("ephemeralContainerStatuses") or ()
    return thaw(next(s for s in statuses if s["name"] == name))


def events(kc, since: float = 0) -> list[tuple[str, str, str]]:
    return sorted((e["reason"], e["message"], e["involvedObject"].get("fieldPath", ""))
                  for e in kc.store.head.list("", "Event", "demo") if (e.get("lastTimestamp") or "") >= at(since))


def running_pod(kc, **kw) -> None:
    kc.create(node("node-1"))
    kc.create(pod("web", **kw))
    kc.run_until(60)


def test_an_ephemeral_container_starts_when_added_and_reports_its_status_as_upstream(kc):
    running_pod(kc)
    debug(kc, "debugger", "sleep", "30", targetContainerName="app")
    kc.run_until(70)
    status = ephemeral(kc, "debugger")
    cid = status.pop("containerID")
    assert cid.startswith("sim://")
    assert status == {"name": "debugger", "image": "docker.io/library/busybox:latest",
                      "imageID": runtime.image_id("busybox"), "ready": False, "restartCount": 0,
                      "state": {"running": {"startedAt": at(60)}}, "lastState": {}}  # (no `started`, as upstream)
    kc.run_until(100)
    status = ephemeral(kc, "debugger")
    assert status["state"] == {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": at(60),
                                              "finishedAt": at(90), "containerID": cid}}
    assert status["restartCount"] == 0 and status["containerID"] == cid
    assert events(kc, since=60) == [
        ("Created", "Created container: debugger", "spec.ephemeralContainers{debugger}"),
        # (busybox, untagged, defaults to imagePullPolicy Always: pulled at its start)
        ("Pulled", f'Successfully pulled image "busybox" in 0s (0s including waiting). Image size: '
                   f'{runtime.image_size("busybox")} bytes.', "spec.ephemeralContainers{debugger}"),
        ("Pulling", 'Pulling image "busybox"', "spec.ephemeralContainers{debugger}"),
        ("Started", "Started container debugger", "spec.ephemeralContainers{debugger}")]


def test_an_ephemeral_container_that_exits_is_never_restarted_whatever_the_restart_policy(kc):
    running_pod(kc, restart="Always")
    debug(kc, "hi", "echo", "hi")
    debug(kc, "oops", "sh", "-c", "exit 3")
    kc.run_until(3600)
    assert ephemeral(kc, "hi")["state"]["terminated"] == {
        "exitCode": 0, "reason": "Completed", "startedAt": at(60), "finishedAt": at(60),
        "containerID": ephemeral(kc, "hi")["containerID"]}
    oops = ephemeral(kc, "oops")
    assert (oops["state"]["terminated"]["exitCode"], oops["state"]["terminated"]["reason"]) == (3, "Error")
    assert oops["restartCount"] == 0 and oops["lastState"] == {}
    p = kc.get("Pod", "web")
    assert p["status"]["phase"] == "Running" and conditions(p)["Ready"]["status"] == "True"
    assert [s["name"] for s in p["status"]["ephemeralContainerStatuses"]] == ["hi", "oops"]  # (by name)
    assert ("BackOff" not in {reason for reason, _, _ in events(kc)})


def test_a_running_ephemeral_container_counts_for_neither_readiness_nor_the_phase(kc):
    kc.create(node("node-1"))
    kc.create(pod("web", restart="Never", containers=[{"name": "app", "image": "busybox", "command": ["sleep", "100"]}]))
    kc.run_until(10)
    debug(kc, "shell", "sh")  # (an interactive shell: runs until stopped)
    kc.run_until(200)
    p = kc.get("Pod", "web")
    assert p["status"]["phase"] == "Succeeded"
    assert p["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 0
    assert ephemeral(kc, "shell")["ready"] is False


def test_an_ephemeral_container_follows_its_own_simulation_annotations_only(kc):
    running_pod(kc, annotations={"sim.recon.dev/exit-after.debugger": "10s", "sim.recon.dev/ready-after": "1s"})
    debug(kc, "debugger", "sh")
    debug(kc, "other", "sh")
    kc.run_until(600)
    assert ephemeral(kc, "debugger")["state"]["terminated"]["finishedAt"] == at(70)
    assert "running" in ephemeral(kc, "other")["state"] and ephemeral(kc, "other")["ready"] is False


def test_the_logs_of_an_ephemeral_container_are_its_lifecycle_lines(kc):
    running_pod(kc)
    debug(kc, "debugger", "sleep", "5")
    kc.run_until(100)
    p = kc.get("Pod", "web")
    assert runtime.current().logs(p, "debugger", EPOCH + 100) == [
        f"{at(60)} started container debugger", f"{at(65)} container debugger exited with code 0"]


def test_an_ephemeral_container_added_while_the_kubelet_is_down_starts_when_it_is_back(kc):
    running_pod(kc)
    kc.annotate("Node", "node-1", "sim.recon.dev/kubelet", "down")
    kc.run_until(70)
    debug(kc, "debugger", "sh")
    kc.run_until(100)
    assert not kc.get("Pod", "web")["status"].get("ephemeralContainerStatuses")
    kc.annotate("Node", "node-1", "sim.recon.dev/kubelet", None)
    kc.run_until(130)
    assert ephemeral(kc, "debugger")["state"] == {"running": {"startedAt": at(100)}}


def test_a_deleted_pod_stops_its_running_ephemeral_containers(kc):
    running_pod(kc)
    debug(kc, "debugger", "sh")
    debug(kc, "done", "true")
    kc.run_until(70)
    kc.api.delete(ADMIN, "", "Pod", "demo", "web")
    kc.run_until(100)
    assert kc.get("Pod", "web") is None
    killed = [(message, path) for reason, message, path in events(kc, since=70) if reason == "Killing"]
    assert sorted(killed) == [("Stopping container app", "spec.containers{app}"),
                              ("Stopping container debugger", "spec.ephemeralContainers{debugger}")]
