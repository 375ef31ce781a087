"""Compile checked rule modules to Python callables.

Each rule, filter and score becomes one Python function, generated as
source and compiled once with `compile()`: nothing is parsed or walked per
evaluation.  Expressions become calls into `dsl.runtime` (null-safe paths
and operators); queries become `ctx.query(spec, values, where)` where `spec`
says which of the query's conditions an index can answer (the planner below)
so the engine can both look candidates up and know which changes can alter
the result.

A generated line remembers the rule line it came from, and where in it the
code of each expression is, so a runtime error in a rule is reported at
`file:line:col` of the expression that failed, not of the generated code.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Collection
from typing import Any

import attrs

from . import ast as A
from . import runtime as R
from .builtins import BUILTINS
from .check import CONTEXT_FUNCTIONS, LATER
from .reads import (ANCHOR_ARGUMENT_READS, ReadPaths, anchor_paths, anchor_positions, guard, lookup_reads, pod_reads, query_reads,
                    site_paths, with_prefilter)

# ------------------------------------------------------------ compiled forms


@attrs.frozen
class QueryTerm:
    """One condition of a query that an index can answer.

    type: "ns" | "node" | "name" | "uid" | "label" | "owner" | "selector" | "selects";
    label: the label key for "label" terms.
    """

    type: str
    label: str | None = None


@attrs.frozen
class QuerySpec:
    kind: A.KindRef
    terms: tuple[QueryTerm, ...]
    # The query as text (kind, terms, the condition's Python) when its condition uses nothing of
    # its module but the runtime, the builtins and what it captures: the same query, asked by the
    # same text in any rule file, has the same answer for the same values and captured values, so
    # the scheduler's kept answers are shared by every plugin that asks it.  None: not shared.
    share: str | None = attrs.field(default=None, eq=False)
    # What a rule reads of the answer's objects, and of an empty answer's (dsl.reads.query_reads),
    # when known: its dependency on the index entry then wakes it only for changes there
    # (EvalContext.query).
    reads: Any = attrs.field(default=None, eq=False)
    empty_reads: Any = attrs.field(default=None, eq=False)


@attrs.frozen(eq=False)
class CompiledDecl:
    """A compiled rule, filter or score."""

    decl_type: str  # "rule" | "filter" | "score"
    name: str
    component: str
    path: str
    line: int
    fn: Callable
    source_hash: str
    kind: A.KindRef | None = None  # the anchor kind of a rule
    weight: int = 0
    normalize: str | None = None  # a score's rescaling over the feasible nodes
    linemap: dict = attrs.field(factory=dict, repr=False)  # generated line → rule line
    colmap: dict = attrs.field(factory=dict, repr=False)  # generated line → `Placed`
    pod_reads: tuple | None = None  # a filter's or score's pod paths (dsl.reads); None: all of it
    # … of which its node-dependent code reads itself (not through its once-per-attempt lets)
    node_reads: tuple | None = None
    defers: bool = False  # a score whose answers may hold `later` parts of its once-lets (runtime.Later)
    # a rule's paths of its object (dsl.reads.anchor_reads); None: all of it
    anchor_reads: tuple | None = None
    anchor_set_only: tuple = ()  # … of which it only sets (dsl.reads.anchor_set_only)
    where_reads: tuple | None = None  # … of which its `where` reads (None: all, or no `where`)
    guard_reads: tuple | None = None  # … its `where`, lets and guard read (reads.guard; None: no guard)
    anchor_positions: dict = attrs.field(factory=dict, repr=False)  # path → where it is spelt out (reads)

    @property
    def qualname(self) -> str:
        return f"{self.component}/{self.name}"


@attrs.frozen(eq=False)
class CompiledComponent:
    name: str
    path: str
    reads: tuple[A.KindRef, ...]
    writes: tuple[A.WriteRef, ...]
    rules: tuple[CompiledDecl, ...]
    filters: tuple[CompiledDecl, ...]
    scores: tuple[CompiledDecl, ...]
    python_source: str
    linemap: dict[int, int]


# --------------------------------------------------------------- the planner

_ROOT_PATHS = {
    ("metadata", "namespace"): "ns", ("namespace",): "ns",
    ("spec", "nodeName"): "node",
    ("metadata", "name"): "name", ("name",): "name",
    ("metadata", "uid"): "uid", ("uid",): "uid",
}


def uses_it(expr: Any) -> bool:
    """Does `expr` mention `it` anywhere?"""
    if isinstance(expr, A.Name):
        return expr.id == "it"
    if isinstance(expr, (tuple, list)):
        return any(uses_it(e) for e in expr)
    if attrs.has(type(expr)):
        return any(uses_it(getattr(expr, f.name)) for f in attrs.fields(type(expr)) if f.name != "pos")
    return False


def it_path(expr: Any) -> tuple[str, ...] | None:
    """`it.metadata.labels["app"]` → ("metadata", "labels", "app"); else None."""
    steps: list[str] = []
    while True:
        if isinstance(expr, A.Attr):
            steps.append(expr.name)
            expr = expr.obj
        elif isinstance(expr, A.Index) and isinstance(expr.index, A.Literal) and isinstance(expr.index.value, str):
            steps.append(expr.index.value)
            expr = expr.obj
        elif isinstance(expr, A.Name) and expr.id == "it":
            return tuple(reversed(steps))
        else:
            return None


def conjuncts(expr: Any) -> list[Any]:
    if isinstance(expr, A.Binary) and expr.op == "and":
        return conjuncts(expr.left) + conjuncts(expr.right)
    return [expr] if expr is not None else []


def _equality_term(expr: A.Binary) -> tuple[QueryTerm, Any] | None:
    for side, other in ((expr.left, expr.right), (expr.right, expr.left)):
        steps = it_path(side)
        if steps is None or uses_it(other):
            continue
        if steps in _ROOT_PATHS:
            return QueryTerm(_ROOT_PATHS[steps]), other
        if len(steps) == 3 and steps[:2] == ("metadata", "labels"):
            return QueryTerm("label", steps[2]), other
        if len(steps) == 2 and steps[0] == "labels":
            return QueryTerm("label", steps[1]), other
    return None


def _call_term(expr: A.Call) -> tuple[QueryTerm, Any] | None:
    args = expr.args
    if expr.func in ("owned_by", "controlled_by") and len(args) == 2:
        if isinstance(args[0], A.Name) and args[0].id == "it" and not uses_it(args[1]):
            return QueryTerm("owner"), args[1]
    if expr.func == "matches" and len(args) == 2 and not uses_it(args[0]):
        target = it_path(args[1])
        if target in ((), ("metadata", "labels"), ("labels",)):
            return QueryTerm("selector"), args[0]
    if expr.func == "matches" and len(args) == 2 and not uses_it(args[1]) and it_path(args[0]) == ("spec", "selector"):
        return QueryTerm("selects"), args[1]  # the objects whose selector selects x
    return None


_MODULE_CONSTANT = re.compile(r"\b_c\d+\b")  # a module's own constant (`const`) in generated code


def plan_query(query: A.Query) -> tuple[QuerySpec, list[Any]]:
    """The index terms of a query and the expressions giving their values."""
    terms: list[QueryTerm] = []
    values: list[Any] = []
    if query.namespace is not None:
        terms.append(QueryTerm("ns"))
        values.append(query.namespace)
    for part in conjuncts(query.where):
        found = None
        if isinstance(part, A.Binary) and part.op == "==":
            found = _equality_term(part)
        elif isinstance(part, A.Call):
            found = _call_term(part)
        if found is not None:
            terms.append(found[0])
            values.append(found[1])
    return QuerySpec(query.kind, tuple(terms)), values


# ------------------------------------------------------------ code generation

# The code of each expression is generated between two marks, the first holding the number of
# the expression's position (`_Gen.places`); `_Gen.emit` takes them out of the line it emits and
# notes where the code is (`Placed`).  Generated code holds no control characters of its own
# (string literals are written with repr).
_OPEN, _NUMBERED, _CLOSE = "\x1c", "\x1d", "\x1e"
_MARKS = re.compile("\x1c(\\d+)\x1d|\x1e")


@attrs.frozen
class Placed:
    """What a generated line computes, by rule file position: `col`, the column of its statement
    (on the rule line `linemap` gives), and `spans`, the expressions whose code is on the line,
    each as (start, end, Pos): where its code is in the line, in UTF-8 bytes from the line's
    start, as Python's code positions count (`code.co_positions`)."""

    col: int
    spans: tuple[tuple[int, int, A.Pos], ...]


