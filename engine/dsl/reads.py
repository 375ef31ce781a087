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

from engine.runtime import POD_FIELDS

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
    reader = _Reader(decl.pod_var, POD_ARGUMENT_READS, clock=True)
    try:
        for stmt in decl.body:
            if id(stmt) not in skip:
                reader.visit(stmt)
    except _Whole:
        return None
    return reader.all_paths()


# What a rule's builtins read of its object given whole, beyond the scheduler's.
_UID = (("metadata", "uid"),)
_REFERENCE = (("apiVersion",), ("kind",), ("metadata", "name"), ("metadata", "namespace"), ("metadata", "uid"))
_CONDITIONS = (("status", "conditions"),)
ANCHOR_ARGUMENT_READS: dict[str, dict[int, tuple[tuple[str, ...], ...]]] = {
    **POD_ARGUMENT_READS,
    "deleting": {0: (("metadata", "deletionTimestamp"),)},
    "owned_by": {0: (("metadata", "ownerReferences"),), 1: _UID},
    "controlled_by": {0: (("metadata", "ownerReferences"),), 1: _UID},
    "owner_ref": {0: _REFERENCE},
    "condition": {0: _CONDITIONS},
    "condition_true": {0: _CONDITIONS},
    "container_statuses": {0: POD_FIELDS},
    "sandbox_start": {0: POD_FIELDS},
    "containers_stopped_at": {0: POD_FIELDS},
    "kubelet_running": {0: (("metadata", "annotations"),)},
    "node_fit": {0: (("metadata", "uid"), ("metadata", "name"), ("metadata", "creationTimestamp"), ("spec",))},
}
# … and the statements that take it whole (evalctx): `delete` (is it being deleted as asked
# already: deletion.gc_finalizers, evalctx._pending), `event … on` (its reference, but for the
# resourceVersion: an event carries the version its evaluation read), `create … with owner:`
# (writes.owner_reference, the namespace).
_DELETE_READS = (("metadata", "deletionTimestamp"), ("metadata", "deletionGracePeriodSeconds"),
                 ("metadata", "finalizers"))


def anchor_reads(rule: A.Rule) -> tuple[tuple[str, ...], ...] | None:
    """The paths of its object that a rule reads, sorted (its `where` too, and what it sets, whose
    value it compares); None when it may read the whole object.

    The engine evaluates an instance again after a change to its object only
    when the change touches one of these (reconcile.Engine._route): a rule
    that never looks at a Pod's status is not run for each status update.
    The clock is not the object: a rule that reads `now` is woken by its
    timers.
    """
    return anchor_paths(rule)[0]


def anchor_set_only(rule: A.Rule) -> tuple:
    """Of `anchor_reads`, the paths the rule only sets: a change there that leaves the values
    the rule's last evaluation wanted does not wake it (reconcile.Engine._route)."""
    return anchor_paths(rule)[1]


def anchor_paths(rule: A.Rule) -> tuple[tuple | None, tuple, tuple | None]:
    """(`anchor_reads`, `anchor_set_only`, `where_reads`) of a rule, from one reading of it:
    `where_reads` are the paths its `where` reads (None without a `where`, or when it reads the
    whole object): all that an instance whose `where` failed has read of its object."""
    reader = _Reader(rule.var, ANCHOR_ARGUMENT_READS, clock=False)
    try:
        reader.visit(rule.where)
        where_reads = tuple(sorted(reader.found)) if rule.where is not None else None
        for stmt in rule.body:
            reader.visit(stmt)
    except _Whole:
        return None, (), None
    return reader.all_paths(), reader.set_only(), where_reads


@attrs.frozen(eq=False)
class ReadPaths:
    """The paths a rule reads of the object one of its lookups found (`lookup_reads`; or its
    lookups of one kind read where they are made, `compile._Gen.lookup_at`), and of those, the
    ones it only sets: the dependency its evaluation leaves on that object
    (`EvalContext.lookup_read`), woken like a rule by its own object (reconcile.Engine._route).
    Compared by identity: one per top-level lookup, or per kind read where looked up, of a rule."""

    anchor_reads: tuple  # (named as a rule's: reconcile.AnchorPaths reads both alike)
    anchor_set_only: tuple = ()


