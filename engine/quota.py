"""What objects use of a ResourceQuota, and what a LimitRange asks of a pod or a claim.

Shared by admission (engine/admission.py: LimitRanger and the ResourceQuota
plugin) and by the quota controller (rules/resourcequota.rules, through the
`quota_used` builtin), so both count the same way, as upstream's
pkg/quota/v1/evaluator/core and plugin/pkg/admission/limitranger do.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .defaulting import qos_class
from .objects import get_path
from .quantity import Quantity, add_into, max_into, pod_limits, pod_requests
from .storage import claim_class

ONE = Quantity(1)
# The object counts that predate `count/<resource>` (generic evaluator's legacy names).
LEGACY_COUNTS = {("", "Service"): "services", ("", "ConfigMap"): "configmaps", ("", "Secret"): "secrets",
                 ("", "PersistentVolumeClaim"): "persistentvolumeclaims", ("", "ResourceQuota"): "resourcequotas",
                 ("", "ReplicationController"): "replicationcontrollers"}
LEGACY_BY_COUNT = {f"count/{name}": name for name in LEGACY_COUNTS.values()}  # count/services → services
# The kinds whose `count/<resource>` rules/resourcequota.rules counts (besides pods): admission charges
# only these, so that a quota's `used` is what the controller reports (other kinds: neither).
COUNTED_KINDS = frozenset({*LEGACY_COUNTS, ("apps", "Deployment"), ("apps", "ReplicaSet"),
                           ("apps", "StatefulSet"), ("apps", "DaemonSet"), ("batch", "Job"), ("batch", "CronJob")})
POD_COMPUTE = ("cpu", "memory", "ephemeral-storage")
# BACKWARD COMPATIBILITY (podEvaluator.Constraints): quota on these needs every container to say them.
VALIDATION_SET = frozenset({"cpu", "memory", "requests.cpu", "requests.memory", "limits.cpu", "limits.memory"})
TERMINAL = ("Succeeded", "Failed")
# What a Service uses beyond its count (serviceEvaluator): the node ports and load balancers its type asks for.
SERVICE_RESOURCES = ("services.nodeports", "services.loadbalancers")
# What a claim uses (pvcEvaluator): its count and storage, each also under its class's name
# (`gold.storageclass.storage.k8s.io/requests.storage`).
CLAIM_RESOURCES = ("persistentvolumeclaims", "requests.storage")
STORAGE_CLASS_SUFFIX = ".storageclass.storage.k8s.io/"
# The kinds whose evaluator charges an update by the difference it makes (evaluator.Handles): a Service's
# type and ports can change, and a claim's storage request (and its class, set once where none was).
# Pods are charged on create only (in-place resize is off in 1.32), and the object counts of every other
# kind cannot change.
CHARGED_ON_UPDATE = frozenset({("", "Service"), ("", "PersistentVolumeClaim")})


def count_name(plural: str, group: str) -> str:
    return f"count/{plural}.{group}" if group else f"count/{plural}"


def compute_usage(requests: Mapping, limits: Mapping) -> dict[str, Quantity]:
    """podComputeUsageHelper: `pods` and the requests.*/limits.* names of a set of requests and limits."""
    result = {"pods": ONE}
    for resource in POD_COMPUTE:
        if resource in requests:
            result[resource] = result[f"requests.{resource}"] = Quantity(requests[resource])
        if resource in limits:
            result[f"limits.{resource}"] = Quantity(limits[resource])
    for resource, amount in requests.items():
        if resource.startswith("hugepages-"):
            result[resource] = result[f"requests.{resource}"] = Quantity(amount)
        elif "/" in resource and not resource.startswith("kubernetes.io/"):
            result[f"requests.{resource}"] = Quantity(amount)  # an extended resource
    return result


def pod_active(pod: Mapping) -> bool:
    """QuotaV1Pod: terminal pods use no compute quota (the grace-period clause is not modelled)."""
    return get_path(pod, "status", "phase") not in TERMINAL


def usage(group: str, kind: str, plural: str, obj: Mapping) -> dict[str, Quantity]:
    """What one object uses: its `count/…` (and legacy count), and a live pod's compute resources."""
    result = {count_name(plural, group): ONE}
    legacy = LEGACY_COUNTS.get((group, kind))
    if legacy:
        result[legacy] = ONE
    if (group, kind) == ("", "Pod") and pod_active(obj):
        result.update(compute_usage(pod_requests(obj), pod_limits(obj)))
    elif (group, kind) == ("", "Service"):
        result.update(service_usage(obj))
    elif (group, kind) == ("", "PersistentVolumeClaim"):
        result.update(claim_usage(obj))
    return result


