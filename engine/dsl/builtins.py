"""The function table of the rule language.

Each builtin is a plain Python function registered with `@builtin`; its
arity comes from its signature and its documentation from its docstring: a
description, then example lines in rule syntax (``count(pods) → 3``).
`reference_markdown()` renders the table as docs/builtins.md.

Conventions every builtin keeps:

* Values arrive immutable: maps are any `Mapping` (pyrsistent PMap in
  practice), lists any `Sequence`, missing values `None`, times and
  durations float seconds, quantities `Quantity` or strings.
* Null-safe: a null list is an empty list (``count(null)`` → 0), a null map
  an empty map; string functions pass null through.
* Results are plain or immutable: tuples for lists, pyrsistent maps.
  Nothing mutates its inputs.
* ``item_arg`` names the argument the author writes per element with
  ``it``; the compiler passes it as a callable ``key(element) -> value``.
"""

from __future__ import annotations

import inspect
import math
import re
import string
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from fractions import Fraction
from functools import lru_cache

import attrs
from pyrsistent import freeze, pmap, pvector

from engine import naming, netaddr, selectors, timeutil, tolerations
from engine.objects import map_items, pmap_of
from engine.quantity import Quantity, pod_requests as _pod_requests

from .runtime import LIST_TYPES, MAP_TYPES, _PMap, _PVector, is_list as _is_list, is_map as _is_map, type_name


@attrs.frozen
class Builtin:
    """One function of the rule language."""

    name: str
    fn: Callable
    min_args: int
    max_args: int | None  # None: variadic
    item_arg: int | None  # index of the per-element (`it`) argument
    doc: str
    pure: bool = True  # a function of its arguments alone (else: of the simulated runtime in force)


BUILTINS: dict[str, Builtin] = {}
SECTIONS: dict[str, list[str]] = {}
_current_section = ["General"]


def _section(title: str) -> None:
    """Builtins registered from here on are listed under `title` in the docs."""
    _current_section[0] = title


def _arity(fn: Callable) -> tuple[int, int | None]:
    params = inspect.signature(fn).parameters.values()
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = sum(1 for p in positional if p.default is p.empty)
    variadic = any(p.kind == p.VAR_POSITIONAL for p in params)
    return required, None if variadic else len(positional)


def builtin(name: str | None = None, *, item_arg: int | None = None, pure: bool = True) -> Callable:
    """Register a function; its name defaults to the Python name minus a trailing ``_``."""

    def register(fn: Callable) -> Callable:
        builtin_name = name or fn.__name__.rstrip("_")
        if builtin_name in BUILTINS:  # (a second definition would replace the first in every rule)
            raise RuntimeError(f"builtin {builtin_name}() is defined twice")
        min_args, max_args = _arity(fn)
        doc = inspect.cleandoc(fn.__doc__ or "")
        BUILTINS[builtin_name] = Builtin(builtin_name, fn, min_args, max_args, item_arg, doc, pure)
        SECTIONS.setdefault(_current_section[0], []).append(builtin_name)
        return fn

    return register


# -- helpers ------------------------------------------------------------------------


# `_is_list` and `_is_map` (dsl.runtime) test the usual exact types first: see there why.


def _seq(value: object) -> Sequence:
    """A list argument: null is the empty list."""
    if type(value) in LIST_TYPES:
        return value
    if value is None:
        return ()
    if _is_list(value):
        return value
    raise TypeError(f"expected a list, not {_kind(value)}")


def _map(value: object) -> Mapping:
    """A map argument: null is the empty map."""
    if type(value) in MAP_TYPES:
        return value
    if value is None:
        return pmap()
    if isinstance(value, Mapping):
        return value
    raise TypeError(f"expected a map, not {_kind(value)}")


def _kind(value: object) -> str:
    if _is_map(value):
        return "a map"
    if _is_list(value):
        return "a list"
    if value is None or isinstance(value, bool):
        return "null" if value is None else str(value).lower()
    if isinstance(value, str):
        return f'the string "{value}"'
    return f"the {type_name(value)} {value}"  # (in the rule language's words, not Python's)


def _mapped(items: object, key: Callable | None) -> list:
    return [key(x) for x in _seq(items)] if key is not None else list(_seq(items))


def _dig(obj: object, *path: str) -> object:
    """obj.a.b.c, null when any step is missing."""
    for part in path:
        cls = type(obj)
        if cls is _PMap:
            buckets = obj._buckets  # (pmap_get, inline)
            bucket = buckets[hash(part) % len(buckets)]
            obj = None
            if bucket:
                for k, v in bucket:
                    if k == part:
                        obj = v
                        break
        elif cls is dict:
            obj = obj.get(part)
        elif obj is None:
            return None
        else:
            obj = obj.get(part) if isinstance(obj, Mapping) else None
    return obj


