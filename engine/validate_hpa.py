"""Validation of HorizontalPodAutoscalers (autoscaling/v2, as stored).

Worded as upstream's `ValidateHorizontalPodAutoscaler`,
`ValidateHorizontalPodAutoscalerUpdate` and
`ValidateHorizontalPodAutoscalerStatusUpdate` (pkg/apis/autoscaling/validation)
with the HPAScaleToZero feature gate off (its default): minReplicas is at
least 1, unless the stored object already has 0.  A v1 object is checked
after its conversion, so its errors name the v2 fields (as upstream's do).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import fieldcheck as fc
from .apierrors import FieldError, forbidden, invalid, not_supported, required

MAX_PERIOD_SECONDS = 1800
MAX_STABILIZATION_WINDOW_SECONDS = 3600
_SOURCES = {"Object": "object", "Pods": "pods", "Resource": "resource", "External": "external",
            "ContainerResource": "containerResource"}
_SOURCE_TYPES = sorted(_SOURCES)
_TARGET_TYPES = ("Utilization", "Value", "AverageValue")
_SELECT_POLICIES = ("Disabled", "Max", "Min")
_POLICY_TYPES = ("Percent", "Pods")


def _reference_errors(ref: Any, path: str) -> list[FieldError]:
    """ValidateCrossVersionObjectReference: a kind and a name, both usable in a path."""
    errors, ref = fc.mapping(ref, path)
    for field in ("kind", "name"):
        value = ref.get(field)
        if not value:
            errors.append(required(f"{path}.{field}", ""))
        elif not isinstance(value, str):
            errors += fc.wrong_type(value, f"{path}.{field}", "string")
        else:
            errors += [invalid(f"{path}.{field}", value, m) for m in fc.path_segment_errors(value)]
    return errors


def _positive_quantity(value: Any, path: str) -> list[FieldError]:
    if value is None:
        return []
    try:
        amount = fc.quantity_value(value)
    except (TypeError, ValueError) as exc:
        return [invalid(path, value, str(exc).partition(": ")[2] or str(exc))]
    return [] if amount > 0 else [invalid(path, value, "must be positive")]


def _target_errors(target: Mapping, path: str) -> list[FieldError]:
    """validateMetricTarget."""
    kind = target.get("type")
    errors = [] if kind else [required(f"{path}.type", "must specify a metric target type")]
    if kind not in _TARGET_TYPES:
        errors.append(invalid(f"{path}.type", kind or "", "must be either Utilization, Value, or AverageValue"))
    errors += _positive_quantity(target.get("value"), f"{path}.value")
    errors += _positive_quantity(target.get("averageValue"), f"{path}.averageValue")
    utilization = target.get("averageUtilization")
    errors += fc.int_range(utilization, f"{path}.averageUtilization")
    if fc.is_int(utilization) and utilization < 1:
        errors.append(invalid(f"{path}.averageUtilization", utilization, "must be greater than 0"))
    return errors


def _identifier_errors(metric: Any, path: str) -> list[FieldError]:
    """validateMetricIdentifier: a metric name usable in a path."""
    errors, metric = fc.mapping(metric, path)
    name = metric.get("name")
    if not name:
        return errors + [required(f"{path}.name", "must specify a metric name")]
    if not isinstance(name, str):
        return errors + fc.wrong_type(name, f"{path}.name", "string")
    return errors + [invalid(f"{path}.name", name, m) for m in fc.path_segment_errors(name)]


def _source_errors(field: str, source: Mapping, path: str) -> list[FieldError]:
    """validateObjectSource, validatePodsSource, validateResourceSource, … for one metric source."""
    target_errors, target = fc.mapping(source.get("target"), f"{path}.target")
    errors = target_errors
    if field in ("resource", "containerResource"):
        name = source.get("name")
        if not name:
            errors.append(required(f"{path}.name", "must specify a resource name"))
        if field == "containerResource":
            container = source.get("container")
            errors += ([required(f"{path}.container", "must specify a container")] if not container
                       else fc.named(container, f"{path}.container", fc.label_errors))
    else:
        if field == "object":
            errors += _reference_errors(source.get("describedObject"), f"{path}.describedObject")
        errors += _identifier_errors(source.get("metric"), f"{path}.metric")
    errors += _target_errors(target, f"{path}.target")
    value, average, utilization = target.get("value"), target.get("averageValue"), target.get("averageUtilization")
    if field == "object" and value is None and average is None:
        errors.append(required(f"{path}.target.averageValue", "must set either a target value or averageValue"))
    elif field == "external":
        if value is None and average is None:
            errors.append(required(f"{path}.target.averageValue",
                                   "must set either a target value for metric or a per-pod target"))
        elif value is not None and average is not None:
            errors.append(forbidden(f"{path}.target.value",
                                    "may not set both a target value for metric and a per-pod target"))
    elif field == "pods" and average is None:
        errors.append(required(f"{path}.target.averageValue", "must specify a positive target averageValue"))
    elif field in ("resource", "containerResource"):
        if utilization is None and average is None:
            errors.append(required(f"{path}.target.averageUtilization",
                                   "must set either a target raw value or a target utilization"))
        elif utilization is not None and average is not None:
            errors.append(forbidden(f"{path}.target.averageValue",
                                    "may not set both a target raw value and a target utilization"))
    return errors


def _metric_errors(metric: Any, path: str) -> list[FieldError]:
    """validateMetricSpec: a known type, its source filled in, and no other."""
    errors, metric = fc.mapping(metric, path)
    kind = metric.get("type")
    if not kind:
        errors.append(required(f"{path}.type", "must specify a metric source type"))
    if kind not in _SOURCES:
        errors.append(not_supported(f"{path}.type", kind or "", _SOURCE_TYPES))
    present = [f for f in ("object", "external", "pods", "resource", "containerResource") if metric.get(f) is not None]
    if present:
        source_errors, source = fc.mapping(metric[present[0]], f"{path}.{present[0]}")
        errors += source_errors + _source_errors(present[0], source, f"{path}.{present[0]}")
    expected = _SOURCES.get(kind)
    if expected is not None and metric.get(expected) is None:
        errors.append(required(f"{path}.{expected}", "must populate information for the given metric source"))
    if len(present) != 1:
        errors += [forbidden(f"{path}.{f}", "must populate the given metric source only")
                   for f in sorted(present) if f != expected]
    return errors


def _metrics_errors(metrics: Any, min_replicas: Any) -> list[FieldError]:
    errors, items = fc.items(metrics, "spec.metrics")
    kinds = set()
    for path, metric in items:
        errors += _metric_errors(metric, path)
        kinds.add(metric.get("type") if isinstance(metric, Mapping) else None)
    if min_replicas == 0 and not kinds & {"Object", "External"}:
        errors.append(forbidden("spec.metrics", "must specify at least one Object or External metric to support "
                                                "scaling to zero replicas"))
    return errors


def _scaling_rules_errors(rules: Any, path: str) -> list[FieldError]:
    """validateScalingRules: a window of 0 to 3600 s, a known select policy, at least one policy."""
    if rules is None:
        return []
    errors, rules = fc.mapping(rules, path)
    window = rules.get("stabilizationWindowSeconds")
    errors += fc.int_range(window, f"{path}.stabilizationWindowSeconds")
    if fc.is_int(window) and window < 0:
        errors.append(invalid(f"{path}.stabilizationWindowSeconds", window, "must be greater than or equal to zero"))
    if fc.is_int(window) and window > MAX_STABILIZATION_WINDOW_SECONDS:
        errors.append(invalid(f"{path}.stabilizationWindowSeconds", window,
                              f"must be less than or equal to {MAX_STABILIZATION_WINDOW_SECONDS}"))
    errors += fc.one_of(rules.get("selectPolicy"), f"{path}.selectPolicy", _SELECT_POLICIES)
    list_errors, policies = fc.items(rules.get("policies"), f"{path}.policies")
    errors += list_errors
    if not policies and not list_errors:
        errors.append(required(f"{path}.policies", "must specify at least one Policy"))
    for policy_path, policy in policies:
        policy_errors, policy = fc.mapping(policy, policy_path)
        errors += policy_errors
        if policy.get("type") not in _POLICY_TYPES:
            errors.append(not_supported(f"{policy_path}.type", policy.get("type") or "", _POLICY_TYPES))
        for field in ("value", "periodSeconds"):
            number = policy.get(field) or 0
            type_errors = fc.int_range(number, f"{policy_path}.{field}")
            errors += type_errors
            if not type_errors and number <= 0:
                errors.append(invalid(f"{policy_path}.{field}", number, "must be greater than zero"))
        period = policy.get("periodSeconds")
        if fc.is_int(period) and period > MAX_PERIOD_SECONDS:
            errors.append(invalid(f"{policy_path}.periodSeconds", period,
                                  f"must be less than or equal to {MAX_PERIOD_SECONDS}"))
    return errors


def _spec_errors(spec: Mapping, min_bound: int) -> list[FieldError]:
    """validateHorizontalPodAutoscalerSpec."""
    minimum, maximum = spec.get("minReplicas"), spec.get("maxReplicas") or 0
    errors = fc.int_range(minimum, "spec.minReplicas") + fc.int_range(maximum, "spec.maxReplicas")
    if errors:
        return errors
    if minimum is not None and minimum < min_bound:
        errors.append(invalid("spec.minReplicas", minimum, f"must be greater than or equal to {min_bound}"))
    if maximum < 1:
        errors.append(invalid("spec.maxReplicas", maximum, "must be greater than 0"))
    if minimum is not None and maximum < minimum:
        errors.append(invalid("spec.maxReplicas", maximum, "must be greater than or equal to `minReplicas`"))
    errors += _reference_errors(spec.get("scaleTargetRef"), "spec.scaleTargetRef")
    errors += _metrics_errors(spec.get("metrics"), minimum)
    behavior_errors, behavior = fc.mapping(spec.get("behavior"), "spec.behavior")
    errors += behavior_errors
    errors += _scaling_rules_errors(behavior.get("scaleUp"), "spec.behavior.scaleUp")
    errors += _scaling_rules_errors(behavior.get("scaleDown"), "spec.behavior.scaleDown")
    return errors


def hpa_errors(hpa: Mapping, old: Mapping | None) -> list[FieldError]:
    """ValidateHorizontalPodAutoscaler(Update): minReplicas may stay 0 once an object has it."""
    errors, spec = fc.mapping(hpa.get("spec"), "spec")
    old_min = ((old or {}).get("spec") or {}).get("minReplicas") if old is not None else None
    return errors + _spec_errors(spec, 0 if old_min == 0 else 1)


def hpa_status_errors(hpa: Mapping) -> list[FieldError]:
    """ValidateHorizontalPodAutoscalerStatusUpdate: replica counts are not negative."""
    errors, status = fc.mapping(hpa.get("status"), "status")
    for field in ("currentReplicas", "desiredReplicas"):
        value = status.get(field)
        errors += fc.int_range(value, f"status.{field}")
        if fc.is_int(value) and value < 0:
            errors.append(invalid(f"status.{field}", value, "must be greater than or equal to 0"))
    return errors
