"""What compiled rules call at run time: null-safe paths and operators, and time.

Rule values are JSON-like: objects and maps are Mappings, lists are
Sequences, `null` is None.  Every operator here is null-safe the way the
language reference says: a path through a missing field is null, arithmetic
with null is null, an ordering comparison with null is false.

Time is float seconds since the epoch.  `now` is a `TimeVal`, a float that
remembers how it depends on the clock, so that a comparison such as
`time(hb) + 40s < now` that is false today records the moment it turns
true; the engine wakes the rule then instead of polling.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pyrsistent import pmap, pvector

from ..objects import is_mapping, pmap_get  # pmap_get: the generated code and builtins read maps through it
from ..timeutil import parse_time

# Shortcuts that read an object's metadata: `rs.name` is `rs.metadata.name`.
META_SHORTCUTS = frozenset({"name", "namespace", "labels", "annotations", "uid"})


class RuleRuntimeError(Exception):
    """A rule did something impossible with the data it met (e.g. "a" * {})."""


def describe_failure(exc: Exception) -> str:
    """What a rule's (or an invariant's) evaluation that raised `exc` did wrong, for its report.

    A builtin that refuses its arguments is named with them: in its own words when it raised
    the error itself (`int(): cannot convert 'x' to an integer`), else by the arguments it
    could not take (`split() cannot take these arguments: s = 3 (a number)`), never with the
    names of Python's exceptions.  Anything else is a fault of the engine and named as it is."""
    if isinstance(exc, RuleRuntimeError):
        return str(exc)
    found = _failed_builtin(exc)
    if found is None:
        return f"{type(exc).__name__}: {exc}"
    name, tb = found
    last = tb
    while last.tb_next is not None:
        last = last.tb_next
    if isinstance(exc, (TypeError, ValueError)) and _raised_here(last):  # worded by recon's own code
        text = str(exc)
        return f"{name}(): {text[len(name) + 1:].lstrip() if text.startswith(name + ':') else text}"
    return f"{name}() cannot take these arguments: {_arguments(name, tb.tb_frame)}"


def _failed_builtin(exc: BaseException) -> tuple[str, Any] | None:
    """The builtin the rule called when `exc` was raised (the outermost one), with its traceback entry."""
    from .builtins import BUILTINS  # (builtins imports this module)

    codes = {b.fn.__code__: name for name, b in BUILTINS.items() if hasattr(b.fn, "__code__")}
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code in codes:
            return codes[tb.tb_frame.f_code], tb
        tb = tb.tb_next
    return None


def _raised_here(tb: Any) -> bool:
    """Was the exception raised by a `raise` statement of this frame (not by Python underneath it)?"""
    import dis

    code = tb.tb_frame.f_code.co_code
    return 0 <= tb.tb_lasti < len(code) and dis.opname[code[tb.tb_lasti]] == "RAISE_VARARGS"


def _arguments(name: str, frame: Any) -> str:
    """The arguments a builtin's frame received, as `param = value (type)`; defaults left out."""
    import inspect

    from .builtins import BUILTINS

    shown = []
    for param in inspect.signature(BUILTINS[name].fn).parameters.values():
        value = frame.f_locals.get(param.name, param.default)
        if param.kind == param.VAR_POSITIONAL:
            shown += [_argument(f"{param.name}[{i}]", v) for i, v in enumerate(value)]
        elif value is not param.default:
            shown.append(_argument(param.name, value))
    return ", ".join(shown) or "none"


def _argument(name: str, value: Any) -> str:
    """`n = "a" (a string)`, `items = a list`, `sep = null`: one argument in the rule language's words."""
    if value is None or isinstance(value, bool):
        return f"{name} = {'null' if value is None else str(value).lower()}"
    if isinstance(value, str):
        return f'{name} = "{value}" (a string)'
    if isinstance(value, (int, float)):
        return f"{name} = {value} (a number)"
    if callable(value) and not isinstance(value, (Mapping, Sequence)):
        return f"{name} = (an expression of it)"
    return f"{name} = a {type_name(value)}"


# ------------------------------------------------------ once per attempt


def once(ctx: Any, site: Any, compute: Any) -> Any:
    """A filter's or score's node-independent `let`: computed once per scheduling attempt.

    The scheduler's attempt context remembers it (`ctx.remember`, which also
    hands the value's dependencies to every later use); any other context
    computes the value every time.
    """
    remember = getattr(ctx, "remember", None)
    if remember is None:
        return compute()
    return remember(site, compute)


