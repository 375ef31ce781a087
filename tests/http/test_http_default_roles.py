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
