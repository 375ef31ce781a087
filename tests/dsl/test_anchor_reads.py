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


def set_only(body: str):
    from engine.dsl.reads import anchor_set_only
    return anchor_set_only(load(source(body), "t.rules").decls[0])


def test_paths_only_set_are_told_apart_from_paths_read():
    assert set_only("set x.status.phase = x.spec.nodeName") == (("status", "phase"),)
    # read as a value too (here or a part of it, or what holds it): not only set
    assert set_only("set x.status.phase = x.status.phase + \"!\"") == ()
    assert set_only("set x.status.a = count(x.status)") == ()
    assert set_only("set x.status.a = x.status.a.b") == ()
    # a computed step: the path up to it is what is set
    assert set_only('set x.metadata.annotations[x.spec.nodeName] = "y"') == (
        ("metadata", "annotations"), ("metadata", "metadata", "annotations"))


def test_a_top_level_lookup_read_through_paths_gets_its_read_paths():
    from engine.dsl.reads import lookup_reads
    rule = load(source('''
        let cm = ConfigMap[x.namespace, "c"]
        when cm == null or cm.data.a != "1":
          set x.status.phase = "Pending"
        else:
          set cm.data.b = "2"
        '''), "t.rules").decls[0]
    (found,) = lookup_reads(rule).values()
    assert found.anchor_reads == (("data", "a"), ("data", "b"))
    assert found.anchor_set_only == (("data", "b"),)


def test_a_lookup_used_whole_or_not_at_the_top_keeps_a_plain_dependency():
    from engine.dsl.reads import lookup_reads
    whole = load(source('''
        let cm = ConfigMap[x.namespace, "c"]
        let same = cm
        set x.status.phase = same.data.a
        '''), "t.rules").decls[0]
    nested = load(source('''
        when x.spec.nodeName != null:
          let cm = ConfigMap[x.namespace, "c"]
          set x.status.phase = cm.data.a
        '''), "t.rules").decls[0]
    assert lookup_reads(whole) == {} and lookup_reads(nested) == {}


def test_the_endpoints_rule_reads_only_what_it_sets_of_its_endpoints():
    from engine.dsl.reads import lookup_reads
    comp, _text = compile_file(RULES / "endpoints.rules")
    assert "ctx.lookup_read(" in comp.python_source
    module = load((RULES / "endpoints.rules").read_text(), "endpoints.rules")
    rule = next(d for d in module.decls if d.name == "endpoints")
    (found,) = lookup_reads(rule).values()
    assert found.anchor_set_only == found.anchor_reads  # `ep == null`, and its sets
    assert ("subsets",) in found.anchor_reads


def test_a_guard_ends_a_body_of_lets_and_its_reads_are_the_dormant_ones():
    from engine.dsl.reads import anchor_paths

    def paths(body: str, where: str = ""):
        _all, _set_only, where_reads, guard_reads = anchor_paths(load(source(body, where), "t.rules").decls[0])
        return where_reads, guard_reads

    guarded = """
        let n = x.spec.priority
        when n > 1 and x.status.phase == "Running":
          set x.status.message = x.spec.nodeName
    """
    assert paths(guarded, where="x.spec.hostname != null") == (
        (("spec", "hostname"),), (("spec", "hostname"), ("spec", "priority"), ("status", "phase")))
    assert paths(guarded) == (None, (("spec", "priority"), ("status", "phase")))
    # not guards: an `else`, a write before the `when`, a statement after it
    assert paths("""
        when x.spec.priority > 1:
          set x.status.message = "a"
        else:
          set x.status.message = "b"
    """) == (None, None)
    assert paths("""
        set x.status.reason = "r"
        when x.spec.priority > 1:
          set x.status.message = "a"
    """) == (None, None)
    assert paths("""
        when x.spec.priority > 1:
          set x.status.message = "a"
        set x.status.reason = "r"
    """) == (None, None)
