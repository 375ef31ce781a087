"""The default admin, edit and view ClusterRoles grant upstream's lists of resources (the rules of
system:aggregate-to-view, -edit and -admin) for the kinds recon serves: edit and admin write the
workloads and what they use, not quotas, limit ranges, Endpoints or EndpointSlices; view reads the
status subresources but no Secrets; none writes a status."""

from __future__ import annotations

import pytest
from apiserver_fixtures import ADMIN

from engine.api import discovery
from engine.api.auth import Attributes, _rule_matches, authorized, service_account_user
from engine.api.resources import actor_of
from engine.apiserver import APIError
from engine.kinds import BUILTINS

RBAC = "rbac.authorization.k8s.io"
BOT = service_account_user("default", "bot")
READS = ("get", "list", "watch")
WRITES = ("create", "update", "patch", "delete", "deletecollection")
# the namespaced kinds users write with edit and admin, as upstream's system:aggregate-to-edit lists them
WORKLOADS = [("", "pods"), ("", "services"), ("", "configmaps"), ("", "secrets"), ("", "persistentvolumeclaims"),
             ("", "serviceaccounts"), ("", "events"), ("apps", "deployments"), ("apps", "replicasets"),
             ("apps", "statefulsets"), ("apps", "daemonsets"), ("batch", "jobs"), ("batch", "cronjobs"),
             ("autoscaling", "horizontalpodautoscalers"), ("policy", "poddisruptionbudgets"),
             ("networking.k8s.io", "ingresses"), ("networking.k8s.io", "networkpolicies"),
             ("coordination.k8s.io", "leases")]
# the namespace owner's (quota, limits) and the controllers' (endpoints): read, never written
READ_ONLY = [("", "resourcequotas"), ("", "limitranges"), ("", "endpoints"), ("discovery.k8s.io", "endpointslices")]
# the subresources upstream's roles name that recon does not serve (granted all the same, so a Role
# written for a real cluster names nothing the default roles lack)
NOT_SERVED = {"pods/attach", "pods/exec", "pods/portforward", "pods/proxy", "services/proxy", "deployments/rollback"}


def bind(api, role: str, name: str = "bot") -> None:
    api.create(ADMIN, {"apiVersion": f"{RBAC}/v1", "kind": "RoleBinding",
                       "metadata": {"name": f"{name}-{role}", "namespace": "default"},
                       "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": role},
                       "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": "default"}]})


def may(api, verb: str, group: str, resource: str, subresource: str = "", user=BOT) -> bool:
    request = Attributes(verb, group, resource, subresource, namespace="default", name="x")
    return authorized(api.head, user, request)


def served() -> list[tuple[str, str, str]]:
    """(group, resource, subresource) of every built-in kind and served subresource ("" the kind itself)."""
    return [(t.group, t.plural, sub) for t in BUILTINS for sub in ("", *discovery.subresources(t))]


@pytest.mark.parametrize("role", ["edit", "admin"])
def test_edit_and_admin_cannot_write_resourcequotas_limitranges_endpoints_or_endpointslices(api, role):
    bind(api, role)
    written = [(verb, resource) for group, resource in READ_ONLY for verb in WRITES if may(api, verb, group, resource)]
    assert written == []
    assert all(may(api, verb, group, resource) for group, resource in READ_ONLY for verb in READS)
    assert not may(api, "update", "", "resourcequotas", "status")


@pytest.mark.parametrize("role", ["edit", "admin"])
def test_edit_and_admin_can_write_the_workload_kinds(api, role):
    bind(api, role)
    refused = [(verb, resource) for group, resource in WORKLOADS for verb in READS + WRITES
               if not may(api, verb, group, resource)]
    assert refused == []
    for resource in ("deployments", "replicasets", "statefulsets"):
        assert may(api, "get", "apps", resource, "scale") and may(api, "update", "apps", resource, "scale")
        assert may(api, "patch", "apps", resource, "scale")
    assert may(api, "create", "", "pods", "eviction") and may(api, "get", "", "pods", "log")
    assert may(api, "create", "", "serviceaccounts", "token")
    assert may(api, "impersonate", "", "serviceaccounts")
    assert may(api, "create", "", "pods", "exec") and may(api, "create", "", "pods", "portforward")


def test_view_reads_the_status_subresources_but_not_secrets(api):
    bind(api, "view")
    statuses = [(group, resource) for group, resource, sub in served()
                if sub == "status" and (group, resource) not in {("", "nodes"), ("", "persistentvolumes"),
                                                                 ("apiextensions.k8s.io", "customresourcedefinitions"),
                                                                 ("certificates.k8s.io", "certificatesigningrequests")}]
    assert ("apps", "deployments") in statuses and ("", "namespaces") in statuses
    unread = [(group, resource) for group, resource in statuses
              if not all(may(api, verb, group, resource, "status") for verb in READS)]
    assert unread == []
    assert not any(may(api, verb, "", "secrets") for verb in READS + WRITES)
    assert may(api, "get", "", "pods", "log") and may(api, "get", "apps", "deployments", "scale")
    assert not may(api, "update", "apps", "deployments", "scale")
    assert not may(api, "create", "", "pods", "exec") and not may(api, "get", "", "pods", "attach")
    assert not may(api, "create", "", "serviceaccounts", "token") and not may(api, "create", "", "pods", "eviction")


