"""What-if: re-executing history with other rules finds where it diverges."""

from __future__ import annotations

import shutil

import pytest

from engine.cluster import Cluster
from engine.history import History, quiet_point, rule_of, what_if
from engine.wal import open_store

from history_helpers import ADMIN, REPO, recon, surge_rules


def test_the_same_rules_remake_the_same_history_revision_for_revision(recording):
    history = History.open(recording.state)
    result = what_if(history, REPO / "rules")
    assert result.start == 0 and result.divergence is None and result.messages == ()
    assert result.new.head == history.head
    assert result.end_changes() == []
    externals = [r for r in history.records() if rule_of(r) is None]
    assert result.inputs == len(externals)


def test_re_executing_from_a_later_revision_starts_before_the_next_external_input(recording):
    first = recording.store.revision
    recording.edit("web.yaml", "replicas: 3", "replicas: 5")
    recording.sync()
    history = History.open(recording.state)
    result = what_if(history, REPO / "rules", from_rev=first + 3)
    assert result.start == first and result.inputs == 1
    assert result.divergence is None and result.new.head == history.head


def test_a_modified_replicaset_rule_diverges_where_the_replicaset_first_created_pods(recording, tmp_path):
    rules = surge_rules(REPO / "rules", tmp_path / "surge-rules")
    history = History.open(recording.state)
    result = what_if(history, rules)
    first_create = next(r.revision for r in history.records() if rule_of(r) == "replicaset-controller/replicas")
    assert result.divergence == first_create
    recorded, new = history.record(first_create), result.new.record(first_create)
    assert rule_of(new) == "replicaset-controller/replicas"
    pod_ops = lambda record: [op for op in record.ops if op.key[1] == "Pod"]  # noqa: E731 (each has its Event too)
    assert len(pod_ops(new)) == len(pod_ops(recorded)) + 1
    pods = lambda snap: [k for k in snap.objects if k[1] == "Pod"]  # noqa: E731
    assert len(pods(result.new.snapshot(result.new.head))) == len(pods(recording.store.head)) + 2
    assert any(c.old is None and c.key[1] == "Pod" for c in result.end_changes())


def test_a_folder_applied_seconds_after_the_bootstrap_is_remade_at_its_recorded_time(tmp_path):
    shutil.copytree(REPO / "manifests", tmp_path / "manifests")
    store = open_store(tmp_path / "state")
    cluster = Cluster(store, REPO / "rules", simulated=True)
    cluster.clock.advance(6)  # as in a live run: the folder is read and applied after the bootstrap
    result, run = cluster.sync(tmp_path / "manifests", cluster.clock.now() + 600)
    assert not result.errors and run.converged
    store.close()
    history = History.open(tmp_path / "state")
    assert history.record(2).time == history.record(1).time + 6
    result = what_if(history, REPO / "rules")
    assert result.divergence is None and result.end_changes() == []
    assert result.new.record(history.head).time == history.record(history.head).time


@pytest.fixture
def three_runs(recording):
    """The example cluster, then web scaled to 5, then node-1's kubelet down for ten minutes."""
    recording.edit("web.yaml", "replicas: 3", "replicas: 5")
    recording.sync()
    recording.edit("nodes.yaml", "  name: node-1\n", "  name: node-1\n  annotations:\n    sim.recon.dev/kubelet: down\n")
    recording.sync()
    return History.open(recording.state)


def test_the_same_rules_remake_the_same_history_from_any_revision(three_runs):
    history = three_runs
    starts = {quiet_point(history, rev) for rev in range(history.head + 1)}
    assert not any(rule_of(history.record(start)) is None for start in starts - {0})  # never among inputs
    assert quiet_point(history, 3) == 0  # inside the first run of inputs: before all of them
    for start in sorted(starts):
        result = what_if(history, REPO / "rules", from_rev=start)
        assert (result.start, result.divergence) == (start, None)


def test_an_input_the_recorded_rules_did_not_wait_for_is_flagged_under_the_divergence(recording):
    first = recording.store.revision
    recording.edit("web.yaml", "replicas: 3", "replicas: 5")
    patched = []

    def patch_between_rounds():  # an API request while the rules still scale web up
        if not patched and recording.store.revision > first + 3:
            recording.api.patch(ADMIN, "apps", "Deployment", "demo", "web", {"spec": {"replicas": 4}})
            patched.append(recording.store.revision)

    recording.cluster.engine.between_rounds = patch_between_rounds
    recording.sync()
    history = History.open(recording.state)
    result = what_if(history, REPO / "rules", from_rev=first)
    assert result.unsettled == (patched[0],) and result.divergence == patched[0]
    out = recon("replay", "--rules", str(REPO / "rules"), "--from", str(first), "--state", str(recording.state),
                cwd=recording.state.parent, check=1).stdout
    assert f"first divergence at revision {patched[0]}:" in out
    assert (f"note: the recorded input at revision {patched[0]} came while the recorded rules still had work "
            "to do") in out
