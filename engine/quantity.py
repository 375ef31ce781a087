"""Kubernetes resource quantities (k8s.io/apimachinery/pkg/api/resource).

A `Quantity` is an exact number (a `Fraction`, always a whole number of
nano-units, as upstream rounds every parsed value up to 1n precision) plus the
suffix family it was written in, which decides how `str()` prints it:

* ``DecimalSI`` (``100m``, ``1k``, ``5G``, plain numbers),
* ``BinarySI`` (``1Ki`` ... ``1Ei``),
* ``DecimalExponent`` (``1e3``, ``129e6``).

`str()` is upstream's canonical form (``CanonicalizeBytes``): decimal values
print with the largest SI suffix that keeps an integer mantissa (``0.1`` →
``100m``, ``1500000`` → ``1500k``); binary values print with the largest
binary suffix that divides them (``1536Mi`` stays ``1536Mi``, ``1.5Ki`` →
``1536``), and fall back to decimal below 1024 or when not whole.

Deviations from upstream, all in input that upstream only tolerates by
accident: a number part without any digit (``"Mi"``, ``"."``) is refused
rather than read as zero, and a parsed string is never echoed back verbatim
(upstream keeps ``"+1k"`` or ``"1E3"`` as typed; we print ``1k`` and ``1e3``).
Arithmetic results are rounded away from zero to 1n, like parsing.

The end of the module has the resource-list helpers the scheduler needs:
`pod_requests` sums a pod's container requests the way upstream's
``resourcehelper.PodRequests`` does.
"""

from __future__ import annotations

import decimal
import functools
import math
import re
from collections.abc import Callable, Mapping
from fractions import Fraction

DECIMAL_SI = "DecimalSI"
BINARY_SI = "BinarySI"
DECIMAL_EXPONENT = "DecimalExponent"

_UPSTREAM_REGEX = r"^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"
_FORMAT_ERROR = f"quantities must match the regular expression '{_UPSTREAM_REGEX}'"
_SUFFIX_ERROR = "unable to parse quantity's suffix"

# sign, integer digits, fraction digits, suffix: the shape upstream's scanner accepts.
_SHAPE = re.compile(r"([+-]?)([0-9]*)(?:\.([0-9]*))?([eEinumkKMGTP]*[-+]?[0-9]*)")
_EXPONENT = re.compile(r"[eE]([+-]?[0-9]+)")

