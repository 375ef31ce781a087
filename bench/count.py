"""Count bench: the instructions one kind of edit (or converging) costs, counted by callgrind
(repeatable where wall clock is not).

Converges the bench/converge.py cluster, makes a few edits of the kind to warm up, then counts
only the timed edits: the run goes under `valgrind --tool=callgrind --instr-atstart=no` and
switches counting on and off around them with `callgrind_control`.  The same code gives the same
count within about 0.2 % (switching counting on and off is not exact), so two versions of the
engine compare in one try; the final state hash says whether they made the same history.  With
`--edit converge` it counts converging the cluster instead (instructions_per_edit is then the
whole converge's count).  With `--edit baseline` or `baseline_python` it counts the controllers'
work of bench/baseline.py (both phases, `--deployments` x `--replicas`), by the rules or by the
Python controllers: the two counts' ratio is a repeatable rules_vs_python (a little against the
rules: the Python controllers' event handlers run at commit time, so those of the untimed writes
are not counted, where the engine routes every change inside its run).  With `--edit store` it
counts bench/store_vs_etcd.py's recon side: `--commits` one-Pod durable commits (half creates,
half updates) in group commits of `--batch` (instructions_per_edit is then per commit; the
fsyncs' waiting is not counted, their system calls are).  Prints a table and, as its last line,
one JSON object:

    edit, edits, instructions_per_edit, revision, state_hash

Needs valgrind (Debian: `apt-get install valgrind`); without it the count is null and the bench
says why.  Slow: the cluster converges about five times slower than without valgrind.
Usage: python bench/count.py [--edit scale|image|delete_pod|node_down|converge|baseline|baseline_python|store]
                            [--edits 20] [--nodes 100] [--deployments 100] [--replicas 5]
                            [--commits 5000] [--batch 100] [--no-full-gc] ...
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from figures import print_figures  # noqa: E402

INSIDE = "RECON_COUNT_INSIDE"  # set for the run under valgrind


def counted_run(args: argparse.Namespace) -> None:
    """Under valgrind: converge, warm up, count the edits; print what the outer run reads."""
    if args.no_full_gc:
        from engine.store import _GCSettle

        _GCSettle.FULL_AT_LEAST = 10**18  # (never reached: no full pass after the first)
    if args.edit.startswith("baseline"):
        counted_baseline(args)
        return
    if args.edit == "store":
        counted_store(args)
        return
    from cluster_gen import write_folder
    from converge import converge
    from edit import Editor

    with tempfile.TemporaryDirectory() as tmp:
        folder = write_folder(Path(tmp) / "manifests", args.nodes, args.deployments, args.replicas)
        if args.edit == "converge":
            _counting(True)
        cluster, figures = converge(folder, args.deployments, args.replicas)
    if args.edit == "converge":
        _counting(False)
        head = cluster.api.store.head
        print(f"COUNTED failed={int(not figures['all_converged'])} revision={head.revision} state={head.state_hash}")
        return
    editor = Editor(cluster, args.deployments, args.replicas, args.nodes)
    edit = getattr(editor, args.edit)
    for _ in range(args.warmup):
        editor.timed(edit)
    _counting(True)
    failed = sum(not editor.timed(edit)[1] for _ in range(args.edits))
    _counting(False)
    head = cluster.api.store.head
    print(f"COUNTED failed={failed} revision={head.revision} state={head.state_hash}")


def counted_baseline(args: argparse.Namespace) -> None:
    """Under valgrind: bench/baseline.py's workload, its controllers' runs counted."""
    import baseline

    def counted(run):  # noqa: ANN001, ANN202
        def wrapped():  # noqa: ANN202
            _counting(True)
            run()
            _counting(False)
        return wrapped

    if args.edit == "baseline":
        rules = baseline.rule_set()

        def converge(store, api, clock):  # noqa: ANN001, ANN202
            return counted(baseline.Engine(api, rules, clock, max_rounds=10**6, max_creates_per_round=10**7).run)
    else:
        def converge(store, api, clock):  # noqa: ANN001, ANN202
            return counted(baseline.PythonControllers(api).run)
    result = baseline.workload(args.deployments, args.replicas, converge,
                               baseline.checker(args.deployments, args.replicas))
    head = result["store"].head
    print(f"COUNTED failed={int(not result['ok'])} revision={head.revision} state={head.state_hash}")


def counted_store(args: argparse.Namespace) -> None:
    """Under valgrind: store_vs_etcd.py's recon commits, made ready first, then counted."""
    from store import run, workload

    from engine.store import tune_gc
    from engine.wal import open_store

    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(Path(tmp) / "state")
        tune_gc()
        txns = list(workload(args.commits, args.commits // 2))
        _counting(True)
        run(store, txns, args.batch)
        _counting(False)
        store.close()
    head = store.head
    print(f"COUNTED failed=0 revision={head.revision} state={head.state_hash}")


def _counting(on: bool) -> None:
    """Switch callgrind's counting; the run keeps executing until valgrind has taken the command."""
    command = subprocess.Popen(["callgrind_control", "-i", "on" if on else "off", str(os.getpid())],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while command.poll() is None:
        sum(range(1000))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edit", default="scale",
                        choices=("scale", "image", "delete_pod", "node_down", "converge", "baseline", "baseline_python",
                                 "store"))
    parser.add_argument("--edits", type=int, default=20, help="edits counted")
    parser.add_argument("--warmup", type=int, default=3, help="edits made before counting")
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--deployments", type=int, default=100)
    parser.add_argument("--replicas", type=int, default=5)
    parser.add_argument("--commits", type=int, default=5000, help="with --edit store")
    parser.add_argument("--batch", type=int, default=100, help="with --edit store")
    parser.add_argument("--no-full-gc", action="store_true",
                        help="leave out the GC's full passes (engine.store._GCSettle): when they come depends on "
                             "how much the run froze before, so one can fall among one version's counted edits "
                             "and not another's")
    args = parser.parse_args()
    if os.environ.get(INSIDE):
        counted_run(args)
        return
    if args.edit.startswith("baseline"):  # (what is counted: one run of the workload, at its size)
        figures: dict = {"edit": args.edit, "deployments": args.deployments, "replicas": args.replicas,
                         "instructions_per_edit": None, "revision": None, "state_hash": None}
    elif args.edit == "store":
        figures = {"edit": args.edit, "commits": args.commits, "batch": args.batch,
                   "instructions_per_edit": None, "revision": None, "state_hash": None}
    else:
        figures = {"edit": args.edit, "edits": args.edits, "nodes": args.nodes,
                   "instructions_per_edit": None, "revision": None, "state_hash": None}
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        print("valgrind is not installed (Debian: apt-get install valgrind): nothing counted")
        print_figures(figures)
        return
    with tempfile.TemporaryDirectory() as tmp:
        # an empty parse cache: a converge's count includes loading the rules, parsed every time
        # as before the cache existed (a warm cache would make the count depend on the last run)
        env = dict(os.environ, **{INSIDE: "1", "PYTHONHASHSEED": "0", "RECON_CACHE_DIR": f"{tmp}/cache"})
        run = subprocess.run(["valgrind", "--tool=callgrind", "--instr-atstart=no",
                              f"--callgrind-out-file={tmp}/callgrind.out", sys.executable, *sys.argv],
                             env=env, capture_output=True, text=True)
    total = re.search(r"Collected : (\d+)", run.stderr)
    counted = re.search(r"COUNTED failed=(\d+) revision=(\d+) state=(\d+)", run.stdout)
    if run.returncode != 0 or total is None or counted is None:
        sys.exit(f"the counted run failed (exit {run.returncode}):\n{run.stderr[-2000:]}")
    edits = {"converge": 1, "baseline": 1, "baseline_python": 1, "store": args.commits}.get(args.edit, args.edits)
    figures.update(instructions_per_edit=int(total.group(1)) // edits, edits_not_converged=int(counted.group(1)),
                   revision=int(counted.group(2)), state_hash=int(counted.group(3)), full_gc=not args.no_full_gc)
    print_figures(figures)


if __name__ == "__main__":
    main()
