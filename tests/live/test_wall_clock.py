"""The live clock: the machine's, continued from a recorded time ahead of it rather than stopped."""

from __future__ import annotations

from engine import clock as C


def test_a_live_clock_on_a_state_behind_the_machine_is_the_machines_clock(monkeypatch):
    monkeypatch.setattr(C.time, "time", lambda: C.EPOCH + 86_400.7)
    wall = C.WallClock(floor=C.EPOCH)  # (a --once run's state: simulated time, a day ago)
    assert wall.now() == C.EPOCH + 86_400


def test_a_live_clock_on_a_state_ahead_of_the_machine_goes_on_from_it_at_the_machines_pace(monkeypatch):
    now = [C.EPOCH]
    monkeypatch.setattr(C.time, "time", lambda: now[0])
    ahead = C.EPOCH + 30 * 86_400  # (a --once run that simulated 30 days)
    wall = C.WallClock(floor=ahead)
    assert wall.now() == ahead
    now[0] += 5.0
    assert wall.now() == ahead + 5  # it moves: the timers rules wait on come due
    wall.advance_to(ahead + 60)  # (the engine cannot move it on)
    assert wall.now() == ahead + 5