def unmarked(code: str) -> str:
    """Generated code without the marks around its expressions."""
    return _MARKS.sub("", code)


def _unmark(text: str) -> tuple[str, list[tuple[int, int, int]]]:
    """`text` without its marks, and where the code between each pair is in what is left:
    (the mark's number, start, end), in UTF-8 bytes."""
    out: list[str] = []
    spans, opened = [], []
    at = size = 0
    for mark in _MARKS.finditer(text):
        piece = text[at:mark.start()]
        out.append(piece)
        size += len(piece.encode())
        if mark.group(1) is not None:
            opened.append((int(mark.group(1)), size))
        else:
            number, start = opened.pop()
            spans.append((number, start, size))
        at = mark.end()
    out.append(text[at:])
    return "".join(out), spans


_BINOPS = {
    "+": "_r.add", "-": "_r.sub", "*": "_r.mul", "/": "_r.div", "%": "_r.mod",
    "==": "_r.eq", "!=": "_r.ne", "<": "_r.lt", "<=": "_r.le", ">": "_r.gt", ">=": "_r.ge",
}
_BOOL_OPS = frozenset({"==", "!=", "<", "<=", ">", ">=", "in", "not in", "and", "or"})  # give a bool


def var(name: str) -> str:
    return "v_" + name


def _tuple(codes: Any) -> str:
    """Python source for a tuple of the given pieces of source."""
    return "(" + "".join(code + ", " for code in codes) + ")"


def _is_null(e: Any) -> bool:
    return isinstance(e, A.Literal) and e.value is None


