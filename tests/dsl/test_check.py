"""The checker, and the error goldens of the whole front end.

tests/dsl/golden/errors/NAME.rules holds a broken file; NAME.err the exact
report of `load` (all errors, with source line and caret).  Regenerate after
an intended change:

    RECON_UPDATE_GOLDEN=1 .venv/bin/pytest tests/dsl -q

The checker gets a small stand-in builtin table with the shape of
engine.dsl.builtins.BUILTINS, so that these goldens do not move when the
real table grows; the last tests hold the stand-in to the real table.
"""

from __future__ import annotations

import os
import pathlib

import attrs
import pytest

from engine.dsl import check, parser
from engine.errors import SourceErrors

GOLDEN = pathlib.Path(__file__).with_name("golden")
ERRORS = GOLDEN / "errors"
UPDATE = os.environ.get("RECON_UPDATE_GOLDEN") == "1"


@attrs.frozen
class StandIn:
    """The shape of engine.dsl.builtins.Builtin."""

    name: str
    fn: object
    min_args: int
    max_args: int | None
    item_arg: int | None
    doc: str = ""


def _table(*rows) -> dict[str, StandIn]:
    return {name: StandIn(name, None, low, high, item) for name, low, high, item in rows}


BUILTINS = _table(
    ("count", 1, 2, 1), ("sum", 1, 2, 1), ("sort", 1, 2, 1), ("sort_desc", 1, 2, 1),
    ("first", 1, 2, 1), ("filter", 2, 2, 1), ("take", 2, 2, None), ("keys", 1, 1, None),
    ("owned_by", 2, 2, None), ("deleting", 1, 1, None), ("qty", 1, 1, None),
    ("cpu_millis", 1, 1, None), ("default", 2, 2, None), ("format", 1, None, None),
)
HEADER = "component c\n  reads Pod, Node\n  writes Pod, Pod.status\n\n"


def messages(body: str, header: str = HEADER, decl: str = "rule r for p in Pod:") -> list[str]:
    """Checker and syntax messages of one declaration whose body is `body`."""
    text = header + decl + "\n" + "".join(f"  {line}\n" for line in body.splitlines())
    try:
        check.load(text, "t.rules", BUILTINS)
    except SourceErrors as e:
        return [err.message for err in e.errors]
    return []


# ------------------------------------------------------------ goldens

@pytest.mark.parametrize("name", sorted(p.stem for p in ERRORS.glob("*.rules")))
def test_broken_file_reports_its_golden_errors(name):
    with pytest.raises(SourceErrors) as info:
        check.load((ERRORS / f"{name}.rules").read_text(), f"{name}.rules", BUILTINS)
    actual = str(info.value) + "\n"
    path = ERRORS / f"{name}.err"
    if UPDATE or not path.exists():
        path.write_text(actual)
    assert actual == path.read_text(), f"{name}.err differs; RECON_UPDATE_GOLDEN=1 rewrites it"


def test_there_are_enough_error_goldens():
    assert len(list(ERRORS.glob("*.err"))) >= 15


def test_a_file_with_three_mistakes_reports_all_three():
    text = (ERRORS / "three_mistakes.rules").read_text()
    with pytest.raises(SourceErrors) as info:
        check.load(text, "three.rules", BUILTINS)
    assert [e.line for e in info.value.errors] == [5, 8, 11]


@pytest.mark.parametrize("name", sorted(p.stem for p in GOLDEN.glob("*.rules")))
def test_valid_golden_files_have_no_checker_errors(name):
    source = (GOLDEN / f"{name}.rules").read_text()
    assert check.check(parser.parse(source, name), source, BUILTINS) == []


# -------------------------------------------------------------- names

def test_unknown_name_suggests_the_closest_visible_one():
    assert messages("let pods = Pod\nlet n = count(pod)") == ["unknown name 'pod'; did you mean 'pods'?"]


def test_names_are_visible_only_after_their_let_and_inside_their_block():
    assert messages("let a = b\nlet b = 1") == ["unknown name 'b'"]
    assert messages("when true:\n  let inner = 1\nlet x = inner") == ["unknown name 'inner'"]


def test_now_is_always_defined_and_it_only_where_bound():
    assert messages("let age = now - p.metadata.creationTimestamp") == []
    assert messages("let x = Pod where it.spec.nodeName == null") == []
    assert messages("let x = sort(Pod, it.metadata.name)") == []
    assert messages("let x = count(Pod, it)\nlet y = default(p, it)") == [
        "'it' is only defined in a query's where clause or in a per-item argument (like the key of sort)"]


