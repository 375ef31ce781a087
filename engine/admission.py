"""Admission: the checks that depend on other objects, and the validation gate.

NamespaceLifecycle (new content needs a live namespace), ServiceAccount (a
new pod's service account must exist; a mirror pod may name none),
StorageObjectInUseProtection (the protection finalizer of a new claim or
volume), the rule that no finalizer may be
added to an object being deleted, names a CRD may not take, and
`validate_or_raise`, which turns every field error of an object into one
upstream-worded `Invalid` error; CertificateApproval (`admit_csr_approval`:
approving a CertificateSigningRequest needs `approve` on its signer); LimitRanger (`admit_limit_ranges`: a new
pod's default requests and limits, then min/max/ratio; `admit_claim_limit_ranges`:
a claim's storage min/max) and ResourceQuota (`charge_quota`: refuse a create,
or a Service or claim update, over `status.hard`, charge it to `status.used`).
A namespace without LimitRanges or ResourceQuotas costs one index lookup each.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping, Sequence

from . import quota, servicetype, tolerations
from .storage import BETA_STORAGE_CLASS, is_default_class
from .apierrors import FieldError, aggregate, forbidden_error, internal_error, invalid, invalid_error, not_found
from .kinds import CRD_GROUP, CRD_KIND, ResourceType
from .objects import freeze, get_path, thaw
from .quantity import Quantity
from .staging import Staging
from .store import service_addresses
from .timeutil import parse_time
from .validation import validate


def admit_namespace(staging: Staging, rt: ResourceType, namespace: str, name: str) -> None:
    """NamespaceLifecycle: new content needs a namespace that exists and is not terminating."""
    ns = staging.get(("", "Namespace", "", namespace))
    if ns is None:
        raise not_found("namespaces", namespace)
    if get_path(ns, "status", "phase") == "Terminating" or get_path(ns, "metadata", "deletionTimestamp"):
        cause = {"reason": "NamespaceTerminating", "message": f"namespace {namespace} is being terminated",
                 "field": "metadata.namespace"}
        raise forbidden_error(rt.resource, name or None, f"unable to create new content in namespace {namespace} "
                              "because it is being terminated", rt.group, causes=[cause])


def admit_default_storage_class(staging: Staging, claim: dict) -> None:
    """DefaultStorageClass: a new claim that names no class (neither `spec.storageClassName`, not even
    "", nor the beta annotation) gets the default one, the newest when several are marked default
    (then by name), and stays without a class when none is."""
    spec = claim.get("spec")
    annotations = get_path(claim, "metadata", "annotations") or {}
    if not isinstance(spec, dict) or "storageClassName" in spec and spec["storageClassName"] is not None \
            or BETA_STORAGE_CLASS in annotations:
        return
    defaults = [c for c in staging.list("storage.k8s.io", "StorageClass") if is_default_class(c)]
    if defaults:
        newest = min(defaults, key=lambda c: (-parse_time(get_path(c, "metadata", "creationTimestamp")),
                                              get_path(c, "metadata", "name") or ""))
        spec["storageClassName"] = get_path(newest, "metadata", "name")


PROTECTION_FINALIZERS = {("", "PersistentVolumeClaim"): "kubernetes.io/pvc-protection",
                         ("", "PersistentVolume"): "kubernetes.io/pv-protection"}


def admit_storage_protection(rt: ResourceType, obj: dict) -> None:
    """StorageObjectInUseProtection: a new claim gets the `kubernetes.io/pvc-protection` finalizer and
    a new volume `kubernetes.io/pv-protection`, after any finalizers of its own (once), so that
    deleting one still in use waits for the pvc-protection and pv-protection rules."""
    finalizer = PROTECTION_FINALIZERS[(rt.group, rt.kind)]
    meta = obj.get("metadata")
    finalizers = meta.get("finalizers") if isinstance(meta, dict) else None
    if not isinstance(meta, dict) or finalizers is not None and not isinstance(finalizers, list):
        return  # (validation says what is wrong with it)
    if finalizer not in (finalizers or ()):
        meta["finalizers"] = [*(finalizers or ()), finalizer]


def admit_runtime_class(staging: Staging, pod: dict, requested_name: str) -> None:
    """RuntimeClass admission on a pod create (after LimitRanger, Priority and DefaultTolerationSeconds,
    as upstream orders them): a pod naming a RuntimeClass that does not exist is refused (403); the
    class's `overhead.podFixed` becomes the pod's `spec.overhead` (refused when the pod sets another),
    its `scheduling.nodeSelector` is merged into the pod's (refused on a key the pod sets otherwise)
    and its tolerations added (MergeTolerations).  A pod that sets an overhead without a class giving
    one is refused.  Refusals name the pod as the request did (`requested_name`, else generateName),
    as upstream's mutating phase does."""
    spec = pod.get("spec")
    if not isinstance(spec, dict):
        return
    name = requested_name or get_path(pod, "metadata", "generateName") or "Unknown"
    class_name = spec.get("runtimeClassName")
    rc = staging.get(("node.k8s.io", "RuntimeClass", "", class_name)) if isinstance(class_name, str) else None
    if class_name is not None and rc is None:
        raise forbidden_error("pods", name, f'pod rejected: RuntimeClass "{class_name}" not found')
    overhead = rc.get("overhead") if rc is not None else None
    if isinstance(overhead, Mapping):
        fixed = overhead.get("podFixed")
        if spec.get("overhead") is not None and not _same_resources(spec["overhead"], fixed):
            raise forbidden_error("pods", name, "pod rejected: Pod's Overhead doesn't match RuntimeClass's "
                                  "defined Overhead")
        spec.pop("overhead", None)
        if fixed is not None:
            spec["overhead"] = thaw(fixed)
    scheduling = rc.get("scheduling") if rc is not None else None
    if isinstance(scheduling, Mapping):
        _merge_scheduling(spec, scheduling, name)


