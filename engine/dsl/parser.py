"""Rule source text -> `engine.dsl.ast.Module`.

The only module that imports lark.  `grammar.lark` beside it is the
reference of the syntax.  The parser is LALR(1) with lark's contextual lexer
and an Indenter post-lexer, built once per process.

Syntax errors are reported in words ("expected ':' after the rule header"),
never as lark's token names.  After an error the parser drops the rest of the
logical line and the block indented under it, returns to the nearest
statement or declaration boundary and goes on, so one run reports the
mistakes of every broken statement (at most one per line).

Parsing is most of what loading the rules costs (about a second for the
bundled rules, at every `recon up`, `diff` or `replay`), so a clean parse is
also kept on disk (`_DiskCache`): a file whose text, path, grammar and parser
are unchanged is read back instead of parsed again.
"""

from __future__ import annotations

import functools
import hashlib
import os
import pathlib
import pickle
import re
import sys
import threading

from lark import Lark, Token, Transformer, Tree, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedToken
from lark.indenter import Indenter

from engine.dsl import ast
from engine.errors import SourceError, SourceErrors, source_line_of

GRAMMAR = pathlib.Path(__file__).with_name("grammar.lark")
MAX_ERRORS = 50

# Reserved words may not name variables or functions.  The other keywords
# (component reads writes rule filter score weight normalize from with after
# as event on warning) stay
# usable as names, `filter(pods, it.ready)` included: the grammar expects them
# only at the start of a declaration or right after a specific word.
RESERVED = frozenset(
    "and or not in if else for when let set create delete requeue reject "
    "return true false null where".split()
)

# A top-level line that starts a part of the file: errors are attributed to
# the part whose first line precedes them.
_TOP_LINE = re.compile(r"^(component|rule|filter|score)[ \t]", re.M)


def parse(text: str, path: str) -> ast.Module:
    """Parse a whole rule file; raise SourceErrors with every syntax error."""
    module, errors = parse_partial(text, path)
    if errors:
        raise SourceErrors(errors)
    return module


def parse_partial(text: str, path: str) -> tuple[ast.Module, list[SourceError]]:
    """Parse what can be parsed: the module holds the declarations that are
    free of syntax errors (its component is None when the header is broken),
    the list holds every syntax error."""
    module, errors = _parse_cached(text, path)
    return module, list(errors)


class _DiskCache:
    """Clean parses kept between processes, one pickle per file version.

    A parse is a pure function of the file's text and path, the grammar and
    the code that builds the AST, so the key is a hash of all of them (and
    of Python's and lark's versions): any change there is a miss, never a
    stale answer.  The folder is $RECON_CACHE_DIR, else recon/ under
    $XDG_CACHE_HOME or ~/.cache.  A folder that cannot be read or written, or
    an entry that does not load, only costs the parse.
    """

    def __init__(self) -> None:
        import lark

        sources = [GRAMMAR, pathlib.Path(__file__), pathlib.Path(ast.__file__)]
        self.salt = hashlib.blake2b(b"".join(p.read_bytes() for p in sources)
                                    + f"{sys.version}|{lark.__version__}".encode(), digest_size=16).digest()
        folder = os.environ.get("RECON_CACHE_DIR") or os.path.join(
            os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "recon")
        self.folder = pathlib.Path(folder) / "parse"

    def _path(self, text: str, path: str) -> pathlib.Path:
        key = hashlib.blake2b(self.salt + path.encode() + b"\0" + text.encode(), digest_size=20).hexdigest()
        return self.folder / f"{key}.pickle"

    def get(self, text: str, path: str) -> ast.Module | None:
        try:
            found = pickle.loads(self._path(text, path).read_bytes())
        except Exception:  # missing, unreadable or from another build: parse instead
            return None
        return found if isinstance(found, ast.Module) else None

    def put(self, text: str, path: str, module: ast.Module) -> None:
        target = self._path(text, path)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            temporary = target.with_name(f".{target.name}.{os.getpid()}")
            temporary.write_bytes(pickle.dumps(module, protocol=pickle.HIGHEST_PROTOCOL))
            os.replace(temporary, target)
        except (OSError, pickle.PicklingError):  # (a folder we may not write: the next run parses again)
            pass