def site_paths(steps: tuple[str, ...]) -> tuple:
    """What a lookup read right where it is made through the static path `steps` reads of the
    object it finds (`owner_object(r, ns).metadata.uid`), with the shortcut variants a path
    reads."""
    found: set = set()
    _record(found, steps)
    return tuple(sorted(found))


def lookup_reads(rule: A.Rule) -> dict[int, ReadPaths]:
    """For each top-level `let NAME = Kind[...]` of a rule (by id), what the rule reads of the
    object found through NAME, when it reads nothing else of it (`NAME == null` tells only
    whether it exists: the dependency wakes at its creation and deletion anyway).  Lets whose
    object may be read whole are left out."""
    found = {}
    for stmt in rule.body:
        if isinstance(stmt, A.Let) and isinstance(stmt.value, A.Lookup):
            reader = _Reader(stmt.name, ANCHOR_ARGUMENT_READS, clock=False, existence=True)
            try:
                reader.visit(rule.where)
                reader.visit(tuple(s for s in rule.body if s is not stmt))
            except _Whole:
                continue
            found[id(stmt)] = ReadPaths(reader.all_paths(), reader.set_only())
    return found


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
    # `pod.labels` may be `pod.metadata.labels`, and so at every step (runtime.path): a map
    # without a `labels` key of its own reads its `metadata.labels`
    variants = [()]
    for step in steps:
        variants = [v + more for v in variants
                    for more in (((step,), ("metadata", step)) if step in META_SHORTCUTS else ((step,),))]
    found.update(variants)


class _Reader:
    """Collects the paths of one variable that the nodes it visits read (`_Whole`: all of it)."""

    def __init__(self, var: str, argument_reads: dict, clock: bool, existence: bool = False):
        self.var, self.argument_reads, self.clock = var, argument_reads, clock
        self.existence = existence  # `var == null` / `var != null` read nothing of it
        self.found: set[tuple[str, ...]] = set()
        self.targets: set[tuple[str, ...]] = set()  # the paths its `set`s write (compared, not read)

    def all_paths(self) -> tuple:
        """What it reads and what it sets, sorted."""
        return tuple(sorted(self.found | self.targets))

    def set_only(self) -> tuple:
        """The paths it sets and does not otherwise read (nor a part of them, nor what holds them)."""
        read = self.found
        return tuple(sorted(t for t in self.targets
                            if not any(t[:len(p)] == p or p[:len(t)] == t for p in read)))

    def is_var(self, node: Any) -> bool:
        return isinstance(node, A.Name) and node.id == self.var

    def visit(self, node: Any) -> None:
        found = self.found
        if isinstance(node, A.Name):
            if node.id == self.var or (self.clock and node.id == "now"):
                raise _Whole()
            return
        if isinstance(node, (A.Attr, A.Index)):
            root, steps, computed = _chain(node)
            for index in computed:
                self.visit(index)
            if self.is_var(root):
                _record(found, steps)
            else:
                self.visit(root)
            return
        if (self.existence and isinstance(node, A.Binary) and node.op in ("==", "!=")
                and any(self.is_var(a) and isinstance(b, A.Literal) and b.value is None
                        for a, b in ((node.left, node.right), (node.right, node.left)))):
            return
        if isinstance(node, A.Set):
            root, steps, computed = _chain(node.target)
            if self.is_var(root):
                for index in computed:
                    self.visit(index)
                _record(self.targets, steps)
                self.visit(node.value)
                return
        if isinstance(node, A.Call):
            reads = self.argument_reads.get(node.func, {})
            for i, arg in enumerate(node.args):
                if i in reads and self.is_var(arg):
                    found.update(reads[i])
                else:
                    self.visit(arg)
            return
        if isinstance(node, A.Delete) and self.is_var(node.target):
            found.update(_DELETE_READS)
            self.visit(node.options)
            return
        if isinstance(node, A.Event) and self.is_var(node.target):
            found.update(_REFERENCE)
            self.visit((node.message, node.options))
            return
        if isinstance(node, A.Option) and node.name == "owner" and self.is_var(node.value):
            found.update(_REFERENCE)
            return
        if isinstance(node, (tuple, list)):
            for item in node:
                self.visit(item)
            return
        if attrs.has(type(node)):
            for field in attrs.fields(type(node)):
                if field.name != "pos":
                    self.visit(getattr(node, field.name))
