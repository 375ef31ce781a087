"""docs/writing-a-controller.md, followed verbatim: its files written as shown in a copy of the
example folders, its commands run; what they print is what the page shows."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest

from .helpers import REPO, recon

DOC = REPO / "docs" / "writing-a-controller.md"


def blocks() -> list[str]:
    return [text for _lang, text in re.findall(r"```(\w*)\n(.*?)```", DOC.read_text(), re.S)]


@pytest.fixture(scope="module")
def walk(tmp_path_factory) -> Path:
    """A copy of manifests/ and rules/ with the page's CRD, WebApp and rule file written in."""
    cwd = tmp_path_factory.mktemp("webapp")
    shutil.copytree(REPO / "manifests", cwd / "manifests")
    shutil.copytree(REPO / "rules", cwd / "rules")
    crd, hello, header, *rules = blocks()[:6]
    (cwd / "manifests" / "examples" / "webapp-crd.yaml").write_text(crd)
    (cwd / "manifests" / "examples" / "hello.yaml").write_text(hello)
    (cwd / "rules" / "examples" / "webapp.rules").write_text("\n".join([header, *rules]))
    return cwd


def run(cwd: Path, command: str) -> str:
    """What `command` (a `recon …` line of the page) prints."""
    proc = recon(*shlex.split(command)[1:], cwd=cwd)
    return proc.stdout + proc.stderr


def test_the_rule_file_of_the_page_is_the_shipped_example(walk):
    shipped = (REPO / "rules" / "examples" / "webapp.rules").read_text()
    assert shipped.endswith((walk / "rules" / "examples" / "webapp.rules").read_text())


def test_check_and_run_print_what_the_page_shows(walk):
    shown = blocks()[6]
    commands = [line[2:] for line in shown.splitlines() if line.startswith("$ ")]
    real = "\n".join(f"$ {command}\n{run(walk, command)}" for command in commands)
    assert real == shown


def test_the_mistake_is_reported_as_the_page_shows(walk):
    rules = walk / "rules" / "examples" / "webapp.rules"
    good = rules.read_text()
    rules.write_text(good.replace("    set deploy.spec.replicas", "    set dploy.spec.replicas"))
    try:
        assert run(walk, "recon rules check rules/examples/webapp.rules") == blocks()[7]
    finally:
        rules.write_text(good)


def test_without_a_status_schema_the_warning_is_the_one_the_page_shows(walk, tmp_path):
    cwd = tmp_path / "no-status"
    shutil.copytree(walk / "manifests", cwd / "manifests")
    shutil.copytree(walk / "rules", cwd / "rules")
    crd = blocks()[0]
    (cwd / "manifests" / "examples" / "webapp-crd.yaml").write_text(crd[:crd.index("            status:")])
    proc = recon("up", "manifests", "--once", cwd=cwd, check=0)
    assert proc.stderr == blocks()[8]
