"""Label and field selectors (cases from upstream labels/selector_test.go and fields/selector_test.go)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pyrsistent import freeze

from engine.selectors import (
    DOES_NOT_EXIST,
    DOUBLE_EQUALS,
    EQUALS,
    EVERYTHING,
    EXISTS,
    GREATER_THAN,
    IN,
    LESS_THAN,
    NOT_EQUALS,
    NOT_IN,
    NOTHING,
    Requirement,
    Selector,
    field_value,
    format_label_selector,
    from_label_selector,
    from_map,
    label_key_errors,
    label_value_errors,
    parse,
    parse_field_selector,
    requirement,
    validate_label_selector,
)

# -- parsing ------------------------------------------------------------------------

GOOD_SELECTORS = [
    "x=a,y=b,z=c", "", "x!=a,y=b", "x=", "x= ", "x=,z= ", "x= ,z= ", "!x", "x>1", "x>1,z<5",
    "x in (a,b)", "x notin (a)", "x in ()", "x in (,a)", "in in (in)", "notin=in",
    "app.kubernetes.io/name=web", "a , b", " x = y ",
]


@pytest.mark.parametrize("text", GOOD_SELECTORS)
def test_upstreams_good_selector_strings_parse(text):
    assert isinstance(parse(text), Selector)


@pytest.mark.parametrize("text, message", [
    ("x=a||y=b", 'values[0][x]: Invalid value: "a||y": a valid label must be'),
    ("x==a==b", "found '==', expected: ',' or 'end of string'"),
    ("!x=a", "found '=', expected: ',' or 'end of string'"),
    ("x<a", "values[0]: Invalid value: \"a\": for 'Gt', 'Lt' operators, the value must be an integer"),
    ("x in a", "found 'a' expected: '('"),
    ("x in (a", "found '', expected: ',' or ')'"),
    ("x,", "found '', expected: identifier after ','"),
    (",x", "found ',', expected: !, identifier, or 'end of string'"),
    ("x=a b", "found 'b', expected: ',' or 'end of string'"),
    ("x y", "found 'y', expected: in, notin, =, ==, !=, gt, lt"),
    ("Bad Key=x", "found 'Key', expected: in, notin"),
    ("-x=y", '<nil>: Invalid value: "-x": name part must consist of'),
    ("x=-y", "a valid label must be an empty string or consist of alphanumeric characters"),
    ("a/b/c=d", "a qualified name must consist of alphanumeric characters"),
    ("(x)", "found '(', expected: !, identifier"),
])
def test_malformed_selectors_are_refused_with_the_upstream_explanation(text, message):
    with pytest.raises(ValueError) as caught:
        parse(text)
    assert message in str(caught.value)


KEY_MESSAGE = ("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with "
               "an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
               "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')")
VALUE_MESSAGE = ("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
                 "and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or "
                 "'12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')")


@pytest.mark.parametrize("text, message", [
    # a bad key is checked with the parser's own (nil) path; a bad value is filed under values[i][key]
    ("-x=y", f'unable to parse requirement: <nil>: Invalid value: "-x": {KEY_MESSAGE}'),
    ("app=-y", f'unable to parse requirement: values[0][app]: Invalid value: "-y": {VALUE_MESSAGE}'),
    # (the values are numbered in sorted order, as the parser collects them in a set)
    ("app in (ok,-y)", f'unable to parse requirement: values[0][app]: Invalid value: "-y": {VALUE_MESSAGE}'),
    ("x>a", "unable to parse requirement: values[0]: Invalid value: \"a\": for 'Gt', 'Lt' operators, "
            "the value must be an integer"),
    ("x>99999999999999999999", "unable to parse requirement: values[0]: Invalid value: \"99999999999999999999\": "
                               "for 'Gt', 'Lt' operators, the value must be an integer"),
    # several errors of one requirement are aggregated as upstream's [a, b]
    ("x>-a", "unable to parse requirement: [values[0]: Invalid value: \"-a\": for 'Gt', 'Lt' operators, the value "
             f'must be an integer, values[0][x]: Invalid value: "-a": {VALUE_MESSAGE}]'),
    ("x y", "unable to parse requirement: found 'y', expected: in, notin, =, ==, !=, gt, lt"),
    ("x=a b", "found 'b', expected: ',' or 'end of string'"),
])
def test_parse_errors_are_worded_and_quoted_as_labels_parse(text, message):
    with pytest.raises(ValueError) as caught:
        parse(text)
    assert str(caught.value) == message


def test_parsed_requirements_are_sorted_by_key_with_sorted_unique_values():
    s = parse("z=1,x in (c,a,b,a),y")
    assert s.requirements == (
        Requirement("x", IN, ("a", "b", "c")),
        Requirement("y", EXISTS),
        Requirement("z", EQUALS, ("1",)),
    )


@pytest.mark.parametrize("text, operator, values", [
    ("x=a", EQUALS, ("a",)), ("x==a", DOUBLE_EQUALS, ("a",)), ("x!=a", NOT_EQUALS, ("a",)),
    ("x in (a)", IN, ("a",)), ("x notin (a,b)", NOT_IN, ("a", "b")), ("x", EXISTS, ()),
    ("!x", DOES_NOT_EXIST, ()), ("x>1", GREATER_THAN, ("1",)), ("x<1", LESS_THAN, ("1",)),
    ("x=", EQUALS, ("",)), ("x in ()", IN, ("",)), ("x in (a,)", IN, ("", "a")),
    ("x in (a,,b)", IN, ("", "a", "b")),
])
def test_each_operator_parses_to_its_requirement(text, operator, values):
    assert parse(text).requirements == (Requirement("x", operator, values),)


def test_in_and_notin_are_plain_words_where_a_key_or_value_is_expected():
    assert parse("in in (notin)").requirements == (Requirement("in", IN, ("notin",)),)


# -- matching ------------------------------------------------------------------------

MATCHES = [
    ("", {"x": "y"}), ("x=y", {"x": "y"}), ("x=y,z=w", {"x": "y", "z": "w"}),
    ("x!=y,z!=w", {"x": "z", "z": "a"}), ("notin=in", {"notin": "in"}), ("x", {"x": "z"}),
    ("!x", {"y": "z"}), ("x>1", {"x": "2"}), ("x<1", {"x": "0"}), ("x in (a,y)", {"x": "y"}),
    ("x notin (a)", {"x": "y"}), ("x notin (a)", {}), ("x!=a", {}), ("x=", {"x": ""}),
    ("foo=bar,baz=blah", {"foo": "bar", "baz": "blah"}),
]
NON_MATCHES = [
    ("x=z", {}), ("x=y", {"x": "z"}), ("x=y,z=w", {"x": "w", "z": "w"}),
    ("x!=y,z!=w", {"x": "z", "z": "w"}), ("x", {"y": "z"}), ("!x", {"x": "z"}),
    ("x>1", {"x": "0"}), ("x<1", {"x": "2"}), ("x>1", {"x": "many"}), ("x>1", {}),
    ("x in (a,b)", {"x": "c"}), ("x in (a)", {}), ("x notin (a)", {"x": "a"}),
    ("foo=bar,foobar=bar,baz=blah", {"foo": "bar", "baz": "blah"}),
]


@pytest.mark.parametrize("text, labels", MATCHES)
def test_selector_matches_labels_as_upstream(text, labels):
    assert parse(text).matches(labels)
    assert parse(text).matches(freeze(labels))


@pytest.mark.parametrize("text, labels", NON_MATCHES)
def test_selector_does_not_match_labels_as_upstream(text, labels):
    assert not parse(text).matches(labels)


def test_everything_matches_all_and_nothing_matches_none():
    assert EVERYTHING.empty and EVERYTHING.matches({}) and EVERYTHING.matches({"a": "b"})
    assert not NOTHING.empty and not NOTHING.matches({}) and not NOTHING.matches({"a": "b"})
    assert parse("") == EVERYTHING
    assert EVERYTHING.matches(None)


@pytest.mark.parametrize("text, equalities", [
    ("", {}), ("a=b", {"a": "b"}), ("a==b,c in (d)", {"a": "b", "c": "d"}),
    ("a in (b,c)", {}), ("a!=b", {}), ("a,!b", {}), ("a=b,c notin (d),e=f", {"a": "b", "e": "f"}),
])
def test_equalities_are_the_exact_matches_a_selector_requires(text, equalities):
    assert parse(text).equalities() == equalities


def test_add_appends_requirements_and_keeps_key_order():
    s = parse("b=1").add(Requirement("a", EXISTS))
    assert str(s) == "a,b=1"
    assert s.add() is s


# -- string form ------------------------------------------------------------------------


@pytest.mark.parametrize("selector, text", [
    (Selector((requirement("x", IN, ["abc", "def"]), requirement("y", NOT_IN, ["jkl"]), requirement("z", EXISTS))),
     "x in (abc,def),y notin (jkl),z"),
    (Selector((requirement("x", NOT_IN, ["abc", "def"]), requirement("y", NOT_EQUALS, ["jkl"]),
               requirement("z", DOES_NOT_EXIST))),
     "x notin (abc,def),y!=jkl,!z"),
    (Selector((requirement("x", NOT_IN, ["abc"]), requirement("y", IN, ["jkl", "mno"]), requirement("z", NOT_IN, [""]))),
     "x notin (abc),y in (jkl,mno),z notin ()"),
    (Selector((requirement("x", EQUALS, ["abc"]), requirement("y", DOUBLE_EQUALS, ["jkl"]),
               requirement("z", NOT_EQUALS, ["a"]), requirement("z", EXISTS))),
     "x=abc,y==jkl,z!=a,z"),
    (Selector((requirement("x", GREATER_THAN, ["2"]), requirement("y", LESS_THAN, ["8"]), requirement("z", EXISTS))),
     "x>2,y<8,z"),
])
def test_str_is_upstreams_string_form(selector, text):
    assert str(selector) == text
    assert parse(text) == selector


def test_str_sorts_requirements_by_key_and_values_alphabetically():
    assert str(parse("b in (z,y),a=1")) == "a=1,b in (y,z)"


_ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_words = st.text(_ALNUM, min_size=1, max_size=4)
_keys = st.builds(
    lambda prefix, name: prefix + name,
    st.sampled_from(["", "example.com/", "app.kubernetes.io/"]),
    st.one_of(_words, st.builds("{}.{}_{}".format, _words, _words, _words)),
)
_values = st.one_of(st.just(""), _words, st.builds("{}-{}".format, _words, _words))


@st.composite
def requirements(draw):
    key = draw(_keys.filter(lambda k: k not in ("in", "notin")))
    op = draw(st.sampled_from([EQUALS, DOUBLE_EQUALS, NOT_EQUALS, IN, NOT_IN, EXISTS, DOES_NOT_EXIST, GREATER_THAN]))
    if op in (EXISTS, DOES_NOT_EXIST):
        return Requirement(key, op)
    if op == GREATER_THAN:
        # not negative: "-1" is no valid label value, so upstream refuses "a>-1"
        return Requirement(key, op, (str(draw(st.integers(0, 99))),))
    if op in (IN, NOT_IN):
        return Requirement(key, op, tuple(draw(st.lists(_values, min_size=1, max_size=3))))
    return Requirement(key, op, (draw(_values),))


@given(st.lists(requirements(), max_size=4))
def test_str_then_parse_gives_back_the_same_selector(reqs):
    selector = Selector(tuple(reqs))
    assert parse(str(selector)) == selector


@given(st.lists(requirements(), max_size=4), st.dictionaries(_keys, _values, max_size=4))
def test_a_selector_matches_exactly_when_every_requirement_does(reqs, labels):
    selector = Selector(tuple(reqs))
    assert selector.matches(labels) == all(r.matches(labels) for r in reqs)


@given(st.dictionaries(_keys, _values, max_size=3), st.dictionaries(_keys, _values, max_size=3),
       st.sampled_from(["=", "==", "in"]))
def test_a_selector_of_equalities_matches_exactly_when_every_requirement_does(wanted, others, op):
    reqs = [Requirement(k, op, (v,)) for k, v in wanted.items()]
    selector = Selector(tuple(reqs))
    for labels in ({**others, **wanted}, others, {**wanted, **others}):
        for version in (labels, freeze(labels)):
            assert selector.matches(version) == all(r.matches(version) for r in reqs)


# -- maps and metav1.LabelSelector ------------------------------------------------------------


def test_from_map_is_an_and_of_equalities_and_empty_selects_everything():
    s = from_map(freeze({"b": "2", "a": "1"}))
    assert str(s) == "a=1,b=2"
    assert s.matches({"a": "1", "b": "2", "c": "3"})
    assert not s.matches({"a": "1"})
    assert from_map({}) == EVERYTHING
    assert from_map(None) == EVERYTHING


def test_from_map_refuses_non_string_values():
    with pytest.raises(ValueError, match="must be a string"):
        from_map({"a": 1})


def test_a_null_label_selector_matches_nothing_and_an_empty_one_everything():
    assert from_label_selector(None) == NOTHING
    assert from_label_selector({}) == EVERYTHING
    assert from_label_selector({"matchLabels": {}, "matchExpressions": []}) == EVERYTHING


def test_label_selector_combines_match_labels_and_match_expressions():
    s = from_label_selector(freeze({
        "matchLabels": {"app": "web"},
        "matchExpressions": [
            {"key": "tier", "operator": "In", "values": ["fe", "be"]},
            {"key": "env", "operator": "NotIn", "values": ["dev"]},
            {"key": "track", "operator": "Exists"},
            {"key": "legacy", "operator": "DoesNotExist"},
        ],
    }))
    assert str(s) == "app=web,env notin (dev),!legacy,tier in (be,fe),track"
    assert s.matches({"app": "web", "tier": "fe", "track": "x"})
    assert not s.matches({"app": "web", "tier": "fe", "track": "x", "legacy": "1"})
    assert not s.matches({"app": "web", "tier": "fe", "track": "x", "env": "dev"})


@pytest.mark.parametrize("selector, reason, message", [
    ({"matchExpressions": [{"key": "a", "operator": "In", "values": []}]}, "FieldValueRequired",
     "selector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'"),
    ({"matchExpressions": [{"key": "a", "operator": "NotIn"}]}, "FieldValueRequired",
     "selector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'"),
    ({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]}, "FieldValueForbidden",
     "selector.matchExpressions[0].values: Forbidden: may not be specified when `operator` is 'Exists' or "
     "'DoesNotExist'"),
    ({"matchExpressions": [{"key": "a", "operator": "DoesNotExist", "values": ["x"]}]}, "FieldValueForbidden",
     "selector.matchExpressions[0].values: Forbidden: may not be specified when `operator` is 'Exists' or "
     "'DoesNotExist'"),
    ({"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]}, "FieldValueInvalid",
     'selector.matchExpressions[0].operator: Invalid value: "Gt": not a valid selector operator'),
    ({"matchExpressions": [{"key": "a", "values": ["1"]}]}, "FieldValueInvalid",
     'selector.matchExpressions[0].operator: Invalid value: "": not a valid selector operator'),
    ({"matchExpressions": [{"key": "a b", "operator": "Exists"}]}, "FieldValueInvalid",
     f'selector.matchExpressions[0].key: Invalid value: "a b": {KEY_MESSAGE}'),
    ({"matchExpressions": [{"key": "a", "operator": "In", "values": ["ok", "-x"]}]}, "FieldValueInvalid",
     f'selector.matchExpressions[0].values[1]: Invalid value: "-x": {VALUE_MESSAGE}'),
    ({"matchLabels": {"app": "a b"}}, "FieldValueInvalid",
     f'selector.matchLabels: Invalid value: "a b": {VALUE_MESSAGE}'),
    ({"matchLabels": {"-app": "x"}}, "FieldValueInvalid", f'selector.matchLabels: Invalid value: "-app": {KEY_MESSAGE}'),
    ({"matchLabels": {"app": 1}}, "FieldValueTypeInvalid",
     "selector.matchLabels[app]: Invalid value: 1: must be of type string"),
])
def test_invalid_label_selectors_are_refused_as_validate_label_selector(selector, reason, message):
    """Each problem is one field error of upstream's type, its bad value quoted as Go's %q."""
    errors = validate_label_selector(selector)
    assert [(e.cause()["reason"], e.message()) for e in errors] == [(reason, message)]
    with pytest.raises(ValueError, match="invalid label selector"):
        from_label_selector(selector)


def test_validation_reports_every_problem_at_once():
    errors = validate_label_selector({
        "matchLabels": {"a": "-"},
        "matchExpressions": [{"key": "b", "operator": "In"}, {"key": "c", "operator": "Bogus"}],
    }, path="spec.selector")
    assert [e.field for e in errors] == ["spec.selector.matchLabels", "spec.selector.matchExpressions[0].values",
                                         "spec.selector.matchExpressions[1].operator"]


def test_format_label_selector_prints_none_for_empty_and_error_for_invalid():
    assert format_label_selector({"matchLabels": {"app": "web"}}) == "app=web"
    assert format_label_selector({}) == "<none>"
    assert format_label_selector({"matchExpressions": [{"key": "a", "operator": "In"}]}) == "<error>"


@pytest.mark.parametrize("key, operator, values, message", [
    ("a", IN, [], "values: Invalid value: []string{}: for 'in', 'notin' operators, values set can't be empty"),
    ("a", EQUALS, ["x", "y"],
     'values: Invalid value: []string{"x", "y"}: exact-match compatibility requires one single value'),
    ("a", EXISTS, ["x"], 'values: Invalid value: []string{"x"}: values set must be empty for exists and does not exist'),
    ("a", GREATER_THAN, ["1", "2"],
     'values: Invalid value: []string{"1", "2"}: for \'Gt\', \'Lt\' operators, exactly one value is required'),
    ("a", "like", ["x"], 'operator: Unsupported value: "like": supported values: "in", "notin", "=", "==", "!=", '
                         '"gt", "lt", "exists", "!"'),
    ("-a", EXISTS, [], f'key: Invalid value: "-a": {KEY_MESSAGE}'),
])
def test_requirement_refuses_invalid_combinations_as_new_requirement(key, operator, values, message):
    with pytest.raises(ValueError) as caught:
        requirement(key, operator, values)
    assert str(caught.value) == message


@pytest.mark.parametrize("key, ok", [
    ("app", True), ("app.kubernetes.io/name", True), ("a", True), ("A_b.c-d", True), ("x" * 63, True),
    ("x" * 64, False), ("", False), ("-a", False), ("a-", False), ("/a", False), ("a/", False),
    ("Example.com/a", False), ("a/b/c", False), ("a b", False),
])
def test_label_keys_are_qualified_names(key, ok):
    assert (label_key_errors(key) == []) is ok


@pytest.mark.parametrize("value, ok", [
    ("", True), ("web", True), ("1.0_beta-2", True), ("x" * 63, True), ("x" * 64, False), ("-a", False), ("a b", False),
])
def test_label_values_are_short_alphanumeric_words(value, ok):
    assert (label_value_errors(value) == []) is ok


# -- field selectors ------------------------------------------------------------------------


def fieldset(**fields):
    """An object whose top-level fields are the given ones (upstream tests use flat sets)."""
    return fields


@pytest.mark.parametrize("text", ["x=a,y=b,z=c", "", "x!=a,y=b", r"x=a||y\=b", r"x=a\=\=b", "x==a", "x=a,,y=b"])
def test_upstreams_good_field_selector_strings_parse(text):
    parse_field_selector(text)


@pytest.mark.parametrize("text, message", [
    ("x=a||y=b", "unescaped character in value: ="),
    ("x==a==b", "unescaped character in value: ="),
    ("x=a,b", "invalid selector: 'x=a,b'; can't understand 'b'"),
    ("x in (a)", "can't understand 'x in (a)'"),
    ("x in (a,b,c)", "can't understand"),
    ("x", "can't understand 'x'"),
    (r"x=a\b", r"invalid escape sequence: \b"),
    ("x=a\\", "invalid escape sequence"),
])
def test_malformed_field_selectors_are_refused(text, message):
    with pytest.raises(ValueError) as caught:
        parse_field_selector(text)
    assert message in str(caught.value)


@pytest.mark.parametrize("text, fields, expected", [
    ("", {"x": "y"}, True),
    ("x=y", {"x": "y"}, True),
    ("x=y,z=w", {"x": "y", "z": "w"}, True),
    ("x!=y,z!=w", {"x": "z", "z": "a"}, True),
    ("notin=in", {"notin": "in"}, True),
    ("x=y", {"x": "z"}, False),
    ("x=y,z=w", {"x": "w", "z": "w"}, False),
    ("x!=y,z!=w", {"x": "z", "z": "w"}, False),
    ("foo=bar,baz=blah", {"foo": "bar", "baz": "blah"}, True),
    ("foo=blah", {"foo": "bar", "baz": "blah"}, False),
    (r"complex=\=value\\\,\\", {"complex": "=value\\,\\"}, True),
])
def test_field_selector_matches_as_upstream(text, fields, expected):
    assert parse_field_selector(text).matches(fieldset(**fields)) is expected


POD = freeze({
    "kind": "Pod",
    "metadata": {"name": "web-1", "namespace": "default"},
    "spec": {"nodeName": "n1", "hostNetwork": False},
    "status": {"phase": "Running"},
})


@pytest.mark.parametrize("text, expected", [
    ("metadata.name=web-1", True),
    ("metadata.name=web-1,metadata.namespace=default", True),
    ("spec.nodeName!=n2,status.phase==Running", True),
    ("spec.nodeName=", False),
    ("spec.schedulerName=", True),
    ("spec.hostNetwork=false", True),
    ("status.phase=Pending", False),
])
def test_field_selectors_read_dotted_paths_of_objects(text, expected):
    assert parse_field_selector(text).matches(POD) is expected


def test_an_event_source_field_reads_the_source_component():
    event = {"kind": "Event", "source": {"component": "kubelet"}, "involvedObject": {"kind": "Pod"}}
    assert field_value(event, "source") == "kubelet"
    assert parse_field_selector("involvedObject.kind=Pod,source=kubelet").matches(event)


def test_field_selector_str_is_sorted_and_escaped():
    s = parse_field_selector(r"z=1,spec.nodeName==n1,a!=x\,y")
    assert str(s) == r"a!=x\,y,spec.nodeName=n1,z=1"
    assert parse_field_selector(str(s)) == s
    assert s.equalities() == {"spec.nodeName": "n1", "z": "1"}


def test_unsupported_fields_are_named_per_kind():
    s = parse_field_selector("metadata.name=a,spec.nodeName=b,spec.replicas=3")
    assert s.unsupported_fields("Pod") == ["spec.replicas"]
    assert s.unsupported_fields("ConfigMap") == ["spec.nodeName", "spec.replicas"]
