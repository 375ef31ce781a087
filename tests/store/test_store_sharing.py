"""Frozen objects share their equal parts; the store's content and indexes are what they were."""

from __future__ import annotations

from pyrsistent import PMap, PVector
from store_helpers import assert_indexes_match, pod

from engine.objects import dumps, freeze, set_path, thaw
from engine.store import Store, Txn, content_of, create, update


def container(image: str = "nginx:1.27") -> dict:
    return {"name": "web", "image": image, "ports": [{"containerPort": 80, "protocol": "TCP"}],
            "resources": {"requests": {"cpu": "100m"}}}


def test_freeze_shares_equal_parts_of_different_objects():
    a = freeze({"metadata": {"name": "a"}, "spec": {"containers": [container()]}})
    b = freeze({"metadata": {"name": "b"}, "spec": {"containers": [container()]}})
    assert a["spec"] is b["spec"]
    assert a["metadata"] is not b["metadata"]


def test_freeze_does_not_share_parts_that_differ():
    a = freeze({"spec": {"containers": [container("nginx:1.27")]}})
    b = freeze({"spec": {"containers": [container("nginx:1.28")]}})
    assert a["spec"] != b["spec"]
    assert a["spec"]["containers"][0]["ports"] is b["spec"]["containers"][0]["ports"]


def test_freeze_keeps_values_equal_in_python_but_not_in_json_apart():
    frozen = [freeze({"v": value}) for value in (1, True, 1.0)]
    assert [type(f["v"]) for f in frozen] == [int, bool, float]


def test_freeze_copies_what_is_not_json_without_sharing():
    value = {1: ["a"], "big": 2**70, "t": ("x", {"y": 1})}
    frozen = freeze(value)
    assert isinstance(frozen, PMap) and isinstance(frozen[1], PVector) and isinstance(frozen["t"][1], PMap)
    assert thaw(frozen) == {1: ["a"], "big": 2**70, "t": ["x", {"y": 1}]}


def test_freeze_keeps_frozen_parts_inside_a_plain_value():
    part = freeze({"a": [1, 2]})
    assert freeze({"part": part})["part"] is part


def test_content_is_the_canonical_json_without_resource_version():
    obj = freeze({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "resourceVersion": "7"},
                  "spec": {"b": 1, "a": [2]}})
    assert content_of(obj) == dumps(thaw(obj) | {"metadata": {"name": "p"}})
    assert content_of(obj.discard("metadata")) == dumps({"apiVersion": "v1", "kind": "Pod",
                                                         "spec": {"a": [2], "b": 1}})


def test_a_status_write_leaves_the_indexes_as_a_label_change_moves_them():
    store = Store()
    store.commit(Txn((create(pod("p", labels={"app": "web"}, owners=("rs-1",), node="n1", uid="u1")),)))
    key = ("", "Pod", "default", "p")
    running = set_path(store.head.get(key), ["status", "phase"], "Running")
    store.commit(Txn((update(running),)))
    relabelled = set_path(store.head.get(key), ["metadata", "labels", "app"], "other")
    snap, _ = store.commit(Txn((update(relabelled),)))
    assert snap.get(key)["metadata"]["labels"] == relabelled["metadata"]["labels"]
    assert_indexes_match(snap, {key: snap.get(key)})
    assert snap.by_label("", "Pod", "app", "other") == [key]
    assert snap.by_label("", "Pod", "app", "web") == []


def test_a_value_holding_nan_or_an_infinity_is_never_shared_with_one_holding_null():
    inf = freeze({"a": {"limit": float("inf")}})
    null = freeze({"b": {"limit": None}})
    nan = freeze({"c": [float("nan")]})
    nulls = freeze({"d": [None]})
    assert inf["a"]["limit"] == float("inf") and null["b"]["limit"] is None
    assert nan["c"][0] != nan["c"][0] and nulls["d"][0] is None
    assert freeze({"e": {"limit": None}})["e"] is null["b"]  # nulls are still shared among themselves


def test_frozen_maps_have_the_layout_pyrsistent_gives_them():
    # (pmap_of builds what pmap() would without its checks; the layout decides iteration order)
    import random

    from pyrsistent import pmap

    from engine.objects import freeze_unshared, pmap_of

    rng = random.Random(11)
    for _ in range(500):
        plain = {rng.choice([rng.randrange(-40, 40), f"k{rng.randrange(60)}", (1, rng.randrange(4))]): rng.randrange(5)
                 for _ in range(rng.randrange(0, 40))}
        ours, theirs = pmap_of(plain), pmap(plain)
        assert list(ours._buckets) == list(theirs._buckets) and len(ours) == len(theirs) == len(plain)
    assert pmap_of({}) is pmap()
    event = {"kind": "Event", "metadata": {"name": "e", "labels": {"a": "b"}}, "count": 1,
             "related": [{"kind": "Pod"}, ("x", 1.5)], "source": None}
    frozen = freeze_unshared(event)
    assert thaw(frozen) == {**event, "related": [{"kind": "Pod"}, ["x", 1.5]]}
    assert type(frozen["metadata"]["labels"]) is PMap and isinstance(frozen["related"], PVector)
    assert isinstance(frozen["related"][1], PVector)  # a tuple is frozen as a list
    assert list(frozen["metadata"]._buckets) == list(pmap({"name": "e", "labels": frozen["metadata"]["labels"]})._buckets)
