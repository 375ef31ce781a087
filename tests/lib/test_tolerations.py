"""Taints and tolerations (cases from upstream core/v1 toleration_test.go and the scheduler)."""

import pytest
from pyrsistent import freeze

from engine.tolerations import (
    eviction_delay,
    taint_string,
    tolerated_by_any,
    tolerates,
    tolerates_all,
    untolerated,
)

# (description, toleration, taint, tolerated) — upstream TestTolerationToleratesTaint, then ours
TOLERATES_CASES = [
    ("same key and effect, Exists, taint without value",
     {"key": "foo", "operator": "Exists", "effect": "NoSchedule"},
     {"key": "foo", "effect": "NoSchedule"}, True),
    ("same key and effect, Exists, taint with a value",
     {"key": "foo", "operator": "Exists", "effect": "NoSchedule"},
     {"key": "foo", "value": "bar", "effect": "NoSchedule"}, True),
    ("same effect, empty key with Exists matches every taint",
     {"key": "", "operator": "Exists", "effect": "NoSchedule"},
     {"key": "foo", "value": "bar", "effect": "NoSchedule"}, True),
    ("same key, effect and value, Equal",
     {"key": "foo", "operator": "Equal", "value": "bar", "effect": "NoSchedule"},
     {"key": "foo", "value": "bar", "effect": "NoSchedule"}, True),
    ("same key and effect, different values, Equal",
     {"key": "foo", "operator": "Equal", "value": "value1", "effect": "NoSchedule"},
     {"key": "foo", "value": "value2", "effect": "NoSchedule"}, False),
    ("same key and value, different effects, Equal",
     {"key": "foo", "operator": "Equal", "value": "bar", "effect": "NoSchedule"},
     {"key": "foo", "value": "bar", "effect": "NoExecute"}, False),
    ("empty effect matches every effect",
     {"key": "foo", "operator": "Equal", "value": "bar"},
     {"key": "foo", "value": "bar", "effect": "NoExecute"}, True),
    ("a missing operator means Equal",
     {"key": "foo", "value": "bar", "effect": "NoSchedule"},
     {"key": "foo", "value": "bar", "effect": "NoSchedule"}, True),
    ("a missing operator means Equal, so values must agree",
     {"key": "foo", "value": "bar", "effect": "NoSchedule"},
     {"key": "foo", "value": "baz", "effect": "NoSchedule"}, False),
    ("different keys",
     {"key": "foo", "operator": "Exists"},
     {"key": "bar", "effect": "NoSchedule"}, False),
    ("the bare Exists toleration tolerates everything",
     {"operator": "Exists"},
     {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"}, True),
    ("empty key with Equal compares only the value (upstream does not check the key)",
     {"operator": "Equal", "value": ""},
     {"key": "anything", "effect": "NoSchedule"}, True),
    ("an unknown operator tolerates nothing",
     {"key": "foo", "operator": "Gt", "value": "1"},
     {"key": "foo", "value": "2", "effect": "NoSchedule"}, False),
    ("a toleration with a value but Exists ignores the value",
     {"key": "foo", "operator": "Exists", "value": "ignored"},
     {"key": "foo", "value": "bar", "effect": "NoSchedule"}, True),
]


@pytest.mark.parametrize("description, toleration, taint, expected", TOLERATES_CASES,
                         ids=[c[0] for c in TOLERATES_CASES])
def test_toleration_tolerates_taint_as_upstream(description, toleration, taint, expected):
    assert tolerates(freeze(toleration), freeze(taint)) is expected


def test_exists_toleration_with_empty_key_tolerates_every_taint():
    toleration = {"operator": "Exists"}
    for taint in ({"key": "a", "effect": "NoSchedule"}, {"key": "b", "value": "c", "effect": "NoExecute"},
                  {"key": "d", "effect": "PreferNoSchedule"}):
        assert tolerates(toleration, taint)


NODE_TAINTS = freeze([
    {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"},
    {"key": "soft", "effect": "PreferNoSchedule"},
    {"key": "node.kubernetes.io/not-ready", "effect": "NoExecute"},
])


def test_untolerated_lists_taints_in_node_order_limited_to_the_effects_asked():
    got = untolerated([], NODE_TAINTS, ["NoSchedule", "NoExecute"])
    assert [t["key"] for t in got] == ["dedicated", "node.kubernetes.io/not-ready"]
    assert [t["key"] for t in untolerated(None, NODE_TAINTS)] == ["dedicated", "soft", "node.kubernetes.io/not-ready"]


def test_the_first_untolerated_taint_is_what_the_scheduler_reports():
    tolerations = [{"key": "dedicated", "operator": "Equal", "value": "gpu"}]
    got = untolerated(tolerations, NODE_TAINTS, ["NoSchedule", "NoExecute"])
    assert got[0]["key"] == "node.kubernetes.io/not-ready"


def test_tolerates_all_ignores_effects_outside_the_filter():
    tolerations = [{"key": "dedicated", "operator": "Exists"}, {"key": "node.kubernetes.io/not-ready", "operator": "Exists"}]
    assert tolerates_all(tolerations, NODE_TAINTS, ["NoSchedule", "NoExecute"])
    assert not tolerates_all(tolerations, NODE_TAINTS)
    assert tolerates_all(None, None)
    assert tolerates_all([], [])


def test_tolerated_by_any_is_false_without_tolerations():
    assert not tolerated_by_any(None, NODE_TAINTS[0])
    assert tolerated_by_any([{"operator": "Exists"}], NODE_TAINTS[0])


@pytest.mark.parametrize("taint, text", [
    ({"key": "a", "value": "b", "effect": "NoSchedule"}, "a=b:NoSchedule"),
    ({"key": "a", "effect": "NoExecute"}, "a:NoExecute"),
])
def test_taint_string_is_upstreams_to_string(taint, text):
    assert taint_string(taint) == text


NOT_READY = {"key": "node.kubernetes.io/not-ready", "effect": "NoExecute"}
UNREACHABLE = {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"}


@pytest.mark.parametrize("description, tolerations, taints, delay", [
    ("no taints: never", [], [], None),
    ("only NoSchedule taints: never", [], [NODE_TAINTS[0]], None),
    ("an untolerated NoExecute taint: now", [], [NOT_READY], 0.0),
    ("tolerated forever: never", [{"operator": "Exists"}], [NOT_READY], None),
    ("tolerated for 300s", [{"key": NOT_READY["key"], "operator": "Exists", "tolerationSeconds": 300}], [NOT_READY], 300.0),
    ("the least tolerationSeconds of the used tolerations wins",
     [{"key": NOT_READY["key"], "operator": "Exists", "tolerationSeconds": 300},
      {"key": UNREACHABLE["key"], "operator": "Exists", "tolerationSeconds": 60}],
     [NOT_READY, UNREACHABLE], 60.0),
    ("zero or negative tolerationSeconds: now",
     [{"operator": "Exists", "tolerationSeconds": -5}], [NOT_READY], 0.0),
    ("one taint untolerated: now even if another is tolerated",
     [{"key": NOT_READY["key"], "operator": "Exists"}], [NOT_READY, UNREACHABLE], 0.0),
    ("only the first tolerating toleration of a taint is used",
     [{"operator": "Exists"}, {"key": NOT_READY["key"], "operator": "Exists", "tolerationSeconds": 10}],
     [NOT_READY], None),
])
def test_eviction_delay_follows_the_taint_manager(description, tolerations, taints, delay):
    assert eviction_delay(freeze(tolerations), freeze(taints)) == delay
