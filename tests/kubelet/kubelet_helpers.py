"""Helpers for the kubelet tests: an in-memory cluster running the shipped kubelet and node lifecycle rules.

`KubeletCluster` holds a store, an API server and a simulated clock, and runs
rules/kubelet.rules and rules/node-lifecycle.rules (plus any inline rules a
test adds).  Pods are created with `spec.nodeName` set: they bypass the
scheduler, as upstream static scheduling does.
"""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

from engine.apiserver import Actor, APIServer
from engine.clock import EPOCH, SimClock
from engine.reconcile import Engine
from engine.rules import load_rules
from engine.store import Store

RULES_DIR = Path(__file__).resolve().parents[2] / "rules"
ADMIN = Actor("admin", "user", None)


def node(name: str, cpu: str = "4", memory: str = "8Gi", pods: str = "110", annotations: dict | None = None) -> dict:
    hardware = {"cpu": cpu, "memory": memory, "pods": pods}
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, "kubernetes.io/arch": "arm64"},
                         "annotations": annotations or {}},
            "status": {"capacity": hardware, "allocatable": hardware}}


def pod(name: str, node_name: str | None = "node-1", annotations: dict | None = None, restart: str | None = None,
        containers: list | None = None, init: list | None = None, cpu: str | None = None,
        grace: int | None = None, tolerations: list | None = None) -> dict:
    container = {"name": "app", "image": "nginx:1.27"}
    if cpu:
        container["resources"] = {"requests": {"cpu": cpu}}
    spec: dict = {"containers": containers or [container]}
    if node_name:
        spec["nodeName"] = node_name
    if restart:
        spec["restartPolicy"] = restart
    if init:
        spec["initContainers"] = init
    if grace is not None:
        spec["terminationGracePeriodSeconds"] = grace
    if tolerations is not None:
        spec["tolerations"] = tolerations
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "demo", "annotations": annotations or {}}, "spec": spec}


class KubeletCluster:
    admin = ADMIN

    def __init__(self, tmp_path: Path):
        self.tmp_path = tmp_path
        self.clock = SimClock()
        self.store = Store(clock=self.clock.now)
        self.api = APIServer(self.store, self.clock)
        self.api.bootstrap()
        self.api.create(ADMIN, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "demo"}})
        self.engine: Engine | None = None

    def load(self, *names: str, **inline: str) -> Engine:
        folder = self.tmp_path / "rules"
        folder.mkdir(exist_ok=True)
        for name in names:
            shutil.copy(RULES_DIR / f"{name}.rules", folder / f"{name}.rules")
        for name, text in inline.items():
            (folder / f"{name}.rules").write_text(textwrap.dedent(text).lstrip())
        self.engine = Engine(self.api, load_rules(folder), self.clock)
        return self.engine

    def create(self, obj: dict):
        return self.api.create(ADMIN, obj)

    def annotate(self, kind: str, name: str, key: str, value: str | None, namespace: str = ""):
        rt = self.api.registry.find_kind(kind, self.store.head)
        return self.api.patch(ADMIN, rt.group, rt.kind, namespace, name,
                              {"metadata": {"annotations": {key: value}}})

    def get(self, kind: str, name: str, namespace: str = "demo"):
        rt = self.api.registry.find_kind(kind, self.store.head)
        return self.store.head.get((rt.group, rt.kind, namespace if rt.namespaced else "", name))

    def pods(self):
        return self.store.head.list("", "Pod", "demo")

    def run(self, seconds: float = 600):
        """Reconcile, letting simulated time run up to `seconds` from now."""
        result = self.engine.run(until=self.clock.now() + seconds)
        assert result.converged, result.message
        assert not result.failures, [f.format() for f in result.failures]
        return result

    def run_until(self, t: float):
        """Reconcile, letting simulated time run to `t` seconds after the start."""
        result = self.run(EPOCH + t - self.clock.now())
        self.clock.advance_to(EPOCH + t)  # idle time passes too
        return result

    @property
    def elapsed(self) -> float:
        return self.clock.now() - EPOCH


def conditions(obj) -> dict:
    return {c["type"]: c for c in (obj.get("status") or {}).get("conditions") or ()}
