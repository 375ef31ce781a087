"""The resource handlers: what GET, POST, PUT, PATCH and DELETE on a resource path do.

`Target` is a parsed resource path (`/api/v1/namespaces/demo/pods/web/log`).
Each handler is synchronous and runs in a worker thread under the
cluster's lock (see `http.py`); it calls the apiserver as the HTTP user and
answers `(code, document)`.  Every write is one apiserver request by
`Actor(user, "user")` with the method and path as its cause, so the history
shows who changed what through the API, exactly like a manifest edit.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

import attrs

from ..access import Actor
from ..apierrors import (APIError, FieldError, bad_request, conflict, forbidden, gone, invalid, invalid_error,
                         method_not_allowed, not_supported, rejected_patch, unprocessable)
from .. import autoscaling_v1
from ..apiserver import APIServer
from ..kinds import Registry, ResourceType
from ..objects import get_path, key_of, thaw
from ..patch import JSONPatchError, PatchError, apply_patch
from ..request import Request, propagation_policy
from ..store import TooOld
from . import eventsv1, fieldvalidation, tables
from .apply import forced
from .auth import User
from .escalation import Grantor
from .query import TRUE

PATCH_TYPES = {
    "application/json-patch+json": "json",
    "application/merge-patch+json": "merge",
    "application/strategic-merge-patch+json": "strategic",
    "application/apply-patch+yaml": "apply",  # server-side apply (see apply.py)
}


@attrs.frozen
class Target:
    """A resource request's path: which type, version, namespace, object and subresource."""

    rt: ResourceType
    version: str
    namespace: str = ""
    name: str = ""
    subresource: str = ""

    @property
    def group(self) -> str:
        return self.rt.group

    @property
    def stored(self) -> tuple[str, str]:
        """The group and kind the store keeps these objects as (events.k8s.io's Events are core's)."""
        return eventsv1.STORED if eventsv1.is_view(self.rt) else (self.rt.group, self.rt.kind)


def parse_path(registry: Registry, parts: list[str]) -> Target | None:
    """`api/v1/...` or `apis/G/V/...` → a Target; None when the path names no resource type."""
    if parts[:1] == ["api"] and len(parts) >= 3:
        group, version, rest = "", parts[1], parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 4:
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    namespace = ""
    if rest[0] == "namespaces" and len(rest) >= 3 and not (group == "" and rest[2] in ("status", "finalize")):
        namespace, rest = rest[1], rest[2:]
    if len(rest) > 3:
        return None
    rt = _by_plural(registry, group, version, rest[0])
    if rt is None:
        return None
    name = rest[1] if len(rest) > 1 else ""
    sub = rest[2] if len(rest) > 2 else ""
    return Target(rt, version, namespace if rt.namespaced else "", name, sub)


def _by_plural(registry: Registry, group: str, version: str, plural: str) -> ResourceType | None:
    from .discovery import EXTRA_TYPES

    for rt in (*registry, *EXTRA_TYPES):
        if rt.group == group and rt.plural == plural and version in rt.versions:
            return rt
    return None


def actor_of(user: User) -> Actor:
    """The apiserver actor for an HTTP user (RBAC already said yes)."""
    return Actor(user.name, "user", None, grantor=Grantor(user))


def served_as(obj: Mapping, target: Target) -> Any:
    """The object as the requested version shows it (custom resources convert with strategy None)."""
    if eventsv1.is_view(target.rt):
        return eventsv1.to_events_v1(obj)
    if _hpa_v1(target):
        return autoscaling_v1.to_v1(obj)
    doc = thaw(obj)
    if target.rt.is_custom and target.version != target.rt.version:
        doc["apiVersion"] = f"{target.group}/{target.version}"
    return doc


# ------------------------------------------------------------------- reads


def _hpa_v1(target: Target) -> bool:
    """Is this a request for autoscaling/v1 HorizontalPodAutoscalers (stored as v2)?"""
    return (target.rt.group, target.rt.kind, target.version) == (autoscaling_v1.GROUP, autoscaling_v1.KIND, "v1")


def get(api: APIServer, user: User, target: Target, query: Mapping[str, str] | None = None) -> Any:
    if query:
        not_older_than(api.store.visible.revision, query.get("resourceVersion") or "")
    obj = api.get(actor_of(user), *target.stored, target.namespace, target.name,
                  subresource=target.subresource or None, snapshot=api.store.visible)
    if target.subresource == "scale":
        return thaw(obj)
    return served_as(obj, target)


