"""Turning a rule's `create` into objects: names, namespace, owner, kind.

Generated names follow Kubernetes (`prefix`, cut to 58 characters, + 5
characters from the alphabet upstream uses; the whole prefix stays in
`metadata.generateName`, as the API server keeps it) but come from a hash of
the seed, the revision of the snapshot the rule read, the rule instance and
the object's index — never from `random` — so the same inputs give the same
names.  They are chosen while the rule is evaluated (so that `create … as p`
can name the pod in an event), free in that snapshot and among the names the
round has already handed out.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from .dsl.runtime import RuleRuntimeError
from .naming import ALPHANUMS as ALPHABET, generate_name
from .objects import freeze


def suffix(material: str) -> str:
    """5 characters of the upstream alphabet, derived from `material`."""
    n = int.from_bytes(hashlib.blake2b(material.encode(), digest_size=8).digest(), "little")
    chars = []
    for _ in range(5):
        n, r = divmod(n, len(ALPHABET))
        chars.append(ALPHABET[r])
    return "".join(chars)


def owner_reference(owner: Mapping) -> dict:
    meta = owner.get("metadata") or {}
    return {
        "apiVersion": owner.get("apiVersion"),
        "kind": owner.get("kind"),
        "name": meta.get("name"),
        "uid": meta.get("uid"),
        "controller": True,
        "blockOwnerDeletion": True,
    }


def build_created_objects(engine: Any, inst: tuple, write: Any, head: Any, taken: set) -> list[Any]:
    """The objects one `create` statement asks for, ready for the API server.

    `head` is the snapshot the names must be free in; `taken` collects the
    keys handed out in this round."""
    decl, anchor_key = inst
    resolved = engine.resolve(write.kind)
    if resolved is None:
        raise RuleRuntimeError(f"unknown kind {write.kind.kind}: is its CustomResourceDefinition applied?")
    rtype = engine.api.registry.by_kind(*resolved)
    options = write.options
    template = dict(write.template)
    meta = dict(template.pop("metadata", None) or {})
    owner = options.get("owner")
    namespace = _namespace(rtype, options, meta, owner, anchor_key)
    objects = []
    for i in range(write.count):
        name = _name(engine, decl, anchor_key, write, options, meta, namespace, resolved, head, taken, i)
        obj = dict(template)
        obj["apiVersion"], obj["kind"] = rtype.api_version, rtype.kind
        obj["metadata"] = _metadata(meta, options, name, namespace, owner)
        objects.append(freeze(obj))
    return objects


def _namespace(rtype: Any, options: Mapping, meta: Mapping, owner: Any, anchor_key: tuple) -> str:
    if not rtype.namespaced:
        return ""
    for candidate in (options.get("namespace"), meta.get("namespace"),
                      (owner or {}).get("metadata", {}).get("namespace") if isinstance(owner, Mapping) else None,
                      anchor_key[2]):
        if candidate:
            return candidate
    return "default"


def _name(engine: Any, decl: Any, anchor_key: tuple, write: Any, options: Mapping, meta: Mapping,
          namespace: str, resolved: tuple, head: Any, taken: set, i: int) -> str:
    fixed = options.get("name") or meta.get("name")
    if fixed:
        if write.count > 1:
            raise RuleRuntimeError(f"create {write.count} objects with one fixed name {fixed!r}: use name_prefix")
        return fixed
    prefix = options.get("name_prefix") or meta.get("generateName")
    if not prefix:
        raise RuleRuntimeError("create needs a name or a name_prefix")
    # (a `create` in a loop makes one object each time, all with i 0: each takes the next free try)
    for attempt in range(100 + len(taken)):
        material = f"{engine.seed}|{head.revision}|{decl.qualname}|{anchor_key}|{i}|{attempt}"
        name = generate_name(prefix, suffix(material))
        key = (resolved[0], resolved[1], namespace, name)
        if key not in head.objects and key not in taken:
            taken.add(key)
            return name
    raise RuleRuntimeError(f"could not find a free name with prefix {prefix!r}")


def _metadata(meta: Mapping, options: Mapping, name: str, namespace: str, owner: Any) -> dict:
    out = dict(meta)
    prefix = out.pop("generateName", None)
    out["name"] = name
    if not (options.get("name") or meta.get("name")):
        # a generated name keeps its prefix, as the API server's generateName does
        out["generateName"] = options.get("name_prefix") or prefix
    if namespace:
        out["namespace"] = namespace
    for field in ("labels", "annotations"):
        extra = options.get(field)
        if extra:
            out[field] = {**(out.get(field) or {}), **extra}
    if isinstance(owner, Mapping):
        out["ownerReferences"] = [owner_reference(owner)]
    return out
