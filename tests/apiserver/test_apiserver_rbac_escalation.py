"""RBAC escalation prevention: an API caller grants through Roles and bindings only what it holds.

Upstream's policybased RBAC storage: a Role / ClusterRole needs its rules covered by the caller's own (or
`escalate`), a binding the referenced role's rules (or `bind` on that role); system:masters and the engine's
own actors are not checked.
"""

from __future__ import annotations

import pytest
from apiserver_fixtures import ADMIN, make_server

from engine.api.auth import ADMIN as ADMIN_NAME
from engine.api.auth import AUTHENTICATED, MASTERS, User, service_account_user
from engine.api.resources import actor_of
from engine.apiserver import MANIFESTS, APIError

RBAC = "rbac.authorization.k8s.io"
BOT = actor_of(service_account_user("rb", "bot"))
BOT_PREFIX = ('user "system:serviceaccount:rb:bot" (groups=["system:serviceaccounts" "system:serviceaccounts:rb" '
              '"system:authenticated"]) is attempting to grant RBAC permissions not currently held:\n')


def rule(groups, resources, verbs, names=None) -> dict:
    found = {"apiGroups": list(groups), "resources": list(resources), "verbs": list(verbs)}
    return {**found, "resourceNames": list(names)} if names else found


def role(name, rules, namespace="rb", kind="Role") -> dict:
    meta = {"name": name, "namespace": namespace} if kind == "Role" else {"name": name}
    return {"apiVersion": f"{RBAC}/v1", "kind": kind, "metadata": meta, "rules": rules}


def binding(name, ref_kind, ref_name, namespace="rb", subject="bot", kind="RoleBinding") -> dict:
    meta = {"name": name, "namespace": namespace} if kind == "RoleBinding" else {"name": name}
    return {"apiVersion": f"{RBAC}/v1", "kind": kind, "metadata": meta,
            "roleRef": {"apiGroup": RBAC, "kind": ref_kind, "name": ref_name},
            "subjects": [{"kind": "ServiceAccount", "name": subject, "namespace": "rb"}]}


BOT_RULES = [rule([""], ["pods"], ["get", "list", "watch"]),
             rule([RBAC], ["roles", "rolebindings"], ["create", "get", "list", "update", "patch"])]


@pytest.fixture
def api():
    """Namespace rb, where the service account bot may read pods and write roles and rolebindings."""
    server = make_server()
    server.create(ADMIN, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "rb"}})
    server.create(ADMIN, role("bot", BOT_RULES))
    server.create(ADMIN, binding("bot", "Role", "bot"))
    return server


def refused(api, actor, obj) -> str:
    before = api.head.revision
    with pytest.raises(APIError) as caught:
        api.create(actor, obj)
    assert (caught.value.code, caught.value.reason) == (403, "Forbidden")
    assert api.head.revision == before
    return caught.value.message


def test_a_role_granting_what_the_caller_lacks_is_refused_in_upstreams_words(api):
    message = refused(api, BOT, role("sneaky", [rule([""], ["secrets"], ["get"])]))
    assert message == (f'roles.{RBAC} "sneaky" is forbidden: ' + BOT_PREFIX
                       + '{APIGroups:[""], Resources:["secrets"], Verbs:["get"]}')


def test_a_rolebinding_to_cluster_admin_is_refused_listing_what_it_would_grant(api):
    message = refused(api, BOT, binding("sneaky-b", "ClusterRole", "cluster-admin"))
    assert message == (f'rolebindings.{RBAC} "sneaky-b" is forbidden: ' + BOT_PREFIX
                       + '{APIGroups:["*"], Resources:["*"], Verbs:["*"]}\n{NonResourceURLs:["*"], Verbs:["*"]}')


def test_missing_pieces_are_compacted_by_verb_and_held_ones_left_out(api):
    wanted = [rule(["", "apps"], ["pods", "deployments"], ["get", "delete", "create"])]
    message = refused(api, BOT, role("mixed", wanted))
    assert message.split(":\n", 1)[1].split("\n") == [
        '{APIGroups:[""], Resources:["deployments"], Verbs:["get" "delete" "create"]}',
        '{APIGroups:[""], Resources:["pods"], Verbs:["delete" "create"]}',
        '{APIGroups:["apps"], Resources:["deployments"], Verbs:["get" "delete" "create"]}',
        '{APIGroups:["apps"], Resources:["pods"], Verbs:["get" "delete" "create"]}',
    ]


