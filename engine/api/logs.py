"""`pods/NAME/log`: one container's log, as the kubelet serves it (PodLogOptions).

The runtime writes each line as `TIME TEXT` (`runtime.container_logs`: RFC
3339, whole seconds of the engine clock), the way a CRI log file keeps the
time of each line beside what the container wrote.  What is sent is the text,
preceded by its time in the kubelet's fixed nanosecond form when
`timestamps=true`, of the container's current instance (its last run) or,
with `previous=true`, of the run before (a 400 when it never restarted).
`sinceSeconds` (back from the engine clock) and `sinceTime` leave out older
lines, `tailLines` keeps the last ones, and `limitBytes` cuts what is sent,
mid-line if need be; a follow sends the lines written later, within the same
byte limit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

import attrs

from .. import runtime
from ..apierrors import bad_request, forbidden, invalid, invalid_error
from ..apiserver import APIServer
from ..objects import get_path
from ..timeutil import parse_time
from .auth import User
from .query import TRUE
from .resources import actor_of, int_param

@attrs.frozen
class Line:
    """One line the container wrote, and when (None: the runtime gave no time)."""

    at: float | None
    text: str


@attrs.frozen
class LogOptions:
    """The PodLogOptions of a request, checked; `since` is absolute (sinceSeconds resolved)."""

    container: str | None = None
    previous: bool = False
    follow: bool = False
    timestamps: bool = False
    since: float | None = None
    tail: int | None = None
    limit: int | None = None


# ----------------------------------------------------------------- options


def log_options(query: Mapping[str, str], pod: str, now: float) -> LogOptions:
    """The query's PodLogOptions, checked as ValidatePodLogOptions does (a 422 naming each field)."""
    tail, limit, seconds = (int_param(query, k) for k in ("tailLines", "limitBytes", "sinceSeconds"))
    since_time = _time(query, "sinceTime")
    errors = []
    if tail is not None and tail < 0:
        errors.append(invalid("tailLines", tail, "must be greater than or equal to 0"))
    if limit is not None and limit < 1:
        errors.append(invalid("limitBytes", limit, "must be greater than 0"))
    if seconds is not None and since_time is not None:
        errors.append(forbidden("", "at most one of `sinceTime` or `sinceSeconds` may be specified"))
    elif seconds is not None and seconds < 1:
        errors.append(invalid("sinceSeconds", seconds, "must be greater than 0"))
    if errors:
        raise invalid_error("PodLogOptions", pod, errors)
    return LogOptions(query.get("container") or None, query.get("previous") in TRUE, query.get("follow") in TRUE,
                      query.get("timestamps") in TRUE, since_time if seconds is None else now - seconds,
                      tail, limit)


def _time(query: Mapping[str, str], name: str) -> float | None:
    value = query.get(name)
    if value in (None, ""):
        return None
    try:
        return parse_time(value)
    except ValueError as exc:
        raise bad_request(f"invalid {name}: {exc}") from None


# ------------------------------------------------------------------ reading


def read(api: APIServer, user: User, target: Any, options: LogOptions, now: float) -> tuple[bytes, int, bool]:
    """What to send now, how many lines the container has written in all (where a follow goes on),
    and whether its current instance runs (a follow of a stopped one ends at once)."""
    pod, container, written = _written(api, user, target, options, now)
    if not options.previous and get_path(pod, "spec", "nodeName"):  # unbound: an empty log, as upstream
        _check_started(pod, container, now)
    lines = _instance(pod, container, written, options.previous, now)
    if options.since is not None:
        cutoff = math.floor(options.since)  # line times are whole seconds, so the cutoff is too
        lines = [line for line in lines if line.at is None or line.at >= cutoff]
    if options.tail is not None:
        lines = lines[-options.tail:] if options.tail else []
    return encode(lines, options.timestamps, options.limit), len(written), running(pod, container, now)


def written_since(api: APIServer, user: User, target: Any, options: LogOptions, seen: int,
                  now: float) -> tuple[list[Line], int, bool]:
    """The lines the container wrote after its first `seen` ones (what a follow sends next), how many
    it has written in all, and whether the instance followed still runs: as the kubelet's follow, a
    stream ends when its container stops (a restart's lines belong to the next instance)."""
    pod, container, written = _written(api, user, target, options, now)
    new = written[seen:]
    for i, line in enumerate(new):
        if line.text.startswith(runtime.RUN_STARTS):
            return new[:i], seen + i, False
    return new, len(written), running(pod, container, now)


def running(pod: Mapping, container: str, now: float) -> bool:
    """Whether the container's current instance is running (a follow of it goes on)."""
    return "running" in (_status(pod, container, now).get("state") or {})


