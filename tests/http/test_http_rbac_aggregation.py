"""Real kubectl (v1.32): ClusterRoles labelled aggregate-to-edit / aggregate-to-view give the default admin,
edit and view roles a custom kind, the standard way of letting namespace users at a CRD's objects."""

from __future__ import annotations

import json

from http_live import bound_service_account

RBAC = """\
apiVersion: v1
kind: Namespace
metadata: {name: team}
---
""" + "---\n".join([bound_service_account("team", "owner", "admin", "owner-admins"),
                    bound_service_account("team", "editor", "edit", "editor-edits"),
                    bound_service_account("team", "viewer", "view", "viewer-views")])
AGGREGATED = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: webapps-edit
  labels: {rbac.authorization.k8s.io/aggregate-to-edit: "true"}
rules:
- {apiGroups: [example.com], resources: [webapps], verbs: [create, update, patch, delete]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: webapps-view
  labels: {rbac.authorization.k8s.io/aggregate-to-view: "true"}
rules:
- {apiGroups: [example.com], resources: [webapps], verbs: [get, list, watch]}
"""
WEBAPP = """\
apiVersion: example.com/v1
kind: WebApp
metadata: {name: shop, namespace: team}
spec: {image: nginx:1.25}
"""
EDITOR, VIEWER = "--as=system:serviceaccount:team:editor", "--as=system:serviceaccount:team:viewer"
OWNER = "--as=system:serviceaccount:team:owner"


def can_i(live, verb: str, as_user: str) -> str:
    return live.kubectl("auth", "can-i", verb, "webapps.example.com", "-n", "team", as_user, check=None).stdout


def test_cluster_roles_aggregated_into_admin_edit_and_view_let_their_users_at_a_custom_kind(live):
    live.kubectl("apply", "-f", "-", input=RBAC)
    assert can_i(live, "create", EDITOR) == "no\n" and can_i(live, "list", VIEWER) == "no\n"
    assert can_i(live, "delete", OWNER) == "no\n"  # admin too: custom kinds come through aggregation only
    denied = live.kubectl("create", "-f", "-", EDITOR, input=WEBAPP, check=1)
    assert 'cannot create resource "webapps" in API group "example.com" in the namespace "team"' in denied.stderr

    live.kubectl("apply", "-f", "-", input=AGGREGATED)
    assert can_i(live, "create", EDITOR) == "yes\n" and can_i(live, "list", EDITOR) == "yes\n"
    assert can_i(live, "list", VIEWER) == "yes\n" and can_i(live, "create", VIEWER) == "no\n"
    assert can_i(live, "delete", OWNER) == "yes\n"  # (edit's gathers reach admin)
    assert "webapp.example.com/shop created" in live.kubectl("create", "-f", "-", EDITOR, input=WEBAPP).stdout
    assert live.kubectl("get", "webapps", "-n", "team", "-o", "name", VIEWER).stdout == "webapp.example.com/shop\n"
    listed = live.kubectl("auth", "can-i", "--list", "-n", "team", VIEWER).stdout
    assert any(line.startswith("webapps.example.com ") and "[get list watch]" in line for line in listed.splitlines())
    # the default roles are stored, holding what the aggregation controller gathered into them
    for role in ("view", "edit", "admin"):
        rules = json.loads(live.kubectl("get", "clusterrole", role, "-o", "json").stdout)["rules"]
        assert {"apiGroups": ["example.com"], "resources": ["webapps"], "verbs": ["get", "list", "watch"]} in rules

    live.kubectl("label", "clusterrole", "webapps-edit", "rbac.authorization.k8s.io/aggregate-to-edit-")
    assert can_i(live, "delete", EDITOR) == "no\n" and can_i(live, "get", EDITOR) == "yes\n"
    assert can_i(live, "delete", OWNER) == "no\n"
