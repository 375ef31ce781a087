"""Who is calling, and may they: bearer tokens, the kubeconfig, and RBAC.

Authentication (upstream's token authenticators):
- the admin token written into `.recon/kubeconfig` on start: user
  `kubernetes-admin` in group `system:masters`;
- ServiceAccount token Secrets (legacy tokens, signed by the engine's key,
  `engine.dsl.builtins_controllers.verify_sa_token`): the Secret named in the
  token must still exist and hold it, the ServiceAccount must still exist
  with the same uid; the user is `system:serviceaccount:NS:NAME`;
- bound ServiceAccount tokens issued by TokenRequest (`kubectl create
  token`): signed with the same key, valid until their `exp` by the API's
  clock, for the API server's audience, while the account keeps its uid.

Impersonation (`Impersonate-User`, `-Group`, `-Uid`, `-Extra-*`): the caller
needs the RBAC verb `impersonate` on each users / groups / serviceaccounts /
uids / userextras named; the request then acts (and is recorded) as that
identity.

Authorization is RBAC with upstream semantics: ClusterRoleBindings grant their
ClusterRole everywhere, RoleBindings grant their Role (or a ClusterRole) in
their namespace; a rule matches on apiGroups, resources (`pods`, `pods/log`,
`*`, `*/scale`, `pods/*`), resourceNames and verbs.  `system:masters` may do
everything.  The roles are read as stored: the default ones (`cluster-admin`,
`admin`, `edit`, `view`, and what lets every authenticated user read discovery
and review itself) are objects the API server bootstraps (`rbac_policy`), and
the aggregated ones hold the rules the ClusterRole aggregation controller
gathered into them (rules/clusterrole-aggregation.rules).  A binding to a role
that does not exist grants nothing.  Nobody grants through a Role or binding
what they do not hold (`escalation`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import yaml

from ..apierrors import bad_request, forbidden_error
from ..dsl.builtins_controllers import signing_key, verify_sa_token
from ..objects import get_path
from ..rbac_policy import AUTHENTICATED, CLUSTER_ADMIN_RULES, MASTERS, RBAC_GROUP
from ..rbac_rules import url_matches

ADMIN = "kubernetes-admin"
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

    def __init__(self, admin_token: str, seed: str = "recon", *, insecure_loopback: bool = False,
                 clock: Callable[[], float] | None = None):
        self.admin_token = admin_token
        self.seed = seed
        self.clock = clock  # the API's clock: bound tokens expire by it
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
        bound = verify_bound_token(token, self.seed, self.clock() if self.clock else None, snapshot)
        return bound if bound is not None else self._service_account(token, snapshot)

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
        return service_account_user(ns, name, uid)


def service_account_user(namespace: str, name: str, uid: str = "") -> User:
    groups = ("system:serviceaccounts", f"system:serviceaccounts:{namespace}", AUTHENTICATED)
    return User(f"system:serviceaccount:{namespace}:{name}", groups, uid)


# ------------------------------------------------------- bound tokens (TokenRequest)

TOKEN_ISSUER = "https://kubernetes.default.svc.cluster.local"
DEFAULT_TOKEN_SECONDS = 3600
MIN_TOKEN_SECONDS = 600


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(signing_input: str, seed: str) -> str:
    return _b64url(hmac.new(signing_key(seed), signing_input.encode(), hashlib.sha256).digest())


def bound_token(namespace: str, name: str, uid: str, issued: int, expires: int, audiences: Sequence[str],
                seed: str) -> str:
    """A bound service-account JWT (upstream's claims: iss, sub, aud, iat, nbf, exp, jti and the
    `kubernetes.io` claim), HS256 with the seed's key; deterministic: the jti is a digest of the rest."""
    claims: dict[str, Any] = {
        "aud": list(audiences), "exp": expires, "iat": issued, "iss": TOKEN_ISSUER, "nbf": issued,
        "kubernetes.io": {"namespace": namespace, "serviceaccount": {"name": name, "uid": uid}},
        "sub": f"system:serviceaccount:{namespace}:{name}",
    }
    claims["jti"] = hashlib.sha256(json.dumps(claims, sort_keys=True).encode()).hexdigest()[:32]
    header = {"alg": "HS256", "kid": "recon", "typ": "JWT"}
    parts = [_b64url(json.dumps(p, separators=(",", ":"), sort_keys=True).encode()) for p in (header, claims)]
    signing_input = ".".join(parts)
    return f"{signing_input}.{_sign(signing_input, seed)}"


