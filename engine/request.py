"""A write request, and how the apiserver reads one.

`Request` is one write of a submit.  The helpers decode its body the way
kube-apiserver's handlers do before any strategy runs: apiVersion and kind
checked against the resource type, the namespace and name of the body
reconciled with the request's, and the optimistic-concurrency preconditions
(the request's `rv`, else `metadata.resourceVersion` in the body, and the uid).

An API write's main-resource body is also left as upstream's typed decode
leaves it (see `drop_unset`): a null is the field unset, and for built-in
kinds an empty map or list is no map or list at all, so a client writing back
what it read changes nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import attrs
from pyrsistent import pvector

from . import autoscaling_v1
from .apierrors import MODIFIED, bad_request, conflict, invalid, invalid_error, not_supported
from .kinds import ResourceType
from .objects import get_path, is_mapping, map_items, resource_version, set_path, thaw
from .schemas import OBJECT_META, REF, builtin_schemas
from .store import is_kept, thaw_kept

_PVECTOR = type(pvector())
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
    # a body a client wrote (the manifests folder's, as kubectl's): decoded as an API write's is
    # (`drop_unset`), though it records no managedFields
    client_body: bool = False
    # a rule's write, whose fields its built-in kind does not declare are dropped (upstream's decode
    # drops them): of an update, the paths it sets, the rest being the stored object's
    by_rule: bool = False
    sets: tuple = ()


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
    Pod need not be copied twice).

    The main-resource body of an API write or the manifests folder's (a
    create, an update, a patch's or an apply's result) is left as upstream's
    decode would leave it (`drop_unset`).  The rules, the scheduler and the event recorder write
    what they mean and are taken as written (the placeholder EndpointSlice's
    `endpoints: []`, a terminating Namespace's `finalizers: []`), at no cost."""
    if not isinstance(req.body, Mapping):
        raise bad_request(f"the body of a {req.verb} request must be an object")
    if deep:
        obj = thaw_kept(req.body)
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
    if autoscaling_v1.is_v1(obj) and rt.group == autoscaling_v1.GROUP:  # (stored as autoscaling/v2)
        try:
            obj = autoscaling_v1.to_v2(obj)
        except autoscaling_v1.ConversionError as exc:
            raise bad_request(str(exc)) from None
    if deep and req.subresource is None and (req.field_manager is not None or req.client_body):
        drop_unset(rt, obj)
    if obj.get("metadata") is None:
        obj["metadata"] = {}
    elif not isinstance(obj["metadata"], dict):
        raise bad_request("metadata must be an object")
    return obj


# ------------------------------------------------------------ unset fields
#
# kube-apiserver decodes a built-in kind's body into its Go struct and stores it
# as protobuf, so a null is the field unset and an empty map or list is stored
# as none; an empty struct (`emptyDir: {}`, `securityContext: {}`,
# `resources: {}`) stays, as it means something.  The kinds' schemas tell which
# is which: `additionalProperties` is a Go map, `array` a slice, a `$ref` a
# struct; free-form parts (RawExtension, JSON, FieldsV1) keep what they hold.
# A custom resource is stored as JSON: its nulls go unless the schema says
# `nullable` (one with a default is then defaulted), its empty maps and lists
# stay, and its metadata is ObjectMeta like any other.

SCALAR, STRUCT, MAP, LIST, FREE = "scalar", "struct", "map", "list", "free"
_KEEP = object()  # the zero of a scalar whose null is kept (in a map)


@attrs.frozen
class TypeTables:
    """The built-in types as the decode walks them.

    A struct is (walked, plain): its struct, map and list fields by name, each a (tag, payload)
    node (a struct's own pair, a map's value node, a list's item node), and the names of its
    scalar and free-form fields, whose null is all there is to drop."""

    kinds: dict  # (group, version, kind) → the struct of the kind
    structs: dict  # definition name → its struct


@functools.cache
def type_tables() -> TypeTables:
    """Read once from the built-in kinds' OpenAPI schemas (engine/api/schemas.json.gz)."""
    defs = builtin_schemas()
    structs: dict[str, tuple] = {name: ({}, set()) for name, schema in defs.items() if "properties" in schema}
    for name, (walked, plain) in structs.items():  # (filled in place: JSONSchemaProps holds itself)
        for field, schema in defs[name]["properties"].items():
            node = _node(schema, defs, structs)
            if node[0] in (SCALAR, FREE):
                plain.add(field)
            else:
                walked[field] = node
    kinds = {(gvk["group"], gvk["version"], gvk["kind"]): structs[name]
             for name, schema in defs.items() if name in structs
             for gvk in schema.get("x-kubernetes-group-version-kind", ())}
    return TypeTables(kinds, structs)


