"""dsl.reads.query_reads: what a rule reads of the objects each of its queries finds."""

from __future__ import annotations

import textwrap

from engine.dsl import ast as A
from engine.dsl.parser import parse
from engine.dsl.reads import _queries, query_reads

HEADER = """component c
  reads Pod, apps/ReplicaSet, ConfigMap
  writes ConfigMap, Pod
"""


def reads_of(body: str) -> list:
    """The paths each query of a one-rule file reads, in the order the queries appear (None: all)."""
    body = textwrap.indent(textwrap.dedent(body).strip("\n"), "  ")
    source = HEADER + "\nrule r for cm in ConfigMap:\n" + body + "\n"
    rule = next(d for d in parse(source, "t.rules").decls if isinstance(d, A.Rule))
    found = query_reads(rule)
    return [None if found.get(id(q), (None,))[0] is None else set(found[id(q)][0].anchor_reads)
            for q in sorted(_queries(rule), key=lambda q: (q.pos.line, q.pos.col))]


def test_a_counted_query_reads_what_its_condition_reads():
    assert reads_of("""
        set cm.data.n = str(count(Pod in cm.namespace where matches(cm.data, it)))
    """) == [{("metadata", "labels")}]


def test_reads_are_followed_through_lets_filters_sorts_and_first():
    [paths] = reads_of("""
        let pods = Pod in cm.namespace where it.spec.nodeName != null
        let running = filter(pods, it.status.phase == "Running")
        let oldest = first(sort(running, it.metadata.creationTimestamp))
        set cm.data.oldest = oldest.spec.hostname
    """)
    assert paths == {("spec", "nodeName"), ("status", "phase"), ("metadata", "creationTimestamp"),
                     ("spec", "hostname")}


def test_reads_in_comprehensions_loops_and_sets_count():
    [paths] = reads_of("""
        let pods = Pod in cm.namespace
        let names = [p.metadata.name for p in pods if p.status.podIP != null]
        for p in pods:
          set p.metadata.annotations["seen"] = "yes"
        set cm.data.names = join(names, ",")
    """)
    assert paths >= {("metadata", "name"), ("status", "podIP"), ("metadata", "annotations", "seen")}


def test_builtins_known_to_read_some_paths_count_those():
    [paths] = reads_of("""
        set cm.data.n = str(count(Pod in cm.namespace where condition_true(it, "Ready") and not deleting(it)))
    """)
    assert paths == {("status", "conditions"), ("metadata", "deletionTimestamp")}


def test_an_existence_test_reads_nothing_of_the_object():
    assert reads_of("""
        let found = first(Pod in cm.namespace)
        set cm.data.any = "yes" if found != null else "no"
    """) == [set()]


def test_objects_compared_whole_or_given_to_an_unknown_builtin_are_read_whole():
    assert reads_of("""
        let pods = Pod in cm.namespace
        set cm.data.same = str(first(pods) == last(pods))
    """) == [None]
    assert reads_of("""
        set cm.data.n = str(len(unique(Pod in cm.namespace)))
    """) == [None]
    assert reads_of("""
        set cm.data.k = join(keys(first(Pod in cm.namespace)), ",")
    """) == [None]


def test_a_query_inside_another_has_its_own_objects():
    outer, inner = reads_of("""
        let n = count(ConfigMap in cm.namespace where count(Pod in cm.namespace where it.spec.nodeName == "a") > 0
                      and it.metadata.labels.app == "x")
        set cm.data.n = str(n)
    """)
    assert ("metadata", "labels", "app") in outer and ("spec", "nodeName") not in outer
    assert inner == {("spec", "nodeName")}


def test_a_name_bound_again_to_something_else_stops_carrying_the_objects():
    [paths] = reads_of("""
        let pods = Pod in cm.namespace
        let n = count(pods)
        for pods in [1, 2]:
          set cm.data.x = str(pods + n)
    """)
    assert paths == set()


