"""Hot reload in a live `recon up`: edited rule files take effect, broken ones keep the old version."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from .helpers import recon

PAINT = """component painter
  reads ConfigMap
  writes ConfigMap

rule paint for cm in ConfigMap:
  set cm.metadata.labels.color = "{color}"
"""

CONFIGMAP = """apiVersion: v1
kind: ConfigMap
metadata:
  name: c
  namespace: default
data:
  a: "1"
"""


def color(cwd: Path) -> str | None:
    proc = recon("get", "cm", "c", "-n", "default", "-o", "json", "--state", "st", cwd=cwd)
    if proc.returncode != 0:
        return None
    return (json.loads(proc.stdout)["metadata"].get("labels") or {}).get("color")


def wait_for(predicate, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_a_live_run_swaps_in_edited_rules_and_keeps_the_last_good_version_of_a_broken_file(tmp_path):
    (tmp_path / "manifests").mkdir()
    (tmp_path / "manifests" / "cm.yaml").write_text(CONFIGMAP)
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "paint.rules").write_text(PAINT.format(color="red"))
    proc = subprocess.Popen([sys.executable, "-m", "engine.cli", "up", "manifests", "--rules", "rules",
                             "--state", "st"], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        assert wait_for(lambda: color(tmp_path) == "red")
        (rules / "paint.rules").write_text(PAINT.format(color="blue"))
        assert wait_for(lambda: color(tmp_path) == "blue")
        (rules / "paint.rules").write_text(PAINT.format(color="green").replace("set cm", "set"))
        time.sleep(2)
        assert color(tmp_path) == "blue"
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "paint.rules:6" in err
    assert "Traceback" not in err
