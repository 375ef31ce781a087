"""Validation of StatefulSets and PersistentVolumeClaims.

Worded as upstream's `ValidateStatefulSet` / `ValidateStatefulSetUpdate`
(pkg/apis/apps/validation) and `ValidatePersistentVolumeClaim` /
`ValidatePersistentVolumeClaimUpdate` (pkg/apis/core/validation).
"""

from __future__ import annotations

from collections.abc import Mapping

from . import fieldcheck as fc
from .apierrors import FieldError, forbidden, invalid, not_supported, required
from .validate_workloads import _no_active_deadline, _template_errors

_ACCESS_MODES = ("ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod")
_RETENTION = ("Retain", "Delete")
# the spec fields an update may change (ValidateStatefulSetUpdate)
_STS_MUTABLE = ("replicas", "ordinals", "template", "updateStrategy", "revisionHistoryLimit",
                "persistentVolumeClaimRetentionPolicy", "minReadySeconds")
_STS_IMMUTABLE = ("updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', "
                  "'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and "
                  "'minReadySeconds' are forbidden")


def _policy_errors(spec: Mapping) -> list[FieldError]:
    """podManagementPolicy: OrderedReady or Parallel."""
    policy = spec.get("podManagementPolicy")
    if not policy:
        return [required("spec.podManagementPolicy")]
    if policy not in ("OrderedReady", "Parallel"):
        return [invalid("spec.podManagementPolicy", policy, "must be 'OrderedReady' or 'Parallel'")]
    return []


def _update_strategy_errors(spec: Mapping) -> list[FieldError]:
    errors, strategy = fc.mapping(spec.get("updateStrategy"), "spec.updateStrategy")
    kind, rolling = strategy.get("type"), strategy.get("rollingUpdate")
    if errors:
        return errors
    if not kind:
        return errors + [required("spec.updateStrategy")]
    if kind == "OnDelete":
        if rolling is not None:
            errors.append(invalid("spec.updateStrategy.rollingUpdate", rolling,
                                  "only allowed for updateStrategy 'RollingUpdate'"))
    elif kind == "RollingUpdate":
        rolling_errors, rolling = fc.mapping(rolling, "spec.updateStrategy.rollingUpdate")
        errors += rolling_errors + fc.int_range(rolling.get("partition"), "spec.updateStrategy.rollingUpdate.partition", 0)
    else:
        errors.append(invalid("spec.updateStrategy", strategy, "must be 'RollingUpdate' or 'OnDelete'"))
    return errors


def _retention_errors(spec: Mapping) -> list[FieldError]:
    path = "spec.persistentVolumeClaimRetentionPolicy"
    errors, policy = fc.mapping(spec.get("persistentVolumeClaimRetentionPolicy"), path)
    for field in ("whenDeleted", "whenScaled"):
        value = policy.get(field)
        if value is not None and value not in _RETENTION:
            errors.append(not_supported(f"{path}.{field}", value, _RETENTION))
    return errors


def statefulset_errors(sts: Mapping, old: Mapping | None) -> list[FieldError]:
    """ValidateStatefulSet, and on an update ValidateStatefulSetUpdate's immutable spec."""
    if sts.get("spec") is None:
        return [required("spec")]
    errors, spec = fc.mapping(sts.get("spec"), "spec")
    errors += _policy_errors(spec) + _update_strategy_errors(spec) + _retention_errors(spec)
    errors += fc.int_range(spec.get("replicas"), "spec.replicas", 0)
    errors += fc.int_range(spec.get("minReadySeconds"), "spec.minReadySeconds", 0)
    errors += fc.int_range(spec.get("revisionHistoryLimit"), "spec.revisionHistoryLimit", 0)
    ordinal_errors, ordinals = fc.mapping(spec.get("ordinals"), "spec.ordinals")
    errors += ordinal_errors + fc.int_range(ordinals.get("start"), "spec.ordinals.start", 0)
    errors += fc.wrong_type(spec.get("serviceName"), "spec.serviceName", "string")
    claim_errors, claims = fc.items(spec.get("volumeClaimTemplates"), "spec.volumeClaimTemplates")
    for claim_path, claim in claims:
        claim_errors += fc.mapping(claim, claim_path)[0]
    errors += claim_errors + _template_errors(spec, "statefulset") + _no_active_deadline(spec, "StatefulSet")
    if old is not None and not errors:
        errors += _immutable_errors(spec, old.get("spec") or {})
    return errors


