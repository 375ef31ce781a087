"""The `event` statement and `create … as NAME`: syntax, checks, and what they record.

An event is collected while its rule is evaluated and recorded as a core/v1
Event in the transaction of the rule's writes — only when there are writes,
so a level-based rule that finds nothing to change records nothing again.
"""

from __future__ import annotations

import textwrap

import pytest

from engine.apiserver import Actor, APIServer
from engine.clock import SimClock
from engine.dsl import ast, check, parser
from engine.dsl.compile import compile_module
from engine.errors import SourceErrors
from engine.reconcile import Engine
from engine.rules import load_rules
from engine.store import Store

ADMIN = Actor("admin", "user", None)
HEADER = "component c\n  reads ConfigMap, Secret\n  writes ConfigMap, Secret\n\n"


def rule(body: str, header: str = HEADER, decl: str = "rule r for cm in ConfigMap:") -> str:
    return header + decl + "\n" + textwrap.indent(textwrap.dedent(body).strip("\n"), "  ") + "\n"


def errors(text: str) -> list[str]:
    """Every error of `text` as `path:line:col: message`."""
    with pytest.raises(SourceErrors) as info:
        check.load(text, "t.rules")
    return [f"{e.path}:{e.line}:{e.col}: {e.message}" for e in info.value.errors]


# ------------------------------------------------------------------- syntax

def test_an_event_statement_parses_to_reason_type_object_message_and_options():
    (stmt,) = parser.parse(rule('event warning "BackOff" on cm: "m" + cm.name with field_path: "f", host: "h"'),
                           "t.rules").decls[0].body
    assert isinstance(stmt, ast.Event)
    assert (stmt.reason, stmt.warning, stmt.target, stmt.pos) == ("BackOff", True, ast.Name("cm", ast.Pos(6, 30)),
                                                                  ast.Pos(6, 3))
    assert [(o.name, o.value.value) for o in stmt.options] == [("field_path", "f"), ("host", "h")]


def test_event_options_may_follow_in_a_block_and_normal_is_the_default():
    (stmt,) = parser.parse(rule('''
        event "Copied" on cm: "copied" with
          field_path: "data"
          host: "node-1"
        '''), "t.rules").decls[0].body
    assert not stmt.warning and [o.name for o in stmt.options] == ["field_path", "host"]


def test_create_as_binds_a_name_and_event_words_stay_usable_as_names():
    body = parser.parse(rule('''
        create 2 Secret from {} as made with name_prefix: "s-"
        let event = 1
        let on = 2
        let warning = 3
        let as = 4
        '''), "t.rules").decls[0].body
    assert body[0].alias == "made" and [s.name for s in body[1:]] == ["event", "on", "warning", "as"]


def test_an_event_without_its_colon_is_a_syntax_error_in_words():
    assert errors(rule('event "Copied" on cm "copied"')) == [
        "t.rules:6:24: expected ':' after the event's object, found '\"copied\"'"]


def test_an_event_reason_is_a_string_literal():
    assert errors(rule('event Copied on cm: "copied"'))[0].startswith("t.rules:6:9: expected ")


# ------------------------------------------------------------------- checks

def test_an_event_outside_a_rule_is_refused_with_its_position():
    text = "component c\n  reads Pod\n\nfilter F(pod, node):\n  event \"X\" on pod: \"m\"\n"
    assert errors(text) == ["t.rules:5:3: 'event' can only be used in a rule, not in a filter"]


def test_a_message_that_is_not_a_string_is_refused():
    assert errors(rule('event "Copied" on cm: 3')) == [
        "t.rules:6:25: an event message is a string, got a number; convert numbers with str(...)"]


def test_an_event_about_a_literal_or_a_list_is_refused():
    assert errors(rule('''
        event "Copied" on "cm": "m"
        event "Copied" on Secret in cm.namespace: "m"
        ''')) == ["t.rules:6:21: an event is about one object (like `on rs`), got a string",
                  "t.rules:7:21: an event is about one object (like `on rs`), got a list of objects"]


