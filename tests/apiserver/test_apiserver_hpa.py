"""HorizontalPodAutoscaler (autoscaling/v2, served as v1 too): defaulted, validated, converted and
printed as upstream's."""

from __future__ import annotations

import json

import pytest
from apiserver_fixtures import ADMIN

from engine import autoscaling_v1
from engine.api.auth import Attributes, authorized, service_account_user
from engine.apiserver import APIError
from engine.kinds import BUILTIN
from engine.printers import columns
from engine.request import Request

CPU_80 = {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}


def hpa(name="web", **spec_fields) -> dict:
    spec = {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}, "maxReplicas": 5}
    spec.update(spec_fields)
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": name, "namespace": "default"}, "spec": spec}


def refused(api, body, old=None) -> str:
    with pytest.raises(APIError) as caught:
        api.update(ADMIN, body) if old else api.create(ADMIN, body)
    assert caught.value.code == 422
    return caught.value.message


def test_kubectl_names_resolve_to_the_autoscaling_kind_served_in_both_versions():
    for name in ("hpa", "horizontalpodautoscalers", "horizontalpodautoscaler", "hpa.autoscaling"):
        rt = BUILTIN.resolve(name)
        assert (rt.group, rt.kind, rt.api_version) == ("autoscaling", "HorizontalPodAutoscaler", "autoscaling/v2")
    rt = BUILTIN.resolve("hpa")
    assert rt.versions == ("v2", "v1")
    assert rt.categories == ("all",) and rt.subresources == frozenset({"status"})


# ------------------------------------------------------------------ defaults


def test_defaults_min_replicas_one_and_the_80_percent_cpu_metric(api):
    made = api.create(ADMIN, hpa())
    assert made["spec"]["minReplicas"] == 1
    assert made["spec"]["metrics"] == [CPU_80]
    assert "behavior" not in made["spec"]  # (defaulted only when given)
    assert "generation" not in made["metadata"] and made["status"] == {"desiredReplicas": 0}


def test_given_metrics_and_min_replicas_are_kept(api):
    memory = {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue",
                                                                             "averageValue": "100Mi"}}}
    made = api.create(ADMIN, hpa(minReplicas=3, metrics=[memory]))
    assert made["spec"]["minReplicas"] == 3 and made["spec"]["metrics"] == [memory]


def test_a_behavior_is_filled_with_upstreams_scale_up_and_scale_down_rules(api):
    made = api.create(ADMIN, hpa(behavior={"scaleDown": {"stabilizationWindowSeconds": 60}}))
    assert made["spec"]["behavior"] == {
        "scaleUp": {"stabilizationWindowSeconds": 0, "selectPolicy": "Max",
                    "policies": [{"type": "Pods", "value": 4, "periodSeconds": 15},
                                 {"type": "Percent", "value": 100, "periodSeconds": 15}]},
        "scaleDown": {"stabilizationWindowSeconds": 60, "selectPolicy": "Max",
                      "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]},
    }
    empty = api.create(ADMIN, hpa("other", behavior={"scaleUp": {"selectPolicy": "Min"}}))
    # scaleDown's window is left unset: the controller's --horizontal-pod-autoscaler-downscale-stabilization
    assert empty["spec"]["behavior"]["scaleDown"] == {
        "selectPolicy": "Max", "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]}
    assert empty["spec"]["behavior"]["scaleUp"]["selectPolicy"] == "Min"


# ---------------------------------------------------------------- validation


def test_replica_bounds_are_checked_in_upstreams_words(api):
    message = refused(api, hpa(minReplicas=0))
    assert 'HorizontalPodAutoscaler.autoscaling "web" is invalid' in message
    assert "spec.minReplicas: Invalid value: 0: must be greater than or equal to 1" in message
    message = refused(api, hpa(minReplicas=3, maxReplicas=2))
    assert "spec.maxReplicas: Invalid value: 2: must be greater than or equal to `minReplicas`" in message
    assert "spec.maxReplicas: Invalid value: 0: must be greater than 0" in refused(api, hpa(maxReplicas=0))


def test_the_scale_target_needs_a_kind_and_a_name_usable_in_a_path(api):
    message = refused(api, hpa(scaleTargetRef={"apiVersion": "apps/v1"}))
    assert "spec.scaleTargetRef.kind: Required value" in message
    assert "spec.scaleTargetRef.name: Required value" in message
    message = refused(api, hpa(scaleTargetRef={"kind": "Deployment", "name": "a/b"}))
    assert "spec.scaleTargetRef.name: Invalid value: \"a/b\": may not contain '/'" in message


def test_metric_specs_are_checked_as_validate_metric_spec_does(api):
    message = refused(api, hpa(metrics=[{"type": "Resource"}]))
    assert "spec.metrics[0].resource: Required value: must populate information for the given metric source" in message
    message = refused(api, hpa(metrics=[{"type": "Bogus"}]))
    assert ('spec.metrics[0].type: Unsupported value: "Bogus": supported values: "ContainerResource", '
            '"External", "Object", "Pods", "Resource"') in message
    message = refused(api, hpa(metrics=[{"type": "Resource", "resource": {"name": "cpu", "target": {
        "type": "Utilization", "averageUtilization": 0}}}]))
    assert "spec.metrics[0].resource.target.averageUtilization: Invalid value: 0: must be greater than 0" in message
    message = refused(api, hpa(metrics=[{"type": "Resource", "resource": {"name": "cpu", "target": {
        "type": "Utilization"}}}]))
    assert ("spec.metrics[0].resource.target.averageUtilization: Required value: must set either a target raw "
            "value or a target utilization") in message
    message = refused(api, hpa(metrics=[{"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {
        "type": "AverageValue", "averageValue": "-1"}}, "resource": {"name": "cpu"}}]))
    assert 'spec.metrics[0].pods.target.averageValue: Invalid value: "-1": must be positive' in message
    assert "spec.metrics[0].resource: Forbidden: must populate the given metric source only" in message
    message = refused(api, hpa(metrics=[{"type": "Resource", "resource": {"name": "cpu", "target": {
        "type": "Percent", "averageUtilization": 50}}}]))
    assert ('spec.metrics[0].resource.target.type: Invalid value: "Percent": must be either Utilization, Value, '
            'or AverageValue') in message