def _immutable_errors(spec: Mapping, old_spec: Mapping) -> list[FieldError]:
    fixed = {k: v for k, v in spec.items() if k not in _STS_MUTABLE}
    was = {k: v for k, v in old_spec.items() if k not in _STS_MUTABLE}
    return [] if fixed == was else [forbidden("spec", _STS_IMMUTABLE)]


def statefulset_status_errors(sts: Mapping) -> list[FieldError]:
    """ValidateStatefulSetStatus: the counts are not negative."""
    errors, status = fc.mapping(sts.get("status"), "status")
    for field in ("replicas", "readyReplicas", "currentReplicas", "updatedReplicas", "availableReplicas",
                  "observedGeneration", "collisionCount"):
        errors += fc.int_range(status.get(field), f"status.{field}", 0)
    return errors


# ------------------------------------------------------------ claims


def claim_spec_errors(spec: Mapping, path: str) -> list[FieldError]:
    """ValidatePersistentVolumeClaimSpec: access modes, a positive storage request, the volume mode."""
    errors, modes = fc.items(spec.get("accessModes"), f"{path}.accessModes")
    if not modes and not errors:
        errors.append(required(f"{path}.accessModes", "at least 1 access mode is required"))
    for _, mode in modes:
        errors += fc.one_of(mode, f"{path}.accessModes", _ACCESS_MODES)
    resource_errors, resources = fc.mapping(spec.get("resources"), f"{path}.resources")
    request_errors, requests = fc.mapping(resources.get("requests"), f"{path}.resources.requests")
    errors += resource_errors + request_errors
    storage = requests.get("storage")
    where = f"{path}.resources.requests[storage]"
    if storage is None:
        errors.append(required(where))
    else:
        found = fc.quantity(storage, where)
        if not found and fc.quantity_value(storage) <= 0:
            found = [invalid(where, storage, "must be greater than zero")]
        errors += found
    if spec.get("selector") is not None:
        errors += fc.label_selector(spec["selector"], f"{path}.selector")
    if spec.get("storageClassName"):
        errors += fc.named(spec["storageClassName"], f"{path}.storageClassName")
    return errors + fc.one_of(spec.get("volumeMode"), f"{path}.volumeMode", ("Block", "Filesystem"))


_BETA_CLASS = "volume.beta.kubernetes.io/storage-class"


def claim_errors(claim: Mapping, old: Mapping | None) -> list[FieldError]:
    """ValidatePersistentVolumeClaim; on an update only the storage request may change, besides
    what binding sets: `volumeName` once, and a class where none was (a retroactive default)."""
    if claim.get("spec") is None:
        return [required("spec")]
    errors, spec = fc.mapping(claim.get("spec"), "spec")
    errors += claim_spec_errors(spec, "spec")
    if old is not None and not errors:
        old_spec = old.get("spec") or {}
        free = {"resources", "volumeAttributesClassName"}
        if not old_spec.get("volumeName"):
            free.add("volumeName")
        old_annotations = (old.get("metadata") or {}).get("annotations") or {}
        if _BETA_CLASS not in old_annotations and old_spec.get("storageClassName") is None \
                and spec.get("storageClassName"):
            free.add("storageClassName")
        fixed = {k: v for k, v in spec.items() if k not in free}
        was = {k: v for k, v in old_spec.items() if k not in free}
        if fixed != was:
            errors.append(forbidden("spec", "spec is immutable after creation except resources.requests and "
                                            "volumeAttributesClassName for bound claims"))
    return errors
