"""The default RBAC objects brought up to `rbac_policy`'s at every start, as kube-apiserver's
post-start hook rbac/bootstrap-roles does (pkg/registry/rbac/rest/storage_rbac.go
`EnsureRBACPolicy`, with pkg/registry/rbac/reconciliation's union mode: extra rules and subjects stay).

A default object that is missing is created.  One that exists is left as it is when annotated
`rbac.authorization.kubernetes.io/autoupdate: "false"`; otherwise it gets what it lacks:

- the default's labels and annotations it does not carry (the values it has are kept);
- a ClusterRole: the default's rules its own do not cover, appended as the broken-down pieces no
  rule of its covers (`computeReconciledRole`, validation.Covers); its extra rules stay.  The
  aggregated defaults (admin, edit, view) get no rules back: upstream's carry none (ours are
  stored pre-aggregated only so that a fresh cluster needs no aggregation), their rules are the
  aggregation controller's.  The default's aggregationRule selectors it lacks are added, and an
  aggregationRule the default does not have is removed;
- a ClusterRoleBinding: the default's subjects it lacks, appended (`computeReconciledRoleBinding`);
  its extra subjects stay.  One whose roleRef differs (immutable: it was deleted and created
  again) is deleted and created as the default; one finalizers keep is created at a later start,
  once gone.

An object that lacks nothing is not written, so a start with unchanged defaults writes no revision.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .objects import thaw
from .rbac_policy import CLUSTER_ROLE_BINDINGS, CLUSTER_ROLES, RBAC_GROUP
from .rbac_rules import uncovered
from .request import Request

AUTOUPDATE_KEY = "rbac.authorization.kubernetes.io/autoupdate"


def ensure_policy(snapshot: Any) -> list[Request]:
    """The writes that bring `snapshot`'s default RBAC objects up to the defaults: the ClusterRoles
    by name, then the ClusterRoleBindings by name; none when every one is there and lacks nothing."""
    requests: list[Request] = []
    for default in (*CLUSTER_ROLES, *CLUSTER_ROLE_BINDINGS):
        kind, name = default["kind"], default["metadata"]["name"]
        existing = snapshot.get((RBAC_GROUP, kind, "", name))
        if existing is None:
            requests.append(Request("create", RBAC_GROUP, kind, None, name, default))
        elif (existing["metadata"].get("annotations") or {}).get(AUTOUPDATE_KEY) == "false":
            continue
        elif kind == "ClusterRoleBinding" and _ref(existing) != _ref(default):
            requests += _recreated(existing, default)
        else:
            reconciled = (reconciled_role if kind == "ClusterRole" else reconciled_binding)(existing, default)
            if reconciled is not existing:
                requests.append(Request("update", RBAC_GROUP, kind, None, name, reconciled))
    return requests


def reconciled_role(existing: Mapping, default: Mapping) -> Mapping:
    """`existing` ClusterRole with what it lacks of `default`; `existing` itself when it lacks nothing."""
    role = _with_metadata(existing, default)
    if "aggregationRule" in default:
        have = (role.get("aggregationRule") or {}).get("clusterRoleSelectors") or []
        missing = [s for s in default["aggregationRule"]["clusterRoleSelectors"] if s not in have]
        if missing:
            role["aggregationRule"] = {**(role.get("aggregationRule") or {}), "clusterRoleSelectors": have + missing}
    else:
        role.pop("aggregationRule", None)
        missing = uncovered(role.get("rules") or [], default["rules"])
        if missing:
            role["rules"] = (role.get("rules") or []) + missing
    return existing if role == thaw(existing) else role


def reconciled_binding(existing: Mapping, default: Mapping) -> Mapping:
    """`existing` ClusterRoleBinding with the labels, annotations and subjects of `default` it lacks;
    `existing` itself when it lacks nothing."""
    binding = _with_metadata(existing, default)
    have = binding.get("subjects") or []
    missing = [s for s in default["subjects"] if _subject(s) not in {_subject(h) for h in have}]
    if missing:
        binding["subjects"] = have + missing
    return existing if binding == thaw(existing) else binding


def _with_metadata(existing: Mapping, default: Mapping) -> dict:
    """A copy of `existing` carrying the labels and annotations of `default` it lacks."""
    obj = thaw(existing)
    meta = obj["metadata"]
    for field in ("labels", "annotations"):
        meta[field] = {**default["metadata"][field], **(meta.get(field) or {})}
    return obj


def _recreated(existing: Mapping, default: Mapping) -> list[Request]:
    """Delete `existing` and create `default`; one that finalizers keep is only marked for deletion
    (once: nothing when being deleted already), and created at a later start, once gone."""
    meta, kind, name = existing["metadata"], default["kind"], default["metadata"]["name"]
    if meta.get("deletionTimestamp"):
        return []
    delete = Request("delete", RBAC_GROUP, kind, None, name)
    return [delete] if meta.get("finalizers") else [delete, Request("create", RBAC_GROUP, kind, None, name, default)]


def _ref(binding: Mapping) -> tuple:
    """A roleRef as upstream compares it, its apiGroup defaulted (SetDefaults_ClusterRoleBinding)."""
    ref = binding.get("roleRef") or {}
    return ref.get("apiGroup") or RBAC_GROUP, ref.get("kind"), ref.get("name")


def _subject(subject: Mapping) -> tuple:
    """A subject as upstream compares it, its apiGroup defaulted (SetDefaults_Subject)."""
    kind = subject.get("kind")
    group = subject.get("apiGroup") or (RBAC_GROUP if kind in ("User", "Group") else "")
    return kind, group, subject.get("name"), subject.get("namespace") or ""
