"""The Events rules record: what an `event` statement turns into.

A rule's `event "Reason" on obj: message` is collected while the rule is
evaluated (`Emitted`) and, when the writes of that evaluation are submitted,
becomes core/v1 Event writes in the same transaction.  `EventRecorder` plays
the part of client-go's EventRecorder and its EventCorrelator
(tools/record/events_cache.go):

* an Event is named `<involvedObject.name>.<hex nanoseconds>` from the engine
  clock (+1 until the name is free), so names are deterministic;
* an event equal to a recorded one (same source, involved object, type,
  reason and message) bumps that Event's `count` and `lastTimestamp` instead
  of making a new object;
* once ten events of one source, object, type and reason with different
  messages have been seen within ten minutes, further ones are folded into
  one Event whose message is `(combined from similar events): <latest>`.

Upstream keeps this state in the memory of each process (an LRU cache); the
recorder derives it from the Events in the store instead — kept up to date
by a store listener — so a restarted engine or a replay counts the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from .objects import Key, thaw
from .request import Request
from .timeutil import format_time, parse_time

EVENT = ("", "Event")
COMBINED = "(combined from similar events): "
AGGREGATE_MAX = 10  # defaultAggregateMaxEvents
AGGREGATE_WINDOW = 600.0  # defaultAggregateIntervalInSeconds
_MASK64 = (1 << 64) - 1


@attrs.frozen
class Emitted:
    """One `event` statement's event, as its rule evaluated it."""

    involved: Mapping  # the involvedObject reference
    reason: str
    type: str  # "Normal" | "Warning"
    message: str
    host: str | None
    line: int
    alone: bool = False  # recorded even when its evaluation writes nothing (`with alone: true`)


def object_reference(obj: Mapping, field_path: str | None = None) -> dict:
    """An ObjectReference to `obj` (upstream's reference.GetReference), with a fieldPath."""
    meta = obj.get("metadata") or {}
    ref = {"kind": obj.get("kind"), "namespace": meta.get("namespace"), "name": meta.get("name"),
           "uid": meta.get("uid"), "apiVersion": obj.get("apiVersion"),
           "resourceVersion": meta.get("resourceVersion"), "fieldPath": field_path}
    return {k: v for k, v in ref.items() if v not in (None, "")}


def _source(event: Mapping) -> tuple[str, str]:
    source = event.get("source") or {}
    return source.get("component") or "", source.get("host") or ""


def _involved(event: Mapping) -> Mapping:
    return event.get("involvedObject") or {}


def aggregate_key(event: Mapping) -> tuple:
    """EventAggregatorByReasonFunc: what makes events similar (everything but the message)."""
    about = _involved(event)
    return (*_source(event), about.get("kind"), about.get("namespace"), about.get("name"),
            about.get("uid"), about.get("apiVersion"), event.get("type"), event.get("reason"),
            event.get("reportingComponent") or "", event.get("reportingInstance") or "")


def event_key(event: Mapping) -> tuple:
    """getEventKey: events with equal keys are one Event with a count.  A combined
    Event is keyed by its aggregate key (its message changes with every fold)."""
    message = event.get("message") or ""
    if message.startswith(COMBINED):
        return ("combined", *aggregate_key(event))
    about = _involved(event)
    return ("event", *_source(event), about.get("kind"), about.get("namespace"), about.get("name"),
            about.get("fieldPath"), about.get("uid"), about.get("apiVersion"),
            event.get("type"), event.get("reason"), message)


