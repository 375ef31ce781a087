"""The rule language's builtin table: metadata, null-safety and each function."""

import re
from collections.abc import Mapping
from pathlib import Path

import pytest
from pyrsistent import freeze, pmap, pvector

from engine.dsl.builtins import BUILTINS, SECTIONS, Builtin, reference_markdown, signature
from engine.quantity import Quantity

REPO = Path(__file__).resolve().parents[2]


def call(name, *args):
    return BUILTINS[name].fn(*args)


def it(path):
    """The per-element callable the compiler would pass for `it.a.b`."""
    def key(element):
        for part in path.split("."):
            element = element.get(part) if isinstance(element, Mapping) else None
        return element
    return key


# -- the table ------------------------------------------------------------------------

REQUIRED = (
    "count sum min max any all len first last sort sort_desc unique flatten keys values get default has merge "
    "lower upper starts_with ends_with contains split join replace trim str int float format qty cpu_millis "
    "mem_bytes matches selector_string tolerates untolerated owned_by controlled_by controller_of owner_ref "
    "deleting condition condition_true with_condition time format_time template_hash cidr_host first_free_ip "
    "first_free_port node_pod_cidr percent"
).split()


def test_every_required_builtin_is_in_the_table():
    assert sorted(set(REQUIRED) - set(BUILTINS)) == []


@pytest.mark.parametrize("name", sorted(BUILTINS))
def test_every_builtin_documents_itself_with_an_example(name):
    b = BUILTINS[name]
    assert isinstance(b, Builtin) and b.name == name
    first_line, *rest = b.doc.splitlines()
    assert first_line and "→" not in first_line
    assert any(line.startswith(f"{name}(") and " → " in line for line in rest)


def test_every_builtin_is_in_exactly_one_section():
    listed = [name for names in SECTIONS.values() for name in names]
    assert sorted(listed) == sorted(BUILTINS)


@pytest.mark.parametrize("name, min_args, max_args, item_arg", [
    ("count", 1, 2, 1), ("sort", 1, 2, 1), ("min_by", 2, 2, 1), ("merge", 1, None, None),
    ("format", 1, None, None), ("get", 2, 3, None), ("with_condition", 3, 3, None), ("percent", 2, 3, None),
    ("least", 0, None, None), ("template_hash", 1, 2, None),
])
def test_arity_and_item_argument_come_from_the_signature(name, min_args, max_args, item_arg):
    b = BUILTINS[name]
    assert (b.min_args, b.max_args, b.item_arg) == (min_args, max_args, item_arg)


def test_signatures_capitalise_the_item_argument_and_bracket_optional_ones():
    assert signature(BUILTINS["count"]) == "count(items[, PRED])"
    assert signature(BUILTINS["merge"]) == "merge(target, patches...)"
    assert signature(BUILTINS["tolerates"]) == "tolerates(tolerations, taint)"


def test_the_committed_reference_is_generated_from_the_table():
    committed = (REPO / "docs" / "builtins.md").read_text(encoding="utf-8")
    assert committed == reference_markdown(), "run: python -m engine.dsl.builtins > docs/builtins.md"


# -- collections ---------------------------------------------------------------------------

PODS = freeze([
    {"metadata": {"name": "b", "uid": "u2"}, "spec": {"nodeName": "n1"}, "status": {"phase": "Running"}},
    {"metadata": {"name": "a", "uid": "u1"}, "spec": {"nodeName": "n1"}, "status": {"phase": "Pending"}},
    {"metadata": {"name": "c", "uid": "u3"}, "spec": {"nodeName": "n2"}, "status": {"phase": "Running"}},
])


def running(pod):
    return pod["status"]["phase"] == "Running"


def test_count_counts_elements_or_those_matching_a_predicate():
    assert call("count", PODS) == 3
    assert call("count", PODS, running) == 2
    assert call("count", None) == 0
    assert call("count", (), running) == 0


