"""A state folder opened for running: the store, the clock, the API server and the engine.

`Cluster` is what `recon up` runs and what the HTTP API serves; `sync` is
the step a live run repeats for each settled batch of edits to the folder.
"""

from __future__ import annotations

import threading
from importlib import resources
from pathlib import Path
from typing import Any

from .apiserver import APIServer
from .clock import EPOCH, SimClock, WallClock
from .manifests import ApplyResult, apply_folder, load_folder


def bundled(name: str) -> Path:
    """A folder shipped inside the package (engine/defaults/NAME)."""
    return Path(str(resources.files("engine") / "defaults" / name))


def local_or_bundled(name: str) -> Path:
    """./NAME when it exists, else the copy bundled with recon."""
    return Path(name) if Path(name).is_dir() else bundled(name)


def has_rules(folder: Path | None) -> bool:
    return folder is not None and folder.exists() and any(folder.rglob("*.rules"))


class Cluster:
    """A state folder opened for running: store, clock, apiserver and the rule engine.

    `sync(folder)` is the step a live run repeats for each batch of changes
    to the folder: apply it, then converge.
    """

    def __init__(self, store: Any, rules_dir: Path | None, *, simulated: bool):
        self.store = store
        self.rules_dir = rules_dir
        # Every change to the cluster (applying the folder, a reconcile run, a rule
        # reload, an HTTP request) happens while holding this lock.
        self.lock = threading.RLock()
        start = store.head.time if store.revision else EPOCH
        self.clock = SimClock(start) if simulated else WallClock(floor=store.head.time)
        store.clock = self.clock.now
        self.api = APIServer(store, self.clock)
        self.api.bootstrap()
        self.engine = self._engine(rules_dir)

    def _engine(self, rules_dir: Path | None) -> Any:
        """The rule engine, or None when there are no rules (then the folder is only applied)."""
        try:
            from .reconcile import Engine
            from .rules import load_rules
        except ImportError:
            return None
        if not has_rules(rules_dir):
            return None
        return Engine(self.api, load_rules(rules_dir), self.clock)

    def reload_rules(self) -> list:
        """Recompile the rules folder and swap it in; broken files keep their last good version."""
        from .rules import reload_rules

        if self.engine is None:
            return []
        rules, errors = reload_rules(self.rules_dir, self.engine.rules)
        self.engine.set_rules(rules)
        return errors

    def sync(self, folder: Path, until: float | None) -> tuple[ApplyResult, Any]:
        """Apply `folder` as one batch and converge (until `until`, simulated clocks)."""
        with self.store.batch():
            result = apply_folder(self.api, load_folder(folder))
        run = self.engine.run(until=until) if self.engine is not None else None
        return result, run