def test_a_reason_that_is_not_one_camel_case_word_is_refused():
    assert errors(rule('event "copied it" on cm: "m"')) == [
        "t.rules:6:3: event reason 'copied it' should be one UpperCamelCase word like SuccessfulCreate "
        "(a constant that tools match on)"]


def test_unknown_and_repeated_event_options_are_refused_with_a_hint():
    assert errors(rule('event "Copied" on cm: "m" with feld_path: "x", host: "a", host: "b"')) == [
        "t.rules:6:34: unknown event option 'feld_path'; did you mean 'field_path'?",
        "t.rules:6:61: option 'host' is given twice"]


def test_a_name_bound_by_create_as_follows_the_block_rules_of_let():
    assert errors(rule('''
        let made = 1
        create Secret from {} as made with name: "x"
        ''')) == ["t.rules:7:3: 'made' is already defined in this block (line 6); choose another name"]


def test_create_as_knows_the_kind_it_binds():
    header = "component c\n  reads ConfigMap\n  writes Secret\n\n"
    assert errors(rule('''
        create Secret from {} as made with name: "x"
        set made.data.x = "y"
        set made.status.x = "y"
        ''', header=header)) == [
        "t.rules:8:12: setting Secret status needs 'Secret.status' in this component's writes; "
        "add it to the writes line"]


# ------------------------------------------------------------------ compile

def test_the_compiled_rule_records_the_event_and_binds_the_created_objects():
    text = rule('''
        create Secret from {} as made with name: "x"
        create 2 Secret from {} as pair with name_prefix: "y-"
        event warning "Made" on cm: "made " + made.metadata.name with host: "n"
        ''')
    python = compile_module(check.load(text, "t.rules"), text).python_source
    assert "v_made = (ctx.create(" in python and ", 6) or (None,))[0]" in python  # (null: held back)
    assert "v_pair = ctx.create(" in python and ", 7)\n" in python
    # the event tells of the create before it: left out when the engine's slow start holds that back
    assert "    if not ctx.cut(7):\n" \
           "        ctx.event(v_cm, 'Made', 'Warning', _r.add('made ', _r.path(v_made, ('metadata', 'name'))), " \
           "{'host': 'n'}, 8)" in python


# ---------------------------------------------------------------- recording

class Cluster:
    def __init__(self, tmp_path):
        self.tmp_path = tmp_path
        self.clock = SimClock()
        self.store = Store(clock=self.clock.now)
        self.api = APIServer(self.store, self.clock)
        self.api.bootstrap()
        self.api.create(ADMIN, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "demo"}})

    def rules(self, body: str, **more: str) -> Engine:
        folder = self.tmp_path / "rules"
        folder.mkdir(exist_ok=True)
        (folder / "probe.rules").write_text(rule(body))
        for name, text in more.items():
            (folder / f"{name}.rules").write_text(textwrap.dedent(text).lstrip())
        self.engine = Engine(self.api, load_rules(folder), self.clock)
        return self.engine

    def configmap(self, name: str = "cm", **data: str) -> None:
        obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "demo"},
               "data": data}
        if self.store.head.get(("", "ConfigMap", "demo", name)) is None:
            self.api.create(ADMIN, obj)
        else:
            self.api.patch(ADMIN, "", "ConfigMap", "demo", name, {"data": data})

    def run(self, seconds: float = 600):
        result = self.engine.run(until=self.clock.now() + seconds)
        assert result.converged, result.message
        return result

    def events(self) -> list:
        return sorted(self.store.head.list("", "Event", "demo"), key=lambda e: e["metadata"]["name"])


@pytest.fixture
def cluster(tmp_path) -> Cluster:
    return Cluster(tmp_path)


