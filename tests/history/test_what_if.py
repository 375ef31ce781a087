"""What-if: re-executing history with other rules finds where it diverges."""

from __future__ import annotations

import shutil

from engine.history import History, rule_of, what_if

from history_helpers import REPO


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
    rules = tmp_path / "surge-rules"
    shutil.copytree(REPO / "rules", rules)
    path = rules / "replicaset.rules"
    text = path.read_text()
    assert "let diff = default(rs.spec.replicas, 1) - count(pods)" in text
    path.write_text(text.replace("let diff = default(rs.spec.replicas, 1) - count(pods)",
                                 "let diff = default(rs.spec.replicas, 1) + 1 - count(pods)"))
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
