"""How each write turns a request body into the object to store.

Upstream's registry strategies, for every kind at once:

- `prepare_create`: system metadata (deterministic uid, creationTimestamp,
  generation 1 for the kinds that keep one), status dropped where status is
  a subresource (a Node keeps the capacity and allocatable that describe its
  simulated machine), the scheme defaults and each kind's PrepareForCreate.
- `prepare_update`: a main-resource write keeps the stored system metadata
  and status (and a Namespace's `spec.finalizers`), refills the defaults,
  keeps a Service's allocated addresses and drops what its new type does not
  use (engine/servicetype.py), and bumps `generation` when the spec changed
  (status writes never do).
- `prepare_status`: a status (or namespace finalize) write keeps everything
  but the status (or the finalizer list).
- `prepare_ephemeral_containers`: a `pods/ephemeralcontainers` write keeps
  everything but `spec.ephemeralContainers`, defaulted.
- `scale_of` / `prepare_scale`: the autoscaling/v1 Scale view (a custom kind's
  at the paths its CRD's scale subresource declares).
- `prepare_binding`: a Binding sets a pod's node and its PodScheduled condition.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import csr, defaulting, servicetype
from .crd import crd_status, shape_custom_resource
from .fieldcheck import int_range
from .kinds import CRD_GROUP, CRD_KIND, ResourceType, ScalePaths
from .naming import uid_for
from .objects import Key, freeze, freeze_unshared, get_path, set_path, thaw
from .selectors import from_label_selector, from_map
from .store import freeze_like, thaw_kept
from .timeutil import format_time

_SYSTEM_META = ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
                "generation", "resourceVersion", "namespace", "name")
_NODE_STATUS_KEPT = ("capacity", "allocatable")


def uid(seed: str, revision: int, key: Key) -> str:
    """The uid of the object created at `key` in `revision` (deterministic)."""
    return uid_for(f"{seed}/{'/'.join(key)}", revision)


def _version(obj: Mapping) -> str:
    return str(obj.get("apiVersion") or "").rpartition("/")[2]


def _shape(rt: ResourceType, obj: dict) -> dict:
    if rt.is_custom:
        return thaw(shape_custom_resource(freeze(obj), rt.schemas.get(_version(obj))))
    return obj


# ------------------------------------------------------------------ create


def _create_status(rt: ResourceType, obj: dict) -> None:
    if not rt.has_status:
        return
    status = obj.pop("status", None)
    if (rt.group, rt.kind) == ("", "Node") and isinstance(status, dict):
        kept = {k: status[k] for k in _NODE_STATUS_KEPT if k in status}
        if kept:
            obj["status"] = kept


def prepare_create(rt: ResourceType, obj: dict, key: Key, seed: str, revision: int, now: float) -> Mapping:
    """The object a create stores (system metadata, defaults, PrepareForCreate)."""
    meta = obj["metadata"]
    for field in ("deletionTimestamp", "deletionGracePeriodSeconds", "selfLink", "resourceVersion"):
        meta.pop(field, None)
    meta["uid"] = uid(seed, revision, key)
    meta["creationTimestamp"] = format_time(now)
    _omit_empty_finalizers(meta)
    if has_generation(rt):
        meta["generation"] = 1
    else:
        meta.pop("generation", None)
    _create_status(rt, obj)
    obj = _shape(rt, obj)
    defaulting.apply_defaults(rt.group, rt.kind, obj)
    defaulting.prepare_create(rt.group, rt.kind, obj)
    if (rt.group, rt.kind) == ("", "Service"):  # (PrepareForCreate resets the status)
        obj["status"] = servicetype.with_load_balancer_status(None)
    if (rt.group, rt.kind) == ("", "Service") and isinstance(obj.get("spec"), dict):
        servicetype.normalize_cluster_ips(None, obj["spec"])
        servicetype.init_ip_families(None, obj["spec"])
        servicetype.drop_unused_internal_policy(obj["spec"])
    if (rt.group, rt.kind) == ("", "Pod"):
        _scheduling_gated(obj)
    if (rt.group, rt.kind) == (CRD_GROUP, CRD_KIND):
        obj["status"] = thaw(crd_status(obj, None))
    if (rt.group, rt.kind) == ("apps", "DaemonSet"):
        defaulting.daemonset_template_generation(obj, None, False)
    if (rt.group, rt.kind) == ("", "PersistentVolume") and isinstance(obj.get("status"), dict):
        obj["status"]["lastPhaseTransitionTime"] = format_time(now)
    if rt.kind == "Event" and rt.group in ("", "events.k8s.io"):
        return freeze_unshared(obj)
    return freeze(obj)


SCHEDULING_GATED = "Scheduling is blocked due to non-empty scheduling gates"


def _scheduling_gated(pod: dict) -> None:
    """A pod created with scheduling gates reads PodScheduled=False, reason SchedulingGated
    (upstream's applySchedulingGatedCondition; its times are null, as upstream's)."""
    spec = pod.get("spec")
    if not isinstance(spec, dict) or not spec.get("schedulingGates"):
        return
    status = pod.setdefault("status", {})
    conditions = status.get("conditions") if isinstance(status.get("conditions"), list) else []
    if any(isinstance(c, dict) and c.get("type") == "PodScheduled" for c in conditions):
        return
    status["conditions"] = [*conditions, {
        "type": "PodScheduled", "status": "False", "lastProbeTime": None, "lastTransitionTime": None,
        "reason": "SchedulingGated", "message": SCHEDULING_GATED}]


# ------------------------------------------------------------------ update


# The built-in kinds whose v1.32 strategy keeps metadata.generation (1 at create, bumped
# when the spec changes); every other built-in kind has none.  Custom kinds all have one.
_GENERATION_KINDS = frozenset({
    ("apps", "Deployment"), ("apps", "ReplicaSet"), ("apps", "StatefulSet"), ("apps", "DaemonSet"),
    ("", "ReplicationController"), ("batch", "Job"), ("batch", "CronJob"),
    ("policy", "PodDisruptionBudget"), ("networking.k8s.io", "Ingress"),
    ("networking.k8s.io", "IngressClass"), ("networking.k8s.io", "NetworkPolicy"),
    ("discovery.k8s.io", "EndpointSlice"), (CRD_GROUP, CRD_KIND),
    ("proxy.recon.dev", "ServiceRules"),  # recon's own kind, versioned as a workload's
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),  # (bumped when the webhooks change)
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
})


def has_generation(rt: ResourceType) -> bool:
    """Does the kind keep metadata.generation?  (Pods, Services, Nodes, ConfigMaps, … do not in v1.32.)"""
    return rt.is_custom or (rt.group, rt.kind) in _GENERATION_KINDS


def generation_part(rt: ResourceType, obj: Mapping) -> Any:
    """The part of an object whose change bumps metadata.generation."""
    if rt.is_custom:
        skip = ("metadata", "status", "apiVersion", "kind") if rt.has_status else ("metadata", "apiVersion", "kind")
        return {k: v for k, v in obj.items() if k not in skip}
    if (rt.group, rt.kind) == ("discovery.k8s.io", "EndpointSlice"):  # no spec: anything but metadata, and labels
        rest = {k: v for k, v in obj.items() if k not in ("metadata", "apiVersion", "kind")}
        return rest, get_path(obj, "metadata", "labels")
    if rt.group == "admissionregistration.k8s.io":
        return obj.get("webhooks")
    return obj.get("spec")


def bump_generation(rt: ResourceType, old: Mapping, new: Mapping) -> Mapping:
    """`new` with its generation one past `old`'s when the kind keeps one and its spec changed."""
    if not has_generation(rt) or generation_part(rt, old) == generation_part(rt, new):
        return new
    return set_path(new, ("metadata", "generation"), (get_path(old, "metadata", "generation") or 0) + 1)