def test_an_event_is_recorded_with_the_write_that_caused_it_in_one_revision(cluster):
    cluster.rules('''
        set cm.metadata.labels["seen"] = default(cm.data.n, "0")
        event "Seen" on cm: "saw " + default(cm.data.n, "0")
        ''')
    cluster.configmap(n="1")
    cluster.run()
    (event,) = cluster.events()
    cm = cluster.store.head.get(("", "ConfigMap", "demo", "cm"))
    assert event["involvedObject"]["uid"] == cm["metadata"]["uid"]
    assert (event["reason"], event["message"], event["type"], event["count"]) == ("Seen", "saw 1", "Normal", 1)
    assert event["source"] == {"component": "c"} and event["reportingComponent"] == "c"
    assert event["metadata"]["name"].startswith("cm.")
    # one transaction: the rule's write and its event have the same revision
    assert event["metadata"]["resourceVersion"] == cm["metadata"]["resourceVersion"]


def test_an_evaluation_that_writes_nothing_records_nothing(cluster):
    cluster.rules('''
        when cm.data.n != null:
          set cm.metadata.labels["seen"] = "yes"
          event "Seen" on cm: "saw it"
        ''')
    cluster.configmap(n="1")
    cluster.run()
    cluster.configmap(n="2")  # the rule reads the data: it runs again, its label is already right
    result = cluster.run()
    assert result.evaluations >= 1
    (event,) = cluster.events()
    assert event["count"] == 1


def test_an_event_with_no_write_at_all_is_never_recorded(cluster):
    cluster.rules('event "Seen" on cm: "saw it"')
    cluster.configmap(n="1")
    cluster.run()
    assert cluster.events() == []


def test_an_event_alone_is_recorded_at_each_evaluation_that_says_it_without_a_write(cluster):
    cluster.rules('''
        when cm.data.n != null:
          event "Seen" on cm: "saw " + cm.data.n with alone: true
        ''')
    cluster.configmap(n="1")
    cluster.run()
    cluster.configmap(n="2")
    cluster.run()
    assert [(e["reason"], e["message"]) for e in cluster.events()] == [("Seen", "saw 1"), ("Seen", "saw 2")]


def test_the_alone_option_is_a_bool():
    assert errors(rule('event "Copied" on cm: "m" with alone: "yes"')) == [
        "t.rules:6:41: event option 'alone' is a bool, got a string"]


def test_the_same_event_again_counts_on_the_first_one(cluster):
    cluster.rules('''
        set cm.metadata.labels["seen"] = default(cm.data.n, "0")
        event "Changed" on cm: "the data changed"
        ''')
    cluster.configmap(n="1")
    cluster.run()
    first = cluster.events()[0]
    for n in ("2", "3"):
        cluster.clock.advance(30)
        cluster.configmap(n=n)
        cluster.run()
    (event,) = cluster.events()
    assert event["metadata"]["name"] == first["metadata"]["name"]
    assert event["count"] == 3
    assert event["firstTimestamp"] == first["firstTimestamp"] < event["lastTimestamp"]


def test_ten_different_messages_fold_into_one_combined_event(cluster):
    cluster.rules('''
        set cm.metadata.labels["seen"] = default(cm.data.n, "0")
        event "Changed" on cm: "n is " + default(cm.data.n, "0")
        ''')
    for n in range(12):
        cluster.configmap(n=str(n))
        cluster.run()
    messages = [e["message"] for e in cluster.events()]
    assert len(messages) == 10
    assert sorted(m for m in messages if not m.startswith("(")) == sorted(f"n is {n}" for n in range(9))
    (combined,) = [e for e in cluster.events() if e["message"].startswith("(")]
    assert combined["message"] == "(combined from similar events): n is 11"
    assert combined["count"] == 3


def test_create_as_names_the_created_object_in_the_event(cluster):
    cluster.rules('''
        when count(Secret in cm.namespace where owned_by(it, cm)) == 0:
          create Secret from {} as made with name_prefix: cm.name + "-", owner: cm
          event "SuccessfulCreate" on cm: "Created secret: " + made.metadata.name
        ''')
    cluster.configmap(n="1")
    cluster.run()
    (secret,) = cluster.store.head.list("", "Secret", "demo")
    (event,) = cluster.events()
    assert event["message"] == f"Created secret: {secret['metadata']['name']}"


