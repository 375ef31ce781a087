"""The compiler, construct by construct, through the real pipeline.

Every test writes a small rule file, loads it (parse → check → compile), runs
the engine against a small in-memory cluster and asserts on what the rule
wrote.  Expressions are measured with `value_of`: a rule anchored on a Probe
(a custom resource whose spec and status take any fields) evaluates
`set p.status.value = [EXPR]`, and the test reads the value back; the list
keeps a null visible (setting a field to null removes it).

Golden files: tests/dsl/golden/compiled/NAME.rules is compiled and its
generated Python compared with NAME.py, so compiler changes show in review.
Regenerate after an intended change:

    RECON_UPDATE_GOLDEN=1 .venv/bin/pytest tests/dsl -q
"""

from __future__ import annotations

import os
import pathlib
import textwrap

import pytest

from engine.apiserver import Actor, APIServer
from engine.clock import EPOCH, SimClock
from engine.dsl.check import load
from engine.dsl.compile import compile_module
from engine.objects import thaw
from engine.reconcile import Engine
from engine.rules import load_rules
from engine.store import Store
from engine.timeutil import format_time

ADMIN = Actor("admin", "user", None)
GOLDEN = pathlib.Path(__file__).with_name("golden") / "compiled"
UPDATE = os.environ.get("RECON_UPDATE_GOLDEN") == "1"
PROBE_KEY = ("example.com", "Probe", "demo", "p")

ANY_FIELDS = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
PROBE_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "probes.example.com"},
    "spec": {
        "group": "example.com", "scope": "Namespaced",
        "names": {"plural": "probes", "kind": "Probe"},
        "versions": [{
            "name": "v1", "served": True, "storage": True, "subresources": {"status": {}},
            "schema": {"openAPIV3Schema": {"type": "object",
                                           "properties": {"spec": ANY_FIELDS, "status": ANY_FIELDS}}},
        }],
    },
}

HEADER = """\
component probe
  reads example.com/Probe, Pod, ConfigMap, Node, Namespace
  writes example.com/Probe.status, ConfigMap, Pod
"""


# ------------------------------------------------------------------ objects


def probe(name: str = "p", namespace: str = "demo", **spec) -> dict:
    return {"apiVersion": "example.com/v1", "kind": "Probe",
            "metadata": {"name": name, "namespace": namespace}, "spec": spec}


def pod(name: str, namespace: str = "demo", *, node: str | None = None,
        labels: dict | None = None, owner: dict | None = None, cpu: str | None = None) -> dict:
    metadata: dict = {"name": name, "namespace": namespace, "labels": labels or {}}
    if owner is not None:
        metadata["ownerReferences"] = [{
            "apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"], "controller": True}]
    container: dict = {"name": "c", "image": "nginx"}
    if cpu is not None:
        container["resources"] = {"requests": {"cpu": cpu}}
    spec: dict = {"containers": [container]}
    if node is not None:
        spec["nodeName"] = node
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec}


def configmap(name: str, namespace: str = "demo", *, labels: dict | None = None, **data: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": namespace, "labels": labels or {}}, "data": data}


def node(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}}


