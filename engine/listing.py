"""Listing through the store's indexes.

A list reads the smallest index set every match must be in: one key for
`metadata.name`, the label index for a label equality, the node index for
pods by `spec.nodeName`, else the kind (and namespace) index; then filters
by the selectors.  It never scans objects of other kinds.
"""

from __future__ import annotations

from typing import Any

from . import store as st
from .apierrors import bad_request
from .kinds import ResourceType
from .objects import Key
from .selectors import FieldSelector, Selector, parse, parse_field_selector


def parse_selectors(rt: ResourceType, labels: Any, fields: Any) -> tuple[Selector, FieldSelector]:
    try:
        label_sel = parse(labels) if isinstance(labels, str) else labels or Selector()
        field_sel = parse_field_selector(fields) if isinstance(fields, str) else fields or FieldSelector()
    except ValueError as exc:
        raise bad_request(str(exc)) from None
    # custom resources support only the metadata fields (a kind name no built-in table knows)
    unsupported = field_sel.unsupported_fields("" if rt.is_custom else rt.kind)
    if unsupported:
        raise bad_request(f'field label not supported: {unsupported[0]}')
    return label_sel, field_sel


def candidates(snap: st.Snapshot, rt: ResourceType, namespace: str | None,
               labels: Selector, fields: FieldSelector) -> list[Key]:
    """The smallest index set every match must be in (never a scan of other kinds)."""
    exact = fields.equalities()
    if "metadata.name" in exact:
        name = exact["metadata.name"]
        ns = exact.get("metadata.namespace", namespace) if rt.namespaced else ""
        if ns is not None:
            return [(rt.group, rt.kind, ns, name)]
        return [k for k in snap.keys(rt.group, rt.kind) if k[3] == name]
    namespace = exact.get("metadata.namespace", namespace) if rt.namespaced else namespace
    best = snap.index("kind", (rt.group, rt.kind)) if namespace is None else snap.index(
        "ns", (rt.group, rt.kind, namespace))
    for label, value in labels.equalities().items():
        keys = snap.index("label", (rt.group, rt.kind, label, value))
        if len(keys) < len(best):
            best = keys
    node = exact.get("spec.nodeName") or exact.get("spec.host")  # (spec.host: old clients' name for it)
    if (rt.group, rt.kind) == ("", "Pod") and node:
        keys = snap.index("node", node)
        if len(keys) < len(best):
            best = keys
    return sorted(k for k in best if k[:2] == (rt.group, rt.kind))