def refuse_unclaimed_overhead(staging: Staging, pod: Mapping) -> None:
    """RuntimeClass's validating phase, after the pod's validation: a pod may set `spec.overhead` only
    as its RuntimeClass's overhead gave it (403 otherwise)."""
    spec = pod.get("spec") or {}
    if spec.get("overhead") is None:
        return
    class_name = spec.get("runtimeClassName")
    rc = staging.get(("node.k8s.io", "RuntimeClass", "", class_name)) if isinstance(class_name, str) else None
    if not isinstance(get_path(rc, "overhead") if rc is not None else None, Mapping):
        raise forbidden_error("pods", _admission_name(pod), "pod rejected: Pod Overhead set without corresponding "
                              "RuntimeClass defined Overhead")


def _same_resources(a, b) -> bool:
    """Two resource lists alike as quantities (upstream's Semantic.DeepEqual)."""
    if not isinstance(a, Mapping) or not isinstance(b, Mapping):
        return a == b
    try:
        return a.keys() == b.keys() and all(Quantity(a[r]) == Quantity(b[r]) for r in a)
    except (TypeError, ValueError):
        return False


def _merge_scheduling(spec: dict, scheduling: Mapping, pod_name: str) -> None:
    """setScheduling: the class's node selector merged into the pod's, its tolerations added."""
    selector = spec.get("nodeSelector")
    wanted = scheduling.get("nodeSelector") or {}
    if selector is None:
        selector = thaw(wanted) if wanted else None
    elif isinstance(selector, dict):
        for key, value in wanted.items():
            if key in selector and selector[key] != value:
                raise forbidden_error("pods", pod_name, f"conflict: runtimeClass.scheduling.nodeSelector[{key}] = "
                                      f"{value}; pod.spec.nodeSelector[{key}] = {selector[key]}")
            selector[key] = value
    if selector is not None:
        spec["nodeSelector"] = selector
    own = spec.get("tolerations")
    if isinstance(own, list):
        merged = tolerations.merge_tolerations(own, thaw(scheduling.get("tolerations") or []))
        spec["tolerations"] = merged or own