# Node-dependent code of a filter or score reading a once-let notes what it read
# (`ctx.used(site, path)`: the value at `path`, () for all of it), so that the
# scheduler keeps a node's answer until that part of the value changes.  A
# path goes as deep as it can name a map key (a string) or a list position (an
# int); a membership test names the key it tests.


def use(ctx: Any, site: Any, value: Any) -> Any:
    used = getattr(ctx, "used", None)
    if used is not None:
        used(site, ())
    return value


def use_at(ctx: Any, site: Any, value: Any, steps: tuple) -> Any:
    """`value[steps[0]][steps[1]]...`, noting the path read (as far as it names keys and places)."""
    found, named = _walk(value, steps)
    used = getattr(ctx, "used", None)
    if used is not None:
        used(site, steps[:named])
    return found


def use_in(ctx: Any, site: Any, value: Any, steps: tuple, item: Any) -> bool:
    """`item in value[steps...]`, noting the key tested (or the part holding it)."""
    container, named = _walk(value, steps)
    used = getattr(ctx, "used", None)
    if used is not None:
        path = steps[:named]
        if named == len(steps) and type(container) in MAP_TYPES and type(item) is str:
            path = steps + (item,)
        used(site, path)
    return contains(container, item)


def use_all(ctx: Any, sites: tuple, value: Any) -> Any:
    """A query whose condition reads once-lets: it reads them whole."""
    used = getattr(ctx, "used", None)
    if used is not None:
        for site in sites:
            used(site, ())
    return value


class Later:
    """`later(x[a][b])` in a score, x a node-independent let: that part of x, named by the let's
    site and the steps, and read when the scores of the attempt are normalised.

    A node's answer holding it does not depend on the part, so a change to
    it (a pod bound in the node's zone changes the zone's count) drops no
    answer: the scheduler reads the part of the value as it is in the
    attempt (`_AttemptContext.reader`).
    """

    __slots__ = ("site", "steps")

    def __init__(self, site: Any, steps: tuple):
        self.site, self.steps = site, steps

    def __repr__(self) -> str:
        return f"later({self.site}{''.join(f'[{s!r}]' for s in self.steps)})"


def later(ctx: Any, site: Any, value: Any, steps: tuple) -> Any:
    """`later(...)` of a once-let's part: named for the scheduler's attempt context, the part
    itself for any other context."""
    name = getattr(ctx, "later", None)
    if name is None:
        return walk(value, steps)
    return name(site, steps)


def walk(value: Any, steps: tuple) -> Any:
    """`value[steps[0]][steps[1]]...`."""
    for step in steps:
        value = index(value, step)
    return value


def _walk(value: Any, steps: tuple) -> tuple[Any, int]:
    """`value[steps...]`, and how many of the steps, from the first, named map keys (strings)
    and list positions (ints) in it: the part of the value the read depends on."""
    named = len(steps)
    for i, step in enumerate(steps):
        if named == len(steps):
            kind, cls = type(value), type(step)
            if not (kind in MAP_TYPES and cls is str or kind in LIST_TYPES and cls is int):
                named = i
        value = index(value, step)
    return value, named


SKIP = object()  # what a kept comprehension's item function gives for an element its condition drops

KEPT_ITEMS = 4096  # items kept per comprehension; past this, it starts over
KEPT_TRIAL = 512  # items computed before a comprehension's reuse is judged
KEPT_PAUSE = 50  # evaluations a comprehension judged not worth keeping computes its items plainly


def kept(site: Any, items: Any, item: Any, frees: tuple) -> list:
    """A rule's comprehension whose item is a function of its element and of `frees` alone (the
    compiler made sure: `kept_items`): each item kept by the identity of those values, so an
    Endpoints rule evaluated again after one pod changed builds the entry of that pod only.

    An entry holds the element and the values, so no id in its key is
    reused while it is kept.  A value holding the clock (a TimeVal) is not
    kept: its comparisons must reach the rule's clockwatch.  A comprehension
    whose items are seldom used again (its values are built anew each
    evaluation, or every element changed, as when pods start together) pauses
    keeping them after a trial: keeping cost more.
    """
    if site.off:  # judged not worth it: tried again after a while (what is asked changes)
        site.off -= 1
        return [v for v in map(item, items) if v is not SKIP]
    memo = site.items
    ids = tuple(map(id, frees))
    out = []
    timed = any(type(v) is TimeVal for v in frees)
    for x in items:
        key = (id(x), ids)
        found = memo.get(key)
        if found is not None:
            site.hits += 1
            value = found[2]
        else:
            value = item(x)
            if not timed and type(x) is not TimeVal:
                site.misses += 1
                if len(memo) >= KEPT_ITEMS:
                    memo.clear()
                memo[key] = (x, frees, value)
        if value is not SKIP:
            out.append(value)
    if site.misses >= KEPT_TRIAL:
        if site.hits * 4 < site.misses:
            site.off = KEPT_PAUSE
            memo.clear()
        site.hits = site.misses = 0
    return out