def _order(value: object) -> tuple:
    """A sort key that orders null < numbers < strings < lists < maps."""
    cls = type(value)
    if cls is str:
        return (2, value)
    if cls is int or cls is float:
        return (1, value)
    if value is None:
        return (0, 0)
    if isinstance(value, (int, float, Fraction, Quantity)):
        return (1, value)
    if isinstance(value, str):
        return (2, value)
    if _is_list(value):
        return (3, tuple(_order(v) for v in value))
    if _is_map(value):
        return (4, tuple(sorted((str(k), _order(v)) for k, v in value.items())))
    raise TypeError(f"cannot order {_kind(value)}")


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _freeze(value: object) -> object:
    """pyrsistent's `freeze(value)` without its ABC checks on the usual types.

    A PMap or PVector is taken as frozen all the way down, as engine.objects.freeze
    takes it, and returned as it is instead of being copied.  (The builtins that
    build maps of what a rule gave them freeze it first.)
    """
    cls = type(value)
    if cls in _SCALARS or cls is _PMap or cls is _PVector:
        return value
    if cls is dict:
        return pmap_of({k: _freeze(v) for k, v in value.items()})
    if cls is tuple:
        return tuple([_freeze(v) for v in value])
    if cls is list:
        return pvector([_freeze(v) for v in value])
    return freeze(value)


def _hashable(value: object) -> object:
    try:
        hash(value)
        return value
    except TypeError:
        pass
    frozen = _freeze(value)
    try:
        hash(frozen)
        return frozen
    except TypeError:  # a map that holds a rule's dicts: pyrsistent's freeze goes into maps too
        return freeze(value)


# -- collections ------------------------------------------------------------------------

_section("Collections")


@builtin(item_arg=1)
def count(items, pred=None):
    """Number of elements of a list; with PRED, of those for which PRED is true.

    count(pods) → 3
    count(pods, it.status.phase == "Running") → 2
    """
    if pred is None:
        return len(_seq(items))
    return sum(1 for x in _seq(items) if pred(x))


@builtin(item_arg=1)
def sum_(items, key=None):
    """Sum of a list (or of KEY per element), skipping nulls; quantities (or quantity strings) add as quantities.

    sum(rs, it.spec.replicas) → 5
    sum(pod.spec.containers, it.resources.requests.cpu) → 1500m
    """
    values = [v for v in _mapped(items, key) if v is not None]
    if any(isinstance(v, (Quantity, str)) for v in values):
        return sum((Quantity(v) for v in values), Quantity(0))
    return sum(values, 0)


@builtin(item_arg=1)
def min_(items, key=None):
    """Smallest element of a list (or smallest KEY), skipping nulls; null when there is none.

    min(nodes, it.status.allocatable.pods) → 110
    """
    values = [v for v in _mapped(items, key) if v is not None]
    return min(values) if values else None


@builtin(item_arg=1)
def max_(items, key=None):
    """Largest element of a list (or largest KEY), skipping nulls; null when there is none.

    max(pods, it.metadata.creationTimestamp) → "2026-01-01T00:05:00Z"
    """
    values = [v for v in _mapped(items, key) if v is not None]
    return max(values) if values else None


@builtin(item_arg=1)
def min_by(items, key):
    """The element with the smallest KEY (the first of equals), null for an empty list.

    min_by(nodes, it.metadata.name) → {…the node "a"…}
    """
    elements = _seq(items)
    return min(elements, key=lambda x: _order(key(x))) if elements else None


@builtin(item_arg=1)
def max_by(items, key):
    """The element with the largest KEY (the first of equals), null for an empty list.

    max_by(nodes, score(it)) → {…the best node…}
    """
    elements = _seq(items)
    return max(elements, key=lambda x: _order(key(x))) if elements else None


@builtin(item_arg=1)
def any_(items, pred=None):
    """True when some element (or its PRED) is true; false for an empty list.

    any(pods, it.status.phase == "Failed") → false
    """
    return any(_mapped(items, pred))


@builtin(item_arg=1)
def all_(items, pred=None):
    """True when every element (or its PRED) is true; true for an empty list.

    all(pod.status.containerStatuses, it.ready) → true
    """
    return all(_mapped(items, pred))


@builtin(item_arg=1)
def filter_(items, pred):
    """The elements for which PRED is true, in order.

    filter(pods, deleting(it)) → [{…}]
    """
    return tuple(x for x in _seq(items) if pred(x))


