"""The live `recon up`: follow the manifests and rules folders until stopped.

`serve(cluster, folder, reporter)` applies the folder, converges, and then
loops on the wall clock:

- a settled burst of edits to the manifests folder (watchdog, debounced: an
  editor's save-to-temp-then-rename, or fifty files copied at once, is one
  batch) is applied as one change and converged (`Cluster.sync`);
- a settled edit to the rules folder hot-reloads the rules (broken files
  keep their last good version) and converges;
- drift: a write by anyone but the folder (a kubectl over HTTP, a rule) that
  changed a field a manifest owns — one its last applied configuration sets
  — or deleted an object the folder defines is reported, and the folder is
  applied again, which restores it (the three-way apply sets every owned
  field that differs).  An object that keeps drifting is restored a few
  times, then left alone (with a warning) until the folder changes;
- otherwise the engine runs for the timers that are due and for writes made
  over the HTTP API.

Every change holds `cluster.lock` (the HTTP server's threads take it too).
SIGINT and SIGTERM stop the loop between changes; the caller closes the
store, which flushes the history log.  A second signal interrupts at once.
"""

from __future__ import annotations

import signal
import threading
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import attrs

from . import autoscaling_v1
from .apierrors import APIError
from .errors import ReconError
from .manifests import APPLYSET, PART_OF, SOURCE, SUFFIXES, ApplyResult, last_applied, object_ref, three_way_patch
from .objects import freeze, get_path, thaw
from .plan import Recorder, effects, recording
from .report import Batch, Drift, Reporter, cluster_summary
from .request import drop_unset
from .watch import FolderWatch

TICK = 5.0  # the longest the loop sleeps; folder edits, others' writes and signals wake it earlier
MAX_RESTORES = 3  # an object restored this often since its file last changed is left alone


class DriftWatch:
    """A store listener that notes writes by others to fields the folder owns."""

    def __init__(self, cluster: Any, wake: threading.Event | None = None):
        self.cluster = cluster
        self.wake = wake or threading.Event()  # set on every write the folder did not make
        self.owned: set = set()  # keys the folder defined at its last apply
        self.restores: dict = {}
        self.given_up: list = []  # objects `take` stopped restoring, not reported yet
        self._lock = threading.Lock()
        self._pending: list[tuple[Any, Drift]] = []  # (key, drift)
        self._keys: set = set()
        self._last: float | None = None

    def __call__(self, snap: Any, events: tuple, record: Any) -> None:
        if record.actor.startswith("manifests:"):
            return
        self.wake.set()  # e.g. an HTTP write: the loop recomputes its next deadline
        for event in events:
            if event.key not in self.owned:
                continue
            drift = self._drift(event, record.actor)
            if drift is not None:
                with self._lock:
                    self._pending.append((event.key, drift))
                    self._keys.add(event.key)
                    self._last = time.monotonic()

    def _drift(self, event: Any, actor: str) -> Drift | None:
        ref = object_ref(event.key)
        if event.new is None:
            return None if _expired(event.key, event.old) else Drift(ref, actor, ())
        if not get_path(event.new, "metadata", "annotations", SOURCE):
            return None
        last = last_applied(event.new)
        if last is None:
            return None
        rtype = self.cluster.api.registry.get(event.key[0], event.key[1])
        if rtype is None or rtype.has_status:
            last = last.discard("status")
        if rtype is not None:  # as the API server stored the file's object (no `env: []` to differ by)
            body = thaw(last)
            drop_unset(rtype, body)
            last = freeze(body)
        strategic = rtype is not None and not rtype.is_custom
        new, old = event.new, event.old
        if autoscaling_v1.is_v1(last):  # an autoscaling/v1 file: compared with the v1 view
            new, old = autoscaling_v1.to_v1(new), old and autoscaling_v1.to_v1(old)
        drifted = _paths(three_way_patch(new, last, last, strategic))
        if old is not None:  # a field already off the folder's value is this writer's only if it changed it
            changed = _paths(three_way_patch(new, {}, old, strategic))
            drifted = [f for f in drifted if any(_overlap(f, c) for c in changed)]
        return Drift(ref, actor, tuple(drifted)) if drifted else None

    def own(self, result: ApplyResult, left: frozenset = frozenset()) -> None:
        """Watch the objects an apply of the folder defined (before the engine runs: writes let in
        meanwhile are drift too), but those in `left`."""
        self.owned = {c.key for c in result.changes if c.action != "pruned"} - left

    def wait_time(self, quiet: float) -> float | None:
        with self._lock:
            return None if self._last is None else max(0.0, self._last + quiet - time.monotonic())

    def take(self, quiet: float) -> list[Drift]:
        """The drifts of a settled burst of writes (once) to restore: those of objects restored
        fewer than MAX_RESTORES times since the folder last changed."""
        with self._lock:
            if self._last is None or time.monotonic() - self._last < quiet:
                return []
            pending, keys = self._pending, self._keys
            self._pending, self._keys, self._last = [], set(), None
        for key in keys:
            self.restores[key] = self.restores.get(key, 0) + 1
            if self.restores[key] == MAX_RESTORES + 1:
                self.given_up.append(key)
        left = self.left_alone()
        return [drift for key, drift in pending if key not in left]

    def left_alone(self) -> frozenset:
        """The objects the folder no longer restores (until it changes): drifted once too often."""
        return frozenset(key for key, n in self.restores.items() if n > MAX_RESTORES)