def _node(schema: Mapping, defs: dict, structs: dict) -> tuple:
    """A field's (tag, payload): a struct's pair, a map's value node, a list's item node, a scalar's zero."""
    all_of = schema.get("allOf")
    ref = schema.get("$ref") or (all_of[0].get("$ref") if isinstance(all_of, list) and len(all_of) == 1 else None)
    if ref:
        name = ref[len(REF):]
        return (STRUCT, structs[name]) if name in structs else (SCALAR, _zero(defs.get(name) or {}))
    if schema.get("x-kubernetes-preserve-unknown-fields"):
        return (FREE, None)
    kind = schema.get("type")
    if kind == "array":
        return (LIST, _node(schema.get("items") or {}, defs, structs))
    if kind == "object":
        extra = schema.get("additionalProperties")
        return (MAP, _node(extra, defs, structs)) if isinstance(extra, dict) else (FREE, None)
    return (SCALAR, _zero(schema))


def _zero(schema: Mapping) -> Any:
    """What a null decodes to as a map's value: "" for a string (a Go map keeps the key), else kept."""
    plain = schema.get("type") == "string" and schema.get("format") in (None, "byte")
    return "" if plain and not schema.get("x-kubernetes-int-or-string") else _KEEP


def drop_unset(rt: ResourceType, obj: dict) -> None:
    """Leave a main-resource body (thawed) as upstream's decode would, in place (see above).

    A status the write does not keep (a status subresource's kind) is not walked."""
    version = str(obj.get("apiVersion") or "").rpartition("/")[2]
    status = obj.pop("status", None) if rt.has_status else None
    if rt.is_custom:
        _drop_custom(obj, rt.schemas.get(version))
    else:
        struct = type_tables().kinds.get((rt.group, version, rt.kind))
        if struct is not None:
            _drop_struct(obj, struct)
    if status is not None:
        obj["status"] = status


def _drop_struct(obj: dict, struct: tuple) -> None:
    """A struct decoded: null fields unset, empty maps and lists dropped, the rest walked.
    A name the type does not have is left alone (fieldValidation's business)."""
    walked, plain = struct
    unset = []
    for key, value in obj.items():
        if value is None:
            if key in walked or key in plain:
                unset.append(key)
        elif key in walked and not _kept(value, walked[key]):
            unset.append(key)
    for key in unset:
        del obj[key]


def _kept(value: Any, node: tuple) -> bool:
    """Walk one typed value; False for an empty map or list (stored as none)."""
    tag, sub = node
    kind = type(value)
    if tag is STRUCT:
        if kind is dict:
            _drop_struct(value, sub)
    elif tag is MAP and kind is dict:
        if not value:
            return False
        _drop_in_map(value, sub)
    elif tag is LIST and kind is list:
        if not value:
            return False
        if sub[0] is STRUCT or sub[0] is MAP or sub[0] is LIST:
            for item in value:
                _kept(item, sub)
    return True


def _drop_in_map(value: dict, node: tuple) -> None:
    """A map's values: a null string is "" (the key stays); structs, maps and lists walked."""
    tag, sub = node
    if tag is SCALAR:
        if sub is not _KEEP and None in value.values():
            for key, item in value.items():
                if item is None:
                    value[key] = sub
    elif tag is not FREE:
        for item in value.values():
            if item is not None:
                _kept(item, node)


def _drop_custom(obj: dict, schema: Any) -> None:
    """A custom resource: its metadata as ObjectMeta, the rest as its schema says."""
    meta = obj.get("metadata")
    if type(meta) is dict:
        _drop_struct(meta, type_tables().structs[OBJECT_META])
    if is_mapping(schema):
        _drop_nulls(obj, schema)