def list_objects(api: APIServer, user: User, target: Target, query: Mapping[str, str]) -> tuple[list, dict]:
    """The matching objects (one page with `limit`) and the list metadata (resourceVersion, continue)."""
    check_list_options(query, watch=False)
    start, snapshot = None, api.store.visible
    token = query.get("continue")
    rv = query.get("resourceVersion") or ""
    if token:
        if rv not in ("", "0"):
            raise bad_request("specifying resource version is not allowed when using continue")
        revision, start = _decode_continue(token)
        try:
            snapshot = api.store.at(revision)
        except Exception:  # compacted (TooOld) or unknown
            raise gone_expired("The provided continue parameter is too old to display a consistent list result. "
                               "You can start a new list without the continue parameter.") from None
    elif _exact(query):
        revision = not_older_than(snapshot.revision, rv)
        try:
            snapshot = api.store.at(revision)
        except TooOld:
            raise gone_expired("The resourceVersion for the provided list is too old.") from None
    else:
        not_older_than(snapshot.revision, rv)
    items, revision = api.list(actor_of(user), *target.stored, target.namespace or None,
                               query.get("labelSelector") or None, field_selector(target, query.get("fieldSelector")),
                               snapshot=snapshot)
    if start is not None:
        items = [o for o in items if _sort_key(o) > start]
    meta: dict[str, Any] = {"resourceVersion": str(revision)}
    limit = int_param(query, "limit")  # (0 or less: no limit, as upstream)
    if limit is not None and 0 < limit < len(items):
        if not (query.get("labelSelector") or query.get("fieldSelector")):
            meta["remainingItemCount"] = len(items) - limit  # (upstream counts it without a selector only)
        items = items[:limit]
        meta["continue"] = _encode_continue(revision, _sort_key(items[-1]))
    return items, meta


# ------------------------------------------------- list options (resourceVersion, resourceVersionMatch)


def check_list_options(query: Mapping[str, str], watch: bool) -> None:
    """Upstream's ValidateListOptions: a 422 on ListOptions.meta.k8s.io."""
    match = query.get("resourceVersionMatch") or ""
    initial = query.get("sendInitialEvents")
    errors: list[FieldError] = []
    if watch:
        if initial is not None and match != "NotOlderThan":
            errors.append(forbidden("resourceVersionMatch",
                                    "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"))
        if match:
            if initial is None:
                errors.append(forbidden("resourceVersionMatch",
                                        "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided"))
            if match != "NotOlderThan":
                errors.append(not_supported("resourceVersionMatch", match, ["NotOlderThan"]))
            if query.get("continue"):
                errors.append(forbidden("resourceVersionMatch", "resourceVersionMatch is forbidden when continue is provided"))
    else:
        if match:
            if not query.get("resourceVersion"):
                errors.append(forbidden("resourceVersionMatch",
                                        "resourceVersionMatch is forbidden unless resourceVersion is provided"))
            if query.get("continue"):
                errors.append(forbidden("resourceVersionMatch", "resourceVersionMatch is forbidden when continue is provided"))
            if match not in ("Exact", "NotOlderThan"):
                errors.append(not_supported("resourceVersionMatch", match, ["Exact", "NotOlderThan", ""]))
            if match == "Exact" and query.get("resourceVersion") == "0":
                errors.append(forbidden("resourceVersionMatch",
                                        'resourceVersionMatch "exact" is forbidden for resourceVersion "0"'))
        if initial is not None:
            errors.append(forbidden("sendInitialEvents", "sendInitialEvents is forbidden for list"))
    if errors:
        raise invalid_error("ListOptions.meta.k8s.io", "", errors, group="meta.k8s.io")
    if initial is not None:
        _bool_param(query, "sendInitialEvents")


def reads_window(query: Mapping[str, str]) -> bool:
    """Does this list read a past revision (from the store's window, under the cluster's lock)?"""
    try:
        return _exact(query)
    except APIError:
        return False  # (the list answers the error)


def _exact(query: Mapping[str, str]) -> bool:
    """A list of the state at exactly its resourceVersion: resourceVersionMatch=Exact, or (upstream's
    older rule, kept) a limit with a resourceVersion other than 0 and no match given."""
    rv, match = query.get("resourceVersion") or "", query.get("resourceVersionMatch") or ""
    if match:
        return match == "Exact"
    return rv not in ("", "0") and (int_param(query, "limit") or 0) > 0


def parse_resource_version(value: str) -> int:
    """A request's resourceVersion as upstream's storage reads it (strconv.ParseUint, base 10;
    "" and "0" are 0), a 400 naming the value otherwise."""
    if value in ("", "0"):
        return 0
    if not (value.isascii() and value.isdigit()):
        why = f'strconv.ParseUint: parsing "{value}": invalid syntax'
    elif int(value) >= 1 << 64:
        why = f'strconv.ParseUint: parsing "{value}": value out of range'
    else:
        return int(value)
    raise bad_request(invalid("resourceVersion", value, why).message())


