"""The default admin, edit and view ClusterRoles bound cluster-wide: like upstream's, they grant
namespaced objects only, and reading namespaces; nodes, cluster roles and the other cluster-scoped
kinds stay cluster-admin's."""

from __future__ import annotations

import pytest
from apiserver_fixtures import ADMIN

from engine.api.auth import Attributes, authorized, service_account_user

_READS = ("get", "list", "watch")
_WRITES = ("create", "update", "patch", "delete", "deletecollection")
CLUSTER_SCOPED = [("", "nodes"), ("", "persistentvolumes"), ("storage.k8s.io", "storageclasses"),
                  ("scheduling.k8s.io", "priorityclasses"), ("apiextensions.k8s.io", "customresourcedefinitions"),
                  ("rbac.authorization.k8s.io", "clusterroles"), ("rbac.authorization.k8s.io", "clusterrolebindings"),
                  ("networking.k8s.io", "ingressclasses")]


def bind_cluster_wide(api, role: str) -> None:
    api.create(ADMIN, {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                       "metadata": {"name": f"bot-{role}"},
                       "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
                       "subjects": [{"kind": "ServiceAccount", "name": "bot", "namespace": "default"}]})


@pytest.mark.parametrize("role", ["admin", "edit", "view"])
def test_no_default_user_role_grants_a_cluster_scoped_kind_but_reading_namespaces(api, role):
    bind_cluster_wide(api, role)
    bot = service_account_user("default", "bot")

    def may(verb: str, group: str, resource: str, namespace: str = "") -> bool:
        return authorized(api.head, bot, Attributes(verb, group, resource, namespace=namespace, name="x"))

    granted = [(verb, group, resource) for group, resource in CLUSTER_SCOPED for verb in _READS + _WRITES
               if may(verb, group, resource)]
    assert granted == []
    assert all(may(verb, "", "namespaces") for verb in _READS)
    assert not any(may(verb, "", "namespaces") for verb in _WRITES)
    # what the role is for still holds, in every namespace
    assert may("list", "apps", "deployments", "team-a") and may("get", "", "pods", "team-b")
    assert may("create", "apps", "deployments", "team-a") == (role != "view")
    assert may("create", "rbac.authorization.k8s.io", "rolebindings", "team-a") == (role == "admin")
