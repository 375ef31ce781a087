"""RBAC escalation prevention: nobody grants through RBAC what they do not hold themselves.

Upstream's policybased Role / ClusterRole / RoleBinding / ClusterRoleBinding
storage (pkg/registry/rbac/*/policybased) refuses, with 403 Forbidden:

- a Role or ClusterRole whose rules the caller does not already hold in that
  namespace (cluster-wide for a ClusterRole), unless the caller may `escalate`
  roles / clusterroles there (`RoleEscalationAuthorized`);
- a RoleBinding or ClusterRoleBinding whose referenced role grants what the
  caller does not hold in the binding's namespace, unless the caller may
  `bind` that role (`BindingAuthorized`; a `resourceNames`-scoped grant names
  the role).

"Holds" is upstream's `ConfirmNoEscalation`: the caller's own rules cover
every rule broken down to one verb, group, resource and name
(validation.Covers); a `*` is covered only by a `*`.  `system:masters` may
escalate (`EscalationAllowed`).  Only HTTP API callers carry a `Grantor`: the
rule engine's controllers, the manifests folder and the apiserver itself
write RBAC objects unchecked.  The caller's rules are read from the state
before the write (the binding being created never vouches for itself); the
default admin, edit and view roles count with the rules aggregated into them,
on both sides: held through a binding, and granted by one.

The same Grantor answers the CertificateSigningRequest approval admission
(`may_sign`): approving or denying a request needs the `approve` verb on
`certificates.k8s.io/signers` for its signer name (or the signer's domain
with `/*`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from ..apierrors import forbidden_error
from ..rbac_rules import uncovered
from .auth import RBAC_GROUP, Attributes, User, authorized, role_rules, rules_for

CERTIFICATES_GROUP = "certificates.k8s.io"
ROLE_KINDS = {"Role": "roles", "ClusterRole": "clusterroles"}
BINDING_KINDS = {"RoleBinding": "rolebindings", "ClusterRoleBinding": "clusterrolebindings"}
# what an aggregationRule may gather: anything (upstream's fullAuthority)
_FULL_AUTHORITY = [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]},
                   {"verbs": ["*"], "nonResourceURLs": ["*"]}]
# metadata a write may change without being checked (IsOnlyMutatingGCFields, plus what the server sets)
_UNCHECKED_METADATA = ("ownerReferences", "finalizers", "resourceVersion", "managedFields", "generation")


@attrs.frozen
class Grantor:
    """An HTTP caller as the RBAC storage sees it: the apiserver asks it to confirm each write of an
    RBAC object (`check`) before the write lands."""

    user: User

    def check_write(self, snapshot: Any, group: str, kind: str, namespace: str, obj: Mapping | None,
                    old: Mapping | None, request_name: str | None) -> None:
        """The apiserver's hook for every create, update and patch the caller makes: only RBAC roles
        and bindings are checked."""
        if obj is None or group != RBAC_GROUP or kind not in {**ROLE_KINDS, **BINDING_KINDS}:
            return
        self.check(snapshot, kind, namespace, obj, old, request_name)

    def may_sign(self, snapshot: Any, verb: str, signer_name: str) -> bool:
        """IsAuthorizedForSignerName: `verb` on the `signers` resource of certificates.k8s.io named
        `signer_name`, else named its domain's wildcard (`example.com/*`)."""
        for name in (signer_name, signer_name.split("/")[0] + "/*"):
            if authorized(snapshot, self.user, Attributes(verb, CERTIFICATES_GROUP, "signers", name=name)):
                return True
        return False

    def check(self, snapshot: Any, kind: str, namespace: str, obj: Mapping, old: Mapping | None,
              request_name: str | None) -> None:
        """Raise Forbidden when writing `obj` (over `old`) would grant what the caller does not hold.
        `snapshot` is the state before the write; `request_name` the name in the request's path
        (none on a create), which an `escalate` grant limited by resourceNames must name."""
        if self.user.is_admin or (old is not None and _only_gc_fields(obj, old)):
            return
        name = (obj.get("metadata") or {}).get("name") or ""
        if kind in ROLE_KINDS:
            resource = ROLE_KINDS[kind]
            if authorized(snapshot, self.user, Attributes("escalate", RBAC_GROUP, resource, namespace=namespace,
                                                          name=request_name or "")):
                return
            self._confirm(snapshot, resource, name, namespace, _rules_of(obj.get("rules")))
            if kind == "ClusterRole" and obj.get("aggregationRule") and (
                    old is None or old.get("aggregationRule") != obj.get("aggregationRule")):
                if uncovered(self._owner_rules(snapshot, ""), _FULL_AUTHORITY):
                    raise forbidden_error(f"{resource}.{RBAC_GROUP}", name,
                                          "must have cluster-admin privileges to use the aggregationRule",
                                          group=RBAC_GROUP)
        elif kind in BINDING_KINDS:
            resource = BINDING_KINDS[kind]
            # (judged before validation: a malformed roleRef refers to nothing; validation says why)
            ref = {k: v for k, v in _mapping(obj.get("roleRef")).items() if isinstance(v, str)}
            ref_resource = ROLE_KINDS.get(ref.get("kind") or "", "")
            if ref_resource and authorized(snapshot, self.user, Attributes(
                    "bind", RBAC_GROUP, ref_resource, namespace=namespace, name=ref.get("name") or "")):
                return
            if not _role_exists(snapshot, ref, namespace):  # GetRoleReferenceRules fails: nothing to compare
                ref_name = ref.get("name") or ""
                raise forbidden_error(f"{resource}.{RBAC_GROUP}", name,
                                      f'{ref_resource or "roles"}.{RBAC_GROUP} "{ref_name}" not found',
                                      group=RBAC_GROUP)
            self._confirm(snapshot, resource, name, namespace, role_rules(snapshot, ref, namespace))

    def _owner_rules(self, snapshot: Any, namespace: str) -> list[Mapping]:
        """What the caller holds in `namespace` (upstream's RulesFor): its bindings' rules, those to
        `system:authenticated` (system:basic-user, system:discovery) included."""
        return rules_for(snapshot, self.user, namespace)

    def _confirm(self, snapshot: Any, resource: str, name: str, namespace: str, rules: Sequence[Mapping]) -> None:
        """ConfirmNoEscalation: Forbidden, listing the compacted missing rules, unless covered."""
        missing = uncovered(self._owner_rules(snapshot, namespace), rules)
        if not missing:
            return
        groups = " ".join(json.dumps(g) for g in self.user.groups)
        listed = "\n".join(sorted(_compact_string(r) for r in _compact(missing)))
        why = (f'user "{self.user.name}" (groups=[{groups}]) is attempting to grant RBAC permissions '
               f"not currently held:\n{listed}")
        raise forbidden_error(f"{resource}.{RBAC_GROUP}", name, why, group=RBAC_GROUP)


