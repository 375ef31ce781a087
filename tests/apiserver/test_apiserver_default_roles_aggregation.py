"""The default admin, edit and view ClusterRoles gather the ClusterRoles labelled to aggregate into them,
as upstream's aggregated roles: aggregate-to-view adds to view, edit and admin, aggregate-to-edit to edit
and admin, aggregate-to-admin to admin.  Custom resources come to them through aggregation only."""

from __future__ import annotations

import pytest
from apiserver_fixtures import ADMIN

from engine.api.auth import (DEFAULT_CLUSTER_ROLES, Attributes, User, authorized, default_rules,
                             service_account_user)
from engine.api.resources import actor_of
from engine.apiserver import APIError

RBAC = "rbac.authorization.k8s.io"
BOT = service_account_user("default", "bot")
WIDGETS = {"apiGroups": ["example.com"], "resources": ["widgets"], "verbs": ["get", "list", "create"]}


def cluster_role(api, name: str, rules: list, labels: dict | None = None) -> dict:
    meta = {"name": name, **({"labels": labels} if labels else {})}
    return api.create(ADMIN, {"apiVersion": f"{RBAC}/v1", "kind": "ClusterRole", "metadata": meta, "rules": rules})


def aggregating_to(role: str) -> dict:
    return {f"{RBAC}/aggregate-to-{role}": "true"}


def bind(api, role: str, namespace: str | None = "default", subject: dict | None = None) -> None:
    """`subject` (the service account bot by default) bound to ClusterRole `role` in `namespace`, or cluster-wide."""
    kind = "RoleBinding" if namespace else "ClusterRoleBinding"
    meta = {"name": f"bot-{role}", **({"namespace": namespace} if namespace else {})}
    api.create(ADMIN, {"apiVersion": f"{RBAC}/v1", "kind": kind, "metadata": meta,
                       "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": role},
                       "subjects": [subject or {"kind": "ServiceAccount", "name": "bot", "namespace": "default"}]})


def may(api, verb: str, resource: str = "widgets", group: str = "example.com", namespace: str = "default",
        user=BOT) -> bool:
    return authorized(api.head, user, Attributes(verb, group, resource, namespace=namespace, name="w"))


@pytest.mark.parametrize("label, gathered_by", [
    ("view", {"view", "edit", "admin"}),
    ("edit", {"edit", "admin"}),
    ("admin", {"admin"}),
])
def test_a_labelled_cluster_role_adds_its_rules_to_the_default_roles_up_the_chain(api, label, gathered_by):
    cluster_role(api, "widgets", [WIDGETS], aggregating_to(label))
    for role in ("view", "edit", "admin"):
        assert (WIDGETS in default_rules(api.head, role)) == (role in gathered_by), role


@pytest.mark.parametrize("role", ["view", "edit", "admin"])
def test_a_binding_to_a_default_role_grants_what_aggregates_into_it(api, role):
    bind(api, role)
    assert not may(api, "get")
    cluster_role(api, "widgets", [WIDGETS], aggregating_to("view"))
    assert may(api, "get") and may(api, "create")
    assert not may(api, "delete") and not may(api, "get", namespace="elsewhere")


def test_only_the_label_set_to_true_aggregates_and_taking_it_away_takes_the_rules_away(api):
    bind(api, "edit")
    cluster_role(api, "widgets", [WIDGETS], {f"{RBAC}/aggregate-to-edit": "yes"})
    assert not may(api, "get")
    api.patch(ADMIN, RBAC, "ClusterRole", "", "widgets", {"metadata": {"labels": aggregating_to("edit")}}, "merge")
    assert may(api, "get")
    api.delete(ADMIN, RBAC, "ClusterRole", "", "widgets")
    assert not may(api, "get")


