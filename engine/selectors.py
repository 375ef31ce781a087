"""Label selectors and field selectors, with upstream Kubernetes semantics.

Label selectors (k8s.io/apimachinery/pkg/labels) come three ways:

* `parse` reads kubectl's string syntax: ``a=b``, ``a==b``, ``a!=b``,
  ``a in (x,y)``, ``a notin (x)``, ``a``, ``!a``, ``a>1``, ``a<1``; a comma
  means AND.
* `from_label_selector` reads a metav1.LabelSelector mapping
  (``matchLabels`` / ``matchExpressions``) as ``LabelSelectorAsSelector``
  does: a null selector matches nothing, an empty one matches everything.
* `from_map` reads a plain map of equalities as ``labels.SelectorFromSet``:
  an empty map matches everything.  (A Service with no selector selects no
  pods at all; that is the endpoints controller's rule, not this module's.)

Field selectors (k8s.io/apimachinery/pkg/fields) are `parse_field_selector`:
``metadata.name=x,spec.nodeName!=y,status.phase==Running``; a missing field
reads as the empty string, so ``spec.nodeName=`` selects unscheduled pods.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import attrs
from pyrsistent import PMap

from .apierrors import FieldError, GoLiteral, aggregate, forbidden, go_value, invalid, not_supported, required
from .objects import ByIdentity

# selection.Operator values, spelled as upstream spells them.
EQUALS, DOUBLE_EQUALS, NOT_EQUALS = "=", "==", "!="
IN, NOT_IN, EXISTS, DOES_NOT_EXIST = "in", "notin", "exists", "!"
GREATER_THAN, LESS_THAN = "gt", "lt"

# -- validation of label keys and values (k8s.io/apimachinery/pkg/util/validation)

_QUALIFIED_NAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_VALUE_FMT = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?"
_DNS1123_SUBDOMAIN_FMT = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
_QUALIFIED_NAME = re.compile(_QUALIFIED_NAME_FMT)
_LABEL_VALUE = re.compile(_LABEL_VALUE_FMT)
_DNS1123_SUBDOMAIN = re.compile(_DNS1123_SUBDOMAIN_FMT)
_QUALIFIED_NAME_MSG = (
    "must consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character"
)
_INTEGER = re.compile(r"[+-]?[0-9]+")


def _regex_error(message: str, fmt: str, *examples: str) -> str:
    """Upstream's validation.RegexError wording."""
    shown = " or ".join(f"'{example}', " for example in examples)
    return f"{message} (e.g. {shown}regex used for validation is '{fmt}')"


def _subdomain_errors(value: str) -> list[str]:
    errors = []
    if len(value) > 253:
        errors.append("must be no more than 253 characters")
    if not _DNS1123_SUBDOMAIN.fullmatch(value):
        message = (
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
            "characters, '-' or '.', and must start and end with an alphanumeric character"
        )
        errors.append(_regex_error(message, _DNS1123_SUBDOMAIN_FMT, "example.com"))
    return errors


def label_key_errors(key: str) -> list[str]:
    """Why `key` is not a valid label key (validation.IsQualifiedName); [] if it is."""
    parts = key.split("/")
    if len(parts) > 2:
        message = _regex_error(
            f"a qualified name {_QUALIFIED_NAME_MSG}", _QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc"
        )
        return [message + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]
    errors = []
    if len(parts) == 2:
        if not parts[0]:
            errors.append("prefix part must be non-empty")
        errors.extend(f"prefix part {error}" for error in _subdomain_errors(parts[0]) if parts[0])
    name = parts[-1]
    if not name:
        errors.append("name part must be non-empty")
    elif len(name) > 63:
        errors.append("name part must be no more than 63 characters")
    if not _QUALIFIED_NAME.fullmatch(name):
        examples = ("MyName", "my.name", "123-abc")
        errors.append("name part " + _regex_error(_QUALIFIED_NAME_MSG, _QUALIFIED_NAME_FMT, *examples))
    return errors


