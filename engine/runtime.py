"""The container runtime the kubelet rules drive, and its simulated implementation.

`ContainerRuntime` is the interface (upstream's CRI, cut to what the kubelet
rules use): `start` a pod's sandbox, `stop` it, report the `status` of its
containers, read their `logs`.  `SimulatedRuntime` is the default.

The simulation keeps the rules level-based and deterministic: it has no
state at all.  Every container's life is a pure function of

* the pod object: its containers, `spec.restartPolicy`, `status.startTime`
  (the moment the kubelet admitted the pod and created its sandbox: the
  origin of the timeline), `metadata.deletionTimestamp` and
  `deletionGracePeriodSeconds` (when a stop was asked for);
* the simulation annotations on the pod (its template's annotations land on
  the pod): `sim.recon.dev/start-after` (containers start that long after
  they may), `ready-after` (each run is Ready that long after it started),
  `exit-after` and `exit-code` (each run exits that long after it started,
  with that code; `exit-code` alone means `exit-after: 0s`), `stop-after`
  (how long a container takes to stop once asked; default 0s, capped by the
  grace period), `pull-error` (the registry fails each pull of the
  container's image: `pull_waiting`).  Each may be set for one container
  with a `.NAME` suffix: `sim.recon.dev/exit-code.migrate: "1"`.  The pod-wide values apply to the
  app containers; init containers run to completion at once (exit 0) unless
  their own `.NAME` keys say otherwise;
* the container's `command` and `args`, where no annotation says how it
  runs: a few commands whose course needs no real process are played out
  (`command_exit`): `sleep N` exits 0 after N seconds (`sleep infinity`
  never), `true`, `echo …` and the like exit 0 at once, `false` exits 1,
  `exit K` exits K, also one after another in `sh -c "…"` (`;`, `&&`,
  newlines).  Any other command (or none: the image's own) runs until
  stopped, as a server does;
* the kubelet's record of the app containers it restarted because their
  definition changed (`kubectl set image pod/...`): the annotation
  `sim.recon.dev/restarted.NAME`, the moments of those restarts (RFC 3339,
  separated by spaces), written by the kubelet rules (`runs`);
* for an ephemeral container (`kubectl debug`), the moment it started, as its
  status records it (`status.ephemeralContainerStatuses`); one the status
  does not show yet starts at `now`, when the kubelet first sees it in an
  admitted pod (`ephemeral_start`);
* `now`.

From those it derives the whole timeline: init containers one after the
other, then the app containers; runs, exits, and restarts as the restart
policy says (`Always`; `OnFailure` on a non-zero code; `Never`; init
containers restart on failure unless the pod's policy is `Never`;
ephemeral containers run beside them, never ready and never restarted), with
the kubelet's crash-loop back-off: the first restart at once, then 10 s,
doubling to 5 min, reset after a run of more than 10 min (flowcontrol.Backoff
as kuberuntime uses it).

`now` reaches this module as the rule's `now`, a `TimeVal` (see
engine/dsl/runtime.py): every boundary is tested as `now >= moment`, so the
comparison that is still false records the next transition and the engine
wakes the rule exactly then, with no polling.  Times are never computed
*from* `now`, so a status is identical on every evaluation between two
transitions and the rules write only when something changed.

Logs are derived the same way: the lifecycle lines (started, ready, exited
with code, back-off, restarted) of the runs up to `now`.
"""

from __future__ import annotations

import hashlib
import shlex
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol

import attrs

from .apierrors import FieldError, invalid
from .objects import is_mapping, map_items
from .timeutil import format_time, parse_duration, parse_time

PREFIX = "sim.recon.dev/"
BACKOFF_INITIAL = 10.0
BACKOFF_MAX = 300.0
MAX_RUNS = 100_000  # a guard: a timeline never walks further than this
RESTARTED = "restarted"  # the kubelet's record of its restarts for a changed definition (restart_moments)


