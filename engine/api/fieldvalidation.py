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

A server-side apply is not decoded but converted to a typed value
(structured-merge-diff's), which cannot hold an undeclared field, nor a value
of the wrong type, whatever `fieldValidation` says: the request fails, a 500
without a reason, `failed to create typed patch object (...): .spec.replcas:
field not declared in schema` or `.spec.replicas: expected numeric (int or
float), got string` (`check_apply`).

The schemas are the OpenAPI ones `discovery` serves: built-in kinds from
`schemas.json.gz`, custom resources from their CRD's `openAPIV3Schema`
(`x-kubernetes-preserve-unknown-fields`, `additionalProperties` and
`x-kubernetes-embedded-resource` respected, as upstream's pruning does).
Outside server-side apply only unknown field *names* are reported, never
types or values (that is validation's job), and anything a schema leaves open is never reported: a
false "unknown field" on a valid manifest is worse than none.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from .. import managedfields
from ..apierrors import APIError, bad_request, invalid, invalid_error, unknown_error
from ..fieldpath import path_at, path_string, shape_of
from ..kinds import ResourceType
from ..schemas import child as _child, resolve as _resolve
from .discovery import builtin_schemas, kind_schema

MODES = ("Ignore", "Warn", "Strict")
_SCALE = "io.k8s.api.autoscaling.v1.Scale"
_BINDING = "io.k8s.api.core.v1.Binding"


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


Steps = tuple  # where a value is: its field names and list indexes from the root


def dotted(steps: Steps) -> str:
    """`spec.ports[0].name`: a field's place as strict decoding names it (a JSON patch's `-` too)."""
    out = ""
    for step in steps:
        out += f"[{step}]" if isinstance(step, int) or step == "-" else (f".{step}" if out else step)
    return out


def prune_unknown(value: Any, schema: Any, path: Steps, found: list[Steps], patch: bool = False) -> Any:
    """`value` (at `path`) without the fields `schema` does not know; their paths appended to `found`.

    With `patch`, keys starting with `$` (strategic merge directives) are kept unchecked.
    (Server-side apply's typed conversion is `typed_errors`.)
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
                found.append((*path, str(key)))
                continue
            out[key] = prune_unknown(item, sub, (*path, str(key)), found, patch) if sub is not None else item
        return out
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        items = schema.get("items")
        if not isinstance(items, Mapping):
            return value
        return [prune_unknown(item, items, (*path, n), found, patch) for n, item in enumerate(value)]
    return value


def typed_errors(value: Any, schema: Any, path: Steps, found: list[tuple[Steps, str]], opened: bool = False) -> None:
    """Server-side apply's typed conversion of `value` (at `path`): what structured-merge-diff's
    validation refuses, in document order, appended to `found` as (steps, message): an object's
    first undeclared field, and a value of the wrong type (a string where the schema says
    integer, a scalar where it says object, ...).  A schema without a type (IntOrString,
    Quantity: upstream's untyped unions) and null take anything.  `opened`: below
    `x-kubernetes-preserve-unknown-fields`, which opens every object schema inlined there to
    unknown fields (not one reached through a `$ref`)."""
    if _reference(schema):
        opened = False
    schema = _resolve(schema)
    if schema is None or value is None:
        return
    opened = opened or bool(schema.get("x-kubernetes-preserve-unknown-fields"))
    wrong = _wrong_type(value, schema)
    if wrong is not None:
        found.append((path, wrong))
        return
    if isinstance(value, Mapping):
        undeclared = False
        for key, item in value.items():
            known, sub = _child(schema, key, True)
            if not known and not opened:
                if not undeclared:  # (a typed conversion stops at an object's first undeclared field)
                    found.append(((*path, str(key)), "field not declared in schema"))
                undeclared = True
            elif sub is not None:
                typed_errors(item, sub, (*path, str(key)), found, opened)
    elif isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        for n, item in enumerate(value):
            typed_errors(item, schema["items"], (*path, n), found, opened)


def _wrong_type(value: Any, schema: Mapping) -> str | None:
    """structured-merge-diff's complaint about `value` where `schema` says its type, else None.
    Its messages print the value as Go does (`%T`, `%v`, `%#v` of the decoded YAML)."""
    kind = schema.get("type")
    if kind is None and schema.get("x-kubernetes-int-or-string"):
        return None
    if kind == "object" or (kind is None and ("properties" in schema or "additionalProperties" in schema)):
        return None if isinstance(value, Mapping) else f"expected map, got &{{{_go_value(value)}}}"
    if kind == "array":
        return None if isinstance(value, list) else f"expected list, got &{{{_go_value(value)}}}"
    if kind in ("integer", "number") and (isinstance(value, bool) or not isinstance(value, (int, float))):
        return f"expected numeric (int or float), got {_go_type(value)}"
    if kind == "string" and not isinstance(value, str):
        return f"expected string, got &value.valueUnstructured{{Value:{_go_syntax(value)}}}"
    if kind == "boolean" and not isinstance(value, bool):
        return f"expected boolean, got &{{{_go_value(value)}}}"
    return None


def _go_type(value: Any) -> str:
    """Go's %T of a decoded YAML value (unstructured: int64, float64, string, bool, slices, maps)."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int64"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "[]interface {}"
    return "map[string]interface {}"


def _go_float(value: float) -> str:
    if value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return repr(value)  # (the shortest repr, exponents as Go's: 1e-05, 1e+22)


def _go_value(value: Any) -> str:
    """Go's %v of a decoded YAML value."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _go_float(value)
    if isinstance(value, list):
        return "[" + " ".join(_go_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "map[" + " ".join(f"{k}:{_go_value(value[k])}" for k in sorted(value)) + "]"
    return str(value)


def _go_syntax(value: Any) -> str:
    """Go's %#v of a decoded YAML value (as held in an interface{})."""
    if value is None:
        return "interface {}(nil)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, float):
        return _go_float(value)
    if isinstance(value, list):
        return "[]interface {}{" + ", ".join(_go_syntax(v) for v in value) + "}"
    if isinstance(value, Mapping):
        return ("map[string]interface {}{" +
                ", ".join(f"{json.dumps(str(k))}:{_go_syntax(value[k])}" for k in sorted(value)) + "}")
    return str(value)


def _reference(schema: Any) -> bool:
    """A `$ref`, or upstream's single-element `allOf` wrapping one (a named type to a typed conversion)."""
    if not isinstance(schema, Mapping):
        return False
    all_of = schema.get("allOf")
    return "$ref" in schema or (isinstance(all_of, list) and len(all_of) == 1 and _reference(all_of[0]))


def _pointer_schema(schema: Any, tokens: list[str], found: list[Steps]) -> tuple[bool, Any, Steps]:
    """Walk a JSON pointer: (every name known, the schema at its end or None when open, its field path)."""
    path: Steps = ()
    for token in tokens:
        schema = _resolve(schema)
        if schema is None:
            return True, None, path
        if schema.get("type") == "array" or "items" in schema:
            path = (*path, int(token) if token.isdigit() else token)
            schema = schema.get("items")
            continue
        known, sub = _child(schema, token)
        path = (*path, token)
        if not known:
            found.append(path)
            return False, None, path
        if sub is None:
            return True, None, path
        schema = sub
    return True, schema, path


def _json_patch(ops: list, schema: Any, found: list[Steps]) -> list:
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
    found: list[Steps] = []
    if schema is not None and _same_kind(obj, schema):
        prune_unknown(obj, schema, (), found)
    return list(dict.fromkeys(dotted(steps) for steps in found))


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
    found: list[Steps] = []
    if patch_type == "json":
        if not isinstance(body, list):
            return body, []
        pruned: Any = _json_patch(body, schema, found)
    elif isinstance(body, dict):
        if patch_type is None and not _same_kind(body, schema):
            return body, []
        pruned = prune_unknown(body, schema, (), found, patch=patch_type == "strategic")
    else:
        return body, []
    if not found:
        return body, []
    messages = [f'unknown field "{path}"' for path in dict.fromkeys(dotted(steps) for steps in found)]
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


def check_apply(rt: ResourceType, subresource: str, body: Any) -> None:
    """Server-side apply's typed conversion of the configuration: a field its schema does not declare
    fails the request whatever `fieldValidation` says (that directive only governs duplicate keys in
    the YAML), before any merge or conflict.  Upstream's field manager returns a plain error, which
    kube-apiserver answers as a 500 without a reason: `failed to create typed patch object (demo/web;
    apps/v1, Kind=Deployment): .spec.template.spec.containers[name="web"].imagee: field not declared
    in schema`, several as `errors:` with one indented line each (structured-merge-diff's wording)."""
    if subresource not in ("", "status"):
        return  # (refused: apply is served on the object and its status only)
    api_version = managedfields.applied_version(rt, body)  # (its 400s come first, as upstream's)
    version = api_version.rpartition("/")[2]
    found: list[tuple[Steps, str]] = []
    typed_errors(body, body_schema(rt, version), (), found)
    if not found:
        return
    shape = shape_of(rt, version)
    errors = [f"{path_string(path_at(body, steps, shape))}: {message}" for steps, message in found]
    meta = body.get("metadata") if isinstance(body.get("metadata"), Mapping) else {}
    where = (f"{meta.get('namespace') or ''}/{meta.get('name') or ''}; "  # (Go's GroupVersionKind.String())
             f"{api_version.rpartition('/')[0]}/{version}, Kind={rt.kind}")
    detail = errors[0] if len(errors) == 1 else "\n  ".join(["errors:", *errors])
    raise unknown_error(f"failed to create typed patch object ({where}): {detail}")


def warning_header(message: str) -> str:
    """An RFC 7234 warning as kube-apiserver sends it: `299 - "text"` (quotes and backslashes escaped)."""
    escaped = message.replace("\\", "\\\\").replace('"', '\\"')
    return f'299 - "{escaped}"'