def _omit_empty_finalizers(meta: dict) -> None:
    """ObjectMeta's finalizers are `omitempty`: an empty list (the last finalizer removed) is no field."""
    if "finalizers" in meta and not meta["finalizers"]:
        del meta["finalizers"]


def _keep_from_old(rt: ResourceType, old: Mapping, body: dict) -> None:
    meta = body.setdefault("metadata", {})
    _omit_empty_finalizers(meta)
    old_meta = thaw_kept(old.get("metadata") or {})
    for field in _SYSTEM_META:
        if field in old_meta:
            meta[field] = old_meta[field]
        else:
            meta.pop(field, None)
    if rt.has_status:
        body.pop("status", None)
        if old.get("status") is not None:
            body["status"] = thaw_kept(old["status"])
    if (rt.group, rt.kind) == ("", "Namespace"):
        body["spec"] = _namespace_spec(old, body.get("spec"))
    if (rt.group, rt.kind) == (csr.GROUP, csr.KIND):
        csr.keep_spec(old, body)


def _namespace_spec(old: Mapping, spec: Any) -> dict:
    """Namespace finalizers change through `namespaces/finalize`; recon also lets a main
    update of a terminating namespace drop some (the namespace controller's write)."""
    spec = spec if isinstance(spec, dict) else {}
    stored = thaw(get_path(old, "spec", "finalizers") or [])
    wanted = spec.get("finalizers")
    if get_path(old, "metadata", "deletionTimestamp") and isinstance(wanted, list):
        spec["finalizers"] = [f for f in stored if f in wanted]
    else:
        spec["finalizers"] = stored
    return spec