MIRROR_POD = "kubernetes.io/config.mirror"


def admit_service_account(staging: Staging, pod: Mapping, requested_name: str) -> None:
    """ServiceAccount admission on a pod create: its service account must exist in its namespace (403 if not).

    Upstream looks the `default` account up for about a second before refusing,
    since its controller makes one in every new namespace; recon cannot wait
    inside a request for the rules to run, so `default` is never required.  A
    mirror pod (the kubelet's copy of a static pod) may not reference an
    account, secrets or service account tokens at all.  `requested_name` is the
    request's name ("" when the server generates one): upstream runs this
    before a name is generated, so such a pod is refused under its generateName.
    """
    spec = pod.get("spec") if isinstance(pod.get("spec"), Mapping) else {}
    meta = pod.get("metadata") or {}
    name = requested_name or meta.get("generateName") or "Unknown"
    if MIRROR_POD in (meta.get("annotations") or {}):
        refusal = _mirror_pod_refusal(spec)
        if refusal:
            raise forbidden_error("pods", name, refusal)
        return
    account = spec.get("serviceAccountName") or "default"
    namespace = meta.get("namespace") or ""
    if account == "default" or staging.get(("", "ServiceAccount", namespace, account)) is not None:
        return
    raise forbidden_error("pods", name, f"error looking up service account {namespace}/{account}: "
                          f'serviceaccount "{account}" not found')


def _mirror_pod_refusal(spec: Mapping) -> str | None:
    """Why upstream refuses a mirror pod: it names a service account, a secret, or a projected token."""
    if spec.get("serviceAccountName"):
        return "a mirror pod may not reference service accounts"
    if next(_pod_secret_names(spec), None) is not None:
        return "a mirror pod may not reference secrets"
    for volume in _mappings(spec.get("volumes")):
        if any("serviceAccountToken" in source for source in _mappings(get_path(volume, "projected", "sources"))):
            return "a mirror pod may not use ServiceAccountToken volume projections"
    return None


# The volume sources whose `secretRef` names a Secret (upstream's VisitPodSecretNames).
_SECRET_REF_VOLUMES = ("cephfs", "cinder", "flexVolume", "iscsi", "rbd", "scaleIO", "storageos")


def _pod_secret_names(spec: Mapping):
    """Every Secret a pod spec names: pull secrets, containers' env and envFrom, volumes (upstream's
    VisitPodSecretNames over all containers, ephemeral ones too)."""
    for ref in _mappings(spec.get("imagePullSecrets")):
        yield ref.get("name") or ""
    for field in ("initContainers", "containers", "ephemeralContainers"):
        for container in _mappings(spec.get(field)):
            for source in _mappings(container.get("envFrom")):
                if isinstance(source.get("secretRef"), Mapping):
                    yield source["secretRef"].get("name") or ""
            for env in _mappings(container.get("env")):
                ref = get_path(env, "valueFrom", "secretKeyRef")
                if isinstance(ref, Mapping):
                    yield ref.get("name") or ""
    for volume in _mappings(spec.get("volumes")):
        yield from _volume_secret_names(volume)


def _volume_secret_names(volume: Mapping):
    if isinstance(volume.get("secret"), Mapping):
        yield volume["secret"].get("secretName") or ""
    if isinstance(volume.get("azureFile"), Mapping):
        yield volume["azureFile"].get("secretName") or ""
    for kind in _SECRET_REF_VOLUMES:
        ref = get_path(volume, kind, "secretRef")
        if isinstance(ref, Mapping):
            yield ref.get("name") or ""
    ref = get_path(volume, "csi", "nodePublishSecretRef")
    if isinstance(ref, Mapping):
        yield ref.get("name") or ""
    for source in _mappings(get_path(volume, "projected", "sources")):
        if isinstance(source.get("secret"), Mapping):
            yield source["secret"].get("name") or ""


