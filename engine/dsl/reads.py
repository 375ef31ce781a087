"""Which parts of the pod a filter or score reads: the key of its per-node results.

Within one snapshot a plugin's answer for a node depends on the node, on
what it reads of the snapshot (its queries and lookups, which leave
dependencies behind) and on the pod — but only on the parts of the pod it
reads.  Ten replicas of one Deployment differ in name and uid, which the
resource and taint plugins never look at, so their answers for a node are
the same; the scheduler keeps them (`scheduler_cache.NodeResults`) and asks a
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
    "quota_pod_usage": {1: (("spec",), ("status", "phase"))},
    "quota_service_usage": {0: (("spec",),)},
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


def anchor_paths(rule: A.Rule) -> tuple[tuple | None, tuple, tuple | None, tuple | None]:
    """(`anchor_reads`, `anchor_set_only`, `where_reads`, `guard_reads`) of a rule, from one
    reading of it: `where_reads` are the paths its `where` reads (None without a `where`, or when
    it reads the whole object): all that an instance whose `where` failed has read of its object;
    `guard_reads` those its `where`, its lets and its `guard`'s condition read (None without a
    guard): all that one whose guard failed has read."""
    reader = _Reader(rule.var, ANCHOR_ARGUMENT_READS, clock=False)
    found = guard(rule)
    guard_reads = None
    try:
        reader.visit(rule.where)
        where_reads = tuple(sorted(reader.found)) if rule.where is not None else None
        if found is not None:
            reader.visit(rule.body[:-1])
            reader.visit(found.cond)
            guard_reads = tuple(sorted(reader.found))
        for stmt in rule.body:
            reader.visit(stmt)
    except _Whole:
        return None, (), None, None
    return reader.all_paths(), reader.set_only(), where_reads, guard_reads


def anchor_positions(rule: A.Rule) -> dict[tuple, A.Pos]:
    """Where the rule first writes each path of its object that it spells out (`rs.spec.replicas`:
    `("spec",)` at `spec`, `("spec", "replicas")` at `replicas`), for messages about a field."""
    found: dict[tuple, A.Pos] = {}

    def visit(node: Any) -> None:
        if isinstance(node, (tuple, list)):
            for item in node:
                visit(item)
            return
        if not attrs.has(type(node)):
            return
        if isinstance(node, (A.Attr, A.Index)):
            root, steps, computed = _chain(node)
            if isinstance(root, A.Name) and root.id == rule.var and steps and not computed:
                found.setdefault(steps, node.pos)
        for field in attrs.fields(type(node)):
            if field.name != "pos":
                visit(getattr(node, field.name))

    visit((rule.where, rule.body))
    return found


def guard(rule: A.Rule) -> A.When | None:
    """The rule's guard: a `when` without `else` that ends a body of lets (`lets…; when c: …`).
    An instance whose guard is false wrote nothing and read no more than its `where`, its lets
    and the condition (`guard_reads`): like one whose `where` failed it is dormant, and only a
    change there wakes it (a change elsewhere leaves the condition false).  Queries and lookups
    inside the guarded block were not made, so they leave no dependency either."""
    body = rule.body
    if body and isinstance(body[-1], A.When) and not body[-1].orelse \
            and all(isinstance(stmt, A.Let) for stmt in body[:-1]):
        return body[-1]
    return None


@attrs.frozen(eq=False)
class ReadPaths:
    """The paths a rule reads of the object one of its lookups found (`lookup_reads`; or its
    lookups of one kind read where they are made, `compile._Gen.lookup_at`), and of those, the
    ones it only sets: the dependency its evaluation leaves on that object
    (`EvalContext.lookup_read`), woken like a rule by its own object (reconcile.Engine._route).
    Compared by identity: one per top-level lookup, or per kind read where looked up, of a rule."""

    anchor_reads: tuple  # (named as a rule's: reconcile.AnchorPaths reads both alike)
    anchor_set_only: tuple = ()
    # A query's: the Python of the conditions of its `where` that read the object alone
    # (`lambda v_it: …`, compile._Gen.prefilter): an object failing them both before and after
    # a change is in the answer neither time, so the change does not wake the rule.
    prefilter: str | None = None


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


# ------------------------------------------------------------- query items


@attrs.frozen
class _Seq:
    """The role of a list whose elements have the role `of`."""

    of: Any


@attrs.frozen
class _Map:
    """The role of a map literal that holds some of the query's objects: (key, role) of the keys
    that do, sorted; a key not there holds neither."""

    fields: tuple

    def get(self, key: str) -> Any:
        for name, role in self.fields:
            if name == key:
                return role
        return None


_ITEM = "item"  # one of the query's objects
_LIST = _Seq(_ITEM)  # a list of them
# The builtins that take a list (argument 0) and an expression per element (`it`, argument 1): what
# they return of a list holding the objects (the list's role, one element's, or neither; `map`
# returns what its expression does, handled where it is used)
_LIST_RESULTS = {"filter": "list", "sort": "list", "sort_desc": "list", "unique": "list", "first": "item",
                 "last": "item", "min_by": "item", "max_by": "item", "count": None, "any": None, "all": None,
                 "sum": None, "min": None, "max": None, "map": None}
# … of which these, without the expression, order, return, add up or hash the elements whole
_WHOLE_WITHOUT_KEY = frozenset({"sort", "sort_desc", "min", "max", "sum", "unique"})
# What these read of an object given whole, beyond a rule's anchor builtins.
QUERY_ARGUMENT_READS: dict[str, dict[int, tuple[tuple[str, ...], ...]]] = {
    **ANCHOR_ARGUMENT_READS,
    "find_port": {0: (("spec", "containers"), ("spec", "initContainers"))},
}


def query_reads(rule: A.Rule) -> dict[int, tuple[ReadPaths | None, ReadPaths | None]]:
    """For each query of a rule (by id), the paths its objects' values can reach the rule's
    results through, and those its `where` reads of them: (ReadPaths of the answer, ReadPaths of
    an empty answer), None where unknown.

    What it reads of the answer is what its `where` reads and what the rule reads of every
    object the answer holds, followed through lets, list builtins (`filter`, `sort`, `first`,
    `flatten`, `+`, …), comprehensions, loops and the keys of map literals (`{rs: r}.rs`).  A
    query whose objects are used in any other way (compared whole, handed to a builtin not known
    to read only some paths, sorted without a key) reads all of them.  An empty answer gave the
    rule nothing but what the `where` read: a change elsewhere in an object that did not pass it
    cannot make it pass.

    The engine wakes an instance for a change to one of the objects it queried only when the
    change touches one of these paths, or moves the object into or out of the index entry the
    query read (reconcile.Engine._route_queries): a ReplicaSet's claim, which reads its pods'
    labels and owners (and the phase and deletion of the orphans it finds), is not evaluated
    again for each status update of theirs.  Queries over `any` kind are left out (their index
    spans kinds)."""
    found = {}
    for query in _queries(rule):
        if query.kind.is_any:
            continue
        flow = _Flow(query)
        try:
            flow.value(rule.where, {})
            flow.block(rule.body, {})
        except _Whole:
            answer = None
        else:
            read = flow.found
            set_only = tuple(sorted(t for t in flow.targets
                                    if not any(t[:len(p)] == p or p[:len(t)] == t for p in read)))
            answer = _site(tuple(sorted(read | flow.targets)), set_only)
        flow = _Flow(query)
        try:
            flow.value(query.where, {"it": _ITEM})
        except _Whole:
            empty = None
        else:
            empty = _site(tuple(sorted(flow.found)), ())
        if answer is not None or empty is not None:
            found[id(query)] = (answer, empty)
    return found


def _site(paths: tuple, set_only: tuple, prefilter: str | None = None) -> ReadPaths:
    """The one ReadPaths of these paths: queries that read the same paths of their objects share
    it, so an instance whose queries read one index entry alike has one dependency on it, and a
    change there is judged once for them all."""
    key = (paths, set_only, prefilter)
    found = _SITES.get(key)
    if found is None:
        found = _SITES[key] = ReadPaths(paths, set_only, prefilter)
    return found


def with_prefilter(site: ReadPaths | None, prefilter: str | None) -> ReadPaths | None:
    """The query site `site` with the conditions `prefilter` of its objects alone."""
    if site is None or prefilter is None:
        return site
    return _site(site.anchor_reads, site.anchor_set_only, prefilter)


_SITES: dict[tuple, ReadPaths] = {}


def _queries(node: Any) -> list:
    out = []
    if isinstance(node, A.Query):
        out.append(node)
    if isinstance(node, (tuple, list)):
        for item in node:
            out.extend(_queries(item))
    elif attrs.has(type(node)):
        for field in attrs.fields(type(node)):
            if field.name != "pos":
                out.extend(_queries(getattr(node, field.name)))
    return out


class _Flow:
    """Follows the objects of one query through a rule: `expr` tells what an expression is (one
    of them, a list of such, a map literal holding such, or neither) given what the names in
    scope are (`env`: name → role; names not in it hold neither), and collects the paths read of
    them; `_Whole` when they are used in a way it cannot follow."""

    def __init__(self, query: A.Query):
        self.query = query
        self.found: set[tuple[str, ...]] = set()
        self.targets: set[tuple[str, ...]] = set()  # the paths `set` writes (compared, not read)

    def value(self, node: Any, env: dict) -> None:
        """An expression whose value must not be the query's objects."""
        if self.expr(node, env) is not None:
            raise _Whole()

    def expr(self, node: Any, env: dict) -> Any:
        if node is None or isinstance(node, (A.Literal, A.Duration)):
            return None
        if isinstance(node, A.Name):
            return env.get(node.id)
        if isinstance(node, A.Query):
            self.value(node.namespace, env)
            inner = dict(env)
            if node is self.query:
                inner["it"] = _ITEM
            else:
                inner.pop("it", None)
            self.value(node.where, inner)
            return _LIST if node is self.query else None
        if isinstance(node, A.Lookup):
            for arg in node.args:
                self.value(arg, env)
            return None
        if isinstance(node, (A.Attr, A.Index)):
            return self.chain(node, env)
        if isinstance(node, A.Call):
            return self.call(node, env)
        if isinstance(node, A.Unary):
            self.value(node.operand, env)
            return None
        if isinstance(node, A.Binary):
            return self.binary(node, env)
        if isinstance(node, A.Cond):
            self.value(node.test, env)
            return _join(self.expr(node.then, env), self.expr(node.orelse, env))
        if isinstance(node, A.Comprehension):
            inner = _scope(env, node.var, self.expr(node.iter, env))
            self.value(node.cond, inner)
            made = self.expr(node.expr, inner)
            return None if made is None else _Seq(made)
        if isinstance(node, A.ListLit):
            role = _join_all(self.expr(item, env) for item in node.items)
            return None if role is None else _Seq(role)
        if isinstance(node, A.MapLit):  # `{rs: r, size: 3}`: `.rs` is one of them again
            fields = []
            for key, item in node.items:
                role = self.expr(item, env)
                if role is not None:
                    if key == "metadata":  # (`.name` of a map without one reads `.metadata.name`)
                        raise _Whole()
                    fields.append((key, role))
            return _Map(tuple(sorted(fields))) if fields else None
        raise _Whole()  # (a node this does not know)

    def chain(self, node: Any, env: dict) -> Any:
        ops = []
        while isinstance(node, (A.Attr, A.Index)):
            ops.append(node)
            node = node.obj
        role = self.expr(node, env)
        steps: list[str] = []
        for op in reversed(ops):
            static = op.name if isinstance(op, A.Attr) else (
                op.index.value if isinstance(op.index, A.Literal) and isinstance(op.index.value, str) else None)
            if isinstance(op, A.Index):
                self.value(op.index, env)
            if isinstance(role, _Seq):
                if isinstance(op, A.Attr):
                    raise _Whole()
                role = role.of  # list[i]: one of its elements
            elif isinstance(role, _Map):
                if static is None:
                    raise _Whole()  # (a computed key: any of its values)
                role = role.get(static)
            elif role == _ITEM:
                if static is None:  # a computed step: the path so far is read whole
                    _record(self.found, tuple(steps))
                    role = None
                else:
                    steps.append(static)
        if role == _ITEM and steps:
            _record(self.found, tuple(steps))
            return None
        return role

    def call(self, node: A.Call, env: dict) -> Any:
        func, args = node.func, node.args
        if func in _LIST_RESULTS:
            source = self.expr(args[0], env) if args else None
            listed = isinstance(source, _Seq)
            if listed and len(args) < 2 and func in _WHOLE_WITHOUT_KEY:
                raise _Whole()
            inner = _scope(env, "it", source)  # (one object given as the list: its keys, all of it)
            made = self.expr(args[1], inner) if len(args) > 1 else None
            for arg in args[2:]:
                self.value(arg, env)
            if listed and func == "map" and made is not None:
                return _Seq(made)  # map(objects, it), map(targets, it.rs)
            if made is not None:
                raise _Whole()
            result = _LIST_RESULTS[func] if listed else None
            return source if result == "list" else (source.of if result == "item" else None)
        if func == "flatten":  # one level: a sublist's elements, or an element that is no list
            source = self.expr(args[0], env) if args else None
            if source is None:
                return None
            if not isinstance(source, _Seq):
                raise _Whole()  # (an object, or a map holding some, given as the list)
            return _Seq(source.of.of) if isinstance(source.of, _Seq) else source
        if func == "take":
            source = self.expr(args[0], env) if args else None
            for arg in args[1:]:
                self.value(arg, env)
            if source is not None and not isinstance(source, _Seq):
                raise _Whole()
            return source
        if func == "get" and len(args) >= 2:  # get(list, i): an element; get(object, "key"): a path
            source = self.expr(args[0], env)
            for arg in args[1:]:
                self.value(arg, env)
            if source == _ITEM or isinstance(source, _Map):
                key = args[1]
                if not (isinstance(key, A.Literal) and isinstance(key.value, str)):
                    raise _Whole()  # (a computed key: any of it)
                if isinstance(source, _Map):
                    return source.get(key.value)
                _record(self.found, (key.value,))
                return None
            return source.of if isinstance(source, _Seq) else None
        if func == "default":
            return _join_all([self.expr(arg, env) for arg in args])
        if func == "len":
            for arg in args:
                if self.expr(arg, env) == _ITEM:
                    raise _Whole()
            return None
        reads = QUERY_ARGUMENT_READS.get(func, {})
        for i, arg in enumerate(args):
            role = self.expr(arg, env)
            if role == _ITEM and i in reads:
                self.found.update(reads[i])
            elif role is not None:
                raise _Whole()
        return None

    def binary(self, node: A.Binary, env: dict) -> Any:
        op = node.op
        if op in ("==", "!="):
            for a, b in ((node.left, node.right), (node.right, node.left)):
                if isinstance(b, A.Literal) and b.value is None and self.expr(a, env) is not None:
                    return None  # whether it is there: the answer's membership
        left, right = self.expr(node.left, env), self.expr(node.right, env)
        if op == "+" and isinstance(left, (_Seq, type(None))) and isinstance(right, (_Seq, type(None))) and (
                left is not None or right is not None):
            return _Seq(_join(left and left.of, right and right.of))
        if left is not None or right is not None:
            raise _Whole()
        return None

    def block(self, stmts: tuple, env: dict) -> None:
        env = dict(env)
        for stmt in stmts:
            self.stmt(stmt, env)

    def stmt(self, node: Any, env: dict) -> None:
        if isinstance(node, A.Let):
            role = self.expr(node.value, env)
            if role is None:
                env.pop(node.name, None)
            else:
                env[node.name] = role
        elif isinstance(node, A.When):
            self.value(node.cond, env)
            self.block(node.body, env)
            self.block(node.orelse, env)
        elif isinstance(node, A.For):
            self.block(node.body, _scope(env, node.var, self.expr(node.iter, env)))
        elif isinstance(node, A.Set):
            target = node.target
            if not isinstance(target, (A.Attr, A.Index)):
                raise _Whole()
            step = target
            while isinstance(step, (A.Attr, A.Index)):  # what its computed steps read, as reads
                if isinstance(step, A.Index) and not (isinstance(step.index, A.Literal)
                                                      and isinstance(step.index.value, str)):
                    self.value(step.index, env)
                step = step.obj
            read, self.found = self.found, self.targets
            try:
                role = self.chain(target, env)  # the path set, as a target
            finally:
                self.found = read
            if role is not None:
                raise _Whole()
            self.value(node.value, env)
        elif isinstance(node, A.Delete):
            self._target(node.target, env, _DELETE_READS)
            self.options(node.options, env)
        elif isinstance(node, A.Event):
            self._target(node.target, env, _REFERENCE)
            self.value(node.message, env)
            self.options(node.options, env)
        elif isinstance(node, A.Create):
            self.value(node.count, env)
            self.value(node.template, env)
            self.options(node.options, env)
            if node.alias is not None:
                env.pop(node.alias, None)
        elif isinstance(node, (A.Requeue, A.Return)):
            self.value(node.after if isinstance(node, A.Requeue) else node.value, env)
        elif isinstance(node, A.Reject):
            self.value(node.message, env)
            self.value(node.cond, env)
        else:
            raise _Whole()

    def _target(self, target: Any, env: dict, reads: tuple) -> None:
        """A `delete` or `event` of one of the objects, or of a list of them: what it reads of them."""
        role = self.expr(target, env)
        if role in (_ITEM, _LIST):
            self.found.update(reads)
        elif role is not None:
            raise _Whole()

    def options(self, options: tuple, env: dict) -> None:
        for option in options:
            role = self.expr(option.value, env)
            if role == _ITEM and option.name == "owner":
                self.found.update(_REFERENCE)
            elif role is not None:
                raise _Whole()


def _scope(env: dict, var: str, source: Any) -> dict:
    """The names in scope where `var` takes each element of `source` in turn: the role of its
    elements when it is a list holding the objects, hiding an outer `var` otherwise.  (Iterating
    over one object or a map goes over its keys: all of it.)"""
    inner = dict(env)
    if isinstance(source, _Seq):
        inner[var] = source.of
    elif source is None:
        inner.pop(var, None)
    else:
        raise _Whole()
    return inner


def _join_all(roles: Any) -> Any:
    """The role of a value that is any one of several."""
    role = None
    for other in roles:
        role = _join(role, other)
    return role


def _join(a: Any, b: Any) -> Any:
    """The role of a value that is one of two (a value that holds none of the objects joins as
    anything: reading it as one of them reads nothing of theirs)."""
    if a is None or a == b:
        return b
    if b is None:
        return a
    if isinstance(a, _Seq) and isinstance(b, _Seq):
        return _Seq(_join(a.of, b.of))
    if isinstance(a, _Map) and isinstance(b, _Map):
        keys = sorted({k for k, _ in a.fields} | {k for k, _ in b.fields})
        return _Map(tuple((k, _join(a.get(k), b.get(k))) for k in keys))
    raise _Whole()  # e.g. a list of them or one of them
