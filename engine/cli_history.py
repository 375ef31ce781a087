"""The history commands of `recon`: history, diff REV, explain, replay, check, describe.

Thin: parse arguments, ask `history.py`, print.  Registered by
`cli.build_parser()` through `add_commands`.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

from . import history as H
from .errors import ReconError, SourceErrors, UsageError
from .store import _plain
from .timeutil import format_time
from .wal import StateError

HISTORY_HELP = """\
One line per revision: revision, time, who wrote it (rule component/rule,
manifests:FILE, an API user), what triggered it (OBJECT@REV of the change,
or timer/start@REV), the namespace of the objects it wrote (blank: none is
namespaced) and its ops (+created ~changed PARTS -deleted).

Without -n, every namespace (as -A).  With -n NS, only the revisions that
wrote an object in NS or the Namespace NS itself, each naming only those ops
("(+3 more outside NS)" counts the others, cluster-scoped ones too), and no
namespace column.  With
KIND/NAME, only the revisions that wrote that object, in the namespace -n
names (default: default), and no namespace column.

A revision REV is a number from 1 to the newest; a negative one counts back
from the newest (-1 is the newest, -5 the fifth newest).

examples:
  recon history                          # the whole history
  recon history --since -20              # the last 20 revisions
  recon history -n demo                  # revisions that wrote objects in namespace demo
  recon history deploy/web -n demo       # revisions that wrote one object
  recon history --since 40 --until 60 --actor replicaset-controller
  recon history --actor manifests        # every manifest file's writes (manifests:web.yaml, ...)
  recon history --json > history.jsonl   # JSON lines, every op in full
"""

DIFF_HELP = """\
What changed between two revisions, per object, as a YAML diff (REV2
defaults to the latest revision).  `recon diff DIR` (a folder, not a number)
plans an edit of the manifests instead.

examples:
  recon diff 40                          # revision 40 → now
  recon diff -2 -1                       # what the newest revision changed
  recon diff 40 57 pod/web-7c9f8-x2x4z -n demo
"""

EXPLAIN_HELP = """\
The causal chain of an object, or one field of it: the revision and actor
that last wrote it, the rule and the change that triggered that, and so on
back to the input that started it (a manifest file, an API user).  For a
pod's spec.nodeName, the scheduler's filters and scores are shown too.

examples:
  recon explain pod/web-7c9f8-x2x4z spec.nodeName -n demo
  recon explain rs/web-7c9f8 spec.replicas -n demo --at 120
  recon explain deploy/web -n demo
  recon explain node/node-1 'metadata.labels["kubernetes.io/hostname"]'   # quote keys with dots
"""

REPLAY_HELP = """\
Rebuild every state from the history log, checking each record's checksum,
each revision's state hash and each checkpoint.  With --rules: what-if —
re-execute the history with other rules, feeding the same manifest edits and
API requests at the same times, and show the first revision where the new
history differs from the recorded one and how the end states differ.

Exit code: 0 the log is intact (with --rules: the new history is the same),
1 it is damaged (with --rules: the histories differ), 2 a usage mistake.

examples:
  recon replay                           # verify the whole log
  recon replay --to 500
  recon replay --to -2                   # all but the newest revision
  recon replay --rules my-rules/         # what if these rules had run?
  recon replay --rules my-rules/ --from 120
"""

CHECK_HELP = """\
Evaluate a rule-language boolean at the revisions of the history and report
the first revision where it is not true: which object, who wrote that
revision and why, and the causal chain of the object (as recon explain).

With --kind, the expression is evaluated for each object of the kind, bound
as `it`: for all of them at the first revision checked, then for the objects
each later revision wrote (an object is re-checked when it changes).
Without --kind, it is evaluated once per revision, with no `it`; queries and
lookups read the state of that revision.  Exit 0: it holds; 1: it fails;
2: it cannot be checked — the command is wrong (an invalid expression, an
unknown kind, --from after the end of the history), the state folder is
missing, or its history log is damaged before the revisions asked for end.