def not_older_than(current: int, value: str) -> int:
    """The revision a read must be at least as new as; a resourceVersion the store has not reached
    yet is upstream's 504 (its watch cache waits for it, ours is never behind)."""
    revision = parse_resource_version(value)
    if revision > current:
        raise APIError("Timeout", f"Timeout: Too large resource version: {revision}, current: {current}",
                       {"causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}],
                        "retryAfterSeconds": 1}, code=504)
    return revision


def field_selector(target: Target, text: str | None) -> Any:
    """The request's field selector, as one on the stored objects."""
    return eventsv1.field_selector(text) if eventsv1.is_view(target.rt) else text or None


def list_document(target: Target, items: list, meta: dict) -> dict:
    rt = target.rt
    api_version = f"{rt.group}/{target.version}" if rt.group else target.version
    return {"kind": rt.list_kind, "apiVersion": api_version, "metadata": meta,
            "items": [served_as(o, target) for o in items]}


def table_document(target: Target, items: list, meta: dict, now: float, query: Mapping[str, str]) -> dict:
    """A list as a Table, with the printer columns of the version asked for (a custom kind's differ
    between versions), whole objects (includeObject=Object) shown in that version too."""
    include = query.get("includeObject") or "Metadata"
    if include == "Object":
        items = [served_as(obj, target) for obj in items]
    return tables.table(target.rt, items, now, meta, include, version=target.version)


def _sort_key(obj: Mapping) -> list:
    return list(key_of(obj)[2:])


def _encode_continue(revision: int, after: list) -> str:
    return base64.urlsafe_b64encode(json.dumps({"rv": revision, "start": after}).encode()).decode()


def _decode_continue(token: str) -> tuple[int, list]:
    try:
        doc = json.loads(base64.urlsafe_b64decode(token.encode()))
        return int(doc["rv"]), list(doc["start"])
    except (ValueError, KeyError, TypeError):
        raise bad_request("continue key is not valid: the continue token is malformed") from None


def gone_expired(message: str) -> APIError:
    error = gone(message)
    error.reason = "Expired"
    return error


def _bool_param(query: Mapping[str, str], name: str) -> bool:
    """A boolean query parameter as Go's strconv.ParseBool reads it."""
    value = query.get(name, "")
    if value in TRUE:
        return True
    if value in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise bad_request(f'invalid {name} "{value}": must be true or false')


def int_param(query: Mapping[str, str], name: str) -> int | None:
    value = query.get(name)
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError:
        raise bad_request(f"invalid {name} {value!r}: must be an integer") from None


# ------------------------------------------------------------------ writes


def _cause(user: User, method: str, path: str) -> tuple:
    return ({"http": f"{method} {path}", "user": user.name},)


def _dry_run(query: Mapping[str, str], options: str = "CreateOptions") -> bool:
    """A write's dryRun query parameter, checked as ValidateDryRun does (a 422 naming its options kind)."""
    value = query.get("dryRun")
    if value in (None, ""):
        return False
    if value != "All":
        raise _dry_run_invalid(f"{options}.meta.k8s.io", [value])
    return True


@attrs.frozen
class _GoStrings(FieldError):
    """A field error whose bad value is a []string, which Go prints as `[]string{"a", "b"}`."""

    def body(self) -> str:
        value = "[]string{" + ", ".join(json.dumps(v) for v in self.value) + "}"
        return f"Unsupported value: {value}: {self.detail}"


def _dry_run_invalid(group_kind: str, values: list) -> APIError:
    error = not_supported("dryRun", values, ["All"])
    return invalid_error(group_kind, "", [_GoStrings(error.type, error.field, list(values), error.detail)],
                         "meta.k8s.io")


def create(api: APIServer, user: User, target: Target, body: Any, query: Mapping[str, str], path: str,
           manager: str | None = None) -> Any:
    if target.subresource == "binding" or (target.rt.group, target.rt.kind) == ("", "Binding"):
        name = target.name or get_path(body, "metadata", "name") or ""
        request = Request("create", "", "Binding", target.namespace, name, body)
        return served_as(api.request(actor_of(user), request, _cause(user, "POST", path)), target)
    if target.name or target.subresource:
        raise method_not_allowed()
    if eventsv1.is_view(target.rt):
        errors = eventsv1.create_errors(body)
        if errors:
            name = get_path(body, "metadata", "name") or ""
            raise invalid_error(f"Event.{eventsv1.GROUP}", name, errors, eventsv1.GROUP)
    request = Request("create", *target.stored, target.namespace or None, None, _versioned(body, target),
                      dry_run=_dry_run(query), field_manager=manager)
    return served_as(api.request(actor_of(user), request, _cause(user, "POST", path)), target)


