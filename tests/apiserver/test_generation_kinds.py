"""metadata.generation as upstream v1.32 keeps it: only for the kinds whose strategy does, bumped by spec changes."""

from __future__ import annotations

import pytest
from apiserver_fixtures import ADMIN, deployment, node, pod

from engine.objects import set_path

SERVICE = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "default"},
           "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}
CONFIGMAP = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "default"}}
SECRET = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "default"}}
ACCOUNT = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "a", "namespace": "default"}}
NAMESPACE = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}}
SLICE = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "addressType": "IPv4",
         "metadata": {"name": "s-1", "namespace": "default"}, "endpoints": [{"addresses": ["10.0.0.1"]}]}


@pytest.mark.parametrize("body", [pod("p"), SERVICE, node("n1"), CONFIGMAP, SECRET, ACCOUNT, NAMESPACE],
                         ids=lambda b: b["kind"])
def test_kinds_without_a_generation_get_none(api, body):
    assert "generation" not in api.create(ADMIN, body)["metadata"]


def test_a_generation_sent_on_create_is_dropped_for_those_kinds(api):
    body = set_path(CONFIGMAP, ("metadata", "generation"), 7)
    assert "generation" not in api.create(ADMIN, dict(body))["metadata"]


def test_spec_changes_to_a_service_or_node_bump_nothing(api):
    svc = api.create(ADMIN, SERVICE)
    assert "generation" not in api.update(ADMIN, set_path(svc, ("spec", "selector"), {"app": "api"}))["metadata"]
    api.create(ADMIN, node("n1"))
    tainted = api.patch(ADMIN, "", "Node", None, "n1", {"spec": {"unschedulable": True}})
    assert "generation" not in tainted["metadata"]
    status = api.patch(ADMIN, "", "Node", None, "n1", {"status": {"conditions": [{"type": "Ready", "status": "True"}]}},
                       subresource="status")
    assert "generation" not in status["metadata"]


def test_workloads_start_at_one_and_bump_on_spec_changes_only(api):
    created = api.create(ADMIN, deployment(replicas=1))
    assert created["metadata"]["generation"] == 1
    scaled = api.patch(ADMIN, "apps", "Deployment", "default", "web", {"spec": {"replicas": 3}})
    assert scaled["metadata"]["generation"] == 2
    labelled = api.patch(ADMIN, "apps", "Deployment", "default", "web", {"metadata": {"labels": {"x": "y"}}})
    assert labelled["metadata"]["generation"] == 2
    status = api.patch(ADMIN, "apps", "Deployment", "default", "web", {"status": {"replicas": 3}}, subresource="status")
    assert status["metadata"]["generation"] == 2


def test_an_endpoint_slice_bumps_when_its_endpoints_change(api):
    created = api.create(ADMIN, SLICE)
    assert created["metadata"]["generation"] == 1
    moved = api.update(ADMIN, set_path(created, ("endpoints", 0, "addresses"), ["10.0.0.2"]))
    assert moved["metadata"]["generation"] == 2
