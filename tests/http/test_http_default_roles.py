"""Real kubectl (v1.32): a service account bound to the default edit ClusterRole, acting with its own
token, may do what upstream's edit allows (the workloads and what they use) and nothing more (quotas,
limit ranges, Endpoints, EndpointSlices, status, RBAC, cluster-scoped kinds).  Served over TLS:
kubectl sends a token over HTTPS only (on plain HTTP, loopback, it would act as the admin)."""

from __future__ import annotations

import pytest
from http_live import bound_service_account, start, stop

RBAC = """\
apiVersion: v1
kind: Namespace
metadata: {name: crew}
---
""" + bound_service_account("crew", "editor", "edit", "editor-edits")
ALLOWED = [("create", "deployments.apps"), ("update", "deployments.apps", "--subresource=scale"),
           ("delete", "statefulsets.apps"), ("create", "cronjobs.batch"), ("patch", "horizontalpodautoscalers"),
           ("create", "pods", "--subresource=eviction"), ("create", "serviceaccounts", "--subresource=token"),
           ("get", "secrets"), ("create", "networkpolicies.networking.k8s.io"), ("list", "resourcequotas"),
           ("get", "deployments.apps", "--subresource=status")]
REFUSED = [("create", "resourcequotas"), ("update", "limitranges"), ("create", "endpoints"),
           ("delete", "endpointslices.discovery.k8s.io"), ("update", "deployments.apps", "--subresource=status"),
           ("create", "rolebindings.rbac.authorization.k8s.io"), ("list", "nodes")]


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    server = start(tmp_path_factory.mktemp("live"), "--tls")
    yield server
    stop(server)


def test_kubectl_auth_can_i_as_a_service_account_bound_to_edit_answers_as_upstreams_edit(live):
    live.kubectl("apply", "-f", "-", input=RBAC)
    token = live.kubectl("create", "token", "editor", "-n", "crew").stdout.strip()
    who = live.kubectl("--token", token, "auth", "whoami").stdout.splitlines()[1].split()
    assert who == ["Username", "system:serviceaccount:crew:editor"]

    def can_i(verb: str, *what: str) -> str:
        return live.kubectl("--token", token, "auth", "can-i", verb, *what, "-n", "crew", check=None).stdout.strip()

    assert [args for args in ALLOWED if can_i(*args) != "yes"] == []
    assert [args for args in REFUSED if can_i(*args) != "no"] == []
    listed = live.kubectl("--token", token, "auth", "can-i", "--list", "-n", "crew").stdout.splitlines()
    quotas = [line.split() for line in listed if line.startswith("resourcequotas ")]
    assert quotas == [["resourcequotas", "[]", "[]", "[get", "list", "watch]"]]
    denied = live.kubectl("--token", token, "create", "quota", "pods", "--hard=pods=2", "-n", "crew", check=1)
    assert 'cannot create resource "resourcequotas" in API group "" in the namespace "crew"' in denied.stderr
    made = live.kubectl("--token", token, "create", "deployment", "web", "--image=nginx:1.25", "-n", "crew")
    assert made.stdout == "deployment.apps/web created\n"


def test_kubectl_lists_and_describes_the_bootstrapped_default_roles_and_bindings(live):
    listed = live.kubectl("get", "clusterroles", "-l", "kubernetes.io/bootstrapping=rbac-defaults", "-o", "name")
    assert [line.split("/", 1)[1] for line in listed.stdout.split()] == [
        "admin", "cluster-admin", "edit", "system:aggregate-to-admin", "system:aggregate-to-edit",
        "system:aggregate-to-view", "system:basic-user", "system:discovery", "system:public-info-viewer", "view"]
    bindings = live.kubectl("get", "clusterrolebindings", "-o", "wide").stdout.splitlines()
    masters = [line.split() for line in bindings if line.startswith("cluster-admin ")]
    assert masters[0][1] == "ClusterRole/cluster-admin" and "system:masters" in masters[0]
    described = live.kubectl("describe", "clusterrole", "edit").stdout
    assert "aggregate-to-admin=true" in described
    # (kubectl's describer merges the verbs of a resource's rules into one row)
    policy = {row[0]: set(" ".join(row[3:]).strip("[]").split()) for row in map(str.split, described.splitlines())
              if len(row) > 3 and row[1:3] == ["[]", "[]"]}
    assert policy["deployments.apps/scale"] == {"create", "update", "patch", "delete", "deletecollection",
                                                "get", "list", "watch"}
    assert policy["pods/log"] == {"get", "list", "watch"}  # (view's, gathered into edit)
    assert "roles.rbac.authorization.k8s.io" not in policy  # (admin's own)
