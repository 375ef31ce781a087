"""The writer gate: an API write waiting for the cluster's lock gets in between a long run's rounds."""

from __future__ import annotations

import threading
import time

from engine.cluster import WriterGate


def _wait_for(check, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline
        time.sleep(0.001)


def test_a_waiting_writer_runs_between_two_rounds_of_the_lock_holder():
    lock = threading.RLock()
    gate = WriterGate(lock)
    log: list[str] = []

    def writer() -> None:
        with gate.enter():
            log.append("write")

    with lock:
        log.append("round 1")
        thread = threading.Thread(target=writer)
        thread.start()
        _wait_for(lambda: gate.waiting == 1)
        gate.let_in()
        log.append("round 2")
    thread.join(timeout=10)
    assert log == ["round 1", "write", "round 2"]


def test_without_waiting_writers_letting_in_keeps_the_lock():
    lock = threading.RLock()
    gate = WriterGate(lock)
    with lock:
        gate.let_in()
        assert lock._is_owned()


def test_a_nested_hold_is_not_released_so_the_outer_holder_keeps_its_state_consistent():
    lock = threading.RLock()
    gate = WriterGate(lock, patience=0.05)
    log: list[str] = []

    def writer() -> None:
        with gate.enter():
            log.append("write")

    with lock:
        with lock:
            thread = threading.Thread(target=writer)
            thread.start()
            _wait_for(lambda: gate.waiting == 1)
            gate.let_in()
            log.append("inner done")
        log.append("outer done")
    thread.join(timeout=10)
    assert log == ["inner done", "outer done", "write"]
