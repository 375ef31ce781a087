"""The typed syntax tree of a rule file.

`engine.dsl.parser` builds it, `engine.dsl.check` checks it and the compiler
turns it into Python callables.  Every node is a frozen attrs class whose last
field is `pos`, the 1-based line and column of the node in its file.  The
position is that of the node's first token, except:

* `Binary`: the operator (``a + b`` points at ``+``),
* `Attr`: the field name (``rs.spec.replicas`` points at ``replicas``),
* `Index`: the opening bracket.

Sequences are tuples, never lists, so that every tree is hashable and can be
shared.  `dump` renders a tree as stable, indented text (the parser goldens).
"""

from __future__ import annotations

from typing import Any, Union

import attrs


@attrs.frozen
class Pos:
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.line}:{self.col}"


NOWHERE = Pos(0, 0)


# ------------------------------------------------------------ header

@attrs.frozen
class KindRef:
    kind: str
    group: str | None
    pos: Pos = NOWHERE

    def __str__(self) -> str:
        return f"{self.group}/{self.kind}" if self.group else self.kind

    @property
    def is_any(self) -> bool:
        """`any`: every kind (a header grant, a rule anchored on every object, a query across kinds)."""
        return self.kind == ANY_KIND and self.group is None


ANY_KIND = "any"


@attrs.frozen
class WriteRef:
    ref: KindRef
    status: bool
    pos: Pos = NOWHERE


@attrs.frozen
class Component:
    name: str
    reads: tuple[KindRef, ...]
    writes: tuple[WriteRef, ...]
    pos: Pos = NOWHERE


# ------------------------------------------------------- expressions

@attrs.frozen
class Literal:
    value: int | float | str | bool | None
    pos: Pos = NOWHERE


@attrs.frozen
class Duration:
    seconds: float
    pos: Pos = NOWHERE


@attrs.frozen
class ListLit:
    items: tuple
    pos: Pos = NOWHERE


@attrs.frozen
class MapLit:
    items: tuple  # tuple[tuple[str, Expr], ...]
    pos: Pos = NOWHERE


@attrs.frozen
class Name:
    id: str
    pos: Pos = NOWHERE


@attrs.frozen
class Attr:
    obj: Any
    name: str
    pos: Pos = NOWHERE


@attrs.frozen
class Index:
    obj: Any
    index: Any
    pos: Pos = NOWHERE


@attrs.frozen
class Call:
    func: str
    args: tuple
    pos: Pos = NOWHERE


@attrs.frozen
class Unary:
    op: str  # "not" or "-"
    operand: Any
    pos: Pos = NOWHERE


@attrs.frozen
class Binary:
    op: str  # + - * / % == != < <= > >= and or in "not in"
    left: Any
    right: Any
    pos: Pos = NOWHERE


@attrs.frozen
class Cond:
    test: Any
    then: Any
    orelse: Any
    pos: Pos = NOWHERE


@attrs.frozen
class Comprehension:
    expr: Any
    var: str
    iter: Any
    cond: Any  # Expr | None
    pos: Pos = NOWHERE


@attrs.frozen
class Query:
    kind: KindRef
    namespace: Any  # Expr | None
    where: Any  # Expr | None
    pos: Pos = NOWHERE


@attrs.frozen
class Lookup:
    kind: KindRef
    args: tuple  # (name,) or (namespace, name)
    pos: Pos = NOWHERE


Expr = Union[Literal, Duration, ListLit, MapLit, Name, Attr, Index, Call,
             Unary, Binary, Cond, Comprehension, Query, Lookup]


# -------------------------------------------------------- statements

@attrs.frozen
class Let:
    name: str
    value: Any
    pos: Pos = NOWHERE


@attrs.frozen
class When:
    cond: Any
    body: tuple
    orelse: tuple  # `else when` is a single When in here
    pos: Pos = NOWHERE


@attrs.frozen
class For:
    var: str
    iter: Any
    body: tuple
    pos: Pos = NOWHERE


@attrs.frozen
class Set:
    target: Any  # Name followed by Attr/Index steps
    value: Any
    pos: Pos = NOWHERE


@attrs.frozen
class Option:
    name: str
    value: Any
    pos: Pos = NOWHERE