def each(ctx: Any, site: Any, items: Any, item: Any, lets: tuple) -> list:
    """A comprehension in a node-independent `let`: `item(x)` for each element x, leaving out SKIP.

    The scheduler's attempt context keeps each element's item across
    attempts (`ctx.elements`: a bind changes one pod of a thousand, so the
    rest are not computed again); `lets` are the sites of the once-lets the
    item reads.  Any other context computes every item.
    """
    elements = getattr(ctx, "elements", None)
    if elements is None:
        return [v for v in map(item, items) if v is not SKIP]
    return elements(site, items, item, lets)


# ---------------------------------------------------------------- types

# Rule values are almost always of these exact types, so every helper tests
# `type(x)` against them before falling back to the Mapping / Sequence ABCs.
# That is more than a shortcut: pyrsistent registers PMap and PVector directly
# with the ABCs (as Python does tuple and str), and CPython never caches a
# class found in an ABC's own registry, so each such isinstance runs
# ABCMeta.__subclasscheck__ in Python (several times a plain isinstance).
_PMap = type(pmap())
_PVector = type(pvector())
MAP_TYPES = frozenset({_PMap, dict})
LIST_TYPES = frozenset({tuple, list, _PVector})
_NOT_LISTS = frozenset({str, bytes, int, float, bool, type(None), _PMap, dict})


is_map = is_mapping  # whether a rule value is a map (any Mapping)


def is_list(value: Any) -> bool:
    """Whether a rule value is a list (any Sequence but a string)."""
    cls = type(value)
    if cls in LIST_TYPES:
        return True
    if cls in _NOT_LISTS:
        return False
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


# ---------------------------------------------------------------- paths


def attr(value: Any, name: str) -> Any:
    cls = type(value)
    if cls is _PMap:  # the common case (frozen objects): same result as below, faster
        buckets = value._buckets  # (pmap_get, inline)
        bucket = buckets[hash(name) % len(buckets)]
        if bucket:
            for k, v in bucket:
                if k == name:
                    return v  # (there, null or not: no shortcut)
        if name not in META_SHORTCUTS:
            return None
        meta = pmap_get(value, "metadata")  # `rs.name` as `rs.metadata.name` (`_meta_shortcut`)
        if type(meta) is _PMap:
            return pmap_get(meta, name)
        return meta.get(name) if isinstance(meta, Mapping) else None
    elif cls is dict:
        found = value.get(name)
    elif isinstance(value, Mapping):
        found = value.get(name)
    else:
        return None
    if found is not None or name not in META_SHORTCUTS:
        return found
    return _meta_shortcut(value, name)


def _meta_shortcut(value: Mapping, name: str) -> Any:
    """`rs.name` as `rs.metadata.name`, for a map without a `name` of its own (other than a PMap:
    `attr` reads those itself)."""
    meta = value.get("metadata")
    if meta is None or name in value:
        return None
    if type(meta) is _PMap:
        return pmap_get(meta, name)
    return meta.get(name) if isinstance(meta, Mapping) else None


def path(value: Any, names: tuple[str, ...]) -> Any:
    for name in names:
        if type(value) is _PMap and name not in META_SHORTCUTS:
            buckets = value._buckets  # (pmap_get, inline: the rules' most frequent read)
            bucket = buckets[hash(name) % len(buckets)]
            value = None
            if bucket:
                for k, v in bucket:
                    if k == name:
                        value = v
                        break
        else:
            value = attr(value, name)
        if value is None:
            return None
    return value


def index(value: Any, i: Any) -> Any:
    if value is None or i is None:
        return None
    cls = type(value)
    if cls is _PMap:
        return pmap_get(value, i) if type(i) is str else (value.get(i) if isinstance(i, str) else None)
    if cls in LIST_TYPES and type(i) is int:
        return value[i] if -len(value) <= i < len(value) else None
    if cls is dict or isinstance(value, Mapping):
        return value.get(i) if isinstance(i, str) else None
    if isinstance(value, (str, Sequence)) and isinstance(i, int) and not isinstance(i, bool):
        return value[i] if -len(value) <= i < len(value) else None
    return None


