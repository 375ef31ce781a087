"""The apiserver: the only holder of the store, and the only writer.

Every write is a `Request` by an `Actor`.  `APIServer.submit` takes the
requests of one rule instance (or one manifest, one HTTP call) and applies
them as ONE store Txn: each is authorized, admitted, defaulted and
validated against the state the earlier requests staged; if any fails,
nothing lands and the first failure's `APIError` is raised.  The Txn carries
the actor's name and the cause, so the history records who did what and why.

The pipeline per request, upstream's order:

    resolve kind → authorize → (create) namespace lifecycle, generateName,
    pod admission → strategy (system metadata, status separation, defaults,
    generation) → validation → stage (graceful deletion decides delete/put)

Reads (`get`, `list`, `watch`) are authorized too and use the store's
indexes: a list by label equality reads the label index, a list of pods by
`spec.nodeName` the node index, a list by `metadata.name` one key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from . import admission, csr, defaulting, deletion, listing, managedfields, rbac_reconcile, strategy
from . import request as rq
from . import store as st
from .access import MANIFESTS, SYSTEM, Actor, Permissions, authorize, forbidden
from .apierrors import (MODIFIED, APIError, PermanentAPIError, already_exists, bad_request, conflict,
                        forbidden_error, gone, invalid_error, method_not_allowed, no_such_resource, not_found,
                        rejected_patch, unprocessable)
from .kinds import CRD_GROUP, CRD_KIND, Registry, ResourceType, UnknownKind
from .naming import generate_name, name_suffix
from .objects import Key, freeze, get_path, resource_version, set_path, thaw
from .patch import JSONPatchError, PatchError, apply_patch
from .request import Request
from .selectors import FieldSelector, Selector
from .staging import Staging
from .validation import SYSTEM_PRIORITY_CLASSES, validate

__all__ = ["APIError", "APIServer", "Actor", "Permissions", "Request", "SYSTEM", "MANIFESTS"]

BOOT_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
# The default class a kind or minikube cluster comes with; rules/volume-provisioner.rules simulates its
# provisioner (and any other but kubernetes.io/no-provisioner).
DEFAULT_STORAGE_CLASS = {
    "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
    "metadata": {"name": "standard", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
    "provisioner": "recon.dev/simulated", "reclaimPolicy": "Delete", "volumeBindingMode": "Immediate",
}
# The Service for the API itself, on the first address of the service CIDR (the apiserver's
# "kubernetes" service controller).
KUBERNETES_SERVICE = {
    "apiVersion": "v1", "kind": "Service",
    "metadata": {"name": "kubernetes", "namespace": "default",
                 "labels": {"component": "apiserver", "provider": "kubernetes"}},
    "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.1", "clusterIPs": ["10.96.0.1"],
             "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack", "sessionAffinity": "None",
             "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}]},
}


@attrs.frozen
class _Result:
    key: Key
    scale: bool = False
    # An update that removed the object (its last finalizer gone while it was being deleted):
    # the object as it last was, which the request answers with, as upstream's registry does
    gone: Mapping | None = None


class APIServer:
    def __init__(self, store: st.Store, clock: Any, seed: str = "recon"):
        self.store = store
        self.clock = clock
        self.seed = seed

    @property
    def head(self) -> st.Snapshot:
        return self.store.head

    @property
    def registry(self) -> Registry:
        return Registry.for_snapshot(self.store.head)

    # ------------------------------------------------------------ writes
    def submit(self, actor: Actor, requests: Sequence[Request],
               cause: tuple = ()) -> tuple[st.Snapshot, tuple[st.Event, ...]]:
        """Apply `requests` atomically as one Txn (nothing lands if one fails)."""
        snap, _staging, _results, events = self._run(actor, requests, cause)
        return snap, events

    def create(self, actor: Actor, obj: Mapping, namespace: str | None = None, *,
               dry_run: bool = False, cause: tuple = ()) -> Mapping:
        group, kind = _group_kind(obj)
        return self._one(actor, Request("create", group, kind, namespace, None, obj, dry_run=dry_run), cause)

    def update(self, actor: Actor, obj: Mapping, *, subresource: str | None = None, rv: int | None = None,
               dry_run: bool = False, cause: tuple = ()) -> Mapping:
        group, kind = _group_kind(obj)
        meta = obj.get("metadata") or {}
        request = Request("update", group, kind, meta.get("namespace"), meta.get("name"), obj,
                          subresource=subresource, rv=rv, dry_run=dry_run)
        return self._one(actor, request, cause)

    def patch(self, actor: Actor, group: str, kind: str, namespace: str | None, name: str, patch: Any,
              patch_type: str = "merge", *, subresource: str | None = None, rv: int | None = None,
              dry_run: bool = False, cause: tuple = ()) -> Mapping:
        request = Request("patch", group, kind, namespace, name, patch, subresource=subresource,
                          patch_type=patch_type, rv=rv, dry_run=dry_run)
        return self._one(actor, request, cause)

    def delete(self, actor: Actor, group: str, kind: str, namespace: str | None, name: str, *,
               grace_period: int | None = None, rv: int | None = None, dry_run: bool = False,
               propagation: str | None = None, cause: tuple = ()) -> Mapping | None:
        """Delete; returns the object when it stays (being deleted), None when it is gone.

        `propagation` is the DeleteOptions propagationPolicy: Foreground, Background or Orphan.
        """
        body = {"propagationPolicy": propagation} if propagation is not None else None
        request = Request("delete", group, kind, namespace, name, body=body, grace_period=grace_period, rv=rv,
                          dry_run=dry_run)
        return self._one(actor, request, cause)

    def request(self, actor: Actor, request: Request, cause: tuple = ()) -> Mapping | None:
        """Submit one request (any verb, any subresource); the object it leaves (a Scale for /scale),
        None when it deleted the object.  The HTTP API's entry point."""
        return self._one(actor, request, cause)

    def bind(self, actor: Actor, namespace: str, pod: str, node: str, *, cause: tuple = ()) -> Mapping:
        """Create a Binding of `pod` to `node` (the scheduler's write)."""
        body = {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": pod, "namespace": namespace},
                "target": {"apiVersion": "v1", "kind": "Node", "name": node}}
        return self._one(actor, Request("create", "", "Binding", namespace, pod, body), cause)

    def bootstrap(self) -> st.Snapshot:
        """Create the system namespaces, priority classes and `kubernetes` Service that are missing, the
        default StorageClass `standard` when there is no StorageClass at all, and create or bring up to
        date the default RBAC roles and bindings (`rbac_reconcile`); idempotent: a second start with
        nothing changed writes nothing."""
        head = self.store.head
        requests = [
            Request("create", "", "Namespace", None, name, {"apiVersion": "v1", "kind": "Namespace",
                                                            "metadata": {"name": name}})
            for name in BOOT_NAMESPACES if head.get(("", "Namespace", "", name)) is None
        ]
        for name, value in SYSTEM_PRIORITY_CLASSES.items():
            if head.get(("scheduling.k8s.io", "PriorityClass", "", name)) is None:
                body = {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": name},
                        "value": value, "description": "Used for system critical pods that must run in the cluster, "
                                                      "but can be moved to another node if necessary."}
                requests.append(Request("create", "scheduling.k8s.io", "PriorityClass", None, name, body))
        if head.get(("", "Service", "default", "kubernetes")) is None:
            requests.append(Request("create", "", "Service", "default", "kubernetes", KUBERNETES_SERVICE))
        requests += rbac_reconcile.ensure_policy(head)
        if not head.list("storage.k8s.io", "StorageClass"):  # (as kind and minikube ship one)
            requests.append(Request("create", "storage.k8s.io", "StorageClass", None, "standard",
                                    DEFAULT_STORAGE_CLASS))
        if not requests:
            return head
        return self.submit(SYSTEM, requests, cause=("bootstrap",))[0]

    # ------------------------------------------------------------- reads
    def get(self, actor: Actor, group: str, kind: str, namespace: str | None, name: str,
            subresource: str | None = None, snapshot: st.Snapshot | None = None) -> Mapping:
        snap = snapshot or self.store.head
        rt = _type(Registry.for_snapshot(snap), group, kind)
        ns = (namespace or "default") if rt.namespaced else ""
        authorize(actor, "get", rt, ns, name, subresource)
        obj = snap.get((rt.group, rt.kind, ns, name))
        if obj is None:
            raise not_found(rt.resource, name, rt.group)
        return strategy.scale_of(obj, rt) if subresource == "scale" else obj

    def list(self, actor: Actor, group: str, kind: str, namespace: str | None = None,
             label_selector: str | Selector | None = None, field_selector: str | FieldSelector | None = None,
             snapshot: st.Snapshot | None = None) -> tuple[list[Mapping], int]:
        """Objects of a kind (in a namespace) matching the selectors, sorted by key; and the revision."""
        snap = snapshot or self.store.head
        rt = _type(Registry.for_snapshot(snap), group, kind)
        ns = namespace if rt.namespaced and namespace else None
        authorize(actor, "list", rt, ns, None)
        labels, fields = listing.parse_selectors(rt, label_selector, field_selector)
        items = []
        for key in listing.candidates(snap, rt, ns, labels, fields):
            obj = snap.get(key)
            if obj is not None and (ns is None or key[2] == ns) and labels.matches(
                    get_path(obj, "metadata", "labels") or {}) and fields.matches(obj):
                items.append(obj)
        return items, snap.revision

    def watch(self, actor: Actor, group: str, kind: str, namespace: str | None = None,
              since: int | None = None) -> st.Watch:
        rt = _type(self.registry, group, kind)
        ns = namespace if rt.namespaced and namespace else None
        authorize(actor, "watch", rt, ns, None)
        try:
            return self.store.watch(rt.group, rt.kind, ns, since)
        except st.TooOld as exc:
            raise gone(f"too old resource version: {exc.revision} ({exc.oldest})") from None

    # --------------------------------------------------------- the pipeline
    def _one(self, actor: Actor, request: Request, cause: tuple) -> Mapping | None:
        snap, staging, results, _events = self._run(actor, [request], cause)
        result = results[0]
        obj = staging.get(result.key) if request.dry_run else snap.get(result.key)
        if obj is None and result.gone is not None:
            obj = result.gone if request.dry_run else set_path(result.gone, ("metadata", "resourceVersion"),
                                                                 str(snap.revision))
        if obj is None:
            return None
        return strategy.scale_of(obj, staging.registry.get(*result.key[:2])) if result.scale else obj

    def _run(self, actor: Actor, requests: Sequence[Request], cause: tuple):
        requests = tuple(requests)
        head = self.store.head
        if len({r.dry_run for r in requests}) > 1:
            raise bad_request("a submit must be all dry-run or none")
        staging = Staging(head, Registry.for_snapshot(head), self.clock.now(), self.seed)
        staging.grantor = actor.grantor
        staging.actor = actor
        results = [self._apply(actor, staging, request, index) for index, request in enumerate(requests)]
        if not requests or requests[0].dry_run:
            return head, staging, results, ()
        txn = st.Txn(staging.ops(), actor=actor.name, cause=tuple(cause))
        try:
            snap, events = self.store.commit(txn, time=staging.now)
        except st.Conflict as exc:
            group, kind, _ns, name = exc.key
            rt = staging.registry.get(group, kind)
            raise conflict(rt.resource if rt else kind, name, MODIFIED, group) from None
        return snap, staging, results, events

    def _apply(self, actor: Actor, staging: Staging, req: Request, index: int) -> _Result:
        if (req.group, req.kind) == ("", "Binding") or req.subresource == "binding":
            return self._bind(actor, staging, req)
        rt = _type(staging.registry, req.group, req.kind)
        namespace = rq.request_namespace(rt, req)
        name = req.name or (get_path(req.body, "metadata", "name") if isinstance(req.body, Mapping) else None)
        authorize(actor, req.verb, rt, namespace, name, req.subresource)
        if req.subresource and req.subresource not in rt.subresources:
            raise no_such_resource(kind=rt.plural, group=rt.group, name=name)
        if req.verb in ("create", "update"):
            req = _declared_only(staging, rt, req, namespace, name)
        handler = {"create": self._create, "update": self._update, "patch": self._patch, "delete": self._delete}
        return handler[req.verb](staging, rt, req, namespace, index)

    # -- create
    def _create(self, staging: Staging, rt: ResourceType, req: Request, namespace: str, index: int,
                body: dict | None = None, managed: list | None = None) -> _Result:
        if req.subresource:
            raise method_not_allowed()
        body = rq.decode_body(rt, req) if body is None else body
        meta = body["metadata"]
        if rt.namespaced:
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        if meta.get("resourceVersion"):
            raise bad_request("resourceVersion should not be set on objects to be created")
        requested = meta.get("name") or ""
        if not requested and meta.get("generateName"):
            meta["name"] = self._generate_name(staging, rt, namespace, meta["generateName"], index)
        name = meta.get("name") or ""
        key = (rt.group, rt.kind, namespace, name)
        if rt.namespaced:
            admission.admit_namespace(staging, rt, namespace, name)
        if (rt.group, rt.kind) == ("", "Pod"):
            admission.admit_service_account(staging, body, requested)
            defaulting.admit_pod(body, staging.list("scheduling.k8s.io", "PriorityClass"))
            # (mutating admission before PrepareForCreate, as upstream: the QoS class sees the defaults)
            body = admission.admit_limit_ranges(staging, body)
            admission.admit_runtime_class(staging, body, requested)
        if (rt.group, rt.kind) == ("", "PersistentVolumeClaim"):
            admission.admit_default_storage_class(staging, body)
        if (rt.group, rt.kind) in admission.PROTECTION_FINALIZERS:
            admission.admit_storage_protection(rt, body)
        if (rt.group, rt.kind) == (csr.GROUP, csr.KIND):
            csr.stamp_requester(body, staging.actor)
        obj = strategy.prepare_create(rt, body, key, self.seed, staging.revision, staging.now)
        obj = _managed_fields(rt, req, None, obj, staging.now, managed)
        _confirm_grant(staging, rt, req, obj, None)
        admission.validate_or_raise(staging, rt, obj, None)
        if (rt.group, rt.kind) == ("", "Pod"):
            admission.refuse_unclaimed_overhead(staging, obj)
        if (rt.group, rt.kind) == ("", "PersistentVolumeClaim"):
            admission.admit_claim_limit_ranges(staging, obj)
        admission.charge_quota(staging, rt, obj)
        if staging.get(key) is not None:
            raise already_exists(rt.resource, name, rt.group)
        staging.put(key, obj)
        return _Result(key)

    def _generate_name(self, staging: Staging, rt: ResourceType, namespace: str, base: str, index: int) -> str:
        for attempt in range(64):
            name = generate_name(base, name_suffix(f"{self.seed}/{staging.revision}/{index}", attempt))
            if staging.get((rt.group, rt.kind, namespace, name)) is None:
                return name
        raise already_exists(rt.resource, base, rt.group)

    # -- update and patch
    def _update(self, staging: Staging, rt: ResourceType, req: Request, namespace: str, index: int,
                body: dict | None = None, managed: list | None = None) -> _Result:
        scale = req.subresource == "scale"
        if body is None:
            body = rq.decode_scale(req) if scale else rq.decode_body(rt, req, deep=req.subresource is None)
        name = rq.checked_name(req, body, rt, namespace)
        key = (rt.group, rt.kind, namespace, name)
        old = staging.get(key)
        if old is None:
            if rt.create_on_update and not req.subresource:
                return self._create(staging, rt, attrs.evolve(req, verb="create", rv=None), namespace, index, body)
            raise not_found(rt.resource, name, rt.group)
        rq.check_preconditions(rt, req, old, body)
        if scale:
            errors = strategy.scale_errors(body)
            if errors:
                raise invalid_error("Scale.autoscaling", name, errors, "autoscaling")
            new = strategy.prepare_scale(rt, old, body)
        elif req.subresource in ("status", "finalize", "approval"):
            new = strategy.prepare_status(rt, old, body, req.subresource, staging.now)
        elif req.subresource == "ephemeralcontainers":
            new = strategy.prepare_ephemeral_containers(old, body)
        else:
            new = strategy.prepare_update(rt, old, body)
        new = _managed_fields(rt, req, old, new, staging.now, managed)
        if not req.subresource:
            _confirm_grant(staging, rt, req, new, old)
        admission.validate_or_raise(staging, rt, new, old, req.subresource)
        if req.subresource == "approval":  # (validated first: a bad request is 422 whoever sends it)
            admission.admit_csr_approval(staging, new)
        if not req.subresource:
            if (rt.group, rt.kind) == ("", "PersistentVolumeClaim"):
                admission.admit_claim_limit_ranges(staging, new, old)
            admission.charge_quota(staging, rt, new, old)
        if deletion.removed_by_update(rt, old, new):
            self._remove(staging, rt, key)
            return _Result(key, scale, gone=new)
        staging.put(key, new)
        return _Result(key, scale)

    def _patch(self, staging: Staging, rt: ResourceType, req: Request, namespace: str, index: int) -> _Result:
        key = (rt.group, rt.kind, namespace, req.name or "")
        old = staging.get(key)
        if req.patch_type == "apply":
            return self._server_side_apply(staging, rt, req, namespace, index, old)
        if old is None:
            raise not_found(rt.resource, req.name or "", rt.group)
        target = strategy.scale_of(old, rt) if req.subresource == "scale" else old
        try:
            patched = apply_patch(target, req.body, req.patch_type)
        except JSONPatchError as exc:
            raise rejected_patch(str(exc)) from None
        except PatchError as exc:
            raise unprocessable(str(exc), name=req.name, group=rt.group, kind=rt.kind) from None
        if not isinstance(patched, Mapping):
            raise bad_request("the patch did not produce an object")
        update = attrs.evolve(req, verb="update", body=patched)
        body = thaw(patched) if req.subresource == "scale" else rq.decode_body(rt, update)
        return self._update(staging, rt, update, namespace, index, body)

    def _server_side_apply(self, staging: Staging, rt: ResourceType, req: Request, namespace: str, index: int,
                           old: Mapping | None) -> _Result:
        """Server-side apply: merge the configuration as its field manager; create when absent."""
        if req.subresource not in (None, "status"):
            raise method_not_allowed(f"apply is not supported on the {req.subresource} subresource")
        if old is None and req.subresource:
            raise not_found(rt.resource, req.name or "", rt.group)
        try:
            body, managed = managedfields.apply_object(rt, old, req.body, req.field_manager or "", req.force,
                                                       req.subresource, staging.now)
        except managedfields.Conflicts as exc:
            raise exc.error() from None
        write = attrs.evolve(req, verb="update" if old is not None else "create", body=body)
        body = rq.decode_body(rt, write)
        rq.checked_name(write, body, rt, namespace)
        if old is None:
            return self._create(staging, rt, write, namespace, index, body, managed)
        return self._update(staging, rt, write, namespace, index, body, managed)

    # -- delete
    def _delete(self, staging: Staging, rt: ResourceType, req: Request, namespace: str, index: int) -> _Result:
        if req.subresource:
            raise method_not_allowed()
        name = req.name or ""
        key = (rt.group, rt.kind, namespace, name)
        old = staging.get(key)
        if old is None:
            raise not_found(rt.resource, name, rt.group)
        if req.rv is not None and rq.parse_rv(req.rv) != resource_version(old):
            raise conflict(rt.resource, name, MODIFIED, rt.group)
        if (rt.group, rt.kind) == ("", "Namespace") and name in deletion.IMMORTAL_NAMESPACES:
            raise forbidden_error("namespaces", name, "this namespace may not be deleted")
        propagation = rq.propagation_policy(req)
        action, new = deletion.plan_delete(rt, old, req.grace_period, staging.now, propagation)
        if action == "delete":
            self._remove(staging, rt, key)
        elif action == "put":
            staging.put(key, new)
        return _Result(key)

    def _remove(self, staging: Staging, rt: ResourceType, key: Key) -> None:
        """Remove an object; a CRD takes the objects of its kind with it."""
        if (rt.group, rt.kind) == (CRD_GROUP, CRD_KIND):
            crd = staging.get(key)
            group, kind = get_path(crd, "spec", "group") or "", get_path(crd, "spec", "names", "kind") or ""
            for instance in staging.keys(group, kind):
                staging.remove(instance)
        staging.remove(key)

    # -- binding
    def _bind(self, actor: Actor, staging: Staging, req: Request) -> _Result:
        pods = staging.registry.by_kind("", "Pod")
        if req.verb != "create":
            raise method_not_allowed()
        binding = thaw(req.body) if isinstance(req.body, Mapping) else {}
        meta = binding.setdefault("metadata", {})
        namespace = req.namespace or meta.get("namespace") or "default"
        name = meta.get("name") or req.name or ""
        meta.update(name=name, namespace=namespace)
        if not (actor.allows("create", "", "Binding") or actor.allows("create", "", "Pod", "binding")):
            raise forbidden(actor, "create", pods, namespace, None, "binding")
        errors = validate(staging.registry.by_kind("", "Binding"), freeze(binding))
        if errors:
            raise invalid_error("Binding", name, errors)
        key = ("", "Pod", namespace, name)
        pod = staging.get(key)
        if pod is None:
            raise not_found("pods", name)
        if get_path(pod, "metadata", "deletionTimestamp"):
            raise conflict("pods/binding", name, f"pod {name} is being deleted, cannot be assigned to a host")
        node = get_path(pod, "spec", "nodeName")
        if node:
            raise conflict("pods/binding", name, f'pod {name} is already assigned to node "{node}"')
        if get_path(pod, "spec", "schedulingGates"):  # (upstream's registry: a plain error, a 500)
            raise PermanentAPIError("InternalError", f"Internal error occurred: pod {name} has non-empty "
                                    ".spec.schedulingGates", code=500)
        staging.put(key, strategy.prepare_binding(pod, binding, staging.now))
        return _Result(key)