@builtin(item_arg=1)
def map_(items, expr):
    """EXPR of each element, in order.

    map(pods, it.metadata.name) → ["web-1", "web-2"]
    """
    return tuple(expr(x) for x in _seq(items))


@builtin(item_arg=1)
def first(items, pred=None):
    """The first element (for which PRED is true), or null.

    first(["a", "b"]) → "a"
    first(pods, it.status.phase == "Pending") → {…}
    """
    return next((x for x in _seq(items) if pred is None or pred(x)), None)


@builtin(item_arg=1)
def last(items, pred=None):
    """The last element (for which PRED is true), or null.

    last(["a", "b"]) → "b"
    """
    return next((x for x in reversed(_seq(items)) if pred is None or pred(x)), None)


@builtin(item_arg=1)
def sort(items, key=None):
    """The list sorted ascending (by KEY), stable; null < numbers < strings < lists < maps.

    sort(["b", "a"]) → ["a", "b"]
    sort(pods, it.metadata.creationTimestamp) → [oldest, …, newest]
    """
    elements = _seq(items)
    if len(elements) < 2:  # nothing to compare: no key is computed
        return tuple(elements)
    return tuple(sorted(elements, key=lambda x: _order(key(x) if key else x)))


@builtin(item_arg=1)
def sort_desc(items, key=None):
    """The list sorted descending (by KEY); equal elements keep their order.

    sort_desc([1, 3, 2]) → [3, 2, 1]
    """
    elements = _seq(items)
    if len(elements) < 2:  # nothing to compare: no key is computed
        return tuple(elements)
    return tuple(sorted(elements, key=lambda x: _order(key(x) if key else x), reverse=True))


@builtin(item_arg=1)
def unique(items, key=None):
    """The list without repeats (by KEY), keeping first occurrences in order.

    unique(["a", "b", "a"]) → ["a", "b"]
    unique(pods, it.spec.nodeName) → [one pod per node]
    """
    seen, out = set(), []
    for x in _seq(items):
        marker = _hashable(key(x) if key else x)
        if marker not in seen:
            seen.add(marker)
            out.append(x)
    return tuple(out)


@builtin()
def flatten(items):
    """A list of lists made one list (one level); null sublists are skipped.

    flatten([[1, 2], [3], null]) → [1, 2, 3]
    """
    out = []
    for x in _seq(items):
        if _is_list(x):
            out.extend(x)
        elif x is not None:
            out.append(x)
    return tuple(out)


@builtin()
def take(items, n):
    """The first N elements of a list.

    take(["a", "b", "c"], 2) → ["a", "b"]
    """
    return tuple(_seq(items)[: max(0, int(n))])


@builtin()
def range_(n):
    """The integers 0 … N-1 (empty when N ≤ 0).

    range(3) → [0, 1, 2]
    """
    return tuple(range(max(0, int(n or 0))))


@builtin()
def len_(value):
    """Length of a string, list or map; 0 for null.

    len("web") → 3
    """
    if value is None:
        return 0
    if isinstance(value, str) or _is_map(value) or _is_list(value):
        return len(value)
    raise TypeError(f"len of {_kind(value)}")


@builtin()
def contains(container, item):
    """Substring of a string, element of a list, or key of a map; false for null.

    contains("nginx:1.25", ":") → true
    contains(["a", "b"], "b") → true
    """
    if container is None:
        return False
    if isinstance(container, str):
        return isinstance(item, str) and item in container
    if _is_map(container) or _is_list(container):
        return item in container
    raise TypeError(f"contains on {_kind(container)}")


@builtin()
def index_of(items, item):
    """The position (from 0) of the first element of ITEMS equal to ITEM; null when there is none.

    index_of(["a", "b", "c"], "b") → 1
    """
    try:
        return _seq(items).index(item)
    except ValueError:
        return None


# -- maps ------------------------------------------------------------------------------

_section("Maps")


@builtin()
def keys(mapping):
    """The keys of a map, sorted.

    keys({"b": 1, "a": 2}) → ["a", "b"]
    """
    return tuple(sorted(_map(mapping), key=str))


@builtin()
def values(mapping):
    """The values of a map, in the order of its sorted keys.

    values({"b": 1, "a": 2}) → [2, 1]
    """
    m = _map(mapping)
    return tuple(m[k] for k in sorted(m, key=str))


