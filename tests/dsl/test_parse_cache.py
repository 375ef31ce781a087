"""The parse cache on disk: a rule file parsed once is read back, not parsed, by the next process."""

from __future__ import annotations

import pytest

from engine.dsl import parser

SOURCE = """\
component demo
  reads Pod
  writes Pod

rule label for p in Pod:
  set p.metadata.labels.seen = "yes"
"""


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A fresh cache folder, as a new process would find it (the in-process memo cleared)."""
    monkeypatch.setenv("RECON_CACHE_DIR", str(tmp_path / "cache"))

    def new_process():
        parser._disk_cache.cache_clear()
        parser._parse_cached.cache_clear()

    new_process()
    yield new_process
    new_process()


def entries(tmp_path):
    return sorted((tmp_path / "cache" / "parse").glob("*.pickle"))


def test_a_clean_parse_is_read_back_by_the_next_process_without_parsing(cache, tmp_path, monkeypatch):
    first, errors = parser.parse_partial(SOURCE, "demo.rules")
    assert errors == [] and len(entries(tmp_path)) == 1
    cache()
    monkeypatch.setattr(parser, "_parse", lambda text, path: pytest.fail("parsed again"))
    again, errors = parser.parse_partial(SOURCE, "demo.rules")
    assert again == first and errors == []


def test_another_text_or_path_is_parsed_and_kept_apart(cache, tmp_path):
    parser.parse_partial(SOURCE, "demo.rules")
    cache()
    changed, _ = parser.parse_partial(SOURCE.replace('"yes"', '"no"'), "demo.rules")
    moved, _ = parser.parse_partial(SOURCE, "other/demo.rules")
    assert len(entries(tmp_path)) == 3 and moved.path == "other/demo.rules"
    assert "no" in repr(changed) and "no" not in repr(parser.parse_partial(SOURCE, "demo.rules")[0])


def test_a_file_with_errors_is_not_kept_and_still_reports_them(cache, tmp_path):
    broken = SOURCE.replace("rule label for p in Pod:", "rule label for p in Pod")
    _, errors = parser.parse_partial(broken, "demo.rules")
    assert errors and entries(tmp_path) == []
    cache()
    assert parser.parse_partial(broken, "demo.rules")[1] == errors


def test_an_entry_that_does_not_load_is_parsed_again(cache, tmp_path):
    first, _ = parser.parse_partial(SOURCE, "demo.rules")
    [entry] = entries(tmp_path)
    entry.write_bytes(b"not a pickle")
    cache()
    assert parser.parse_partial(SOURCE, "demo.rules") == (first, [])


def test_a_folder_that_cannot_be_written_only_costs_the_parse(cache, tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("RECON_CACHE_DIR", str(blocker))  # a file where the folder would go
    cache()
    module, errors = parser.parse_partial(SOURCE, "demo.rules")
    assert errors == [] and module.component is not None
