"""-n and -A in the history commands: `recon history -n NS` lists one namespace's revisions, and an
object asked for in the wrong namespace gets a hint naming the one it is in (history, describe, get).

Run on a recorded state folder through the command's entry point in this process (`in_process`).
"""

from __future__ import annotations

import json

import pytest

from history_helpers import example_run, in_process


@pytest.fixture(scope="module")
def state(tmp_path_factory):
    return example_run(tmp_path_factory.mktemp("namespaces"))


def run(cwd, *args: str, check: int = 0):
    return in_process(*args, "--state", "s", cwd=cwd, check=check)


def revisions(out: str) -> list[int]:
    return [int(line.split()[0]) for line in out.splitlines()]


def every_revision(cwd) -> list[dict]:
    return [json.loads(line) for line in run(cwd, "history", "--json").stdout.splitlines()]


def in_demo(key: list) -> bool:
    return key[2] == "demo" or key == ["", "Namespace", "", "demo"]


def test_history_with_a_namespace_lists_only_the_revisions_that_wrote_an_object_in_it(state):
    docs = every_revision(state)
    wrote_demo = [d["rev"] for d in docs if any(in_demo(op["key"]) for op in d["ops"])]
    assert 0 < len(wrote_demo) < len(docs)
    assert revisions(run(state, "history", "-n", "demo").stdout) == wrote_demo
    assert revisions(run(state, "history", "--namespace=demo", "--since", "-20").stdout) == \
        [rev for rev in wrote_demo if rev > docs[-1]["rev"] - 20]
    manifests = run(state, "history", "-n", "demo", "--actor", "manifests").stdout.splitlines()
    assert manifests and all(line.split()[2].startswith("manifests:") for line in manifests)


def test_history_with_a_namespace_lists_the_writes_of_the_namespace_object_itself(state):
    docs = every_revision(state)
    created = next(d for d in docs if any(op["key"] == ["", "Namespace", "", "demo"] for op in d["ops"]))
    line = next(line for line in run(state, "history", "-n", "demo").stdout.splitlines()
                if line.split()[0] == str(created["rev"]))
    assert line.split()[-1] == "+ns/demo"
    assert "ns/demo" not in run(state, "history", "-n", "default").stdout  # (another namespace: not its)


def test_history_with_a_namespace_names_only_its_ops_and_counts_the_others_after_them(state):
    docs = {d["rev"]: d for d in every_revision(state)}
    lease = next(line for line in run(state, "history", "-n", "kube-node-lease").stdout.splitlines()
                 if "+lease/node-1" in line)
    others = len(docs[int(lease.split()[0])]["ops"]) - 1  # (the node's status and its Events)
    assert lease.endswith(f"  +lease/node-1  (+{others} more outside kube-node-lease)")
    # the same revision in the namespace of its Events: folded into one word, as in the whole listing
    rev = lease.split()[0]
    events = next(line for line in run(state, "history", "-n", "default").stdout.splitlines()
                  if line.split()[0] == rev)
    assert events.endswith(f"  +{others - 1} events  (+2 more outside default)")  # (the node, the Lease)


def test_history_with_a_namespace_has_no_namespace_column_as_the_history_of_one_object(state):
    one_object = run(state, "history", "deploy/web", "-n", "demo").stdout.splitlines()[0]
    assert one_object.split()[-3:] == ["web.yaml", "+deploy/web", "+svc/web"]
    rev = one_object.split()[0]
    line = next(line for line in run(state, "history", "-n", "demo").stdout.splitlines()
                if line.split()[0] == rev)
    assert line == one_object  # (every op of that revision is in demo: nothing more to count)


def test_history_json_with_a_namespace_holds_only_its_ops_and_counts_the_others(state):
    whole = every_revision(state)[0]
    doc = json.loads(run(state, "history", "-n", "default", "--json", "--until", "1").stdout)
    in_default = [op["key"] for op in whole["ops"]
                  if op["key"][2] == "default" or op["key"] == ["", "Namespace", "", "default"]]
    assert [op["key"] for op in doc["ops"]] == in_default  # (the Namespace itself too)
    assert doc["summary"] == ["+ns/default", "+svc/kubernetes"] and doc["outside"] == len(whole["ops"]) - 2
    assert "outside" not in whole