@builtin()
def get(container, key, fallback=None):
    """Entry KEY of a map (any key, dots included) or index KEY of a list; FALLBACK (null) when missing.

    get(pod.metadata.labels, "app.kubernetes.io/name") → "web"
    get(["a", "b"], -1) → "b"
    """
    if _is_map(container):
        value = container.get(key)
    elif _is_list(container) and isinstance(key, int) and -len(container) <= key < len(container):
        value = container[key]
    else:
        value = None
    return fallback if value is None else value


@builtin()
def default(value, fallback):
    """VALUE, or FALLBACK when VALUE is null.

    default(rs.spec.replicas, 1) → 1
    """
    return fallback if value is None else value


@builtin()
def has(container, key):
    """Whether a map has KEY (or a list holds it); false for null.

    has(pod.metadata.labels, "app") → true
    """
    if container is None:
        return False
    if _is_map(container) or _is_list(container):
        return key in container
    raise TypeError(f"has on {_kind(container)}")


def _merge_patch(target: object, patch: object) -> object:
    """RFC 7386 JSON merge patch."""
    if not _is_map(patch):
        return _freeze(patch)
    target_is_map = _is_map(target)
    if type(target) is _PMap:
        merged = dict(map_items(target))
    else:  # a map a rule wrote ({...}): frozen here, for the parts the patch leaves
        merged = {k: _freeze(v) for k, v in target.items()} if target_is_map else {}
    for key, value in map_items(patch):
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = _merge_patch(merged.get(key), value)
    if type(target) is dict:  # (the test below, without freezing first: a PMap equals a dict as its items do)
        return target if merged == target else pmap_of(merged)
    result = pmap_of(merged)
    return target if target_is_map and result == target else result


@builtin()
def merge(target, *patches):
    """TARGET with each patch applied as a JSON merge patch: maps merge deeply, null deletes, anything else replaces.

    merge({"a": 1, "b": {"c": 2}}, {"b": {"c": null, "d": 3}}) → {"a": 1, "b": {"d": 3}}
    """
    result = target
    for patch in patches:
        result = _merge_patch(result, patch)
    return result


# -- numbers ----------------------------------------------------------------------------

_section("Numbers")


@builtin()
def least(*values):
    """The smallest of the arguments, skipping nulls (null if all are).

    least(3, 1, 2) → 1
    """
    present = [v for v in values if v is not None]
    return min(present) if present else None


@builtin()
def greatest(*values):
    """The largest of the arguments, skipping nulls (null if all are).

    greatest(0, desired - ready) → 2
    """
    present = [v for v in values if v is not None]
    return max(present) if present else None


@builtin()
def abs_(x):
    """Absolute value; null stays null.

    abs(-3) → 3
    """
    return None if x is None else abs(x)


@builtin()
def ceil(x):
    """Smallest integer ≥ X; null stays null.

    ceil(2.1) → 3
    """
    return None if x is None else math.ceil(x)


@builtin()
def floor(x):
    """Largest integer ≤ X; null stays null.

    floor(2.9) → 2
    """
    return None if x is None else math.floor(x)


def _int_or_percent(value: str) -> int:
    if not value.endswith("%"):
        raise ValueError(f"invalid value for IntOrString: invalid type: string is not a percentage: {value!r}")
    digits = value[:-1]
    if not re.fullmatch(r"[+-]?[0-9]+", digits):
        raise ValueError(f"invalid value for IntOrString: invalid value {value!r}")
    return int(digits)


