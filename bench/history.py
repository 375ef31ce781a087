"""History benchmark: open a long history, jump to any revision, explain a field.

Generates a history of `--revisions` commits (default 1,000,000) in a
temporary state folder: `--objects` ConfigMaps created by a "manifest"
actor, then updated round-robin by a rule-like actor whose cause names the
previous write of another object (so explain has a chain to walk).  Then:

    open_s      open the folder read-only (newest checkpoint + replay after it)
    jump_ms     the state at a revision picked by a seeded generator (mean of --jumps)
    history_s   read the whole log into a `History` (explain's index of every key)
    explain_ms  explain one field of one object, once the history is read

Prints one JSON object on its last line.  Goals (issue 8): open and jump < 1 s,
explain < 100 ms.

Usage: python bench/history.py [--revisions 1000000] [--objects 1000] [--jumps 20]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.history import History, explain  # noqa: E402
from engine.objects import freeze  # noqa: E402
from engine.store import Txn, put  # noqa: E402
from engine.wal import load_snapshot, open_store  # noqa: E402


def generate(state: Path, revisions: int, objects: int) -> None:
    store = open_store(state, fsync="none", checkpoint_every=10_000, checkpoint_ratio=0.25)
    now = 1767225600.0
    with store.batch():
        for i in range(objects):
            obj = freeze({"apiVersion": "v1", "kind": "ConfigMap",
                          "metadata": {"name": f"cm-{i}", "namespace": "bench"}, "data": {"n": "0"}})
            store.commit(Txn((put(obj),), actor="manifests:bench.yaml", cause=({"manifest": "bench.yaml"},)), now)
    rev = store.revision
    while rev < revisions:
        with store.batch():
            for _ in range(min(1000, revisions - rev)):
                i = rev % objects
                prev = (i - 1) % objects
                obj = store.head.get(("", "ConfigMap", "bench", f"cm-{i}"))
                cause = ({"rule": "bench/copy", "anchor": ["", "ConfigMap", "bench", f"cm-{i}"]},
                         {"type": "change", "rev": rev, "key": ["", "ConfigMap", "bench", f"cm-{prev}"]})
                store.commit(Txn((put(obj.set("data", obj["data"].set("n", str(rev)))),),
                                 actor="bench", cause=cause), now + rev)
                rev += 1
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--revisions", type=int, default=1_000_000)
    parser.add_argument("--objects", type=int, default=1000)
    parser.add_argument("--jumps", type=int, default=20)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="recon-history-bench-"))
    try:
        t = time.perf_counter()
        generate(folder / "state", args.revisions, args.objects)
        generate_s = time.perf_counter() - t
        t = time.perf_counter()
        store = open_store(folder / "state", readonly=True)
        open_s = time.perf_counter() - t
        head = store.revision
        store.close()
        rng = random.Random(8)
        t = time.perf_counter()
        for _ in range(args.jumps):
            load_snapshot(folder / "state", rng.randint(1, head))
        jump_ms = (time.perf_counter() - t) / args.jumps * 1000
        t = time.perf_counter()
        history = History.open(folder / "state")
        history_s = time.perf_counter() - t
        t = time.perf_counter()
        steps = explain(history, ("", "ConfigMap", "bench", "cm-7"), ("data", "n"))
        explain_ms = (time.perf_counter() - t) * 1000
        result = {"revisions": head, "generate_s": round(generate_s, 2), "open_s": round(open_s, 3),
                  "jump_ms": round(jump_ms, 1), "history_s": round(history_s, 2),
                  "explain_ms": round(explain_ms, 1), "explain_steps": len(steps)}
        print(f"{head} revisions: open {open_s:.3f} s, jump {jump_ms:.1f} ms, read history {history_s:.2f} s, "
              f"explain {explain_ms:.1f} ms ({len(steps)} steps)")
        print(json.dumps(result))
    finally:
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
