"""Who is calling, and may they: bearer tokens, the kubeconfig, and RBAC.

Authentication (upstream's token authenticators):
- the admin token written into `.recon/kubeconfig` on start: user
  `kubernetes-admin` in group `system:masters`;
- ServiceAccount token Secrets (legacy tokens, signed by the engine's key,
  `engine.dsl.builtins_controllers.verify_sa_token`): the Secret named in the
  token must still exist and hold it, the ServiceAccount must still exist
  with the same uid; the user is `system:serviceaccount:NS:NAME`.

Authorization is RBAC with upstream semantics: ClusterRoleBindings grant their
ClusterRole everywhere, RoleBindings grant their Role (or a ClusterRole) in
their namespace; a rule matches on apiGroups, resources (`pods`, `pods/log`,
`*`, `*/scale`, `pods/*`), resourceNames and verbs.  `system:masters` may do
everything.  Upstream bootstraps its default ClusterRoles as objects; recon
answers `cluster-admin`, `admin`, `edit` and `view` from code when no object
of that name exists, and lets every authenticated user read discovery, the
version and the OpenAPI documents and create SelfSubjectAccessReviews
(upstream's `system:discovery`, `system:public-info-viewer`, `system:basic-user`).
"""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import yaml

from ..dsl.builtins_controllers import verify_sa_token
from ..objects import get_path

ADMIN = "kubernetes-admin"
MASTERS = "system:masters"
AUTHENTICATED = "system:authenticated"
RBAC_GROUP = "rbac.authorization.k8s.io"
_SA_CLAIM = "kubernetes.io/serviceaccount/"


@attrs.frozen
class User:
    """An authenticated caller (upstream's user.Info)."""

    name: str
    groups: tuple[str, ...] = ()
    uid: str = ""

    @property
    def is_admin(self) -> bool:
        return MASTERS in self.groups


def new_token() -> str:
    """A fresh admin bearer token (a secret: it never lands in the history)."""
    return secrets.token_hex(24)


