"""Baseline: the ReplicaSet + Endpoints work done by the rules and by hand-written Python controllers.

The same workload runs twice on fresh in-memory clusters (store + API
server), once reconciled by rules/replicaset.rules + rules/endpoints.rules
through the engine, once by the two Python controllers below (the
reference: informer-style event handlers feeding a work queue, Services
indexed by selector, a sync per key reading indexed snapshots, writes
through the same API server):

  phase 1 (timed): D ReplicaSets x R replicas and D Services are created;
      the controllers create the pods, the ReplicaSet status and the (empty)
      Endpoints.
  between (untimed, identical): a stand-in kubelet marks every pod Running
      and Ready with a pod IP.
  phase 2 (timed): the controllers take in those updates (the engine routes
      them, the Python controllers' handlers queue keys: both in their run),
      ReplicaSet status counts the ready pods, Endpoints list them.

The Python controllers implement only what this workload exercises
(matchLabels selectors, numeric target ports, scale up; scale down without
upstream's ranking), and record the
ReplicaSet's SuccessfulCreate/SuccessfulDelete events as upstream's
controller and the rules do: through the same event recorder
(engine/events.py, the client library both sides use), in the same
transaction as the pods, which they name as the rules do; the rules do
everything else upstream does too, so the ratio is an upper bound on the
cost of writing controllers as rules.  Prints a table and, as its last line, one
JSON object:

    rules_s, python_s, rules_vs_python_ratio (+ the phases)

Usage: python bench/baseline.py [--deployments 200] [--replicas 5]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from cluster_gen import NAMESPACE, namespace, service  # noqa: E402
from figures import print_figures  # noqa: E402
from engine.apiserver import Actor, APIServer, Request  # noqa: E402
from engine.clock import SimClock  # noqa: E402
from engine.events import Emitted, EventRecorder, object_reference  # noqa: E402
from engine.naming import generate_name, name_suffix  # noqa: E402
from engine.objects import thaw  # noqa: E402
from engine.reconcile import Engine  # noqa: E402
from engine.rules import load_rules  # noqa: E402
from engine.store import Store, tune_gc  # noqa: E402

ADMIN = Actor("admin", "user", None)
RS_ACTOR = Actor("replicaset-controller", "component", None)
EP_ACTOR = Actor("endpoint-controller", "component", None)
TERMINAL = ("Succeeded", "Failed")


def replicaset(i: int, replicas: int) -> dict:
    app = f"app-{i:04d}"
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": app, "namespace": NAMESPACE, "labels": {"app": app}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": app}},
                     "template": {"metadata": {"labels": {"app": app}}, "spec": {"containers": [{
                         "name": "web", "image": "nginx:1.27", "ports": [{"containerPort": 80}],
                         "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}}]}}}}


# ============================================================ the reference controllers


def controller_uid(obj: Mapping) -> str | None:
    for ref in obj["metadata"].get("ownerReferences") or ():
        if ref.get("controller"):
            return ref["uid"]
    return None


def active(pod: Mapping) -> bool:
    return (pod.get("status") or {}).get("phase") not in TERMINAL and not pod["metadata"].get("deletionTimestamp")


def ready(pod: Mapping) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True"
               for c in (pod.get("status") or {}).get("conditions") or ())


def selected(head, labels: Mapping) -> list:  # noqa: ANN001
    """The Pods in NAMESPACE carrying every label of `labels` (a matchLabels selector)."""
    if not labels:
        return []
    items = list(labels.items())
    label, value = items[0]
    pods = [head.get(k) for k in head.by_label("", "Pod", label, value) if k[2] == NAMESPACE]
    return [p for p in pods if all((p["metadata"].get("labels") or {}).get(k) == v for k, v in items[1:])]


class PythonControllers:
    """ReplicaSet and Endpoints controllers, hand-written: event handlers, a work queue, a sync per key."""

    def __init__(self, api: APIServer):
        self.api, self.store = api, api.store
        self.rs_queue: dict = {}
        self.svc_queue: dict = {}
        # (namespace, label, value) of a selector's first entry -> {Service key: selector}
        self.selectors: dict[tuple, dict] = {}
        # The events of each commit, handled by `run` (as an informer hands them to the controller's
        # handlers in its own process; the engine's routing, too, runs in its `run`, so both sides'
        # handling of the stand-in kubelet's pod updates is timed).
        self.inbox: list = []
        self.store.listeners.append(self.on_commit)
        self.recorder = EventRecorder(self.store)

    def _index_service(self, key, old, new) -> None:  # noqa: ANN001
        for obj, add in ((old, False), (new, True)):
            sel = ((obj or {}).get("spec") or {}).get("selector") or {}
            if sel:
                label, value = next(iter(sel.items()))
                entry = self.selectors.setdefault((key[2], label, value), {})
                if add:
                    entry[key] = sel
                else:
                    entry.pop(key, None)

    def services_of(self, ns: str, labels: Mapping) -> list:
        """The keys of the Services in `ns` whose selector matches `labels` (indexed, like a lister)."""
        found = []
        for label, value in labels.items():
            for key, sel in self.selectors.get((ns, label, value), {}).items():
                if all(labels.get(k) == v for k, v in sel.items()):
                    found.append(key)
        return found

    # ------------------------------------------------------------ event handlers
    def on_commit(self, snap, events, record) -> None:  # noqa: ANN001
        self.inbox.append(events)

    def handle(self, events) -> None:  # noqa: ANN001
        snap = self.store.head  # (what a lister reads: the cache as of now)
        for event in events:
            group, kind, ns, name = event.key
            if kind == "ReplicaSet":
                self.rs_queue[event.key] = True
            elif kind == "Service":
                self._index_service(event.key, event.old, event.new)
                self.svc_queue[event.key] = True
            elif kind == "Endpoints":
                self.svc_queue[("", "Service", ns, name)] = True
            elif kind == "Pod":
                for obj in (event.old, event.new):
                    if obj is None:
                        continue
                    uid = controller_uid(obj)
                    if uid is not None and uid in snap.uids:
                        self.rs_queue[snap.uids[uid]] = True
                    for key in self.services_of(ns, obj["metadata"].get("labels") or {}):
                        self.svc_queue[key] = True

    def run(self) -> int:
        syncs = 0
        while self.inbox or self.rs_queue or self.svc_queue:
            inbox, self.inbox = self.inbox, []
            for events in inbox:
                self.handle(events)
            rs_keys, self.rs_queue = list(self.rs_queue), {}
            svc_keys, self.svc_queue = list(self.svc_queue), {}
            for key in rs_keys:
                self.sync_replicaset(key)
            for key in svc_keys:
                self.sync_endpoints(key)
            syncs += len(rs_keys) + len(svc_keys)
        return syncs

    # ------------------------------------------------------------ ReplicaSet
    def sync_replicaset(self, key) -> None:  # noqa: ANN001
        head = self.store.head
        rs = head.get(key)
        if rs is None or rs["metadata"].get("deletionTimestamp"):
            return
        uid = rs["metadata"]["uid"]
        pods = [p for p in selected(head, rs["spec"]["selector"].get("matchLabels") or {})
                if controller_uid(p) == uid and active(p)]
        diff = rs["spec"].get("replicas", 1) - len(pods)
        if diff > 0:
            template = rs["spec"]["template"]
            owner = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs["metadata"]["name"],
                     "uid": uid, "controller": True, "blockOwnerDeletion": True}
            names = self.pod_names(head, rs, diff)
            creates = [Request("create", "", "Pod", key[2], name, {
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": name, "namespace": key[2],
                             "labels": thaw(template["metadata"].get("labels") or {}),
                             "ownerReferences": [owner]},
                "spec": thaw(template["spec"])}) for name in names]
            self.api.submit(RS_ACTOR, creates + self.events(head, rs, "SuccessfulCreate", "Created pod: ", names))
        elif diff < 0:
            names = [p["metadata"]["name"] for p in pods[:-diff]]
            self.api.submit(RS_ACTOR, [Request("delete", "", "Pod", key[2], name) for name in names]
                            + self.events(head, rs, "SuccessfulDelete", "Deleted pod: ", names))
        n_ready = sum(1 for p in pods if ready(p))
        status = {"replicas": len(pods), "fullyLabeledReplicas": len(pods), "readyReplicas": n_ready,
                  "availableReplicas": n_ready, "observedGeneration": rs["metadata"].get("generation")}
        current = rs.get("status") or {}
        if any(current.get(k) != v for k, v in status.items()):
            body = thaw(rs)
            body["status"] = {**thaw(current), **status}
            self.api.update(RS_ACTOR, body, subresource="status")

    def pod_names(self, head, rs, count: int) -> list[str]:  # noqa: ANN001
        """`count` free names `<rs>-<5 chars>`, chosen here (as the rules' creates are), so the
        events about them ride in the same transaction."""
        names, base, ns = [], rs["metadata"]["name"] + "-", rs["metadata"]["namespace"]
        attempt = 0
        while len(names) < count:
            name = generate_name(base, name_suffix(f"{rs['metadata']['uid']}/{head.revision}", attempt))
            attempt += 1
            if head.get(("", "Pod", ns, name)) is None and name not in names:
                names.append(name)
        return names

    def events(self, head, rs, reason: str, text: str, names: list[str]) -> list:  # noqa: ANN001
        """The Event writes that record one `reason` event per pod about `rs` (the shared recorder)."""
        about = object_reference(rs)
        emitted = [Emitted(about, reason, "Normal", text + name, None, 0) for name in names]
        return self.recorder.requests("replicaset-controller", emitted, self.api.clock.now(), head, set())

    # ------------------------------------------------------------ Endpoints
    def sync_endpoints(self, key) -> None:  # noqa: ANN001
        head = self.store.head
        _g, _k, ns, name = key
        svc = head.get(key)
        ep = head.get(("", "Endpoints", ns, name))
        if svc is None:
            if ep is not None:
                self.api.delete(EP_ACTOR, "", "Endpoints", ns, name)
            return
        spec = svc.get("spec") or {}
        addresses, not_ready = [], []
        for p in selected(head, spec.get("selector") or {}):
            ip = (p.get("status") or {}).get("podIP")
            if ip is None or not active(p):
                continue
            address = {"ip": ip, "nodeName": p["spec"].get("nodeName"),
                       "targetRef": {"kind": "Pod", "namespace": ns, "name": p["metadata"]["name"],
                                     "uid": p["metadata"]["uid"]}}
            if address["nodeName"] is None:
                del address["nodeName"]
            (addresses if ready(p) else not_ready).append(address)
        ports = sorted(({"port": sp.get("targetPort", sp["port"]), "protocol": sp.get("protocol", "TCP")}
                        for sp in spec.get("ports") or ()), key=lambda p: (p["port"], p["protocol"]))
        subset: dict = {}
        if addresses:
            subset["addresses"] = sorted(addresses, key=lambda a: (a["ip"], a["targetRef"]["uid"]))
        if not_ready:
            subset["notReadyAddresses"] = sorted(not_ready, key=lambda a: (a["ip"], a["targetRef"]["uid"]))
        subsets = [{**subset, "ports": ports}] if subset else None
        if ep is None:
            body = {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": name, "namespace": ns}}
            if subsets:
                body["subsets"] = subsets
            self.api.create(EP_ACTOR, body)
        elif thaw(ep.get("subsets")) != subsets:
            body = thaw(ep)
            body["subsets"] = subsets
            if subsets is None:
                del body["subsets"]
            self.api.update(EP_ACTOR, body)


# ============================================================ the workload


def make_cluster() -> tuple[Store, APIServer, SimClock]:
    clock = SimClock()
    store = Store(clock=clock.now)
    api = APIServer(store, clock)
    api.bootstrap()
    api.create(ADMIN, namespace())
    return store, api, clock


def start_pods(store: Store, api: APIServer) -> None:
    """The stand-in kubelet: every pod Running and Ready with an IP (untimed, the same for both)."""
    with store.batch():
        names = sorted(p["metadata"]["name"] for p in store.head.list("", "Pod", NAMESPACE))
        for n, name in enumerate(names):
            api.bind(ADMIN, NAMESPACE, name, f"node-{n % 100:04d}")
            body = thaw(store.head.get(("", "Pod", NAMESPACE, name)))
            body["status"] = {"phase": "Running", "podIP": f"10.244.{n // 250}.{n % 250 + 1}",
                              "conditions": [{"type": "Ready", "status": "True"}]}
            api.update(ADMIN, body, subresource="status")


def workload(deployments: int, replicas: int, converge, check) -> dict:  # noqa: ANN001
    store, api, clock = make_cluster()
    run = converge(store, api, clock)
    tune_gc()  # as `recon up` does once its store is open (the same for both sides)
    start = time.perf_counter()
    with store.batch():
        for i in range(deployments):
            api.create(ADMIN, replicaset(i, replicas))
            api.create(ADMIN, service(i))
    run()
    phase1 = time.perf_counter() - start
    start_pods(store, api)
    start = time.perf_counter()
    run()
    phase2 = time.perf_counter() - start
    return {"phase1_s": phase1, "phase2_s": phase2, "total_s": phase1 + phase2, "ok": check(store), "store": store}


def checker(deployments: int, replicas: int):  # noqa: ANN201
    def check(store: Store) -> bool:
        head = store.head
        rss = head.list("apps", "ReplicaSet", NAMESPACE)
        eps = [e for e in head.list("", "Endpoints", NAMESPACE) if e["metadata"]["name"].startswith("app-")]
        return (len(head.list("", "Pod", NAMESPACE)) == deployments * replicas
                and all((rs.get("status") or {}).get("readyReplicas") == replicas for rs in rss)
                and len(eps) == deployments
                and all(sum(len(s.get("addresses") or ()) for s in e.get("subsets") or ()) == replicas
                        for e in eps))
    return check


def rule_set():  # noqa: ANN201
    """The rules of this bench: rules/replicaset.rules and rules/endpoints.rules alone."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "rules"
        folder.mkdir()
        for name in ("replicaset.rules", "endpoints.rules"):
            shutil.copy(ROOT / "rules" / name, folder / name)
        return load_rules(folder)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deployments", type=int, default=200)
    parser.add_argument("--replicas", type=int, default=5)
    args = parser.parse_args()
    check = checker(args.deployments, args.replicas)
    rules = rule_set()

    def with_rules(store, api, clock):  # noqa: ANN001, ANN202
        engine = Engine(api, rules, clock, max_rounds=10**6, max_creates_per_round=10**7)
        return lambda: engine.run()

    def with_python(store, api, clock):  # noqa: ANN001, ANN202
        return PythonControllers(api).run

    python = workload(args.deployments, args.replicas, with_python, check)
    ruled = workload(args.deployments, args.replicas, with_rules, check)
    figures = {"deployments": args.deployments, "replicas": args.replicas,
               "rules_phase1_s": round(ruled["phase1_s"], 3), "rules_phase2_s": round(ruled["phase2_s"], 3),
               "python_phase1_s": round(python["phase1_s"], 3), "python_phase2_s": round(python["phase2_s"], 3),
               "rules_s": round(ruled["total_s"], 3), "python_s": round(python["total_s"], 3),
               "rules_vs_python_ratio": round(ruled["total_s"] / python["total_s"], 2),
               "rules_ok": ruled["ok"], "python_ok": python["ok"]}
    print_figures(figures)


if __name__ == "__main__":
    main()
