"""FNV hashing, safe encoding, pod-template-hash and seeded names and uids."""

import re
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pyrsistent import freeze

from engine.naming import (
    ALPHANUMS,
    _digest,
    NameSource,
    canonical_json,
    fnv32a,
    generate_name,
    name_suffix,
    safe_encode,
    template_hash,
    uid_for,
)
from engine import naming
from engine.quantity import Quantity


@pytest.mark.parametrize("data, expected", [
    (b"", 0x811C9DC5), (b"a", 0xE40C292C), (b"b", 0xE70C2DE5), (b"foobar", 0xBF9CF968),
])
def test_fnv32a_matches_the_published_test_vectors(data, expected):
    assert fnv32a(data) == expected


def test_safe_encode_maps_digits_onto_the_vowel_free_alphabet():
    assert safe_encode("0123456789") == "456789bcdf"
    assert ALPHANUMS == "bcdfghjklmnpqrstvwxz2456789"


TEMPLATE = freeze({
    "metadata": {"labels": {"app": "web"}},
    "spec": {"containers": [{"name": "web", "image": "nginx:1.25"}]},
})


def test_template_hash_is_fnv32a_of_canonical_json_safe_encoded():
    expected = safe_encode(str(fnv32a(canonical_json(TEMPLATE).encode())))
    assert template_hash(TEMPLATE) == expected
    assert re.fullmatch(r"[456789bcdf]{1,10}", expected)


def test_template_hash_ignores_key_order_and_container_types():
    thawed = {"spec": {"containers": [{"image": "nginx:1.25", "name": "web"}]}, "metadata": {"labels": {"app": "web"}}}
    assert template_hash(thawed) == template_hash(TEMPLATE)


def test_an_equal_template_frozen_anew_takes_its_hash_from_the_text(monkeypatch):
    template = freeze({"metadata": {"labels": {"app": "again"}}, "spec": {"containers": [{"name": "c"}]}})
    first = template_hash(template, 2)
    counted = []
    monkeypatch.setattr(naming, "fnv32a", lambda data: counted.append(data) or 0)
    again = freeze({"spec": {"containers": [{"name": "c"}]}, "metadata": {"labels": {"app": "again"}}})
    assert again is not template and template_hash(again, 2) == first and not counted
    assert template_hash(again, 3) == safe_encode("0") and counted  # (another collision count: computed)


def test_template_hash_changes_with_the_template():
    changed = TEMPLATE.transform(["spec", "containers", 0, "image"], "nginx:1.26")
    assert template_hash(changed) != template_hash(TEMPLATE)


def test_collision_count_feeds_eight_little_endian_bytes_after_the_template():
    data = canonical_json(TEMPLATE).encode()
    assert template_hash(TEMPLATE, 1) == safe_encode(str(fnv32a(data + b"\x01\x00\x00\x00\x00\x00\x00\x00")))
    assert len({template_hash(TEMPLATE, None), template_hash(TEMPLATE, 0), template_hash(TEMPLATE, 1)}) == 3


def test_a_frozen_templates_hash_is_kept_while_it_is_asked_for(monkeypatch):
    template = TEMPLATE.transform(["metadata", "labels", "kept"], "yes")
    first = {count: template_hash(template, count) for count in (None, 0, 1)}
    monkeypatch.setattr(naming, "canonical_json", None)  # computing it again would fail now
    assert template_hash(template, 1) == first[1]  # the last count asked for
    monkeypatch.undo()
    data = canonical_json(template).encode()
    assert first[None] == safe_encode(str(fnv32a(data)))
    assert first[1] == safe_encode(str(fnv32a(data + b"\x01" + bytes(7))))


def test_the_kept_hashes_are_bounded():
    for i in range(naming.TEMPLATE_HASHES_KEPT + 10):
        template_hash(TEMPLATE.transform(["metadata", "labels", "n"], str(i)))
    assert len(naming._TEMPLATE_HASHES) == naming.TEMPLATE_HASHES_KEPT
    late = TEMPLATE.transform(["metadata", "labels", "n"], "late")
    assert template_hash(late) == safe_encode(str(fnv32a(canonical_json(late).encode())))


def test_canonical_json_prints_quantities_canonically():
    assert canonical_json({"b": [Quantity("0.5")], "a": None}) == '{"a":null,"b":["500m"]}'


def test_name_source_is_deterministic_and_restorable():
    a, b = NameSource("seed"), NameSource("seed")
    names = [a.next("web-") for _ in range(5)]
    assert names == [b.next("web-") for _ in range(5)]
    assert len(set(names)) == 5
    assert a.state() == 5
    restored = NameSource.from_state("seed", a.state())
    assert restored.next("web-") == a.next("web-")


def test_generated_names_are_the_prefix_and_five_safe_characters():
    name = NameSource("s").next("web-")
    assert re.fullmatch(rf"web-[{ALPHANUMS}]{{5}}", name)


def test_different_seeds_give_different_names():
    assert NameSource("a").next("p-") != NameSource("b").next("p-")


def test_long_prefixes_are_cut_to_leave_room_for_the_suffix():
    assert generate_name("x" * 70, "abcde") == "x" * 58 + "abcde"
    assert len(NameSource("s").next("y" * 100)) == 63


@given(st.text(max_size=20), st.integers(min_value=0, max_value=10**9))
def test_every_suffix_is_five_characters_of_the_alphabet(seed, counter):
    suffix = name_suffix(seed, counter)
    assert len(suffix) == 5 and set(suffix) <= set(ALPHANUMS)


def test_uids_are_deterministic_version_4_uuids():
    uid = uid_for("seed", 0)
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", uid)
    assert uid == uid_for("seed", 0)
    assert len({uid_for("seed", 0), uid_for("seed", 1), uid_for("other", 0)}) == 3


@given(st.text(max_size=20), st.integers(min_value=0, max_value=10**12))
def test_uids_are_the_uuid_modules_version_4_form_of_the_digest(seed, counter):
    # the uids of every stored object: the same text as before they were written out directly
    digest = _digest(b"recon-uid", seed, counter, 16)
    assert uid_for(seed, counter) == str(uuid.UUID(bytes=digest, version=4))
