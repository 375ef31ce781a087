"""The parser: rule source -> AST, and syntax errors in words.

Golden files: tests/dsl/golden/NAME.rules is parsed and dumped with
ast.dump and compared with NAME.ast.  Regenerate after an intended change:

    RECON_UPDATE_GOLDEN=1 .venv/bin/pytest tests/dsl -q
"""

from __future__ import annotations

import logging
import os
import pathlib
import re
import textwrap

import pytest

from engine.dsl import ast, parser
from engine.dsl.ast import Attr, Binary, Call, Index, KindRef, Literal, Name, Pos, Unary
from engine.errors import SourceErrors

GOLDEN = pathlib.Path(__file__).with_name("golden")
UPDATE = os.environ.get("RECON_UPDATE_GOLDEN") == "1"
HEADER = "component c\n  reads Pod\n\n"


def golden_compare(path: pathlib.Path, actual: str) -> None:
    if UPDATE or not path.exists():
        path.write_text(actual)
    assert actual == path.read_text(), f"{path.name} differs; RECON_UPDATE_GOLDEN=1 rewrites it"


def parse_rule_body(body: str) -> tuple:
    """The statements of one rule whose body is `body` (indented by 2)."""
    text = HEADER + "rule r for p in Pod:\n" + "".join(f"  {line}\n" for line in body.splitlines())
    return parser.parse(text, "t.rules").decls[0].body


def expr(source: str):
    return parse_rule_body(f"let x = {source}")[0].value


def syntax_errors(text: str) -> list[str]:
    with pytest.raises(SourceErrors) as info:
        parser.parse(text, "t.rules")
    return [e.message for e in info.value.errors]


# ------------------------------------------------------------ goldens

@pytest.mark.parametrize("name", sorted(p.stem for p in GOLDEN.glob("*.rules")))
def test_golden_file_parses_to_its_ast_dump(name):
    source = (GOLDEN / f"{name}.rules").read_text()
    module = parser.parse(source, f"{name}.rules")
    golden_compare(GOLDEN / f"{name}.ast", ast.dump(module))


def test_every_construct_has_a_golden():
    text = "".join(p.read_text() for p in GOLDEN.glob("*.ast"))
    for cls in ("Module", "Component", "KindRef", "WriteRef", "Rule", "Filter", "Score",
                "Let", "When", "For", "Set", "Create", "Option", "Delete", "Event", "Requeue",
                "Reject", "Return", "Literal", "Duration", "ListLit", "MapLit", "Name",
                "Attr", "Index", "Call", "Unary", "Binary", "Cond", "Comprehension",
                "Query", "Lookup"):
        assert re.search(rf"\b{cls}\b", text), cls


# ---------------------------------------------------------- structure

def test_precedence_from_or_down_to_unary_minus():
    got = expr("not a or b and c == d + e * -f")
    assert ast.dump(got, positions=False) == ast.dump(
        Binary("or", Unary("not", Name("a")), Binary("and", Name("b"), Binary(
            "==", Name("c"), Binary("+", Name("d"), Binary("*", Name("e"), Unary("-", Name("f"))))))),
        positions=False)


def test_arithmetic_is_left_associative():
    got = expr("a - b - c")
    assert got.left == Binary("-", Name("a", Pos(5, 11)), Name("b", Pos(5, 15)), Pos(5, 13))


def test_not_in_is_one_operator():
    assert expr("a not in b").op == "not in"
    assert expr("not a in b") == Unary("not", Binary("in", Name("a", Pos(5, 15)), Name("b", Pos(5, 20)),
                                                     Pos(5, 17)), Pos(5, 11))


def test_conditional_expression_binds_loosest():
    got = expr("a + 1 if ok else b or c")
    assert isinstance(got, ast.Cond) and got.test == Name("ok", Pos(5, 20))
    assert got.orelse.op == "or"


def test_postfix_chain_of_fields_indexes_and_calls():
    got = expr('f(x).spec["a"][0]')
    assert isinstance(got, Index) and got.index == Literal(0, Pos(5, 26))
    assert isinstance(got.obj, Index) and isinstance(got.obj.obj, Attr)
    assert got.obj.obj.obj == Call("f", (Name("x", Pos(5, 13)),), Pos(5, 11))


