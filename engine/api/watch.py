"""Watch: `?watch=true`, one JSON event per line, chunked, until the client leaves.

Subscribing happens under the cluster's lock, so the initial list (when the
request gives no resourceVersion, or 0) and the subscription see the same
revision: no event is lost or doubled.  From a resourceVersion R the store
replays the events after R that it still holds; an R older than that is
answered, as upstream does, with one ERROR event carrying a 410 Expired
Status (clients then list again).

The store calls `on_event` in the committing thread; it only hands the event
to the server's event loop (`call_soon_threadsafe`).  Selectors filter as
upstream's watch cache does: an object that stops matching is sent as
DELETED, one that starts matching as ADDED.  Table-typed events when the
request asked for Tables (column definitions in the first only); BOOKMARKs
with the head revision when asked (`allowWatchBookmarks`).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from ..apierrors import APIError
from ..listing import parse_selectors
from ..objects import dumps, get_path
from . import tables
from .query import TRUE
from .resources import (Target, not_older_than, actor_of, check_list_options, field_selector, int_param,
                        parse_resource_version, served_as)
from .auth import User

DEFAULT_TIMEOUT = 1800.0
BOOKMARK_EVERY = 10.0


class Subscription:
    """One watch: its initial events and a queue the store's thread fills."""

    def __init__(self, cluster: Any, user: User, target: Target, query: Mapping[str, str],
                 loop: asyncio.AbstractEventLoop):
        self.cluster, self.target, self.query, self.loop = cluster, target, query, loop
        self.queue: asyncio.Queue = asyncio.Queue()
        self.labels, self.fields = parse_selectors(target.rt, query.get("labelSelector") or None,
                                                   field_selector(target, _field_selector(target, query)))
        self.initial: list[tuple[str, Any]] = []
        self.initial_end: int | None = None  # sendInitialEvents: the revision its initial events end at
        self.watch: Any = None
        self.user = user
        int_param(query, "timeoutSeconds")  # a 400 before the stream starts, not an empty stream
        check_list_options(query, watch=True)
        self.send_initial = _initial_events(query)

    def open(self) -> None:
        """Under the cluster's lock: list (when starting fresh), subscribe, take what is queued."""
        api, t = self.cluster.api, self.target
        revision = parse_resource_version(self.query.get("resourceVersion") or "")
        actor = actor_of(self.user)
        if self.send_initial or (self.send_initial is None and revision == 0):
            # (the state first, as ADDED events: a resourceVersion of "" or 0 without sendInitialEvents,
            # or sendInitialEvents=true from a revision the store has reached, as upstream's WatchList)
            if self.send_initial:
                not_older_than(api.store.head.revision, self.query.get("resourceVersion") or "")
            items, revision = api.list(actor, *t.stored, t.namespace or None, self.labels, self.fields)
            self.initial = [("ADDED", obj) for obj in items]
            if self.send_initial:
                self.initial_end = revision
        elif revision == 0:  # sendInitialEvents=false: from the newest revision, no state first
            revision = api.store.head.revision
        self.watch = api.watch(actor, *t.stored, t.namespace or None, since=revision)
        self.watch.on_event = lambda event: self.loop.call_soon_threadsafe(self.queue.put_nowait, event)
        for event in self.watch.poll():
            self._add_initial(event)

    def _add_initial(self, event: Any) -> None:
        found = self.translate(event)
        if found is not None:
            self.initial.append(found)

    def translate(self, event: Any) -> tuple[str, Any] | None:
        """The event this watcher sees (selectors applied), or None."""
        was = event.old is not None and self._matches(event.old)
        now = event.new is not None and self._matches(event.new)
        if event.type == "DELETED":
            return ("DELETED", event.old.set("metadata", event.old["metadata"].set(
                "resourceVersion", str(event.revision)))) if was else None
        if now and not was and event.type == "MODIFIED":
            return ("ADDED", event.new)
        if was and not now:
            return ("DELETED", event.new)
        return (event.type, event.new) if now else None

    def _matches(self, obj: Mapping) -> bool:
        return self.labels.matches(get_path(obj, "metadata", "labels") or {}) and self.fields.matches(obj)

    def close(self) -> None:
        if self.watch is not None:
            self.watch.close()


def _field_selector(target: Target, query: Mapping[str, str]) -> str | None:
    fields = query.get("fieldSelector") or ""
    if target.name:  # a watch on one object's path: GET .../pods/web?watch=true
        fields = ",".join(f for f in (fields, f"metadata.name={target.name}") if f)
    return fields or None


