"""Static checks of a parsed rule file: names, arity, permissions, types.

`check` walks one `ast.Module` and returns every mistake it finds (empty
list = fine); `load` parses and checks a file and raises `SourceErrors` with
all the syntax and checker errors of the file at once.

Besides names and arity, the checker infers a small static type per
expression, for two purposes only:

* kind permissions: the anchor variable of a rule is an object of its kind, a
  query is a list of its kind, a lookup one object, `for` over a list of K
  binds an object of K, and `first`, `sort`, `[p for p in ps if ...]`
  preserve the element kind; `set` and `delete` on a value of known kind
  need that kind in the component's `writes` (anything else is left to the
  apiserver at runtime);
* type mismatches that are certain: only operands whose type shows in the
  source itself (literals and arithmetic on them) are judged, never
  variables, so the checker has no false positives.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Mapping
from typing import Any

import attrs

from engine.dsl import ast
from engine.dsl.parser import parse_partial
from engine.errors import SourceError, SourceErrors, source_line_of

IT, NOW = "it", "now"
CREATE_OPTIONS = ("name", "name_prefix", "namespace", "owner", "labels", "annotations")
DELETE_OPTIONS = ("grace_period", "propagation")
EVENT_OPTIONS = ("field_path", "host", "alone")
NORMALIZE_MODES = ("max", "reverse", "minmax", "spread")
POD, NODE = ast.KindRef("Pod", None), ast.KindRef("Node", None)

# Builtins that return some of the objects of their argument 0 as a list,
# and those that return one of them.
SAME_LIST = frozenset({"sort", "sort_desc", "filter", "unique", "take"})
ONE_OF = frozenset({"first", "last", "min_by", "max_by"})
# Builtins whose argument 0 must be a list: these, and every builtin with an
# item argument (its `it` ranges over the elements of argument 0).
LIST_ARG = frozenset({"flatten", "take"})
# Functions of the evaluation context rather than builtins: they read the
# snapshot and leave dependencies, like a lookup (name -> number of arguments).
#   owner_object(ref, namespace): the object an ownerReference (any map with
#     apiVersion, kind, name) points to, null when absent;
#   known_kind(ref): does the API server serve ref's apiVersion and kind?
#   scale_of(ref, namespace): the autoscaling/v1 Scale of the object ref points to (its uid
#     too), null when absent or when its kind has no scale subresource.
CONTEXT_FUNCTIONS = {"owner_object": 2, "known_kind": 1, "scale_of": 2, "cluster_start": 0}
# later(x): in a score, a part of a node-independent let, read when the scores are normalised
# (compile.py, runtime.later); anywhere else it is x.
LATER = "later"
# The conditions of a query over `any` that an index answers across kinds.
ANY_QUERY_TERMS = frozenset({"ns", "owner", "uid"})


def load(text: str, path: str, builtins: Mapping[str, Any] | None = None) -> ast.Module:
    """Parse and check one rule file; raise SourceErrors with all its errors."""
    module, errors = parse_partial(text, path)
    errors = errors + check(module, text, builtins)
    if errors:
        raise SourceErrors(errors)
    return module


@attrs.frozen
class WriteSite:
    """A path a rule's `set` or `create` writes of an object of a kind the source shows: its
    literal steps from the object's root, and where each is spelt out (for a warning about a
    field the kind's schema does not declare: reconcile.undeclared_writes)."""

    kind: ast.KindRef
    path: tuple
    positions: tuple


def write_sites(module: ast.Module, source: str) -> dict[int, tuple[WriteSite, ...]]:
    """The write sites of each rule of `module` (a checked one), by its index in `module.decls`."""
    from engine.dsl.builtins import BUILTINS

    checker = _Checker(module, source, BUILTINS)
    checker.sites = {}
    checker.module()
    return {i: tuple(found) for i, found in checker.sites.items()}


def check(module: ast.Module, source: str,
          builtins: Mapping[str, Any] | None = None) -> list[SourceError]:
    """Every checker error of `module` (its text is `source`).

    `builtins` is the builtin table (engine.dsl.builtins.BUILTINS when not
    given).  A module whose component is None (a broken header, see
    parser.parse_partial) is checked without permissions."""
    if builtins is None:
        from engine.dsl.builtins import BUILTINS as builtins
    checker = _Checker(module, source, builtins)
    checker.module()
    return sorted(checker.errors, key=lambda e: (e.line, e.col))