def _mapping(value: Any) -> Mapping:
    return value if isinstance(value, Mapping) else {}


def _rules_of(value: Any) -> list[dict]:
    """A role's rules as the check reads them, before validation: the maps of a list, each with
    its lists of strings (anything else grants nothing here, and validation refuses it)."""
    fields = ("verbs", "apiGroups", "resources", "resourceNames", "nonResourceURLs")
    def listed(v: Any) -> bool:
        return isinstance(v, Sequence) and not isinstance(v, str)
    return [{k: [v for v in r[k] if isinstance(v, str)] for k in fields if listed(r.get(k))}
            for r in (value if listed(value) else ()) if isinstance(r, Mapping)]


def _only_gc_fields(obj: Mapping, old: Mapping) -> bool:
    def stripped(o: Mapping) -> dict:
        meta = {k: v for k, v in (o.get("metadata") or {}).items() if k not in _UNCHECKED_METADATA}
        return {**o, "metadata": meta}
    return stripped(obj) == stripped(old)


def _role_exists(snapshot: Any, ref: Mapping, namespace: str) -> bool:
    kind, name = ref.get("kind"), ref.get("name") or ""
    if kind == "Role":
        return bool(namespace) and snapshot.get((RBAC_GROUP, "Role", namespace, name)) is not None
    if kind == "ClusterRole":
        return snapshot.get((RBAC_GROUP, "ClusterRole", "", name)) is not None
    return False


def _compact(pieces: Sequence[Mapping]) -> list[dict]:
    """Pieces differing only in their verb merged into one rule (CompactRules)."""
    merged: dict[tuple, dict] = {}
    for piece in pieces:
        key = (tuple(piece.get("apiGroups") or ()), tuple(piece.get("resources") or ()),
               tuple(piece.get("resourceNames") or ()), tuple(piece.get("nonResourceURLs") or ()))
        if key in merged:
            verbs = merged[key]["verbs"]
            verbs += [v for v in piece["verbs"] if v not in verbs]
        else:
            merged[key] = {k: list(v) for k, v in piece.items()}
    return list(merged.values())


def _compact_string(rule: Mapping) -> str:
    """A rule as upstream's PolicyRule CompactString prints it: `{APIGroups:["apps"], Verbs:["get"]}`."""
    fields = (("APIGroups", "apiGroups"), ("Resources", "resources"), ("ResourceNames", "resourceNames"),
              ("NonResourceURLs", "nonResourceURLs"), ("Verbs", "verbs"))
    parts = [f'{label}:[{" ".join(json.dumps(v) for v in rule[key])}]' for label, key in fields if rule.get(key)]
    return "{" + ", ".join(parts) + "}"

