"""DeleteOptions: what a DELETE body (or, without one, its query string) asks, honoured for one object
and for a collection: dryRun, preconditions, propagationPolicy / orphanDependents, gracePeriodSeconds."""

from __future__ import annotations

import json

from http_live import wait_for


def _names(live, *args: str) -> list[str]:
    return live.kubectl("get", *args, "-o", "name").stdout.split()


def _delete(live, path: str, options: dict | None = None, query: str = "") -> tuple[int, dict]:
    code, _, body = live.request("DELETE", path + query, options)
    return code, json.loads(body)


def _configmaps(live, namespace: str) -> list[str]:
    """The namespace's ConfigMaps but the CA bundle every namespace gets (kube-root-ca.crt)."""
    return [n for n in _names(live, "configmaps", "-n", namespace) if n != "configmap/kube-root-ca.crt"]


def _configmap(live, namespace: str, name: str) -> None:
    live.kubectl("create", "configmap", name, "-n", namespace, "--from-literal=a=b")


def test_kubectl_delete_with_server_dry_run_keeps_configmaps_deployments_and_namespaces(live):
    live.kubectl("create", "namespace", "dr1")
    _configmap(live, "dr1", "keep")
    live.kubectl("create", "deployment", "nginx", "-n", "dr1", "--image=nginx")
    out = live.kubectl("delete", "configmap", "keep", "-n", "dr1", "--dry-run=server").stdout
    assert out.strip() == 'configmap "keep" deleted (server dry run)'
    live.kubectl("delete", "deployment", "nginx", "-n", "dr1", "--dry-run=server")
    live.kubectl("delete", "namespace", "dr1", "--dry-run=server")
    live.kubectl("delete", "configmaps", "--all", "-n", "dr1", "--dry-run=server")
    assert _names(live, "configmap", "keep", "-n", "dr1") == ["configmap/keep"]
    assert _names(live, "deployment", "nginx", "-n", "dr1") == ["deployment.apps/nginx"]
    phase = live.kubectl("get", "namespace", "dr1", "-o", "jsonpath={.status.phase}").stdout
    assert phase == "Active"


def test_drain_with_server_dry_run_deletes_no_pod(live):
    node = live.kubectl("get", "pods", "-n", "demo", "-o", "jsonpath={.items[0].spec.nodeName}").stdout
    before = sorted(_names(live, "pods", "-A"))
    # recon serves no eviction subresource, so kubectl deletes and then waits for pods that stay
    drain = live.kubectl("drain", node, "--dry-run=server", "--ignore-daemonsets", "--force", "--timeout=2s",
                         check=None)
    assert "cordoned (server dry run)" in drain.stdout
    assert sorted(_names(live, "pods", "-A")) == before
    assert live.kubectl("get", "node", node, "-o", "jsonpath={.spec.unschedulable}").stdout == ""


def test_a_dry_run_in_the_delete_body_deletes_nothing_for_one_object_or_a_collection(live):
    live.kubectl("create", "namespace", "dr2")
    _configmap(live, "dr2", "one")
    _configmap(live, "dr2", "two")
    base = "/api/v1/namespaces/dr2/configmaps"
    code, status = _delete(live, base + "/one", {"kind": "DeleteOptions", "apiVersion": "v1", "dryRun": ["All"]})
    assert code == 200 and status["status"] == "Success"
    code, listed = _delete(live, base, {"dryRun": ["All"], "propagationPolicy": "Background"})
    assert code == 200 and sorted(i["metadata"]["name"] for i in listed["items"]) == ["kube-root-ca.crt", "one", "two"]
    assert _configmaps(live, "dr2") == ["configmap/one", "configmap/two"]


def test_without_a_body_the_query_string_carries_the_delete_options(live):
    live.kubectl("create", "namespace", "dr3")
    _configmap(live, "dr3", "kept")
    code, _ = _delete(live, "/api/v1/namespaces/dr3/configmaps/kept", query="?dryRun=All")
    assert code == 200
    assert _configmaps(live, "dr3") == ["configmap/kept"]
    code, status = _delete(live, "/api/v1/namespaces/dr3/configmaps/kept", query="?gracePeriodSeconds=soon")
    assert code == 400 and status["reason"] == "BadRequest"


def test_an_unsupported_dry_run_value_is_invalid_with_its_cause(live):
    live.kubectl("create", "namespace", "dr4")
    _configmap(live, "dr4", "cm")
    code, status = _delete(live, "/api/v1/namespaces/dr4/configmaps/cm", {"dryRun": ["Some"]})
    assert code == 422 and status["reason"] == "Invalid"
    assert status["details"]["causes"][0]["field"] == "dryRun"
    code, status = _delete(live, "/api/v1/namespaces/dr4/configmaps/cm",
                           {"propagationPolicy": "Orphan", "orphanDependents": True})
    assert code == 422 and status["details"]["causes"][0]["field"] == "propagationPolicy"
    assert _configmaps(live, "dr4") == ["configmap/cm"]


def test_preconditions_in_the_body_refuse_a_delete_in_upstreams_words(live):
    live.kubectl("create", "namespace", "dr5")
    _configmap(live, "dr5", "guarded")
    meta = json.loads(live.kubectl("get", "configmap", "guarded", "-n", "dr5", "-o", "json").stdout)["metadata"]
    path = "/api/v1/namespaces/dr5/configmaps/guarded"
    code, status = _delete(live, path, {"preconditions": {"uid": "not-the-uid"}})
    assert code == 409 and status["message"] == (
        'Operation cannot be fulfilled on ConfigMap "guarded": the UID in the precondition (not-the-uid) does not '
        f'match the UID in record ({meta["uid"]}). The object might have been deleted and then recreated')
    code, status = _delete(live, path, {"preconditions": {"resourceVersion": "1"}})
    assert code == 409 and "the ResourceVersion in the precondition (1) does not match" in status["message"]
    code, _ = _delete(live, path, {"preconditions": {"uid": meta["uid"], "resourceVersion": meta["resourceVersion"]}})
    assert code == 200
    wait_for(lambda: not _configmaps(live, "dr5"), "the configmap to be gone")


def test_an_orphaning_delete_from_the_body_keeps_the_replicasets(live):
    live.kubectl("create", "namespace", "dr6")
    live.kubectl("create", "deployment", "orphaned", "-n", "dr6", "--image=nginx")
    wait_for(lambda: _names(live, "replicasets", "-n", "dr6"), "the deployment's replicaset")
    code, _ = _delete(live, "/apis/apps/v1/namespaces/dr6/deployments/orphaned", {"propagationPolicy": "Orphan"})
    assert code == 200
    wait_for(lambda: not _names(live, "deployments", "-n", "dr6"), "the deployment to be gone")
    assert _names(live, "replicasets", "-n", "dr6")
