"""A rule that fails at run time is reported by `recon up --once` and by the live loop alike: the
file, line and column of the failing expression, its source line and a caret."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from .helpers import REPO, recon

BOOM = """\
component boom-controller
  reads ConfigMap
  writes ConfigMap

rule a for cm in ConfigMap where cm.name == "boom":
  set cm.metadata.labels.y = cm.data.x + 1
"""

MANIFESTS = """\
apiVersion: v1
kind: Namespace
metadata: {name: demo}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: boom, namespace: demo}
data: {x: "a"}
"""

REPORTED = """\
warning: rules/boom.rules:6:40: rule boom-controller/a failed on ConfigMap demo/boom: cannot compute string + number
      set cm.metadata.labels.y = cm.data.x + 1
                                           ^
"""


def boom_folder(root: Path) -> Path:
    (root / "manifests").mkdir()
    (root / "manifests" / "boom.yaml").write_text(MANIFESTS)
    (root / "rules").mkdir()
    (root / "rules" / "boom.rules").write_text(BOOM)
    return root


def test_once_reports_a_runtime_failure_at_its_expression_with_the_source_line(tmp_path):
    # (a rule still failing at the end is no convergence: --once exits 1, naming it last)
    proc = recon("up", "manifests", "--once", cwd=boom_folder(tmp_path), check=1)
    assert REPORTED in proc.stderr
    assert proc.stderr.endswith("error: did not converge: 1 rule still failing (boom-controller/a) "
                                "at revision 3 (see above)\n")
    assert "converged at" not in proc.stdout


def test_once_with_json_exits_1_for_a_rule_still_failing(tmp_path):
    proc = recon("up", "manifests", "--once", "--json", cwd=boom_folder(tmp_path), check=1)
    assert "cannot compute string + number" in proc.stdout


def test_a_write_refused_for_the_clusters_reasons_is_a_warning_only(tmp_path):
    # a quota the rule's creates run into: the controller would retry, the run still converges
    root = boom_folder(tmp_path)
    (root / "rules" / "boom.rules").write_text(QUOTA_BOOM)
    (root / "manifests" / "quota.yaml").write_text(QUOTA)
    shutil.copy(REPO / "rules" / "resourcequota.rules", root / "rules")  # (the quota's usage)
    proc = recon("up", "manifests", "--once", cwd=root, check=0)
    assert "exceeded quota" in proc.stderr and "converged at" in proc.stdout


QUOTA_BOOM = """\
component boom-controller
  reads ConfigMap, ResourceQuota
  writes ConfigMap

rule copies for cm in ConfigMap where cm.name == "boom":
  when ConfigMap[cm.namespace, "boom-copy"] == null and ResourceQuota[cm.namespace, "few"].status.used != null:
    create ConfigMap from {data: cm.data} with name: "boom-copy"
"""

QUOTA = """\
apiVersion: v1
kind: ResourceQuota
metadata: {name: few, namespace: demo}
spec: {hard: {configmaps: "1"}}
"""


def test_the_live_loop_reports_it_the_same_way(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "engine.cli", "up", "manifests"], cwd=boom_folder(tmp_path),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONUNBUFFERED="1"))
    seen: list[str] = []
    threading.Thread(target=lambda: seen.extend(proc.stderr), daemon=True).start()
    try:
        deadline = time.monotonic() + 30
        while REPORTED not in "".join(seen) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert REPORTED in "".join(seen), "".join(seen)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


BUILTIN_BOOM = """\
component boom-controller
  reads ConfigMap
  writes ConfigMap

rule convert for cm in ConfigMap where cm.name == "boom":
  set cm.metadata.labels.y = str(int(cm.data.x) + 1)

rule parts for cm in ConfigMap where cm.name == "boom":
  set cm.metadata.labels.z = join(split(len(cm.data)), "-")
"""


def test_a_builtin_that_refuses_its_arguments_is_named_in_the_rule_languages_words(tmp_path):
    root = boom_folder(tmp_path)
    (root / "rules" / "boom.rules").write_text(BUILTIN_BOOM)
    err = recon("up", "manifests", "--once", cwd=root, check=1).stderr
    assert ("warning: rules/boom.rules:6:34: rule boom-controller/convert failed on ConfigMap demo/boom: "
            "int(): cannot convert 'a' to an integer\n") in err
    assert ("warning: rules/boom.rules:9:35: rule boom-controller/parts failed on ConfigMap demo/boom: "
            "split() cannot take these arguments: s = 1 (a number)\n") in err
    assert "Error:" not in err and "Traceback" not in err