def _mappings(items) -> list:
    """The mappings of a list field (nothing when the field is missing or not a list)."""
    return [item for item in items if isinstance(item, Mapping)] if isinstance(items, (list, tuple)) else []


def _new_finalizer_errors(old: Mapping | None, new: Mapping) -> list[FieldError]:
    if old is None or not get_path(old, "metadata", "deletionTimestamp"):
        return []
    before = set(get_path(old, "metadata", "finalizers") or ())
    added = sorted(set(get_path(new, "metadata", "finalizers") or ()) - before)
    if not added:
        return []
    shown = "[]string{" + ", ".join(f'"{f}"' for f in added) + "}"
    return [FieldError("FieldValueForbidden", "metadata.finalizers", None,
                       f"no new finalizers can be added if the object is being deleted, found new finalizers {shown}")]


def _crd_conflicts(staging: Staging, crd: Mapping) -> list[FieldError]:
    group, kind = get_path(crd, "spec", "group") or "", get_path(crd, "spec", "names", "kind") or ""
    existing = staging.registry.get(group, kind)
    if existing is None or existing.is_custom and existing.plural == get_path(crd, "spec", "names", "plural"):
        return []
    reason = "conflicts with a built-in kind" if not existing.is_custom else f"is already in use by {existing.resource}"
    return [FieldError("FieldValueInvalid", "spec.names.kind", kind, reason)]


# The apiserver's --service-cluster-ip-range and --service-node-port-range (the
# allocation itself is done by rules/service-ip.rules, which uses the same ranges).
SERVICE_CLUSTER_IP_RANGE = "10.96.0.0/12"
SERVICE_NODE_PORT_RANGE = (30000, 32767)


def _service_address_errors(staging: Staging, svc: Mapping, old: Mapping | None) -> list[FieldError]:
    """An explicit clusterIP or nodePort must be in range and not taken by another Service
    (upstream's ipallocator / portallocator errors).  Only values new to this write are checked."""
    ip = get_path(svc, "spec", "clusterIP")
    old_ip = get_path(old, "spec", "clusterIP") if old is not None else None
    old_ports = {p.get("nodePort") for p in (get_path(old, "spec", "ports") or ())} if old is not None else set()
    new_ports = [(i, p.get("nodePort")) for i, p in enumerate(get_path(svc, "spec", "ports") or ())
                 if isinstance(p, Mapping) and isinstance(p.get("nodePort"), int) and p.get("nodePort") not in old_ports]
    check_ip = isinstance(ip, str) and ip not in ("", "None") and ip != old_ip
    if not check_ip and not new_ports:
        return []
    me = ("", "Service", get_path(svc, "metadata", "namespace") or "", get_path(svc, "metadata", "name"))
    errors = []
    if check_ip:
        try:
            in_range = ipaddress.ip_address(ip) in ipaddress.ip_network(SERVICE_CLUSTER_IP_RANGE)
        except ValueError:
            in_range = True  # a malformed address is validation's to report
        reason = None
        if not in_range:
            reason = (f"the provided IP ({ip}) is not in the valid range. "
                      f"The range of valid IPs is {SERVICE_CLUSTER_IP_RANGE}")
        elif _held_by_another(staging, me, ("ip", ip)):
            reason = "provided IP is already allocated"
        if reason:
            errors.append(FieldError("FieldValueInvalid", "spec.clusterIPs[0]", ip,
                                     f"failed to allocate IP {ip}: {reason}"))
    lo, hi = SERVICE_NODE_PORT_RANGE
    seen: set = set()
    for i, port in new_ports:
        if not lo <= port <= hi:
            reason = f"provided port is not in the valid range. The range of valid ports is {lo}-{hi}"
        elif port in seen or _held_by_another(staging, me, ("port", port)):
            reason = "provided port is already allocated"
        else:
            reason = None
        seen.add(port)
        if reason:
            errors.append(FieldError("FieldValueInvalid", f"spec.ports[{i}].nodePort", port, reason))
    return errors


