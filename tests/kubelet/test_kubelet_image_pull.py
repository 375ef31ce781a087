"""Image pulls: imagePullPolicy Always pulls at every start; `sim.recon.dev/pull-error` makes the
registry fail a pull (ErrImagePull, then ImagePullBackOff with the image back-off; ErrImageNeverPull
with policy Never), as the kubelet's image manager does."""

from __future__ import annotations

import pytest

from engine import runtime
from engine.apierrors import APIError
from engine.clock import EPOCH
from engine.timeutil import format_time

from kubelet_helpers import ADMIN, conditions, node, pod

PULL_ERROR = "sim.recon.dev/pull-error"
NOT_FOUND = ('rpc error: code = NotFound desc = failed to pull and unpack image "docker.io/library/nginx:bad": '
             'failed to resolve reference "docker.io/library/nginx:bad": docker.io/library/nginx:bad: not found')


def at(seconds: float) -> str:
    return format_time(EPOCH + seconds)


def app_status(p) -> dict:
    return p["status"]["containerStatuses"][0]


def events(kc) -> dict[tuple[str, str], int]:
    """(reason, message) → count of the Events about pods in namespace demo."""
    return {(e["reason"], e["message"]): e.get("count", 1) for e in kc.store.head.list("", "Event", "demo")
            if e["involvedObject"]["kind"] == "Pod"}


def bad(name: str = "web", policy: str | None = None, error: str = "not found", **kw) -> dict:
    container = {"name": "app", "image": "nginx:bad"}
    if policy:
        container["imagePullPolicy"] = policy
    return pod(name, annotations={PULL_ERROR: error}, containers=[container], **kw)


def waiting_at(kc, seconds: float, name: str = "web") -> dict:
    kc.run_until(seconds)
    return app_status(kc.get("Pod", name))["state"]["waiting"]


def test_a_failing_pull_shows_err_image_pull_then_backs_off_doubling(kc):
    kc.create(node("node-1"))
    kc.create(bad())
    # pulls at 0, 20, 50, 100 s: each failure shown until the next sync (10 s), then the back-off
    # (10 s, 20 s, 40 s, …)
    assert waiting_at(kc, 5) == {"reason": "ErrImagePull", "message": NOT_FOUND}
    assert waiting_at(kc, 15) == {"reason": "ImagePullBackOff", "message": 'Back-off pulling image "nginx:bad"'}
    assert waiting_at(kc, 25)["reason"] == "ErrImagePull"
    assert waiting_at(kc, 45)["reason"] == "ImagePullBackOff"
    assert waiting_at(kc, 55)["reason"] == "ErrImagePull"
    assert waiting_at(kc, 95)["reason"] == "ImagePullBackOff"
    p = kc.get("Pod", "web")
    assert p["status"]["phase"] == "Pending"
    assert conditions(p)["Ready"]["status"] == "False"
    assert app_status(p)["restartCount"] == 0 and "containerID" not in app_status(p)
    found = events(kc)
    assert found[("Pulling", 'Pulling image "nginx:bad"')] == 3
    assert found[("Failed", 'Failed to pull image "nginx:bad": ' + NOT_FOUND)] == 3
    assert found[("Failed", "Error: ErrImagePull")] == 3
    assert found[("BackOff", 'Back-off pulling image "nginx:bad"')] == 3
    assert found[("Failed", "Error: ImagePullBackOff")] == 3
    assert not any(reason in ("Created", "Started") for reason, _ in found)
    # a container that never started has no log
    assert runtime.current().logs(p, "app", EPOCH + 95) == []


def test_the_back_off_is_capped_at_five_minutes(kc):
    kc.create(node("node-1"))
    kc.create(bad())
    # pulls at 0, 20, 50, 100, 190, 360, 670 (back-off 300 s from then on), 980
    assert waiting_at(kc, 665)["reason"] == "ImagePullBackOff"
    assert waiting_at(kc, 675)["reason"] == "ErrImagePull"
    assert waiting_at(kc, 975)["reason"] == "ImagePullBackOff"
    assert waiting_at(kc, 985)["reason"] == "ErrImagePull"


