"""Patches: JSON merge patch (RFC 7386), JSON patch (RFC 6902), strategic merge.

Each function takes the stored object (frozen or plain) and a patch, and
returns the patched document plain: the apiserver decodes it as the body of
an update (copying it once, where a frozen result was frozen only to be
thawed), so an API client's patch leaves nulls and empty maps as upstream's
decode does (a strategic `annotations: {x: null}` on an object without
annotations leaves `annotations: {}` here, and no annotations once decoded).
A patch that cannot apply raises `PatchError` (the apiserver answers 422, as
upstream does).

Strategic merge patch is upstream's for the fields that matter here: lists
of maps merge by their merge key (containers by `name`, container ports by
`containerPort`, service ports by `port`, conditions by `type`, ...), the
`finalizers` list merges as a set, and the `$patch: delete|replace`,
`$deleteFromPrimitiveList/<field>`, `$setElementOrder/<field>` and
`$retainKeys` directives are understood.  Other lists replace, as in a merge patch.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from .errors import ReconError
from .objects import thaw

PATCH_TYPES = ("merge", "json", "strategic")


class PatchError(ReconError):
    """A patch that does not apply to the object (or is not a patch at all)."""


def apply_patch(target: Any, patch: Any, patch_type: str) -> Any:
    if patch_type == "merge":
        return merge_patch(target, patch)
    if patch_type == "json":
        return json_patch(target, patch)
    if patch_type == "strategic":
        return strategic_merge_patch(target, patch)
    raise PatchError(f"unsupported patch type {patch_type!r} (expected one of {', '.join(PATCH_TYPES)})")


# ------------------------------------------------------------- RFC 7386


def _merge(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _merge(result.get(key), value)
    return result


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: maps merge recursively, null deletes, everything else replaces."""
    if not isinstance(patch, Mapping):
        raise PatchError("a merge patch must be a JSON object")
    return _merge(thaw(target), thaw(patch))


# ------------------------------------------------------------- RFC 6902


class JSONPatchError(PatchError):
    """A JSON patch operation that does not apply, in the words of the JSON patch library
    kube-apiserver uses (evanphx/json-patch v4): `replace operation does not apply: doc is missing
    path: /spec/x: missing value`."""


_MISSING = ": missing value"
_BAD_INDEX = ": invalid index referenced"


