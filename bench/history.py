"""History benchmark: open a long history, jump to any revision, explain a field.

Generates a history of `--revisions` commits (default 1,000,000) in a
temporary state folder, through the store's commit path (`open_store`, group
commit in batches of 1,000, the default checkpoints and history index), in
the shape a running cluster leaves: Nodes and their Leases, Deployments,
ReplicaSets and Pods, written with the actors and causes the real components
record —

    every simulated second   kubelet/node_status renews one node's Lease (timer)
                             kubelet/pod_status updates one pod's status (timer)
    every 10 seconds         a manifest edit scales a Deployment (external input),
                             deployment-controller/sync sets its ReplicaSet's replicas,
                             replicaset-controller/replicas creates or deletes a pod,
                             default-scheduler binds the new pod,
                             kubelet/pod_status marks it Running

so `recon explain pod/X spec.nodeName` walks bind → create → scale → manifest
edit, as it does on a real cluster.  Then, reading the folder as the history
commands do:

    open_s      open the folder read-only (newest checkpoint + replay after it)
    jump_ms     the full state at a revision picked by a seeded generator
                (median and max over --jumps), as `recon get --at REV` reads it
    explain_ms  `History.open` + `explain` of a pod's spec.nodeName — a pod bound
                near the head, and one bound in the first tenth of the history
                (the max of the two); also of a Lease's renewTime (the object
                written most often: its chain reads back to the previous actor)

Prints one JSON object on its last line.  Goals (issue 8): open and jump
< 1 s, explain < 100 ms.

Usage: python bench/history.py [--revisions 1000000] [--deployments 50] [--jumps 9]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.history import History, explain  # noqa: E402
from engine.objects import freeze  # noqa: E402
from engine.store import Txn, delete, put  # noqa: E402
from engine.wal import load_snapshot, open_store  # noqa: E402

NS = "bench"
NODES = 20
EPOCH = 1767225600.0


def key(kind: str, name: str, ns: str = NS, group: str = "") -> tuple:
    return (group, kind, ns, name)


def rule(component_rule: str, anchor: tuple, *changes: tuple) -> tuple:
    """A rule's cause: the rule and its anchor, then the changes (key, rev) that triggered it."""
    head = {"rule": component_rule, "anchor": list(anchor)}
    return (head, *({"type": "change", "rev": rev, "key": list(k)} for k, rev in changes))


def timer(component_rule: str, anchor: tuple, rev: int) -> tuple:
    return ({"rule": component_rule, "anchor": list(anchor)}, {"type": "timer", "rev": rev})


def node(i: int) -> dict:
    name = f"node-{i}"
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "uid": f"uid-node-{i}", "creationTimestamp": "2026-01-01T00:00:00Z",
                         "labels": {"kubernetes.io/hostname": name, "topology.kubernetes.io/zone": f"zone-{i % 3}"}},
            "spec": {"podCIDR": f"10.244.{i}.0/24"},
            "status": {"allocatable": {"cpu": "16", "memory": "64Gi", "pods": "110"},
                       "capacity": {"cpu": "16", "memory": "64Gi", "pods": "110"},
                       "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}]}}


def lease(i: int, t: float) -> dict:
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": f"node-{i}", "namespace": "kube-node-lease", "uid": f"uid-lease-{i}"},
            "spec": {"holderIdentity": f"node-{i}", "leaseDurationSeconds": 40, "renewTime": t}}


def deployment(d: int, replicas: int) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": f"app-{d}", "namespace": NS, "uid": f"uid-deploy-{d}",
                         "annotations": {"recon.dev/source": "apps.yaml"}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": f"app-{d}"}},
                     "template": template(d)}}