def test_deleting_the_objects_reads_what_a_delete_checks():
    [paths] = reads_of("""
        delete filter(Pod in cm.namespace, it.status.phase == "Failed")
    """)
    assert ("metadata", "deletionTimestamp") in paths and ("status", "phase") in paths


def test_the_shipped_controllers_claim_rules_read_only_labels_owners_and_the_like():
    from pathlib import Path
    source = (Path(__file__).resolve().parents[2] / "rules" / "replicaset.rules").read_text()
    rules = {d.name: d for d in parse(source, "replicaset.rules").decls if isinstance(d, A.Rule)}
    claim = query_reads(rules["claim"])
    assert len(claim) == 2
    for paths, empty in claim.values():
        assert ("status", "podIP") not in paths.anchor_reads and ("metadata", "labels") in paths.anchor_reads
        assert ("status", "phase") in paths.anchor_reads and ("status", "phase") not in empty.anchor_reads


def test_the_shipped_endpointslice_rule_only_sets_its_slices_endpoints():
    # It only sets them: its own write of a slice's endpoints must not wake it again.
    from pathlib import Path
    source = (Path(__file__).resolve().parents[2] / "rules" / "endpointslice.rules").read_text()
    [rule] = [d for d in parse(source, "endpointslice.rules").decls if isinstance(d, A.Rule)]
    found = query_reads(rule)
    [slices] = [q for q in _queries(rule) if q.kind.kind == "EndpointSlice"]
    paths = found[id(slices)][0]
    assert paths is not None and ("ports",) in paths.anchor_reads
    assert paths.anchor_set_only == (("endpoints",),)


def test_get_takes_one_of_them_or_reads_a_key():
    [paths] = reads_of("""
        let pods = Pod in cm.namespace
        set cm.data.x = get(get(pods, 0), "spec").nodeName
    """)
    assert paths == {("spec",)}
    assert reads_of("""
        set cm.data.x = str(get(first(Pod in cm.namespace), cm.data.key))
    """) == [None]


def test_lists_of_them_flattened_are_followed():
    [paths] = reads_of("""
        let pods = Pod in cm.namespace
        let groups = [[p for p in pods if p.spec.nodeName == n] for n in ["a", "b"]]
        let picked = flatten(groups) + flatten([first(pods)])
        set cm.data.x = get(picked, 0).status.phase
    """)
    assert paths == {("spec", "nodeName"), ("status", "phase")}
    assert reads_of("set cm.data.x = str(count(flatten(first(Pod in cm.namespace))))") == [None]


def test_a_path_only_set_is_set_only_and_one_also_read_is_not():
    source = HEADER + textwrap.dedent("""
        rule r for cm in ConfigMap:
          for p in Pod in cm.namespace:
            set p.metadata.annotations["a"] = "x"
            set p.metadata.labels["b"] = default(p.metadata.labels["b"], "") + "y"
        """)
    rule = next(d for d in parse(source, "t.rules").decls if isinstance(d, A.Rule))
    [(paths, _empty)] = query_reads(rule).values()
    assert ("metadata", "annotations", "a") in paths.anchor_set_only
    assert not any(p[-1] == "b" for p in paths.anchor_set_only)
    assert ("metadata", "labels", "b") in paths.anchor_reads


def test_an_empty_answer_reads_what_the_where_reads_even_of_a_query_read_whole():
    source = HEADER + textwrap.dedent("""
        rule r for cm in ConfigMap:
          let pods = Pod in cm.namespace where it.spec.nodeName == "n1" and not deleting(it)
          set cm.data.same = str(first(pods) == last(pods))
        """)
    rule = next(d for d in parse(source, "t.rules").decls if isinstance(d, A.Rule))
    [(answer, empty)] = query_reads(rule).values()
    assert answer is None
    assert set(empty.anchor_reads) == {("spec", "nodeName"), ("metadata", "deletionTimestamp")}