examples:
  recon check --invariant 'it.spec.replicas > 0' --kind Deployment
  recon check --invariant 'it.spec.nodeName != null or it.status.phase == "Pending"' --kind Pod -n demo
  recon check --invariant 'count(Pod where it.status.phase == "Failed") == 0'
  recon check --invariant 'count(Node where is_ready(it)) >= 2' --from 100 --to 400
  recon check --invariant 'it.spec.replicas > 0' --kind Deployment --from -50   # the last 50 revisions
"""

DESCRIBE_HELP = """\
One object as a readable page, like kubectl describe: name, labels,
annotations, the fields of its kind, its conditions and its events.  With
--at, the object as it was at that revision.

examples:
  recon describe pod web-7c9f8-x2x4z -n demo
  recon describe deploy web -n demo --at 57
  recon describe deploy web -n demo --at -2   # as it was before the newest revision
  recon describe node node-1
  recon describe pods -n demo             # every pod of the namespace
"""


def rev_help(text: str, default: str = "") -> str:
    """The help of a revision option (get's and status' too): each says how a negative one counts."""
    return f"{text} ({default + '; ' if default else ''}negative: counts back, -1 is the newest)"


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Add history, diff, explain, replay, check and describe to recon's subcommands."""
    _add_history(commands)
    if "diff" not in commands.choices:
        _add_diff(commands)
    _add_explain(commands)
    _add_replay(commands)
    _add_check(commands)
    if "describe" not in commands.choices:
        _add_describe(commands)