def _versioned(body: Any, target: Target) -> Any:
    """A custom resource written in a served version other than the stored one is stored as that;
    an events.k8s.io Event as the core Event."""
    if eventsv1.is_view(target.rt):
        return eventsv1.to_core(body)
    if target.rt.is_custom and isinstance(body, Mapping) and body.get("apiVersion") == f"{target.group}/{target.version}":
        body = dict(body, apiVersion=target.rt.api_version)
    if _hpa_v1(target) and isinstance(body, Mapping) and not body.get("apiVersion"):
        body = dict(body, apiVersion=autoscaling_v1.V1)  # (converted by the API server)
    return body


def update(api: APIServer, user: User, target: Target, body: Any, query: Mapping[str, str], path: str,
           manager: str | None = None) -> Any:
    if not target.name:
        raise method_not_allowed()
    if target.subresource != "scale":
        body = _versioned(body, target)
    request = Request("update", *target.stored, target.namespace or None, target.name, body,
                      subresource=target.subresource or None, dry_run=_dry_run(query, "UpdateOptions"),
                      field_manager=manager)
    result = api.request(actor_of(user), request, _cause(user, "PUT", path))
    return thaw(result) if target.subresource == "scale" else served_as(result, target)


def patch(api: APIServer, user: User, target: Target, body: Any, patch_type: str, query: Mapping[str, str],
          path: str, manager: str | None = None) -> Any:
    if not target.name:
        raise method_not_allowed()
    if eventsv1.is_view(target.rt):
        return _patch_events_v1(api, user, target, body, patch_type, query, path)
    if _hpa_v1(target):
        return _patch_hpa_v1(api, user, target, body, patch_type, query, path, manager)
    if patch_type == "apply":
        fieldvalidation.check_apply(target.rt, target.subresource, body)
    request = Request("patch", target.group, target.rt.kind, target.namespace or None, target.name, body,
                      subresource=target.subresource or None, patch_type=patch_type,
                      dry_run=_dry_run(query, "PatchOptions"), field_manager=manager, force=forced(query))
    try:
        result = api.request(actor_of(user), request, _cause(user, "PATCH", path))
    except APIError as exc:
        raise with_cause(exc, "patch") from None
    return thaw(result) if target.subresource == "scale" else served_as(result, target)


def _patch_events_v1(api: APIServer, user: User, target: Target, body: Any, patch_type: str,
                     query: Mapping[str, str], path: str) -> Any:
    """A patch of an events.k8s.io Event applies to that version of the stored Event (a patch names
    its fields), which is then written back as an update of what was read."""
    if patch_type == "apply":
        raise method_not_allowed("server-side apply is not supported on events.k8s.io Events")
    actor = actor_of(user)
    current = api.get(actor, *target.stored, target.namespace, target.name)
    try:
        patched = apply_patch(eventsv1.to_events_v1(current), body, patch_type)
    except JSONPatchError as exc:
        raise rejected_patch(str(exc)) from None
    except PatchError as exc:
        raise with_cause(unprocessable(str(exc), name=target.name, group=eventsv1.GROUP, kind="Event"),
                         "patch") from None
    if not isinstance(patched, Mapping):
        raise bad_request("the patch did not produce an object")
    patched = eventsv1.to_core(patched)
    patched.setdefault("metadata", {})["resourceVersion"] = get_path(current, "metadata", "resourceVersion")
    request = Request("update", *target.stored, target.namespace or None, target.name, patched,
                      dry_run=_dry_run(query, "PatchOptions"))
    return served_as(api.request(actor, request, _cause(user, "PATCH", path)), target)


def _patch_hpa_v1(api: APIServer, user: User, target: Target, body: Any, patch_type: str,
                  query: Mapping[str, str], path: str, manager: str | None) -> Any:
    """A patch through autoscaling/v1 applies to the v1 view of the stored HorizontalPodAutoscaler
    (its fields are v1's: targetCPUUtilizationPercentage), written back as an update of what was read."""
    if patch_type == "apply":
        raise method_not_allowed("server-side apply is not supported on autoscaling/v1 HorizontalPodAutoscalers; "
                                 "apply the autoscaling/v2 object")
    actor = actor_of(user)
    current = api.get(actor, *target.stored, target.namespace, target.name)
    try:
        patched = apply_patch(autoscaling_v1.to_v1(current), body, patch_type)
    except JSONPatchError as exc:
        raise rejected_patch(str(exc)) from None
    except PatchError as exc:
        raise with_cause(unprocessable(str(exc), name=target.name, group=target.group, kind=target.rt.kind),
                         "patch") from None
    if not isinstance(patched, Mapping):
        raise bad_request("the patch did not produce an object")
    patched = dict(patched)
    if not isinstance(patched.get("metadata"), Mapping):
        raise bad_request("metadata must be an object")
    patched["metadata"] = dict(patched["metadata"], resourceVersion=get_path(current, "metadata", "resourceVersion"))
    request = Request("update", *target.stored, target.namespace or None, target.name, patched,
                      subresource=target.subresource or None, dry_run=_dry_run(query, "PatchOptions"),
                      field_manager=manager)
    try:
        result = api.request(actor, request, _cause(user, "PATCH", path))
    except APIError as exc:
        raise with_cause(exc, "patch") from None
    return served_as(result, target)


