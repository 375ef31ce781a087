"""Which paths of its anchor object a rule reads: the changes to that object that wake it again."""

from __future__ import annotations

import pathlib
import textwrap

from engine.dsl.check import load
from engine.dsl.compile import compile_module
from engine.dsl.reads import anchor_reads
from engine.rules import compile_file
from engine.runtime import POD_FIELDS

RULES = pathlib.Path(__file__).resolve().parents[2] / "rules"
HEADER = "component c\n  reads Pod, ConfigMap, apps/ReplicaSet\n  writes Pod, Pod.status, ConfigMap\n\n"


def source(body: str, where: str = "") -> str:
    decl = f"rule r for x in Pod{' where ' + where if where else ''}:\n"
    return HEADER + decl + textwrap.indent(textwrap.dedent(body).strip("\n"), "  ") + "\n"


def reads(body: str, where: str = ""):
    return anchor_reads(load(source(body, where), "t.rules").decls[0])


def real(file: str, rule: str):
    comp, _text = compile_file(RULES / file)
    return next(d for d in comp.rules if d.name == rule).anchor_reads


def test_paths_of_the_where_clause_the_body_and_set_targets_are_read():
    assert reads("set x.status.phase = x.spec.nodeName", where='x.spec.priority > 0') == (
        ("spec", "nodeName"), ("spec", "priority"), ("status", "phase"))


def test_the_compiled_rule_carries_its_reads():
    text = source("set x.status.phase = x.spec.nodeName")
    decl = compile_module(load(text, "t.rules"), text).rules[0]
    assert decl.anchor_reads == (("spec", "nodeName"), ("status", "phase"))


def test_a_metadata_shortcut_counts_as_both_spellings():
    assert reads('set x.status.message = x.name') == (("metadata", "name"), ("name",), ("status", "message"))


def test_a_computed_index_reads_the_whole_value_before_it():
    assert reads("for i in range(2):\n  set x.status.message = x.spec.a[i].b") == (
        ("spec", "a"), ("status", "message"))


def test_the_object_used_whole_reads_all_of_it():
    assert reads("let y = x\nset x.status.message = y.spec.a") is None
    assert reads("set x.status.message = str(count([x]))") is None
    assert reads("when x == ConfigMap[x.namespace, 'c']:\n  set x.status.message = 'a'") is None
    assert reads("set x.status.message = str(count(x))") is None  # a builtin the table does not know


def test_builtins_given_the_object_whole_count_as_the_paths_they_read():
    assert reads("when deleting(x):\n  set x.status.message = 'a'") == (
        ("metadata", "deletionTimestamp"), ("status", "message"))
    assert reads("set x.status.message = str(count(ConfigMap in 'demo' where controlled_by(it, x)))") == (
        ("metadata", "uid"), ("status", "message"))
    assert reads("when matches({'app': 'a'}, x):\n  set x.status.message = 'a'") == (
        ("metadata", "labels"), ("status", "message"))
    assert reads("set x.status.message = str(count(container_statuses(x, now)))") == tuple(
        sorted({*POD_FIELDS, ("status", "message")}))


def test_statements_that_take_the_object_whole_count_as_fixed_paths():
    assert reads("delete x") == (
        ("metadata", "deletionGracePeriodSeconds"), ("metadata", "deletionTimestamp"), ("metadata", "finalizers"))
    reference = (("apiVersion",), ("kind",), ("metadata", "name"), ("metadata", "namespace"), ("metadata", "uid"))
    assert reads('event "R" on x: "m"') == reference
    assert reads("create ConfigMap from {data: {a: 'b'}} with name: 'c', namespace: 'demo', owner: x") == reference


def test_the_clock_does_not_make_the_object_whole():
    assert reads("when time(x.metadata.creationTimestamp) + 10s < now:\n  delete x") == (
        ("metadata", "creationTimestamp"), ("metadata", "deletionGracePeriodSeconds"),
        ("metadata", "deletionTimestamp"), ("metadata", "finalizers"))


def test_real_rules_read_only_what_they_look_at():
    leftover = real("endpoints.rules", "leftover")
    assert leftover is not None and not any(p[0] == "status" for p in leftover)
    assert ("metadata", "annotations") in leftover
    status = real("replicaset.rules", "status")
    assert status is not None and ("spec", "selector") in status
    assert ("status", "replicas") in status
