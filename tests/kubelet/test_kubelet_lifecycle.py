"""The kubelet rules with the simulated runtime: every path of a pod's life on a node."""

from __future__ import annotations

from engine.clock import EPOCH
from engine.timeutil import format_time

from kubelet_helpers import conditions, node, pod


def at(seconds: float) -> str:
    return format_time(EPOCH + seconds)


def app_status(p) -> dict:
    return p["status"]["containerStatuses"][0]


def test_a_node_reports_its_status_nodeinfo_addresses_and_a_lease(kc):
    kc.create(node("node-1"))
    kc.run()
    n = kc.get("Node", "node-1")
    status = n["status"]
    assert [c["type"] for c in status["conditions"]] == ["MemoryPressure", "DiskPressure", "PIDPressure", "Ready"]
    assert conditions(n)["Ready"]["status"] == "True"
    assert conditions(n)["Ready"]["reason"] == "KubeletReady"
    assert conditions(n)["MemoryPressure"]["status"] == "False"
    assert status["capacity"]["cpu"] == "4" and status["allocatable"]["pods"] == "110"
    info = status["nodeInfo"]
    assert info["kubeletVersion"].startswith("v1.32.")
    assert info["containerRuntimeVersion"] == "sim://1.0"
    assert info["architecture"] == "arm64" and info["operatingSystem"] == "linux"
    assert status["addresses"] == [{"type": "InternalIP", "address": "172.18.0.2"},
                                   {"type": "Hostname", "address": "node-1"}]
    assert n["spec"]["podCIDR"] == "10.244.0.0/24"
    lease = kc.get("Lease", "node-1", "kube-node-lease")
    assert lease["spec"]["holderIdentity"] == "node-1"
    assert lease["spec"]["leaseDurationSeconds"] == 40
    assert lease["metadata"]["annotations"]["sim.recon.dev/heartbeat"] == "implied"


def test_a_pod_without_controls_runs_and_is_ready_at_once(kc):
    kc.create(node("node-1"))
    kc.create(pod("web"))
    kc.run()
    p = kc.get("Pod", "web")
    assert p["status"]["phase"] == "Running"
    assert p["status"]["podIP"] == "10.244.0.2" and p["status"]["hostIP"] == "172.18.0.2"
    assert p["status"]["startTime"] == at(0)
    cs = app_status(p)
    assert cs["state"] == {"running": {"startedAt": at(0)}}
    assert cs["ready"] is True and cs["started"] is True and cs["restartCount"] == 0
    assert cs["image"] == "docker.io/library/nginx:1.27"
    assert cs["imageID"].startswith("docker.io/library/nginx@sha256:")
    assert cs["containerID"].startswith("sim://")
    conds = conditions(p)
    assert {t: c["status"] for t, c in conds.items()} == {
        "PodReadyToStartContainers": "True", "Initialized": "True", "Ready": "True",
        "ContainersReady": "True", "PodScheduled": "True"}


def test_ready_after_makes_the_pod_ready_at_exactly_thirty_seconds_without_polling(kc):
    kc.create(node("node-1"))
    kc.create(pod("web", annotations={"sim.recon.dev/ready-after": "30s"}))
    kc.run(10)
    p = kc.get("Pod", "web")
    assert p["status"]["phase"] == "Running"
    assert conditions(p)["Ready"]["status"] == "False"
    assert conditions(p)["Ready"]["message"] == "containers with unready status: [app]"
    before = kc.engine.evaluations["kubelet/pod_status"]
    kc.run(3600)
    p = kc.get("Pod", "web")
    assert conditions(p)["Ready"]["status"] == "True"
    assert conditions(p)["Ready"]["lastTransitionTime"] == at(30)
    assert kc.elapsed == 30  # the engine woke at the transition and at no other moment
    # one evaluation at +30 s, one more after its own write: no polling in between
    assert kc.engine.evaluations["kubelet/pod_status"] - before == 2


def test_start_after_keeps_the_container_creating_until_it_starts(kc):
    kc.create(node("node-1"))
    kc.create(pod("web", annotations={"sim.recon.dev/start-after": "5s"}))
    kc.run(4)
    p = kc.get("Pod", "web")
    assert p["status"]["phase"] == "Pending"
    assert app_status(p)["state"] == {"waiting": {"reason": "ContainerCreating"}}
    kc.run(600)
    p = kc.get("Pod", "web")
    assert p["status"]["phase"] == "Running"
    assert app_status(p)["state"] == {"running": {"startedAt": at(5)}}


