"""Discovery: which groups, versions and resources the server serves.

Two shapes of the same facts, from the registry of the current snapshot
(built-in kinds plus the CRDs' kinds):
- aggregated discovery (`apidiscovery.k8s.io/v2` `APIGroupDiscoveryList`),
  what kubectl 1.32 asks `/api` and `/apis` for first;
- the legacy documents: `APIVersions` (`/api`), `APIGroupList` (`/apis`),
  `APIGroup` (`/apis/G`) and `APIResourceList` (`/api/v1`, `/apis/G/V`).

And OpenAPI v3: per group-version one document whose paths carry each kind's
operations with `x-kubernetes-group-version-kind` and the `fieldValidation`
query parameter (what kubectl reads to decide that the server validates
fields itself, so it sends `fieldValidation=Strict`), and whose
`components.schemas` hold the kinds' schemas and every schema they refer to
(`kubectl explain` walks them).  Built-in kinds' schemas come from
`schemas.json.gz` (generated from the official client by `gen_schemas.py`);
a custom resource's is its CRD's `openAPIV3Schema` with `apiVersion`, `kind`
and `metadata` added, named as upstream (`com.example.v1.WebApp`).  The
patch operations declare no request body, so kubectl computes apply patches
from its compiled-in types (strategic merge for built-ins, JSON merge for
custom resources), as it does when a server publishes no patch types.
"""

from __future__ import annotations

import functools
import hashlib
import json
from typing import Any

from ..kinds import Registry, ResourceType
from ..objects import thaw
from .computed import COMPUTED
from .eventsv1 import EVENTS
from ..schemas import OBJECT_META, REF, builtin_names, builtin_schemas

AGGREGATED = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
SUB_VERBS = {"status": ["get", "patch", "update"], "scale": ["get", "patch", "update"],
             "finalize": ["update"], "binding": ["create"], "eviction": ["create"], "log": ["get"],
             "token": ["create"], "ephemeralcontainers": ["get", "patch", "update"],
             "approval": ["get", "patch", "update"]}
# kinds served only as a verb (no storage, no list)
_CREATE_ONLY = {("", "Binding")}
# kinds whose storage has no DeleteCollection upstream (a namespace's REST wraps only Delete)
_NO_COLLECTION_DELETE = {("", "Namespace")}
# the review kinds of the authorization and authentication groups: created and answered, never stored
SSAR = ResourceType("authorization.k8s.io", "v1", "SelfSubjectAccessReview", "selfsubjectaccessreviews",
                    namespaced=False, has_spec=False)
SSRR = ResourceType("authorization.k8s.io", "v1", "SelfSubjectRulesReview", "selfsubjectrulesreviews",
                    namespaced=False, has_spec=False)
# `kubectl auth whoami`: the caller's user info, created and answered like the reviews
SSR = ResourceType("authentication.k8s.io", "v1", "SelfSubjectReview", "selfsubjectreviews",
                   namespaced=False, has_spec=False)
REVIEWS = (SSAR, SSRR, SSR)
# events.k8s.io/v1 Events: the core Events in the newer shape (see eventsv1.py); ComponentStatus and
# APIService, computed on each read (see computed.py)
EXTRA_TYPES = (*REVIEWS, EVENTS, *COMPUTED)


def served(registry: Registry) -> list[tuple[ResourceType, str]]:
    """Every (type, version) the server serves: built-ins, CRD versions, the review kinds."""
    found = []
    for rt in (*registry, *EXTRA_TYPES):
        for version in rt.versions:
            found.append((rt, version))
    return found


def subresources(rt: ResourceType) -> list[str]:
    subs = set(rt.subresources)
    if (rt.group, rt.kind) == ("", "Pod"):
        subs.add("log")
    return sorted(subs)


def verbs(rt: ResourceType) -> list[str]:
    if (rt.group, rt.kind) in _CREATE_ONLY or rt in REVIEWS:
        return ["create"]
    if rt in COMPUTED:
        return ["get", "list"]
    if (rt.group, rt.kind) in _NO_COLLECTION_DELETE:
        return [verb for verb in VERBS if verb != "deletecollection"]
    return VERBS


def _sub_kind(rt: ResourceType, version: str, sub: str) -> dict:
    if sub == "scale":
        return {"group": "autoscaling", "version": "v1", "kind": "Scale"}
    if sub == "binding":
        return {"group": "", "version": "v1", "kind": "Binding"}
    if sub == "eviction":
        return {"group": "policy", "version": "v1", "kind": "Eviction"}
    if sub == "log":
        return {"group": "", "version": "v1", "kind": "Pod"}
    if sub == "token":
        return {"group": "authentication.k8s.io", "version": "v1", "kind": "TokenRequest"}
    return {"group": rt.group, "version": version, "kind": rt.kind}


