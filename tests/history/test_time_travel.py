"""Time travel and diffs read back exactly the states that were live."""

from __future__ import annotations

from engine.history import History, changed_fields, diff, lines, yaml_diff
from engine.wal import load_snapshot


def test_every_revision_reads_back_as_the_state_that_was_live(recording):
    recording.edit("web.yaml", "replicas: 3", "replicas: 5")
    recording.sync()
    history = History.open(recording.state)
    assert history.head == recording.store.revision > 80
    assert len(list((recording.state / "checkpoints").iterdir())) > 3
    for rev, live in recording.live.items():
        snap = history.snapshot(rev)
        assert dict(snap.objects) == dict(live.objects), rev
        assert snap.state_hash == live.state_hash
    assert dict(load_snapshot(recording.state, 37).objects) == dict(recording.live[37].objects)


def test_diff_lists_exactly_the_objects_that_differ_between_two_revisions(recording):
    history = History.open(recording.state)
    old, new = recording.live[20], recording.live[60]
    expected = {k for k in set(old.objects) | set(new.objects)
                if (old.get(k) is None) != (new.get(k) is None) or changed_fields(old.get(k), new.get(k))}
    changes = diff(history, 20, 60)
    assert {c.key for c in changes} == expected
    backwards = {c.key: (c.old, c.new) for c in diff(history, 60, 20)}
    assert all(backwards[c.key] == (c.new, c.old) for c in changes)


def test_diff_of_one_object_is_a_yaml_diff_of_its_two_versions(recording):
    history = History.open(recording.state)
    pod = next(k for k in recording.store.head.objects if k[1] == "Pod" and k[3].startswith("web-"))
    bound = history.last_write(pod, ("spec", "nodeName"))
    [change] = diff(history, bound - 1, bound, pod)
    text = change.yaml_diff(f"@{bound - 1}", f"@{bound}")
    node = recording.store.head.get(pod)["spec"]["nodeName"]
    assert f"+  nodeName: {node}\n" in text
    assert "resourceVersion" not in text


def test_history_lines_name_the_actor_the_trigger_and_the_ops(recording):
    history = History.open(recording.state)
    by_rev = {line.record.revision: line.format() for line in lines(history)}
    manifest = next(r for r, text in by_rev.items() if "manifests:web.yaml" in text)
    assert "+deploy/web +svc/web" in by_rev[manifest]
    rollout = by_rev[manifest + 1]
    assert "deployment-controller/rollout" in rollout and f"deploy/web@{manifest}" in rollout
    assert "~deploy/web" in rollout and "+rs/web-" in rollout
    only_rs = list(lines(history, actor="replicaset-controller"))
    assert only_rs and all(line.record.actor == "replicaset-controller" for line in only_rs)
    deploy = ("apps", "Deployment", "demo", "web")
    assert [line.record.revision for line in lines(history, key=deploy)] == history.revisions_of(deploy)


def test_a_multi_line_string_diffs_line_by_line_as_a_block():
    old = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "files"},
           "data": {"app.conf": "a = 1\nb = 2\nc = 3\n"}}
    new = {**old, "data": {"app.conf": "a = 1\nb = 20\nc = 3\n"}}
    text = yaml_diff(("", "ConfigMap", "demo", "files"), old, new, "@1", "@2")
    assert "  app.conf: |\n" in text
    assert [line for line in text.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")] == [
        "-    b = 2", "+    b = 20"]