def test_positions_point_at_first_token_operator_field_name_and_bracket():
    got = expr("a.b[c] + 1")
    assert got.pos == Pos(5, 18)          # Binary: the operator
    assert got.left.pos == Pos(5, 14)     # Index: the bracket
    assert got.left.obj.pos == Pos(5, 13)  # Attr: the field name
    assert got.left.obj.obj.pos == Pos(5, 11)


def test_query_extends_as_far_right_as_an_expression_can():
    got = expr('Pod in ns where it.a == 1 and it.b if x else y')
    assert isinstance(got, ast.Query) and got.namespace == Name("ns", Pos(5, 18))
    assert isinstance(got.where, ast.Cond)


def test_query_in_parentheses_is_an_operand():
    got = expr("(Pod where it.a) + (Node)")
    assert isinstance(got, Binary)
    assert got.right == ast.Query(KindRef("Node", None, Pos(5, 31)), None, None, Pos(5, 31))


def test_lookup_takes_a_name_or_a_namespace_and_a_name():
    assert len(expr('Node["n1"]').args) == 1
    assert len(expr('Pod["ns", "p"]').args) == 2
    assert expr('apps/Deployment["ns", "d"]').kind == KindRef("Deployment", "apps", Pos(5, 11))


def test_group_qualified_kind_is_one_token_but_division_still_works():
    assert expr("example.com/Widget").kind == KindRef("Widget", "example.com", Pos(5, 11))
    assert expr("a / b").op == "/"


def test_durations_are_seconds():
    cases = {"40s": 40, "5m": 300, "1h": 3600, "1h30m": 5400, "100ms": 0.1, "2d": 172800}
    for text, seconds in cases.items():
        assert expr(text) == ast.Duration(float(seconds), Pos(5, 11)), text


def test_numbers_and_constants():
    assert [i.value for i in expr("[1, 2.5, 1e3, true, false, null]").items] == [1, 2.5, 1000.0, True, False, None]
    assert type(expr("7").value) is int


def test_string_escapes_in_both_quotes():
    assert expr(r'"a\"b\\c\nd\te"').value == 'a"b\\c\nd\te'
    assert expr(r"'it\'s'").value == "it's"
    assert expr("'say \"hi\"'").value == 'say "hi"'


def test_map_keys_are_strings_whether_bare_or_quoted():
    got = expr('{app: 1, "k-2": 2, Kind: 3}')
    assert [k for k, _ in got.items] == ["app", "k-2", "Kind"]


def test_comprehension_with_and_without_condition():
    got = expr("[c.name for c in cs if c.ok]")
    assert got.var == "c" and got.iter == Name("cs", Pos(5, 28)) and got.cond is not None
    assert expr("[c for c in cs]").cond is None


def test_else_when_chain_nests_when_in_orelse():
    (stmt,) = parse_rule_body("when a: delete p\nelse when b: delete p\nelse: requeue after 1s")
    inner = stmt.orelse[0]
    assert isinstance(inner, ast.When) and len(stmt.orelse) == 1
    assert isinstance(inner.orelse[0], ast.Requeue)


def test_create_options_inline_and_in_an_indented_block_are_the_same():
    inline = parse_rule_body('create Pod from t with name: "a", owner: p')[0]
    block = parse_rule_body('create Pod from t with\n  name: "a"\n  owner: p')[0]
    assert [o.name for o in inline.options] == [o.name for o in block.options] == ["name", "owner"]
    assert inline.count is None


def test_create_count_is_an_additive_expression():
    got = parse_rule_body("create n - 1 Pod from t")[0]
    assert got.count.op == "-" and got.kind.kind == "Pod"


def test_set_target_is_a_path_from_a_variable():
    got = parse_rule_body('set p.metadata.labels["app"] = "web"')[0]
    assert isinstance(got.target, Index) and isinstance(got.target.obj.obj.obj, Name)


def test_score_weight_defaults_to_one():
    text = HEADER + "score A(pod, node): return 1\nscore B(pod, node) weight 3: return 1\n"
    assert [d.weight for d in parser.parse(text, "t.rules").decls] == [1, 3]