def test_behavior_rules_are_checked_as_validate_scaling_rules_does(api):
    message = refused(api, hpa(behavior={"scaleUp": {"stabilizationWindowSeconds": 4000, "selectPolicy": "Most",
                                                     "policies": []}}))
    assert "spec.behavior.scaleUp.stabilizationWindowSeconds: Invalid value: 4000: must be less than or equal to 3600" in message
    assert 'spec.behavior.scaleUp.selectPolicy: Unsupported value: "Most": supported values: "Disabled", "Max", "Min"' in message
    assert "spec.behavior.scaleUp.policies: Required value: must specify at least one Policy" in message
    message = refused(api, hpa(behavior={"scaleDown": {"policies": [{"type": "Pods", "value": 0, "periodSeconds": 2000}]}}))
    assert "spec.behavior.scaleDown.policies[0].value: Invalid value: 0: must be greater than zero" in message
    assert "spec.behavior.scaleDown.policies[0].periodSeconds: Invalid value: 2000: must be less than or equal to 1800" in message


def test_wrong_types_are_422_not_a_traceback(api):
    assert "must be of type integer" in refused(api, hpa(maxReplicas="five"))
    assert "must be of type array" in refused(api, hpa(metrics={"type": "Resource"}))
    assert "must be of type object" in refused(api, hpa(behavior=[]))


def test_a_status_write_may_not_make_replica_counts_negative(api):
    made = api.create(ADMIN, hpa())
    made = dict(made, status={"currentReplicas": -1, "desiredReplicas": 0})
    with pytest.raises(APIError) as caught:
        api.update(ADMIN, made, subresource="status")
    assert caught.value.code == 422
    assert "status.currentReplicas: Invalid value: -1: must be greater than or equal to 0" in caught.value.message


# ---------------------------------------------------------------- autoscaling/v1


def v1_hpa(name="web", **spec_fields) -> dict:
    spec = {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}, "maxReplicas": 5}
    spec.update(spec_fields)
    return {"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": name, "namespace": "default"}, "spec": spec}


def test_a_v1_object_is_stored_as_v2_with_its_cpu_target_as_a_resource_metric(api):
    made = api.create(ADMIN, v1_hpa(minReplicas=2, targetCPUUtilizationPercentage=50))
    assert made["apiVersion"] == "autoscaling/v2"
    cpu_50 = {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization",
                                                                          "averageUtilization": 50}}}
    assert made["spec"]["metrics"] == [cpu_50] and made["spec"]["minReplicas"] == 2
    assert "targetCPUUtilizationPercentage" not in made["spec"]
    # kubectl autoscale without --cpu-percent: the conversion's 80 %
    assert api.create(ADMIN, v1_hpa("plain"))["spec"]["metrics"] == [CPU_80]


