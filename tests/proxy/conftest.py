"""A cluster in memory running the shipped kube-proxy and service address rules.

EndpointSlices are written by the test (as the admin), in upstream's shape,
the way the EndpointSlice controller would write them.
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

ADMIN = Actor("admin", "user", None)
RULES = Path(__file__).resolve().parents[2] / "rules"


class ProxyCluster:
    admin = ADMIN

    def __init__(self, tmp_path: Path):
        self.clock = SimClock()
        self.store = Store(clock=self.clock.now)
        self.api = APIServer(self.store, self.clock)
        self.api.bootstrap()
        folder = tmp_path / "rules"
        folder.mkdir()
        for name in ("proxy.rules", "service-ip.rules"):
            shutil.copy(RULES / name, folder / name)
        self.engine = Engine(self.api, load_rules(folder), self.clock)
        self.api.create(ADMIN, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "demo"}})

    @property
    def head(self):
        return self.store.head

    def run(self):
        result = self.engine.run(until=self.clock.now() + 600)
        assert result.converged, result.message
        assert not result.failures, [f.format() for f in result.failures]
        return result

    def node(self, name: str, ip: str) -> None:
        node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
                "status": {"addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}]}}
        created = self.api.create(ADMIN, node)
        self.api.update(ADMIN, {**node, "metadata": created["metadata"]}, subresource="status")

    def pod(self, name: str, ip: str, node: str, labels: dict | None = None) -> None:
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "demo", "labels": labels or {"app": "web"}},
               "spec": {"nodeName": node, "containers": [{"name": "c", "image": "nginx"}]}}
        created = self.api.create(ADMIN, pod)
        status = {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}], "hostIP": node}
        self.api.update(ADMIN, {**created, "status": status}, subresource="status")

    def service(self, name: str, **spec) -> dict:
        body = {"selector": {"app": name}, "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}
        body.update(spec)
        return self.api.create(ADMIN, {"apiVersion": "v1", "kind": "Service",
                                       "metadata": {"name": name, "namespace": "demo"}, "spec": body})

    def endpoints(self, name: str, ready: list[tuple[str, str, str]], not_ready=(),
                  ports=({"name": "http", "port": 8080, "protocol": "TCP"},), terminating=()) -> None:
        """The endpoints of Service NAME, (pod, ip, node) each, in one EndpointSlice as the
        EndpointSlice controller writes it; `terminating`: (pod, ip, node, serving) of pods being
        deleted."""
        def endpoint(pod, ip, node, ready, serving, terminating):
            return {"addresses": [ip], "nodeName": node,
                    "conditions": {"ready": ready, "serving": serving, "terminating": terminating},
                    "targetRef": {"kind": "Pod", "namespace": "demo", "name": pod}}
        endpoints = ([endpoint(*a, True, True, False) for a in ready]
                     + [endpoint(*a, False, False, False) for a in not_ready]
                     + [endpoint(pod, ip, node, False, serving, True) for pod, ip, node, serving in terminating])
        labels = {"kubernetes.io/service-name": name, "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"}
        body = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "addressType": "IPv4",
                "metadata": {"name": f"{name}-abcde", "namespace": "demo", "labels": labels},
                "endpoints": endpoints, "ports": list(ports)}
        existing = self.head.get(("discovery.k8s.io", "EndpointSlice", "demo", f"{name}-abcde"))
        if existing is None:
            self.api.create(ADMIN, body)
        else:
            self.api.update(ADMIN, {**body, "metadata": existing["metadata"]})

    def svc(self, name: str, namespace: str = "demo"):
        return self.head.get(("", "Service", namespace, name))

    def rules_of(self, name: str, namespace: str = "demo"):
        return self.head.get(("proxy.recon.dev", "ServiceRules", namespace, name))


@pytest.fixture
def cluster(tmp_path):
    return ProxyCluster(tmp_path)