def prepare_update(rt: ResourceType, old: Mapping, body: dict) -> Mapping:
    """The object a main-resource update stores."""
    _keep_from_old(rt, old, body)
    if (rt.group, rt.kind) == ("", "Pod"):
        defaulting.admit_pod_update(body, old)
    body = _shape(rt, body)
    defaulting.apply_defaults(rt.group, rt.kind, body)
    if (rt.group, rt.kind) == ("", "Service"):
        _service_update(old, body)
    if (rt.group, rt.kind) == ("apps", "DaemonSet"):
        _daemonset_update(old, body)
    new = freeze_like(body, old)
    if (rt.group, rt.kind) == (CRD_GROUP, CRD_KIND):
        new = new.set("status", crd_status(new, old.get("status")))
    return bump_generation(rt, old, new)


def _daemonset_update(old: Mapping, body: dict) -> None:
    """The stored templateGeneration, one more when the template changed."""
    stored = get_path(old, "metadata", "annotations", defaulting.TEMPLATE_GENERATION)
    generation = int(stored) if isinstance(stored, str) and stored.isdigit() else 1
    changed = freeze(get_path(body, "spec", "template")) != get_path(old, "spec", "template")
    defaulting.daemonset_template_generation(body, generation, changed)


def _service_update(old: Mapping, body: dict) -> None:
    """A Service update keeps the addresses the write left out and drops the fields its new
    type does not use (engine/servicetype.py); what it drops is released with this write."""
    body["status"] = servicetype.with_load_balancer_status(body.get("status"))
    spec, old_spec = body.get("spec"), thaw(old.get("spec"))
    if not isinstance(spec, dict) or not isinstance(old_spec, dict):
        return
    status = body.get("status") if isinstance(body.get("status"), dict) else None
    servicetype.drop_type_dependent_fields(old_spec, spec, status)  # (PrepareForUpdate)
    servicetype.patch_allocated_values(old_spec, spec)  # (then the registry's beginUpdate)
    servicetype.normalize_cluster_ips(old_spec, spec)
    servicetype.init_ip_families(old_spec, spec)
    servicetype.drop_unused_internal_policy(spec)


def prepare_status(rt: ResourceType, old: Mapping, body: Mapping, subresource: str, now: float = 0.0) -> Mapping:
    """The object a status (or namespace finalize) write stores: only that part changes (a
    PersistentVolume's new phase notes when it changed, as upstream's status strategy does)."""
    if subresource == "finalize":
        return set_path(old, ("spec", "finalizers"), freeze(get_path(body, "spec", "finalizers") or []))
    if (rt.group, rt.kind) == (csr.GROUP, csr.KIND):
        return csr.prepare_subresource(old, body, subresource, now)
    status = body.get("status")
    new = old.discard("status") if status is None else old.set("status", freeze(status))
    if (rt.group, rt.kind) == ("", "Node"):
        obj = thaw(new)
        defaulting.node_defaults(obj)
        new = freeze(obj)
    elif (rt.group, rt.kind) == ("", "Pod") and isinstance(status, Mapping):
        fixes = defaulting.pod_status_ips(status)
        if fixes:
            new = new.set("status", new["status"].update(freeze(fixes)))
    elif (rt.group, rt.kind) == ("", "Service"):
        new = new.set("status", freeze(servicetype.with_load_balancer_status(status)))
    elif rt.is_custom:
        new = shape_custom_resource(new, rt.schemas.get(_version(new)))
    elif (rt.group, rt.kind) == ("", "PersistentVolume") and isinstance(status, Mapping):
        phase = status.get("phase")
        if phase != get_path(old, "status", "phase"):
            new = set_path(new, ("status", "lastPhaseTransitionTime"), format_time(now))
    return new


