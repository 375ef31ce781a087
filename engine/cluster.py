"""A state folder opened for running: the store, the clock, the API server and the engine.

`Cluster` is what `recon up` runs and what the HTTP API serves; `sync` is
the step a live run repeats for each settled batch of edits to the folder.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from .apiserver import APIServer
from .clock import EPOCH, SimClock, WallClock
from .errors import UsageError
from .manifests import ApplyResult, apply_folder, load_folder


def bundled(name: str) -> Path:
    """A folder shipped inside the package (engine/defaults/NAME)."""
    return Path(str(resources.files("engine") / "defaults" / name))


def local_or_bundled(name: str) -> Path:
    """./NAME when it exists, else the copy bundled with recon."""
    return Path(name) if Path(name).is_dir() else bundled(name)


def rules_folder(given: str | None) -> Path:
    """The rules folder of a command's --rules DIR (default: ./rules, else the bundled rules).

    A DIR that is not a folder is a usage mistake (exit 2): run without the
    rules it meant, a command would answer for a cluster with no controllers.
    """
    if not given:
        return local_or_bundled("rules")
    folder = Path(given)
    if not folder.is_dir():
        raise UsageError(f"{folder}: no such rules folder" if not folder.exists() else
                         f"{folder}: not a folder (--rules takes the folder that holds the .rules files)")
    return folder


def has_rules(folder: Path | None) -> bool:
    return folder is not None and folder.exists() and any(folder.rglob("*.rules"))


class WriterGate:
    """Lets writers that wait for the cluster's lock in between the rounds of a long reconcile run.

    The engine holds the lock for a whole run (a scale-up of a thousand pods
    takes seconds); an HTTP write arriving meanwhile would wait for all of it.
    Writers `enter()` through the gate, which counts them; between two rounds
    the engine calls `let_in()`, which hands the lock over while any are
    waiting (for at most `patience` seconds, so a stream of writers cannot
    stall it), then takes it back.  A write let in is just another change the
    engine picks up in its next round.
    """

    def __init__(self, lock: Any, patience: float = 0.5):
        self.lock, self.patience = lock, patience
        self.waiting = 0
        self._changed = threading.Condition(threading.Lock())

    @contextmanager
    def enter(self) -> Iterator[None]:
        with self._changed:
            self.waiting += 1
        try:
            self.lock.acquire()
        finally:
            with self._changed:
                self.waiting -= 1
                self._changed.notify_all()
        try:
            yield
        finally:
            self.lock.release()

    def let_in(self) -> None:
        """Called by the lock's holder: release it while writers wait (only when held once)."""
        if not self.waiting or not _held_once(self.lock):
            return
        self.lock.release()
        try:
            with self._changed:
                self._changed.wait_for(lambda: self.waiting == 0, timeout=self.patience)
        finally:
            self.lock.acquire()


def _held_once(lock: Any) -> bool:
    """Whether the calling thread holds the RLock exactly once (so releasing it frees it)."""
    return lock._is_owned() and lock._recursion_count() == 1


class Cluster:
    """A state folder opened for running: store, clock, apiserver and the rule engine.

    `sync(folder)` is the step a live run repeats for each batch of changes
    to the folder: apply it, then converge.
    """

    def __init__(self, store: Any, rules_dir: Path | None, *, simulated: bool):
        self.store = store
        self.rules_dir = rules_dir
        # Every change to the cluster (applying the folder, a reconcile run, a rule
        # reload, an HTTP request) happens while holding this lock.  A long
        # reconcile run lets waiting writers in between its rounds.
        self.lock = threading.RLock()
        self.gate = WriterGate(self.lock)
        start = store.head.time if store.revision else EPOCH
        self.clock = SimClock(start) if simulated else WallClock(floor=store.head.time)
        store.clock = self.clock.now
        self.api = APIServer(store, self.clock)
        rules = self._rules(rules_dir)  # first: a broken rule file refuses the start before anything is written
        self.api.bootstrap()
        self.engine = self._engine(rules)

    @staticmethod
    def _rules(rules_dir: Path | None) -> Any:
        """The compiled rules, or None when there are none (then the folder is only applied)."""
        try:
            from .rules import load_rules
        except ImportError:
            return None
        return load_rules(rules_dir) if has_rules(rules_dir) else None

    def _engine(self, rules: Any) -> Any:
        """The rule engine running `rules`, or None without rules."""
        if rules is None:
            return None
        from .reconcile import Engine

        engine = Engine(self.api, rules, self.clock)
        engine.between_rounds = self.gate.let_in
        return engine

    def reload_rules(self) -> list:
        """Recompile the rules folder and swap it in; broken files keep their last good version."""
        from .rules import reload_rules

        if self.engine is None:
            return []
        rules, errors = reload_rules(self.rules_dir, self.engine.rules)
        self.engine.set_rules(rules)
        return errors

    def sync(self, folder: Path, until: float | None,
             applied: Callable[[ApplyResult], None] | None = None,
             leave: frozenset = frozenset()) -> tuple[ApplyResult, Any]:
        """Apply `folder` as one batch and converge (until `until`, simulated clocks).

        `applied(result)` is called between the two: writers let in during the
        run (between engine rounds) already meet what the folder defines.
        `leave`: keys of objects the folder defines but is not to touch now.
        """
        with self.store.batch():
            result = apply_folder(self.api, load_folder(folder), leave)
        if applied is not None:
            applied(result)
        run = self.engine.run(until=until) if self.engine is not None else None
        return result, run
