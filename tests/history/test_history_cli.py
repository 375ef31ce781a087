"""The history commands, run as the real `recon` command on a recorded state folder."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from history_helpers import ENTRY_POINT, example_run, recon, surge_rules


@pytest.fixture(scope="module")
def state(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("cli")
    example_run(cwd)
    return cwd


def test_history_prints_a_line_per_revision_and_json_lines(state):
    out = recon("history", "deploy/web", "-n", "demo", "--state", "s", cwd=state).stdout.splitlines()
    assert "manifests:web.yaml" in out[0] and "+deploy/web +svc/web" in out[0]
    assert all("deploy/web" in line for line in out)
    docs = [json.loads(line) for line in recon("history", "--json", "--until", "6", "--state", "s",
                                               cwd=state).stdout.splitlines()]
    assert [d["rev"] for d in docs] == [1, 2, 3, 4, 5, 6]
    assert docs[5]["actor"] == "manifests:web.yaml" and docs[5]["ops"][0]["obj"]["kind"] == "Deployment"


def test_diff_with_revision_numbers_compares_two_revisions(state):
    out = recon("diff", "5", "6", "--state", "s", cwd=state, check=1).stdout  # (1: they differ, as kubectl diff)
    assert "+++ deploy/web @6" in out and "+++ svc/web @6" in out
    one = recon("diff", "5", "6", "svc/web", "-n", "demo", "--state", "s", cwd=state, check=1).stdout
    assert "+++ svc/web @6" in one and "deploy/web" not in one
    same = recon("diff", "6", "6", "--state", "s", cwd=state, check=0)
    assert same.stdout == "" and "no changes between revisions 6 and 6" in same.stderr


def test_explain_prints_the_chain_with_the_schedulers_scores(state):
    pods = json.loads(recon("get", "pods", "-n", "demo", "-o", "json", "--state", "s", cwd=state).stdout)
    pod = next(p for p in pods["items"] if p["metadata"]["name"].startswith("web-"))
    name, node = pod["metadata"]["name"], pod["spec"]["nodeName"]
    out = recon("explain", f"pod/{name}", "spec.nodeName", "-n", "demo", "--state", "s", cwd=state).stdout
    assert out.splitlines()[0] == f"pod/{name} spec.nodeName = {node}"
    assert "default-scheduler" in out and "scores" in out and "warning" not in out
    assert "manifests:web.yaml: deploy/web created  [external input]" in out.splitlines()[-1]


def test_replay_verifies_and_what_if_with_the_same_rules_finds_no_divergence(state):
    assert "ok" in recon("replay", "--state", "s", cwd=state).stdout
    out = recon("replay", "--rules", "rules", "--state", "s", cwd=state).stdout
    assert "no divergence" in out


def test_a_what_if_refuses_to_and_a_rules_folder_without_rules(state, tmp_path):
    err = recon("replay", "--rules", "rules", "--to", "5", "--state", "s", cwd=state, check=2).stderr
    assert "--to is for a replay that verifies" in err
    (tmp_path / "none").mkdir()
    err = recon("replay", "--rules", str(tmp_path / "none"), "--state", "s", cwd=state, check=2).stderr
    assert err.startswith(f"error: {tmp_path / 'none'}: no .rules files in this folder\n")


def test_a_what_if_with_a_broken_rule_file_is_a_usage_mistake_not_histories_that_differ(state, tmp_path):
    rules = tmp_path / "broken"
    shutil.copytree(state / "rules", rules)
    (rules / "extra.rules").write_text("rule broken for x in\n")
    proc = recon("replay", "--rules", str(rules), "--state", "s", cwd=state, check=2)
    assert proc.stderr.startswith(f"{rules / 'extra.rules'}:1:") and "Traceback" not in proc.stderr
    assert proc.stdout == ""


def test_history_of_an_actor_that_wrote_nothing_says_so_with_the_closest_name(state):
    proc = recon("history", "--actor", "kubelt", "--state", "s", cwd=state)
    assert proc.stdout == "" and proc.stderr == 'No revisions found by "kubelt". Did you mean "kubelet"?\n'
    proc = recon("history", "--actor", "zzzzzz", "--state", "s", cwd=state)
    assert proc.stderr == 'No revisions found by "zzzzzz".\n'


def test_explain_shows_the_chain_without_the_attempt_when_a_rule_file_does_not_load(state, tmp_path):
    shutil.copytree(state / "rules", tmp_path / "broken")
    (tmp_path / "broken" / "half-edited.rules").write_text("component half\n  reads Pod\n\nrule r for p in Pod\n")
    pods = json.loads(recon("get", "pods", "-n", "demo", "-o", "json", "--state", "s", cwd=state).stdout)
    name = next(p for p in pods["items"] if p["metadata"]["name"].startswith("web-"))["metadata"]["name"]
    out = recon("explain", f"pod/{name}", "spec.nodeName", "-n", "demo", "--rules", str(tmp_path / "broken"),
                "--state", "s", cwd=state).stdout
    assert f"(the attempt is not re-evaluated: the rules in {tmp_path / 'broken'} do not load: " in out
    assert "half-edited.rules:4:" in out and "scores" not in out
    assert "manifests:web.yaml: deploy/web created  [external input]" in out.splitlines()[-1]


def test_explain_follows_the_newest_of_an_objects_changes_that_woke_the_rule(state):
    # the kubelet admits a pod woken by its creation and its bind: the bind is what let it act
    pods = json.loads(recon("get", "pods", "-n", "demo", "-o", "json", "--state", "s", cwd=state).stdout)
    name = next(p for p in pods["items"] if p["metadata"]["name"].startswith("web-"))["metadata"]["name"]
    lines = recon("explain", f"pod/{name}", "status.hostIP", "-n", "demo", "--state", "s", cwd=state).stdout.splitlines()
    assert "kubelet/pod_admission" in lines[1]
    assert "default-scheduler: pod/" in lines[2] and "spec.nodeName: <none> → node-" in lines[2]


def test_explain_of_a_misspelt_field_hints_at_the_closest_one(state):
    proc = recon("explain", "deploy/web", "spec.replcas", "-n", "demo", "--state", "s", cwd=state)
    assert proc.stdout.startswith("deploy/web spec.replcas = <none> (not set at revision ")
    assert proc.stderr.startswith("hint: deploy/web has no field spec.replcas at revision ")
    assert proc.stderr.endswith("; did you mean spec.replicas?\n")
    assert recon("explain", "deploy/web", "spec.replicas", "-n", "demo", "--state", "s", cwd=state).stderr == ""


def test_a_replay_that_only_verifies_refuses_from_as_a_usage_mistake(state):
    failed = recon("replay", "--from", "3", "--state", "s", cwd=state, check=2)
    assert "--from is for a re-execution with --rules DIR" in failed.stderr


def test_diff_of_a_folder_against_a_state_folder_that_is_not_there_warns(state):
    out = recon("diff", "manifests", "--state", "no-such-state", cwd=state, check=1)
    assert "warning: no cluster state in no-such-state: comparing against an empty cluster" in out.stderr


def test_what_if_counts_the_end_states_differences_by_kind_before_the_diffs(state, tmp_path):
    rules = surge_rules(state / "rules", tmp_path / "surge")
    out = recon("replay", "--rules", str(rules), "--state", "s", cwd=state, check=1).stdout.splitlines()
    at = next(i for i, line in enumerate(out) if line.startswith("end states differ in "))
    total = int(out[at].split()[4])
    summary = out[at + 1:at + 1 + next(i for i, line in enumerate(out[at + 1:]) if not line.startswith("  "))]
    by_kind = {line.split(":")[0].strip(): line.split(":", 1)[1] for line in summary}
    # one more pod per ReplicaSet: pods only in the new history, their ReplicaSets' status changed
    assert "only in the new one" in by_kind["Pod"] and "changed" in by_kind["ReplicaSet"]
    counted = sum(int(n) for text in by_kind.values() for n in text.replace(",", " ").split() if n.isdigit())
    assert counted == total and out[at + 1 + len(summary)].startswith("--- ")


def test_history_since_after_the_end_names_the_revision_asked_for(state):
    head = len(recon("history", "--state", "s", cwd=state).stdout.splitlines())
    holds = f"(the history holds 1..{head}, or -{head}..-1 counting back from the newest)"
    err = recon("history", "--since", str(head + 50), "--state", "s", cwd=state, check=2).stderr
    assert err.splitlines()[0] == f"error: --since {head + 50}: there is no revision {head + 50} {holds}"
    err = recon("history", "deploy/web", "-n", "demo", "--since", str(head + 1), "--state", "s", cwd=state,
                check=2).stderr
    assert err.splitlines()[0] == f"error: --since {head + 1}: there is no revision {head + 1} {holds}"
    assert recon("history", "--since", str(head), "--state", "s", cwd=state).stdout.split()[0] == str(head)


def test_history_since_after_until_is_a_usage_mistake(state):
    # (as recon check's --from after --to: nothing printed and exit 0 read as "no revisions there")
    err = recon("history", "--since", "50", "--until", "40", "--state", "s", cwd=state, check=2).stderr
    assert err.splitlines()[0] == "error: --since 50 is after --until 40"


@pytest.mark.parametrize("actor, writer", [
    ("manifests", "manifests:web.yaml"), ("manifests:web.yaml", "manifests:web.yaml"),
    ("kubelet", "kubelet/node_status"), ("kubelet/node_status", "kubelet/node_status"),
    ("replicaset-controller", "replicaset-controller/replicas")])
def test_history_actor_matches_a_name_in_full_or_up_to_its_separator(state, actor, writer):
    out = recon("history", "--actor", actor, "--state", "s", cwd=state).stdout.splitlines()
    writers = {line.split()[2] for line in out}
    assert writer in writers and all(w == actor or w.startswith((actor + "/", actor + ":")) for w in writers)


def test_history_actor_does_not_match_a_part_of_a_name(state):
    assert recon("history", "--actor", "manifest", "--state", "s", cwd=state).stdout == ""


@pytest.mark.parametrize("args, message", [
    (("diff", "5", "100000"), "error: there is no revision 100000 (the history holds 1.."),
    (("diff", "5", "6", "widget/x"), 'error: the server doesn\'t have a resource type "widget"'),
    (("diff", "5", "6", "--state", "nowhere"), 'error: no cluster state in nowhere: start one with "recon up"')])
def test_diff_of_revisions_that_cannot_be_compared_exits_2_not_1_which_says_they_differ(state, args, message):
    proc = recon(*args, *(() if "--state" in args else ("--state", "s")), cwd=state, check=2)
    assert proc.stderr.startswith(message) and proc.stdout == ""


@pytest.mark.parametrize("args, message", [
    (("--to", "100000"), "error: --to 100000: there is no revision 100000 (the history holds 1.."),
    (("--rules", "rules", "--from", "100000"), "error: --from 100000: there is no revision 100000 (the history holds 1..")])
def test_replay_past_the_end_of_the_history_is_a_usage_mistake_not_a_damaged_log(state, args, message):
    proc = recon("replay", *args, "--state", "s", cwd=state, check=2)
    assert proc.stderr.startswith(message) and proc.stdout == ""


def test_history_of_an_object_no_revision_wrote_is_not_found_and_exits_1(state):
    # (as kubectl's NotFound: printing nothing and exit 0 read as "it was never touched")
    proc = recon("history", "deploy/nope", "--state", "s", cwd=state, check=1)
    assert proc.stderr == 'error: no revision wrote deployment "nope" in namespace "default"\n'
    assert proc.stdout == ""
    proc = recon("history", "node/nope", "-n", "demo", "--state", "s", cwd=state, check=1)
    assert proc.stderr == 'error: no revision wrote node "nope"\n'  # (cluster-scoped: no namespace)


def test_history_of_an_object_written_only_in_another_namespace_names_that_namespace_in_a_hint(state):
    # (-n defaults to "default", as kubectl's: the example's deploy/web is in demo)
    proc = recon("history", "deploy/web", "--state", "s", cwd=state, check=1)
    assert proc.stderr.splitlines() == ['error: no revision wrote deployment "web" in namespace "default"',
                                        'hint: it was written in namespace "demo": add -n demo']
    other = recon("history", "sa/nope", "-n", "demo", "--state", "s", cwd=state, check=1)
    assert "hint" not in other.stderr


def test_explain_and_diff_of_an_object_no_revision_wrote_say_so_as_history_does(state):
    message = ['error: no revision wrote deployment "web" in namespace "default"',
               'hint: it was written in namespace "demo": add -n demo']
    assert recon("explain", "deploy/web", "--state", "s", cwd=state, check=1).stderr.splitlines() == message
    diff = recon("diff", "5", "6", "deploy/web", "--state", "s", cwd=state, check=2)  # (2: not "they differ")
    assert diff.stderr.splitlines() == message and diff.stdout == ""


def test_history_of_an_unknown_kind_is_a_clear_error_not_a_traceback(state):
    proc = recon("history", "frob/x", "--state", "s", cwd=state, check=1)
    assert proc.stderr == ('error: the server doesn\'t have a resource type "frob": ensure its '
                           'CustomResourceDefinition is installed first\n')


def test_history_lines_name_the_namespace_of_their_objects_before_the_ops(state):
    out = recon("history", "--state", "s", cwd=state).stdout.splitlines()
    accounts = [line.split() for line in out if line.endswith("  +sa/default")]
    # one default ServiceAccount per namespace, each line saying which
    assert sorted(words[-2] for words in accounts) == ["default", "demo", "kube-node-lease", "kube-public",
                                                       "kube-system"]
    web = next(line for line in out if "+deploy/web" in line)
    assert web.split()[-3:] == ["demo", "+deploy/web", "+svc/web"]
    nodes = next(line for line in out if "+node/node-1" in line)
    words = nodes.split()
    assert words[words.index("+node/node-1") - 1] == "nodes.yaml"  # cluster-scoped: the column is blank,
    assert nodes.index("+node/") == web.index("+deploy/")  # and the ops stay aligned


def test_history_of_one_object_has_no_namespace_column_as_get_without_all_namespaces(state):
    line = recon("history", "deploy/web", "-n", "demo", "--state", "s", cwd=state).stdout.splitlines()[0]
    assert line.split()[-3:] == ["web.yaml", "+deploy/web", "+svc/web"]


def test_a_failing_invariant_shows_its_revision_as_the_history_listing_does(state):
    out = recon("check", "--invariant", "it.spec.replicas > 2", "--kind", "Deployment", "--state", "s",
                cwd=state, check=1).stdout.splitlines()
    rev = out[0].split()[4]
    listed = recon("history", "--since", rev, "--until", rev, "--state", "s", cwd=state).stdout
    assert out[1] + "\n" == listed and "  demo  " in listed


def recon_to_a_closed_pipe(*args: str, cwd) -> int:
    """The exit code of `recon ARGS` whose standard output is a pipe nobody reads (its reader is
    closed before it starts, as `| head` does after its lines): every write of it fails."""
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run([sys.executable, "-c", ENTRY_POINT, *args], cwd=cwd, stdout=write,
                              stderr=subprocess.DEVNULL, timeout=120).returncode
    finally:
        os.close(write)


@pytest.mark.parametrize("command, answer", [
    (["replay", "--rules", "SURGE"], 1),
    (["replay", "--rules", "rules"], 0),
    (["diff", "5", "60"], 1),
    (["diff", "EDITED"], 1),
    (["check", "--invariant", "count(Pod) > 100"], 1),
])
def test_the_exit_code_of_a_command_that_answers_does_not_depend_on_its_reader(state, tmp_path, command, answer):
    if "SURGE" in command:
        command[command.index("SURGE")] = str(surge_rules(state / "rules", tmp_path / "surge"))
    if "EDITED" in command:  # (the folder with web scaled 3 → 4)
        shutil.copytree(state / "manifests", tmp_path / "edited")
        web = tmp_path / "edited" / "web.yaml"
        web.write_text(web.read_text().replace("replicas: 3", "replicas: 4", 1))
        command[command.index("EDITED")] = str(tmp_path / "edited")
    assert recon(*command, "--state", "s", cwd=state, check=None).returncode == answer
    assert recon_to_a_closed_pipe(*command, "--state", "s", cwd=state) == answer
