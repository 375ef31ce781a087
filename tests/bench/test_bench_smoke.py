"""Every scale-suite bench runs at a tiny size and ends with one JSON line holding its named figures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TINY = ["--nodes", "3", "--deployments", "2", "--replicas", "2"]

BENCHES = [
    ("converge.py", TINY, {"converge_s", "revisions", "writes_per_s", "peak_rss_mb",
                           "evaluate_s", "submit_s", "schedule_s", "route_s", "other_s"}),
    ("edit.py", TINY + ["--edits", "2", "--node-edits", "1", "--full-edits", "1"],
     {"scale_edit_ms_median", "scale_edit_ms_p99", "full_recompute_ms", "full_recompute_ratio"}),
    ("baseline.py", ["--deployments", "2", "--replicas", "2"], {"rules_s", "python_s", "rules_vs_python_ratio"}),
    ("store_vs_etcd.py", ["--commits", "20", "--batch", "10", "--fsync-commits", "5", "--etcd-puts", "10",
                          "--clients", "2"],
     {"recon_durable_commits_per_s", "etcd_puts_per_s", "durable_commits_ratio_vs_etcd"}),
    ("idle.py", TINY + ["--seconds", "1"], {"idle_revisions", "idle_cpu_s", "idle_cpu_percent_of_core"}),
    # (null figures where valgrind is not installed: the bench says so)
    ("count.py", TINY + ["--edits", "1", "--warmup", "1"], {"instructions_per_edit", "revision", "state_hash"}),
]


def last_json(script: str, args: list[str]) -> dict:
    done = subprocess.run([sys.executable, str(ROOT / "bench" / script), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(("script", "args", "keys"), BENCHES, ids=[b[0] for b in BENCHES])
def test_each_bench_ends_with_a_json_line_holding_its_named_figures(script, args, keys):
    figures = last_json(script, args)
    assert keys <= set(figures)


def test_the_converge_bench_reaches_a_converged_cluster_at_a_tiny_size():
    figures = last_json("converge.py", TINY)
    assert figures["all_converged"] is True
    assert figures["pods_running"] == 4
    parts = [figures[name] for name in ("evaluate_s", "submit_s", "schedule_s", "route_s")]
    assert all(p >= 0 for p in parts) and figures["evaluate_s"] > 0  # (each rounded to 10 ms)
    # (other_s is what the parts leave: below zero, a part was counted twice)
    assert figures["other_s"] >= -0.02 and sum(parts) <= figures["converge_s"] + 0.02


def test_the_python_baseline_and_the_rules_both_finish_the_work():
    figures = last_json("baseline.py", ["--deployments", "2", "--replicas", "2"])
    assert figures["rules_ok"] is True and figures["python_ok"] is True


def test_the_count_bench_counts_the_baseline_controllers():
    figures = last_json("count.py", ["--edit", "baseline", "--deployments", "2", "--replicas", "2", "--no-full-gc"])
    assert {"instructions_per_edit", "revision", "state_hash"} <= set(figures)
    if figures["instructions_per_edit"] is not None:  # (valgrind installed)
        assert figures["edits_not_converged"] == 0 and figures["instructions_per_edit"] > 0
        assert figures["full_gc"] is False


def test_the_count_bench_counts_the_store_commits():
    figures = last_json("count.py", ["--edit", "store", "--commits", "40", "--batch", "10"])
    assert {"instructions_per_edit", "revision", "state_hash", "commits"} <= set(figures)
    if figures["instructions_per_edit"] is not None:  # (valgrind installed)
        assert figures["instructions_per_edit"] > 0
        assert figures["revision"] == 39  # 20 creates, 20 updates (the first sets restartCount 0 again: no revision)


def test_the_python_baseline_records_the_replicaset_events_the_rules_record():
    path = list(sys.path)
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import baseline
    finally:
        sys.path[:] = path

    def created(converge) -> list[str]:  # noqa: ANN001
        commits = []

        def run(store, api, clock):  # noqa: ANN001, ANN202
            store.listeners.append(lambda snap, events, record: commits.append({e.key[1] for e in events}))
            return converge(store, api, clock)
        store = baseline.workload(2, 3, run, baseline.checker(2, 3))["store"]
        events = store.head.list("", "Event", baseline.NAMESPACE)
        assert {e["reason"] for e in events} == {"SuccessfulCreate"}
        pods = {p["metadata"]["name"] for p in store.head.list("", "Pod", baseline.NAMESPACE)}
        assert {e["message"].removeprefix("Created pod: ") for e in events} == pods
        assert [kinds for kinds in commits if "Event" in kinds] == [{"Pod", "Event"}] * 2  # one transaction each
        return sorted(e["involvedObject"]["name"] for e in events)

    rules = baseline.rule_set()
    by_rules = created(lambda store, api, clock: baseline.Engine(api, rules, clock).run)
    by_python = created(lambda store, api, clock: baseline.PythonControllers(api).run)
    assert by_python == by_rules == ["app-0000"] * 3 + ["app-0001"] * 3