def _expired(key: Any, old: Any) -> bool:
    """Was `old` a finished Job with ttlSecondsAfterFinished, which its TTL deletes (job.rules
    `ttl_after_finished`)?  That deletion is the Job's own course, not drift: restored, the Job
    would run again, and again at each expiry."""
    if key[:2] != ("batch", "Job") or old is None or get_path(old, "spec", "ttlSecondsAfterFinished") is None:
        return False
    return any(c.get("type") in ("Complete", "Failed") and c.get("status") == "True"
               for c in get_path(old, "status", "conditions") or ())


def _overlap(a: str, b: str) -> bool:
    """Is one dotted field path the other or inside it?"""
    return a == b or a.startswith(b + ".") or b.startswith(a + ".")


def _paths(patch: Any, prefix: str = "") -> list[str]:
    """The dotted field paths a patch sets."""
    if not isinstance(patch, dict) or not patch:
        return [prefix] if prefix else []
    found = []
    for key, value in sorted(patch.items()):
        name = key.split("/", 1)[-1] if key.startswith("$") else key
        found += _paths(value, f"{prefix}.{name}" if prefix else name) if isinstance(value, dict) else \
            [f"{prefix}.{name}" if prefix else name]
    return found


class Live:
    """The live loop's state: the cluster, the watches, and what to do next."""

    def __init__(self, cluster: Any, folder: Path, reporter: Reporter, *, state: str = ".recon",
                 quiet: float = 0.2, wake: threading.Event | None = None):
        self.cluster, self.folder, self.reporter, self.state = cluster, Path(folder), reporter, state
        self.quiet = quiet
        self.wake = wake or threading.Event()  # ends the loop's sleep early
        self._failed = ""  # the last message of a background run that did not converge
        self._shown_failures: set = set()  # the rule failures reported and still failing (`failure_ids`)
        self.drift = DriftWatch(cluster, self.wake)
        self._between = self._record()  # the commits since the loop's last change: the HTTP API's
        self.manifests = _watch(self.folder, SUFFIXES, quiet, self.wake)
        self.rules = None
        if cluster.engine is not None and cluster.rules_dir is not None:
            self.rules = _watch(cluster.rules_dir, (".rules",), quiet, self.wake)
        cluster.store.listeners.append(self.drift)

    def close(self) -> None:
        self.manifests.close()
        if self.rules is not None:
            self.rules.close()
        for listener in (self.drift, self._between):
            if listener in self.cluster.store.listeners:
                self.cluster.store.listeners.remove(listener)

    def _record(self) -> Recorder:
        recorder = Recorder(self.cluster.store)
        self.cluster.store.listeners.append(recorder)
        return recorder

    def _batch(self, trigger: str, files: tuple[str, ...], sync: Any) -> Batch:
        """`recorded_batch`, with the writes others made since the loop's last change (kubectl over
        the HTTP API) counted in: their revisions and effects shown with what the engine made of them."""
        earlier, self._between = self._between, None
        try:
            return recorded_batch(self.cluster, self.folder, trigger, files, sync, earlier)
        finally:
            self.cluster.store.listeners.remove(earlier)
            self._between = self._record()

    # ---------------------------------------------------------------- loop
    def start(self) -> None:
        rules = str(self.cluster.rules_dir) if self.cluster.engine is not None else None
        self.reporter.started(str(self.folder), rules, self.state)
        batch = self.apply("start", ())
        self._shown_failures = set(batch.failing)
        self.reporter.ready(batch, cluster_summary(self.cluster.store.head))

    def timeout(self) -> float:
        """How long the loop may sleep: until a burst settles, a timer is due, or one tick."""
        waits = [TICK, self.manifests.wait_time(), self.drift.wait_time(self.quiet)]
        if self.rules is not None:
            waits.append(self.rules.wait_time())
        engine = self.cluster.engine
        deadline = engine.next_deadline() if engine is not None else None
        if deadline is not None:
            waits.append(deadline - self.cluster.clock.now())
        return max(0.01, min(w for w in waits if w is not None))

    def step(self) -> None:
        """Do whatever is due: reload rules, apply a settled batch of edits or drift, fire timers."""
        try:
            if self.rules is not None and self.rules.take() is not None:
                self.reload_rules()
            files = self.manifests.take()
            if files is not None:
                self.drift.restores.clear()
                self._show(self.apply("files", tuple(sorted(files))))
                return
            drifts = self.drift.take(self.quiet)
            given_up, self.drift.given_up = self.drift.given_up, []
            for key in given_up:
                self.reporter.warning(f"{key[1]} {key[3]} keeps being changed by another writer; "
                                      "recon stops restoring it until the folder changes")
            if drifts:
                self.reporter.drifted(drifts)
                self._show(self.apply("drift", ()))
                return
            self.background()
        except (ReconError, APIError) as exc:
            self.reporter.warning(str(exc))

    def apply(self, trigger: str, files: tuple[str, ...]) -> Batch:
        """Apply the folder as one change and converge; what it did."""
        cluster = self.cluster
        left = self.drift.left_alone()  # (drifted too often: neither restored nor watched)

        def sync() -> tuple[ApplyResult, Any]:
            return cluster.sync(self.folder, None, lambda result: self.drift.own(result, left), leave=left)

        with cluster.lock, self.reporter.converging("converging…"):
            return self._batch(trigger, files, sync)

    def reload_rules(self) -> None:
        with self.cluster.lock:
            errors = self.cluster.reload_rules()
        self.reporter.rules_reloaded(errors)
        self._show(self.converge("rules"), always=False)

    def background(self) -> None:
        """Run the engine for due timers and others' writes; show it only when it did something visible
        (a failure to converge once per message, not at every tick: rules that keep fighting write
        at every tick, and say nothing new)."""
        batch = self.converge("engine")
        failed = "" if batch.converged else batch.message
        repeated = bool(failed) and failed == self._failed
        self._show(batch, always=bool(failed) and not repeated, repeated=repeated)

    def _show(self, batch: Batch, always: bool = True, repeated: bool = False) -> None:
        """Report a batch with the rule failures not reported yet (a failure that went away and
        comes back is new again); one that wrote nothing, or only went on failing to converge as
        reported (`repeated`), is shown only with new failures, or `always`."""
        serious = batch.serious + (False,) * (len(batch.failures) - len(batch.serious))
        new = [(text, grave) for text, who, grave in zip(batch.failures, batch.failing, serious)
               if who not in self._shown_failures]
        self._shown_failures = set(batch.failing)  # (a run's failures are all that fail now)
        self._failed = "" if batch.converged else batch.message
        # (the engine's own timers alone, a lease renewed or an event recorded, are not news)
        visible = batch.writers or batch.effects.lines or (batch.revisions and batch.trigger != "engine")
        if always or new or not repeated and visible:
            self.reporter.applied(attrs.evolve(batch, failures=tuple(t for t, _ in new),
                                               serious=tuple(s for _, s in new)))

    def converge(self, trigger: str) -> Batch:
        cluster = self.cluster

        def run() -> tuple[ApplyResult, Any]:
            return ApplyResult(), (cluster.engine.run(until=cluster.clock.now()) if cluster.engine is not None else None)

        with cluster.lock:
            return self._batch(trigger, (), run)