def test_history_without_a_namespace_or_with_all_namespaces_lists_every_revision_with_the_column(state):
    plain = run(state, "history").stdout
    assert revisions(plain) == list(range(1, len(plain.splitlines()) + 1))
    assert run(state, "history", "-A").stdout == plain
    assert run(state, "history", "-n", "demo", "--all-namespaces").stdout == plain  # (-A wins, as kubectl's)
    web = next(line for line in plain.splitlines() if "+deploy/web" in line)
    assert web.split()[-3:] == ["demo", "+deploy/web", "+svc/web"] and "more outside" not in plain


def test_history_of_a_namespace_no_revision_wrote_says_so_as_get_does(state):
    proc = run(state, "history", "-n", "nope")
    assert proc.stdout == "" and proc.stderr == "No revisions found in nope namespace.\n"


def test_history_of_one_object_across_all_namespaces_is_a_usage_mistake(state):
    proc = run(state, "history", "deploy/web", "-A", check=2)
    assert proc.stderr.startswith("error: KIND/NAME is one object in one namespace: give -n NS, not -A\n")


def test_history_help_says_that_only_an_explicit_namespace_filters_the_listing(state):
    text = " ".join(in_process("history", "-h", cwd=state).stdout.split())
    assert "Without -n, every namespace (as -A)" in text and "-A, --all-namespaces" in text
    assert "recon history -n demo" in text


def test_describe_of_an_object_in_another_namespace_names_that_namespace_in_a_hint(state):
    proc = run(state, "describe", "deploy", "web", check=1)
    head = revisions(run(state, "history", "--since", "-1").stdout)[0]
    assert proc.stderr.splitlines() == [f"error: deploy/web not found in namespace default at revision {head}",
                                        'hint: it exists in namespace "demo": add -n demo']
    assert proc.stdout == ""


def test_describe_hints_only_at_a_namespace_the_object_is_in_at_the_revision_shown(state):
    created = revisions(run(state, "history", "deploy/web", "-n", "demo").stdout)[0]
    before = run(state, "describe", "deploy/web", "--at", str(created - 1), check=1)
    assert "hint" not in before.stderr  # (deploy/web was not yet anywhere)
    assert "hint" not in run(state, "describe", "deploy", "nope", check=1).stderr
    several = run(state, "describe", "sa", "default", "-n", "nope", check=1).stderr.splitlines()[1]
    assert several == ('hint: it exists in namespaces "default", "demo", "kube-node-lease", "kube-public", '
                       '"kube-system": add -n default')


def test_describe_of_a_kind_none_of_whose_objects_is_in_the_namespace_names_where_they_are(state):
    proc = run(state, "describe", "deploy")
    assert proc.stdout == ""
    assert proc.stderr.splitlines() == ["No resources found in default namespace.",
                                        'hint: deployments exist in namespace "demo": add -n demo']
    assert run(state, "describe", "statefulsets").stderr == "No resources found in default namespace.\n"
    assert "hint" not in run(state, "describe", "nodes", "-n", "nope").stderr  # (cluster-scoped: listed anyway)


def test_get_of_an_object_in_another_namespace_names_that_namespace_in_a_hint(state):
    for args in (("deploy", "web"), ("deploy/web",), ("deploy", "web", "-o", "yaml")):
        proc = run(state, "get", *args, check=1)
        assert proc.stderr.splitlines() == ['Error from server (NotFound): deployments.apps "web" not found',
                                            'hint: it exists in namespace "demo": add -n demo']
    assert run(state, "get", "node", "nope", check=1).stderr == \
        'Error from server (NotFound): nodes "nope" not found\n'  # (cluster-scoped: no namespace to hint)