def namespace(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


# ------------------------------------------------------------------ cluster


class Cluster:
    """Store, API server and simulated clock, with the Probe kind and one probe `demo/p`."""

    def __init__(self, tmp_path: pathlib.Path):
        self.folder = tmp_path / "rules"
        self.folder.mkdir()
        self.clock = SimClock()
        self.store = Store(clock=self.clock.now)
        self.api = APIServer(self.store, self.clock)
        self.api.bootstrap()
        self.engine: Engine | None = None
        self.create(namespace("demo"))
        self.create(PROBE_CRD)
        self.create(probe(a=1, zero=0))

    def create(self, obj: dict) -> dict:
        return thaw(self.api.create(ADMIN, obj))

    def rules(self, text: str, name: str = "probe") -> Engine:
        (self.folder / f"{name}.rules").write_text(textwrap.dedent(text).lstrip())
        self.engine = Engine(self.api, load_rules(self.folder), self.clock)
        return self.engine

    def run(self, seconds: float = 600):
        return self.engine.run(until=self.clock.now() + seconds)

    def get(self, kind: str, name: str, namespace: str = "demo") -> dict | None:
        rt = self.api.registry.find_kind(kind, self.store.head)
        found = self.store.head.get((rt.group, rt.kind, namespace if rt.namespaced else "", name))
        return None if found is None else thaw(found)

    def names(self, kind: str, namespace: str = "demo") -> list[str]:
        rt = self.api.registry.find_kind(kind, self.store.head)
        return [o["metadata"]["name"] for o in self.store.head.list(rt.group, rt.kind, namespace)]

    def status(self) -> dict:
        return self.get("Probe", "p").get("status") or {}

    def probe_deps(self) -> set:
        """The dependencies the probe's rule instances recorded (queries and lookups); a query
        whose objects the rule reads only some paths of is given by the index entry it read."""
        return {dep[1] if dep[0] == "query" else dep
                for (decl, key), deps in self.engine.inst_deps.items() if key == PROBE_KEY for dep in deps}


@pytest.fixture
def cluster(tmp_path) -> Cluster:
    return Cluster(tmp_path)


def probe_rule(body: str, header: str = HEADER) -> str:
    """A rule file whose one rule runs `body` for the probe (variable `p`)."""
    return header + "\nrule probe for p in example.com/Probe:\n" + textwrap.indent(textwrap.dedent(body).strip("\n"), "  ") + "\n"


def evaluate(cluster: Cluster, body: str, seconds: float = 600) -> dict:
    """Run a probe rule with `body` to convergence; the probe's status after it."""
    cluster.rules(probe_rule(body))
    result = cluster.run(seconds)
    assert result.converged, result.message
    assert not result.failures, [f.format() for f in result.failures]
    return cluster.status()


def value_of(cluster: Cluster, expr: str, before: str = "") -> object:
    """What EXPR evaluates to in a probe rule (after the statements `before`)."""
    status = evaluate(cluster, f"{textwrap.dedent(before)}\nset p.status.value = [{expr}]")
    return status["value"][0]


def values_of(cluster: Cluster, *exprs: str) -> list:
    """What each of EXPRS evaluates to, in one probe rule."""
    return value_of(cluster, "[" + ", ".join(exprs) + "]")


def failure_of(cluster: Cluster, text: str, seconds: float = 5):
    """The one failure a rule file reports."""
    cluster.rules(text)
    result = cluster.run(seconds)
    assert len(result.failures) == 1, result.failures
    return result.failures[0]


def line_of(text: str, fragment: str) -> int:
    """The 1-based line of `text` where `fragment` appears."""
    return next(i for i, line in enumerate(text.splitlines(), 1) if fragment in line)


# ================================================================= literals


@pytest.mark.parametrize("source, value", [
    ("0", 0), ("42", 42), ("1.5", 1.5), ("1e3", 1000), ("2.5E-2", 0.025), ("-7", -7),
    ("true", True), ("false", False), ("null", None),
])
def test_number_boolean_and_null_literals_keep_their_values(cluster, source, value):
    assert value_of(cluster, source) == value


@pytest.mark.parametrize("source, value", [
    (r'"web"', "web"),
    (r"'it\'s'", "it's"),
    (r'"a \"quote\", a \\ and a\nnewline"', 'a "quote", a \\ and a\nnewline'),
    (r'"tab\there"', "tab\there"),
    (r'""', ""),
])
def test_string_literals_decode_their_escapes(cluster, source, value):
    assert value_of(cluster, source) == value


@pytest.mark.parametrize("source, seconds", [
    ("40s", 40), ("5m", 300), ("1h", 3600), ("1h30m", 5400), ("100ms", 0.1), ("2d", 172800),
])
def test_durations_are_seconds(cluster, source, seconds):
    assert value_of(cluster, source) == seconds


def test_list_literals_hold_any_values(cluster):
    assert value_of(cluster, '[1, "a", [2, 3], {k: true}, null, ]') == [1, "a", [2, 3], {"k": True}, None]


def test_map_literals_take_bare_and_quoted_keys(cluster):
    got = value_of(cluster, '{app: "web", "app.kubernetes.io/name": "web", replicas: 2}')
    assert got == {"app": "web", "app.kubernetes.io/name": "web", "replicas": 2}


def test_empty_list_and_map_literals_are_empty(cluster):
    assert value_of(cluster, "[[], {}]") == [[], {}]


# =========================================================== comprehensions


def test_a_comprehension_maps_every_element(cluster):
    assert value_of(cluster, "[x * 10 for x in [1, 2, 3]]") == [10, 20, 30]


def test_a_comprehension_with_if_keeps_the_elements_that_pass(cluster):
    assert value_of(cluster, '[x for x in [1, 2, 3, 4] if x % 2 == 0]') == [2, 4]


def test_a_comprehension_over_a_map_iterates_its_keys(cluster):
    assert value_of(cluster, "[k + \"!\" for k in {b: 1, a: 2}]") == ["b!", "a!"]


def test_a_comprehension_over_null_is_empty(cluster):
    assert value_of(cluster, "[x for x in p.spec.missing]") == []


def test_a_comprehension_variable_hides_an_outer_one_only_inside(cluster):
    assert value_of(cluster, "[x, [x + 1 for x in [10, 20]], x]", before="let x = 1") == [1, [11, 21], 1]


# ==================================================================== paths


def test_a_path_through_a_missing_field_is_null(cluster):
    assert value_of(cluster, "[p.spec.b.c, p.spec.a.b, p.status.nothing]") == [None, None, None]


def test_an_index_out_of_range_is_null(cluster):
    assert value_of(cluster, "[[1, 2, 3][3], [1, 2, 3][-4], p.spec.items[0], {a: 1}[\"b\"]]") == [None] * 4


def test_a_negative_index_counts_from_the_end(cluster):
    assert value_of(cluster, '[[1, 2, 3][-1], "abc"[1]]') == [3, "b"]


def test_name_namespace_labels_and_uid_are_shortcuts_into_metadata(cluster):
    cluster.api.patch(ADMIN, "example.com", "Probe", "demo", "p", {"metadata": {"labels": {"app": "web"}}})
    uid = cluster.get("Probe", "p")["metadata"]["uid"]
    assert value_of(cluster, '[p.name, p.namespace, p.labels.app, p.uid, p.metadata.name]') == \
        ["p", "demo", "web", uid, "p"]


def test_a_field_of_its_own_wins_over_the_metadata_shortcut(cluster):
    assert value_of(cluster, '{name: "top", metadata: {name: "meta"}}.name') == "top"


def test_a_map_key_with_dots_is_read_with_brackets(cluster):
    assert value_of(cluster, '{"app.kubernetes.io/name": "web"}["app.kubernetes.io/name"]') == "web"


# =============================================================== arithmetic


@pytest.mark.parametrize("source, value", [
    ("1 + 2 * 3", 7), ("(1 + 2) * 3", 9), ("10 - 4 - 3", 3), ("7 / 2", 3.5), ("6 / 2", 3),
    ("7 % 3", 1), ("-(2 - 5)", 3), ("1.5 * 2", 3), ("2 * -3", -6),
])
def test_arithmetic_follows_the_usual_precedence(cluster, source, value):
    assert value_of(cluster, source) == value


@pytest.mark.parametrize("source", [
    "p.spec.missing + 1", "2 * p.spec.missing", "-p.spec.missing", "p.spec.missing - p.spec.missing",
    "1 / p.spec.zero", "5 % p.spec.zero",
])
def test_arithmetic_with_null_or_by_zero_is_null(cluster, source):
    assert value_of(cluster, source) is None


def test_plus_joins_strings_and_lists(cluster):
    assert value_of(cluster, '["web" + "-" + p.name, [1] + [2, 3]]') == ["web-p", [1, 2, 3]]


def test_a_timestamp_plus_a_duration_is_a_time_in_seconds(cluster):
    got = value_of(cluster, "[p.metadata.creationTimestamp + 40s, format_time(p.metadata.creationTimestamp + 1h30m)]")
    assert got == [EPOCH + 40, "2026-01-01T01:30:00Z"]


def test_a_duration_minus_from_a_timestamp_and_timestamp_differences(cluster):
    got = value_of(cluster, "[format_time(p.metadata.creationTimestamp - 1m), "
                            "time(\"2026-01-01T00:01:00Z\") - time(p.metadata.creationTimestamp)]")
    assert got == ["2025-12-31T23:59:00Z", 60]


def test_a_string_that_is_not_a_time_does_not_add_to_a_number(cluster):
    failure = failure_of(cluster, probe_rule("set p.status.value = p.name + p.spec.a"))
    assert failure.message == "cannot compute string + number"


# ============================================================== comparisons


@pytest.mark.parametrize("source, value", [
    ("1 < 2", True), ("2 <= 2", True), ("3 > 4", False), ("3 >= 3", True), ("1 == 1.0", True),
    ('"a" < "b"', True), ('p.name == "p"', True), ('p.name != "p"', False), ("[1, 2] == [1, 2]", True),
])
def test_comparisons_of_numbers_strings_and_lists(cluster, source, value):
    assert value_of(cluster, source) is value


@pytest.mark.parametrize("source, value", [
    ("p.spec.missing < 1", False), ("p.spec.missing > 1", False), ("1 <= p.spec.missing", False),
    ("p.spec.missing >= p.spec.missing", False), ("p.spec.missing == null", True),
    ("p.spec.missing != 0", True), ("p.spec.missing == p.spec.other", True),
])
def test_an_ordering_comparison_with_null_is_false_and_null_equals_only_null(cluster, source, value):
    assert value_of(cluster, source) is value


def test_ordering_a_number_against_a_string_is_a_runtime_error(cluster):
    failure = failure_of(cluster, probe_rule("set p.status.value = p.spec.a < p.name"))
    assert failure.message == "cannot compare number < string"


@pytest.mark.parametrize("source, value", [
    ("2 in [1, 2]", True), ("3 in [1, 2]", False), ('"b" in {b: 1}', True), ('"ell" in "hello"', True),
    ('"x" in p.spec.missing', False), ('"x" not in p.spec.missing', True), ("3 not in [1, 2]", True),
    ('"app" not in {app: 1}', False),
])
def test_in_and_not_in_test_list_elements_map_keys_and_substrings(cluster, source, value):
    assert value_of(cluster, source) is value


@pytest.mark.parametrize("source, value", [
    ("true and false", False), ("true or false", True), ("not false", True),
    ("p.spec.missing or p.spec.a", True), ('p.spec.a and "x"', True), ("not p.spec.missing", True),
    ("not p.spec.a", False), ("p.spec.zero or []", False),
])
def test_and_or_not_give_booleans_and_treat_null_and_empty_as_false(cluster, source, value):
    assert value_of(cluster, source) is value


def test_and_and_or_stop_at_the_first_deciding_operand(cluster):
    # the right operands would fail: comparing a number with a string
    assert value_of(cluster, "[p.spec.a == 2 and p.spec.a < p.name, p.spec.a == 1 or p.spec.a < p.name]") == \
        [False, True]


@pytest.mark.parametrize("source, value", [
    ('"yes" if p.spec.a == 1 else "no"', "yes"),
    ('"yes" if p.spec.missing else "no"', "no"),
    ('"a" if false else "b" if true else "c"', "b"),
])
def test_a_conditional_expression_picks_one_branch(cluster, source, value):
    assert value_of(cluster, source) == value


def test_a_conditional_expression_evaluates_only_the_branch_it_picks(cluster):
    assert value_of(cluster, '"safe" if p.spec.a == 1 else p.spec.a < p.name') == "safe"


# ============================================================ when / else


@pytest.mark.parametrize("a, branch", [(1, "one"), (2, "two"), (3, "other")])
def test_when_else_when_else_runs_exactly_one_branch(cluster, a, branch):
    cluster.api.patch(ADMIN, "example.com", "Probe", "demo", "p", {"spec": {"a": a}})
    status = evaluate(cluster, """
        when p.spec.a == 1:
          set p.status.branch = "one"
        else when p.spec.a == 2:
          set p.status.branch = "two"
        else:
          set p.status.branch = "other"
    """)
    assert status == {"branch": branch}


def test_a_branch_may_be_one_statement_after_the_colon(cluster):
    status = evaluate(cluster, """
        when p.spec.a == 2: set p.status.branch = "two"
        else when p.spec.a == 1: set p.status.branch = "one"
        else: set p.status.branch = "other"
    """)
    assert status == {"branch": "one"}


def test_a_when_without_else_does_nothing_when_false(cluster):
    status = evaluate(cluster, """
        when p.spec.a == 2: set p.status.skipped = false
        set p.status.ran = true
    """)
    assert status == {"ran": True}


def test_consecutive_whens_are_independent_and_else_belongs_to_the_last(cluster):
    status = evaluate(cluster, """
        when p.spec.a == 1: set p.status.first = true
        when p.spec.a == 2: set p.status.second = true
        else: set p.status.second = false
    """)
    assert status == {"first": True, "second": False}


def test_a_null_condition_takes_the_else_branch(cluster):
    status = evaluate(cluster, """
        when p.spec.missing:
          set p.status.branch = "then"
        else:
          set p.status.branch = "else"
    """)
    assert status == {"branch": "else"}


def test_whens_nest_inside_else_blocks(cluster):
    status = evaluate(cluster, """
        when p.spec.a > 5:
          set p.status.size = "big"
        else:
          when p.spec.a > 0:
            set p.status.size = "small"
          else:
            set p.status.size = "none"
    """)
    assert status == {"size": "small"}


# ==================================================================== for


def test_for_runs_its_block_once_per_element(cluster):
    status = evaluate(cluster, """
        for k in ["x", "y"]:
          set p.status.seen[k] = k + "!"
    """)
    assert status == {"seen": {"x": "x!", "y": "y!"}}


def test_for_over_a_map_iterates_its_keys_and_over_null_nothing(cluster):
    status = evaluate(cluster, """
        for k in {b: 1, a: 2}:
          set p.status.keys[k] = true
        for k in p.spec.missing:
          set p.status.never = true
    """)
    assert status == {"keys": {"a": True, "b": True}}


def test_a_for_variable_hides_an_outer_name_only_inside_the_loop(cluster):
    status = evaluate(cluster, """
        let c = "outer"
        for c in ["x", "y"]:
          set p.status.inner[c] = c
        set p.status.after = c
    """)
    assert status == {"inner": {"x": "x", "y": "y"}, "after": "outer"}


def test_iterating_a_string_is_a_runtime_error(cluster):
    failure = failure_of(cluster, probe_rule("for c in p.name:\n  set p.status.c = c"))
    assert failure.message == "cannot iterate over string"


# ==================================================================== let


def test_let_binds_a_name_for_the_rest_of_the_block(cluster):
    assert value_of(cluster, "y", before="let x = 2\nlet y = x * 3") == 6


def test_a_let_in_an_inner_block_hides_the_outer_name_only_inside_it(cluster):
    status = evaluate(cluster, """
        let x = "outer"
        when true:
          let x = "inner"
          set p.status.inside = x
        set p.status.after = x
    """)
    assert status == {"inside": "inner", "after": "outer"}


def test_an_inner_let_may_compute_from_the_outer_name_it_hides(cluster):
    status = evaluate(cluster, """
        let n = 1
        when true:
          let n = n + 10
          set p.status.inner = n
        set p.status.outer = n
    """)
    assert status == {"inner": 11, "outer": 1}


def test_sibling_blocks_bind_the_same_name_independently(cluster):
    status = evaluate(cluster, """
        when true:
          let v = "first"
          set p.status.first = v
        when true:
          let v = "second"
          set p.status.second = v
        let v = "outer"
        set p.status.outer = v
    """)
    assert status == {"first": "first", "second": "second", "outer": "outer"}


def test_a_let_inside_a_loop_does_not_leak_into_the_outer_block(cluster):
    status = evaluate(cluster, """
        let last = "none"
        for x in [1, 2]:
          let last = x
        set p.status.last = last
    """)
    assert status == {"last": "none"}


# ===================================================== builtins with `it`


def test_sort_orders_by_the_per_item_key(cluster):
    got = value_of(cluster, '[q.n for q in sort([{n: "b", r: 2}, {n: "a", r: 3}, {n: "c", r: 1}], it.r)]')
    assert got == ["c", "b", "a"]


def test_sort_by_a_list_key_orders_by_each_part_in_turn(cluster):
    got = value_of(cluster, '[q.n for q in sort([{n: "b", g: 1}, {n: "a", g: 2}, {n: "c", g: 1}], [it.g, it.n])]')
    assert got == ["b", "c", "a"]


def test_count_filter_map_and_min_by_take_a_per_item_argument(cluster):
    got = value_of(cluster, """[
        count([1, 2, 3, 4], it > 2),
        filter([1, 2, 3, 4], it % 2 == 1),
        map(["a", "b"], it + "!"),
        min_by([{n: "x", v: 2}, {n: "y", v: 1}], it.v).n,
    ]""")
    assert got == [2, [1, 3], ["a!", "b!"], "y"]


def test_a_per_item_argument_can_use_the_rules_variables(cluster):
    assert value_of(cluster, "filter([1, 2, 3], it > limit)", before="let limit = p.spec.a") == [2, 3]


def test_nested_per_item_arguments_each_have_their_own_it(cluster):
    got = value_of(cluster, "map([[1, 5], [7, 8, 9]], count(it, it > 4))")
    assert got == [1, 3]


# ================================================================ quantities


def test_quantities_add_and_are_stored_as_canonical_strings(cluster):
    assert value_of(cluster, 'qty("500m") + qty("1")') == "1500m"


@pytest.mark.parametrize("source, value", [
    ('qty("1Gi") > qty("1G")', True), ('qty("1") == qty("1000m")', True), ('qty("250m") < qty("0.2")', False),
    ('qty("1") > "500m"', True),
])
def test_quantities_compare_by_amount(cluster, source, value):
    assert value_of(cluster, source) is value


def test_sum_of_quantity_strings_is_a_canonical_quantity(cluster):
    assert value_of(cluster, '[sum(["100m", "0.4"]), sum(["100Mi", "1Gi"]), sum([qty("1"), "250m"])]') == \
        ["500m", "1124Mi", "1250m"]


def test_sum_of_container_requests_across_pods(cluster):
    cluster.create(pod("a", cpu="250m"))
    cluster.create(pod("b", cpu="1"))
    got = value_of(cluster, 'sum(Pod in "demo", it.spec.containers[0].resources.requests.cpu)')
    assert got == "1250m"


# ================================================================= queries


def names_of(query: str) -> str:
    """An expression listing `namespace/name` of what `query` returns."""
    return f'[q.namespace + "/" + q.name for q in ({query})]'


@pytest.fixture
def pods(cluster) -> Cluster:
    """Pods in two namespaces, created out of order, some labelled and bound to nodes."""
    cluster.create(namespace("other"))
    cluster.create(pod("c", node="n1", labels={"app": "web"}))
    cluster.create(pod("a", node="n2", labels={"app": "db"}))
    cluster.create(pod("b", labels={"app": "web"}))
    cluster.create(pod("d"))
    cluster.create(pod("a", "other", node="n1", labels={"app": "web"}))
    return cluster


def test_a_query_in_a_namespace_lists_its_objects_sorted_by_name(pods):
    assert value_of(pods, names_of('Pod in "demo"')) == ["demo/a", "demo/b", "demo/c", "demo/d"]
    assert ("ns", "", "Pod", "demo") in pods.probe_deps()


def test_a_query_without_namespace_lists_every_namespace_sorted_by_key(pods):
    assert value_of(pods, names_of("Pod")) == ["demo/a", "demo/b", "demo/c", "demo/d", "other/a"]
    assert pods.probe_deps() == {("kind", "", "Pod")}


def test_a_namespace_equality_in_where_uses_the_namespace_index(pods):
    assert value_of(pods, names_of('Pod where it.metadata.namespace == "other"')) == ["other/a"]
    assert pods.probe_deps() == {("ns", "", "Pod", "other")}


def test_a_label_equality_uses_the_label_index_of_the_namespace(pods):
    assert value_of(pods, names_of('Pod in "demo" where it.metadata.labels.app == "web"')) == ["demo/b", "demo/c"]
    assert pods.probe_deps() == {("label", "", "Pod", "demo", "app", "web")}


def test_a_label_written_with_brackets_or_the_labels_shortcut_is_indexed_too(pods):
    got = values_of(pods, names_of('Pod where it.labels["app"] == "db"'),
                    names_of('Pod where it.metadata.labels["app"] == "db"'))
    assert got == [["demo/a"], ["demo/a"]]
    assert pods.probe_deps() == {("label*", "", "Pod", "app", "db")}


def test_a_node_name_equality_uses_the_node_index(pods):
    assert value_of(pods, names_of('Pod where it.spec.nodeName == "n1"')) == ["demo/c", "other/a"]
    assert pods.probe_deps() == {("node", "", "Pod", "n1")}


def test_a_name_equality_uses_the_object_key(pods):
    assert value_of(pods, names_of('Pod in "demo" where it.metadata.name == "b"')) == ["demo/b"]
    assert pods.probe_deps() == {("key", ("", "Pod", "demo", "b"))}


def test_a_name_equality_without_namespace_finds_the_name_in_every_namespace(pods):
    assert value_of(pods, names_of('Pod where it.name == "a"')) == ["demo/a", "other/a"]


def test_a_name_equality_on_a_cluster_scoped_kind_uses_the_object_key(cluster):
    cluster.create(node("n1"))
    cluster.create(node("n2"))
    assert value_of(cluster, '[n.name for n in (Node where it.name == "n2")]') == ["n2"]
    assert cluster.probe_deps() == {("key", ("", "Node", "", "n2"))}


def test_a_uid_equality_uses_the_uid_index(pods):
    uid = pods.get("Pod", "c")["metadata"]["uid"]
    assert value_of(pods, names_of(f'Pod where it.metadata.uid == "{uid}"')) == ["demo/c"]
    assert pods.probe_deps() == {("uid", uid)}


def test_an_owner_condition_uses_the_owner_index(cluster):
    owner = cluster.get("Probe", "p")
    cluster.create(pod("mine-2", owner=owner))
    cluster.create(pod("mine-1", owner=owner))
    cluster.create(pod("stranger"))
    assert value_of(cluster, names_of("Pod in p.namespace where owned_by(it, p)")) == ["demo/mine-1", "demo/mine-2"]
    assert ("owner", "", "Pod", owner["metadata"]["uid"]) in cluster.probe_deps()


def test_a_controlled_by_condition_uses_the_owner_index(cluster):
    owner = cluster.get("Probe", "p")
    cluster.create(pod("mine", owner=owner))
    cluster.create(pod("stranger"))
    assert value_of(cluster, names_of("Pod where controlled_by(it, p)")) == ["demo/mine"]
    assert cluster.probe_deps() == {("owner", "", "Pod", owner["metadata"]["uid"])}


@pytest.mark.parametrize("selector", [
    '{matchLabels: {app: "web"}}', '{app: "web"}', '"app=web"', '"app in (web)"',
])
def test_a_selector_match_uses_the_label_index(pods, selector):
    assert value_of(pods, names_of(f'Pod in "demo" where matches({selector}, it)')) == ["demo/b", "demo/c"]
    assert pods.probe_deps() == {("label", "", "Pod", "demo", "app", "web")}


def test_a_selector_without_equalities_falls_back_to_the_namespace(pods):
    got = value_of(pods, names_of('Pod in "demo" where matches({matchExpressions: '
                                  '[{key: "app", operator: "NotIn", values: ["web"]}]}, it)'))
    assert got == ["demo/a", "demo/d"]
    assert pods.probe_deps() == {("ns", "", "Pod", "demo")}


def test_a_null_selector_selects_nothing(pods):
    assert value_of(pods, names_of('Pod in "demo" where matches(p.spec.missing, it)')) == []


def test_an_index_term_keeps_the_querys_namespace(pods):
    for i in range(3):  # make the namespace index the larger one, so the planner picks the other index
        pods.create(pod(f"filler-{i}"))
    got = values_of(pods, names_of('Pod in "demo" where it.spec.nodeName == "n1"'),
                    names_of('Pod in "demo" where it.labels.app == "web"'),
                    names_of('Pod in "demo" where matches({app: "web"}, it)'))
    assert got == [["demo/c"], ["demo/b", "demo/c"], ["demo/b", "demo/c"]]
    assert ("node", "", "Pod", "n1") in pods.probe_deps()


def test_an_equality_with_null_finds_the_objects_without_the_field(pods):
    got = values_of(pods, names_of('Pod in "demo" where it.spec.nodeName == null'),
                    names_of("Pod where it.labels.app == p.spec.missing"))
    assert got == [["demo/b", "demo/d"], ["demo/d"]]


def test_a_query_with_no_indexable_term_scans_the_kind(pods):
    got = value_of(pods, names_of('Pod where it.spec.nodeName != "n1" and starts_with(it.name, "a")'))
    assert got == ["demo/a"]
    assert pods.probe_deps() == {("kind", "", "Pod")}


def test_the_planner_picks_the_smallest_index_among_the_terms(pods):
    got = value_of(pods, names_of('Pod where it.labels.app == "web" and it.spec.nodeName == "n2"'))
    assert got == []
    assert pods.probe_deps() == {("node", "", "Pod", "n2")}


def test_a_query_inside_a_query_has_its_own_it(pods):
    pods.create(configmap("wanted", labels={"app": "web"}))
    pods.create(configmap("unwanted", labels={"app": "cache"}))
    got = value_of(pods, '[c.name for c in (ConfigMap in "demo" where '
                         'count(Pod in "demo" where it.labels.app == "web") > 1 and it.labels.app == "web")]')
    assert got == ["wanted"]
    assert {("label", "", "ConfigMap", "demo", "app", "web"), ("label", "", "Pod", "demo", "app", "web")} <= \
        pods.probe_deps()


def test_a_query_in_a_comprehension_sees_the_comprehension_variable(pods):
    pods.create(node("n1"))
    pods.create(node("n2"))
    pods.create(node("n3"))
    got = value_of(pods, '[n.name + ":" + str(count(Pod where it.spec.nodeName == n.name)) for n in (Node)]')
    assert got == ["n1:2", "n2:1", "n3:0"]


def test_a_query_is_reevaluated_only_for_changes_its_index_entry_sees(pods):
    engine = pods.rules(probe_rule("set p.status.value = " + names_of('Pod in "demo" where it.labels.app == "web"')))
    pods.run()
    before = engine.evaluations["probe/probe"]
    pods.create(pod("e", "other", labels={"app": "web"}))  # another namespace: not read
    pods.create(pod("f", labels={"app": "db"}))  # another label: not read
    pods.run()
    assert engine.evaluations["probe/probe"] == before
    pods.create(pod("g", labels={"app": "web"}))
    pods.run()
    assert pods.status()["value"] == ["demo/b", "demo/c", "demo/g"]


def test_a_query_of_a_kind_without_objects_is_empty(cluster):
    assert value_of(cluster, names_of("ConfigMap")) == []


# ================================================================= lookups


def read_through(deps: set) -> dict:
    """key → the paths a rule's lookups read of it where they were made (("field", key, paths)
    dependencies), and ("key", key) → None for a lookup used whole."""
    return {d[1]: d[2].anchor_reads if d[0] == "field" else None for d in deps if d[0] in ("field", "key")}


def test_a_lookup_finds_a_cluster_scoped_object_by_name(cluster):
    cluster.create(node("n1"))
    assert value_of(cluster, 'Node["n1"].metadata.name') == "n1"
    # (read through a path where it is made: it depends on that path of the node alone)
    assert read_through(cluster.probe_deps()) == {
        ("", "Node", "", "n1"): (("metadata", "metadata", "name"), ("metadata", "name"))}
    assert value_of(cluster, '[Node["n1"]][0].metadata.name') == "n1"
    assert cluster.probe_deps() == {("key", ("", "Node", "", "n1"))}  # (used whole: all of it)


def test_a_lookup_finds_a_namespaced_object_by_namespace_and_name(cluster):
    cluster.create(configmap("settings", mode="fast"))
    assert value_of(cluster, 'ConfigMap[p.namespace, "settings"].data.mode') == "fast"
    assert read_through(cluster.probe_deps()) == {("", "ConfigMap", "demo", "settings"): (("data", "mode"),)}


def test_a_lookup_read_through_a_path_where_it_is_made_wakes_its_rule_at_that_path_only(cluster):
    settings = configmap("settings", mode="fast")
    settings["metadata"]["finalizers"] = ["example.com/hold"]
    cluster.create(settings)
    engine = cluster.rules(probe_rule("""
        set p.status.mode = ConfigMap["demo", "settings"].data.mode
        set p.status.there = ConfigMap["demo", "gone-later"] != null
        set p.status.deleting = deleting(ConfigMap["demo", "settings"])"""))
    cluster.create(configmap("gone-later"))
    cluster.run()
    assert cluster.status() == {"mode": "fast", "there": True, "deleting": False}
    # one dependency per object, on what the rule's sites read of ConfigMaps together
    read = (("data", "mode"), ("metadata", "deletionTimestamp"))
    assert sorted(d[:2] for d in cluster.probe_deps() if d[0] in ("field", "key")) == [
        ("field", ("", "ConfigMap", "demo", "gone-later")), ("field", ("", "ConfigMap", "demo", "settings"))]
    assert read_through(cluster.probe_deps()) == {("", "ConfigMap", "demo", "gone-later"): read,
                                                  ("", "ConfigMap", "demo", "settings"): read}
    before = engine.evaluations["probe/probe"]
    for name in ("settings", "gone-later"):
        cluster.api.patch(ADMIN, "", "ConfigMap", "demo", name, {"metadata": {"labels": {"unread": "yes"}}})
    cluster.run()
    assert engine.evaluations["probe/probe"] == before  # nothing it reads of them changed
    cluster.api.patch(ADMIN, "", "ConfigMap", "demo", "settings", {"data": {"mode": "slow"}})
    cluster.run()
    assert cluster.status()["mode"] == "slow"
    cluster.api.delete(ADMIN, "", "ConfigMap", "demo", "gone-later")
    cluster.run()
    assert cluster.status()["there"] is False
    cluster.api.delete(ADMIN, "", "ConfigMap", "demo", "settings")  # (held by its finalizer)
    cluster.run()
    assert cluster.status()["deleting"] is True


def test_a_lookup_of_a_missing_object_or_with_a_null_argument_is_null(cluster):
    assert value_of(cluster, '[ConfigMap["demo", "absent"], Node["absent"], ConfigMap[p.spec.missing, "x"]]') == \
        [None, None, None]


def test_a_rule_that_looked_up_a_missing_object_sees_it_once_created(cluster):
    cluster.rules(probe_rule('set p.status.mode = ConfigMap["demo", "settings"].data.mode'))
    cluster.run()
    assert "mode" not in cluster.status()
    cluster.create(configmap("settings", mode="fast"))
    cluster.run()
    assert cluster.status()["mode"] == "fast"


# ================================================================== create


def test_create_makes_count_objects_named_from_the_prefix(cluster):
    evaluate(cluster, 'create 3 ConfigMap from {data: {k: "v"}} with name_prefix: "gen-"')
    names = cluster.names("ConfigMap")
    assert len(names) == 3 and all(n.startswith("gen-") and len(n) == 9 for n in names)
    assert all(cluster.get("ConfigMap", n)["data"] == {"k": "v"} for n in names)


def test_create_with_a_computed_count_of_zero_or_less_makes_nothing(cluster):
    evaluate(cluster, 'create p.spec.a - 2 ConfigMap from {} with name_prefix: "gen-"')
    assert cluster.names("ConfigMap") == []


def test_create_with_a_name_makes_that_object(cluster):
    evaluate(cluster, 'create ConfigMap from {data: {k: p.name}} with name: "fixed"')
    assert cluster.get("ConfigMap", "fixed")["data"] == {"k": "p"}


def test_create_with_owner_sets_a_controller_owner_reference(cluster):
    evaluate(cluster, 'create ConfigMap from {} with name: "child", owner: p')
    owner = cluster.get("Probe", "p")
    assert cluster.get("ConfigMap", "child")["metadata"]["ownerReferences"] == [{
        "apiVersion": "example.com/v1", "kind": "Probe", "name": "p", "uid": owner["metadata"]["uid"],
        "controller": True, "blockOwnerDeletion": True}]


def test_create_options_in_a_block_add_labels_and_annotations_to_the_templates(cluster):
    evaluate(cluster, """
        create ConfigMap from {metadata: {labels: {from: "template"}}} with
          name: "labelled"
          labels: {"app.kubernetes.io/managed-by": "probe"}, annotations: {note: "hi"}
    """)
    meta = cluster.get("ConfigMap", "labelled")["metadata"]
    assert meta["labels"] == {"from": "template", "app.kubernetes.io/managed-by": "probe"}
    assert meta["annotations"] == {"note": "hi"}


@pytest.mark.parametrize("options, template_meta, expected", [
    ('namespace: "opt"', '{namespace: "meta"}', "opt"),
    ("", '{namespace: "meta"}', "meta"),
    ('owner: ConfigMap["owner-ns", "boss"]', "{}", "owner-ns"),
    ("", "{}", "demo"),
])
def test_create_takes_the_namespace_from_option_template_owner_then_anchor(cluster, options, template_meta, expected):
    for ns in ("opt", "meta", "owner-ns"):
        cluster.create(namespace(ns))
    cluster.create(configmap("boss", "owner-ns"))
    extra = ", " + options if options else ""
    evaluate(cluster, f'create ConfigMap from {{metadata: {template_meta}}} with name: "made"{extra}')
    assert cluster.get("ConfigMap", "made", expected) is not None


def test_create_of_a_cluster_scoped_kind_has_no_namespace(cluster):
    header = HEADER.replace("writes ", "writes Namespace, ")
    cluster.rules(probe_rule('create Namespace from {} with name: "made-" + p.name', header))
    assert cluster.run().converged
    assert "namespace" not in cluster.get("Namespace", "made-p")["metadata"]


def test_create_without_a_name_fails_at_the_create_line(cluster):
    text = probe_rule('let template = {data: {k: "v"}}\ncreate ConfigMap from template')  # (the checker sees no literal)
    failure = failure_of(cluster, text)
    assert failure.message == "create needs a name or a name_prefix"
    assert failure.location.endswith(f"probe.rules:{line_of(text, 'create ConfigMap')}")


def test_create_of_several_objects_with_one_name_fails(cluster):
    failure = failure_of(cluster, probe_rule('create 2 ConfigMap from {} with name: "twin"'))
    assert failure.message == "create 2 objects with one fixed name 'twin': use name_prefix"
    assert cluster.names("ConfigMap") == []


# ===================================================================== set


def test_set_on_status_goes_through_the_status_subresource(cluster):
    status_only = HEADER.replace("writes example.com/Probe.status, ConfigMap, Pod", "writes example.com/Probe.status")
    cluster.rules(probe_rule("set p.status.seen = p.spec.a", status_only))
    assert cluster.run().converged
    assert cluster.get("Probe", "p")["status"] == {"seen": 1}


def test_a_status_only_component_cannot_set_spec_and_the_refusal_is_reported(cluster):
    status_only = HEADER.replace("writes example.com/Probe.status, ConfigMap, Pod", "writes example.com/Probe.status")
    # `default(...)` hides the kind from the checker, so the API server decides
    failure = failure_of(cluster, probe_rule("""
        let target = default(example.com/Probe[p.namespace, p.name], p)
        set target.spec.touched = true
        set p.status.seen = true
    """, status_only))
    assert failure.rule == "probe/probe"
    assert failure.message == ('probes.example.com "p" is forbidden: User "probe" cannot update resource '
                               '"probes" in API group "example.com" in the namespace "demo"')
    probe_now = cluster.get("Probe", "p")
    assert "touched" not in probe_now["spec"] and "status" not in probe_now  # one transaction: nothing lands


def test_the_checker_refuses_a_spec_set_on_a_value_of_known_kind_without_writes(cluster):
    status_only = HEADER.replace("writes example.com/Probe.status, ConfigMap, Pod", "writes example.com/Probe.status")
    with pytest.raises(Exception, match="setting example.com/Probe fields needs 'example.com/Probe'"):
        cluster.rules(probe_rule("set p.spec.touched = true", status_only))


def test_a_rule_with_both_permissions_sets_spec_and_status_together(cluster):
    header = HEADER.replace("writes ", "writes example.com/Probe, ")
    cluster.rules(probe_rule("set p.spec.b = p.spec.a + 1\nset p.status.b = p.spec.a + 2", header))
    assert cluster.run().converged
    got = cluster.get("Probe", "p")
    assert (got["spec"]["b"], got["status"]["b"]) == (2, 3)


def test_set_through_list_indexes_and_computed_map_keys(cluster):
    cluster.api.patch(ADMIN, "example.com", "Probe", "demo", "p", {"spec": {"items": [{"n": 1}, {"n": 2}]}})
    header = HEADER.replace("writes ", "writes example.com/Probe, ")
    cluster.rules(probe_rule('let key = "k-" + p.name\nset p.spec.items[1].n = 20\nset p.spec.byname[key] = true',
                             header))
    assert cluster.run().converged
    spec = cluster.get("Probe", "p")["spec"]
    assert (spec["items"], spec["byname"]) == ([{"n": 1}, {"n": 20}], {"k-p": True})


def test_set_to_null_removes_the_field(cluster):
    cluster.api.update(ADMIN, {**cluster.get("Probe", "p"), "status": {"old": 1, "keep": 2}}, subresource="status")
    assert evaluate(cluster, "set p.status.old = null") == {"keep": 2}


def test_set_to_the_value_it_already_has_writes_nothing(cluster):
    engine = cluster.rules(probe_rule("let spec = p.spec\nset p.status.value = spec.a"))
    cluster.run()
    cluster.api.patch(ADMIN, "example.com", "Probe", "demo", "p", {"spec": {"b": 2}})  # read: the rule runs
    revision, evaluations = cluster.store.revision, engine.evaluations["probe/probe"]
    cluster.run()
    assert engine.evaluations["probe/probe"] == evaluations + 1
    assert cluster.store.revision == revision


def test_set_on_something_that_is_not_an_object_is_a_runtime_error(cluster):
    failure = failure_of(cluster, probe_rule("let m = p.spec\nset m.x = 1"))
    assert failure.message == "set needs an object to write to, got map"


# ================================================================== delete


def test_delete_removes_one_object(cluster):
    cluster.create(configmap("victim"))
    cluster.create(configmap("bystander"))
    evaluate(cluster, 'delete ConfigMap["demo", "victim"]')
    assert cluster.names("ConfigMap") == ["bystander"]


def test_delete_of_a_list_removes_each_object(cluster):
    for name, doomed in (("a", "yes"), ("b", "no"), ("c", "yes")):
        cluster.create(configmap(name, labels={"doomed": doomed}))
    evaluate(cluster, 'delete ConfigMap in p.namespace where it.labels.doomed == "yes"')
    assert cluster.names("ConfigMap") == ["b"]


def test_delete_of_null_does_nothing(cluster):
    cluster.create(configmap("survivor"))
    evaluate(cluster, 'delete ConfigMap["demo", "absent"]')
    assert cluster.names("ConfigMap") == ["survivor"]


def test_delete_of_a_bound_pod_is_graceful_by_default(cluster):
    cluster.create(pod("web", node="n1"))
    evaluate(cluster, 'delete Pod["demo", "web"]')
    assert cluster.get("Pod", "web")["metadata"]["deletionTimestamp"] == format_time(EPOCH + 30)


def test_delete_with_grace_period_zero_removes_a_bound_pod_at_once(cluster):
    cluster.create(pod("web", node="n1"))
    evaluate(cluster, 'delete Pod["demo", "web"] with grace_period: 0')
    assert cluster.get("Pod", "web") is None


def test_delete_with_foreground_propagation_marks_the_owner_first(cluster):
    owner = cluster.create(configmap("owner"))
    child = configmap("child")
    child["metadata"]["ownerReferences"] = [{"apiVersion": "v1", "kind": "ConfigMap", "name": "owner",
                                             "uid": owner["metadata"]["uid"], "blockOwnerDeletion": True}]
    cluster.create(child)
    evaluate(cluster, 'delete ConfigMap["demo", "owner"] with propagation: "Foreground"')
    meta = cluster.get("ConfigMap", "owner")["metadata"]
    assert "foregroundDeletion" in meta["finalizers"] and "deletionTimestamp" in meta


# ============================================================ requeue, now


def test_requeue_after_wakes_the_rule_at_that_simulated_time(cluster):
    engine = cluster.rules(probe_rule("set p.status.at = format_time(now)\nrequeue after 30s"))
    assert cluster.run(45).converged
    assert cluster.status()["at"] == format_time(EPOCH + 30)
    assert cluster.clock.now() == EPOCH + 30
    # at 0 (writes), at +30 (writes); its own writes, which hold what it set, do not wake it
    assert engine.evaluations["probe/probe"] == 2


@pytest.mark.parametrize("condition, woken_at", [
    ("time(p.metadata.creationTimestamp) + 40s < now", 40),
    ("now - time(p.metadata.creationTimestamp) > 1m", 60),
    ("now > time(p.metadata.creationTimestamp) + 10s and p.spec.a == 1", 10),
    ("p.metadata.creationTimestamp + 20s <= now", 20),
    ("not (now < p.metadata.creationTimestamp + 15s)", 15),
])
def test_a_comparison_with_now_wakes_the_rule_when_it_turns_true(cluster, condition, woken_at):
    engine = cluster.rules(probe_rule(f"when {condition}:\n  set p.status.expired = format_time(now)"))
    assert cluster.run(600).converged
    assert "expired" in cluster.status()
    assert EPOCH + woken_at <= cluster.clock.now() <= EPOCH + woken_at + 0.01
    assert engine.evaluations["probe/probe"] == 2  # at start, at the deadline (its own write does not wake it)


def test_a_comparison_with_now_that_never_changes_schedules_nothing(cluster):
    engine = cluster.rules(probe_rule("when time(p.metadata.creationTimestamp) - 1m < now:\n  set p.status.old = true"))
    assert cluster.run().converged
    assert cluster.status() == {"old": True}
    assert engine.next_deadline() is None


def test_a_comparison_with_now_inside_a_query_wakes_the_rule_too(cluster):
    cluster.create(configmap("c1"))
    cluster.rules(probe_rule(
        'set p.status.stale = count(ConfigMap in "demo" where time(it.metadata.creationTimestamp) + 20s < now)'))
    assert cluster.run(10).converged
    assert cluster.status() == {"stale": 0}
    assert cluster.run(600).converged
    assert cluster.status() == {"stale": 1}
    assert EPOCH + 20 < cluster.clock.now() <= EPOCH + 20.01


def test_now_is_the_simulated_clock(cluster):
    cluster.clock.advance_to(EPOCH + 90)
    assert value_of(cluster, "format_time(now)") == "2026-01-01T00:01:30Z"


# =========================================================== runtime errors


MULTILINE = HEADER + """
rule probe for p in example.com/Probe:
  let n = p.spec.a
  when n > 0:
    set p.status.ok = true
    let sizes = {small: 1}
    set p.status.bad = n * sizes
  set p.status.after = true
"""


def test_a_runtime_error_names_the_file_and_line_of_the_failing_statement(cluster):
    failure = failure_of(cluster, MULTILINE)
    assert failure.rule == "probe/probe" and failure.key == PROBE_KEY
    assert failure.location.endswith(f"probe.rules:{line_of(MULTILINE, 'set p.status.bad')}")
    assert failure.message == "cannot compute number * map"
    assert cluster.status() == {}  # a failing evaluation writes nothing


def test_an_error_inside_a_per_item_argument_names_the_statements_line(cluster):
    text = probe_rule('let xs = [1, "a"]\n\nset p.status.n = count(xs, it > 0)')
    failure = failure_of(cluster, text)
    assert failure.location.endswith(f"probe.rules:{line_of(text, 'count(xs')}")
    assert failure.message == "cannot compare string > number"


def test_an_error_in_a_rules_where_names_the_rules_line(cluster):
    text = HEADER + '\n\nrule probe for p in example.com/Probe where p.name > 1:\n  set p.status.x = 1\n'
    failure = failure_of(cluster, text)
    assert failure.location.endswith(f"probe.rules:{line_of(text, 'rule probe')}")


def test_an_error_in_an_else_when_condition_names_its_line(cluster):
    text = probe_rule('when p.spec.a == 2:\n  set p.status.x = 1\nelse when p.name > 1:\n  set p.status.x = 2')
    failure = failure_of(cluster, text)
    assert failure.location.endswith(f"probe.rules:{line_of(text, 'else when')}")


def test_a_failing_rule_is_retried_with_back_off_and_recovers_when_the_data_does(cluster):
    engine = cluster.rules(MULTILINE)
    cluster.run(0)
    first = engine.evaluations["probe/probe"]
    result = cluster.run(60)
    # back-off doubles from 1 s: retries at +1, +3, +7, +15, +31 s within a minute
    assert engine.evaluations["probe/probe"] - first == 5
    assert len(result.failures) == 1
    cluster.api.patch(ADMIN, "example.com", "Probe", "demo", "p", {"spec": {"a": 0}})
    result = cluster.run(600)
    assert result.converged and result.failures == ()
    assert cluster.status() == {"after": True}


# ============================================================ golden files


def golden_compare(path: pathlib.Path, actual: str) -> None:
    if UPDATE:
        path.write_text(actual)
    assert path.exists(), f"{path.name} is missing; RECON_UPDATE_GOLDEN=1 writes it"
    assert actual == path.read_text(), f"{path.name} differs; RECON_UPDATE_GOLDEN=1 rewrites it"


@pytest.mark.parametrize("name", ["replicas", "scopes", "scheduling"])
def test_the_generated_python_matches_its_golden_file(name):
    source = (GOLDEN / f"{name}.rules").read_text()
    compiled = compile_module(load(source, f"{name}.rules"), source)
    golden_compare(GOLDEN / f"{name}.py", compiled.python_source)


def test_every_generated_line_maps_back_to_a_rule_line():
    source = (GOLDEN / "replicas.rules").read_text()
    compiled = compile_module(load(source, "replicas.rules"), source)
    generated = compiled.python_source.splitlines()
    delete_line = next(i for i, line in enumerate(generated, 1) if "ctx.delete(" in line)
    assert compiled.linemap[delete_line] == line_of(source, "delete p with")


# ================================================================= kept items


def test_a_rules_comprehension_computes_the_items_of_changed_elements_only(cluster, monkeypatch):
    import attrs

    from engine.dsl.builtins import BUILTINS

    seen = []
    inner = BUILTINS["upper"].fn

    def counted(text):
        seen.append(text)
        return inner(text)

    monkeypatch.setitem(BUILTINS, "upper", attrs.evolve(BUILTINS["upper"], fn=counted))
    for name in ("a", "b", "c"):
        cluster.create(configmap(name, tag=name))
    status = evaluate(cluster, """
        let suffix = "!"
        set p.status.value = [{name: upper(cm.data.tag) + suffix} for cm in (ConfigMap in "demo")]
        """)
    assert status["value"] == [{"name": "A!"}, {"name": "B!"}, {"name": "C!"}]
    assert "_r.kept(" in cluster.engine.rules.components[0].python_source
    before = len(seen)
    cluster.api.patch(ADMIN, "", "ConfigMap", "demo", "b", {"data": {"tag": "bee"}})
    assert cluster.run().converged
    assert cluster.status()["value"] == [{"name": "A!"}, {"name": "BEE!"}, {"name": "C!"}]
    assert seen[before:] == ["bee"]  # the other two items were kept


def test_a_comprehension_reading_the_clock_is_not_kept_and_still_wakes_the_rule(cluster):
    cluster.create(configmap("a", at=format_time(EPOCH + 30)))
    text = probe_rule("""
        let horizon = now - 10s
        set p.status.value = [cm.metadata.name for cm in (ConfigMap in "demo") if time(cm.data.at) < horizon]
        """)
    cluster.rules(text)
    assert "_r.kept(" not in cluster.engine.rules.components[0].python_source
    assert cluster.run(5).converged and cluster.status().get("value") in (None, [])
    assert cluster.run(60).converged
    assert cluster.status()["value"] == ["a"]  # woken at 40 s, when the condition turned true


def test_a_comprehension_calling_the_simulated_runtime_is_not_kept(cluster):
    cluster.create(configmap("a", tag="x"))
    cluster.rules(probe_rule("""
        set p.status.value = [runtime_version() + cm.data.tag for cm in (ConfigMap in "demo")]
        set p.status.other = [upper(cm.data.tag) for cm in (ConfigMap in "demo")]
        """))
    source = cluster.engine.rules.components[0].python_source
    assert source.count("_r.kept(") == 1 and "runtime_version" not in source.split("_r.kept(")[1].split("\n")[0]