def check_patch_document(patch_type: str, body: Any) -> None:
    """What upstream's patch handler refuses while it decodes the patch, before reading the object:
    a merge or strategic patch that is no JSON object, a JSON patch that is no list of operation
    objects (`kubectl patch -p 'not json'` sends the string "not json"). A 400 in kube-apiserver's
    words (its Go decoder's), where applying the patch would fail as a 422."""
    if body is None or patch_type == "apply":
        return
    if patch_type in ("merge", "strategic") and not isinstance(body, Mapping):
        why = f"json: cannot unmarshal {_json_type(body)} into Go value of type map[string]interface {{}}"
        raise bad_request(why if patch_type == "strategic" else f"error decoding patch: {why}")
    if patch_type == "json":
        wrong = body if not isinstance(body, list) else next((op for op in body if not isinstance(op, Mapping)), None)
        if wrong is not None:
            into = "[]handlers.jsonPatchOp" if wrong is body else "handlers.jsonPatchOp"
            raise bad_request(f"error decoding patch: json: cannot unmarshal {_json_type(wrong)} into Go value "
                              f"of type {into}")


def _json_type(value: Any) -> str:
    """A JSON value's type as Go's decoder names it in its errors."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return {str: "string", list: "array"}.get(type(value), "object")


def with_cause(error: APIError, field: str) -> APIError:
    """A 422 that names no cause, given one: kubectl prints an Invalid error's causes (field: message),
    never its message, so without one it shows only `The Deployment "web" is invalid`."""
    if error.code != 422 or error.details.get("causes"):
        return error
    details = dict(error.details, causes=[{"reason": "FieldValueInvalid", "message": error.message,
                                           "field": field}])
    return type(error)(error.reason, error.message, details, error.code)


def delete(api: APIServer, user: User, target: Target, body: Any, query: Mapping[str, str], path: str) -> Any:
    if target.subresource:
        raise method_not_allowed()
    options = delete_options(body, query)
    if not target.name:
        return delete_collection(api, user, target, options, query, path)
    return _delete_one(api, user, target, target.name, options, path)


def _delete_one(api: APIServer, user: User, target: Target, name: str, options: Mapping, path: str) -> Any:
    actor = actor_of(user)
    current = api.get(actor, *target.stored, target.namespace, name)
    _check_preconditions(target.rt, current, options.get("preconditions") or {})
    grace = options.get("gracePeriodSeconds")
    request = Request("delete", *target.stored, target.namespace or None, name,
                      body=_propagation(options) or None, grace_period=grace, dry_run=_dry_run_option(options))
    result = api.request(actor, request, _cause(user, "DELETE", path))
    if result is not None:
        return served_as(result, target)
    details = {"name": name, "kind": target.rt.plural, "uid": get_path(current, "metadata", "uid")}
    if target.group:
        details["group"] = target.group
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}


def delete_collection(api: APIServer, user: User, target: Target, options: Mapping, query: Mapping[str, str],
                      path: str) -> Any:
    items, meta = list_objects(api, user, target, {k: v for k, v in query.items() if k != "limit"})
    for obj in items:
        try:
            _delete_one(api, user, target, get_path(obj, "metadata", "name"), options, path)
        except APIError as exc:
            if exc.reason != "NotFound":
                raise
    return list_document(target, items, meta)


# ---------------------------------------------------------- delete options


def delete_options(body: Any, query: Mapping[str, str]) -> dict:
    """A delete's DeleteOptions, read as upstream's DeleteResource reads them: from the body when
    there is one (kubectl sends `{"propagationPolicy": "Background", "dryRun": ["All"]}`), and
    then the query string is not read; else from the query string. Checked as
    ValidateDeleteOptions does, before anything is deleted."""
    if body is None:
        options = _query_delete_options(query)
    elif isinstance(body, Mapping):
        options = dict(body)
    else:
        raise bad_request("the body of a delete request must be a DeleteOptions object")
    _check_delete_options(options)
    return options


def _query_delete_options(query: Mapping[str, str]) -> dict:
    """The DeleteOptions a query string carries (preconditions have no query form)."""
    options: dict[str, Any] = {}
    if int_param(query, "gracePeriodSeconds") is not None:
        options["gracePeriodSeconds"] = int_param(query, "gracePeriodSeconds")
    if "propagationPolicy" in query:
        options["propagationPolicy"] = query["propagationPolicy"]
    if "orphanDependents" in query:
        options["orphanDependents"] = _bool_param(query, "orphanDependents")
    if query.get("dryRun"):
        options["dryRun"] = [query["dryRun"]]
    return options


def _check_delete_options(options: Mapping) -> None:
    grace, dry_run, preconditions = (options.get(k) for k in ("gracePeriodSeconds", "dryRun", "preconditions"))
    if grace is not None and (not isinstance(grace, int) or isinstance(grace, bool)):
        raise bad_request(f"gracePeriodSeconds must be an integer, got {grace!r}")
    if preconditions is not None and not isinstance(preconditions, Mapping):
        raise bad_request("preconditions must be an object with uid and resourceVersion")
    if dry_run is not None and (not isinstance(dry_run, list) or not all(isinstance(v, str) for v in dry_run)):
        raise bad_request("dryRun must be a list of strings")
    if any(value != "All" for value in dry_run or ()):
        raise _dry_run_invalid("DeleteOptions.meta.k8s.io", dry_run)
    propagation_policy(Request("delete", "", "DeleteOptions", body=_propagation(options)))


def _propagation(options: Mapping) -> dict:
    return {k: options[k] for k in ("propagationPolicy", "orphanDependents") if options.get(k) is not None}


def _dry_run_option(options: Mapping) -> bool:
    return bool(options.get("dryRun"))


def _check_preconditions(rt: ResourceType, current: Mapping, preconditions: Mapping) -> None:
    """BeforeDelete's early check of the DeleteOptions preconditions: a 409 naming the kind."""
    meta = current.get("metadata") or {}
    uid, version = preconditions.get("uid"), preconditions.get("resourceVersion")
    if uid is not None and uid != meta.get("uid"):
        why = (f"the UID in the precondition ({uid}) does not match the UID in record ({meta.get('uid')}). "
               "The object might have been deleted and then recreated")
    elif version is not None and version != meta.get("resourceVersion"):
        why = (f"the ResourceVersion in the precondition ({version}) does not match the ResourceVersion in "
               f"record ({meta.get('resourceVersion')}). The object might have been modified")
    else:
        return
    kind = f"{rt.kind}.{rt.group}" if rt.group else rt.kind
    raise conflict(kind, meta.get("name") or "", why, rt.group)


