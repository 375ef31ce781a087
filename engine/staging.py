"""The writes of one submit, staged over the head snapshot.

A `Staging` answers reads with what the submit has written so far (so two
requests of one rule instance on the same object chain), keeps the
registry in step with CustomResourceDefinitions staged in the same submit,
and finally turns the staged objects into the store ops of one Txn: one op
per key, with the stored resourceVersion as precondition.
"""

from __future__ import annotations

from typing import Any

from . import store as st
from .kinds import CRD_GROUP, CRD_KIND, Registry, crd_types
from .objects import Key, get_path, resource_version


class Staging:
    def __init__(self, snapshot: Any, registry: Registry, now: float, seed: str):
        self.snapshot = snapshot
        self.registry = registry
        self.revision = snapshot.revision + 1
        self.now = now
        self.seed = seed
        self.objects: dict[Key, Any] = {}
        # the submitting HTTP caller's RBAC check (engine.api.escalation.Grantor), None when unchecked
        self.grantor: Any = None
        # who submits (engine.access.Actor): a CertificateSigningRequest records its requester
        self.actor: Any = None

    # -- reads
    def get(self, key: Key) -> Any:
        return self.objects[key] if key in self.objects else self.snapshot.get(key)

    def keys(self, group: str, kind: str, namespace: str | None = None) -> list[Key]:
        keys = set(self.snapshot.keys(group, kind, namespace))
        for key, obj in self.objects.items():
            if key[:2] == (group, kind) and (namespace is None or key[2] == namespace):
                (keys.add if obj is not None else keys.discard)(key)
        return sorted(keys)

    def list(self, group: str, kind: str, namespace: str | None = None) -> list[Any]:
        return [self.get(k) for k in self.keys(group, kind, namespace)]

    # -- writes
    def put(self, key: Key, obj: Any) -> None:
        self._track_crd(key, obj)
        self.objects[key] = obj

    def remove(self, key: Key) -> None:
        self._track_crd(key, None)
        self.objects[key] = None

    def _track_crd(self, key: Key, new: Any) -> None:
        if key[:2] != (CRD_GROUP, CRD_KIND):
            return
        old = self.get(key)
        if old is not None:
            group, kind = get_path(old, "spec", "group"), get_path(old, "spec", "names", "kind")
            self.registry = self.registry.without(group or "", kind or "")
        if new is not None and not get_path(new, "metadata", "deletionTimestamp"):
            self.registry = self.registry.with_type(crd_types(new))

    def ops(self) -> tuple[st.Op, ...]:
        """One store op per staged key (none for an object created and removed again)."""
        ops = []
        for key, new in self.objects.items():
            old = self.snapshot.get(key)
            if new is None:
                if old is not None:
                    ops.append(st.delete(key, rv=resource_version(old)))
            elif old is None:
                ops.append(st.Op("create", key, new))
            else:
                ops.append(st.Op("update", key, new, resource_version(old)))
        return tuple(ops)
