"""Which parts of the pod a filter or score reads: the key of its per-node results.

Within one snapshot a plugin's answer for a node depends on the node, on
what it reads of the snapshot (its queries and lookups, which leave
dependencies behind) and on the pod — but only on the parts of the pod it
reads.  Ten replicas of one Deployment differ in name and uid, which the
resource and taint plugins never look at, so their answers for a node are
the same; the scheduler keeps them (`scheduler.NodeResults`) and asks a
node again only when the node, a dependency or those parts change.

`pod_reads` works this out from the declaration's syntax: every use of the
pod variable is a path (`pod.spec.tolerations`, `pod.metadata.labels["app"]`
up to the first computed index); the pod passed whole to a builtin counts
as the paths that builtin reads (`POD_ARGUMENT_READS`); the pod used whole
in any other way (bound to a name, compared, passed to an unknown
function) makes the answer depend on all of it, and so does `now`.  Over-
approximating is safe (fewer results shared); missing a read is not, so
anything unrecognised counts as reading everything.
"""

from __future__ import annotations

from typing import Any

import attrs

from . import ast as A
from .runtime import META_SHORTCUTS

# What these builtins read of an object argument given whole (argument
# position → paths).  Keep in step with their code in builtins*.py.
_LABELS_NS = (("metadata", "labels"), ("metadata", "namespace"))
POD_ARGUMENT_READS: dict[str, dict[int, tuple[tuple[str, ...], ...]]] = {
    "pod_units": {0: (("spec", "containers"), ("spec", "initContainers"), ("spec", "overhead"))},
    "required_node_affinity_matches": {0: (("spec", "nodeSelector"), ("spec", "affinity"))},
    "spread_constraints": {0: (("spec", "topologySpreadConstraints"), ("metadata", "labels"))},
    "spread_includes_node": {1: (("spec", "nodeSelector"), ("spec", "affinity"), ("spec", "tolerations"))},
    "affinity_term_matches": {1: _LABELS_NS, 2: _LABELS_NS},
    "matches": {1: (("metadata", "labels"),)},
    "controller_of": {0: (("metadata", "ownerReferences"),)},
}


def pod_reads(decl: A.Filter | A.Score, skip: frozenset[int] = frozenset()) -> tuple[tuple[str, ...], ...] | None:
    """The pod paths `decl` reads, sorted; None when it may read the whole pod (or the clock).
    With `skip` (ids of top-level lets): what the rest of it reads, those lets' values left out."""
    found: set[tuple[str, ...]] = set()
    try:
        for stmt in decl.body:
            if id(stmt) not in skip:
                _visit(stmt, decl.pod_var, found)
    except _Whole:
        return None
    return tuple(sorted(found))


class _Whole(Exception):
    """The pod (or the clock) is used in a way that is not a path."""


def _chain(expr: Any) -> tuple[Any, tuple[str, ...], list[Any]]:
    """The root of an attribute/index chain, its static steps, and the computed indexes on the way."""
    steps: list[str] = []
    computed: list[Any] = []
    while True:
        if isinstance(expr, A.Attr):
            steps.append(expr.name)
            expr = expr.obj
        elif isinstance(expr, A.Index):
            if isinstance(expr.index, A.Literal) and isinstance(expr.index.value, str):
                steps.append(expr.index.value)
            else:  # a computed step: the path so far is read whole
                steps.clear()
                computed.append(expr.index)
            expr = expr.obj
        else:
            return expr, tuple(reversed(steps)), computed


def _record(found: set, steps: tuple[str, ...]) -> None:
    if not steps:
        raise _Whole()
    found.add(steps)
    if steps[0] in META_SHORTCUTS:  # `pod.labels` may be `pod.metadata.labels`
        found.add(("metadata", *steps))


def _visit(node: Any, pod: str, found: set) -> None:
    if isinstance(node, A.Name):
        if node.id in ("now", pod):
            raise _Whole()
        return
    if isinstance(node, (A.Attr, A.Index)):
        root, steps, computed = _chain(node)
        for index in computed:
            _visit(index, pod, found)
        if isinstance(root, A.Name) and root.id == pod:
            _record(found, steps)
        else:
            _visit(root, pod, found)
        return
    if isinstance(node, A.Call):
        reads = POD_ARGUMENT_READS.get(node.func, {})
        for i, arg in enumerate(node.args):
            if isinstance(arg, A.Name) and arg.id == pod and i in reads:
                found.update(reads[i])
            else:
                _visit(arg, pod, found)
        return
    if isinstance(node, (tuple, list)):
        for item in node:
            _visit(item, pod, found)
        return
    if attrs.has(type(node)):
        for field in attrs.fields(type(node)):
            if field.name != "pos":
                _visit(getattr(node, field.name), pod, found)