def template(d: int) -> dict:
    return {"metadata": {"labels": {"app": f"app-{d}"}},
            "spec": {"containers": [{"name": "main", "image": f"registry.example/app-{d}:1.0",
                                     "ports": [{"containerPort": 8080}],
                                     "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}}]}}


def replicaset(d: int, replicas: int) -> dict:
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": f"app-{d}-5d8f7c", "namespace": NS, "uid": f"uid-rs-{d}",
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": f"app-{d}",
                                              "uid": f"uid-deploy-{d}", "controller": True}]},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": f"app-{d}"}},
                     "template": template(d)}}


def pod(d: int, n: int) -> dict:
    spec = dict(template(d)["spec"], restartPolicy="Always", schedulerName="default-scheduler")
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"app-{d}-5d8f7c-{n:06d}", "namespace": NS, "uid": f"uid-pod-{n}",
                         "labels": {"app": f"app-{d}"},
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                              "name": f"app-{d}-5d8f7c", "uid": f"uid-rs-{d}",
                                              "controller": True}]},
            "spec": spec, "status": {"phase": "Pending"}}


class Cluster:
    """Writes the workload through the store; remembers what explain will be asked about."""

    def __init__(self, store, deployments: int, seed: int = 8):
        self.store, self.deployments = store, deployments
        self.rng = random.Random(seed)
        self.pods: dict[int, list[tuple]] = {d: [] for d in range(deployments)}
        self.replicas = {d: 4 for d in range(deployments)}
        self.counter = 0
        self.binds: list[tuple[int, tuple]] = []  # (revision, pod key) of every bind
        self.t = EPOCH

    def commit(self, ops: list, actor: str, cause: tuple) -> int:
        self.store.commit(Txn(tuple(ops), actor=actor, cause=cause), self.t)
        return self.store.revision

    def get(self, k: tuple):
        return self.store.head.get(k)

    def bootstrap(self) -> None:
        for i in range(NODES):
            self.commit([put(freeze(node(i)))], "manifests:nodes.yaml", ({"manifest": "nodes.yaml"},))
            self.commit([put(freeze(lease(i, self.t)))], "kubelet", timer("kubelet/node_status",
                        key("Node", f"node-{i}", ""), self.store.revision))
        for d in range(self.deployments):
            self.scale(d, 4)

    def scale(self, d: int, replicas: int) -> None:
        """A manifest edit, then the chain the controllers, scheduler and kubelet write."""
        dk, rk = key("Deployment", f"app-{d}", group="apps"), key("ReplicaSet", f"app-{d}-5d8f7c", group="apps")
        rev = self.commit([put(freeze(deployment(d, replicas)))], "manifests:apps.yaml", ({"manifest": "apps.yaml"},))
        rev = self.commit([put(freeze(replicaset(d, replicas)))], "deployment-controller",
                          rule("deployment-controller/sync", dk, (dk, rev)))
        self.replicas[d] = replicas
        while len(self.pods[d]) < replicas:
            self.counter += 1
            body = freeze(pod(d, self.counter))
            pk = key("Pod", body["metadata"]["name"])
            created = self.commit([put(body)], "replicaset-controller",
                                  rule("replicaset-controller/replicas", rk, (rk, rev)))
            bound = body.set("spec", body["spec"].set("nodeName", f"node-{self.rng.randrange(NODES)}"))
            brev = self.commit([put(bound)], "default-scheduler",
                               ({"scheduler": "default-scheduler", "pod": list(pk), "rev": created},))
            self.binds.append((brev, pk))
            self.commit([put(bound.set("status", freeze({"phase": "Running", "restartCount": 0})))], "kubelet",
                        rule("kubelet/pod_status", pk, (pk, brev)))
            self.pods[d].append(pk)
        while len(self.pods[d]) > replicas:
            pk = self.pods[d].pop(0)
            self.commit([delete(pk)], "replicaset-controller", rule("replicaset-controller/replicas", rk, (rk, rev)))

    def tick(self) -> None:
        self.t += 1
        i = int(self.t) % NODES
        lk = key("Lease", f"node-{i}", "kube-node-lease", "coordination.k8s.io")
        self.commit([put(freeze(lease(i, self.t)))], "kubelet", timer("kubelet/node_status", lk, self.store.revision))
        d = self.rng.randrange(self.deployments)
        pk = self.pods[d][self.rng.randrange(len(self.pods[d]))]
        obj = self.get(pk)
        status = obj["status"].set("restartCount", obj["status"]["restartCount"] + 1)
        self.commit([put(obj.set("status", status))], "kubelet", timer("kubelet/pod_status", pk, self.store.revision))
        if int(self.t) % 10 == 0:
            d = self.rng.randrange(self.deployments)
            self.scale(d, max(2, min(6, self.replicas[d] + self.rng.choice((-1, 1)))))