# What a runtime may read of a pod: its answers are a function of these parts (and `now`).  The
# engine evaluates a kubelet rule again after a change to its pod only when the change touches a
# part the rule reads (dsl.reads.anchor_reads), so a runtime must not read anything else.
POD_FIELDS = (
    ("metadata", "name"), ("metadata", "namespace"), ("metadata", "uid"), ("metadata", "annotations"),
    ("metadata", "deletionTimestamp"), ("metadata", "deletionGracePeriodSeconds"),
    ("spec",), ("status", "startTime"), ("status", "ephemeralContainerStatuses"),
)


class ContainerRuntime(Protocol):
    """What the kubelet needs from a container runtime (reading only POD_FIELDS of a pod)."""

    name: str
    version: str

    def start(self, pod: Mapping, now: float) -> float:
        """Create the pod's sandbox; the moment its timeline starts (its status.startTime)."""

    def stop(self, pod: Mapping) -> float:
        """The moment the containers of a pod being deleted have all stopped."""

    def status(self, pod: Mapping, now: float) -> dict:
        """{"initContainerStatuses": [...], "containerStatuses": [...], "ephemeralContainerStatuses": [...]}
        at `now` (None for a kind of container the pod does not have, but for containerStatuses)."""

    def logs(self, pod: Mapping, container: str, now: float) -> list[str]:
        """The lines container `container` has written up to `now`, each run's first line starting
        with one of RUN_STARTS (`kubectl logs --previous` finds the runs there)."""


# ------------------------------------------------------------------ controls


@attrs.frozen
class Controls:
    """How one simulated container behaves (from the pod's annotations)."""

    start_after: float = 0.0
    ready_after: float = 0.0
    exit_after: float | None = None  # None: runs until stopped
    exit_code: int = 0
    stop_after: float = 0.0
    restarted: tuple[float, ...] = ()  # when the kubelet restarted it for a changed definition
    kill_after: float = 0.0  # how long a run takes to stop then: stop_after, at most the grace period
    kill_code: int = 0  # its exit code: 0 when it stops in the grace period, 137 (SIGKILL) when not
    never_ready: bool = False  # an ephemeral container: never Ready (it serves nothing)
    pull_error: str | None = None  # what the registry answers a pull of its image (None: it pulls)


def _annotation(pod: Mapping, name: str, container: str, pod_wide: bool) -> str | None:
    notes = (pod.get("metadata") or {}).get("annotations") or {}
    own = notes.get(f"{PREFIX}{name}.{container}")
    if own is not None or not pod_wide:
        return own
    return notes.get(PREFIX + name)


def _seconds(value: str | None, key: str) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, parse_duration(str(value)))
    except ValueError:
        raise ValueError(f"annotation {PREFIX}{key}: {value!r} is not a duration like 5s or 1m30s") from None


_SIM_DURATIONS = ("start-after", "ready-after", "exit-after", "stop-after")
PULL_ERROR = "pull-error"


def control_errors(annotations: Any, path: str) -> list[FieldError]:
    """The errors of the controls among `annotations` (at `path`): each must be what it can read,
    a duration (`sim.recon.dev/exit-after: 10s`) or an exit code, pod-wide or for one container
    (`….NAME`).  A pod with one it cannot read would never start, nor stop when deleted."""
    errors: list[FieldError] = []
    if not annotations or not is_mapping(annotations):  # (most objects have none: no ABC check for them)
        return errors
    controls = sorted((k, v) for k, v in map_items(annotations) if type(k) is str and k.startswith(PREFIX))
    for key, value in controls:  # (in the order of their names: a map has none)
        if not isinstance(value, str):
            continue
        control = key[len(PREFIX):].split(".", 1)[0]
        if control in _SIM_DURATIONS:
            try:
                parse_duration(value)
            except ValueError:
                errors.append(invalid(f"{path}[{key}]", value, "must be a duration like 5s or 1m30s"))
        elif control == "exit-code" and not value.strip().lstrip("+-").isdigit():
            errors.append(invalid(f"{path}[{key}]", value, "must be an integer"))
        elif control == PULL_ERROR and not value.strip():
            errors.append(invalid(f"{path}[{key}]", value, 'must say what the registry answers, like "not found"'))
    return errors