def _groups(registry: Registry) -> dict[str, dict[str, list[ResourceType]]]:
    """group → version → types, the core group first, then groups in registry order."""
    groups: dict[str, dict[str, list[ResourceType]]] = {"": {}}
    for rt, version in served(registry):
        groups.setdefault(rt.group, {}).setdefault(version, []).append(rt)
    return groups


def _preferred(rts_by_version: dict[str, list[ResourceType]]) -> str:
    storage = [rt.version for rts in rts_by_version.values() for rt in rts]
    return storage[0] if storage else next(iter(rts_by_version))


# ------------------------------------------------------------- aggregated


def aggregated(registry: Registry, core: bool) -> dict:
    """The APIGroupDiscoveryList of `/api` (core) or `/apis` (the named groups)."""
    items = []
    for group, versions in _groups(registry).items():
        if (group == "") != core or not versions:
            continue
        preferred = _preferred(versions)
        ordered = sorted(versions, key=lambda v: v != preferred)
        items.append({
            "metadata": {"name": group, "creationTimestamp": None},
            "versions": [{"version": v, "resources": [_aggregated_resource(rt, v) for rt in versions[v]],
                          "freshness": "Current"} for v in ordered],
        })
    return {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2",
            "metadata": {}, "items": items}


def _aggregated_resource(rt: ResourceType, version: str) -> dict:
    doc: dict[str, Any] = {
        "resource": rt.plural, "responseKind": {"group": rt.group, "version": version, "kind": rt.kind},
        "scope": "Namespaced" if rt.namespaced else "Cluster", "singularResource": rt.singular,
        "verbs": verbs(rt),
    }
    if rt.short_names:
        doc["shortNames"] = list(rt.short_names)
    if rt.categories:
        doc["categories"] = list(rt.categories)
    subs = [{"subresource": s, "responseKind": _sub_kind(rt, version, s), "verbs": SUB_VERBS.get(s, ["get"])}
            for s in subresources(rt)]
    if subs:
        doc["subresources"] = subs
    return doc


# ----------------------------------------------------------------- legacy


def api_versions(server: str) -> dict:
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server}]}


def _group_doc(group: str, versions: dict[str, list[ResourceType]]) -> dict:
    preferred = _preferred(versions)
    listed = [{"groupVersion": f"{group}/{v}", "version": v} for v in sorted(versions, key=lambda v: v != preferred)]
    return {"name": group, "versions": listed, "preferredVersion": {"groupVersion": f"{group}/{preferred}",
                                                                      "version": preferred}}


def group_list(registry: Registry) -> dict:
    groups = [_group_doc(g, vs) for g, vs in _groups(registry).items() if g and vs]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def group(registry: Registry, name: str) -> dict | None:
    versions = _groups(registry).get(name)
    if not name or not versions:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group_doc(name, versions)}


def resource_list(registry: Registry, group: str, version: str) -> dict | None:
    """The APIResourceList of one group-version, or None when it is not served."""
    rts = _groups(registry).get(group, {}).get(version)
    if not rts:
        return None
    resources = []
    for rt in rts:
        entry = {"name": rt.plural, "singularName": rt.singular, "namespaced": rt.namespaced,
                 "kind": rt.kind, "verbs": verbs(rt)}
        if rt.short_names:
            entry["shortNames"] = list(rt.short_names)
        if rt.categories:
            entry["categories"] = list(rt.categories)
        resources.append(entry)
        for sub in subresources(rt):
            kind = _sub_kind(rt, version, sub)
            sub_entry = {"name": f"{rt.plural}/{sub}", "singularName": "", "namespaced": rt.namespaced,
                         "kind": kind["kind"], "verbs": SUB_VERBS.get(sub, ["get"])}
            if kind["group"] != rt.group:
                sub_entry.update(group=kind["group"], version=kind["version"])
            resources.append(sub_entry)
    gv = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}


# ---------------------------------------------------------------- openapi


def _gv_path(group: str, version: str) -> str:
    return f"api/{version}" if not group else f"apis/{group}/{version}"


# /openapi/v2: kubectl reads the schemas from /openapi/v3 and asks v2 only for a kind v3 does not
# have (its fieldValidation check and client-side validation fall back to it).  A document
# without definitions tells it the kind is unknown here, so `kubectl apply` of a misspelt kind
# says `no matches for kind …` as against kube-apiserver, instead of "failed to download
# openapi".  (Clients that read v2's schemas find none: the published ones are v3's.)
OPENAPI_V2 = {"swagger": "2.0", "info": {"title": "Kubernetes", "version": "v1.32.0"}, "paths": {}, "definitions": {}}
OPENAPI_V2_PROTOBUF_TYPE = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
# gnostic's openapi_v2.Document with its first field, swagger, "2.0" (the rest empty)
OPENAPI_V2_PROTOBUF = b"\x0a\x032.0"


def openapi_root(registry: Registry) -> dict:
    paths = {}
    for group, versions in _groups(registry).items():
        for version in versions:
            doc = openapi_group_version(registry, group, version)
            digest = hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:32].upper()
            paths[_gv_path(group, version)] = {"serverRelativeURL": f"/openapi/v3/{_gv_path(group, version)}?hash={digest}"}
    return {"paths": paths}