def test_score_normalize_mode_follows_the_weight_and_defaults_to_none():
    text = (HEADER + "score A(pod, node): return 1\nscore B(pod, node) weight 2 normalize reverse: return 1\n"
            + "score C(pod, node) normalize max: return normalize\n")
    assert [(d.weight, d.normalize) for d in parser.parse(text, "t.rules").decls] == [
        (1, None), (2, "reverse"), (1, "max")]


def test_keywords_are_field_names_after_a_dot_and_soft_keywords_are_names():
    got = expr("rule_.from.weight + weight + after")
    assert got.left.left.name == "weight" and got.left.left.obj.name == "from"


def test_header_lines_may_repeat_and_status_is_a_flag():
    text = "component c\n  reads Pod\n  reads apps/Deployment, Node\n  writes Pod, Pod.status\n"
    comp = parser.parse(text, "t.rules").component
    assert [str(r) for r in comp.reads] == ["Pod", "apps/Deployment", "Node"]
    assert [w.status for w in comp.writes] == [False, True]


def test_component_without_permissions_and_file_without_declarations():
    module = parser.parse("component lonely", "t.rules")
    assert module.component.reads == () and module.decls == ()


def test_windows_line_endings_and_missing_final_newline_parse_the_same():
    text = HEADER + "rule r for p in Pod:\n  delete p\n"
    crlf = parser.parse(text.replace("\n", "\r\n").rstrip(), "t.rules")
    assert ast.dump(crlf) == ast.dump(parser.parse(text, "t.rules"))


def test_tabs_indent_a_block():
    assert parser.parse(HEADER + "rule r for p in Pod:\n\tdelete p\n", "t.rules").decls[0].body


def test_nodes_are_frozen_and_hashable():
    module = parser.parse((GOLDEN / "replicaset.rules").read_text(), "x.rules")
    assert hash(module) == hash(parser.parse((GOLDEN / "replicaset.rules").read_text(), "x.rules"))
    with pytest.raises(AttributeError):
        module.path = "other"


def test_dump_prints_flat_nodes_on_one_line_and_can_omit_positions():
    assert ast.dump(Name("x", Pos(1, 2))) == "Name(id='x') @1:2\n"
    assert ast.dump(Call("f", (), Pos(1, 1)), positions=False) == "Call(func='f', args=())\n"
    assert ast.dump(Unary("-", Literal(1)), positions=False) == (
        "Unary\n  op: '-'\n  operand: Literal(value=1)\n")


# ------------------------------------------------------------- errors

def test_syntax_errors_are_in_words_never_token_names():
    broken = [
        "rule r for p in Pod:\n  delete p\n",
        HEADER + "rule r for p in Pod\n  delete p\n",
        HEADER + "rule r for p in Pod:\n  let x = (1, 2\n",
        HEADER + "rule r for p in Pod:\n  let = 1\n",
        HEADER + "rule r for p in Pod:\n  create Pod p\n",
        HEADER + "rule r for p in Pod:\n  let x = [1 2]\n",
        HEADER + "rule r for p in Pod:\n  let x = {a 1}\n",
        HEADER + "filter F(pod node): reject 1\n",
        HEADER + "rule r for p in Pod:\n  set p.x == 1\n",
        HEADER + "rule r for p in Pod:\n  let x = a.\n",
        HEADER + "rule r for p in Pod:\n  requeue 5s\n",
        HEADER + "rule r for p in Pod:\n  let x = 1 if a\n",
        HEADER + "rule r for p in Pod:\n  let x = a not b\n",
        HEADER + "let x = 1\n",
        "component\n",
    ]
    for text in broken:
        for message in syntax_errors(text):
            assert not re.search(r"\b(_NL|_INDENT|_DEDENT|[A-Z]+_[A-Z]+|__ANON\w*|RPAR|LSQB|COLON|\$END)\b",
                                 message), message


