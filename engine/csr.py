"""How a write turns into the CertificateSigningRequest to store (upstream's csr strategies).

- create: `spec.username`, `uid`, `groups` and `extra` are the requesting
  user's, whatever the body said (an API caller's authenticated user; the
  name of a rule component or the manifests folder otherwise), and the
  status is dropped: nobody creates an approved request.
- update: the spec and status stay as stored (a request is fixed once
  made; its status changes through the subresources).
- `status`: the body's status, but the stored Approved and Denied
  conditions stay as they were (adding or removing one is then refused by
  validation).
- `approval`: the body's Approved and Denied conditions; the certificate
  and every other condition stay as stored.

On both subresources a condition without `lastUpdateTime` gets the request's
time, and one without `lastTransitionTime` keeps the stored one of the same
type and status, else the request's time (populateConditionTimestamps).
Nothing signs an approved request: no signer runs in recon.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .objects import freeze, thaw
from .timeutil import format_time
from .validate_certificates import APPROVAL_TYPES, GROUP, KIND

__all__ = ["GROUP", "KIND", "stamp_requester", "keep_spec", "prepare_subresource"]

AUTHENTICATED = "system:authenticated"
_USER_FIELDS = ("username", "uid", "groups", "extra")


def stamp_requester(body: dict, actor: Any) -> None:
    """PrepareForCreate: the spec's user fields from `actor`, the status dropped."""
    spec = body.get("spec")
    if not isinstance(spec, dict):
        spec = body["spec"] = {} if spec is None else spec
    if not isinstance(spec, dict):
        return  # (validation reports the malformed spec)
    for field in _USER_FIELDS:
        spec.pop(field, None)
    user = getattr(getattr(actor, "grantor", None), "user", None)
    if user is not None:
        spec["username"] = user.name
        if user.uid:
            spec["uid"] = user.uid
        if user.groups:
            spec["groups"] = list(user.groups)
    elif actor is not None:
        spec["username"] = actor.name
        spec["groups"] = [AUTHENTICATED]
    body.pop("status", None)


def keep_spec(old: Mapping, body: dict) -> None:
    """PrepareForUpdate: the spec as stored (the status is kept as every kind's is)."""
    if old.get("spec") is None:
        body.pop("spec", None)
    else:
        body["spec"] = thaw(old["spec"])


def _conditions(obj: Mapping | None) -> list:
    status = obj.get("status") if isinstance(obj, Mapping) else None
    found = status.get("conditions") if isinstance(status, Mapping) else None
    return list(thaw(found)) if isinstance(found, Sequence) and not isinstance(found, str) else []


def _is_approval(condition: Any) -> bool:
    return isinstance(condition, Mapping) and condition.get("type") in APPROVAL_TYPES


def _preserve(new: list, old: list, keep) -> list:
    """`new` with the conditions `keep` picks replaced, in order, by `old`'s (when as many)."""
    old_kept = [c for c in old if keep(c)]
    at = [i for i, c in enumerate(new) if keep(c)]
    if len(at) != len(old_kept):
        return new
    for index, condition in zip(at, old_kept):
        new[index] = condition
    return new


def _approval_conditions(new: list, old: list) -> list:
    """The body's Approved/Denied conditions where it put them; every other one as stored."""
    others = iter([c for c in old if not _is_approval(c)])
    merged = [c if _is_approval(c) else next(others, None) for c in new]
    return [c for c in merged if c is not None] + list(others)


def _stamp_times(conditions: list, old: list, now: float) -> None:
    stamp = format_time(now)
    for condition in conditions:
        if not isinstance(condition, dict):
            continue
        if not condition.get("lastUpdateTime"):
            condition["lastUpdateTime"] = stamp
        if not condition.get("lastTransitionTime"):
            same = next((c.get("lastTransitionTime") for c in old if isinstance(c, Mapping)
                         and (c.get("type"), c.get("status")) == (condition.get("type"), condition.get("status"))
                         and c.get("lastTransitionTime")), None)
            condition["lastTransitionTime"] = same or stamp


def prepare_subresource(old: Mapping, body: Mapping, subresource: str, now: float) -> Mapping:
    """The CSR a `status` or `approval` write stores (see the module docstring)."""
    before = _conditions(old)
    sent = _conditions(body)
    if subresource == "approval":
        status = thaw(old.get("status") or {})
        conditions = _approval_conditions(sent, before)
    else:
        status = thaw(body.get("status") or {}) if isinstance(body.get("status"), Mapping) else {}
        conditions = _preserve(sent, before, _is_approval)
    _stamp_times(conditions, before, now)
    if conditions:
        status["conditions"] = conditions
    else:
        status.pop("conditions", None)
    return old.discard("status") if not status else old.set("status", freeze(status))
