"""The runtime's and builtins' fast paths for exact types agree with their general paths.

dsl.runtime and dsl.builtins test `type(x)` against the usual types (PMap,
dict, tuple, list, PVector, str) before any isinstance against the Mapping /
Sequence ABCs.  Each test gives the same value as every kind of container the
rules may meet, including a Mapping and a Sequence of our own that only the
general paths see, and expects the same answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import SimpleNamespace

import pytest
from pyrsistent import pmap, pvector

from engine.dsl import builtins as B
from engine.dsl import runtime as R
from engine.dsl.compile import compile_expression
from engine.quantity import Quantity


class OwnMap(Mapping):
    """A Mapping that is neither a dict nor a PMap."""

    def __init__(self, data):
        self.data = dict(data)

    def __getitem__(self, key):
        return self.data[key]

    def __iter__(self):
        return iter(self.data)

    def __len__(self):
        return len(self.data)


class OwnList(Sequence):
    """A Sequence that is neither a tuple, a list nor a PVector."""

    def __init__(self, items):
        self.items = list(items)

    def __getitem__(self, i):
        return self.items[i]

    def __len__(self):
        return len(self.items)


def maps(data):
    return [pmap(data), dict(data), OwnMap(data)]


def lists(items):
    return [tuple(items), list(items), pvector(items), OwnList(items)]


@pytest.mark.parametrize("value", maps({"a": 1}) + maps({}))
def test_every_mapping_is_a_map_and_not_a_list(value):
    assert R.is_map(value) and not R.is_list(value)


@pytest.mark.parametrize("value", lists([1]) + lists([]))
def test_every_sequence_but_a_string_is_a_list_and_not_a_map(value):
    assert R.is_list(value) and not R.is_map(value)


@pytest.mark.parametrize("value", ["ab", "", b"ab", None, 0, 1.5, True])
def test_strings_bytes_numbers_and_null_are_neither_lists_nor_maps(value):
    assert not R.is_list(value) and not R.is_map(value)


@pytest.mark.parametrize("value", lists(["a", "b", "c"]))
@pytest.mark.parametrize("i, expected", [(0, "a"), (-1, "c"), (-3, "a"), (3, None), (-4, None),
                                         (True, None), ("0", None), (None, None)])
def test_indexing_any_list_counts_from_either_end_and_is_null_outside(value, i, expected):
    assert R.index(value, i) == expected


@pytest.mark.parametrize("value", maps({"a": 1, "1": 2}))
@pytest.mark.parametrize("key, expected", [("a", 1), ("1", 2), ("b", None), (1, None), (None, None)])
def test_indexing_any_map_takes_string_keys_only(value, key, expected):
    assert R.index(value, key) == expected


def test_indexing_a_string_gives_a_character_and_null_gives_null():
    assert R.index("web", -1) == "b" and R.index("web", 3) is None and R.index(None, 0) is None


@pytest.mark.parametrize("value", lists([1, 2]))
def test_iterating_any_list_gives_its_elements(value):
    assert list(R.iterate(value)) == [1, 2]


@pytest.mark.parametrize("value", maps({"b": 1, "a": 2}))
def test_iterating_any_map_gives_its_keys(value):
    assert sorted(R.iterate(value)) == ["a", "b"]


@pytest.mark.parametrize("value", ["ab", b"ab", 3, True])
def test_iterating_a_string_or_a_scalar_is_a_runtime_error(value):
    with pytest.raises(R.RuleRuntimeError):
        R.iterate(value)


@pytest.mark.parametrize("obj", maps({"metadata": maps({"name": "web"})[0]})
                         + maps({"metadata": {"name": "web"}}) + maps({"metadata": OwnMap({"name": "web"})}))
def test_the_metadata_shortcuts_read_metadata_of_any_map(obj):
    assert R.attr(obj, "name") == "web" and R.path(obj, ("name",)) == "web"
    assert R.attr(obj, "uid") is None and R.attr(obj, "spec") is None


@pytest.mark.parametrize("obj", maps({"name": None, "metadata": pmap({"name": "web"})}))
def test_a_null_field_of_its_own_hides_the_metadata_shortcut(obj):
    assert R.attr(obj, "name") is None


@pytest.mark.parametrize("obj", maps({"metadata": None}) + maps({"metadata": "web"}) + maps({}))
def test_a_shortcut_through_missing_or_odd_metadata_is_null(obj):
    assert R.attr(obj, "name") is None and R.path(obj, ("labels", "app")) is None


@pytest.mark.parametrize("value", [None, 3, "web", *lists([1])])
def test_a_field_of_anything_but_a_map_is_null(value):
    assert R.attr(value, "name") is None and R.path(value, ("spec", "x")) is None


@pytest.mark.parametrize("container", lists(["a", "b"]) + maps({"a": 1, "b": 2}))
def test_in_finds_list_elements_and_map_keys_of_any_kind(container):
    assert R.contains(container, "a") and not R.contains(container, "c")


def test_in_a_string_is_a_substring_test_and_in_null_is_false():
    assert R.contains("hello", "ell") and not R.contains("hello", 1) and not R.contains(None, "a")
    with pytest.raises(R.RuleRuntimeError):
        R.contains(3, "a")


@pytest.mark.parametrize("left", lists([1]))
@pytest.mark.parametrize("right", lists([2]))
def test_plus_joins_any_two_lists_into_a_list(left, right):
    assert R.add(left, right) == [1, 2]


def test_plus_joins_strings_and_rejects_a_string_and_a_list():
    assert R.add("web", "-1") == "web-1" and R.add("a", None) is None
    with pytest.raises(R.RuleRuntimeError):
        R.add("a", ("b",))


@pytest.mark.parametrize("value, expected", [
    (None, False), (0, False), (0.0, False), ("", False), (pmap(), False), ((), False), ([], False),
    (pvector(), False), (Quantity(0), False), (1, True), ("x", True), (pmap({"a": 1}), True), ((0,), True),
])
def test_truth_is_false_for_null_and_every_empty_value(value, expected):
    assert R.truthy(value) is expected


def test_plain_turns_every_container_into_dicts_and_lists():
    value = pmap({"a": pvector([1.0, (2.5, True)]), "b": OwnMap({"c": OwnList(["x"])}), "d": None,
                  "t": R.TimeVal(60.0, 1, 0.0), "q": Quantity("500m")})
    assert R.plain(value) == {"a": [1, [2.5, True]], "b": {"c": ["x"]}, "d": None, "t": 60, "q": "500m"}
    assert type(R.plain(value)["a"][0]) is int


@pytest.mark.parametrize("value", lists([1, 2]))
def test_a_list_argument_of_any_kind_passes_through(value):
    assert B._seq(value) is value


@pytest.mark.parametrize("value", maps({"a": 1}))
def test_a_map_argument_of_any_kind_passes_through(value):
    assert B._map(value) is value


@pytest.mark.parametrize("bad, seq", [("ab", True), (pmap(), True), (3, True), ((), False), ("ab", False)])
def test_the_wrong_kind_of_argument_is_a_type_error(bad, seq):
    with pytest.raises(TypeError):
        B._seq(bad) if seq else B._map(bad)


@pytest.mark.parametrize("obj", maps({"metadata": maps({"uid": "u1"})[0]}) + maps({"metadata": OwnMap({"uid": "u1"})}))
def test_dig_walks_any_nesting_of_maps(obj):
    assert B._dig(obj, "metadata", "uid") == "u1"
    assert B._dig(obj, "metadata", "uid", "more") is None and B._dig(obj, "spec", "x") is None


@pytest.mark.parametrize("obj", [None, "web", ("metadata",), 3])
def test_dig_into_anything_but_a_map_is_null(obj):
    assert B._dig(obj, "metadata") is None


def test_an_equal_selector_of_another_kind_selects_the_same_pods():
    labels = pmap({"app": "web", "tier": "fe"})
    for selector in [pmap({"matchLabels": pmap({"app": "web"})}), {"matchLabels": {"app": "web"}},
                     pmap({"app": "web"}), {"app": "web"}, "app=web", "app in (web)"]:
        assert B.BUILTINS["matches"].fn(selector, labels)
        assert not B.BUILTINS["matches"].fn(selector, pmap({"app": "db"}))


def test_a_map_selector_changed_in_place_is_read_again():
    selector = {"app": "web"}
    assert B.BUILTINS["matches"].fn(selector, pmap({"app": "web"}))
    selector["app"] = "db"  # only PMaps and strings are remembered by identity
    assert B.BUILTINS["matches"].fn(selector, pmap({"app": "db"}))


CTX = SimpleNamespace(now=0.0)


@pytest.mark.parametrize("source, value", [
    ("it.a == null", False), ("it.missing == null", True), ("null == it.missing", True),
    ("it.zero == null", False), ("it.empty == null", False), ("it.none != null", True), ("null != it.a", True),
    ("it.missing != null", False), ("null == null", True),
])
def test_only_null_equals_null_not_zero_or_empty(source, value):
    it = pmap({"a": 1, "zero": 0, "empty": pvector(), "none": ""})
    assert compile_expression(source, it=True)(CTX, it) is value


@pytest.mark.parametrize("source, value", [
    ("it.a and it.empty", False), ("it.empty or it.a", True), ("it.a and (it.zero or it.a)", True),
    ("not it.missing and it.a", True), ("(it.a == 1) or it.missing", True), ("it.missing or it.zero", False),
])
def test_and_or_give_booleans_whatever_their_operands(source, value):
    it = pmap({"a": 1, "zero": 0, "empty": pvector()})
    assert compile_expression(source, it=True)(CTX, it) is value


@pytest.mark.parametrize("source, value", [
    ('"y" if it.empty else "n"', "n"), ('"y" if it.a else "n"', "y"), ('"y" if it.missing else "n"', "n"),
    ("[x for x in it.list if x]", [1, 2]), ("not it.empty", True), ("not it.list", False),
])
def test_conditions_test_the_truth_of_any_value(source, value):
    it = pmap({"a": 1, "empty": pmap(), "list": pvector([0, 1, None, 2, ""])})
    assert compile_expression(source, it=True)(CTX, it) == value


@pytest.mark.parametrize("value", [
    1, "a", None, True, 1.5, R.TimeVal(3.0, 1, 0.0), Quantity("1"), [1, {"a": [2, (3, {"b": None})]}], (1, [2]),
    pmap({"a": 1, "b": pmap({"c": (1, pvector([2]))})}), pvector([pmap({"a": 1})]), {1, 2}, OwnMap({"a": [1]}),
])
def test_freezing_gives_what_pyrsistent_freeze_gives(value):
    from pyrsistent import freeze
    frozen, expected = B._freeze(value), freeze(value)
    assert frozen == expected and type(frozen) is type(expected)
    if type(expected) is type(pmap()):
        assert list(frozen.items()) == list(expected.items())  # the same buckets, so the same order


@pytest.mark.parametrize("value", [pmap({"a": pmap({"b": 1})}), pvector([pmap({"a": 1})])])
def test_a_frozen_map_or_list_is_frozen_already(value):
    assert B._freeze(value) is value  # (engine.objects.freeze takes them as they are too)


def test_a_merge_into_a_map_a_rule_wrote_is_frozen_all_the_way_down():
    merged = B.BUILTINS["merge"].fn({"a": {"b": [1, {"c": 2}]}, "d": [{"e": 3}]}, {"x": 1})
    assert merged == {"a": {"b": [1, {"c": 2}]}, "d": [{"e": 3}], "x": 1}
    assert type(merged["a"]) is type(pmap()) and type(merged["a"]["b"]) is type(pvector())
    assert type(merged["a"]["b"][1]) is type(pmap()) and type(merged["d"][0]) is type(pmap())


@pytest.mark.parametrize("target", maps({"a": 1, "b": pmap({"c": 2})})[:2])
def test_a_merge_patch_that_changes_nothing_returns_its_target(target):
    merge = B.BUILTINS["merge"].fn
    assert merge(target, {"a": 1, "x": None}) is target
    assert merge(target, {"a": 1.0}) is target  # equal counts as unchanged
    assert merge(target, {"b": {"c": None}}) == {"a": 1, "b": {}}


def test_a_frozen_value_is_stored_as_it_is_when_plain_would_change_nothing():
    frozen = pmap({"a": pvector([pmap({"b": 1.5, "c": None, "d": True, "e": "x"})]), "n": 3})
    assert R.stored(frozen) is frozen
    for value, expected in ((pmap({"a": 2.0}), {"a": 2}), (pvector([R.TimeVal(3.0, 1, 0.0)]), [3]),
                            (pmap({"cpu": Quantity("1")}), {"cpu": "1"}), ({"a": pmap({"b": 1})}, {"a": {"b": 1}})):
        stored = R.stored(value)
        assert stored == expected and stored is not value
        assert stored == R.plain(value) and type(stored) is type(R.plain(value))


def test_a_selector_built_of_a_rules_maps_is_frozen_through():
    sel = B.BUILTINS["all_selectors"].fn([{"matchLabels": {"app": "web"},
                                           "matchExpressions": [{"key": "app", "operator": "Exists"}]}])
    hash(sel)  # frozen all the way down: usable as a key (unique, the selector cache)
    assert B.BUILTINS["unique"].fn([sel, sel]) == (sel,)
    assert B.BUILTINS["matches"].fn(sel, pmap({"metadata": pmap({"labels": pmap({"app": "web"})})}))
    spread = B.BUILTINS["system_spread_constraints"].fn({"matchLabels": {"app": "web"}})
    assert len(B.BUILTINS["unique"].fn(spread)) == 2
