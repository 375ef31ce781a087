"""Watching folders for edits (watchdog), with a debounce for editors' bursts.

`FolderWatch(folder, suffixes)` notes that something under `folder` with
one of `suffixes` changed; `settled(now)` answers True once, when no further
change has arrived for `quiet` seconds.  The caller polls it from its own
loop, so everything that changes state stays on one thread.
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
        paths = [event.src_path, getattr(event, "dest_path", "") or ""]
        if any(str(p).endswith(self.watch.suffixes) for p in paths if p):
            self.watch.touch()


class FolderWatch:
    """Change notifications for one folder tree, debounced."""

    def __init__(self, folder: Path, suffixes: tuple[str, ...], quiet: float = 0.2):
        self.folder, self.suffixes, self.quiet = folder, suffixes, quiet
        self._lock = threading.Lock()
        self._last: float | None = None
        self._observer = Observer()
        self._observer.schedule(_Handler(self), str(folder), recursive=True)
        self._observer.daemon = True
        self._observer.start()

    def touch(self) -> None:
        with self._lock:
            self._last = time.monotonic()

    def settled(self) -> bool:
        """True once after a burst of changes has been quiet for `quiet` seconds."""
        with self._lock:
            if self._last is None or time.monotonic() - self._last < self.quiet:
                return False
            self._last = None
            return True

    def close(self) -> None:
        self._observer.stop()
        self._observer.join(timeout=2)