def test_a_role_within_what_the_caller_holds_and_a_binding_to_it_are_allowed(api):
    api.create(BOT, role("reader", [rule([""], ["pods"], ["get", "list"], names=["web"])]))
    api.create(BOT, binding("reader", "Role", "reader", subject="other"))
    # resourceNames narrow: holding one name covers that name only
    api.create(ADMIN, role("one-secret", [rule([""], ["secrets"], ["get"], names=["a"])]))
    api.create(ADMIN, binding("one-secret", "Role", "one-secret"))
    api.create(BOT, role("a-only", [rule([""], ["secrets"], ["get"], names=["a"])]))
    both = role("b-too", [rule([""], ["secrets"], ["get"], names=["a", "b"])])
    assert 'ResourceNames:["b"]' in refused(api, BOT, both)
    assert "secrets" in refused(api, BOT, role("any-secret", [rule([""], ["secrets"], ["get"])]))


def test_a_star_is_covered_only_by_a_star(api):
    api.create(ADMIN, role("pods-all", [rule([""], ["pods"], ["get", "list", "watch", "create", "update", "patch",
                                                               "delete", "deletecollection"])]))
    api.create(ADMIN, binding("pods-all", "Role", "pods-all"))
    assert 'Verbs:["*"]' in refused(api, BOT, role("star", [rule([""], ["pods"], ["*"])]))
    assert 'Resources:["*"]' in refused(api, BOT, role("star-res", [rule([""], ["*"], ["get"])]))
    api.create(ADMIN, role("star", [rule([""], ["pods"], ["*"])]))
    api.create(ADMIN, binding("star", "Role", "star"))
    api.create(BOT, role("star-copy", [rule([""], ["pods"], ["*"])]))


def test_updating_or_patching_a_role_to_grant_more_is_refused(api):
    created = api.create(BOT, role("grows", [rule([""], ["pods"], ["get"])]))
    grown = {**created, "rules": [rule([""], ["pods"], ["get", "delete"])]}
    with pytest.raises(APIError) as caught:
        api.update(BOT, grown)
    assert caught.value.code == 403 and 'Verbs:["delete"]' in caught.value.message
    with pytest.raises(APIError) as caught:
        api.patch(BOT, RBAC, "Role", "rb", "grows", {"rules": [rule([""], ["secrets"], ["list"])]}, "merge")
    assert caught.value.code == 403 and 'Resources:["secrets"]' in caught.value.message
    assert api.head.get((RBAC, "Role", "rb", "grows"))["rules"] == [rule([""], ["pods"], ["get"])]
    # the same rules, relabelled: nothing new granted
    api.patch(BOT, RBAC, "Role", "rb", "grows", {"metadata": {"labels": {"a": "b"}}}, "merge")


def test_a_binding_does_not_vouch_for_itself(api):
    """The caller's rules come from the state before the write: binding oneself to a role is no proof."""
    api.create(ADMIN, role("deleter", [rule([""], ["pods"], ["delete"])]))
    assert 'Verbs:["delete"]' in refused(api, BOT, binding("self", "Role", "deleter"))


def test_escalate_permits_a_role_and_bind_permits_a_binding(api):
    api.create(ADMIN, role("escalator", [rule([RBAC], ["roles"], ["escalate"])]))
    api.create(ADMIN, binding("escalator", "Role", "escalator"))
    api.create(BOT, role("sneaky", [rule([""], ["secrets"], ["get"])]))
    # bind on a named ClusterRole only
    api.create(ADMIN, role("binder", [rule([RBAC], ["clusterroles"], ["bind"], names=["edit"])]))
    api.create(ADMIN, binding("binder", "Role", "binder"))
    api.create(BOT, binding("edit", "ClusterRole", "edit", subject="other"))
    refused(api, BOT, binding("sneaky-b", "ClusterRole", "cluster-admin"))


def test_escalate_in_another_namespace_does_not_count(api):
    api.create(ADMIN, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "elsewhere"}})
    api.create(ADMIN, role("escalator", [rule([RBAC], ["roles"], ["escalate"])], namespace="elsewhere"))
    api.create(ADMIN, binding("escalator", "Role", "escalator", namespace="elsewhere"))
    refused(api, BOT, role("sneaky", [rule([""], ["secrets"], ["get"])]))


def test_a_cluster_role_is_compared_with_cluster_wide_rules_only(api):
    api.create(ADMIN, role("cr-writer", [rule([RBAC], ["clusterroles"], ["create"])], kind="ClusterRole"))
    api.create(ADMIN, {**binding("cr-writer", "ClusterRole", "cr-writer", kind="ClusterRoleBinding")})
    # bot reads pods in rb only: not cluster-wide
    message = refused(api, BOT, role("pod-reader", [rule([""], ["pods"], ["get"])], kind="ClusterRole"))
    assert message.startswith(f'clusterroles.{RBAC} "pod-reader" is forbidden: ')
    api.create(BOT, role("cr-reader", [rule([RBAC], ["clusterroles"], ["create"])], kind="ClusterRole"))


def test_a_binding_to_a_missing_role_is_forbidden_without_bind(api):
    message = refused(api, BOT, binding("ghost", "Role", "ghost"))
    assert message == f'rolebindings.{RBAC} "ghost" is forbidden: roles.{RBAC} "ghost" not found'


