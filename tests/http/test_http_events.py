"""End to end: the Events the rules record, as real kubectl shows them (`kubectl describe`, `get events`)."""

from __future__ import annotations

from http_live import wait_for


def events_section(described: str) -> list[str]:
    lines = described.split("Events:", 1)[1].splitlines()
    return [line.strip() for line in lines[3:] if line.strip()]  # after the header and its underline


def test_describe_pod_shows_the_kubelet_events_in_order(live):
    pod = live.kubectl("get", "pods", "-n", "demo", "-l", "app=web", "-o", "name").stdout.split()[0]
    image = live.kubectl("get", "-n", "demo", pod, "-o", "jsonpath={.spec.containers[0].image}").stdout
    container = live.kubectl("get", "-n", "demo", pod, "-o", "jsonpath={.spec.containers[0].name}").stdout
    rows = events_section(live.kubectl("describe", "-n", "demo", pod).stdout)
    reasons = [row.split()[1] for row in rows]
    assert reasons[:4] == ["Scheduled", "Pulled", "Created", "Started"]
    assert rows[1].endswith(f'Container image "{image}" already present on machine')
    assert rows[2].endswith(f"Created container: {container}")
    assert rows[3].endswith(f"Started container {container}")
    assert [row.split()[3] for row in rows[:4]] == ["default-scheduler", "kubelet", "kubelet", "kubelet"]


def test_describe_deployment_shows_its_scaling_and_the_replicaset_its_pods(live):
    # A deployment of kubectl's own: scaling one that the manifests folder owns is drift, undone.
    live.kubectl("create", "deployment", "evt", "-n", "demo", "--image=nginx:1.25", "--replicas=3")
    rs = wait_for(lambda: live.kubectl("get", "rs", "-n", "demo", "-l", "app=evt", "-o",
                                       "jsonpath={.items[0].metadata.name}").stdout, "the replica set")
    wait_for(lambda: "to 3" in live.kubectl("describe", "deploy", "evt", "-n", "demo").stdout, "the first scaling")
    live.kubectl("scale", "deploy", "evt", "-n", "demo", "--replicas=5")
    described = wait_for(lambda: (lambda out: out if "to 5" in out else None)(
        live.kubectl("describe", "deploy", "evt", "-n", "demo").stdout), "the scaling event")
    rows = events_section(described)
    assert all(row.split()[:2] == ["Normal", "ScalingReplicaSet"] for row in rows)
    assert rows[0].endswith(f"Scaled up replica set {rs} from 0 to 3")
    assert rows[-1].endswith(f"Scaled up replica set {rs} from 3 to 5")
    assert {row.split()[3] for row in rows} == {"deployment-controller"}
    pods = wait_for(lambda: (lambda names: names if len(names) == 5 else None)(
        live.kubectl("get", "pods", "-n", "demo", "-l", "app=evt", "-o",
                     "jsonpath={.items[*].metadata.name}").stdout.split()), "five pods")
    created = live.kubectl("get", "events", "-n", "demo", "--field-selector",
                           f"involvedObject.kind=ReplicaSet,involvedObject.name={rs},reason=SuccessfulCreate",
                           "-o", "jsonpath={range .items[*]}{.message}{\"\\n\"}{end}").stdout.split("\n")
    assert sorted(m for m in created if m) == sorted(f"Created pod: {name}" for name in pods)