def iterate(value: Any) -> Sequence:
    """A for loop or comprehension over null iterates nothing."""
    if type(value) in LIST_TYPES:
        return value
    if value is None:
        return ()
    if is_map(value):
        return list(value.keys())
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise RuleRuntimeError(f"cannot iterate over {type_name(value)}")
    return value


# Null is false like every empty value, so the truth of a rule value is Python's.
truthy = bool


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "map"
    if isinstance(value, Sequence):
        return "list"
    return type(value).__name__


# ------------------------------------------------------------ arithmetic


def _coerce_time(a: Any, b: Any) -> tuple[Any, Any]:
    """`"2026-01-01T00:00:00Z" + 40s`: a timestamp string meets a number.

    A string that is not a time stays a string (and `"web" + 1` fails as such).
    """
    if isinstance(a, str) and _is_number(b):
        return _time_or_same(a), b
    if isinstance(b, str) and _is_number(a):
        return a, _time_or_same(b)
    return a, b


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _time_or_same(text: str) -> Any:
    try:
        return parse_time(text)
    except ValueError:
        return text


def _arith(op: str, a: Any, b: Any) -> Any:
    if a is None or b is None:
        return None
    a, b = _coerce_time(a, b)
    try:
        if op == "+":
            if is_list(a) and is_list(b):
                return list(a) + list(b)
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if op == "/":
            if b == 0:
                return None
            result = a / b
            return int(result) if isinstance(a, int) and isinstance(b, int) and result == int(result) else result
        if op == "%":
            return None if b == 0 else a % b
    except TypeError:
        pass
    raise RuleRuntimeError(f"cannot compute {type_name(a)} {op} {type_name(b)}")


# Fast paths: plain numbers (not bool, not TimeVal), and for `+` two strings, need none of the checks below.
_NUMBER = frozenset({int, float})


def add(a: Any, b: Any) -> Any:
    if (type(a) in _NUMBER and type(b) in _NUMBER) or (type(a) is str and type(b) is str):
        return a + b
    return _arith("+", a, b)


def sub(a: Any, b: Any) -> Any:
    if type(a) in _NUMBER and type(b) in _NUMBER:
        return a - b
    return _arith("-", a, b)


def mul(a: Any, b: Any) -> Any:
    if type(a) in _NUMBER and type(b) in _NUMBER:
        return a * b
    return _arith("*", a, b)


def div(a: Any, b: Any) -> Any:
    return _arith("/", a, b)


def mod(a: Any, b: Any) -> Any:
    return _arith("%", a, b)


def neg(a: Any) -> Any:
    if a is None:
        return None
    try:
        return -a
    except TypeError:
        raise RuleRuntimeError(f"cannot negate {type_name(a)}") from None


# ------------------------------------------------------------ comparison


def eq(a: Any, b: Any) -> bool:
    if type(a) is TimeVal or type(b) is TimeVal:
        a, b = _coerce_time(a, b)
    return a == b


def ne(a: Any, b: Any) -> bool:
    return not eq(a, b)


def _order(op: str, a: Any, b: Any) -> bool:
    if a is None or b is None:
        return False
    a, b = _coerce_time(a, b)
    try:
        if op == "<":
            return a < b
        if op == "<=":
            return a <= b
        if op == ">":
            return a > b
        return a >= b
    except TypeError:
        raise RuleRuntimeError(f"cannot compare {type_name(a)} {op} {type_name(b)}") from None


def lt(a: Any, b: Any) -> bool:
    if type(a) in _NUMBER and type(b) in _NUMBER:
        return a < b
    return _order("<", a, b)


def le(a: Any, b: Any) -> bool:
    if type(a) in _NUMBER and type(b) in _NUMBER:
        return a <= b
    return _order("<=", a, b)


def gt(a: Any, b: Any) -> bool:
    if type(a) in _NUMBER and type(b) in _NUMBER:
        return a > b
    return _order(">", a, b)


def ge(a: Any, b: Any) -> bool:
    if type(a) in _NUMBER and type(b) in _NUMBER:
        return a >= b
    return _order(">=", a, b)


def contains(container: Any, item: Any) -> bool:
    """`item in container`: list membership, map key, substring; null is empty."""
    cls = type(container)
    if cls in LIST_TYPES or cls in MAP_TYPES:
        return item in container
    if container is None:
        return False
    if isinstance(container, str):
        return isinstance(item, str) and item in container
    if isinstance(container, (Mapping, Sequence)):
        return item in container
    raise RuleRuntimeError(f"'in' needs a list, map or string, got {type_name(container)}")