def test_sum_adds_numbers_and_quantities_and_skips_nulls():
    assert call("sum", [1, 2, None, 3]) == 6
    assert call("sum", None) == 0
    assert str(call("sum", ["100m", Quantity("0.4"), None])) == "500m"
    assert str(call("sum", freeze([{"r": "1Gi"}, {"r": "512Mi"}, {}]), it("r"))) == "1536Mi"
    assert call("sum", [1.5, 2], None) == 3.5


def test_min_and_max_skip_nulls_and_are_null_for_nothing():
    assert call("min", [3, None, 1, 2]) == 1
    assert call("max", [3, None, 1, 2]) == 3
    assert call("min", []) is None and call("max", None) is None
    assert call("max", PODS, it("metadata.name")) == "c"
    assert call("min", [Quantity("1Gi"), "1G"]) == "1G"


def test_min_by_and_max_by_return_the_element_and_prefer_the_first_of_equals():
    assert call("min_by", PODS, it("metadata.name"))["metadata"]["name"] == "a"
    assert call("max_by", PODS, it("spec.nodeName"))["metadata"]["name"] == "c"
    assert call("min_by", PODS, it("spec.nodeName"))["metadata"]["name"] == "b"
    assert call("min_by", None, it("x")) is None


def test_any_and_all_follow_logic_over_empty_lists():
    assert call("any", PODS, running) and not call("all", PODS, running)
    assert not call("any", None) and call("all", None)
    assert call("all", [True, 1]) and not call("any", [False, 0, None])


def test_filter_map_first_and_last():
    assert [p["metadata"]["name"] for p in call("filter", PODS, running)] == ["b", "c"]
    assert call("map", PODS, it("metadata.name")) == ("b", "a", "c")
    assert call("first", PODS)["metadata"]["name"] == "b"
    assert call("first", PODS, lambda p: not running(p))["metadata"]["name"] == "a"
    assert call("last", PODS, running)["metadata"]["name"] == "c"
    assert call("first", None) is None and call("last", [], running) is None


def test_sort_is_stable_and_orders_nulls_first():
    assert call("sort", ["b", "a", "c"]) == ("a", "b", "c")
    assert call("sort", [3, None, 1]) == (None, 1, 3)
    by_node = call("sort", PODS, it("spec.nodeName"))
    assert [p["metadata"]["name"] for p in by_node] == ["b", "a", "c"]
    assert call("sort", [Quantity("1Gi"), 5, Quantity("1k")]) == (5, Quantity("1k"), Quantity("1Gi"))


def test_sort_desc_reverses_but_keeps_equal_elements_in_order():
    assert call("sort_desc", [1, 3, 2]) == (3, 2, 1)
    by_node = call("sort_desc", PODS, it("spec.nodeName"))
    assert [p["metadata"]["name"] for p in by_node] == ["c", "b", "a"]


def test_sort_refuses_to_order_the_unorderable():
    with pytest.raises(TypeError, match="cannot order"):
        call("sort", [object(), object()])


def test_unique_keeps_first_occurrences_by_value_or_key():
    assert call("unique", ["a", "b", "a"]) == ("a", "b")
    assert [p["metadata"]["name"] for p in call("unique", PODS, it("spec.nodeName"))] == ["b", "c"]
    assert call("unique", [{"a": [1]}, {"a": [1]}]) == ({"a": [1]},)


def test_flatten_take_and_range():
    assert call("flatten", [[1, 2], pvector([3]), None, 4]) == (1, 2, 3, 4)
    assert call("take", ["a", "b", "c"], 2) == ("a", "b")
    assert call("take", ["a"], -1) == ()
    assert call("range", 3) == (0, 1, 2) and call("range", -1) == () and call("range", None) == ()


def test_len_of_strings_lists_maps_and_null():
    assert call("len", "web") == 3 and call("len", PODS) == 3 and call("len", pmap({"a": 1})) == 1
    assert call("len", None) == 0
    with pytest.raises(TypeError):
        call("len", 5)


def test_contains_looks_in_strings_lists_and_map_keys():
    assert call("contains", "nginx:1.25", ":")
    assert call("contains", ["a", "b"], "b")
    assert call("contains", pmap({"a": 1}), "a")
    assert not call("contains", None, "a")
    assert not call("contains", "abc", None)


