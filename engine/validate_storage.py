"""Validation of PersistentVolumes and StorageClasses.

Worded as upstream's `ValidatePersistentVolume(Update)` (pkg/apis/core/validation)
and `ValidateStorageClass(Update)` (pkg/apis/storage/validation):

- a volume has access modes (ReadWriteOncePod alone), a `storage` capacity
  and nothing else, a reclaim policy upstream knows, exactly one volume
  source (the common ones checked field by field: hostPath, local, nfs, csi),
  node affinity as a node selector (a local volume needs one), a class name
  that is a DNS subdomain and a volume mode; its source, volume mode and
  node affinity never change;
- a class names a provisioner (a qualified name), parameters with non-empty
  keys, reclaimPolicy Delete or Retain and a volumeBindingMode; provisioner,
  parameters, reclaimPolicy and volumeBindingMode never change.

`spec.claimRef` is not checked beyond its shape, as upstream does not check it.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from typing import Any

from . import fieldcheck as fc
from .apierrors import FieldError, forbidden, invalid, not_supported, required
from .selectors import label_key_errors

ACCESS_MODES = ("ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod")
_RECLAIM_POLICIES = ("Delete", "Recycle", "Retain")
_CLASS_RECLAIM_POLICIES = ("Delete", "Retain")
_BINDING_MODES = ("Immediate", "WaitForFirstConsumer")
_VOLUME_MODES = ("Block", "Filesystem")
_HOST_PATH_TYPES = ("", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File", "FileOrCreate",
                    "Socket")
# the volume sources, in upstream's order, with the path its "more than 1 volume type" error names
_SOURCES = (("hostPath", "hostPath"), ("gcePersistentDisk", "gcePersistentDisk"),
            ("awsElasticBlockStore", "awsElasticBlockStore"), ("glusterfs", "glusterfs"), ("flocker", "flocker"),
            ("nfs", "nfs"), ("rbd", "rbd"), ("quobyte", "quobyte"), ("cephfs", "cephFS"), ("iscsi", "iscsi"),
            ("cinder", "cinder"), ("fc", "fc"), ("flexVolume", None), ("azureFile", "azureFile"),
            ("vsphereVolume", "vsphereVolume"), ("photonPersistentDisk", "photonPersistentDisk"),
            ("portworxVolume", "portworxVolume"), ("azureDisk", "azureDisk"), ("scaleIO", "scaleIO"),
            ("local", "local"), ("storageos", "storageos"), ("csi", "csi"))
SOURCE_FIELDS = tuple(key for key, _ in _SOURCES)
_IMMUTABLE = "field is immutable"
_MAX_PARAMETERS = 512
_MAX_PARAMETER_BYTES = 256 * 1024


# ------------------------------------------------------------ volumes


def persistentvolume_errors(pv: Mapping, old: Mapping | None) -> list[FieldError]:
    """ValidatePersistentVolume, and on an update ValidatePersistentVolumeUpdate."""
    if pv.get("spec") is None:
        return [required("spec")]
    errors, spec = fc.mapping(pv.get("spec"), "spec")
    errors += access_mode_errors(spec.get("accessModes"), "spec.accessModes", "")
    errors += _capacity_errors(spec.get("capacity"))
    errors += fc.one_of(spec.get("persistentVolumeReclaimPolicy"), "spec.persistentVolumeReclaimPolicy",
                        _RECLAIM_POLICIES)
    affinity = spec.get("nodeAffinity")
    if affinity is not None:
        errors += _volume_node_affinity_errors(affinity, "spec.nodeAffinity")
    errors += _source_errors(spec, affinity is not None)
    errors += fc.mapping(spec.get("claimRef"), "spec.claimRef")[0]
    host_path = spec.get("hostPath") if isinstance(spec.get("hostPath"), Mapping) else {}
    if (isinstance(host_path.get("path"), str) and posixpath.normpath(host_path["path"]) == "/"
            and spec.get("persistentVolumeReclaimPolicy") == "Recycle"):
        errors.append(forbidden("spec.persistentVolumeReclaimPolicy",
                                "may not be 'recycle' for a hostPath mount of '/'"))
    if spec.get("storageClassName"):
        errors += fc.named(spec["storageClassName"], "spec.storageClassName")
    errors += fc.one_of(spec.get("volumeMode"), "spec.volumeMode", _VOLUME_MODES)
    if old is not None:
        errors += _volume_update_errors(spec, old.get("spec") or {})
    return errors


def access_mode_errors(modes: Any, path: str, empty_detail: str) -> list[FieldError]:
    """The access modes of a volume or claim: at least one, each known, ReadWriteOncePod alone."""
    errors, found = fc.items(modes, path)
    if not found and not errors:
        return [required(path, empty_detail)]
    for _, mode in found:
        errors += fc.one_of(mode, path, ACCESS_MODES)
    known = [mode for _, mode in found if mode in ACCESS_MODES]
    if "ReadWriteOncePod" in known and any(mode != "ReadWriteOncePod" for mode in known):
        errors.append(forbidden(path, "may not use ReadWriteOncePod with other access modes"))
    return errors


def _capacity_errors(capacity: Any) -> list[FieldError]:
    errors, capacity = fc.mapping(capacity, "spec.capacity")
    if errors:
        return errors
    if not capacity:
        errors.append(required("spec.capacity"))
    if "storage" not in capacity or len(capacity) > 1:
        errors.append(not_supported("spec.capacity", dict(capacity), ["storage"]))
    for name, amount in capacity.items():
        path = f"spec.capacity[{name}]"
        found = fc.quantity(amount, path)
        if not found and fc.quantity_value(amount) <= 0:
            found = [invalid(path, amount, "must be greater than zero")]
        errors += found
    return errors


def _source_errors(spec: Mapping, has_affinity: bool) -> list[FieldError]:
    """Exactly one volume source, each checked as upstream checks the common ones."""
    errors, count = [], 0
    for key, forbidden_path in _SOURCES:
        source = spec.get(key)
        if source is None:
            continue
        if count and forbidden_path is not None:
            errors.append(forbidden(f"spec.{forbidden_path}", "may not specify more than 1 volume type"))
            continue
        count += 1
        errors += _one_source_errors(key, source, f"spec.{key}")
        if key == "local" and not has_affinity:
            errors.append(required("spec.nodeAffinity", "Local volume requires node affinity"))
    if count == 0:
        errors.append(required("spec", "must specify a volume type"))
    return errors


def _one_source_errors(key: str, source: Any, path: str) -> list[FieldError]:
    errors, source = fc.mapping(source, path)
    if errors:
        return errors
    if key in ("hostPath", "local"):
        errors += _local_path_errors(source.get("path"), f"{path}.path")
        if key == "hostPath":
            errors += fc.one_of(source.get("type"), f"{path}.type", _HOST_PATH_TYPES)
    elif key == "nfs":
        if not source.get("server"):
            errors.append(required(f"{path}.server"))
        where = source.get("path")
        if not where:
            errors.append(required(f"{path}.path"))
        elif isinstance(where, str) and not where.startswith("/"):
            errors.append(invalid(f"{path}.path", where, "must be an absolute path"))
    elif key == "csi":
        driver = source.get("driver")
        if not driver:
            errors.append(required(f"{path}.driver"))
        else:
            errors += fc.named(driver, f"{path}.driver", _csi_driver_name_errors)
        if not source.get("volumeHandle"):
            errors.append(required(f"{path}.volumeHandle"))
    return errors


def _local_path_errors(value: Any, path: str) -> list[FieldError]:
    if not value:
        return [required(path)]
    if not isinstance(value, str):
        return fc.wrong_type(value, path, "string")
    if ".." in value.split("/"):
        return [invalid(path, value, "must not contain '..'")]
    return []


def _csi_driver_name_errors(name: str) -> list[str]:
    """ValidateCSIDriverName: at most 63 characters, alphanumerics with '-', '_' and '.' inside."""
    found = []
    if len(name) > 63:
        found.append("must be no more than 63 characters")
    ok = name[:1].isalnum() and name[-1:].isalnum() and all(c.isalnum() or c in "-_." for c in name)
    if not (name.isascii() and ok):
        found.append(fc.regex_error("a DNS-1123 subdomain must consist of lower case alphanumeric characters, '-' "
                                    "or '.', and must start and end with an alphanumeric character",
                                    "^[a-zA-Z0-9][-a-zA-Z0-9_.]{0,61}[a-zA-Z-0-9]$", "example.com"))
    return found


def _volume_node_affinity_errors(affinity: Any, path: str) -> list[FieldError]:
    """validateVolumeNodeAffinity: a required node selector, with at least one term."""
    errors, affinity = fc.mapping(affinity, path)
    if errors:
        return errors
    selector = affinity.get("required")
    if selector is None:
        return [required(f"{path}.required", "must specify required node constraints")]
    errors, selector = fc.mapping(selector, f"{path}.required")
    term_errors, terms = fc.items(selector.get("nodeSelectorTerms"), f"{path}.required.nodeSelectorTerms")
    errors += term_errors
    if not terms and not term_errors:
        return errors + [required(f"{path}.required.nodeSelectorTerms", "must have at least one node selector term")]
    for term_path, term in terms:
        errors += _node_selector_term_errors(term, term_path)
    return errors


def _node_selector_term_errors(term: Any, path: str) -> list[FieldError]:
    errors, term = fc.mapping(term, path)
    expression_errors, expressions = fc.items(term.get("matchExpressions"), f"{path}.matchExpressions")
    errors += expression_errors
    for expression_path, expression in expressions:
        errors += _requirement_errors(expression, expression_path)
    field_errors, fields = fc.items(term.get("matchFields"), f"{path}.matchFields")
    errors += field_errors
    for field_path, requirement in fields:
        errors += _field_requirement_errors(requirement, field_path)
    return errors


def _requirement_errors(requirement: Any, path: str) -> list[FieldError]:
    """ValidateNodeSelectorRequirement: the values its operator needs, a label name as key."""
    errors, requirement = fc.mapping(requirement, path)
    operator, values = requirement.get("operator"), requirement.get("values") or []
    if operator in ("In", "NotIn"):
        if not values:
            errors.append(required(f"{path}.values", "must be specified when `operator` is 'In' or 'NotIn'"))
    elif operator in ("Exists", "DoesNotExist"):
        if values:
            errors.append(forbidden(f"{path}.values", "may not be specified when `operator` is 'Exists' or "
                                                      "'DoesNotExist'"))
    elif operator in ("Gt", "Lt"):
        if len(values) != 1:
            errors.append(required(f"{path}.values", "must be specified single value when `operator` is 'Lt' or 'Gt'"))
    else:
        errors.append(invalid(f"{path}.operator", operator, "not a valid selector operator"))
    return errors + fc.named(requirement.get("key") or "", f"{path}.key", label_key_errors)


def _field_requirement_errors(requirement: Any, path: str) -> list[FieldError]:
    """ValidateNodeFieldSelectorRequirement: one value, and only `metadata.name` as key."""
    errors, requirement = fc.mapping(requirement, path)
    operator, values = requirement.get("operator"), requirement.get("values") or []
    if operator in ("In", "NotIn"):
        if len(values) != 1:
            errors.append(required(f"{path}.values", "must be only one value when `operator` is 'In' or 'NotIn' "
                                                     "for node field selector"))
    else:
        errors.append(invalid(f"{path}.operator", operator, "not a valid selector operator"))
    if requirement.get("key") != "metadata.name":
        errors.append(invalid(f"{path}.key", requirement.get("key"), "not a valid field selector key"))
    else:
        for i, value in enumerate(values):
            errors += fc.named(value, f"{path}.values[{i}]")
    return errors


def _volume_update_errors(spec: Mapping, old: Mapping) -> list[FieldError]:
    """ValidatePersistentVolumeUpdate: the source, the volume mode and a set node affinity stay."""
    errors = []
    if any(spec.get(key) != old.get(key) for key in SOURCE_FIELDS):
        errors.append(forbidden("spec.persistentvolumesource", "spec.persistentvolumesource is immutable after "
                                                               "creation"))
    if spec.get("volumeMode") != old.get("volumeMode"):
        errors.append(invalid("volumeMode", spec.get("volumeMode"), _IMMUTABLE))
    if old.get("nodeAffinity") is not None and spec.get("nodeAffinity") != old.get("nodeAffinity"):
        errors.append(invalid("nodeAffinity", spec.get("nodeAffinity"),
                              _IMMUTABLE + ", except for updating from beta label to GA"))
    return errors


# ------------------------------------------------------------ classes


def storageclass_errors(sc: Mapping, old: Mapping | None) -> list[FieldError]:
    """ValidateStorageClass, and on an update ValidateStorageClassUpdate."""
    errors = _provisioner_errors(sc.get("provisioner"))
    errors += _parameter_errors(sc.get("parameters"))
    errors += fc.wrong_type(sc.get("reclaimPolicy"), "reclaimPolicy", "string") or fc.one_of(
        sc.get("reclaimPolicy") or None, "reclaimPolicy", _CLASS_RECLAIM_POLICIES)
    mode = sc.get("volumeBindingMode")
    errors += [required("volumeBindingMode")] if mode is None else fc.one_of(mode, "volumeBindingMode", _BINDING_MODES)
    errors += fc.wrong_type(sc.get("allowVolumeExpansion"), "allowVolumeExpansion", "boolean")
    errors += fc.wrong_type(sc.get("mountOptions"), "mountOptions", "array")
    errors += fc.wrong_type(sc.get("allowedTopologies"), "allowedTopologies", "array")
    if old is not None:
        if (sc.get("parameters") or {}) != (old.get("parameters") or {}):
            errors.append(forbidden("parameters", "updates to parameters are forbidden."))
        if sc.get("provisioner") != old.get("provisioner"):
            errors.append(forbidden("provisioner", "updates to provisioner are forbidden."))
        if sc.get("reclaimPolicy") != old.get("reclaimPolicy"):
            errors.append(forbidden("reclaimPolicy", "updates to reclaimPolicy are forbidden."))
        if mode != old.get("volumeBindingMode"):
            errors.append(invalid("volumeBindingMode", mode, _IMMUTABLE))
    return errors


def _provisioner_errors(provisioner: Any) -> list[FieldError]:
    if not provisioner:
        return [required("provisioner")]
    if not isinstance(provisioner, str):
        return fc.wrong_type(provisioner, "provisioner", "string")
    lowered = provisioner.lower()
    return [invalid("provisioner", lowered, message) for message in label_key_errors(lowered)]


def _parameter_errors(parameters: Any) -> list[FieldError]:
    errors, parameters = fc.mapping(parameters, "parameters")
    if errors:
        return errors
    if len(parameters) > _MAX_PARAMETERS:
        return [FieldError("FieldValueTooLong", "parameters", None,
                           f"may not be more than {_MAX_PARAMETERS} bytes")]
    size = 0
    for key, value in parameters.items():
        if not key:
            errors.append(invalid("parameters", key, "field can not be empty."))
        errors += fc.wrong_type(value, f"parameters[{key}]", "string")
        size += len(str(key)) + len(str(value))
    if size > _MAX_PARAMETER_BYTES:
        errors.append(FieldError("FieldValueTooLong", "parameters", None,
                                 f"may not be more than {_MAX_PARAMETER_BYTES} bytes"))
    return errors
