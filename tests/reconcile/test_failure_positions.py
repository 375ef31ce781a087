"""A rule's run-time failure is reported as every mistake in a user's file is: `path:line:col:
message`, the source line and a caret under the expression that failed."""

from __future__ import annotations

import pytest

from engine.rules import load_rules, reload_rules

FAILING = """\
component boom
  reads ConfigMap
  writes ConfigMap

rule add for cm in ConfigMap where cm.name == "boom":
  set cm.metadata.labels.sum = upper(cm.data.x) + (1 + 2) * 3
rule comprehension for cm in ConfigMap where cm.name == "boom":
  let xs = [v + 1 for v in [cm.data.x]]
  set cm.metadata.labels.n = str(count(xs))
rule query for cm in ConfigMap where cm.name == "boom":
  let found = ConfigMap in cm.namespace where it.data.x > 1
  set cm.metadata.labels.found = str(count(found))
rule target for cm in ConfigMap where cm.name == "boom":
  let missing = ConfigMap[cm.namespace, "missing"]
  set missing.data.y = "1"
rule refused for cm in ConfigMap where cm.name == "boom":
  when cm.data.x == "a": set cm.metadata.labels.bad = {a: cm.data.x}
rule fine for cm in ConfigMap where cm.name == "boom":
  set cm.metadata.annotations.fine = "yes"
"""


@pytest.fixture
def failures(cluster):
    cluster.rules(boom=FAILING)
    cluster.api.create(cluster.admin, {"apiVersion": "v1", "kind": "ConfigMap",
                                       "metadata": {"name": "boom", "namespace": "demo"}, "data": {"x": "a"}})
    result = cluster.run(5)
    assert cluster.get("ConfigMap", "boom")["metadata"]["annotations"]["fine"] == "yes"
    return {f.rule.rpartition("/")[2]: f for f in result.failures}


def shown(failure) -> list[str]:
    """The failure as reported, its path left out."""
    head, *rest = failure.format().split("\n")
    return [head[head.index("boom.rules:"):], *rest]


def test_a_failing_operator_is_pointed_at_with_its_line(failures):
    assert shown(failures["add"]) == [
        "boom.rules:6:49: rule boom/add failed on ConfigMap demo/boom: cannot compute string + number",
        "      set cm.metadata.labels.sum = upper(cm.data.x) + (1 + 2) * 3",
        "                                                    ^"]
    assert (failures["add"].line, failures["add"].col) == (6, 49)
    assert failures["add"].location.endswith("boom.rules:6")


def test_a_failure_inside_a_comprehension_or_a_query_condition_is_pointed_at_there(failures):
    assert shown(failures["comprehension"])[1:] == [
        "      let xs = [v + 1 for v in [cm.data.x]]",
        "                  ^"]
    assert shown(failures["query"])[1:] == [
        "      let found = ConfigMap in cm.namespace where it.data.x > 1",
        "                                                            ^"]


def test_a_failing_statement_is_pointed_at_by_its_keyword(failures):
    assert shown(failures["target"])[0].startswith("boom.rules:15:3: rule boom/target failed on")
    assert shown(failures["target"])[2] == "      ^"


def test_a_write_the_api_server_refuses_is_pointed_at_by_its_statement(failures):
    head, source, caret = shown(failures["refused"])
    assert head.startswith("boom.rules:17:26: rule boom/refused failed on ConfigMap demo/boom: ")
    assert source[4:] == '  when cm.data.x == "a": set cm.metadata.labels.bad = {a: cm.data.x}'
    assert caret == " " * 4 + " " * 25 + "^"


def test_the_generated_code_carries_no_marks_and_places_every_expression(tmp_path):
    (tmp_path / "boom.rules").write_text(FAILING)
    [component] = load_rules(tmp_path).components
    assert not any(mark in component.python_source for mark in "\x1c\x1d\x1e")
    lines = component.python_source.splitlines()
    for number, placed in component.rules[0].colmap.items():
        line = lines[number - 1].encode()
        for start, end, pos in placed.spans:
            assert 0 <= start < end <= len(line) and pos.line and pos.col


def test_a_rule_moved_down_its_file_by_an_edit_above_it_fails_at_its_new_line(cluster):
    cluster.rules(boom=FAILING)
    cluster.api.create(cluster.admin, {"apiVersion": "v1", "kind": "ConfigMap",
                                       "metadata": {"name": "boom", "namespace": "demo"}, "data": {"x": "a"}})
    cluster.run(5)
    folder = cluster.tmp_path / "rules"
    (folder / "boom.rules").write_text(FAILING.replace("\nrule comprehension", "\n# a comment\nrule comprehension"))
    rules, errors = reload_rules(folder, cluster.engine.rules)
    assert errors == []
    cluster.engine.set_rules(rules)
    failures = {f.rule.rpartition("/")[2]: f for f in cluster.run(5).failures}
    assert shown(failures["comprehension"]) == [
        "boom.rules:9:15: rule boom/comprehension failed on ConfigMap demo/boom: cannot compute string + number",
        "      let xs = [v + 1 for v in [cm.data.x]]",
        "                  ^"]
