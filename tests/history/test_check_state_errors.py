"""recon check on a state it cannot read exits 2, never 1 (which says the invariant fails)."""

from __future__ import annotations

import shutil

import pytest

from history_helpers import example_run, recon
from engine.wal import LOG_HEADER, FrameReader


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    return example_run(tmp_path_factory.mktemp("check-state"))


def _damage(state, revision: int, *, keep_index: bool) -> None:
    """Flip a byte in the record of `revision`; without the index, it is rebuilt up to the damage."""
    log = state / "history.log"
    with open(log, "rb") as f:
        frame = list(FrameReader(f, len(LOG_HEADER), log.stat().st_size))[revision - 1]
    data = bytearray(log.read_bytes())
    data[frame.start + 20] ^= 0x01
    log.write_bytes(bytes(data))
    if not keep_index:
        shutil.rmtree(state / "index")


def test_a_missing_state_folder_exits_2_with_a_clear_message(example):
    proc = recon("check", "--invariant", "true", "--state", "nowhere", cwd=example, check=2)
    assert proc.stderr == 'error: cannot check the invariant: no cluster state in nowhere: start one with "recon up"\n'
    assert proc.stdout == ""


@pytest.mark.parametrize("command", [("history",), ("explain", "deploy/web", "-n", "demo")])
def test_history_and_explain_on_a_missing_state_folder_say_so_without_a_traceback(example, command):
    proc = recon(*command, "--state", "nowhere", cwd=example, check=1)
    assert proc.stderr == 'error: no cluster state in nowhere: start one with "recon up"\n'


def test_a_log_damaged_under_its_index_is_checked_up_to_the_damage_and_exits_2(example, tmp_path):
    state = shutil.copytree(example / "s", tmp_path / "s")
    _damage(state, 40, keep_index=True)
    proc = recon("check", "--invariant", "true", "--state", str(state), cwd=example, check=2)
    assert proc.stderr.startswith("warning: the history log is damaged after revision 39 (")
    assert proc.stdout.startswith("invariant holds at every revision in revisions 1..39 ")
    assert "error: cannot check the invariant after revision 39: the history log is damaged" in proc.stderr


def test_an_invariant_that_holds_up_to_the_damage_exits_2_not_0(example, tmp_path):
    state = shutil.copytree(example / "s", tmp_path / "s")
    _damage(state, 40, keep_index=False)
    proc = recon("check", "--invariant", "true", "--state", str(state), cwd=example, check=2)
    assert proc.stdout.startswith("invariant holds at every revision in revisions 1..39 ")
    assert "error: cannot check the invariant after revision 39: the history log is damaged" in proc.stderr
    recon("check", "--invariant", "true", "--to", "30", "--state", str(state), cwd=example, check=0)
    failing = recon("check", "--invariant", "false", "--state", str(state), cwd=example, check=1)
    assert failing.stdout.startswith("invariant fails at revision 1:")


@pytest.mark.parametrize("command", [("get", "pods", "-n", "demo"), ("status",)])
def test_get_and_status_of_a_damaged_log_warn_that_they_show_the_state_before_the_damage(example, tmp_path,
                                                                                       command):
    # (a checkpoint may come after the damage: the state shown is then read from the log up to it)
    state = shutil.copytree(example / "s", tmp_path / "s")
    for path in (state / "checkpoints").glob("*"):
        path.unlink()
    _damage(state, 40, keep_index=False)
    proc = recon(*command, "--state", str(state), cwd=example, check=0)
    assert proc.stderr.startswith("warning: the history log is damaged after revision 39 (")
    assert "checksum mismatch); run 'recon replay' for details" in proc.stderr
    intact = recon(*command, "--state", str(example / "s"), cwd=example, check=0)
    assert intact.stderr == ""


def test_replay_of_a_state_without_its_log_says_so_without_a_traceback(example, tmp_path):
    state = shutil.copytree(example / "s", tmp_path / "s")
    (state / "history.log").unlink()
    proc = recon("replay", "--state", str(state), cwd=example, check=1)
    assert proc.stderr == f"error: {state / 'history.log'}: the history log is missing\n"


def test_up_on_a_damaged_log_says_what_it_dropped_as_a_warning(example, tmp_path):
    state = shutil.copytree(example / "s", tmp_path / "s")
    _damage(state, 40, keep_index=False)
    proc = recon("up", "manifests", "--once", "--state", str(state), cwd=example, check=0)
    [line] = [text for text in proc.stderr.splitlines() if "dropped the" in text]
    assert line.startswith(f"warning: {state / 'history.log'}: offset ")
    assert "after the last intact record (revision 39), kept a copy in " in line


@pytest.mark.parametrize("keep_index", [True, False])
def test_history_of_a_damaged_log_warns_and_lists_what_is_readable_up_to_the_damage(example, tmp_path, keep_index):
    # (the index, written before a byte of the log flipped, knows frames past the damage: the same answer)
    state = shutil.copytree(example / "s", tmp_path / "s")
    _damage(state, 40, keep_index=keep_index)
    proc = recon("history", "--since", "-3", "--state", str(state), cwd=example, check=0)
    assert proc.stderr.startswith("warning: the history log is damaged after revision 39 (offset ")
    assert "checksum mismatch); run 'recon replay' for details" in proc.stderr
    assert [line.split()[0] for line in proc.stdout.splitlines()] == ["37", "38", "39"]
    past = recon("history", "--since", "41", "--state", str(state), cwd=example, check=2)
    assert past.stderr.startswith("warning: the history log is damaged after revision 39 ")
    assert "error: --since 41: there is no revision 41 (the history holds 1..39," in past.stderr
    assert "beyond the end" not in past.stderr
    replay = recon("replay", "--state", str(state), cwd=example, check=1)
    assert replay.stdout.startswith("replayed revisions 1..39: FAILED")
    assert "checksum mismatch: the record after revision 39 is corrupt" in replay.stderr


def test_a_frame_damaged_before_a_checkpoint_is_named_as_the_logs_damage_when_read(recording):
    # (the frames after the newest checkpoint are checked on opening; older ones as they are read)
    from engine.history import History
    from engine.wal import StateError

    recording.close()
    state = recording.state
    checkpoints = sorted(int(p.name.split(".")[0]) for p in (state / "checkpoints").glob("*.ckpt"))
    damaged = checkpoints[-1] - 3
    assert damaged > checkpoints[0]
    _damage(state, damaged, keep_index=True)
    history = History.open(state)
    assert history.problem is None
    with pytest.raises(StateError) as caught:
        history.record(damaged)
    message = str(caught.value)
    assert message.startswith(f"{state / 'history.log'}: revision {damaged} (offset ")
    assert message.endswith("checksum mismatch: the history log is damaged there; run 'recon replay' for details")
    listed = recon("history", "--since", str(damaged - 2), "--until", str(damaged + 1), "--state", str(state),
                   cwd=state.parent, check=1)
    assert listed.stderr == (f"error: {state / 'history.log'}: the history log is damaged after revision "
                             f"{damaged - 1} (offset {history.index.frame(damaged).start}: checksum mismatch); "
                             "run 'recon replay' for details\n")
    at = recon("get", "pods", "-A", "--at", str(damaged + 1), "--state", str(state), cwd=state.parent, check=1)
    assert f"revision {damaged + 1} cannot be read: the history log is damaged after revision {damaged - 1}" \
        in at.stderr and "beyond the end" not in at.stderr