@builtin()
def percent(value, total, round_up=False):
    """An int-or-percent scaled to TOTAL (GetScaledValueFromIntOrPercent): ints pass through, "N%" is N% of TOTAL rounded up or down.

    percent("25%", 10, true) → 3
    percent("25%", 10, false) → 2
    percent(4, 10, true) → 4
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise TypeError(f"invalid value for IntOrString: neither int nor percentage: {value!r}")
    if isinstance(value, int):
        return value
    scaled = _int_or_percent(value) * int(total)
    return -(-scaled // 100) if round_up else scaled // 100


# -- strings -----------------------------------------------------------------------------

_section("Strings")


@builtin()
def lower(s):
    """Lower case; null stays null.

    lower("Web") → "web"
    """
    return None if s is None else str(s).lower()


@builtin()
def upper(s):
    """Upper case; null stays null.

    upper("tcp") → "TCP"
    """
    return None if s is None else str(s).upper()


@builtin()
def starts_with(s, prefix):
    """Whether S starts with PREFIX; false for null.

    starts_with("kube-system", "kube-") → true
    """
    return isinstance(s, str) and s.startswith(prefix)


@builtin()
def ends_with(s, suffix):
    """Whether S ends with SUFFIX; false for null.

    ends_with("web.svc", ".svc") → true
    """
    return isinstance(s, str) and s.endswith(suffix)


@builtin()
def split(s, sep=None):
    """Parts of S split on SEP (on runs of whitespace without SEP); [] for null or "".

    split("a,b", ",") → ["a", "b"]
    """
    if not s:
        return ()
    return tuple(s.split(sep))


@builtin()
def join(items, sep=""):
    """The elements as strings (as str does), joined with SEP.

    join(["a", "b"], ",") → "a,b"
    """
    return sep.join(str_(x) for x in _seq(items))


@builtin()
def replace(s, old, new):
    """S with every OLD replaced by NEW; null stays null.

    replace("a.b.c", ".", "-") → "a-b-c"
    """
    return None if s is None else s.replace(old, new)


@builtin()
def trim(s, chars=None):
    """S without leading and trailing whitespace (or CHARS); null stays null.

    trim("  web ") → "web"
    """
    return None if s is None else s.strip(chars)


@builtin()
def str_(value):
    """A value as a string: null is "", booleans are "true"/"false", 2.0 is "2", quantities are canonical, lists and maps JSON.

    str(3) → "3"
    str(qty("0.5")) → "500m"
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e16 else float.__repr__(value)
    if _is_map(value) or _is_list(value):
        return naming.canonical_json(value)
    return str(value)


@builtin()
def int_(value):
    """A value as an integer: floats truncate, quantities round up, strings must be decimal; null stays null.

    int("42") → 42
    int(2.7) → 2
    """
    if value is None or isinstance(value, int):
        return value if not isinstance(value, bool) else int(value)
    if isinstance(value, Quantity):
        return value.value()
    if isinstance(value, (float, Fraction)):
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"[+-]?[0-9]+", value.strip()):
        return int(value)
    raise ValueError(f"int: cannot convert {value!r} to an integer")


