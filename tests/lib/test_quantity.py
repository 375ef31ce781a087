"""Quantity parsing, canonical form and arithmetic (cases from upstream quantity_test.go)."""

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.quantity import (
    BINARY_SI,
    DECIMAL_EXPONENT,
    DECIMAL_SI,
    Quantity,
    pod_requests,
)

Ki, Mi, Gi, Ti, Pi, Ei = (1024**n for n in range(1, 7))
MAX = 2**63 - 1


def dec(mantissa: int, exponent: int) -> Fraction:
    return Fraction(mantissa) * Fraction(10) ** exponent


# (input, exact value, format) — upstream TestQuantityParse
PARSE_CASES = [
    ("0", 0, DECIMAL_SI), ("0n", 0, DECIMAL_SI), ("0u", 0, DECIMAL_SI), ("0m", 0, DECIMAL_SI),
    ("0Ki", 0, BINARY_SI), ("0k", 0, DECIMAL_SI), ("0Mi", 0, BINARY_SI), ("0M", 0, DECIMAL_SI),
    ("1", 1, DECIMAL_SI),
    ("1Ki", Ki, BINARY_SI), ("8Ki", 8 * Ki, BINARY_SI), ("7Mi", 7 * Mi, BINARY_SI),
    ("6Gi", 6 * Gi, BINARY_SI), ("5Ti", 5 * Ti, BINARY_SI), ("4Pi", 4 * Pi, BINARY_SI),
    ("3Ei", 3 * Ei, BINARY_SI), ("10Ti", 10 * Ti, BINARY_SI), ("100Ti", 100 * Ti, BINARY_SI),
    ("5n", dec(5, -9), DECIMAL_SI), ("4u", dec(4, -6), DECIMAL_SI), ("3m", dec(3, -3), DECIMAL_SI),
    ("9", 9, DECIMAL_SI), ("8k", dec(8, 3), DECIMAL_SI), ("50k", dec(5, 4), DECIMAL_SI),
    ("7M", dec(7, 6), DECIMAL_SI), ("6G", dec(6, 9), DECIMAL_SI), ("5T", dec(5, 12), DECIMAL_SI),
    ("40T", dec(4, 13), DECIMAL_SI), ("300T", dec(3, 14), DECIMAL_SI), ("2P", dec(2, 15), DECIMAL_SI),
    ("1E", dec(1, 18), DECIMAL_SI),
    ("1E-3", dec(1, -3), DECIMAL_EXPONENT), ("1e3", dec(1, 3), DECIMAL_EXPONENT),
    ("1E6", dec(1, 6), DECIMAL_EXPONENT), ("1e9", dec(1, 9), DECIMAL_EXPONENT),
    ("1E12", dec(1, 12), DECIMAL_EXPONENT), ("1e15", dec(1, 15), DECIMAL_EXPONENT),
    ("1E18", dec(1, 18), DECIMAL_EXPONENT), ("1e14", dec(1, 14), DECIMAL_EXPONENT),
    ("100.035k", 100035, DECIMAL_SI),
    ("0.001", dec(1, -3), DECIMAL_SI), ("0.0005k", dec(5, -1), DECIMAL_SI),
    ("0.005", dec(5, -3), DECIMAL_SI), ("0.05", dec(5, -2), DECIMAL_SI), ("0.5", dec(5, -1), DECIMAL_SI),
    ("0.00050k", dec(5, -1), DECIMAL_SI), ("0.00500", dec(5, -3), DECIMAL_SI),
    ("0.5e0", dec(5, -1), DECIMAL_EXPONENT), ("0.5e-1", dec(5, -2), DECIMAL_EXPONENT),
    ("0.5e-2", dec(5, -3), DECIMAL_EXPONENT),
    ("10.035M", dec(10035, 3), DECIMAL_SI), ("1.2e3", dec(12, 2), DECIMAL_EXPONENT),
    ("1.3E+6", dec(13, 5), DECIMAL_EXPONENT), ("1.40e9", dec(14, 8), DECIMAL_EXPONENT),
    ("1.53E12", dec(153, 10), DECIMAL_EXPONENT), ("1.6e15", dec(16, 14), DECIMAL_EXPONENT),
    ("1.7E18", dec(17, 17), DECIMAL_EXPONENT), ("9.01", dec(901, -2), DECIMAL_SI),
    ("8.1k", dec(81, 2), DECIMAL_SI), ("7.123456M", 7123456, DECIMAL_SI),
    ("6.987654321G", 6987654321, DECIMAL_SI), ("2.5P", dec(25, 14), DECIMAL_SI),
    ("1.01E", dec(101, 16), DECIMAL_SI),
    # things that round up to 1n precision
    ("3.001n", dec(4, -9), DECIMAL_SI), ("1.1E-9", dec(2, -9), DECIMAL_EXPONENT),
    ("0.0000000001", dec(1, -9), DECIMAL_SI), ("0.0000000005", dec(1, -9), DECIMAL_SI),
    ("0.5e-9", dec(1, -9), DECIMAL_EXPONENT), ("0.9n", dec(1, -9), DECIMAL_SI),
    ("0.00000012345", dec(124, -9), DECIMAL_SI), ("0.00000012354", dec(124, -9), DECIMAL_SI),
    # things that saturate at MaxInt64
    ("9Ei", MAX, BINARY_SI), ("9223372036854775807Ki", MAX, BINARY_SI), ("12E", MAX, DECIMAL_SI),
    ("1e100", MAX, DECIMAL_EXPONENT),
    # fractional binary
    ("100.035Ki", dec(10243584, -2), BINARY_SI), ("0.5Mi", Mi // 2, BINARY_SI),
    ("0.05Gi", dec(536870912, -1), BINARY_SI), ("0.025Ti", dec(274877906944, -1), BINARY_SI),
    # things written by trolls
    ("0.000000000001Ki", dec(2, -9), DECIMAL_SI), (".001", dec(1, -3), DECIMAL_SI),
    (".0001k", dec(100, -3), DECIMAL_SI), ("1.", 1, DECIMAL_SI), ("1.G", dec(1, 9), DECIMAL_SI),
    ("-1k", -1000, DECIMAL_SI), ("+1k", 1000, DECIMAL_SI), ("-0.5Ki", -512, BINARY_SI),
]


@pytest.mark.parametrize("text, value, fmt", PARSE_CASES)
def test_parsing_yields_the_exact_value_and_suffix_format_upstream_does(text, value, fmt):
    q = Quantity(text)
    assert q.fraction == value
    assert q.format == fmt


# (exact value, format, canonical string, alternative spellings) — upstream TestQuantityString
STRING_CASES = [
    (Gi, BINARY_SI, "1Gi", ["1024Mi"]),
    (300 * Mi, BINARY_SI, "300Mi", ["307200Ki"]),
    (6 * Ki, BINARY_SI, "6Ki", []),
    (1001 * Gi, BINARY_SI, "1001Gi", ["1025024Mi"]),
    (Ti, BINARY_SI, "1Ti", ["1024Gi"]),
    (5, BINARY_SI, "5", ["5000m"]),
    (dec(500, -3), BINARY_SI, "500m", ["0.5"]),
    (dec(1, 9), DECIMAL_SI, "1G", ["1000M"]),
    (dec(1000, 6), DECIMAL_SI, "1G", ["0.001T"]),
    (dec(1, -3), DECIMAL_SI, "1m", ["1000u"]),
    (dec(80, -3), DECIMAL_SI, "80m", []),
    (dec(1080, -3), DECIMAL_SI, "1080m", ["1.08"]),
    (dec(108, -2), DECIMAL_SI, "1080m", ["1080000000n"]),
    (dec(300, 6), DECIMAL_SI, "300M", []),
    (dec(1, 12), DECIMAL_SI, "1T", []),
    (dec(1234567, 6), DECIMAL_SI, "1234567M", []),
    (dec(1234567, -3), BINARY_SI, "1234567m", []),
    (dec(3, 3), DECIMAL_SI, "3k", []),
    (1025, BINARY_SI, "1025", []),
    (dec(1, -9), DECIMAL_SI, "1n", []),
    (dec(80, -9), DECIMAL_SI, "80n", []),
    (dec(1080, -9), DECIMAL_SI, "1080n", []),
    (dec(1, -6), DECIMAL_SI, "1u", []),
    (dec(1080, -6), DECIMAL_SI, "1080u", []),
    (1, DECIMAL_EXPONENT, "1", []),
    (dec(1, 3), DECIMAL_EXPONENT, "1e3", []),
    (dec(12, 2), DECIMAL_EXPONENT, "1200", []),
    (dec(1, -3), DECIMAL_EXPONENT, "1e-3", []),
    (dec(-1080, -3), DECIMAL_SI, "-1080m", []),
    (-Gi, BINARY_SI, "-1Gi", []),
    (-5, BINARY_SI, "-5", []),
    (1536 * Mi, BINARY_SI, "1536Mi", ["1.5Gi"]),
    (1536, BINARY_SI, "1536", ["1.5Ki"]),
    (1500000, DECIMAL_SI, "1500k", ["1.5M"]),
    (0, BINARY_SI, "0", ["0Gi"]),
]


@pytest.mark.parametrize("value, fmt, text, alternatives", STRING_CASES)
def test_str_is_upstreams_canonical_form(value, fmt, text, alternatives):
    q = Quantity(Fraction(value), format=fmt)
    assert str(q) == text
    for spelling in [text, *alternatives]:
        assert Quantity(spelling) == q


@pytest.mark.parametrize("text, canonical", [
    ("100m", "100m"), ("0.5", "500m"), ("1Gi", "1Gi"), ("1G", "1G"), ("1e3", "1e3"),
    ("128974848", "128974848"), ("129e6", "129e6"), ("123Mi", "123Mi"), ("1.5Ki", "1536"),
    ("0.1", "100m"), ("1000m", "1"), ("1E3", "1e3"), ("+1k", "1k"), ("1024Ki", "1Mi"),
    ("1000Ki", "1000Ki"), ("1e100", "9223372036854775807"),
])
def test_common_spellings_print_canonically(text, canonical):
    assert str(Quantity(text)) == canonical


@pytest.mark.parametrize("text", [
    "1.1.M", "1+1.0M", "0.1am", "aoeu", " 1", "1 ", "", "Mi", ".", "-", "1,5", "1.5 Gi", "1KI",
])
def test_malformed_quantities_are_refused_with_upstreams_regular_expression(text):
    with pytest.raises(ValueError, match=r"quantities must match the regular expression"):
        Quantity(text)


@pytest.mark.parametrize("text", ["0.1mi", ".5i", "1i", "-3.01i", "-3.01e-", "1eM"])
def test_unknown_suffixes_are_refused_as_unparseable_suffixes(text):
    with pytest.raises(ValueError, match=r"unable to parse quantity's suffix"):
        Quantity(text)


def test_a_non_string_non_number_is_a_type_error():
    with pytest.raises(TypeError):
        Quantity([1])


def test_floats_are_read_by_their_shortest_decimal_spelling():
    assert str(Quantity(0.1)) == "100m"
    assert str(Quantity(1e-10)) == "1n"
    with pytest.raises(ValueError):
        Quantity(float("inf"))


@pytest.mark.parametrize("text, value, milli", [
    ("1", 1, 1000), ("1m", 1, 1), ("0.5m", 1, 1), ("1.5", 2, 1500), ("-1.5", -2, -1500),
    ("100m", 1, 100), ("1Ki", 1024, 1024000), ("1n", 1, 1), ("-1n", -1, -1), ("0", 0, 0),
])
def test_value_and_milli_round_away_from_zero(text, value, milli):
    q = Quantity(text)
    assert q.value() == value
    assert q.milli() == milli


def test_quantities_compare_with_quantities_numbers_and_strings():
    assert Quantity("1Gi") > Quantity("1G")
    assert Quantity("500m") == 0.5
    assert Quantity("2") == 2
    assert Quantity("1Gi") == "1024Mi"
    assert Quantity("100m") < "1"
    assert 1 > Quantity("999m")
    assert "2" >= Quantity("2000m")
    assert Quantity("1") != "not a quantity"
    assert Quantity("1") != None  # noqa: E711
    with pytest.raises(ValueError):
        Quantity("1") < "nonsense"


def test_equal_quantities_hash_alike_whatever_their_spelling():
    assert hash(Quantity("1k")) == hash(Quantity("1000")) == hash(Quantity("1e3")) == hash(1000)
    assert len({Quantity("1Ki"), Quantity("1024"), Quantity("1.024k")}) == 1


def test_addition_keeps_the_left_format_unless_the_left_is_zero():
    assert str(Quantity("1Gi") + Quantity("512Mi")) == "1536Mi"
    assert str(Quantity("1Gi") + "512Mi") == "1536Mi"
    assert str(0 + Quantity("1Gi")) == "1Gi"
    assert str(Quantity("1k") + Quantity("1Ki")) == "2024"
    assert str(Quantity("0") + Quantity("1Ki")) == "1Ki"
    assert str(sum([Quantity("100m"), Quantity("200m")], Quantity(0))) == "300m"
    assert str(sum([Quantity("1Gi"), Quantity("1Gi")])) == "2Gi"


def test_subtraction_multiplication_and_division_are_exact():
    assert str(Quantity("1") - Quantity("100m")) == "900m"
    assert str(2 - Quantity("500m")) == "1500m"
    assert str(Quantity("1Gi") * 3) == "3Gi"
    assert str(3 * Quantity("100m")) == "300m"
    assert str(Quantity("1Gi") / 2) == "512Mi"
    assert str(Quantity("1") / 3) == "333333334n"  # rounded away from zero to 1n
    assert Quantity("1Gi") / Quantity("2Gi") == 0.5
    assert str(-Quantity("1Gi")) == "-1Gi"
    assert abs(Quantity("-2")) == 2
    with pytest.raises(TypeError):
        Quantity("1") * Quantity("1")


def test_quantities_are_immutable():
    q = Quantity("1")
    with pytest.raises(AttributeError):
        q._value = Fraction(2)


def test_repr_shows_the_canonical_string():
    assert repr(Quantity("0.5")) == "Quantity('500m')"


@st.composite
def quantities(draw):
    mantissa = draw(st.integers(min_value=-(10**12), max_value=10**12))
    exponent = draw(st.integers(min_value=-9, max_value=6))
    fmt = draw(st.sampled_from([DECIMAL_SI, BINARY_SI, DECIMAL_EXPONENT]))
    return Quantity(dec(mantissa, exponent), format=fmt)


@given(quantities())
def test_str_then_parse_gives_back_an_equal_quantity_whose_str_is_a_fixed_point(q):
    again = Quantity(str(q))
    assert again == q
    # A binary 10000 prints "10000", which reads back as decimal "10k" (as upstream).
    assert str(Quantity(str(again))) == str(again)
    if q.format != BINARY_SI:
        assert str(again) == str(q)


@given(
    st.integers(min_value=0, max_value=10**6),
    st.integers(min_value=0, max_value=999),
    st.sampled_from(["", "n", "u", "m", "k", "M", "G", "Ki", "Mi", "Gi", "e3", "e-2", "E6"]),
)
def test_any_well_formed_spelling_round_trips_through_its_canonical_form(whole, fraction, suffix):
    q = Quantity(f"{whole}.{fraction:03d}{suffix}")
    assert Quantity(str(q)) == q


# -- pod requests -----------------------------------------------------------------


def container(cpu=None, memory=None, restart_policy=None):
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v is not None}
    c = {"name": "c", "resources": {"requests": requests}}
    if restart_policy:
        c["restartPolicy"] = restart_policy
    return c


