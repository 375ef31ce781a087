"""The default admin, edit and view ClusterRoles (stored by the API server's bootstrap) gather the
ClusterRoles labelled to aggregate into them through the ClusterRole aggregation controller, as
upstream's: aggregate-to-view adds to view, edit and admin, aggregate-to-edit to edit and admin,
aggregate-to-admin to admin.  Custom resources come to them through aggregation only."""

from __future__ import annotations

import pytest

from engine import rbac_policy
from engine.api.auth import Attributes, User, authorized, service_account_user
from engine.api.resources import actor_of
from engine.apiserver import APIError

RBAC = "rbac.authorization.k8s.io"
BOT = service_account_user("default", "bot")
WIDGETS = {"apiGroups": ["example.com"], "resources": ["widgets"], "verbs": ["get", "list", "create"]}


@pytest.fixture
def agg(controller_cluster):
    controller_cluster.load("clusterrole-aggregation")
    return controller_cluster


def cluster_role(cluster, name: str, rules: list, labels: dict | None = None) -> dict:
    meta = {"name": name, **({"labels": labels} if labels else {})}
    return cluster.create({"apiVersion": f"{RBAC}/v1", "kind": "ClusterRole", "metadata": meta, "rules": rules})


def aggregating_to(role: str) -> dict:
    return {f"{RBAC}/aggregate-to-{role}": "true"}


def bind(cluster, role: str, namespace: str | None = "default", subject: dict | None = None) -> None:
    """`subject` (the service account bot by default) bound to ClusterRole `role` in `namespace`, or cluster-wide."""
    kind = "RoleBinding" if namespace else "ClusterRoleBinding"
    meta = {"name": f"bot-{role}", **({"namespace": namespace} if namespace else {})}
    cluster.create({"apiVersion": f"{RBAC}/v1", "kind": kind, "metadata": meta,
                    "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": role},
                    "subjects": [subject or {"kind": "ServiceAccount", "name": "bot", "namespace": "default"}]})


def may(cluster, verb: str, resource: str = "widgets", group: str = "example.com", namespace: str = "default",
        user=BOT) -> bool:
    return authorized(cluster.store.head, user, Attributes(verb, group, resource, namespace=namespace, name="w"))


def rules_of(cluster, role: str) -> list:
    return cluster.get("ClusterRole", role, "")["rules"]


def test_the_bootstrapped_roles_are_already_aggregated_so_the_controller_writes_nothing(agg):
    revision = agg.store.head.revision
    assert agg.run().converged
    assert agg.store.head.revision == revision
    stored = {r["metadata"]["name"]: r for r in agg.list("ClusterRole", None)}
    assert set(stored) == {r["metadata"]["name"] for r in rbac_policy.CLUSTER_ROLES}
    assert rules_of(agg, "view") == rbac_policy.VIEW_RULES
    assert rules_of(agg, "edit") == rbac_policy.EDIT_RULES + rbac_policy.VIEW_RULES
    assert rules_of(agg, "admin") == rbac_policy.EDIT_RULES + rbac_policy.VIEW_RULES + rbac_policy.ADMIN_RULES
    for role in stored.values():
        assert role["metadata"]["labels"]["kubernetes.io/bootstrapping"] == "rbac-defaults"
        assert role["metadata"]["annotations"]["rbac.authorization.kubernetes.io/autoupdate"] == "true"
    masters = agg.get("ClusterRoleBinding", "cluster-admin", "")
    assert masters["subjects"] == [{"apiGroup": RBAC, "kind": "Group", "name": "system:masters"}]


@pytest.mark.parametrize("label, gathered_by", [
    ("view", {"view", "edit", "admin"}),
    ("edit", {"edit", "admin"}),
    ("admin", {"admin"}),
])
def test_a_labelled_cluster_role_adds_its_rules_to_the_default_roles_up_the_chain(agg, label, gathered_by):
    cluster_role(agg, "widgets", [WIDGETS], aggregating_to(label))
    assert agg.run().converged
    for role in ("view", "edit", "admin"):
        assert (WIDGETS in rules_of(agg, role)) == (role in gathered_by), role


@pytest.mark.parametrize("role", ["view", "edit", "admin"])
def test_a_binding_to_a_default_role_grants_what_aggregates_into_it(agg, role):
    bind(agg, role)
    assert not may(agg, "get")
    cluster_role(agg, "widgets", [WIDGETS], aggregating_to("view"))
    assert agg.run().converged
    assert may(agg, "get") and may(agg, "create")
    assert not may(agg, "delete") and not may(agg, "get", namespace="elsewhere")


def test_only_the_label_set_to_true_aggregates_and_taking_it_away_takes_the_rules_away(agg):
    bind(agg, "edit")
    cluster_role(agg, "widgets", [WIDGETS], {f"{RBAC}/aggregate-to-edit": "yes"})
    assert agg.run().converged
    assert not may(agg, "get")
    agg.patch("ClusterRole", "widgets", {"metadata": {"labels": aggregating_to("edit")}}, "")
    assert agg.run().converged
    assert may(agg, "get")
    agg.delete("ClusterRole", "widgets", "")
    assert agg.run().converged
    assert not may(agg, "get")