@attrs.frozen
class Create:
    count: Any  # Expr | None
    kind: KindRef
    template: Any
    options: tuple[Option, ...]
    pos: Pos = NOWHERE
    alias: str | None = None  # `as NAME`: the object (a list of them with a count) to be created


@attrs.frozen
class Delete:
    target: Any
    options: tuple = ()  # tuple[Option, ...]: grace_period, propagation
    pos: Pos = NOWHERE


@attrs.frozen
class Event:
    """`event [warning] "Reason" on target: message [with field_path: ..., host: ...]`."""

    reason: str
    warning: bool
    target: Any
    message: Any
    options: tuple = ()  # tuple[Option, ...]: field_path, host
    pos: Pos = NOWHERE


@attrs.frozen
class Requeue:
    after: Any
    pos: Pos = NOWHERE


@attrs.frozen
class Reject:
    message: Any
    cond: Any  # Expr | None
    pos: Pos = NOWHERE


@attrs.frozen
class Return:
    value: Any
    pos: Pos = NOWHERE


Stmt = Union[Let, When, For, Set, Create, Delete, Event, Requeue, Reject, Return]


# ------------------------------------------------------ declarations

@attrs.frozen
class Rule:
    name: str
    var: str
    kind: KindRef
    where: Any  # Expr | None
    body: tuple
    pos: Pos = NOWHERE


@attrs.frozen
class Filter:
    name: str
    pod_var: str
    node_var: str
    body: tuple
    pos: Pos = NOWHERE


@attrs.frozen
class Score:
    name: str
    pod_var: str
    node_var: str
    weight: int
    body: tuple
    pos: Pos = NOWHERE
    normalize: str | None = None  # "max" | "reverse" | "minmax": rescaled over the feasible nodes


Decl = Union[Rule, Filter, Score]


@attrs.frozen
class Module:
    path: str
    component: Component  # None only in parser.parse_partial's result
    decls: tuple
    pos: Pos = NOWHERE


# -------------------------------------------------------------- dump

def is_node(value: object) -> bool:
    return attrs.has(type(value)) and not isinstance(value, Pos)


def dump(node: object, positions: bool = True) -> str:
    """Render `node` as indented text, one field per line.

    A node whose fields are all plain values fits on one line:
    ``Name(id='rs') @6:35``.  Other nodes print their class and position,
    then one ``field: value`` line per field, nested two spaces deeper;
    tuples of nodes print one ``- item`` per line.
    """
    return "\n".join(_dump(node, 0, positions)) + "\n"


def _at(node: object, positions: bool) -> str:
    return f" @{node.pos}" if positions else ""


def _is_flat(value: object) -> bool:
    if is_node(value) or (isinstance(value, tuple) and value):
        return False
    return True


def _dump(node: object, depth: int, positions: bool) -> list[str]:
    pad = "  " * depth
    fields = [f for f in attrs.fields(type(node)) if f.name != "pos"]
    values = [(f.name, getattr(node, f.name)) for f in fields]
    name = type(node).__name__
    if all(_is_flat(v) for _, v in values):
        inner = ", ".join(f"{k}={_scalar(v)}" for k, v in values)
        return [f"{pad}{name}({inner}){_at(node, positions)}"]
    lines = [f"{pad}{name}{_at(node, positions)}"]
    for key, value in values:
        lines.extend(_dump_field(f"{pad}  {key}: ", value, depth + 1, positions))
    return lines


def _dump_field(head: str, value: object, depth: int, positions: bool) -> list[str]:
    if is_node(value):
        sub = _dump(value, depth, positions)
        return [head + sub[0].lstrip()] + sub[1:]
    if isinstance(value, tuple) and value:
        lines = [head.rstrip()]
        pad = "  " * (depth + 1)
        for item in value:
            if isinstance(item, tuple):  # a (key, value) pair of a map
                key, val = item
                lines.extend(_dump_field(f"{pad}- {_scalar(key)}: ", val, depth + 2, positions))
            else:
                lines.extend(_dump_field(f"{pad}- ", item, depth + 2, positions))
        return lines
    return [head + _scalar(value)]


def _scalar(value: object) -> str:
    if isinstance(value, tuple):
        return "()"
    return repr(value)
