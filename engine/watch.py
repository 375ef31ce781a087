"""Watching folders for edits (watchdog), with a debounce for editors' bursts.

`FolderWatch(folder, suffixes)` notes which files under `folder` with one
of `suffixes` changed (created, modified, deleted, or either end of a move:
an editor's save-to-temp-then-rename shows up as the file it replaced).
`take()` returns them once the burst has settled: no further change for
`quiet` seconds, or `longest` seconds after the burst began, so a folder
that never stops changing is still applied.  The caller polls it from its
own loop, so everything that changes state stays on one thread.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer


class _Handler(FileSystemEventHandler):
    def __init__(self, watch: "FolderWatch"):
        self.watch = watch

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return  # reads (inotify's IN_OPEN, IN_CLOSE_NOWRITE) change nothing
        for path in (event.src_path, getattr(event, "dest_path", "") or ""):
            path = path.decode() if isinstance(path, bytes) else str(path)
            if path and path.endswith(self.watch.suffixes):
                self.watch.touch(path)


class FolderWatch:
    """Change notifications for one folder tree, debounced."""

    def __init__(self, folder: Path, suffixes: tuple[str, ...], quiet: float = 0.2, longest: float = 2.0,
                 wake: threading.Event | None = None):
        self.folder, self.suffixes, self.quiet, self.longest = Path(folder), suffixes, quiet, longest
        self.wake = wake  # set on every change, so a sleeping loop notices at once
        self._lock = threading.Lock()
        self._first: float | None = None
        self._last: float | None = None
        self._paths: set[str] = set()
        self._observer = Observer()
        self._observer.schedule(_Handler(self), str(folder), recursive=True)
        self._observer.daemon = True
        self._observer.start()

    def touch(self, path: str = "") -> None:
        with self._lock:
            now = time.monotonic()
            self._first = now if self._first is None else self._first
            self._last = now
            if path:
                self._paths.add(self._relative(path))
        if self.wake is not None:
            self.wake.set()

    def _relative(self, path: str) -> str:
        try:
            return Path(path).resolve().relative_to(self.folder.resolve()).as_posix()
        except ValueError:
            return path

    def wait_time(self) -> float | None:
        """Seconds until the current burst settles (None: nothing pending)."""
        with self._lock:
            if self._last is None:
                return None
            now = time.monotonic()
            return max(0.0, min(self._last + self.quiet, self._first + self.longest) - now)

    def take(self) -> frozenset[str] | None:
        """The files changed by a settled burst (once), else None."""
        with self._lock:
            if self._last is None:
                return None
            now = time.monotonic()
            if now - self._last < self.quiet and now - self._first < self.longest:
                return None
            paths, self._paths = frozenset(self._paths), set()
            self._first = self._last = None
            return paths

    def settled(self) -> bool:
        """True once after a burst of changes has settled."""
        return self.take() is not None

    def close(self) -> None:
        self._observer.stop()
        self._observer.join(timeout=2)
