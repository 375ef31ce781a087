"""Admission: the checks that depend on other objects, and the validation gate.

NamespaceLifecycle (new content needs a live namespace), the rule that no
finalizer may be added to an object being deleted, names a CRD may not take,
and `validate_or_raise`, which turns every field error of an object into
one upstream-worded `Invalid` error.
"""

from __future__ import annotations

from collections.abc import Mapping

from .apierrors import FieldError, forbidden_error, invalid_error, not_found
from .kinds import CRD_GROUP, CRD_KIND, ResourceType
from .objects import get_path
from .staging import Staging
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


def validate_or_raise(staging: Staging, rt: ResourceType, obj: Mapping, old: Mapping | None,
              subresource: str | None = None) -> None:
    errors = validate(rt, obj, old, subresource) + _new_finalizer_errors(old, obj)
    if (rt.group, rt.kind) == (CRD_GROUP, CRD_KIND) and not errors:
        errors += _crd_conflicts(staging, obj)
    if errors:
        raise invalid_error(rt.group_kind, get_path(obj, "metadata", "name") or "", errors, rt.group)
