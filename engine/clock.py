"""Clocks: wall time for live runs, simulated time for `--once`, tests and replays.

Both answer `now()` in float seconds since the epoch.  Only the simulated
clock can jump: when the engine is idle it advances to the next deadline a
rule is waiting on, so a run that takes ten simulated minutes finishes at
once and gives the same history every time.
"""

from __future__ import annotations

import time

# 2026-01-01T00:00:00Z: where a fresh simulated cluster's clock starts.
EPOCH = 1767225600.0


class SimClock:
    """A clock that moves only when told to."""

    simulated = True

    def __init__(self, start: float = EPOCH):
        self._now = float(start)

    def now(self) -> float:
        return self._now

    def advance_to(self, t: float) -> None:
        if t > self._now:
            self._now = float(t)

    def advance(self, seconds: float) -> None:
        self._now += seconds


class WallClock:
    """The machine's clock, never moved by the engine (whole seconds, as metav1.Time).

    `floor` is the last recorded time: the clock never goes back before it.  A
    state whose clock is ahead of the machine's (a `--once` run that simulated
    time past today) goes on from its own time at the machine's pace, rather
    than standing still, timers and all, until the machine catches up.
    """

    simulated = False

    def __init__(self, floor: float = 0.0):
        self._floor = floor  # never go back before the last recorded time
        self.lead = max(0.0, floor - int(time.time()))  # how far the recorded time is ahead of the machine's

    def now(self) -> float:
        return max(float(int(time.time() + self.lead)), self._floor)

    def advance_to(self, t: float) -> None:  # time passes by itself
        self._floor = max(self._floor, min(t, self.now()))