def test_nested_it_refers_to_the_innermost_binding():
    assert messages("let x = Pod where count(Node where it.metadata.name == \"n\") > 0") == []


def test_for_and_comprehension_variables_are_scoped():
    assert messages("for c in p.spec.containers:\n  let n = c.name\nlet m = c") == ["unknown name 'c'"]
    assert messages("let ns = [c.name for c in p.spec.containers if c.ready]\nlet m = c") == ["unknown name 'c'"]


def test_let_redefinition_in_the_same_block_but_shadowing_in_a_nested_one():
    assert messages("let x = 1\nlet x = 2") == [
        "'x' is already defined in this block (line 6); choose another name"]
    assert messages("let x = 1\nwhen true:\n  let x = 2") == []


def test_duplicate_declaration_names_per_kind_of_declaration():
    text = HEADER + ("rule a for p in Pod: delete p\nrule a for p in Pod: delete p\n"
                     "filter A(pod, node): reject \"x\"\nscore A(pod, node): return 1\n")
    with pytest.raises(SourceErrors) as info:
        check.load(text, "t.rules", BUILTINS)
    assert [e.message for e in info.value.errors] == ["duplicate rule 'a'; the first one is on line 5"]


# ---------------------------------------------------------- functions

def test_unknown_function_suggests_a_builtin():
    assert messages("let n = cout(Pod)") == ["unknown function 'cout'; did you mean 'count'?"]


def test_arity_messages_for_exact_range_and_open_ended_builtins():
    assert messages("let a = take(Pod)\nlet b = count(Pod, it, 1)\nlet c = format()") == [
        "take() takes 2 arguments, got 1",
        "count() takes 1 to 2 arguments, got 3",
        "format() takes at least 1 argument, got 0",
    ]


def test_a_variable_is_not_a_function_and_a_function_is_not_a_value():
    assert messages("let f = 1\nlet x = f(2)\nlet y = count") == [
        "'f' is a variable, not a function", "'count' is a function; call it like count(...)"]


def test_checker_uses_the_real_builtin_table_by_default():
    pytest.importorskip("engine.dsl.builtins")
    source = (GOLDEN / "replicaset.rules").read_text()
    assert check.check(parser.parse(source, "r.rules"), source) == []


# -------------------------------------------------------- permissions

def test_reads_cover_the_anchor_queries_and_lookups():
    header = "component c\n  reads ReplicaSet\n\n"
    assert messages('let a = Pod\nlet b = Node["n"]', header, "rule r for rs in ReplicaSet:") == [
        "Pod is not in this component's reads; add it to the reads line",
        "Node is not in this component's reads; add it to the reads line",
    ]
    assert messages("delete p", header) == [
        "Pod is not in this component's reads; add it to the reads line",
        "deleting Pod needs 'Pod' in this component's writes; add it to the writes line",
    ]


def test_a_kind_close_to_one_the_component_reads_is_suggested_as_a_typo():
    header = "component c\n  reads qa.example/Greeting, ConfigMap\n\n"
    assert messages("let g = qa.example/Greting", header, "rule r for cm in ConfigMap:") == [
        "qa.example/Greting is not in this component's reads: did you mean qa.example/Greeting?"]
    assert messages('let g = Configmap["ns", "x"]', header, "rule r for cm in ConfigMap:") == [
        "Configmap is not in this component's reads: did you mean ConfigMap?"]


def test_group_qualified_kinds_match_unqualified_uses():
    header = "component c\n  reads apps/Deployment\n  writes apps/Deployment\n\n"
    assert messages('let d = Deployment["ns", "x"]\nset d.spec.replicas = 1', header,
                    "rule r for d0 in apps/Deployment:") == []
    assert messages("let d = example.com/Deployment", header, "rule r for d0 in Deployment:") == [
        "example.com/Deployment is not in this component's reads; add it to the reads line"]


def test_set_needs_writes_for_spec_and_writes_status_for_status():
    header = "component c\n  reads Pod\n\n"
    assert messages("set p.spec.x = 1\nset p.status.y = 2\nset p[\"status\"].z = 3", header) == [
        "setting Pod fields needs 'Pod' in this component's writes; add it to the writes line",
        "setting Pod status needs 'Pod.status' in this component's writes; add it to the writes line",
        "setting Pod status needs 'Pod.status' in this component's writes; add it to the writes line",
    ]
    assert messages("set p.status.y = 2", "component c\n  reads Pod\n  writes Pod\n\n") == [
        "setting Pod status needs 'Pod.status' in this component's writes; add it to the writes line"]