# ------------------------------------------------------------------ time


class Clockwatch:
    """Collects the earliest future moment at which a time comparison flips."""

    def __init__(self) -> None:
        self.wake: float | None = None

    def note(self, t: float) -> None:
        if self.wake is None or t < self.wake:
            self.wake = t


_watch: list[Clockwatch | None] = [None]


def set_clockwatch(watch: Clockwatch | None) -> None:
    _watch[0] = watch


class TimeVal(float):
    """A time or duration computed from `now`: value = c + k·now, k ≠ 0.

    Arithmetic keeps k; comparisons against it record when their result
    would change, so the engine can wake the rule at that moment.
    """

    __slots__ = ("k", "now")

    def __new__(cls, value: float, k: int, now: float) -> Any:
        if k == 0:
            return float(value)
        self = super().__new__(cls, value)
        self.k, self.now = k, now
        return self

    # -- arithmetic keeps the dependency on now
    def __add__(self, other: Any) -> Any:
        return TimeVal(float(self) + float(other), self.k + _k(other), self.now)

    __radd__ = __add__

    def __sub__(self, other: Any) -> Any:
        return TimeVal(float(self) - float(other), self.k - _k(other), self.now)

    def __rsub__(self, other: Any) -> Any:
        return TimeVal(float(other) - float(self), _k(other) - self.k, self.now)

    def __neg__(self) -> Any:
        return TimeVal(-float(self), -self.k, self.now)

    # -- comparisons record their flip time
    def _cmp(self, other: Any, op: str) -> bool:
        diff = float(self) - float(other)  # d(t) = diff + k·(t − now)
        k = self.k - _k(other)
        result = _apply(op, diff)
        if k != 0 and _watch[0] is not None:
            flip = self.now - diff / k
            if flip > self.now:
                at_flip = _apply(op, 0.0)
                _watch[0].note(flip if at_flip != result else flip + 0.001)
        return result

    def __lt__(self, other: Any) -> bool:
        return self._cmp(other, "<")

    def __le__(self, other: Any) -> bool:
        return self._cmp(other, "<=")

    def __gt__(self, other: Any) -> bool:
        return self._cmp(other, ">")

    def __ge__(self, other: Any) -> bool:
        return self._cmp(other, ">=")

    def __eq__(self, other: Any) -> bool:
        return float(self) == other

    def __hash__(self) -> int:
        return float.__hash__(self)


def _k(value: Any) -> int:
    return value.k if isinstance(value, TimeVal) else 0


def _apply(op: str, diff: float) -> bool:
    if op == "<":
        return diff < 0
    if op == "<=":
        return diff <= 0
    if op == ">":
        return diff > 0
    return diff >= 0


def stored(value: Any) -> Any:
    """`plain(value)`, or a frozen value itself when plain would change nothing in it but the
    types (no TimeVal, whole float or Quantity in it): a set of a frozen map (a merge, a
    condition list) is then not thawed here to be frozen again by the write."""
    cls = type(value)
    if (cls is _PMap or cls is _PVector) and _plain_already(value):
        return value
    return plain(value)


def _plain_already(value: Any) -> bool:
    cls = type(value)
    if cls is str or cls is int or cls is bool or value is None:
        return True
    if cls is float:
        return not value.is_integer()
    if cls is _PMap:
        return all(_plain_already(v) for bucket in value._buckets if bucket for _k, v in bucket)
    if cls is _PVector:
        return all(_plain_already(v) for v in value)
    return False


def plain(value: Any) -> Any:
    """A value fit to be stored: TimeVal → float, lists/dicts recursively."""
    cls = type(value)
    if cls is str or cls is int or cls is bool or value is None:
        return value
    if cls is _PMap:  # (its buckets, as map_items, without building a list first)
        return {k: plain(v) for bucket in value._buckets if bucket for k, v in bucket}
    if cls in MAP_TYPES:
        return {k: plain(v) for k, v in value.items()}
    if cls in LIST_TYPES:
        return [plain(v) for v in value]
    if isinstance(value, TimeVal):
        value = float(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)) or (isinstance(value, Sequence) and not isinstance(value, str)):
        return [plain(v) for v in value]
    if hasattr(value, "__str__") and type(value).__name__ == "Quantity":
        return str(value)
    return value