def test_a_map_where_a_list_is_expected_is_a_clear_type_error():
    with pytest.raises(TypeError, match="expected a list, not a map"):
        call("count", pmap({"a": 1}))


# -- maps ------------------------------------------------------------------------------------


def test_keys_and_values_follow_sorted_keys():
    m = pmap({"b": 1, "a": 2})
    assert call("keys", m) == ("a", "b")
    assert call("values", m) == (2, 1)
    assert call("keys", None) == ()


def test_get_looks_up_map_keys_and_list_indexes_with_a_fallback():
    labels = pmap({"app.kubernetes.io/name": "web"})
    assert call("get", labels, "app.kubernetes.io/name") == "web"
    assert call("get", labels, "missing") is None
    assert call("get", labels, "missing", "x") == "x"
    assert call("get", ["a", "b"], -1) == "b"
    assert call("get", ["a"], 5, "z") == "z"
    assert call("get", None, "a", 0) == 0


def test_default_and_has():
    assert call("default", None, 1) == 1 and call("default", 0, 1) == 0
    assert call("has", pmap({"a": None}), "a") and not call("has", None, "a")
    assert call("has", ["x"], "x")


def test_merge_is_a_json_merge_patch():
    target = freeze({"a": 1, "b": {"c": 2, "e": 5}, "l": [1]})
    got = call("merge", target, {"b": {"c": None, "d": 3}, "l": [2], "n": {"x": None, "y": 1}})
    assert got == {"a": 1, "b": {"d": 3, "e": 5}, "l": [2], "n": {"y": 1}}
    assert isinstance(got, Mapping) and hash(got) is not None
    assert target == {"a": 1, "b": {"c": 2, "e": 5}, "l": [1]}  # untouched


def test_merge_replaces_non_maps_and_returns_the_target_when_nothing_changes():
    target = freeze({"a": {"b": 1}})
    assert call("merge", target, {"a": {"b": 1}}) is target
    assert call("merge", target) is target
    assert call("merge", None, {"a": 1}) == {"a": 1}
    assert call("merge", target, {"a": "x"}) == {"a": "x"}
    assert call("merge", target, "scalar") == "scalar"


# -- numbers ------------------------------------------------------------------------------------


def test_least_greatest_abs_ceil_floor():
    assert call("least", 3, None, 1) == 1 and call("greatest", 3, None, 1) == 3
    assert call("least") is None and call("greatest", None) is None
    assert call("abs", -3) == 3 and call("abs", None) is None
    assert call("ceil", 2.1) == 3 and call("floor", 2.9) == 2 and call("ceil", None) is None


@pytest.mark.parametrize("value, total, round_up, expected", [
    ("25%", 10, True, 3), ("25%", 10, False, 2), (4, 10, True, 4), ("100%", 7, False, 7), ("0%", 7, True, 0),
    ("50%", 3, True, 2), ("50%", 3, False, 1), ("30%", 10, True, 3), ("33%", 100, False, 33), (None, 10, True, None),
])
def test_percent_scales_int_or_percent_like_upstream(value, total, round_up, expected):
    assert call("percent", value, total, round_up) == expected