def prepare_ephemeral_containers(old: Mapping, body: Mapping) -> Mapping:
    """The pod a `pods/ephemeralcontainers` write stores: the stored one with the body's
    spec.ephemeralContainers (defaulted as containers are); anything else the body changes is
    dropped, as upstream's dropNonEphemeralContainerUpdates does."""
    containers = thaw(get_path(body, "spec", "ephemeralContainers"))
    if isinstance(containers, list):
        defaulting.ephemeral_container_defaults(containers)
    return set_path(old, ("spec", "ephemeralContainers"), freeze(containers) if containers else None)


# ------------------------------------------------------------------- scale


def scale_of(obj: Mapping, rt: ResourceType | None = None) -> Mapping:
    """The autoscaling/v1 Scale view of a Deployment, ReplicaSet or scalable custom resource.

    A custom resource's replicas and selector are read where its CRD's scale
    subresource says (`specReplicasPath`, `statusReplicasPath`,
    `labelSelectorPath`), so `rt` must be given for one.
    """
    meta = obj.get("metadata") or {}
    paths = _scale_paths(rt, obj)
    if paths is None:
        spec, status = get_path(obj, "spec", "replicas") or 0, get_path(obj, "status", "replicas") or 0
        selector = _selector_text(get_path(obj, "spec", "selector"), equalities=_is_rc(obj))
    else:
        spec, status = _replicas_at(obj, paths.spec_replicas), _replicas_at(obj, paths.status_replicas)
        found = get_path(obj, *_path_of(paths.label_selector)) if paths.label_selector else None
        selector = found if isinstance(found, str) else ""
    view_meta = {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp") if k in meta}
    return freeze({  # (spec.replicas and status.selector are omitempty upstream: 0 or none, no field)
        "apiVersion": "autoscaling/v1", "kind": "Scale", "metadata": view_meta,
        "spec": {"replicas": spec} if spec else {},
        "status": {"replicas": status, **({"selector": selector} if selector else {})},
    })


def _scale_paths(rt: ResourceType | None, obj: Mapping) -> ScalePaths | None:
    """A custom kind's scale paths, for the version `obj` is stored in; None for the built-in kinds."""
    if rt is None or not rt.is_custom:
        return None
    return rt.scale_paths.get(_version(obj)) or rt.scale_paths.get(rt.version)


def _path_of(dotted: str) -> tuple[str, ...]:
    """`.spec.size` → ("spec", "size"): upstream splits a scale path at its dots."""
    return tuple(dotted.removeprefix(".").split("."))


def _replicas_at(obj: Mapping, dotted: str) -> int:
    value = get_path(obj, *_path_of(dotted))
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _is_rc(obj: Mapping) -> bool:
    return obj.get("apiVersion") == "v1" and obj.get("kind") == "ReplicationController"


def _selector_text(selector: Any, equalities: bool = False) -> str:
    """A label selector as text; `equalities`: a map of labels (a ReplicationController's)."""
    try:
        if selector is None:
            return ""
        return str(from_map(selector) if equalities else from_label_selector(selector))
    except (ValueError, AttributeError):
        return ""


def scale_errors(scale: Mapping) -> list:
    replicas = get_path(scale, "spec", "replicas")
    return int_range(replicas if replicas is not None else 0, "spec.replicas", 0)


def prepare_scale(rt: ResourceType, old: Mapping, scale: Mapping) -> Mapping:
    """The object a scale write stores: the Scale's replicas at `.spec.replicas`, or at a custom
    kind's `specReplicasPath`."""
    paths = _scale_paths(rt, old)
    where = _path_of(paths.spec_replicas) if paths is not None else ("spec", "replicas")
    new = set_path(old, where, get_path(scale, "spec", "replicas") or 0)
    return bump_generation(rt, old, new)


# ----------------------------------------------------------------- binding


def prepare_binding(pod: Mapping, binding: Mapping, now: float) -> Mapping:
    """The pod once bound: spec.nodeName, the binding's annotations, PodScheduled=True."""
    new = set_path(pod, ("spec", "nodeName"), get_path(binding, "target", "name"))
    for key, value in (get_path(binding, "metadata", "annotations") or {}).items():
        new = set_path(new, ("metadata", "annotations", key), value)
    condition = {"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                 "lastTransitionTime": format_time(now)}
    conditions = [c for c in get_path(new, "status", "conditions") or () if c.get("type") != "PodScheduled"]
    return set_path(new, ("status", "conditions"), freeze([*conditions, condition]))