_DECIMAL_SUFFIXES = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_BINARY_SUFFIXES = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL_SUFFIX_OF = {exponent: suffix for suffix, exponent in _DECIMAL_SUFFIXES.items()}
_BINARY_SUFFIX_OF = {exponent // 10: suffix for suffix, exponent in _BINARY_SUFFIXES.items()}
_BINARY_SUFFIX_OF[0] = ""

_NANO = 10**9
_MAX_NANOS = (2**63 - 1) * _NANO  # upstream caps every parsed value at MaxInt64


def _round_away(value: Fraction) -> int:
    """Round to an integer away from zero (upstream's inf.RoundUp)."""
    return math.ceil(value) if value >= 0 else -math.ceil(-value)


def _normalize(value: Fraction) -> Fraction:
    """Round away from zero to whole nano-units and cap at ±MaxInt64."""
    nanos = _round_away(value * _NANO)
    nanos = max(-_MAX_NANOS, min(_MAX_NANOS, nanos))
    return Fraction(nanos, _NANO)


def _interpret_suffix(text: str, suffix: str) -> tuple[int, int, str]:
    """(base, exponent, format) of a suffix, as upstream's suffixHandler."""
    if suffix in _DECIMAL_SUFFIXES:
        return 10, _DECIMAL_SUFFIXES[suffix], DECIMAL_SI
    if suffix in _BINARY_SUFFIXES:
        return 2, _BINARY_SUFFIXES[suffix], BINARY_SI
    exponent = _EXPONENT.fullmatch(suffix)
    if exponent is None:
        raise ValueError(f"invalid quantity {text!r}: {_SUFFIX_ERROR}")
    return 10, int(exponent.group(1)), DECIMAL_EXPONENT


def _scale(mantissa: Fraction, base: int, exponent: int, digits: int) -> Fraction:
    """mantissa * base**exponent, short-cutting absurd exponents (1e999999)."""
    if mantissa and base == 10 and exponent > digits + 30:
        return Fraction(_MAX_NANOS * 2, _NANO)  # beyond the cap either way
    if mantissa and base == 10 and exponent < -(digits + 30):
        return Fraction(1, _NANO * 2)  # below 1n: rounds up to 1n
    return mantissa * Fraction(base) ** exponent


def parse_quantity(text: str) -> tuple[Fraction, str]:
    """The exact value and suffix format of a quantity string."""
    if not isinstance(text, str):
        raise TypeError(f"a quantity string is required, not {type(text).__name__}")
    return _parse(text)


@functools.lru_cache(maxsize=4096)  # a cluster spells few distinct quantities, over and over
def _parse(text: str) -> tuple[Fraction, str]:
    shape = _SHAPE.fullmatch(text)
    if shape is None or not (shape.group(2) or shape.group(3)):
        raise ValueError(f"invalid quantity {text!r}: {_FORMAT_ERROR}")
    sign, whole, fraction, suffix = shape.groups()
    base, exponent, fmt = _interpret_suffix(text, suffix)
    fraction = fraction or ""
    mantissa = Fraction(int((whole or "0") + fraction), 10 ** len(fraction))
    value = _normalize(_scale(mantissa, base, exponent, len(whole) + len(fraction)))
    if base == 10 and value == 0 or fmt == BINARY_SI and 0 < value < 1:
        fmt = DECIMAL_SI  # upstream: zero and sub-unit binary values read as decimal
    return (-value if sign == "-" else value), fmt


def _exact(number: object) -> Fraction:
    """An int, float, Fraction or Decimal as an exact Fraction."""
    if isinstance(number, (int, Fraction, decimal.Decimal)):
        return Fraction(number)
    if isinstance(number, float):
        if not math.isfinite(number):
            raise ValueError(f"a quantity must be finite, not {number!r}")
        return Fraction(float.__repr__(number))  # 0.1 is one tenth, not its binary neighbour
    raise TypeError(f"cannot make a quantity of {type(number).__name__} {number!r}")


def _decimal_parts(value: Fraction) -> tuple[int, int]:
    """(mantissa, exponent) with the exponent a multiple of 3, as AsCanonicalBytes."""
    mantissa, exponent = int(value * _NANO), -9
    while mantissa % 10 == 0:
        mantissa, exponent = mantissa // 10, exponent + 1
    shift = exponent % 3
    return mantissa * 10**shift, exponent - shift


def _binary_parts(value: int) -> tuple[int, int]:
    """(mantissa, power of 1024), as AsCanonicalBase1024Bytes."""
    power = 0
    while abs(value) >= 1024 and value % 1024 == 0:
        value, power = value // 1024, power + 1
    return value, power


def canonical_string(value: Fraction, fmt: str) -> str:
    """Upstream's CanonicalizeBytes for a value already rounded to 1n."""
    if value == 0:
        return "0"
    if fmt == BINARY_SI:
        if -1024 < value < 1024 or value.denominator != 1:
            fmt = DECIMAL_SI
        else:
            mantissa, power = _binary_parts(int(value))
            return f"{mantissa}{_BINARY_SUFFIX_OF[power]}"
    mantissa, exponent = _decimal_parts(value)
    if fmt == DECIMAL_EXPONENT:
        return f"{mantissa}e{exponent}" if exponent else str(mantissa)
    return f"{mantissa}{_DECIMAL_SUFFIX_OF[exponent]}"


class Quantity:
    """An immutable Kubernetes quantity with exact arithmetic.

    ``Quantity("100m")``, ``Quantity(0.5)``, ``Quantity(2)``; compares and
    adds with numbers and with strings that parse (``q > "1Gi"``).
    """

    __slots__ = ("_value", "_format")

    def __init__(self, value: object = 0, format: str | None = None):
        if isinstance(value, Quantity):
            number, fmt = value._value, value._format
        elif isinstance(value, str):
            number, fmt = parse_quantity(value)
        else:
            number, fmt = _normalize(_exact(value)), DECIMAL_SI
        if format is not None and format not in (DECIMAL_SI, BINARY_SI, DECIMAL_EXPONENT):
            raise ValueError(f"unknown quantity format {format!r}")
        object.__setattr__(self, "_value", number)
        object.__setattr__(self, "_format", format or fmt)

    @classmethod
    def _of(cls, value: Fraction, fmt: str) -> Quantity:
        q = cls.__new__(cls)
        object.__setattr__(q, "_value", _normalize(value))
        object.__setattr__(q, "_format", fmt)
        return q

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Quantity is immutable")

    def __reduce__(self):
        return (Quantity, (str(self), self._format))

    @property
    def format(self) -> str:
        """The suffix family: DecimalSI, BinarySI or DecimalExponent."""
        return self._format

    @property
    def fraction(self) -> Fraction:
        """The exact value."""
        return self._value

    def value(self) -> int:
        """The value rounded up (away from zero) to an integer, as Value()."""
        return _round_away(self._value)

    def milli(self) -> int:
        """The value in thousandths, rounded away from zero, as MilliValue()."""
        return _round_away(self._value * 1000)

    def is_zero(self) -> bool:
        return self._value == 0

    def __str__(self) -> str:
        return canonical_string(self._value, self._format)

    def __repr__(self) -> str:
        return f"Quantity({str(self)!r})"

    def __float__(self) -> float:
        return float(self._value)

    def __bool__(self) -> bool:
        return self._value != 0

    def __hash__(self) -> int:
        return hash(self._value)  # equal to hash(2) for Quantity("2"), as == says

    # -- comparison --------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        try:
            return self._value == _value_of(other)
        except (TypeError, ValueError):
            return NotImplemented if not isinstance(other, str) else False

    def __lt__(self, other: object) -> bool:
        return self._value < _value_of(other)

    def __le__(self, other: object) -> bool:
        return self._value <= _value_of(other)

    def __gt__(self, other: object) -> bool:
        return self._value > _value_of(other)

    def __ge__(self, other: object) -> bool:
        return self._value >= _value_of(other)

    # -- arithmetic --------------------------------------------------------

    def __add__(self, other: object) -> Quantity:
        right = _quantity_of(other)
        return Quantity._of(self._value + right._value, _sum_format(self, right))

    def __radd__(self, other: object) -> Quantity:
        left = _quantity_of(other)
        return Quantity._of(left._value + self._value, _sum_format(left, self))

    def __sub__(self, other: object) -> Quantity:
        right = _quantity_of(other)
        return Quantity._of(self._value - right._value, _sum_format(self, right))

    def __rsub__(self, other: object) -> Quantity:
        left = _quantity_of(other)
        return Quantity._of(left._value - self._value, _sum_format(left, self))

    def __mul__(self, other: object) -> Quantity:
        return Quantity._of(self._value * _number_of(other), self._format)

    __rmul__ = __mul__

    def __truediv__(self, other: object) -> Quantity | float:
        """A quantity divided by a number, or the ratio of two quantities."""
        if isinstance(other, (Quantity, str)):
            return float(self._value / _quantity_of(other)._value)
        return Quantity._of(self._value / _number_of(other), self._format)

    def __neg__(self) -> Quantity:
        return Quantity._of(-self._value, self._format)

    def __pos__(self) -> Quantity:
        return self

    def __abs__(self) -> Quantity:
        return self if self._value >= 0 else -self


def _quantity_of(other: object) -> Quantity:
    if isinstance(other, Quantity):
        return other
    if isinstance(other, (str, int, float, Fraction, decimal.Decimal)):
        return Quantity(other)
    raise TypeError(f"cannot combine a quantity with {type(other).__name__} {other!r}")


def _value_of(other: object) -> Fraction:
    return _quantity_of(other)._value


def _number_of(other: object) -> Fraction:
    if isinstance(other, (Quantity, str)):
        raise TypeError("a quantity can only be multiplied or divided by a number")
    return _exact(other)


def _sum_format(left: Quantity, right: Quantity) -> str:
    """Upstream Add keeps the receiver's format unless the receiver is zero."""
    return right._format if left._value == 0 else left._format


# -- resource lists ----------------------------------------------------------


def add_into(total: dict[str, Quantity], resources: Mapping | None) -> None:
    for name, amount in (resources or {}).items():
        total[name] = total.get(name, Quantity(0)) + Quantity(amount)


def max_into(total: dict[str, Quantity], resources: Mapping) -> None:
    for name, amount in resources.items():
        amount = Quantity(amount)
        if name not in total or amount > total[name]:
            total[name] = amount


def _requests_of(container: Mapping, non_missing: Mapping | None) -> dict[str, Quantity]:
    requests: dict[str, Quantity] = {}
    add_into(requests, ((container.get("resources") or {}).get("requests")))
    for name, amount in (non_missing or {}).items():
        requests.setdefault(name, Quantity(amount))
    return requests


def pod_requests(pod: Mapping, non_missing: Mapping | None = None) -> dict[str, Quantity]:
    """The effective resource requests of a pod, as upstream PodRequests.

    Sums the app containers and the sidecars (init containers with
    ``restartPolicy: Always``), takes the max with each plain init container
    (plus the sidecars started before it), then adds ``spec.overhead``.
    `non_missing` fills in requests a container leaves out (the scheduler's
    scoring uses ``{cpu: 100m, memory: 200Mi}``).  Pod-level resources
    (``spec.resources``, beta in 1.34) are not modelled.
    """
    total = _pod_total(pod, lambda container: _requests_of(container, non_missing))
    add_into(total, (pod.get("spec") or {}).get("overhead"))
    return total


def pod_limits(pod: Mapping) -> dict[str, Quantity]:
    """The effective resource limits of a pod, as upstream PodLimits: PodRequests' sums over the
    containers' limits, the overhead added to the limits that are set."""
    total = _pod_total(pod, _limits_of)
    overhead = (pod.get("spec") or {}).get("overhead") or {}
    add_into(total, {name: amount for name, amount in overhead.items() if name in total})
    return total


def _limits_of(container: Mapping) -> dict[str, Quantity]:
    limits: dict[str, Quantity] = {}
    add_into(limits, (container.get("resources") or {}).get("limits"))
    return limits


def _pod_total(pod: Mapping, part: Callable[[Mapping], dict]) -> dict[str, Quantity]:
    """App containers and sidecars summed, the max with each plain init container plus the
    sidecars started before it; `part(container)`: its requests or limits (a fresh dict)."""
    spec = pod.get("spec") or {}
    total: dict[str, Quantity] = {}
    for container in spec.get("containers") or ():
        add_into(total, part(container))
    sidecars: dict[str, Quantity] = {}
    init_peak: dict[str, Quantity] = {}
    for container in spec.get("initContainers") or ():
        amounts = part(container)
        if container.get("restartPolicy") == "Always":
            add_into(total, amounts)
            add_into(sidecars, amounts)
            max_into(init_peak, sidecars)
        else:
            add_into(amounts, sidecars)
            max_into(init_peak, amounts)
    max_into(total, init_peak)
    return total
