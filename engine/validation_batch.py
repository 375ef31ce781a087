"""Validation of Jobs, CronJobs, PodDisruptionBudgets, Ingresses and ResourceQuotas.

The main checks of upstream's `ValidateJob`, `ValidateCronJob`,
`ValidatePodDisruptionBudget`, `ValidateIngress` and `ValidateResourceQuota`,
with their messages (`spec.template.spec.restartPolicy: Unsupported value:
"Always": supported values: "OnFailure", "Never"`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from . import cron
from . import fieldcheck as fc
from . import selectors
from .apierrors import FieldError, GoLiteral, duplicate, invalid, not_supported, preformatted, required, too_many
from .objects import get_path
from .runtime import control_errors
from .validate_workloads import pod_spec_errors

_RESTART = ("OnFailure", "Never")
_CONCURRENCY = ("Allow", "Forbid", "Replace")
_PATH_TYPES = ("Exact", "ImplementationSpecific", "Prefix")
_SCOPES = ("BestEffort", "CrossNamespacePodAffinity", "NotBestEffort", "NotTerminating", "PriorityClass",
           "Terminating")
_CRONJOB_NAME_MAX = 52  # room for the 11-character suffix of its Jobs' names
_INDEXED_PARALLELISM_MAX = 100_000  # caps the length of status.completedIndexes
_MAX_FAILED_INDEXES = 100_000  # caps the length of status.failedIndexes
_COMPLETIONS_SOFT_LIMIT = 100_000  # above it, backoffLimitPerIndex needs maxFailedIndexes, both caps lower
_HIGH_COMPLETIONS_CAP = 10_000  # parallelism and maxFailedIndexes of such a Job
_SUCCESS_RULES_MAX = 20
_SUCCEEDED_INDEXES_MAX = 64 * 1024  # bytes of a success rule's succeededIndexes
_FAILURE_ACTIONS = ("Count", "FailIndex", "FailJob", "Ignore")
_EXIT_CODE_OPERATORS = ("In", "NotIn")
_CONDITION_STATUSES = ("False", "True", "Unknown")
_REPLACEMENT = ("Failed", "TerminatingOrFailed")
_FAILURE_RULES_MAX = 20  # also the most onPodConditions patterns of a rule
_EXIT_CODES_MAX = 255

# ---------------------------------------------------------------------- Job


def job_spec_errors(spec: Any, path: str, generated: bool = True) -> list[FieldError]:
    """ValidateJobSpec: counts, the selector (when not in a CronJob's template) and the pod template."""
    errors, spec = fc.mapping(spec, path)
    for field in ("parallelism", "completions", "backoffLimit", "ttlSecondsAfterFinished"):
        errors += fc.int_range(spec.get(field), f"{path}.{field}", 0)
    deadline = spec.get("activeDeadlineSeconds")
    errors += fc.int_range(deadline, f"{path}.activeDeadlineSeconds", 0)
    if fc.is_int(deadline) and deadline <= 0:
        errors.append(invalid(f"{path}.activeDeadlineSeconds", deadline, "must be greater than 0"))
    errors += _per_index_errors(spec, path)
    errors += fc.one_of(spec.get("completionMode"), f"{path}.completionMode", ("Indexed", "NonIndexed"))
    if spec.get("completionMode") == "Indexed":
        if spec.get("completions") is None:
            errors.append(required(f"{path}.completions", "when completion mode is Indexed"))
        parallelism = spec.get("parallelism")
        if fc.is_int(parallelism) and parallelism > _INDEXED_PARALLELISM_MAX:
            errors.append(invalid(f"{path}.parallelism", parallelism, f"must be less than or equal to "
                                  f"{_INDEXED_PARALLELISM_MAX} when completion mode is Indexed"))
        errors += _failed_indexes_cap_errors(spec, path)
    elif spec.get("completionMode") in (None, "NonIndexed"):
        for field in ("backoffLimitPerIndex", "maxFailedIndexes"):
            if spec.get(field) is not None:
                errors.append(invalid(f"{path}.{field}", spec[field], "requires indexed completion mode"))
    template = spec.get("template")
    if template is None:
        return errors + [required(f"{path}.template")]
    template_errors, template = fc.mapping(template, f"{path}.template")
    errors += template_errors
    labels = get_path(template, "metadata", "labels") or {}
    errors += fc.label_map(labels, f"{path}.template.metadata.labels")
    errors += control_errors(get_path(template, "metadata", "annotations"), f"{path}.template.metadata.annotations")
    selector = spec.get("selector")
    if generated:
        if selector is None:
            errors.append(required(f"{path}.selector"))
        else:
            selector_errors = fc.label_selector(selector, f"{path}.selector")
            errors += selector_errors
            if not selector_errors and not selectors.from_label_selector(selector).matches(labels):
                errors.append(invalid(f"{path}.template.metadata.labels", labels,
                                      "`selector` does not match template `labels`"))
    errors += pod_spec_errors(template.get("spec"), f"{path}.template.spec")
    restart = get_path(template, "spec", "restartPolicy")
    failure_policy = spec.get("podFailurePolicy")
    if restart not in _RESTART:
        errors.append(not_supported(f"{path}.template.spec.restartPolicy", restart, _RESTART))
    elif failure_policy is not None and restart != "Never":
        errors.append(invalid(f"{path}.template.spec.restartPolicy", restart,
                              'only "Never" is supported when podFailurePolicy is specified'))
    if failure_policy is not None:
        errors += _pod_failure_policy_errors(spec, f"{path}.podFailurePolicy")
    if spec.get("successPolicy") is not None:
        errors += _success_policy_errors(spec, f"{path}.successPolicy")
    replacement = spec.get("podReplacementPolicy")
    if replacement is not None:
        errors += fc.one_of(replacement, f"{path}.podReplacementPolicy",
                            ("Failed",) if failure_policy is not None else _REPLACEMENT)
    return errors


def _per_index_errors(spec: Mapping, path: str) -> list[FieldError]:
    """backoffLimitPerIndex and maxFailedIndexes are not negative; maxFailedIndexes needs backoffLimitPerIndex."""
    errors = fc.int_range(spec.get("backoffLimitPerIndex"), f"{path}.backoffLimitPerIndex", 0)
    if spec.get("maxFailedIndexes") is not None:
        errors += fc.int_range(spec["maxFailedIndexes"], f"{path}.maxFailedIndexes", 0)
        if spec.get("backoffLimitPerIndex") is None:
            errors.append(required(f"{path}.backoffLimitPerIndex", "when maxFailedIndexes is specified"))
    return errors


def _failed_indexes_cap_errors(spec: Mapping, path: str) -> list[FieldError]:
    """An Indexed Job's maxFailedIndexes is at most completions and 100000; past 100000 completions,
    backoffLimitPerIndex wants maxFailedIndexes, and it and parallelism at most 10000."""
    completions, parallelism, most = spec.get("completions"), spec.get("parallelism"), spec.get("maxFailedIndexes")
    errors = []
    if fc.is_int(completions) and fc.is_int(most) and most > completions:
        errors.append(invalid(f"{path}.maxFailedIndexes", most, "must be less than or equal to completions"))
    if fc.is_int(most) and most > _MAX_FAILED_INDEXES:
        errors.append(invalid(f"{path}.maxFailedIndexes", most, f"must be less than or equal to {_MAX_FAILED_INDEXES}"))
    if not (fc.is_int(completions) and completions > _COMPLETIONS_SOFT_LIMIT
            and spec.get("backoffLimitPerIndex") is not None):
        return errors
    high = (f"must be less than or equal to {_HIGH_COMPLETIONS_CAP} when completions are above "
            f"{_COMPLETIONS_SOFT_LIMIT} and used with backoff limit per index")
    if most is None:
        errors.append(required(f"{path}.maxFailedIndexes",
                               f"must be specified when completions is above {_COMPLETIONS_SOFT_LIMIT}"))
    if fc.is_int(parallelism) and parallelism > _HIGH_COMPLETIONS_CAP:
        errors.append(invalid(f"{path}.parallelism", parallelism, high))
    if fc.is_int(most) and most > _HIGH_COMPLETIONS_CAP:
        errors.append(invalid(f"{path}.maxFailedIndexes", most, high))
    return errors


def _success_policy_errors(spec: Mapping, path: str) -> list[FieldError]:
    """validateSuccessPolicy: an Indexed Job's, 1 to 20 rules."""
    if spec.get("completionMode") != "Indexed":
        return [invalid(path, spec.get("successPolicy"), "requires indexed completion mode")]
    errors, policy = fc.mapping(spec.get("successPolicy"), path)
    found, rules = fc.items(policy.get("rules"), f"{path}.rules")
    errors += found
    if not rules:
        errors.append(required(f"{path}.rules",
                               "at least one rules must be specified when the successPolicy is specified"))
    if len(rules) > _SUCCESS_RULES_MAX:
        errors.append(too_many(f"{path}.rules", len(rules), _SUCCESS_RULES_MAX))
    for rule_path, rule in rules:
        errors += _success_rule_errors(rule, rule_path, spec.get("completions"))
    return errors


def _success_rule_errors(rule: Any, path: str, completions: Any) -> list[FieldError]:
    """validateSuccessPolicyRule: succeededIndexes, succeededCount or both; the indexes in upstream's
    interval format below completions; the count at most completions and the indexes named."""
    errors, rule = fc.mapping(rule, path)
    indexes, count = rule.get("succeededIndexes"), rule.get("succeededCount")
    if indexes is None and count is None:
        errors.append(required(path, "at least one of succeededCount or succeededIndexes must be specified"))
    total = 0
    if indexes is not None:
        errors += fc.wrong_type(indexes, f"{path}.succeededIndexes", "string")
        text = indexes if isinstance(indexes, str) else ""
        if len(text.encode()) > _SUCCEEDED_INDEXES_MAX:
            errors.append(FieldError("FieldValueTooLong", f"{path}.succeededIndexes", None,
                                     f"may not be more than {_SUCCEEDED_INDEXES_MAX} bytes"))
        if fc.is_int(completions):
            total, why = _indexes_total(text, completions)
            if why:
                errors.append(invalid(f"{path}.succeededIndexes", indexes, f"error parsing succeededIndexes: {why}"))
    if count is not None:
        errors += fc.int_range(count, f"{path}.succeededCount", 0)
        if fc.is_int(count) and fc.is_int(completions) and count > completions:
            errors.append(invalid(f"{path}.succeededCount", count, f"must be less than or equal to {completions} "
                                  "(the number of specified completions)"))
        if fc.is_int(count) and indexes is not None and count > total:
            errors.append(invalid(f"{path}.succeededCount", count, f"must be less than or equal to {total} "
                                  "(the number of indexes in the specified succeededIndexes field)"))
    return errors


_GO_INT = re.compile(r"[+-]?[0-9]+")  # what Go's strconv.Atoi reads


def _go_quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _index_interval(part: str, completions: int) -> tuple[int, int, str]:
    """parseIndexInterval: "a" or "a-b" with a < b, both below completions; (first, last, why not)."""
    bounds = part.split("-")
    if len(bounds) > 2:
        return 0, 0, (f"the fragment {_go_quote(part)} violates the requirement that an index interval can have "
                      "at most two parts separated by '-'")
    numbers = []
    for bound in bounds:
        if not _GO_INT.fullmatch(bound):
            return 0, 0, f"cannot convert string to integer for index: {_go_quote(bound)}"
        if int(bound) >= completions:
            return 0, 0, f"too large index: {_go_quote(bound)}"
        numbers.append(int(bound))
    first, last = numbers[0], numbers[-1]
    if len(numbers) == 2 and first >= last:
        return 0, 0, f"non-increasing order, previous: {first}, current: {last}"
    return first, last, ""


def _indexes_total(text: str, completions: int) -> tuple[int, str]:
    """validateIndexesFormat: how many indexes TEXT (upstream's completedIndexes format) names, in
    increasing order below COMPLETIONS, or why it does not parse."""
    if not text:
        return 0, ""
    total, previous = 0, None
    for part in text.split(","):
        first, last, why = _index_interval(part, completions)
        if why:
            return 0, why
        if previous is not None and previous >= first:
            return 0, f"non-increasing order, previous: {previous}, current: {first}"
        total, previous = total + last - first + 1, last
    return total, ""


def _valid_values(values) -> str:
    """Go's %q of a []string: ["a" "b"]."""
    return "valid values: [" + " ".join(f'"{v}"' for v in values) + "]"


def _pod_failure_policy_errors(spec: Mapping, path: str) -> list[FieldError]:
    """validatePodFailurePolicy: at most 20 rules, each with an action and exactly one of
    onExitCodes and onPodConditions."""
    errors, policy = fc.mapping(spec.get("podFailurePolicy"), path)
    rules = policy.get("rules") or []
    if len(rules) > _FAILURE_RULES_MAX:
        errors.append(too_many(f"{path}.rules", len(rules), _FAILURE_RULES_MAX))
    pod = get_path(spec, "template", "spec") or {}
    names = {c.get("name") for c in [*(pod.get("containers") or ()), *(pod.get("initContainers") or ())]}
    for i, rule in enumerate(rules):
        errors += _failure_rule_errors(spec, rule, f"{path}.rules[{i}]", names)
    return errors


def _failure_rule_errors(spec: Mapping, rule: Mapping, path: str, names: set) -> list[FieldError]:
    action, exit_codes, conditions = rule.get("action"), rule.get("onExitCodes"), rule.get("onPodConditions")
    errors = []
    if not action:
        errors.append(required(f"{path}.action", _valid_values(_FAILURE_ACTIONS)))
    elif action == "FailIndex":
        if spec.get("backoffLimitPerIndex") is None:
            errors.append(invalid(f"{path}.action", action, "requires the backoffLimitPerIndex to be set"))
    elif action not in _FAILURE_ACTIONS:
        errors.append(not_supported(f"{path}.action", action, _FAILURE_ACTIONS))
    if exit_codes is not None:
        errors += _exit_codes_errors(exit_codes, f"{path}.onExitCodes", names)
    if conditions:
        errors += _pod_conditions_errors(conditions, f"{path}.onPodConditions")
    if exit_codes is not None and conditions:
        errors.append(preformatted(f"{path}: Invalid value: specifying both OnExitCodes and OnPodConditions "
                                   "is not supported"))
    if exit_codes is None and not conditions:
        errors.append(preformatted(f"{path}: Invalid value: specifying one of OnExitCodes and OnPodConditions "
                                   "is required"))
    return errors


def _exit_codes_errors(requirement: Mapping, path: str, names: set) -> list[FieldError]:
    """Operator In or NotIn, a container of the template, 1 to 255 values, sorted, unique, no 0 with In."""
    operator, name, values = requirement.get("operator"), requirement.get("containerName"), requirement.get("values")
    errors = []
    if not operator:
        errors.append(required(f"{path}.operator", _valid_values(_EXIT_CODE_OPERATORS)))
    elif operator not in _EXIT_CODE_OPERATORS:
        errors.append(not_supported(f"{path}.operator", operator, _EXIT_CODE_OPERATORS))
    if name is not None and name not in names:
        errors.append(invalid(f"{path}.containerName", name,
                              "must be one of the container or initContainer names in the pod template"))
    values = list(values or [])
    shown = GoLiteral("[]int32{" + ", ".join(str(v) for v in values) + "}" if values else "[]int32(nil)")
    if not values:
        errors.append(invalid(f"{path}.values", shown, "at least one value is required"))
    elif len(values) > _EXIT_CODES_MAX:
        errors.append(too_many(f"{path}.values", len(values), _EXIT_CODES_MAX))
    for j, value in enumerate(values):
        if operator == "In" and value == 0:
            errors.append(invalid(f"{path}.values[{j}]", value, "must not be 0 for the In operator"))
        if value in values[:j]:
            errors.append(duplicate(f"{path}.values[{j}]", value))
    if any(a > b for a, b in zip(values, values[1:])):
        errors.append(invalid(f"{path}.values", shown, "must be ordered"))
    return errors


def _pod_conditions_errors(patterns: list, path: str) -> list[FieldError]:
    """At most 20 patterns, each a qualified-name type and a status True, False or Unknown."""
    errors = []
    if len(patterns) > _FAILURE_RULES_MAX:
        errors.append(too_many(path, len(patterns), _FAILURE_RULES_MAX))
    for j, pattern in enumerate(patterns):
        kind, status = str(pattern.get("type") or ""), pattern.get("status")
        errors += [invalid(f"{path}[{j}].type", kind, m) for m in fc.qualified_name_errors(kind)]
        if not status:
            errors.append(required(f"{path}[{j}].status", _valid_values(_CONDITION_STATUSES)))
        elif status not in _CONDITION_STATUSES:
            errors.append(not_supported(f"{path}[{j}].status", status, _CONDITION_STATUSES))
    return errors


def _indexed_hostname_errors(job: Mapping) -> list[FieldError]:
    """An Indexed Job's pods are named for their index: the last one's hostname must be a DNS label."""
    spec, name = job.get("spec") or {}, get_path(job, "metadata", "name") or ""
    completions = spec.get("completions")
    if spec.get("completionMode") != "Indexed" or not fc.is_int(completions) or completions <= 0:
        return []
    hostname = f"{name}-{completions - 1}"
    if fc.label_errors(hostname):
        return [invalid("metadata.name", name, f"will not able to create pod with invalid DNS label: {hostname}")]
    return []


def _completions_update_errors(spec: Mapping, old_spec: Mapping) -> list[FieldError]:
    """validateCompletions: immutable, except that an Indexed Job scales with completions == parallelism."""
    completions = spec.get("completions")
    if completions == old_spec.get("completions"):
        return []
    if spec.get("completionMode") != "Indexed":
        return [invalid("spec.completions", completions, "field is immutable")]
    if completions is not None and completions != spec.get("parallelism"):
        return [invalid("spec.completions", completions, "can only be modified in tandem with spec.parallelism")]
    return []


def job_errors(job: Mapping, old: Mapping | None) -> list[FieldError]:
    if job.get("spec") is None:
        return [required("spec")]
    errors = job_spec_errors(job.get("spec"), "spec") + _indexed_hostname_errors(job)
    if old is not None:
        spec, old_spec = job.get("spec") or {}, old.get("spec") or {}
        for field in ("selector", "completionMode", "podFailurePolicy", "backoffLimitPerIndex", "successPolicy",
                      "manualSelector"):
            if spec.get(field) != old_spec.get(field):
                errors.append(invalid(f"spec.{field}", spec.get(field), "field is immutable"))
        errors += _completions_update_errors(spec, old_spec)
        if not old_spec.get("suspend") and spec.get("template") != old_spec.get("template"):
            errors.append(invalid("spec.template", spec.get("template"), "field is immutable"))
    return errors


# ------------------------------------------------------------------ CronJob


def schedule_errors(schedule: Any, zone: Any) -> list[FieldError]:
    if not schedule:
        return [required("spec.schedule")]
    if not isinstance(schedule, str):
        return fc.wrong_type(schedule, "spec.schedule", "string")
    errors = []
    if "TZ" in schedule:
        errors.append(invalid("spec.schedule", schedule,
                              "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"))
    else:
        try:
            cron.parse(schedule)
        except cron.CronError as exc:
            errors.append(invalid("spec.schedule", schedule, str(exc)))
    if zone is not None and not _known_zone(zone):
        errors.append(invalid("spec.timeZone", zone, f"unknown time zone {zone}"))
    return errors


def _known_zone(zone: Any) -> bool:
    if not isinstance(zone, str) or not zone or zone.strip() != zone:
        return False
    try:
        cron.zone_of(zone)
    except cron.CronError:
        return False
    return True


def cronjob_errors(cj: Mapping, old: Mapping | None) -> list[FieldError]:
    if cj.get("spec") is None:
        return [required("spec")]
    errors, spec = fc.mapping(cj.get("spec"), "spec")
    name = get_path(cj, "metadata", "name") or ""
    if len(name) > _CRONJOB_NAME_MAX:
        errors.append(invalid("metadata.name", name, f"must be no more than {_CRONJOB_NAME_MAX} characters"))
    errors += schedule_errors(spec.get("schedule"), spec.get("timeZone"))
    errors += fc.one_of(spec.get("concurrencyPolicy"), "spec.concurrencyPolicy", _CONCURRENCY)
    for field in ("startingDeadlineSeconds", "successfulJobsHistoryLimit", "failedJobsHistoryLimit"):
        errors += fc.int_range(spec.get(field), f"spec.{field}", 0)
    template = spec.get("jobTemplate")
    if template is None:
        return errors + [required("spec.jobTemplate")]
    return errors + job_spec_errors(get_path(template, "spec"), "spec.jobTemplate.spec", generated=False)


# ------------------------------------------------------ PodDisruptionBudget


def _int_or_percent(value: Any, path: str) -> list[FieldError]:
    if value is None or fc.is_int(value) and value >= 0:
        return []
    if isinstance(value, str) and value.endswith("%") and value[:-1].isdigit():
        return [] if int(value[:-1]) <= 100 else [invalid(path, value, "must not be greater than 100%")]
    return [invalid(path, value, "a valid percent string must be a numeric string followed by an ending '%'"
                    if isinstance(value, str) else "must be greater than or equal to 0")]


def pdb_errors(pdb: Mapping, old: Mapping | None) -> list[FieldError]:
    errors, spec = fc.mapping(pdb.get("spec"), "spec")
    if spec.get("minAvailable") is not None and spec.get("maxUnavailable") is not None:
        errors.append(invalid("spec", dict(spec), "minAvailable and maxUnavailable cannot be both set"))
    errors += _int_or_percent(spec.get("minAvailable"), "spec.minAvailable")
    errors += _int_or_percent(spec.get("maxUnavailable"), "spec.maxUnavailable")
    if spec.get("selector") is not None:
        errors += fc.label_selector(spec["selector"], "spec.selector")
    errors += fc.one_of(spec.get("unhealthyPodEvictionPolicy"), "spec.unhealthyPodEvictionPolicy",
                        ("AlwaysAllow", "IfHealthyBudget"))
    return errors


# ------------------------------------------------------------------ Ingress


def _backend_errors(backend: Any, path: str) -> list[FieldError]:
    errors, backend = fc.mapping(backend, path)
    service, resource = backend.get("service"), backend.get("resource")
    if service and resource:
        return errors + [invalid(path, "", "cannot set both resource and service backends")]
    if not service and not resource:
        return errors + [invalid(path, "", "resource or service backend is required")]
    if service:
        if not service.get("name"):
            errors.append(required(f"{path}.service.name"))
        port = service.get("port") or {}
        if port.get("name") and port.get("number") is not None:
            errors.append(invalid(f"{path}.service.port", dict(port), "cannot set both port name & port number"))
        elif port.get("name") is None and port.get("number") is None:
            errors.append(required(f"{path}.service.port", "port name or number is required"))
        elif port.get("number") is not None:
            errors += fc.port_number(port["number"], f"{path}.service.port.number")
    return errors


def ingress_errors(ing: Mapping, old: Mapping | None) -> list[FieldError]:
    errors, spec = fc.mapping(ing.get("spec"), "spec")
    rules_errors, rules = fc.items(spec.get("rules"), "spec.rules")
    errors += rules_errors
    if spec.get("defaultBackend") is not None:
        errors += _backend_errors(spec["defaultBackend"], "spec.defaultBackend")
    elif not rules:
        errors.append(invalid("spec.rules", [], "either `defaultBackend` or `rules` must be specified"))
    for rule_path, rule in rules:
        http = rule.get("http") if isinstance(rule, Mapping) else None
        if http is None:
            continue
        path_errors, paths = fc.items(http.get("paths"), f"{rule_path}.http.paths")
        errors += path_errors
        if not paths:
            errors.append(required(f"{rule_path}.http.paths"))
        for path, item in paths:
            kind = item.get("pathType") if isinstance(item, Mapping) else None
            if kind is None:
                errors.append(required(f"{path}.pathType", "pathType must be specified"))
            else:
                errors += fc.one_of(kind, f"{path}.pathType", _PATH_TYPES)
            value = item.get("path") if isinstance(item, Mapping) else None
            if kind in ("Exact", "Prefix") and not str(value or "").startswith("/"):
                errors.append(invalid(f"{path}.path", value, "must be an absolute path"))
            errors += _backend_errors(item.get("backend") if isinstance(item, Mapping) else None, f"{path}.backend")
    return errors


# ----------------------------------------------------------- quota, limits


def quota_errors(quota: Mapping, old: Mapping | None) -> list[FieldError]:
    errors, spec = fc.mapping(quota.get("spec"), "spec")
    errors += fc.quantity_map(spec.get("hard"), "spec.hard")
    list_errors, scopes = fc.items(spec.get("scopes"), "spec.scopes")
    for path, scope in scopes:
        list_errors += fc.one_of(scope, path, _SCOPES)
    return errors + list_errors


def quota_status_errors(quota: Mapping) -> list[FieldError]:
    errors, status = fc.mapping(quota.get("status"), "status")
    return errors + fc.quantity_map(status.get("hard"), "status.hard") + fc.quantity_map(status.get("used"),
                                                                                         "status.used")


def limitrange_errors(lr: Mapping, old: Mapping | None) -> list[FieldError]:
    errors, spec = fc.mapping(lr.get("spec"), "spec")
    list_errors, limits = fc.items(spec.get("limits"), "spec.limits")
    errors += list_errors
    for path, item in limits:
        kind = item.get("type") if isinstance(item, Mapping) else None
        errors += [required(f"{path}.type")] if not kind else fc.one_of(
            kind, f"{path}.type", ("Container", "PersistentVolumeClaim", "Pod"))
        for field in ("max", "min", "default", "defaultRequest", "maxLimitRequestRatio"):
            errors += fc.quantity_map(item.get(field) if isinstance(item, Mapping) else None, f"{path}.{field}")
    return errors


# ----------------------------------------------------------- RBAC

RBAC_GROUP = "rbac.authorization.k8s.io"


def role_errors(role: Mapping, old: Mapping | None) -> list[FieldError]:
    """ValidateRole / ValidateClusterRole: each rule's verbs, and what it applies to (ValidatePolicyRule)."""
    namespaced = role.get("kind") == "Role"
    errors, rules = fc.items(role.get("rules"), "rules")
    for path, rule in rules:
        found, rule = fc.mapping(rule, path)
        errors += found
        fields = {}
        for field in ("verbs", "apiGroups", "resources", "resourceNames", "nonResourceURLs"):
            found, values = fc.items(rule.get(field), f"{path}.{field}")
            errors += found + [e for p, v in values for e in fc.wrong_type(v, p, "string")]
            fields[field] = [v for _p, v in values]
        if not fields["verbs"]:
            errors.append(required(f"{path}.verbs", "verbs must contain at least one value"))
        urls = fields["nonResourceURLs"]
        if urls:
            if namespaced:
                errors.append(invalid(f"{path}.nonResourceURLs", urls, "namespaced rules cannot apply to "
                                                                        "non-resource URLs"))
            if fields["apiGroups"] or fields["resources"] or fields["resourceNames"]:
                errors.append(invalid(f"{path}.nonResourceURLs", urls, "rules cannot apply to both regular "
                                                                        "resources and non-resource URLs"))
            continue
        if not fields["apiGroups"]:
            errors.append(required(f"{path}.apiGroups", "resource rules must supply at least one api group"))
        if not fields["resources"]:
            errors.append(required(f"{path}.resources", "resource rules must supply at least one resource"))
        if fields["resourceNames"] and len(fields["resources"]) > 1:
            errors.append(required(f"{path}.resourceNames", "resource names cannot apply to multiple resources"))
    return errors


def role_binding_errors(binding: Mapping, old: Mapping | None) -> list[FieldError]:
    """ValidateRoleBinding / ValidateClusterRoleBinding: the roleRef (of the RBAC group, a kind the
    binding may name, a name usable in a path; immutable) and each subject (validateRoleBindingSubject)."""
    namespaced = binding.get("kind") == "RoleBinding"
    kinds = ("Role", "ClusterRole") if namespaced else ("ClusterRole",)
    errors, ref = fc.mapping(binding.get("roleRef"), "roleRef")
    if ref.get("apiGroup") != RBAC_GROUP:
        errors.append(not_supported("roleRef.apiGroup", ref.get("apiGroup") or "", (RBAC_GROUP,)))
    errors += fc.one_of(ref.get("kind"), "roleRef.kind", kinds) if ref.get("kind") else [
        not_supported("roleRef.kind", "", kinds)]
    name = ref.get("name")
    if not name:
        errors.append(required("roleRef.name"))
    elif not isinstance(name, str):
        errors += fc.wrong_type(name, "roleRef.name", "string")
    else:
        errors += [invalid("roleRef.name", name, m) for m in fc.path_segment_errors(name)]
    found, subjects = fc.items(binding.get("subjects"), "subjects")
    for path, subject in subjects:
        more, subject = fc.mapping(subject, path)
        found += more + _subject_errors(subject, path, namespaced)
    if old is not None and old.get("roleRef") != binding.get("roleRef"):
        found.append(invalid("roleRef", binding.get("roleRef"), "cannot change roleRef"))
    return errors + found


def _subject_errors(subject: Mapping, path: str, namespaced: bool) -> list[FieldError]:
    """validateRoleBindingSubject: a name; a ServiceAccount's a DNS subdomain, of the core group (and
    of a namespace, in a ClusterRoleBinding); a User's or Group's of the RBAC group."""
    name, kind, group = subject.get("name"), subject.get("kind"), subject.get("apiGroup") or ""
    errors = [] if name else [required(f"{path}.name")]
    if kind == "ServiceAccount":
        if name and isinstance(name, str):
            errors += [invalid(f"{path}.name", name, m) for m in fc.subdomain_errors(name)]
        if group:
            errors.append(not_supported(f"{path}.apiGroup", group, ("",)))
        if not namespaced and not subject.get("namespace"):
            errors.append(required(f"{path}.namespace"))
    elif kind in ("User", "Group"):
        if not name:
            errors.append(invalid(f"{path}.name", name or "", f"{kind.lower()} name cannot be empty"))
        if group != RBAC_GROUP:
            errors.append(not_supported(f"{path}.apiGroup", group, (RBAC_GROUP,)))
    else:
        errors.append(not_supported(f"{path}.kind", kind or "", ("ServiceAccount", "User", "Group")))
    return errors
