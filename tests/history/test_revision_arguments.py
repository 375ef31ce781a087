"""Every revision argument of `recon` reads the same way: N is revision N, -N counts back from the newest.

Run on a recorded state folder: the first test as the real `recon` command, the many others through
the command's own entry point in this process (`main`, the same code a `recon` process runs), which
spares a second of start-up per command.
"""

from __future__ import annotations

import pytest

from history_helpers import example_run, in_process, recon

COUNTS_BACK = "negative: counts back, -1 is the newest)"

# (command, how it names its revision): every revision option of the CLI, and diff's positional REV1
OPTIONS = [
    (("history", "--since"), "--since"),
    (("history", "--until"), "--until"),
    (("get", "pods", "-A", "--at"), "--at"),
    (("status", "--at"), "--at"),
    (("describe", "deploy", "web", "-n", "demo", "--at"), "--at"),
    (("explain", "deploy/web", "-n", "demo", "--at"), "--at"),
    (("replay", "--to"), "--to"),
    (("replay", "--rules", "rules", "--from"), "--from"),
    (("check", "--invariant", "true", "--from"), "--from"),
    (("check", "--invariant", "true", "--to"), "--to"),
    (("diff",), ""),
]


@pytest.fixture(scope="module")
def state(tmp_path_factory):
    cwd = example_run(tmp_path_factory.mktemp("revisions"))
    head = int(recon("history", "--state", "s", cwd=cwd).stdout.splitlines()[-1].split()[0])
    return cwd, head


def run(cwd, *args: str, check: int | None = 0) -> str:
    return in_process(*args, "--state", "s", cwd=cwd, check=check).stdout


def test_history_since_a_negative_revision_is_read_by_the_real_command(state):
    cwd, head = state
    out = recon("history", "--since", "-2", "--state", "s", cwd=cwd).stdout
    assert [int(line.split()[0]) for line in out.splitlines()] == [head - 1, head]


def test_history_since_a_negative_revision_lists_the_newest_revisions_in_both_spellings(state):
    cwd, head = state
    for since in (["--since", "-5"], ["--since=-5"]):
        revs = [int(line.split()[0]) for line in run(cwd, "history", *since).splitlines()]
        assert revs == list(range(head - 4, head + 1))
    revs = [int(line.split()[0]) for line in run(cwd, "history", "--since", "-3", "--until=-2").splitlines()]
    assert revs == [head - 2, head - 1]


@pytest.mark.parametrize("command", [
    ("get", "pods", "-A", "--at"), ("status", "--at"), ("describe", "deploy", "web", "-n", "demo", "--at"),
    ("explain", "deploy/web", "-n", "demo", "--at"), ("check", "--invariant", "true", "--from"),
    ("check", "--invariant", "true", "--to"), ("replay", "--to")])
def test_a_negative_revision_names_the_same_revision_as_counting_back_from_the_newest_by_hand(state, command):
    cwd, head = state
    assert run(cwd, *command, "-3") == run(cwd, *command, str(head - 2))


def test_diff_of_negative_revisions_compares_the_newest_revisions(state):
    cwd, head = state
    newest = run(cwd, "diff", "-2", "-1", check=1)
    assert newest == run(cwd, "diff", str(head - 1), str(head), check=1)
    assert f" @{head - 1}\n" in newest and f" @{head}\n" in newest  # (labelled with the revisions named)
    assert run(cwd, "diff", "-2", check=1) == newest


def test_what_if_from_a_negative_revision_starts_where_the_same_revision_counted_by_hand_does(state):
    cwd, head = state
    first = run(cwd, "replay", "--rules", "rules", "--from", "-1").splitlines()[0]
    assert first == run(cwd, "replay", "--rules", "rules", "--from", str(head)).splitlines()[0]


@pytest.mark.parametrize("command, option", OPTIONS)
def test_zero_and_revisions_outside_the_history_are_the_same_usage_mistake_everywhere(state, command, option):
    cwd, head = state
    name = command[0]
    for value in ("0", str(head + 1), str(-head - 1)):
        args = (*command, value, *(("5",) if name == "diff" else ()))
        proc = in_process(*args, "--state", "s", cwd=cwd, check=2)
        named = f"{option} {value}: " if option else ""
        assert proc.stderr.splitlines() == [
            f"error: {named}there is no revision {value} (the history holds 1..{head}, "
            f"or -{head}..-1 counting back from the newest)",
            f"See 'recon {name} -h' for help and examples."], args
        assert proc.stdout == ""


def test_the_oldest_revision_counted_back_is_revision_1(state):
    cwd, head = state
    assert run(cwd, "history", "--since", str(-head), "--until", "1").split()[0] == "1"


def test_a_range_whose_start_counted_back_is_after_its_end_names_both_revisions(state):
    cwd, head = state
    err = in_process("history", "--since", "-2", "--until", "5", "--state", "s", cwd=cwd, check=2).stderr
    assert err.splitlines()[0] == f"error: --since -2 (revision {head - 1}) is after --until 5"
    err = in_process("check", "--invariant", "true", "--from", "-2", "--to", "5", "--state", "s", cwd=cwd,
                     check=2).stderr
    assert err.splitlines()[0] == f"error: --from -2 (revision {head - 1}) is after --to 5"


@pytest.mark.parametrize("command, options", [
    ("history", 2), ("get", 1), ("status", 1), ("describe", 1), ("explain", 1), ("replay", 2), ("check", 2)])
def test_the_help_of_every_revision_option_says_that_a_negative_one_counts_back(state, command, options):
    cwd, _ = state
    text = " ".join(in_process(command, "-h", cwd=cwd).stdout.split())
    assert text.count(COUNTS_BACK) == options


def test_the_help_of_diff_says_that_a_negative_revision_counts_back(state):
    cwd, _ = state
    text = " ".join(in_process("diff", "-h", cwd=cwd).stdout.split())
    assert "a negative revision counts back from the newest, -1 being the newest" in text
