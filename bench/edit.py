"""Edit benchmark: single edits to a converged cluster, time until quiescent again.

Converges the bench/converge.py cluster, then applies edits one at a time
through the API server (as an admin), each followed by `engine.run()` until
converged: scale one Deployment R -> R+1, change one Deployment's image,
delete one Pod, take one Node down (its simulated kubelet stops; the simulated
clock runs through the node-lifecycle grace periods and evictions).  Then the
scale edit again with `engine.full_recompute = True` (every rule instance
re-evaluated each round).  Prints a table and, as its last line, one JSON
object:

    scale_edit_ms_median, scale_edit_ms_p99, full_recompute_ms_median,
    full_recompute_ratio (+ the median/p99 of every edit kind)

Issue 10's scenario is --nodes 1000 --deployments 1000 --replicas 10.
Usage: python bench/edit.py [--nodes 100] [--deployments 100] [--replicas 5] [--edits 20] [--full-edits 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cluster_gen import NAMESPACE, write_folder  # noqa: E402
from converge import UNTIL, converge  # noqa: E402
from figures import print_figures  # noqa: E402
from engine.apiserver import Actor  # noqa: E402

ADMIN = Actor("admin", "user", None)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


class Editor:
    """Applies the edits to a converged cluster, each to a different object."""

    def __init__(self, cluster, deployments: int, replicas: int, nodes: int):  # noqa: ANN001
        self.cluster, self.api = cluster, cluster.api
        self.deployments, self.replicas, self.nodes = deployments, replicas, nodes
        self.n = 0

    def _next(self, size: int) -> int:
        self.n += 1
        return (self.n * 7919) % size  # spread over the objects, deterministically

    def scale(self) -> None:
        name = f"app-{self._next(self.deployments):04d}"
        current = self.api.head.get(("apps", "Deployment", NAMESPACE, name))["spec"]["replicas"]
        self.api.patch(ADMIN, "apps", "Deployment", NAMESPACE, name, {"spec": {"replicas": current + 1}})

    def image(self) -> None:
        name = f"app-{self._next(self.deployments):04d}"
        self.api.patch(ADMIN, "apps", "Deployment", NAMESPACE, name, {"spec": {"template": {"spec": {
            "containers": [{"name": "web", "image": f"nginx:1.27.{self.n}"}]}}}}, "strategic")

    def delete_pod(self) -> None:
        pods = sorted(p["metadata"]["name"] for p in self.api.head.list("", "Pod", NAMESPACE)
                      if not p["metadata"].get("deletionTimestamp"))
        self.api.delete(ADMIN, "", "Pod", NAMESPACE, pods[self._next(len(pods))])

    def node_down(self) -> None:
        name = f"node-{self._next(self.nodes):04d}"
        self.api.patch(ADMIN, "", "Node", None, name,
                       {"metadata": {"annotations": {"sim.recon.dev/kubelet": "down"}}})

    def timed(self, edit) -> tuple[float, bool]:  # noqa: ANN001
        """Apply one edit and run to quiescence: (milliseconds, converged)."""
        engine = self.cluster.engine
        start = time.perf_counter()
        edit()
        run = engine.run(until=self.cluster.clock.now() + UNTIL)
        return (time.perf_counter() - start) * 1000, run.converged


def measure(editor: Editor, edit, count: int) -> tuple[list[float], int]:  # noqa: ANN001
    times, failed = [], 0
    for _ in range(count):
        ms, ok = editor.timed(edit)
        times.append(ms)
        failed += not ok
    return times, failed


def summary(prefix: str, times: list[float]) -> dict:
    if not times:
        return {f"{prefix}_ms_median": None, f"{prefix}_ms_p99": None}
    return {f"{prefix}_ms_median": round(statistics.median(times), 2),
            f"{prefix}_ms_p99": round(percentile(times, 0.99), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--deployments", type=int, default=100)
    parser.add_argument("--replicas", type=int, default=5)
    parser.add_argument("--edits", type=int, default=20, help="edits of each kind (scale, image, delete pod)")
    parser.add_argument("--node-edits", type=int, default=3, help="nodes taken down")
    parser.add_argument("--full-edits", type=int, default=3, help="scale edits with full recompute")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_folder(Path(tmp) / "manifests", args.nodes, args.deployments, args.replicas)
        cluster, converged = converge(folder, args.deployments, args.replicas)
    editor = Editor(cluster, args.deployments, args.replicas, args.nodes)
    figures: dict = {"nodes": args.nodes, "deployments": args.deployments, "replicas": args.replicas,
                     "converge_s": converged["converge_s"], "converged_first": converged["all_converged"]}
    failed = 0
    scale, f = measure(editor, editor.scale, args.edits)
    failed += f
    figures.update(summary("scale_edit", scale))
    for name, edit, count in (("image_edit", editor.image, args.edits),
                              ("delete_pod", editor.delete_pod, args.edits),
                              ("node_down", editor.node_down, args.node_edits)):
        times, f = measure(editor, edit, count)
        failed += f
        figures.update(summary(name, times))
    cluster.engine.full_recompute = True
    full, f = measure(editor, editor.scale, args.full_edits)
    cluster.engine.full_recompute = False
    failed += f
    figures.update(summary("full_recompute", full))
    figures["full_recompute_ms"] = figures["full_recompute_ms_median"]
    median = figures["scale_edit_ms_median"]
    figures["full_recompute_ratio"] = (round(figures["full_recompute_ms_median"] / median, 1)
                                       if full and median else None)
    figures["edits_not_converged"] = failed
    print_figures(figures)


if __name__ == "__main__":
    main()