class _Gen:
    """Turns one module's AST into Python source with a line map."""

    def __init__(self, module: A.Module):
        self.module = module
        self.lines: list[str] = []
        self.linemap: dict[int, int] = {}
        self.colmap: dict[int, Placed] = {}
        self.places: list[A.Pos] = []  # the positions of the expressions generated, by their mark's number
        self.consts: dict[str, Any] = {}
        self.src_line = 0
        self.src_col = 0
        self.scopes: list[dict[str, str]] = []  # per block: rule name → Python name
        self.creates: list[int | None] = []  # per block: the line of the last create in it so far
        self.taken: set[str] = set()  # Python names bound in the current function
        self.once: set[int] = set()  # ids of the `let`s evaluated once per scheduling attempt
        self.once_py: dict[str, str] = {}  # the Python name of a once-let in force → its site
        self.shared: set[int] = set()  # ids of a rule's `let`s computed once per snapshot (`shared_lets`)
        self.query_paths: dict[int, tuple] = {}  # a rule's queries (by id) → what it reads of their objects
        self.in_where = False  # generating a query's condition
        self.pod_var: str | None = None  # a filter's or score's pod parameter
        self.in_once = False  # generating a once-let's value
        self.comp_depth = 0  # comprehensions around the expression being generated
        self.defers = False  # the function being generated hands out `later` parts (CompiledDecl.defers)
        self.in_rule = False  # generating a rule (not a filter or score)
        self.guard: Any = None  # a rule's guard (reads.guard): its else leaves the instance dormant
        self.timed: set[str] = set()  # names whose values may hold `now` (a TimeVal): see `kept_items`

    # -- plumbing
    def emit(self, depth: int, text: str) -> None:
        line, spans = _unmark("    " * depth + text)
        self.lines.append(line)
        self.linemap[len(self.lines)] = self.src_line
        self.colmap[len(self.lines)] = Placed(self.src_col, tuple((start, end, self.places[number])
                                                                  for number, start, end in spans))

    def const(self, value: Any) -> str:
        name = f"_c{len(self.consts)}"
        self.consts[name] = value
        return name

    def at(self, node: Any) -> None:
        if node.pos.line:
            self.src_line, self.src_col = node.pos.line, node.pos.col

    # -- names: a block's `let` or loop variable may hide an outer one, but
    #    only inside the block, so a hiding binding gets a Python name of its own
    def lookup(self, name: str) -> str:
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        return var(name)

    def bind(self, name: str) -> str:
        current = self.scopes[-1]
        if name in current:
            return current[name]
        py = var(name)
        if any(name in scope for scope in self.scopes[:-1]):
            n = 1
            while f"{py}_{n}" in self.taken:
                n += 1
            py = f"{py}_{n}"
        self.taken.add(py)
        current[name] = py
        return py

    # -- expressions
    def expr(self, e: Any) -> str:
        """The code of `e`, between the marks of its position (see `_unmark`)."""
        method = getattr(self, "expr_" + type(e).__name__.lower())
        code = method(e)
        if not e.pos.line:
            return code
        self.places.append(e.pos)
        return f"{_OPEN}{len(self.places) - 1}{_NUMBERED}{code}{_CLOSE}"

    def expr_literal(self, e: A.Literal) -> str:
        return repr(e.value)

    def expr_duration(self, e: A.Duration) -> str:
        return repr(float(e.seconds))

    def expr_listlit(self, e: A.ListLit) -> str:
        return "[" + ", ".join(self.expr(i) for i in e.items) + "]"

    def expr_maplit(self, e: A.MapLit) -> str:
        return "{" + ", ".join(f"{k!r}: {self.expr(v)}" for k, v in e.items) + "}"

    def expr_name(self, e: A.Name) -> str:
        if e.id == "now":
            return "_now"
        site = self.once_ref(e.id)
        if site is not None:  # node-dependent code reading a once-let whole
            return f"_r.use(ctx, {site}, {self.lookup(e.id)})"
        return self.lookup(e.id)

    def once_ref(self, name: str) -> str | None:
        """The site of the once-let `name` names here, if node-dependent code is being generated.

        Such code notes what it reads of the value (`runtime.use`, `use_at`,
        `use_in`): the scheduler keeps a node's answer until the parts it
        read change, not until the value does.  Code in a query's condition
        does not (the condition must not capture the context: the query is
        noted as reading those lets whole instead).
        """
        if self.in_once or self.in_where or not self.once_py:
            return None
        for depth in range(len(self.scopes) - 1, -1, -1):
            if name in self.scopes[depth]:
                return self.once_py.get(self.scopes[depth][name]) if depth == 0 else None
        return None

    def once_root(self, e: Any) -> tuple[str | None, Any, list]:
        """For an index chain `x[a][b]` over a once-let x: (its site, x, [a, b]); else (None, ...)."""
        steps: list = []
        base = e
        while isinstance(base, A.Index):
            steps.append(base.index)
            base = base.obj
        steps.reverse()
        if isinstance(base, A.Name) and base.id != "now":
            site = self.once_ref(base.id)
            if site is not None:
                return site, base, steps
        return None, base, steps

    def expr_attr(self, e: A.Attr) -> str:
        names: list[str] = []
        base: Any = e
        while isinstance(base, A.Attr):
            names.append(base.name)
            base = base.obj
        names.reverse()
        if self.is_lookup(base):  # a rule's lookup read through a path right where it is made
            found = self.lookup_at(base, site_paths(tuple(names)))
            return f"_r.path({found}, {tuple(names)!r})"
        if not any(name in R.META_SHORTCUTS for name in names):  # (then `.x` reads what `["x"]` reads)
            site, root, steps = self.once_root(base)
            if site is not None:  # node-dependent code reading a part of a once-let: the part, named
                path = _tuple([self.expr(i) for i in steps] + [repr(name) for name in names])
                return f"_r.use_at(ctx, {site}, {self.lookup(root.id)}, {path})"
        if len(names) == 1:
            return f"_r.attr({self.expr(base)}, {names[0]!r})"
        return f"_r.path({self.expr(base)}, {tuple(names)!r})"

    def expr_index(self, e: A.Index) -> str:
        site, base, steps = self.once_root(e)
        if site is not None:
            path = _tuple(self.expr(i) for i in steps)
            return f"_r.use_at(ctx, {site}, {self.lookup(base.id)}, {path})"
        return f"_r.index({self.expr(e.obj)}, {self.expr(e.index)})"

    def expr_call(self, e: A.Call) -> str:
        if e.func in CONTEXT_FUNCTIONS:  # reads the snapshot, leaves a dependency (evalctx)
            return f"ctx.{e.func}({', '.join(self.expr(a) for a in e.args)})"
        if e.func == LATER:
            return self.later(e.args[0])
        builtin = BUILTINS[e.func]
        args = []
        reads = ANCHOR_ARGUMENT_READS.get(e.func, {})
        for i, arg in enumerate(e.args):
            if i in reads and self.is_lookup(arg):  # `deleting(owner_object(r, ns))`: what it reads
                code = self.lookup_at(arg, reads[i])
            else:
                code = self.expr(arg)
            args.append(f"(lambda v_it: {code})" if builtin.item_arg == i else code)
        return f"_b_{e.func}({', '.join(args)})"

    def is_lookup(self, e: Any) -> bool:
        """Is `e` a rule's lookup of one object (`Kind[...]`, `owner_object(...)`)?"""
        return self.in_rule and (isinstance(e, A.Lookup)
                                 or isinstance(e, A.Call) and e.func == "owner_object")

    def lookup_at(self, e: Any, paths: tuple) -> str:
        """The lookup `e`, leaving a dependency on `paths` of what it finds alone
        (`EvalContext.lookup_read`), as the code around it reads nothing else of it.  The sites
        of one rule that look up the same kind (or owners) share one ReadPaths, the union of
        their paths (`function` makes it): the same object read at several sites is one
        dependency, and a wider one only wakes the rule more often."""
        group = "owner_object" if isinstance(e, A.Call) else str(e.kind)
        if group not in self.read_groups:
            self.read_groups[group] = (self.const(None), set())
        name, found = self.read_groups[group]
        found.update(paths)
        return self.read_call(e, name)

    def read_call(self, e: Any, paths: str) -> str:
        """The code of the lookup `e` leaving a ("field", key, paths) dependency (`paths`: the
        constant naming its ReadPaths)."""
        args = ", ".join(self.expr(a) for a in e.args)
        if isinstance(e, A.Lookup):
            return f"ctx.lookup_read({paths}, {self.const(e.kind)}, {args})"
        return f"ctx.owner_object_read({paths}, {args})"

    def later(self, e: Any) -> str:
        """`later(x[a][b])` in a score over a once-let x: the part, read when the scores are
        normalised (`runtime.later`); the node's answer does not depend on it.  Over anything
        else it is the value itself."""
        site, base, steps = self.once_root(e)
        if site is None:
            return self.expr(e)
        self.defers = True
        path = _tuple(self.expr(i) for i in steps)
        return f"_r.later(ctx, {site}, {self.lookup(base.id)}, {path})"

    # Python tests the truth of an `if`, `not` or conditional the way the language
    # does (null is false, like every empty value), so those need no _r.truthy;
    # `and` / `or` give a bool, so an operand that is not one already gets it.
    def truth(self, e: Any) -> str:
        code = self.expr(e)
        if isinstance(e, A.Binary) and e.op in _BOOL_OPS or isinstance(e, A.Unary) and e.op == "not":
            return code
        return f"_r.truthy({code})"

    def expr_unary(self, e: A.Unary) -> str:
        if e.op == "not":
            return f"(not {self.expr(e.operand)})"
        return f"_r.neg({self.expr(e.operand)})"

    def expr_binary(self, e: A.Binary) -> str:
        if e.op in ("and", "or"):
            left, right = self.truth(e.left), self.truth(e.right)
            return f"({left} {e.op} {right})"
        if e.op in ("==", "!=") and (_is_null(e.left) or _is_null(e.right)):  # nothing else equals null
            tested = e.right if _is_null(e.left) else e.left
            if self.is_lookup(tested):  # whether it exists: no path of it read
                code = self.lookup_at(tested, ())
            else:
                code = self.expr(tested)
            return f"({code} {'is' if e.op == '==' else 'is not'} None)"
        left, right = self.expr(e.left), self.expr(e.right)
        if e.op in ("in", "not in"):
            site, base, steps = self.once_root(e.right)
            if site is not None:  # the key's presence is what is read
                path = _tuple(self.expr(i) for i in steps)
                right = f"_r.use_in(ctx, {site}, {self.lookup(base.id)}, {path}, {left})"
            else:
                right = f"_r.contains({right}, {left})"
            return right if e.op == "in" else f"(not {right})"
        return f"{_BINOPS[e.op]}({left}, {right})"

    def expr_cond(self, e: A.Cond) -> str:
        return f"({self.expr(e.then)} if {self.expr(e.test)} else {self.expr(e.orelse)})"

    def expr_comprehension(self, e: A.Comprehension) -> str:
        source = self.expr(e.iter)  # evaluated outside the comprehension's own scope
        self.scopes.append({e.var: var(e.var)})  # a Python comprehension has its own scope too
        self.comp_depth += 1
        try:
            cond = self.expr(e.cond) if e.cond is not None else None
            item = self.expr(e.expr)
        finally:
            self.comp_depth -= 1
            self.scopes.pop()
        sites = self.element_sites(e)
        if sites is None:
            frees = self.kept_items(e)
            if frees is not None:
                body = f"({item}) if ({cond}) else _r.SKIP" if cond else item
                site = self.const(KeptItems(e.var, e.pos.line, e.pos.col))
                return f"_r.kept({site}, _r.iterate({source}), (lambda {var(e.var)}: {body}), {_tuple(frees)})"
            return f"[{item} for {var(e.var)} in _r.iterate({source}){f' if {cond}' if cond else ''}]"
        body = f"({item}) if ({cond}) else _r.SKIP" if cond else item
        site = self.const(PerElement(e.var, e.pos.line, e.pos.col))
        return f"_r.each(ctx, {site}, _r.iterate({source}), (lambda {var(e.var)}: {body}), {_tuple(sites)})"

    def kept_items(self, e: A.Comprehension) -> list[str] | None:
        """The Python names of the values an outermost comprehension of a rule reads besides its
        element, when its items may be kept by the identity of the element and of those values
        (`runtime.kept`); else None.

        An item is then a function of those values alone: it reads nothing
        of the snapshot (no query, lookup or context function) and not the
        clock (`now`, or a value computed from it, whose comparisons must
        reach the rule's clockwatch every time).  Items that only index or
        test their element are not worth it.
        """
        if not self.in_rule or self.comp_depth or self.in_where or self.in_once:
            return None
        parts = (e.expr, e.cond)
        if not _worth_keeping(parts) or _reads_context(parts):
            return None
        names = (free_names(e.expr) | free_names(e.cond)) - {e.var}
        if (names_in(parts) | names) & (self.timed | {"now"}):
            return None
        return [self.lookup(name) for name in sorted(names)]

    def element_sites(self, e: A.Comprehension) -> list[str] | None:
        """The sites of the once-lets an outermost comprehension of a once-let reads, when its
        items may be kept per element across attempts (`runtime.each`); else None.

        An item then depends on nothing but its element, the pod (whose parts
        the plugin reads are its signature), those lets and what it reads of
        the snapshot: any other name (`it`, `now`) rules that out.
        """
        if not self.in_once or self.comp_depth:
            return None
        sites = []
        for name in sorted((free_names(e.expr) | free_names(e.cond)) - {e.var}):
            site = self.once_py.get(self.lookup(name))
            if site is not None:
                sites.append(site)
            elif name != self.pod_var:
                return None
        return sites

    def expr_query(self, e: A.Query) -> str:
        spec, values = plan_query(e)
        sites = sorted({site for n in free_names(e.where) - {"it"} if (site := self.once_ref(n)) is not None})
        self.in_where, outer = True, self.in_where
        try:
            where = f"(lambda v_it: {self.truth(e.where)})" if e.where is not None else "None"
        finally:
            self.in_where = outer
        vals = _tuple(self.expr(v) for v in values)
        if e.where is not None and not _MODULE_CONSTANT.search(where):
            spec = attrs.evolve(spec, share=f"{spec.kind}|{spec.terms}|{unmarked(where)}")
        if id(e) in self.query_paths:
            reads, empty_reads = self.query_paths[id(e)]
            prefilter = self.prefilter(e)
            spec = attrs.evolve(spec, reads=with_prefilter(reads, prefilter),
                                empty_reads=with_prefilter(empty_reads, prefilter))
        query = f"ctx.query({self.const(spec)}, {vals}, {where})"
        return f"_r.use_all(ctx, {_tuple(sites)}, {query})" if sites else query

    def prefilter(self, e: A.Query) -> str | None:
        """The Python of the conditions of a rule's query that read nothing but its object (no
        other name, no clock, no query or lookup, no constant of the module): Engine._route_queries
        tests a changed object with them, at any time, in any module (`prefilter_test`)."""
        parts = [part for part in conjuncts(e.where) if free_names(part) <= {"it"}
                 and "now" not in names_in(part) and not _reads_context(part)]
        if not parts:
            return None
        self.in_where, outer = True, self.in_where
        try:
            code = " and ".join(self.truth(part) for part in parts)
        finally:
            self.in_where = outer
        return None if _MODULE_CONSTANT.search(code) or "ctx" in code else unmarked(code)

    def expr_lookup(self, e: A.Lookup) -> str:
        args = ", ".join(self.expr(a) for a in e.args)
        return f"ctx.lookup({self.const(e.kind)}, {args})"

    # -- statements
    def block(self, stmts: tuple, depth: int, bound: dict[str, str] | None = None) -> None:
        """A block of statements with its own scope (`bound`: names it starts with)."""
        self.scopes.append(dict(bound or {}))
        self.creates.append(None)
        if not stmts:
            self.emit(depth, "pass")
        for stmt in stmts:
            self.at(stmt)
            getattr(self, "stmt_" + type(stmt).__name__.lower())(stmt, depth)
        self.creates.pop()
        self.scopes.pop()

    def stmt_let(self, s: A.Let, depth: int) -> None:
        if names_in(s.value) & (self.timed | {"now"}):
            self.timed.add(s.name)
        once = id(s) in self.once
        self.in_once = once
        try:
            if id(s) in self.lookup_paths:  # a rule's lookup of which it reads known paths only
                value = self.read_call(s.value, self.const(self.lookup_paths[id(s)]))
            else:
                value = self.expr(s.value)  # `let x = x + 1` in an inner block reads the outer x
        finally:
            self.in_once = False
        if once:  # a filter's or score's node-independent let: once per attempt
            site = self.const(LetSite(s.name, s.pos.line, "attempt"))
            value = f"_r.once(ctx, {site}, lambda: {value})"
        if id(s) in self.shared:  # a rule's let that is the same for every instance
            value = f"ctx.shared({self.const(LetSite(s.name, s.pos.line, 'snapshot'))}, lambda: {value})"
        py = self.bind(s.name)
        if once:
            self.once_py[py] = site
        elif len(self.scopes) == 1:  # a top-level let hiding a once-let from here on
            self.once_py.pop(py, None)
        self.emit(depth, f"{py} = {value}")

    def stmt_when(self, s: A.When, depth: int, keyword: str = "if") -> None:
        self.emit(depth, f"{keyword} _r.truthy({self.expr(s.cond)}):")
        self.block(s.body, depth + 1)
        if s is self.guard:  # (a rule's guard that fails leaves the instance dormant: reads.guard)
            self.emit(depth, "else:")
            self.emit(depth + 1, "ctx.dormant = 2")
        elif len(s.orelse) == 1 and isinstance(s.orelse[0], A.When):
            self.at(s.orelse[0])
            self.stmt_when(s.orelse[0], depth, "elif")
        elif s.orelse:
            self.emit(depth, "else:")
            self.block(s.orelse, depth + 1)

    def stmt_for(self, s: A.For, depth: int) -> None:
        if names_in(s.iter) & (self.timed | {"now"}):
            self.timed.add(s.var)
        source = self.expr(s.iter)
        self.scopes.append({})
        loop_var = self.bind(s.var)
        self.scopes.pop()
        self.emit(depth, f"for {loop_var} in _r.iterate({source}):")
        self.block(s.body, depth + 1, {s.var: loop_var})

    def stmt_set(self, s: A.Set, depth: int) -> None:
        steps: list[str] = []
        target: Any = s.target
        while isinstance(target, (A.Attr, A.Index)):
            steps.append(repr(target.name) if isinstance(target, A.Attr) else self.expr(target.index))
            target = target.obj
        path = _tuple(reversed(steps))
        self.emit(depth, f"ctx.set({self.expr(target)}, {path}, {self.expr(s.value)}, {s.pos.line})")

    def stmt_create(self, s: A.Create, depth: int) -> None:
        count = self.expr(s.count) if s.count is not None else "1"
        opts = "{" + ", ".join(f"{o.name!r}: {self.expr(o.value)}" for o in s.options) + "}"
        call = f"ctx.create({self.const(s.kind)}, {count}, {self.expr(s.template)}, {opts}, {s.pos.line})"
        if s.alias is None:
            self.emit(depth, call)
        elif s.count is None:  # one object, named; null when the engine's slow start holds it back
            self.emit(depth, f"{self.bind(s.alias)} = ({call} or (None,))[0]")
        else:  # the objects to be created, named
            self.emit(depth, f"{self.bind(s.alias)} = {call}")
        self.creates[-1] = s.pos.line

    def stmt_event(self, s: A.Event, depth: int) -> None:
        """An event after a create in its block, or in a block around it, tells of that create: it
        is recorded only if that create is (`EvalContext.cut`)."""
        opts = "{" + ", ".join(f"{o.name!r}: {self.expr(o.value)}" for o in s.options) + "}"
        kind = "Warning" if s.warning else "Normal"
        create = next((line for line in reversed(self.creates) if line is not None), None)
        if create is not None:
            self.emit(depth, f"if not ctx.cut({create}):")
            depth += 1
        self.emit(depth, f"ctx.event({self.expr(s.target)}, {s.reason!r}, {kind!r}, "
                         f"{self.expr(s.message)}, {opts}, {s.pos.line})")

    def stmt_delete(self, s: A.Delete, depth: int) -> None:
        opts = "{" + ", ".join(f"{o.name!r}: {self.expr(o.value)}" for o in s.options) + "}"
        self.emit(depth, f"ctx.delete({self.expr(s.target)}, {opts}, {s.pos.line})")

    def stmt_requeue(self, s: A.Requeue, depth: int) -> None:
        self.emit(depth, f"ctx.requeue({self.expr(s.after)})")

    def stmt_reject(self, s: A.Reject, depth: int) -> None:
        if s.cond is None:
            self.emit(depth, f"return {self.expr(s.message)}")
            return
        self.emit(depth, f"if _r.truthy({self.expr(s.cond)}):")
        self.emit(depth + 1, f"return {self.expr(s.message)}")

    def stmt_return(self, s: A.Return, depth: int) -> None:
        self.emit(depth, f"return {self.expr(s.value)}")

    # -- declarations
    def function(self, fname: str, params: list[str], decl: Any, where: Any = None) -> None:
        self.at(decl)
        self.taken = {var(p) for p in params}
        self.once = _node_independent_lets(decl) if isinstance(decl, (A.Filter, A.Score)) else set()
        self.once_py = {}
        self.shared = shared_lets(decl) if isinstance(decl, A.Rule) else set()
        self.lookup_paths = lookup_reads(decl) if isinstance(decl, A.Rule) else {}
        self.query_paths = query_reads(decl) if isinstance(decl, A.Rule) else {}
        self.pod_var = decl.pod_var if isinstance(decl, (A.Filter, A.Score)) else None
        self.defers = False
        self.in_rule = isinstance(decl, A.Rule)
        self.guard = guard(decl) if self.in_rule else None
        self.read_groups: dict[str, tuple[str, set]] = {}  # lookups read where made (`lookup_at`)
        self.timed = set()
        self.emit(0, f"def {fname}(ctx, {', '.join(var(p) for p in params)}):")
        self.emit(1, "_now = ctx.now")
        if where is not None:  # (a rule's instance whose `where` fails is dormant: Engine._concerns)
            self.emit(1, f"if not _r.truthy({self.expr(where)}):")
            if self.in_rule:
                self.emit(2, "ctx.dormant = 1")
            self.emit(2, "return None")
        self.block(decl.body, 1, {p: var(p) for p in params})
        self.emit(1, "return None")
        for name, paths in self.read_groups.values():
            self.consts[name] = ReadPaths(tuple(sorted(paths)))