def sync_once(cluster: Any, folder: Path, until: float) -> tuple[ApplyResult, Any, list[str]]:
    """`cluster.sync` for `recon up --once`, and what its run changed of the fields the folder
    sets: nothing restores them before the process exits, and the next run's apply sets them back,
    so the folder and the writer take turns at every run.  One warning per object and writer."""
    watch = DriftWatch(cluster)
    cluster.store.listeners.append(watch)
    try:
        result, run = cluster.sync(folder, until, watch.own)
    finally:
        cluster.store.listeners.remove(watch)
    by_writer: dict = {}
    for key, drift in watch._pending:  # (every write of the run, none restored)
        fields = by_writer.setdefault((key, drift.actor), [])
        fields += [f for f in drift.fields if f not in fields]
    return result, run, [_overridden(folder, cluster.store.head.get(key), key, actor, fields)
                         for (key, actor), fields in by_writer.items()]


def _overridden(folder: Path, obj: Any, key: Any, actor: str, fields: list[str]) -> str:
    source = get_path(obj, "metadata", "annotations", SOURCE)
    source = Path(folder, source) if source else folder
    if not fields:
        return f"{object_ref(key)}, which {source} defines, was deleted by {actor}: the next run creates it again"
    them = "it" if len(fields) == 1 else "them"
    return (f"{object_ref(key)}: {', '.join(fields)}, which {source} sets, changed by {actor}: the next run "
            f"of the folder sets {them} back and {actor} changes {them} again")


