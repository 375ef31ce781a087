"""Builders for the apiserver tests: a fresh, bootstrapped server and small objects."""

from __future__ import annotations

import pytest

from engine.apiserver import Actor, APIError, APIServer
from engine.clock import SimClock
from engine.store import Store

ADMIN = Actor("admin", "user", None)


def refused(api: APIServer, body: dict, update: bool = False) -> str:
    """The message of the 422 the API server answers a create (or an update) of `body` with."""
    with pytest.raises(APIError) as caught:
        (api.update if update else api.create)(ADMIN, body)
    assert caught.value.code == 422
    return caught.value.message


def make_server(seed: str = "recon") -> APIServer:
    api = APIServer(Store(), SimClock(), seed=seed)
    api.bootstrap()
    return api


def pod(name: str = "web", namespace: str = "default", labels: dict | None = None, **spec) -> dict:
    body = {"containers": [{"name": "app", "image": "nginx:1.25"}], **spec}
    meta = {"name": name, "namespace": namespace, "labels": labels or {"app": "web"}}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": body}


def deployment(name: str = "web", namespace: str = "default", replicas: int | None = None) -> dict:
    spec = {
        "selector": {"matchLabels": {"app": name}},
        "template": {"metadata": {"labels": {"app": name}},
                     "spec": {"containers": [{"name": "app", "image": "nginx:1.25"}]}},
    }
    if replicas is not None:
        spec["replicas"] = replicas
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": namespace},
            "spec": spec}


def namespace(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def node(name: str = "node-1", **status) -> dict:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}, "status": status}
