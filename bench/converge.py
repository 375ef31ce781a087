"""Converge benchmark: time from applying a whole-cluster folder to converged.

The folder (bench/cluster_gen.py): N nodes in 3 zones, D Deployments x R
replicas with cpu/memory requests, one Service per Deployment.  Driven through
the library the way `recon up --once` is (engine.cluster.Cluster.sync on an
in-memory store, every rule in rules/ including the scheduler).  Converged
means the engine reports converged and every pod is Running, every Endpoints
object lists R ready addresses and every Service has its proxy table.
Prints a table and, as its last line, one JSON object:

    converge_s, revisions, writes_per_s, peak_rss_mb (+ the size and the checks)

and where the time went, by part of the engine's loop: evaluate_s (rule
evaluations), submit_s (the rules' writes: API server, store and the store's
listeners), schedule_s (the scheduler's cycles, its binds included), route_s
(from each commit to the rule instances it invalidates, and to the
scheduler's queue); the rest (applying the folder, timers, the check for
fights between rules) is other_s.

Issue 10's scenario is --nodes 1000 --deployments 1000 --replicas 10.
Usage: python bench/converge.py [--nodes 100] [--deployments 100] [--replicas 5] [--profile N]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from cluster_gen import NAMESPACE, write_folder  # noqa: E402
from engine.cluster import Cluster  # noqa: E402
from engine.store import Store, tune_gc  # noqa: E402
from figures import print_figures  # noqa: E402

RULES = ROOT / "rules"
UNTIL = 600.0  # simulated seconds a run may take


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def count_events(store: Store) -> list[int]:
    """A counter of object changes (writes) committed to `store` from now on."""
    counter = [0]

    def listener(snap, events, record) -> None:  # noqa: ANN001
        counter[0] += len(events)
    store.listeners.append(listener)
    return counter


def check(cluster: Cluster, deployments: int, replicas: int) -> dict:
    """The convergence checks: pods Running, Endpoints filled, proxy tables built."""
    head = cluster.store.head
    pods = head.list("", "Pod", NAMESPACE)
    running = sum(1 for p in pods if (p.get("status") or {}).get("phase") == "Running")
    filled = 0
    for ep in head.list("", "Endpoints", NAMESPACE):
        addresses = sum(len(s.get("addresses") or ()) for s in ep.get("subsets") or ())
        filled += ep["metadata"]["name"].startswith("app-") and addresses == replicas
    tables = sum(1 for sr in head.list("proxy.recon.dev", "ServiceRules", NAMESPACE)
                 if sr["metadata"]["name"].startswith("app-") and (sr.get("spec") or {}).get("ports"))
    return {"pods": len(pods), "pods_running": running, "endpoints_filled": filled, "proxy_tables": tables,
            "all_converged": running == deployments * replicas and filled == deployments
            and tables == deployments}


class PartTimes:
    """Wall time spent in a few methods of one object, which keep working as before."""

    def __init__(self, obj: object, parts: dict[str, str]):
        self.seconds = {figure: 0.0 for figure in parts}
        for figure, method in parts.items():
            setattr(obj, method, self._timed(figure, getattr(obj, method)))

    def _timed(self, figure: str, method):  # noqa: ANN001, ANN202
        def timed(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            start = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                self.seconds[figure] += time.perf_counter() - start
        return timed


def converge(folder: Path, deployments: int, replicas: int, profile: int = 0) -> tuple[Cluster, dict]:
    """Open an in-memory cluster, apply `folder` and converge it; the cluster and the figures."""
    store = Store()
    cluster = Cluster(store, RULES, simulated=True)
    tune_gc()  # as `recon up` does
    cluster.engine.max_rounds = 10**6
    cluster.engine.max_creates_per_round = 10**7
    writes = count_events(store)
    engine = cluster.engine
    rounds = PartTimes(engine, {"round": "_round", "submit": "_submit_all", "route": "_drain"})
    scheduling = PartTimes(engine.scheduler, {"schedule": "cycle"})
    before = store.revision
    profiler = cProfile.Profile() if profile else None
    start = time.perf_counter()
    if profiler:
        profiler.enable()
    result, run = cluster.sync(folder, cluster.clock.now() + UNTIL)
    if profiler:
        profiler.disable()
    elapsed = time.perf_counter() - start
    if profiler:
        stats = pstats.Stats(profiler, stream=sys.stderr)
        stats.sort_stats("tottime").print_stats(profile)
        stats.sort_stats("cumulative").print_stats(profile)
    figures = {
        "converge_s": round(elapsed, 2),
        "revisions": store.revision - before,
        "writes": writes[0],
        "writes_per_s": round(writes[0] / elapsed, 1) if elapsed else None,
        "peak_rss_mb": peak_rss_mb(),
        "engine_converged": bool(run and run.converged),
        "rounds": run.rounds if run else 0,
        "evaluations": run.evaluations if run else 0,
        "apply_errors": len(result.errors),
    }
    part = {**rounds.seconds, **scheduling.seconds}
    evaluate = part["round"] - part["submit"]
    figures.update(evaluate_s=round(evaluate, 2), submit_s=round(part["submit"], 2),
                   schedule_s=round(part["schedule"], 2), route_s=round(part["route"], 2),
                   other_s=round(elapsed - evaluate - part["submit"] - part["schedule"] - part["route"], 2))
    figures.update(check(cluster, deployments, replicas))
    return cluster, figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--deployments", type=int, default=100)
    parser.add_argument("--replicas", type=int, default=5)
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="print the top N functions of a cProfile of the run to stderr")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_folder(Path(tmp) / "manifests", args.nodes, args.deployments, args.replicas)
        _cluster, figures = converge(folder, args.deployments, args.replicas, args.profile)
    sizes = {"nodes": args.nodes, "deployments": args.deployments, "replicas": args.replicas}
    print_figures({**sizes, **figures})


if __name__ == "__main__":
    main()
