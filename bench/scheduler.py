"""Scheduler benchmark: pods bound per second through the rule-based filters and scores.

basic: N nodes (4 cpu, 16Gi), P pods already placed, then M pending pods with
cpu/memory requests, scheduled by the shipped rules/scheduler/ profile; the
rate is M / (time until every pod is bound).  anti_affinity: pods with a
required pod anti-affinity on kubernetes.io/hostname (needs the
InterPodAffinity rules; reported as null while rules/scheduler/ has none).
Prints a table and, as its last line, one JSON object:

    basic_5000_nodes_pods_per_s, anti_affinity_1000_nodes_pods_per_s, ...

pods_per_cpu_s divides by the process's CPU time instead of wall time: on
a shared machine it is the steadier figure.

Usage: python bench/scheduler.py [--nodes 5000] [--placed 1000] [--pods 10000] [--repeat N] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.apiserver import Actor, APIServer  # noqa: E402
from engine.clock import SimClock  # noqa: E402
from engine.reconcile import Engine  # noqa: E402
from engine.rules import load_rules  # noqa: E402
from engine.store import Store, tune_gc  # noqa: E402
from figures import print_figures  # noqa: E402

ADMIN = Actor("admin", "user", None)
RULES = Path(__file__).resolve().parent.parent / "rules" / "scheduler"


def node(i: int) -> dict:
    alloc = {"cpu": "4", "memory": "16Gi", "pods": "110"}
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": f"node-{i:05}", "labels": {"kubernetes.io/hostname": f"node-{i:05}"}},
            "status": {"capacity": alloc, "allocatable": alloc}}


def pod(name: str, node_name: str | None = None, anti_affinity: bool = False) -> dict:
    spec: dict = {"containers": [{"name": "c", "image": "registry.k8s.io/pause:3.10",
                                  "resources": {"requests": {"cpu": "100m", "memory": "500Mi"}}}]}
    if node_name:
        spec["nodeName"] = node_name
    if anti_affinity:
        spec["affinity"] = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"labelSelector": {"matchLabels": {"color": "green"}}, "topologyKey": "kubernetes.io/hostname"}]}}
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "labels": {"color": "green"}}, "spec": spec}


def scenario(nodes: int, placed: int, pending: int, anti_affinity: bool, profile: bool) -> dict:
    clock = SimClock()
    store = Store(clock=clock.now)
    api = APIServer(store, clock)
    api.bootstrap()
    with store.batch():
        for i in range(nodes):
            api.create(ADMIN, node(i))
        for i in range(placed):
            api.create(ADMIN, pod(f"placed-{i}", node_name=f"node-{i % nodes:05}"))
    engine = Engine(api, load_rules(RULES), clock, max_rounds=10**6, max_creates_per_round=10**7)
    engine.run()
    with store.batch():
        for i in range(pending):
            api.create(ADMIN, pod(f"pod-{i}", anti_affinity=anti_affinity))
    tune_gc()  # as `recon up` does once its store is open
    profiler = cProfile.Profile() if profile else None
    gc_time = [0.0, 0.0]  # seconds in Python's cyclic GC, start of the current pass

    def gc_clock(phase: str, _info: dict) -> None:
        if phase == "start":
            gc_time[1] = time.perf_counter()
        else:
            gc_time[0] += time.perf_counter() - gc_time[1]

    gc.callbacks.append(gc_clock)
    start, cpu_start = time.perf_counter(), time.process_time()
    if profiler:
        profiler.enable()
    result = engine.run()
    if profiler:
        profiler.disable()
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    gc.callbacks.remove(gc_clock)
    bound = sum(1 for p in store.head.list("", "Pod", "default")
                if p["metadata"]["name"].startswith("pod-") and p["spec"].get("nodeName"))
    if profiler:
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(25)
    return {"converged": result.converged, "bound": bound, "seconds": round(elapsed, 2),
            "pods_per_s": round(bound / elapsed, 1) if elapsed else None,
            "cpu_seconds": round(cpu, 2), "pods_per_cpu_s": round(bound / cpu, 1) if cpu else None,
            "gc_seconds": round(gc_time[0], 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--placed", type=int, default=1000)
    parser.add_argument("--pods", type=int, default=10000)
    parser.add_argument("--aa-nodes", type=int, default=1000)
    parser.add_argument("--aa-pods", type=int, default=1000)
    parser.add_argument("--profile", action="store_true", help="print a cProfile of each run to stderr")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run each scenario N times and report the run of median speed (the spread: *_runs)")
    args = parser.parse_args()
    tempfile.tempdir = tempfile.gettempdir()
    basic, basic_runs = median_run(lambda: scenario(args.nodes, args.placed, args.pods, False, args.profile),
                                   args.repeat)
    has_affinity = any(d.name == "InterPodAffinity" for c in load_rules(RULES).components for d in c.filters)
    anti, anti_runs = (median_run(lambda: scenario(args.aa_nodes, 0, args.aa_pods, True, args.profile), args.repeat)
                       if has_affinity else (None, []))
    figures = {
        f"basic_{args.nodes}_nodes_pods_per_s": basic["pods_per_s"],
        "basic_seconds": basic["seconds"], "basic_bound": basic["bound"],
        "basic_pods_per_cpu_s": basic["pods_per_cpu_s"], "basic_gc_seconds": basic["gc_seconds"],
        f"anti_affinity_{args.aa_nodes}_nodes_pods_per_s": anti["pods_per_s"] if anti else None,
        "anti_affinity_seconds": anti["seconds"] if anti else None,
        "anti_affinity_bound": anti["bound"] if anti else None,
        "anti_affinity_pods_per_cpu_s": anti["pods_per_cpu_s"] if anti else None,
    }
    if args.repeat > 1:
        figures["basic_runs_pods_per_s"] = basic_runs
        figures["anti_affinity_runs_pods_per_s"] = anti_runs
    print_figures(figures)


def median_run(run, repeat: int) -> tuple[dict, list]:  # noqa: ANN001
    """Run a scenario `repeat` times: the run of median pods/s, and every run's pods/s in order
    (a shared machine's runs of the same code differ by a quarter)."""
    results = [run() for _ in range(max(1, repeat))]
    ordered = sorted(results, key=lambda r: r["pods_per_s"] or 0)
    return ordered[(len(ordered) - 1) // 2], [r["pods_per_s"] for r in results]


if __name__ == "__main__":
    main()