def test_aggregated_rules_grant_cluster_scoped_kinds_the_built_in_rules_leave_out(api):
    bind(api, "view", namespace=None)
    assert not may(api, "get", "nodes", "", namespace="")
    cluster_role(api, "gizmos", [{"apiGroups": ["example.com"], "resources": ["gizmos"], "verbs": ["list"]},
                                 {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get"]}],
                 aggregating_to("view"))
    assert may(api, "list", "gizmos", namespace="")  # (a cluster-scoped custom kind)
    assert may(api, "get", "nodes", "", namespace="")
    assert not may(api, "delete", "nodes", "", namespace="") and not may(api, "get", "persistentvolumes", "", "")


@pytest.mark.parametrize("role", ["view", "edit", "admin"])
def test_no_default_role_grants_a_custom_resource_without_aggregation(api, role):
    bind(api, role)
    assert not any(may(api, verb) for verb in ("get", "list", "create", "delete"))
    assert may(api, "list", "deployments", "apps") and may(api, "get", "pods", "")
    assert may(api, "create", "deployments", "apps") == (role != "view")


def test_a_stored_cluster_role_of_a_default_roles_name_replaces_it_aggregation_and_all(api):
    cluster_role(api, "widgets", [WIDGETS], aggregating_to("view"))
    cluster_role(api, "view", [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}])
    bind(api, "view")
    assert may(api, "get", "configmaps", "") and not may(api, "get") and not may(api, "get", "pods", "")


def test_admin_and_edit_impersonate_service_accounts_of_their_namespace_only(api):
    bind(api, "edit")
    bind(api, "admin", namespace=None, subject={"kind": "User", "name": "ann"})
    ann = User("ann", ("system:authenticated",))
    assert may(api, "impersonate", "serviceaccounts", "") and may(api, "impersonate", "serviceaccounts", "", user=ann)
    assert not may(api, "impersonate", "serviceaccounts", "", namespace="elsewhere")
    # (bound cluster-wide, admin impersonated anyone, system:masters included: upstream's admin never could)
    assert not may(api, "impersonate", "groups", "", namespace="", user=ann)
    assert not may(api, "impersonate", "users", "", namespace="", user=ann)
    assert not may(api, "escalate", "roles", RBAC, user=ann) and not may(api, "bind", "roles", RBAC, user=ann)


def grant_rbac_writes(api, rules: list | None = None) -> None:
    """bot may create roles and rolebindings in default (and holds `rules` there)."""
    writes = {"apiGroups": [RBAC], "resources": ["roles", "rolebindings"], "verbs": ["create"]}
    api.create(ADMIN, {"apiVersion": f"{RBAC}/v1", "kind": "Role", "metadata": {"name": "bot", "namespace": "default"},
                       "rules": [writes, *(rules or ())]})
    api.create(ADMIN, {"apiVersion": f"{RBAC}/v1", "kind": "RoleBinding",
                       "metadata": {"name": "bot", "namespace": "default"},
                       "roleRef": {"apiGroup": RBAC, "kind": "Role", "name": "bot"},
                       "subjects": [{"kind": "ServiceAccount", "name": "bot", "namespace": "default"}]})


def binding_to(role: str, name: str) -> dict:
    return {"apiVersion": f"{RBAC}/v1", "kind": "RoleBinding", "metadata": {"name": name, "namespace": "default"},
            "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": role},
            "subjects": [{"kind": "ServiceAccount", "name": "other", "namespace": "default"}]}


def refused(api, obj: dict) -> str:
    with pytest.raises(APIError) as caught:
        api.create(actor_of(BOT), obj)
    assert caught.value.code == 403
    return caught.value.message


def test_a_user_bound_to_edit_holds_what_aggregates_into_it_and_may_grant_it(api):
    bind(api, "edit")
    grant_rbac_writes(api)
    role = {"apiVersion": f"{RBAC}/v1", "kind": "Role", "metadata": {"name": "widgets", "namespace": "default"},
            "rules": [WIDGETS]}
    assert 'APIGroups:["example.com"], Resources:["widgets"]' in refused(api, role)
    cluster_role(api, "widgets-view", [WIDGETS], aggregating_to("view"))
    api.create(actor_of(BOT), role)


def test_a_binding_to_a_default_role_grants_its_aggregated_rules_so_needs_them_held(api):
    grant_rbac_writes(api, [dict(r) for r in DEFAULT_CLUSTER_ROLES["edit"]])  # edit's own rules, not edit
    api.create(actor_of(BOT), binding_to("edit", "one"))
    cluster_role(api, "widgets-edit", [WIDGETS], aggregating_to("edit"))
    assert refused(api, binding_to("edit", "two")).split(":\n", 1)[1] == (
        '{APIGroups:["example.com"], Resources:["widgets"], Verbs:["get" "list" "create"]}')