def test_v1_shows_the_cpu_target_and_carries_the_rest_in_annotations(api):
    memory = {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue",
                                                                             "averageValue": "100Mi"}}}
    made = api.create(ADMIN, hpa(metrics=[CPU_80, memory], behavior={"scaleUp": {"selectPolicy": "Min"}}))
    stored = dict(made, status={"currentReplicas": 3, "desiredReplicas": 3, "conditions": [
        {"type": "AbleToScale", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z",
         "reason": "SucceededGetScale", "message": "ok"}]})
    v1 = autoscaling_v1.to_v1(stored)
    assert v1["apiVersion"] == "autoscaling/v1"
    assert v1["spec"] == {"scaleTargetRef": {"kind": "Deployment", "name": "web", "apiVersion": "apps/v1"},
                          "minReplicas": 1, "maxReplicas": 5, "targetCPUUtilizationPercentage": 80}
    assert v1["status"] == {"currentReplicas": 3, "desiredReplicas": 3}
    annotations = v1["metadata"]["annotations"]
    assert json.loads(annotations[autoscaling_v1.METRICS]) == [
        {"type": "Resource", "resource": {"name": "memory", "targetAverageValue": "100Mi"}}]
    assert json.loads(annotations[autoscaling_v1.BEHAVIOR])["ScaleUp"]["SelectPolicy"] == "Min"
    assert json.loads(annotations[autoscaling_v1.CONDITIONS])[0]["reason"] == "SucceededGetScale"
    # and back: nothing is lost
    back = autoscaling_v1.to_v2(v1)
    assert back["spec"]["metrics"] == [memory, CPU_80]
    assert back["spec"]["behavior"] == made["spec"]["behavior"]
    assert back["status"]["conditions"] == stored["status"]["conditions"]
    assert autoscaling_v1.METRICS not in (back["metadata"].get("annotations") or {})


def test_a_v1_update_changes_the_stored_v2_object(api):
    made = api.create(ADMIN, v1_hpa(targetCPUUtilizationPercentage=50))
    v1 = autoscaling_v1.to_v1(made)
    v1["spec"]["targetCPUUtilizationPercentage"] = 70
    updated = api.update(ADMIN, v1)
    assert updated["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 70


def test_an_unreadable_v1_metrics_annotation_is_a_bad_request(api):
    body = v1_hpa()
    body["metadata"]["annotations"] = {autoscaling_v1.METRICS: "{not json"}
    with pytest.raises(APIError) as caught:
        api.create(ADMIN, body)
    assert caught.value.code == 400
    assert autoscaling_v1.METRICS in caught.value.message


def test_a_v1_manifest_write_is_decoded_as_a_clients(api):
    request = Request("create", "autoscaling", "HorizontalPodAutoscaler", "default", "web",
                      body=v1_hpa(targetCPUUtilizationPercentage=60), client_body=True)
    made = api.request(ADMIN, request)
    assert made["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 60


# ------------------------------------------------------------------ printer


def row(obj) -> list[str]:
    return [c.fn(obj, 0.0) for c in columns(BUILTIN.resolve("hpa"))]


def test_kubectl_get_columns_as_print_horizontal_pod_autoscaler(api):
    assert [c.name for c in columns(BUILTIN.resolve("hpa"))] == [
        "NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS", "AGE"]
    made = api.create(ADMIN, hpa(minReplicas=2))
    assert row(made)[:6] == ["web", "Deployment/web", "cpu: <unknown>/80%", "2", "5", "0"]
    read = dict(made, status={"currentReplicas": 3, "desiredReplicas": 3, "currentMetrics": [
        {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 41}}}]})
    assert row(read)[2] == "cpu: 41%/80%" and row(read)[5] == "3"


def test_targets_show_two_metrics_then_how_many_more():
    pods = {"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {"type": "AverageValue", "averageValue": "10"}}}
    external = {"type": "External", "external": {"metric": {"name": "queue"},
                                                 "target": {"type": "AverageValue", "averageValue": "30"}}}
    obj = hpa(metrics=[CPU_80, pods, external])
    assert row(obj)[2] == "cpu: <unknown>/80%, <unknown>/10 + 1 more..."
    assert row(hpa(metrics=[external]))[2] == "<unknown>/30 (avg)"
    assert row(hpa(metrics=[]))[2] == "<none>"


# --------------------------------------------------------------------- RBAC


@pytest.mark.parametrize("role, verbs, refused", [
    ("view", ("get", "list", "watch"), ("create", "update", "patch", "delete")),
    ("edit", ("get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"), ()),
])
def test_the_default_user_roles_grant_hpas_as_upstreams_do(api, role, verbs, refused):
    """Upstream's edit writes horizontalpodautoscalers, its view reads them and their status."""
    api.create(ADMIN, {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                       "metadata": {"name": f"bot-{role}", "namespace": "default"},
                       "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
                       "subjects": [{"kind": "ServiceAccount", "name": "bot", "namespace": "default"}]})
    bot = service_account_user("default", "bot")

    def may(verb: str, subresource: str = "") -> bool:
        request = Attributes(verb, "autoscaling", "horizontalpodautoscalers", subresource, namespace="default",
                             name="web")
        return authorized(api.head, bot, request)

    assert [v for v in verbs if not may(v)] == [] and [v for v in refused if may(v)] == []
    assert may("get", "status")
