"""What node-dependent code notes when it reads a once-per-attempt value (runtime.use*), and `objects.lookup`.

The scheduler keeps a node's answer until a part of a value it read changes; the noted path must
cover everything the read depended on (a shorter path covers more), and `objects.lookup` must tell
two versions of the value apart at that path exactly when the read could differ.
"""

from __future__ import annotations

from engine.dsl import runtime as R
from engine.objects import MISSING, freeze, lookup


class Noting:
    def __init__(self):
        self.paths = []

    def used(self, site, path):
        self.paths.append((site, path))


def test_reads_give_their_value_and_note_the_path_they_followed():
    ctx, value = Noting(), freeze({"a": {"b": 1}, "l": [10, 20]})
    assert R.use(ctx, "s", value) is value
    assert R.use_at(ctx, "s", value, ("a", "b")) == 1
    assert R.use_at(ctx, "s", value, ("l", 1)) == 20
    assert R.use_at(ctx, "s", value, ("l", 5)) is None  # out of range: null, as index() gives
    assert R.use_at(ctx, "s", value, ("x", "y")) is None
    # x is absent: what was read is that (a null cannot be gone into), so the path stops there
    assert ctx.paths == [("s", ()), ("s", ("a", "b")), ("s", ("l", 1)), ("s", ("l", 5)), ("s", ("x",))]


def test_a_step_that_names_no_key_or_place_notes_the_part_above_it():
    ctx, value = Noting(), freeze({"l": [10, 20], "m": {"k": 1}})
    assert R.use_at(ctx, "s", value, ("l", "k")) is None  # a string into a list
    assert R.use_at(ctx, "s", value, ("m", 0)) is None  # a number into a map
    assert R.use_at(ctx, "s", value, (True,)) is None  # not a key
    assert ctx.paths == [("s", ("l",)), ("s", ("m",)), ("s", ())]


def test_membership_notes_the_key_tested_only_in_a_map():
    ctx, value = Noting(), {"pairs": {"zone=a": 2}, "names": ["n1"]}
    assert R.use_in(ctx, "s", value, ("pairs",), "zone=a") is True
    assert R.use_in(ctx, "s", value, ("pairs",), "zone=b") is False
    assert R.use_in(ctx, "s", value, ("names",), "n1") is True  # a list: the whole list was read
    assert R.use_in(ctx, "s", value, (), "pairs") is True
    assert ctx.paths == [("s", ("pairs", "zone=a")), ("s", ("pairs", "zone=b")), ("s", ("names",)),
                         ("s", ("pairs",))]


def test_without_a_scheduler_context_nothing_is_noted():
    class Plain:
        pass

    assert R.use_at(Plain(), "s", {"a": [1, 2]}, ("a", 0)) == 1
    assert R.use_in(Plain(), "s", {"a": {"k": 1}}, ("a",), "k") is True
    assert R.use_all(Plain(), ("s",), [1]) == [1]


def test_lookup_tells_versions_apart_where_a_read_could_differ():
    before = {"t": {"a": 1, "b": None}, "l": [1, 2]}
    assert lookup(before, ("t", "a")) == 1
    assert lookup(before, ("t", "b")) is None and lookup(before, ("t", "c")) is MISSING  # null ≠ absent
    assert lookup(before, ("l", 1)) == 2 and lookup(before, ("l", 2)) is MISSING
    after = {"t": {"a": 1}, "l": [1, 2, 3]}
    assert lookup(before, ("t", "a")) == lookup(after, ("t", "a"))  # a read of t.a still stands
    assert lookup(before, ("t", "b")) != lookup(after, ("t", "b"))  # `"b" in t` changed
    assert lookup(before, ("l",)) != lookup(after, ("l",))
    # a path that cannot go on (a number where a map was) is not the number found at its end:
    # `t["a"]` read 5 from {"a": 5} and reads null from 5
    assert lookup({"t": 5}, ("t", "a")) != lookup({"t": {"a": 5}}, ("t", "a"))
    assert lookup({"t": 5}, ("t", "a")) == lookup({"t": 5}, ("t", "a"))


def test_a_field_of_a_part_of_a_once_let_is_noted_down_to_the_field():
    from engine.dsl.check import load
    from engine.dsl.compile import compile_module

    source = """component c
  reads Pod
score S(pod, node) weight 1:
  let terms = [{key: "zone", skew: 2, selector: pod.metadata.labels, metadata: {name: "t"}}]
  return [terms[0].skew, terms[0].selector.app, terms[0].name, node.metadata.name]
"""
    decl = compile_module(load(source, "c.rules"), source).scores[0]
    ctx = Noting()
    ctx.now = None
    pod = freeze({"metadata": {"name": "p", "labels": {"app": "web"}}})
    assert decl.fn(ctx, pod, freeze({"metadata": {"name": "n1"}})) == [2, "web", "t", "n1"]
    # `.name` may stand for `.metadata.name` (a shortcut): the part above it is noted whole
    assert [path for _site, path in ctx.paths] == [(0, "skew"), (0, "selector", "app"), (0,)]
