"""Deterministic names, uids and hashes.

Upstream draws generated name suffixes and uids from a random source; recon
must replay revision for revision, so it derives them from a seed and a
counter with BLAKE2b.  The counter is the whole state: record it, restore it
with `NameSource.from_state`, and the same names come out again.

`template_hash` is the pod-template-hash of Deployments (pkg/controller
ComputeHash): FNV-1a 32 over the template, then SafeEncodeString of the
decimal hash.  Upstream feeds FNV with a deep spew dump of the Go struct; we
feed it canonical JSON (sorted keys, no spaces).  So the hash is stable and
has upstream's shape ("5d8f7c9b4"), but differs from the value a real cluster
computes for the same template.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence

from pyrsistent import PMap, pvector

# utilrand's alphabet: no vowels, no 0/1/3, so suffixes never spell words.
ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"
SUFFIX_LENGTH = 5
MAX_GENERATED_NAME_LENGTH = 63 - SUFFIX_LENGTH

_FNV32_OFFSET = 2166136261
_FNV32_PRIME = 16777619


def fnv32a(data: bytes) -> int:
    """The 32-bit FNV-1a hash of `data` (Go's hash/fnv New32a)."""
    h = _FNV32_OFFSET
    for byte in data:
        h = ((h ^ byte) * _FNV32_PRIME) & 0xFFFFFFFF
    return h


def safe_encode(text: str) -> str:
    """rand.SafeEncodeString: map each character onto the vowel-free alphabet."""
    return "".join(ALPHANUMS[ord(char) % len(ALPHANUMS)] for char in text)


_PVECTOR = type(pvector())
_SCALARS = (str, bool, int, float, type(None))


def _plain(value: object) -> object:
    """Immutable mappings and sequences as dicts and lists, others as strings."""
    cls = type(value)  # (the exact types objects are made of first: an ABC's check costs more)
    if cls in _SCALARS:
        return value
    if cls is PMap or cls is dict or isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if cls is _PVECTOR or cls is list or cls is tuple or (isinstance(value, Sequence) and not isinstance(value, str)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    return str(value)  # a Quantity, say, hashes as its canonical string


def canonical_json(value: object) -> str:
    """Sorted-key, space-free JSON of a (possibly pyrsistent) structure."""
    return json.dumps(_plain(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def template_hash(template: object, collision_count: int | None = None) -> str:
    """The pod-template-hash label of a pod template (controller.ComputeHash).

    A frozen template's hash is kept while the template lives in the entry: the
    Deployment rollout asks for it on every evaluation, and the same template
    object stays in the store until the Deployment's template changes.
    """
    if type(template) is not PMap:
        return _template_hash(template, collision_count)
    entry = _TEMPLATE_HASHES.get(id(template))
    if entry is not None and entry[1] == collision_count:  # the entry holds the template: same id, same object
        return entry[2]
    found = _template_hash(template, collision_count)
    if len(_TEMPLATE_HASHES) >= TEMPLATE_HASHES_KEPT:
        del _TEMPLATE_HASHES[next(iter(_TEMPLATE_HASHES))]  # the oldest entry
    _TEMPLATE_HASHES[id(template)] = (template, collision_count, found)
    return found


TEMPLATE_HASHES_KEPT = 2048
_TEMPLATE_HASHES: dict[int, tuple[object, int | None, str]] = {}


def _template_hash(template: object, collision_count: int | None) -> str:
    text = canonical_json(template)
    key = (text, collision_count) if collision_count is None or type(collision_count) is int else None
    found = _HASHES_BY_TEXT.get(key) if key is not None else None
    if found is not None:  # an equal template frozen anew (its object left the store's shared parts)
        return found
    data = text.encode()
    if collision_count is not None:
        # upstream writes the uint32 little-endian into an 8-byte buffer
        data += (int(collision_count) & 0xFFFFFFFF).to_bytes(4, "little") + bytes(4)
    found = safe_encode(str(fnv32a(data)))  # (FNV in Python: as long as the JSON itself)
    if key is not None:
        if len(_HASHES_BY_TEXT) >= TEMPLATE_HASHES_KEPT:
            del _HASHES_BY_TEXT[next(iter(_HASHES_BY_TEXT))]  # the oldest entry
        _HASHES_BY_TEXT[key] = found
    return found


_HASHES_BY_TEXT: dict[tuple, str] = {}  # (canonical JSON, collision count) → hash


def _digest(purpose: bytes, seed: str, counter: int, size: int) -> bytes:
    message = f"{seed}\x00{counter}".encode()
    return hashlib.blake2b(message, digest_size=size, person=purpose).digest()


def name_suffix(seed: str, counter: int) -> str:
    """The 5-character suffix number `counter` of the source seeded with `seed`."""
    number = int.from_bytes(_digest(b"recon-name", seed, counter, 8), "big")
    chars = []
    for _ in range(SUFFIX_LENGTH):
        number, index = divmod(number, len(ALPHANUMS))
        chars.append(ALPHANUMS[index])
    return "".join(chars)


def generate_name(base: str, suffix: str) -> str:
    """names.SimpleNameGenerator: `base` cut to 58 characters, then the suffix."""
    return base[:MAX_GENERATED_NAME_LENGTH] + suffix


def uid_for(seed: str, counter: int) -> str:
    """A deterministic, UUID-formatted (version 4 layout) uid: `str(uuid.UUID(bytes=digest,
    version=4))`, written out directly (every create makes one)."""
    raw = bytearray(_digest(b"recon-uid", seed, counter, 16))
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4
    raw[8] = (raw[8] & 0x3F) | 0x80  # the RFC 4122 variant
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class NameSource:
    """A seeded, replayable source of generateName suffixes.

    ``next("web-")`` → ``"web-7x2kq"``: like metadata.generateName, the
    prefix is used as given (bring your own dash).  The state is the number
    of names handed out so far.
    """

    def __init__(self, seed: str, counter: int = 0):
        self.seed = seed
        self.counter = counter

    def next(self, prefix: str = "") -> str:
        suffix = name_suffix(self.seed, self.counter)
        self.counter += 1
        return generate_name(prefix, suffix)

    def state(self) -> int:
        return self.counter

    @classmethod
    def from_state(cls, seed: str, state: int) -> NameSource:
        return cls(seed, state)

    def __repr__(self) -> str:
        return f"NameSource(seed={self.seed!r}, counter={self.counter})"