def label_value_errors(value: str) -> list[str]:
    """Why `value` is not a valid label value (validation.IsValidLabelValue); [] if it is."""
    errors = []
    if len(value) > 63:
        errors.append("must be no more than 63 characters")
    if not _LABEL_VALUE.fullmatch(value):
        message = (
            "a valid label must be an empty string or consist of alphanumeric characters, "
            "'-', '_' or '.', and must start and end with an alphanumeric character"
        )
        errors.append(_regex_error(message, _LABEL_VALUE_FMT, "MyValue", "my_value", "12345"))
    return errors


# -- requirements and selectors ---------------------------------------------


def _sorted_values(values: Sequence[str]) -> tuple[str, ...]:
    return tuple(sorted(set(values)))


@attrs.frozen
class Requirement:
    """One ``key op values`` term; values are kept sorted and unique."""

    key: str
    operator: str
    values: tuple[str, ...] = attrs.field(default=(), converter=_sorted_values)

    def matches(self, labels: Mapping) -> bool:
        """Requirement.Matches: does a labels map satisfy this term?"""
        present = self.key in labels
        if self.operator in (IN, EQUALS, DOUBLE_EQUALS):
            return present and labels[self.key] in self.values
        if self.operator in (NOT_IN, NOT_EQUALS):
            return not present or labels[self.key] not in self.values
        if self.operator == EXISTS:
            return present
        if self.operator == DOES_NOT_EXIST:
            return not present
        if not present or not _INTEGER.fullmatch(str(labels[self.key])) or len(self.values) != 1:
            return False
        have, want = int(labels[self.key]), int(self.values[0])
        return have > want if self.operator == GREATER_THAN else have < want

    def __str__(self) -> str:
        if self.operator in (EXISTS, DOES_NOT_EXIST):
            return ("!" if self.operator == DOES_NOT_EXIST else "") + self.key
        joined = ",".join(self.values)
        if self.operator in (IN, NOT_IN):
            return f"{self.key} {self.operator} ({joined})"
        symbol = {GREATER_THAN: ">", LESS_THAN: "<"}.get(self.operator, self.operator)
        return f"{self.key}{symbol}{joined}"


_OPERATORS = (IN, NOT_IN, EQUALS, DOUBLE_EQUALS, NOT_EQUALS, GREATER_THAN, LESS_THAN, EXISTS, DOES_NOT_EXIST)
# the path of a field error with no path: Go prints a nil *field.Path as "<nil>"
NO_PATH = "<nil>"


def _go_strings(values: Sequence[str]) -> GoLiteral:
    """A []string as Go's %#v prints it."""
    return GoLiteral("[]string{" + ", ".join(go_value(v) for v in values) + "}")


def _is_int64(value: str) -> bool:
    """strconv.ParseInt(value, 10, 64) succeeds."""
    return bool(_INTEGER.fullmatch(value)) and -(2 ** 63) <= int(value) < 2 ** 63


def label_key_error(key: str, path: str) -> FieldError | None:
    """validateLabelKey: one Invalid error joining every reason the key is not a label key."""
    errors = label_key_errors(key)
    return invalid(path, key, "; ".join(errors)) if errors else None


def requirement_errors(key: str, operator: str, values: Sequence[str]) -> list[FieldError]:
    """Why NewRequirement would refuse this term, as its field errors; [] if it is valid."""
    errors = [e for e in [label_key_error(key, "key")] if e]
    if operator in (IN, NOT_IN) and not values:
        errors.append(invalid("values", _go_strings(values), "for 'in', 'notin' operators, values set can't be empty"))
    elif operator in (EQUALS, DOUBLE_EQUALS, NOT_EQUALS) and len(values) != 1:
        errors.append(invalid("values", _go_strings(values), "exact-match compatibility requires one single value"))
    elif operator in (EXISTS, DOES_NOT_EXIST) and values:
        errors.append(invalid("values", _go_strings(values), "values set must be empty for exists and does not exist"))
    elif operator in (GREATER_THAN, LESS_THAN):
        if len(values) != 1:
            errors.append(invalid("values", _go_strings(values), "for 'Gt', 'Lt' operators, exactly one value is required"))
        errors.extend(invalid(f"values[{i}]", value, "for 'Gt', 'Lt' operators, the value must be an integer")
                      for i, value in enumerate(values) if not _is_int64(value))
    elif operator not in _OPERATORS:
        errors.append(not_supported("operator", operator, _OPERATORS))
    for i, value in enumerate(values):
        value_errors = label_value_errors(value)
        if value_errors:  # (validateLabelValue files the error under the key: values[0][app])
            errors.append(invalid(f"values[{i}][{key}]", value, "; ".join(value_errors)))
    return errors


