"""content_of puts an object's canonical JSON together from the kept bytes of its unchanged parts:
the bytes must be exactly those of encoding the whole object (the hash and the log cover them)."""

from __future__ import annotations

from collections.abc import Mapping

import orjson
import pytest
from pyrsistent import PVector

import engine.store as st
from engine.objects import freeze, set_path, thaw


def _canonical(obj) -> bytes:
    """The content by the definition: the sorted-key JSON of the plain object, without metadata.resourceVersion."""
    plain = thaw(obj)
    (plain.get("metadata") or {}).pop("resourceVersion", None)
    return orjson.dumps(plain, option=orjson.OPT_SORT_KEYS)


def _pod(i: int):
    return freeze({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": f"p{i}", "namespace": "default", "resourceVersion": str(i + 1),
                     "labels": {"app": "web", "z": "1", "a": "2"}},
        "spec": {"nodeName": f"n{i % 3}", "containers": [{"name": "c", "image": "nginx", "args": ["b", "a"]}]},
        "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
        "items": [1, {"y": 2, "x": [None, 1.5, "é"]}],
    })


@pytest.fixture
def small_cache(monkeypatch):
    parts = st._EncodedParts(3, 1 << 20, 1 << 20)  # generations roll over every few parts
    monkeypatch.setattr(st, "_PARTS", parts)
    return parts


def test_content_is_the_canonical_json_of_the_whole_object(small_cache):
    pods = [_pod(i) for i in range(10)]
    for _ in range(2):  # the second time round, parts come from the kept bytes (or were dropped)
        for pod in pods:
            assert st.content_of(pod) == _canonical(pod)
    assert small_cache.young  # (parts were kept)


def test_a_changed_part_is_encoded_again_and_the_unchanged_ones_reused(monkeypatch):
    cache = st._EncodedParts(100, 1 << 20, 1 << 20)
    monkeypatch.setattr(st, "_PARTS", cache)
    pod = _pod(0)
    first = st.content_of(pod)
    spec_bytes = cache.young[id(pod["spec"])][1]  # kept by content_of itself
    changed = set_path(pod, ("status", "phase"), "Failed")
    assert changed["spec"] is pod["spec"]
    assert st.content_of(changed) == _canonical(changed) != first
    assert cache.young[id(changed["spec"])][1] is spec_bytes  # the very bytes kept for the spec
    assert b'"phase":"Failed"' in st.content_of(changed)


def test_equal_but_distinct_parts_give_equal_bytes_and_a_new_value_at_a_reused_id_is_not_confused():
    parts = st._EncodedParts(100, 1 << 20, 1 << 20)
    a = freeze({"x": 1})
    assert parts.get(a) == b'{"x":1}'
    b = freeze({"x": 2})
    assert parts.get(b) == b'{"x":2}'
    assert parts.get(a) == b'{"x":1}'


def test_objects_without_resource_version_or_with_plain_values():
    obj = freeze({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "v"}})
    assert st.content_of(obj) == _canonical(obj)
    plain = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "resourceVersion": "3"},
             "data": {"k": "v"}}
    assert st.content_of(plain) == _canonical(plain)


def test_metadata_parts_and_nested_parts_are_reused_a_level_down(monkeypatch):
    cache = st._EncodedParts(100, 1 << 20, 1 << 20)
    monkeypatch.setattr(st, "_PARTS", cache)
    pod = _pod(1)
    st.content_of(pod)
    labels, conditions = pod["metadata"]["labels"], pod["status"]["conditions"]
    assert id(labels) in cache.young and id(conditions) in cache.young  # kept by content_of itself
    kept = cache.young[id(labels)][1], cache.young[id(conditions)][1]
    newer = set_path(set_path(pod, ("metadata", "resourceVersion"), "99"), ("status", "phase"), "Failed")
    assert st.content_of(newer) == _canonical(newer)
    assert newer["metadata"]["labels"] is labels and newer["status"]["conditions"] is conditions
    assert (cache.young[id(labels)][1], cache.young[id(conditions)][1]) == kept
    assert cache.young[id(labels)][1] is kept[0]  # the very bytes, not encoded again


