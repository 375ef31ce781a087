"""A rule's let that does not mention the rule's object is computed once per snapshot, for every instance."""

from __future__ import annotations

import attrs
import pytest

from engine.dsl.builtins import BUILTINS
from engine.dsl.check import load
from engine.dsl.compile import compile_module


def configmap(name: str, **data: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "demo"}, "data": data}


def secret(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": "demo"}}


MEMBERS = """
    component members
      reads ConfigMap, Secret
      writes ConfigMap
    rule list for cm in ConfigMap where cm.data.role == "member":
      let names = join(sort(map(Secret in "demo", it.metadata.name)), ",")
      set cm.data.secrets = names + " for " + cm.metadata.name
    """


@pytest.fixture
def joins(monkeypatch):
    calls = []
    inner = BUILTINS["join"].fn

    def counted(items, sep=""):
        calls.append(tuple(items))
        return inner(items, sep)

    monkeypatch.setitem(BUILTINS, "join", attrs.evolve(BUILTINS["join"], fn=counted))
    return calls


def test_every_instance_gets_the_value_computed_once_and_follows_what_it_read(cluster, joins):
    cluster.rules(members=MEMBERS)
    assert "once per snapshot" in cluster.engine.rules.components[0].python_source
    cluster.apply(secret("s1"))
    for name in ("a", "b", "c"):
        cluster.apply(configmap(name, role="member"))
    assert cluster.run().converged
    assert [cluster.get("ConfigMap", n)["data"]["secrets"] for n in "abc"] == ["s1 for a", "s1 for b", "s1 for c"]
    evaluations = cluster.engine.evaluations
    (name,) = evaluations
    # the three instances are evaluated together in each round: one computation per round's snapshot
    assert evaluations[name] == 3 * len(joins) and set(joins) == {("s1",)}
    before = len(joins)
    cluster.apply(secret("s2"))  # every instance depends on the query, also those that were handed the value
    assert cluster.run().converged
    assert [cluster.get("ConfigMap", n)["data"]["secrets"] for n in "abc"] == ["s1,s2 for a", "s1,s2 for b",
                                                                                  "s1,s2 for c"]
    assert evaluations[name] == 3 * len(joins) and set(joins[before:]) == {("s1", "s2")}


def test_a_failing_shared_let_fails_each_instance_and_all_recover(cluster, monkeypatch):
    parsed = []
    inner = BUILTINS["int"].fn
    monkeypatch.setitem(BUILTINS, "int", attrs.evolve(BUILTINS["int"], fn=lambda v: parsed.append(v) or inner(v)))
    cluster.rules(members="""
        component members
          reads ConfigMap
          writes ConfigMap
        rule sum for cm in ConfigMap where cm.data.role == "member":
          let total = sum([int(c.data.n) for c in (ConfigMap in "demo") if c.data.role == "number"])
          set cm.data.total = str(total)
        """)
    cluster.apply(configmap("n1", role="number", n="x"))
    for name in ("a", "b"):
        cluster.apply(configmap(name, role="member"))
    cluster.run(0.1)
    assert len(cluster.engine.failures) == 2
    assert {f.location.rpartition("/")[2] for f in cluster.engine.failures.values()} == {"members.rules:5"}  # the let
    assert parsed == ["x"]  # both instances, one snapshot: the failure was computed once
    cluster.api.patch(cluster.admin, "", "ConfigMap", "demo", "n1", {"data": {"n": "4"}})
    cluster.run(0.1)  # woken by the change (both kept the dependency), not by the back-off
    assert not cluster.engine.failures
    assert [cluster.get("ConfigMap", n)["data"]["total"] for n in "ab"] == ["4", "4"]


def shared_names(body: str) -> list[str]:
    text = "component c\n  reads ConfigMap, Secret, Pod\n  writes ConfigMap\n" \
           "rule r for cm in ConfigMap:\n" + "".join(f"  {line}\n" for line in body.strip().splitlines())
    source = compile_module(load(text, "c.rules"), text).python_source
    return [line.split("let ")[1].split(" ")[0] for line in source.splitlines() if "once per snapshot" in line]


def test_which_lets_are_shared():
    assert shared_names("""
let secrets = Secret in "demo"
let names = map(secrets, it.metadata.name)
let mine = filter(names, it == cm.metadata.name)
let both = mine + names
let fixed = ["a", "b"]
let plain = "x"
let late = [s for s in (Secret) if time(s.metadata.creationTimestamp) < now]
let later = count(late)
let version = runtime_version()
let quoted = [plain + s.metadata.name for s in secrets]
set cm.data.x = str(count(both) + count(fixed) + later + count(quoted)) + plain + version
""") == ["secrets", "names", "fixed", "quoted"]
    # `mine` reads the rule's object, `both` reads `mine`, `plain` builds nothing (`quoted`, which reads
    # it, is shared), `late` reads the
    # clock and `later` reads `late`, `version` calls a builtin that is not a function of its arguments


def test_a_shared_let_hidden_by_an_inner_let_of_the_same_name_is_still_right(cluster):
    cluster.rules(members="""
        component members
          reads ConfigMap, Secret
          writes ConfigMap
        rule list for cm in ConfigMap where cm.data.role == "member":
          let names = map(Secret in "demo", it.metadata.name)
          when cm.metadata.name == "b":
            let names = [cm.metadata.name]
            set cm.data.inner = join(names, ",")
          set cm.data.outer = join(names, ",")
        """)
    cluster.apply(secret("s1"))
    for name in ("a", "b"):
        cluster.apply(configmap(name, role="member"))
    assert cluster.run().converged
    assert cluster.get("ConfigMap", "a")["data"] == {"role": "member", "outer": "s1"}
    assert cluster.get("ConfigMap", "b")["data"] == {"role": "member", "inner": "b", "outer": "s1"}


def test_a_let_reading_the_objects_an_instance_creates_is_its_own(cluster):
    cluster.rules(members="""
        component members
          reads ConfigMap
          writes ConfigMap
        rule child for cm in ConfigMap where cm.data.role == "member" and cm.data.child == null:
          create ConfigMap from {metadata: {name: cm.metadata.name + "-child"}, data: {role: "child"}} as made
          let names = join([m.metadata.name for m in [made]], ",")
          set cm.data.child = names
        """)
    for name in ("a", "b"):
        cluster.apply(configmap(name, role="member"))
    assert cluster.run().converged
    assert {n: cluster.get("ConfigMap", n)["data"]["child"] for n in "ab"} == {"a": "a-child", "b": "b-child"}
