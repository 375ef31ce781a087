"""A usage mistake exits 2 however recon is started (`python -m engine.cli` loads engine.cli twice)."""

from __future__ import annotations

import pytest

from .helpers import copy_example, recon


def test_a_usage_mistake_of_a_history_command_exits_2_under_python_m(tmp_path):
    copy_example(tmp_path)
    recon("up", "manifests", "--once", "-q", cwd=tmp_path, check=0)
    proc = recon("check", "--invariant", "true", "--kind", "Widget", cwd=tmp_path, check=2)
    assert "Widget" in proc.stderr and "Traceback" not in proc.stderr
    proc = recon("explain", "deploy/web", "-n", "demo", "spec[", cwd=tmp_path, check=2)
    assert "Traceback" not in proc.stderr


def test_an_unknown_option_names_the_command_it_was_given_to(tmp_path):
    proc = recon("get", "pods", "--bogus", cwd=tmp_path, check=2)
    assert proc.stderr == "error: unrecognized arguments: --bogus\nSee 'recon get -h' for help and examples.\n"
    proc = recon("--bogus", cwd=tmp_path, check=2)
    assert "See 'recon -h'" in proc.stderr


@pytest.mark.parametrize("command", [
    ["up", "manifests", "--once"],
    ["diff", "manifests"],
    ["explain", "deploy/web", "-n", "demo"],
    ["replay"],
])
def test_every_command_that_takes_rules_refuses_a_rules_folder_that_is_not_there(tmp_path, command):
    copy_example(tmp_path)
    proc = recon(*command, "--rules", "nowhere", cwd=tmp_path, check=2)
    assert proc.stderr == (f"error: nowhere: no such rules folder\n"
                           f"See 'recon {command[0]} -h' for help and examples.\n")
    assert proc.stdout == "" and not (tmp_path / ".recon").exists()
