"""Whatever text it is given, the front end answers with SourceErrors or a
module, never with another exception.

Inputs are random text over the language's alphabet, random sequences of its
tokens, and the golden rule files (valid and broken) with characters and
tokens deleted, inserted and swapped.  The default run stays well under 20 s;
`-m soak` runs the same properties for longer.
"""

from __future__ import annotations

import pathlib
import re

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.dsl import ast, check
from engine.errors import SourceError, SourceErrors

GOLDEN = pathlib.Path(__file__).with_name("golden")
SOURCES = [p.read_text() for p in sorted(GOLDEN.glob("**/*.rules"))]
TOKENS = [
    "component", "reads", "writes", "rule", "filter", "score", "weight", "for", "in",
    "where", "let", "set", "create", "from", "with", "delete", "requeue", "after",
    "reject", "return", "when", "else", "if", "not", "and", "or", "true", "false",
    "null", "it", "now", "Pod", "apps/Deployment", "example.com/Widget", "x", "count",
    "sort", "1", "2.5", "30s", "1h30m", '"s"', "'q'", "(", ")", "[", "]", "{", "}",
    ":", ",", ".", "=", "==", "!=", "<", ">=", "+", "-", "*", "/", "%", "#", "\n",
    "\n  ", "\n    ", "  ", "\t", "\\", '"', "'", "$", "\r\n", "\x00", "é",
]
CHARS = "abcdefghijklmnopqrstuvwxyzPNR_0123456789 \t\n\r()[]{}:,.=!<>+-*/%#\"'\\$@é"

try:
    from engine.dsl.builtins import BUILTINS
except ImportError:  # the real table is written elsewhere; a stand-in is enough here
    @attrs.frozen
    class _StandIn:
        name: str
        fn: object
        min_args: int
        max_args: int | None
        item_arg: int | None
        doc: str = ""

    BUILTINS = {"count": _StandIn("count", None, 1, 2, 1), "sort": _StandIn("sort", None, 1, 2, 1)}

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def load_only_raises_source_errors(text: str) -> None:
    try:
        module = check.load(text, "fuzz.rules", BUILTINS)
    except SourceErrors as e:
        assert e.errors, "SourceErrors without errors"
        for error in e.errors:
            assert isinstance(error, SourceError) and error.line >= 1 and error.col >= 1
            assert error.message and "\n" not in error.message
            error.format()
        return
    assert isinstance(module, ast.Module) and module.component is not None
    ast.dump(module)


@st.composite
def mutated_sources(draw):
    text = draw(st.sampled_from(SOURCES))
    for _ in range(draw(st.integers(1, 6))):
        i = draw(st.integers(0, len(text)))
        edit = draw(st.sampled_from(["delete", "insert_char", "insert_token", "swap_tokens", "swap", "duplicate"]))
        if edit == "swap_tokens":
            words = re.findall(r"\w+|\s+|.", text)
            a, b = draw(st.integers(0, len(words) - 1)), draw(st.integers(0, len(words) - 1))
            words[a], words[b] = words[b], words[a]
            text = "".join(words)
        elif edit == "delete":
            text = text[:i] + text[i + draw(st.integers(1, 8)):]
        elif edit == "insert_char":
            text = text[:i] + draw(st.sampled_from(CHARS)) + text[i:]
        elif edit == "insert_token":
            text = text[:i] + draw(st.sampled_from(TOKENS)) + " " + text[i:]
        else:
            j = draw(st.integers(0, len(text)))
            a, b = sorted((i, j))
            piece = text[a:b][:40]
            text = text[:a] + piece + text[a:] if edit == "duplicate" else text[:a] + text[b:b + 20] + text[a:]
    return text


@FAST
@given(st.text(alphabet=CHARS, max_size=300))
def test_random_text_only_raises_source_errors(text):
    load_only_raises_source_errors(text)


@FAST
@given(st.lists(st.sampled_from(TOKENS), max_size=60).map(" ".join))
def test_random_token_soup_only_raises_source_errors(text):
    load_only_raises_source_errors("component fuzz\n  reads Pod\n" + text)


@FAST
@given(mutated_sources())
def test_mutated_rule_files_only_raise_source_errors(text):
    load_only_raises_source_errors(text)


@pytest.mark.soak
@pytest.mark.skipif("'soak' not in config.getoption('markexpr', '')", reason="run with -m soak")
@settings(max_examples=20_000, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.one_of(mutated_sources(), st.text(alphabet=CHARS, max_size=600)))
def test_soak_front_end_only_raises_source_errors(text):
    load_only_raises_source_errors(text)