class EventRecorder:
    """Turns emitted events into Event writes, counting and folding as upstream's correlator."""

    def __init__(self, store: Any):
        self.by_key: dict[tuple, Key] = {}  # event key → the Event that has it
        # aggregate key → message → when last seen (the Event's time stamp until asked for)
        self.similar: dict[tuple, dict[str, Any]] = {}
        self.hashes: dict[Key, int] = {}  # the content hash of every Event in the store
        self.hash = 0  # their sum: the part of the store's state_hash that is Events
        head = store.head
        for key in head.keys(*EVENT):
            self._add(key, head.get(key), head.hashes[key])
        store.listeners.append(self._on_commit)

    # ------------------------------------------------------------- the index
    def _on_commit(self, snap: Any, events: tuple, record: Any) -> None:
        for change in events:
            key = change.key
            if key[1] != "Event" or key[0] != "":
                continue
            if change.old is not None:
                self._remove(key, change.old)
            if change.new is not None:
                self._add(key, change.new, snap.hashes[key])

    def _add(self, key: Key, event: Mapping, content_hash: int) -> None:
        self.by_key[event_key(event)] = key
        message = event.get("message") or ""
        if not message.startswith(COMBINED):  # (its time is read when asked for: see _recent)
            self.similar.setdefault(aggregate_key(event), {})[message] = (
                event.get("lastTimestamp") or event.get("firstTimestamp") or "")
        self.hashes[key] = content_hash
        self.hash = (self.hash + content_hash) & _MASK64

    def _remove(self, key: Key, event: Mapping) -> None:
        ekey = event_key(event)
        if self.by_key.get(ekey) == key:
            del self.by_key[ekey]
            group = self.similar.get(aggregate_key(event))
            if group is not None:
                group.pop(event.get("message") or "", None)
        self.hash = (self.hash - self.hashes.pop(key, 0)) & _MASK64

    # ------------------------------------------------------------- the writes
    def requests(self, component: str, emitted: list[Emitted], now: float, head: Any,
                 taken: set) -> list[Request]:
        """The Event creates and updates that record `emitted` (in order) at `now`."""
        stamp = format_time(now)
        writes: dict[Key, tuple[str, dict]] = {}  # Event key → (verb, body), in order
        local: dict[tuple, Key] = {}  # event keys given an Event by this call
        seen: dict[tuple, set] = {}  # messages this call added per aggregate key
        for em in emitted:
            event = _event(component, em, stamp)
            if not _open(head, event["metadata"]["namespace"]):
                continue  # upstream's create would be refused (NamespaceLifecycle): no event
            agg = aggregate_key(event)
            if not self._individual(agg, em.message, now, seen.setdefault(agg, set())):
                event["message"] = COMBINED + em.message
            ekey = event_key(event)
            key = local.get(ekey) or self.by_key.get(ekey)
            if key in writes:
                _bump(writes[key][1], event, stamp)
            elif key is not None and head.get(key) is not None:
                body = thaw(head.get(key))
                _bump(body, event, stamp)
                writes[key] = ("update", body)
            else:
                key = self._fresh_key(event, now, head, taken, writes)
                event["metadata"]["name"] = key[3]
                writes[key] = ("create", event)
                local[ekey] = key
        return [Request(verb, "", "Event", key[2], key[3], body=body)  # plain: the API server freezes it
                for key, (verb, body) in writes.items()]

    def _individual(self, agg: tuple, message: str, now: float, added: set) -> bool:
        """Does `message` get an Event of its own, rather than the combined one?"""
        recent = _recent(self.similar.get(agg), now)
        recent |= added
        if message in recent or len(recent) + 1 < AGGREGATE_MAX:
            added.add(message)
            return True
        return False

    @staticmethod
    def _fresh_key(event: Mapping, now: float, head: Any, taken: set, writes: Mapping) -> Key:
        namespace, base = event["metadata"]["namespace"], _involved(event).get("name")
        nanos = int(round(now * 1e9))
        while True:
            key = (*EVENT, namespace, f"{base}.{nanos:x}")
            if key not in head.objects and key not in taken and key not in writes:
                taken.add(key)
                return key
            nanos += 1


def _event(component: str, em: Emitted, stamp: str) -> dict:
    source = {"component": component, "host": em.host} if em.host else {"component": component}
    return {
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": None, "namespace": em.involved.get("namespace") or "default"},
        "involvedObject": dict(em.involved),
        "reason": em.reason, "message": em.message, "type": em.type,
        "source": source, "firstTimestamp": stamp, "lastTimestamp": stamp, "count": 1,
        "reportingComponent": component, "reportingInstance": em.host or "",
    }


def _open(head: Any, namespace: str) -> bool:
    """Can new content (an Event) be created in `namespace`: it exists and is not terminating?"""
    ns = head.get(("", "Namespace", "", namespace))
    if ns is None:
        return False
    return not (ns.get("metadata") or {}).get("deletionTimestamp") and \
        (ns.get("status") or {}).get("phase") != "Terminating"


def _bump(body: dict, event: Mapping, stamp: str) -> None:
    """Another occurrence: count + 1, the latest time and (for a combined Event) message."""
    body["count"] = (body.get("count") or 1) + 1
    body["lastTimestamp"] = stamp
    body["message"] = event["message"]


def _recent(seen: dict | None, now: float) -> set:
    """The messages of `seen` (message → time, or the time stamp that gives it) seen within the
    aggregation window before `now`; each stamp is read once."""
    if not seen:
        return set()
    found = set()
    for message, when in seen.items():
        if type(when) is not float:
            when = seen[message] = _stamp_time(when)  # (an existing key: the dict keeps its size)
        if now - when <= AGGREGATE_WINDOW:
            found.add(message)
    return found


def _stamp_time(stamp: Any) -> float:
    try:
        return float(parse_time(stamp)) if stamp else 0.0
    except ValueError:
        return 0.0
