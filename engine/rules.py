"""Loading rule files: parse, check and compile every `.rules` file of a folder.

`load_rules(folder)` reports every mistake of every file at once
(SourceErrors).  `reload_rules(folder, previous)` is the hot-reload form: a
broken file is reported and the previous version of that file stays in force.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs

from .dsl.check import load as load_module, write_sites
from .dsl.compile import CompiledComponent, CompiledDecl, compile_module
from .errors import SourceError, SourceErrors, source_line_of, undecodable


@attrs.frozen(eq=False)
class RuleSet:
    """The compiled components in force, in file order."""

    components: tuple[CompiledComponent, ...]
    sources: dict = attrs.field(factory=dict)  # path → source text

    def decls(self) -> list[CompiledDecl]:
        return [d for c in self.components for d in c.rules]

    def component(self, name: str) -> CompiledComponent | None:
        return next((c for c in self.components if c.name == name), None)

    def source_line(self, path: str, line: int) -> str | None:
        """Line `line` of the rule file `path` as compiled (shown under a failure at that line)."""
        return source_line_of(self.sources.get(path, ""), line)

    def reuse(self, keep: dict) -> "RuleSet":
        """The same set, with unchanged declarations replaced by their previous objects."""
        comps = []
        for comp in self.components:
            rules = tuple(keep.get(d) or d for d in comp.rules)
            comps.append(attrs.evolve(comp, rules=rules))
        return RuleSet(tuple(comps), self.sources)


def rule_files(folder: str | Path) -> list[Path]:
    root = Path(folder)
    if root.is_file():
        return [root]
    return sorted(p for p in root.rglob("*.rules") if p.is_file())


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _load_file(path: Path) -> tuple[Any, str]:
    """The checked module of the rule file at `path`, and its text."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SourceErrors([SourceError(_display(path), 1, 1, f"cannot read rule file: {exc}")]) from None
    except UnicodeDecodeError as exc:
        raise SourceErrors([undecodable(_display(path), path.read_bytes(), exc, "the rule file")]) from None
    return load_module(text, _display(path)), text


def compile_file(path: Path) -> tuple[CompiledComponent, str]:
    module, text = _load_file(path)
    return compile_module(module, text), text


def load_rules(folder: str | Path) -> RuleSet:
    """Every rule file under `folder`, compiled; all errors of all files at once."""
    rules, errors = _compile_folder(folder, RuleSet(()))
    if errors:
        raise SourceErrors(errors)
    return rules


def check_paths(paths: list[Path]) -> tuple[list[str], list[SourceError], list[str]]:
    """One `path: ok (…)` line per good file, every mistake of the others, and the warnings of
    the good ones that need no cluster: fields a rule reads of a built-in kind that its schema
    does not declare (a custom kind's schema is the cluster's: `recon up` warns of those)."""
    compiled, sources, errors, sites = [], {}, [], []
    for path in [f for p in paths for f in rule_files(p)]:
        try:
            module, text = _load_file(path)
            comp = compile_module(module, text)
        except SourceErrors as exc:
            errors.extend(exc.errors)
            continue
        sources[comp.path] = text
        compiled.append(comp)
        # (what its sets and creates spell out: surveyed here, for the warning, not at every load)
        sites += [(comp, module.decls[i].name, found) for i, found in write_sites(module, text).items()]
    unique = list(compiled)  # (a component named twice fails here as it would in `recon up`)
    _check_unique(unique, errors, sources)
    lines = []
    for comp in unique:
        counts = [_count(len(comp.rules), "rule"), _count(len(comp.filters), "filter"), _count(len(comp.scores), "score")]
        shown = ", ".join(c for c in counts if not c.startswith("0 ")) or "no declarations"
        lines.append(f"{comp.path}: ok (component {comp.name}: {shown})")
    from .kinds import BUILTIN
    from .reconcile import undeclared_reads, undeclared_writes

    checked = RuleSet(tuple(unique), sources)
    found = [*undeclared_reads(checked.decls(), BUILTIN, checked.source_line),
             *undeclared_writes([(c, name, found) for c, name, found in sites if c in unique], BUILTIN,
                                checked.source_line)]
    warnings = [u.format() for u in sorted(found, key=lambda u: (u.path, u.line, u.col))]
    return lines, errors, warnings


def reload_rules(folder: str | Path, previous: RuleSet) -> tuple[RuleSet, list[SourceError]]:
    """Like load_rules, but a broken file keeps its previous version in force."""
    return _compile_folder(folder, previous)


def _compile_folder(folder: str | Path, previous: RuleSet) -> tuple[RuleSet, list[SourceError]]:
    """Compile every file; a broken one is replaced by its version in `previous`, if any."""
    old = {c.path: c for c in previous.components}
    components, sources, errors = [], {}, []
    for path in rule_files(folder):
        try:
            comp, text = compile_file(path)
        except SourceErrors as exc:
            errors.extend(exc.errors)
            comp = old.get(_display(path))
            text = previous.sources.get(_display(path), "")
            if comp is None:
                continue
        components.append(comp)
        sources[comp.path] = text
    _check_unique(components, errors, sources, previous)
    return RuleSet(tuple(components), sources), errors


def _check_unique(components: list[CompiledComponent], errors: list[SourceError], sources: dict[str, str],
                  previous: RuleSet | None = None) -> None:
    """Drop (and report) the components whose name another file defines too, whatever the files'
    names.  The file whose component is in force (in `previous`) keeps it, and each other file that
    defines the name is reported at its `component` line; with none in force (a fresh start) no
    definition is loaded, and the error names every one of them."""
    by_name: dict[str, list[CompiledComponent]] = {}
    for comp in components:
        by_name.setdefault(comp.name, []).append(comp)
    for name, defs in by_name.items():
        if len(defs) < 2:
            continue
        in_force = previous.component(name) if previous is not None else None
        kept = next((c for c in defs if in_force is not None and c.path == in_force.path), None)
        places = {c.path: _component_place(c, sources) for c in defs}
        if kept is not None:
            where = "{}:{}:{}".format(kept.path, *places[kept.path])
            for comp in defs:
                if comp is not kept:
                    _refuse(comp, places[comp.path], sources, errors,
                            f"component {name!r} is already defined in {where}, which stays in force; "
                            "rename this one")
        else:
            listed = ", ".join("{}:{}:{}".format(c.path, *places[c.path]) for c in defs)
            _refuse(defs[0], places[defs[0].path], sources, errors,
                    f"component {name!r} is defined by {len(defs)} files ({listed}); none of them is "
                    "loaded until one is renamed or removed")
        for comp in defs:
            if comp is not kept:
                components.remove(comp)


def _component_place(comp: CompiledComponent, sources: dict[str, str]) -> tuple[int, int]:
    return _component_position(sources.get(comp.path, ""), comp.name)


def _refuse(comp: CompiledComponent, place: tuple[int, int], sources: dict[str, str],
            errors: list[SourceError], message: str) -> None:
    line, col = place
    errors.append(SourceError(comp.path, line, col, message, source_line_of(sources.get(comp.path, ""), line)))


def _component_position(text: str, name: str) -> tuple[int, int]:
    """Line and column of the name in a file's `component NAME` header (1, 1 if not found)."""
    for number, line in enumerate(text.splitlines(), 1):
        words = line.split("#", 1)[0].split()
        if words[:2] == ["component", name]:
            return number, line.index(name, line.index("component") + len("component")) + 1
    return 1, 1


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
