"""The built-in kinds' OpenAPI definitions (engine/api/schemas.json.gz), read once.

Below the API layer: the API server's decode (engine/request.py) walks them
to store what upstream's typed decode stores, and the HTTP layer
(engine/api/discovery.py, fieldvalidation.py) serves and checks with them.
"""

from __future__ import annotations

import functools
import gzip
import json
from pathlib import Path
from collections.abc import Mapping
from typing import Any

SCHEMAS_FILE = Path(__file__).with_name("api") / "schemas.json.gz"
REF = "#/components/schemas/"
OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"


@functools.cache
def builtin_schemas() -> dict[str, Any]:
    """Every built-in definition by its upstream name."""
    return json.loads(gzip.decompress(SCHEMAS_FILE.read_bytes()))["definitions"]


@functools.cache
def builtin_names() -> dict[tuple[str, str, str], str]:
    """(group, version, kind) → definition name, from the definitions' GVK extension."""
    names = {}
    for name, schema in builtin_schemas().items():
        for gvk in schema.get("x-kubernetes-group-version-kind", ()):
            names[(gvk["group"], gvk["version"], gvk["kind"])] = name
    return names


def builtin_kind_schema(group: str, version: str, kind: str) -> Mapping | None:
    """The definition of a built-in kind (None for one upstream does not have: recon's own)."""
    name = builtin_names().get((group, version, kind))
    return builtin_schemas()[name] if name else None


# ------------------------------------------------------------------ walking

EMBEDDED_ROOT = ("apiVersion", "kind", "metadata")


def resolve(schema: Any) -> Any:
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


def child(schema: Mapping, key: str, typed: bool = False) -> tuple[bool, Any]:
    """(known, schema of the value) for `key` in an object schema; unknown keys answer (False, None).

    `typed`: structured-merge-diff's rule, an object schema declaring no properties is free-form."""
    props = schema.get("properties")
    if isinstance(props, Mapping) and key in props:
        return True, props[key]
    extra = schema.get("additionalProperties")
    if isinstance(extra, Mapping):
        return True, extra
    if extra is True or schema.get("x-kubernetes-preserve-unknown-fields"):
        return True, None
    if schema.get("x-kubernetes-embedded-resource") and key in EMBEDDED_ROOT:
        return True, None
    if props is None and extra is None and schema.get("type") != "object":
        return True, None  # not an object schema (a type error is validation's business)
    if typed and not props and extra is None:
        return True, None
    return False, None


def undeclared_prefix(schema: Any, path: tuple) -> tuple | None:
    """The steps of `path` (field names and list indexes from an object's root) up to the first
    field `schema` does not declare; None when it declares them all or leaves the part open."""
    node = schema
    for depth, step in enumerate(path):
        node = resolve(node)
        if node is None:
            return None
        if isinstance(step, int) or node.get("type") == "array":
            node = node.get("items")
            continue
        known, node = child(node, step)
        if not known:
            return tuple(path[:depth + 1])
        if node is None:
            return None
    return None


def declared_names(schema: Any, path: tuple) -> list[str]:
    """The field names `schema` declares in the object at `path` (empty where it declares none)."""
    node = resolve(schema)
    for step in path:
        if node is None:
            return []
        node = resolve(node.get("items") if isinstance(step, int) or node.get("type") == "array"
                        else (node.get("properties") or {}).get(step))
    return sorted(node.get("properties") or ()) if node is not None else []
