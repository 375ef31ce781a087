"""Validation of objects, with Kubernetes-style messages.

`validate(rt, obj, old, subresource)` returns every `FieldError` of an
object about to be stored (the apiserver raises them together as one
`Invalid` error: `Pod "x" is invalid: [a, b]`).  Metadata is checked for
every kind (the name rule per kind: DNS-1123 subdomain for most, DNS-1123
label for Namespace, DNS-1035 label for Service); each built-in kind has
its checks here or in `validate_workloads`; custom resources are checked
against their CRD's schema (`crd`).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from typing import Any

from pyrsistent import pmap, pvector

from . import fieldcheck as fc
from .apierrors import FieldError, duplicate, forbidden, invalid, required
from .crd import crd_errors, custom_resource_errors
from .kinds import CRD_GROUP, CRD_KIND, ResourceType
from .objects import ByIdentity, get_path
from .runtime import control_errors
from .validate_certificates import csr_errors
from .validate_daemonset import daemonset_errors, daemonset_status_errors
from .validate_hpa import hpa_errors, hpa_status_errors
from .validate_networkpolicy import networkpolicy_errors
from .validate_runtimeclass import runtimeclass_errors
from .validate_statefulset import claim_errors, statefulset_errors, statefulset_status_errors
from .validate_storage import persistentvolume_errors, storageclass_errors
from .validate_webhooks import mutating_webhook_errors, validating_webhook_errors
from .validate_workloads import (PROTOCOLS, deployment_errors, ephemeral_containers_update_errors, pod_errors,
                                 replicaset_errors, service_errors)
from .validate_workloads import replicationcontroller_errors, replicationcontroller_status_errors
from .validation_batch import (cronjob_errors, ingress_errors, job_errors, limitrange_errors, pdb_errors,
                               quota_errors, quota_status_errors, role_binding_errors, role_errors)

Check = Callable[[Mapping, "Mapping | None"], list[FieldError]]

_NAME_RULES = {
    ("", "Namespace"): fc.label_errors,
    ("", "Service"): fc.dns1035_errors,
    # ValidateRBACName: any name usable in a URL path (`system:aggregate-to-edit`)
    **{("rbac.authorization.k8s.io", kind): fc.path_segment_errors
       for kind in ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")},
    # ValidateCertificateRequestName: any name (that a URL path can carry)
    ("certificates.k8s.io", "CertificateSigningRequest"): fc.path_segment_errors,
}
_MAX_ANNOTATIONS = 256 * 1024

# ------------------------------------------------------------------ metadata


def _annotation_errors(annotations: Any) -> list[FieldError]:
    errors, annotations = fc.mapping(annotations, "metadata.annotations")
    size = 0
    for key, value in annotations.items():
        errors += [invalid("metadata.annotations", key, m) for m in fc.qualified_name_errors(str(key))]
        errors += fc.wrong_type(value, f"metadata.annotations[{key}]", "string")
        size += len(str(key)) + len(str(value))
    if size > _MAX_ANNOTATIONS:
        errors.append(FieldError("FieldValueTooLong", "metadata.annotations", None,
                                 f"must have at most {_MAX_ANNOTATIONS} bytes"))
    return errors + control_errors(annotations, "metadata.annotations")


def _owner_errors(refs: Any) -> list[FieldError]:
    errors, refs = fc.items(refs, "metadata.ownerReferences")
    controllers = []
    for _path, ref in refs:
        ref_errors, ref = fc.mapping(ref, "metadata.ownerReferences")
        errors += ref_errors
        for field, word in (("apiVersion", "version"), ("kind", "kind"), ("name", "name"), ("uid", "uid")):
            if not ref.get(field):
                errors.append(invalid(f"metadata.ownerReferences.{field}", "", f"{word} must not be empty"))
        if ref.get("controller"):
            controllers.append(f"{ref.get('kind')}/{ref.get('name')}")
    if len(controllers) > 1:
        errors.append(invalid("metadata.ownerReferences", [dict(r) for _, r in refs],
                              "Only one reference can have Controller set to true. Found \"true\" in "
                              f"references for {' and '.join(controllers)}"))
    return errors


def metadata_errors(rt: ResourceType, obj: Mapping) -> list[FieldError]:
    errors, meta = fc.mapping(obj.get("metadata"), "metadata")
    name = meta.get("name")
    if not name:
        errors.append(required("metadata.name", "name or generateName is required"))
    else:
        errors += fc.named(name, "metadata.name", _NAME_RULES.get((rt.group, rt.kind), fc.subdomain_errors))
    if rt.namespaced:
        namespace = meta.get("namespace")
        errors += [required("metadata.namespace")] if not namespace else fc.named(
            namespace, "metadata.namespace", fc.label_errors)
    errors += _unless_known_valid(meta.get("labels"), lambda labels: fc.label_map(labels, "metadata.labels"))
    errors += _unless_known_valid(meta.get("annotations"), _annotation_errors)
    list_errors, finalizers = fc.items(meta.get("finalizers"), "metadata.finalizers")
    errors += list_errors
    for path, finalizer in finalizers:
        errors += fc.named(finalizer, path, fc.qualified_name_errors)
    return errors + _unless_known_valid(meta.get("ownerReferences"), _owner_errors)


_KNOWN_VALID = ByIdentity(4096)  # frozen labels, annotations and ownerReferences values found valid


def _unless_known_valid(value: Any, errors_of: Callable[[Any], list[FieldError]]) -> list[FieldError]:
    """`errors_of(value)`, or none for a frozen value found valid before.  A write that leaves an
    object's labels alone carries the very same frozen map (and equal maps are shared when frozen),
    so most writes check them once, not every time."""
    frozen = type(value) in _FROZEN
    if frozen and _KNOWN_VALID.get(value, False):
        return []
    errors = errors_of(value)
    if frozen and not errors:
        _KNOWN_VALID.put(value, True)
    return errors


_FROZEN = (type(pmap()), type(pvector()))


# -------------------------------------------------------------- simple kinds


def _namespace_errors(ns: Mapping, old: Mapping | None) -> list[FieldError]:
    errors, finalizers = fc.items(get_path(ns, "spec", "finalizers"), "spec.finalizers")
    for path, finalizer in finalizers:
        errors += fc.named(finalizer, path, fc.qualified_name_errors)
    return errors


def _taint_errors(taints: Any) -> list[FieldError]:
    errors, taints = fc.items(taints, "spec.taints")
    seen = set()
    for path, taint in taints:
        taint_errors, taint = fc.mapping(taint, path)
        errors += taint_errors
        if not taint.get("key"):
            errors.append(required(f"{path}.key"))
        else:
            errors += fc.named(taint["key"], f"{path}.key", fc.qualified_name_errors)
        if taint.get("value"):
            errors += fc.named(taint["value"], f"{path}.value", fc.label_value_errors)
        errors += [required(f"{path}.effect")] if not taint.get("effect") else fc.one_of(
            taint["effect"], f"{path}.effect", ("NoExecute", "NoSchedule", "PreferNoSchedule"))
        ident = (taint.get("key"), taint.get("effect"))
        if ident in seen:
            errors.append(duplicate(path, f"{ident[0]}:{ident[1]}"))
        seen.add(ident)
    return errors


def _node_errors(node: Mapping, old: Mapping | None) -> list[FieldError]:
    errors, spec = fc.mapping(node.get("spec"), "spec")
    errors += _taint_errors(spec.get("taints"))
    errors += fc.wrong_type(spec.get("unschedulable"), "spec.unschedulable", "boolean")
    return errors + _node_status_errors(node)


def _node_status_errors(node: Mapping) -> list[FieldError]:
    errors, status = fc.mapping(node.get("status"), "status")
    for field in ("capacity", "allocatable"):
        errors += fc.quantity_map(status.get(field), f"status.{field}")
    return errors


def _immutable_data(obj: Mapping, old: Mapping | None, fields: tuple[str, ...]) -> list[FieldError]:
    if old is None or not old.get("immutable"):
        return []
    if not obj.get("immutable"):
        return [forbidden("immutable", "field is immutable when `immutable` is set")]
    return [forbidden(f, "field is immutable when `immutable` is set") for f in fields if obj.get(f) != old.get(f)]


def _data_errors(obj: Mapping, field: str, check_value: Callable[[Any, str], list]) -> list[FieldError]:
    errors, data = fc.mapping(obj.get(field), field)
    for key, value in data.items():
        errors += [invalid(field, key, m) for m in fc.config_key_errors(str(key))]
        errors += check_value(value, f"{field}[{key}]")
    return errors


def _base64_errors(value: Any, path: str) -> list[FieldError]:
    if not isinstance(value, str):
        return fc.wrong_type(value, path, "string")
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return [invalid(path, "<secret contents redacted>", "must be base64-encoded")]
    return []


def _configmap_errors(cm: Mapping, old: Mapping | None) -> list[FieldError]:
    errors = _data_errors(cm, "data", lambda v, p: fc.wrong_type(v, p, "string"))
    errors += _data_errors(cm, "binaryData", _base64_errors)
    for key in set(cm.get("data") or {}) & set(cm.get("binaryData") or {}):
        errors.append(invalid("data", key, "duplicate of key present in binaryData"))
    return errors + _immutable_data(cm, old, ("data", "binaryData"))


def _secret_errors(secret: Mapping, old: Mapping | None) -> list[FieldError]:
    errors = _data_errors(secret, "data", _base64_errors)
    kind = secret.get("type")
    if kind == "kubernetes.io/tls":
        errors += [required(f"data[{k}]") for k in ("tls.crt", "tls.key") if k not in (secret.get("data") or {})]
    if old is not None and kind != old.get("type"):
        errors.append(invalid("type", kind, "field is immutable"))
    return errors + _immutable_data(secret, old, ("data",))


def _ports_errors(ports: Any, path: str) -> list[FieldError]:
    errors, ports = fc.items(ports, path)
    for port_path, port in ports:
        port_errors, port = fc.mapping(port, port_path)
        errors += port_errors + fc.port_number(port.get("port"), f"{port_path}.port", needed=False)
        errors += fc.one_of(port.get("protocol"), f"{port_path}.protocol", PROTOCOLS)
    return errors


def _endpoints_errors(ep: Mapping, old: Mapping | None) -> list[FieldError]:
    errors, subsets = fc.items(ep.get("subsets"), "subsets")
    for path, subset in subsets:
        subset_errors, subset = fc.mapping(subset, path)
        errors += subset_errors
        for field in ("addresses", "notReadyAddresses"):
            list_errors, addresses = fc.items(subset.get(field), f"{path}.{field}")
            errors += list_errors
            errors += [required(f"{p}.ip") for p, a in addresses if not (isinstance(a, Mapping) and a.get("ip"))]
        errors += _ports_errors(subset.get("ports"), f"{path}.ports")
    return errors


def _endpointslice_errors(eps: Mapping, old: Mapping | None) -> list[FieldError]:
    kind = eps.get("addressType")
    errors = [required("addressType")] if not kind else fc.one_of(kind, "addressType", ("FQDN", "IPv4", "IPv6"))
    list_errors, endpoints = fc.items(eps.get("endpoints"), "endpoints")
    errors += list_errors
    for path, endpoint in endpoints:
        addresses = endpoint.get("addresses") if isinstance(endpoint, Mapping) else None
        if not addresses:
            errors.append(required(f"{path}.addresses", "must contain at least 1 address"))
    return errors + _ports_errors(eps.get("ports"), "ports")


# The PriorityClasses the API server makes at start, the only ones a `system-` name may have
SYSTEM_PRIORITY_CLASSES = {"system-cluster-critical": 2000000000, "system-node-critical": 2000001000}


def _priorityclass_errors(pc: Mapping, old: Mapping | None) -> list[FieldError]:
    value = pc.get("value")
    if value is None:
        return [required("value")]
    errors = fc.int_range(value, "value")
    name = get_path(pc, "metadata", "name") or ""
    if name.startswith("system-"):  # (IsKnownSystemPriorityClass)
        known = SYSTEM_PRIORITY_CLASSES.get(name)
        why = (f"{name} is not a known system priority class" if known is None else
               f"value of {name} PriorityClass must be {known}" if value != known else
               f"globalDefault of {name} PriorityClass must be false" if pc.get("globalDefault") else None)
        if why is not None:
            errors.append(forbidden("metadata.name", "priority class names with 'system-' prefix are reserved for "
                                                     f"system use only. error: {why}"))
    if not errors and value > 1_000_000_000 and not name.startswith("system-"):
        errors.append(forbidden("value", "maximum allowed value of a user defined priority is 1000000000"))
    errors += fc.wrong_type(pc.get("globalDefault"), "globalDefault", "boolean")
    errors += fc.one_of(pc.get("preemptionPolicy"), "preemptionPolicy", ("Never", "PreemptLowerPriority"))
    if old is not None and value != old.get("value"):
        errors.append(forbidden("value", "may not be changed in an update."))
    return errors


def _lease_errors(lease: Mapping, old: Mapping | None) -> list[FieldError]:
    errors, spec = fc.mapping(lease.get("spec"), "spec")
    duration = spec.get("leaseDurationSeconds")
    errors += fc.int_range(duration, "spec.leaseDurationSeconds")
    if fc.is_int(duration) and duration <= 0:
        errors.append(invalid("spec.leaseDurationSeconds", duration, "must be greater than 0"))
    return errors + fc.wrong_type(spec.get("holderIdentity"), "spec.holderIdentity", "string")


def _controllerrevision_errors(revision: Mapping, old: Mapping | None) -> list[FieldError]:
    """ValidateControllerRevision: a non-negative revision; its data is fixed once created."""
    number = revision.get("revision")
    errors = fc.int_range(number, "revision", 0) if number is not None else [required("revision")]
    if old is not None and revision.get("data") != old.get("data"):
        errors.append(forbidden("data", "field is immutable"))
    return errors


def _binding_errors(binding: Mapping, old: Mapping | None) -> list[FieldError]:
    errors, target = fc.mapping(binding.get("target"), "target")
    if not target.get("name"):
        errors.append(required("target.name"))
    if target.get("kind") not in (None, "", "Node"):
        errors.append(invalid("target.kind", target.get("kind"), "must be empty or 'Node'"))
    return errors


def _event_errors(event: Mapping, old: Mapping | None) -> list[FieldError]:
    errors, involved = fc.mapping(event.get("involvedObject"), "involvedObject")
    namespace = get_path(event, "metadata", "namespace")
    if involved.get("namespace") and namespace and involved["namespace"] != namespace:
        errors.append(invalid("involvedObject.namespace", involved["namespace"], "does not match event.namespace"))
    return errors


CHECKS: dict[tuple[str, str], Check] = {
    ("", "Pod"): pod_errors,
    ("", "Service"): service_errors,
    ("", "Namespace"): _namespace_errors,
    ("", "Node"): _node_errors,
    ("", "ConfigMap"): _configmap_errors,
    ("", "Secret"): _secret_errors,
    ("", "Endpoints"): _endpoints_errors,
    ("", "Event"): _event_errors,
    ("", "Binding"): _binding_errors,
    ("discovery.k8s.io", "EndpointSlice"): _endpointslice_errors,
    ("coordination.k8s.io", "Lease"): _lease_errors,
    ("apps", "ControllerRevision"): _controllerrevision_errors,
    ("apps", "DaemonSet"): daemonset_errors,
    ("scheduling.k8s.io", "PriorityClass"): _priorityclass_errors,
    ("node.k8s.io", "RuntimeClass"): runtimeclass_errors,
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"): validating_webhook_errors,
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"): mutating_webhook_errors,
    ("apps", "Deployment"): deployment_errors,
    ("apps", "ReplicaSet"): replicaset_errors,
    ("", "ReplicationController"): replicationcontroller_errors,
    ("apps", "StatefulSet"): statefulset_errors,
    ("", "PersistentVolumeClaim"): claim_errors,
    ("", "PersistentVolume"): persistentvolume_errors,
    ("storage.k8s.io", "StorageClass"): storageclass_errors,
    ("batch", "Job"): job_errors,
    ("batch", "CronJob"): cronjob_errors,
    ("policy", "PodDisruptionBudget"): pdb_errors,
    ("autoscaling", "HorizontalPodAutoscaler"): hpa_errors,
    ("networking.k8s.io", "Ingress"): ingress_errors,
    ("networking.k8s.io", "NetworkPolicy"): networkpolicy_errors,
    ("", "ResourceQuota"): quota_errors,
    ("", "LimitRange"): limitrange_errors,
    ("rbac.authorization.k8s.io", "Role"): role_errors,
    ("rbac.authorization.k8s.io", "ClusterRole"): role_errors,
    ("rbac.authorization.k8s.io", "RoleBinding"): role_binding_errors,
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): role_binding_errors,
    (CRD_GROUP, CRD_KIND): crd_errors,
}

# ----------------------------------------------------------- status writes


def _replicas_status_errors(obj: Mapping) -> list[FieldError]:
    errors, status = fc.mapping(obj.get("status"), "status")
    for field in ("replicas", "readyReplicas", "availableReplicas", "updatedReplicas", "fullyLabeledReplicas"):
        errors += fc.int_range(status.get(field), f"status.{field}", 0)
    return errors


def _pod_status_errors(pod: Mapping) -> list[FieldError]:
    errors, status = fc.mapping(pod.get("status"), "status")
    return errors + fc.one_of(status.get("phase"), "status.phase",
                              ("Failed", "Pending", "Running", "Succeeded", "Unknown"))


_STATUS_CHECKS: dict[tuple[str, str], Callable[[Mapping], list[FieldError]]] = {
    ("", "Pod"): _pod_status_errors,
    ("", "Node"): _node_status_errors,
    ("apps", "Deployment"): _replicas_status_errors,
    ("apps", "ReplicaSet"): _replicas_status_errors,
    ("", "ReplicationController"): replicationcontroller_status_errors,
    ("apps", "StatefulSet"): statefulset_status_errors,
    ("", "ResourceQuota"): quota_status_errors,
    ("apps", "DaemonSet"): daemonset_status_errors,
    ("autoscaling", "HorizontalPodAutoscaler"): hpa_status_errors,
}

# kinds whose checks depend on the subresource written (main, status, approval)
_SUBRESOURCE_CHECKS: dict[tuple[str, str], Callable[[Mapping, "Mapping | None", "str | None"], list[FieldError]]] = {
    ("certificates.k8s.io", "CertificateSigningRequest"): csr_errors,
}


def validate(rt: ResourceType, obj: Mapping, old: Mapping | None = None,
             subresource: str | None = None) -> list[FieldError]:
    """Every problem with `obj` (replacing `old`, when given) written through `subresource`."""
    errors = metadata_errors(rt, obj)
    if (rt.group, rt.kind) in _SUBRESOURCE_CHECKS:
        errors += _SUBRESOURCE_CHECKS[(rt.group, rt.kind)](obj, old, subresource)
    elif subresource in ("status", "finalize"):
        check = _STATUS_CHECKS.get((rt.group, rt.kind))
        errors += check(obj) if check else []
    elif subresource == "ephemeralcontainers":
        errors += ephemeral_containers_update_errors(obj, old or {})
    else:
        check = CHECKS.get((rt.group, rt.kind))
        errors += check(obj, old) if check else []
    if rt.is_custom:
        version = str(obj.get("apiVersion") or "").rpartition("/")[2]
        errors += custom_resource_errors(obj, rt.schemas.get(version))
    return errors