@pytest.mark.parametrize("role", ["view", "edit", "admin"])
def test_no_default_role_writes_a_status_or_binds_a_pod(api, role):
    bind(api, role)
    written = [(group, resource) for group, resource, sub in served() if sub == "status"
               for verb in ("update", "patch") if may(api, verb, group, resource, "status")]
    assert written == []
    assert not may(api, "create", "", "pods", "binding") and not may(api, "update", "", "namespaces", "finalize")


@pytest.mark.parametrize("role", ["view", "edit", "admin"])
def test_no_default_role_but_cluster_admin_adds_ephemeral_containers(api, role):
    # (upstream keeps pods/ephemeralcontainers out of them: admission policies written before the
    # subresource existed do not see what it adds)
    bind(api, role)
    bind(api, "cluster-admin", name="root")
    root = service_account_user("default", "root")
    for verb in ("get", "patch", "update"):
        assert not may(api, verb, "", "pods", "ephemeralcontainers")
        assert may(api, verb, "", "pods", "ephemeralcontainers", user=root)


def test_edit_reads_secrets_and_writes_no_rbac_and_admin_writes_roles_and_role_bindings(api):
    bind(api, "edit")
    bind(api, "admin", name="owner")
    owner = service_account_user("default", "owner")
    assert all(may(api, verb, "", "secrets") for verb in READS + WRITES)
    for resource in ("roles", "rolebindings"):
        assert not any(may(api, verb, RBAC, resource) for verb in READS + WRITES)
        assert all(may(api, verb, RBAC, resource, user=owner) for verb in READS + WRITES)
    assert not may(api, "create", "authorization.k8s.io", "localsubjectaccessreviews", user=owner)  # (not served)


def rules_of(api, role: str) -> list:
    return list(api.head.get((RBAC, "ClusterRole", "", role))["rules"])


def test_the_default_roles_name_only_what_recon_serves_or_upstreams_roles_name_besides(api):
    kinds = {(t.group, t.plural) for t in BUILTINS}
    subresources = {f"{resource}/{sub}" for _, resource, sub in served() if sub}
    for role in ("view", "edit", "admin"):
        for rule in rules_of(api, role):
            for group in rule["apiGroups"]:
                for resource in rule["resources"]:
                    assert (group, resource.split("/")[0]) in kinds, (role, group, resource)
                    assert "/" not in resource or resource in subresources | NOT_SERVED, (role, resource)


@pytest.mark.parametrize("role", ["view", "edit", "admin", "cluster-admin"])
def test_a_role_grants_exactly_what_one_of_its_rules_matches(api, role):
    """The authorizer matches a role's plain rules by a set of what they grant; each rule alone must agree."""
    bind(api, role)
    verbs = (*READS, *WRITES, "impersonate", "escalate", "bind")
    requests = [*served(), *((group, *resource.partition("/")[::2]) for resource in NOT_SERVED
                             for group in ("", "apps"))]
    rules = rules_of(api, role)
    differ = [(verb, group, resource, sub) for group, resource, sub in requests for verb in verbs
              if may(api, verb, group, resource, sub) != any(
                  _rule_matches(rule, Attributes(verb, group, resource, sub, namespace="default", name="x"))
                  for rule in rules)]
    assert differ == []
    assert may(api, "get", "apps", "deployments") and may(api, "delete", "", "pods") == (role != "view")


def test_an_admin_grants_through_a_role_what_admin_holds_but_not_writing_quotas(api):
    bind(api, "admin")
    role = {"apiVersion": f"{RBAC}/v1", "kind": "Role", "metadata": {"name": "ops", "namespace": "default"},
            "rules": [{"apiGroups": [""], "resources": ["pods", "pods/exec"], "verbs": ["get", "create"]},
                      {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
                      {"apiGroups": ["apps"], "resources": ["deployments/scale"], "verbs": ["update"]}]}
    api.create(actor_of(BOT), role)
    quota = {**role, "metadata": {"name": "quota", "namespace": "default"},
             "rules": [{"apiGroups": [""], "resources": ["resourcequotas"], "verbs": ["get", "update"]}]}
    with pytest.raises(APIError) as caught:
        api.create(actor_of(BOT), quota)
    assert caught.value.code == 403
    assert caught.value.message.endswith('{APIGroups:[""], Resources:["resourcequotas"], Verbs:["update"]}')