def controls(pod: Mapping, container: str, init: bool = False, ephemeral: bool = False) -> Controls:
    """The simulation controls of one container of `pod` (an ephemeral container, like an init
    container, follows its own `.NAME` annotations only; without them it runs as its command says)."""
    def get(name: str) -> str | None:
        return _annotation(pod, name, container, pod_wide=not (init or ephemeral))

    code_text = get("exit-code")
    try:
        code = int(code_text) if code_text is not None else None
    except ValueError:
        raise ValueError(f"annotation {PREFIX}exit-code: {code_text!r} is not an integer") from None
    exit_after = _seconds(get("exit-after"), "exit-after")
    if exit_after is None and code is None:  # (no annotation: what its command does, if that is known)
        played = command_exit(argv(pod, container, init, ephemeral))
        if played is not None:
            exit_after, code = played
    if exit_after is None and (code is not None or init):
        exit_after = 0.0
    stop_after = _seconds(_annotation(pod, "stop-after", container, True), "stop-after") or 0.0
    grace = _grace(pod)
    return Controls(
        start_after=_seconds(get("start-after"), "start-after") or 0.0,
        ready_after=_seconds(get("ready-after"), "ready-after") or 0.0,
        exit_after=exit_after,
        exit_code=code if code is not None else 0,
        stop_after=stop_after,
        restarted=() if init or ephemeral else restart_moments(pod, container),
        kill_after=min(stop_after, grace),
        kill_code=0 if stop_after <= grace else 137,
        never_ready=ephemeral,
        pull_error=(get(PULL_ERROR) or "").strip() or None,
    )


def argv(pod: Mapping, container: str, init: bool = False, ephemeral: bool = False) -> tuple[str, ...]:
    """The container's command line: `command` then `args` (args alone replace the image's command,
    which the simulation takes to be empty, as busybox's and most base images' is)."""
    spec = pod.get("spec") or {}
    field = "ephemeralContainers" if ephemeral else "initContainers" if init else "containers"
    for c in spec.get(field) or ():
        if c.get("name") == container:
            return tuple(w for w in (*(c.get("command") or ()), *(c.get("args") or ())) if isinstance(w, str))
    return ()


_SHELLS = frozenset({"sh", "bash", "ash", "dash", "zsh"})
# Commands that end at once with status 0 whatever their arguments (their output is not simulated).
_AT_ONCE = frozenset({"true", ":", "echo", "printf", "date", "hostname", "env", "printenv", "pwd",
                      "whoami", "uname", "id", "ls"})
_SLEEP_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def command_exit(words: tuple[str, ...]) -> tuple[float, int] | None:
    """(seconds until it exits, exit code) of a container running `words`, for the commands the
    simulation plays out (see the module's docstring); None when it runs until stopped."""
    if not words:
        return None
    found = _COMMANDS.get(words)
    if found is None:
        if len(_COMMANDS) >= 4096:
            _COMMANDS.clear()
        found = _COMMANDS[words] = (_script(words),)
    return found[0]


_COMMANDS: dict[tuple[str, ...], tuple] = {}


def _script(words: tuple[str, ...]) -> tuple[float, int] | None:
    if words[0].rsplit("/", 1)[-1] in _SHELLS and len(words) >= 3 and words[1] == "-c":
        try:
            lexer = shlex.shlex(words[2].replace("\n", ";"), posix=True, punctuation_chars=";&|<>()")
            lexer.whitespace_split = True
            tokens = list(lexer)
        except ValueError:  # (an unclosed quote)
            return None
    else:
        tokens = list(words)
    elapsed, code, joined = 0.0, 0, ";"
    command: list[str] = []
    for token in [*tokens, ";"]:
        if token not in (";", "&&"):
            if set(token) <= set(";&|<>()"):  # a pipe, background, redirection or subshell: not played
                return None
            command.append(token)
            continue
        if command and (joined == ";" or code == 0):  # (`a && b` runs b only after a succeeded)
            step = _step(command, code)
            if step is None:
                return None
            seconds, code, ends = step
            elapsed += seconds
            if ends:
                return elapsed, code
        command, joined = [], token
    return elapsed, code


