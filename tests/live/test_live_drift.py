"""Drift: a write by someone else to a field a manifest owns is reported and undone (in process)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from engine.access import Actor
from engine.cluster import Cluster
from engine.live import MAX_RESTORES, Live
from engine.report import Reporter
from engine.store import Store
from live_helpers import config_map, web

ADMIN = Actor("admin", "user", None)
WEB = ("apps", "Deployment", "default", "web")


@pytest.fixture
def loop(folder: Path):
    """A live loop without rules (apply only) on an in-memory store; its JSON events in `loop.out`."""
    out = io.StringIO()
    live = Live(Cluster(Store(), None, simulated=True), folder, Reporter(json_lines=True, out=out), quiet=0.0)
    live.out = out
    live.start()
    yield live
    live.close()


def events(live: Live) -> list[dict]:
    lines = live.out.getvalue().splitlines()
    live.out.seek(0)
    live.out.truncate()
    return [json.loads(line) for line in lines]


def test_a_field_a_manifest_owns_changed_by_another_writer_is_restored_and_reported(loop: Live):
    events(loop)
    loop.cluster.api.patch(ADMIN, *WEB, {"spec": {"replicas": 7}})
    loop.step()
    drift, applied = events(loop)
    assert drift == {"event": "drift", "objects": [
        {"object": "deployment.apps/web", "actor": "admin", "fields": ["spec.replicas"]}]}
    assert applied["trigger"] == "drift"
    assert applied["changes"] == [{"action": "configured", "object": "deployment.apps/web", "source": "web.yaml"}]
    assert loop.cluster.store.head.get(WEB)["spec"]["replicas"] == 2


def test_a_field_the_manifest_does_not_set_is_left_to_whoever_sets_it(loop: Live):
    """(The write is shown, as every write over the API is, but not restored: no drift.)"""
    events(loop)
    loop.cluster.api.patch(ADMIN, *WEB, {"metadata": {"annotations": {"team": "web"}},
                                        "spec": {"minReadySeconds": 5}})
    loop.step()
    assert [(e["event"], e["trigger"], e["writers"]) for e in events(loop)] == [("applied", "api", ["admin"])]
    deploy = loop.cluster.store.head.get(WEB)
    assert deploy["spec"]["minReadySeconds"] == 5 and deploy["metadata"]["annotations"]["team"] == "web"


def test_an_object_of_the_folder_deleted_by_another_writer_is_created_again(loop: Live):
    events(loop)
    loop.cluster.api.delete(ADMIN, "", "Service", "default", "web")
    loop.step()
    drift, applied = events(loop)
    assert drift["objects"] == [{"object": "service/web", "actor": "admin", "fields": []}]
    assert {"action": "created", "object": "service/web", "source": "web.yaml"} in applied["changes"]
    assert loop.cluster.store.head.get(("", "Service", "default", "web")) is not None


def test_an_object_that_keeps_drifting_is_left_alone_after_a_few_restores(loop: Live):
    events(loop)
    for _ in range(MAX_RESTORES + 1):
        loop.cluster.api.patch(ADMIN, *WEB, {"spec": {"replicas": 9}})
        loop.step()
    seen = events(loop)
    warnings = [e for e in seen if e["event"] == "warning"]
    assert len(warnings) == 1 and "keeps being changed" in warnings[0]["message"]
    assert len([e for e in seen if e["event"] == "drift"]) == MAX_RESTORES  # (the last change is not restored)
    assert loop.cluster.store.head.get(WEB)["spec"]["replicas"] == 9
    loop.step()  # (the warning is given once)
    assert [e["event"] for e in events(loop)] == []
    loop.cluster.api.patch(ADMIN, *WEB, {"spec": {"replicas": 9}})
    loop.step()
    assert [e["event"] for e in events(loop)] == []
    assert loop.cluster.store.head.get(WEB)["spec"]["replicas"] == 9


def test_writes_by_the_folder_itself_are_not_drift(loop: Live, folder: Path):
    events(loop)
    (folder / "web.yaml").write_text(web(3))
    (folder / "cm.yaml").write_text(config_map("cm"))
    loop.apply("files", ("web.yaml", "cm.yaml"))
    loop.step()
    assert not [e for e in events(loop) if e["event"] == "drift"]


def test_a_write_let_in_while_the_first_apply_converges_is_drift_too(folder: Path):
    """HTTP writers get in between engine rounds: a write during the very first run already meets
    the folder's objects as the folder's."""
    from types import SimpleNamespace

    cluster = Cluster(Store(), None, simulated=True)

    class WriterDuringRun:  # an engine whose run lets a kubectl-like write in, as the writer gate does
        def run(self, until=None):
            if cluster.store.head.get(WEB)["spec"]["replicas"] == 2:
                cluster.api.patch(ADMIN, *WEB, {"spec": {"replicas": 7}})
            return SimpleNamespace(converged=True, message="", failures=())

    cluster.engine = WriterDuringRun()
    out = io.StringIO()
    live = Live(cluster, folder, Reporter(json_lines=True, out=out), quiet=0.0)
    live.start()
    try:
        assert [d.fields for d in live.drift.take(0.0)] == [("spec.replicas",)]
    finally:
        live.close()


def test_empty_lists_and_maps_in_the_file_are_no_drift_when_others_change_what_it_leaves(loop: Live, folder: Path):
    # (the API server leaves `env: []` and `nodeSelector: {}` out; last-applied keeps them as written)
    text = web(2).replace("          image: nginx:1.27\n", "          image: nginx:1.27\n          env: []\n", 1)
    text = text.replace("    spec:\n      containers:", "    spec:\n      nodeSelector: {}\n      containers:", 1)
    assert "env: []" in text and "nodeSelector: {}" in text
    loop.manifests.close()  # (the test applies the file itself: a late notice of the write would apply it again)
    (folder / "web.yaml").write_text(text)
    loop.apply("files", ("web.yaml",))
    events(loop)
    for cpu in ("1", "2", "3", "4", "5"):  # more than MAX_RESTORES harmless changes by another writer
        loop.cluster.api.patch(ADMIN, *WEB, {"spec": {"template": {"spec": {"containers": [
            {"name": "nginx", "resources": {"limits": {"cpu": cpu}}}]}}}}, patch_type="strategic")
        loop.step()
    assert [e for e in events(loop) if e["event"] in ("drift", "warning")] == []
    loop.cluster.api.patch(ADMIN, *WEB, {"spec": {"replicas": 7}})
    loop.step()
    assert [e["event"] for e in events(loop)][:1] == ["drift"]
    assert loop.cluster.store.head.get(WEB)["spec"]["replicas"] == 2


def test_a_services_server_set_status_is_no_drift(loop: Live, folder: Path):
    """Every Service is stored with `status: {loadBalancer: {}}`, which the file leaves out; a load
    balancer filling it in is no drift either, nor is a file that spells the empty status out."""
    svc = ("", "Service", "default", "web")
    assert loop.cluster.store.head.get(svc)["status"] == {"loadBalancer": {}}
    events(loop)
    loop.cluster.api.patch(ADMIN, *svc, {"status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.7"}]}}},
                           subresource="status")
    loop.step()
    assert [(e["event"], e["trigger"], e["writers"]) for e in events(loop)] == [("applied", "api", ["admin"])]
    loop.manifests.close()
    (folder / "web.yaml").write_text((folder / "web.yaml").read_text() + "status:\n  loadBalancer: {}\n")
    loop.apply("files", ("web.yaml",))
    loop.step()
    assert [e for e in events(loop) if e["event"] == "drift"] == []
    # (the file's own write, a main update of a ClusterIP Service, empties loadBalancer as upstream's does)
    assert loop.cluster.store.head.get(svc)["status"] == {"loadBalancer": {}}


JOB = """\
apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
spec:
  ttlSecondsAfterFinished: 5
  template:
    spec:
      restartPolicy: Never
      containers: [{name: m, image: migrate:1}]
