"""Shared helpers for tests of the shipped controller rules (rules/*.rules).

`ControllerCluster` is an in-memory cluster (store, API server, simulated
clock) that runs the real rule files named by the test, so each test reads
as a sample-controller case: a starting state, a reconcile, the expected
writes.  Helpers here stay generic: no controller's logic lives in them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine.apiserver import Actor, APIServer
from engine.clock import SimClock
from engine.reconcile import Engine
from engine.rules import load_rules
from engine.store import Store
from engine.timeutil import format_time

RULES_DIR = Path(__file__).resolve().parents[2] / "rules"
ADMIN = Actor("admin", "user", None)


class ControllerCluster:
    """A cluster in memory running the shipped rule files `names` (e.g. "replicaset")."""

    admin = ADMIN

    def __init__(self, tmp_path: Path):
        self.tmp_path = tmp_path
        self.clock = SimClock()
        self.store = Store(clock=self.clock.now)
        self.api = APIServer(self.store, self.clock)
        self.api.bootstrap()
        self.engine: Engine | None = None

    def load(self, *names: str) -> Engine:
        folder = self.tmp_path / "rules"
        folder.mkdir(exist_ok=True)
        for name in names:
            shutil.copy(RULES_DIR / f"{name}.rules", folder / f"{name}.rules")
        self.engine = Engine(self.api, load_rules(folder), self.clock)
        return self.engine

    # ------------------------------------------------------------ objects
    def _rt(self, kind: str):
        return self.api.registry.find_kind(kind, self.store.head)

    def create(self, obj: dict):
        return self.api.create(ADMIN, obj)

    def apply(self, obj: dict):
        """Create `obj`, or merge-patch its spec (and labels/annotations) when it exists."""
        meta = obj["metadata"]
        if self.get(obj["kind"], meta["name"], meta.get("namespace", "")) is None:
            return self.create(obj)
        patch = {"spec": obj.get("spec")}
        for field in ("labels", "annotations"):
            if field in meta:
                patch.setdefault("metadata", {})[field] = meta[field]
        return self.patch(obj["kind"], meta["name"], patch, meta.get("namespace", ""))

    def patch(self, kind: str, name: str, patch: dict, namespace: str = "demo", subresource: str | None = None):
        rt = self._rt(kind)
        return self.api.patch(ADMIN, rt.group, rt.kind, namespace if rt.namespaced else "", name, patch,
                              subresource=subresource)

    def delete(self, kind: str, name: str, namespace: str = "demo", grace_period: int | None = None,
               propagation: str | None = None):
        rt = self._rt(kind)
        return self.api.delete(ADMIN, rt.group, rt.kind, namespace if rt.namespaced else "", name,
                               grace_period=grace_period, propagation=propagation)

    def get(self, kind: str, name: str, namespace: str = "demo"):
        rt = self._rt(kind)
        return self.store.head.get((rt.group, rt.kind, namespace if rt.namespaced else "", name))

    def list(self, kind: str, namespace: str | None = "demo") -> list:
        rt = self._rt(kind)
        return sorted(self.store.head.list(rt.group, rt.kind, namespace), key=lambda o: o["metadata"]["name"])

    def owned(self, kind: str, owner: dict, namespace: str = "demo") -> list:
        """Objects of `kind` whose controller ownerReference points to `owner`."""
        uid = owner["metadata"]["uid"]
        return [o for o in self.list(kind, namespace)
                if any(r.get("uid") == uid and r.get("controller") for r in o["metadata"].get("ownerReferences", ()))]

    # -------------------------------------------------------- pod status
    def set_pod_status(self, name: str, *, phase: str = "Running", ready: bool = True,
                       ready_since: float | None = None, restarts: int = 0, namespace: str = "demo",
                       pod_ip: str | None = None):
        """Write a pod's status as a kubelet would (there is no kubelet in these tests)."""
        since = format_time(self.clock.now() if ready_since is None else ready_since)
        status = {
            "phase": phase,
            "conditions": [{"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": since}],
            "containerStatuses": [{"name": "c", "ready": ready, "restartCount": restarts}],
        }
        if pod_ip is not None:
            status.update(podIP=pod_ip, podIPs=[{"ip": pod_ip}])
        return self.patch("Pod", name, {"status": status}, namespace, subresource="status")

    # ---------------------------------------------------------------- run
    def run(self, seconds: float = 600):
        return self.engine.run(until=self.clock.now() + seconds)


@pytest.fixture
def controller_cluster(tmp_path):
    c = ControllerCluster(tmp_path)
    c.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "demo"}})
    return c