def _step(command: list[str], status: int) -> tuple[float, int, bool] | None:
    """(seconds, exit status, the script ends) of one command; None when it is not played out."""
    name, rest = command[0].rsplit("/", 1)[-1], command[1:]
    if name == "sleep":
        if not rest or "infinity" in rest:
            return None
        total = 0.0
        for word in rest:
            number, unit = word.rstrip("smhd"), word[len(word.rstrip("smhd")):]
            try:
                total += float(number) * _SLEEP_UNITS[unit]
            except (ValueError, KeyError):
                return None
        return total, 0, False
    if name == "exit":
        try:
            return 0.0, (int(rest[0]) if rest else status) & 0xFF, True
        except ValueError:
            return None
    if name == "false":
        return 0.0, 1, False
    if name in _AT_ONCE:
        return 0.0, 0, False
    return None


def restart_moments(pod: Mapping, container: str) -> tuple[float, ...]:
    """When the kubelet restarted app container `container` because its definition changed (its
    image: `kubectl set image`), from the annotation the kubelet rules write, RESTARTED + ".NAME"."""
    text = _annotation(pod, RESTARTED, container, pod_wide=False)
    if not text:
        return ()
    try:
        return tuple(sorted(parse_time(moment) for moment in str(text).split()))
    except ValueError:
        raise ValueError(f"annotation {PREFIX}{RESTARTED}.{container}: {text!r} is not a list of times "
                         "like 2026-01-01T00:00:05Z") from None


def _grace(pod: Mapping) -> float:
    grace = (pod.get("spec") or {}).get("terminationGracePeriodSeconds")
    return 30.0 if grace is None else max(0.0, float(grace))


# ------------------------------------------------------------------ timeline


@attrs.frozen
class Run:
    """One run of a container: started, maybe ready, maybe exited."""

    number: int  # 0 for the first run; the restartCount while it runs
    start: float
    ready: float | None  # the moment it turns Ready (None: never in this run)
    exit: float | None  # the moment it exits (None: never)
    code: int
    killed: float | None = None  # when the kubelet stopped it for a changed definition (None: it was not)


@attrs.frozen
class Restart:
    """What happens after a run exits: a restart at `at` after waiting `backoff`."""

    at: float
    backoff: float  # 0 for an immediate restart


def restarts(policy: str, code: int) -> bool:
    return policy == "Always" or (policy == "OnFailure" and code != 0)


def runs(ctl: Controls, first_start: float, policy: str) -> Iterator[tuple[Run, Restart | None]]:
    """Every run of a container from `first_start` on, each with the restart that follows it.

    A restart for a changed definition (`ctl.restarted`, computePodActions) stops the run going
    then, whatever the restart policy, and the next starts as soon as it has stopped; a container
    waiting out a back-off starts at once.  Either way the back-off starts afresh (upstream keys it
    by the container's hash).  A change after the container stopped for good changes nothing.
    """
    changes = iter(ctl.restarted)
    change = next(changes, None)
    start, backoff, last_update = first_start, None, None
    for number in range(MAX_RUNS):
        while change is not None and change <= start:  # seen while it was starting or stopping
            change = next(changes, None)
        exit_at, code, killed = None if ctl.exit_after is None else start + ctl.exit_after, ctl.exit_code, None
        if change is not None and (exit_at is None or change < exit_at):
            killed, exit_at, code = change, change + ctl.kill_after, ctl.kill_code
            change = next(changes, None)
        ready_at = None if ctl.never_ready else start + ctl.ready_after
        if exit_at is not None and ready_at is not None and ready_at >= exit_at and ctl.ready_after > 0:
            ready_at = None
        run = Run(number, start, ready_at, exit_at, code, killed)
        if killed is not None:
            restart, backoff = Restart(exit_at, 0.0), None
        elif exit_at is None or not restarts(policy, code):
            yield run, None
            return
        # flowcontrol.Backoff: no entry (or one idle for > 2·max) restarts at once.
        elif backoff is None or exit_at - last_update > 2 * BACKOFF_MAX:
            restart = Restart(exit_at, 0.0)
            backoff = BACKOFF_INITIAL
        else:
            restart = Restart(exit_at + backoff, backoff)
            backoff = min(backoff * 2, BACKOFF_MAX)
        if change is not None and change < restart.at:  # changed while backing off: started at once
            restart, backoff = Restart(change, restart.backoff), None
        last_update = restart.at
        yield run, restart
        start = restart.at


