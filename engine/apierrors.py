"""The apiserver's errors, worded and coded like kube-apiserver's.

`APIError` is a refused request: an HTTP code, a reason (`NotFound`,
`Invalid`, ...), the message kubectl prints, and details that `status()`
turns into a Kubernetes `Status` object.  `FieldError` is one invalid
field (upstream's `field.Error`); `invalid()` joins several the way
upstream's aggregate does: one alone, or `[a, b]`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from .errors import PermanentError, ReconError, TemporaryError

_TYPE_TEXT = {
    "FieldValueRequired": "Required value",
    "FieldValueInvalid": "Invalid value",
    "FieldValueDuplicate": "Duplicate value",
    "FieldValueNotSupported": "Unsupported value",
    "FieldValueForbidden": "Forbidden",
    "FieldValueTooLong": "Too long",
    "FieldValueTooMany": "Too many",
    "FieldValueNotFound": "Not found",
    "FieldValueTypeInvalid": "Invalid value",
    "Preformatted": "",
}
_NO_VALUE = ("FieldValueRequired", "FieldValueForbidden", "FieldValueTooLong")


class GoLiteral(str):
    """A bad value already spelled as Go's %#v prints it (`[]string{"a", "b"}`), shown as is."""


def go_value(value: Any) -> str:
    """A value as upstream's field errors print it (`"x"`, `3`, `map[string]string{...}`)."""
    if isinstance(value, GoLiteral):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float)):
        return str(value)
    if value is None:
        return "null"
    if isinstance(value, Mapping) and all(isinstance(v, str) for v in value.values()):
        body = ", ".join(f"{json.dumps(k)}:{json.dumps(v)}" for k, v in sorted(value.items()))
        return "map[string]string{" + body + "}"
    return json.dumps(value, sort_keys=True, default=_plain, separators=(",", ":"))


def _plain(value: Any) -> Any:
    return dict(value) if isinstance(value, Mapping) else list(value)


@attrs.frozen
class FieldError:
    """One invalid field: `spec.replicas: Invalid value: -1: must be ...`."""

    type: str  # a key of _TYPE_TEXT
    field: str
    value: Any = None
    detail: str = ""

    def body(self) -> str:
        if self.type == "Preformatted":
            return self.detail
        text = _TYPE_TEXT[self.type]
        if self.type not in _NO_VALUE:
            text = f"{text}: {go_value(self.value)}"
        return f"{text}: {self.detail}" if self.detail else text

    def message(self) -> str:
        return f"{self.field}: {self.body()}" if self.field else self.body()

    def cause(self) -> dict:
        reason = "FieldValueInvalid" if self.type == "Preformatted" else self.type
        return {"reason": reason, "message": self.body(), "field": self.field}


def required(field: str, detail: str = "") -> FieldError:
    return FieldError("FieldValueRequired", field, None, detail)


def invalid(field: str, value: Any, detail: str = "") -> FieldError:
    return FieldError("FieldValueInvalid", field, value, detail)


def duplicate(field: str, value: Any) -> FieldError:
    return FieldError("FieldValueDuplicate", field, value)


def forbidden(field: str, detail: str) -> FieldError:
    return FieldError("FieldValueForbidden", field, None, detail)


def not_supported(field: str, value: Any, supported: Sequence[str]) -> FieldError:
    detail = "supported values: " + ", ".join(json.dumps(s) for s in supported)
    return FieldError("FieldValueNotSupported", field, value, detail)


def too_many(field: str, actual: int, most: int) -> FieldError:
    return FieldError("FieldValueTooMany", field, actual, f"must have at most {most} items")


def preformatted(message: str) -> FieldError:
    """A FieldError from an already worded `path: body` message (e.g. from selectors)."""
    field, _, body = message.partition(": ")
    return FieldError("Preformatted", field, None, body)


def aggregate(messages: Sequence[str]) -> str:
    """Upstream's aggregate error text: one message alone, several as `[a, b]`."""
    unique = list(dict.fromkeys(messages))
    return unique[0] if len(unique) == 1 else "[" + ", ".join(unique) + "]"


# ------------------------------------------------------------------ APIError

_CODES = {
    "BadRequest": 400, "Forbidden": 403, "NotFound": 404, "MethodNotAllowed": 405,
    "AlreadyExists": 409, "Conflict": 409, "Gone": 410, "Invalid": 422, "InternalError": 500,
}


