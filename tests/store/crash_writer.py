"""Commits in a loop, printing `ack R` once revision R is acknowledged; the crash test SIGKILLs it.

    python crash_writer.py STATE_DIR SEED FSYNC

The txn of each revision depends only on the revision and the state before
it (`txn_for`), so the test can compute what any revision must hold.
"""

from __future__ import annotations

import random
import sys

from engine.objects import freeze
from engine.store import Snapshot, Txn, delete, put


def config_map(name: str, revision: int) -> object:
    return freeze({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "crash"},
                   "data": {"rev": str(revision), "pad": "x" * (revision * 37 % 900)}})


def txn_for(revision: int, head: Snapshot) -> Txn:
    name = f"cm-{revision % 37}"
    key = ("", "ConfigMap", "crash", name)
    if revision % 11 == 0 and key in head:
        ops = (delete(key),)
    elif revision % 7 == 0:
        ops = (put(config_map(name, revision)), put(config_map(f"pair-{revision % 5}", revision)))
    else:
        ops = (put(config_map(name, revision)),)
    return Txn(ops, actor="crash-writer", cause=("revision", revision))


def main(state_dir: str, seed: int, fsync: str) -> None:
    from engine.wal import open_store

    store = open_store(state_dir, fsync=fsync, checkpoint_every=40, checkpoint_ratio=0)
    rng = random.Random(seed)
    out = sys.stdout
    out.write(f"open {store.revision}\n")
    out.flush()
    while True:
        size = rng.choice([1, 1, 3, 20, 100])
        if size == 1:
            store.commit(txn_for(store.revision + 1, store.head))
            out.write(f"ack {store.revision}\n")
        else:
            first = store.revision + 1
            with store.batch():
                for _ in range(size):
                    store.commit(txn_for(store.revision + 1, store.head))
            out.write("".join(f"ack {r}\n" for r in range(first, store.revision + 1)))
        out.flush()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3])
