"""Validation of DaemonSets.

Worded as upstream's `ValidateDaemonSet` / `ValidateDaemonSetUpdate` and
`ValidateDaemonSetStatusUpdate` (pkg/apis/apps/validation).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import fieldcheck as fc
from .apierrors import FieldError, invalid, not_supported, required
from .validate_workloads import _int_or_percent, _no_active_deadline, _selector_immutable, _template_errors

_STRATEGIES = ("RollingUpdate", "OnDelete")
_STATUS_COUNTS = ("currentNumberScheduled", "numberMisscheduled", "desiredNumberScheduled", "numberReady",
                  "observedGeneration", "updatedNumberScheduled", "numberAvailable", "numberUnavailable",
                  "collisionCount")


def _percent_value(value: Any) -> int:
    """getIntOrPercentValue: the number of an int or of a valid "N%"; anything else is 0."""
    if fc.is_int(value):
        return value
    if isinstance(value, str) and value.endswith("%") and value[:-1].isdigit():
        return int(value[:-1])
    return 0


def _over_100_percent(value: Any, path: str) -> list[FieldError]:
    if isinstance(value, str) and value.endswith("%") and value[:-1].isdigit() and int(value[:-1]) > 100:
        return [invalid(path, value, "must not be greater than 100%")]
    return []


def _rolling_update_errors(rolling: Mapping, path: str) -> list[FieldError]:
    """ValidateRollingUpdateDaemonSet: ints or percentages up to 100%, exactly one of them non-zero."""
    unavailable, surge = rolling.get("maxUnavailable"), rolling.get("maxSurge")
    errors = _int_or_percent(unavailable, f"{path}.maxUnavailable") + _int_or_percent(surge, f"{path}.maxSurge")
    errors += _over_100_percent(unavailable, f"{path}.maxUnavailable") + _over_100_percent(surge, f"{path}.maxSurge")
    has_unavailable, has_surge = _percent_value(unavailable) != 0, _percent_value(surge) != 0
    if has_unavailable and has_surge:
        errors.append(invalid(f"{path}.maxSurge", surge, "may not be set when maxUnavailable is non-zero"))
    elif not has_unavailable and not has_surge:
        errors.append(required(f"{path}.maxUnavailable", "cannot be 0 when maxSurge is 0"))
    return errors


def _update_strategy_errors(strategy: Any) -> list[FieldError]:
    errors, strategy = fc.mapping(strategy, "spec.updateStrategy")
    kind = strategy.get("type")
    if kind == "OnDelete":
        return errors
    if kind != "RollingUpdate":
        return errors + [not_supported("spec.updateStrategy", dict(strategy), _STRATEGIES)]
    if strategy.get("rollingUpdate") is None:
        return errors + [required("spec.updateStrategy.rollingUpdate")]
    rolling_errors, rolling = fc.mapping(strategy.get("rollingUpdate"), "spec.updateStrategy.rollingUpdate")
    return errors + rolling_errors + _rolling_update_errors(rolling, "spec.updateStrategy.rollingUpdate")


def _selector_and_template_errors(spec: Mapping) -> list[FieldError]:
    """The selector must select the template's labels; without one it selects nothing, so upstream
    words a missing selector as the template's labels not matching it."""
    errors = _template_errors(spec, "daemonset")
    if spec.get("selector") is not None:
        return errors
    template = spec.get("template") if isinstance(spec.get("template"), Mapping) else {}
    metadata = template.get("metadata") if isinstance(template.get("metadata"), Mapping) else {}
    labels = metadata.get("labels") or {}
    return [e for e in errors if e.field != "spec.selector"] + [
        invalid("spec.template.metadata.labels", labels, "`selector` does not match template `labels`")]


def daemonset_errors(ds: Mapping, old: Mapping | None) -> list[FieldError]:
    """ValidateDaemonSet, and on an update ValidateDaemonSetUpdate (the selector is immutable)."""
    if ds.get("spec") is None:
        return [required("spec")]
    errors, spec = fc.mapping(ds.get("spec"), "spec")
    errors += _selector_and_template_errors(spec) + _no_active_deadline(spec, "DaemonSet")
    errors += fc.int_range(spec.get("minReadySeconds"), "spec.minReadySeconds", 0)
    errors += _update_strategy_errors(spec.get("updateStrategy"))
    errors += fc.int_range(spec.get("revisionHistoryLimit"), "spec.revisionHistoryLimit", 0)
    return errors + _selector_immutable(spec, old)


def daemonset_status_errors(ds: Mapping) -> list[FieldError]:
    """validateDaemonSetStatus: every count non-negative."""
    errors, status = fc.mapping(ds.get("status"), "status")
    for field in _STATUS_COUNTS:
        errors += fc.int_range(status.get(field), f"status.{field}", 0)
    return errors