def _drop_nulls(value: Any, schema: Mapping) -> None:
    """Upstream's PruneNonNullableNullsWithoutDefaults: a null the schema declares goes unless
    `nullable` (one with a default is defaulted when the object is shaped, as upstream's
    defaulting replaces it); a null the schema does not declare stays (pruning decides)."""
    if type(value) is dict:
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        for key, item in list(value.items()):
            sub = props.get(key)
            if sub is None and is_mapping(extra):
                sub = extra
            if not is_mapping(sub):
                continue
            if item is None:
                if not sub.get("nullable"):
                    del value[key]
            else:
                _drop_nulls(item, sub)
    elif type(value) is list:
        items = schema.get("items")
        if is_mapping(items):
            for item in value:
                _drop_nulls(item, items)


# ------------------------------------------------------- undeclared fields
#
# A built-in kind's body cannot hold a field its Go type does not have: upstream's
# decode drops it (fieldValidation, which the HTTP layer honours, only says what
# the client hears).  A rule's writes are not decoded there, so the API server
# drops such fields of them itself, at the least cost: of an update only the paths
# the rule set (the rest is the stored object's), and never a part the store holds
# (a stored object's own, checked when it was written: a Pod made from its
# ReplicaSet's template walks its new metadata, not the template's spec).


def body_version(rt: ResourceType, body: Mapping) -> str:
    """The version of `body` (its apiVersion's, else the kind's served one): `v1`."""
    return str(body.get("apiVersion") or rt.api_version).rpartition("/")[2]


def drop_undeclared(rt: ResourceType, body: Any, paths: Any = ((),)) -> Any:
    """`body` (frozen or plain; the caller's value is never changed) without the fields its
    built-in kind does not declare at or below `paths` (default: anywhere); `body` itself when it
    has none."""
    if rt.is_custom or not is_mapping(body):
        return body
    version = body_version(rt, body)
    for path in paths:
        for lost in undeclared_fields(rt, version, path, get_path(body, *path) if path else body):
            body = set_path(body, lost, None)
    return body


@functools.lru_cache(maxsize=4096)
def _declared_path(group: str, version: str, kind: str, path: tuple) -> tuple:
    """(the first steps of `path` up to a name the kind does not declare, or None; the node at the
    end of `path`, or None where nothing below is checked)."""
    struct = type_tables().kinds.get((group, version, kind))
    node: tuple | None = (STRUCT, struct) if struct is not None else None
    for depth, step in enumerate(path):
        if node is None:
            return None, None
        tag, sub = node
        if tag is STRUCT and isinstance(step, str):
            walked, plain = sub
            node = walked.get(step)
            if node is None and step not in plain:
                return tuple(path[:depth + 1]), None
        elif (tag is MAP and isinstance(step, str)) or (tag is LIST and isinstance(step, int)):
            node = sub
        else:
            return None, None  # (a scalar, a free-form part, or a type mismatch: validation's business)
    return None, node


def undeclared_fields(rt: ResourceType, version: str, path: tuple, value: Any) -> list[tuple]:
    """The fields that `value`, written at `path` of an object of the built-in kind `rt` (its
    steps from the root: names and list indexes; `()` for the whole object), loses to
    `drop_undeclared`: each as its path, up to the first name the kind does not declare.  The
    path's own part is worked out once; a part the store holds is not looked into."""
    if rt.is_custom:
        return []
    lost, node = _declared_path(rt.group, version, rt.kind, tuple(path))
    if lost is not None:
        return [lost]
    if node is None or not isinstance(value, (Mapping, list, tuple, _PVECTOR)):
        return []
    found: list[tuple] = []
    _undeclared_in(value, node, tuple(path), found)
    return found


def _undeclared_in(value: Any, node: tuple, path: tuple, found: list) -> None:
    tag, sub = node
    if tag is not STRUCT and (tag is not MAP and tag is not LIST or sub[0] not in (STRUCT, MAP, LIST)):
        return  # (a scalar, a free-form part, a map or list of scalars: nothing to drop)
    if is_kept(value):
        return  # (a part the store holds: checked when it was written)
    if tag is STRUCT and is_mapping(value):
        walked, plain = sub
        for key, item in map_items(value):
            below = walked.get(key)
            if below is not None:
                _undeclared_in(item, below, (*path, key), found)
            elif key not in plain:
                found.append((*path, key))
    elif tag is MAP and is_mapping(value):
        for key, item in map_items(value):
            _undeclared_in(item, sub, (*path, key), found)
    elif tag is LIST and isinstance(value, (list, tuple, _PVECTOR)):
        for i, item in enumerate(value):
            _undeclared_in(item, sub, (*path, i), found)


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
