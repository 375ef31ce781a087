"""Table output: `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`.

kube-apiserver prints a list server-side into a `meta.k8s.io/v1` Table:
column definitions (priority 1 = only with `-o wide`), one row per object
with its cells and, by default, the object's metadata as a
PartialObjectMetadata (`includeObject=None|Metadata|Object`).  The cells
come from `engine/printers.py`, the same columns `recon get` prints; ages
are formatted by the server at the time of the request.  A subresource's
Table (`kubectl get --subresource=scale|status`) prints the Scale, or the
object with its kind's columns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..kinds import ResourceType
from ..objects import thaw
from ..printers import columns

_CREATED = "CreationTimestamp is a timestamp representing the server time when this object was created."
_DESCRIPTIONS = {
    "Name": "Name must be unique within a namespace. Cannot be updated.",
    "Age": _CREATED,
    "Created At": _CREATED,
}


def wants_table(accept: str) -> bool:
    """Whether an Accept header asks for a Table (first acceptable type that names one)."""
    for part in accept.split(","):
        params = {p.split("=", 1)[0].strip(): p.split("=", 1)[1].strip()
                  for p in part.split(";")[1:] if "=" in p}
        if params.get("as") == "Table" and params.get("g") == "meta.k8s.io":
            return True
    return False


def column_definitions(rt: ResourceType, subresource: str = "", version: str | None = None) -> list[dict]:
    """The Table's columns, named as upstream's printers declare them (kubectl upper-cases them)."""
    return [{"name": col.title, "type": col.type, "format": col.format,
             "description": col.description or _DESCRIPTIONS.get(col.title, col.title), "priority": col.priority}
            for col in columns(rt, True, subresource, version)]


def _row_object(obj: Mapping, include: str) -> Any:
    if include == "None":
        return None
    if include == "Object":
        return thaw(obj)
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": thaw(obj.get("metadata") or {})}


def rows(rt: ResourceType, objects: Sequence[Mapping], now: float, include: str = "Metadata",
         subresource: str = "", version: str | None = None) -> list[dict]:
    cols = columns(rt, True, subresource, version)
    out = []
    for obj in objects:
        row: dict[str, Any] = {"cells": [col.cell(obj, now) for col in cols]}
        row_object = _row_object(obj, include)
        if row_object is not None:
            row["object"] = row_object
        out.append(row)
    return out


def table(rt: ResourceType, objects: Sequence[Mapping], now: float, meta: Mapping, include: str = "Metadata",
          with_columns: bool = True, subresource: str = "", version: str | None = None) -> dict:
    """A meta.k8s.io/v1 Table of `objects` (`meta`: the list's resourceVersion and continue).

    `subresource` "scale" prints Scale objects; `version` picks a custom kind's printer columns.
    """
    return {
        "kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": dict(meta),
        "columnDefinitions": column_definitions(rt, subresource, version) if with_columns else [],
        "rows": rows(rt, objects, now, include, subresource, version),
    }
