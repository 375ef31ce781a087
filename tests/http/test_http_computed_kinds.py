"""Real kubectl (v1.32) reading the kinds the server computes instead of storing: ComponentStatus
(`kubectl get cs`) and APIService (`kubectl get apiservices`), read-only as upstream serves them here."""

from __future__ import annotations

import json

import pytest

from engine.kinds import Registry, UnknownKind
from engine.store import Store

GADGET_CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gadgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: gadgets, singular: gadget, kind: Gadget}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object}
"""


def test_kubectl_get_cs_answers_the_scheduler_controller_manager_and_etcd_healthy(live):
    got = live.kubectl("get", "cs")
    assert "Warning: v1 ComponentStatus is deprecated in v1.19+" in got.stderr
    rows = [line.split() for line in got.stdout.splitlines()]
    assert rows == [["NAME", "STATUS", "MESSAGE", "ERROR"], ["scheduler", "Healthy", "ok"],
                    ["controller-manager", "Healthy", "ok"], ["etcd-0", "Healthy", "ok"]]
    one = json.loads(live.kubectl("get", "componentstatus", "etcd-0", "-o", "json").stdout)
    assert one["kind"] == "ComponentStatus" and one["conditions"] == [
        {"type": "Healthy", "status": "True", "message": "ok"}]
    assert live.kubectl("get", "cs", "-o", "wide").stdout.split()[:4] == ["NAME", "STATUS", "MESSAGE", "ERROR"]
    assert 'componentstatuses "kube-dns" not found' in live.kubectl("get", "cs", "kube-dns", check=1).stderr
    resources = [line.split() for line in live.kubectl("api-resources", "-o", "wide").stdout.splitlines()]
    assert ["componentstatuses", "cs", "v1", "false", "ComponentStatus", "get,list"] in resources


def test_component_statuses_refuse_writes_and_are_never_stored(live):
    status, _, text = live.request("POST", "/api/v1/componentstatuses",
                                   {"apiVersion": "v1", "kind": "ComponentStatus", "metadata": {"name": "mine"}})
    assert status == 405 and json.loads(text)["reason"] == "MethodNotAllowed"
    assert live.request("DELETE", "/api/v1/componentstatuses/scheduler")[0] == 405
    assert live.request("GET", "/api/v1/componentstatuses?watch=true")[0] == 405
    status, _, text = live.request("GET", "/api/v1/componentstatuses")
    listed = json.loads(text)
    assert listed["kind"] == "ComponentStatusList" and [o["metadata"]["name"] for o in listed["items"]] == [
        "scheduler", "controller-manager", "etcd-0"]
    # (computed by the HTTP face: the store knows no such kind, so nothing of it reaches the history)
    with pytest.raises(UnknownKind):
        Registry.for_snapshot(Store().head).resolve("componentstatuses")


def test_kubectl_get_apiservices_lists_a_local_one_per_served_group_version_crds_included(live):
    path = live.root / "gadgets.yaml"
    path.write_text(GADGET_CRD)
    live.kubectl("apply", "-f", str(path))
    rows = {line.split()[0]: line.split()[1:] for line in live.kubectl("get", "apiservices").stdout.splitlines()}
    assert rows["NAME"] == ["SERVICE", "AVAILABLE", "AGE"]
    for name in ("v1.", "v1.apps", "v2.autoscaling", "v1.autoscaling", "v1.node.k8s.io", "v1.example.com",
                 "v1.apiregistration.k8s.io"):
        assert rows[name][:2] == ["Local", "True"], name
    apps = json.loads(live.kubectl("get", "apiservice", "v1.apps", "-o", "json").stdout)
    assert apps["spec"] == {"group": "apps", "version": "v1", "groupPriorityMinimum": 17800, "versionPriority": 15}
    assert apps["metadata"]["labels"] == {"kube-aggregator.kubernetes.io/automanaged": "onstart"}
    [available] = apps["status"]["conditions"]
    assert (available["type"], available["status"], available["reason"]) == ("Available", "True", "Local")
    core = json.loads(live.kubectl("get", "apiservice", "v1.", "-o", "json").stdout)["spec"]
    assert (core["group"], core["groupPriorityMinimum"], core["versionPriority"]) == ("", 18000, 1)
    custom = json.loads(live.kubectl("get", "apiservice", "v1.example.com", "-o", "json").stdout)
    assert (custom["spec"]["groupPriorityMinimum"], custom["spec"]["versionPriority"]) == (1000, 100)
    assert custom["metadata"]["labels"] == {"kube-aggregator.kubernetes.io/automanaged": "true"}
    assert "apiservices" in live.kubectl("api-resources", "--api-group=apiregistration.k8s.io").stdout
    assert "APIServiceSpec" in live.kubectl("explain", "apiservice.spec").stdout
    refused = live.kubectl("delete", "apiservice", "v1.apps", check=1)
    assert "MethodNotAllowed" in refused.stderr or "not allowed" in refused.stderr