@functools.cache
def _disk_cache() -> _DiskCache:
    return _DiskCache()


@functools.lru_cache(maxsize=256)  # results are immutable; reloads are free
def _parse_cached(text: str, path: str) -> tuple[ast.Module, tuple[SourceError, ...]]:
    cache = _disk_cache()
    module = cache.get(text, path)
    if module is not None:
        return module, ()
    module, errors = _parse(text, path)
    if not errors:
        cache.put(text, path, module)
    return module, errors


def _parse(text: str, path: str) -> tuple[ast.Module, tuple[SourceError, ...]]:
    text = text.replace("\r\n", "\n")
    if not text.endswith("\n"):
        text += "\n"
    run = _Run(text, path)
    with _LOCK:
        component, decls = run.parse()
    tops = [text.count("\n", 0, m.start()) + 1 for m in _TOP_LINE.finditer(text)]
    errors = list(run.errors)
    clean = functools.partial(_is_clean, tops, [e.line for e in errors])
    builder = _ToAst(text, path)
    comp = builder.part(component) if component is not None and clean(component) else None
    parts = [builder.part(d) for d in decls if clean(d)]
    errors.extend(builder.errors)
    module = ast.Module(path, comp, tuple(p for p in parts if p is not None), ast.Pos(1, 1))
    return module, tuple(errors)


def _is_clean(tops: list[int], error_lines: list[int], tree: Tree) -> bool:
    start = tree.meta.line
    end = min((t for t in tops if t > start), default=float("inf"))
    return not any(start <= line < end for line in error_lines)


# ------------------------------------------------------------- lark setup

class _Indenter(Indenter):
    """Python-style INDENT/DEDENT tokens, positioned at the indented line.

    Unlike lark's, it reports a bad dedent instead of raising (the line is
    kept in the inner block), never asserts on unbalanced brackets, and keeps
    its state across the lexer restarts of error recovery (`start` resets it).
    """

    NL_type = "_NL"
    OPEN_PAREN_types = ["LPAR", "LSQB", "LBRACE"]
    CLOSE_PAREN_types = ["RPAR", "RSQB", "RBRACE"]
    INDENT_type = "_INDENT"
    DEDENT_type = "_DEDENT"
    tab_len = 8

    def start(self, text: str, on_bad_dedent, on_unclosed) -> None:
        self.text, self.lines = text, text.split("\n")
        self.open_brackets: list[Token] = []
        self.paren_level = 0
        self.indent_level = [0]
        self.on_bad_dedent, self.on_unclosed = on_bad_dedent, on_unclosed

    def process(self, stream):
        return self._process(stream)

    def track(self, token: Token) -> None:
        if token.type in self.OPEN_PAREN_types:
            self.open_brackets.append(token)
        elif token.type in self.CLOSE_PAREN_types and self.open_brackets:
            self.open_brackets.pop()
        self.paren_level = len(self.open_brackets)

    def unclosed_at(self, token: Token) -> Token | None:
        """The open bracket that likely caused an error at `token`: the file
        ended, or a new line starts no deeper than the bracket's line.  Such
        brackets are forgotten, so that the next line is read afresh."""
        if not self.open_brackets:
            return None
        first = self.open_brackets[0]
        at_end = token.type in ("_DEDENT", "$END")
        if not at_end:
            if (first.line, first.column) == (token.line, token.column):  # (the bracket itself was unexpected)
                return None
            line = self.lines[token.line - 1] if token.line <= len(self.lines) else ""
            starts = not line[:token.column - 1].strip() or _STMT_LINE.match(line)
            if not starts or _indent_of(line) > _indent_of(self.lines[first.line - 1]):
                return None
        self.open_brackets, self.paren_level = [], 0
        return first

    def _process(self, stream):
        token = None
        for token in stream:
            if token.type == self.NL_type:
                yield from self.handle_NL(token)
            else:
                yield token
            self.track(token)
        while len(self.indent_level) > 1:
            self.indent_level.pop()
            yield _token(self.DEDENT_type, "", token)

    def handle_NL(self, token: Token):
        if self.paren_level > 0:
            if not _TOP_LINE.match(self.text, token.end_pos):
                return
            # A declaration at column 0 inside brackets: they were never closed.
            self.on_unclosed(self.open_brackets[0])
            self.open_brackets, self.paren_level = [], 0
        yield token
        indent_str = token.rsplit("\n", 1)[-1] if "\n" in token else ""
        indent = indent_str.count(" ") + indent_str.count("\t") * self.tab_len
        line, col = token.line + token.count("\n"), len(indent_str) + 1
        levels = self.indent_level
        if indent > levels[-1]:
            levels.append(indent)
            yield _token(self.INDENT_type, indent_str, token, line, col)
        while indent < levels[-1]:
            if indent > levels[-2]:  # between two levels: stay in the inner block
                self.on_bad_dedent(line, col)
                levels[-1] = indent
                break
            levels.pop()
            yield _token(self.DEDENT_type, indent_str, token, line, col)