@attrs.frozen(eq=False)
class LetSite:
    """The memo key of a `let` computed once per scheduling `attempt` (a filter's or score's, not
    depending on the node) or once per `snapshot` (a rule's, not depending on its object)."""

    name: str
    line: int
    per: str

    def __str__(self) -> str:
        return f"let {self.name} (line {self.line}), once per {self.per}"


@attrs.define(eq=False)
class KeptItems:
    """The items of a rule's comprehension, kept by the identity of their element and of the
    values they read (runtime.kept)."""

    var: str
    line: int
    col: int
    items: dict = attrs.field(factory=dict, repr=False)
    hits: int = 0  # items used again, and computed, since the last judgement (runtime.kept)
    misses: int = 0
    off: int = 0  # judged not worth keeping: evaluations until it is tried again

    def __str__(self) -> str:
        return f"for {self.var} (line {self.line}:{self.col}), items kept"


def _nodes(expr: Any):
    """`expr` and every expression in it."""
    if isinstance(expr, (tuple, list)):
        for e in expr:
            yield from _nodes(e)
    elif attrs.has(type(expr)):
        yield expr
        for f in attrs.fields(type(expr)):
            if f.name != "pos":
                yield from _nodes(getattr(expr, f.name))


def _reads_context(expr: Any) -> bool:
    """Does `expr` read the snapshot or the context (a query, a lookup, a context function), or
    call a builtin that is not a function of its arguments alone?"""
    return _reads_snapshot(expr) or _impure(expr)


