"""Paths into frozen objects: setting a value, and what counts as no change."""

from hypothesis import given
from hypothesis import strategies as st
from pyrsistent import pmap, pvector

from engine.objects import freeze, set_path


def test_setting_an_equal_value_gives_the_object_itself():
    obj = freeze({"spec": {"a": {"b": [1, 2]}}, "status": {"text": "ready-7"}})
    equal = pmap({"b": pvector([1, 2])})  # equal to spec.a, not the same object
    assert equal is not obj["spec"]["a"] and set_path(obj, ["spec", "a"], equal) is obj
    text = "-".join(["ready", str(7)])
    assert text is not obj["status"]["text"] and set_path(obj, ["status", "text"], text) is obj
    assert set_path(obj, ["status", "gone"], None) is obj


def test_a_value_of_another_type_is_a_change_even_when_python_calls_it_equal():
    obj = freeze({"status": {"n": 1, "ok": True}})
    assert set_path(obj, ["status", "n"], True)["status"]["n"] is True
    assert type(set_path(obj, ["status", "n"], 1.0)["status"]["n"]) is float
    assert set_path(obj, ["status", "ok"], 1)["status"]["ok"] == 1


def test_setting_a_new_value_copies_the_path_only():
    obj = freeze({"spec": {"a": {"b": 1}}, "status": {"n": 1}})
    changed = set_path(obj, ["spec", "a", "b"], 2)
    assert changed["spec"]["a"]["b"] == 2 and obj["spec"]["a"]["b"] == 1
    assert changed["status"] is obj["status"]


_LEAVES = st.none() | st.booleans() | st.integers(-2, 2) | st.text(max_size=1)
_MAPS = st.dictionaries(st.sampled_from("abc"), _LEAVES, max_size=3)


@given(_MAPS, _MAPS, st.booleans())
def test_pmap_equality_and_hash_are_pyrsistents(a, b, hashed_first):
    from engine.objects import _pmap_eq_slow

    left, right = pmap(a), pmap(b)
    if hashed_first:  # a cached hash takes part in the comparison
        hash(left), hash(right)
    assert (left == right) == _pmap_eq_slow(left, right) == (a == b)
    assert (left == b) == (a == b) and (left != right) == (a != b)
    assert hash(left) == hash(frozenset(a.items()))


def test_by_identity_answers_for_the_very_object_only_and_starts_over_past_its_limit():
    from engine.objects import ByIdentity

    memo = ByIdentity(2)
    a, b = pmap({"k": 1}), pmap({"k": 1})  # equal, not the same object
    memo.put(a, "a")
    assert memo.get(a) == "a" and memo.get(b, "none") == "none"
    memo.put(b, "b")
    memo.put(pmap({"k": 2}), "c")  # a third entry: the memo starts over
    assert memo.get(a) is None and memo.get(b) is None


def test_deleting_under_a_missing_map_changes_nothing():
    # (a rule's `set cj.status.active = null` on an object without a status: no `status: null`)
    obj = freeze({"spec": {"a": 1}})
    assert set_path(obj, ["status", "active"], None) is obj
    assert set_path(obj, ["spec", "b", "c"], None) is obj
    assert set_path(obj, ["spec", "a"], None) == {"spec": {}}