_FIELD_VALIDATION = {"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": True},
                     "description": "Ignore, Warn or Strict: what the server does with unknown or duplicate fields"}


def openapi_group_version(registry: Registry, group: str, version: str) -> dict | None:
    rts = _groups(registry).get(group, {}).get(version)
    if rts is None:
        return None
    key = (group, version, tuple((rt.kind, rt.crd_revision) for rt in rts))
    doc = _GV_DOCS.get(key)
    if doc is None:
        if len(_GV_DOCS) > 64:
            _GV_DOCS.clear()
        doc = _GV_DOCS[key] = _openapi_group_version(rts, group, version)
    return doc


_GV_DOCS: dict[tuple, dict] = {}


def _openapi_group_version(rts: list[ResourceType], group: str, version: str) -> dict:
    paths = {}
    base = "/" + _gv_path(group, version)
    schemas: dict[str, Any] = {}
    for rt in rts:
        gvk = {"group": rt.group, "version": version, "kind": rt.kind}
        scope = f"{base}/namespaces/{{namespace}}/{rt.plural}" if rt.namespaced else f"{base}/{rt.plural}"
        write = {"parameters": [_FIELD_VALIDATION], "x-kubernetes-group-version-kind": gvk,
                 "responses": {"200": {"description": "OK"}}}
        paths[scope] = {"post": dict(write, **{"x-kubernetes-action": "post"}),
                        "get": {"x-kubernetes-action": "list", "x-kubernetes-group-version-kind": gvk,
                                "responses": {"200": {"description": "OK"}}}}
        paths[scope + "/{name}"] = {"put": dict(write, **{"x-kubernetes-action": "put"}),
                                    "patch": dict(write, **{"x-kubernetes-action": "patch"}),
                                    "get": {"x-kubernetes-action": "get", "x-kubernetes-group-version-kind": gvk,
                                            "responses": {"200": {"description": "OK"}}}}
        name = schema_name(rt, version)
        schemas[name] = kind_schema(rt, version)
        if "scale" in rt.subresources:
            schemas[_SCALE] = builtin_schemas()[_SCALE]
    _close(schemas)
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.32.0"}, "paths": paths,
            "components": {"schemas": dict(sorted(schemas.items()))}}


# ------------------------------------------------------------ the schemas

_SCALE = "io.k8s.api.autoscaling.v1.Scale"


@functools.cache
def schema_name(rt: ResourceType, version: str) -> str:
    """The definition name of a kind: upstream's for built-ins, reversed group + version + kind otherwise."""
    found = None if rt.is_custom else builtin_names().get((rt.group, version, rt.kind))
    if found:
        return found
    return ".".join([*reversed(rt.group.split(".")), version, rt.kind]) if rt.group else f"{version}.{rt.kind}"


def kind_schema(rt: ResourceType, version: str) -> dict:
    """The schema of one served kind (built-in, custom, or recon's own schemaless kinds)."""
    if not rt.is_custom:
        found = builtin_names().get((rt.group, version, rt.kind))
        if found:
            return builtin_schemas()[found]
    gvk = [{"group": rt.group, "kind": rt.kind, "version": version}]
    custom = thaw(rt.schemas.get(version)) if rt.is_custom else None
    schema = dict(custom) if isinstance(custom, dict) else {"type": "object",
                                                            "x-kubernetes-preserve-unknown-fields": True}
    props = dict(schema.get("properties") or {})
    props.setdefault("apiVersion", {"type": "string", "description": _API_VERSION_DOC})
    props.setdefault("kind", {"type": "string", "description": _KIND_DOC})
    props["metadata"] = {"allOf": [{"$ref": REF + OBJECT_META}], "description": _METADATA_DOC}
    schema.update(properties=props, **{"x-kubernetes-group-version-kind": gvk})
    schema.setdefault("type", "object")
    return schema


_API_VERSION_DOC = ("APIVersion defines the versioned schema of this representation of an object. Servers should "
                    "convert recognized schemas to the latest internal value, and may reject unrecognized values.")
_KIND_DOC = ("Kind is a string value representing the REST resource this object represents. Servers may infer "
             "this from the endpoint the client submits requests to. Cannot be updated. In CamelCase.")
_METADATA_DOC = "Standard object's metadata."


def refs_of(schema: Any) -> set[str]:
    """The definition names a schema refers to (directly)."""
    found: set[str] = set()
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith(REF):
                found.add(ref[len(REF):])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def _close(schemas: dict[str, Any]) -> None:
    """Add every built-in definition the schemas refer to, transitively."""
    known = builtin_schemas()
    todo = [n for s in list(schemas.values()) for n in refs_of(s)]
    while todo:
        name = todo.pop()
        if name in schemas or name not in known:
            continue
        schemas[name] = known[name]
        todo.extend(refs_of(known[name]))