_STMT_LINE = re.compile(r"\s*(let|set|create|delete|event|requeue|reject|return|when|for)\s")


def _indent_of(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def _token(type_: str, value: str, near: Token | None, line=None, col=None) -> Token:
    if near is None:
        return Token(type_, value, 0, 1, 1)
    return Token(type_, value, near.start_pos, line or near.line, col or near.column)


_INDENTER = _Indenter()


@functools.cache
def _lark() -> Lark:
    return Lark(
        GRAMMAR.read_text(), parser="lalr", lexer="contextual", start="module",
        postlex=_INDENTER, propagate_positions=True, maybe_placeholders=True,
    )


_LOCK = threading.Lock()  # the post-lexer keeps per-parse state


# ------------------------------------------------------- error recovery

_STMT_START = "LET"
# Placeholder lines for a block that recovery emptied, by what the block holds.
_FILLERS = {
    "LET": (("RETURN", "return"), ("NULL", "null"), ("_NL", "\n")),
    "READS": (("READS", "reads"), ("KIND", "Placeholder"), ("_NL", "\n")),
}
_BOUNDARY = frozenset({"LET", "SET", "CREATE", "DELETE", "EVENT", "REQUEUE", "REJECT", "RETURN",
                       "WHEN", "FOR", "RULE", "FILTER", "SCORE", "READS", "WRITES"})
_DECLS = ("component", "rule_decl", "filter_decl", "score_decl")


class _Skip:
    """After an error: drop the rest of the logical line, then any block
    indented under it.  `take` says whether a token is dropped."""

    def __init__(self, token: Token):
        self.line_done = token.type in ("_NL", "_INDENT", "_DEDENT")
        self.depth = 1 if token.type == "_INDENT" else 0

    @classmethod
    def mid_line(cls) -> _Skip:
        return cls(Token("_MID_LINE", ""))

    def take(self, token: Token) -> bool:
        if self.depth:
            self.depth += {"_INDENT": 1, "_DEDENT": -1}.get(token.type, 0)
            return True
        if not self.line_done:
            self.line_done = token.type == "_NL"
            return True
        if token.type == "_INDENT":
            self.depth = 1
            return True
        return False


class _Run:
    """One parse of one file with error recovery (see the module docstring)."""

    def __init__(self, text: str, path: str):
        self.text, self.path = text, path
        self.errors: list[SourceError] = []
        self.line_tokens: list[Token] = []
        self.line_ended = False
        self.skip: _Skip | None = None
        self.retrying = False
        self.prev: Token | None = None

    def parse(self) -> tuple[Tree | None, list[Tree]]:
        lark = _lark()
        self.ip = lark.parse_interactive(self.text)
        self.state = self.ip.parser_state
        self.states = self.state.parse_conf.states
        self.indenter = _INDENTER
        self.indenter.start(self.text, self._bad_dedent, self._unclosed)
        last = None
        for token in self._tokens():
            last = token
            self._step(token)
        return self._finish(last)

    def _tokens(self):
        stream = self.ip.lexer_thread.lex(self.state)
        while len(self.errors) < MAX_ERRORS:
            try:
                yield next(stream)
                continue
            except StopIteration:
                return
            except UnexpectedCharacters as e:
                self._lex_error(e)
            except UnexpectedToken as e:
                # The contextual lexer found no token that fits this parser
                # state; its fallback lexer read one that fits elsewhere.
                self.indenter.track(e.token)
                yield e.token
            stream = self.ip.lexer_thread.lex(self.state)

    def _step(self, token: Token) -> None:
        self._track_line(token)
        if self.skip is not None:
            if self.skip.take(token):
                self._settle()
                return
            self.skip = None
            if not self._resync(token):
                self.skip = _Skip.mid_line()
                return
        try:
            self.ip.feed_token(token)
            if token.type not in ("_NL", "_INDENT", "_DEDENT"):
                self.prev = token
        except UnexpectedToken:
            self._syntax_error(token)
            if self.line_tokens[:1] == [token] and not self.retrying:
                # The error is at the start of a line: the line before was
                # incomplete, this one may be fine.  Resume right here.
                self.skip.line_done, self.retrying = True, True
                self._settle()
                self._step(token)
                self.retrying = False

    def _finish(self, last: Token | None) -> tuple[Tree | None, list[Tree]]:
        end = _token("$END", "", last)
        if self.skip is not None and not self._resync(end):
            return self._salvage()
        try:
            tree = self.ip.feed_token(end)
        except UnexpectedToken:
            self._syntax_error(end)
            return self._salvage()
        return tree.children[0], tree.children[1:]

    def _salvage(self) -> tuple[Tree | None, list[Tree]]:
        """The finished parts left on the parser's stack."""
        found: list[Tree] = []
        for value in self.state.value_stack:
            if isinstance(value, Tree):
                found.extend(_parts(value))
        component = next((t for t in found if t.data == "component"), None)
        return component, [t for t in found if t.data != "component"]

    def _settle(self) -> None:
        """Once the broken line is over, pop to the nearest boundary state,
        so that the next line is lexed where a statement may start."""
        if not self.skip.line_done or self.skip.depth:
            return
        stack = self.state.state_stack
        for depth in range(len(stack), 0, -1):
            if not _BOUNDARY.isdisjoint(self.states[stack[depth - 1]]):
                del stack[depth:]
                del self.state.value_stack[depth - 1:]
                return

    def _resync(self, token: Token) -> bool:
        """Pop the parser back to the nearest boundary state that accepts
        `token`; leave it untouched when there is none."""
        stack = self.state.state_stack
        for depth in range(len(stack), 0, -1):
            row = self.states[stack[depth - 1]]
            if _BOUNDARY.isdisjoint(row):
                continue
            filler = next((f for k, f in _FILLERS.items() if k in row), None)
            if token.type in row or (token.type == "_DEDENT" and filler):
                del stack[depth:]
                del self.state.value_stack[depth - 1:]
                return token.type in row or self._fill(filler, token)
        return False

    def _fill(self, filler, near: Token) -> bool:
        """Give a block emptied by recovery a placeholder line, so that it
        can end; the part has an error, so it is never built."""
        try:
            for type_, value in filler:
                self.ip.feed_token(_token(type_, value, near))
        except UnexpectedToken:
            return False
        return near.type in self.states[self.state.state_stack[-1]]

    def _track_line(self, token: Token) -> None:
        """Remember the first two tokens of the current line (for wording)."""
        if token.type in ("_NL", "_INDENT", "_DEDENT"):
            self.line_ended = True
            return
        if self.line_ended:
            self.line_tokens, self.line_ended = [], False
        if len(self.line_tokens) < 2:
            self.line_tokens.append(token)

    # ------------------------------------------------------ reporting

    def _syntax_error(self, token: Token) -> None:
        if self.skip is not None:
            return
        bracket = None if self._slice(token) else self.indenter.unclosed_at(token)
        if bracket is not None:  # the likely cause: report it, resume at the next line
            self._report(bracket.line, bracket.column, f"'{bracket}' is never closed")
        elif self._slice(token):
            self._report(token.line, token.column, "expected ']', found ':': slices (x[1:2]) are not "
                                                   "supported; an index reads one element (x[1])")
        else:
            message = _describe_error(token, self.ip.accepts(), self.line_tokens, self.prev)
            self._report(token.line, token.column, message)
        self.skip = _Skip(token)
        self._settle()

    def _slice(self, token: Token) -> bool:
        """Is `token` the ':' of a slice, `x[1:2]`: in an index's bracket (`x[`, `f()[`, not a
        list's), with more of the line after it (a ':' ending the line ends a header instead)?"""
        brackets = self.indenter.open_brackets
        if token.type != "COLON" or not brackets or brackets[-1] != "[":
            return False
        bracket, lines = brackets[-1], self.indenter.lines
        before = lines[bracket.line - 1][:bracket.column - 1].rstrip()[-1:]
        after = lines[token.line - 1][token.column:].split("#", 1)[0].strip() if token.line <= len(lines) else ""
        return bool(after) and (before.isalnum() or before in ("_", ")", "]"))

    def _lex_error(self, e: UnexpectedCharacters) -> None:
        lexer_state = self.ip.lexer_thread.state
        pos = lexer_state.line_ctr.char_pos
        char = self.text[pos:pos + 1]
        lexer_state.line_ctr.feed(char)
        if self.skip is None:
            if char and char in "\"'":
                message = "unterminated string (a string ends with the same quote, on the same line)"
            else:
                message = f"unexpected character {char!r}"
            self._report(e.line, e.column, message)
            self.skip = _Skip.mid_line()

    def _unclosed(self, bracket: Token) -> None:
        if self.skip is None:
            self._report(bracket.line, bracket.column, f"'{bracket}' is never closed")
            self.skip = _Skip.mid_line()

    def _bad_dedent(self, line: int, col: int) -> None:
        self._report(line, col, "this line's indentation matches no enclosing block")

    def _report(self, line: int, col: int, message: str) -> None:
        if self.errors and (self.errors[-1].line, self.errors[-1].col) == (line, col):
            return  # one error per place
        source = source_line_of(self.text, line)
        self.errors.append(SourceError(self.path, line, col, message, source))


def _parts(tree: Tree):
    if tree.data in _DECLS:
        yield tree
    elif tree.data.startswith("_") or tree.data == "module":
        for child in tree.children:
            if isinstance(child, Tree):
                yield from _parts(child)


# ------------------------------------------------------ error wording

_WORDS = {
    "_NL": "the end of the line", "$END": "the end of the file",
    "_DEDENT": "the end of the block", "_INDENT": "an indented block",
    "NAME": "a name", "KIND": "a kind like Pod", "GROUP_KIND": "a kind like Pod",
    "COMPONENT_NAME": "a component name like my-controller",
    "INT": "a whole number", "FLOAT": "a number", "STRING": "a string",
    "DURATION": "a duration like 30s",
}
_CONTEXT = {
    "RULE": "the rule header", "FILTER": "the filter header",
    "SCORE": "the score header", "WHEN": "the 'when' condition",
    "ELSE": "'else'", "FOR": "the 'for' header", "EVENT": "the event's object",
}
_EXPR_START = frozenset({"NAME", "INT", "STRING", "LPAR"})
_COMPARISONS = frozenset({"==", "!=", "<", "<=", ">", ">="})
_OPERATORS = _COMPARISONS | frozenset("+ - * / % . [ ( and or not in if".split())


@functools.cache
def _literal(terminal: str) -> str | None:
    """The text of a keyword or punctuation terminal, None for a pattern."""
    for t in _lark().terminals:
        if t.name == terminal and t.pattern.type == "str":
            return t.pattern.value
    return None


def _describe_error(token: Token, expected: set[str], line: list[Token], prev: Token | None) -> str:
    """The message for an unexpected `token` where `expected` would do."""
    if token.type == "_INDENT":
        return "unexpected indentation"
    if expected == {"_INDENT"}:
        return f"expected an indented block after '{prev}'" if prev else "expected an indented block"
    if token.type == "ELSE" and "ELSE" not in expected:
        return "'else' must line up with a 'when' whose block it follows"
    found = _found(token)
    literals = set(map(_literal, expected))
    if token.value in _COMPARISONS and not literals & (_COMPARISONS | {"="}):
        return f"comparisons do not chain; write 'a < b and b < c', found {found}"
    want = _wanted(expected, line, prev)
    return f"expected {want}" + (f", found {found}" if found else "")


def _wanted(expected: set[str], line: list[Token], prev: Token | None) -> str:
    if expected == {"COMPONENT"}:
        return "the component header 'component NAME' at the top of the file"
    if _EXPR_START <= expected:
        return "an expression"
    if _STMT_START in expected:
        return "a statement"
    if expected == {"LSQB"}:
        return "'[' after the kind (a lookup like Pod[ns, name]; put a query in parentheses)"
    if {"NAME", "KIND"} <= expected and prev is not None and prev.type == "DOT":
        return "a field name"
    rest = {t for t in expected if _literal(t) not in _OPERATORS} or expected
    if "KIND" in rest:
        rest = rest - {"ANY"}  # "a kind like Pod" covers `any`
    context = _line_context(line)
    if "COLON" in rest and context:
        return f"':' after {context}"
    if len(rest) > 3 and rest <= {t for t in expected if _literal(t) in _OPERATORS}:
        return "an operator"
    words = {_word(t) for t in rest}
    if {"a name", "a kind like Pod"} <= words:
        words -= {"a kind like Pod"}
    return _join(sorted(words, key=_word_order))


def _line_context(line: list[Token]) -> str | None:
    types = [t.type for t in line]
    if types[:2] == ["ELSE", "WHEN"]:
        return _CONTEXT["WHEN"]
    return _CONTEXT.get(types[0]) if types else None


def _word(terminal: str) -> str:
    literal = _literal(terminal)
    return f"'{literal}'" if literal is not None else _WORDS.get(terminal, terminal.lower())


def _word_order(word: str) -> tuple[bool, str]:
    return (not word.startswith("'"), word)  # punctuation and keywords first


def _join(words: list[str]) -> str:
    if len(words) > 6:
        words = words[:5] + ["something else"]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _found(token: Token) -> str | None:
    if token.type in ("_NL", "_DEDENT"):
        return None
    if token.type == "$END":
        return "the end of the file"
    return repr(str(token))


# ------------------------------------------------------- tree -> AST

_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'"}
_ESCAPE = re.compile(r"\\(.)")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION_PART = re.compile(r"(\d+)(ms|s|m|h|d)")


def _pos(item) -> ast.Pos:
    """The position of a token or of a tree's lark Meta."""
    return ast.Pos(item.line, item.column)


@v_args(meta=True, inline=True)
class _ToAst(Transformer):
    """Turns one part of the lark tree (the component or one declaration)
    into AST nodes; method names are the grammar's rule names."""

    def __init__(self, text: str, path: str):
        super().__init__()
        self.text, self.path = text, path
        self.errors: list[SourceError] = []

    def part(self, tree: Tree):
        """The AST of one part, or None when it has errors (reported)."""
        before = len(self.errors)
        node = self.transform(tree)
        return node if len(self.errors) == before else None

    def _error(self, where, message: str) -> None:
        pos = _pos(where)
        source = source_line_of(self.text, pos.line)
        self.errors.append(SourceError(self.path, pos.line, pos.col, message, source))

    def _name(self, token: Token) -> str:
        if str(token) in RESERVED:
            self._error(token, f"'{token}' is a reserved word; choose another name")
        return str(token)

    # header
    def kind_ref(self, meta, token):
        group, _, kind = str(token).rpartition("/")
        return ast.KindRef(kind, group or None, _pos(meta))

    def write_ref(self, meta, ref, field):
        if field is not None and field != "status":
            self._error(field, f"only '.status' may follow a kind in 'writes' (like {ref.kind}.status)")
        return ast.WriteRef(ref, field is not None, _pos(meta))

    def reads(self, meta, *refs):
        return ("reads", refs)

    def writes(self, meta, *refs):
        return ("writes", refs)

    def component(self, meta, name, *lines):
        reads = tuple(r for kind, refs in lines if kind == "reads" for r in refs)
        writes = tuple(w for kind, refs in lines if kind == "writes" for w in refs)
        return ast.Component(str(name), reads, writes, _pos(meta))

    # declarations
    def rule_decl(self, meta, name, var, kind, where, body):
        return ast.Rule(str(name), self._name(var), kind, where, body, _pos(meta))

    def filter_decl(self, meta, name, pod, node, body):
        return ast.Filter(str(name), self._name(pod), self._name(node), body, _pos(meta))

    def score_decl(self, meta, name, pod, node, weight, normalize, body):
        weight = 1 if weight is None else int(weight)
        normalize = None if normalize is None else str(normalize)
        return ast.Score(str(name), self._name(pod), self._name(node), weight, body, _pos(meta), normalize)

    def suite(self, meta, *stmts):
        return stmts

    # statements
    def let_stmt(self, meta, name, value):
        return ast.Let(self._name(name), value, _pos(meta))

    def set_stmt(self, meta, target, value):
        node = target
        while isinstance(node, (ast.Attr, ast.Index)):
            node = node.obj
        if node is target or not isinstance(node, ast.Name):
            self._error(meta, "'set' needs a field path like x.status.ready or x.metadata.labels[\"app\"]")
        return ast.Set(target, value, _pos(meta))

    def create_stmt(self, meta, count, kind, template, alias, *groups):
        options = tuple(o for group in groups if group for o in group)
        alias = None if alias is None else self._name(alias)
        return ast.Create(count, kind, template, options, _pos(meta), alias)

    def event_stmt(self, meta, warning, reason, target, message, *groups):
        options = tuple(o for group in groups if group for o in group)
        return ast.Event(self._string(reason), warning is not None, target, message, options, _pos(meta))

    def options(self, meta, *options):
        return options

    def option(self, meta, name, value):
        return ast.Option(str(name), value, _pos(meta))

    def delete_stmt(self, meta, target, options=None):
        return ast.Delete(target, tuple(options or ()), _pos(meta))

    def requeue_stmt(self, meta, after):
        return ast.Requeue(after, _pos(meta))

    def reject_stmt(self, meta, message, cond):
        return ast.Reject(message, cond, _pos(meta))

    def return_stmt(self, meta, value):
        return ast.Return(value, _pos(meta))

    def when_stmt(self, meta, cond, body, orelse):
        return ast.When(cond, body, orelse or (), _pos(meta))

    def else_clause(self, meta, body):
        return (body,) if isinstance(body, ast.When) else body

    def for_stmt(self, meta, var, iterable, body):
        return ast.For(self._name(var), iterable, body, _pos(meta))

    # expressions
    def query(self, meta, kind, namespace, where):
        return ast.Query(kind, namespace, where, _pos(meta))

    def cond(self, meta, then, test, orelse):
        return ast.Cond(test, then, orelse, _pos(meta))

    def binary(self, meta, left, *rest):
        *ops, right = rest
        return ast.Binary(" ".join(map(str, ops)), left, right, _pos(ops[0]))

    def unary(self, meta, op, operand):
        return ast.Unary(str(op), operand, _pos(meta))

    def attr(self, meta, obj, name):
        return ast.Attr(obj, str(name), _pos(name))

    def index(self, meta, obj, bracket, index, _close):
        return ast.Index(obj, index, _pos(bracket))

    def literal(self, meta, token):
        kind, text = token.type, str(token)
        if kind == "STRING":
            value = self._string(token)
        elif kind in ("INT", "FLOAT"):
            value = int(text) if kind == "INT" else float(text)
        else:
            value = _CONSTANTS[text]
        return ast.Literal(value, _pos(meta))

    def duration(self, meta, token):
        seconds = sum(int(n) * _UNITS[u] for n, u in _DURATION_PART.findall(str(token)))
        return ast.Duration(float(seconds), _pos(meta))

    def list_lit(self, meta, *items):
        return ast.ListLit(items, _pos(meta))

    def map_lit(self, meta, *items):
        return ast.MapLit(items, _pos(meta))

    def map_item(self, meta, key, value):
        return (self._string(key) if key.type == "STRING" else str(key), value)

    def comprehension(self, meta, expr, var, iterable, cond):
        return ast.Comprehension(expr, self._name(var), iterable, cond, _pos(meta))

    def name(self, meta, token):
        return ast.Name(self._name(token), _pos(meta))

    def call(self, meta, func, *args):
        return ast.Call(self._name(func), args, _pos(meta))

    def lookup(self, meta, kind, *args):
        return ast.Lookup(kind, args, _pos(meta))

    def _string(self, token: Token) -> str:
        body = str(token)[1:-1]
        for m in _ESCAPE.finditer(body):
            if m.group(1) not in _ESCAPES:
                where = Token("STRING", "", line=token.line, column=token.column + 1 + m.start())
                self._error(where, f"unknown escape '\\{m.group(1)}' in a string; write '\\\\' for a backslash")
        return _ESCAPE.sub(lambda m: _ESCAPES.get(m.group(1), m.group(1)), body)


_CONSTANTS = {"true": True, "false": False, "null": None}
