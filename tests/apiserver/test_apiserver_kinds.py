"""The resource registry: names kubectl accepts, scopes, categories."""

from __future__ import annotations

import pytest

from engine.kinds import BUILTIN, UnknownKind


@pytest.mark.parametrize("name, group, kind", [
    ("po", "", "Pod"), ("pods", "", "Pod"), ("pod", "", "Pod"), ("Pod", "", "Pod"),
    ("svc", "", "Service"), ("ep", "", "Endpoints"), ("ns", "", "Namespace"), ("no", "", "Node"),
    ("sa", "", "ServiceAccount"), ("cm", "", "ConfigMap"), ("ev", "", "Event"), ("secrets", "", "Secret"),
    ("deploy", "apps", "Deployment"), ("deployments.apps", "apps", "Deployment"), ("deploy.apps", "apps", "Deployment"),
    ("rs", "apps", "ReplicaSet"), ("crd", "apiextensions.k8s.io", "CustomResourceDefinition"),
    ("crds", "apiextensions.k8s.io", "CustomResourceDefinition"), ("pc", "scheduling.k8s.io", "PriorityClass"),
    ("endpointslices", "discovery.k8s.io", "EndpointSlice"), ("leases", "coordination.k8s.io", "Lease"),
])
def test_resolve_accepts_kubectl_names(name, group, kind):
    rt = BUILTIN.resolve(name)
    assert (rt.group, rt.kind) == (group, kind)


def test_unknown_resource_names_the_name_and_the_crd_it_needs():
    with pytest.raises(UnknownKind) as caught:
        BUILTIN.resolve("widgets")
    assert str(caught.value) == ('the server doesn\'t have a resource type "widgets": ensure its '
                                 "CustomResourceDefinition is installed first")


def test_category_all_holds_the_workload_kinds():
    assert {t.plural for t in BUILTIN.category("all")} == {"pods", "replicationcontrollers", "services", "deployments",
                                                           "replicasets", "statefulsets", "daemonsets", "jobs",
                                                           "cronjobs", "horizontalpodautoscalers"}


@pytest.mark.parametrize("kind, namespaced, subresources", [
    ("Pod", True, {"status", "binding", "eviction", "ephemeralcontainers"}), ("Node", False, {"status"}),
    ("Namespace", False, {"status", "finalize"}),
    ("ConfigMap", True, set()),
])
def test_scope_and_subresources(kind, namespaced, subresources):
    rt = BUILTIN.by_kind("", kind)
    assert rt.namespaced is namespaced and rt.subresources == subresources


def test_api_version_and_list_kind():
    rt = BUILTIN.by_kind("apps", "Deployment")
    assert (rt.api_version, rt.list_kind, rt.resource, rt.group_kind) == (
        "apps/v1", "DeploymentList", "deployments.apps", "Deployment.apps")
    assert BUILTIN.by_kind("", "Pod").api_version == "v1"