# ------------------------------------------------------------ types

@attrs.frozen
class ObjectOf:
    kind: ast.KindRef


@attrs.frozen
class ListOf:
    kind: ast.KindRef


def _same_kind(a: ast.KindRef, b: ast.KindRef) -> bool:
    return a.kind == b.kind and (a.group is None or b.group is None or a.group == b.group)


def _granted(ref: ast.KindRef, grant: ast.KindRef) -> bool:
    """Does a header entry `grant` cover `ref`?  `any` covers every kind, `any` itself included."""
    return grant.is_any or _same_kind(ref, grant)


def _element(t: Any) -> ObjectOf | None:
    return ObjectOf(t.kind) if isinstance(t, ListOf) else None


class _Scope:
    """Names visible in a block: name -> (static type, where it was bound)."""

    def __init__(self, parent: _Scope | None = None, **bound: Any):
        self.parent = parent
        self.names: dict[str, tuple[Any, ast.Pos | None, str]] = {
            k: (v, None, "bound") for k, v in bound.items()}

    def get(self, name: str):
        scope = self
        while scope is not None:
            if name in scope.names:
                return scope.names[name]
            scope = scope.parent
        return None

    def visible(self) -> set[str]:
        names = set(self.names)
        return names | self.parent.visible() if self.parent else names


# ----------------------------------------------------------- checker

