"""recon's error types and its one error format.

Every mistake a user can make in a file (a manifest, a rule file) is reported
the same way::

    path:line:col: message
        the source line
            ^

`SourceError` carries one such mistake; `SourceErrors` carries all the
mistakes of one file (collect, then raise once).  Failures that are not tied
to a file position (a conflict, a refused write) have their own types below.
"""

from __future__ import annotations

import attrs


@attrs.frozen
class SourceError:
    """One mistake at a position in a file (line and col are 1-based)."""

    path: str
    line: int
    col: int
    message: str
    source_line: str | None = None

    def format(self) -> str:
        head = f"{self.path}:{self.line}:{self.col}: {self.message}"
        if self.source_line is None:
            return head
        text = self.source_line.rstrip("\n").expandtabs(1)
        caret = " " * (max(self.col, 1) - 1) + "^"
        return f"{head}\n    {text}\n    {caret}"

    def __str__(self) -> str:
        return self.format()


def source_line_of(text: str, line: int) -> str | None:
    """The 1-based `line` of `text`, or None when out of range."""
    lines = text.splitlines()
    if 1 <= line <= len(lines):
        return lines[line - 1]
    return None


class ReconError(Exception):
    """Base of every error recon reports to a user without a traceback."""


class UsageError(ReconError):
    """A mistake in the command line itself (exit 2, with a hint)."""


class SourceErrors(ReconError):
    """All the mistakes found in one or more files, reported together."""

    def __init__(self, errors: list[SourceError] | tuple[SourceError, ...]):
        self.errors = tuple(sorted(errors, key=lambda e: (e.path, e.line, e.col)))
        super().__init__("\n".join(e.format() for e in self.errors))


class PermanentError(ReconError):
    """A failure that retrying will not fix (bad input, refused by policy)."""


class TemporaryError(ReconError):
    """A failure that may go away on retry (a conflict with a concurrent write)."""


def undecodable(path: str, data: bytes, exc: UnicodeDecodeError, what: str) -> SourceError:
    """The mistake of a file that is not UTF-8, at the line and column of its first bad byte."""
    before = data[:exc.start]
    line = before.count(b"\n") + 1
    start = before.rfind(b"\n") + 1
    col = len(data[start:exc.start].decode("utf-8", "replace")) + 1
    source = data[start:].split(b"\n", 1)[0].decode("utf-8", "replace")
    return SourceError(path, line, col, f"{what} is not UTF-8: byte 0x{data[exc.start]:02x} cannot be read "
                                        "here; save the file as UTF-8", source)