def service_usage(service: Mapping) -> dict[str, Quantity]:
    """serviceEvaluator.Usage beyond the count: a NodePort's node ports (one a port), a LoadBalancer's
    too (only the ports that name one when allocateLoadBalancerNodePorts is false) and its load balancer."""
    spec = service.get("spec") or {}
    ports = list(spec.get("ports") or ())
    result = {name: Quantity(0) for name in SERVICE_RESOURCES}
    if spec.get("type") == "NodePort":
        result["services.nodeports"] = Quantity(len(ports))
    elif spec.get("type") == "LoadBalancer":
        if spec.get("allocateLoadBalancerNodePorts") is False:
            ports = [p for p in ports if isinstance(p, Mapping) and p.get("nodePort")]
        result["services.nodeports"] = Quantity(len(ports))
        result["services.loadbalancers"] = ONE
    return result


def claim_usage(claim: Mapping) -> dict[str, Quantity]:
    """pvcEvaluator.Usage: a claim's count and its storage (`claim_storage`; none without a request),
    each also under its class's `<class>.storageclass.storage.k8s.io/` name when it has a class
    (the beta annotation, else spec.storageClassName).  Every claim counts, whatever its phase."""
    result = {"persistentvolumeclaims": ONE, "count/persistentvolumeclaims": ONE}
    storage = claim_storage(claim)
    if storage is not None:
        result["requests.storage"] = storage
    storage_class = claim_class(claim)
    if storage_class:
        for name in CLAIM_RESOURCES:
            if name in result:
                result[storage_class + STORAGE_CLASS_SUFFIX + name] = result[name]
    return result


def claim_storage(claim: Mapping) -> Quantity | None:
    """getStorageUsage: spec.resources.requests.storage, or status.allocatedResources.storage when that
    is more (an expansion under way), rounded up to whole bytes; None when the claim requests none."""
    request = get_path(claim, "spec", "resources", "requests", "storage")
    if request is None:
        return None
    storage = Quantity(request)
    allocated = get_path(claim, "status", "allocatedResources", "storage")
    if allocated is not None and Quantity(allocated) > storage:
        storage = Quantity(allocated)
    return storage if storage.fraction.denominator == 1 else Quantity(storage.value(), storage.format)


def update_delta(before: Mapping, after: Mapping) -> dict[str, Quantity]:
    """quota.SubtractWithNonNegativeResult: what an update adds to a usage (what it gives back is 0)."""
    return {name: max(amount - before.get(name, Quantity(0)), Quantity(0)) for name, amount in after.items()}


def matching_resources(group: str, kind: str, plural: str, hard: Iterable[str]) -> list[str]:
    """evaluator.MatchingResources: the names of `hard` this kind's evaluator counts."""
    if (group, kind) == ("", "PersistentVolumeClaim"):
        return sorted(h for h in hard if h == "count/persistentvolumeclaims" or h in CLAIM_RESOURCES
                      or h.endswith(tuple(STORAGE_CLASS_SUFFIX + r for r in CLAIM_RESOURCES)))
    if (group, kind) != ("", "Pod"):
        if (group, kind) not in COUNTED_KINDS:
            return []
        names = {count_name(plural, group), LEGACY_COUNTS.get((group, kind))}
        if (group, kind) == ("", "Service"):
            names.update(SERVICE_RESOURCES)
        return sorted(h for h in hard if h in names)
    return sorted(h for h in hard if h in ("pods", "count/pods") or h in POD_COMPUTE
                  or any(h == f"{p}.{r}" for p in ("requests", "limits") for r in POD_COMPUTE)
                  or h.startswith(("hugepages-", "requests.hugepages-"))
                  or h.startswith("requests.") and "/" in h)


# ------------------------------------------------------------------ scopes


def scope_selectors(quota: Mapping) -> list[Mapping]:
    """getScopeSelectorsFromQuota: spec.scopes as Exists terms, then spec.scopeSelector's."""
    terms: list[Mapping] = [{"scopeName": s, "operator": "Exists"} for s in get_path(quota, "spec", "scopes") or ()]
    return terms + list(get_path(quota, "spec", "scopeSelector", "matchExpressions") or ())


def matches(quota: Mapping, group: str, kind: str, obj: Mapping) -> bool:
    """Does `quota`'s scope take in `obj`?  Only pods have scopes; other kinds match an unscoped quota."""
    terms = scope_selectors(quota)
    if (group, kind) != ("", "Pod"):
        return not terms
    return all(_pod_matches(term, obj) for term in terms)


