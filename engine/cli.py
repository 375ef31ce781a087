"""The `recon` command: parses arguments and calls the library.

    recon up [DIR] [--once]      run the cluster a folder of manifests describes
    recon diff [DIR]             what applying DIR would change, downstream effects included
    recon status                 Deployments, pods waiting for a node, nodes
    recon get KIND [NAME...]     show objects, the way kubectl get does

Usage mistakes exit 2 with a hint; every other mistake (a bad manifest or
rule file, an unknown kind, a missing object) exits 1 with a clear message,
never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import yaml

from . import cli_history, selectors
from .apierrors import APIError
from .errors import ReconError, SourceErrors, UsageError
from .kinds import Registry, ResourceType
from .cluster import Cluster, bundled, local_or_bundled, rules_folder  # noqa: F401 (bundled: public)
from .history import BlockYAML
from .manifests import ApplyResult, object_ref
from .objects import get_path, key_of, thaw
from .printers import columns, render_table
from .report import apply_errors, plan_text
from .store import tune_gc
from .timeutil import format_time, parse_duration
from .wal import StateFolder, load_snapshot, open_store

UP_HELP = """\
Run the cluster that a folder of Kubernetes manifests describes.

Apply DIR as the desired state (create, update, prune), run the rules until
the cluster converges, and keep running: every settled batch of edits to
DIR (or to the rules) is applied as one change and shown with what the
engine did. Fields a manifest sets that someone else changes are restored.
Ctrl-C or SIGTERM stops cleanly; run it again to continue from the state,
with whatever changed in DIR meanwhile. With --once, stop when converged,
on a simulated clock: runs are deterministic and take no real time.

examples:
  recon up                        # ./manifests, ./rules, state in ./.recon
  recon up --json                 # one JSON event per line (for tools)
  recon up manifests --once       # converge once and exit (for scripts and CI)
  recon up site/ --once --until 1h --state /tmp/state
  recon up --dry-run              # what applying would change (see recon diff)
"""

SERVE_HELP = """\
Run the cluster (as recon up does) and serve the Kubernetes API, so that
kubectl and other Kubernetes clients work against it. Writes STATE/kubeconfig
with an admin token and prints the line that makes kubectl use it.

examples:
  recon serve                          # http://127.0.0.1:6443
  recon up manifests --serve --port 0  # any free port
  recon serve --tls                    # HTTPS, with a CA in STATE/
"""

GET_HELP = """\
Show objects of one or more kinds, as a table or as JSON/YAML.

KIND is a kubectl name (pods, pod, po, deploy, rs, svc, ep, ns, no, sa, cm,
secret, lease, crd, a custom kind), a comma list (pods,svc) or `all`.
Reads the state folder without locking it: works while `recon up` runs.

examples:
  recon get pods -n demo               # pods in namespace demo
  recon get deploy,svc -A              # across all namespaces
  recon get po -l app=web -o wide      # select by label, more columns
  recon get pod/web-7c9f8 -o yaml      # one object, in full
  recon get nodes -o name
  recon get all -n demo --at 42        # the state at revision 42
  recon get pods -A --at -2            # before the newest revision
"""


class ArgumentParser(argparse.ArgumentParser):
    """argparse, with kubectl's way of reporting usage mistakes (exit 2 and a hint)."""

    _mixing = False

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"error: {message}\nSee '{self.prog} -h' for help and examples.\n")

    def parse_known_args(self, args=None, namespace=None):  # type: ignore[override]  # noqa: ANN001, ANN201
        # A command's names and options in any order, as kubectl takes them (`recon get pods -n demo
        # web`); argparse would take the names before the first option only.  (Not for a parser
        # of commands: intermixed parsing cannot hand the rest to a subcommand.)
        if self._mixing or any(isinstance(a, argparse._SubParsersAction) for a in self._actions):
            return super().parse_known_args(args, namespace)
        self._mixing = True
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self._mixing = False


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="recon", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="recon: a Kubernetes-style control plane in one process, written as rules.",
        epilog="examples:\n  recon up manifests --once\n  recon get pods -A\n\n"
               "Run 'recon COMMAND -h' for the options of a command.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=ArgumentParser)
    _add_up(commands)
    _add_diff(commands)
    _add_status(commands)
    _add_get(commands)
    _add_rules(commands)
    _add_logs(commands)
    _add_proxy(commands)
    cli_history.add_commands(commands)
    return parser