# ------------------------------------------------------------------ statuses


def container_id(pod: Mapping, name: str, number: int) -> str:
    uid = (pod.get("metadata") or {}).get("uid") or ""
    return "sim://" + hashlib.sha256(f"{uid}/{name}/{number}".encode()).hexdigest()


def image_ref(image: str | None) -> str:
    """The image as a runtime reports it: docker.io/library/nginx:1.27."""
    image = image or ""
    first, slash, _rest = image.partition("/")
    if not slash:
        image = "docker.io/library/" + image
    elif "." not in first and ":" not in first and first != "localhost":
        image = "docker.io/" + image
    if ":" not in image.rpartition("/")[2] and "@" not in image:
        image += ":latest"
    return image


def image_id(image: str | None) -> str:
    ref = image_ref(image)
    repo = ref.rpartition("@")[0] or ref.rsplit(":", 1)[0]
    return f"{repo}@sha256:" + hashlib.sha256(ref.encode()).hexdigest()


def go_duration(seconds: float) -> str:
    """A duration as Go prints it: 10s, 1m20s, 5m0s."""
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{secs}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes}m{secs}s"


def _terminated(pod: Mapping, name: str, run: Run) -> dict:
    return {"exitCode": run.code, "reason": "Completed" if run.code == 0 else "Error",
            "startedAt": format_time(run.start), "finishedAt": format_time(run.exit),
            "containerID": container_id(pod, name, run.number)}


@attrs.frozen
class Outcome:
    """A container's status at `now`, and when it completed successfully (init order)."""

    status: dict
    done: float | None = None  # the moment it exited 0 for good (None: not by now)
    failed: bool = False  # exited non-zero for good


def _base(spec: Mapping) -> dict:
    return {"name": spec.get("name"), "image": image_ref(spec.get("image")),
            "imageID": "", "ready": False, "restartCount": 0, "started": False}


def _waiting(spec: Mapping, reason: str, message: str | None = None) -> dict:
    state = {"reason": reason} if message is None else {"reason": reason, "message": message}
    return {**_base(spec), "state": {"waiting": state}}


