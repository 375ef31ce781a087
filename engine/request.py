"""A write request, and how the apiserver reads one.

`Request` is one write of a submit.  The helpers decode its body the way
kube-apiserver's handlers do before any strategy runs: apiVersion and kind
checked against the resource type, the namespace and name of the body
reconciled with the request's, and the optimistic-concurrency preconditions
(the request's `rv`, else `metadata.resourceVersion` in the body, and the uid).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from .apierrors import MODIFIED, bad_request, conflict, invalid, invalid_error, not_supported
from .kinds import ResourceType
from .objects import get_path, is_mapping, map_items, resource_version, thaw

VERBS = ("create", "update", "patch", "delete")


@attrs.frozen
class Request:
    """One write: the object for create/update, the patch for patch."""

    verb: str = attrs.field(validator=attrs.validators.in_(VERBS))
    group: str
    kind: str
    namespace: str | None = None
    name: str | None = None
    body: Any = None
    subresource: str | None = None  # None | "status" | "scale" | "finalize" | "binding"
    patch_type: str = "merge"  # "merge" | "json" | "strategic" | "apply"
    rv: int | str | None = None
    grace_period: int | None = None
    dry_run: bool = False
    # server-side apply and managedFields: who writes (None records nothing), and an apply's force
    field_manager: str | None = None
    force: bool = False


def request_namespace(rt: ResourceType, req: Request) -> str:
    if not rt.namespaced:
        return ""
    in_body = get_path(req.body, "metadata", "namespace") if is_mapping(req.body) else None
    if req.namespace and in_body and req.namespace != in_body and req.verb in ("create", "update"):
        raise bad_request("the namespace of the provided object does not match the namespace sent on the request")
    return req.namespace or in_body or "default"


def decode_body(rt: ResourceType, req: Request, deep: bool = True) -> dict:
    """The request's object, thawed, with apiVersion and kind checked against the type.

    `deep=False` copies only the top level and the metadata's (a status write
    reads the rest and sets only the metadata's name and namespace, so a whole
    Pod need not be copied twice)."""
    if not isinstance(req.body, Mapping):
        raise bad_request(f"the body of a {req.verb} request must be an object")
    if deep:
        obj = thaw(req.body)
    else:
        obj = dict(map_items(req.body))
        if isinstance(obj.get("metadata"), Mapping):
            obj["metadata"] = dict(map_items(obj["metadata"]))
    kind, api_version = obj.get("kind"), obj.get("apiVersion")
    if kind and kind != rt.kind:
        raise bad_request(f"the kind in the data ({kind}) does not match the expected kind ({rt.kind})")
    group, _, version = str(api_version or "").rpartition("/")
    if api_version and (group != rt.group or version not in rt.versions):
        raise bad_request(f"the API version in the data ({api_version}) does not match the expected "
                          f"API version ({rt.api_version})")
    obj["apiVersion"], obj["kind"] = api_version or rt.api_version, rt.kind
    if obj.get("metadata") is None:
        obj["metadata"] = {}
    elif not isinstance(obj["metadata"], dict):
        raise bad_request("metadata must be an object")
    return obj


def decode_scale(req: Request) -> dict:
    if not isinstance(req.body, Mapping):
        raise bad_request("the body of a scale request must be a Scale object")
    body = thaw(req.body)
    body.setdefault("metadata", {})
    return body


def checked_name(req: Request, body: dict, rt: ResourceType, namespace: str) -> str:
    meta = body.setdefault("metadata", {})
    in_body = meta.get("name")
    if req.name and in_body and req.name != in_body:
        raise bad_request(f"the name of the object ({in_body}) does not match the name on the URL ({req.name})")
    if rt.namespaced:
        meta["namespace"] = namespace
    else:
        meta.pop("namespace", None)
    name = req.name or in_body
    if not name:
        raise bad_request("resource name may not be empty")
    meta["name"] = name
    return name


def parse_rv(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise bad_request(f"invalid resourceVersion {value!r}: must be a number") from None


def check_preconditions(rt: ResourceType, req: Request, old: Mapping, body: Mapping) -> None:
    """Optimistic concurrency: the request's rv, else the body's resourceVersion; and the uid."""
    name = get_path(old, "metadata", "name")
    wanted = req.rv if req.rv is not None else get_path(body, "metadata", "resourceVersion")
    if wanted not in (None, "") and parse_rv(wanted) != resource_version(old):
        raise conflict(rt.resource, name, MODIFIED, rt.group)
    uid, stored = get_path(body, "metadata", "uid"), get_path(old, "metadata", "uid")
    if uid and uid != stored:
        raise conflict(rt.resource, name, f"Precondition failed: UID in precondition: {uid}, UID in object meta: {stored}",
                       rt.group)


def propagation_policy(req: Request) -> str | None:
    """The propagation policy of a delete's DeleteOptions body (ValidateDeleteOptions).

    `orphanDependents: true` (deprecated) means Orphan, `false` Background.
    """
    body = req.body if isinstance(req.body, Mapping) else {}
    policy, orphan = body.get("propagationPolicy"), body.get("orphanDependents")
    errors = []
    if policy is not None and orphan is not None:
        errors.append(invalid("propagationPolicy", policy, "orphanDependents and deletionPropagation cannot be both set"))
    elif policy is not None and policy not in ("Foreground", "Background", "Orphan"):
        errors.append(not_supported("propagationPolicy", policy, ("Foreground", "Background", "Orphan", "nil")))
    if errors:
        raise invalid_error("DeleteOptions.meta.k8s.io", "", errors, "meta.k8s.io")
    if orphan is not None:
        return "Orphan" if orphan else "Background"
    return policy