def test_a_crash_loop_backs_off_ten_seconds_doubling(kc):
    kc.create(node("node-1"))
    kc.create(pod("crash", annotations={"sim.recon.dev/exit-after": "10s", "sim.recon.dev/exit-code": "1"}))
    # runs: 0–10, restart at once 10–20, back-off 10 s: 30–40, back-off 20 s: 60–70, back-off 40 s: 110–120
    kc.run_until(25)
    cs = app_status(kc.get("Pod", "crash"))
    uid = kc.get("Pod", "crash")["metadata"]["uid"]
    assert cs["restartCount"] == 1
    assert cs["state"] == {"waiting": {"reason": "CrashLoopBackOff",
                                       "message": f"back-off 10s restarting failed container=app pod=crash_demo({uid})"}}
    assert cs["lastState"]["terminated"]["exitCode"] == 1
    assert cs["lastState"]["terminated"]["reason"] == "Error"
    assert cs["lastState"]["terminated"]["finishedAt"] == at(20)
    assert kc.get("Pod", "crash")["status"]["phase"] == "Running"
    kc.run_until(35)
    cs = app_status(kc.get("Pod", "crash"))
    assert cs["restartCount"] == 2 and cs["state"] == {"running": {"startedAt": at(30)}}
    kc.run_until(59)
    assert "back-off 20s" in app_status(kc.get("Pod", "crash"))["state"]["waiting"]["message"]
    kc.run_until(100)
    assert "back-off 40s" in app_status(kc.get("Pod", "crash"))["state"]["waiting"]["message"]
    kc.run_until(3600)
    cs = app_status(kc.get("Pod", "crash"))
    assert cs["state"]["waiting"]["message"].startswith("back-off 5m0s ")


def test_restart_policy_never_with_exit_code_zero_succeeds(kc):
    kc.create(node("node-1"))
    kc.create(pod("job", restart="Never", annotations={"sim.recon.dev/exit-after": "10s"}))
    kc.run()
    p = kc.get("Pod", "job")
    assert p["status"]["phase"] == "Succeeded"
    assert app_status(p)["state"]["terminated"] == {
        "exitCode": 0, "reason": "Completed", "startedAt": at(0), "finishedAt": at(10),
        "containerID": app_status(p)["containerID"]}
    assert conditions(p)["Ready"]["status"] == "False" and conditions(p)["Ready"]["reason"] == "PodCompleted"


def test_restart_policy_never_with_exit_code_one_fails(kc):
    kc.create(node("node-1"))
    kc.create(pod("job", restart="Never", annotations={"sim.recon.dev/exit-after": "10s",
                                                       "sim.recon.dev/exit-code": "1"}))
    kc.run()
    p = kc.get("Pod", "job")
    assert p["status"]["phase"] == "Failed"
    assert app_status(p)["state"]["terminated"]["exitCode"] == 1
    assert app_status(p)["restartCount"] == 0


def test_restart_policy_on_failure_restarts_failures_and_finishes_on_success(kc):
    kc.create(node("node-1"))
    kc.create(pod("ok", restart="OnFailure", annotations={"sim.recon.dev/exit-after": "10s"}))
    kc.create(pod("bad", restart="OnFailure", annotations={"sim.recon.dev/exit-after": "10s",
                                                          "sim.recon.dev/exit-code": "2"}))
    kc.run_until(15)
    assert kc.get("Pod", "ok")["status"]["phase"] == "Succeeded"
    bad = kc.get("Pod", "bad")
    assert bad["status"]["phase"] == "Running"
    assert app_status(bad)["restartCount"] == 1


