"""The default RBAC objects the API server bootstraps, as upstream's bootstrap policy
(plugin/pkg/auth/authorizer/rbac/bootstrappolicy) does for the ones recon's users meet.

ClusterRoles:
- `cluster-admin`: everything, bound to the group `system:masters`;
- `admin`, `edit` and `view`: aggregated roles.  Their rules are what the
  ClusterRoles labelled `rbac.authorization.k8s.io/aggregate-to-<role>: "true"`
  hold, gathered by the ClusterRole aggregation controller
  (rules/clusterrole-aggregation.rules).  Their own base rules live in
  `system:aggregate-to-admin`, `-edit` and `-view`; `view` is labelled to
  aggregate into `edit` and `edit` into `admin`, so each holds the one
  before it.  The bootstrap writes them already aggregated (`aggregate`),
  so the controller finds nothing to change in a fresh cluster;
- `system:basic-user`, `system:discovery`, `system:public-info-viewer`: what
  every authenticated user may do (review itself, read discovery, the
  version and the health checks), bound to `system:authenticated`.

Every object is labelled `kubernetes.io/bootstrapping: rbac-defaults` and
annotated `rbac.authorization.kubernetes.io/autoupdate: "true"`.  At every
start the API server creates the ones that are missing and gives the others
what they lack of these (`rbac_reconcile`), as upstream's post-start hook
does: one deleted is back at the next start, one edited gets back what was
taken from it unless annotated autoupdate "false".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

RBAC_GROUP = "rbac.authorization.k8s.io"
API_VERSION = f"{RBAC_GROUP}/v1"
AUTHENTICATED = "system:authenticated"
UNAUTHENTICATED = "system:unauthenticated"
MASTERS = "system:masters"
AGGREGATE_TO = {role: f"{RBAC_GROUP}/aggregate-to-{role}" for role in ("admin", "edit", "view")}
BOOTSTRAPPING = {"kubernetes.io/bootstrapping": "rbac-defaults"}
AUTOUPDATE = {"rbac.authorization.kubernetes.io/autoupdate": "true"}

_READ = ("get", "list", "watch")
_WRITE = ("create", "update", "patch", "delete", "deletecollection")


def _rule(verbs: Sequence[str], groups: Sequence[str] = ("*",), resources: Sequence[str] = ("*",)) -> dict:
    return {"verbs": list(verbs), "apiGroups": list(groups), "resources": list(resources)}


CLUSTER_ADMIN_RULES = [_rule(["*"]), {"verbs": ["*"], "nonResourceURLs": ["*"]}]

# Upstream's user-facing roles (the rules of system:aggregate-to-view, -edit and -admin), resource by
# resource, for the kinds recon serves: nothing of the extensions group, no localsubjectaccessreviews.
# The subresources of those kinds keep upstream's names where recon does not serve them (exec,
# attach, port-forward, proxy, rollback), so a Role written for a real cluster names nothing the
# default roles lack.  None names a cluster-scoped kind but namespaces (read: at a
# namespace's scope, that namespace), nor pods/ephemeralcontainers (upstream leaves it to cluster
# admins: admission policies written before it existed do not look at what it adds).
_POD_ACCESS = ("pods/attach", "pods/exec", "pods/portforward", "pods/proxy")
VIEW_RULES = [
    _rule(_READ, [""], ["pods", "pods/status", "pods/log", "replicationcontrollers", "replicationcontrollers/scale",
                        "replicationcontrollers/status", "services", "services/status", "endpoints",
                        "persistentvolumeclaims", "persistentvolumeclaims/status", "configmaps", "serviceaccounts",
                        "events", "bindings", "limitranges", "resourcequotas", "resourcequotas/status"]),
    _rule(_READ, [""], ["namespaces", "namespaces/status"]),
    _rule(_READ, ["apps"], ["deployments", "deployments/status", "deployments/scale", "replicasets",
                            "replicasets/status", "replicasets/scale", "statefulsets", "statefulsets/status",
                            "statefulsets/scale", "daemonsets", "daemonsets/status", "controllerrevisions"]),
    _rule(_READ, ["batch"], ["jobs", "jobs/status", "cronjobs", "cronjobs/status"]),
    _rule(_READ, ["autoscaling"], ["horizontalpodautoscalers", "horizontalpodautoscalers/status"]),
    _rule(_READ, ["policy"], ["poddisruptionbudgets", "poddisruptionbudgets/status"]),
    _rule(_READ, ["networking.k8s.io"], ["ingresses", "ingresses/status", "networkpolicies"]),
    _rule(_READ, ["discovery.k8s.io"], ["endpointslices"]),
    _rule(_READ, ["proxy.recon.dev"], ["servicerules"]),  # recon's own: a Service's routing, read like its slices
]
# edit writes the workloads and what they use; not Endpoints or EndpointSlices (the controllers' since
# Kubernetes 1.22), not quotas or limit ranges (what a cluster admin limits a namespace by), no
# */status.  It reads Secrets and the pod-access subresources, which view leaves out.
EDIT_RULES = [
    _rule(_READ, [""], [*_POD_ACCESS, "secrets", "services/proxy"]),
    _rule(["impersonate"], [""], ["serviceaccounts"]),
    _rule(_WRITE, [""], ["pods", *_POD_ACCESS]),
    _rule(["create"], [""], ["pods/eviction", "serviceaccounts/token"]),
    _rule(_WRITE, [""], ["configmaps", "events", "persistentvolumeclaims", "replicationcontrollers",
                         "replicationcontrollers/scale", "secrets", "serviceaccounts", "services", "services/proxy"]),
    _rule(_WRITE, ["apps"], ["deployments", "deployments/scale", "deployments/rollback", "replicasets",
                             "replicasets/scale", "statefulsets", "statefulsets/scale", "daemonsets"]),
    _rule(_WRITE, ["batch"], ["jobs", "cronjobs"]),
    _rule(_WRITE, ["autoscaling"], ["horizontalpodautoscalers"]),
    _rule(_WRITE, ["policy"], ["poddisruptionbudgets"]),
    _rule(_WRITE, ["networking.k8s.io"], ["ingresses", "networkpolicies"]),
    _rule(_READ + _WRITE, ["coordination.k8s.io"], ["leases"]),
]
# admin is edit plus the namespace's roles and role bindings (within what it holds: `escalation`)
ADMIN_RULES = [_rule(_READ + _WRITE, [RBAC_GROUP], ["roles", "rolebindings"])]

# what every authenticated user may do (system:basic-user, system:discovery, system:public-info-viewer)
BASIC_USER_RULES = [
    {"verbs": ["create"], "apiGroups": ["authorization.k8s.io"],
     "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]},
    {"verbs": ["create"], "apiGroups": ["authentication.k8s.io"], "resources": ["selfsubjectreviews"]},
]
PUBLIC_INFO_URLS = ["/healthz", "/livez", "/readyz", "/version", "/version/"]
DISCOVERY_RULES = [{"verbs": ["get"], "nonResourceURLs": ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez",
                                                         "/openapi", "/openapi/*", "/readyz", "/version", "/version/"]}]
PUBLIC_INFO_RULES = [{"verbs": ["get"], "nonResourceURLs": PUBLIC_INFO_URLS}]


def _meta(name: str, labels: Mapping[str, str] | None = None) -> dict:
    return {"name": name, "labels": {**BOOTSTRAPPING, **(labels or {})}, "annotations": dict(AUTOUPDATE)}


def _role(name: str, rules: list, labels: Mapping[str, str] | None = None, gathers: str | None = None) -> dict:
    role = {"apiVersion": API_VERSION, "kind": "ClusterRole", "metadata": _meta(name, labels)}
    if gathers:
        role["aggregationRule"] = {"clusterRoleSelectors": [{"matchLabels": {AGGREGATE_TO[gathers]: "true"}}]}
    role["rules"] = rules
    return role


def _binding(name: str, *groups: str) -> dict:
    return {"apiVersion": API_VERSION, "kind": "ClusterRoleBinding", "metadata": _meta(name),
            "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": name},
            "subjects": [{"apiGroup": RBAC_GROUP, "kind": "Group", "name": g} for g in groups]}


def aggregate(role: Mapping, roles: Iterable[Mapping]) -> list:
    """The rules the aggregation controller gives `role` (one with an aggregationRule of matchLabels
    selectors) among `roles`: selector by selector, the selected roles by name, itself excepted,
    each rule once."""
    out: list = []
    ordered = sorted(roles, key=lambda r: r["metadata"]["name"])
    for selector in role["aggregationRule"]["clusterRoleSelectors"]:
        wanted = selector["matchLabels"].items()
        for other in ordered:
            labels = other["metadata"].get("labels") or {}
            if other is role or any(labels.get(k) != v for k, v in wanted):
                continue
            out += [rule for rule in other.get("rules") or () if rule not in out]
    return out


def _cluster_roles() -> list[dict]:
    roles = [
        _role("cluster-admin", CLUSTER_ADMIN_RULES),
        _role("system:aggregate-to-admin", ADMIN_RULES, {AGGREGATE_TO["admin"]: "true"}),
        _role("system:aggregate-to-edit", EDIT_RULES, {AGGREGATE_TO["edit"]: "true"}),
        _role("system:aggregate-to-view", VIEW_RULES, {AGGREGATE_TO["view"]: "true"}),
        _role("system:basic-user", BASIC_USER_RULES),
        _role("system:discovery", DISCOVERY_RULES),
        _role("system:public-info-viewer", PUBLIC_INFO_RULES),
    ]
    # view first: edit gathers view, admin gathers edit
    for name, labels in (("view", {AGGREGATE_TO["edit"]: "true"}), ("edit", {AGGREGATE_TO["admin"]: "true"}),
                         ("admin", None)):
        role = _role(name, [], labels, gathers=name)
        role["rules"] = aggregate(role, roles)
        roles.append(role)
    return sorted(roles, key=lambda r: r["metadata"]["name"])


CLUSTER_ROLES: list[dict] = _cluster_roles()
CLUSTER_ROLE_BINDINGS: list[dict] = [
    _binding("cluster-admin", MASTERS),
    _binding("system:basic-user", AUTHENTICATED),
    _binding("system:discovery", AUTHENTICATED),
    _binding("system:public-info-viewer", AUTHENTICATED, UNAUTHENTICATED),
]
