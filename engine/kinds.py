"""The resource registry: which kinds exist, how they are named and scoped.

A `ResourceType` describes one kind the way kube-apiserver's discovery does
(group, version, plural, short names, categories, subresources).  The
`Registry` holds the built-in kinds plus those registered by the
CustomResourceDefinitions present in a snapshot; `Registry.for_snapshot`
reads only the CRD objects (through the kind index) and reuses the derived
type of each CRD until that CRD object is rewritten.

A custom kind's type also carries, per served version, what its CRD
declares for clients: the `additionalPrinterColumns` of `kubectl get` and
the paths the `scale` subresource reads and writes.

`resolve` answers the names kubectl accepts: `po`, `pods`, `pod`, `Pod`,
`deployments.apps`, `deploy.apps`, `widgets.example.com`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs
from pyrsistent import pmap

from .errors import ReconError
from .objects import get_path, resource_version

CRD_GROUP = "apiextensions.k8s.io"
CRD_KIND = "CustomResourceDefinition"


class UnknownKind(ReconError):
    """No built-in kind or CustomResourceDefinition answers to a name."""

    def __init__(self, message: str, name: str, group: str = ""):
        self.name = name
        self.group = group
        super().__init__(message)


@attrs.frozen
class PrinterColumn:
    """One of a CRD version's `additionalPrinterColumns`: a JSONPath shown as a column."""

    name: str
    type: str
    json_path: str
    format: str = ""
    description: str = ""
    priority: int = 0


@attrs.frozen
class ScalePaths:
    """A CRD version's `scale` subresource: where its replicas and label selector live."""

    spec_replicas: str
    status_replicas: str
    label_selector: str = ""