def pod(containers=(), init=(), overhead=None):
    spec = {"containers": list(containers), "initContainers": list(init)}
    if overhead:
        spec["overhead"] = overhead
    return {"spec": spec}


def test_pod_requests_sum_the_app_containers():
    got = pod_requests(pod([container("100m", "1Gi"), container("150m", "512Mi")]))
    assert {k: str(v) for k, v in got.items()} == {"cpu": "250m", "memory": "1536Mi"}


def test_pod_requests_take_the_larger_of_the_containers_and_any_init_container():
    got = pod_requests(pod([container("100m")], init=[container("500m"), container("50m")]))
    assert str(got["cpu"]) == "500m"


def test_sidecars_add_to_the_containers_and_to_every_later_init_container():
    sidecar = container("200m", restart_policy="Always")
    got = pod_requests(pod([container("100m")], init=[container("250m"), sidecar, container("250m")]))
    # app phase: 100m + 200m sidecar = 300m; last init phase: 250m + 200m = 450m
    assert str(got["cpu"]) == "450m"


def test_overhead_is_added_on_top():
    got = pod_requests(pod([container("100m")], overhead={"cpu": "10m", "memory": "32Mi"}))
    assert str(got["cpu"]) == "110m"
    assert str(got["memory"]) == "32Mi"


def test_non_missing_defaults_fill_only_the_requests_a_container_leaves_out():
    defaults = {"cpu": "100m", "memory": "200Mi"}
    got = pod_requests(pod([container(cpu="50m"), container()]), defaults)
    assert str(got["cpu"]) == "150m"
    assert str(got["memory"]) == "400Mi"


def test_a_pod_without_containers_requests_nothing():
    assert pod_requests({"spec": {}}) == {}
    assert pod_requests({}) == {}