def test_keyless_sort_min_max_read_the_objects_whole():
    assert reads_of("set cm.data.x = first(sort(Pod in cm.namespace)).metadata.name") == [None]
    assert reads_of("set cm.data.x = first(sort_desc(Pod in cm.namespace)).metadata.name") == [None]
    assert reads_of("set cm.data.x = min(Pod in cm.namespace).status.phase") == [None]
    assert reads_of("set cm.data.x = max(Pod in cm.namespace).status.phase") == [None]


def test_one_object_given_as_a_list_reads_it_whole():
    assert reads_of("set cm.data.x = str(count(first(Pod in cm.namespace)))") == [None]


def test_objects_held_in_map_literals_are_followed_through_their_keys():
    """The rollout's shape: targets as `{rs: r, size: n}` maps, filtered, looped over, summed."""
    [paths] = reads_of("""
        let pods = Pod in cm.namespace
        let targets = [{pod: p, size: 1} for p in pods if p.spec.nodeName != null]
        let lone = [{pod: first(pods), size: 2}]
        let all = targets + lone if count(targets) > 0 else lone
        let picked = filter(all, it.pod.status.phase == "Running" and it.size > 0)
        for t in picked:
          set t.pod.metadata.annotations["size"] = str(t.size)
        set cm.data.n = str(sum(picked, it.size) + sum(map(all, it.pod), len(it.metadata.name)))
        set cm.data.first = get(first(all), "pod").spec.hostname
    """)
    shortcut = {p for p in paths if p[:2] == ("metadata", "metadata")}  # (`.metadata.name` of a map)
    assert paths - shortcut == {("spec", "nodeName"), ("status", "phase"), ("metadata", "annotations", "size"),
                                ("metadata", "name"), ("spec", "hostname")}


def test_two_map_literals_joined_keep_the_keys_of_both():
    [paths] = reads_of("""
        let p = first(Pod in cm.namespace)
        let m = {a: p, n: 1} if cm.data.x == "1" else {b: p}
        set cm.data.x = default(m.a.status.phase, "") + default(m.b.spec.nodeName, "")
    """)
    assert paths == {("status", "phase"), ("spec", "nodeName")}


def test_map_literals_used_in_ways_not_followed_read_the_objects_whole():
    # a map with a `metadata` of them: `.name` of it reads `.metadata.name`
    assert reads_of("""
        let m = {metadata: first(Pod in cm.namespace)}
        set cm.data.x = m.name
    """) == [None]
    # a computed key: any of its values
    assert reads_of("""
        let m = {pod: first(Pod in cm.namespace)}
        set cm.data.x = get(m, cm.data.key).status.phase
    """) == [None]
    assert reads_of("""
        let m = {pod: first(Pod in cm.namespace)}
        set cm.data.x = m[cm.data.key].status.phase
    """) == [None]
    # compared whole, ordered whole, iterated, given to an unknown builtin or an event
    assert reads_of("""
        let ms = [{pod: p} for p in (Pod in cm.namespace)]
        set cm.data.x = str(first(ms) == last(ms))
    """) == [None]
    assert reads_of("""
        let ms = [{pod: p} for p in (Pod in cm.namespace)]
        set cm.data.x = str(count(sort(ms)))
    """) == [None]
    assert reads_of("""
        let m = {pod: first(Pod in cm.namespace)}
        set cm.data.x = join([k for k in m], ",")
    """) == [None]
    assert reads_of("""
        let m = {pod: first(Pod in cm.namespace)}
        set cm.data.x = join(values(m), ",")
    """) == [None]
    assert reads_of("""
        let m = {pod: first(Pod in cm.namespace)}
        event "Seen" on m: "seen"
    """) == [None]
    # one of them in a map joined with one of them alone
    assert reads_of("""
        let p = first(Pod in cm.namespace)
        let m = {pod: p} if cm.data.x == "1" else p
        set cm.data.x = str(m.pod)
    """) == [None]