def verify_bound_token(token: str, seed: str, now: float | None, snapshot: Any) -> User | None:
    """The ServiceAccount a bound token names, when its signature, audience and expiry hold and the
    account still exists with the uid it was issued for."""
    parts = token.split(".")
    if len(parts) != 3 or not hmac.compare_digest(_sign(f"{parts[0]}.{parts[1]}", seed), parts[2]):
        return None
    try:
        claims = json.loads(_unb64url(parts[1]))
    except ValueError:
        return None
    if not isinstance(claims, dict) or claims.get("iss") != TOKEN_ISSUER or TOKEN_ISSUER not in (claims.get("aud") or ()):
        return None
    if now is not None and not (claims.get("nbf", 0) <= now < claims.get("exp", 0)):
        return None
    info = claims.get("kubernetes.io") or {}
    ns, account = info.get("namespace") or "", (info.get("serviceaccount") or {})
    sa = snapshot.get(("", "ServiceAccount", ns, account.get("name") or ""))
    if sa is None or get_path(sa, "metadata", "uid") != account.get("uid"):
        return None
    return service_account_user(ns, account["name"], account["uid"])


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

# (a role's rules read at every request of a user bound to it: each stored list of rules, by
# identity, as the set of (verb, group, resource, subresource) its plain rules grant and the rules
# with wildcards or names, matched one by one)
_COMPILED: dict[int, tuple[Any, frozenset, tuple]] = {}
_COMPILED_LIMIT = 512


def _compiled(rules: Any) -> tuple[frozenset, tuple]:
    found = _COMPILED.get(id(rules))
    if found is not None and found[0] is rules:
        return found[1], found[2]
    plain, other = [], []
    for rule in rules:
        verbs, groups, resources = (rule.get(f) or () for f in ("verbs", "apiGroups", "resources"))
        if (rule.get("resourceNames") or rule.get("nonResourceURLs") or "*" in verbs or "*" in groups
                or any("*" in r for r in resources)):
            other.append(rule)
        else:
            plain.append(rule)
    grants = frozenset((verb, group, *resource.partition("/")[::2]) for rule in plain
                       for verb in rule.get("verbs") or () for group in rule.get("apiGroups") or ()
                       for resource in rule.get("resources") or ())
    if len(_COMPILED) >= _COMPILED_LIMIT:
        _COMPILED.clear()
    _COMPILED[id(rules)] = (rules, grants, tuple(other))  # (holds `rules`: its id is not reused)
    return grants, tuple(other)


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
    """RBAC: does any binding that names `user` grant a rule matching `request`?  (`system:masters`
    may do everything; every authenticated user may read discovery and review itself through the
    bootstrapped bindings to `system:authenticated`, `rbac_policy`.)"""
    if user.is_admin:
        return True
    return any(_role_grants(snapshot, ref, namespace, request)
               for ref, namespace in bound_roles(snapshot, user, request.namespace))


def rules_for(snapshot: Any, user: User, namespace: str) -> list[Mapping]:
    """The rules the bindings naming `user` grant in `namespace` (cluster-wide ones included)."""
    return [rule for ref, bound_in in bound_roles(snapshot, user, namespace)
            for rule in role_rules(snapshot, ref, bound_in)]


def bound_roles(snapshot: Any, user: User, namespace: str) -> Iterator[tuple[Mapping, str]]:
    """The roleRef of each binding naming `user` that counts in `namespace`, with the namespace it
    grants in ("" for a ClusterRoleBinding)."""
    for binding in snapshot.list(RBAC_GROUP, "ClusterRoleBinding"):
        if _names(binding, user, ""):
            yield binding.get("roleRef") or {}, ""
    if namespace:
        for binding in snapshot.list(RBAC_GROUP, "RoleBinding", namespace):
            if _names(binding, user, namespace):
                yield binding.get("roleRef") or {}, namespace


def _role_grants(snapshot: Any, ref: Mapping, namespace: str, request: Attributes) -> bool:
    """Does the role `ref` names grant `request`?  Its plain rules are one set lookup (`_compiled`)."""
    rules = _stored_rules(snapshot, ref, namespace)
    if not rules:
        return False
    grants, other = _compiled(rules)
    if request.is_resource and (request.verb, request.group, request.resource, request.subresource) in grants:
        return True
    return any(_rule_matches(rule, request) for rule in other)


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


def _stored_rules(snapshot: Any, ref: Mapping, namespace: str) -> Any:
    """The rules of the Role or ClusterRole `ref` names (in `namespace` for a Role), as stored."""
    kind, name = ref.get("kind"), ref.get("name") or ""
    if kind == "Role" and namespace:
        role = snapshot.get((RBAC_GROUP, "Role", namespace, name))
    elif kind == "ClusterRole":
        role = snapshot.get((RBAC_GROUP, "ClusterRole", "", name))
    else:
        return ()
    return (role.get("rules") or ()) if role is not None else ()


def role_rules(snapshot: Any, ref: Mapping, namespace: str) -> list[Mapping]:
    """The rules of the role `ref` names; none when it does not exist (a binding to a missing role
    grants nothing, as upstream)."""
    return list(_stored_rules(snapshot, ref, namespace))


