"""A changed image (kubectl set image pod/…): the kubelet restarts the container, as computePodActions does."""

from __future__ import annotations

from engine import runtime
from engine.clock import EPOCH
from engine.timeutil import format_time

from kubelet_helpers import ADMIN, conditions, node, pod

RESTARTED = "sim.recon.dev/restarted.app"


def at(seconds: float) -> str:
    return format_time(EPOCH + seconds)


def app_status(p) -> dict:
    return p["status"]["containerStatuses"][0]


def set_image(kc, name: str, image: str, path: str = "/spec/containers/0/image"):
    return kc.api.patch(ADMIN, "", "Pod", "demo", name, [{"op": "replace", "path": path, "value": image}],
                        patch_type="json")


def events(kc, since: float = 0) -> list[tuple[str, str, str]]:
    """(reason, message, fieldPath) of the Events recorded from `since` seconds on."""
    return [(e["reason"], e["message"], e["involvedObject"].get("fieldPath", ""))
            for e in kc.store.head.list("", "Event", "demo") if (e.get("lastTimestamp") or "") >= at(since)]


def test_a_changed_image_kills_the_container_and_starts_it_again_with_the_new_image(kc):
    kc.create(node("node-1"))
    kc.create(pod("web"))
    kc.run_until(60)
    first = app_status(kc.get("Pod", "web"))
    set_image(kc, "web", "nginx:1.28")
    kc.run_until(120)
    p = kc.get("Pod", "web")
    cs = app_status(p)
    assert cs["image"] == "docker.io/library/nginx:1.28"
    assert cs["restartCount"] == 1
    assert cs["containerID"] != first["containerID"]
    assert cs["state"] == {"running": {"startedAt": at(60)}} and cs["ready"]
    assert cs["lastState"]["terminated"] == {
        "exitCode": 0, "reason": "Completed", "startedAt": at(0), "finishedAt": at(60),
        "containerID": first["containerID"]}
    assert p["metadata"]["annotations"][RESTARTED] == at(60)
    assert p["status"]["phase"] == "Running" and conditions(p)["Ready"]["status"] == "True"
    assert sorted(events(kc, since=60)) == [
        ("Created", "Created container: app", "spec.containers{app}"),
        ("Killing", "Container app definition changed, will be restarted", "spec.containers{app}"),
        ("Pulled", 'Container image "nginx:1.28" already present on machine', "spec.containers{app}"),
        ("Started", "Started container app", "spec.containers{app}"),
    ]
    # the logs hold both runs; the previous one ends where the definition changed
    lines = runtime.current().logs(p, "app", EPOCH + 120)
    assert lines == [f"{at(0)} started container app", f"{at(0)} container app is ready",
                     f"{at(60)} stopping container app: definition changed",
                     f"{at(60)} container app exited with code 0",
                     f"{at(60)} restarted container app (restart 1)", f"{at(60)} container app is ready"]


def test_nothing_changed_nothing_restarts(kc):
    kc.create(node("node-1"))
    kc.create(pod("web"))
    kc.run_until(60)
    kc.annotate("Pod", "web", "note", "touched", namespace="demo")
    set_image(kc, "web", "nginx:1.27")  # the same image: no change of definition
    kc.run_until(120)
    p = kc.get("Pod", "web")
    assert app_status(p)["restartCount"] == 0 and app_status(p)["lastState"] == {}
    assert RESTARTED not in p["metadata"]["annotations"]
    assert "Killing" not in [reason for reason, _, _ in events(kc)]


