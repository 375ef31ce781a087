"""`any` as a kind (anchors, queries, header grants) and the context functions
owner_object / known_kind, compiled and run through the real pipeline."""

from __future__ import annotations

import pathlib
import textwrap

import pytest

from engine.apiserver import Actor, APIServer
from engine.clock import SimClock
from engine.dsl.check import load
from engine.dsl.compile import compile_module
from engine.objects import thaw
from engine.reconcile import Engine
from engine.rules import load_rules
from engine.store import Store

ADMIN = Actor("admin", "user", None)
ANY_FIELDS = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}


def crd(kind: str, plural: str, scope: str = "Namespaced") -> dict:
    return {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.example.com"},
        "spec": {"group": "example.com", "scope": scope, "names": {"plural": plural, "kind": kind},
                 "versions": [{"name": "v1", "served": True, "storage": True, "subresources": {"status": {}},
                               "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                                   "spec": ANY_FIELDS, "status": ANY_FIELDS}}}}]},
    }


PROBE_KEY = ("example.com", "Probe", "demo", "p")
HEADER = """\
component probe
  reads any
  writes any, example.com/Probe.status
"""


class Cluster:
    def __init__(self, tmp_path: pathlib.Path):
        self.folder = tmp_path / "rules"
        self.folder.mkdir()
        self.clock = SimClock()
        self.store = Store(clock=self.clock.now)
        self.api = APIServer(self.store, self.clock)
        self.api.bootstrap()
        self.engine: Engine | None = None
        for ns in ("demo", "other"):
            self.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        self.create(crd("Probe", "probes"))
        self.probe = self.create({"apiVersion": "example.com/v1", "kind": "Probe",
                                  "metadata": {"name": "p", "namespace": "demo"}, "spec": {}})

    def create(self, obj: dict) -> dict:
        return thaw(self.api.create(ADMIN, obj))

    def rules(self, body: str, header: str = HEADER, decl: str = "rule probe for p in example.com/Probe:") -> Engine:
        text = header + "\n" + decl + "\n" + textwrap.indent(textwrap.dedent(body).strip("\n"), "  ") + "\n"
        (self.folder / "probe.rules").write_text(text)
        self.engine = Engine(self.api, load_rules(self.folder), self.clock)
        return self.engine

    def run(self):
        result = self.engine.run(until=self.clock.now() + 600)
        assert result.converged, result.message
        assert not result.failures, [f.format() for f in result.failures]
        return result

    def status(self) -> dict:
        return thaw(self.store.head.get(PROBE_KEY)).get("status") or {}

    def probe_deps(self) -> set:
        return {dep for (decl, key), deps in self.engine.inst_deps.items() if key == PROBE_KEY for dep in deps}


@pytest.fixture
def cluster(tmp_path) -> Cluster:
    return Cluster(tmp_path)


def configmap(name: str, namespace: str = "demo", owner: dict | None = None, **labels: str) -> dict:
    meta: dict = {"name": name, "namespace": namespace, "labels": labels}
    if owner is not None:
        meta["ownerReferences"] = [{"apiVersion": owner["apiVersion"], "kind": owner["kind"],
                                    "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"]}]
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta}


def secret(name: str, namespace: str = "demo", owner: dict | None = None) -> dict:
    obj = configmap(name, namespace, owner)
    obj["kind"] = "Secret"
    return obj


# ------------------------------------------------------------------ queries


def test_a_query_over_any_kind_in_a_namespace_lists_every_kind_in_key_order(cluster):
    cluster.create(configmap("cm"))
    cluster.create(secret("s"))
    cluster.create(configmap("elsewhere", "other"))
    cluster.rules('set p.status.found = [kind_of(o) + ":" + o.metadata.name for o in (any in "demo")]')
    cluster.run()
    assert cluster.status()["found"] == ["ConfigMap:cm", "Secret:s", "example.com/Probe:p"]
    assert ("ns*", "demo") in cluster.probe_deps()


def test_a_query_over_any_kind_by_owner_finds_dependents_of_every_kind(cluster):
    cluster.create(configmap("cm", owner=cluster.probe))
    cluster.create(secret("s", owner=cluster.probe))
    cluster.create(configmap("loose"))
    cluster.rules('set p.status.found = [o.metadata.name for o in (any where owned_by(it, p))]')
    cluster.run()
    assert cluster.status()["found"] == ["cm", "s"]
    assert ("owner*", cluster.probe["metadata"]["uid"]) in cluster.probe_deps()


def test_a_query_over_any_kind_by_uid_finds_the_one_object(cluster):
    cm = cluster.create(configmap("cm"))
    uid = cm["metadata"]["uid"]
    cluster.rules(f'set p.status.found = [o.metadata.name for o in (any where it.metadata.uid == "{uid}")]')
    cluster.run()
    assert cluster.status()["found"] == ["cm"]


def test_a_query_over_any_kind_in_a_null_namespace_is_empty(cluster):
    cluster.rules("set p.status.found = count(any in p.spec.nothing)")
    cluster.run()
    assert cluster.status()["found"] == 0


def test_a_namespace_query_over_any_kind_is_reevaluated_only_for_changes_in_that_namespace(cluster):
    engine = cluster.rules('set p.status.found = count(any in "demo")')
    cluster.run()
    before = engine.evaluations["probe/probe"]
    cluster.create(configmap("elsewhere", "other"))
    cluster.run()
    assert engine.evaluations["probe/probe"] == before
    cluster.create(secret("here"))
    cluster.run()
    assert engine.evaluations["probe/probe"] > before
    assert cluster.status()["found"] == 2


def test_an_owner_query_over_any_kind_ignores_objects_owned_by_others(cluster):
    other = cluster.create(configmap("other-owner"))
    engine = cluster.rules("set p.status.found = count(any where owned_by(it, p))")
    cluster.run()
    before = engine.evaluations["probe/probe"]
    cluster.create(secret("unrelated", owner=other))
    cluster.run()
    assert engine.evaluations["probe/probe"] == before
    cluster.create(secret("mine", owner=cluster.probe))
    cluster.run()
    assert engine.evaluations["probe/probe"] > before
    assert cluster.status()["found"] == 1


# ------------------------------------------------------------------ anchors


def test_a_rule_anchored_on_any_has_an_instance_per_object_of_every_kind(cluster):
    cluster.create(configmap("doomed-cm", doomed="yes"))
    cluster.create(secret("kept"))
    cluster.create({"apiVersion": "example.com/v1", "kind": "Probe",
                    "metadata": {"name": "doomed-probe", "namespace": "demo", "labels": {"doomed": "yes"}}})
    cluster.rules("delete o", decl='rule sweep for o in any where o.metadata.labels["doomed"] == "yes":')
    cluster.run()
    head = cluster.store.head
    assert head.get(("", "ConfigMap", "demo", "doomed-cm")) is None
    assert head.get(("example.com", "Probe", "demo", "doomed-probe")) is None
    assert head.get(("", "Secret", "demo", "kept")) is not None


def test_a_rule_anchored_on_any_sees_objects_created_later_and_of_new_kinds(cluster):
    engine = cluster.rules("delete o", decl='rule sweep for o in any where o.metadata.labels["doomed"] == "yes":')
    cluster.run()
    cluster.create(crd("Gadget", "gadgets"))
    cluster.create({"apiVersion": "example.com/v1", "kind": "Gadget",
                    "metadata": {"name": "g", "namespace": "demo", "labels": {"doomed": "yes"}}})
    before = engine.total_evaluations
    cluster.run()
    assert cluster.store.head.get(("example.com", "Gadget", "demo", "g")) is None
    assert engine.total_evaluations - before == 2  # the instances of the new CRD and Gadget, nothing else


def test_a_new_rule_anchored_on_any_is_evaluated_once_on_every_object(cluster):
    cluster.create(configmap("cm"))
    engine = cluster.rules("delete o", decl='rule sweep for o in any where o.metadata.labels["doomed"] == "yes":')
    cluster.run()
    assert engine.evaluations["probe/sweep"] == len(cluster.store.head)


def test_a_component_that_writes_any_may_delete_objects_of_any_kind(cluster):
    engine = cluster.rules("delete o", decl='rule sweep for o in any where o.metadata.labels["doomed"] == "yes":')
    actor = engine.actor(engine.rules.components[0])
    assert actor.allows("delete", "example.com", "Whatever") and actor.allows("list", "", "Pod")
    assert not actor.allows("update", "", "Pod", "status")


# ------------------------------------------------------------ owner_object


def ref(api_version: str, kind: str, name: str) -> str:
    return f'{{apiVersion: "{api_version}", kind: "{kind}", name: "{name}"}}'


def test_owner_object_finds_the_object_a_reference_points_to(cluster):
    cluster.create(configmap("cm"))
    cluster.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}})
    cluster.rules(f"""
        set p.status.cm = owner_object({ref("v1", "ConfigMap", "cm")}, "demo").metadata.name
        set p.status.elsewhere = owner_object({ref("v1", "ConfigMap", "cm")}, "other")
        set p.status.node = owner_object({ref("v1", "Node", "n1")}, "demo").metadata.name
        set p.status.probe = owner_object({ref("example.com/v1", "Probe", "p")}, "demo").metadata.name
        set p.status.wrong_group = owner_object({ref("apps/v1", "ConfigMap", "cm")}, "demo")
        set p.status.unknown = owner_object({ref("example.com/v1", "Widget", "w")}, "demo")
    """)
    cluster.run()
    status = cluster.status()
    assert (status["cm"], status["node"], status["probe"]) == ("cm", "n1", "p")
    assert "elsewhere" not in status and "wrong_group" not in status and "unknown" not in status
    # (read through a path where it is made: a dependency on that path of the node alone)
    assert {d[2].anchor_reads for d in cluster.probe_deps() if d[:2] == ("field", ("", "Node", "", "n1"))} == {
        (("metadata", "metadata", "name"), ("metadata", "name"))}


