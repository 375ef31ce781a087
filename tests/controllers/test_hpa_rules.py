"""rules/horizontal-pod-autoscaler.rules: reconcileAutoscaler on a cluster without a metrics pipeline."""

from __future__ import annotations

from engine.timeutil import format_time

RESOURCE_ERROR = ("failed to get cpu utilization: unable to get metrics for resource cpu: unable to fetch metrics "
                  "from resource metrics API: the server could not find the requested resource (get pods.metrics.k8s.io)")


def deployment(name="web", replicas=3):
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "demo"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}}}}


def hpa(name="web", target="web", kind="Deployment", api_version="apps/v1", **spec_fields):
    spec = {"scaleTargetRef": {"apiVersion": api_version, "kind": kind, "name": target},
            "minReplicas": 2, "maxReplicas": 5}
    spec.update(spec_fields)
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": name, "namespace": "demo"}, "spec": spec}


def conditions(c, name="web") -> dict:
    return {x["type"]: x for x in c.get("HorizontalPodAutoscaler", name)["status"]["conditions"]}


def events(c, reason=None) -> list[dict]:
    found = [e for e in c.list("Event") if e["involvedObject"]["kind"] == "HorizontalPodAutoscaler"]
    return [e for e in found if reason is None or e["reason"] == reason]


def test_within_bounds_metrics_are_unavailable_and_nothing_is_scaled(controller_cluster):
    c = controller_cluster
    c.load("horizontal-pod-autoscaler")
    c.create(deployment(replicas=3))
    c.create(hpa())
    c.run()
    assert c.get("Deployment", "web")["spec"]["replicas"] == 3
    status = c.get("HorizontalPodAutoscaler", "web")["status"]
    assert status["currentReplicas"] == 3 and status["desiredReplicas"] == 0
    assert "currentMetrics" not in status and "lastScaleTime" not in status
    found = conditions(c)
    assert (found["AbleToScale"]["status"], found["AbleToScale"]["reason"], found["AbleToScale"]["message"]) == (
        "True", "SucceededGetScale", "the HPA controller was able to get the target's current scale")
    assert (found["ScalingActive"]["status"], found["ScalingActive"]["reason"]) == ("False", "FailedGetResourceMetric")
    assert found["ScalingActive"]["message"] == "the HPA was unable to compute the replica count: " + RESOURCE_ERROR
    assert list(found) == ["AbleToScale", "ScalingActive"]
    [metric] = events(c, "FailedGetResourceMetric")
    assert metric["type"] == "Warning" and metric["message"] == RESOURCE_ERROR
    assert metric["source"]["component"] == "horizontal-pod-autoscaler"
    [compute] = events(c, "FailedComputeMetricsReplicas")
    assert compute["message"] == ("invalid metrics (1 invalid out of 1), first error is: failed to get cpu resource "
                                  "metric value: " + RESOURCE_ERROR)


def test_below_min_replicas_scales_up_to_min_and_records_the_rescale(controller_cluster):
    c = controller_cluster
    c.load("horizontal-pod-autoscaler")
    c.create(deployment(replicas=1))
    c.create(hpa(minReplicas=2))
    scaled_at = c.clock.now()
    c.run()
    assert c.get("Deployment", "web")["spec"]["replicas"] == 2
    [rescale] = events(c, "SuccessfulRescale")
    assert rescale["type"] == "Normal"
    assert rescale["message"] == "New size: 2; reason: Current number of replicas below Spec.MinReplicas"
    status = c.get("HorizontalPodAutoscaler", "web")["status"]
    assert status["lastScaleTime"] == format_time(scaled_at)
    # the next sync finds 2 replicas within bounds: metrics decide, and there are none
    assert status["currentReplicas"] == 2 and status["desiredReplicas"] == 2
    assert conditions(c)["ScalingActive"]["reason"] == "FailedGetResourceMetric"
    assert conditions(c)["AbleToScale"]["reason"] == "SucceededGetScale"


def test_above_max_replicas_scales_down_to_max(controller_cluster):
    c = controller_cluster
    c.load("horizontal-pod-autoscaler")
    c.create(deployment(replicas=9))
    c.create(hpa(maxReplicas=4))
    c.run()
    assert c.get("Deployment", "web")["spec"]["replicas"] == 4
    [rescale] = events(c, "SuccessfulRescale")
    assert rescale["message"] == "New size: 4; reason: Current number of replicas above Spec.MaxReplicas"
    assert c.get("HorizontalPodAutoscaler", "web")["status"]["desiredReplicas"] == 4


def test_a_scale_change_outside_the_bounds_is_brought_back(controller_cluster):
    c = controller_cluster
    c.load("horizontal-pod-autoscaler")
    c.create(deployment(replicas=3))
    c.create(hpa())
    c.run()
    c.patch("Deployment", "web", {"spec": {"replicas": 8}})
    c.run()
    assert c.get("Deployment", "web")["spec"]["replicas"] == 5
    assert len(events(c, "SuccessfulRescale")) == 1


def test_a_statefulset_and_a_replicaset_are_scaled_through_their_scale(controller_cluster):
    c = controller_cluster
    c.load("horizontal-pod-autoscaler")
    sts = deployment("db", replicas=1)
    sts.update(kind="StatefulSet")
    c.create(sts)
    rs = deployment("cache", replicas=7)
    rs.update(kind="ReplicaSet")
    c.create(rs)
    c.create(hpa("db", target="db", kind="StatefulSet", minReplicas=3))
    c.create(hpa("cache", target="cache", kind="ReplicaSet"))
    c.run()
    assert c.get("StatefulSet", "db")["spec"]["replicas"] == 3
    assert c.get("ReplicaSet", "cache")["spec"]["replicas"] == 5