def encode(lines: list[Line], timestamps: bool, limit: int | None) -> bytes:
    """The lines as sent: each with its time first if asked, all cut at `limit` bytes."""
    text = "".join(f"{_nano(line.at)} {line.text}\n" if timestamps and line.at is not None else line.text + "\n"
                   for line in lines)
    data = text.encode()
    return data if limit is None else data[:limit]


def _written(api: APIServer, user: User, target: Any, options: LogOptions, now: float) -> tuple[Any, str, list[Line]]:
    pod = api.get(actor_of(user), "", "Pod", target.namespace, target.name)
    container = container_of(pod, options.container)
    return pod, container, [_line(text) for text in runtime.current().logs(pod, container, now)]


def _line(text: str) -> Line:
    stamp, _, rest = text.partition(" ")
    try:
        return Line(parse_time(stamp), rest)
    except ValueError:
        return Line(None, text)


def _nano(at: float) -> str:
    """The kubelet's RFC3339NanoFixed: `2026-01-01T00:00:05.000000000Z`."""
    moment = datetime.fromtimestamp(at, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond * 1000:09d}Z"


# --------------------------------------------------------------- instances


def _instance(pod: Mapping, container: str, lines: list[Line], previous: bool, now: float) -> list[Line]:
    """The lines of the container's current instance (its last run), or of the previous one: the run
    its `lastState.terminated` describes, which kubelet's validateContainerLogStatus requires."""
    runs = _runs(lines)
    if not previous:
        return runs[-1] if runs else []
    status = _status(pod, container, now)
    if not get_path(status, "lastState", "terminated"):
        raise bad_request(f'previous terminated container "{container}" in pod '
                          f'"{get_path(pod, "metadata", "name")}" not found')
    waiting = "waiting" in (status.get("state") or {})  # crash-looping: the last run is the terminated one
    back = 1 if waiting else 2
    return runs[-back] if len(runs) >= back else []


def _check_started(pod: Mapping, container: str, now: float) -> None:
    """validateContainerLogStatus for the current instance: a container that is running or ran has
    a log; one still waiting to start (and never terminated) is a 400 naming why it waits."""
    status, name = _status(pod, container, now), get_path(pod, "metadata", "name")
    if not status:
        raise bad_request(f'container "{container}" in pod "{name}" is not available')
    state = status.get("state") or {}
    if "running" in state or "terminated" in state or get_path(status, "lastState", "terminated"):
        return
    if "waiting" not in state:
        raise bad_request(f'container "{container}" in pod "{name}" is waiting to start - no logs yet')
    reason = (state.get("waiting") or {}).get("reason") or ""
    why = _WAITING_WORDS.get(reason, reason)
    raise bad_request(f'container "{container}" in pod "{name}" is waiting to start: {why}')


# the kubelet's words for the most common pending failures; any other reason is given as it is
_WAITING_WORDS = {"ErrImagePull": "image can't be pulled", "ImagePullBackOff": "trying and failing to pull image"}


def _runs(lines: list[Line]) -> list[list[Line]]:
    """The lines split into the runs of the container, each starting with its start line."""
    runs: list[list[Line]] = []
    for line in lines:
        if not runs or line.text.startswith(runtime.RUN_STARTS):
            runs.append([])
        runs[-1].append(line)
    return runs


def _status(pod: Mapping, container: str, now: float) -> Mapping:
    statuses = runtime.current().status(pod, now)
    for status in [s for field in ("containerStatuses", "initContainerStatuses", "ephemeralContainerStatuses")
                   for s in statuses.get(field) or ()]:
        if status.get("name") == container:
            return status
    return {}


def container_of(pod: Mapping, asked: str | None) -> str:
    """The container a log request names (an app, init or ephemeral one), or the pod's only app
    container (a 400 naming the choices)."""
    spec = pod.get("spec") or {}
    apps = [c.get("name") for c in spec.get("containers") or ()]
    inits = [c.get("name") for c in spec.get("initContainers") or ()]
    ephemeral = [c.get("name") for c in spec.get("ephemeralContainers") or ()]
    name = get_path(pod, "metadata", "name")
    if not asked:
        if len(apps) == 1:
            return apps[0]
        raise bad_request(f"a container name must be specified for pod {name}, choose one of: [{' '.join(apps)}]"
                          + (f" or one of the init containers: [{' '.join(inits)}]" if inits else "")
                          + (f" or one of the ephemeral containers: [{' '.join(ephemeral)}]" if ephemeral else ""))
    if asked not in apps + inits + ephemeral:
        raise bad_request(f"container {asked} is not valid for pod {name}")
    return asked