def test_masters_and_the_engines_own_actors_are_not_checked(api):
    root = actor_of(User(ADMIN_NAME, (MASTERS, AUTHENTICATED)))
    api.create(root, role("by-admin", [rule(["*"], ["*"], ["*"])]))
    api.create(MANIFESTS, role("by-manifests", [rule(["*"], ["*"], ["*"])]))
    api.create(ADMIN, binding("by-rule-admin", "ClusterRole", "cluster-admin"))


def test_a_user_bound_to_edit_may_bind_edit_but_not_admin(api):
    alice = actor_of(User("alice", (AUTHENTICATED,)))
    api.create(ADMIN, {**binding("alice-edit", "ClusterRole", "edit"),
                       "subjects": [{"kind": "User", "name": "alice"}]})
    api.create(ADMIN, {**binding("alice-rbac", "Role", "bot"), "subjects": [{"kind": "User", "name": "alice"}]})
    api.create(alice, binding("bot-edit", "ClusterRole", "edit"))
    refused(api, alice, binding("bot-admin", "ClusterRole", "admin"))
    api.create(alice, binding("bot-view", "ClusterRole", "view"))  # view is within edit


def test_an_aggregation_rule_needs_full_authority(api):
    api.create(ADMIN, role("cr-writer", [rule([RBAC], ["clusterroles"], ["create"])], kind="ClusterRole"))
    api.create(ADMIN, binding("cr-writer", "ClusterRole", "cr-writer", kind="ClusterRoleBinding"))
    aggregated = {**role("gathers", [], kind="ClusterRole"),
                  "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"agg": "x"}}]}}
    message = refused(api, BOT, aggregated)
    assert message == (f'clusterroles.{RBAC} "gathers" is forbidden: '
                       'must have cluster-admin privileges to use the aggregationRule')


def test_escalation_is_judged_before_validation_and_before_a_name_clash(api):
    """The policybased storage checks before the wrapped storage validates or stores: 403 first."""
    invalid = role("bad", [{"apiGroups": [""], "resources": ["secrets"], "verbs": []},
                           rule([""], ["secrets"], ["get"])])
    assert 'Resources:["secrets"], Verbs:["get"]' in refused(api, BOT, invalid)
    api.create(ADMIN, role("taken", [rule([""], ["secrets"], ["get"])]))
    assert 'Resources:["secrets"]' in refused(api, BOT, role("taken", [rule([""], ["secrets"], ["get"])]))
    created = api.create(BOT, role("grows", [rule([""], ["pods"], ["get"])]))
    with pytest.raises(APIError) as caught:
        api.update(BOT, {**created, "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]},
                                              {"verbs": []}]})
    assert caught.value.code == 403
    assert 'Resources:["secrets"]' in refused(api, BOT, role("bad/name", [rule([""], ["secrets"], ["get"])]))
    # what the caller holds, invalid: the validation's 422
    with pytest.raises(APIError) as caught:
        api.create(BOT, role("bad/name", [rule([""], ["pods"], ["get"])]))
    assert caught.value.code == 422


def test_a_malformed_role_or_binding_is_invalid_not_a_crash(api):
    for bad in (role("s", "rules"), role("t", ["rule"]), role("u", [{"verbs": "get", "resources": 1}]),
                {**binding("b", "Role", "bot"), "roleRef": "bot"},
                {**binding("c", "Role", "bot"), "roleRef": {"kind": ["Role"], "name": 5}}):
        with pytest.raises(APIError) as caught:
            api.create(BOT, bad)
        assert caught.value.code in (403, 422), caught.value.message


def test_roles_and_bindings_are_validated_in_upstreams_words(api):
    def invalid(obj):
        with pytest.raises(APIError) as caught:
            api.create(ADMIN, obj)
        assert caught.value.code == 422
        return caught.value.message
    assert invalid(role("r", [{"apiGroups": [""], "resources": ["pods"]}])).endswith(
        'rules[0].verbs: Required value: verbs must contain at least one value')
    assert "rules[0].resources: Required value: resource rules must supply at least one resource" in invalid(
        role("r", [{"apiGroups": [""], "verbs": ["get"]}]))
    assert "namespaced rules cannot apply to non-resource URLs" in invalid(
        role("r", [{"nonResourceURLs": ["/healthz"], "verbs": ["get"]}]))
    assert 'roleRef.kind: Unsupported value: "ClusterRole"' not in invalid(binding("b", "Secret", "x"))
    created = api.create(ADMIN, binding("b", "Role", "bot"))
    with pytest.raises(APIError) as caught:
        api.update(ADMIN, {**created, "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "view"}})
    assert caught.value.code == 422 and "roleRef: Invalid value" in caught.value.message
    assert "cannot change roleRef" in caught.value.message
