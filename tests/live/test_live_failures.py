"""The live loop reports a rule's run-time failure as soon as it appears, even when nothing is
written, and once: later sections do not repeat the failures already shown (in process)."""

from __future__ import annotations

import io
import json
from pathlib import Path

from engine.cluster import Cluster
from engine.live import Live
from engine.report import Reporter
from engine.store import Store
from live_helpers import config_map

BOOM = """component boom-controller
  reads ConfigMap
  writes ConfigMap

rule a for cm in ConfigMap where cm.name == "cm":
  set cm.data.x = str(int(cm.metadata.{field}))
"""


def events(live: Live) -> list[dict]:
    lines = live.out.getvalue().splitlines()
    live.out.seek(0)
    live.out.truncate()
    return [json.loads(line) for line in lines]


def test_a_failure_that_writes_nothing_is_reported_at_once_and_once(tmp_path: Path, folder: Path):
    (folder / "cm.yaml").write_text(config_map("cm"))
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "boom.rules").write_text(BOOM.format(field="name"))
    out = io.StringIO()
    live = Live(Cluster(Store(), rules, simulated=False), folder, Reporter(json_lines=True, out=out), quiet=0.0)
    live.out = out
    try:
        live.start()
        ready = [e for e in events(live) if e["event"] == "applied"]
        assert any("boom.rules:6:" in f for f in ready[0]["failures"]), ready[0]["failures"]
        live.step()  # nothing new: nothing shown, the failure is not repeated
        assert events(live) == []
        (rules / "boom.rules").write_text("# moved down a line\n" + BOOM.format(field="namespace"))
        live.reload_rules()
        shown = events(live)
        assert [e["event"] for e in shown] == ["rules", "applied"]
        assert shown[1]["revisions"] is None  # (it wrote nothing)
        assert any("boom.rules:7:" in f for f in shown[1]["failures"]), shown[1]["failures"]
    finally:
        live.close()