def test_aggregated_rules_grant_cluster_scoped_kinds_the_built_in_rules_leave_out(agg):
    bind(agg, "view", namespace=None)
    assert not may(agg, "get", "nodes", "", namespace="")
    cluster_role(agg, "gizmos", [{"apiGroups": ["example.com"], "resources": ["gizmos"], "verbs": ["list"]},
                                 {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get"]}],
                 aggregating_to("view"))
    assert agg.run().converged
    assert may(agg, "list", "gizmos", namespace="")  # (a cluster-scoped custom kind)
    assert may(agg, "get", "nodes", "", namespace="")
    assert not may(agg, "delete", "nodes", "", namespace="") and not may(agg, "get", "persistentvolumes", "", "")


@pytest.mark.parametrize("role", ["view", "edit", "admin"])
def test_no_default_role_grants_a_custom_resource_without_aggregation(agg, role):
    bind(agg, role)
    assert agg.run().converged
    assert not any(may(agg, verb) for verb in ("get", "list", "create", "delete"))
    assert may(agg, "list", "deployments", "apps") and may(agg, "get", "pods", "")
    assert may(agg, "create", "deployments", "apps") == (role != "view")


def test_a_default_role_a_user_rewrites_grants_what_it_now_says_and_one_deleted_is_back_at_the_next_start(agg):
    cluster_role(agg, "widgets", [WIDGETS], aggregating_to("view"))
    bind(agg, "view")
    agg.api.update(agg.admin, {"apiVersion": f"{RBAC}/v1", "kind": "ClusterRole", "metadata": {"name": "view"},
                               "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}]})
    assert agg.run().converged  # (no aggregationRule left: the controller leaves it alone)
    assert may(agg, "get", "configmaps", "") and not may(agg, "get") and not may(agg, "get", "pods", "")
    agg.delete("ClusterRole", "view", "")
    assert not may(agg, "get", "configmaps", "") and not may(agg, "get", "pods", "")
    agg.api.bootstrap()  # (what the next start does: the missing default objects are created again)
    assert rules_of(agg, "view") == rbac_policy.VIEW_RULES
    assert may(agg, "get", "pods", "") and not may(agg, "get")
    assert agg.run().converged  # the controller gathers the labelled roles into it again
    assert may(agg, "get") and rules_of(agg, "view") == rbac_policy.VIEW_RULES + [WIDGETS]


def test_admin_and_edit_impersonate_service_accounts_of_their_namespace_only(agg):
    bind(agg, "edit")
    bind(agg, "admin", namespace=None, subject={"kind": "User", "name": "ann"})
    ann = User("ann", ("system:authenticated",))
    assert may(agg, "impersonate", "serviceaccounts", "") and may(agg, "impersonate", "serviceaccounts", "", user=ann)
    assert not may(agg, "impersonate", "serviceaccounts", "", namespace="elsewhere")
    # (bound cluster-wide, admin impersonated anyone, system:masters included: upstream's admin never could)
    assert not may(agg, "impersonate", "groups", "", namespace="", user=ann)
    assert not may(agg, "impersonate", "users", "", namespace="", user=ann)
    assert not may(agg, "escalate", "roles", RBAC, user=ann) and not may(agg, "bind", "roles", RBAC, user=ann)


def grant_rbac_writes(cluster, rules: list | None = None) -> None:
    """bot may create roles and rolebindings in default (and holds `rules` there)."""
    writes = {"apiGroups": [RBAC], "resources": ["roles", "rolebindings"], "verbs": ["create"]}
    cluster.create({"apiVersion": f"{RBAC}/v1", "kind": "Role", "metadata": {"name": "bot", "namespace": "default"},
                    "rules": [writes, *(rules or ())]})
    cluster.create({"apiVersion": f"{RBAC}/v1", "kind": "RoleBinding",
                    "metadata": {"name": "bot", "namespace": "default"},
                    "roleRef": {"apiGroup": RBAC, "kind": "Role", "name": "bot"},
                    "subjects": [{"kind": "ServiceAccount", "name": "bot", "namespace": "default"}]})


def binding_to(role: str, name: str) -> dict:
    return {"apiVersion": f"{RBAC}/v1", "kind": "RoleBinding", "metadata": {"name": name, "namespace": "default"},
            "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": role},
            "subjects": [{"kind": "ServiceAccount", "name": "other", "namespace": "default"}]}


def refused(cluster, obj: dict) -> str:
    with pytest.raises(APIError) as caught:
        cluster.api.create(actor_of(BOT), obj)
    assert caught.value.code == 403
    return caught.value.message


def test_a_user_bound_to_edit_holds_what_aggregates_into_it_and_may_grant_it(agg):
    bind(agg, "edit")
    grant_rbac_writes(agg)
    role = {"apiVersion": f"{RBAC}/v1", "kind": "Role", "metadata": {"name": "widgets", "namespace": "default"},
            "rules": [WIDGETS]}
    assert 'APIGroups:["example.com"], Resources:["widgets"]' in refused(agg, role)
    cluster_role(agg, "widgets-view", [WIDGETS], aggregating_to("view"))
    assert agg.run().converged
    agg.api.create(actor_of(BOT), role)


def test_a_binding_to_a_default_role_grants_its_aggregated_rules_so_needs_them_held(agg):
    grant_rbac_writes(agg, [dict(r) for r in rules_of(agg, "edit")])  # edit's rules as bootstrapped, not edit
    agg.api.create(actor_of(BOT), binding_to("edit", "one"))
    cluster_role(agg, "widgets-edit", [WIDGETS], aggregating_to("edit"))
    assert agg.run().converged
    assert refused(agg, binding_to("edit", "two")).split(":\n", 1)[1] == (
        '{APIGroups:["example.com"], Resources:["widgets"], Verbs:["get" "list" "create"]}')
