"""Helpers: a small manifests folder, and `recon up --json` running on it as a subprocess."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "rules"
TIMEOUT = 30.0  # seconds an expected event may take (a loaded CI machine); a pass takes well under one

NODES = """\
apiVersion: v1
kind: Node
metadata:
  name: node-{n}
  labels:
    kubernetes.io/hostname: node-{n}
status:
  capacity: {{cpu: "4", memory: 8Gi, pods: "110"}}
  allocatable: {{cpu: "4", memory: 8Gi, pods: "110"}}
"""

WEB = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: {replicas}
  selector:
    matchLabels: {{app: web}}
  template:
    metadata:
      labels: {{app: web}}
    spec:
      containers:
        - name: nginx
          image: nginx:1.27
          resources:
            requests: {{cpu: 100m, memory: 128Mi}}
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {{app: web}}
  ports:
    - port: 80
"""


def config_map(name: str, value: str = "1") -> str:
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  value: \"{value}\"\n"


def web(replicas: int) -> str:
    return WEB.format(replicas=replicas)


def make_folder(root: Path) -> Path:
    """root/manifests with three nodes and a Deployment `web` of 2 replicas behind a Service."""
    manifests = root / "manifests"
    manifests.mkdir()
    (manifests / "nodes.yaml").write_text("---\n".join(NODES.format(n=n) for n in (1, 2, 3)))
    (manifests / "web.yaml").write_text(web(2))
    return manifests


def recon(*args: str, cwd: Path, check: int | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "engine.cli", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120)
    if check is not None:
        assert proc.returncode == check, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc


def state_of(cwd: Path) -> Any:
    """The latest snapshot of cwd/.recon, read the way `recon get` does (no lock)."""
    from engine.wal import open_store

    store = open_store(cwd / ".recon", readonly=True)
    try:
        return store.head
    finally:
        store.close()


def pods(snapshot: Any, app: str = "web") -> list:
    return [p for p in snapshot.list("", "Pod", "default")
            if (p["metadata"].get("labels") or {}).get("app") == app and not p["metadata"].get("deletionTimestamp")]


class LiveRecon:
    """`recon up manifests --json` in a folder: its events, and a clean stop."""

    def __init__(self, cwd: Path, *extra: str, json_lines: bool = True):
        self.cwd = cwd
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "engine.cli", "up", "manifests", "--rules", str(RULES), *extra,
             *(["--json"] if json_lines else [])],
            cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        self.events: queue.Queue = queue.Queue()
        self.seen: list[dict] = []
        self.stderr: list[str] = []
        if json_lines:
            threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=lambda: self.stderr.extend(self.proc.stderr), daemon=True).start()

    def wait_stderr(self, done: Callable[[str], bool], timeout: float = TIMEOUT) -> None:
        """Poll until `done(everything printed on stderr so far)` (10 ms steps, bounded)."""
        deadline = time.monotonic() + timeout
        while not done("".join(self.stderr)):
            assert self.proc.poll() is None, f"recon up exited {self.proc.returncode}: {''.join(self.stderr)}"
            assert time.monotonic() < deadline, f"timed out; stderr: {''.join(self.stderr)}"
            time.sleep(0.01)

    def _read_stdout(self) -> None:
        for line in self.proc.stdout:
            self.events.put(json.loads(line))
        self.events.put(None)

    def wait(self, match: Callable[[dict], bool], timeout: float = TIMEOUT) -> dict:
        """The next event that `match`es (earlier ones are kept in `seen`)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            try:
                event = self.events.get(timeout=max(0.0, left))
            except queue.Empty:
                raise AssertionError(f"no matching event in {timeout}s; seen: {self.seen}\n"
                                     f"stderr: {''.join(self.stderr)}") from None
            if event is None:
                raise AssertionError(f"recon up exited {self.proc.wait()}; seen: {self.seen}\n"
                                     f"stderr: {''.join(self.stderr)}")
            self.seen.append(event)
            if match(event):
                return event

    def ready(self) -> dict:
        return self.wait(lambda e: e["event"] == "ready")

    def applied(self, *files: str) -> dict:
        """The next change applied from the folder that names `files`."""
        return self.wait(lambda e: e["event"] == "applied" and e["trigger"] == "files"
                         and set(files) <= set(e["files"]))

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=60)
        return code

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