def test_static_kinds_flow_through_lets_loops_indexes_and_builtins():
    header = "component c\n  reads Pod, Node\n\n"
    body = ("let pods = Pod\nlet one = first(pods)\nlet some = take(sort(pods, it.x), 2)\n"
            "let mine = [q for q in pods if q.x]\nset one.spec.a = 1\nset pods[0].spec.b = 1\n"
            "for s in some:\n  delete s\nfor m in mine:\n  delete m\ndelete Node[\"n\"]")
    assert messages(body, header, "rule r for n0 in Node:") == [
        "setting Pod fields needs 'Pod' in this component's writes; add it to the writes line",
        "setting Pod fields needs 'Pod' in this component's writes; add it to the writes line",
        "deleting Pod needs 'Pod' in this component's writes; add it to the writes line",
        "deleting Pod needs 'Pod' in this component's writes; add it to the writes line",
        "deleting Node needs 'Node' in this component's writes; add it to the writes line",
    ]


def test_values_of_unknown_kind_are_left_to_the_apiserver():
    header = "component c\n  reads Pod\n\n"
    assert messages("let x = default(p.spec.owner, p)\ndelete x\nset x.spec.a = 1", header) == []


def test_create_needs_writes_of_its_kind():
    assert messages('create Node from {} with name: "n"') == [
        "creating Node needs 'Node' in this component's writes; add it to the writes line"]


def test_a_broken_header_skips_permission_checks_but_not_names():
    text = "component c\n  reads Pod Node\n\nrule r for p in Pod:\n  let x = y\n"
    with pytest.raises(SourceErrors) as info:
        check.load(text, "t.rules", BUILTINS)
    assert [e.message for e in info.value.errors] == [
        "expected ',' or the end of the line, found 'Node'", "unknown name 'y'"]


# ------------------------------------------------ statements in place

def test_return_only_in_scores_and_reject_only_in_filters():
    assert messages("return 1\nreject \"x\"") == [
        "'return' can only be used in a score, not in a rule",
        "'reject' can only be used in a filter, not in a rule",
    ]
    assert messages("set pod.x = 1\nreturn 1", decl="filter F(pod, node):") == [
        "'set' can only be used in a rule, not in a filter",
        "'return' can only be used in a score, not in a filter",
    ]


def test_an_unknown_normalize_mode_is_reported_with_a_suggestion():
    assert messages("return 1", decl="score S(pod, node) normalize revers:") == [
        "unknown normalize mode 'revers'; did you mean 'reverse'?"]
    assert messages("return 1", decl="score S(pod, node) normalize minmax:") == []


def test_a_score_must_return_a_value():
    assert messages("let x = 1", decl="score S(pod, node):") == [
        "score 'S' never returns a value; add 'return EXPR'"]
    assert messages("when true:\n  return 1", decl="score S(pod, node):") == []


def test_create_options_are_known_and_given_once():
    assert messages('create Pod from {} with nme: "a", owner: p, owner: p') == [
        "create needs a name or a name_prefix: `with name: …` or `with name_prefix: …`, or metadata.name "
        "(generateName) in the template",  # (the misspelt option leaves it without)
        "unknown create option 'nme'; did you mean 'name'?", "option 'owner' is given twice"]


def test_create_of_a_template_that_visibly_has_no_name_is_an_error():
    need = ("create needs a name or a name_prefix: `with name: …` or `with name_prefix: …`, or metadata.name "
            "(generateName) in the template")
    assert messages('create Pod from {spec: {}}') == [need]
    assert messages('create Pod from {metadata: {labels: {a: "b"}}}') == [need]
    for named in ('create Pod from {metadata: {name: "a"}}', 'create 2 Pod from {metadata: {generateName: "a-"}}',
                  'create Pod from {} with name: "a"', 'create 2 Pod from {} with name_prefix: "a-"',
                  'create Pod from p.spec',  # (computed: it may hold one; the API server decides)
                  'create Pod from {metadata: p.metadata}'):
        assert messages(named) == [], named