def _pointer(path: Any) -> list[str]:
    if not isinstance(path, str) or (path and not path.startswith("/")):
        raise PatchError(f"invalid JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]]


def _index(container: list, token: str, adding: bool) -> int | None:
    """The list position `token` names, or None when it names none (an add may name the end)."""
    if adding and token == "-":
        return len(container)
    if not token.isdigit() or (token != "0" and token.startswith("0")):
        return None
    index = int(token)
    if index > len(container) or (not adding and index == len(container)):
        return None
    return index


def _parent(doc: Any, tokens: list[str]) -> Any:
    """The map or list holding the last token's place, or None when the path leads nowhere."""
    node = doc
    for token in tokens[:-1]:
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and _index(node, token, False) is not None:
            node = node[int(token)]
        else:
            return None
    return node if isinstance(node, (dict, list)) else None


def _get(doc: Any, tokens: list[str]) -> tuple[bool, Any]:
    """(found, value) at the path."""
    if not tokens:
        return True, doc
    parent, last = _parent(doc, tokens), tokens[-1]
    if isinstance(parent, dict) and last in parent:
        return True, parent[last]
    if isinstance(parent, list) and _index(parent, last, False) is not None:
        return True, parent[int(last)]
    return False, None


def _add(doc: Any, tokens: list[str], value: Any, path: str) -> Any:
    if not tokens:
        return value
    parent, last = _parent(doc, tokens), tokens[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        index = _index(parent, last, True)
        if index is None:
            raise JSONPatchError(f"error in add for path: '{path}': Unable to access invalid index: {last}{_BAD_INDEX}")
        parent.insert(index, value)
    else:
        raise JSONPatchError(f'add operation does not apply: doc is missing path: "{path}"{_MISSING}')
    return doc


def _remove(doc: Any, tokens: list[str], path: str) -> Any:
    parent = _parent(doc, tokens) if tokens else None
    if parent is None:
        raise JSONPatchError(f'remove operation does not apply: doc is missing path: "{path}"{_MISSING}')
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise JSONPatchError(f"error in remove for path: '{path}': Unable to remove nonexistent key: {last}{_MISSING}")
        del parent[last]
    else:
        index = _index(parent, last, False)
        if index is None:
            raise JSONPatchError(f"error in remove for path: '{path}': Unable to access invalid index: {last}{_BAD_INDEX}")
        del parent[index]
    return doc


def _apply_op(doc: Any, op: Mapping) -> Any:
    kind, path = op.get("op"), op.get("path")
    tokens = _pointer(path)
    if kind in ("add", "replace", "test") and "value" not in op:
        raise PatchError(f"operation {kind} needs a value")
    if kind == "add":
        return _add(doc, tokens, copy.deepcopy(op["value"]), path)
    if kind == "remove":
        return _remove(doc, tokens, path)
    if kind == "replace":
        if not tokens:
            return copy.deepcopy(op["value"])
        if _parent(doc, tokens) is None:
            raise JSONPatchError(f"replace operation does not apply: doc is missing path: {path}{_MISSING}")
        if not _get(doc, tokens)[0]:
            raise JSONPatchError(f"replace operation does not apply: doc is missing key: {path}{_MISSING}")
        return _add(_remove(doc, tokens, path), tokens, copy.deepcopy(op["value"]), path)
    if kind in ("move", "copy"):
        source = op.get("from")
        found, value = _get(doc, _pointer(source))
        if not found:
            raise JSONPatchError(f"{kind} operation does not apply: doc is missing from path: {source}{_MISSING}")
        value = copy.deepcopy(value)
        if kind == "move":
            doc = _remove(doc, _pointer(source), source)
        return _add(doc, tokens, value, path)
    if kind == "test":
        if tokens and _parent(doc, tokens) is None:
            raise JSONPatchError(f"test operation does not apply: is missing path: {path}{_MISSING}")
        value = _get(doc, tokens)[1]  # (an absent key tests as null)
        if value != op["value"]:
            raise JSONPatchError(f"testing value {path} failed: test failed")
        return doc
    raise PatchError(f"Unexpected kind: {kind}")


def json_patch(target: Any, ops: Any) -> Any:
    """RFC 6902: add, remove, replace, move, copy, test; all or nothing."""
    if not isinstance(ops, Sequence) or isinstance(ops, (str, Mapping)):
        raise PatchError("a JSON patch must be a list of operations")
    doc = thaw(target)
    for op in thaw(ops):
        if not isinstance(op, dict):
            raise PatchError("each JSON patch operation must be an object")
        doc = _apply_op(doc, op)
    return doc


# ------------------------------------------------------------ strategic merge

# field name → candidate merge keys (the first one the patch element carries wins)
MERGE_KEYS = {
    "containers": ("name",), "initContainers": ("name",), "ephemeralContainers": ("name",),
    "env": ("name",), "volumes": ("name",), "volumeMounts": ("mountPath",),
    "imagePullSecrets": ("name",), "ports": ("containerPort", "port"), "conditions": ("type",),
    "ownerReferences": ("uid",), "hostAliases": ("ip",), "addresses": ("type",),
}
SET_LISTS = ("finalizers",)
# Unions whose patch strategy is `retainKeys`: a Deployment's `strategy`, and each volume of a pod
# spec (its one source); kubectl apply lists the fields to keep in `$retainKeys`
RETAIN_KEYS = ("strategy",)
RETAIN_KEYS_ITEMS = ("volumes",)
_DIRECTIVE = "$patch"
_RETAIN = "$retainKeys"


def _merge_key(field: str, items: list) -> str | None:
    for key in MERGE_KEYS.get(field, ()):
        if any(isinstance(i, dict) and key in i for i in items):
            return key
    return None


def _merge_list(field: str, current: Any, patch: list) -> list:
    current = current if isinstance(current, list) else []
    if field in SET_LISTS:
        return current + [v for v in patch if v not in current]
    key = _merge_key(field, patch)
    if key is None:
        return [i for i in patch if not (isinstance(i, dict) and i.get(_DIRECTIVE))]
    result = list(current)
    for item in patch:
        if not isinstance(item, dict):
            result.append(copy.deepcopy(item))
            continue
        position = next((n for n, old in enumerate(result) if isinstance(old, dict) and old.get(key) == item.get(key)), None)
        if item.get(_DIRECTIVE) == "delete":
            if position is not None:
                del result[position]
        elif position is None:
            result.append(_strategic(None, item))
        else:
            result[position] = _strategic(result[position], item)
    return result


def _strategic(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    directive = patch.get(_DIRECTIVE)
    if directive == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != _DIRECTIVE}
    if directive == "delete":
        return None
    result = dict(target) if isinstance(target, dict) else {}
    if _RETAIN in patch:
        result = _retained(result, patch)
    for key, value in patch.items():
        if key == _DIRECTIVE or key.startswith("$setElementOrder/") or key == _RETAIN:
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.partition("/")[2]
            result[field] = [v for v in result.get(field) or () if v not in value]
        elif value is None:
            result.pop(key, None)
        elif isinstance(value, list):
            result[key] = _merge_list(key, result.get(key), value)
        else:
            merged = _strategic(result.get(key), value)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
    return result


def _retained(target: dict, patch: dict) -> dict:
    """The `$retainKeys: [...]` directive (the fields of a union, `patchStrategy: retainKeys`,
    such as a Deployment's `strategy` or a volume's source): of the object's fields, only those
    listed stay, so `strategy: {type: Recreate}` drops the `rollingUpdate` that went with the
    old type.  Every field the patch sets must be listed (upstream's applyRetainKeysDirective)."""
    keys = patch[_RETAIN]
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise PatchError("invalid patch format of retainKeys")
    for key, value in patch.items():
        if value is None or key.startswith("$"):
            continue
        if key not in keys:
            raise PatchError("invalid patch format of retainKeys")
    return {k: v for k, v in target.items() if k in keys}


def strategic_merge_patch(target: Any, patch: Any) -> Any:
    """Upstream's strategic merge patch for the common merge keys (see module doc)."""
    if not isinstance(patch, Mapping):
        raise PatchError("a strategic merge patch must be a JSON object")
    return _strategic(thaw(target), thaw(patch))