def recorded_batch(cluster: Any, folder: Path, trigger: str, files: tuple[str, ...], sync: Any,
                   earlier: Recorder | None = None) -> Batch:
    """What `sync()` (an apply and/or an engine run, giving the ApplyResult and the RunResult) did
    to `cluster`'s store, as one Batch to report; with `earlier`, a recorder listening since some
    point before, what the commits it holds already (others' writes) did too: an engine run that
    follows them is the `api` trigger, naming their writers."""
    started = time.monotonic()
    with nullcontext(earlier) if earlier is not None else recording(cluster.store) as recorder:
        writers = tuple(sorted(recorder.actors))  # (what it holds before the run: others' writes)
        result, run = sync()
        found = effects(recorder.before, cluster.store.head, {c.key for c in result.changes})
    return Batch("api" if writers and trigger == "engine" else trigger, files, result, recorder.revisions, found,
                 run is None or run.converged, "" if run is None else run.message, time.monotonic() - started,
                 _failures(run, cluster.store.head, folder), failure_ids(run), writers, _serious(run))


def _watch(folder: Path, suffixes: tuple[str, ...], quiet: float, wake: threading.Event) -> FolderWatch:
    try:
        return FolderWatch(folder, suffixes, quiet=quiet, wake=wake)
    except OSError as exc:  # e.g. the system's limit of inotify watches
        raise ReconError(f"{folder}: cannot watch the folder for changes: {exc}") from None


def _failures(run: Any, snapshot: Any, folder: Path) -> tuple[str, ...]:
    return tuple(describe_failure(f, snapshot, folder) for f in run.failures) if run is not None else ()