class _Checker:
    def __init__(self, module: ast.Module, source: str, builtins: Mapping[str, Any],
                 kinds: Collection[str] | None = None):
        self.mod, self.source, self.builtins = module, source, builtins
        self.errors: list[SourceError] = []
        self.decl = "rule"
        # The kinds a cluster serves, as `Kind` and `group/Kind` (None: not checked; a rule file's
        # kinds are judged against the cluster at run time, reconcile.unserved_kinds).
        self.kinds = kinds
        self.sites: dict[int, list[WriteSite]] | None = None  # (write_sites: recorded when a dict)
        self.index = 0

    def site(self, kind: ast.KindRef, steps: list[tuple[Any, ast.Pos]], value: Any) -> None:
        """Record the paths a write of `value` at `steps` of a `kind` object spells out."""
        if self.sites is None or kind.is_any:
            return
        found = self.sites.setdefault(self.index, [])
        for path in _literal_paths(steps, value):
            found.append(WriteSite(kind, tuple(s for s, _ in path), tuple(p for _, p in path)))

    def error(self, pos: ast.Pos, message: str) -> None:
        line = source_line_of(self.source, pos.line)
        self.errors.append(SourceError(self.mod.path, pos.line, pos.col, message, line))

    def module(self) -> None:
        comp = self.mod.component
        if comp is not None:
            for ref in (*comp.reads, *(w.ref for w in comp.writes)):
                self.closed_group(ref)
        first: dict[tuple[str, str], ast.Pos] = {}
        for self.index, decl in enumerate(self.mod.decls):
            what = type(decl).__name__.lower()
            key = (what, decl.name)
            if key in first:
                self.error(decl.pos, f"duplicate {what} '{decl.name}'; the first one is on line {first[key].line}")
            first.setdefault(key, decl.pos)
            getattr(self, "decl_" + what)(decl)

    # declarations
    def decl_rule(self, rule: ast.Rule) -> None:
        self.decl = "rule"
        known = self.need_read(rule.kind)
        scope = _Scope()
        self.bind(scope, rule.var, ObjectOf(rule.kind) if known else None, rule.pos, "the rule's variable")
        if rule.where is not None:
            self.expr(rule.where, scope)
        self.block(rule.body, scope)

    def decl_filter(self, decl: ast.Filter) -> None:
        self.decl = "filter"
        self.block(decl.body, self.params(decl))

    def decl_score(self, decl: ast.Score) -> None:
        self.decl = "score"
        self.block(decl.body, self.params(decl))
        if not _returns(decl.body):
            self.error(decl.pos, f"score '{decl.name}' never returns a value; add 'return EXPR'")
        if decl.normalize is not None and decl.normalize not in NORMALIZE_MODES:
            hint = _suggest(decl.normalize, NORMALIZE_MODES) or "; the modes are " + ", ".join(NORMALIZE_MODES)
            self.error(decl.pos, f"unknown normalize mode '{decl.normalize}'{hint}")

    def params(self, decl: ast.Filter | ast.Score) -> _Scope:
        scope = _Scope()
        if decl.pod_var == decl.node_var:
            self.error(decl.pos, f"the pod and the node need different names, not both '{decl.pod_var}'")
        self.bind(scope, decl.pod_var, ObjectOf(POD), decl.pos, "a parameter")
        self.bind(scope, decl.node_var, ObjectOf(NODE), decl.pos, "a parameter")
        return scope

    def bind(self, scope: _Scope, name: str, type_: Any, pos: ast.Pos,
             role: str = "defined in this block") -> None:
        if name in (IT, NOW):
            self.error(pos, f"'{name}' is a built-in name; choose another name")
        elif name in scope.names:
            _, where, was = scope.names[name]
            if where != pos:
                self.error(pos, f"'{name}' is already {was} (line {where.line}); choose another name")
        scope.names[name] = (type_, pos, role)

    def block(self, body: tuple, scope: _Scope) -> None:
        for stmt in body:
            getattr(self, "stmt_" + type(stmt).__name__.lower())(stmt, scope)

    # permissions
    def closed_group(self, ref: ast.KindRef) -> bool:
        """Report a kind no cluster can serve: a group without a dot is a built-in one (the core
        group is written without one), which has only its built-in kinds; a custom resource's
        group has a dot.  False when reported."""
        group = ref.group
        if group is None or "." in group or _builtin_kind(ref) is not None:
            return True
        from engine.kinds import BUILTINS

        groups = {rt.group for rt in BUILTINS}
        same = [f"{rt.group}/{rt.kind}" for rt in BUILTINS if rt.group == group]
        close = (difflib.get_close_matches(str(ref), same, n=1, cutoff=0.6)
                 or difflib.get_close_matches(ref.kind, [rt.kind if not rt.group else f"{rt.group}/{rt.kind}"
                                                         for rt in BUILTINS], n=1, cutoff=0.6))
        hint = f": did you mean {close[0]}?" if close else ""
        if group in groups:
            self.error(ref.pos, f"unknown kind {ref}: the built-in group {group} has no kind {ref.kind}{hint}")
        else:
            self.error(ref.pos, f"unknown kind {ref}: {group} is no built-in group, and a "
                                f"CustomResourceDefinition's group has a dot (example.com){hint}")
        return False

    def need_read(self, ref: ast.KindRef) -> bool:
        """Check a kind read; False when it is reported as misspelt (its objects' type is then
        unknown, so that no advice is given about the misspelt kind, such as adding it to the
        writes line); a kind merely missing from `reads` keeps its type."""
        if self.kinds is not None and not ref.is_any and str(ref) not in self.kinds:
            close = difflib.get_close_matches(str(ref), sorted(self.kinds), n=1, cutoff=0.6)
            hint = f": did you mean {close[0]}?" if close else ""
            self.error(ref.pos, f"unknown kind {ref}: no built-in kind or CustomResourceDefinition "
                                f"in the cluster defines it{hint}")
            return False
        comp = self.mod.component
        if comp is not None and not any(_granted(ref, r) for r in comp.reads):
            close = difflib.get_close_matches(str(ref), [str(r) for r in comp.reads], n=1, cutoff=0.75)
            if close:  # (a typo of a kind it reads, more likely than a kind to add)
                self.error(ref.pos, f"{ref} is not in this component's reads: did you mean {close[0]}?")
                return False
            self.error(ref.pos, f"{ref} is not in this component's reads; add it to the reads line")
        return self.closed_group(ref)

    def need_write(self, ref: ast.KindRef, status: bool, pos: ast.Pos, doing: str) -> None:
        comp = self.mod.component
        if comp is None or any(_granted(ref, w.ref) and w.status == status for w in comp.writes):
            return
        needed = f"{ref}.status" if status else str(ref)
        self.error(pos, f"{doing} needs '{needed}' in this component's writes; add it to the writes line")

    def only_in(self, decl: str, word: str, pos: ast.Pos) -> bool:
        if self.decl == decl:
            return True
        self.error(pos, f"'{word}' can only be used in a {decl}, not in a {self.decl}")
        return False

    # statements
    def stmt_let(self, stmt: ast.Let, scope: _Scope) -> None:
        self.bind(scope, stmt.name, self.expr(stmt.value, scope), stmt.pos)

    def stmt_when(self, stmt: ast.When, scope: _Scope) -> None:
        self.expr(stmt.cond, scope)
        self.block(stmt.body, _Scope(scope))
        self.block(stmt.orelse, _Scope(scope))

    def stmt_for(self, stmt: ast.For, scope: _Scope) -> None:
        element = _element(self.expr(stmt.iter, scope))
        inner = _Scope(scope)
        self.bind(inner, stmt.var, element, stmt.pos, "the loop's variable")
        self.block(stmt.body, inner)

    def stmt_set(self, stmt: ast.Set, scope: _Scope) -> None:
        self.expr(stmt.target, scope)
        self.expr(stmt.value, scope)
        if self.only_in("rule", "set", stmt.pos):
            target = _set_target(stmt.target, scope)
            if target is not None:
                kind, status, pos = target
                doing = f"setting {kind} status" if status else f"setting {kind} fields"
                self.need_write(kind, status, pos, doing)
                root = stmt.target
                while isinstance(root, (ast.Attr, ast.Index)):
                    root = root.obj
                bound = scope.get(root.id) if isinstance(root, ast.Name) else None
                steps = _literal_steps(stmt.target)
                if bound and isinstance(bound[0], ObjectOf) and steps:  # (not `pods[0].…`)
                    self.site(kind, steps, stmt.value)

    def stmt_create(self, stmt: ast.Create, scope: _Scope) -> None:
        if stmt.count is not None:
            self.expr(stmt.count, scope)
        self.expr(stmt.template, scope)
        seen: set[str] = set()
        for option in stmt.options:
            self.option(option, seen, scope)
        if not seen & {"name", "name_prefix"} and _unnamed(stmt.template):
            self.error(stmt.template.pos, "create needs a name or a name_prefix: `with name: …` or "
                                          "`with name_prefix: …`, or metadata.name (generateName) in the template")
        if stmt.kind.is_any:
            self.error(stmt.kind.pos, "create needs one kind, not any")
        elif self.only_in("rule", "create", stmt.pos) and self.closed_group(stmt.kind):
            self.need_write(stmt.kind, False, stmt.kind.pos, f"creating {stmt.kind}")
            self.site(stmt.kind, [], stmt.template)
        if stmt.alias is not None:
            created = ObjectOf(stmt.kind) if stmt.count is None else ListOf(stmt.kind)
            self.bind(scope, stmt.alias, None if stmt.kind.is_any else created, stmt.pos)

    def option(self, option: ast.Option, seen: set[str], scope: _Scope,
               verb: str = "create", known: tuple[str, ...] = CREATE_OPTIONS) -> None:
        self.expr(option.value, scope)
        if option.name not in known:
            hint = _suggest(option.name, known) or "; the options are " + ", ".join(known)
            self.error(option.pos, f"unknown {verb} option '{option.name}'{hint}")
        elif option.name in seen:
            self.error(option.pos, f"option '{option.name}' is given twice")
        seen.add(option.name)

    def stmt_delete(self, stmt: ast.Delete, scope: _Scope) -> None:
        target = self.expr(stmt.target, scope)
        seen: set[str] = set()
        for option in stmt.options:
            self.option(option, seen, scope, "delete", DELETE_OPTIONS)
        if self.only_in("rule", "delete", stmt.pos) and isinstance(target, (ObjectOf, ListOf)):
            self.need_write(target.kind, False, stmt.target.pos, f"deleting {target.kind}")

    def stmt_event(self, stmt: ast.Event, scope: _Scope) -> None:
        target = self.expr(stmt.target, scope)
        self.expr(stmt.message, scope)
        seen: set[str] = set()
        for option in stmt.options:
            self.option(option, seen, scope, "event", EVENT_OPTIONS)
        self.only_in("rule", "event", stmt.pos)
        if not _REASON.fullmatch(stmt.reason):
            self.error(stmt.pos, f"event reason {stmt.reason!r} should be one UpperCamelCase word "
                                 "like SuccessfulCreate (a constant that tools match on)")
        shown = _shown_type(stmt.target)
        if shown is not None or isinstance(target, ListOf):
            got = "a list of objects" if isinstance(target, ListOf) else _a(shown)
            self.error(stmt.target.pos, f"an event is about one object (like `on rs`), got {got}")
        shown = _shown_type(stmt.message)
        if shown not in (None, "string"):
            self.error(stmt.message.pos, f"an event message is a string, got {_a(shown)}; "
                                         "convert numbers with str(...)")
        for option in stmt.options:
            shown = _shown_type(option.value)
            wanted = "bool" if option.name == "alone" else "string"
            if shown not in (None, wanted, "null"):
                self.error(option.value.pos, f"event option '{option.name}' is a {wanted}, got {_a(shown)}")

    def stmt_requeue(self, stmt: ast.Requeue, scope: _Scope) -> None:
        self.expr(stmt.after, scope)
        self.only_in("rule", "requeue", stmt.pos)
        shown = _shown_type(stmt.after)
        if shown not in (None, "number", "duration"):
            self.error(stmt.after.pos, f"'requeue after' needs a duration like 30s, got {_a(shown)}")

    def stmt_reject(self, stmt: ast.Reject, scope: _Scope) -> None:
        self.expr(stmt.message, scope)
        if stmt.cond is not None:
            self.expr(stmt.cond, scope)
        self.only_in("filter", "reject", stmt.pos)

    def stmt_return(self, stmt: ast.Return, scope: _Scope) -> None:
        self.expr(stmt.value, scope)
        self.only_in("score", "return", stmt.pos)

    # expressions: check, and return the static type (ObjectOf, ListOf or None)
    def expr(self, node: Any, scope: _Scope) -> Any:
        return getattr(self, "expr_" + type(node).__name__.lower())(node, scope)

    def expr_literal(self, node: ast.Literal, scope: _Scope) -> None:
        return None

    expr_duration = expr_literal

    def expr_listlit(self, node: ast.ListLit, scope: _Scope) -> None:
        for item in node.items:
            self.expr(item, scope)

    def expr_maplit(self, node: ast.MapLit, scope: _Scope) -> None:
        seen: set[str] = set()
        for key, value in node.items:
            if key in seen:
                self.error(value.pos, f"key '{key}' appears twice in this map")
            seen.add(key)
            self.expr(value, scope)

    def expr_name(self, node: ast.Name, scope: _Scope) -> Any:
        bound = scope.get(node.id)
        if bound is not None:
            return bound[0]
        if node.id == NOW:
            return None
        if node.id == IT:
            self.error(node.pos, "'it' is only defined in a query's where clause "
                                 "or in a per-item argument (like the key of sort)")
        elif node.id in self.builtins or node.id in CONTEXT_FUNCTIONS or node.id == LATER:
            self.error(node.pos, f"'{node.id}' is a function; call it like {node.id}(...)")
        else:
            hint = _suggest(node.id, scope.visible() | {NOW})
            self.error(node.pos, f"unknown name '{node.id}'{hint}")
        return None

    def expr_attr(self, node: ast.Attr, scope: _Scope) -> None:
        self.expr(node.obj, scope)

    def expr_index(self, node: ast.Index, scope: _Scope) -> Any:
        obj = self.expr(node.obj, scope)
        self.expr(node.index, scope)
        return _element(obj)

    def expr_unary(self, node: ast.Unary, scope: _Scope) -> None:
        self.expr(node.operand, scope)
        shown = _shown_type(node.operand)
        if node.op == "not" and shown in ("list", "map", "string", "number", "duration"):
            self.error(node.pos, f"'not' needs a boolean, got {_a(shown)}")
        elif node.op == "-" and shown not in (None, "number", "duration"):
            self.error(node.pos, f"cannot negate {_a(shown)}")

    def expr_binary(self, node: ast.Binary, scope: _Scope) -> None:
        self.expr(node.left, scope)
        self.expr(node.right, scope)
        problem = _binary_problem(node.op, _shown_type(node.left), _shown_type(node.right))
        if problem:
            self.error(node.pos, problem)

    def expr_cond(self, node: ast.Cond, scope: _Scope) -> Any:
        self.expr(node.test, scope)
        then, orelse = self.expr(node.then, scope), self.expr(node.orelse, scope)
        return then if then == orelse else None

    def expr_comprehension(self, node: ast.Comprehension, scope: _Scope) -> Any:
        element = _element(self.expr(node.iter, scope))
        inner = _Scope(scope)
        self.bind(inner, node.var, element, node.pos)
        self.expr(node.expr, inner)
        if node.cond is not None:
            self.expr(node.cond, inner)
        keeps = isinstance(node.expr, ast.Name) and node.expr.id == node.var and element
        return ListOf(element.kind) if keeps else None

    def expr_query(self, node: ast.Query, scope: _Scope) -> ListOf | None:
        known = self.need_read(node.kind)
        if node.namespace is not None:
            self.expr(node.namespace, scope)
        if node.where is not None:
            self.expr(node.where, _Scope(scope, it=ObjectOf(node.kind)))
        if node.kind.is_any:
            from engine.dsl.compile import plan_query  # the planner decides what an index answers
            if not ANY_QUERY_TERMS & {t.type for t in plan_query(node)[0].terms}:
                self.error(node.pos, "a query over any kind needs `in NAMESPACE` or an owner/uid "
                                     "condition (like `any where owned_by(it, x)`)")
        return ListOf(node.kind) if known else None

    def expr_lookup(self, node: ast.Lookup, scope: _Scope) -> ObjectOf:
        for arg in node.args:
            self.expr(arg, scope)
        if node.kind.is_any:
            self.error(node.pos, "a lookup needs one kind, not any; "
                                 "owner_object(ref, namespace) finds an object by apiVersion, kind and name")
            return None
        known = self.need_read(node.kind)
        if len(node.args) > 2:
            self.error(node.pos, f"{node.kind}[...] takes a name, or a namespace and a name; "
                                 f"got {len(node.args)} values")
        rt = _builtin_kind(node.kind)
        if rt is not None and rt.namespaced and len(node.args) == 1:
            self.error(node.pos, f"{node.kind} is namespaced: look it up as {node.kind}[namespace, name]")
        elif rt is not None and not rt.namespaced and len(node.args) == 2:
            self.error(node.pos, f"{node.kind} is cluster-scoped: look it up as {node.kind}[name]")
        return ObjectOf(node.kind) if known else None

    def expr_call(self, node: ast.Call, scope: _Scope) -> Any:
        if node.func in CONTEXT_FUNCTIONS:
            return self.context_call(node, scope)
        if node.func == LATER:
            return self.later_call(node, scope)
        builtin = self.builtins.get(node.func)
        item_arg = getattr(builtin, "item_arg", None)
        types = []
        for i, arg in enumerate(node.args):
            # `it` is each element of argument 0 (for an unknown function,
            # bind it anyway: one error is enough).
            binds_it = i == item_arg if builtin is not None else i > 0
            inner = _Scope(scope, it=_element(types[0])) if binds_it and i > 0 else scope
            types.append(self.expr(arg, inner))
        if builtin is None:
            self.unknown_function(node, scope)
            return None
        self.arity(node, builtin)
        self.list_arg(node, builtin)
        if types and isinstance(types[0], ListOf):
            if node.func in SAME_LIST:
                return types[0]
            if node.func in ONE_OF:
                return ObjectOf(types[0].kind)
        return None

    def context_call(self, node: ast.Call, scope: _Scope) -> None:
        for arg in node.args:
            self.expr(arg, scope)
        takes = CONTEXT_FUNCTIONS[node.func]
        if len(node.args) != takes:
            self.error(node.pos, f"{node.func}() takes {_plural(takes, 'argument')}, got {len(node.args)}")
        self.only_in("rule", node.func, node.pos)

    def later_call(self, node: ast.Call, scope: _Scope) -> Any:
        found = [self.expr(arg, scope) for arg in node.args]
        if len(node.args) != 1:
            self.error(node.pos, f"later() takes 1 argument, got {len(node.args)}")
        elif self.only_in("score", "later", node.pos):
            base = node.args[0]
            while isinstance(base, ast.Index):
                base = base.obj
            if not isinstance(base, ast.Name):
                self.error(node.args[0].pos, "later() takes a let or a part of one, like later(counts[zone])")
        return found[0] if found else None

    def unknown_function(self, node: ast.Call, scope: _Scope) -> None:
        if scope.get(node.func) is not None:
            self.error(node.pos, f"'{node.func}' is a variable, not a function")
        else:
            known = {**self.builtins, **CONTEXT_FUNCTIONS, LATER: None}
            self.error(node.pos, f"unknown function '{node.func}'{_suggest(node.func, known)}")

    def arity(self, node: ast.Call, builtin: Any) -> None:
        low, high, got = builtin.min_args, builtin.max_args, len(node.args)
        if low <= got and (high is None or got <= high):
            return
        if high is None:
            takes = f"at least {_plural(low, 'argument')}"
        elif low == high:
            takes = _plural(low, "argument")
        else:
            takes = f"{low} to {high} arguments"
        self.error(node.pos, f"{node.func}() takes {takes}, got {got}")

    def list_arg(self, node: ast.Call, builtin: Any) -> None:
        takes_list = builtin.item_arg is not None or node.func in LIST_ARG
        shown = _shown_type(node.args[0]) if node.args and takes_list else None
        if shown in ("number", "bool", "duration"):  # null is an empty list
            self.error(node.args[0].pos, f"{node.func}() needs a list, got {_a(shown)}")