def test_an_unexpected_opening_bracket_is_named_as_unexpected_not_as_never_closed():
    # (a create without its `from`: the map is closed, the keyword is missing)
    text = HEADER + 'rule r for p in Pod:\n  create ConfigMap {metadata: {name: "x"}, data: {a: "b"}}\n'
    assert syntax_errors(text) == ["expected 'from', found '{'"]
    # a bracket left open on its line is still the likely cause of the error after it
    assert syntax_errors(HEADER + "rule r for p in Pod:\n  when count(p > 1:\n    delete p\n") == [
        "'(' is never closed"]


def test_every_broken_statement_of_a_file_is_reported_once():
    text = HEADER + (
        "rule a for p in Pod:\n  let x = 1 1\n  let y = ]\n  let ok = 1\n"
        "rule b for p in Pod\n  let z = 1\n"
        "rule c for p in Pod:\n  when x:\n  let w = (\n")
    errors = syntax_errors(text)
    assert errors == [
        "expected the end of the line, found '1'",
        "expected an expression, found ']'",
        "expected ':' after the rule header",
        "expected an indented block after ':'",
        "'(' is never closed",
    ]


def test_a_file_with_only_good_declarations_after_a_bad_one_keeps_them():
    text = HEADER + "rule a for p in Pod:\n  let x = ]\nrule b for p in Pod:\n  delete p\n"
    module, errors = parser.parse_partial(text, "t.rules")
    assert [d.name for d in module.decls] == ["b"] and len(errors) == 1
    assert module.component is not None


def test_error_carries_path_line_column_and_caret():
    with pytest.raises(SourceErrors) as info:
        parser.parse(HEADER + "rule r for p in Pod:\n  let x = 1 +\n", "dir/t.rules")
    assert str(info.value) == (
        "dir/t.rules:5:14: expected an expression\n"
        "      let x = 1 +\n"
        "                 ^")


# ------------------------------------------------------ the grammar

def test_grammar_is_lalr_without_conflicts():
    from lark import Lark, logger  # the grammar file itself is under test here

    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        Lark(parser.GRAMMAR.read_text(), parser="lalr", start="module", debug=True,
             postlex=parser._Indenter(), maybe_placeholders=True)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    assert not [r.getMessage() for r in records if "conflict" in r.getMessage().lower()]


def test_grammar_comments_every_rule_group():
    text = parser.GRAMMAR.read_text()
    assert text.count("//") > 30


def test_unchanged_text_is_parsed_once():
    text = HEADER + "rule cached for p in Pod:\n  delete p\n"
    assert parser.parse(text, "t.rules") is parser.parse(text, "t.rules")


# ------------------------------------------------------ the reference

DOCS = pathlib.Path(__file__).parents[2] / "docs" / "rules.md"


def _doc_blocks() -> list[str]:
    blocks = re.findall(r"^( *)```\n(.*?)^ *```", DOCS.read_text(), re.S | re.M)
    return [textwrap.dedent(body) for _, body in blocks]


def _parses_as_statements(block: str) -> bool:
    try:
        parse_rule_body(block)
        return True
    except SourceErrors:
        return False


def test_every_example_in_the_language_reference_parses():
    blocks = _doc_blocks()
    assert len(blocks) > 20
    for block in blocks:
        if re.search(r"\b(BODY|KIND|COUNT|REASON)\b|\.rules:", block):
            continue  # a syntax template or an error report
        if re.search(r"^component ", block, re.M):
            parser.parse(block, "docs.rules")
        elif re.match(r"(rule|filter|score) ", block):
            parser.parse("component docs\n" + block, "docs.rules")
        elif not _parses_as_statements(block):
            for line in block.splitlines():  # one expression per line
                if line.strip():
                    expr(line.split("  #")[0].strip())


def test_a_slice_is_named_as_unsupported_not_as_an_unclosed_bracket():
    assert syntax_errors(HEADER + "rule r for p in Pod:\n  let xs = p.spec.containers[1:2]\n") == [
        "expected ']', found ':': slices (x[1:2]) are not supported; an index reads one element (x[1])"]
    # (a list literal is no index, and a ':' that ends the line is still an unclosed bracket's)
    assert "slices" not in " ".join(syntax_errors(HEADER + "rule r for p in Pod:\n  let xs = [1:2]\n"))
    assert syntax_errors(HEADER + "rule r for p in Pod:\n  when xs[0:\n    delete p\n") == ["'[' is never closed"]
