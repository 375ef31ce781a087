"""Helpers to run the real `recon` command in temporary folders."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "manifests"


def recon(*args: str, cwd: Path, check: int | None = None, timeout: float = 120,
          env: dict | None = None) -> subprocess.CompletedProcess:
    """`recon ARGS` in `cwd`; `check` is the exit code it must end with; `env`: variables to set."""
    proc = subprocess.run([sys.executable, "-m", "engine.cli", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env=None if env is None else {**os.environ, **env})
    if check is not None:
        assert proc.returncode == check, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc


def copy_example(dest: Path) -> Path:
    """A copy of the example cluster's manifests in `dest/manifests`."""
    folder = dest / "manifests"
    shutil.copytree(EXAMPLE, folder)
    return folder