# ---------------------------------------------------------- access reviews


def access_review(snapshot: Any, user: User, body: Any) -> dict:
    """A SelfSubjectAccessReview answered for the caller (`kubectl auth can-i`)."""
    from .auth import Attributes, authorized

    if not isinstance(body, Mapping):
        raise bad_request("the body of a SelfSubjectAccessReview must be an object")
    spec = body.get("spec") or {}
    res, non = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
    if res:
        request = Attributes(res.get("verb") or "", res.get("group") or "", res.get("resource") or "",
                             res.get("subresource") or "", res.get("namespace") or "", res.get("name") or "")
    elif non:
        request = Attributes(non.get("verb") or "", path=non.get("path") or "")
    else:
        raise bad_request("resourceAttributes or nonResourceAttributes is required")
    allowed = authorized(snapshot, user, request)
    doc = thaw(body)
    doc.update(apiVersion="authorization.k8s.io/v1", kind="SelfSubjectAccessReview")
    doc.setdefault("metadata", {})["creationTimestamp"] = None
    doc["status"] = {"allowed": allowed}  # (denied: no reason, as upstream's RBAC authorizer gives none)
    if allowed and not user.is_admin:
        doc["status"]["reason"] = "allowed by RBAC"
    return doc


def rules_review(snapshot: Any, user: User, body: Any) -> dict:
    """A SelfSubjectRulesReview answered for the caller (`kubectl auth can-i --list`)."""
    from .auth import rules_review as review

    if not isinstance(body, Mapping):
        raise bad_request("the body of a SelfSubjectRulesReview must be an object")
    namespace = get_path(body, "spec", "namespace") or ""
    doc = thaw(body)
    doc.update(apiVersion="authorization.k8s.io/v1", kind="SelfSubjectRulesReview")
    doc.setdefault("metadata", {})["creationTimestamp"] = None
    doc["status"] = review(snapshot, user, namespace)
    return doc