@builtin()
def float_(value):
    """A value as a float: numbers, quantities and decimal strings; null stays null.

    float("1.5") → 1.5
    """
    if value is None:
        return None
    if isinstance(value, (int, float, Fraction, Quantity)):
        return float(value)
    if isinstance(value, str) and re.fullmatch(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?", value.strip()):
        return float(value)
    raise ValueError(f"float: cannot convert {value!r} to a number")


@builtin()
def format_(template, *args):
    """TEMPLATE with each {} (or {0}, {1} …) replaced by an argument, converted as str does.

    format("{}-{}", rs.metadata.name, "x7k2q") → "web-5d8f-x7k2q"
    """
    _check_template(template)
    try:
        return template.format(*(str_(a) for a in args))
    except IndexError:
        raise ValueError(f"format: {template!r} needs more than {len(args)} arguments") from None


@lru_cache(maxsize=4096)
def _check_template(template: str) -> None:
    """Refuse a `format` template with named fields (a rule's templates are few: each is parsed once)."""
    for _, field, _, _ in string.Formatter().parse(template):
        if field is not None and field != "" and not field.isdigit():
            raise ValueError(f"format: only {{}} and {{0}}-style fields are allowed, not {{{field}}}")


# -- quantities ----------------------------------------------------------------------------

_section("Quantities")


@builtin()
def qty(value):
    """A Kubernetes quantity from a string or number; null is 0.

    qty("1Gi") > qty("1G") → true
    qty("0.1") → 100m
    """
    return Quantity(0) if value is None else Quantity(value)


@builtin()
def cpu_millis(value):
    """A CPU quantity in millicores, rounded up (MilliValue); null is 0.

    cpu_millis("0.5") → 500
    """
    return qty(value).milli()


@builtin()
def mem_bytes(value):
    """A memory quantity in bytes, rounded up (Value); null is 0.

    mem_bytes("1Ki") → 1024
    """
    return qty(value).value()


@builtin()
def pod_requests(pod, defaults=None):
    """A pod's effective requests as upstream PodRequests: containers and sidecars summed, max with init containers, plus overhead; DEFAULTS fills requests a container omits.

    pod_requests(pod).cpu → 250m
    pod_requests(pod, {"cpu": "100m", "memory": "200Mi"}).memory → 200Mi
    """
    if pod is None:
        return pmap()
    return pmap(_pod_requests(pod, _map(defaults) if defaults is not None else None))


# -- selectors, taints, owners ------------------------------------------------------------

_section("Selectors and tolerations")


@lru_cache(maxsize=4096)
def _cached_selector(selector: object) -> selectors.Selector:
    return selectors.read(selector)


# The selector of each immutable selector object (a PMap or a string), by identity:
# rules pass the same object many times (one pod's selector against every
# candidate), and an identity hit skips hashing it and comparing it for equality.
_SELECTOR_IDS_LIMIT = 4096
_selector_ids: dict[int, tuple[object, selectors.Selector]] = {}


def _as_selector(selector: object) -> selectors.Selector:
    found = _selector_ids.get(id(selector))
    if found is not None and found[0] is selector:
        return found[1]
    if selector is None:
        return selectors.NOTHING
    if isinstance(selector, selectors.Selector):
        return selector
    if not (isinstance(selector, str) or _is_map(selector)):
        raise TypeError(f"a selector is a map or a string, not {_kind(selector)}")
    parsed = _cached_selector(_hashable(selector))
    if type(selector) is _PMap or type(selector) is str:  # kept alive by the entry, so its id stays its own
        if len(_selector_ids) >= _SELECTOR_IDS_LIMIT:
            _selector_ids.clear()
        _selector_ids[id(selector)] = (selector, parsed)
    return parsed


def _labels_of(obj_or_labels: object) -> Mapping:
    if obj_or_labels is None:
        return pmap()
    metadata = _dig(obj_or_labels, "metadata")
    if _is_map(metadata):
        return _dig(metadata, "labels") or pmap()
    return _map(obj_or_labels)


@builtin()
def matches(selector, obj_or_labels):
    """Whether a label selector selects an object (by its metadata.labels) or a labels map.

    The selector is a metav1.LabelSelector map (matchLabels/matchExpressions;
    {} selects everything), a plain map of equalities, or a string like
    "app=web,tier in (fe)". A null selector selects nothing.

    matches(rs.spec.selector, pod) → true
    matches(svc.spec.selector, pod.metadata.labels) → true
    """
    return _as_selector(selector).matches(_labels_of(obj_or_labels))


@builtin()
def selector_string(selector):
    """A selector in kubectl's canonical string form, sorted by key ("" for everything or nothing).

    selector_string({"matchLabels": {"b": "2", "a": "1"}}) → "a=1,b=2"
    """
    return str(_as_selector(selector))


def _toleration_list(value: object) -> Sequence:
    return (value,) if _is_map(value) else _seq(value)


@builtin()
def tolerates(tolerations_, taint):
    """Whether some toleration (a list, or a single one) tolerates TAINT, as ToleratesTaint.

    tolerates(pod.spec.tolerations, {"key": "gpu", "effect": "NoSchedule"}) → true
    """
    return tolerations.tolerated_by_any(_toleration_list(tolerations_), _map(taint))


@builtin()
def untolerated(tolerations_, taints, effects=None):
    """The taints (with an effect in EFFECTS, any when null) that no toleration tolerates, in node order.

    untolerated(pod.spec.tolerations, node.spec.taints, ["NoSchedule", "NoExecute"]) → [{"key": "gpu", …}]
    """
    return tuple(tolerations.untolerated(_toleration_list(tolerations_), _seq(taints), effects))


@builtin()
def eviction_delay(tolerations_, taints):
    """Seconds until NoExecute TAINTS evict a pod with TOLERATIONS: 0 now, null never, else the least tolerationSeconds used.

    eviction_delay(pod.spec.tolerations, node.spec.taints) → 300.0
    """
    return tolerations.eviction_delay(_toleration_list(tolerations_), _seq(taints))


_section("Objects")


def _owner_refs(obj: object) -> Sequence:
    return _seq(_dig(obj, "metadata", "ownerReferences"))


@builtin()
def owned_by(obj, owner):
    """Whether OBJ has an ownerReference to OWNER (by metadata.uid).

    owned_by(pod, rs) → true
    """
    uid = _dig(owner, "metadata", "uid")
    return uid is not None and any(_dig(ref, "uid") == uid for ref in _owner_refs(obj))


@builtin()
def controlled_by(obj, owner):
    """Whether OBJ's controller ownerReference (controller: true) points to OWNER.

    controlled_by(pod, rs) → true
    """
    ref, uid = controller_of(obj), _dig(owner, "metadata", "uid")
    return ref is not None and uid is not None and _dig(ref, "uid") == uid


@builtin()
def controller_of(obj):
    """OBJ's first ownerReference with controller: true, or null (GetControllerOf).

    controller_of(pod).kind → "ReplicaSet"
    """
    return next((ref for ref in _owner_refs(obj) if _dig(ref, "controller") is True), None)


@builtin()
def owner_ref(owner):
    """A controller ownerReference to OWNER (metav1.NewControllerRef).

    owner_ref(rs) → {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-5d8f", "uid": "…", "controller": true, "blockOwnerDeletion": true}
    """
    return pmap({
        "apiVersion": _dig(owner, "apiVersion"), "kind": _dig(owner, "kind"),
        "name": _dig(owner, "metadata", "name"), "uid": _dig(owner, "metadata", "uid"),
        "controller": True, "blockOwnerDeletion": True,
    })


@builtin()
def deleting(obj):
    """Whether OBJ has a deletionTimestamp (it is being deleted).

    deleting(pod) → false
    """
    return _dig(obj, "metadata", "deletionTimestamp") is not None


@builtin()
def condition(obj, type_):
    """OBJ's status.conditions entry of TYPE, or null.

    condition(pod, "Ready").status → "True"
    """
    conditions = _seq(_dig(obj, "status", "conditions"))
    return next((c for c in conditions if _dig(c, "type") == type_), None)


@builtin()
def condition_true(obj, type_):
    """Whether OBJ's condition TYPE has status "True".

    condition_true(node, "Ready") → true
    """
    return _dig(condition(obj, type_), "status") == "True"


def _transitioned(existing: Mapping | None, cond: Mapping, now: float) -> Mapping:
    if existing is not None and existing.get("status") == cond.get("status") and existing.get("lastTransitionTime"):
        since = existing["lastTransitionTime"]
    else:
        since = cond.get("lastTransitionTime") or timeutil.format_time(now)
    return _freeze(dict(cond.items())).set("lastTransitionTime", since)


@builtin()
def with_condition(conditions, cond, now):
    """CONDITIONS with COND replacing the entry of its type in place (or appended), as meta.SetStatusCondition: lastTransitionTime stays while the status is unchanged, else becomes NOW. Returns CONDITIONS itself when nothing changes.

    with_condition(rs.status.conditions, {"type": "ReplicaFailure", "status": "False", "reason": "OK"}, now) → [{…}]
    """
    items, cond = _seq(conditions), _map(cond)
    if not cond.get("type"):
        raise ValueError(f"with_condition: the condition needs a type, got {cond!r}")
    for i, existing in enumerate(items):
        if _dig(existing, "type") == cond.get("type"):
            updated = _transitioned(existing, cond, now)
            if updated == existing:
                return conditions
            return tuple(items[:i]) + (updated,) + tuple(items[i + 1:])
    return tuple(items) + (_transitioned(None, cond, now),)


# -- time, names, networks ------------------------------------------------------------------

_section("Time")


@builtin()
def time_(value):
    """Epoch seconds of an RFC 3339 time string; numbers pass through, null stays null.

    time("2026-01-01T00:01:00Z") - time("2026-01-01T00:00:00Z") → 60.0
    """
    if value is None:
        return None
    return float(value) if isinstance(value, (int, float)) else timeutil.parse_time(value)


@builtin()
def format_time(t, time_zone=None):
    """Epoch seconds as metav1.Time writes them (RFC 3339, UTC, whole seconds); null stays null. With an IANA TIME_ZONE, Go's time.RFC3339 of the time in that zone (its offset, `Z` where it is 0).

    format_time(0) → "1970-01-01T00:00:00Z"
    format_time(0, "Europe/Paris") → "1970-01-01T01:00:00+01:00"
    """
    if t is None:
        return None
    if not time_zone:
        return timeutil.format_time(t)
    from .. import cron

    moment = datetime.fromtimestamp(math.floor(float(t)), tz=cron.zone_of(str(time_zone)))
    offset = moment.strftime("%z")
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + ("Z" if offset in ("+0000", "-0000") else offset[:3] + ":" + offset[3:])


@builtin()
def duration(value):
    """Seconds of a Go duration string ("1h30m", "300ms", also "2d"); numbers pass through, null stays null.

    duration("5m") → 300.0
    """
    if value is None:
        return None
    return float(value) if isinstance(value, (int, float)) else timeutil.parse_duration(value)


@builtin()
def format_age(seconds):
    """A duration as kubectl's AGE column prints it (HumanDuration).

    format_age(182) → "3m2s"
    """
    return timeutil.format_age(seconds or 0)


_section("Names")


@builtin()
def template_hash(template, collision_count=None):
    """The pod-template-hash of a pod template (ComputeHash: FNV-1a over canonical JSON, safe-encoded).

    template_hash(deploy.spec.template, deploy.status.collisionCount) → "5d8f7c9b4"
    """
    return naming.template_hash(template, collision_count)


_section("Networks")


@builtin()
def cidr_host(cidr, n):
    """The address N places into CIDR (negative counts from the end).

    cidr_host("10.96.0.0/12", 10) → "10.96.0.10"
    """
    return netaddr.cidr_host(cidr, int(n))


@builtin()
def cidr_contains(cidr, ip):
    """Whether address IP lies in CIDR.

    cidr_contains("10.96.0.0/12", "10.96.0.10") → true
    """
    return ip is not None and netaddr.cidr_contains(cidr, ip)


@builtin()
def first_free_ip(cidr, used, skip_gateway=True):
    """The lowest host address of CIDR not in USED (nulls ignored), skipping the .1 gateway unless SKIP_GATEWAY is false; null when full.

    first_free_ip("10.244.1.0/24", map(pods, it.status.podIP)) → "10.244.1.2"
    """
    return netaddr.first_free_ip(cidr, _seq(used), skip_gateway)


@builtin()
def first_free_port(lo, hi, used):
    """The lowest port in LO..HI (inclusive) not in USED; null when full.

    first_free_port(30000, 32767, node_ports) → 30000
    """
    return netaddr.first_free_port(lo, hi, _seq(used))


@builtin()
def node_pod_cidr(cluster_cidr, index, mask):
    """The INDEX-th /MASK subnet of CLUSTER_CIDR.

    node_pod_cidr("10.244.0.0/16", 3, 24) → "10.244.3.0/24"
    """
    return netaddr.node_pod_cidr(cluster_cidr, int(index), int(mask))


@builtin()
def first_free_subnet(cluster_cidr, mask, used):
    """The lowest /MASK subnet of CLUSTER_CIDR overlapping none of USED; null when full.

    first_free_subnet("10.244.0.0/16", 24, map(nodes, it.spec.podCIDR)) → "10.244.2.0/24"
    """
    return netaddr.first_free_subnet(cluster_cidr, int(mask), _seq(used))


# -- the reference ---------------------------------------------------------------------------

_INTRO = """\
# Rule language builtins

Generated from `engine/dsl/builtins.py` by `reference_markdown()`; do not
edit by hand (`python -m engine.dsl.builtins > docs/builtins.md`).

Builtins are null-safe: a null list counts as empty, a null map as empty,
and string functions pass null through. An argument in CAPITALS is written
per element with `it` (as in `count(pods, it.status.phase == "Running")`).
Arguments in brackets are optional; `...` means any number.
"""


def signature(b: Builtin) -> str:
    """The call shape of a builtin, like ``count(items[, PRED])``."""
    params = list(inspect.signature(b.fn).parameters.values())
    shown = ""
    for i, p in enumerate(params):
        name = p.name.rstrip("_").upper() if i == b.item_arg else p.name.rstrip("_")
        sep = ", " if i else ""
        if p.kind == p.VAR_POSITIONAL:
            shown += f"{sep}{name}..."
        elif p.default is not p.empty:
            shown += f"[{sep}{name}]"
        else:
            shown += f"{sep}{name}"
    return f"{b.name}({shown})"


def _doc_markdown(doc: str) -> list[str]:
    lines = doc.splitlines()
    text = [line for line in lines if "→" not in line]
    examples = [line for line in lines if "→" in line]
    while text and not text[-1].strip():
        text.pop()
    return [*text, "", "```", *examples, "```", ""]


def reference_markdown() -> str:
    """docs/builtins.md: every builtin, by section, with its signature, doc and examples."""
    lines = [_INTRO]
    add_ons = sorted(title for title in SECTIONS if title not in _CORE_SECTIONS)
    for title in [*_CORE_SECTIONS, *add_ons]:
        names = SECTIONS[title]
        lines += [f"## {title}", ""]
        for name in names:
            b = BUILTINS[name]
            lines += [f"### `{signature(b)}`", "", *_doc_markdown(b.doc)]
    return "\n".join(lines).rstrip("\n") + "\n"


# The primitives of each area register themselves into BUILTINS on import;
# the reference lists these core sections first, then the areas' by title.
_CORE_SECTIONS = tuple(SECTIONS)
from . import builtins_controllers  # noqa: E402,F401
from . import builtins_kubelet  # noqa: E402,F401
from . import builtins_proxy  # noqa: E402,F401
from . import builtins_scheduling  # noqa: E402,F401
from . import builtins_workloads  # noqa: E402,F401
from . import builtins_batch  # noqa: E402,F401
from . import builtins_quota  # noqa: E402,F401

if __name__ == "__main__":
    # Run as a script this file is `__main__`, a second copy of the module: print
    # the table of the package's own copy, which the add-on modules filled.
    from engine.dsl.builtins import reference_markdown as _reference

    print(_reference(), end="")
