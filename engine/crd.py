"""CustomResourceDefinitions: checking the definition, and objects against its schema.

`crd_errors` validates a CRD the way apiextensions-apiserver does (name is
`<plural>.<group>`, exactly one storage version, a schema per version, its
printer columns and scale paths).
`shape_custom_resource` prunes the fields a structural schema does not
declare and fills its defaults; `custom_resource_errors` validates an
object with the `jsonschema` package (OpenAPI v3.0's `nullable` and
`x-kubernetes-int-or-string` translated first), pointing at field paths
the way upstream does: `spec.size in body must be of type integer: "big"`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

import jsonschema

from . import fieldcheck as fc
from .apierrors import FieldError, go_value, invalid, not_supported, required
from .objects import freeze, get_path, thaw

# ------------------------------------------------------------ the definition


def _names_errors(names: Mapping) -> list[FieldError]:
    errors = []
    for field in ("plural", "kind"):
        if not names.get(field):
            errors.append(required(f"spec.names.{field}"))
    for field in ("plural", "singular"):
        if names.get(field):
            errors += fc.named(names[field], f"spec.names.{field}", fc.label_errors)
    for i, short in enumerate(names.get("shortNames") or ()):
        errors += fc.named(short, f"spec.names.shortNames[{i}]", fc.label_errors)
    return errors


def _version_errors(version: Any, path: str, seen: set) -> list[FieldError]:
    errors, version = fc.mapping(version, path)
    name = version.get("name")
    if not name:
        errors.append(required(f"{path}.name"))
    else:
        errors += fc.unique_name(name, f"{path}.name", fc.dns1035_errors, seen)
    schema = get_path(version, "schema", "openAPIV3Schema")
    schema_path = f"{path}.schema.openAPIV3Schema"
    if schema is None:
        return errors + [required(schema_path, "schemas are required")]
    if not isinstance(schema, Mapping):
        return errors + fc.wrong_type(schema, schema_path, "object")
    if schema.get("type") != "object":
        errors.append(invalid(f"{schema_path}.type", schema.get("type") or "", "must be object at the root"))
    types = list(_type_errors(schema, schema_path))
    if types:  # (upstream's words for a misspelt type, rather than the meta-schema's)
        return errors + types
    try:
        jsonschema.Draft4Validator.check_schema(to_json_schema(schema))
    except jsonschema.SchemaError as exc:
        where = ".".join(str(p) for p in exc.path)
        errors.append(invalid(f"{schema_path}.{where}" if where else schema_path, exc.instance, exc.message))
    return errors


SCHEMA_TYPES = ("array", "boolean", "integer", "number", "object", "string")


def _type_errors(schema: Any, path: str):
    """A `type` that is no OpenAPI v3 type, anywhere in `schema`, as apiextensions' validation says
    it (paths as `properties[spec].items.type`)."""
    if not isinstance(schema, Mapping):
        return
    kind = schema.get("type")
    if isinstance(kind, str) and kind and kind not in SCHEMA_TYPES:
        yield not_supported(f"{path}.type", kind, SCHEMA_TYPES)
    for name, sub in sorted((schema.get("properties") or {}).items()) if isinstance(schema.get("properties"), Mapping) else ():
        yield from _type_errors(sub, f"{path}.properties[{name}]")
    for field in ("items", "additionalProperties", "not"):
        yield from _type_errors(schema.get(field), f"{path}.{field}")
    for field in ("allOf", "anyOf", "oneOf"):
        for i, sub in enumerate(schema.get(field) or ()) if isinstance(schema.get(field), Sequence) else ():
            yield from _type_errors(sub, f"{path}.{field}[{i}]")


# apiextensions' printerColumnDatatypes and customResourceColumnDefinitionFormats, as its messages list them (sorted)
COLUMN_TYPES = ("boolean", "date", "integer", "number", "string")
COLUMN_FORMATS = ("byte", "date", "date-time", "double", "float", "int32", "int64", "password")


def _simple_json_path_errors(value: str, path: str) -> list[FieldError]:
    """validateSimpleJSONPath: a non-empty path starting with `.`."""
    if not value:
        return [invalid(path, value, "must not be empty")]
    if not value.startswith("."):
        return [invalid(path, value, "must be a simple json path starting with .")]
    return []


def _column_errors(column: Any, path: str) -> list[FieldError]:
    """ValidateCustomResourceColumnDefinition (its field path says `JSONPath`, as upstream's does)."""
    errors, column = fc.mapping(column, path)
    if not column.get("name"):
        errors.append(required(f"{path}.name"))
    ctype, types = column.get("type"), ",".join(COLUMN_TYPES)
    if not ctype:
        errors.append(required(f"{path}.type", f"must be one of {types}"))
    elif ctype not in COLUMN_TYPES:
        errors.append(invalid(f"{path}.type", ctype, f"must be one of {types}"))
    if column.get("format") and column["format"] not in COLUMN_FORMATS:
        errors.append(invalid(f"{path}.format", column["format"], f"must be one of {','.join(COLUMN_FORMATS)}"))
    if not column.get("jsonPath"):
        errors.append(required(f"{path}.JSONPath"))
    else:
        errors += _simple_json_path_errors(str(column["jsonPath"]), f"{path}.JSONPath")
    return errors


def _scale_path_errors(scale: Mapping, field: str, path: str, under: tuple[str, ...], where: str) -> list[FieldError]:
    value = scale.get(field)
    if value is None or value == "":
        return [] if field == "labelSelectorPath" else [required(f"{path}.{field}")]
    errors = _simple_json_path_errors(str(value), f"{path}.{field}")
    if not errors and not str(value).startswith(under):
        errors.append(invalid(f"{path}.{field}", value, f"should be a json path under {where}"))
    return errors


def _subresources_errors(subresources: Any, path: str) -> list[FieldError]:
    """ValidateCustomResourceDefinitionSubresources: the scale paths, each a simple JSON path where it belongs."""
    errors, subresources = fc.mapping(subresources, path)
    if subresources.get("scale") is None:
        return errors
    scale_errors, scale = fc.mapping(subresources["scale"], f"{path}.scale")
    return errors + scale_errors + [
        *_scale_path_errors(scale, "specReplicasPath", f"{path}.scale", (".spec.",), ".spec"),
        *_scale_path_errors(scale, "statusReplicasPath", f"{path}.scale", (".status.",), ".status"),
        *_scale_path_errors(scale, "labelSelectorPath", f"{path}.scale", (".spec.", ".status."), "either .spec or .status"),
    ]


def _version_extras_errors(version: Any, path: str) -> list[FieldError]:
    """A version's subresources and additionalPrinterColumns."""
    if not isinstance(version, Mapping):
        return []
    errors = _subresources_errors(version.get("subresources"), f"{path}.subresources")
    list_errors, columns = fc.items(version.get("additionalPrinterColumns"), f"{path}.additionalPrinterColumns")
    errors += list_errors
    for column_path, column in columns:
        errors += _column_errors(column, column_path)
    return errors


def crd_errors(crd: Mapping, old: Mapping | None) -> list[FieldError]:
    errors, spec = fc.mapping(crd.get("spec"), "spec")
    group = spec.get("group")
    if not group:
        errors.append(required("spec.group"))
    elif "." not in str(group):
        errors.append(invalid("spec.group", group, "should be a domain with at least one dot"))
    else:
        errors += fc.named(group, "spec.group")
    names_errors, names = fc.mapping(spec.get("names"), "spec.names")
    errors += names_errors + _names_errors(names)
    name = get_path(crd, "metadata", "name")
    if names.get("plural") and group and name != f"{names['plural']}.{group}":
        errors.append(invalid("metadata.name", name, 'must be spec.names.plural+"."+spec.group'))
    errors += fc.one_of(spec.get("scope"), "spec.scope", ("Cluster", "Namespaced"))
    if not spec.get("scope"):
        errors.append(required("spec.scope"))
    list_errors, versions = fc.items(spec.get("versions"), "spec.versions")
    errors += list_errors
    seen: set = set()
    for path, version in versions:
        errors += _version_errors(version, path, seen) + _version_extras_errors(version, path)
    storage = [v for _, v in versions if isinstance(v, Mapping) and v.get("storage")]
    if len(storage) != 1 and not list_errors:
        errors.append(invalid("spec.versions", [v.get("name") for _, v in versions if isinstance(v, Mapping)],
                              "must have exactly one version marked as storage version"))
    if old is not None and spec.get("scope") != get_path(old, "spec", "scope"):
        errors.append(invalid("spec.scope", spec.get("scope"), "field is immutable"))
    return errors


def crd_status(crd: Mapping, old_status: Mapping | None) -> Mapping:
    """What apiextensions' controllers would report at once: names accepted, established."""
    names = get_path(crd, "spec", "names") or {}
    kind = names.get("kind") or ""
    accepted = {"plural": names.get("plural"), "singular": names.get("singular") or kind.lower(),
                "kind": kind, "listKind": names.get("listKind") or kind + "List"}
    for field in ("shortNames", "categories"):
        if names.get(field):
            accepted[field] = names[field]
    stored = list((old_status or {}).get("storedVersions") or ())
    for version in get_path(crd, "spec", "versions") or ():
        if version.get("storage") and version.get("name") not in stored:
            stored.append(version.get("name"))
    conditions = [
        {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "message": "no conflicts found"},
        {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
         "message": "the initial names have been accepted"},
    ]
    return freeze({"acceptedNames": accepted, "conditions": conditions, "storedVersions": stored})


# ------------------------------------------------------- schema translation


def to_json_schema(schema: Any) -> Any:
    """An OpenAPI v3.0 structural schema as a JSON Schema (draft 4) document."""
    if isinstance(schema, Sequence) and not isinstance(schema, str):
        return [to_json_schema(s) for s in schema]
    if not isinstance(schema, Mapping):
        return thaw(schema)
    out = {k: to_json_schema(v) for k, v in schema.items()
           if not k.startswith("x-kubernetes-") and k not in ("nullable", "default", "example")}
    if schema.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
    if schema.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    return out


_VALIDATORS: dict[int, tuple[Any, jsonschema.Draft4Validator]] = {}


def _validator(schema: Mapping) -> jsonschema.Draft4Validator:
    cached = _VALIDATORS.get(id(schema))
    if cached is not None and cached[0] is schema:
        return cached[1]
    if len(_VALIDATORS) > 256:
        _VALIDATORS.clear()
    validator = jsonschema.Draft4Validator(to_json_schema(schema))
    _VALIDATORS[id(schema)] = (schema, validator)
    return validator


# ----------------------------------------------------- pruning and defaults

_ROOT_FIELDS = ("apiVersion", "kind", "metadata")


def _prune(value: Any, schema: Any) -> Any:
    if not isinstance(schema, Mapping):
        return value
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        keep_unknown = schema.get("x-kubernetes-preserve-unknown-fields") or extra is True
        out = {}
        for key, item in value.items():
            if key in props:
                out[key] = _prune(item, props[key])
            elif isinstance(extra, Mapping):
                out[key] = _prune(item, extra)
            elif keep_unknown:
                out[key] = item
        return out
    if isinstance(value, list):
        return [_prune(item, schema.get("items")) for item in value]
    return value


def _default(value: Any, schema: Any) -> Any:
    if not isinstance(schema, Mapping):
        return value
    if isinstance(value, dict):
        for key, sub in (schema.get("properties") or {}).items():
            if key not in value and isinstance(sub, Mapping) and "default" in sub:
                value[key] = copy.deepcopy(thaw(sub["default"]))
            if key in value:
                value[key] = _default(value[key], sub)
        extra = schema.get("additionalProperties")
        if isinstance(extra, Mapping):
            for key in value:
                value[key] = _default(value[key], extra)
    elif isinstance(value, list):
        return [_default(item, schema.get("items")) for item in value]
    return value


def pruned_fields(schema: Mapping | None, path: Sequence[Any], value: Any) -> list[tuple]:
    """The fields that `value`, written at `path` of an object (its steps from the root: names
    and list indexes), loses to `shape_custom_resource`: each as its path, up to the first name
    the schema does not declare (`status` for all of an undeclared status).  Empty when the
    schema keeps all of it, or has nothing to say there (no schema; no `items`; a part that
    preserves unknown fields)."""
    if not isinstance(schema, Mapping) or not path or path[0] in _ROOT_FIELDS:
        return []
    node = schema
    for depth, step in enumerate(path):
        node = _declared(node, step)
        if node is _UNDECLARED:
            return [tuple(path[:depth + 1])]
        if not isinstance(node, Mapping):  # (kept as it is, whatever is below)
            return []
    return list(_unknown_fields(node, tuple(path), value))


_UNDECLARED = object()


def _declared(schema: Mapping, step: Any) -> Any:
    """The schema of the part `step` of a value of `schema`, as `_prune` follows it: None when it
    keeps the part as it is, `_UNDECLARED` when it drops it."""
    if isinstance(step, int):
        return schema.get("items")
    props = schema.get("properties") or {}
    extra = schema.get("additionalProperties")
    if step in props:
        return props[step]
    if isinstance(extra, Mapping):
        return extra
    if schema.get("x-kubernetes-preserve-unknown-fields") or extra is True:
        return None
    return _UNDECLARED


def _unknown_fields(schema: Mapping, path: tuple, value: Any):
    """The paths of the parts of `value` (at `path`) that `_prune` drops under `schema`."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            below = _declared(schema, key)
            if below is _UNDECLARED:
                yield (*path, key)
            elif isinstance(below, Mapping):
                yield from _unknown_fields(below, (*path, key), item)
    elif isinstance(value, Sequence) and not isinstance(value, str):
        items = schema.get("items")
        if isinstance(items, Mapping):
            for i, item in enumerate(value):
                yield from _unknown_fields(items, (*path, i), item)


def shape_custom_resource(obj: Mapping, schema: Mapping | None) -> Mapping:
    """`obj` with undeclared fields pruned and schema defaults filled (upstream's order)."""
    if not isinstance(schema, Mapping):
        return obj
    body = thaw(obj)
    root = {k: body.pop(k) for k in _ROOT_FIELDS if k in body}
    body = _default(_prune(body, schema), schema)
    shaped = freeze({**root, **body})
    return obj if shaped == obj else shaped


# ---------------------------------------------------------------- validation


def _path(parts: Sequence[Any]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _schema_error(error: jsonschema.ValidationError) -> FieldError:
    path = _path(error.absolute_path)
    where = path or "<root>"
    check, limit, value = error.validator, error.validator_value, error.instance
    if check == "required":
        missing = error.message.split("'")[1] if "'" in error.message else ""
        return required(f"{path}.{missing}" if path else missing)
    if check == "type":
        wanted = limit if isinstance(limit, str) else " or ".join(t for t in limit if t != "null")
        return invalid(path, _json_type(value), f"{where} in body must be of type {wanted}: {go_value(value)}")
    if check == "enum":
        return not_supported(path, value, [str(v) for v in limit if v is not None])
    words = {
        "minimum": f"should be greater than or equal to {limit}",
        "maximum": f"should be less than or equal to {limit}",
        "minLength": f"should be at least {limit} chars long",
        "maxLength": f"may not be longer than {limit}",
        "pattern": f"should match '{limit}'",
        "minItems": f"should have at least {limit} items",
        "maxItems": f"should have at most {limit} items",
    }
    if check in words:
        return invalid(path, value, f"{where} in body {words[check]}")
    return invalid(path, value, error.message)


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    return "object" if isinstance(value, Mapping) else "array"


def custom_resource_errors(obj: Mapping, schema: Mapping | None) -> list[FieldError]:
    """Every way `obj` breaks its version's openAPIV3Schema."""
    if not isinstance(schema, Mapping):
        return []
    body = thaw(obj)
    body.pop("metadata", None)
    errors = sorted(_validator(schema).iter_errors(body), key=lambda e: [str(p) for p in e.absolute_path])
    found: dict[str, FieldError] = {}
    for error in errors:
        field_error = _schema_error(error)
        found.setdefault(field_error.message(), field_error)
    return list(found.values())
