"""Field checks shared by the validators, worded as upstream's `validation` package.

Each check returns a list of `FieldError` (empty when the value is fine),
so validators collect every problem of an object and report them at once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from . import selectors
from .apierrors import FieldError, duplicate, invalid, not_supported, required
from .objects import is_mapping
from .quantity import parse_quantity

DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_SUBDOMAIN_FMT = DNS1123_LABEL_FMT + r"(\." + DNS1123_LABEL_FMT + ")*"
DNS1035_LABEL_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
CONFIG_KEY_FMT = "[-._a-zA-Z0-9]+"

_SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
                  "'-' or '.', and must start and end with an alphanumeric character")
_LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
              "and must start and end with an alphanumeric character")
_DNS1035_MSG = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with "
                "an alphabetic character, and end with an alphanumeric character")
_CONFIG_KEY_MSG = "a valid config key must consist of alphanumeric characters, '-', '_' or '.'"


def regex_error(message: str, fmt: str, *examples: str) -> str:
    """Upstream's validation.RegexError wording (its double space included)."""
    shown = " or ".join(f"'{example}', " for example in examples)
    return f"{message} (e.g. {shown}regex used for validation is '{fmt}')"


def _checker(fmt: str, max_len: int, message: str, *examples: str):
    pattern = re.compile(fmt)

    def errors(value: str) -> list[str]:
        found = []
        if len(value) > max_len:
            found.append(f"must be no more than {max_len} characters")
        if not pattern.fullmatch(value):
            found.append(regex_error(message, fmt, *examples))
        return found

    return errors


subdomain_errors = _checker(DNS1123_SUBDOMAIN_FMT, 253, _SUBDOMAIN_MSG, "example.com")
label_errors = _checker(DNS1123_LABEL_FMT, 63, _LABEL_MSG, "my-name", "123-abc")
dns1035_errors = _checker(DNS1035_LABEL_FMT, 63, _DNS1035_MSG, "my-name", "abc-123")
config_key_errors = _checker(CONFIG_KEY_FMT, 253, _CONFIG_KEY_MSG, "key.name", "KEY_NAME", "key-name")
qualified_name_errors = selectors.label_key_errors
label_value_errors = selectors.label_value_errors

_IANA_NAME = re.compile("[-a-z0-9]+")


def iana_svc_name_errors(value: str) -> list[str]:
    """validation.IsValidPortName: a named port (`http`, `metrics`)."""
    found = []
    if len(value) > 15:
        found.append("must be no more than 15 characters")
    if not _IANA_NAME.fullmatch(value):
        found.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if "--" in value:
        found.append("must not contain consecutive hyphens")
    if not re.search("[a-z]", value):
        found.append("must contain at least one letter (a-z)")
    if value.startswith("-") or value.endswith("-"):
        found.append("must not begin or end with a hyphen")
    return found


# ------------------------------------------------------------------ checks


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


_TYPES = {
    "string": lambda v: isinstance(v, str),
    "integer": is_int,
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, Mapping),
    "array": lambda v: isinstance(v, Sequence) and not isinstance(v, str),
}


def wrong_type(value: Any, path: str, type_name: str) -> list[FieldError]:
    """[an error] when a present `value` is not of JSON type `type_name`."""
    if value is None or _TYPES[type_name](value):
        return []
    return [FieldError("FieldValueTypeInvalid", path, value, f"must be of type {type_name}")]


def path_segment_errors(name: str) -> list[str]:
    """IsValidPathSegmentName: what a name that becomes part of a URL path may not be or hold."""
    if name in (".", ".."):
        return [f"may not be '{name}'"]
    return [f"may not contain '{c}'" for c in "/%" if c in name]


def named(value: Any, path: str, rule=subdomain_errors) -> list[FieldError]:
    """Errors of a name-like string field checked with `rule`."""
    if not isinstance(value, str):
        return wrong_type(value, path, "string")
    return [invalid(path, value, message) for message in rule(value)]


def unique_name(value: Any, path: str, rule, seen: set) -> list[FieldError]:
    """Errors of the name of one item of a list whose names must be unique; notes it in `seen`."""
    errors = named(value, path, rule)
    if isinstance(value, str):
        if value in seen:
            errors.append(duplicate(path, value))
        seen.add(value)
    return errors


def int_range(value: Any, path: str, low: int | None = None, high: int | None = None) -> list[FieldError]:
    if value is None:
        return []
    if not is_int(value):
        return wrong_type(value, path, "integer")
    if low is not None and high is not None and not low <= value <= high:
        return [invalid(path, value, f"must be between {low} and {high}, inclusive")]
    if low is not None and value < low:
        return [invalid(path, value, f"must be greater than or equal to {low}")]
    return []


def port_number(value: Any, path: str, needed: bool = True) -> list[FieldError]:
    if value in (None, 0) and needed:
        return [required(path)]
    return int_range(value, path, 1, 65535)


def one_of(value: Any, path: str, supported: Sequence[str]) -> list[FieldError]:
    if value is None or value in supported:
        return []
    return [not_supported(path, value, supported)]


def label_map(labels: Any, path: str) -> list[FieldError]:
    """metav1validation.ValidateLabels: keys are qualified names, values label values."""
    if labels is None:
        return []
    if not isinstance(labels, Mapping):
        return wrong_type(labels, path, "object")
    found = []
    for key, value in labels.items():
        found += [invalid(path, key, m) for m in qualified_name_errors(str(key))]
        if not isinstance(value, str):
            found += wrong_type(value, f"{path}[{key}]", "string")
        else:
            found += [invalid(path, value, m) for m in label_value_errors(value)]
    return found


def label_selector(selector: Any, path: str) -> list[FieldError]:
    """metav1validation.ValidateLabelSelector."""
    return selectors.validate_label_selector(selector, path)


def quantity_map(values: Any, path: str) -> list[FieldError]:
    """A ResourceList: resource names to quantity strings (or numbers)."""
    if values is None:
        return []
    if not isinstance(values, Mapping):
        return wrong_type(values, path, "object")
    found = []
    for name, value in values.items():
        found += quantity(value, f"{path}[{name}]")
    return found


def quantity(value: Any, path: str) -> list[FieldError]:
    if is_int(value) or isinstance(value, float):
        return [] if value >= 0 else [invalid(path, value, "must be greater than or equal to 0")]
    try:
        amount, _fmt = parse_quantity(value)
    except (TypeError, ValueError) as exc:
        return [invalid(path, value, str(exc).partition(": ")[2] or str(exc))]
    return [] if amount >= 0 else [invalid(path, value, "must be greater than or equal to 0")]


def quantity_value(value: Any):
    """The exact amount of a valid quantity (a Fraction)."""
    if is_int(value) or isinstance(value, float):
        from fractions import Fraction
        return Fraction(value)
    return parse_quantity(value)[0]


def items(value: Any, path: str) -> tuple[list[FieldError], list[tuple[str, Any]]]:
    """(type errors, [(path[i], item)]) of a list field."""
    if value is None:
        return [], []
    if not _TYPES["array"](value):
        return wrong_type(value, path, "array"), []
    return [], [(f"{path}[{i}]", item) for i, item in enumerate(value)]


def mapping(value: Any, path: str) -> tuple[list[FieldError], Mapping]:
    """(type errors, the map or {}) of an object field."""
    if value is None:
        return [], {}
    if not is_mapping(value):
        return wrong_type(value, path, "object"), {}
    return [], value
