"""The live loop reports a rule's run-time failure as soon as it appears, even when nothing is
written, and once: later sections do not repeat the failures already shown (in process)."""

from __future__ import annotations

import io
import json
import re
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


def test_a_failure_whose_message_changes_at_each_retry_is_still_shown_once(tmp_path: Path, folder: Path):
    # (a refused create names the pod it tried: a new name at each retry, the same rule, object and place)
    from engine.plan import Effects
    from engine.manifests import ApplyResult
    from engine.report import Batch

    out = io.StringIO()
    live = Live(Cluster(Store(), None, simulated=True), folder, Reporter(json_lines=True, out=out), quiet=0.0)
    live.out = out
    who = (("RuleFailure", "rs/replicas", ("apps", "ReplicaSet", "demo", "web"), "rules/rs.rules", 40, 5),)
    try:
        for attempt in ("web-abcde", "web-fghij", "web-klmno"):
            text = f'rules/rs.rules:40:5: … pods "{attempt}" is forbidden: exceeded quota'
            live._show(Batch("engine", (), ApplyResult(), None, Effects(), True, "", 0.0, (text,), who),
                       always=False)
        shown = events(live)
        assert len(shown) == 1 and "web-abcde" in shown[0]["failures"][0]
    finally:
        live.close()


FIGHT = """component fight-controller
  reads ConfigMap
  writes ConfigMap

rule one for cm in ConfigMap where cm.name == "cm":
  set cm.data.x = "1"

rule two for cm in ConfigMap where cm.name == "cm":
  set cm.data.x = "2"
"""


def test_two_rules_that_keep_fighting_are_reported_once_not_at_every_tick(tmp_path: Path, folder: Path):
    (folder / "cm.yaml").write_text(config_map("cm"))
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "fight.rules").write_text(FIGHT)
    out = io.StringIO()
    live = Live(Cluster(Store(), rules, simulated=False), folder, Reporter(json_lines=True, out=out), quiet=0.0)
    live.out = out
    try:
        live.start()
        first = [e for e in events(live) if e["event"] == "applied"]
        assert not first[-1]["converged"] and "fight-controller/one" in first[-1]["message"]
        live.step()  # the fight goes on: each run is stopped by the engine's guard, in its words
        assert [e["converged"] for e in events(live)] in ([], [False])
        live.step()  # and again, as already reported: nothing more is shown
        live.step()
        assert events(live) == []
    finally:
        live.close()


def test_a_quota_refusal_names_the_objects_of_the_folder_not_the_bundled_rule(live, folder: Path):
    (folder / "quota.yaml").write_text('apiVersion: v1\nkind: ResourceQuota\nmetadata:\n  name: pods\n'
                                       'spec:\n  hard:\n    pods: "1"\n')
    up = live()  # (the live helper runs the project's rules: those bundled with recon)
    start = next(e for e in up.seen if e["event"] == "applied" and e["trigger"] == "start")
    (refused,) = start["failures"]
    assert re.fullmatch(r'replicaset\.apps/web-\w+ of deployment\.apps/web \(manifests/web\.yaml\): Error creating: '
                        r'pods "web-\w+-\w+" is forbidden: exceeded quota: pods, requested: pods=1, used: pods=1, '
                        r'limited: pods=1', refused), refused
    assert up.stop() == 0