def generate(state: Path, revisions: int, deployments: int) -> Cluster:
    store = open_store(state)
    cluster = Cluster(store, deployments)
    with store.batch():
        cluster.bootstrap()
    while store.revision < revisions:
        with store.batch():
            start = store.revision
            while store.revision - start < 1000 and store.revision < revisions:
                cluster.tick()
    store.close()
    return cluster


def timed(fn, *args):
    t = time.perf_counter()
    result = fn(*args)
    return result, (time.perf_counter() - t) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--revisions", type=int, default=1_000_000)
    parser.add_argument("--deployments", type=int, default=50)
    parser.add_argument("--jumps", type=int, default=9)
    parser.add_argument("--keep", metavar="DIR", help="generate into DIR and keep it (default: a temporary folder)")
    args = parser.parse_args()
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="recon-history-bench-"))
    state = folder / "state"
    try:
        t = time.perf_counter()
        cluster = generate(state, args.revisions, args.deployments)
        generate_s = time.perf_counter() - t
        store, open_ms = timed(lambda: open_store(state, readonly=True))
        head = store.revision
        store.close()
        rng = random.Random(8)
        jumps = [timed(load_snapshot, state, rng.randint(1, head))[1] for _ in range(args.jumps)]
        deep = next(b for b in cluster.binds if b[0] > head // 10)
        explains = {}
        for name, (rev, pk) in (("head", cluster.binds[-1]), ("deep", deep)):
            def ask(pk=pk, rev=rev):
                return explain(History.open(state), pk, ("spec", "nodeName"), rev)
            steps, ms = timed(ask)
            explains[name] = (ms, len(steps))
        lk = ("coordination.k8s.io", "Lease", "kube-node-lease", "node-7")
        steps, lease_ms = timed(lambda: explain(History.open(state), lk, ("spec", "renewTime")))
        size = sum(p.stat().st_size for p in state.rglob("*") if p.is_file())
        ckpts = len(list((state / "checkpoints").glob("*.ckpt")))
        explain_ms = max(ms for ms, _ in explains.values())
        result = {"revisions": head, "generate_s": round(generate_s, 1), "open_s": round(open_ms / 1000, 3),
                  "jump_ms": round(statistics.median(jumps), 1), "jump_ms_max": round(max(jumps), 1),
                  "explain_ms": round(explain_ms, 1), "explain_steps": explains["head"][1],
                  "explain_deep_ms": round(explains["deep"][0], 1), "explain_lease_ms": round(lease_ms, 1),
                  "checkpoints": ckpts, "state_mb": round(size / 2**20, 1),
                  "log_mb": round((state / "history.log").stat().st_size / 2**20, 1)}
        print(f"{head} revisions generated in {generate_s:.1f} s ({size / 2**20:.0f} MB, {ckpts} checkpoints): "
              f"open {open_ms / 1000:.3f} s, jump median {statistics.median(jumps):.1f} ms max {max(jumps):.1f} ms, "
              f"explain {explain_ms:.1f} ms ({explains['head'][1]} steps; deep {explains['deep'][0]:.1f} ms), "
              f"explain lease {lease_ms:.1f} ms")
        print(json.dumps(result))
    finally:
        if not args.keep:
            shutil.rmtree(folder)


if __name__ == "__main__":
    main()