# ------------------------------------------------------------ helpers

def _returns(body: tuple) -> bool:
    for stmt in body:
        if isinstance(stmt, ast.Return):
            return True
        nested = (stmt.body, stmt.orelse) if isinstance(stmt, ast.When) else \
                 (stmt.body,) if isinstance(stmt, ast.For) else ()
        if any(_returns(b) for b in nested):
            return True
    return False


def _set_target(target: Any, scope: _Scope):
    """(kind, is_status, pos) of what a `set` writes, or None when unknown."""
    steps = []
    while isinstance(target, (ast.Attr, ast.Index)):
        steps.append(target)
        target = target.obj
    steps.reverse()
    bound = scope.get(target.id) if isinstance(target, ast.Name) else None
    type_ = bound[0] if bound else None
    while steps and isinstance(type_, ListOf) and isinstance(steps[0], ast.Index):
        type_, steps = ObjectOf(type_.kind), steps[1:]
    if not isinstance(type_, ObjectOf):
        return None
    if not steps:
        return type_.kind, False, target.pos
    step = steps[0]
    key = step.name if isinstance(step, ast.Attr) else getattr(step.index, "value", None)
    return type_.kind, key == "status", step.pos


def _literal_steps(target: Any) -> list[tuple[Any, ast.Pos]]:
    """The steps of a `set` target after its variable, each with where it is spelt out, up to the
    first computed one (`labels[key]`: what is below a computed key is not known)."""
    steps = []
    while isinstance(target, (ast.Attr, ast.Index)):
        steps.append(target)
        target = target.obj
    found = []
    for step in reversed(steps):
        if isinstance(step, ast.Attr):
            found.append((step.name, step.pos))
        elif isinstance(step.index, ast.Literal) and isinstance(step.index.value, (str, int)) \
                and not isinstance(step.index.value, bool):
            found.append((step.index.value, step.pos))
        else:
            break
    return found


