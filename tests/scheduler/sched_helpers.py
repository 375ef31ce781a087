"""Builders for nodes and pods, and a cluster running the shipped scheduler rules."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from engine.apiserver import Actor, APIServer
from engine.clock import SimClock
from engine.objects import freeze
from engine.reconcile import Engine
from engine.rules import load_rules
from engine.scheduler_explain import explain_scheduling
from engine.store import Store

ADMIN = Actor("admin", "user", None)
SHIPPED = Path(__file__).resolve().parents[2] / "rules" / "scheduler"


def node(name, cpu="4", memory="8Gi", pods="110", labels=None, taints=None, unschedulable=None,
         images=None, **allocatable):
    alloc = {"cpu": cpu, "memory": memory, "pods": pods, **{k.replace("_", "-"): v for k, v in allocatable.items()}}
    obj = {"apiVersion": "v1", "kind": "Node",
           "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, **(labels or {})}},
           "spec": {}, "status": {"capacity": alloc, "allocatable": alloc}}
    if taints:
        obj["spec"]["taints"] = taints
    if unschedulable is not None:
        obj["spec"]["unschedulable"] = unschedulable
    if images:
        obj["status"]["images"] = [{"names": list(names), "sizeBytes": size} for names, size in images]
    return obj


def container(name="c", image="nginx:1.27", cpu=None, memory=None, ports=None, **requests):
    reqs = {k.replace("_", "-"): v for k, v in requests.items()}
    if cpu is not None:
        reqs["cpu"] = cpu
    if memory is not None:
        reqs["memory"] = memory
    c = {"name": name, "image": image}
    if reqs:
        c["resources"] = {"requests": reqs}
    if ports:
        c["ports"] = ports
    return c


def pod(name, cpu=None, memory=None, containers=None, namespace="demo", labels=None, node_name=None, **spec):
    obj = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": name, "namespace": namespace, "labels": labels or {"app": name}},
           "spec": {"containers": containers or [container(cpu=cpu, memory=memory)], **spec}}
    if node_name:
        obj["spec"]["nodeName"] = node_name
    return obj


class SchedCluster:
    """Store, API server, simulated clock, and an engine with rules/scheduler/ (plus extra rule files)."""

    def __init__(self, tmp_path, extra: dict | None = None, with_shipped: bool = True):
        self.clock = SimClock()
        self.store = Store(clock=self.clock.now)
        self.api = APIServer(self.store, self.clock)
        self.api.bootstrap()
        self.api.create(ADMIN, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "demo"}})
        self.folder = tmp_path / "rules"
        self.folder.mkdir(exist_ok=True)
        if with_shipped:
            for path in SHIPPED.glob("*.rules"):
                shutil.copy(path, self.folder / path.name)
        for name, text in (extra or {}).items():
            (self.folder / f"{name}.rules").write_text(textwrap.dedent(text).lstrip())
        self.engine = Engine(self.api, load_rules(self.folder), self.clock)

    @property
    def scheduler(self):
        return self.engine.scheduler

    def add(self, *objects):
        for obj in objects:
            created = self.api.create(ADMIN, obj)
            if obj["kind"] == "Node" and obj["status"].get("images"):  # status beyond capacity is the kubelet's
                self.api.update(ADMIN, {**created, "status": obj["status"]}, subresource="status")
        return self

    def update(self, obj):
        current = self.get(obj["kind"], obj["metadata"]["name"], obj["metadata"].get("namespace", ""))
        body = dict(obj, metadata={**obj["metadata"], "resourceVersion": current["metadata"]["resourceVersion"]})
        self.api.update(ADMIN, body)
        if "status" in obj:
            current = self.get(obj["kind"], obj["metadata"]["name"], obj["metadata"].get("namespace", ""))
            body = dict(obj, metadata={**obj["metadata"], "resourceVersion": current["metadata"]["resourceVersion"]})
            self.api.update(ADMIN, body, subresource="status")

    def delete(self, kind, name, namespace="demo"):
        rt = self.api.registry.find_kind(kind, self.store.head)
        self.api.delete(ADMIN, rt.group, rt.kind, namespace if rt.namespaced else "", name, grace_period=0)

    def run(self):
        result = self.engine.run(until=self.clock.now() + 60)
        assert result.converged, result.message
        return result

    def get(self, kind, name, namespace="demo"):
        rt = self.api.registry.find_kind(kind, self.store.head)
        return self.store.head.get((rt.group, rt.kind, namespace if rt.namespaced else "", name))

    def node_of(self, name, namespace="demo"):
        return self.get("Pod", name, namespace)["spec"].get("nodeName")

    def condition(self, name, namespace="demo"):
        conds = self.get("Pod", name, namespace).get("status", {}).get("conditions", ())
        return next((c for c in conds if c["type"] == "PodScheduled"), None)

    def events(self, name, namespace="demo"):
        return [e for e in self.store.head.list("", "Event", namespace)
                if e["involvedObject"]["name"] == name]

    def explain(self, name, namespace="demo"):
        return explain_scheduling(self.engine, namespace, name)

    def attempt(self, obj):
        """One scheduling attempt of a pod that is not stored (filters and scores only, no writes)."""
        obj = dict(obj, metadata={"uid": "uid-" + obj["metadata"]["name"], **obj["metadata"]})
        return self.scheduler.attempt(freeze(obj), self.store.head)

    def rejection(self, obj, node_name):
        """(plugin, reasons) that ruled `node_name` out for `obj`, or None if it fits."""
        return self.attempt(obj).rejected.get(node_name)


@pytest.fixture
def sched(tmp_path):
    """A SchedCluster with the shipped rules (import this fixture into a test module)."""
    return SchedCluster(tmp_path)
