"""Kill -9 a committing process at random moments: every acknowledged commit survives."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from crash_writer import txn_for

from engine.store import Snapshot, Store, apply_record
from engine.wal import open_store

WRITER = Path(__file__).with_name("crash_writer.py")
ROOT = Path(__file__).resolve().parents[2]


def run_writer_and_kill(state: Path, seed: int, fsync: str, rng: random.Random) -> int:
    """Start the writer, SIGKILL it at a random moment; the last revision it acknowledged."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.Popen([sys.executable, str(WRITER), str(state), str(seed), fsync],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT, env=env, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()
    if rng.random() < 0.15:
        time.sleep(rng.uniform(0.0, 0.4))  # maybe while it is still opening the folder
    else:
        wanted = rng.choice([1, 10, 100, 500, 2000])
        deadline = time.monotonic() + 30
        while sum(line.startswith("ack") for line in list(lines)) < wanted and proc.poll() is None:
            assert time.monotonic() < deadline, "the writer acknowledged too little in 30 s"
            time.sleep(0.002)
        time.sleep(rng.uniform(0.0, 0.01))
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    reader.join()
    stderr = proc.stderr.read()
    proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL, stderr
    acks = [int(line.split()[1]) for line in lines if line.startswith("ack ") and line.endswith("\n")]
    assert acks == list(range(acks[0], acks[-1] + 1)) if acks else True
    return acks[-1] if acks else 0


class Expected:
    """The states the writer's deterministic txns give, computed in memory."""

    def __init__(self):
        self.store = Store(window=1)

    def at(self, revision: int) -> Snapshot:
        assert revision >= self.store.revision
        while self.store.revision < revision:
            self.store.commit(txn_for(self.store.revision + 1, self.store.head))
        return self.store.head


def check_folder(state: Path, acknowledged: int, expected: Expected) -> int:
    store = open_store(state)
    try:
        head = store.head
        assert head.revision >= acknowledged, f"acknowledged {acknowledged}, recovered {head.revision}"
        assert head.state_hash == expected.at(head.revision).state_hash
        replayed = Snapshot()
        for record in store.log.records():
            assert record.cause == ("revision", record.revision)
            replayed = apply_record(replayed, record)
            assert replayed.state_hash == record.state_hash
        assert replayed.revision == head.revision and replayed.objects == head.objects
    finally:
        store.close()
    again = open_store(state, readonly=True)
    assert again.recovery.dropped_bytes == 0 and again.revision == head.revision
    again.close()
    return head.revision


def crash_rounds(tmp_path: Path, rounds: int, seed: int) -> None:
    rng = random.Random(seed)
    state = tmp_path / "state"
    acknowledged, expected = 0, Expected()
    for round_ in range(rounds):
        fsync = rng.choice(["batch", "batch", "always", "none"])
        acked = run_writer_and_kill(state, seed * 1000 + round_, fsync, rng)
        acknowledged = max(acknowledged, acked)
        if state.exists():
            acknowledged = check_folder(state, acknowledged, expected)


def test_every_acknowledged_commit_survives_kill_9(tmp_path):
    crash_rounds(tmp_path, rounds=10, seed=1)


@pytest.mark.soak
@pytest.mark.parametrize("seed", range(2, 12))
def test_every_acknowledged_commit_survives_kill_9_many_times(tmp_path, seed):
    crash_rounds(tmp_path, rounds=30, seed=seed)