def test_a_target_at_zero_replicas_disables_scaling(controller_cluster):
    c = controller_cluster
    c.load("horizontal-pod-autoscaler")
    c.create(deployment(replicas=0))
    c.create(hpa())
    c.run()
    assert c.get("Deployment", "web")["spec"]["replicas"] == 0
    found = conditions(c)
    assert (found["ScalingActive"]["status"], found["ScalingActive"]["reason"], found["ScalingActive"]["message"]) == (
        "False", "ScalingDisabled", "scaling is disabled since the replica count of the target is zero")
    assert found["AbleToScale"]["reason"] == "SucceededGetScale"
    status = c.get("HorizontalPodAutoscaler", "web")["status"]
    assert status["desiredReplicas"] == 0 and "currentReplicas" not in status
    assert events(c) == []


def test_a_missing_target_is_failed_get_scale(controller_cluster):
    c = controller_cluster
    c.load("horizontal-pod-autoscaler")
    c.create(hpa(target="nowhere"))
    c.run()
    found = conditions(c)
    assert (found["AbleToScale"]["status"], found["AbleToScale"]["reason"]) == ("False", "FailedGetScale")
    assert found["AbleToScale"]["message"] == ("the HPA controller was unable to get the target's current scale: "
                                               'deployments.apps "nowhere" not found')
    assert "ScalingActive" not in found
    [failed] = events(c, "FailedGetScale")
    assert failed["type"] == "Warning" and failed["message"] == 'deployments.apps "nowhere" not found'
    # the target appears: the HPA reads its scale
    c.create(deployment("nowhere", replicas=3))
    c.run()
    assert conditions(c)["AbleToScale"]["reason"] == "SucceededGetScale"
    assert conditions(c)["AbleToScale"]["status"] == "True"


def test_an_unknown_target_kind_is_failed_get_scale_with_no_matches(controller_cluster):
    c = controller_cluster
    c.load("horizontal-pod-autoscaler")
    c.create(hpa(kind="Widget", api_version="example.com/v1"))
    c.run()
    assert conditions(c)["AbleToScale"]["message"] == (
        "the HPA controller was unable to get the target's current scale: "
        'no matches for kind "Widget" in group "example.com"')


def test_other_metrics_fail_as_their_metrics_apis_are_missing(controller_cluster):
    c = controller_cluster
    c.load("horizontal-pod-autoscaler")
    c.create(deployment(replicas=3))
    pods = {"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {"type": "AverageValue", "averageValue": "10"}}}
    memory = {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue",
                                                                             "averageValue": "100Mi"}}}
    c.create(hpa(metrics=[pods, memory]))
    c.run()
    pods_error = ("unable to get metric qps: unable to fetch metrics from custom metrics API: no custom metrics API "
                  "(custom.metrics.k8s.io) registered")
    assert [e["message"] for e in events(c, "FailedGetPodsMetric")] == [pods_error]
    assert events(c, "FailedGetResourceMetric")[0]["message"].startswith(
        "failed to get memory usage: unable to get metrics for resource memory: ")
    assert events(c, "FailedComputeMetricsReplicas")[0]["message"] == (
        "invalid metrics (2 invalid out of 2), first error is: failed to get pods metric value: " + pods_error)
    assert conditions(c)["ScalingActive"]["reason"] == "FailedGetPodsMetric"


def test_a_quiet_cluster_records_the_events_once(controller_cluster):
    c = controller_cluster
    c.load("horizontal-pod-autoscaler")
    c.create(deployment(replicas=3))
    c.create(hpa())
    c.run()
    c.patch("Deployment", "web", {"status": {"replicas": 3}}, subresource="status")
    c.run(3600)
    assert [e.get("count", 1) for e in events(c)] == [1, 1]


def test_pods_under_two_hpas_are_an_ambiguous_selector(controller_cluster):
    c = controller_cluster
    c.load("replicaset", "deployment", "horizontal-pod-autoscaler")
    c.create(deployment(replicas=3))
    c.run()
    c.create(hpa("first"))
    c.create(hpa("second", maxReplicas=4))
    c.run()
    message = "pods by selector app=web are controlled by multiple HPAs: [demo/first demo/second]"
    for name in ("first", "second"):
        found = conditions(c, name)["ScalingActive"]
        assert (found["status"], found["reason"], found["message"]) == ("False", "AmbiguousSelector", message)
    assert {e["message"] for e in events(c, "AmbiguousSelector")} == {message}
    assert {e["message"] for e in events(c, "FailedComputeMetricsReplicas")} == {message}
    assert c.get("Deployment", "web")["spec"]["replicas"] == 3
    # one of them goes: the other's metrics decide again
    c.delete("HorizontalPodAutoscaler", "second")
    c.run()
    assert conditions(c, "first")["ScalingActive"]["reason"] == "FailedGetResourceMetric"


def test_recon_describe_shows_the_target_metrics_bounds_and_behavior(controller_cluster):
    from engine.describe import describe

    c = controller_cluster
    c.load("horizontal-pod-autoscaler")
    c.create(deployment(replicas=3))
    c.create(hpa(behavior={"scaleDown": {"stabilizationWindowSeconds": 60}}))
    c.run()
    text = describe(c.store.head, ("autoscaling", "HorizontalPodAutoscaler", "demo", "web"))
    lines = text.splitlines()
    assert "Reference:    Deployment/web" in lines
    assert "  resource cpu on pods  (as a percentage of request):  <unknown> / 80%" in lines
    assert "Min replicas: 2" in lines and "Max replicas: 5" in lines
    assert "    Stabilization Window: 60 seconds" in lines
    assert "      - Type: Pods  Value: 4  Period: 15 seconds" in lines
    assert "Deployment pods:  3 current / 0 desired" in lines
    assert "FailedGetResourceMetric" in text and "Spec:" not in text