def container_status(pod: Mapping, spec: Mapping, first_start: float, policy: str, now: float,
                     init: bool = False, ephemeral: bool = False) -> Outcome:
    """The status of one container whose first run may start at `first_start`."""
    name = spec.get("name")
    if not now >= first_start:
        return Outcome(_waiting(spec, "PodInitializing" if init else "ContainerCreating"))
    base = {**_base(spec), "imageID": image_id(spec.get("image"))}
    last: dict | None = None
    ctl = controls(pod, name, init, ephemeral)
    for run, restart in runs(ctl, first_start, policy):
        if pull_blocked(ctl, run):
            waiting = pull_waiting(spec, ctl.pull_error, run.start, now)
            if last is None:  # never ran
                return Outcome(_waiting(spec, waiting["reason"], waiting["message"]))
            status = {**base, "containerID": container_id(pod, name, run.number - 1),
                      "restartCount": run.number - 1, "state": {"waiting": waiting}}
            return Outcome(_with_last(status, last))
        cid = container_id(pod, name, run.number)
        if run.exit is None or not now >= run.exit:
            ready = run.ready is not None and (run.ready == run.start or now >= run.ready)
            status = {**base, "containerID": cid, "ready": ready, "restartCount": run.number,
                      "started": True, "state": {"running": {"startedAt": format_time(run.start)}}}
            return Outcome(_with_last(status, last))
        terminated = _terminated(pod, name, run)
        if restart is None:
            status = {**base, "containerID": cid, "restartCount": run.number,
                      "state": {"terminated": terminated}}
            return Outcome(_with_last(status, last), done=run.exit if run.code == 0 else None,
                           failed=run.code != 0)
        if not now >= restart.at:
            message = (f"back-off {go_duration(restart.backoff)} restarting failed container={name} "
                       f"pod={_pod_ref(pod)}")
            status = {**base, "containerID": cid, "restartCount": run.number,
                      "state": {"waiting": {"reason": "CrashLoopBackOff", "message": message}}}
            return Outcome(_with_last(status, {"terminated": terminated}))
        last = {"terminated": terminated}
    raise ValueError(f"container {name}: timeline longer than {MAX_RUNS} runs")


# ------------------------------------------------------------------ image pulls

PULL_SYNC = 10.0  # when the kubelet syncs a pod again after a failed start (its pod workers' back-off)
PULL_WAITING = ("ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull")  # the reasons of pull_waiting


def pull_blocked(ctl: Controls, run: Run) -> bool:
    """Whether `run` cannot start because its image cannot be pulled (`pull-error`): the
    container's first run, or after a change of its definition (`kubectl set image`) the run
    after the last change; the runs before it ran an image that pulled."""
    if ctl.pull_error is None:
        return False
    return not ctl.restarted or run.start >= ctl.restarted[-1]


def pull_message(image: str | None, error: str) -> str:
    """The runtime's answer to a failed pull of `image`, as containerd gives it over the CRI."""
    ref = image_ref(image)
    if error.lower() == "not found":
        return (f'rpc error: code = NotFound desc = failed to pull and unpack image "{ref}": '
                f'failed to resolve reference "{ref}": {ref}: not found')
    return f'rpc error: code = Unknown desc = failed to pull and unpack image "{ref}": {error}'


def pull_waiting(spec: Mapping, error: str, start: float, now: float) -> dict:
    """The waiting state at `now` of a container whose image cannot be pulled, tried from `start`
    on (the image manager's EnsureImageExists).  With `imagePullPolicy: Never` it is not pulled:
    ErrImageNeverPull.  Else each pull fails (ErrImagePull), which the status shows until the pod's
    next sync 10 s later; then the kubelet backs off pulling (ImagePullBackOff) for 10 s, doubling to
    5 min (its image back-off, keyed by pod and image), and pulls again."""
    image = spec.get("image")
    if spec.get("imagePullPolicy") == "Never":
        return {"reason": "ErrImageNeverPull",
                "message": f'Container image "{image}" is not present with pull policy of Never'}
    attempt, backoff = start, BACKOFF_INITIAL
    for _ in range(MAX_RUNS):
        if not now >= attempt + PULL_SYNC:
            return {"reason": "ErrImagePull", "message": pull_message(image, error)}
        retry = attempt + PULL_SYNC + backoff
        if not now >= retry:
            return {"reason": "ImagePullBackOff", "message": f'Back-off pulling image "{image}"'}
        attempt, backoff = retry, min(backoff * 2, BACKOFF_MAX)
    raise ValueError(f"container {spec.get('name')}: more than {MAX_RUNS} pulls")


def image_size(image: str | None) -> int:
    """The size in bytes the simulated registry gives `image`: made up, the same for the same
    image (10 to 200 MB)."""
    digest = hashlib.sha256(image_ref(image).encode()).digest()
    return 10_000_000 + int.from_bytes(digest[:4], "big") % 190_000_000


def _with_last(status: dict, last: dict | None) -> dict:
    return {**status, "lastState": last or {}}


