"""The token builtins describe what recon still does: no legacy token Secret is generated."""

from __future__ import annotations

import re

from engine.dsl.builtins import BUILTINS


def test_no_builtin_makes_names_for_generated_token_secrets():
    assert "token_suffix" not in BUILTINS  # rules/serviceaccount.rules generates no token Secret


def test_no_builtin_example_names_a_generated_legacy_token_secret():
    legacy = re.compile(r"\b[a-z0-9-]+-token-[a-z0-9]{5}\b")  # e.g. default-token-x7k2q
    assert [name for name, b in BUILTINS.items() if legacy.search(b.doc)] == []