def describe_failure(failure: Any, snapshot: Any, folder: Path) -> str:
    """A failure of a run as `recon up` shows it: where it happened in the rule file, unless it is a
    write the cluster refused (a quota) to one of the rules bundled with recon: then what was
    refused and why, on the object the rule was evaluating and the object of the folder it comes
    from, as upstream's controllers record it (`FailedCreate`: `Error creating: …`).  The rule's
    line is recon's business there; the user's is their objects."""
    from .reconcile import RuleFailure, bundled_rules

    if not (isinstance(failure, RuleFailure) and failure.refused and bundled_rules(failure.path)):
        return failure.format()
    namespace = failure.key[2]
    what = object_ref(failure.key) + (f" in namespace {namespace}" if namespace not in ("", "default") else "")
    origin, source = _origin(snapshot, failure.key)
    if origin is not None and origin != failure.key:
        what += f" of {object_ref(origin)}"
    if source:
        what += f" ({Path(folder, source)})"
    return f"{what}: {'Error creating: ' if failure.creating else ''}{failure.message}"


def _origin(snapshot: Any, key: Any) -> tuple[Any, str | None]:
    """The object of the manifests folder that `key`'s object comes from: itself or the topmost of
    its controllers (up the owner references) that the folder applied, with its file; else the
    topmost owner, and None.  (A ReplicaSet carries its Deployment's annotations, the source too:
    the folder's own objects are those labelled part of its applyset.)"""
    chain: list = []
    while key is not None and key not in chain and snapshot.get(key) is not None:
        chain.append(key)
        refs = get_path(snapshot.get(key), "metadata", "ownerReferences") or ()
        ref = next((r for r in refs if r.get("controller")), refs[0] if refs else None)
        if ref is None:
            break
        group = str(ref.get("apiVersion") or "").rpartition("/")[0]
        key = next((k for k in ((group, ref.get("kind"), key[2], ref.get("name")),
                                (group, ref.get("kind"), "", ref.get("name"))) if snapshot.get(k) is not None), None)
    for found in reversed(chain):
        meta = snapshot.get(found).get("metadata") or {}
        source = (meta.get("annotations") or {}).get(SOURCE)
        if source and (meta.get("labels") or {}).get(PART_OF) == APPLYSET:
            return found, source
    return (chain[-1] if chain else None), None


def _serious(run: Any) -> tuple[bool, ...]:
    return tuple(rule_error(f) for f in run.failures) if run is not None else ()


def rule_error(failure: Any) -> bool:
    """Is this failure of a run the rules' own (an evaluation that raised, a write the rule should
    not have made, a fight held back), rather than the cluster's refusal (a quota, a namespace
    being deleted) or fields the API server drops?  `recon up --once` fails on those; the others
    are warnings, as a controller's retries would be."""
    from .reconcile import RuleFailure

    return isinstance(failure, RuleFailure) and not failure.refused


def failure_ids(run: Any) -> tuple:
    """Who failed where, per failure of `run` (the rule, its object, the position in its file): a
    failure is the same while these are, whatever its message says (a refused create names the
    pod it tried, a new name at each retry)."""
    if run is None:
        return ()
    return tuple((type(f).__name__, f.rule, f.key, f.path, f.line, f.col) for f in run.failures)


def serve(cluster: Any, folder: Path, reporter: Reporter, *, state: str = ".recon") -> int:
    """Apply `folder`, converge, and follow edits until SIGINT or SIGTERM; 0 after a clean stop."""
    stop, wake = threading.Event(), threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        if stop.is_set():
            raise KeyboardInterrupt  # a second Ctrl-C: stop now
        stop.set()  # (nothing but this handler takes its lock: the loop only reads the flag)
        # `wake` is set from another thread: the handler runs in the main thread, which may hold
        # wake's lock at that very moment (inside wait or clear), and setting it here would then
        # wait for that lock forever
        threading.Thread(target=wake.set, daemon=True).start()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    live = Live(cluster, folder, reporter, state=state, wake=wake)
    try:
        live.start()
        while not stop.is_set():
            wake.wait(live.timeout())
            wake.clear()
            if not stop.is_set():
                live.step()
    finally:
        live.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    reporter.stopped(cluster.store.revision)
    return 0