def _rule_matches(rule: Mapping, request: Attributes) -> bool:
    if not request.is_resource:
        return _verb_matches(rule, request.verb) and url_matches(rule.get("nonResourceURLs") or (), request.path)
    groups = rule.get("apiGroups") or ()  # (first: most rules name one group, so most are passed over here)
    if "*" not in groups and request.group not in groups:
        return False
    if not _verb_matches(rule, request.verb):
        return False
    if not _resource_matches(rule.get("resources") or (), request.resource, request.subresource):
        return False
    names = rule.get("resourceNames") or ()
    return not names or request.name in names


def _verb_matches(rule: Mapping, verb: str) -> bool:
    verbs = rule.get("verbs") or ()
    return "*" in verbs or verb in verbs


def _resource_matches(resources: Sequence[str], resource: str, subresource: str) -> bool:
    """`*`, the resource, or for a subresource `pods/log`, `*/log` or `pods/*`."""
    if "*" in resources:
        return True
    if not subresource:
        return resource in resources
    return (f"{resource}/{subresource}" in resources or f"*/{subresource}" in resources
            or f"{resource}/*" in resources)


# ------------------------------------------------------------ impersonation

_IMPERSONATE = "Impersonate-"
_AUTH_GROUP = "authentication.k8s.io"


def impersonate(snapshot: Any, user: User, headers: Mapping[str, str]) -> User:
    """The identity a request acts as: `user`, or the one its Impersonate-* headers name, when `user`
    may `impersonate` each of them (upstream's WithImpersonation filter); Forbidden otherwise."""
    names = [k for k in headers if k.lower().startswith(_IMPERSONATE.lower())]
    if not names:
        return user
    get_all = getattr(headers, "getall", None)
    values = {k.lower(): (get_all(k) if get_all else [headers[k]]) for k in names}
    name = (values.get("impersonate-user") or [""])[0]
    groups = list(values.get("impersonate-group") or ())
    uid = (values.get("impersonate-uid") or [""])[0]
    extras = {k[len("impersonate-extra-"):]: v for k, v in values.items() if k.startswith("impersonate-extra-")}
    if not name:
        raise bad_request("requested impersonation of groups, a uid or extras without impersonating a user")
    checks: list[tuple[Attributes, str]] = []
    if name.startswith("system:serviceaccount:") and name.count(":") == 3:
        _, _, sa_ns, sa_name = name.split(":")
        checks.append((Attributes("impersonate", "", "serviceaccounts", namespace=sa_ns, name=sa_name), "serviceaccounts"))
        impersonated = service_account_user(sa_ns, sa_name)
        base_groups = list(impersonated.groups)
    else:
        checks.append((Attributes("impersonate", "", "users", name=name), "users"))
        base_groups = [] if name == "system:anonymous" else [AUTHENTICATED]
    checks += [(Attributes("impersonate", "", "groups", name=g), "groups") for g in groups]
    if uid:
        checks.append((Attributes("impersonate", _AUTH_GROUP, "uids", name=uid), "uids"))
    checks += [(Attributes("impersonate", _AUTH_GROUP, "userextras", subresource=key, name=v), f"userextras/{key}")
               for key, vs in extras.items() for v in vs]
    for request, resource in checks:
        if not authorized(snapshot, user, request):
            scope = f'in the namespace "{request.namespace}"' if request.namespace else "at the cluster scope"
            plural = request.resource if not request.group else f"{request.resource}.{request.group}"
            raise forbidden_error(plural, request.name, f'User "{user.name}" cannot impersonate resource '
                                  f'"{resource}" in API group "{request.group}" {scope}', group=request.group)
    all_groups = tuple(dict.fromkeys([*groups, *base_groups]))
    return User(name, all_groups, uid)


# ------------------------------------------------------------ rules reviews


def rules_review(snapshot: Any, user: User, namespace: str) -> dict:
    """A SelfSubjectRulesReview's status: what `user` may do in `namespace` (`kubectl auth can-i --list`)."""
    granted: list[Mapping] = []
    if user.is_admin:
        granted += CLUSTER_ADMIN_RULES
    granted += rules_for(snapshot, user, namespace)
    resource_rules, non_resource_rules = [], []
    for rule in granted:
        if rule.get("nonResourceURLs"):
            non_resource_rules.append({"verbs": list(rule.get("verbs") or ()),
                                       "nonResourceURLs": list(rule["nonResourceURLs"])})
        else:
            entry = {"verbs": list(rule.get("verbs") or ()), "apiGroups": list(rule.get("apiGroups") or ()),
                     "resources": list(rule.get("resources") or ())}
            if rule.get("resourceNames"):
                entry["resourceNames"] = list(rule["resourceNames"])
            resource_rules.append(entry)
    return {"resourceRules": resource_rules, "nonResourceRules": non_resource_rules, "incomplete": False}
