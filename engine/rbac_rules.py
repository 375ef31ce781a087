"""Whether some RBAC rules hold others, as upstream's validation.Covers
(pkg/registry/rbac/validation/policy_comparator.go).

Each rule held is broken down to one verb, group, resource and name (or one
verb and URL: `BreakdownRule`), and each piece must be held by one owner rule
(`ruleCovers`); a `*` in a piece is held only by a `*`.  The escalation check
(`api/escalation`) asks it of a caller's rules, the start-up reconciliation of
the default roles (`rbac_reconcile`) of a stored role's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def url_matches(patterns: Sequence[str], path: str) -> bool:
    """Does a rule's nonResourceURLs entry name `path` (`*`, the path, or a prefix ending in `*`)?"""
    return any(u == "*" or u == path or (u.endswith("*") and path.startswith(u[:-1])) for u in patterns)


def breakdown(rule: Mapping) -> list[dict]:
    """One rule per verb, group, resource and name (or per verb and URL): upstream's BreakdownRule."""
    pieces: list[dict] = []
    verbs = list(rule.get("verbs") or ())
    for group in rule.get("apiGroups") or ():
        for resource in rule.get("resources") or ():
            for verb in verbs:
                names = rule.get("resourceNames") or ()
                pieces += ([{"apiGroups": [group], "resources": [resource], "resourceNames": [n], "verbs": [verb]}
                            for n in names] if names else
                           [{"apiGroups": [group], "resources": [resource], "verbs": [verb]}])
    for url in rule.get("nonResourceURLs") or ():
        pieces += [{"nonResourceURLs": [url], "verbs": [verb]} for verb in verbs]
    return pieces


def uncovered(owner: Sequence[Mapping], rules: Sequence[Mapping]) -> list[dict]:
    """The broken-down pieces of `rules` no owner rule covers (validation.Covers); none when covered."""
    return [piece for rule in rules for piece in breakdown(rule)
            if not any(_covers(o, piece) for o in owner)]


def _covers(owner: Mapping, piece: Mapping) -> bool:
    """ruleCovers for one broken-down piece; `*` in the piece is covered only by `*`."""
    verbs = owner.get("verbs") or ()
    if "*" not in verbs and piece["verbs"][0] not in verbs:
        return False
    if "nonResourceURLs" in piece:
        return url_matches(owner.get("nonResourceURLs") or (), piece["nonResourceURLs"][0])
    group, resource = piece["apiGroups"][0], piece["resources"][0]
    groups, resources = owner.get("apiGroups") or (), owner.get("resources") or ()
    if "*" not in groups and group not in groups:
        return False
    if "*" not in resources and resource not in resources and not (
            "/" in resource and resource.split("/", 1)[0] + "/*" in resources):
        return False
    names = owner.get("resourceNames") or ()
    return not names or ("resourceNames" in piece and piece["resourceNames"][0] in names)
