"""kubectl's JSONPath (client-go's util/jsonpath): the part printer columns use.

`find(path, obj)` answers the values a path selects, in order:
`.spec.size`, `.metadata.labels.app\\.kubernetes\\.io/name` (a backslash
keeps a dot in a name), `['key']`, `[0]`, `[-1]`, `[1:3]`, `[*]`, `.*` and
filters such as `.status.conditions[?(@.type=="Ready")].status` (`==`,
`!=`, `<`, `<=`, `>`, `>=`, or `[?(@.field)]` for presence).  The braces
kubectl's `-o jsonpath` wants are optional.  A missing key or index selects
nothing, as client-go's AllowMissingKeys has it; a path it cannot read
raises `JSONPathError`.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

_OPERATORS = ("==", "!=", "<=", ">=", "<", ">")
_NAME_ENDS = frozenset(".[]()=!<> ,")


class JSONPathError(ValueError):
    """A path kubectl's JSONPath cannot read."""


def find(path: str, obj: Any) -> list:
    """The values `path` selects in `obj` (none when a key or index is missing)."""
    return _walk(compile_path(path), obj)


@functools.lru_cache(maxsize=1024)
def compile_path(path: str) -> tuple:
    """`path` as a tuple of steps (cached: printer columns read the same few paths for every row)."""
    text = path.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1].strip()
    steps, end = _steps(text, 1 if text.startswith("$") else 0, ())
    if end != len(text):
        raise JSONPathError(f"unexpected {text[end]!r} at {end} in {path!r}")
    return steps


# ------------------------------------------------------------------ parsing


def _steps(text: str, i: int, stop: tuple[str, ...]) -> tuple[tuple, int]:
    """The steps from `i` up to the end or an operator in `stop` (within a filter)."""
    steps: list[tuple] = []
    while i < len(text) and not any(text.startswith(s, i) for s in stop):
        if text.startswith("..", i):
            raise JSONPathError(f"recursive descent (..) is not supported: {text!r}")
        if text[i] == ".":
            i += 1
            if text.startswith("*", i):
                steps.append(("*",))
                i += 1
                continue
            name, i = _name(text, i)
            if name:
                steps.append(("field", name))
        elif text[i] == "[":
            step, i = _bracket(text, i + 1)
            steps.append(step)
        elif text[i] == " " and stop:
            i += 1
        else:
            raise JSONPathError(f"unexpected {text[i]!r} at {i} in {text!r}")
    return tuple(steps), i


def _name(text: str, i: int) -> tuple[str, int]:
    out = []
    while i < len(text) and text[i] not in _NAME_ENDS:
        if text[i] == "\\" and i + 1 < len(text):
            i += 1
        out.append(text[i])
        i += 1
    return "".join(out), i


def _bracket(text: str, i: int) -> tuple[tuple, int]:
    """The step of `[...]` whose inside starts at `i`, and the index after its `]`."""
    end = _closing(text, i)
    inside = text[i:end].strip()
    if inside == "*":
        return ("*",), end + 1
    if inside.startswith("?(") and inside.endswith(")"):
        return _filter(inside[2:-1].strip()), end + 1
    if inside[:1] in ("'", '"'):
        return ("keys", tuple(_literal(part.strip()) for part in inside.split(","))), end + 1
    if ":" in inside:
        bounds = [_int(part, text) if part.strip() else None for part in inside.split(":")]
        return ("slice", *(bounds + [None] * (3 - len(bounds)))[:3]), end + 1
    return ("index", tuple(_int(part, text) for part in inside.split(","))), end + 1


def _closing(text: str, i: int) -> int:
    depth, quote = 0, ""
    for j in range(i, len(text)):
        c = text[j]
        if quote:
            quote = "" if c == quote else quote
        elif c in ("'", '"'):
            quote = c
        elif c in "([":
            depth += 1
        elif c in ")]":
            if depth == 0 and c == "]":
                return j
            depth -= 1
    raise JSONPathError(f"unclosed [ in {text!r}")


def _filter(expr: str) -> tuple:
    """`@.type == "Ready"` → ("filter", left steps, operator, right); `@.ready` → presence."""
    if not expr.startswith("@"):
        raise JSONPathError(f"a filter must start with @: {expr!r}")
    left, i = _steps(expr, 1, _OPERATORS)
    rest = expr[i:].strip()
    if not rest:
        return ("filter", left, None, None)
    op = next(o for o in _OPERATORS if rest.startswith(o))
    operand = rest[len(op):].strip()
    right = ("path", _steps(operand, 1, ())[0]) if operand.startswith("@") else ("value", _literal(operand))
    return ("filter", left, op, right)


def _literal(text: str) -> Any:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in ("'", '"'):
        return text[1:-1]
    if text in ("true", "false"):
        return text == "true"
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        raise JSONPathError(f"unrecognized value {text!r}") from None


def _int(part: str, text: str) -> int:
    try:
        return int(part.strip())
    except ValueError:
        raise JSONPathError(f"bad index {part.strip()!r} in {text!r}") from None


# --------------------------------------------------------------- evaluating


def _walk(steps: tuple, obj: Any) -> list:
    values = [obj]
    for step in steps:
        values = [found for value in values for found in _select(step, value)]
    return values


def _is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def _select(step: tuple, value: Any) -> list:
    kind = step[0]
    if kind == "field":
        return [value[step[1]]] if isinstance(value, Mapping) and step[1] in value else []
    if kind == "keys":
        return [value[k] for k in step[1] if k in value] if isinstance(value, Mapping) else []
    if kind == "*":
        if isinstance(value, Mapping):
            return [value[k] for k in sorted(value)]
        return list(value) if _is_list(value) else []
    if not _is_list(value):
        return []
    if kind == "index":
        return [value[n] for n in step[1] if -len(value) <= n < len(value)]
    if kind == "slice":
        return list(value[slice(*step[1:])])
    return [item for item in value if _passes(step, item)]


def _passes(step: tuple, item: Any) -> bool:
    _, left, op, right = step
    lefts = _walk(left, item)
    if op is None:
        return bool(lefts)
    rights = _walk(right[1], item) if right[0] == "path" else [right[1]]
    if len(lefts) != 1 or len(rights) != 1:
        return False
    return _compare(lefts[0], op, rights[0])


def _compare(a: Any, op: str, b: Any) -> bool:
    """client-go compares values of one kind only: numbers with numbers, strings with strings."""
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (a, b))
    if not numbers and type(a) is not type(b):
        return False
    if op in ("==", "!="):
        return (a == b) == (op == "==")
    if not numbers and not isinstance(a, str):
        return False
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]