@attrs.frozen
class ResourceType:
    """One kind of resource, as discovery describes it."""

    group: str
    version: str
    kind: str
    plural: str
    singular: str = attrs.field(default=attrs.Factory(lambda self: self.kind.lower(), takes_self=True))
    short_names: tuple[str, ...] = ()
    namespaced: bool = True
    categories: tuple[str, ...] = ()
    subresources: frozenset[str] = frozenset()
    list_kind: str = attrs.field(default=attrs.Factory(lambda self: self.kind + "List", takes_self=True))
    # verbs that may create an absent object by updating it (upstream's AllowCreateOnUpdate)
    create_on_update: bool = False
    # kinds whose main writes bump metadata.generation when this part changes
    has_spec: bool = True
    # custom resources: served versions and their openAPIV3Schema, the CRD's revision
    versions: tuple[str, ...] = attrs.field(default=attrs.Factory(lambda self: (self.version,), takes_self=True))
    schemas: Mapping[str, Any] = attrs.field(factory=pmap, eq=False, repr=False)
    crd_revision: int = 0
    # custom resources, per served version: the printer columns and the scale subresource's paths
    printer_columns: Mapping[str, tuple[PrinterColumn, ...]] = attrs.field(factory=pmap, eq=False, repr=False)
    scale_paths: Mapping[str, ScalePaths] = attrs.field(factory=pmap, eq=False, repr=False)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def resource(self) -> str:
        """`pods`, `deployments.apps`: the group-qualified plural (upstream's GroupResource)."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def group_kind(self) -> str:
        """`Pod`, `Deployment.apps`: the group-qualified kind (upstream's GroupKind)."""
        return f"{self.kind}.{self.group}" if self.group else self.kind

    @property
    def is_custom(self) -> bool:
        return self.crd_revision > 0

    @property
    def has_status(self) -> bool:
        return "status" in self.subresources


def _t(group: str, kind: str, plural: str, *short: str, namespaced: bool = True,
       categories: tuple[str, ...] = (), sub: Iterable[str] = (), version: str = "v1",
       **kw: Any) -> ResourceType:
    return ResourceType(group, version, kind, plural, short_names=short, namespaced=namespaced,
                        categories=categories, subresources=frozenset(sub), **kw)


_ALL = ("all",)

BUILTINS: tuple[ResourceType, ...] = (
    _t("", "Namespace", "namespaces", "ns", namespaced=False, sub={"status", "finalize"}),
    _t("", "Node", "nodes", "no", namespaced=False, sub={"status"}),
    _t("", "Pod", "pods", "po", categories=_ALL, sub={"status", "binding", "eviction", "ephemeralcontainers"}),
    _t("", "ReplicationController", "replicationcontrollers", "rc", categories=_ALL, sub={"status", "scale"}),
    _t("", "Service", "services", "svc", categories=_ALL, sub={"status"}),
    _t("", "Endpoints", "endpoints", "ep", create_on_update=True, has_spec=False),
    _t("", "ConfigMap", "configmaps", "cm", has_spec=False),
    _t("", "Secret", "secrets", has_spec=False),
    _t("", "ServiceAccount", "serviceaccounts", "sa", has_spec=False, sub={"token"}),
    _t("", "Event", "events", "ev", create_on_update=True, has_spec=False),
    _t("", "PersistentVolumeClaim", "persistentvolumeclaims", "pvc", sub={"status"}),
    _t("", "PersistentVolume", "persistentvolumes", "pv", namespaced=False, sub={"status"}),
    _t("storage.k8s.io", "StorageClass", "storageclasses", "sc", namespaced=False, has_spec=False),
    _t("", "Binding", "bindings", has_spec=False),
    _t("discovery.k8s.io", "EndpointSlice", "endpointslices", has_spec=False),
    _t("coordination.k8s.io", "Lease", "leases", create_on_update=True),
    _t("apps", "Deployment", "deployments", "deploy", categories=_ALL, sub={"status", "scale"}),
    _t("apps", "ReplicaSet", "replicasets", "rs", categories=_ALL, sub={"status", "scale"}),
    _t("apps", "StatefulSet", "statefulsets", "sts", categories=_ALL, sub={"status", "scale"}),
    # the DaemonSet and StatefulSet controllers' record of each pod template they rolled out
    _t("apps", "ControllerRevision", "controllerrevisions", has_spec=False),
    _t("apps", "DaemonSet", "daemonsets", "ds", categories=_ALL, sub={"status"}),
    _t("batch", "Job", "jobs", categories=_ALL, sub={"status"}),
    _t("batch", "CronJob", "cronjobs", "cj", categories=_ALL, sub={"status"}),
    # stored as autoscaling/v2, served as autoscaling/v1 too (engine/autoscaling_v1.py converts)
    _t("autoscaling", "HorizontalPodAutoscaler", "horizontalpodautoscalers", "hpa", categories=_ALL, sub={"status"},
       version="v2", versions=("v2", "v1")),
    _t("policy", "PodDisruptionBudget", "poddisruptionbudgets", "pdb", sub={"status"}),
    _t("networking.k8s.io", "Ingress", "ingresses", "ing", sub={"status"}),
    _t("networking.k8s.io", "IngressClass", "ingressclasses", namespaced=False),
    # stored and validated; nothing filters traffic by them (upstream leaves that to a network plugin)
    _t("networking.k8s.io", "NetworkPolicy", "networkpolicies", "netpol"),
    _t("", "ResourceQuota", "resourcequotas", "quota", sub={"status"}),
    _t("", "LimitRange", "limitranges", "limits"),
    _t(CRD_GROUP, CRD_KIND, "customresourcedefinitions", "crd", "crds", namespaced=False,
       categories=("api-extensions",), sub={"status"}),
    _t("scheduling.k8s.io", "PriorityClass", "priorityclasses", "pc", namespaced=False, has_spec=False),
    # a pod's runtimeClassName is admitted against it (overhead, node selector, tolerations); the simulated
    # runtime runs every handler alike
    _t("node.k8s.io", "RuntimeClass", "runtimeclasses", namespaced=False, has_spec=False),
    # stored, validated and approved or denied; no signer issues their certificates
    _t("certificates.k8s.io", "CertificateSigningRequest", "certificatesigningrequests", "csr", namespaced=False,
       sub={"status", "approval"}),
    # stored, validated and defaulted; recon calls no webhook on any request
    _t("admissionregistration.k8s.io", "ValidatingWebhookConfiguration", "validatingwebhookconfigurations",
       namespaced=False, categories=("api-extensions",), has_spec=False),
    _t("admissionregistration.k8s.io", "MutatingWebhookConfiguration", "mutatingwebhookconfigurations",
       namespaced=False, categories=("api-extensions",), has_spec=False),
    _t("rbac.authorization.k8s.io", "Role", "roles", has_spec=False),
    _t("rbac.authorization.k8s.io", "RoleBinding", "rolebindings", has_spec=False),
    _t("rbac.authorization.k8s.io", "ClusterRole", "clusterroles", namespaced=False, has_spec=False),
    _t("rbac.authorization.k8s.io", "ClusterRoleBinding", "clusterrolebindings", namespaced=False, has_spec=False),
    # recon's own: the iptables rules kube-proxy derives for one Service (rules/proxy.rules)
    _t("proxy.recon.dev", "ServiceRules", "servicerules"),
)


# ---------------------------------------------------------------- from a CRD


def crd_types(crd: Mapping) -> ResourceType:
    """The ResourceType a CustomResourceDefinition object registers."""
    spec = crd.get("spec") or pmap()
    names = spec.get("names") or pmap()
    kind = names.get("kind") or ""
    served = [v for v in spec.get("versions") or () if v.get("served", True)]
    storage = next((v for v in served if v.get("storage")), served[0] if served else pmap())
    subresources: set[str] = set()
    schemas, columns, scales = {}, {}, {}
    for version in served:
        name = version.get("name")
        subresources.update((version.get("subresources") or pmap()).keys())
        schemas[name] = get_path(version, "schema", "openAPIV3Schema")
        columns[name] = _printer_columns(version)
        scale = _scale_paths(version)
        if scale is not None:
            scales[name] = scale
    return ResourceType(
        group=spec.get("group") or "",
        version=storage.get("name") or "v1",
        kind=kind,
        plural=names.get("plural") or kind.lower() + "s",
        singular=names.get("singular") or kind.lower(),
        short_names=tuple(names.get("shortNames") or ()),
        namespaced=spec.get("scope", "Namespaced") == "Namespaced",
        categories=tuple(names.get("categories") or ()),
        subresources=frozenset(subresources),
        list_kind=names.get("listKind") or kind + "List",
        has_spec=False,
        versions=tuple(v.get("name") for v in served),
        schemas=pmap(schemas),
        crd_revision=max(resource_version(crd), 1),
        printer_columns=pmap(columns),
        scale_paths=pmap(scales),
    )


def _printer_columns(version: Mapping) -> tuple[PrinterColumn, ...]:
    """A version's `additionalPrinterColumns`, in order (those without a name or path are skipped)."""
    return tuple(
        PrinterColumn(str(c["name"]), str(c.get("type") or "string"), str(c["jsonPath"]),
                      str(c.get("format") or ""), str(c.get("description") or ""), _int(c.get("priority")))
        for c in version.get("additionalPrinterColumns") or ()
        if isinstance(c, Mapping) and c.get("name") and c.get("jsonPath")
    )


def _scale_paths(version: Mapping) -> ScalePaths | None:
    scale = get_path(version, "subresources", "scale")
    if not isinstance(scale, Mapping):
        return None
    return ScalePaths(str(scale.get("specReplicasPath") or ".spec.replicas"),
                      str(scale.get("statusReplicasPath") or ".status.replicas"),
                      str(scale.get("labelSelectorPath") or ""))


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


# ------------------------------------------------------------------ registry


def _names_of(rt: ResourceType) -> set[str]:
    return {rt.plural, rt.singular, rt.kind.lower(), *rt.short_names}


class Registry:
    """Built-in kinds plus the kinds of the CRDs in one snapshot (immutable)."""

    def __init__(self, types: Iterable[ResourceType] = BUILTINS):
        self.types: tuple[ResourceType, ...] = tuple(types)
        self._by_kind = {(t.group, t.kind): t for t in self.types}
        self._by_name: dict[str, list[ResourceType]] = {}
        for rt in self.types:
            for name in _names_of(rt):
                self._by_name.setdefault(name, []).append(rt)

    def __iter__(self):
        return iter(self.types)

    def __contains__(self, group_kind: tuple[str, str]) -> bool:
        return group_kind in self._by_kind

    def by_kind(self, group: str, kind: str) -> ResourceType:
        rt = self._by_kind.get((group, kind))
        if rt is None:
            where = f'group "{group}"' if group else "the core group"
            raise UnknownKind(
                f'no matches for kind "{kind}" in {where}: ensure its '
                f"CustomResourceDefinition is installed first",
                kind, group,
            )
        return rt

    def get(self, group: str, kind: str) -> ResourceType | None:
        return self._by_kind.get((group, kind))

    def resolve(self, name: str) -> ResourceType:
        """The type kubectl means by `name` (short name, plural, singular, Kind, `plural.group`)."""
        found = self._lookup(name)
        if found is None:
            raise UnknownKind(
                f'the server doesn\'t have a resource type "{name}": ensure its '
                f"CustomResourceDefinition is installed first",
                name,
            )
        return found

    def _lookup(self, name: str) -> ResourceType | None:
        candidates = self._by_name.get(name.lower())
        if candidates:
            # built-ins first, then the core group (kubectl's priority), then by group name
            return min(candidates, key=lambda t: (t.is_custom, t.group != "", t.group))
        head, dot, group = name.lower().partition(".")
        for rt in self._by_name.get(head, []) if dot else ():
            if rt.group == group:
                return rt
        return None

    def find_kind(self, kind: str, snapshot: Any = None) -> ResourceType | None:
        """The type of a Kind name in any group (built-ins and the core group first), or None.

        With `snapshot`, the CRDs of that snapshot are consulted instead of this registry's.
        """
        registry = self if snapshot is None else Registry.for_snapshot(snapshot)
        found = [t for t in registry._by_name.get(kind.lower(), ()) if t.kind == kind]
        return min(found, key=lambda t: (t.is_custom, t.group != "", t.group)) if found else None

    def named(self, group: str | None, kind: str) -> ResourceType | None:
        """The type a rule's kind reference names: `group/Kind` in that group, a bare `Kind` (group
        None) in any (`find_kind`); None when no kind answers."""
        return self.get(group, kind) if group is not None else self.find_kind(kind)

    def category(self, name: str) -> list[ResourceType]:
        """The kinds in a category (`all`), in registry order."""
        return [t for t in self.types if name in t.categories]

    def with_type(self, rt: ResourceType) -> "Registry":
        """This registry with `rt` added or replacing the kind of the same group and kind."""
        return Registry([t for t in self.types if (t.group, t.kind) != (rt.group, rt.kind)] + [rt])

    def without(self, group: str, kind: str) -> "Registry":
        return Registry(t for t in self.types if (t.group, t.kind) != (group, kind))

    # -- from a snapshot
    @classmethod
    def for_snapshot(cls, snapshot: Any) -> "Registry":
        """Built-ins plus the kinds of the CRDs in `snapshot`.

        Reads only the CRD objects (the kind index).  Stored objects are
        immutable and keep their identity until rewritten, so the registry and
        each CRD's type are cached by the identity of the CRD objects: a new
        registry is built only when a CRD was created, changed or deleted.
        """
        crds = tuple(snapshot.list(CRD_GROUP, CRD_KIND))
        signature = tuple(id(c) for c in crds)
        cached = _REGISTRIES.get(signature)
        if cached is not None and all(a is b for a, b in zip(cached[0], crds)):
            return cached[1]
        registry = cls(BUILTINS + tuple(_crd_type(c) for c in crds if registers(c)))
        if len(_REGISTRIES) > 64:
            _REGISTRIES.clear()
        _REGISTRIES[signature] = (crds, registry)
        return registry


def registers(crd: Mapping) -> bool:
    """A CRD registers its kind while it exists and is not being deleted."""
    return not get_path(crd, "metadata", "deletionTimestamp") and bool(get_path(crd, "spec", "names", "kind"))


_CRD_TYPES: dict[int, tuple[Mapping, ResourceType]] = {}
_REGISTRIES: dict[tuple[int, ...], tuple[tuple, Registry]] = {}


def _crd_type(crd: Mapping) -> ResourceType:
    cached = _CRD_TYPES.get(id(crd))
    if cached is not None and cached[0] is crd:
        return cached[1]
    if len(_CRD_TYPES) > 1024:
        _CRD_TYPES.clear()
    rt = crd_types(crd)
    _CRD_TYPES[id(crd)] = (crd, rt)
    return rt


BUILTIN = Registry()
