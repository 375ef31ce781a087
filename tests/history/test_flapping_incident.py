"""docs/debugging.md, "a bad rule change makes pods flap": the documented incident, replayed.

The example cluster converges; then a rule that sets the hello Deployment's
replicas (which its WebApp's controller owns) is added with a label edit of
the WebApp.  The tests assert the facts the page shows, not timestamps.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from history_helpers import example_run, recon

INCIDENT = Path(__file__).parent / "incident"
CONVERGED = 81  # the example cluster's last revision, as the page shows it


@pytest.fixture(scope="module")
def incident(tmp_path_factory) -> Path:
    cwd = example_run(tmp_path_factory.mktemp("flapping"))
    assert recon("history", "--state", "s", cwd=cwd).stdout.splitlines()[-1].split()[0] == str(CONVERGED)
    shutil.copy(INCIDENT / "autoscaler-bad.rules", cwd / "rules" / "autoscaler.rules")
    shutil.copytree(cwd / "rules", cwd / "rules-fixed")
    shutil.copy(INCIDENT / "autoscaler-fixed.rules", cwd / "rules-fixed" / "autoscaler.rules")
    hello = cwd / "manifests" / "examples" / "hello.yaml"
    hello.write_text(hello.read_text().replace("  namespace: demo\n", "  namespace: demo\n  labels:\n"
                                               "    team: storefront\n", 1))
    run = recon("up", "manifests", "--once", "--state", "s", cwd=cwd, check=1)
    assert "did not converge after 200 rounds; still writing: autoscaler/minimum" in run.stderr
    assert "webapp-controller/deployment" in run.stderr
    # the two rules that fight are named with the field and what each sets it to; the others
    # stopped with them are said to be held back, not to have failed
    assert ("autoscaler/minimum and webapp-controller/deployment keep setting apps/Deployment demo/hello "
            "spec.replicas (autoscaler/minimum to 3, webapp-controller/deployment to 2)") in run.stderr
    held = [line for line in run.stderr.splitlines() if "held back" in line]
    assert held and all(" failed on " not in line for line in held)
    assert any("rule replicaset-controller/replicas on apps/ReplicaSet demo/hello-" in line for line in held)
    # each with its column, the rule's line and a caret, as every rule diagnostic
    lines = run.stderr.splitlines()
    i = next(i for i, line in enumerate(lines) if "rule replicaset-controller/replicas on" in line)
    assert lines[i].startswith("warning: rules/replicaset.rules:48:1: rule replicaset-controller/replicas on ")
    assert lines[i + 1:i + 3] == ["    rule replicas for rs in apps/ReplicaSet where not deleting(rs):", "    ^"]
    return cwd


def history(cwd: Path, *args: str) -> list[list[str]]:
    return [line.split() for line in recon("history", "--state", "s", *args, cwd=cwd).stdout.splitlines()]


def test_a_hello_pod_is_created_and_deleted_again_and_again(incident):
    lines = history(incident, "--since", str(CONVERGED + 1), "--actor", "replicaset-controller/replicas")
    ops = [op for line in lines for op in line if op.startswith(("+pod/hello-", "~pod/hello-"))]
    created = [op for op in ops if op.startswith("+")]
    assert len(created) > 50
    assert ops[:2] == [created[0], "~" + created[0][1:]]  # the first one: created, then deleted
    pod = created[0].removeprefix("+")
    own = history(incident, pod, "-n", "demo")
    # scheduled and admitted, deleted by the ReplicaSet (gracefully: its metadata), removed by the kubelet
    assert [(line[2], op) for line in own for op in line if op.endswith(pod)] == [
        ("replicaset-controller/replicas", created[0]), ("default-scheduler", "~" + pod),
        ("kubelet/pod_admission", "~" + pod), ("replicaset-controller/replicas", "~" + pod),
        ("kubelet/pod_termination", "-" + pod)]
    deleting = next(line for line in own if line[2] == "replicaset-controller/replicas" and "~" + pod in line)
    assert deleting[deleting.index("~" + pod) + 1] == "metadata"


def test_explain_leads_from_the_pod_to_the_new_rule(incident):
    lines = history(incident, "--since", str(CONVERGED + 1), "--actor", "replicaset-controller/replicas")
    rev, pod = lines[0][0], next(word for word in lines[0] if word.startswith("+pod/")).removeprefix("+")
    text = recon("explain", pod, "-n", "demo", "--at", rev, "--state", "s", cwd=incident).stdout
    assert "replicaset-controller/replicas:" in text.splitlines()[1]
    assert "because (a change of rs/hello-" in text.splitlines()[2]
    assert re.search(r"because \(a change of deploy/hello\) rev \d+ \S+  autoscaler/minimum: deploy/hello "
                     r".*spec\.replicas: 2 → 3", text), text


def test_the_new_rule_and_the_webapp_controller_take_turns_on_spec_replicas(incident):
    since = str(CONVERGED + 1)
    writers = [line[2] for line in history(incident, "deploy/hello", "-n", "demo", "--since", since)
               if line[-1] == "metadata,spec" and line[-2] == "~deploy/hello"]
    assert writers[0] == "autoscaler/minimum"
    assert set(writers) == {"autoscaler/minimum", "webapp-controller/deployment"}
    turns = sum(1 for a, b in zip(writers, writers[1:]) if a != b)
    assert turns > 50
    back = next(line[0] for line in history(incident, "deploy/hello", "-n", "demo", "--since", since)
                if line[2] == "webapp-controller/deployment")
    text = recon("explain", "deploy/hello", "spec.replicas", "-n", "demo", "--at", back, "--state", "s",
                 cwd=incident).stdout
    assert text.splitlines()[0] == "deploy/hello spec.replicas = 2"
    assert "webapp-controller/deployment: deploy/hello spec.replicas: 3 → 2" in text.splitlines()[1]
    assert "autoscaler/minimum: deploy/hello" in text.splitlines()[2]


def test_what_if_the_deployed_rules_reproduce_the_fight(incident):
    out = recon("replay", "--rules", "rules", "--from", str(CONVERGED + 1), "--state", "s", cwd=incident, check=1)
    assert f"re-executed from revision {CONVERGED} with the rules in rules: 1 external input(s)" in out.stdout
    assert "warning: at revision" in out.stderr
    assert "did not converge after 200 rounds; still writing: autoscaler/minimum" in out.stderr


def test_what_if_the_fixed_rule_settles_without_flapping(incident):
    out = recon("replay", "--rules", "rules-fixed", "--from", str(CONVERGED + 1), "--state", "s",
                cwd=incident, check=1)  # (the histories differ: 1, as diff's)
    assert "did not converge" not in out.stderr
    head = int(re.search(r"recorded history ends at revision (\d+); the new one at (\d+)", out.stdout)[2])
    assert head - CONVERGED < 40
    assert f"first divergence at revision {CONVERGED + 1}:" in out.stdout
    assert re.search(rf"new: +autoscaler/minimum +\(start@{CONVERGED}\) +~webapp/hello metadata,spec",
                     out.stdout)
    assert "-  generation: 201\n+  generation: 2\n" in out.stdout
