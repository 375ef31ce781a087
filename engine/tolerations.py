"""Taints and tolerations, as k8s.io/api/core/v1 toleration.go and the scheduler.

Tolerations and taints are the plain mappings of a pod's
``spec.tolerations`` and a node's ``spec.taints`` (``key``, ``operator``,
``value``, ``effect``, ``tolerationSeconds``; ``key``, ``value``,
``effect``).  Missing fields read as upstream's zero values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

NO_SCHEDULE = "NoSchedule"
PREFER_NO_SCHEDULE = "PreferNoSchedule"
NO_EXECUTE = "NoExecute"


def _field(obj: Mapping, name: str) -> str:
    return obj.get(name) or ""


def tolerates(toleration: Mapping, taint: Mapping) -> bool:
    """Toleration.ToleratesTaint.

    An empty effect matches every effect; an empty key matches every key; the
    operator defaults to Equal, which compares values, while Exists ignores
    the value.  An unknown operator tolerates nothing.
    """
    effect = _field(toleration, "effect")
    if effect and effect != _field(taint, "effect"):
        return False
    key = _field(toleration, "key")
    if key and key != _field(taint, "key"):
        return False
    operator = _field(toleration, "operator")
    if operator in ("", "Equal"):
        return _field(toleration, "value") == _field(taint, "value")
    return operator == "Exists"


def tolerated_by_any(tolerations: Iterable[Mapping] | None, taint: Mapping) -> bool:
    """v1helper.TolerationsTolerateTaint: does some toleration tolerate `taint`?"""
    return any(tolerates(toleration, taint) for toleration in tolerations or ())


def _in_scope(taint: Mapping, effects: Iterable[str] | None) -> bool:
    return effects is None or _field(taint, "effect") in effects


def untolerated(
    tolerations: Iterable[Mapping] | None,
    taints: Iterable[Mapping] | None,
    effects: Iterable[str] | None = None,
) -> list[Mapping]:
    """The taints with an effect in `effects` (None: any) that nothing tolerates.

    In the node's order, so the first one is what the scheduler reports
    (v1helper.FindMatchingUntoleratedTaint).
    """
    tolerations = tuple(tolerations or ())
    effects = None if effects is None else frozenset(effects)
    return [
        taint for taint in taints or ()
        if _in_scope(taint, effects) and not tolerated_by_any(tolerations, taint)
    ]


def tolerates_all(
    tolerations: Iterable[Mapping] | None,
    taints: Iterable[Mapping] | None,
    effects: Iterable[str] | None = None,
) -> bool:
    """True when every taint with an effect in `effects` (None: any) is tolerated."""
    return not untolerated(tolerations, taints, effects)


def taint_string(taint: Mapping) -> str:
    """Taint.ToString: ``key=value:effect``, or ``key:effect`` without a value."""
    key, value, effect = _field(taint, "key"), _field(taint, "value"), _field(taint, "effect")
    return f"{key}={value}:{effect}" if value else f"{key}:{effect}"


def eviction_delay(tolerations: Iterable[Mapping] | None, taints: Iterable[Mapping] | None) -> float | None:
    """Seconds until the taint manager evicts a pod for the NoExecute `taints`.

    None means never: there is no NoExecute taint, or each is tolerated by a
    toleration without ``tolerationSeconds``.  0 means now: some NoExecute
    taint is not tolerated, or a used toleration has ``tolerationSeconds <= 0``.
    Otherwise the smallest ``tolerationSeconds`` of the tolerations used; as
    upstream's GetMatchingTolerations, each taint uses its first tolerating
    toleration.
    """
    tolerations = tuple(tolerations or ())
    seconds: list[float] = []
    for taint in taints or ():
        if _field(taint, "effect") != NO_EXECUTE:
            continue
        used = next((t for t in tolerations if tolerates(t, taint)), None)
        if used is None:
            return 0.0
        if used.get("tolerationSeconds") is not None:
            seconds.append(float(used["tolerationSeconds"]))
    if not seconds:
        return None
    return max(0.0, min(seconds))


def _same(a: Mapping, b: Mapping) -> bool:
    """Equal tolerations, a field left out reading as its zero value."""
    return all(_field(a, name) == _field(b, name) for name in ("key", "operator", "value", "effect")) \
        and a.get("tolerationSeconds") == b.get("tolerationSeconds")


def _covers(wider: Mapping, toleration: Mapping) -> bool:
    """Whether `wider` tolerates every taint `toleration` does (upstream's isSuperset)."""
    if _same(wider, toleration):
        return True
    key = _field(wider, "key")
    if _field(toleration, "key") != key and (key or _field(wider, "operator") != "Exists"):
        return False
    effect = _field(wider, "effect")
    if effect and effect != _field(toleration, "effect"):
        return False
    if effect == NO_EXECUTE and wider.get("tolerationSeconds") is not None:
        seconds = toleration.get("tolerationSeconds")
        if seconds is None or seconds > wider["tolerationSeconds"]:
            return False
    operator = _field(wider, "operator")
    if operator in ("", "Equal"):
        return _field(toleration, "operator") == "Equal" and _field(toleration, "value") == _field(wider, "value")
    return operator == "Exists"


def merge_tolerations(first: Iterable[Mapping], second: Iterable[Mapping]) -> list[Mapping]:
    """Both lists in one, leaving out each toleration another one covers (of two equal ones, the
    first is kept), as upstream's MergeTolerations (RuntimeClass admission adds a class's this way)."""
    every = [*first, *second]
    merged: list[Mapping] = []
    for index, toleration in enumerate(every):
        if any(_covers(kept, toleration) for kept in merged):
            continue
        if any(not _same(other, toleration) and _covers(other, toleration) for other in every[index + 1:]):
            continue
        merged.append(toleration)
    return merged