def _reads_snapshot(expr: Any) -> bool:
    """Does `expr` read the snapshot (a query, a lookup, a context function)?"""
    return any(isinstance(n, (A.Query, A.Lookup)) or isinstance(n, A.Call) and n.func in CONTEXT_FUNCTIONS
               for n in _nodes(expr))


def _worth_keeping(expr: Any) -> bool:
    """Does `expr` build anything or call a builtin (more than a keyed lookup costs)?"""
    return any(isinstance(n, (A.Call, A.MapLit, A.ListLit, A.Comprehension)) for n in _nodes(expr))


@attrs.frozen(eq=False)
class PerElement:
    """The memo key of a comprehension in a once-let whose items are kept per element."""

    var: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"for {self.var} (line {self.line}:{self.col}), kept per element"


def free_names(expr: Any) -> set[str]:
    """The names `expr` reads from outside it: those bound by its comprehensions and by the `it`
    of its conditions and per-element builtin arguments left out."""
    if expr is None:
        return set()
    if isinstance(expr, A.Name):
        return {expr.id}
    if isinstance(expr, A.Comprehension):
        return free_names(expr.iter) | ((free_names(expr.expr) | free_names(expr.cond)) - {expr.var})
    if isinstance(expr, A.Query):
        return free_names(expr.namespace) | (free_names(expr.where) - {"it"})
    if isinstance(expr, A.Call):
        item = BUILTINS[expr.func].item_arg if expr.func in BUILTINS else None
        found: set[str] = set()
        for i, arg in enumerate(expr.args):
            found |= free_names(arg) - {"it"} if i == item else free_names(arg)
        return found
    if isinstance(expr, (tuple, list)):
        return set().union(*(free_names(e) for e in expr))
    if attrs.has(type(expr)):
        return set().union(*(free_names(getattr(expr, f.name)) for f in attrs.fields(type(expr))
                             if f.name != "pos"))
    return set()


