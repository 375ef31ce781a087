"""Idle benchmark: a converged cluster left running under `recon up`: revisions written, CPU used.

Generates the bench/converge.py folder, starts `recon up DIR --state S --json`
as a subprocess (a live run on the wall clock), waits for its "ready" event
(converged), then leaves it alone for --seconds of wall time and measures the
revisions it committed meanwhile (the state folder, opened read-only) and the
CPU seconds it used (utime + stime of /proc/PID/stat, all its threads).
Stops it with SIGINT.  Prints a table and, as its last line, one JSON object:

    idle_s, idle_revisions, idle_cpu_s, idle_cpu_percent_of_core (+ the size)

Issue 10's scenario is --nodes 1000 --deployments 1000 --replicas 10 --seconds 60.
Usage: python bench/idle.py [--nodes 100] [--deployments 100] [--replicas 5] [--seconds 60]
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from cluster_gen import write_folder  # noqa: E402
from figures import print_figures  # noqa: E402
from engine.wal import open_store  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of process `pid` (every thread), from /proc/PID/stat."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # fields 14 and 15 of the line


def revision(state: Path) -> int:
    store = open_store(state, readonly=True)
    try:
        return store.revision
    finally:
        store.close()


def read_events(stream, events: queue.Queue) -> None:  # noqa: ANN001
    for line in stream:
        try:
            events.put(json.loads(line))
        except ValueError:
            events.put({"event": "text", "line": line.rstrip()})
    events.put(None)


def wait_for(events: queue.Queue, name: str, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        try:
            event = events.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            event = {}
        if event is None or time.monotonic() > deadline:
            raise RuntimeError(f"recon up exited or timed out before the {name!r} event")
        if event.get("event") == name:
            return event


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--deployments", type=int, default=100)
    parser.add_argument("--replicas", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--start-timeout", type=float, default=1800)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_folder(Path(tmp) / "manifests", args.nodes, args.deployments, args.replicas)
        state = Path(tmp) / "state"
        recon = [str(Path(sys.executable).parent / "recon")]
        proc = subprocess.Popen(recon + ["up", str(folder), "--rules", str(ROOT / "rules"), "--state", str(state),
                                         "--json"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                cwd=tmp)
        events: queue.Queue = queue.Queue()
        threading.Thread(target=read_events, args=(proc.stdout, events), daemon=True).start()
        try:
            started = time.monotonic()
            ready = wait_for(events, "ready", args.start_timeout)
            converge_s = time.monotonic() - started
            rev0, cpu0, t0 = revision(state), cpu_seconds(proc.pid), time.monotonic()
            time.sleep(args.seconds)
            rev1, cpu1, t1 = revision(state), cpu_seconds(proc.pid), time.monotonic()
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    idle = t1 - t0
    pods = ready.get("pods") or {}
    figures = {"nodes": args.nodes, "deployments": args.deployments, "replicas": args.replicas,
               "start_to_ready_s": round(converge_s, 2), "pods_running": pods.get("Running"),
               "ready_revision": ready.get("revision"), "idle_s": round(idle, 1),
               "idle_revisions": rev1 - rev0, "idle_cpu_s": round(cpu1 - cpu0, 2),
               "idle_cpu_percent_of_core": round(100 * (cpu1 - cpu0) / idle, 2)}
    print_figures(figures)


if __name__ == "__main__":
    main()
