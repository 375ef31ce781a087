"""A new engine process (each `recon up --once`) evaluates every rule instance once, having no
dependencies yet to route changes by.  Those evaluations are recorded with the changes since the
start that they read, so the history and `recon explain` follow an edit of the folder made between
two runs as they would in a running engine; those that read nothing changed keep `start`."""

from __future__ import annotations

import json

import pytest

from history_helpers import example_run, recon
from engine import history as H


@pytest.fixture(scope="module")
def pruned(tmp_path_factory):
    """The example cluster, then examples/hello.yaml removed from the folder and applied:
    (folder, the revision that pruned the WebApp)."""
    cwd = tmp_path_factory.mktemp("start")
    example_run(cwd)
    before = H.History.open(cwd / "s").head
    (cwd / "manifests" / "examples" / "hello.yaml").unlink()
    recon("up", "manifests", "--once", "--state", "s", cwd=cwd, check=0)
    return cwd, before + 1


def _revisions(cwd, since: int) -> list[dict]:
    out = recon("history", "--since", str(since), "--json", "--state", "s", cwd=cwd).stdout
    return [json.loads(line) for line in out.splitlines()]


def test_the_first_evaluations_after_an_edit_name_the_edit_they_read(pruned):
    cwd, prune = pruned
    revisions = _revisions(cwd, prune)
    assert revisions[0]["actor"] == "manifests:examples/hello.yaml"
    webapp_gone = [r for r in revisions
                   if any(t.get("key", [None, None])[1] == "WebApp" and t["rev"] == prune
                          for t in r["cause"][1:])]
    deleted = {(op["key"][1], op["key"][3]) for r in webapp_gone for op in r["ops"] if op["op"] == "delete"}
    assert {("Deployment", "hello"), ("Service", "hello")} <= deleted
    assert all(t["type"] == "change" for r in webapp_gone for t in r["cause"][1:])


def test_explain_follows_the_deletion_back_to_the_prune(pruned):
    cwd, prune = pruned
    out = recon("explain", "deploy/hello", "-n", "demo", "--state", "s", cwd=cwd).stdout
    lines = out.splitlines()
    assert "deploy/hello deleted" in lines[1]
    assert lines[2].strip().startswith(f"because (a change of webapp/hello) rev {prune}")
    assert "webapp/hello deleted  [external input]" in lines[2]


def test_an_evaluation_that_read_nothing_changed_keeps_the_start(tmp_path):
    # the same state run again with one rule's text changed: its instances are evaluated anew,
    # and what they read did not change since the start, so `start` is all there is to say
    example_run(tmp_path)
    start = H.History.open(tmp_path / "s").head
    path = tmp_path / "rules" / "examples" / "webapp.rules"
    text = path.read_text()
    assert 'set app.status.url = "http://"' in text
    path.write_text(text.replace('set app.status.url = "http://"', 'set app.status.url = "https://"', 1))
    recon("up", "manifests", "--once", "--state", "s", cwd=tmp_path, check=0)
    [first, *_rest] = _revisions(tmp_path, start + 1)
    assert first["rule"] == "webapp-controller/status"
    assert [t["type"] for t in first["cause"][1:]] == ["start"]