def _pod_matches(term: Mapping, pod: Mapping) -> bool:
    scope = term.get("scopeName")
    spec = pod.get("spec") or {}
    if scope in ("Terminating", "NotTerminating"):
        deadline = spec.get("activeDeadlineSeconds")
        return (deadline is not None and deadline >= 0) == (scope == "Terminating")
    if scope in ("BestEffort", "NotBestEffort"):
        return best_effort(pod) == (scope == "BestEffort")
    if scope == "PriorityClass":
        name = spec.get("priorityClassName") or ""
        op, values = term.get("operator"), term.get("values") or ()
        return {"Exists": name != "", "DoesNotExist": name == "", "In": name in values,
                "NotIn": name not in values}.get(op, False)
    if scope == "CrossNamespacePodAffinity":
        affinity = spec.get("affinity") or {}
        terms = [t for kind in ("podAffinity", "podAntiAffinity") for t in _affinity_terms(affinity.get(kind))]
        return any(t.get("namespaces") or t.get("namespaceSelector") is not None for t in terms)
    return False


def _affinity_terms(affinity: Mapping | None) -> list[Mapping]:
    affinity = affinity or {}
    terms = list(affinity.get("requiredDuringSchedulingIgnoredDuringExecution") or ())
    return terms + [w.get("podAffinityTerm") or {} for w in affinity.get("preferredDuringSchedulingIgnoredDuringExecution") or ()]


def best_effort(pod: Mapping) -> bool:
    """QoS BestEffort: no container asks for or limits cpu or memory (zero amounts do not count)."""
    return qos_class(pod.get("spec") or {}) == "BestEffort"


# ------------------------------------------------------------------ admission checks


def missing_constraints(pod: Mapping, required: Iterable[str]) -> str | None:
    """podEvaluator.Constraints: `must specify …` when a container leaves out a resource the quota needs."""
    required_set = VALIDATION_SET.intersection(required)
    if not required_set:
        return None
    missing: dict[str, set] = {}
    spec = pod.get("spec") or {}
    for container in list(spec.get("containers") or ()) + list(spec.get("initContainers") or ()):
        resources = container.get("resources") or {}
        has = compute_usage(resources.get("requests") or {}, resources.get("limits") or {})
        for name in required_set - set(has):
            missing.setdefault(name, set()).add(container.get("name") or "")
    if not missing:
        return None
    parts = sorted(f"{name} for: {','.join(sorted(names))}" for name, names in missing.items())
    return "must specify " + "; ".join(parts)


def pretty(resources: Mapping) -> str:
    """prettyPrint: `name=quantity` sorted by name, comma-joined."""
    return ",".join(f"{name}={Quantity(resources[name])}" for name in sorted(resources))


def exceeded(new_used: Mapping, hard: Mapping) -> list[str]:
    """quota.LessThanOrEqual: the names whose new usage is over their hard limit."""
    return sorted(name for name, amount in new_used.items() if name in hard and amount > Quantity(hard[name]))


def total(usages: Iterable[Mapping], hard: Mapping) -> dict[str, str]:
    """The controller's status.used: every hard resource, summed over the usages (0 when none).
    A PersistentVolumeClaim among them counts as `claim_usage` says."""
    sums = {name: Quantity(0) for name in hard}
    for used in usages:
        if used.get("kind") == "PersistentVolumeClaim":
            used = claim_usage(used)
        for name, amount in used.items():
            if name in sums:
                sums[name] = sums[name] + amount
    return {name: str(amount) for name, amount in sums.items()}


# ------------------------------------------------------------------ LimitRanger


def container_defaults(limit_range: Mapping) -> tuple[dict, dict]:
    """defaultContainerResourceRequirements, with the LimitRangeItem API defaults folded in
    (default ← max, defaultRequest ← default, then min): (requests, limits)."""
    requests: dict = {}
    limits: dict = {}
    for item in get_path(limit_range, "spec", "limits") or ():
        if item.get("type") != "Container":
            continue
        default = {**(item.get("max") or {}), **(item.get("default") or {})}
        default_request = {**(item.get("min") or {}), **default, **(item.get("defaultRequest") or {})}
        requests.update(default_request)
        limits.update(default)
    return requests, limits


def default_container(container: dict, requests: Mapping, limits: Mapping, kind: str) -> list[str]:
    """mergeContainerResources: fill the requests and limits a container leaves out; the annotation parts."""
    resources = container.setdefault("resources", {})
    notes = []
    for part, defaults, word in (("requests", requests, "request"), ("limits", limits, "limit")):
        have = resources.setdefault(part, {})
        added = sorted(name for name in defaults if name not in have)
        for name in added:
            have[name] = defaults[name]
        if added:
            notes.append(f"{', '.join(added)} {word} for {kind} {container.get('name')}")
        if not have:
            del resources[part]
    return notes