class Authenticator:
    """Bearer tokens: the admin's, and ServiceAccount token Secrets."""

    def __init__(self, admin_token: str, seed: str = "recon", *, insecure_loopback: bool = False):
        self.admin_token = admin_token
        self.seed = seed
        # kubectl (client-go) sends credentials only over TLS: on plain HTTP bound to
        # loopback, a request without any Authorization header is the admin (what
        # kube-apiserver's old insecure port did).  Tokens that are sent are still checked.
        self.insecure_loopback = insecure_loopback

    def authenticate(self, header: str | None, snapshot: Any) -> User | None:
        if header is None and self.insecure_loopback:
            return User(ADMIN, (MASTERS, AUTHENTICATED))
        scheme, _, token = (header or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return None
        if secrets.compare_digest(token, self.admin_token):
            return User(ADMIN, (MASTERS, AUTHENTICATED))
        return self._service_account(token, snapshot)

    def _service_account(self, token: str, snapshot: Any) -> User | None:
        claims = verify_sa_token(token, self.seed)
        if claims is None:
            return None
        ns = claims.get(_SA_CLAIM + "namespace") or ""
        name = claims.get(_SA_CLAIM + "service-account.name") or ""
        secret = snapshot.get(("", "Secret", ns, claims.get(_SA_CLAIM + "secret.name") or ""))
        stored = get_path(secret, "data", "token") if secret is not None else None
        if not stored or _b64(stored) != token:
            return None
        sa = snapshot.get(("", "ServiceAccount", ns, name))
        uid = get_path(sa, "metadata", "uid") if sa is not None else None
        if uid is None or uid != claims.get(_SA_CLAIM + "service-account.uid"):
            return None
        groups = ("system:serviceaccounts", f"system:serviceaccounts:{ns}", AUTHENTICATED)
        return User(f"system:serviceaccount:{ns}:{name}", groups, uid)


def _b64(value: str) -> str:
    try:
        return base64.b64decode(value).decode()
    except ValueError:
        return ""


# --------------------------------------------------------------- kubeconfig


def write_kubeconfig(path: Path, server: str, token: str, ca_file: Path | None = None) -> Path:
    """A kubeconfig with one cluster, the admin user and a context (mode 0600: it holds the token)."""
    cluster: dict = {"server": server}
    if ca_file is not None:
        cluster["certificate-authority"] = str(ca_file.resolve())
    doc = {
        "apiVersion": "v1", "kind": "Config", "preferences": {},
        "clusters": [{"name": "recon", "cluster": cluster}],
        "users": [{"name": ADMIN, "user": {"token": token}}],
        "contexts": [{"name": "recon", "context": {"cluster": "recon", "user": ADMIN, "namespace": "default"}}],
        "current-context": "recon",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        yaml.safe_dump(doc, out, sort_keys=False)
    return path


# --------------------------------------------------------------------- RBAC

_READ = ("get", "list", "watch")
_ALL_WRITE = ("create", "update", "patch", "delete", "deletecollection")


def _rule(verbs: Sequence[str], groups: Sequence[str] = ("*",), resources: Sequence[str] = ("*",)) -> dict:
    return {"verbs": list(verbs), "apiGroups": list(groups), "resources": list(resources)}


# Upstream's default user-facing ClusterRoles, simplified to what they grant on recon's kinds.
DEFAULT_CLUSTER_ROLES: dict[str, list[dict]] = {
    "cluster-admin": [_rule(["*"]), {"verbs": ["*"], "nonResourceURLs": ["*"]}],
    "admin": [_rule(["*"])],
    "edit": [_rule(_READ + _ALL_WRITE, ["", "apps", "batch", "discovery.k8s.io", "coordination.k8s.io"]),
             _rule(_READ, ["*"])],
    "view": [_rule(_READ, ["", "apps", "batch", "discovery.k8s.io", "coordination.k8s.io", "scheduling.k8s.io",
                           "apiextensions.k8s.io"])],
}
_PUBLIC_PATHS = ("/api", "/apis", "/version", "/openapi", "/healthz", "/livez", "/readyz")


@attrs.frozen
class Attributes:
    """One request as the authorizer sees it (upstream's authorizer.Attributes)."""

    verb: str
    group: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""
    path: str = ""  # non-resource requests only

    @property
    def is_resource(self) -> bool:
        return bool(self.resource)


def authorized(snapshot: Any, user: User, request: Attributes) -> bool:
    """RBAC: does any binding that names `user` grant a rule matching `request`?"""
    if user.is_admin:
        return True
    if not request.is_resource and any(request.path == p or request.path.startswith(p + "/")
                                       for p in _PUBLIC_PATHS):
        return True
    if (request.group, request.resource) in (("authorization.k8s.io", "selfsubjectaccessreviews"),
                                             ("authorization.k8s.io", "selfsubjectrulesreviews")):
        return True
    return any(_rule_matches(rule, request) for rule in rules_for(snapshot, user, request.namespace))


def rules_for(snapshot: Any, user: User, namespace: str) -> list[Mapping]:
    """The rules the bindings naming `user` grant in `namespace` (cluster-wide ones included)."""
    found: list[Mapping] = []
    for binding in snapshot.list(RBAC_GROUP, "ClusterRoleBinding"):
        if _names(binding, user, ""):
            found += _role_rules(snapshot, binding.get("roleRef") or {}, "")
    if namespace:
        for binding in snapshot.list(RBAC_GROUP, "RoleBinding", namespace):
            if _names(binding, user, namespace):
                found += _role_rules(snapshot, binding.get("roleRef") or {}, namespace)
    return found


def _names(binding: Mapping, user: User, namespace: str) -> bool:
    for subject in binding.get("subjects") or ():
        kind, name = subject.get("kind"), subject.get("name")
        if kind == "User" and name == user.name:
            return True
        if kind == "Group" and name in user.groups:
            return True
        if kind == "ServiceAccount":
            sa_ns = subject.get("namespace") or namespace
            if user.name == f"system:serviceaccount:{sa_ns}:{name}":
                return True
    return False


def _role_rules(snapshot: Any, ref: Mapping, namespace: str) -> list[Mapping]:
    kind, name = ref.get("kind"), ref.get("name") or ""
    if kind == "Role" and namespace:
        role = snapshot.get((RBAC_GROUP, "Role", namespace, name))
    elif kind == "ClusterRole":
        role = snapshot.get((RBAC_GROUP, "ClusterRole", "", name))
        if role is None:
            return _default_rules(name)
    else:
        return []
    return list(role.get("rules") or ()) if role is not None else []


def _default_rules(name: str) -> list[Mapping]:
    """A default ClusterRole; `view` reads no Secrets, neither `view` nor `edit` touches RBAC."""
    rules = DEFAULT_CLUSTER_ROLES.get(name, [])
    if name in ("view", "edit"):
        return [dict(r, excluded="view" if name == "view" else "edit") for r in rules]
    return rules


def _rule_matches(rule: Mapping, request: Attributes) -> bool:
    verbs = rule.get("verbs") or ()
    if "*" not in verbs and request.verb not in verbs:
        return False
    if not request.is_resource:
        return any(u == "*" or u == request.path or (u.endswith("*") and request.path.startswith(u[:-1]))
                   for u in rule.get("nonResourceURLs") or ())
    groups = rule.get("apiGroups") or ()
    if "*" not in groups and request.group not in groups:
        return False
    if rule.get("excluded") and (request.group == RBAC_GROUP or (
            rule["excluded"] == "view" and (request.group, request.resource) == ("", "secrets"))):
        return False
    if not _resource_matches(rule.get("resources") or (), request.resource, request.subresource):
        return False
    names = rule.get("resourceNames") or ()
    return not names or request.name in names


def _resource_matches(resources: Sequence[str], resource: str, subresource: str) -> bool:
    combined = f"{resource}/{subresource}" if subresource else resource
    for entry in resources:
        if entry in ("*", combined):
            return True
        if subresource and entry in (f"*/{subresource}", f"{resource}/*"):
            return True
    return False