def test_a_lookup_of_a_built_in_kind_takes_the_values_of_its_scope():
    assert messages('let x = Pod["web"]') == ["Pod is namespaced: look it up as Pod[namespace, name]"]
    assert messages('let x = Node["default", "n"]', header=HEADER.replace("reads Pod", "reads Pod, Node")) == [
        "Node is cluster-scoped: look it up as Node[name]"]
    assert messages('let x = Pod["default", "web"]') == []
    assert messages('let x = example.com/Widget["web"]',
                    header=HEADER.replace("reads Pod", "reads Pod, example.com/Widget")) == []  # (its CRD's scope)


def test_lookup_takes_at_most_two_values():
    assert messages('let x = Pod["a", "b", "c"]') == [
        "Pod[...] takes a name, or a namespace and a name; got 3 values"]


# -------------------------------------------------------------- types

def test_certain_type_mismatches_are_errors():
    body = ('let a = "a" + 1\nlet b = not [1]\nlet c = count(3)\nlet d = 5s == "5s"\n'
            'let e = 1 < "2"\nlet f = p.x in 3\nlet g = -"x"\nrequeue after "1m"')
    assert messages(body) == [
        "cannot use '+' on a string and a number",
        "'not' needs a boolean, got a list",
        "count() needs a list, got a number",
        "comparing a duration with a string is always false",
        "cannot compare a number with a string using '<'",
        "'in' needs a list, map or string on the right, got a number",
        "cannot negate a string",
        "'requeue after' needs a duration like 30s, got a string",
    ]


def test_type_checks_never_judge_variables_or_valid_mixes():
    body = ('let s = "a"\nlet a = s + 1\nlet b = not p.spec.containers\nlet c = 2 * 30s + 1m\n'
            'let d = "ab" * 2\nlet e = [1] + [2]\nlet f = 90s > 1\nlet g = count(null)\n'
            'let h = p.x == null\nlet i = "a" in "abc"\nrequeue after 2 * 15s')
    assert messages(body) == []


# ------------------------------------------------- the real builtin table

def test_stand_in_builtins_agree_with_the_real_table():
    real = pytest.importorskip("engine.dsl.builtins").BUILTINS
    for name, stand_in in BUILTINS.items():
        assert name in real, name
        got = (real[name].min_args, real[name].max_args, real[name].item_arg)
        assert got == (stand_in.min_args, stand_in.max_args, stand_in.item_arg), name


def test_builtins_the_checker_knows_by_name_exist():
    real = pytest.importorskip("engine.dsl.builtins").BUILTINS
    assert check.SAME_LIST | check.ONE_OF | check.LIST_ARG <= set(real)


def test_builtins_named_like_keywords_are_callable():
    assert messages("let ready = filter(Pod, it.status.phase == \"Running\")\nlet n = count(ready)") == []


REPO = pathlib.Path(__file__).parents[2]
SHIPPED = sorted(p for folder in ("rules", "engine/defaults/rules") for p in (REPO / folder).glob("**/*.rules"))


@pytest.mark.parametrize("path", SHIPPED, ids=[str(p.relative_to(REPO)) for p in SHIPPED])
def test_shipped_rule_files_pass_the_checker(path):
    pytest.importorskip("engine.dsl.builtins")
    check.load(path.read_text(), str(path.relative_to(REPO)))


def test_a_kind_of_a_built_in_group_that_is_no_built_in_kind_is_refused_with_the_closest_one():
    header = "component c\n  reads Pod, apps/Deploymnt, batch/Job\n  writes Pod\n\n"
    assert messages("let d = apps/Deploymnt[\"ns\", \"d\"]", header=header) == [
        "unknown kind apps/Deploymnt: the built-in group apps has no kind Deploymnt: did you mean apps/Deployment?",
        "unknown kind apps/Deploymnt: the built-in group apps has no kind Deploymnt: did you mean apps/Deployment?"]
    assert messages("delete p", header="component c\n  reads Pod, web/Widget\n  writes Pod\n\n") == [
        "unknown kind web/Widget: web is no built-in group, and a CustomResourceDefinition's group has a dot "
        "(example.com)"]
    # (a bare kind may name a custom kind of any group, and a group with a dot is a custom one)
    assert messages("delete p", header="component c\n  reads Pod, Widget, example.com/Widget\n  writes Pod\n\n") == []


def test_a_misspelt_anchor_kind_is_reported_once_not_again_at_each_write():
    assert messages("set p.status.phase = \"Running\"\ndelete p", decl="rule r for p in Podd:") == [
        "Podd is not in this component's reads: did you mean Pod?"]
