"""Many watchers during a scale-up: every watcher receives every event, in order.

100 clients watch the pods of one namespace from the same resourceVersion
while a Deployment scales up; each must see the same sequence of events —
ADDED, the scheduler's bind, the kubelet's status updates — with
resourceVersions that never go back, and folding a watcher's events must
give exactly the pods that a fresh list returns.  The CI run scales to 200
pods; the `soak` run to the 1,000 pods the issue names.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time

import aiohttp
import pytest

from http_live import Live, start, stop, wait_for

WATCHERS = 100


def _nodes_yaml(count: int) -> str:
    docs = []
    for i in range(count):
        docs.append(f"""apiVersion: v1
kind: Node
metadata:
  name: load-{i}
  labels: {{kubernetes.io/hostname: load-{i}, kubernetes.io/os: linux}}
status:
  capacity: {{cpu: "64", memory: 256Gi, pods: "110"}}
  allocatable: {{cpu: "64", memory: 256Gi, pods: "110"}}
""")
    return "---\n".join(docs)


DEPLOYMENT = {
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "load", "namespace": "load"},
    "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "load"}},
             "template": {"metadata": {"labels": {"app": "load"}},
                          "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}}},
}


class Watchers:
    """`count` concurrent watches of one namespace's pods from one resourceVersion, on their own event loop."""

    def __init__(self, live: Live, namespace: str, since: str, count: int, timeout: int):
        self.url = f"{live.url}/api/v1/namespaces/{namespace}/pods?watch=true&resourceVersion={since}" \
                   f"&timeoutSeconds={timeout}"
        self.events: list[list[tuple[str, str, int, str]]] = [[] for _ in range(count)]
        self.connected = 0
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self._all(),), daemon=True)
        self.done = False

    async def _all(self) -> None:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None)) as session:
            await asyncio.gather(*(self._one(session, seen) for seen in self.events))
        self.done = True

    async def _one(self, session: aiohttp.ClientSession, seen: list) -> None:
        async with session.get(self.url) as response:
            assert response.status == 200
            self.connected += 1
            async for line in response.content:
                event = json.loads(line)
                obj = event["object"]
                meta = obj["metadata"]
                seen.append((event["type"], meta.get("name", ""), int(meta["resourceVersion"]),
                             (obj.get("status") or {}).get("phase", "")))

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 30
        while self.connected < len(self.events):
            assert time.monotonic() < deadline, f"only {self.connected} watchers connected"
            time.sleep(0.05)


def _scale_up_under_watchers(live: Live, replicas: int, nodes: int) -> None:
    (live.root / "manifests" / "load-nodes.yaml").write_text(_nodes_yaml(nodes))
    status, _, _ = live.request("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                               "metadata": {"name": "load"}})
    assert status == 201
    wait_for(lambda: live.request("GET", f"/api/v1/nodes/load-{nodes - 1}")[0] == 200, "the load nodes", 30)
    status, _, _ = live.request("POST", "/apis/apps/v1/namespaces/load/deployments", DEPLOYMENT)
    assert status == 201
    status, _, body = live.request("GET", "/api/v1/namespaces/load/pods")
    since = json.loads(body)["metadata"]["resourceVersion"]

    watchers = Watchers(live, "load", since, WATCHERS, timeout=600)
    watchers.start()
    live.kubectl("scale", "deployment/load", "-n", "load", f"--replicas={replicas}")

    def ready() -> bool:
        _, _, text = live.request("GET", "/apis/apps/v1/namespaces/load/deployments/load")
        return (json.loads(text).get("status") or {}).get("readyReplicas") == replicas

    wait_for(ready, f"{replicas} ready replicas", 600)
    _, _, body = live.request("GET", "/api/v1/namespaces/load/pods")
    listed = json.loads(body)
    final = int(listed["metadata"]["resourceVersion"])
    expected = {item["metadata"]["name"]: int(item["metadata"]["resourceVersion"]) for item in listed["items"]}
    assert len(expected) == replicas
    latest_pod_rv = max(expected.values())
    wait_for(lambda: all(seen and seen[-1][2] >= latest_pod_rv for seen in watchers.events),
                "every watcher to reach the listed state", 120)

    first = watchers.events[0]
    for i, seen in enumerate(watchers.events):
        assert seen[:len(first)] == first[:len(seen)], f"watcher {i} saw a different sequence"
        assert all(a[2] <= b[2] for a, b in zip(seen, seen[1:])), f"watcher {i}: resourceVersions went back"
    longest = max(watchers.events, key=len)
    state: dict[str, int] = {}
    for kind, name, rv, _phase in longest:
        if kind == "DELETED":
            state.pop(name, None)
        else:
            assert rv > state.get(name, 0), f"{name}: an older version after a newer one"
            state[name] = rv
    assert state == expected
    assert final >= latest_pod_rv
    added = [e for e in first if e[0] == "ADDED"]
    assert len(added) == replicas
    assert {name for _, name, _, phase in first if phase == "Running"} == set(expected)


def test_a_hundred_watchers_each_see_every_event_of_a_200_pod_scale_up_in_order(tmp_path):
    live = start(tmp_path)
    try:
        _scale_up_under_watchers(live, replicas=200, nodes=2)
    finally:
        stop(live)


@pytest.mark.soak
def test_a_hundred_watchers_each_see_every_event_of_a_1000_pod_scale_up_in_order(tmp_path):
    live = start(tmp_path)
    try:
        _scale_up_under_watchers(live, replicas=1000, nodes=10)
    finally:
        stop(live)
