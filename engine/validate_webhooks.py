"""Validation of ValidatingWebhookConfigurations and MutatingWebhookConfigurations
(admissionregistration.k8s.io/v1).

Worded as upstream's pkg/apis/admissionregistration/validation: each
webhook's name is a fully qualified name (a DNS subdomain of at least three
segments), unique within the object; `clientConfig` names exactly one of a
`url` (https, a host, no user, fragment or query) or a `service` (name,
namespace, a port, a path of subdomain segments); `admissionReviewVersions`
DNS-1035 labels, none twice, one of them v1 or v1beta1; `sideEffects` None
or NoneOnDryRun; `failurePolicy`, `matchPolicy`, `reinvocationPolicy`,
`timeoutSeconds` (1-30), the selectors and each rule's operations, groups,
versions, resources and scope as upstream checks them; `matchConditions`
named uniquely with an expression (the CEL is not compiled).

An update is held to a rule only if the stored object keeps it (upstream's
validationOptions: an object stored before a rule existed may be updated).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from . import fieldcheck as fc
from .apierrors import FieldError, GoLiteral, duplicate, go_value, invalid, not_supported, required

GROUP = "admissionregistration.k8s.io"
REVIEW_VERSIONS = ("v1", "v1beta1")
_FAILURE_POLICIES = ("Fail", "Ignore")
_MATCH_POLICIES = ("Equivalent", "Exact")
_REINVOCATION_POLICIES = ("IfNeeded", "Never")
_SIDE_EFFECTS = ("None", "NoneOnDryRun", "Some", "Unknown")
_NO_SIDE_EFFECTS = ("None", "NoneOnDryRun")
_OPERATIONS = ("*", "CONNECT", "CREATE", "DELETE", "UPDATE")
_SCOPES = ("*", "Cluster", "Namespaced")
_URL_FORM = "; desired format: https://host[/path]"


def _list(value: Any) -> list:
    return list(value) if isinstance(value, Sequence) and not isinstance(value, str) else []


def _go_list(values: list, item_type: str = "string") -> GoLiteral:
    """A slice as Go's %#v prints it (`[]string{"a", "b"}`), as upstream's errors show one."""
    return GoLiteral(f"[]{item_type}{{" + ", ".join(go_value(v) for v in values) + "}")


def _hooks(config: Mapping | None) -> list[Mapping]:
    return [h for h in _list((config or {}).get("webhooks")) if isinstance(h, Mapping)]


def fully_qualified_name(name: Any, path: str) -> list[FieldError]:
    """utilvalidation.IsFullyQualifiedName."""
    if not name:
        return [required(path)]
    if not isinstance(name, str):
        return fc.wrong_type(name, path, "string")
    found = fc.subdomain_errors(name)
    if found:
        return [invalid(path, name, ",".join(found))]
    if len(name.split(".")) < 3:
        return [invalid(path, name, "should be a domain with at least three segments separated by dots")]
    return []


def _url_errors(url: Any, path: str) -> list[FieldError]:
    """webhook.ValidateWebhookURL, https forced."""
    if not isinstance(url, str):
        return fc.wrong_type(url, path, "string")
    try:
        parts = urlsplit(url)
        parts.port  # (a bad port is a parse error, as Go's url.Parse has it)
    except ValueError as exc:
        return [required(path, f"url must be a valid URL: {exc}{_URL_FORM}")]
    errors = []
    if parts.scheme != "https":
        errors.append(invalid(path, parts.scheme, "'https' is the only allowed URL scheme" + _URL_FORM))
    host = parts.netloc.rpartition("@")[2]
    if not host:
        errors.append(invalid(path, host, "host must be specified" + _URL_FORM))
    if "@" in parts.netloc:
        errors.append(invalid(path, parts.netloc.rpartition("@")[0], "user information is not permitted in the URL"))
    if parts.fragment:
        errors.append(invalid(path, parts.fragment, "fragments are not permitted in the URL"))
    if parts.query:
        errors.append(invalid(path, parts.query, "query parameters are not permitted in the URL"))
    return errors


def _service_errors(service: Mapping, path: str) -> list[FieldError]:
    """webhook.ValidateWebhookService."""
    errors = []
    if not service.get("name"):
        errors.append(required(f"{path}.name", "service name is required"))
    if not service.get("namespace"):
        errors.append(required(f"{path}.namespace", "service namespace is required"))
    port = service.get("port", 443)
    if not fc.is_int(port) or not 1 <= port <= 65535:
        errors.append(invalid(f"{path}.port", port, "port is not valid: must be between 1 and 65535, inclusive"))
    url_path = service.get("path")
    if not isinstance(url_path, str) or url_path in ("", "/"):
        return errors
    if url_path == "//":
        return errors + [invalid(f"{path}.path", url_path, "segment[0] may not be empty")]
    if not url_path.startswith("/"):
        errors.append(invalid(f"{path}.path", url_path, "must start with a '/'"))
    steps = url_path[1:]
    steps = steps[:-1] if steps.endswith("/") else steps
    for i, step in enumerate(steps.split("/")):
        if not step:
            errors.append(invalid(f"{path}.path", url_path, f"segment[{i}] may not be empty"))
            continue
        errors += [invalid(f"{path}.path", url_path, f"segment[{i}]: {m}") for m in fc.subdomain_errors(step)]
    return errors


def _client_config_errors(config: Any, path: str) -> list[FieldError]:
    config = config if isinstance(config, Mapping) else {}
    url, service = config.get("url"), config.get("service")
    if (url is None) == (service is None):
        return [required(path, "exactly one of url or service is required")]
    if url is not None:
        return _url_errors(url, f"{path}.url")
    return _service_errors(service if isinstance(service, Mapping) else {}, f"{path}.service")


def review_version_errors(versions: Any, path: str, require_known: bool) -> list[FieldError]:
    """validateAdmissionReviewVersions."""
    versions = _list(versions)
    if not versions:
        return [required(path, f"must specify one of {', '.join(REVIEW_VERSIONS)}")]
    errors, seen = [], set()
    for i, version in enumerate(versions):
        if version in seen:
            errors.append(invalid(f"{path}[{i}]", version, "duplicate version"))
            continue
        seen.add(version)
        errors += fc.named(version, f"{path}[{i}]", fc.dns1035_errors)
    if require_known and not seen & set(REVIEW_VERSIONS):
        errors.append(invalid(path, _go_list(versions), f"must include at least one of {', '.join(REVIEW_VERSIONS)}"))
    return errors


def _wildcard_with_others(values: list, path: str, what: str, item_type: str = "string") -> list[FieldError]:
    if len(values) > 1 and "*" in values:
        return [invalid(path, _go_list(values, item_type), f"if '*' is present, must not specify other {what}")]
    return []


def _resources_errors(resources: list, path: str) -> list[FieldError]:
    """validateResources (subresources allowed)."""
    if not resources:
        return [required(path)]
    errors = []
    wild_sub: set = set()
    wild_res: set = set()
    double = single = plain = False
    for i, item in enumerate(resources):
        if not item or not isinstance(item, str):
            errors.append(required(f"{path}[{i}]"))
            continue
        double, single = double or item == "*/*", single or item == "*"
        if "/" not in item:
            plain = item != "*"
            continue
        res, sub = item.split("/", 1)
        if res in wild_sub:
            errors.append(invalid(f"{path}[{i}]", item, f"if '{res}/*' is present, must not specify {item}"))
        if sub in wild_res:
            errors.append(invalid(f"{path}[{i}]", item, f"if '*/{sub}' is present, must not specify {item}"))
        if sub == "*":
            wild_sub.add(res)
        if res == "*":
            wild_res.add(sub)
    if len(resources) > 1 and double:
        errors.append(invalid(path, _go_list(resources), "if '*/*' is present, must not specify other resources"))
    if single and plain:
        errors.append(invalid(path, _go_list(resources), "if '*' is present, must not specify other resources without "
                                               "subresources"))
    return errors


def _rule_errors(rule: Mapping, path: str) -> list[FieldError]:
    """validateRuleWithOperations."""
    operations = _list(rule.get("operations"))
    errors = [] if operations else [required(f"{path}.operations")]
    errors += _wildcard_with_others(operations, f"{path}.operations", "operations",
                                    "admissionregistration.OperationType")
    errors += [not_supported(f"{path}.operations[{i}]", op, _OPERATIONS)
               for i, op in enumerate(operations) if op not in _OPERATIONS]
    groups, versions = _list(rule.get("apiGroups")), _list(rule.get("apiVersions"))
    errors += [] if groups else [required(f"{path}.apiGroups")]
    errors += _wildcard_with_others(groups, f"{path}.apiGroups", "API groups")
    errors += [] if versions else [required(f"{path}.apiVersions")]
    errors += _wildcard_with_others(versions, f"{path}.apiVersions", "API versions")
    errors += [required(f"{path}.apiVersions[{i}]") for i, v in enumerate(versions) if not v]
    errors += _resources_errors(_list(rule.get("resources")), f"{path}.resources")
    scope = rule.get("scope")
    if scope is not None and scope not in _SCOPES:
        errors.append(not_supported(f"{path}.scope", scope, _SCOPES))
    return errors


def _match_condition_errors(conditions: list, path: str) -> list[FieldError]:
    errors, seen = [], set()
    if len(conditions) > 64:
        errors.append(FieldError("FieldValueTooMany", path, len(conditions), "must have at most 64 items"))
    for i, condition in enumerate(conditions):
        condition = condition if isinstance(condition, Mapping) else {}
        name = condition.get("name")
        if not name:
            errors.append(required(f"{path}[{i}].name"))
        elif name in seen:
            errors.append(duplicate(f"{path}[{i}].name", name))
        else:
            errors += fc.named(name, f"{path}[{i}].name", fc.qualified_name_errors)
        seen.add(name)
        if not condition.get("expression"):
            errors.append(required(f"{path}[{i}].expression"))
    return errors


def _one_of(value: Any, path: str, supported: tuple[str, ...]) -> list[FieldError]:
    return [not_supported(path, value, supported)] if value is not None and value not in supported else []


def _hook_errors(hook: Mapping, path: str, mutating: bool, no_side_effects: bool) -> list[FieldError]:
    errors = fully_qualified_name(hook.get("name"), f"{path}.name")
    for i, rule in enumerate(_list(hook.get("rules"))):
        errors += _rule_errors(rule if isinstance(rule, Mapping) else {}, f"{path}.rules[{i}]")
    errors += _one_of(hook.get("failurePolicy"), f"{path}.failurePolicy", _FAILURE_POLICIES)
    errors += _one_of(hook.get("matchPolicy"), f"{path}.matchPolicy", _MATCH_POLICIES)
    allowed = _NO_SIDE_EFFECTS if no_side_effects else _SIDE_EFFECTS
    side_effects = hook.get("sideEffects")
    if side_effects is None:
        errors.append(required(f"{path}.sideEffects", f"must specify one of {', '.join(allowed)}"))
    else:
        errors += _one_of(side_effects, f"{path}.sideEffects", allowed)
    timeout = hook.get("timeoutSeconds")
    if timeout is not None and (not fc.is_int(timeout) or not 1 <= timeout <= 30):
        errors.append(invalid(f"{path}.timeoutSeconds", timeout, "the timeout value must be between 1 and 30 seconds"))
    for selector in ("namespaceSelector", "objectSelector"):
        if hook.get(selector) is not None:
            errors += fc.label_selector(hook[selector], f"{path}.{selector}")
    errors += _client_config_errors(hook.get("clientConfig"), f"{path}.clientConfig")
    if mutating:
        errors += _one_of(hook.get("reinvocationPolicy"), f"{path}.reinvocationPolicy", _REINVOCATION_POLICIES)
    return errors + _match_condition_errors(_list(hook.get("matchConditions")), f"{path}.matchConditions")


def _keeps_rules(old: Mapping | None) -> tuple[bool, bool, bool]:
    """(unique names, no side effects, a known review version): the rules an update is held to."""
    if old is None:
        return True, True, True
    hooks = _hooks(old)
    names = [h.get("name") for h in hooks if h.get("name")]
    return (len(names) == len(set(names)),
            all(h.get("sideEffects") in _NO_SIDE_EFFECTS for h in hooks),
            all(set(_list(h.get("admissionReviewVersions"))) & set(REVIEW_VERSIONS) for h in hooks))


def _configuration_errors(config: Mapping, old: Mapping | None, mutating: bool) -> list[FieldError]:
    unique, no_side_effects, known_versions = _keeps_rules(old)
    list_errors, hooks = fc.items(config.get("webhooks"), "webhooks")
    errors, seen = list(list_errors), set()
    for path, hook in hooks:
        hook = hook if isinstance(hook, Mapping) else {}
        errors += _hook_errors(hook, path, mutating, no_side_effects)
        errors += review_version_errors(hook.get("admissionReviewVersions"), f"{path}.admissionReviewVersions",
                                        known_versions)
        name = hook.get("name")
        if unique and name:
            if name in seen:
                errors.append(duplicate(f"{path}.name", name))
            seen.add(name)
    return errors


def validating_webhook_errors(config: Mapping, old: Mapping | None) -> list[FieldError]:
    return _configuration_errors(config, old, mutating=False)


def mutating_webhook_errors(config: Mapping, old: Mapping | None) -> list[FieldError]:
    return _configuration_errors(config, old, mutating=True)
