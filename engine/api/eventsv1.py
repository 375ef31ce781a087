"""events.k8s.io/v1 Events: the core/v1 Events, served in the newer API's shape.

Upstream stores one Event resource and serves it as both versions; so does
this server: `/apis/events.k8s.io/v1/.../events` reads and writes the core
Events of the store, converted field by field as pkg/apis/events/v1's
conversion does (involvedObject ↔ regarding, message ↔ note, source ↔
deprecatedSource, firstTimestamp / lastTimestamp / count ↔ the deprecated*
fields, reportingComponent ↔ reportingController).  What the Go types always
write is always there (eventTime, the deprecated time stamps as null,
regarding and deprecatedSource as objects); empty strings and a zero count
are left out, as their omitempty says.  Field selectors take the new names
(upstream's AddFieldLabelConversionsForEvent).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from ..apierrors import FieldError, bad_request, invalid, required
from ..fieldcheck import qualified_name_errors
from ..kinds import ResourceType
from ..objects import thaw
from ..selectors import FieldSelector, parse_field_selector

GROUP = "events.k8s.io"
EVENTS = ResourceType(GROUP, "v1", "Event", "events", has_spec=False)  # (no short name, as upstream)
STORED = ("", "Event")

# core/v1 field → events.k8s.io/v1 field, for the fields that are renamed
_RENAMED = {
    "involvedObject": "regarding", "message": "note", "source": "deprecatedSource",
    "firstTimestamp": "deprecatedFirstTimestamp", "lastTimestamp": "deprecatedLastTimestamp",
    "count": "deprecatedCount", "reportingComponent": "reportingController",
}
_BACK = {new: old for old, new in _RENAMED.items()}
# fields the Go type always writes, with what they read when unset
_ALWAYS = {"eventTime": None, "deprecatedFirstTimestamp": None, "deprecatedLastTimestamp": None,
           "regarding": {}, "deprecatedSource": {}}
# fields a selector may use: the new name and the core field it reads
_FIELD_LABELS = {
    "reason": "reason", "type": "type", "reportingController": "reportingComponent",
    "metadata.name": "metadata.name", "metadata.namespace": "metadata.namespace",
    **{f"regarding.{f}": f"involvedObject.{f}"
       for f in ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")},
}


def is_view(rt: ResourceType) -> bool:
    return rt.group == GROUP and rt.kind == "Event"


def to_events_v1(event: Mapping) -> dict:
    """A stored core/v1 Event as events.k8s.io/v1 shows it."""
    out: dict[str, Any] = {}
    for field, value in thaw(event).items():
        name = _RENAMED.get(field, field)
        if value in ("", 0, None) and name not in _ALWAYS and field not in ("apiVersion", "kind", "metadata"):
            continue  # omitempty
        out[name] = value
    for name, unset in _ALWAYS.items():
        if out.get(name) is None:
            out[name] = unset
    out["apiVersion"] = f"{GROUP}/v1"
    return out


def to_core(event: Any) -> Any:
    """An events.k8s.io/v1 Event sent by a client, as the core/v1 Event stored."""
    if not isinstance(event, Mapping):
        return event  # (the API server says what is wrong with it)
    out = {_BACK.get(field, field): value for field, value in event.items()}
    if out.get("apiVersion") == f"{GROUP}/v1":
        out["apiVersion"] = "v1"
    return out


def field_selector(text: str | None) -> FieldSelector | None:
    """A field selector in the new names, as one on the stored Events: upstream refuses the core names."""
    if not text:
        return None
    try:
        terms = parse_field_selector(text).terms
    except ValueError as exc:
        raise bad_request(str(exc)) from None
    for term in terms:
        if term.field not in _FIELD_LABELS:
            raise bad_request(f"field label not supported: {term.field}")
    return FieldSelector(tuple(attrs.evolve(t, field=_FIELD_LABELS[t.field]) for t in terms))


def create_errors(event: Any) -> list[FieldError]:
    """What upstream's ValidateEventCreate refuses in an Event created through events.k8s.io/v1 (the
    core API keeps its lenient checks): who reports it, what was done and why, when, and none of
    the deprecated fields."""
    if not isinstance(event, Mapping):
        return []  # (the API server says what is wrong with it)
    errors = []
    for field, limit in (("reportingController", 0), ("reportingInstance", 128), ("action", 128), ("reason", 128)):
        value = event.get(field)
        if not value:
            errors.append(required(field))
        elif limit and len(str(value)) > limit:
            errors.append(invalid(field, "", f"can have at most {limit} characters"))
    if event.get("reportingController"):
        errors += [invalid("reportingController", event["reportingController"], m)
                   for m in qualified_name_errors(str(event["reportingController"]))]
    if len(str(event.get("note") or "")) > 1024:
        errors.append(invalid("note", "", "can have at most 1024 characters"))
    series = event.get("series")
    if isinstance(series, Mapping):
        count = series.get("count")
        if not isinstance(count, int) or count < 2:
            errors.append(invalid("series.count", "", f"should be at least 2: {count}"))
        if not series.get("lastObservedTime"):
            errors.append(required("series.lastObservedTime"))
    if not event.get("eventTime"):
        errors.append(required("eventTime"))
    if event.get("type") not in ("Normal", "Warning"):
        errors.append(invalid("type", "", f"has invalid value: {event.get('type') or ''}"))
    for field in ("deprecatedFirstTimestamp", "deprecatedLastTimestamp", "deprecatedCount"):
        if event.get(field):
            errors.append(invalid(field, "", "needs to be unset"))
    source = event.get("deprecatedSource")
    if isinstance(source, Mapping) and (source.get("component") or source.get("host")):
        errors.append(invalid("deprecatedSource", "", "needs to be unset"))
    return errors