# ------------------------------------------------------------------ helpers


def _managed_fields(rt: ResourceType, req: Request, old: Mapping | None, new: Mapping, now: float,
                    managed: list | None) -> Mapping:
    """metadata.managedFields of a write: an apply's, an Update recorded for the request's field
    manager, or (no field manager: rules, the manifests folder) the stored ones kept."""
    if managed is not None:
        return managedfields.with_documents(new, managed)
    if req.field_manager is None:
        return managedfields.preserve(old, new)
    return managedfields.track(rt, old, new, req.field_manager, req.subresource, now)


def _declared_only(staging: Staging, rt: ResourceType, req: Request, namespace: str, name: str | None) -> Request:
    """A rule's `req` with its body rid of the fields its built-in kind does not declare, as
    upstream's decode leaves a body (an API client's body was checked by its `fieldValidation`,
    the manifests folder's is refused when it has one, as kubectl's Strict; a custom resource is
    pruned by its schema, whoever writes it).  Of an update only the paths it sets are looked at."""
    if not req.by_rule or rt.is_custom:
        return req
    body = rq.drop_undeclared(rt, req.body) if req.verb == "create" else rq.drop_undeclared(rt, req.body, req.sets)
    return req if body is req.body else attrs.evolve(req, body=body)


def _group_kind(obj: Mapping) -> tuple[str, str]:
    return str(obj.get("apiVersion") or "").rpartition("/")[0], obj.get("kind") or ""


def _confirm_grant(staging: Staging, rt: ResourceType, req: Request, obj: Mapping, old: Mapping | None) -> None:
    """Upstream's policybased RBAC storage: the caller may not grant through a Role or binding what
    it does not hold, judged by the state before this submit, and before the wrapped storage
    validates the object or finds its name taken (so a refusal is 403 whatever else is wrong)."""
    if staging.grantor is not None:
        staging.grantor.check_write(staging.snapshot, rt.group, rt.kind, get_path(obj, "metadata", "namespace") or "",
                                    obj, old, req.name)


def _type(registry: Registry, group: str, kind: str) -> ResourceType:
    try:
        return registry.by_kind(group, kind)
    except UnknownKind as exc:
        raise no_such_resource(str(exc), kind=kind, group=group) from None