def test_events_are_deterministic(tmp_path):
    runs = []
    for i in range(2):
        c = Cluster(tmp_path / str(i))
        (tmp_path / str(i)).mkdir()
        c.rules('''
            create 3 Secret from {} as made with name_prefix: cm.name + "-", owner: cm
            for s in made:
              event "SuccessfulCreate" on cm: "Created secret: " + s.metadata.name
            ''')
        c.configmap(n="1")
        c.engine.run(until=c.clock.now())
        runs.append([(e["metadata"]["name"], e["message"]) for e in c.events()])
    assert runs[0] == runs[1] and len(runs[0]) == 3


def test_recording_events_wakes_no_rule_that_does_not_read_them(cluster):
    cluster.rules('''
        set cm.metadata.labels["seen"] = default(cm.data.n, "0")
        event "Changed" on cm: "n is " + default(cm.data.n, "0")
        ''', watcher='''
        component watcher
          reads any, Secret
        rule everything for x in any where x.metadata.labels.watched == "yes":
          requeue after 1h
        rule secrets for s in Secret:
          let others = Secret in s.namespace
          requeue after 1h
        ''')
    cluster.api.create(ADMIN, {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "demo"}})
    cluster.run(0)
    before = dict(cluster.engine.evaluations)
    cluster.configmap(n="1")
    cluster.run(0)
    assert len(cluster.events()) == 1
    after = cluster.engine.evaluations
    assert after["watcher/secrets"] == before["watcher/secrets"]
    # the `any` rule saw the ConfigMap's two changes (the patch, the rule's label), never the Event
    assert after["watcher/everything"] == before["watcher/everything"] + 2
    assert not any(key[1] == "Event" for _decl, key in cluster.engine.inst_deps)


def test_an_event_in_a_terminating_namespace_is_dropped_and_the_write_still_lands(cluster):
    cluster.rules('''
        set cm.metadata.labels["seen"] = default(cm.data.n, "0")
        event "Changed" on cm: "n is " + default(cm.data.n, "0")
        ''')
    cluster.configmap(n="1")
    cluster.run()
    namespace = cluster.store.head.get(("", "Namespace", "", "demo"))
    cluster.api.update(ADMIN, {**namespace, "metadata": {**namespace["metadata"], "finalizers": ["example.com/x"]}})
    cluster.api.delete(ADMIN, "", "Namespace", "", "demo")
    cluster.configmap(n="2")
    cluster.run()
    assert cluster.store.head.get(("", "ConfigMap", "demo", "cm"))["metadata"]["labels"]["seen"] == "2"
    assert [e["message"] for e in cluster.events()] == ["n is 1"]


def test_rules_that_fight_are_still_named_when_they_record_events(cluster):
    cluster.rules('''
        set cm.metadata.labels["owner"] = "a"
        event "Took" on cm: "a took it"
        ''', other='''
        component d
          reads ConfigMap
          writes ConfigMap
        rule take for cm in ConfigMap:
          set cm.metadata.labels["owner"] = "b"
          event "Took" on cm: "b took it"
        ''')
    cluster.configmap(n="1")
    result = cluster.engine.run(until=cluster.clock.now())
    assert not result.converged and "rules fight" in result.message
    assert "c/r" in result.message and "d/take" in result.message


def test_a_message_that_is_not_a_string_at_runtime_fails_the_rule_at_its_line(cluster):
    cluster.rules('''
        set cm.metadata.labels["seen"] = "yes"
        event "Seen" on cm: cm.data
        ''')
    cluster.configmap(n="1")
    result = cluster.engine.run(until=cluster.clock.now())
    (failure,) = result.failures
    assert failure.location.endswith("probe.rules:7")
    assert failure.message == "event message must be a string, got map"
    assert cluster.events() == []