def _add_rules(commands: argparse._SubParsersAction) -> None:
    rules = commands.add_parser("rules", help="work with rule files",
                                description="Work with rule files.")
    sub = rules.add_subparsers(dest="rules_command", metavar="COMMAND", parser_class=ArgumentParser)
    check = sub.add_parser(
        "check", help="check rule files and report every mistake",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Parse, check and compile rule files; report every mistake of every file.\n\n"
                    "examples:\n  recon rules check                  # ./rules, else the bundled rules\n"
                    "  recon rules check rules/examples/webapp.rules")
    check.add_argument("paths", nargs="*", metavar="PATH", help="rule files or folders (default: ./rules)")
    check.set_defaults(func=_run_rules_check)
    rules.set_defaults(func=lambda args: _usage("choose a rules command: check"))


def _run_rules_check(args: argparse.Namespace) -> int:
    from .rules import check_paths

    paths = [Path(p) for p in args.paths] or [local_or_bundled("rules")]
    missing = [p for p in paths if not p.exists()]
    if missing:
        raise ReconError(f"{missing[0]}: no such file or folder")
    from .rules import rule_files

    empty = [p for p in paths if not rule_files(p)]
    if empty:  # (nothing checked is not "all good": a mistyped folder would pass)
        raise ReconError(f"{empty[0]}: no rule files (*.rules) there")
    lines, errors, warnings = check_paths(paths)
    for line in lines:
        print(line)
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if errors:
        print(SourceErrors(errors), file=sys.stderr)
        return 1
    return 0


