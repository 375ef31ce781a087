"""Who may do what: actors, their permissions, and upstream's Forbidden wording.

An `Actor` is whoever submits a request: a rule component (its permissions
come from the `reads`/`writes` header of its rule file), the manifests
folder (every kind's main resource, no status), an HTTP user, or the system
(`permissions=None`: everything).  A refused request reads as upstream's RBAC
denial: `pods is forbidden: User "replicaset-controller" cannot create
resource "pods" in API group "" in the namespace "demo"`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs

from .apierrors import APIError, forbidden_error
from .kinds import ResourceType

READ_VERBS = frozenset({"get", "list", "watch"})
WRITE_VERBS = frozenset({"create", "update", "patch", "delete"})
# subresources written with `status_writes` (the namespace finalizer list is status-like)
STATUS_SUBRESOURCES = frozenset({"status", "finalize"})
ANY = ("*", "*")

GroupKind = tuple[str, str]


def _grants(items: Iterable[GroupKind]) -> frozenset[GroupKind]:
    return frozenset(tuple(i) for i in items)


@attrs.frozen
class Permissions:
    """Kinds an actor may read, write (main resource) and write the status of.

    Entries are `(group, kind)`; `("*", "*")` grants every kind and
    `(group, "*")` every kind of a group.
    """

    reads: frozenset[GroupKind] = attrs.field(default=frozenset(), converter=_grants)
    writes: frozenset[GroupKind] = attrs.field(default=frozenset(), converter=_grants)
    status_writes: frozenset[GroupKind] = attrs.field(default=frozenset(), converter=_grants)

    def allows(self, verb: str, group: str, kind: str, subresource: str | None = None) -> bool:
        if verb in READ_VERBS:
            grants = self.reads
        elif subresource in STATUS_SUBRESOURCES:
            grants = self.status_writes
        else:
            grants = self.writes
        return (group, kind) in grants or (group, "*") in grants or ANY in grants

    @classmethod
    def main_only(cls) -> "Permissions":
        """Read everything, write every kind's main resource, write no status (the manifests folder)."""
        return cls({ANY}, {ANY}, frozenset())


@attrs.frozen
class Actor:
    """Who submits a request; `permissions=None` may do everything (an admin, the system)."""

    name: str
    kind: str = attrs.field(default="user", validator=attrs.validators.in_({"user", "component", "manifests", "system"}))
    permissions: Permissions | None = None
    # An HTTP caller's RBAC (engine.api.escalation.Grantor): asked to confirm each write, so that no
    # Role or binding grants what the caller does not hold itself; None for the engine's own actors
    grantor: Any = attrs.field(default=None, eq=False)

    def allows(self, verb: str, group: str, kind: str, subresource: str | None = None) -> bool:
        return self.permissions is None or self.permissions.allows(verb, group, kind, subresource)


SYSTEM = Actor("system:apiserver", "system", None)
MANIFESTS = Actor("manifests", "manifests", Permissions.main_only())


def forbidden(actor: Actor, verb: str, rt: ResourceType, namespace: str | None,
              name: str | None, subresource: str | None = None) -> APIError:
    """Upstream's RBAC denial for this request."""
    resource = f"{rt.plural}/{subresource}" if subresource else rt.plural
    scope = f'in the namespace "{namespace}"' if namespace and rt.namespaced else "at the cluster scope"
    why = f'User "{actor.name}" cannot {verb} resource "{resource}" in API group "{rt.group}" {scope}'
    return forbidden_error(rt.resource, name or None, why, group=rt.group)


def denied_by_rbac(exc: APIError, actor: Actor) -> bool:
    """Is `exc` the refusal `forbidden` makes for `actor` (its permissions, not an admission's)?"""
    return exc.reason == "Forbidden" and f'User "{actor.name}" cannot ' in exc.message


def authorize(actor: Actor, verb: str, rt: ResourceType, namespace: str | None,
              name: str | None, subresource: str | None = None) -> None:
    """Raise Forbidden unless `actor` may `verb` this resource."""
    if not actor.allows(verb, rt.group, rt.kind, subresource):
        raise forbidden(actor, verb, rt, namespace, None if verb in ("create", "list", "watch") else name, subresource)