def test_the_kept_bytes_are_bounded_and_a_very_large_part_is_not_kept(monkeypatch):
    parts = st._EncodedParts(1000, 2000, 500)
    monkeypatch.setattr(st, "_PARTS", parts)
    big = freeze({"data": {"blob": "x" * 1000}})
    assert st.content_of(big) == _canonical(big)
    assert not any(len(b) > 500 for _v, b in parts.young.values())  # encoded, not kept
    for i in range(40):  # ~100 bytes each: the young generation turns over at 2,000 bytes
        obj = freeze({"metadata": {"name": f"c{i}"}, "data": {"k": "v" * 90 + str(i)}})
        assert st.content_of(obj) == _canonical(obj)
    assert parts.young_bytes <= 2000 + 200
    kept = sum(len(b) for _v, b in [*parts.young.values(), *parts.old.values()])
    assert kept <= 2 * (2000 + 200)


def test_a_resource_version_is_dropped_before_anything_of_it_is_encoded():
    from pyrsistent import pmap
    odd = pmap({"metadata": pmap({"name": "x", "resourceVersion": pmap({1: "a"})})})  # not JSON
    assert st.content_of(odd) == b'{"metadata":{"name":"x"}}'


def test_an_event_is_encoded_whole_and_leaves_no_parts_behind():
    event = freeze({"apiVersion": "v1", "kind": "Event", "count": 1, "reason": "Scheduled",
                    "metadata": {"name": "p.1", "namespace": "default", "labels": {"b": "1", "a": "2"}},
                    "involvedObject": {"kind": "Pod", "name": "p", "uid": "u"}, "source": {"component": "s"}})
    young, old = dict(st._PARTS.young), dict(st._PARTS.old)
    assert st.content_of(event) == _canonical(event)
    assert st._PARTS.young == young and st._PARTS.old == old  # nothing kept
    stored = set_path(event, ("metadata", "resourceVersion"), "7")  # a stored one (counted up later)
    assert st.content_of(stored) == _canonical(event)


def test_a_stored_objects_parts_thaw_from_their_kept_bytes_to_what_thaw_gives(small_cache):
    pod = _pod(0)
    st.content_of(pod)  # (keeps the JSON of its parts)
    thawed = st.thaw_kept(pod)
    assert thawed == thaw(pod)
    assert type(thawed["spec"]) is dict and type(thawed["items"]) is list
    thawed["spec"]["containers"][0]["args"].append("c")  # a copy of its own: the object is untouched
    assert pod["spec"]["containers"][0]["args"] == freeze(["b", "a"])
    assert st.thaw_kept(freeze({"not": {"stored": [1.0, True]}})) == {"not": {"stored": [1.0, True]}}


def test_an_update_keeps_the_stored_objects_parts_where_they_are_equal(monkeypatch):
    monkeypatch.setattr(st, "_PARTS", st._EncodedParts(100, 1 << 20, 1 << 20))
    old = _pod(0)
    st.content_of(old)
    body = st.thaw_kept(old)
    body["status"]["phase"] = "Failed"
    new = st.freeze_like(body, old)
    assert new == freeze(body)
    assert new["spec"] is old["spec"] and new["items"] is old["items"]
    assert new["metadata"] is old["metadata"]  # (not kept whole: equal key by key)
    assert new["status"] is not old["status"] and new["status"]["conditions"] is old["status"]["conditions"]
    assert st.freeze_like(st.thaw_kept(old), old) is old


def test_an_update_tells_a_number_from_another_type_of_equal_value(monkeypatch):
    monkeypatch.setattr(st, "_PARTS", st._EncodedParts(100, 1 << 20, 1 << 20))
    old = freeze({"metadata": {"name": "x"}, "spec": {"a": 1, "b": [1.0, True], "c": None}})
    st.content_of(old)
    for changed in ({"a": 1.0, "b": [1.0, True], "c": None}, {"a": True, "b": [1.0, True], "c": None},
                    {"a": 1, "b": [1, True], "c": None}, {"a": 1, "b": [1.0, 1], "c": None},
                    {"a": 1, "b": [1.0, True], "c": float("nan")}):
        new = st.freeze_like({"metadata": {"name": "x"}, "spec": changed}, old)
        assert new["spec"] is not old["spec"]
        assert _types(new["spec"]) == _types(changed)


def _types(value):
    if isinstance(value, Mapping):
        return {k: _types(v) for k, v in value.items()}
    if isinstance(value, (list, PVector)):
        return [_types(v) for v in value]
    return type(value)