def _pod_ref(pod: Mapping) -> str:
    meta = pod.get("metadata") or {}
    return f"{meta.get('name')}_{meta.get('namespace')}({meta.get('uid')})"


def _policy(pod: Mapping) -> str:
    return (pod.get("spec") or {}).get("restartPolicy") or "Always"


def _started(pod: Mapping) -> float | None:
    stamp = (pod.get("status") or {}).get("startTime")
    return None if stamp is None else parse_time(stamp)


def pod_statuses(pod: Mapping, now: float) -> dict:
    """Init and app container statuses of an admitted pod (status.startTime set) at `now`."""
    origin = _started(pod)
    spec = pod.get("spec") or {}
    inits: Sequence[Mapping] = spec.get("initContainers") or ()
    apps: Sequence[Mapping] = spec.get("containers") or ()
    if origin is None:
        return {"initContainerStatuses": [_waiting(c, "PodInitializing") for c in inits] if inits else None,
                "containerStatuses": [_waiting(c, "ContainerCreating") for c in apps]}
    policy = _policy(pod)
    init_policy = "Never" if policy == "Never" else "OnFailure"
    ready_from: float | None = origin
    init_statuses = []
    for c in inits:
        if ready_from is None:
            init_statuses.append(_waiting(c, "PodInitializing"))
            continue
        first = ready_from + controls(pod, c.get("name"), init=True).start_after
        outcome = container_status(pod, c, first, init_policy, now, init=True)
        init_statuses.append(outcome.status)
        ready_from = outcome.done
    app_statuses = []
    for c in apps:
        if ready_from is None:
            app_statuses.append(_waiting(c, "PodInitializing"))
            continue
        first = ready_from + controls(pod, c.get("name")).start_after
        app_statuses.append(container_status(pod, c, first, policy, now).status)
    return {"initContainerStatuses": init_statuses if inits else None, "containerStatuses": app_statuses,
            "ephemeralContainerStatuses": ephemeral_statuses(pod, now)}


def ephemeral_start(pod: Mapping, name: str) -> float | None:
    """When ephemeral container `name` started, as its status records it (None: not yet shown)."""
    for status in (pod.get("status") or {}).get("ephemeralContainerStatuses") or ():
        if status.get("name") == name:
            state = status.get("state") or {}
            stamp = (state.get("running") or state.get("terminated") or {}).get("startedAt")
            return parse_time(stamp) if stamp else None
    return None


def ephemeral_statuses(pod: Mapping, now: float) -> list[dict] | None:
    """The statuses of the pod's ephemeral containers (by name, as the kubelet sorts them), None
    when it has none.  Once the pod is admitted each starts as soon as the kubelet sees it (its
    sandbox runs: upstream starts them before the init containers), runs as its command or its own
    `.NAME` annotations say, and is never restarted nor Ready; as upstream's, their statuses carry
    no `started`."""
    specs = sorted((c for c in (pod.get("spec") or {}).get("ephemeralContainers") or ()),
                   key=lambda c: c.get("name") or "")
    if not specs:
        return None
    origin = _started(pod)
    statuses = []
    for c in specs:
        if origin is None:
            status = _waiting(c, "PodInitializing" if (pod.get("spec") or {}).get("initContainers")
                              else "ContainerCreating")
        else:
            first = ephemeral_start(pod, c.get("name"))
            first = float(int(now)) if first is None else first  # (whole seconds, as startedAt keeps them)
            status = container_status(pod, c, first, "Never", now, ephemeral=True).status
        status.pop("started", None)
        statuses.append(status)
    return statuses


# ------------------------------------------------------------------ logs

# The words each run of a container starts its lines with (its first run, a restart): `kubectl
# logs` splits a container's lines into runs there (api/logs.py, `--previous`).
RUN_STARTS = ("started container ", "restarted container ")