def names_in(expr: Any) -> set[str]:
    """Every name `expr` mentions (its free variables and more: conservative)."""
    if isinstance(expr, A.Name):
        return {expr.id}
    if isinstance(expr, (tuple, list)):
        return set().union(*(names_in(e) for e in expr))
    if attrs.has(type(expr)):
        found = {expr.var} if isinstance(expr, A.Comprehension) else set()
        return found.union(*(names_in(getattr(expr, f.name)) for f in attrs.fields(type(expr)) if f.name != "pos"))
    return set()


def _node_independent_lets(decl: Any) -> set[int]:
    """The top-level `let`s of a filter or score that mention neither the node nor a node-dependent let.

    Within one scheduling attempt the pod and the snapshot are fixed, so such
    a value (upstream's PreFilter/PreScore state: the pod's requests, its
    constraints, counts per topology domain) is the same for every node; the
    scheduler computes it once per attempt (`runtime.once`).
    """
    once: set[int] = set()
    node_dependent = {decl.node_var}
    for stmt in decl.body:
        if isinstance(stmt, A.Let):
            if names_in(stmt.value) & node_dependent:
                node_dependent.add(stmt.name)
            else:
                once.add(id(stmt))
    return once


def shared_lets(decl: A.Rule) -> set[int]:
    """The top-level `let`s of a rule that are the same for every object it is evaluated for.

    Such a let reads no name but those of earlier such lets (not the rule's
    variable, nor the objects a `create … as` names, nor `now`), and calls
    nothing but functions of their arguments and of
    the snapshot (queries, lookups, context functions): on one snapshot its
    value is the same in every instance.  The engine evaluates every dirty
    instance of a round on one snapshot, so the value is computed once per
    snapshot and handed, with the dependencies it left, to every instance
    (`EvalContext.shared`): upstream's informer-cache aggregate that a
    controller computes once per sync instead of once per object.  Only lets
    that build something or read the snapshot are worth it.
    """
    shared: set[int] = set()
    same = set()  # the names bound here, so far, to values that are the same in every instance
    for stmt in decl.body:
        if isinstance(stmt, A.Create) and stmt.alias is not None:  # the objects this instance creates
            same.discard(stmt.alias)
        if not isinstance(stmt, A.Let):
            continue
        if free_names(stmt.value) <= same and not _impure(stmt.value):  # (nothing else: not `now`)
            same.add(stmt.name)
            if _worth_keeping(stmt.value) or _reads_snapshot(stmt.value):
                shared.add(id(stmt))
        else:
            same.discard(stmt.name)
    return shared