def test_a_slow_stop_delays_the_new_run_and_past_the_grace_period_is_a_sigkill(kc):
    kc.create(node("node-1"))
    kc.create(pod("slow", grace=5, annotations={"sim.recon.dev/stop-after": "20s",
                                                "sim.recon.dev/ready-after": "3s"}))
    kc.run_until(60)
    set_image(kc, "slow", "nginx:1.28")
    kc.run_until(62)
    cs = app_status(kc.get("Pod", "slow"))
    assert cs["restartCount"] == 0 and "running" in cs["state"]  # still stopping (the grace period: 5 s)
    kc.run_until(66)
    cs = app_status(kc.get("Pod", "slow"))
    assert cs["restartCount"] == 1 and cs["state"] == {"running": {"startedAt": at(65)}} and not cs["ready"]
    assert cs["lastState"]["terminated"]["exitCode"] == 137
    assert cs["lastState"]["terminated"]["reason"] == "Error"
    assert cs["lastState"]["terminated"]["finishedAt"] == at(65)
    kc.run_until(70)
    assert app_status(kc.get("Pod", "slow"))["ready"]


def test_a_crash_looping_container_given_a_new_image_starts_at_once_with_a_fresh_back_off(kc):
    kc.create(node("node-1"))
    kc.create(pod("crash", annotations={"sim.recon.dev/exit-after": "10s", "sim.recon.dev/exit-code": "1"}))
    # runs: 0–10, 10–20, back-off 10 s: 30–40, back-off 20 s: 60–70, back-off 40 s: waiting 70–110
    kc.run_until(80)
    cs = app_status(kc.get("Pod", "crash"))
    assert cs["restartCount"] == 3 and cs["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    set_image(kc, "crash", "nginx:1.28")
    kc.run_until(81)
    p = kc.get("Pod", "crash")
    cs = app_status(p)
    assert cs["image"] == "docker.io/library/nginx:1.28"
    assert cs["restartCount"] == 4 and cs["state"] == {"running": {"startedAt": at(80)}} and cs["ready"]
    assert cs["lastState"]["terminated"]["exitCode"] == 1 and cs["lastState"]["terminated"]["finishedAt"] == at(70)
    assert conditions(p)["Ready"]["status"] == "True"
    assert ("Started", "Started container app", "spec.containers{app}") in events(kc, since=80)
    assert "Killing" not in [reason for reason, _, _ in events(kc)]  # it was not running
    kc.run_until(95)  # it still crashes at 90; the new back-off key restarts it at once, then 10 s
    cs = app_status(kc.get("Pod", "crash"))
    assert cs["restartCount"] == 5 and cs["state"] == {"running": {"startedAt": at(90)}}
    kc.run_until(105)
    assert "back-off 10s" in app_status(kc.get("Pod", "crash"))["state"]["waiting"]["message"]


def test_a_restart_policy_never_container_is_restarted_for_a_new_image_but_not_once_it_has_exited(kc):
    kc.create(node("node-1"))
    kc.create(pod("once", restart="Never"))
    kc.create(pod("done", restart="Never", annotations={"sim.recon.dev/exit-after": "10s"}))
    kc.run_until(60)
    set_image(kc, "once", "nginx:1.28")
    set_image(kc, "done", "nginx:1.28")
    kc.run_until(120)
    once, done = app_status(kc.get("Pod", "once")), app_status(kc.get("Pod", "done"))
    assert once["restartCount"] == 1 and "running" in once["state"]  # "restart regardless of the policy"
    assert done["restartCount"] == 0 and done["state"]["terminated"]["exitCode"] == 0
    assert kc.get("Pod", "done")["status"]["phase"] == "Succeeded"


def test_a_changed_init_container_image_of_a_running_pod_changes_nothing(kc):
    kc.create(node("node-1"))
    kc.create(pod("web", init=[{"name": "fetch", "image": "busybox"}]))
    kc.run_until(60)
    before = kc.get("Pod", "web")
    set_image(kc, "web", "busybox:1.37", path="/spec/initContainers/0/image")
    kc.run_until(120)
    p = kc.get("Pod", "web")
    assert app_status(p)["restartCount"] == 0
    assert p["status"]["initContainerStatuses"][0]["containerID"] == \
        before["status"]["initContainerStatuses"][0]["containerID"]
    assert p["status"]["initContainerStatuses"][0]["restartCount"] == 0
    assert not any(k.startswith("sim.recon.dev/restarted") for k in p["metadata"]["annotations"])
    assert "Killing" not in [reason for reason, _, _ in events(kc)]