def _parser(commands: Any, name: str, summary: str, text: str) -> argparse.ArgumentParser:
    parser = commands.add_parser(name, help=summary, description=text,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--state", metavar="DIR", default=".recon", help="state folder (default: .recon)")
    return parser


def _add_history(commands: Any) -> None:
    p = _parser(commands, "history", "one line per revision: who, why, what", HISTORY_HELP)
    p.add_argument("object", nargs="?", metavar="KIND/NAME", help="only revisions that wrote this object")
    p.add_argument("-n", "--namespace", metavar="NS",
                   help="only revisions that wrote objects in NS or NS itself (default: every namespace); "
                        "with KIND/NAME, its namespace (default: default)")
    p.add_argument("-A", "--all-namespaces", action="store_true",
                   help="every namespace, as without -n (overrides -n, as kubectl's)")
    p.add_argument("--since", metavar="REV", type=int, help=rev_help("from this revision"))
    p.add_argument("--until", metavar="REV", type=int, help=rev_help("up to this revision"))
    p.add_argument("--actor", metavar="NAME", help="only writes by this actor or rule, named in full or up to "
                                                   "a / or : (kubelet, kubelet/node_status, manifests, "
                                                   "manifests:web.yaml)")
    p.add_argument("--json", action="store_true", help="JSON lines, one per revision, every op in full "
                                                       "(with -n NS: those in NS, and how many are outside)")
    p.set_defaults(func=run_history)


def _add_diff(commands: Any) -> None:
    p = _parser(commands, "diff", "what changed between two revisions (or: plan an edit of DIR)", DIFF_HELP)
    p.add_argument("targets", nargs="+", metavar="REV1 [REV2] [KIND/NAME] | DIR")
    p.add_argument("-n", "--namespace", metavar="NS", default="default", help="namespace (default: default)")
    p.set_defaults(func=run_diff)


def _add_explain(commands: Any) -> None:
    p = _parser(commands, "explain", "why an object or field is what it is: its causal chain", EXPLAIN_HELP)
    p.add_argument("object", metavar="KIND/NAME")
    p.add_argument("field", nargs="?", metavar="FIELD.PATH",
                   help='one field, e.g. spec.nodeName or metadata.labels["kubernetes.io/hostname"]')
    p.add_argument("-n", "--namespace", metavar="NS", default="default", help="namespace (default: default)")
    p.add_argument("--at", metavar="REV", type=int, help=rev_help("as of this revision", "default: the latest"))
    p.add_argument("--rules", metavar="DIR", help="rules to re-run a scheduling attempt with "
                                                  "(default: ./rules, else the bundled rules)")
    p.set_defaults(func=run_explain)


def _add_replay(commands: Any) -> None:
    p = _parser(commands, "replay", "verify the history log, or re-run it with other rules (what-if)",
                REPLAY_HELP)
    p.add_argument("--to", metavar="REV", type=int, help=rev_help("verify up to this revision"))
    p.add_argument("--rules", metavar="DIR", help="what-if: re-execute with the rules in DIR")
    p.add_argument("--from", dest="from_rev", metavar="REV", type=int,
                   help=rev_help("what-if: re-execute from the last revision at or before REV that external "
                                 "inputs follow", "default: the beginning"))
    p.set_defaults(func=run_replay)


def _add_check(commands: Any) -> None:
    p = _parser(commands, "check", "the first revision where an invariant fails", CHECK_HELP)
    p.add_argument("--invariant", metavar="EXPR", required=True, help="a rule-language boolean expression")
    p.add_argument("--kind", metavar="KIND", help="evaluate for each object of KIND, bound as `it`")
    p.add_argument("-n", "--namespace", metavar="NS", help="only objects in this namespace (default: all)")
    p.add_argument("--from", dest="from_rev", metavar="REV", type=int,
                   help=rev_help("from this revision", "default: 1"))
    p.add_argument("--to", metavar="REV", type=int, help=rev_help("up to this revision", "default: the latest"))
    p.set_defaults(func=run_check)


def _add_describe(commands: Any) -> None:
    p = _parser(commands, "describe", "show one object in detail, with its conditions and events",
                DESCRIBE_HELP)
    p.add_argument("kind", metavar="KIND", help="kind (pod, deploy, node, …), or KIND/NAME")
    p.add_argument("name", nargs="?", metavar="NAME")
    p.add_argument("-n", "--namespace", metavar="NS", default="default", help="namespace (default: default)")
    p.add_argument("--at", metavar="REV", type=int,
                   help=rev_help("as it was at this revision", "default: the latest"))
    p.set_defaults(func=run_describe)


# ------------------------------------------------------------------ helpers


def _usage(message: str) -> Exception:
    return UsageError(message)


@contextmanager
def reader_may_leave() -> Iterator[None]:
    """Around a command's printing: a reader that leaves early (`| head`) ends the printing, not
    the command, so an exit code that answers (diff, replay --rules, check) does not depend on it."""
    try:
        yield
        sys.stdout.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # (the exit's own flush too)


def _key(history: H.History, text: str, namespace: str, at: int | None = None) -> tuple:
    """KIND/NAME → key, kinds resolved as kubectl does, against the CRDs of the history (`_resolve`)."""
    kind, slash, name = text.partition("/")
    if not slash or not name:
        raise _usage(f"expected KIND/NAME (e.g. pod/web-1), got {text!r}")
    rt = _resolve(history, kind, at)
    return (rt.group, rt.kind, namespace if rt.namespaced else "", name)


def _resolve(history: H.History, kind: str, at: int | None = None) -> Any:
    """A kind name as kubectl resolves it: built-ins first, else the CRDs of revision `at` (default:
    the newest), else those of any revision (a kind whose CRD was deleted later still names its objects)."""
    from .kinds import BUILTIN, UnknownKind

    try:
        return BUILTIN.resolve(kind)
    except UnknownKind:
        return H.kinds_at(history, at).resolve(kind)


def _open(args: argparse.Namespace) -> H.History:
    return open_history(args.state)


def open_history(state: str) -> H.History:
    """The history of the state folder `state`, with a warning when its log is damaged."""
    if not Path(state).is_dir():
        raise H.HistoryError(f'no cluster state in {state}: start one with "recon up"')
    found = H.History.open(state)
    if found.problem:
        print(f"warning: the history log is damaged after revision {found.head} ({found.problem}); "
              "run 'recon replay' for details", file=sys.stderr)
    return found


def revision(found: H.History, value: int | None, option: str = "", *, past_damage: bool = False) -> int | None:
    """A revision argument as the revision it names: N is revision N, -N the Nth newest (-1: the newest).

    The same for every command: 0 and a revision the history does not hold
    are usage mistakes (exit 2).  `past_damage`: a revision after the last
    intact one of a damaged log is let through, for a command that reports
    the damage itself (replay, check).
    """
    if value is None:
        return None
    head = found.head
    rev = head + 1 + value if value < 0 else value
    if 1 <= rev <= head or (past_damage and found.problem and value > head):
        return rev
    holds = f"the history holds 1..{head}, or -{head}..-1 counting back from the newest" if head \
        else "the history is empty"
    named = f"{option} {value}: " if option else ""  # (diff's REV1 REV2 are positional)
    raise _usage(f"{named}there is no revision {value} ({holds})")


def at_revision(state: str, value: int | None) -> int | None:
    """`--at` of a command that reads one state (get, status): the revision it names (None: the latest)."""
    return None if value is None else revision(open_history(state), value, "--at")


def _shown(value: int, rev: int) -> str:
    """A revision argument as given, with the revision it names when it counted back."""
    return f"{value} (revision {rev})" if value < 0 else str(value)


def _written(found: H.History, key: H.Key) -> H.Key:
    """`key`, when some revision wrote it; else a NotFound (exit 1) naming it and the namespaces
    where an object of its kind and name was written (a mistaken or forgotten -n)."""
    if found.revisions_of(key):
        return key
    group, kind, namespace, name = key
    what = f'{kind.lower()} "{name}"' + (f' in namespace "{namespace}"' if namespace else "")
    message = f"no revision wrote {what}"
    if namespace:  # (the namespaces of the newest state: the index answers for each without reading records)
        spaces = _namespaces(found.snapshot(found.head))
        message += _hint("was written in", [ns for ns in spaces if ns != namespace
                                            and found.revisions_of((group, kind, ns, name))])
    raise H.HistoryError(message)


def elsewhere(snapshot: Any, key: H.Key) -> str:
    """For an object `key` names but `snapshot` does not hold: a hint naming the other namespaces
    where an object of its kind and name is in `snapshot` (a mistaken or forgotten -n); else ""."""
    group, kind, namespace, name = key
    if not namespace:
        return ""
    return _hint("exists in", [ns for ns in _namespaces(snapshot)
                               if ns != namespace and snapshot.get((group, kind, ns, name)) is not None])


def _namespaces(snapshot: Any) -> list[str]:
    return [ns_key[3] for ns_key in snapshot.keys("", "Namespace", None)]


def _hint(verb: str, spaces: list[str], subject: str = "it") -> str:
    """A second line of a NotFound, 'hint: it VERB namespace "demo": add -n demo'; "" without `spaces`."""
    if not spaces:
        return ""
    where = ", ".join(f'"{ns}"' for ns in spaces)
    return f"\nhint: {subject} {verb} namespace{'s' if len(spaces) > 1 else ''} {where}: add -n {spaces[0]}"


# ------------------------------------------------------------------ commands


def run_history(args: argparse.Namespace) -> int:
    found = _open(args)
    since, until = revision(found, args.since, "--since"), revision(found, args.until, "--until")
    if since is not None and until is not None and since > until:
        raise _usage(f"--since {_shown(args.since, since)} is after --until {_shown(args.until, until)}")
    if args.object and args.all_namespaces:
        raise _usage("KIND/NAME is one object in one namespace: give -n NS, not -A")
    key = _written(found, _key(found, args.object, args.namespace or "default")) if args.object else None
    # (-n without KIND/NAME: that namespace's revisions; none given, or -A: every namespace, as always)
    namespace = args.namespace if key is None and not args.all_namespaces else None
    with reader_may_leave():  # (`recon history | head`: the reader has what it wanted)
        if not _print_lines(args, found, key, since, until, namespace):
            if found.head == 0:
                print("No revisions yet: the history is empty.", file=sys.stderr)
            elif args.actor:
                print(f'No revisions found by "{args.actor}".{_actor_hint(found, args.actor, since, until)}',
                      file=sys.stderr)
            elif namespace is not None:
                print(f"No revisions found in {namespace} namespace.", file=sys.stderr)  # (as get's)
    return 0


def _actor_hint(found: H.History, actor: str, since: int | None, until: int | None) -> str:
    """' Did you mean "X"?' for an --actor that names no writer, X the closest writer that wrote in
    those revisions (an actor, a rule, or one's part up to its `/` or `:`), else ''."""
    names: set[str] = set()
    for record in found.records(since, until):
        for name in (record.actor, H.rule_of(record)):
            if name:
                names.update((name, re.split("[/:]", name, maxsplit=1)[0]))
    close = difflib.get_close_matches(actor, sorted(names), n=1)
    return f' Did you mean "{close[0]}"?' if close else ""


def _print_lines(args: argparse.Namespace, found: H.History, key: Any, since: int | None,
                 until: int | None, namespace: str | None) -> int:
    """Print the lines asked for; how many."""
    count = 0
    for count, line in enumerate(H.lines(found, key, since, until, args.actor, namespace), 1):
        if args.json:
            r = line.record
            doc = {"rev": r.revision, "time": r.time, "timestamp": format_time(r.time), "actor": r.actor,
                   "rule": H.rule_of(r), "cause": r.cause, "summary": list(line.ops),
                   "ops": [{"op": op.type, "key": op.key, **({"obj": op.obj} if op.type == "put" else {})}
                           for op in H.in_namespace(r.ops, namespace)],
                   **({"outside": line.outside} if namespace is not None else {})}
            sys.stdout.write(orjson.dumps(doc, default=_plain, option=orjson.OPT_SORT_KEYS).decode() + "\n")
        else:  # (the namespace column unless the listing is of one object or one namespace, as get's)
            print(line.format(namespace=key is None and namespace is None))
    return count


def is_revision(text: str) -> bool:
    """A revision argument: `40`, or `-2` (counting back from the newest)."""
    return re.fullmatch(r"-?[0-9]+", text) is not None


def run_diff(args: argparse.Namespace) -> int:
    first = args.targets[0]
    if not is_revision(first):
        return _plan_diff(args)
    revs = [t for t in args.targets if is_revision(t)]
    objects = [t for t in args.targets if not is_revision(t)]
    if len(revs) > 2 or len(objects) > 1 or args.targets[:len(revs)] != revs:
        raise _usage("expected REV1 [REV2] [KIND/NAME]")
    try:
        found = _open(args)
        rev1 = revision(found, int(revs[0]))
        rev2 = revision(found, int(revs[1])) if len(revs) > 1 else found.head
        key = _written(found, _key(found, objects[0], args.namespace)) if objects else None
        changes = H.diff(found, rev1, rev2, key)
    except UsageError:
        raise
    except ReconError as exc:  # (2, not 1, which says the revisions differ: as kubectl diff)
        print(f"error: {exc}", file=sys.stderr)
        return 2
    with reader_may_leave():
        for change in changes:
            print(change.yaml_diff(f"@{rev1}", f"@{rev2}"), end="")
    if not changes:
        print(f"no changes between revisions {rev1} and {rev2}", file=sys.stderr)
    return 1 if changes else 0  # (as `recon diff DIR` and kubectl diff: 1 when something changed)


def _plan_diff(args: argparse.Namespace) -> int:
    """`recon diff DIR`: the manifests engineer's plan of an edit, when cli.py provides it."""
    from . import cli

    plan = getattr(cli, "plan_diff", None)
    if plan is None:
        raise ReconError("recon diff DIR is not available yet; to compare revisions, give numbers: "
                         "recon diff REV1 [REV2]")
    args.dir = args.targets[0]
    return plan(args)


def run_explain(args: argparse.Namespace) -> int:
    from .cluster import rules_folder

    rules = rules_folder(args.rules)
    try:
        path = H.field_path(args.field)
    except H.FieldPathError as exc:
        raise _usage(str(exc)) from None
    found = _open(args)
    at = found.head if args.at is None else revision(found, args.at, "--at")
    key = _written(found, _key(found, args.object, args.namespace, at))
    obj = found.at(key, at) if path else None
    path = H.resolve_field(obj, path)  # metadata.labels.kubernetes.io/hostname: the label, unquoted
    steps = H.explain(found, key, path, at, scheduling=H.scheduling_from(rules))
    value = H.lookup(obj, path) if obj is not None else H._MISSING
    print(H.format_chain(steps, key, path, value, at))
    if value is H._MISSING and obj is not None:
        hint = _field_hint(obj, path)
        if hint:
            print(f"hint: {H.ref(key)} has no field {H._dotted(path)} at revision {at}; did you mean {hint}?",
                  file=sys.stderr)
    return 0


def _field_hint(obj: Any, path: tuple) -> str | None:
    """The field path closest to `path` in `obj`: the same steps down to the first it lacks, that
    one replaced by its closest sibling (a misspelt `spec.nodeNme`: `spec.nodeName`)."""
    here = obj
    for i, step in enumerate(path):
        if isinstance(here, Mapping) and step in here:
            here = here[step]
            continue
        if not isinstance(here, Mapping) or not isinstance(step, str):
            return None
        close = difflib.get_close_matches(step, [k for k in here if isinstance(k, str)], n=1, cutoff=0.75)
        return H._dotted((*path[:i], close[0], *path[i + 1:])) if close else None
    return None


def run_replay(args: argparse.Namespace) -> int:
    if args.rules:
        if args.to is not None:
            raise _usage("--to is for a replay that verifies; a re-execution with --rules runs to the end "
                         "of the recorded inputs")
        return _what_if(args)
    if args.from_rev is not None:  # (verifying checks every checksum from the first revision)
        raise _usage("--from is for a re-execution with --rules DIR; a replay verifies from revision 1 "
                     "(--to REV stops it early)")
    if not Path(args.state).is_dir():
        raise ReconError(f'no cluster state in {args.state}: start one with "recon up"')
    to = None  # (a damaged log: a --to after the damage passes, and the verification says where)
    if args.to is not None:
        to = revision(H.History.open(args.state), args.to, "--to", past_damage=True)
    result = H.verify(args.state, to)
    for problem in result.problems:
        print(f"error: {problem}", file=sys.stderr)
    if not result.revision:  # (a log with no record: nothing was checked, nothing was rebuilt)
        print("nothing to replay: the history log holds no revision yet" if result.ok
              else "replay FAILED: the history log holds no revision that can be read")
        return 0 if result.ok else 1
    verdict = "ok" if result.ok else "FAILED"
    print(f"replayed revisions 1..{result.revision}: {verdict} (checksums, state hashes; "
          f"{result.checkpoints} checkpoint(s) compared)")
    return 0 if result.ok else 1


def _what_if(args: argparse.Namespace) -> int:
    from .cluster import rules_folder

    rules = rules_folder(args.rules)
    if not any(rules.rglob("*.rules")):
        raise _usage(f"{rules}: no .rules files in this folder")
    found = _open(args)
    try:
        result = H.what_if(found, rules, revision(found, args.from_rev, "--from") or 0)
    except SourceErrors as exc:  # (rules that do not load: no answer, not "the histories differ")
        print(exc, file=sys.stderr)
        return 2
    with reader_may_leave():
        _print_what_if(found, rules, result)
    return 0 if result.divergence is None else 1


def _print_what_if(found: H.History, rules: Path, result: H.WhatIf) -> None:
    print(f"re-executed from revision {result.start} with the rules in {rules}: "
          f"{result.inputs} external input(s) fed at their recorded times")
    print(f"recorded history ends at revision {found.head}; the new one at {result.new.head}")
    for message in result.messages:
        print(f"warning: {message}", file=sys.stderr)
    if result.divergence is None:
        print("no divergence: the new rules make the same history")
        return
    rev = result.divergence
    print(f"first divergence at revision {rev}:")
    for label, hist in (("recorded", found), ("new", result.new)):
        print(f"  {label + ':':<9} " + _one_line(hist, rev))
    _note_unsettled(result)
    changes = result.end_changes()
    print(f"end states differ in {len(changes)} object(s):")
    for line in _by_kind(changes):
        print(f"  {line}")
    for change in changes:
        print(change.yaml_diff("(recorded)", "(new)"), end="")


def _by_kind(changes: list[H.Change]) -> list[str]:
    """One line per kind: how many of its objects differ, and how (before the diffs, which can run
    to thousands of objects)."""
    counts: dict[str, list[int]] = {}
    for change in changes:
        tally = counts.setdefault(change.key[1], [0, 0, 0])
        tally[0 if change.old is not None and change.new is not None else 1 if change.new is None else 2] += 1
    lines = []
    for kind, (changed, recorded_only, new_only) in sorted(counts.items()):
        parts = [f"{n} {what}" for n, what in ((changed, "changed"), (recorded_only, "only in the recorded history"),
                                               (new_only, "only in the new one")) if n]
        lines.append(f"{kind}: " + ", ".join(parts))
    return lines


def _note_unsettled(result: H.WhatIf) -> None:
    """Say when the divergence may come from an input the recorded rules did not wait for."""
    early = [rev for rev in result.unsettled if rev <= result.divergence]
    if not early:
        return
    rev = early[0]
    start = f" (so revision {result.start}, where this re-execution started, was not a quiet point)" \
        if rev == result.start + 1 else ""
    print(f"  note: the recorded input at revision {rev} came while the recorded rules still had work to do"
          f"{start}; a re-execution feeds an input once the rules are done, so from there the histories "
          "can differ whatever the rules")


def _one_line(hist: H.History, rev: int) -> str:
    if rev > hist.head:
        return "(no such revision: this history ends before it)"
    record = hist.record(rev)
    ops = H.summarize(record, hist.snapshot(rev - 1).objects)
    return f"{H.who(record)}  ({H.cause_text(record)})  {' '.join(ops)}"


def run_check(args: argparse.Namespace) -> int:
    try:
        found, kind, result = _run_invariant(args)
    except CannotCheck as exc:
        print(exc, file=sys.stderr)
        return 2
    except (H.HistoryError, StateError) as exc:  # no state, a damaged log: not a failing invariant (1)
        print(f"error: cannot check the invariant: {exc}", file=sys.stderr)
        return 2
    if result.violation is not None:
        with reader_may_leave():
            _report_violation(args, found, result)
        return 1
    what = f"for every {kind[1]}" if kind else "at every revision"
    print(f"invariant holds {what} in revisions {result.start}..{result.end} "
          f"({result.evaluations} evaluation(s))")
    if found.problem and (args.to is None or args.to > found.head):  # (a negative --to: before the damage)
        print(f"error: cannot check the invariant after revision {found.head}: the history log is damaged "
              f"there ({found.problem}); run 'recon replay' for details", file=sys.stderr)
        return 2
    return 0


class CannotCheck(ReconError):
    """An invariant that does not compile (exit 2; its message is the expression's errors, with a caret)."""


def _run_invariant(args: argparse.Namespace) -> tuple[H.History, tuple[str, str] | None, H.InvariantResult]:
    """Open the state, compile the expression and evaluate it over the revisions asked for."""
    from .dsl.compile import compile_expression

    found = _open(args)
    kind = _check_kind(found, args.kind) if args.kind else None
    try:
        fn = compile_expression(args.invariant, "<invariant>", it=kind is not None, kinds=_served(found))
    except SourceErrors as exc:
        hint = ""
        if kind is None and "'it' is only defined" in str(exc):
            hint = "\nhint: give --kind KIND to evaluate the expression for each object of KIND, bound as `it`"
        raise CannotCheck(f"{exc}{hint}") from None
    start = revision(found, args.from_rev, "--from")
    end = revision(found, args.to, "--to", past_damage=True)  # (after the damage: checked up to it, then said)
    if start is not None and end is not None and start > end:
        raise _usage(f"--from {_shown(args.from_rev, start)} is after --to {_shown(args.to, end)}")
    return found, kind, H.check_invariant(found, fn, kind, args.namespace, start, end)


def _served(found: H.History) -> set[str]:
    """The kinds an invariant may query: the built-ins and those of the history's CRDs, as the
    rule language names them (`Kind`, `group/Kind`); a query of any other kind would find nothing."""
    registry = H.kinds_at(found)
    return {rt.kind for rt in registry} | {f"{rt.group}/{rt.kind}" for rt in registry if rt.group}


def _report_violation(args: argparse.Namespace, found: H.History, result: H.InvariantResult) -> None:
    """The failing revision, who wrote it and why, and the causal chain of the object."""
    bad = result.violation
    subject = f" for {H.ref(bad.key)}" + (f" -n {bad.key[2]}" if bad.key[2] else "") if bad.key else ""
    gives = f"cannot be evaluated: {bad.error}" if bad.error else f"gives {H._show(bad.value)}"
    print(f"invariant fails at revision {bad.revision}{subject}: {args.invariant} {gives}")
    if bad.revision == result.start and bad.key is not None:
        print(f"(revision {bad.revision} is the first checked: it may have failed before)")
    print(bad.line.format(namespace=True))  # (as `recon history` shows it)
    key = bad.key or next((op.key for op in bad.line.record.ops), None)
    if key is not None:
        steps = H.explain(found, key, (), bad.revision)
        print(H.format_chain(steps, key, ()))


def _check_kind(found: H.History, name: str) -> tuple[str, str]:
    """--kind as (group, kind); an unknown kind is a usage mistake (exit 2), not a failing invariant (1)."""
    from .kinds import UnknownKind

    group, slash, kind = name.rpartition("/")
    if slash:  # the rule language's GROUP/Kind
        rt = H.kinds_at(found).get(group, kind) if kind else None
        if rt is None:
            raise _usage(f"--kind {name}: no kind {kind!r} in API group {group!r}{_kind_hint(found, name)}")
        return (rt.group, rt.kind)
    try:
        rt = _resolve(found, name)
    except UnknownKind as exc:
        raise _usage(f"--kind {name}: {exc}{_kind_hint(found, name)}") from None
    return (rt.group, rt.kind)


def _kind_hint(found: H.History, name: str) -> str:
    """'; did you mean Greeting?' for a misspelt --kind: the closest kind an invariant may query, as
    the expression's own checker suggests one (case aside: `greting` is close to Greeting too)."""
    kinds = {kind.lower(): kind for kind in _served(found)}
    close = difflib.get_close_matches(name.lower(), sorted(kinds), n=1, cutoff=0.6)
    return f"; did you mean {kinds[close[0]]}?" if close else ""


def run_describe(args: argparse.Namespace) -> int:
    from .describe import describe

    if "/" in args.kind and args.name:
        raise _usage("give KIND NAME or KIND/NAME, not both")
    found = _open(args)
    at = found.head if args.at is None else revision(found, args.at, "--at")
    snap = found.snapshot(at)
    if "/" in args.kind or args.name:
        keys = [_key(found, args.kind if "/" in args.kind else f"{args.kind}/{args.name}", args.namespace, at)]
        if snap.get(keys[0]) is None:
            where = f" in namespace {keys[0][2]}" if keys[0][2] else ""
            raise ReconError(f"{H.ref(keys[0])} not found{where} at revision {at}{elsewhere(snap, keys[0])}")
    else:  # every object of the kind in the namespace, as kubectl describe KIND
        rt = _resolve(found, args.kind, at)
        keys = snap.keys(rt.group, rt.kind, args.namespace if rt.namespaced else None)
        if not keys and rt.namespaced:  # (naming the namespaces that hold some: a forgotten -n)
            print(f"No resources found in {args.namespace} namespace." + _hint("exist in", [
                ns for ns in _namespaces(snap) if ns != args.namespace and snap.keys(rt.group, rt.kind, ns)
            ], subject=rt.plural), file=sys.stderr)
        elif not keys:
            print("No resources found", file=sys.stderr)
    print("\n\n".join(describe(snap, key).rstrip("\n") for key in keys) + ("\n" if keys else ""), end="")
    return 0
