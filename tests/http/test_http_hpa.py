"""Real kubectl (v1.32) and HorizontalPodAutoscalers against `recon up --serve`: `kubectl autoscale`
(an autoscaling/v1 body, in protobuf), `kubectl get hpa`, `kubectl describe hpa`, v1 and v2 views."""

from __future__ import annotations

import json

from http_live import wait_for

METRICS_ERROR = ("failed to get cpu utilization: unable to get metrics for resource cpu: unable to fetch metrics from "
                 "resource metrics API: the server could not find the requested resource (get pods.metrics.k8s.io)")

HPA_V2 = """\
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {name}
  namespace: default
spec:
  scaleTargetRef: {{apiVersion: apps/v1, kind: Deployment, name: {target}}}
  maxReplicas: 4
  metrics:
  - type: Resource
    resource: {{name: memory, target: {{type: AverageValue, averageValue: 100Mi}}}}
"""


def replicas(live, name: str) -> int:
    return json.loads(live.kubectl("get", "deploy", name, "-o", "json").stdout)["spec"]["replicas"]


def hpa(live, name: str, version: str = "") -> dict:
    resource = f"horizontalpodautoscalers.{version}.autoscaling" if version else "hpa"
    return json.loads(live.kubectl("get", resource, name, "-o", "json").stdout)


def test_kubectl_autoscale_scales_to_min_and_reports_metrics_unavailable(live):
    live.kubectl("create", "deployment", "api", "--image=nginx:1.27", "--replicas=1")
    out = live.kubectl("autoscale", "deployment", "api", "--min=2", "--max=5").stdout
    assert "horizontalpodautoscaler.autoscaling/api autoscaled" in out
    wait_for(lambda: replicas(live, "api") == 2, "the deployment scaled to minReplicas")
    wait_for(lambda: hpa(live, "api").get("status", {}).get("currentReplicas") == 2, "the HPA's status")

    table = live.kubectl("get", "hpa", "api").stdout.splitlines()
    assert table[0].split() == ["NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS", "AGE"]
    assert table[1].split()[:7] == ["api", "Deployment/api", "cpu:", "<unknown>/80%", "2", "5", "2"]

    stored = hpa(live, "api")
    assert stored["apiVersion"] == "autoscaling/v2"
    assert stored["spec"]["metrics"] == [{"type": "Resource", "resource": {
        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]
    conditions = {c["type"]: c for c in stored["status"]["conditions"]}
    assert conditions["AbleToScale"]["reason"] == "SucceededGetScale"
    assert conditions["ScalingActive"]["reason"] == "FailedGetResourceMetric"
    assert stored["status"]["desiredReplicas"] == 2 and stored["status"]["lastScaleTime"]

    v1 = hpa(live, "api", "v1")
    assert v1["apiVersion"] == "autoscaling/v1"
    assert v1["spec"]["targetCPUUtilizationPercentage"] == 80
    assert v1["status"]["currentReplicas"] == 2
    assert "autoscaling.alpha.kubernetes.io/conditions" in v1["metadata"]["annotations"]

    described = live.kubectl("describe", "hpa", "api").stdout
    assert "Reference:" in described and "Deployment/api" in described
    assert "resource cpu on pods  (as a percentage of request):  <unknown> / 80%" in described
    assert "Min replicas:" in described and "Max replicas:" in described
    assert "ScalingActive  False   FailedGetResourceMetric" in described
    assert "New size: 2; reason: Current number of replicas below Spec.MinReplicas" in described
    assert METRICS_ERROR in described
    assert "FailedComputeMetricsReplicas" in described


def test_a_v1_patch_changes_the_cpu_target_and_v2_shows_it(live):
    live.kubectl("create", "deployment", "cpu", "--image=nginx:1.27", "--replicas=2")
    live.kubectl("autoscale", "deployment", "cpu", "--min=1", "--max=3", "--cpu-percent=50")
    live.kubectl("patch", "horizontalpodautoscalers.v1.autoscaling", "cpu", "--type=merge",
                 "-p", '{"spec":{"targetCPUUtilizationPercentage":65}}')
    metric = hpa(live, "cpu")["spec"]["metrics"][0]
    assert metric["resource"]["target"]["averageUtilization"] == 65
    assert "cpu: <unknown>/65%" in live.kubectl("get", "hpa", "cpu").stdout


def test_kubectl_apply_of_a_v2_manifest_and_bad_input(live):
    live.kubectl("create", "deployment", "mem", "--image=nginx:1.27", "--replicas=6")
    path = live.root / "hpa-mem.yaml"
    path.write_text(HPA_V2.format(name="mem", target="mem"))
    live.kubectl("apply", "-f", str(path))
    wait_for(lambda: replicas(live, "mem") == 4, "the deployment scaled down to maxReplicas")
    assert "memory: <unknown>/100Mi" in live.kubectl("get", "hpa", "mem").stdout
    assert hpa(live, "mem")["spec"]["minReplicas"] == 1
    assert "hpa/mem" in live.kubectl("get", "all", "-o", "name").stdout.replace("horizontalpodautoscaler.autoscaling", "hpa")

    bad = live.root / "hpa-bad.yaml"
    bad.write_text(HPA_V2.format(name="bad", target="mem").replace("maxReplicas: 4", "maxReplicas: 0"))
    result = live.kubectl("apply", "-f", str(bad), check=1)
    assert 'The HorizontalPodAutoscaler "bad" is invalid' in result.stderr
    assert "spec.maxReplicas: Invalid value: 0: must be greater than 0" in result.stderr
    assert "Traceback" not in live.text()