def requirement(key: str, operator: str, values: Sequence[str] = ()) -> Requirement:
    """A validated Requirement (labels.NewRequirement); ValueError with upstream's aggregated
    message (one error alone, several as `[a, b]`) if invalid."""
    errors = requirement_errors(key, operator, values)
    if errors:
        raise ValueError(aggregate([e.message() for e in errors]))
    return Requirement(key, operator, tuple(values))


def _by_key(requirements: Sequence[Requirement]) -> tuple[Requirement, ...]:
    return tuple(sorted(requirements, key=lambda r: r.key))  # stable, like sort.Sort(ByKey)


_ABSENT = object()


@attrs.frozen
class Selector:
    """An AND of requirements; `nothing` marks labels.Nothing()."""

    requirements: tuple[Requirement, ...] = attrs.field(default=(), converter=_by_key)
    nothing: bool = False
    # (key, value) of each requirement when every one is `key = value` (or `key in (value)`):
    # most selectors (matchLabels), matched without going through the requirements
    _exact: tuple | None = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        exact = tuple((r.key, r.values[0]) for r in self.requirements
                      if r.operator in (IN, EQUALS, DOUBLE_EQUALS) and len(r.values) == 1)
        object.__setattr__(self, "_exact", exact if len(exact) == len(self.requirements) else None)

    @property
    def empty(self) -> bool:
        """True when the selector matches everything (labels.Selector.Empty)."""
        return not self.requirements and not self.nothing

    def matches(self, labels: Mapping | None) -> bool:
        if self.nothing:
            return False
        labels = labels if labels is not None else {}
        exact = self._exact
        if exact is not None:
            get = labels.get
            for key, value in exact:
                found = get(key, _ABSENT)
                if found is _ABSENT or found != value:
                    return False
            return True
        return all(r.matches(labels) for r in self.requirements)

    def equalities(self) -> dict[str, str]:
        """The key=value pairs every match must carry (for index lookups)."""
        exact = (IN, EQUALS, DOUBLE_EQUALS)
        return {r.key: r.values[0] for r in self.requirements if r.operator in exact and len(r.values) == 1}

    def add(self, *requirements: Requirement) -> Selector:
        """A selector that also demands `requirements` (Selector.Add)."""
        if not requirements:
            return self
        return Selector(self.requirements + requirements, self.nothing)

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)


EVERYTHING = Selector()
NOTHING = Selector(nothing=True)


# -- the string syntax ----------------------------------------------------------

_SPECIAL = "=!(),<>"
_WHITESPACE = " \t\r\n"
_KEYWORDS = ("in", "notin")
_BINARY_OPERATORS = {"in": IN, "notin": NOT_IN, "=": EQUALS, "==": DOUBLE_EQUALS,
                     "!=": NOT_EQUALS, ">": GREATER_THAN, "<": LESS_THAN}


def _lex(text: str) -> list[tuple[str, str]]:
    """Tokens as (kind, literal); kind is the symbol, a keyword, 'id' or 'end'."""
    tokens, i = [], 0
    while True:
        while i < len(text) and text[i] in _WHITESPACE:
            i += 1
        if i == len(text):
            tokens.append(("end", ""))
            return tokens
        if text[i] in _SPECIAL:
            literal = text[i:i + 2] if text[i:i + 2] in ("==", "!=") else text[i]
        else:
            j = i
            while j < len(text) and text[j] not in _SPECIAL and text[j] not in _WHITESPACE:
                j += 1
            literal = text[i:j]
        kind = literal if literal in _KEYWORDS or literal[0] in _SPECIAL else "id"
        tokens.append((kind, literal))
        i += len(literal)