def _impure(expr: Any) -> bool:
    """Does `expr` call something that is not a function of its arguments and the snapshot?"""
    return any(isinstance(n, A.Call) and n.func not in CONTEXT_FUNCTIONS
               and (n.func == LATER or n.func not in BUILTINS or not BUILTINS[n.func].pure)
               for n in _nodes(expr))


def _decl_hash(source: str, decl: Any, header: str) -> str:
    """Identity of a declaration's text (and its file's header) for hot reload."""
    lines = source.splitlines()
    start = decl.pos.line
    end = _decl_end(lines, start)
    text = header + "\n" + "\n".join(lines[start - 1:end])
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


def _decl_end(lines: list[str], start: int) -> int:
    end = start
    for i in range(start, len(lines)):
        line = lines[i]
        if line.strip() and not line[0].isspace() and not line.lstrip().startswith("#"):
            break
        end = i + 1
    return end


def compile_module(module: A.Module, source: str) -> CompiledComponent:
    """Compile a checked module; the result's functions take (ctx, …)."""
    gen = _Gen(module)
    plan: list[tuple[str, str, Any]] = []
    defers: dict[str, bool] = {}
    for i, decl in enumerate(module.decls):
        if isinstance(decl, A.Rule):
            gen.function(f"rule_{i}", [decl.var], decl, decl.where)
            plan.append(("rule", f"rule_{i}", decl))
        elif isinstance(decl, A.Filter):
            gen.function(f"filter_{i}", [decl.pod_var, decl.node_var], decl)
            plan.append(("filter", f"filter_{i}", decl))
        elif isinstance(decl, A.Score):
            gen.function(f"score_{i}", [decl.pod_var, decl.node_var], decl)
            plan.append(("score", f"score_{i}", decl))
        if plan and plan[-1][2] is decl:
            defers[plan[-1][1]] = gen.defers
    python = "\n".join(gen.lines) + "\n" + _describe_consts(gen.consts)
    namespace = _namespace(gen.consts)
    exec(compile(python, f"<rules {module.path}>", "exec"), namespace)
    header = _header_text(source, module)
    decls = {"rule": [], "filter": [], "score": []}
    comp = module.component
    for decl_type, fname, decl in plan:
        anchor, set_only, where_reads, guard_reads = (anchor_paths(decl) if decl_type == "rule"
                                                      else (None, (), None, None))
        decls[decl_type].append(CompiledDecl(
            decl_type, decl.name, comp.name, module.path, decl.pos.line, namespace[fname],
            _decl_hash(source, decl, header),
            kind=getattr(decl, "kind", None), weight=getattr(decl, "weight", 0) or 0,
            normalize=getattr(decl, "normalize", None), linemap=gen.linemap, colmap=gen.colmap,
            pod_reads=None if decl_type == "rule" else pod_reads(decl), defers=defers.get(fname, False),
            node_reads=None if decl_type == "rule" else pod_reads(decl, frozenset(_node_independent_lets(decl))),
            anchor_reads=anchor, anchor_set_only=set_only, where_reads=where_reads, guard_reads=guard_reads,
            anchor_positions=anchor_positions(decl) if decl_type == "rule" else {},
        ))
    return CompiledComponent(
        comp.name, module.path, comp.reads, comp.writes,
        tuple(decls["rule"]), tuple(decls["filter"]), tuple(decls["score"]),
        python, gen.linemap,
    )


