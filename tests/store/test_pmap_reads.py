"""engine.objects replaces PMap's reads (get, [], in) with faster ones: they must answer the same."""

from __future__ import annotations

import pytest
from pyrsistent import pmap

import engine.objects  # noqa: F401 (installs the reads)


def test_present_absent_and_null_values():
    m = pmap({"a": 1, "b": None, "c": {"d": 2}})
    assert m.get("a") == 1 and m["a"] == 1 and "a" in m
    assert m.get("b", 5) is None and "b" in m and m["b"] is None  # a null value is not a missing key
    assert m.get("x") is None and m.get("x", 7) == 7 and "x" not in m
    with pytest.raises(KeyError):
        m["x"]
    assert pmap().get("a") is None and "a" not in pmap()


def test_keys_that_share_a_hash_bucket_are_told_apart():
    assert hash(-1) == hash(-2)  # CPython: both hash to -2
    m = pmap({-1: "minus one", -2: "minus two"})
    assert m[-1] == "minus one" and m.get(-2) == "minus two" and -3 not in m
    crowded = pmap({i: i * 10 for i in range(1000)})  # many keys per bucket as the map grows
    assert all(crowded[i] == i * 10 and crowded.get(i) == i * 10 and i in crowded for i in range(1000))
    assert crowded.get(1000) is None and 1000 not in crowded


def test_equal_keys_of_other_types_find_the_entry_as_dict_does():
    m = pmap({1: "one"})
    assert m.get(True) == "one" and m[1.0] == "one" and True in m
    with pytest.raises(TypeError):
        m.get([])  # unhashable, as with a dict


def test_set_replaces_a_value_in_a_new_map_and_adds_a_key_as_before():
    base = pmap({i: str(i) for i in range(50)})
    changed = base.set(7, "seven")
    assert changed[7] == "seven" and base[7] == "7"  # the old map is untouched
    assert len(changed) == 50 and changed == {**{i: str(i) for i in range(50)}, 7: "seven"}
    assert changed.set(7, "7") == base and hash(changed.set(7, "7")) == hash(base)
    assert base.set(7, base[7]) is base  # the very same value: nothing to change
    grown = changed.set(50, "50")
    assert len(grown) == 51 and grown[50] == "50" and 50 not in changed
    collided = pmap({-1: "a", -2: "b"}).set(-2, "c")  # same bucket: only its own entry changes
    assert collided == {-1: "a", -2: "c"}


def test_a_new_key_lands_where_pyrsistents_evolver_puts_it():
    # (the layout decides PMap's iteration order and its fast equality; inserts without an
    # evolver must build the very buckets the evolver would, reallocations included)
    import random

    rng = random.Random(7)
    evolver_set = engine.objects._pmap_set_new
    for _ in range(300):
        ours = theirs = pmap()
        for _ in range(rng.randrange(1, 60)):
            key = rng.choice([rng.randrange(-50, 50), f"k{rng.randrange(60)}", (rng.randrange(4), "x")])
            value = rng.randrange(3)
            ours, theirs = ours.set(key, value), evolver_set(theirs, key, value)
            assert list(ours._buckets) == list(theirs._buckets) and len(ours) == len(theirs)
            assert ours == theirs and dict(ours) == dict(theirs)


def test_equality_and_hash_answer_as_dicts_do_whatever_the_layout():
    import random

    from engine.objects import freeze

    rng = random.Random(7)
    values = [1, "1", None, True, 1.0, 0, "", {"n": 1}, {"n": 2}, [1, 2], [1, 3]]
    for _ in range(3000):
        d = {f"k{j}": rng.choice(values) for j in range(rng.randint(0, 40))}
        e = dict(d)
        if d and rng.random() < 0.5:
            e[rng.choice(list(d))] = rng.choice(values)
        if d and rng.random() < 0.2:
            del e[rng.choice(list(d))]
            e["other"] = 1  # the same size, another key
        mine = freeze(d)
        theirs = pmap()  # built in another order: another layout of its buckets
        for key in reversed(list(e)):
            theirs = theirs.set(key, freeze(e[key]))
        assert (mine == theirs) == (d == e) == (theirs == mine)
        assert (mine != theirs) == (d != e)
        if d == e:
            assert hash(mine) == hash(theirs)