def _initial_events(query: Mapping[str, str]) -> bool | None:
    """The request's sendInitialEvents (None when not given)."""
    value = query.get("sendInitialEvents")
    if value is None:
        return None
    return value in TRUE


class LineCache:
    """Encoded event lines shared by every watch of the server's event loop.

    A hundred watchers of the same pods would otherwise serialise each event
    a hundred times.  An object version is immutable, so its line is keyed by
    the object's identity (the cache holds the object, so the identity cannot
    be reused while cached), the event type and the version served.
    """

    def __init__(self, size: int = 4096):
        self.size = size
        self.lines: OrderedDict[tuple, tuple[Any, bytes]] = OrderedDict()

    def line(self, kind: str, obj: Any, target: Target) -> bytes:
        key = (kind, id(obj), target.group, target.version)
        found = self.lines.get(key)
        if found is not None and found[0] is obj:
            self.lines.move_to_end(key)
            return found[1]
        line = dumps({"type": kind, "object": served_as(obj, target)}, sort_keys=False) + b"\n"
        self.lines[key] = (obj, line)
        if len(self.lines) > self.size:
            self.lines.popitem(last=False)
        return line


LINES = LineCache()


class Encoder:
    """Events as the request asked: plain objects, or one-row Tables."""

    def __init__(self, target: Target, query: Mapping[str, str], table: bool, clock: Any):
        self.target, self.query, self.table, self.clock = target, query, table, clock
        self.columns_sent = False

    def line(self, kind: str, obj: Any) -> bytes:
        if not self.table:
            return LINES.line(kind, obj, self.target)
        meta = {"resourceVersion": get_path(obj, "metadata", "resourceVersion") or ""}
        include = self.query.get("includeObject") or "Metadata"
        doc = tables.table(self.target.rt, [served_as(obj, self.target) if include == "Object" else obj],
                           self.clock.now(), meta, include, with_columns=not self.columns_sent,
                           version=self.target.version)
        self.columns_sent = True
        return dumps({"type": kind, "object": doc}, sort_keys=False) + b"\n"

    def bookmark(self, revision: int, initial_end: bool = False) -> bytes:
        """A BOOKMARK at `revision`; `initial_end`: the one that closes sendInitialEvents' initial
        events, annotated as upstream's (`k8s.io/initial-events-end`)."""
        rt = self.target.rt
        meta: dict[str, Any] = {"resourceVersion": str(revision)}
        if initial_end:
            meta["annotations"] = {"k8s.io/initial-events-end": "true"}
        obj = {"kind": rt.kind, "apiVersion": rt.api_version, "metadata": meta}
        return dumps({"type": "BOOKMARK", "object": obj}, sort_keys=False) + b"\n"


def error_line(error: APIError) -> bytes:
    return dumps({"type": "ERROR", "object": error.status()}, sort_keys=False) + b"\n"


async def stream(response: Any, sub: Subscription, encoder: Encoder, query: Mapping[str, str],
                 stopping: asyncio.Event) -> None:
    """Write the initial events, then every event until the timeout, the client leaves or the server stops."""
    timeout = float(query.get("timeoutSeconds") or DEFAULT_TIMEOUT)
    bookmarks = query.get("allowWatchBookmarks") in TRUE
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    initial = [encoder.line(kind, obj) for kind, obj in sub.initial]
    if sub.initial_end is not None and bookmarks:
        initial.append(encoder.bookmark(sub.initial_end, initial_end=True))
    if initial:
        await response.write(b"".join(initial))
    # The next event and the server's stop, waited for together: a stop ends the stream at once
    # (not at the next bookmark tick), so the server's shutdown does not wait for its watches.
    stopped = asyncio.ensure_future(stopping.wait())
    getting = None
    try:
        while not stopping.is_set():
            left = deadline - loop.time()
            if left <= 0:
                return
            if getting is None:
                getting = asyncio.ensure_future(sub.queue.get())
            done, _pending = await asyncio.wait((getting, stopped), timeout=min(left, BOOKMARK_EVERY),
                                                return_when=asyncio.FIRST_COMPLETED)
            if getting not in done:  # (the get goes on waiting into the next turn: no event is lost)
                if stopped not in done and bookmarks:
                    await response.write(encoder.bookmark(sub.cluster.store.head.revision))
                continue
            batch = [getting.result()]
            getting = None
            while not sub.queue.empty():
                batch.append(sub.queue.get_nowait())
            lines = [encoder.line(*found) for e in batch if (found := sub.translate(e)) is not None]
            if lines:
                await response.write(b"".join(lines))
    finally:
        stopped.cancel()
        if getting is not None:
            getting.cancel()