def test_owner_object_is_reevaluated_when_the_object_appears(cluster):
    engine = cluster.rules(f'set p.status.found = owner_object({ref("v1", "Secret", "later")}, "demo") != null')
    cluster.run()
    assert cluster.status()["found"] is False
    before = engine.evaluations["probe/probe"]
    cluster.create(secret("unrelated"))
    cluster.run()
    assert engine.evaluations["probe/probe"] == before
    cluster.create(secret("later"))
    cluster.run()
    assert cluster.status()["found"] is True


def test_known_kind_follows_the_custom_resource_definitions(cluster):
    cluster.rules(f"""
        set p.status.known = [known_kind({ref("v1", "Pod", "x")}), known_kind({ref("example.com/v1", "Gadget", "g")}),
                              known_kind(null)]
    """)
    cluster.run()
    assert cluster.status()["known"] == [True, False, False]
    cluster.create(crd("Gadget", "gadgets"))
    cluster.run()
    assert cluster.status()["known"] == [True, True, False]


# ------------------------------------------------------------- generated code


def test_the_generated_code_calls_the_context_and_shows_the_plan():
    text = HEADER + textwrap.dedent("""
        rule probe for p in example.com/Probe where known_kind(p):
          let o = owner_object(p.metadata.ownerReferences[0], p.metadata.namespace)
          set p.status.n = count(any where owned_by(it, p)) + count(any in "demo")
    """)
    comp = compile_module(load(text, "probe.rules"), text)
    assert "ctx.known_kind(v_p)" in comp.python_source
    assert "ctx.owner_object(" in comp.python_source
    assert "query any by owner" in comp.python_source and "query any by ns" in comp.python_source
    assert not comp.rules[0].kind.is_any


def test_any_followed_by_a_parenthesis_is_still_the_builtin(cluster):
    cluster.rules("set p.status.found = [any([1, 2], it > 1), any([1, 2], it > 2)]")
    cluster.run()
    assert cluster.status()["found"] == [True, False]


def test_a_full_recompute_engine_runs_rules_anchored_on_any(cluster):
    cluster.create(configmap("doomed-cm", doomed="yes"))
    cluster.rules("delete o", decl='rule sweep for o in any where o.metadata.labels["doomed"] == "yes":')
    engine = Engine(cluster.api, load_rules(cluster.folder), cluster.clock, full_recompute=True)
    result = engine.run(until=cluster.clock.now() + 60)
    assert result.converged, result.message
    assert cluster.store.head.get(("", "ConfigMap", "demo", "doomed-cm")) is None
