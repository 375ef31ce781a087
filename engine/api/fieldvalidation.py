"""Server-side field validation: the `fieldValidation` query parameter of writes.

kube-apiserver decodes a request body into its Go type; fields the type does
not have cannot be represented and are dropped.  `fieldValidation` says what
the client hears about them (kubectl sends `Strict` by default):

- `Strict`: the request fails, 400 BadRequest, `Deployment in version "v1"
  cannot be handled as a Deployment: strict decoding error: unknown field
  "spec.replcas"` (several joined with `, `); for a patch 422 Invalid on the
  field `patch`, as upstream's patcher answers;
- `Warn` (the default when the parameter is absent): each unknown field is
  dropped and named in a `Warning: 299 - "unknown field \\"spec.replcas\\""`
  response header (kubectl prints `Warning: unknown field "spec.replcas"`);
- `Ignore`: dropped silently.

The schemas are the OpenAPI ones `discovery` serves: built-in kinds from
`schemas.json.gz`, custom resources from their CRD's `openAPIV3Schema`
(`x-kubernetes-preserve-unknown-fields`, `additionalProperties` and
`x-kubernetes-embedded-resource` respected, as upstream's pruning does).
Only unknown field *names* are reported, never types or values (that is
validation's job), and anything a schema leaves open is never reported: a
false "unknown field" on a valid manifest is worse than none.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from ..apierrors import APIError, bad_request, invalid, invalid_error
from ..kinds import ResourceType
from .discovery import REF, builtin_schemas, kind_schema

MODES = ("Ignore", "Warn", "Strict")
_SCALE = "io.k8s.api.autoscaling.v1.Scale"
_BINDING = "io.k8s.api.core.v1.Binding"
_EMBEDDED_ROOT = ("apiVersion", "kind", "metadata")


def mode_of(query: Mapping[str, str]) -> str:
    """The requested directive (`Warn` when absent, as upstream defaults)."""
    value = query.get("fieldValidation") or "Warn"
    if value not in MODES:
        raise bad_request(f'fieldValidation must be one of "Ignore", "Warn", or "Strict", got "{value}"')
    return value


def body_schema(rt: ResourceType, version: str, subresource: str = "") -> Mapping | None:
    """The schema a write's body is decoded with, or None when nothing is checked."""
    if subresource == "scale":
        return builtin_schemas()[_SCALE]
    if subresource == "binding" or (rt.group, rt.kind) == ("", "Binding"):
        return builtin_schemas()[_BINDING]
    if subresource not in ("", "status", "ephemeralcontainers"):  # (the last one's body is a Pod)
        return None
    return kind_schema(rt, version)


# ------------------------------------------------------------------ walking


def _resolve(schema: Any) -> Any:
    """Follow `$ref` and upstream's single-element `allOf` wrapper to the schema that has the fields."""
    for _ in range(8):
        if not isinstance(schema, Mapping):
            return None
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith(REF):
            schema = builtin_schemas().get(ref[len(REF):])
            continue
        all_of = schema.get("allOf")
        if isinstance(all_of, list) and len(all_of) == 1 and "properties" not in schema:
            schema = all_of[0]
            continue
        return schema
    return None