def _literal_paths(steps: list, value: Any):
    """Each path a write of `value` at `steps` spells out: `steps` and, into a map literal, its
    keys (their place is their value's), down to each leaf; nothing below a computed value."""
    if isinstance(value, ast.MapLit) and value.items:
        for key, item in value.items:
            yield from _literal_paths([*steps, (key, item.pos if item.pos.line else value.pos)], item)
    elif isinstance(value, ast.ListLit) and any(isinstance(item, ast.MapLit) for item in value.items):
        for i, item in enumerate(value.items):
            yield from _literal_paths([*steps, (i, item.pos)], item)
    elif steps:
        yield steps


def _shown_type(node: Any) -> str | None:
    """The type of `node` when its own source shows it (literals and
    arithmetic on literals), else None."""
    if isinstance(node, ast.Literal):
        value = node.value
        if isinstance(value, bool):
            return "bool"
        if value is None:
            return "null"
        return "string" if isinstance(value, str) else "number"
    if isinstance(node, ast.Duration):
        return "duration"
    if isinstance(node, (ast.ListLit, ast.Comprehension)):
        return "list"
    if isinstance(node, ast.MapLit):
        return "map"
    if isinstance(node, ast.Unary) and node.op == "-":
        shown = _shown_type(node.operand)
        return shown if shown in ("number", "duration") else None
    if isinstance(node, ast.Binary) and node.op in _ARITHMETIC:
        return _ARITHMETIC[node.op].get((_shown_type(node.left), _shown_type(node.right)))
    return None


