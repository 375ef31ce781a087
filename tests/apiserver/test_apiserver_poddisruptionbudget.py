"""PodDisruptionBudget (policy/v1) in the API server: what the default user roles grant on it."""

from __future__ import annotations

import pytest
from apiserver_fixtures import ADMIN

from engine.api.auth import Attributes, authorized, service_account_user

_WRITES = ("create", "update", "patch", "delete", "deletecollection")


def bind(api, role: str) -> None:
    api.create(ADMIN, {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                       "metadata": {"name": f"bot-{role}", "namespace": "default"},
                       "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
                       "subjects": [{"kind": "ServiceAccount", "name": "bot", "namespace": "default"}]})


@pytest.mark.parametrize("role, verbs, refused", [
    ("view", ("get", "list", "watch"), _WRITES),
    ("edit", ("get", "list", "watch") + _WRITES, ()),
    ("admin", ("get", "list", "watch") + _WRITES, ()),
])
def test_the_default_user_roles_grant_pod_disruption_budgets_as_upstreams_do(api, role, verbs, refused):
    """Upstream's edit writes poddisruptionbudgets (policy); its view reads them and their status."""
    bind(api, role)
    bot = service_account_user("default", "bot")

    def may(verb: str, subresource: str = "") -> bool:
        request = Attributes(verb, "policy", "poddisruptionbudgets", subresource, namespace="default", name="web")
        return authorized(api.head, bot, request)

    assert [v for v in verbs if not may(v)] == [] and [v for v in refused if may(v)] == []
    assert may("get", "status") and may("list", "status") and may("watch", "status")


def test_view_does_not_write_a_budgets_status(api):
    bind(api, "view")
    bot = service_account_user("default", "bot")
    status = Attributes("update", "policy", "poddisruptionbudgets", "status", namespace="default", name="web")
    assert not authorized(api.head, bot, status)