def _key_path(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _child(schema: Mapping, key: str) -> tuple[bool, Any]:
    """(known, schema of the value) for `key` in an object schema; unknown keys answer (False, None)."""
    props = schema.get("properties")
    if isinstance(props, Mapping) and key in props:
        return True, props[key]
    extra = schema.get("additionalProperties")
    if isinstance(extra, Mapping):
        return True, extra
    if extra is True or schema.get("x-kubernetes-preserve-unknown-fields"):
        return True, None
    if schema.get("x-kubernetes-embedded-resource") and key in _EMBEDDED_ROOT:
        return True, None
    if props is None and extra is None and schema.get("type") != "object":
        return True, None  # not an object schema (a type error is validation's business)
    return False, None


def prune_unknown(value: Any, schema: Any, path: str, found: list[str], patch: bool = False) -> Any:
    """`value` without the fields `schema` does not know; their paths appended to `found`.

    With `patch`, keys starting with `$` (strategic merge directives) are kept unchecked.
    """
    schema = _resolve(schema)
    if schema is None:
        return value
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if patch and isinstance(key, str) and key.startswith("$"):
                out[key] = item
                continue
            known, sub = _child(schema, key)
            if not known:
                found.append(_key_path(path, str(key)))
                continue
            out[key] = prune_unknown(item, sub, _key_path(path, str(key)), found, patch) if sub is not None else item
        return out
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        items = schema.get("items")
        if not isinstance(items, Mapping):
            return value
        return [prune_unknown(item, items, f"{path}[{n}]", found, patch) for n, item in enumerate(value)]
    return value


def _pointer_schema(schema: Any, tokens: list[str], found: list[str]) -> tuple[bool, Any, str]:
    """Walk a JSON pointer: (every name known, the schema at its end or None when open, its field path)."""
    path = ""
    for token in tokens:
        schema = _resolve(schema)
        if schema is None:
            return True, None, path
        if schema.get("type") == "array" or "items" in schema:
            path = f"{path}[{token}]"
            schema = schema.get("items")
            continue
        known, sub = _child(schema, token)
        path = _key_path(path, token)
        if not known:
            found.append(path)
            return False, None, path
        if sub is None:
            return True, None, path
        schema = sub
    return True, schema, path


def _json_patch(ops: list, schema: Any, found: list[str]) -> list:
    kept = []
    for op in ops:
        if not isinstance(op, dict) or op.get("op") not in ("add", "replace") or not isinstance(op.get("path"), str):
            kept.append(op)
            continue
        tokens = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].split("/")[1:]]
        before = len(found)
        known, sub, path = _pointer_schema(schema, tokens, found)
        if not known:
            # An add of an unknown field under a known one applies, and the field is then dropped
            # (warned of); any other operation on an unknown path fails as it applies (no object
            # has the field), so it is kept, to fail in the patch library's words, and not warned of.
            if op["op"] == "add" and _pointer_schema(schema, tokens[:-1], [])[0]:
                continue
            del found[before:]
            kept.append(op)
            continue
        if sub is not None and "value" in op:
            op = dict(op, value=prune_unknown(op["value"], sub, path, found))
        kept.append(op)
    return kept


def unknown_fields(rt: ResourceType, version: str, obj: Mapping) -> list[str]:
    """The field paths of `obj` (a whole object, frozen or plain) its kind's schema does not know."""
    schema = body_schema(rt, version)
    found: list[str] = []
    if schema is not None and _same_kind(obj, schema):
        prune_unknown(obj, schema, "", found)
    return list(dict.fromkeys(found))


# ------------------------------------------------------------------ requests


def check(rt: ResourceType, version: str, subresource: str, body: Any, query: Mapping[str, str],
          patch_type: str | None = None) -> tuple[Any, list[str]]:
    """The body with unknown fields dropped, and the warnings to send; raises for `Strict`.

    `patch_type` is None for create and update, else `merge`, `strategic` or `json`.
    """
    mode = mode_of(query)
    schema = body_schema(rt, version, subresource)
    if schema is None or rt.kind == "SelfSubjectAccessReview":
        return body, []
    found: list[str] = []
    if patch_type == "json":
        if not isinstance(body, list):
            return body, []
        pruned: Any = _json_patch(body, schema, found)
    elif isinstance(body, dict):
        if patch_type is None and not _same_kind(body, schema):
            return body, []
        pruned = prune_unknown(body, schema, "", found, patch=patch_type == "strategic")
    else:
        return body, []
    if not found:
        return body, []
    messages = [f'unknown field "{path}"' for path in dict.fromkeys(found)]
    if mode == "Strict":
        raise _strict_error(rt, version, subresource, body, messages, patch_type)
    if mode == "Warn":
        return pruned, messages
    return pruned, []


def _same_kind(body: Mapping, schema: Mapping) -> bool:
    kind = body.get("kind")
    gvks = schema.get("x-kubernetes-group-version-kind") or ()
    return not kind or any(g.get("kind") == kind for g in gvks)


def _strict_error(rt: ResourceType, version: str, subresource: str, body: Any, messages: list[str],
                  patch_type: str | None) -> APIError:
    detail = "strict decoding error: " + ", ".join(messages)
    if patch_type is not None:
        text = json.dumps(body, separators=(",", ":"))
        return invalid_error("", "", [invalid("patch", text, detail)])
    kind = "Scale" if subresource == "scale" else "Binding" if subresource == "binding" else rt.kind
    kind_version = "v1" if subresource in ("scale", "binding") else version
    return bad_request(f'{kind} in version "{kind_version}" cannot be handled as a {kind}: {detail}')


def warning_header(message: str) -> str:
    """An RFC 7234 warning as kube-apiserver sends it: `299 - "text"` (quotes and backslashes escaped)."""
    escaped = message.replace("\\", "\\\\").replace('"', '\\"')
    return f'299 - "{escaped}"'