def self_subject_review(user: User, body: Any) -> dict:
    """A SelfSubjectReview answered with the caller's user info (`kubectl auth whoami`)."""
    if body is not None and not isinstance(body, Mapping):
        raise bad_request("the body of a SelfSubjectReview must be an object")
    info: dict[str, Any] = {"username": user.name}
    if user.uid:
        info["uid"] = user.uid
    if user.groups:
        info["groups"] = list(user.groups)
    return {"kind": "SelfSubjectReview", "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"creationTimestamp": None}, "status": {"userInfo": info}}


# ---------------------------------------------------------- token requests


def token_request(api: APIServer, user: User, target: Target, body: Any, now: float, seed: str) -> dict:
    """`serviceaccounts/NAME/token` (TokenRequest): a bound token of that ServiceAccount, expiring
    `spec.expirationSeconds` (default 1 h, at least 10 min) from the API's clock."""
    from ..apierrors import invalid, invalid_error
    from ..timeutil import format_time
    from .auth import DEFAULT_TOKEN_SECONDS, MIN_TOKEN_SECONDS, TOKEN_ISSUER, bound_token

    sa = api.get(actor_of(user), "", "ServiceAccount", target.namespace, target.name, snapshot=api.store.visible)
    spec = dict(get_path(body, "spec") or {}) if isinstance(body, Mapping) else {}
    seconds = spec.get("expirationSeconds") or DEFAULT_TOKEN_SECONDS
    if not isinstance(seconds, int) or seconds < MIN_TOKEN_SECONDS:
        raise invalid_error("TokenRequest.authentication.k8s.io", target.name, [invalid(
            "spec.expirationSeconds", seconds, "may not specify a duration less than 10 minutes")],
            "authentication.k8s.io")
    audiences = list(spec.get("audiences") or [TOKEN_ISSUER])
    issued = int(now)
    token = bound_token(target.namespace, target.name, get_path(sa, "metadata", "uid") or "", issued,
                        issued + seconds, audiences, seed)
    spec.update(audiences=audiences, expirationSeconds=seconds)
    spec.setdefault("boundObjectRef", None)
    return {"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"name": target.name, "namespace": target.namespace, "creationTimestamp": None},
            "spec": spec, "status": {"token": token, "expirationTimestamp": format_time(issued + seconds)}}


# ---------------------------------------------------------------- evictions

EVICTION_REFUSED = "Cannot evict pod as it would violate the pod's disruption budget."
MAX_DISRUPTED_PODS = 2000  # MaxDisruptedPodSize


def evict(api: APIServer, user: User, target: Target, body: Any, query: Mapping[str, str], path: str,
          now: float) -> tuple[int, dict]:
    """`pods/NAME/eviction` (pkg/registry/core/pod/storage/eviction.go): delete the pod unless a
    PodDisruptionBudget that selects it allows no disruption (429). A pod that is Pending,
    Succeeded, Failed or already being deleted is deleted without looking at budgets. With one
    budget, its status is decremented (the pod recorded in `disruptedPods`, for the disruption
    controller to count it as gone) and the pod deleted in one transaction; an unready pod is
    deleted without decrementing while the budget is met (the IfHealthyBudget policy). The pod
    gets the DisruptionTarget condition before it is deleted. The delete honours the Eviction's
    `deleteOptions`; a dry run (there or in the query) writes nothing."""
    if not isinstance(body, Mapping) or body.get("kind") not in (None, "Eviction"):
        raise bad_request("the body of an eviction must be a policy/v1 Eviction")
    if get_path(body, "metadata", "name") != target.name:
        raise bad_request("name in URL does not match name in Eviction object")
    options = dict(body.get("deleteOptions") or {})
    if _dry_run(query):  # propagateDryRun
        options["dryRun"] = ["All"]
    _check_delete_options(options)
    dry_run = _dry_run_option(options)
    actor = actor_of(user)
    pod = api.get(actor, "", "Pod", target.namespace, target.name)
    _check_preconditions(target.rt, pod, options.get("preconditions") or {})
    requests = []
    if not _can_ignore_budgets(pod):
        budgets = _budgets_of(api, actor, pod)
        if len(budgets) > 1:
            return 500, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "code": 500,
                         "message": "This pod has more than one PodDisruptionBudget, which the eviction "
                                    "subresource does not support."}
        if budgets and not _unhealthy_may_go(pod, budgets[0]):
            decrement = _decrement(budgets[0], target.name, now)
            if not dry_run:
                requests.append(decrement)
    if not dry_run:
        requests.append(_disruption_target(pod, now))
    requests.append(Request("delete", "", "Pod", target.namespace, target.name, body=_propagation(options) or None,
                            grace_period=options.get("gracePeriodSeconds"), dry_run=dry_run))
    api.submit(actor, requests, _cause(user, "POST", path))
    return 201, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}


def _can_ignore_budgets(pod: Mapping) -> bool:
    """canIgnorePDB: a pod that is terminal, Pending or being deleted disrupts nothing more."""
    return (get_path(pod, "status", "phase") in ("Succeeded", "Failed", "Pending")
            or bool(get_path(pod, "metadata", "deletionTimestamp")))


def _budgets_of(api: APIServer, actor: Actor, pod: Mapping) -> list:
    """The PodDisruptionBudgets of the pod's namespace whose selector selects it (getPodDisruptionBudgets)."""
    from ..selectors import from_label_selector

    labels = get_path(pod, "metadata", "labels") or {}
    budgets, _ = api.list(actor, "policy", "PodDisruptionBudget", get_path(pod, "metadata", "namespace"))
    found = []
    for pdb in budgets:
        try:
            selector = from_label_selector(get_path(pdb, "spec", "selector"))
        except ValueError:
            continue
        if selector.matches(labels):
            found.append(pdb)
    return found


