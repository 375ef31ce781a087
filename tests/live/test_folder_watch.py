"""FolderWatch: which manifest files a burst of real file operations touched, once it settles."""

from __future__ import annotations

import os
import time
from pathlib import Path

from engine.watch import FolderWatch


def settled(watch: FolderWatch, timeout: float = 10.0) -> frozenset[str]:
    deadline = time.monotonic() + timeout
    while (paths := watch.take()) is None:
        assert time.monotonic() < deadline, "the burst never settled"
        time.sleep(0.01)
    return paths


def test_a_save_through_a_temporary_file_names_the_file_it_replaced(tmp_path: Path):
    (tmp_path / "web.yaml").write_text("a: 1\n")
    watch = FolderWatch(tmp_path, (".yaml",), quiet=0.05)
    try:
        (tmp_path / "4913").write_text("")  # vim's probe file, and a swap file: not manifests
        (tmp_path / ".web.yaml.swp").write_text("")
        (tmp_path / "web.yaml.tmp").write_text("a: 2\n")
        os.replace(tmp_path / "web.yaml.tmp", tmp_path / "web.yaml")
        assert settled(watch) == {"web.yaml"}
        assert watch.take() is None  # once
    finally:
        watch.close()


def test_files_in_subfolders_and_deletions_are_named_relative_to_the_folder(tmp_path: Path):
    (tmp_path / "old.yml").write_text("a: 1\n")
    watch = FolderWatch(tmp_path, (".yaml", ".yml"), quiet=0.05)
    try:
        (tmp_path / "apps").mkdir()
        (tmp_path / "apps" / "web.yaml").write_text("a: 1\n")
        (tmp_path / "old.yml").unlink()
        assert settled(watch) == {"apps/web.yaml", "old.yml"}
    finally:
        watch.close()


def test_a_folder_that_never_stops_changing_is_still_taken_after_the_longest_wait(tmp_path: Path):
    watch = FolderWatch(tmp_path, (".yaml",), quiet=30.0, longest=0.2)
    try:
        (tmp_path / "a.yaml").write_text("a: 1\n")
        assert settled(watch, timeout=10.0) == {"a.yaml"}  # long before 30 s of quiet: `longest` let it through
    finally:
        watch.close()