class _Parser:
    """Upstream's recursive-descent selector parser (labels/selector.go)."""

    def __init__(self, text: str):
        self.tokens = _lex(text)
        self.pos = 0

    def peek(self, keywords: bool = False) -> tuple[str, str]:
        kind, literal = self.tokens[self.pos]
        return ("id" if kind in _KEYWORDS and not keywords else kind), literal

    def take(self, keywords: bool = False) -> tuple[str, str]:
        token = self.peek(keywords)
        self.pos = min(self.pos + 1, len(self.tokens) - 1)
        return token

    def selector(self) -> list[Requirement]:
        found = []
        while True:
            kind, literal = self.peek()
            if kind == "end":
                return found
            if kind not in ("id", "!"):
                raise ValueError(f"found '{literal}', expected: !, identifier, or 'end of string'")
            found.append(self.requirement())
            kind, literal = self.take()
            if kind == "end":
                return found
            if kind != ",":
                raise ValueError(f"found '{literal}', expected: ',' or 'end of string'")
            kind, literal = self.peek()
            if kind not in ("id", "!"):
                raise ValueError(f"found '{literal}', expected: identifier after ','")

    def requirement(self) -> Requirement:
        try:
            key, operator = self.key_and_inferred_operator()
            if operator in (EXISTS, DOES_NOT_EXIST):
                return requirement(key, operator)
            operator = self.operator()
            values = self.values() if operator in (IN, NOT_IN) else self.exact_value()
            return requirement(key, operator, _sorted_values(values))  # (a sets.String's List())
        except ValueError as error:
            raise ValueError(f"unable to parse requirement: {error}") from None

    def key_and_inferred_operator(self) -> tuple[str, str | None]:
        operator = None
        kind, literal = self.take()
        if kind == "!":
            operator = DOES_NOT_EXIST
            kind, literal = self.take()
        if kind != "id":
            raise ValueError(f"found '{literal}', expected: identifier")
        error = label_key_error(literal, NO_PATH)
        if error:
            raise ValueError(error.message())
        if self.peek()[0] in ("end", ",") and operator is None:
            operator = EXISTS
        return literal, operator

    def operator(self) -> str:
        kind, literal = self.take(keywords=True)
        if kind not in _BINARY_OPERATORS:
            expected = ", ".join(("in", "notin", "=", "==", "!=", "gt", "lt"))
            raise ValueError(f"found '{literal}', expected: {expected}")
        return _BINARY_OPERATORS[kind]

    def values(self) -> list[str]:
        kind, literal = self.take()
        if kind != "(":
            raise ValueError(f"found '{literal}' expected: '('")
        kind, literal = self.peek()
        if kind == ")":
            self.take()
            return [""]
        if kind not in ("id", ","):
            raise ValueError(f"found '{literal}', expected: ',', ')' or identifier")
        found = self.identifiers()
        kind, literal = self.take()
        if kind != ")":
            raise ValueError(f"found '{literal}', expected: ')'")
        return found

    def identifiers(self) -> list[str]:
        found: list[str] = []
        while True:
            kind, literal = self.take()
            if kind == "id":
                found.append(literal)
                after, after_literal = self.peek()
                if after == ")":
                    return found
                if after != ",":
                    raise ValueError(f"found '{after_literal}', expected: ',' or ')'")
            elif kind == ",":  # "(,", ",,", ",)" stand for the empty value
                if not found:
                    found.append("")
                after = self.peek()[0]
                if after == ")":
                    return found + [""]
                if after == ",":
                    self.take()
                    found.append("")
            else:
                raise ValueError(f"found '{literal}', expected: ',', or identifier")

    def exact_value(self) -> list[str]:
        if self.peek()[0] in ("end", ","):
            return [""]
        kind, literal = self.take()
        if kind != "id":
            raise ValueError(f"found '{literal}', expected: identifier")
        return [literal]


def parse(text: str) -> Selector:
    """A selector from kubectl's syntax (labels.Parse); "" matches everything.

    ValueError carries labels.Parse's message, which the apiserver returns as is in a 400
    (``unable to parse requirement: values[0][app]: Invalid value: "-x": ...``)."""
    return Selector(tuple(_Parser(text).selector()))