_REASON = re.compile(r"[A-Z][A-Za-z0-9]*")
_NUM, _DUR, _STR, _LIST = "number", "duration", "string", "list"
_ADD = {(_NUM, _NUM): _NUM, (_DUR, _DUR): _DUR, (_DUR, _NUM): _DUR, (_NUM, _DUR): _DUR,
        (_STR, _STR): _STR, (_LIST, _LIST): _LIST}
# A timestamp string plus or minus a duration is a time (seconds since the epoch).
_TIME_SHIFT = {(_STR, _DUR): _NUM, (_DUR, _STR): _NUM}
_ARITHMETIC = {
    "+": {**_ADD, **_TIME_SHIFT},
    "-": {**{k: v for k, v in _ADD.items() if v in (_NUM, _DUR)}, (_STR, _DUR): _NUM},
    "*": {(_NUM, _NUM): _NUM, (_DUR, _NUM): _DUR, (_NUM, _DUR): _DUR,
          (_STR, _NUM): _STR, (_LIST, _NUM): _LIST},
    "/": {(_NUM, _NUM): _NUM, (_DUR, _NUM): _DUR, (_DUR, _DUR): _NUM},
    "%": {(_NUM, _NUM): _NUM, (_DUR, _DUR): _DUR, (_DUR, _NUM): _DUR},
}
_ORDERED = {_NUM, _DUR}


