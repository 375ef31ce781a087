"""autoscaling/v1 HorizontalPodAutoscalers: the stored autoscaling/v2 objects in the older shape.

Upstream keeps one HorizontalPodAutoscaler resource and serves it as both
versions; so does recon: objects are stored as autoscaling/v2, a v1 body is
converted on the way in (`to_v2`) and a stored object on the way out
(`to_v1`), as pkg/apis/autoscaling/v1's conversion does.  v1 has room for one
metric, `targetCPUUtilizationPercentage` (a cpu Resource metric with an
averageUtilization target) and its `currentCPUUtilizationPercentage`;
everything else travels in annotations, so that a v1 client writing back what
it read loses nothing:

- `autoscaling.alpha.kubernetes.io/metrics`: the other metrics, in v1's
  (v2beta1-like) shape;
- `autoscaling.alpha.kubernetes.io/current-metrics`: every current metric;
- `autoscaling.alpha.kubernetes.io/conditions`: the status conditions;
- `autoscaling.alpha.kubernetes.io/behavior`: spec.behavior, as Go writes the
  internal type (its field names capitalised: `ScaleUp`, `Policies`, …).

A v1 object without any metric reads the default 80 % cpu target in v2 (the
default the v1 controller used to apply).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .objects import thaw

GROUP = "autoscaling"
KIND = "HorizontalPodAutoscaler"
V1 = f"{GROUP}/v1"
V2 = f"{GROUP}/v2"
METRICS = "autoscaling.alpha.kubernetes.io/metrics"
CURRENT_METRICS = "autoscaling.alpha.kubernetes.io/current-metrics"
CONDITIONS = "autoscaling.alpha.kubernetes.io/conditions"
BEHAVIOR = "autoscaling.alpha.kubernetes.io/behavior"
DEFAULT_CPU_UTILIZATION = 80


class ConversionError(ValueError):
    """A v1 object whose annotations do not hold what they should."""


def is_v1(obj: Any) -> bool:
    return isinstance(obj, Mapping) and obj.get("apiVersion") == V1 and obj.get("kind") in (None, KIND)


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _put(out: dict, key: str, value: Any) -> None:
    """Set `key` unless `value` is None (Go's omitempty on a pointer)."""
    if value is not None:
        out[key] = value


def _is_cpu_utilization(metric: Any) -> bool:
    resource = metric.get("resource") if isinstance(metric, Mapping) else None
    return (metric.get("type") == "Resource" and isinstance(resource, Mapping) and resource.get("name") == "cpu"
            and (resource.get("target") or {}).get("averageUtilization") is not None)


# ------------------------------------------------------------- v2 → v1


def _ref_v1(ref: Any) -> dict:
    ref = ref if isinstance(ref, Mapping) else {}
    out = {"kind": ref.get("kind") or "", "name": ref.get("name") or ""}
    _put(out, "apiVersion", ref.get("apiVersion") or None)
    return out


def _ident(source: Mapping) -> tuple[str, Any]:
    metric = source.get("metric") if isinstance(source.get("metric"), Mapping) else {}
    return metric.get("name") or "", metric.get("selector")


def _metric_v1(metric: Mapping, current: bool) -> dict:
    """A v2 MetricSpec (or, with `current`, MetricStatus) in v1's shape."""
    out: dict[str, Any] = {"type": metric.get("type") or ""}
    value_key = "current" if current else "target"
    for field in ("object", "pods", "resource", "containerResource", "external"):
        source = metric.get(field)
        if not isinstance(source, Mapping):
            continue
        at = source.get(value_key) if isinstance(source.get(value_key), Mapping) else {}
        name, selector = _ident(source)
        if field == "object":
            item = {"target": _ref_v1(source.get("describedObject")), "metricName": name,
                    ("currentValue" if current else "targetValue"): at.get("value") or "0"}
            _put(item, "selector", selector)
            _put(item, "averageValue", at.get("averageValue"))
        elif field == "pods":
            item = {"metricName": name, ("currentAverageValue" if current else "targetAverageValue"):
                    at.get("averageValue") or "0"}
            _put(item, "selector", selector)
        elif field == "external":
            item = {"metricName": name}
            _put(item, "metricSelector", selector)
            if current:
                item["currentValue"] = at.get("value") or "0"
                _put(item, "currentAverageValue", at.get("averageValue"))
            else:
                _put(item, "targetValue", at.get("value"))
                _put(item, "targetAverageValue", at.get("averageValue"))
        else:  # resource, containerResource
            item = {"name": source.get("name") or ""}
            if current:
                _put(item, "currentAverageUtilization", at.get("averageUtilization"))
                item["currentAverageValue"] = at.get("averageValue") or "0"
            else:
                _put(item, "targetAverageUtilization", at.get("averageUtilization"))
                _put(item, "targetAverageValue", at.get("averageValue"))
            if field == "containerResource":
                item["container"] = source.get("container") or ""
        out[field] = item
    return out


def _rules_internal(rules: Any) -> Any:
    """HPAScalingRules as Go marshals the internal type (no json tags)."""
    if not isinstance(rules, Mapping):
        return None
    policies = rules.get("policies")
    return {"StabilizationWindowSeconds": rules.get("stabilizationWindowSeconds"),
            "SelectPolicy": rules.get("selectPolicy"),
            "Policies": None if policies is None else [
                {"Type": p.get("type") or "", "Value": p.get("value") or 0, "PeriodSeconds": p.get("periodSeconds") or 0}
                for p in policies if isinstance(p, Mapping)]}


def _condition_v1(condition: Mapping) -> dict:
    out = {"type": condition.get("type") or "", "status": condition.get("status") or "",
           "lastTransitionTime": condition.get("lastTransitionTime")}
    _put(out, "reason", condition.get("reason") or None)
    _put(out, "message", condition.get("message") or None)
    return out


def to_v1(obj: Mapping) -> dict:
    """A stored autoscaling/v2 HorizontalPodAutoscaler as autoscaling/v1 shows it."""
    doc = thaw(obj)
    spec = doc.get("spec") if isinstance(doc.get("spec"), dict) else {}
    status = doc.get("status") if isinstance(doc.get("status"), dict) else {}
    metrics = [m for m in spec.get("metrics") or () if isinstance(m, Mapping)]
    out_spec: dict[str, Any] = {"scaleTargetRef": _ref_v1(spec.get("scaleTargetRef"))}
    _put(out_spec, "minReplicas", spec.get("minReplicas"))
    out_spec["maxReplicas"] = spec.get("maxReplicas") or 0
    cpu = next((m for m in metrics if m.get("type") == "Resource"
                and (m.get("resource") or {}).get("name") == "cpu"), None)
    if cpu is not None:
        _put(out_spec, "targetCPUUtilizationPercentage", ((cpu["resource"].get("target") or {}).get("averageUtilization")))
    current = [m for m in status.get("currentMetrics") or () if isinstance(m, Mapping)]
    out_status: dict[str, Any] = {}
    _put(out_status, "observedGeneration", status.get("observedGeneration"))
    _put(out_status, "lastScaleTime", status.get("lastScaleTime"))
    out_status["currentReplicas"] = status.get("currentReplicas") or 0
    out_status["desiredReplicas"] = status.get("desiredReplicas") or 0
    for metric in current:
        resource = metric.get("resource")
        if metric.get("type") == "Resource" and isinstance(resource, Mapping) and resource.get("name") == "cpu":
            _put(out_status, "currentCPUUtilizationPercentage", (resource.get("current") or {}).get("averageUtilization"))
    meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
    annotations = dict(meta.get("annotations") or {})
    others = [_metric_v1(m, False) for m in metrics if not _is_cpu_utilization(m)]
    if others:
        annotations[METRICS] = _dumps(others)
    if current:
        annotations[CURRENT_METRICS] = _dumps([_metric_v1(m, True) for m in current])
    if isinstance(spec.get("behavior"), Mapping):
        behavior = spec["behavior"]
        annotations[BEHAVIOR] = _dumps({"ScaleUp": _rules_internal(behavior.get("scaleUp")),
                                        "ScaleDown": _rules_internal(behavior.get("scaleDown"))})
    conditions = [c for c in status.get("conditions") or () if isinstance(c, Mapping)]
    if conditions:
        annotations[CONDITIONS] = _dumps([_condition_v1(c) for c in conditions])
    if annotations:
        meta["annotations"] = annotations
    return {**doc, "apiVersion": V1, "kind": KIND, "metadata": meta, "spec": out_spec, "status": out_status}


# ------------------------------------------------------------- v1 → v2


def _loads(annotations: dict, key: str, kind: type) -> Any:
    text = annotations.pop(key, None)
    if text is None:
        return None
    try:
        value = json.loads(text)
    except (TypeError, ValueError) as exc:
        raise ConversionError(f"the annotation {key} is not valid JSON: {exc}") from None
    if not isinstance(value, kind):
        raise ConversionError(f"the annotation {key} must hold a JSON {'list' if kind is list else 'object'}")
    return value


def _ref_v2(ref: Any) -> dict:
    ref = ref if isinstance(ref, Mapping) else {}
    out = {"kind": ref.get("kind") or "", "name": ref.get("name") or ""}
    _put(out, "apiVersion", ref.get("apiVersion") or None)
    return out


def _metric_v2(metric: Any, current: bool) -> dict:
    """A v1 MetricSpec (or, with `current`, MetricStatus) from an annotation, in v2's shape."""
    metric = metric if isinstance(metric, Mapping) else {}
    out: dict[str, Any] = {"type": metric.get("type") or ""}
    for field in ("object", "pods", "resource", "containerResource", "external"):
        source = metric.get(field)
        if not isinstance(source, Mapping):
            continue
        if field == "object":
            at = {"value": source.get("currentValue" if current else "targetValue") or "0"}
            _put(at, "averageValue", source.get("averageValue"))
            if not current:
                at = {"type": "Value" if source.get("averageValue") is None else "AverageValue", **at}
            item = {"describedObject": _ref_v2(source.get("target")),
                    "metric": _identifier(source.get("metricName"), source.get("selector"))}
        elif field == "pods":
            at = {"averageValue": source.get("currentAverageValue" if current else "targetAverageValue") or "0"}
            if not current:
                at = {"type": "AverageValue", **at}
            item = {"metric": _identifier(source.get("metricName"), source.get("selector"))}
        elif field == "external":
            at = {}
            if current:
                at["value"] = source.get("currentValue") or "0"
                _put(at, "averageValue", source.get("currentAverageValue"))
            else:
                at["type"] = "AverageValue" if source.get("targetValue") is None else "Value"
                _put(at, "value", source.get("targetValue"))
                _put(at, "averageValue", source.get("targetAverageValue"))
            item = {"metric": _identifier(source.get("metricName"), source.get("metricSelector"))}
        else:
            item = {"name": source.get("name") or ""}
            if field == "containerResource":
                item["container"] = source.get("container") or ""
            if current:
                at = {"averageValue": source.get("currentAverageValue") or "0"}
                _put(at, "averageUtilization", source.get("currentAverageUtilization"))
            else:
                utilization = source.get("targetAverageUtilization")
                at = {"type": "AverageValue" if utilization is None else "Utilization"}
                _put(at, "averageValue", source.get("targetAverageValue"))
                _put(at, "averageUtilization", utilization)
        item["current" if current else "target"] = at
        out[field] = item
    return out


def _identifier(name: Any, selector: Any) -> dict:
    out = {"name": name or ""}
    _put(out, "selector", selector)
    return out


def _field(mapping: Mapping, name: str) -> Any:
    """A field of Go's encoding/json decoding: the exact name, else any case."""
    if name in mapping:
        return mapping[name]
    return next((v for k, v in mapping.items() if isinstance(k, str) and k.lower() == name.lower()), None)


def _rules_v2(rules: Any) -> Any:
    if not isinstance(rules, Mapping):
        return None
    out: dict[str, Any] = {}
    _put(out, "stabilizationWindowSeconds", _field(rules, "StabilizationWindowSeconds"))
    _put(out, "selectPolicy", _field(rules, "SelectPolicy"))
    policies = _field(rules, "Policies")
    if isinstance(policies, list):
        out["policies"] = [{"type": _field(p, "Type") or "", "value": _field(p, "Value") or 0,
                            "periodSeconds": _field(p, "PeriodSeconds") or 0}
                           for p in policies if isinstance(p, Mapping)]
    return out


def to_v2(obj: Mapping) -> dict:
    """An autoscaling/v1 HorizontalPodAutoscaler (a client's body) as the autoscaling/v2 object stored.
    Raises ConversionError when its annotations cannot be read."""
    doc = thaw(obj)
    spec = doc.get("spec") if isinstance(doc.get("spec"), dict) else None
    status = doc.get("status") if isinstance(doc.get("status"), dict) else None
    meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
    annotations = dict(meta.get("annotations") or {}) if isinstance(meta.get("annotations"), Mapping) else {}
    others = _loads(annotations, METRICS, list)
    current = _loads(annotations, CURRENT_METRICS, list)
    try:  # (an unreadable behavior is dropped, as upstream's conversion ignores it)
        behavior = _loads(annotations, BEHAVIOR, dict)
    except ConversionError:
        behavior = None
    conditions = _loads(annotations, CONDITIONS, list)
    if isinstance(meta.get("annotations"), Mapping):
        if annotations:
            meta["annotations"] = annotations
        else:
            del meta["annotations"]
    out: dict[str, Any] = {k: v for k, v in doc.items() if k not in ("spec", "status")}
    out["apiVersion"] = V2
    spec = spec or {}
    new_spec: dict[str, Any] = {"scaleTargetRef": _ref_v2(spec.get("scaleTargetRef"))}
    _put(new_spec, "minReplicas", spec.get("minReplicas"))
    new_spec["maxReplicas"] = spec.get("maxReplicas")
    metrics = [_metric_v2(m, False) for m in others or ()]
    if spec.get("targetCPUUtilizationPercentage") is not None:
        metrics.append(_cpu_metric(spec["targetCPUUtilizationPercentage"]))
    new_spec["metrics"] = metrics or [_cpu_metric(DEFAULT_CPU_UTILIZATION)]
    rules = {"scaleUp": _rules_v2(_field(behavior, "ScaleUp")),
             "scaleDown": _rules_v2(_field(behavior, "ScaleDown"))} if behavior else {}
    rules = {k: v for k, v in rules.items() if v is not None}
    if rules:
        new_spec["behavior"] = rules
    out["spec"] = {k: v for k, v in new_spec.items() if v is not None}
    if status is not None or current or conditions:
        status = status or {}
        new_status: dict[str, Any] = {}
        for field in ("observedGeneration", "lastScaleTime", "currentReplicas", "desiredReplicas"):
            _put(new_status, field, status.get(field))
        if current is not None:
            new_status["currentMetrics"] = [_metric_v2(m, True) for m in current]
        elif status.get("currentCPUUtilizationPercentage") is not None:
            new_status["currentMetrics"] = [{"type": "Resource", "resource": {
                "name": "cpu", "current": {"averageUtilization": status["currentCPUUtilizationPercentage"]}}}]
        if conditions:
            new_status["conditions"] = [dict(c) for c in conditions if isinstance(c, Mapping)]
        out["status"] = new_status
    return out


def _cpu_metric(utilization: Any) -> dict:
    return {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization",
                                                                        "averageUtilization": utilization}}}
