"""Store benchmark: commit rates (in memory, durable), memory per Pod, opening a long history.

The workload is realistic Pods (~2.2 KB of JSON each, as a kubelet-run Pod
looks): each commit writes one Pod — first creates, then status updates.
Prints a table and, as its last line, one JSON object:

    commits_per_s_memory, commits_per_s_durable, commits_per_s_fsync_each,
    bytes_per_pod_object, open_100k_history_s (+ the parts and sizes behind them,
    and the commit rates again after `tune_gc()`)

Usage: python bench/store.py [--commits 10000] [--batch 100] [--fsync-commits 2000]
                             [--pods 20000] [--history 100000] [--history-pods 2000]
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import shutil
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.objects import freeze, key_of, set_path  # noqa: E402
from engine.store import Store, Txn, create, delete, tune_gc, update  # noqa: E402
from engine.wal import load_snapshot, open_store  # noqa: E402


def make_pod(i: int, ns: str = "default") -> object:
    rs = f"web-{i % 50:02d}-7d9c5b"
    return freeze({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": f"{rs}-{i:06x}", "namespace": ns, "uid": f"3f0e{i:08x}-1c2d-4e5f-8a9b-{i:012x}",
            "creationTimestamp": "2026-01-01T00:00:00Z", "generateName": f"{rs}-",
            "labels": {"app": f"web-{i % 50:02d}", "pod-template-hash": "7d9c5b", "tier": f"t{i % 5}"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs,
                                 "uid": f"rs-{i % 50:04d}", "controller": True, "blockOwnerDeletion": True}],
        },
        "spec": {
            "nodeName": f"node-{i % 100}", "restartPolicy": "Always", "schedulerName": "default-scheduler",
            "serviceAccountName": "default", "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst",
            "containers": [{
                "name": "web", "image": "nginx:1.27", "imagePullPolicy": "IfNotPresent",
                "ports": [{"containerPort": 80, "protocol": "TCP", "name": "http"}],
                "resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                              "limits": {"cpu": "500m", "memory": "256Mi"}},
                "env": [{"name": "MODE", "value": "prod"},
                        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
                "volumeMounts": [{"name": "kube-api-access", "readOnly": True,
                                  "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}],
                "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
            }],
            "volumes": [{"name": "kube-api-access", "projected": {"defaultMode": 420, "sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}}]}}],
            "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists",
                             "effect": "NoExecute", "tolerationSeconds": 300}],
        },
        "status": {
            "phase": "Running", "podIP": f"10.0.{(i >> 8) & 255}.{i & 255}", "hostIP": "192.168.0.1",
            "startTime": "2026-01-01T00:00:01Z", "qosClass": "Burstable",
            "conditions": [{"type": t, "status": "True", "lastTransitionTime": "2026-01-01T00:00:02Z"}
                           for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")],
            "containerStatuses": [{
                "name": "web", "ready": True, "restartCount": 0, "image": "nginx:1.27",
                "imageID": "docker-pullable://nginx@sha256:abc", "containerID": f"containerd://{i:064x}",
                "started": True, "state": {"running": {"startedAt": "2026-01-01T00:00:02Z"}}}],
        },
    })


def workload(count: int, pods: int):
    """`count` txns of one Pod write each: `pods` creates, then status updates (restartCount).

    Each update's Pod is made as the workload is listed (before `run` starts its clock), as a
    client has its object ready before it writes it; bench/store_vs_etcd.py makes etcd's values
    beforehand too.  An update sets restartCount on the Pod as created, without a
    resourceVersion (no precondition): the same content as setting it on the stored Pod."""
    made = [make_pod(i) for i in range(min(pods, count))]
    for pod in made:
        yield lambda head, pod=pod: Txn((create(pod),), actor="bench")
    for n in range(count - len(made)):
        pod = set_path(made[n % len(made)], ["status", "containerStatuses", 0, "restartCount"], n)
        yield lambda head, pod=pod: Txn((update(pod),), actor="bench")


def run(store: Store, txns, batch: int) -> float:
    txns = list(txns)
    start = time.perf_counter()
    if batch <= 1:
        for make in txns:
            store.commit(make(store.head))
    else:
        for i in range(0, len(txns), batch):
            with store.batch():
                for make in txns[i:i + batch]:
                    store.commit(make(store.head))
    return len(txns) / (time.perf_counter() - start)


def bench_memory(args) -> float:
    return run(Store(), workload(args.commits, args.commits // 2), 1)


def bench_durable(args, folder: Path, batch: int, commits: int) -> float:
    shutil.rmtree(folder, ignore_errors=True)
    store = open_store(folder)
    rate = run(store, workload(commits, commits // 2), batch)
    store.close()
    return rate


def bench_bytes_reopened(folder: Path, pods: int) -> float:
    """Traced bytes per Pod of a store opened from a folder of `pods` Pods
    (loaded objects share their equal parts)."""
    shutil.rmtree(folder, ignore_errors=True)
    store = open_store(folder)
    made = [make_pod(i) for i in range(pods)]
    with store.batch():
        for i in range(0, pods, 100):
            store.commit(Txn(tuple(create(p) for p in made[i:i + 100])))
    store.close()
    del made, store
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    store = open_store(folder)
    gc.collect()
    total = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    assert len(store.head) == pods
    store.close()
    return total / pods


def bench_bytes_per_pod(args) -> tuple[float, float]:
    """Traced bytes per stored Pod: (everything, the store's own share: maps and indexes)."""
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    pods = [make_pod(i) for i in range(args.pods)]
    objects_only = tracemalloc.get_traced_memory()[0] - base
    store = Store()
    for i in range(0, len(pods), 100):  # 100 Pods per txn, as a manifest apply would
        store.commit(Txn(tuple(create(p) for p in pods[i:i + 100])))
    del pods
    gc.collect()
    total = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    assert len(store.head) == args.pods
    return total / args.pods, (total - objects_only) / args.pods


def build_history(folder: Path, revisions: int, pods: int) -> float:
    """A state folder of `revisions` commits churning `pods` Pods; its build rate."""
    shutil.rmtree(folder, ignore_errors=True)
    store = open_store(folder)
    rng = random.Random(1)
    made = [make_pod(i) for i in range(pods)]
    start = time.perf_counter()
    with store.batch():
        for pod in made:
            store.commit(Txn((create(pod),)))
    n = store.revision
    while n < revisions:
        with store.batch():
            for _ in range(min(100, revisions - n)):
                key = key_of(made[rng.randrange(pods)])
                pod = store.head.get(key)
                if rng.random() < 0.05:  # the Pod is deleted and made again
                    store.commit(Txn((delete(key),)))
                    store.commit(Txn((create(set_path(pod, ["status", "phase"], "Pending")),)))
                    n += 2
                else:
                    store.commit(Txn((update(set_path(pod, ["status", "containerStatuses", 0, "restartCount"],
                                                      n)),)))
                    n += 1
    rate = store.revision / (time.perf_counter() - start)
    store.close()
    return rate


def bench_open(folder: Path, revisions: int) -> tuple[float, float, object]:
    start = time.perf_counter()
    store = open_store(folder)
    opened = time.perf_counter() - start
    recovery = store.recovery
    store.close()
    target = random.Random(2).randrange(1, revisions)
    start = time.perf_counter()
    snap = load_snapshot(folder, target)
    jumped = time.perf_counter() - start
    assert snap.revision == target
    return opened, jumped, (recovery, target)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--commits", type=int, default=10_000, help="commits for the commit rates")
    parser.add_argument("--batch", type=int, default=100, help="commits per group commit (durable)")
    parser.add_argument("--fsync-commits", type=int, default=2_000, help="commits for the fsync-each rate")
    parser.add_argument("--pods", type=int, default=20_000, help="Pods for the memory figure")
    parser.add_argument("--history", type=int, default=100_000, help="revisions of the history to open")
    parser.add_argument("--history-pods", type=int, default=2_000, help="live Pods in that history")
    parser.add_argument("--dir", default=None, help="where to put the state folders (default: a temp dir)")
    args = parser.parse_args()

    tmp = Path(args.dir or tempfile.mkdtemp(prefix="recon-bench-"))
    rows, out = [], {}
    try:
        out["commits_per_s_memory"] = bench_memory(args)
        rows.append(("commits/s, in memory", out["commits_per_s_memory"],
                     f"{args.commits:,} Pod writes, 1 per commit"))
        out["commits_per_s_durable"] = bench_durable(args, tmp / "durable", args.batch, args.commits)
        rows.append(("commits/s, durable (group commit)", out["commits_per_s_durable"],
                     f"fsync=batch, {args.batch} commits per batch"))
        out["commits_per_s_fsync_each"] = bench_durable(args, tmp / "fsync-each", 1, args.fsync_commits)
        rows.append(("commits/s, fsync every commit", out["commits_per_s_fsync_each"],
                     f"{args.fsync_commits:,} commits"))
        per_pod, store_share = bench_bytes_per_pod(args)
        out["bytes_per_pod_object"], out["store_bytes_per_pod"] = per_pod, store_share
        rows.append(("bytes per stored Pod, live", per_pod, f"{args.pods:,} Pods built by objects.freeze"))
        rows.append(("  of which the store's maps/indexes", store_share, "the rest is the Pod itself"))
        out["bytes_per_pod_reopened"] = bench_bytes_reopened(tmp / "reopened", args.pods)
        rows.append(("bytes per stored Pod, reopened", out["bytes_per_pod_reopened"],
                     "loaded from a checkpoint + log: equal parts shared"))
        history = tmp / "history"
        rate = build_history(history, args.history, args.history_pods)
        rows.append(("history build, commits/s", rate,
                     f"{args.history:,} revisions, {args.history_pods:,} live Pods, batches of 100"))
        size = sum(f.stat().st_size for f in history.rglob("*") if f.is_file())
        opened, jumped, (recovery, target) = bench_open(history, args.history)
        out.update(open_100k_history_s=opened + jumped, open_s=opened, jump_s=jumped)
        rows.append(("open the history, s", opened, str(recovery)))
        rows.append(("jump to a revision, s", jumped, f"revision {target:,}"))
        rows.append(("state folder size, MB", round(size / 1e6, 1),
                     f"{len(list((history / 'checkpoints').iterdir()))} checkpoints"))
        # The same commit rates once the process has run `tune_gc()` (a CLI's choice).
        tune_gc()
        out["commits_per_s_memory_tuned_gc"] = bench_memory(args)
        rows.append(("commits/s, in memory, tune_gc()", out["commits_per_s_memory_tuned_gc"], ""))
        out["commits_per_s_durable_tuned_gc"] = bench_durable(args, tmp / "durable", args.batch, args.commits)
        rows.append(("commits/s, durable, tune_gc()", out["commits_per_s_durable_tuned_gc"], ""))
    finally:
        if not args.dir:
            shutil.rmtree(tmp, ignore_errors=True)

    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'value':>10}  notes")
    for name, value, note in rows:
        shown = f"{value:,.0f}" if value >= 100 else f"{value:,.3f}"
        print(f"{name:<{width}}  {shown:>10}  {note}")
    result = {k: round(v) if v >= 100 else round(v, 3) for k, v in out.items()}
    result.update(durable_batch=args.batch, history_revisions=args.history, history_pods=args.history_pods)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