def _binary_problem(op: str, left: str | None, right: str | None) -> str | None:
    if op in ("in", "not in"):
        if right in ("number", "bool", "duration", "null"):
            return f"'{op}' needs a list, map or string on the right, got {_a(right)}"
        return None
    if left is None or right is None:
        return None
    if op in _ARITHMETIC and (left, right) not in _ARITHMETIC[op]:
        return f"cannot use '{op}' on {_a(left)} and {_a(right)}"
    if op in ("<", "<=", ">", ">="):
        same = left == right and left in (_STR, _NUM, _DUR)
        if not same and not (left in _ORDERED and right in _ORDERED):
            return f"cannot compare {_a(left)} with {_a(right)} using '{op}'"
    if op in ("==", "!=") and "null" not in (left, right):
        if left != right and not (left in _ORDERED and right in _ORDERED):
            always = "false" if op == "==" else "true"
            return f"comparing {_a(left)} with {_a(right)} is always {always}"
    return None


def _a(type_name: str) -> str:
    if type_name == "null":
        return "null"
    return ("an " if type_name[0] in "aeiou" else "a ") + type_name


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _suggest(name: str, candidates) -> str:
    close = difflib.get_close_matches(name, sorted(candidates), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def _builtin_kind(ref: ast.KindRef) -> Any:
    """The built-in kind `ref` names, or None (a custom kind's scope is its CRD's, known at run time)."""
    from engine.kinds import BUILTIN

    rt = BUILTIN.named(ref.group, ref.kind)
    return rt if rt is not None and not rt.is_custom else None


def _unnamed(template: Any) -> bool:
    """Does a map-literal template visibly lack a name (no `metadata`, or a literal `metadata`
    without `name` and `generateName`)?  Anything computed may hold one."""
    if not isinstance(template, ast.MapLit):
        return False
    meta = next((value for key, value in template.items if key == "metadata"), None)
    if meta is None:
        return True
    return isinstance(meta, ast.MapLit) and not {key for key, _ in meta.items} & {"name", "generateName"}
