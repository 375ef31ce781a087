"""Rule engine benchmark: evaluation rate, and one edit in a big converged cluster.

Builds a converged state of N objects (ReplicaSets and the Pods a
ReplicaSet rule creates for them), then changes one object and measures the
time to quiescence twice: incrementally (the engine's normal mode) and with
every rule instance re-evaluated (full recompute).  Prints a table and, as
its last line, one JSON object:

    evals_per_s, incremental_edit_ms, full_recompute_ms, ratio

Usage: python bench/rules.py [--objects 100000] [--pods-per-rs 4] [--edits 20]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.apiserver import Actor, APIServer  # noqa: E402
from engine.clock import SimClock  # noqa: E402
from engine.reconcile import Engine  # noqa: E402
from engine.rules import load_rules  # noqa: E402
from engine.store import Store  # noqa: E402
from figures import print_figures  # noqa: E402

ADMIN = Actor("admin", "user", None)

RULES = """\
component rs-controller
  reads Pod, ReplicaSet
  writes Pod, ReplicaSet.status

rule replicas for rs in ReplicaSet:
  let pods = Pod in rs.namespace where controlled_by(it, rs) and not deleting(it)
  let diff = rs.spec.replicas - count(pods)
  when diff > 0: create diff Pod from rs.spec.template with name_prefix: rs.name + "-", owner: rs
  when diff < 0: delete take(sort_desc(pods, it.metadata.name), -diff)
  set rs.status.replicas = count(pods)
"""


def replicaset(i: int, replicas: int) -> dict:
    name = f"rs-{i}"
    return {
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": name, "namespace": "bench"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                         "spec": {"containers": [{"name": "c", "image": "nginx"}]}},
        },
    }


def build(n_rs: int, pods_per_rs: int) -> tuple[Engine, APIServer, SimClock, float, int]:
    clock = SimClock()
    store = Store(clock=clock.now)
    api = APIServer(store, clock)
    api.bootstrap()
    api.create(ADMIN, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bench"}})
    folder = Path(tempfile.mkdtemp()) / "rules"
    folder.mkdir()
    (folder / "rs.rules").write_text(RULES)
    with store.batch():
        for i in range(n_rs):
            api.create(ADMIN, replicaset(i, pods_per_rs))
    engine = Engine(api, load_rules(folder), clock, max_rounds=1000, max_creates_per_round=10**7)
    started = time.perf_counter()
    result = engine.run(until=clock.now() + 60)
    elapsed = time.perf_counter() - started
    assert result.converged, result.message
    return engine, api, clock, elapsed, engine.total_evaluations


def edit(engine: Engine, api: APIServer, clock: SimClock, i: int, replicas: int) -> float:
    started = time.perf_counter()
    api.patch(ADMIN, "apps", "ReplicaSet", "bench", f"rs-{i}", {"spec": {"replicas": replicas}})
    result = engine.run(until=clock.now() + 60)
    elapsed = time.perf_counter() - started
    assert result.converged, result.message
    return elapsed * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=100_000)
    parser.add_argument("--pods-per-rs", type=int, default=4)
    parser.add_argument("--edits", type=int, default=20)
    parser.add_argument("--full-edits", type=int, default=3)
    args = parser.parse_args()
    n_rs = max(1, args.objects // (args.pods_per_rs + 1))
    engine, api, clock, build_s, evals = build(n_rs, args.pods_per_rs)
    gc.freeze()
    incremental = [edit(engine, api, clock, (k * 7919) % n_rs, args.pods_per_rs + 1 + k % 2)
                   for k in range(args.edits)]
    engine.full_recompute = True
    full = [edit(engine, api, clock, (k * 104729) % n_rs, args.pods_per_rs + 1 + k % 2)
            for k in range(args.full_edits)]
    inc_ms, full_ms = statistics.median(incremental), statistics.median(full)
    figures = {
        "objects": len(api.store.head),
        "evals_per_s": round(evals / build_s),
        "converge_s": round(build_s, 3),
        "incremental_edit_ms": round(inc_ms, 3),
        "incremental_edit_p99_ms": round(sorted(incremental)[int(0.99 * (len(incremental) - 1))], 3),
        "full_recompute_ms": round(full_ms, 1),
        "ratio": round(full_ms / inc_ms, 1),
    }
    print_figures(figures)


if __name__ == "__main__":
    main()