def limit_errors(limit_range: Mapping, pod: Mapping) -> list[str]:
    """PodValidateLimitFunc: the min/max/maxLimitRequestRatio violations of one LimitRange."""
    errors: list[str] = []
    spec = pod.get("spec") or {}
    containers = list(spec.get("containers") or ()) + list(spec.get("initContainers") or ())
    for item in get_path(limit_range, "spec", "limits") or ():
        kind = item.get("type")
        if kind == "Container":
            for container in containers:
                resources = container.get("resources") or {}
                errors += _item_errors(kind, item, resources.get("requests") or {}, resources.get("limits") or {})
        elif kind == "Pod":
            errors += _item_errors(kind, item, _pod_totals(pod, "requests"), _pod_totals(pod, "limits"))
    return errors


def claim_limit_errors(limit_range: Mapping, claim: Mapping) -> list[str]:
    """PersistentVolumeClaimValidateLimitFunc: the min and max of a LimitRange's PersistentVolumeClaim
    items against the claim's spec.resources.requests (a claim has no limits, and no defaults)."""
    requests = get_path(claim, "spec", "resources", "requests") or {}
    errors: list[str] = []
    for item in get_path(limit_range, "spec", "limits") or ():
        kind = item.get("type")
        if kind == "PersistentVolumeClaim":
            errors += _min_errors(kind, item, requests, {})
            for name, bound in sorted((item.get("max") or {}).items()):
                req, bound = requests.get(name), Quantity(bound)
                if req is None:
                    errors.append(f"maximum {name} usage per {kind} is {bound}.  No request is specified")
                elif Quantity(req) > bound:
                    errors.append(f"maximum {name} usage per {kind} is {bound}, but request is {Quantity(req)}")
    return errors


def _pod_totals(pod: Mapping, part: str) -> dict[str, Quantity]:
    """The limitranger's own podRequests/podLimits: containers summed, max with each init container."""
    spec = pod.get("spec") or {}
    total: dict[str, Quantity] = {}
    for container in spec.get("containers") or ():
        add_into(total, get_path(container, "resources", part))
    for container in spec.get("initContainers") or ():
        max_into(total, get_path(container, "resources", part) or {})
    return total


def _min_errors(kind: str, item: Mapping, requests: Mapping, limits: Mapping) -> list[str]:
    """minConstraint for each of an item's `min`."""
    errors = []
    for name, bound in sorted((item.get("min") or {}).items()):
        req, lim, bound = requests.get(name), limits.get(name), Quantity(bound)
        if req is None:
            errors.append(f"minimum {name} usage per {kind} is {bound}.  No request is specified")
        elif Quantity(req) < bound:
            errors.append(f"minimum {name} usage per {kind} is {bound}, but request is {Quantity(req)}")
        elif lim is not None and Quantity(lim) < bound:
            errors.append(f"minimum {name} usage per {kind} is {bound}, but limit is {Quantity(lim)}")
    return errors


def _item_errors(kind: str, item: Mapping, requests: Mapping, limits: Mapping) -> list[str]:
    errors = _min_errors(kind, item, requests, limits)
    for name, bound in sorted((item.get("max") or {}).items()):
        req, lim, bound = requests.get(name), limits.get(name), Quantity(bound)
        if lim is None:
            errors.append(f"maximum {name} usage per {kind} is {bound}.  No limit is specified")
        elif Quantity(lim) > bound:
            errors.append(f"maximum {name} usage per {kind} is {bound}, but limit is {Quantity(lim)}")
        elif req is not None and Quantity(req) > bound:
            errors.append(f"maximum {name} usage per {kind} is {bound}, but request is {Quantity(req)}")
    for name, bound in sorted((item.get("maxLimitRequestRatio") or {}).items()):
        req, lim, bound = Quantity(requests.get(name) or 0), Quantity(limits.get(name) or 0), Quantity(bound)
        head = f"{name} max limit to request ratio per {kind} is {bound}"
        if req.is_zero():
            errors.append(f"{head}, but no request is specified or request is 0")
        elif lim.is_zero():
            errors.append(f"{head}, but no limit is specified or limit is 0")
        elif lim.fraction / req.fraction > bound.fraction:
            errors.append(f"{head}, but provided ratio is {float(lim.fraction / req.fraction):f}")
    return errors
