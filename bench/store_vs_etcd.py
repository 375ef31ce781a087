"""Store vs etcd: durable commits/s of recon's store and of a local etcd, same Pod objects, one run.

recon: `engine.wal.open_store` with the default fsync ("batch": one fsync per
`Store.batch()`, group commit), commits of one Pod each in batches of
--batch; also with a batch of 1 (an fsync per commit).  etcd: Debian's
`etcd-server`, started by this bench on 127.0.0.1 with a temporary data dir
(stopped at the end), the same Pods (JSON) put one at a time through its v3
HTTP/JSON gateway (POST /v3/kv/put, base64 key and value) by one client over
a keep-alive connection, and by each number of concurrent clients in
--clients (etcd batches concurrent proposals into one fsync, so it goes faster
the more clients there are, up to what the machine's cores give it and its
clients; its history is compacted before each count).  The ratio compares
recon's default group commit against etcd's best rate among those.  The
clients are Python threads sharing the machine with etcd, so etcd's rate here
is what a Python client gets from it.  If etcd is not installed the bench says
so and reports the etcd figures as null.
Prints a table and, as its last line, one JSON object:

    recon_durable_commits_per_s, recon_fsync_each_commits_per_s,
    etcd_puts_per_s, etcd_puts_per_s_concurrent (the best), etcd_puts_per_s_by_clients,
    durable_commits_ratio_vs_etcd

Usage: python bench/store_vs_etcd.py [--commits 5000] [--batch 100] [--etcd-puts 4000]
                                     [--clients 8,32,64,128]
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from store import make_pod, run, workload  # noqa: E402
from engine.objects import dumps, thaw  # noqa: E402
from engine.store import tune_gc  # noqa: E402
from engine.wal import open_store  # noqa: E402
from figures import print_figures  # noqa: E402

TIME_LIMIT = 60.0  # seconds any one loop may run


def recon_rate(folder: Path, commits: int, batch: int) -> float:
    shutil.rmtree(folder, ignore_errors=True)
    store = open_store(folder)
    tune_gc()  # as `recon up` does once its store is open
    try:
        return run(store, workload(commits, commits // 2), batch)
    finally:
        store.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Etcd:
    """A single-member etcd on 127.0.0.1 with its data in a temporary folder."""

    def __init__(self, binary: str, data: Path):
        self.client_port, self.peer_port = free_port(), free_port()
        url = f"http://127.0.0.1:{self.client_port}"
        peer = f"http://127.0.0.1:{self.peer_port}"
        self.log = open(data.parent / "etcd.log", "wb")
        self.proc = subprocess.Popen(
            [binary, "--name", "bench", "--data-dir", str(data), "--listen-client-urls", url,
             "--advertise-client-urls", url, "--listen-peer-urls", peer,
             "--initial-advertise-peer-urls", peer, "--initial-cluster", f"bench={peer}"],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:
            try:
                self.put("bench/ping", b"{}")
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("etcd did not start; see its log")
                time.sleep(0.2)

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.client_port, timeout=10)

    def put(self, key: str, value: bytes, conn: http.client.HTTPConnection | None = None) -> bytes:
        """Put one key; the response's JSON."""
        return self._post("/v3/kv/put", {"key": base64.b64encode(key.encode()).decode(),
                                         "value": base64.b64encode(value).decode()}, conn)

    def compact(self) -> None:
        """Compact the key space's history up to now (each rate then starts from the same backend)."""
        revision = json.loads(self.put("bench/ping", b"{}"))["header"]["revision"]
        self._post("/v3/kv/compaction", {"revision": revision, "physical": True})

    def _post(self, path: str, request: dict, conn: http.client.HTTPConnection | None = None) -> bytes:
        own = conn is None
        conn = conn or self.connection()
        conn.request("POST", path, json.dumps(request), {"Content-Type": "application/json"})
        response = conn.getresponse()
        payload = response.read()
        if response.status != 200:
            raise RuntimeError(f"etcd {path} failed: {response.status} {payload[:200]!r}")
        if own:
            conn.close()
        return payload

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def pod_values(count: int) -> list[tuple[str, bytes]]:
    """The same Pods recon commits: creates, then updates of the same keys."""
    pods = [make_pod(i) for i in range(max(1, count // 2))]
    out = []
    for n in range(count):
        pod = thaw(pods[n % len(pods)])
        if n >= len(pods):
            pod["status"] = {"containerStatuses": [{"restartCount": n}]}
        meta = pod["metadata"]
        out.append((f"/registry/pods/{meta['namespace']}/{meta['name']}", dumps(pod)))
    return out


def etcd_rate(etcd: Etcd, items: list[tuple[str, bytes]], clients: int) -> float:
    """Puts per second with `clients` concurrent clients (each its own connection), bounded in time."""
    done = [0] * clients
    start = time.perf_counter()

    def client(c: int) -> None:
        conn = etcd.connection()
        for key, value in items[c::clients]:
            if time.perf_counter() - start > TIME_LIMIT:
                break
            etcd.put(key, value, conn)
            done[c] += 1
        conn.close()
    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(done) / (time.perf_counter() - start)


def _counts(text: str) -> list[int]:
    try:
        counts = [int(part) for part in text.split(",")]
    except ValueError:
        counts = []
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(f"expected numbers of clients like 8,32,64, not {text!r}")
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--fsync-commits", type=int, default=1000)
    parser.add_argument("--etcd-puts", type=int, default=4000)
    parser.add_argument("--clients", type=_counts, default=[8, 32, 64, 128],
                        help="the numbers of concurrent etcd clients to try, comma-separated")
    parser.add_argument("--etcd", default=shutil.which("etcd"), help="the etcd binary")
    args = parser.parse_args()
    figures: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        figures["recon_durable_commits_per_s"] = round(recon_rate(root / "recon", args.commits, args.batch))
        figures["recon_fsync_each_commits_per_s"] = round(recon_rate(root / "recon1", args.fsync_commits, 1))
        figures["etcd_puts_per_s"] = figures["etcd_puts_per_s_concurrent"] = None
        figures["etcd_puts_per_s_by_clients"] = None
        figures["durable_commits_ratio_vs_etcd"] = figures["fsync_each_ratio_vs_etcd"] = None
        if not args.etcd:
            print("etcd is not installed (apt-get install etcd-server): skipping the etcd figures",
                  file=sys.stderr)
        else:
            etcd = Etcd(args.etcd, root / "etcd-data")
            try:
                items = pod_values(args.etcd_puts)
                figures["etcd_puts_per_s"] = round(etcd_rate(etcd, items, 1))
                by_clients = {}
                for n in args.clients:
                    etcd.compact()
                    by_clients[str(n)] = round(etcd_rate(etcd, items, n))
                figures["etcd_puts_per_s_by_clients"] = by_clients
                figures["etcd_puts_per_s_concurrent"] = max(by_clients.values())
            finally:
                etcd.stop()
            best = max(figures["etcd_puts_per_s"], figures["etcd_puts_per_s_concurrent"])
            figures["durable_commits_ratio_vs_etcd"] = round(figures["recon_durable_commits_per_s"] / best, 2)
            figures["fsync_each_ratio_vs_etcd"] = round(figures["recon_fsync_each_commits_per_s"]
                                                        / figures["etcd_puts_per_s"], 2)
    figures.update({"commits": args.commits, "batch": args.batch, "etcd_puts": args.etcd_puts,
                    "clients": ",".join(map(str, args.clients))})
    print_figures(figures)


if __name__ == "__main__":
    main()
