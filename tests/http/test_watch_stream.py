"""The watch stream's loop (engine/api/watch.py `stream`), without a server: it ends when the server
stops, whatever it was waiting for, and delivers what it was waiting for."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from engine.api import watch

BOUND = 30  # seconds: only a bound on waiting for what is due, never a pause


class Written:
    def __init__(self):
        self.chunks: list[bytes] = []

    async def write(self, data: bytes) -> None:
        self.chunks.append(data)


def subscription():
    return SimpleNamespace(initial=[], initial_end=None, queue=asyncio.Queue(), translate=lambda event: ("ADDED", event))


ENCODER = SimpleNamespace(line=lambda kind, obj: f"{kind} {obj}\n".encode())


def test_a_watch_waiting_for_events_ends_as_soon_as_the_server_stops(monkeypatch):
    monkeypatch.setattr(watch, "BOOKMARK_EVERY", 3600.0)  # (no tick to notice the stop by)

    async def scenario():
        stopping, response, sub = asyncio.Event(), Written(), subscription()
        streaming = asyncio.ensure_future(watch.stream(response, sub, ENCODER, {}, stopping))
        sub.queue.put_nowait("a")
        await asyncio.sleep(0.05)
        stopping.set()
        await asyncio.wait_for(streaming, BOUND)
        return response.chunks

    assert asyncio.run(scenario()) == [b"ADDED a\n"]


def test_events_that_come_while_no_bookmark_is_due_are_all_delivered_in_order(monkeypatch):
    monkeypatch.setattr(watch, "BOOKMARK_EVERY", 0.01)  # (many turns that time out in between)

    async def scenario():
        stopping, response, sub = asyncio.Event(), Written(), subscription()
        streaming = asyncio.ensure_future(watch.stream(response, sub, ENCODER, {}, stopping))
        for name in "bcd":
            await asyncio.sleep(0.03)
            sub.queue.put_nowait(name)
        await asyncio.sleep(0.05)
        stopping.set()
        await asyncio.wait_for(streaming, BOUND)
        return b"".join(response.chunks)

    assert asyncio.run(scenario()) == b"ADDED b\nADDED c\nADDED d\n"