def _add_up(commands: argparse._SubParsersAction) -> None:
    up = commands.add_parser("up", help="run the cluster a folder of manifests describes",
                             description=UP_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    up.add_argument("dir", nargs="?", metavar="DIR", help="folder of manifests (default: ./manifests)")
    up.add_argument("--rules", metavar="DIR", help="folder of .rules files (default: ./rules, else the bundled rules)")
    up.add_argument("--state", metavar="DIR", default=".recon", help="state folder (default: .recon)")
    up.add_argument("--once", action="store_true", help="converge once on a simulated clock, then exit")
    up.add_argument("--until", metavar="DURATION", default="10m",
                    help="with --once: how much simulated time a run may take (default: 10m)")
    up.add_argument("--dry-run", action="store_true", help="show what applying DIR would change, change nothing")
    up.add_argument("--json", action="store_true", help="one JSON event per line instead of text")
    up.add_argument("-q", "--quiet", action="store_true", help="show errors only")
    _add_serve_options(up)
    up.set_defaults(func=_run_up)
    serve = commands.add_parser("serve", help="run the cluster and serve the Kubernetes API (up --serve)",
                                description=SERVE_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    for flag in ("dir", "--rules", "--state", "--json", "--quiet"):
        action = next(a for a in up._actions if flag in (a.dest, *a.option_strings))
        serve._add_action(action)
    _add_serve_options(serve)
    serve.set_defaults(func=_run_up, serve=True, once=False, until="10m", dry_run=False)


def _add_serve_options(parser: argparse.ArgumentParser) -> None:
    """--serve and where: the Kubernetes HTTP API (engine/api/http.py)."""
    parser.add_argument("--serve", action="store_true", help="also serve the Kubernetes API (for kubectl)")
    parser.add_argument("--address", metavar="IP", default="127.0.0.1", help="API address (default: 127.0.0.1)")
    parser.add_argument("--port", metavar="PORT", type=int, default=6443, help="API port; 0: any free (default: 6443)")
    parser.add_argument("--tls", action="store_true", help="serve HTTPS with a self-signed CA written to the state folder")


def _add_get(commands: argparse._SubParsersAction) -> None:
    get = commands.add_parser("get", help="show objects (like kubectl get)",
                              description=GET_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    get.add_argument("kind", nargs="?", metavar="KIND", help="kind(s) to show, or TYPE/NAME")
    get.add_argument("names", nargs="*", metavar="NAME", help="names of the objects to show")
    get.add_argument("-n", "--namespace", metavar="NS", help="namespace (default: default)")
    get.add_argument("-A", "--all-namespaces", action="store_true", help="list across all namespaces")
    get.add_argument("-l", "--selector", metavar="SELECTOR", default="", help="label selector, e.g. app=web,tier!=db")
    get.add_argument("--field-selector", metavar="SELECTOR", default="", help="field selector, e.g. spec.nodeName=node-1")
    get.add_argument("-o", "--output", choices=("wide", "json", "yaml", "name"), help="output format")
    get.add_argument("--state", metavar="DIR", default=".recon", help="state folder (default: .recon)")
    get.add_argument("--at", metavar="REV", type=int, help=cli_history.rev_help("show the state at this revision"))
    get.set_defaults(func=_run_get)


# ======================================================================= up


def _run_up(args: argparse.Namespace) -> int:
    folder = Path(args.dir) if args.dir else local_or_bundled("manifests")
    rules_dir = rules_folder(args.rules)
    if not folder.exists():
        raise ReconError(f"{folder}: no such manifests folder")
    if args.rules and rules_dir.is_dir() and not any(rules_dir.rglob("*.rules")) and not args.quiet:
        print(f"warning: {rules_dir}: no .rules files in this folder: no controller, scheduler or kubelet "
              "runs", file=sys.stderr)
    try:
        budget = parse_duration(args.until)
    except ValueError as exc:
        raise UsageError(f"invalid --until: {exc}") from None
    if args.dry_run:
        plan = _plan(args.state, folder, rules_dir, budget)
        if args.json:  # (one line, as every event of `recon up --json`)
            print(json.dumps({"event": "plan", **plan.to_json()}, ensure_ascii=False))
        else:
            if not args.quiet:
                print(plan_text(plan, dry_run=True), end="")
            _report(plan.result, None, None, quiet=args.quiet)
        return 1 if plan.result.errors else 0
    store = open_store(args.state)
    state = StateFolder(args.state)
    try:
        cluster = Cluster(store, rules_dir, simulated=args.once)
        state.publish_clock(None if args.once else cluster.clock.lead)  # (for `recon get`'s ages meanwhile)
        tune_gc()  # a process holding a large store: see engine/store.py
        if not args.once:
            server = _start_http(cluster, args)
            try:
                return _serve(cluster, folder, args)
            finally:
                if server is not None:
                    server.stop()
        until = cluster.clock.now() + budget
        if args.json:
            batch, run = _once_json(cluster, folder, until)
            return 1 if batch.result.errors or not batch.converged or (run is not None and failing_rules(run)) else 0
        from .live import sync_once

        result, run, overridden = sync_once(cluster, folder, until)
        _report(result, run, cluster, quiet=args.quiet, overridden=overridden, folder=folder)
        return 1 if result.errors or (run is not None and (not run.converged or failing_rules(run))) else 0
    finally:
        state.unpublish_clock()
        store.close()


def _start_http(cluster: Cluster, args: argparse.Namespace) -> Any:
    """The Kubernetes HTTP API (engine/api/http.py) when asked for with --serve, else None."""
    if not args.serve:
        return None
    from .api.http import start_http

    return start_http(cluster, args)


def _serve(cluster: Cluster, folder: Path, args: argparse.Namespace) -> int:
    """Keep the cluster running and follow the folder until SIGINT or SIGTERM (engine/live.py)."""
    from .live import serve
    from .report import Reporter

    return serve(cluster, folder, Reporter(json_lines=args.json, quiet=args.quiet), state=args.state)


def _plan(state: str, folder: Path, rules_dir: Path, horizon: float) -> Any:
    """What applying `folder` would do, on an in-memory fork of the state (engine/plan.py)."""
    from .plan import make_plan

    head = _read_state(state, None) if Path(state).is_dir() else None
    return make_plan(head, folder, rules_dir, horizon)


def _once_json(cluster: Cluster, folder: Path, until: float) -> Any:
    """`recon up --once --json`: the run as the live loop's first change is shown, an `applied`
    event (with the changes, errors and what followed) and, once converged, `ready`; the Batch and the run."""
    from .live import recorded_batch, sync_once
    from .report import Reporter, cluster_summary

    runs: list = []
    overridden: list[str] = []

    def sync() -> Any:
        result, run, overrides = sync_once(cluster, folder, until)
        runs.append(run)
        overridden.extend(overrides)
        return result, run

    batch = recorded_batch(cluster, folder, "start", (), sync)
    reporter = Reporter(json_lines=True)
    for message in overridden:
        reporter.warning(message)
    if batch.converged:
        reporter.ready(batch, cluster_summary(cluster.store.head))
    else:
        reporter.applied(batch)
    return batch, runs[0]


def _report(result: ApplyResult, run: Any, cluster: Cluster | None, quiet: bool = False,
            overridden: Sequence[str] = (), folder: Path = Path("manifests")) -> None:
    """What `recon up --once` / `--dry-run` did, in text; `quiet`: errors only (the rules' failures
    that fail the run among them, as errors); `overridden`: fields the folder sets that the run
    changed (engine/live.py `sync_once`)."""
    from .live import describe_failure, rule_error

    for note in () if quiet else result.notes:
        print(f"note: {note}", file=sys.stderr)
    if not result.dry_run and not quiet:
        for change in result.changes:
            print(change.format(result.dry_run))
    for line in apply_errors(result):  # (as the live loop shows them)
        print(line, file=sys.stderr)
    if run is None:
        return
    for failure in run.failures:
        if not quiet:
            print(f"warning: {describe_failure(failure, cluster.store.head, folder)}", file=sys.stderr)
        elif rule_error(failure):
            print(f"error: {failure.format()}", file=sys.stderr)
    for message in () if quiet else overridden:
        print(f"warning: {message}", file=sys.stderr)
    head = cluster.store.head
    failing = failing_rules(run)
    if run.converged and failing:
        print(f"error: did not converge: {_rules_failing(failing)} at revision {head.revision} "
              "(see above)", file=sys.stderr)
    elif run.converged and not quiet:
        print(f"converged at revision {head.revision} after {run.rounds} round{'' if run.rounds == 1 else 's'} "
              f"(clock {format_time(cluster.clock.now())})")
    elif not run.converged:
        print(f"error: did not converge: {run.message}", file=sys.stderr)


def failing_rules(run: Any) -> list:
    """The rule failures a run ended with that are the rules' own (an evaluation that raised, a
    write the rule should not have made, a fight held back), not the cluster's refusals (a quota,
    a namespace being deleted) nor fields the API server drops: `--once` fails on them."""
    from .live import rule_error

    return [f for f in run.failures if rule_error(f)]


def _rules_failing(failing: list) -> str:
    rules = sorted({f.rule for f in failing})
    return f"{len(rules)} rule{'s' if len(rules) != 1 else ''} still failing ({', '.join(rules)})"


# ============================================================ diff, status

DIFF_HELP = """\
Show what applying a folder of manifests now would change, without changing
anything: the objects created, changed (a YAML diff) and deleted, and what
would follow downstream — the rules run on an in-memory copy of the state:
pods created or deleted and the nodes they would be scheduled to,
Endpoints and kube-proxy routes that would change.

Exit code as kubectl diff: 0 no changes, 1 changes, 2 an error (a broken file).
With a revision number instead of a folder, shows what changed between
revisions of the history (REV2 defaults to the newest; a negative revision
counts back from the newest, -1 being the newest).

examples:
  recon diff                      # ./manifests against the state in ./.recon
  recon diff site/ --state /tmp/state
  recon diff manifests --json
  recon diff 40 57 deploy/web -n demo   # revisions 40 and 57 of the history
  recon diff -2 -1                # what the newest revision changed
"""


def _add_diff(commands: argparse._SubParsersAction) -> None:
    diff = commands.add_parser("diff", help="show what applying a folder would change, downstream effects included",
                               description=DIFF_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    diff.add_argument("targets", nargs="*", metavar="DIR | REV1 [REV2] [KIND/NAME]",
                      help="folder of manifests (default: ./manifests), or revisions of the history")
    diff.add_argument("-n", "--namespace", metavar="NS", default="default",
                      help="with revisions: the object's namespace (default: default)")
    diff.add_argument("--rules", metavar="DIR", help="folder of .rules files (default: ./rules, else the bundled rules)")
    diff.add_argument("--state", metavar="DIR", default=".recon", help="state folder (default: .recon)")
    diff.add_argument("--until", metavar="DURATION", default="1m",
                      help="how much simulated time the planned change may take (default: 1m)")
    diff.add_argument("--json", action="store_true", help="the plan as one JSON object")
    diff.set_defaults(func=_run_diff)


def _run_diff(args: argparse.Namespace) -> int:
    """`recon diff DIR` plans an edit; `recon diff REV...` compares revisions (engine/cli_history.py)."""
    if args.targets and cli_history.is_revision(args.targets[0]) and not Path(args.targets[0]).exists():
        return cli_history.run_diff(args)
    if len(args.targets) > 1:
        raise UsageError("expected one folder: recon diff [DIR] (or revisions: recon diff REV1 [REV2])")
    try:
        folder = Path(args.targets[0]) if args.targets else local_or_bundled("manifests")
        rules_dir = rules_folder(args.rules)
        if not folder.exists():
            raise ReconError(f"{folder}: no such manifests folder")
        try:
            horizon = parse_duration(args.until)
        except ValueError as exc:
            raise UsageError(f"invalid --until: {exc}") from None
        if not Path(args.state).is_dir():  # (a typo in --state would read as "everything is new")
            print(f"warning: no cluster state in {args.state}: comparing against an empty cluster",
                  file=sys.stderr)
        plan = _plan(args.state, folder, rules_dir, horizon)
    except UsageError:
        raise
    except ReconError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    with cli_history.reader_may_leave():
        if args.json:
            print(json.dumps(plan.to_json(), indent=2, ensure_ascii=False))
        else:
            print(plan_text(plan), end="")
            _report(plan.result, None, None)
    if plan.result.errors:
        return 2
    return 1 if plan.changed else 0


STATUS_HELP = """\
Show how the cluster is doing: each Deployment's ready, up-to-date and
available replicas, the pods still waiting (with the scheduler's reason
when it could not place them), and the nodes with their condition.
Reads the state folder without locking it: works while `recon up` runs.

examples:
  recon status
  recon status --state /tmp/state
"""


def _add_status(commands: argparse._SubParsersAction) -> None:
    status = commands.add_parser("status", help="Deployments, pending pods and nodes at a glance",
                                 description=STATUS_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    status.add_argument("--state", metavar="DIR", default=".recon", help="state folder (default: .recon)")
    status.add_argument("--at", metavar="REV", type=int, help=cli_history.rev_help("show the status at this revision"))
    status.set_defaults(func=_run_status)


def _run_status(args: argparse.Namespace) -> int:
    from .report import status_text

    print(status_text(_read_state(args.state, cli_history.at_revision(args.state, args.at))), end="")
    return 0


# ====================================================================== get


def _now(state: str, snapshot: Any, at: int | None) -> float:
    """The moment a read of the state shows the cluster at (ages, logs): the time of its last
    revision, or, while a live `recon up` runs on it, now on its clock, as kubectl sees that
    cluster: it moves on without writing (`StateFolder.writer_now`)."""
    return snapshot.time if at is not None else StateFolder(state).writer_now(snapshot.time)


def _read_state(state: str, at: int | None) -> Any:
    """The snapshot at `at` (default: the latest), read without locking the folder."""
    if not Path(state).is_dir():
        raise ReconError(f'no cluster state in {state}: start one with "recon up"')
    if at is not None:
        return load_snapshot(state, at)
    store = open_store(state, readonly=True)
    try:
        damaged = store.recovery.reason
        if damaged:  # (as every history command says it: what is shown ends before the damage)
            print(f"warning: the history log is damaged after revision {store.head.revision} ({damaged}); "
                  "run 'recon replay' for details", file=sys.stderr)
        return store.head
    finally:
        store.close()


def _targets(registry: Registry, kind: str, names: list[str]) -> list[tuple[ResourceType, list[str]]]:
    """What `recon get` was asked for: kinds, each with the names asked for (none: all)."""
    if "/" in kind:
        targets: dict[ResourceType, list[str]] = {}
        for arg in [kind, *names]:
            type_name, slash, name = arg.partition("/")
            if not slash or not name:
                raise UsageError('there is no need to specify a resource type as a separate argument '
                                 'when passing arguments in resource/name form (e.g. "recon get pod/web")')
            targets.setdefault(registry.resolve(type_name), []).append(name)
        return list(targets.items())
    return [(rt, list(names)) for part in kind.split(",") for rt in _kinds(registry, part)]


def _kinds(registry: Registry, name: str) -> list[ResourceType]:
    try:
        return [registry.resolve(name)]
    except ReconError:
        category = registry.category(name)
        if category:
            return category
        raise


@attrs.frozen
class Query:
    """Which objects of each kind `recon get` shows."""

    namespace: str
    all_namespaces: bool
    labels: selectors.Selector
    fields: selectors.FieldSelector

    def select(self, snapshot: Any, rt: ResourceType, names: list[str], missing: list[str]) -> list[Any]:
        namespace = self.namespace if rt.namespaced else ""
        if names:
            found = [(name, snapshot.get((rt.group, rt.kind, namespace, name))) for name in names]
            missing += [f'{rt.resource} "{name}" not found'  # (with a hint when it is in another namespace)
                        + cli_history.elsewhere(snapshot, (rt.group, rt.kind, namespace, name))
                        for name, obj in found if obj is None]
            return [obj for _, obj in found if obj is not None]
        objects = snapshot.list(rt.group, rt.kind, None if self.all_namespaces and rt.namespaced else namespace)
        return [o for o in objects
                if self.labels.matches(get_path(o, "metadata", "labels")) and self.fields.matches(o)]


def _query(args: argparse.Namespace) -> Query:
    if args.all_namespaces and args.names:
        raise ReconError("a resource cannot be retrieved by name across all namespaces")
    if (args.selector or args.field_selector) and (args.names or "/" in args.kind):
        raise ReconError("name cannot be provided when a selector is specified")
    try:
        labels = selectors.parse(args.selector)
    except ValueError as exc:
        raise ReconError(f"invalid label selector {args.selector!r}: {exc}") from None
    try:
        fields = selectors.parse_field_selector(args.field_selector)
    except ValueError as exc:
        raise ReconError(str(exc)) from None
    return Query(args.namespace or "default", args.all_namespaces, labels, fields)


def _run_get(args: argparse.Namespace) -> int:
    if not args.kind:
        raise UsageError('you must specify the type of resource to get. Use "recon get pods", '
                         '"recon get deployments -n demo" or "recon get all -A"')
    query = _query(args)
    snapshot = _read_state(args.state, cli_history.at_revision(args.state, args.at))
    targets = _targets(Registry.for_snapshot(snapshot), args.kind, args.names)
    missing: list[str] = []
    found = [(rt, query.select(snapshot, rt, names, missing)) for rt, names in targets]
    single = len(targets) == 1 and len(targets[0][1]) == 1
    _print_objects(found, args, _now(args.state, snapshot, args.at), single)
    if not missing and not any(objs for _, objs in found) and args.output not in ("json", "yaml"):
        print(_no_resources(query, targets), file=sys.stderr)
    for message in missing:
        print(f"Error from server (NotFound): {message}", file=sys.stderr)
    return 1 if missing else 0


def _no_resources(query: Query, targets: list) -> str:
    if query.all_namespaces or not any(rt.namespaced for rt, _ in targets):
        return "No resources found"
    return f"No resources found in {query.namespace} namespace."


def _print_objects(found: list[tuple[ResourceType, list]], args: argparse.Namespace, now: float, single: bool) -> None:
    objects = [obj for _, objs in found for obj in objs]
    if args.output == "name":
        for obj in objects:
            print(object_ref(key_of(obj)))
    elif args.output in ("json", "yaml"):
        print(_serialise(_document(objects, single), args.output), end="")
    else:
        tables = [_table(rt, objs, args, now, len(found) > 1) for rt, objs in found if objs]
        if tables:
            print("\n\n".join(tables))


def _document(objects: list, single: bool) -> dict:
    """One object, or kubectl's List of them."""
    if single and objects:
        return thaw(objects[0])
    return {"apiVersion": "v1", "items": [thaw(o) for o in objects], "kind": "List",
            "metadata": {"resourceVersion": ""}}




def _serialise(doc: dict, output: str) -> str:
    if output == "json":
        return json.dumps(doc, indent=4, ensure_ascii=False) + "\n"
    return yaml.dump(doc, Dumper=BlockYAML, default_flow_style=False, sort_keys=True, allow_unicode=True)


def _table(rt: ResourceType, objects: list, args: argparse.Namespace, now: float, with_kind: bool) -> str:
    cols = columns(rt, wide=args.output == "wide")
    headers = [c.name for c in cols]
    rows = [[c.fn(obj, now) for c in cols] for obj in objects]
    if with_kind and headers[0] == "NAME":  # (the kind before the cell: `storageclass.storage.k8s.io/x (default)`)
        rows = [[object_ref(key_of(obj)).rpartition("/")[0] + "/" + row[0], *row[1:]]
                for obj, row in zip(objects, rows)]
    if args.all_namespaces and rt.namespaced:
        headers = ["NAMESPACE", *headers]
        rows = [[get_path(obj, "metadata", "namespace") or "", *row] for obj, row in zip(objects, rows)]
    return render_table(headers, rows)


# ===================================================================== logs

LOGS_HELP = """\
Print the lifecycle lines of a pod's simulated container: when it started,
became ready, exited (with its code), backed off and restarted, as the
container runtime derives them from the pod and the cluster's clock.

examples:
  recon logs web-7c9f8-x2x4z -n demo
  recon logs job-1 -c migrate --state /tmp/state
"""


def _add_logs(commands: argparse._SubParsersAction) -> None:
    logs = commands.add_parser("logs", help="print a pod's container lifecycle lines (like kubectl logs)",
                               description=LOGS_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    logs.add_argument("pod", metavar="POD", help="the pod's name (or pod/NAME)")
    logs.add_argument("-c", "--container", metavar="CONTAINER", help="container name (default: the first)")
    logs.add_argument("-n", "--namespace", metavar="NS", default="default", help="namespace (default: default)")
    logs.add_argument("--state", metavar="DIR", default=".recon", help="state folder (default: .recon)")
    logs.set_defaults(func=_run_logs)


def _run_logs(args: argparse.Namespace) -> int:
    from . import runtime

    snapshot = _read_state(args.state, None)
    name = args.pod.removeprefix("pod/").removeprefix("pods/")
    pod = snapshot.get(("", "Pod", args.namespace, name))
    if pod is None:
        print(f'Error from server (NotFound): pods "{name}" not found', file=sys.stderr)
        return 1
    spec = pod.get("spec") or {}
    inits = [c.get("name") for c in spec.get("initContainers") or ()]
    apps = [c.get("name") for c in spec.get("containers") or ()]
    ephemeral = [c.get("name") for c in spec.get("ephemeralContainers") or ()]
    container = args.container
    if container is None:
        container = apps[0]
        if len(apps) + len(inits) + len(ephemeral) > 1:
            shown = ", ".join(apps + [f"{n} (init)" for n in inits] + [f"{n} (ephem)" for n in ephemeral])
            print(f'Defaulted container "{container}" out of: {shown}', file=sys.stderr)
    elif container not in apps + inits + ephemeral:
        raise ReconError(f"container {container} is not valid for pod {name}")
    for line in runtime.current().logs(pod, container, _now(args.state, snapshot, None)):
        print(line)
    return 0


# ==================================================================== proxy

PROXY_HELP = """\
Show what kube-proxy programs on a node, or where a connection goes.

  rules   the node's iptables ruleset (iptables-save format, filter and nat)
  route   walk a new connection to IP:PORT through that ruleset: each hop,
          each endpoint's probability, the pod it reaches or why it is refused

examples:
  recon proxy rules --node node-1 > rules.txt && iptables-restore --test rules.txt
  recon proxy route 10.96.0.10:80                      # from the first node itself
  recon proxy route 172.18.1.2:30080 --client 10.244.2.5
  recon proxy route 10.96.0.12:443 --proto tcp --node node-2 --client 10.244.1.7
"""


def _add_proxy(commands: argparse._SubParsersAction) -> None:
    proxy = commands.add_parser("proxy", help="show kube-proxy's rules on a node, walk a connection through them",
                                description=PROXY_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    verbs = proxy.add_subparsers(dest="proxy_command", metavar="COMMAND", parser_class=ArgumentParser)
    rules = verbs.add_parser("rules", help="print a node's iptables rules (iptables-save format)")
    rules.add_argument("--node", metavar="NODE", required=True, help="the node whose rules to print")
    rules.add_argument("--state", metavar="DIR", default=".recon", help="state folder (default: .recon)")
    rules.set_defaults(func=_run_proxy_rules)
    route = verbs.add_parser("route", help="walk a new connection to IP:PORT through a node's rules")
    route.add_argument("target", metavar="IP:PORT", help="destination: a cluster IP or node IP and port")
    route.add_argument("--proto", default="tcp", choices=("tcp", "udp", "sctp"), help="protocol (default: tcp)")
    route.add_argument("--node", metavar="NODE", help="node the packet arrives at (default: the node owning "
                                                      "IP, else the client pod's node, else the first node)")
    route.add_argument("--client", metavar="IP", help="source address (default: the node itself)")
    route.add_argument("--state", metavar="DIR", default=".recon", help="state folder (default: .recon)")
    route.set_defaults(func=_run_proxy_route)
    proxy.set_defaults(func=lambda args: _usage("choose a proxy command: rules or route"))


def _usage(message: str) -> int:
    raise UsageError(message)


def _run_proxy_rules(args: argparse.Namespace) -> int:
    from . import proxy

    snapshot = _read_state(args.state, None)
    if snapshot.get(("", "Node", "", args.node)) is None:
        raise ReconError(f'node "{args.node}" not found')
    print(proxy.node_rules(snapshot, args.node), end="")
    return 0


def _run_proxy_route(args: argparse.Namespace) -> int:
    from . import proxy

    ip, colon, port = args.target.rpartition(":")
    if not colon or not port.isdigit():
        raise UsageError(f"expected IP:PORT, got {args.target!r}")
    snapshot = _read_state(args.state, None)
    try:
        found = proxy.route(snapshot, ip, int(port), args.proto, args.node, args.client)
    except proxy.RouteError as exc:
        raise ReconError(str(exc)) from None
    print(proxy.format_route(snapshot, found), end="")
    return 0


class _ToStderr(logging.Handler):
    """`warning: MESSAGE` on the standard error of the moment, as the command's own warnings read."""

    def emit(self, record: logging.LogRecord) -> None:
        print(f"{record.levelname.lower()}: {record.getMessage()}", file=sys.stderr)


def _log_to_stderr(quiet: bool = False) -> None:
    """The engine's logged warnings (a damaged log's tail dropped, an index rebuilt) on stderr;
    `quiet` (`recon up -q`): its errors only."""
    logger = logging.getLogger("recon")
    if not any(isinstance(h, _ToStderr) for h in logger.handlers):
        logger.addHandler(_ToStderr(logging.WARNING))
    logger.setLevel(logging.ERROR if quiet else logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    _log_to_stderr()
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    _log_to_stderr(quiet=getattr(args, "quiet", False))
    if extra:  # (named with the command they were given to, as its other usage mistakes are)
        where = f"recon {args.command}" if args.command else "recon"
        print(f"error: unrecognized arguments: {' '.join(extra)}\nSee '{where} -h' for help and examples.",
              file=sys.stderr)
        return 2
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    code = 0
    try:
        code = args.func(args)
        sys.stdout.flush()  # (here: a reader that left shows up as a BrokenPipeError below)
        return code
    except BrokenPipeError:  # `recon get pods -A | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # (the exit's own flush)
        return code  # (the command's answer, when it had one before the reader left)
    except UsageError as exc:
        print(f"error: {exc}\nSee 'recon {args.command} -h' for help and examples.", file=sys.stderr)
        return 2
    except SourceErrors as exc:
        print(exc, file=sys.stderr)
    except APIError as exc:
        print(f"Error from server ({exc.reason}): {exc.message}", file=sys.stderr)
    except ReconError as exc:
        print(f"error: {exc}", file=sys.stderr)
    except KeyboardInterrupt:
        return 130
    return 1


if __name__ == "__main__":
    sys.exit(main())