@pytest.mark.parametrize("value, message", [("25", "string is not a percentage"), ("x%", "invalid value"), (1.5, "neither")])
def test_percent_refuses_what_upstream_refuses(value, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call("percent", value, 10, True)


# -- strings ------------------------------------------------------------------------------------


def test_string_functions_pass_null_through():
    assert call("lower", "Web") == "web" and call("upper", "tcp") == "TCP"
    assert call("lower", None) is None and call("upper", None) is None
    assert call("trim", "  web ") == "web" and call("trim", "--a--", "-") == "a" and call("trim", None) is None
    assert call("replace", "a.b.c", ".", "-") == "a-b-c" and call("replace", None, ".", "-") is None


def test_prefixes_and_suffixes_are_false_for_null():
    assert call("starts_with", "kube-system", "kube-") and call("ends_with", "web.svc", ".svc")
    assert not call("starts_with", None, "a") and not call("ends_with", None, "a")


def test_split_and_join():
    assert call("split", "a,b", ",") == ("a", "b")
    assert call("split", "a b  c") == ("a", "b", "c")
    assert call("split", "", ",") == () and call("split", None, ",") == ()
    assert call("join", ["a", 1, True, None], ",") == "a,1,true,"
    assert call("join", None, ",") == ""


@pytest.mark.parametrize("value, text", [
    (None, ""), (True, "true"), (False, "false"), (3, "3"), (2.0, "2"), (2.5, "2.5"), ("x", "x"),
    (Quantity("0.5"), "500m"), (freeze({"b": [1], "a": None}), '{"a":null,"b":[1]}'),
])
def test_str_writes_values_the_kubernetes_way(value, text):
    assert call("str", value) == text


@pytest.mark.parametrize("value, number", [
    ("42", 42), (" -7 ", -7), (2.7, 2), (-2.7, -2), (True, 1), (Quantity("1.5"), 2), (None, None), (5, 5),
])
def test_int_converts_strings_floats_and_quantities(value, number):
    assert call("int", value) == number


def test_int_and_float_refuse_non_numbers():
    with pytest.raises(ValueError, match="cannot convert 'abc' to an integer"):
        call("int", "abc")
    with pytest.raises(ValueError, match="cannot convert 'nan'"):
        call("float", "nan")
    assert call("float", "1.5") == 1.5 and call("float", "1e3") == 1000.0 and call("float", Quantity("100m")) == 0.1
    assert call("float", None) is None


def test_format_fills_positional_fields_converted_as_str():
    assert call("format", "{}-{}", "web", 5) == "web-5"
    assert call("format", "{1}/{0}", "a", "b") == "b/a"
    assert call("format", "{} {}", True, None) == "true "


def test_format_refuses_attribute_fields_and_missing_arguments():
    with pytest.raises(ValueError, match=re.escape("only {} and {0}-style fields")):
        call("format", "{0.__class__}", "x")
    with pytest.raises(ValueError, match="needs more than 1 arguments"):
        call("format", "{}{}", "x")


# -- quantities ------------------------------------------------------------------------------------


def test_qty_cpu_millis_and_mem_bytes():
    assert call("qty", "1Gi") > call("qty", "1G")
    assert call("qty", None) == 0 and isinstance(call("qty", None), Quantity)
    assert call("cpu_millis", "0.5") == 500 and call("cpu_millis", 2) == 2000 and call("cpu_millis", None) == 0
    assert call("mem_bytes", "1Ki") == 1024 and call("mem_bytes", "1.5") == 2


def test_pod_requests_returns_an_immutable_map_of_quantities():
    pod = freeze({"spec": {"containers": [{"resources": {"requests": {"cpu": "100m"}}}, {}]}})
    got = call("pod_requests", pod)
    assert got == {"cpu": Quantity("100m")} and hash(got)
    assert str(call("pod_requests", pod, {"memory": "200Mi"})["memory"]) == "400Mi"
    assert call("pod_requests", None) == {}


# -- selectors and tolerations -----------------------------------------------------------------------

POD = freeze({"metadata": {"name": "p", "labels": {"app": "web", "tier": "fe"}}})


@pytest.mark.parametrize("selector, expected", [
    ({"matchLabels": {"app": "web"}}, True),
    ({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["be"]}]}, False),
    ({"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "x", "operator": "DoesNotExist"}]}, True),
    ({}, True),
    ({"app": "web"}, True),
    ({"app": "db"}, False),
    ("app=web,tier in (fe,be)", True),
    ("app!=web", False),
    (None, False),
])
def test_matches_accepts_label_selectors_plain_maps_and_strings(selector, expected):
    assert call("matches", freeze(selector), POD) is expected
    assert call("matches", freeze(selector), POD["metadata"]["labels"]) is expected


def test_matches_treats_a_null_object_as_having_no_labels():
    assert call("matches", {}, None)
    assert not call("matches", {"app": "web"}, None)


def test_invalid_selectors_raise_clear_errors():
    with pytest.raises(ValueError, match="Required value"):
        call("matches", {"matchExpressions": [{"key": "a", "operator": "In", "values": []}]}, POD)
    with pytest.raises(TypeError, match="a selector is a map or a string"):
        call("matches", 5, POD)


def test_selector_string_is_canonical():
    assert call("selector_string", {"matchLabels": {"b": "2", "a": "1"}}) == "a=1,b=2"
    assert call("selector_string", freeze({"app": "web"})) == "app=web"
    assert call("selector_string", None) == ""


TAINTS = freeze([
    {"key": "gpu", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/not-ready", "effect": "NoExecute"},
])


def test_tolerates_accepts_a_list_or_a_single_toleration():
    assert call("tolerates", freeze([{"key": "gpu", "operator": "Exists"}]), TAINTS[0])
    assert call("tolerates", freeze({"key": "gpu", "operator": "Exists"}), TAINTS[0])
    assert not call("tolerates", None, TAINTS[0])


def test_untolerated_returns_a_tuple_in_node_order():
    assert call("untolerated", None, TAINTS, ["NoSchedule"]) == (TAINTS[0],)
    assert call("untolerated", None, TAINTS) == tuple(TAINTS)
    assert call("untolerated", None, None) == ()


def test_eviction_delay_is_exposed():
    tolerations = freeze([{"operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}])
    assert call("eviction_delay", tolerations, TAINTS) == 300.0
    assert call("eviction_delay", None, TAINTS) == 0.0


# -- objects -----------------------------------------------------------------------------------

RS = freeze({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "web-5d8f", "uid": "rs-uid"}})
OWNED = freeze({"metadata": {"ownerReferences": [
    {"apiVersion": "v1", "kind": "Node", "name": "n", "uid": "node-uid"},
    {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-5d8f", "uid": "rs-uid", "controller": True},
]}})


def test_owner_ref_is_a_controller_reference():
    assert call("owner_ref", RS) == {
        "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-5d8f", "uid": "rs-uid",
        "controller": True, "blockOwnerDeletion": True,
    }


def test_ownership_and_control_are_by_uid():
    node = freeze({"metadata": {"uid": "node-uid"}})
    assert call("owned_by", OWNED, RS) and call("owned_by", OWNED, node)
    assert call("controlled_by", OWNED, RS) and not call("controlled_by", OWNED, node)
    assert call("controller_of", OWNED)["kind"] == "ReplicaSet"
    orphan = freeze({"metadata": {}})
    assert not call("owned_by", orphan, RS) and call("controller_of", orphan) is None
    assert not call("owned_by", OWNED, freeze({"metadata": {}}))
    assert not call("controlled_by", None, RS)


def test_deleting_reads_the_deletion_timestamp():
    assert call("deleting", freeze({"metadata": {"deletionTimestamp": "2026-01-01T00:00:00Z"}}))
    assert not call("deleting", freeze({"metadata": {}})) and not call("deleting", None)


NODE = freeze({"status": {"conditions": [
    {"type": "MemoryPressure", "status": "False"},
    {"type": "Ready", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"},
]}})
NOW = 1767225600.0 + 3600  # 2026-01-01T01:00:00Z


def test_condition_and_condition_true():
    assert call("condition", NODE, "Ready")["status"] == "True"
    assert call("condition", NODE, "DiskPressure") is None
    assert call("condition_true", NODE, "Ready") and not call("condition_true", NODE, "MemoryPressure")
    assert not call("condition_true", None, "Ready")


def test_with_condition_keeps_the_transition_time_while_status_is_unchanged():
    conditions = NODE["status"]["conditions"]
    got = call("with_condition", conditions, {"type": "Ready", "status": "True", "reason": "KubeletReady"}, NOW)
    assert got[1] == {"type": "Ready", "status": "True", "reason": "KubeletReady",
                      "lastTransitionTime": "2026-01-01T00:00:00Z"}
    assert got[0] is conditions[0] and isinstance(got, tuple)


def test_with_condition_stamps_now_when_the_status_changes_or_the_condition_is_new():
    conditions = NODE["status"]["conditions"]
    got = call("with_condition", conditions, {"type": "Ready", "status": "False"}, NOW)
    assert got[1]["lastTransitionTime"] == "2026-01-01T01:00:00Z"
    added = call("with_condition", None, {"type": "Progressing", "status": "True"}, NOW)
    assert added == ({"type": "Progressing", "status": "True", "lastTransitionTime": "2026-01-01T01:00:00Z"},)


def test_with_condition_refuses_a_condition_without_a_type():
    with pytest.raises(ValueError, match="needs a type"):
        call("with_condition", None, {"status": "True"}, NOW)


def test_with_condition_returns_the_same_list_when_nothing_changes():
    conditions = NODE["status"]["conditions"]
    same = {"type": "Ready", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"}
    assert call("with_condition", conditions, same, NOW) is conditions


# -- time, names, networks ------------------------------------------------------------------------


def test_time_format_time_duration_and_format_age():
    assert call("time", "2026-01-01T00:01:00Z") - call("time", "2026-01-01T00:00:00Z") == 60.0
    assert call("time", None) is None and call("time", 5) == 5.0
    assert call("format_time", 0) == "1970-01-01T00:00:00Z" and call("format_time", None) is None
    assert call("duration", "5m") == 300.0 and call("duration", 2) == 2.0 and call("duration", None) is None
    assert call("format_age", 182) == "3m2s" and call("format_age", None) == "0s"


def test_time_accepts_float_subclasses():
    class Epoch(float):
        pass

    assert call("format_time", Epoch(60.5)) == "1970-01-01T00:01:00Z"
    assert call("time", Epoch(1.0)) == 1.0


def test_template_hash_is_exposed_with_an_optional_collision_count():
    template = freeze({"spec": {"containers": [{"name": "web"}]}})
    assert call("template_hash", template) == call("template_hash", template, None)
    assert call("template_hash", template, 1) != call("template_hash", template)


def test_network_builtins():
    assert call("cidr_host", "10.96.0.0/12", 10) == "10.96.0.10"
    assert call("cidr_contains", "10.96.0.0/12", "10.96.0.10") and not call("cidr_contains", "10.96.0.0/12", None)
    assert call("first_free_ip", "10.244.1.0/24", freeze(["10.244.1.2", None])) == "10.244.1.3"
    assert call("first_free_ip", "10.96.0.0/12", None, False) == "10.96.0.1"
    assert call("first_free_port", 30000, 32767, [30000]) == 30001
    assert call("node_pod_cidr", "10.244.0.0/16", 3, 24) == "10.244.3.0/24"
    assert call("first_free_subnet", "10.244.0.0/16", 24, ["10.244.0.0/24"]) == "10.244.1.0/24"


def test_free_subnets_and_ips_give_the_lowest_n_free_ones_and_fewer_when_full():
    used = freeze(["10.244.1.0/24", None])
    assert call("free_subnets", "10.244.0.0/16", 24, used, 3) == ("10.244.0.0/24", "10.244.2.0/24", "10.244.3.0/24")
    assert call("free_subnets", "10.244.0.0/23", 24, ["10.244.0.0/24"], 5) == ("10.244.1.0/24",)
    assert call("free_subnets", "10.244.0.0/16", 24, None, 0) == ()
    assert call("free_ips", "10.244.1.0/24", ["10.244.1.3"], 3) == ("10.244.1.2", "10.244.1.4", "10.244.1.5")
    assert call("free_ips", "10.96.0.0/12", [], 2, False) == ("10.96.0.1", "10.96.0.2")
    assert call("free_ips", "10.0.0.0/30", [], 9) == ("10.0.0.2",)  # .0 network, .1 gateway, .3 broadcast
    # the n-th of the list is what nth_free_* gives for n
    for n in range(4):
        assert call("free_subnets", "10.244.0.0/16", 24, used, 4)[n] == call("nth_free_subnet", "10.244.0.0/16", 24, used, n)
        assert call("free_ips", "10.244.1.0/24", ["10.244.1.3"], 4)[n] == call("nth_free_ip", "10.244.1.0/24", ["10.244.1.3"], n)


def test_index_of_finds_the_first_equal_element():
    assert call("index_of", ["a", "b", "a"], "a") == 0
    assert call("index_of", pvector(["a", "b"]), "b") == 1
    assert call("index_of", ("a",), "z") is None
    assert call("index_of", None, "a") is None
    assert call("index_of", [freeze({"k": 1})], {"k": 1}) == 0  # a frozen map equals the map a rule wrote
    with pytest.raises(TypeError):
        call("index_of", "abc", "b")


# -- completion indexes (Indexed Jobs) ----------------------------------------------------------------


def indexed_pod(annotation):
    return freeze({"metadata": {"annotations": {} if annotation is None else
                                {"batch.kubernetes.io/job-completion-index": annotation}}})


@pytest.mark.parametrize("annotation, index", [
    ("3", 3), ("0", 0), ("+7", 7), ("-1", None), ("x", None), ("", None), (" 2", None), ("1_0", None), (None, None),
])
def test_completion_index_reads_the_annotation_as_upstreams_getcompletionindex(annotation, index):
    assert call("completion_index", indexed_pod(annotation)) == index
    assert call("completion_index", None) is None


@pytest.mark.parametrize("ranges, indexes, limit, merged", [
    (None, [], 5, ""),
    ("", [2], 5, "2"),
    ("0-2,6", [4, 7, 3], 8, "0-4,6,7"),
    ("0,1", [], None, "0,1"),  # two neighbours: "a,b"
    ("0-1", [2], None, "0-2"),  # three or more: "a-c"
    ("5", [4, 6], None, "4-6"),
    ("0-9", [], 4, "0-3"),  # cut at the limit, as a scaled-down Job's
    ("1,3", [None, 3, 3, 12], 10, "1,3"),  # nulls, repeats and indexes past the limit are left out
    ("x,2-y,4", [], 10, "4"),  # intervals that do not parse are skipped
    ("7,2", [], 5, ""),  # the first interval past the limit ends the list
])
def test_merge_indexes_writes_upstreams_completed_indexes_intervals(ranges, indexes, limit, merged):
    assert call("merge_indexes", ranges, indexes, limit) == merged


def test_count_indexes_counts_every_index_of_the_intervals():
    assert call("count_indexes", "0-2,4,6,7") == 6
    assert call("count_indexes", "0-99999") == 100000
    assert call("count_indexes", None) == call("count_indexes", "") == 0


def test_missing_indexes_gives_the_lowest_indexes_not_taken_below_the_limit():
    assert call("missing_indexes", "0,1,3", 2, 6) == (2, 4)
    assert call("missing_indexes", None, 3, 2) == (0, 1)
    assert call("missing_indexes", "1,2", 9, 5) == (0, 3, 4)
    assert call("missing_indexes", "0-4", 3, 5) == ()
    assert call("missing_indexes", "0-99998", 5, 100000) == (99999,)
    assert call("missing_indexes", "2", 0, 5) == ()


def test_union_indexes_joins_two_interval_lists_below_the_limit():
    assert call("union_indexes", "0-2,6", "3,8", 8) == "0-3,6"
    assert call("union_indexes", "", None) == call("union_indexes", None, "") == ""
    assert call("union_indexes", "1", "1,5") == "1,5"


def test_has_index_looks_an_index_up_in_the_intervals():
    assert call("has_index", "0-2,6", 1) is True and call("has_index", "0-2,6", 6) is True
    assert call("has_index", "0-2,6", 4) is False
    assert call("has_index", None, 0) is False and call("has_index", "0-2", None) is False


def policy(*rules):
    return freeze({"rules": list(rules)})


@pytest.mark.parametrize("rules, succeeded, completions, met", [
    ([{"succeededIndexes": "0,2-4", "succeededCount": 2}], "1-3", 5, 0),  # 2 and 3 of the rule's
    ([{"succeededIndexes": "0,2-4"}], "1-3", 5, None),  # all four are wanted
    ([{"succeededIndexes": "0,2-4"}], "0-4", 5, 0),
    ([{"succeededCount": 3}], "0,1", 5, None),
    ([{"succeededIndexes": "4"}, {"succeededCount": 2}], "0,1", 5, 1),  # the first rule met decides
    ([{"succeededIndexes": "7-9"}, {"succeededCount": 1}], "0", 5, 1),  # no index below completions: skipped
    ([{"succeededCount": 0}], "", 5, None),  # nothing is met before an index succeeded
    ([{"succeededCount": 0}], "3", 5, 0),
])
def test_success_policy_rule_names_the_first_rule_the_succeeded_indexes_meet(rules, succeeded, completions, met):
    assert call("success_policy_rule", policy(*rules), succeeded, completions) == met


def test_success_policy_rule_of_no_policy_is_null():
    assert call("success_policy_rule", None, "0-4", 5) is None


@pytest.mark.parametrize("value, count", [("2", 2), ("0", 0), ("+3", 3), ("-1", 0), ("x", 0), ("2147483648", 0),
                                          (None, 0)])
def test_index_failure_counts_read_the_annotations_as_upstreams_parseint32(value, count):
    for name, key in (("index_failure_count", "batch.kubernetes.io/job-index-failure-count"),
                      ("index_ignored_failure_count", "batch.kubernetes.io/job-index-ignored-failure-count")):
        pod = freeze({"metadata": {"annotations": {} if value is None else {key: value}}})
        assert call(name, pod) == count
        assert call(name, None) == 0


@pytest.mark.parametrize("name, index, prefix", [
    ("pi", 3, "pi-3-"),
    ("j" * 54, 12, "j" * 54 + "-12-"),  # 58 characters: as it is
    ("j" * 55, 12, "j" * 54 + "-12-"),
    ("j" * 63, 0, "j" * 55 + "-0-"),
])
def test_index_name_prefix_cuts_the_jobs_name_to_fit_58_characters(name, index, prefix):
    assert call("index_name_prefix", name, index) == prefix


def test_finish_time_reads_the_containers_then_the_ready_condition_then_the_deletion_then_the_creation():
    created = {"creationTimestamp": "2026-01-01T00:00:00Z"}
    terminated = [{"name": "a", "state": {"terminated": {"finishedAt": "2026-01-01T00:01:00Z"}}},
                  {"name": "b", "state": {"terminated": {"finishedAt": "2026-01-01T00:02:00Z"}}}]
    not_ready = [{"type": "Ready", "status": "False", "lastTransitionTime": "2026-01-01T00:03:00Z"}]
    start = 1767225600.0
    assert call("finish_time", freeze({"metadata": created, "status": {"containerStatuses": terminated}})) == start + 120
    still_running = terminated[:1] + [{"name": "b", "state": {"running": {}}}]
    assert call("finish_time", freeze({"metadata": created, "status": {
        "containerStatuses": still_running, "conditions": not_ready}})) == start + 180
    deleted = {**created, "deletionTimestamp": "2026-01-01T00:05:00Z", "deletionGracePeriodSeconds": 30}
    assert call("finish_time", freeze({"metadata": deleted, "status": {}})) == start + 270
    assert call("finish_time", freeze({"metadata": created})) == start
    # a sidecar (an init container that restarts Always) finishes with the pod
    sidecar = {"metadata": created, "spec": {"initContainers": [{"name": "s", "restartPolicy": "Always"}]},
               "status": {"containerStatuses": terminated, "initContainerStatuses": [
                   {"name": "s", "state": {"terminated": {"finishedAt": "2026-01-01T00:04:00Z"}}}]}}
    assert call("finish_time", freeze(sidecar)) == start + 240


# -- immutability ------------------------------------------------------------------------------------


def test_list_results_are_tuples_and_inputs_are_never_mutated():
    items = [3, 1, 2]
    for name in ("sort", "sort_desc", "unique", "flatten", "filter", "map"):
        args = (items, (lambda x: x)) if name in ("filter", "map") else (items,)
        assert isinstance(call(name, *args), tuple)
    assert items == [3, 1, 2]
