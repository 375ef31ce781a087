"""A small cluster in memory: store, API server, simulated clock, and a rule loader."""

from __future__ import annotations

import textwrap

import pytest

from engine.apiserver import Actor, APIServer
from engine.clock import SimClock
from engine.reconcile import Engine
from engine.rules import load_rules
from engine.store import Store

ADMIN = Actor("admin", "user", None)


class Cluster:
    admin = ADMIN

    def __init__(self, tmp_path):
        self.tmp_path = tmp_path
        self.clock = SimClock()
        self.store = Store(clock=self.clock.now)
        self.api = APIServer(self.store, self.clock)
        self.api.bootstrap()
        self.engine = None

    def rules(self, **files: str) -> Engine:
        folder = self.tmp_path / "rules"
        folder.mkdir(exist_ok=True)
        for name, text in files.items():
            (folder / f"{name}.rules").write_text(textwrap.dedent(text).lstrip())
        self.engine = Engine(self.api, load_rules(folder), self.clock)
        return self.engine

    def apply(self, obj: dict):
        existing = self.get(obj["kind"], obj["metadata"]["name"], obj["metadata"].get("namespace", ""))
        group = obj["apiVersion"].rpartition("/")[0]
        if existing is None:
            return self.api.create(ADMIN, obj)
        return self.api.patch(ADMIN, group, obj["kind"], obj["metadata"].get("namespace", ""),
                              obj["metadata"]["name"], {"spec": obj.get("spec")})

    def get(self, kind: str, name: str, namespace: str = "demo"):
        rt = self.api.registry.find_kind(kind, self.store.head)
        return self.store.head.get((rt.group, rt.kind, namespace if rt.namespaced else "", name))

    def list(self, kind: str, namespace: str | None = "demo"):
        rt = self.api.registry.find_kind(kind, self.store.head)
        return self.store.head.list(rt.group, rt.kind, namespace)

    def run(self, seconds: float = 600):
        return self.engine.run(until=self.clock.now() + seconds)


@pytest.fixture
def cluster(tmp_path):
    c = Cluster(tmp_path)
    c.api.create(ADMIN, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "demo"}})
    return c
