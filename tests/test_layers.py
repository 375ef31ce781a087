"""The layers point one way: nothing low imports anything high; only the parser imports lark."""

from __future__ import annotations

import ast
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[1] / "engine"

# module (or package prefix) → modules it must never import
FORBIDDEN = {
    "store": ("apiserver", "reconcile", "dsl", "cli", "manifests", "api", "rules", "evalctx"),
    "wal": ("apiserver", "reconcile", "dsl", "cli", "manifests", "api", "rules"),
    "objects": ("store", "apiserver", "reconcile", "dsl", "cli"),
    "apiserver": ("reconcile", "dsl", "cli", "manifests", "api", "rules"),
    "dsl": ("reconcile", "apiserver", "cli", "manifests", "api", "rules", "store", "wal"),
    "reconcile": ("cli", "manifests", "api"),
    "manifests": ("cli", "reconcile"),
}


def engine_imports(path: Path) -> set[str]:
    """The engine modules a file imports, as top-level names under engine/ (e.g. 'store', 'dsl')."""
    tree = ast.parse(path.read_text(), str(path))
    package = path.relative_to(ENGINE).parts[:-1]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(package[: len(package) - node.level + 1])
                parts = base + (node.module.split(".") if node.module else [])
                names = [parts[0]] if parts else [alias.name for alias in node.names]
            elif node.module and node.module.startswith("engine."):
                names = [node.module.split(".")[1]]
            else:
                continue
            found.update(names)
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("engine."))
    return found


def layer_of(path: Path) -> str:
    rel = path.relative_to(ENGINE)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def test_no_module_imports_a_layer_above_it():
    wrong = []
    for path in sorted(ENGINE.rglob("*.py")):
        layer = layer_of(path)
        banned = FORBIDDEN.get(layer, ())
        for name in engine_imports(path) & set(banned):
            wrong.append(f"{path.relative_to(ENGINE.parent)} imports engine.{name}")
    assert wrong == []


def test_only_the_parser_imports_lark():
    importers = []
    for path in sorted(ENGINE.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module]
            if any(n == "lark" or n.startswith("lark.") for n in names):
                importers.append(str(path.relative_to(ENGINE.parent)))
    assert sorted(set(importers)) == ["engine/dsl/parser.py"]


def test_every_engine_module_imports_first_in_a_fresh_interpreter():
    """No import cycle breaks a module imported before the others (say, by a test or a tool)."""
    import subprocess
    import sys

    modules = sorted(".".join(("engine", *p.relative_to(ENGINE).with_suffix("").parts))
                     for p in ENGINE.rglob("*.py") if p.name not in ("__init__.py", "__main__.py"))
    script = "import importlib, sys\nfor m in sys.argv[1:]:\n    importlib.import_module(m)\n"
    failed = []
    for module in modules:
        done = subprocess.run([sys.executable, "-c", script, module], cwd=ENGINE.parent,
                              capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            failed.append((module, done.stderr.strip().splitlines()[-1:]))
    assert failed == []
