"""Server-side apply over HTTP: the field manager of a write and the apply options.

Every write through the API records managedFields (engine/managedfields.py):
an apply (`PATCH` with `Content-Type: application/apply-patch+yaml`) as
operation Apply for its `fieldManager` (required, as upstream requires it),
every other POST, PUT and PATCH as operation Update for `fieldManager`, else
for the prefix of the User-Agent before its first `/` (`kubectl-edit`,
`kubectl-client-side-apply`, `OpenAPI-Generator`, ...), upstream's default.
`force=true` lets an apply take fields other managers own.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..apierrors import FieldError, forbidden, invalid, invalid_error, required
from .query import TRUE

FIELD_MANAGER_MAX_LENGTH = 128  # upstream's FieldManagerMaxLength
APPLY = "apply"


def field_manager(query: Mapping[str, str], user_agent: str, verb: str, patch_type: str | None = None) -> str:
    """The manager a write records; upstream's 422 when the options are not valid for the verb."""
    manager = query.get("fieldManager") or ""
    errors: list[FieldError] = []
    if verb == "patch" and patch_type == APPLY and not manager:
        errors.append(required("fieldManager", "is required for apply patch"))
    if verb == "patch" and patch_type != APPLY and "force" in query:
        errors.append(forbidden("force", "may not be specified for non-apply patch"))
    errors.extend(_manager_errors(manager))
    if errors:
        kind = {"create": "CreateOptions", "update": "UpdateOptions"}.get(verb, "PatchOptions")
        raise invalid_error(f"{kind}.meta.k8s.io", "", errors, "meta.k8s.io")
    return manager or prefix_from_user_agent(user_agent)


def _manager_errors(manager: str) -> list[FieldError]:
    if len(manager) > FIELD_MANAGER_MAX_LENGTH:
        return [FieldError("FieldValueTooLong", "fieldManager", manager,
                           f"may not be more than {FIELD_MANAGER_MAX_LENGTH} bytes")]
    if any(not ch.isprintable() for ch in manager):
        return [invalid("fieldManager", manager, "must only contain printable characters")]
    return []


def prefix_from_user_agent(user_agent: str) -> str:
    """`kubectl-edit/v1.32.0 (linux/amd64) kubernetes/...` → `kubectl-edit` (printable, at most 128)."""
    prefix = "".join(ch for ch in user_agent.split("/")[0] if ch.isprintable())
    return prefix[:FIELD_MANAGER_MAX_LENGTH]


def forced(query: Mapping[str, str]) -> bool:
    """An apply's `force` option (Go's ParseBool spellings of true)."""
    return query.get("force") in TRUE