def test_another_registry_error_is_worded_as_the_runtime_gives_it(kc):
    kc.create(node("node-1"))
    kc.create(bad(error="unexpected status 401 Unauthorized"))
    assert waiting_at(kc, 1)["message"] == (
        'rpc error: code = Unknown desc = failed to pull and unpack image "docker.io/library/nginx:bad": '
        "unexpected status 401 Unauthorized")


def test_policy_never_does_not_pull(kc):
    kc.create(node("node-1"))
    kc.create(bad(policy="Never"))
    message = 'Container image "nginx:bad" is not present with pull policy of Never'
    assert waiting_at(kc, 5) == {"reason": "ErrImageNeverPull", "message": message}
    assert waiting_at(kc, 600)["reason"] == "ErrImageNeverPull"
    found = events(kc)
    assert found[("ErrImageNeverPull", message)] == 1 and found[("Failed", "Error: ErrImageNeverPull")] == 1
    assert not any(reason == "Pulling" for reason, _ in found)


def test_an_init_container_that_cannot_be_pulled_holds_the_pod_in_init(kc):
    kc.create(node("node-1"))
    kc.create(pod("web", annotations={PULL_ERROR + ".setup": "not found"},
                  init=[{"name": "setup", "image": "nginx:bad", "command": ["true"]}]))
    kc.run_until(25)
    p = kc.get("Pod", "web")
    assert p["status"]["initContainerStatuses"][0]["state"]["waiting"]["reason"] == "ErrImagePull"
    assert app_status(p)["state"] == {"waiting": {"reason": "PodInitializing"}}
    assert conditions(p)["Initialized"]["status"] == "False"


def test_always_pulls_at_every_start_and_others_find_the_image_present(kc):
    kc.create(node("node-1"))
    kc.create(pod("latest", containers=[{"name": "app", "image": "nginx"}],
                  annotations={"sim.recon.dev/exit-after": "5s"}))
    kc.create(pod("tagged"))
    kc.run_until(30)  # runs of "latest" start at 0, 5 (at once), 20 (after 10 s of back-off)
    assert kc.get("Pod", "latest")["spec"]["containers"][0]["imagePullPolicy"] == "Always"
    found = events(kc)
    size = runtime.image_size("nginx")
    assert found[("Pulling", 'Pulling image "nginx"')] == 3
    assert found[("Pulled", f'Successfully pulled image "nginx" in 0s (0s including waiting). Image size: {size} bytes.')] == 3
    assert found[("Pulled", 'Container image "nginx:1.27" already present on machine')] == 1
    assert ("Pulled", 'Container image "nginx" already present on machine') not in found


def test_set_image_to_one_that_cannot_be_pulled_stops_the_old_run_and_waits(kc):
    kc.create(node("node-1"))
    kc.create(pod("web"))
    kc.run_until(60)
    first = app_status(kc.get("Pod", "web"))
    kc.api.patch(ADMIN, "", "Pod", "demo", "web",
                 {"metadata": {"annotations": {PULL_ERROR: "not found"}},
                  "spec": {"containers": [{"name": "app", "image": "nginx:bad"}]}}, patch_type="strategic")
    kc.run_until(65)
    cs = app_status(kc.get("Pod", "web"))
    assert cs["state"]["waiting"]["reason"] == "ErrImagePull"
    assert cs["restartCount"] == 0 and cs["containerID"] == first["containerID"]
    assert cs["lastState"]["terminated"]["startedAt"] == at(0)
    assert cs["lastState"]["terminated"]["finishedAt"] == at(60)
    assert events(kc)[("Killing", "Container app definition changed, will be restarted")] == 1
    # the run before the change is in the log; nothing after it
    lines = runtime.current().logs(kc.get("Pod", "web"), "app", EPOCH + 65)
    assert lines[-1] == f"{at(60)} container app exited with code 0"


def test_an_unreadable_pull_error_is_refused(kc):
    kc.create(node("node-1"))
    with pytest.raises(APIError) as refused:
        kc.create(bad(error="  "))
    assert refused.value.code == 422
    assert 'metadata.annotations[sim.recon.dev/pull-error]: Invalid value: "  "' in str(refused.value)