def _describe_consts(consts: dict[str, Any]) -> str:
    """Comments that show the constants, so the query plans are visible in the source."""
    lines = []
    for name, value in consts.items():
        if isinstance(value, QuerySpec):
            terms = ", ".join(t.type + (f"[{t.label}]" if t.label else "") for t in value.terms)
            lines.append(f"# {name}: query {value.kind} by {terms or 'kind'}\n")
        else:
            lines.append(f"# {name}: {value}\n")
    return "".join(lines)


def _header_text(source: str, module: A.Module) -> str:
    lines = source.splitlines()
    first = min((d.pos.line for d in module.decls), default=len(lines) + 1)
    return "\n".join(lines[: first - 1])


def prefilter_test(code: str) -> Callable:
    """The function of a query's prefilter (`_Gen.prefilter`: Python that uses nothing of its
    module but the runtime and the builtins), made once per process."""
    found = _PREFILTER_TESTS.get(code)
    if found is None:
        found = _PREFILTER_TESTS[code] = eval(f"lambda v_it: {code}", _namespace({}))  # noqa: S307
    return found


_PREFILTER_TESTS: dict[str, Callable] = {}


def _namespace(consts: dict[str, Any]) -> dict[str, Any]:
    namespace: dict[str, Any] = {"_r": R, "__builtins__": {}}
    for name, builtin in BUILTINS.items():
        namespace["_b_" + name] = builtin.fn
    namespace.update(consts)
    return namespace


# ------------------------------------------------------------ one expression

_EXPR_HEAD = "component expression\n  reads any\nscore expression(pod, node): return "
_EXPR_LINE = _EXPR_HEAD.count("\n") + 1  # the line of the wrapped source the expression starts on


def compile_expression(text: str, path: str = "<expression>", it: bool = False,
                       kinds: Collection[str] | None = None) -> Callable:
    """Compile one expression of the rule language (e.g. `it.spec.replicas > 0`) to `fn(ctx, it)`.

    The text goes through the real pipeline, wrapped as a one-line score (the
    score's own parameters are not visible to it); with `it`, the name `it` is
    bound to the function's second argument; with `kinds` (the kinds a cluster
    serves, as `Kind` and `group/Kind`), a query or lookup of any other kind is
    an error, with the closest one.  Errors come out as
    `path:1:col: message` with the expression and a caret; `ctx` is an
    `EvalContext` (queries, lookups and `now` read its snapshot).
    """
    from engine.errors import SourceError, SourceErrors

    from .check import _Checker, _Scope
    from .parser import parse_partial

    text = text.strip()
    prefix = len(_EXPR_HEAD.rsplit("\n", 1)[1])

    def located(e: SourceError) -> SourceError:
        col = e.col - prefix if e.line == _EXPR_LINE else len(text) + 1
        return attrs.evolve(e, path=path, line=1, col=max(col, 1), source_line=text)

    if "\n" in text:
        raise SourceErrors([SourceError(path, 1, 1, "expected one expression on one line", text)])
    source = _EXPR_HEAD + text + "\n"
    module, errors = parse_partial(source, path)
    decl = module.decls[0] if len(module.decls) == 1 else None
    if not errors and (decl is None or len(decl.body) != 1 or not isinstance(decl.body[0], A.Return)):
        errors = [SourceError(path, _EXPR_LINE, len(source.splitlines()[-1]) + 1, "expected one expression")]
    if errors:
        raise SourceErrors([located(e) for e in errors])
    expr = decl.body[0].value
    checker = _Checker(module, source, BUILTINS, kinds)  # the checker of rules, `it` bound as a rule's variable
    checker.expr(expr, _Scope(it=None) if it else _Scope())
    if checker.errors:
        raise SourceErrors([located(e) for e in checker.errors])
    gen = _Gen(module)
    gen.scopes.append({"it": "v_it"} if it else {})
    gen.emit(0, "def expression(ctx, v_it):")
    gen.emit(1, "_now = ctx.now")
    gen.emit(1, f"return {gen.expr(expr)}")
    namespace = _namespace(gen.consts)
    exec(compile("\n".join(gen.lines) + "\n", f"<expression {path}>", "exec"), namespace)
    return namespace["expression"]