def from_map(labels: Mapping | None) -> Selector:
    """An equality selector (labels.SelectorFromSet); empty or null matches everything."""
    requirements = []
    for key, value in (labels or {}).items():
        if not isinstance(value, str):
            raise ValueError(f"label selector value of {key!r} must be a string, not {value!r}")
        requirements.append(Requirement(key, EQUALS, (value,)))
    return Selector(tuple(requirements))


# -- metav1.LabelSelector ----------------------------------------------------------

_EXPRESSION_OPERATORS = {"In": IN, "NotIn": NOT_IN, "Exists": EXISTS, "DoesNotExist": DOES_NOT_EXIST}


def _wrong_type(value: object, path: str, type_name: str) -> FieldError:
    return FieldError("FieldValueTypeInvalid", path, value, f"must be of type {type_name}")


def _label_map_errors(labels: object, path: str) -> list[FieldError]:
    """ValidateLabels: every key a qualified name, every value a label value, filed under `path`."""
    if labels is None:
        return []
    if not isinstance(labels, Mapping):
        return [_wrong_type(labels, path, "object")]
    errors = []
    for key, value in sorted(labels.items(), key=lambda item: str(item[0])):  # (upstream: a Go map's order)
        errors.extend(invalid(path, key, e) for e in label_key_errors(str(key)))
        if not isinstance(value, str):
            errors.append(_wrong_type(value, f"{path}[{key}]", "string"))
            continue
        errors.extend(invalid(path, value, e) for e in label_value_errors(value))
    return errors


def _as_list(values: object) -> list:
    return list(values) if isinstance(values, Sequence) and not isinstance(values, str) else [values]