def _ready(pod: Mapping) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in get_path(pod, "status", "conditions") or ())


def _unhealthy_may_go(pod: Mapping, pdb: Mapping) -> bool:
    """An unready pod is deleted without spending the budget when the policy is AlwaysAllow, or
    (IfHealthyBudget, the default) while the application has its desired healthy pods."""
    if _ready(pod):
        return False
    if get_path(pdb, "spec", "unhealthyPodEvictionPolicy") == "AlwaysAllow":
        return True
    status = pdb.get("status") or {}
    desired = status.get("desiredHealthy") or 0
    return (status.get("currentHealthy") or 0) >= desired > 0


def _too_many_requests(why: str, retry_after: int = 0) -> APIError:
    details: dict[str, Any] = {"causes": [{"reason": "DisruptionBudget", "message": why}]}
    if retry_after:
        details["retryAfterSeconds"] = retry_after
    return APIError("TooManyRequests", EVICTION_REFUSED, details, code=429)


def _decrement(pdb: Mapping, pod_name: str, now: float) -> Request:
    """checkAndDecrement: the status write that spends one disruption, or the refusal."""
    from ..apierrors import forbidden_error
    from ..timeutil import format_time

    meta, status = pdb.get("metadata") or {}, pdb.get("status") or {}
    name = meta.get("name") or ""
    if (status.get("observedGeneration") or 0) < (meta.get("generation") or 0):
        raise _too_many_requests(f"The disruption budget {name} is still being processed by the server.", 10)
    allowed = status.get("disruptionsAllowed") or 0
    if allowed < 0:
        raise forbidden_error("poddisruptionbudget", name, "pdb disruptions allowed is negative", "policy")
    disrupted = dict(status.get("disruptedPods") or {})
    if len(disrupted) > MAX_DISRUPTED_PODS:
        raise forbidden_error("poddisruptionbudget", name, "DisruptedPods map too big - too many evictions not "
                              "confirmed by PDB controller", "policy")
    if allowed == 0:
        raise _too_many_requests(f"The disruption budget {name} needs {status.get('desiredHealthy') or 0} healthy "
                                 f"pods and has {status.get('currentHealthy') or 0} currently")
    disrupted[pod_name] = format_time(now)
    patch: dict[str, Any] = {"disruptionsAllowed": allowed - 1, "disruptedPods": disrupted}
    if allowed == 1:  # UpdateDisruptionAllowedCondition
        condition = {"type": "DisruptionAllowed", "status": "False", "reason": "InsufficientPods", "message": ""}
        if status.get("observedGeneration"):
            condition["observedGeneration"] = status["observedGeneration"]
        patch["conditions"] = _with_condition(status.get("conditions") or [], condition, format_time(now))
    return Request("patch", "policy", "PodDisruptionBudget", meta.get("namespace"), name, {"status": patch},
                   subresource="status", patch_type="merge", rv=meta.get("resourceVersion"))


def _with_condition(conditions: list, condition: dict, now: str) -> list:
    """meta.SetStatusCondition: the entry of its type replaced, lastTransitionTime kept while its status is."""
    old = next((c for c in conditions if c.get("type") == condition["type"]), None)
    since = old.get("lastTransitionTime") if old is not None and old.get("status") == condition["status"] else None
    new = dict(condition, lastTransitionTime=since or now)
    if old is None:
        return [*map(thaw, conditions), new]
    return [new if c is old else thaw(c) for c in conditions]


def _disruption_target(pod: Mapping, now: float) -> Request:
    """addConditionAndDeletePod: the DisruptionTarget condition the pod carries while it goes."""
    from ..timeutil import format_time

    meta = pod.get("metadata") or {}
    condition = {"type": "DisruptionTarget", "status": "True", "reason": "EvictionByEvictionAPI",
                 "message": "Eviction API: evicting", "lastProbeTime": None}
    conditions = [thaw(c) for c in get_path(pod, "status", "conditions") or ()]
    old = next((c for c in conditions if c.get("type") == "DisruptionTarget"), None)
    if old is None or old.get("status") != "True":  # UpdatePodCondition
        condition["lastTransitionTime"] = format_time(now)
    else:
        condition["lastTransitionTime"] = old.get("lastTransitionTime")
    if old is None:
        conditions.append(condition)
    else:
        conditions[conditions.index(old)] = condition
    return Request("patch", "", "Pod", meta.get("namespace"), meta.get("name"), {"status": {"conditions": conditions}},
                   subresource="status", patch_type="merge")