def _service_family_errors(spec: Mapping) -> list[FieldError]:
    """The IP families this single-stack cluster lacks (upstream's initIPFamilyFields, which runs
    before allocation): a cluster IP of another family, another family asked for, or a dual-stack
    requirement.  A headless Service without a selector may name any family."""
    if (spec.get("type") or "ClusterIP") == "ExternalName" or servicetype.headless_without_selector(spec):
        return []
    ips, families = (list(value) if isinstance(value := spec.get(field), Sequence) and not isinstance(value, str)
                     else [] for field in ("clusterIPs", "ipFamilies"))
    shown = "[]string{" + ", ".join(json.dumps(ip) for ip in ips) + "}"
    errors = [FieldError("Preformatted", f"spec.clusterIPs[{i}]", None,
                         f"Invalid value: {shown}: {family} is not configured on this cluster")
              for i, family in enumerate(map(servicetype.family_of, ips))
              if i >= len(families) and family is not None and family not in servicetype.CLUSTER_FAMILIES]
    if errors:
        return errors
    if spec.get("ipFamilyPolicy") == "RequireDualStack" and len(servicetype.CLUSTER_FAMILIES) < 2:
        errors.append(invalid("spec.ipFamilyPolicy", "RequireDualStack",
                              "this cluster is not configured for dual-stack services"))
    errors += [invalid(f"spec.ipFamilies[{i}]", family, "not configured on this cluster")
               for i, family in enumerate(families)
               if family not in servicetype.CLUSTER_FAMILIES and family in ("IPv4", "IPv6")]
    return errors


def _held_by_another(staging: Staging, me: tuple, address: tuple) -> bool:
    """Does a Service other than `me` hold `address` (("ip", clusterIP) or ("port", a node or
    health-check node port)) in the staged state?  Found through the store's address index, not by
    reading every Service."""
    candidates = set(staging.snapshot.index("address", address))
    candidates.update(key for key in staging.objects if key[:2] == ("", "Service"))
    return any(key != me and (obj := staging.get(key)) is not None and address in service_addresses(obj.get("spec"))
               for key in candidates)


def _admit_health_check_port(staging: Staging, svc: Mapping, old: Mapping | None) -> None:
    """An explicit health-check node port new to this write must be in the node port range and
    not held, by another Service or by this one's node ports: upstream's allocHealthCheckNodePort,
    whose refusal is an internal error (500), not a field error."""
    spec = svc.get("spec") or {}
    port = spec.get("healthCheckNodePort")
    if (not isinstance(port, int) or not servicetype.needs_health_check_port(spec)
            or old is not None and port == get_path(old, "spec", "healthCheckNodePort")):
        return
    lo, hi = SERVICE_NODE_PORT_RANGE
    me = ("", "Service", get_path(svc, "metadata", "namespace") or "", get_path(svc, "metadata", "name"))
    own = {p.get("nodePort") for p in (spec.get("ports") or ()) if isinstance(p, Mapping)}
    if not lo <= port <= hi:
        reason = f"provided port is not in the valid range. The range of valid ports is {lo}-{hi}"
    elif port in own or _held_by_another(staging, me, ("port", port)):
        reason = "provided port is already allocated"
    else:
        return
    raise internal_error(f"failed to allocate requested HealthCheck NodePort {port}: {reason}")