class APIError(ReconError):
    """A request the apiserver refused; `status()` is the Kubernetes Status object."""

    def __init__(self, reason: str, message: str, details: Mapping | None = None, code: int | None = None):
        self.reason = reason
        self.code = code or _CODES[reason]
        self.message = message
        self.details = dict(details or {})
        super().__init__(message)

    @property
    def temporary(self) -> bool:
        """Conflicts may succeed on retry; every other refusal is permanent."""
        return self.reason == "Conflict"

    def status(self) -> dict:
        status = {
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": self.message, "reason": self.reason, "code": self.code,
        }
        if not self.reason:
            del status["reason"]  # (omitted when empty, as upstream's Status)
        details = {k: v for k, v in self.details.items() if v not in (None, "", [], ())}
        # (upstream's NotFound always has details, `{}` when empty: kubectl debug reads details.name)
        if details or self.reason == "NotFound":
            status["details"] = details
        return status


class TemporaryAPIError(APIError, TemporaryError):
    """A Conflict: the object changed underneath; retry on the latest version."""


class PermanentAPIError(APIError, PermanentError):
    """Any other refusal: retrying the same request gives the same answer."""


def _error(reason: str, message: str, **details: Any) -> APIError:
    cls = TemporaryAPIError if reason == "Conflict" else PermanentAPIError
    return cls(reason, message, details)


def _named(resource: str, name: str | None) -> str:
    return f'{resource} "{name}"' if name else resource


def not_found(resource: str, name: str, group: str = "") -> APIError:
    return _error("NotFound", f'{resource} "{name}" not found',
                  name=name, group=group, kind=resource.split(".")[0])


def already_exists(resource: str, name: str, group: str = "") -> APIError:
    return _error("AlreadyExists", f'{resource} "{name}" already exists',
                  name=name, group=group, kind=resource.split(".")[0])


def conflict(resource: str, name: str, why: str, group: str = "") -> APIError:
    return _error("Conflict", f'Operation cannot be fulfilled on {resource} "{name}": {why}',
                  name=name, group=group, kind=resource.split(".")[0])


MODIFIED = "the object has been modified; please apply your changes to the latest version and try again"


def forbidden_error(resource: str, name: str | None, why: str, group: str = "",
                    causes: Sequence[Mapping] = ()) -> APIError:
    return _error("Forbidden", f"{_named(resource, name)} is forbidden: {why}",
                  name=name, group=group, kind=resource.split(".")[0], causes=list(causes))


def invalid_error(group_kind: str, name: str, errors: Sequence[FieldError], group: str = "") -> APIError:
    message = f'{group_kind} "{name}" is invalid'
    if errors:
        message += ": " + aggregate([e.message() for e in errors])
    return _error("Invalid", message, name=name, group=group, kind=group_kind.split(".")[0],
                  causes=[e.cause() for e in errors])


def no_such_resource(message: str = "the server could not find the requested resource", **details: Any) -> APIError:
    """A 404 for a kind or subresource the server does not serve (not a missing object)."""
    return _error("NotFound", message, **details)


def unprocessable(message: str, **details: Any) -> APIError:
    """A 422 that is not a field error (a patch that does not apply)."""
    return _error("Invalid", message, **details)


def rejected_patch(why: str) -> APIError:
    """The 422 kube-apiserver answers for a JSON patch that does not apply (its patch handler's
    NewGenericServerResponse): a fixed message, the patch library's words as the one cause."""
    return _error("Invalid", "the server rejected our request due to an error in our request",
                  causes=[{"reason": "UnexpectedServerResponse", "message": why}])


def internal_error(why: str) -> APIError:
    """A 500 upstream answers where a request fails past validation (NewInternalError)."""
    return _error("InternalError", f"Internal error occurred: {why}", causes=[{"message": why}])


def unknown_error(message: str) -> APIError:
    """A 500 without a reason: kube-apiserver's answer to a plain Go error nothing classified
    (StatusReasonUnknown; kubectl prints `Error from server: MESSAGE`)."""
    return PermanentAPIError("", message, code=500)


def bad_request(message: str) -> APIError:
    return _error("BadRequest", message)


def gone(message: str) -> APIError:
    return _error("Gone", message)


def method_not_allowed(message: str = "the server does not allow this method on the requested resource") -> APIError:
    return _error("MethodNotAllowed", message)