"""


@pytest.mark.parametrize("finished", [True, False])
def test_a_finished_job_its_ttl_deletes_is_not_drift_but_an_unfinished_one_is_restored(folder: Path, finished: bool):
    """The TTL-after-finished controller deletes a finished Job with ttlSecondsAfterFinished: the Job's
    own course, not drift (restored, it would run again at each expiry).  A Job deleted before it
    finished is restored as any object of the folder."""
    (folder / "job.yaml").write_text(JOB)
    out = io.StringIO()
    loop = Live(Cluster(Store(), None, simulated=True), folder, Reporter(json_lines=True, out=out), quiet=0.0)
    loop.out = out
    loop.start()
    try:
        key = ("batch", "Job", "default", "migrate")
        job = loop.cluster.store.head.get(key)
        if finished:  # (as the Job controller records it)
            status = {"conditions": [{"type": "SuccessCriteriaMet", "status": "True"},
                                     {"type": "Complete", "status": "True"}],
                      "succeeded": 1, "startTime": "2026-01-01T00:00:00Z", "completionTime": "2026-01-01T00:00:02Z"}
            job = loop.cluster.api.update(Actor("job-controller", "component", None), {**job, "status": status},
                                          subresource="status")
        events(loop)
        loop.cluster.api.delete(Actor("garbage-collector", "component", None), "batch", "Job", "default", "migrate")
        loop.step()
        if finished:
            assert [e["event"] for e in events(loop)] == ["applied"]  # (the writes shown, nothing restored)
            assert loop.cluster.store.head.get(key) is None
        else:
            drift, applied = events(loop)
            assert drift["objects"] == [{"object": "job.batch/migrate", "actor": "garbage-collector", "fields": []}]
            assert loop.cluster.store.head.get(key) is not None
    finally:
        loop.close()


def test_writes_over_the_api_are_shown_with_their_writers_and_what_followed(folder: Path):
    """A write over the HTTP API (kubectl) is shown when the loop next runs the engine, as the `api`
    change: its revisions, its writers and what it made; the engine's own timers alone are not shown."""
    out = io.StringIO()
    loop = Live(Cluster(Store(), None, simulated=True), folder, Reporter(out=out), quiet=0.0)
    loop.start()
    try:
        out.seek(0)
        out.truncate()
        first = loop.cluster.store.revision + 1
        loop.cluster.api.create(ADMIN, {"apiVersion": "v1", "kind": "ConfigMap",
                                        "metadata": {"name": "settings", "namespace": "default"}, "data": {"a": "b"}})
        loop.cluster.api.delete(ADMIN, "", "Service", "default", "web")  # (drift: restored, shown as such)
        loop.step()
        text = out.getvalue()
        assert "drift: service/web: deleted by admin; restoring the manifest's version" in text
        assert f"── drift (revisions {first}–" in text  # (the API's writes and the restore, one change)
        assert "cm/settings created" in text or "configmap/settings created" in text, text
        out.seek(0)
        out.truncate()
        loop.step()  # nothing new: nothing shown
        assert out.getvalue() == ""
        loop.cluster.api.patch(ADMIN, "", "ConfigMap", "default", "settings", {"data": {"a": "c"}})
        loop.step()
        assert out.getvalue().startswith(f"── api: admin (revision {loop.cluster.store.revision})"), out.getvalue()
    finally:
        loop.close()