def test_init_containers_run_in_order_before_the_app(kc):
    kc.create(node("node-1"))
    init = [{"name": "fetch", "image": "busybox"}, {"name": "migrate", "image": "busybox"}]
    kc.create(pod("web", init=init, annotations={"sim.recon.dev/exit-after.fetch": "5s",
                                                  "sim.recon.dev/exit-after.migrate": "3s"}))
    kc.run_until(6)
    p = kc.get("Pod", "web")
    fetch, migrate = p["status"]["initContainerStatuses"]
    assert fetch["state"]["terminated"]["finishedAt"] == at(5)
    assert migrate["state"] == {"running": {"startedAt": at(5)}}
    assert app_status(p)["state"] == {"waiting": {"reason": "PodInitializing"}}
    assert p["status"]["phase"] == "Pending"
    assert conditions(p)["Initialized"]["message"] == "containers with incomplete status: [migrate]"
    kc.run()
    p = kc.get("Pod", "web")
    assert p["status"]["phase"] == "Running"
    assert app_status(p)["state"] == {"running": {"startedAt": at(8)}}
    assert conditions(p)["Initialized"]["status"] == "True"
    assert conditions(p)["Initialized"]["lastTransitionTime"] == at(8)


def test_a_failing_init_container_fails_a_pod_that_never_restarts(kc):
    kc.create(node("node-1"))
    kc.create(pod("web", restart="Never", init=[{"name": "migrate", "image": "busybox"}],
                  annotations={"sim.recon.dev/exit-code.migrate": "1"}))
    kc.run()
    p = kc.get("Pod", "web")
    assert p["status"]["phase"] == "Failed"
    assert p["status"]["initContainerStatuses"][0]["state"]["terminated"]["exitCode"] == 1
    assert app_status(p)["state"] == {"waiting": {"reason": "PodInitializing"}}


def test_a_pod_that_does_not_fit_fails_with_out_of_cpu(kc):
    kc.create(node("node-1", cpu="1"))
    kc.create(pod("first", cpu="600m"))
    kc.clock.advance(1)
    kc.create(pod("second", cpu="600m"))
    kc.run()
    assert kc.get("Pod", "first")["status"]["phase"] == "Running"
    second = kc.get("Pod", "second")["status"]
    assert second["phase"] == "Failed"
    assert second["reason"] == "OutOfcpu"
    assert second["message"] == ("Pod was rejected: Node didn't have enough resource: cpu, "
                                 "requested: 600, used: 600, capacity: 1000")
    assert "podIP" not in second


def test_pods_admitted_together_get_distinct_ips_from_the_node_cidr(kc):
    kc.create(node("node-1"))
    for i in range(5):
        kc.create(pod(f"web-{i}"))
    kc.run()
    ips = sorted(p["status"]["podIP"] for p in kc.pods())
    assert ips == [f"10.244.0.{i}" for i in range(2, 7)]


def test_deletion_stops_the_containers_then_removes_the_pod(kc):
    kc.create(node("node-1"))
    kc.create(pod("quick"))
    kc.create(pod("slow", annotations={"sim.recon.dev/stop-after": "10s"}))
    kc.create(pod("stubborn", grace=5, annotations={"sim.recon.dev/stop-after": "1m"}))
    kc.run_until(100)
    for name in ("quick", "slow", "stubborn"):
        kc.api.delete(kc.admin, "", "Pod", "demo", name)
    assert kc.get("Pod", "slow")["metadata"]["deletionTimestamp"] == at(130)  # grace 30 s
    kc.run_until(100)
    assert kc.get("Pod", "quick") is None
    assert kc.get("Pod", "slow") is not None
    kc.run_until(105)
    assert kc.get("Pod", "stubborn") is None  # stopped at the end of its 5 s grace period
    assert kc.get("Pod", "slow") is not None
    kc.run_until(110)
    assert kc.get("Pod", "slow") is None


def test_an_idle_converged_cluster_writes_no_revisions(kc):
    kc.create(node("node-1"))
    kc.create(node("node-2"))
    kc.create(pod("web"))
    kc.create(pod("slow", node_name="node-2", annotations={"sim.recon.dev/ready-after": "30s"}))
    kc.create(pod("job", restart="Never", annotations={"sim.recon.dev/exit-after": "1m"}))
    kc.run()
    revision = kc.store.revision
    evaluations = kc.engine.total_evaluations
    kc.run(24 * 3600)
    assert kc.store.revision == revision
    assert kc.engine.total_evaluations == evaluations
    assert kc.engine.next_deadline() is None