def admit_csr_approval(staging: Staging, obj: Mapping) -> None:
    """CertificateApproval (plugin/pkg/admission/certificates/approval): a write of a request's
    `approval` subresource needs `approve` on the signers of its signerName.  Only API callers
    carry RBAC; the engine's own actors are not checked."""
    grantor = staging.grantor
    if grantor is None:
        return
    signer = get_path(obj, "spec", "signerName")
    signer = signer if isinstance(signer, str) else ""
    if not grantor.may_sign(staging.snapshot, "approve", signer):
        raise forbidden_error("certificatesigningrequests.certificates.k8s.io", _admission_name(obj),
                              f"user not permitted to approve requests with signerName {json.dumps(signer)}",
                              group="certificates.k8s.io")


def validate_or_raise(staging: Staging, rt: ResourceType, obj: Mapping, old: Mapping | None,
              subresource: str | None = None) -> None:
    errors = validate(rt, obj, old, subresource) + _new_finalizer_errors(old, obj)
    if (rt.group, rt.kind) == (CRD_GROUP, CRD_KIND) and not errors:
        errors += _crd_conflicts(staging, obj)
    if (rt.group, rt.kind) == ("", "Service") and not errors and subresource is None:
        errors += _service_family_errors(obj.get("spec") or {}) or _service_address_errors(staging, obj, old)
    if errors:
        raise invalid_error(rt.group_kind, get_path(obj, "metadata", "name") or "", errors, rt.group)
    if (rt.group, rt.kind) == ("", "Service") and subresource is None:
        _admit_health_check_port(staging, obj, old)
    if (rt.group, rt.kind) == ("scheduling.k8s.io", "PriorityClass") and obj.get("globalDefault"):
        _one_global_default(staging, obj)


def _one_global_default(staging: Staging, pc: Mapping) -> None:
    """Priority admission on a PriorityClass: only one may be the global default (a 403 naming it)."""
    name = get_path(pc, "metadata", "name") or ""
    for key in staging.snapshot.keys("scheduling.k8s.io", "PriorityClass", ""):
        other = staging.get(key)
        if other is not None and other.get("globalDefault") and key[3] != name:
            raise forbidden_error("priorityclasses.scheduling.k8s.io", name, f"PriorityClass {key[3]} is already "
                                  "marked as default. Only one default can exist", "scheduling.k8s.io")


LIMIT_RANGER_ANNOTATION = "kubernetes.io/limit-ranger"


def admit_limit_ranges(staging: Staging, pod: dict) -> dict:
    """LimitRanger on a pod create (the request's body, before PrepareForCreate): fill each
    container's missing requests and limits from the namespace's `type: Container` defaults, then
    refuse (403) a pod outside a min, max or maxLimitRequestRatio of a Container or Pod limit.
    (A claim's PersistentVolumeClaim limits: `admit_claim_limit_ranges`.)"""
    keys = staging.snapshot.keys("", "LimitRange", get_path(pod, "metadata", "namespace") or "")
    if not keys:
        return pod
    ranges = [lr for lr in map(staging.get, keys) if lr is not None]
    pod = thaw(pod)
    notes: list[str] = []
    for limit_range in ranges:
        requests, limits = quota.container_defaults(limit_range)
        if not requests and not limits:
            continue
        spec = pod.setdefault("spec", {})
        for field, kind in (("containers", "container"), ("initContainers", "init container")):
            for container in spec.get(field) or ():
                notes += quota.default_container(container, requests, limits, kind)
    if notes:
        annotations = pod["metadata"].setdefault("annotations", {})
        annotations[LIMIT_RANGER_ANNOTATION] = "LimitRanger plugin set: " + "; ".join(notes)
    errors = [e for limit_range in ranges for e in quota.limit_errors(limit_range, pod)]
    if errors:
        raise forbidden_error("pods", _admission_name(pod), aggregate(errors))
    return pod