def _run_lines(name: str, run: Run, restart: Restart | None, now: float) -> Iterator[tuple[float, str]]:
    yield run.start, (f"{RUN_STARTS[0]}{name}" if run.number == 0
                      else f"{RUN_STARTS[1]}{name} (restart {run.number})")
    if run.ready is not None and now >= run.ready and (run.exit is None or run.ready < run.exit
                                                       or run.ready == run.start):
        yield run.ready, f"container {name} is ready"
    if run.killed is not None and now >= run.killed:
        yield run.killed, f"stopping container {name}: definition changed"
    if run.exit is not None and now >= run.exit:
        yield run.exit, f"container {name} exited with code {run.code}"
        if restart is not None and restart.backoff > 0:
            yield run.exit, f"back-off {go_duration(restart.backoff)} restarting failed container {name}"


def container_logs(pod: Mapping, name: str, now: float) -> list[str]:
    """The simulated lifecycle lines of container `name` up to `now`, each with its time."""
    origin = _started(pod)
    spec = pod.get("spec") or {}
    if origin is None:
        return []
    if any(c.get("name") == name for c in spec.get("ephemeralContainers") or ()):
        first = ephemeral_start(pod, name)  # (none before the kubelet started it)
        ctl = controls(pod, name, ephemeral=True)
        return [] if first is None else _lines(name, runs(ctl, first, "Never"), now, ctl)
    policy = _policy(pod)
    init_policy = "Never" if policy == "Never" else "OnFailure"
    ready_from: float | None = origin
    for init, c in [(True, c) for c in spec.get("initContainers") or ()] + \
                   [(False, c) for c in spec.get("containers") or ()]:
        if ready_from is None:
            return []
        ctl = controls(pod, c.get("name"), init)
        first = ready_from + ctl.start_after
        if c.get("name") == name:
            return _lines(name, runs(ctl, first, init_policy if init else policy), now, ctl)
        if init:
            outcome = container_status(pod, c, first, init_policy, now, init=True)
            ready_from = outcome.done
    raise KeyError(name)


def _lines(name: str, timeline: Iterator[tuple[Run, Restart | None]], now: float, ctl: Controls) -> list[str]:
    """The lines of the runs of a container's timeline that started by `now`, each with its time
    (none of a run whose image cannot be pulled: it never starts)."""
    lines = []
    for run, restart in timeline:
        if not now >= run.start or pull_blocked(ctl, run):
            break
        lines.extend(f"{format_time(t)} {text}" for t, text in _run_lines(name, run, restart, now))
    return lines


# ------------------------------------------------------------------ the runtime


class SimulatedRuntime:
    """The default runtime: containers live on the engine clock, as the annotations say."""

    name = "sim"
    version = "1.0"

    def start(self, pod: Mapping, now: float) -> float:
        return float(int(now))  # status.startTime holds whole seconds

    def stop(self, pod: Mapping) -> float:
        meta = pod.get("metadata") or {}
        stamp = meta.get("deletionTimestamp")
        if stamp is None:
            raise ValueError("the pod is not being deleted")
        grace = float(meta.get("deletionGracePeriodSeconds") or 0)
        asked = parse_time(stamp) - grace
        if _started(pod) is None:
            return asked  # nothing ever ran
        spec = pod.get("spec") or {}
        slowest = max((controls(pod, c.get("name")).stop_after for c in spec.get("containers") or ()),
                      default=0.0)
        return asked + min(grace, slowest)

    def status(self, pod: Mapping, now: float) -> dict:
        return pod_statuses(pod, now)

    def logs(self, pod: Mapping, container: str, now: float) -> list[str]:
        return container_logs(pod, container, now)


_current: list[ContainerRuntime] = [SimulatedRuntime()]


def current() -> ContainerRuntime:
    """The runtime the kubelet rules drive."""
    return _current[0]


def use(runtime: ContainerRuntime) -> ContainerRuntime:
    """Make `runtime` the one the kubelet rules drive; returns the previous one."""
    previous, _current[0] = _current[0], runtime
    return previous


def runtime_version(runtime: Any = None) -> str:
    runtime = runtime or current()
    return f"{runtime.name}://{runtime.version}"