def _expression_errors(expression: object, path: str) -> list[FieldError]:
    """ValidateLabelSelectorRequirement: the operator's values rule, the key, then each value."""
    if not isinstance(expression, Mapping):
        return [_wrong_type(expression, path, "object")]
    operator, values = expression.get("operator"), _as_list(expression.get("values") or ())
    errors = []
    if operator in ("In", "NotIn"):
        if not values:
            errors.append(required(f"{path}.values", "must be specified when `operator` is 'In' or 'NotIn'"))
    elif operator in ("Exists", "DoesNotExist"):
        if values:
            errors.append(forbidden(f"{path}.values",
                                    "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
    else:
        errors.append(invalid(f"{path}.operator", "" if operator is None else operator, "not a valid selector operator"))
    key = expression.get("key")
    if isinstance(key, str):
        errors.extend(invalid(f"{path}.key", key, e) for e in label_key_errors(key))
    else:
        errors.append(_wrong_type(key, f"{path}.key", "string"))
    for i, value in enumerate(values):
        if isinstance(value, str):
            errors.extend(invalid(f"{path}.values[{i}]", value, e) for e in label_value_errors(value))
        else:
            errors.append(_wrong_type(value, f"{path}.values[{i}]", "string"))
    return errors


def validate_label_selector(selector: Mapping | None, path: str = "selector") -> list[FieldError]:
    """Every problem with a metav1.LabelSelector (ValidateLabelSelector), as upstream's field errors:
    `values` missing for In/NotIn is Required, `values` given for Exists/DoesNotExist Forbidden,
    an unknown operator, a bad key or a bad value Invalid."""
    if selector is None:
        return []
    if not isinstance(selector, Mapping):
        return [_wrong_type(selector, path, "object")]
    errors = _label_map_errors(selector.get("matchLabels"), f"{path}.matchLabels")
    expressions = selector.get("matchExpressions") or ()
    if isinstance(expressions, str) or not isinstance(expressions, Sequence):
        return errors + [_wrong_type(expressions, f"{path}.matchExpressions", "array")]
    for i, expression in enumerate(expressions):
        errors.extend(_expression_errors(expression, f"{path}.matchExpressions[{i}]"))
    return errors


def from_label_selector(selector: Mapping | None) -> Selector:
    """metav1.LabelSelectorAsSelector: null matches nothing, {} matches everything."""
    if selector is None:
        return NOTHING
    errors = validate_label_selector(selector)
    if errors:
        raise ValueError("invalid label selector: " + aggregate([e.message() for e in errors]))
    requirements = [Requirement(k, EQUALS, (v,)) for k, v in (selector.get("matchLabels") or {}).items()]
    for expression in selector.get("matchExpressions") or ():
        operator = _EXPRESSION_OPERATORS[expression["operator"]]
        requirements.append(Requirement(expression["key"], operator, tuple(expression.get("values") or ())))
    return Selector(tuple(requirements))


def format_label_selector(selector: Mapping | None) -> str:
    """metav1.FormatLabelSelector, as kubectl describe prints it: "<none>" when empty."""
    try:
        text = str(from_label_selector(selector))
    except ValueError:
        return "<error>"
    return text or "<none>"


# -- field selectors ----------------------------------------------------------

# Fields the apiserver lets a field selector use, per kind (besides
# metadata.name and metadata.namespace, which every kind supports): upstream's
# AddFieldLabelConversionsFor<Kind>.
FIELD_LABELS: Mapping[str, frozenset[str]] = {
    "Pod": frozenset({
        "spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
        "spec.hostNetwork", "status.phase", "status.podIP", "status.podIPs", "status.nominatedNodeName",
        "spec.host",
    }),
    "Node": frozenset({"spec.unschedulable"}),
    "Service": frozenset({"spec.clusterIP", "spec.type"}),
    "Event": frozenset({
        "involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
        "involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion",
        "involvedObject.fieldPath", "reason", "reportingComponent", "source", "type",
    }),
    "Namespace": frozenset({"status.phase"}),
    "Secret": frozenset({"type"}),
    "ReplicaSet": frozenset({"status.replicas"}),
    "ReplicationController": frozenset({"status.replicas"}),
    "Job": frozenset({"status.successful"}),
}
# Where a field label reads the object when that is not the label's own path: a
# conversion (a Pod's `spec.host`, what old clients send for spec.nodeName) or a
# selectable field named apart from its field (a Job's status.successful, a Pod's
# status.podIP, which PodToSelectableFields reads from status.podIPs[0]).
_FIELD_ALIASES = {
    ("Event", "source"): "source.component",
    ("Pod", "spec.host"): "spec.nodeName",
    ("Pod", "status.podIP"): "status.podIPs.0.ip",
    ("Job", "status.successful"): "status.succeeded",
}
# What a field reads when the object leaves it out, for the fields upstream's
# <Kind>ToSelectableFields formats from a bool or a number (FormatBool, Itoa),
# which always have a value: an unset spec.hostNetwork selects as "false".
_FIELD_DEFAULTS = {
    ("Pod", "spec.hostNetwork"): "false",
    ("Node", "spec.unschedulable"): "false",
    ("Job", "status.successful"): "0",
    ("ReplicaSet", "status.replicas"): "0",
    ("ReplicationController", "status.replicas"): "0",
}


def _is_list(value: object) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")


def _unescape(value: str) -> str:
    """fields.UnescapeValue: only \\\\, \\, and \\= are escapes; bare , and = are errors."""
    out, escaped = [], False
    for char in value:
        if escaped:
            if char not in "\\,=":
                raise ValueError(f"invalid field selector: invalid escape sequence: \\{char}")
            out.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in ",=":
            raise ValueError(f"invalid field selector: unescaped character in value: {char}")
        else:
            out.append(char)
    if escaped:
        raise ValueError("invalid field selector: invalid escape sequence: \\")
    return "".join(out)


def field_value(obj: Mapping, field: str) -> str:
    """The string a field selector compares: "true"/"false" for booleans; when missing, the
    kind's default for a bool or number field ("false", "0"), else ""."""
    kind = obj.get("kind")
    path = _FIELD_ALIASES.get((kind, field), field)
    value: object = obj
    for part in path.split("."):
        if part.isdigit():  # (an item of a list)
            value = value[int(part)] if _is_list(value) and int(part) < len(value) else None
        else:
            value = value.get(part) if isinstance(value, Mapping) else None
    if value is None or isinstance(value, (Mapping, Sequence)) and not isinstance(value, str):
        return _FIELD_DEFAULTS.get((kind, field), "")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@attrs.frozen
class FieldTerm:
    """``field=value`` or ``field!=value`` (``==`` reads as ``=``)."""

    field: str
    operator: str
    value: str

    def matches(self, obj: Mapping) -> bool:
        return (field_value(obj, self.field) == self.value) == (self.operator == EQUALS)

    def __str__(self) -> str:
        return f"{self.field}{self.operator}{_escape(self.value)}"


@attrs.frozen
class FieldSelector:
    """An AND of field terms; no terms matches everything."""

    terms: tuple[FieldTerm, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.terms

    def matches(self, obj: Mapping) -> bool:
        return all(term.matches(obj) for term in self.terms)

    def equalities(self) -> dict[str, str]:
        """The field=value pairs every match must carry (for index lookups)."""
        return {t.field: t.value for t in self.terms if t.operator == EQUALS}

    def unsupported_fields(self, kind: str) -> list[str]:
        """Fields the apiserver would refuse for `kind` ("field label not supported")."""
        allowed = FIELD_LABELS.get(kind, frozenset()) | {"metadata.name", "metadata.namespace"}
        return [t.field for t in self.terms if t.field not in allowed]

    def __str__(self) -> str:
        return ",".join(str(term) for term in self.terms)


def _split_terms(text: str) -> list[str]:
    """Split on commas that are not escaped with a backslash."""
    terms, start, escaped = [], 0, False
    for i, char in enumerate(text):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ",":
            terms.append(text[start:i])
            start = i + 1
    return terms + [text[start:]]


def _split_term(text: str, term: str) -> tuple[str, str, str]:
    for i in range(len(term)):
        for operator in ("!=", "==", "="):
            if term.startswith(operator, i):
                return term[:i], operator, term[i + len(operator):]
    raise ValueError(f"invalid selector: '{text}'; can't understand '{term}'")


def parse_field_selector(text: str) -> FieldSelector:
    """A field selector (fields.ParseSelector); "" matches everything."""
    terms = []
    for part in sorted(_split_terms(text)) if text else ():
        if not part:
            continue
        field, operator, value = _split_term(text, part)
        terms.append(FieldTerm(field, NOT_EQUALS if operator == "!=" else EQUALS, _unescape(value)))
    return FieldSelector(tuple(terms))


def read(selector: str | Mapping) -> Selector:
    """A selector as `matches()` reads it: a string ("app=web,tier in (fe)"), a
    metav1.LabelSelector (matchLabels / matchExpressions), or a map of equalities."""
    if isinstance(selector, str):
        return parse(selector)
    if is_label_selector(selector):
        return from_label_selector(selector)
    return from_map(selector)


def is_label_selector(selector: Mapping) -> bool:
    return bool(selector) and all(
        k in ("matchLabels", "matchExpressions") and not isinstance(v, str) for k, v in selector.items()
    )


_ENTRIES = ByIdentity(4096)  # a frozen selector → its selects_entry
_UNKNOWN = object()


def selects_entry(selector: object) -> tuple | None:
    """The label pair under which an object with label selector `selector` is filed in the
    store's `selects` index (reverse selector lookups: "the Services that select this pod"):
    one pair every labels map it selects holds, or ("*",) when there is none (it may select
    any labels, or it does not read as a selector); None when it selects nothing."""
    if selector is None:
        return None
    found = _ENTRIES.get(selector, _UNKNOWN)
    if found is not _UNKNOWN:
        return found
    try:
        if not isinstance(selector, (str, Mapping)):
            raise TypeError(selector)
        parsed = read(selector)
    except (TypeError, ValueError, KeyError, AttributeError):
        entry: tuple | None = ("*",)
    else:
        pairs = parsed.equalities()
        entry = None if parsed.nothing else min(pairs.items()) if pairs else ("*",)
    if type(selector) in (PMap, str):  # (immutable)
        _ENTRIES.put(selector, entry)
    return entry
