"""Helpers for tests/history: the repository, the real `recon` command, a recorded example run."""

from __future__ import annotations

import contextlib
import io
import shutil
import subprocess
import sys
import types
from pathlib import Path

from engine.apiserver import Actor
from engine.cli import main

REPO = Path(__file__).resolve().parents[2]
ADMIN = Actor("admin", "user", None)
# what the installed `recon` script runs (`python -m engine.cli` loads engine.cli twice, as __main__ too)
ENTRY_POINT = "import sys; from engine.cli import main; sys.exit(main())"


def recon(*args: str, cwd: Path, check: int | None = 0) -> subprocess.CompletedProcess:
    """`recon ARGS` in `cwd`; `check` is the exit code it must end with."""
    proc = subprocess.run([sys.executable, "-c", ENTRY_POINT, *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120)
    if check is not None:
        assert proc.returncode == check, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


def in_process(*args: str, cwd: Path, check: int | None = 0) -> types.SimpleNamespace:
    """`recon ARGS` in `cwd`, run by `main` in this process (the code a `recon` process runs, without
    its second of start-up): its exit code, standard output and error."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.chdir(cwd), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as exc:  # (argparse's own usage errors and -h)
            code = exc.code
    if check is not None:
        assert code == check, f"exit {code}\n{out.getvalue()}\n{err.getvalue()}"
    return types.SimpleNamespace(returncode=code, stdout=out.getvalue(), stderr=err.getvalue())


def example_run(cwd: Path) -> Path:
    """The example cluster with the shipped rules, run once into state folder `cwd/s`."""
    shutil.copytree(REPO / "manifests", cwd / "manifests")
    shutil.copytree(REPO / "rules", cwd / "rules")
    recon("up", "manifests", "--once", "--state", "s", cwd=cwd)
    return cwd


def surge_rules(rules: Path, into: Path) -> Path:
    """A copy of the rules folder `rules` at `into` whose ReplicaSets keep one pod more than asked."""
    shutil.copytree(rules, into)
    path = into / "replicaset.rules"
    text = path.read_text()
    assert "let diff = default(rs.spec.replicas, 1) - count(pods)" in text
    path.write_text(text.replace("let diff = default(rs.spec.replicas, 1) - count(pods)",
                                 "let diff = default(rs.spec.replicas, 1) + 1 - count(pods)"))
    return into