def admit_claim_limit_ranges(staging: Staging, claim: Mapping, old: Mapping | None = None) -> None:
    """LimitRanger on a claim's create or update: refuse (403) requests outside the min or max of a
    `type: PersistentVolumeClaim` limit.  An update is checked only when it changes the requests (upstream
    checks every update, so a claim that a later LimitRange rules out could not even be bound), and not
    at all while the claim is being deleted, as upstream."""
    if old is not None and (get_path(old, "metadata", "deletionTimestamp")
                            or _requests(old) == _requests(claim)):
        return
    keys = staging.snapshot.keys("", "LimitRange", get_path(claim, "metadata", "namespace") or "")
    errors = [e for limit_range in map(staging.get, keys) if limit_range is not None
              for e in quota.claim_limit_errors(limit_range, claim)]
    if errors:
        raise forbidden_error("persistentvolumeclaims", _admission_name(claim), aggregate(errors))


def _requests(claim: Mapping) -> Mapping | None:
    return get_path(claim, "spec", "resources", "requests")


def charge_quota(staging: Staging, rt: ResourceType, obj: Mapping, old: Mapping | None = None) -> None:
    """ResourceQuota admission on a create, or on an update (`old`) of a kind whose usage an update
    can change (a Service's type and ports, a claim's storage request): for each quota of the
    namespace whose status.hard counts the object (and whose scopes take it in), refuse (403) a pod
    that leaves out a resource the quota needs (`failed quota: …`), or a write that would take
    status.used past status.hard (`exceeded quota: …`); else charge it to status.used, staged with
    it, as upstream's admission updates the quota's status.  An update is charged what it adds (what
    it gives back is the quota controller's to recount: rules/resourcequota.rules)."""
    namespace = get_path(obj, "metadata", "namespace") or ""
    if old is not None and (rt.group, rt.kind) not in quota.CHARGED_ON_UPDATE:
        return
    keys = staging.snapshot.keys("", "ResourceQuota", namespace) if rt.namespaced else ()
    if not keys:
        return
    usage: dict | None = None
    for key in keys:
        q = staging.get(key)
        hard = get_path(q, "status", "hard") if q is not None else None
        restricted = quota.matching_resources(rt.group, rt.kind, rt.plural, hard or ())
        if not restricted or not quota.matches(q, rt.group, rt.kind, obj):
            continue
        name = key[3]
        if (rt.group, rt.kind) == ("", "Pod"):
            missing = quota.missing_constraints(obj, restricted)
            if missing:
                raise forbidden_error(rt.resource, _admission_name(obj), f"failed quota: {name}: {missing}", rt.group)
        used = get_path(q, "status", "used") or {}
        if any(r not in used for r in restricted):
            raise forbidden_error(rt.resource, _admission_name(obj), f"status unknown for quota: {name}, "
                                  f"resources: {','.join(restricted)}", rt.group)
        if usage is None:
            usage = quota.usage(rt.group, rt.kind, rt.plural, obj)
            if old is not None:
                usage = quota.update_delta(quota.usage(rt.group, rt.kind, rt.plural, old), usage)
        requested = {r: usage[r] for r in restricted if r in usage and not usage[r].is_zero()}
        if not requested:
            continue
        new_used = {r: Quantity(used[r]) + amount for r, amount in requested.items()}
        over = quota.exceeded(new_used, hard)
        if over:
            raise forbidden_error(rt.resource, _admission_name(obj), (
                f"exceeded quota: {name}, requested: {quota.pretty({r: requested[r] for r in over})}, "
                f"used: {quota.pretty({r: used[r] for r in over})}, limited: {quota.pretty({r: hard[r] for r in over})}"),
                rt.group)
        staged = thaw(q)
        staged["status"]["used"] = {**used, **{r: str(amount) for r, amount in new_used.items()}}
        staging.put(key, freeze(staged))


def _admission_name(obj: Mapping) -> str:
    """extractResourceName: the object's name (generated by now), else its generateName."""
    meta = obj.get("metadata") or {}
    return meta.get("name") or meta.get("generateName") or "Unknown"
