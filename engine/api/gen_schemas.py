"""Generate `engine/api/schemas.json.gz`: the OpenAPI v3 schemas of the built-in kinds.

Run by hand, with the official Kubernetes Python client of the 1.32 line
installed (it is a test dependency, never a runtime one):

    .venv/bin/pip install 'kubernetes==32.0.1'
    .venv/bin/python -m engine.api.gen_schemas

The client is generated from kube-apiserver's OpenAPI document, and every
model class keeps what we need: `openapi_types` (each field's type:
`str`, `int`, `list[V1Container]`, `dict(str, str)`, `V1PodSpec`, ...),
`attribute_map` (the JSON name of each field), the description of each field
(its property docstring) and which fields are required (the setters refuse
`None`).  The client keeps no description of the types themselves, so a
schema has none (`kubectl explain pod` shows `<empty>` at the top; every
field has its description).

Which group a model belongs to is read from the client's API modules: the
path of each create/read call names the group and version, its response
type the kind; nested types belong to the group of the first kind that
reaches them (meta types first, then the core group, then the other groups).
Definition names follow upstream (`io.k8s.api.core.v1.PodSpec`,
`io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta`, ...).

Lost in the client and restored here from tables: `IntOrString` and
`Quantity` fields (the client has `object` and `str`; defined as upstream's
OpenAPI v3 defines them, `oneOf` unions without a `type` and with their
descriptions, so `kubectl explain` names them), `Time`/`MicroTime`
(the client has `datetime`), and the list extensions
(`x-kubernetes-list-type`, `x-kubernetes-list-map-keys`,
`x-kubernetes-patch-strategy`, `x-kubernetes-patch-merge-key`) of the lists
whose merge semantics matter (engine/patch.py merges by the same keys).
Free-form fields (`object` in the client: RawExtension, FieldsV1, JSON) are
marked `x-kubernetes-preserve-unknown-fields` so field validation never
reports what is inside them.
"""

from __future__ import annotations

import gzip
import inspect
import json
import re
from pathlib import Path
from typing import Any

OUT = Path(__file__).with_name("schemas.json.gz")
REF = "#/components/schemas/"

# client API module → group (the module's paths say the version)
API_MODULES = {
    "core_v1_api": "", "apps_v1_api": "apps", "batch_v1_api": "batch", "networking_v1_api": "networking.k8s.io",
    "rbac_authorization_v1_api": "rbac.authorization.k8s.io", "discovery_v1_api": "discovery.k8s.io",
    "coordination_v1_api": "coordination.k8s.io", "scheduling_v1_api": "scheduling.k8s.io",
    "policy_v1_api": "policy", "autoscaling_v1_api": "autoscaling", "autoscaling_v2_api": "autoscaling",
    "storage_v1_api": "storage.k8s.io", "apiextensions_v1_api": "apiextensions.k8s.io",
    "authorization_v1_api": "authorization.k8s.io", "authentication_v1_api": "authentication.k8s.io",
    "node_v1_api": "node.k8s.io", "events_v1_api": "events.k8s.io",
    "apiregistration_v1_api": "apiregistration.k8s.io", "certificates_v1_api": "certificates.k8s.io",
    "admissionregistration_v1_api": "admissionregistration.k8s.io",
}
# kinds served only as subresources (their paths name the parent's group)
SUBRESOURCE_KINDS = {"V1Scale": ("autoscaling", "v1"), "V1Eviction": ("policy", "v1")}
# group → upstream Go package of its types
PACKAGES = {
    "": "io.k8s.api.core", "apiextensions.k8s.io": "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions",
    "rbac.authorization.k8s.io": "io.k8s.api.rbac",
    "apiregistration.k8s.io": "io.k8s.kube-aggregator.pkg.apis.apiregistration",
}
META = "io.k8s.apimachinery.pkg.apis.meta.v1"
META_TYPES = {
    "V1ObjectMeta", "V1ListMeta", "V1LabelSelector", "V1LabelSelectorRequirement", "V1ManagedFieldsEntry",
    "V1OwnerReference", "V1Status", "V1StatusDetails", "V1StatusCause", "V1DeleteOptions", "V1Preconditions",
    "V1Condition", "V1APIResource", "V1APIResourceList", "V1APIGroup", "V1APIGroupList", "V1APIVersions",
    "V1GroupVersionForDiscovery", "V1ServerAddressByClientCIDR", "V1WatchEvent",
}
INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
TIME, MICRO_TIME = f"{META}.Time", f"{META}.MicroTime"
INT_OR_STRING_DOC = (
    "IntOrString is a type that can hold an int32 or a string.  When used in JSON or YAML marshalling and "
    "unmarshalling, it produces or consumes the inner type.  This allows you to have, for example, a JSON field "
    "that can accept a name or number.")
QUANTITY_DOC = (
    "Quantity is a fixed-point representation of a number. It provides convenient marshaling/unmarshaling in JSON "
    "and YAML, in addition to String() and AsInt64() accessors.\n\nThe serialization format is:\n\n``` <quantity>"
    "        ::= <signedNumber><suffix>\n\n\t(Note that <suffix> may be empty, from the \"\" case in <decimalSI>.)"
    "\n\n<digit>           ::= 0 | 1 | ... | 9 <digits>          ::= <digit> | <digit><digits> <number>          "
    "::= <digits> | <digits>.<digits> | <digits>. | .<digits> <sign>            ::= \"+\" | \"-\" <signedNumber>    "
    "::= <number> | <sign><number> <suffix>          ::= <binarySI> | <decimalExponent> | <decimalSI> <binarySI>"
    "        ::= Ki | Mi | Gi | Ti | Pi | Ei\n\n\t(International System of units; See: "
    "http://physics.nist.gov/cuu/Units/binary.html)\n\n<decimalSI>       ::= m | \"\" | k | M | G | T | P | E"
    "\n\n\t(Note that 1024 = 1Ki but 1000 = 1k; I didn't choose the capitalization.)\n\n<decimalExponent> ::= "
    "\"e\" <signedNumber> | \"E\" <signedNumber> ```\n\nNo matter which of the three exponent forms is used, no "
    "quantity may represent a number greater than 2^63-1 in magnitude, nor may it have more than 3 decimal places. "
    "Numbers larger or more precise will be capped or rounded up. (E.g.: 0.1m will rounded up to 1m.) This may be "
    "extended in the future if we require larger or smaller quantities.\n\nWhen a Quantity is parsed from a "
    "string, it will remember the type of suffix it had, and will use the same type again when it is serialized."
    "\n\nBefore serializing, Quantity will be put in \"canonical form\". This means that Exponent/suffix will be "
    "adjusted up or down (with a corresponding increase or decrease in Mantissa) such that:\n\n- No precision is "
    "lost - No fractional digits will be emitted - The exponent (or suffix) is as large as possible.\n\nThe sign "
    "will be omitted unless the number is negative.\n\nExamples:\n\n- 1.5 will be serialized as \"1500m\" - "
    "1.5Gi will be serialized as \"1536Mi\"\n\nNote that the quantity will NEVER be internally represented by a "
    "floating point number. That is the whole point of this exercise.\n\nNon-canonical values will still parse as "
    "long as they are well formed, but will be re-emitted in their canonical form. (So always use canonical form, "
    "or don't diff.)\n\nThis format is intended to make it difficult to use these numbers without writing some "
    "sort of special handling code in the hopes that that will cause implementors to also use a fixed point "
    "implementation.")
# (IntOrString and Quantity from their OpenAPIV3OneOfTypes: kubectl explain prints the name of a referred
# definition without a `type` (`<IntOrString>`, `<map[string]Quantity>`), the `type` of one with it)
SPECIAL = {
    INT_OR_STRING: {"description": INT_OR_STRING_DOC, "format": "int-or-string",
                    "oneOf": [{"type": "integer"}, {"type": "string"}]},
    QUANTITY: {"description": QUANTITY_DOC, "oneOf": [{"type": "string"}, {"type": "number"}]},
    TIME: {"type": "string", "format": "date-time"},
    MICRO_TIME: {"type": "string", "format": "date-time"},
}
# JSON field names whose `dict(str, str)` values are quantities
QUANTITY_MAPS = {"limits", "requests", "capacity", "allocatable", "overhead", "podFixed", "hard", "used",
                  "allocatedResources"}
QUANTITY_FIELDS = {("V1EmptyDirVolumeSource", "sizeLimit")}
MICRO_TIME_FIELDS = {("V1LeaseSpec", "acquireTime"), ("V1LeaseSpec", "renewTime"), ("CoreV1Event", "eventTime"),
                     ("EventsV1Event", "eventTime"), ("CoreV1EventSeries", "lastObservedTime"),
                     ("EventsV1EventSeries", "lastObservedTime")}

# (client model, JSON field) → list extensions, as upstream's types declare them
_MAP = "map"


def _lst(kind: str, keys: tuple[str, ...] = (), strategy: str = "", merge_key: str = "") -> dict:
    ext: dict[str, Any] = {"x-kubernetes-list-type": kind}
    if keys:
        ext["x-kubernetes-list-map-keys"] = list(keys)
    if strategy:
        ext["x-kubernetes-patch-strategy"] = strategy
    if merge_key:
        ext["x-kubernetes-patch-merge-key"] = merge_key
    return ext


def _by_name(strategy: str = "merge") -> dict:
    return _lst(_MAP, ("name",), strategy, "name")


def _by_type() -> dict:
    return _lst(_MAP, ("type",), "merge", "type")


_CONTAINER_LISTS = {
    "ports": _lst(_MAP, ("containerPort", "protocol"), "merge", "containerPort"),
    "env": _by_name(), "volumeMounts": _lst(_MAP, ("mountPath",), "merge", "mountPath"),
    "volumeDevices": _lst(_MAP, ("devicePath",), "merge", "devicePath"),
    "resizePolicy": _lst("atomic"), "envFrom": _lst("atomic"), "command": _lst("atomic"), "args": _lst("atomic"),
}
LIST_EXTENSIONS: dict[tuple[str, str], dict] = {
    **{("V1Container", f): e for f, e in _CONTAINER_LISTS.items()},
    **{("V1EphemeralContainer", f): e for f, e in _CONTAINER_LISTS.items()},
    ("V1PodSpec", "volumes"): _by_name("merge,retainKeys"),
    ("V1PodSpec", "containers"): _by_name(), ("V1PodSpec", "initContainers"): _by_name(),
    ("V1PodSpec", "ephemeralContainers"): _by_name(), ("V1PodSpec", "imagePullSecrets"): _by_name(),
    ("V1PodSpec", "hostAliases"): _lst(_MAP, ("ip",), "merge", "ip"),
    ("V1PodSpec", "topologySpreadConstraints"): _lst(_MAP, ("topologyKey", "whenUnsatisfiable"), "merge",
                                                     "topologyKey"),
    ("V1PodSpec", "resourceClaims"): _by_name("merge,retainKeys"), ("V1PodSpec", "schedulingGates"): _by_name(),
    ("V1PodSpec", "tolerations"): _lst("atomic"), ("V1PodSpec", "readinessGates"): _lst("atomic"),
    ("V1PodStatus", "conditions"): _by_type(), ("V1PodStatus", "podIPs"): _lst(_MAP, ("ip",), "merge", "ip"),
    ("V1PodStatus", "hostIPs"): _lst("atomic", (), "merge", "ip"),
    ("V1NodeStatus", "conditions"): _by_type(), ("V1NodeStatus", "addresses"): _by_type(),
    ("V1NodeSpec", "podCIDRs"): _lst("set", (), "merge"), ("V1NodeSpec", "taints"): _lst("atomic"),
    ("V1ServiceSpec", "ports"): _lst(_MAP, ("port", "protocol"), "merge", "port"),
    ("V1ServiceSpec", "clusterIPs"): _lst("atomic"), ("V1ServiceSpec", "ipFamilies"): _lst("atomic"),
    ("V1ServiceStatus", "conditions"): _by_type(), ("V1NamespaceStatus", "conditions"): _by_type(),
    ("V1ObjectMeta", "finalizers"): _lst("set", (), "merge"),
    ("V1ObjectMeta", "ownerReferences"): _lst(_MAP, ("uid",), "merge", "uid"),
    ("V1ResourceRequirements", "claims"): _lst(_MAP, ("name",)),
    ("V1LabelSelector", "matchExpressions"): _lst("atomic"),
    ("V1DeploymentStatus", "conditions"): _by_type(), ("V1ReplicaSetStatus", "conditions"): _by_type(),
    ("V1DaemonSetStatus", "conditions"): _by_type(), ("V1StatefulSetStatus", "conditions"): _by_type(),
    ("V1JobStatus", "conditions"): _lst("atomic"), ("V1CronJobStatus", "active"): _lst("atomic"),
    ("V1PolicyRule", "apiGroups"): _lst("atomic"), ("V1PolicyRule", "resources"): _lst("atomic"),
    ("V1PolicyRule", "verbs"): _lst("atomic"), ("V1PolicyRule", "resourceNames"): _lst("atomic"),
    ("V1RoleBinding", "subjects"): _lst("atomic"), ("V1ClusterRoleBinding", "subjects"): _lst("atomic"),
    ("V1ClusterRole", "rules"): _lst("atomic"), ("V1Role", "rules"): _lst("atomic"),
}
# (client model, JSON field) → patch strategy on a map (upstream's retainKeys unions)
MAP_EXTENSIONS = {("V1DeploymentSpec", "strategy"): {"x-kubernetes-patch-strategy": "retainKeys"}}

_VERSION_PREFIX = re.compile(r"^(V\d+(?:alpha\d+|beta\d+)?)(.+)$")
_GROUP_PREFIX = re.compile(r"^[A-Z][a-z]+(V\d+(?:alpha\d+|beta\d+)?)([A-Z].*)$")
_CALL = re.compile(r"call_api\(\s*'(/[^']*)',\s*'(\w+)'.*?response_type='(\w+)'", re.S)


def _split(name: str) -> tuple[str, str]:
    """`V1PodSpec` → (`v1`, `PodSpec`); `CoreV1Event` → (`v1`, `Event`)."""
    grouped = _GROUP_PREFIX.match(name)
    if grouped:
        return grouped.group(1).lower(), grouped.group(2)
    match = _VERSION_PREFIX.match(name)
    if not match:
        raise ValueError(f"unexpected model name {name}")
    return match.group(1).lower(), match.group(2)


def _kinds(api_dir: Path) -> dict[str, tuple[str, str]]:
    """model → (group, version) for every kind the chosen API modules create or read."""
    found: dict[str, tuple[str, str]] = {}
    for module, group in API_MODULES.items():
        text = (api_dir / f"{module}.py").read_text()
        for path, method, response in _CALL.findall(text):
            segments = path.strip("/").split("/")
            version = segments[1] if segments[0] == "api" else segments[2]
            rest = segments[2:] if segments[0] == "api" else segments[3:]
            if rest[:1] == ["namespaces"] and len(rest) > 2:
                rest = rest[2:]
            plain = len(rest) <= 2 and not any(s in ("watch",) for s in rest)
            if method in ("POST", "GET") and plain and not response.endswith("List") and response in _MODELS:
                if response not in META_TYPES:
                    found.setdefault(response, (group, version))
    found.update(SUBRESOURCE_KINDS)
    return found


_MODELS: dict[str, Any] = {}


def _load_models() -> None:
    import kubernetes.client.models as models

    for name, cls in inspect.getmembers(models, inspect.isclass):
        if hasattr(cls, "openapi_types"):
            _MODELS[name] = cls


def _description(cls: Any, attr: str) -> str:
    doc = getattr(cls, attr).__doc__ or ""
    parts = [p.strip() for p in doc.split("\n\n")]
    text = parts[1] if len(parts) > 2 else ""
    return re.sub(r"\s*# noqa: E501$", "", text).strip()


def _required(cls: Any) -> list[str]:
    source = inspect.getsource(cls)
    names = re.findall(r"client_side_validation and (\w+) is None", source)
    return sorted({cls.attribute_map[n] for n in names if n in cls.attribute_map})


class Generator:
    def __init__(self) -> None:
        import kubernetes

        self.api_dir = Path(kubernetes.__file__).parent / "client" / "api"
        _load_models()
        self.kinds = _kinds(self.api_dir)
        self.owner: dict[str, str] = {}  # model → definition name
        self.definitions: dict[str, dict] = {}

    def name_of(self, model: str, group: str) -> str:
        if model in self.owner:
            return self.owner[model]
        version, short = _split(model)
        if model in META_TYPES:
            pkg = META
        else:
            pkg = f"{PACKAGES.get(group, 'io.k8s.api.' + group.split('.')[0])}.{version}"
        self.owner[model] = f"{pkg}.{short}"
        return self.owner[model]

    def run(self) -> dict:
        for name, schema in SPECIAL.items():
            self.definitions[name] = dict(schema)
        for model in sorted(META_TYPES & set(_MODELS)):
            self.define(model, "")
        ordered = sorted(self.kinds.items(), key=lambda kv: (kv[1][0] != "", kv[1][0], kv[0]))
        for model, (group, _version) in ordered:
            self.define(model, group)
        for model, (group, version) in self.kinds.items():
            _, short = _split(model)
            self.definitions[self.owner[model]]["x-kubernetes-group-version-kind"] = [
                {"group": group, "kind": short, "version": version}]
        return {"source": "kubernetes Python client " + _client_version() + " (Kubernetes release-1.32)",
                "definitions": dict(sorted(self.definitions.items()))}

    def define(self, model: str, group: str) -> str:
        if model in self.owner:
            return self.owner[model]
        name = self.name_of(model, group)
        cls = _MODELS[model]
        schema: dict[str, Any] = {"type": "object"}
        self.definitions[name] = schema
        props = {}
        for attr, typ in cls.openapi_types.items():
            field = cls.attribute_map[attr]
            prop = self.type_schema(typ, group, model, field)
            prop.update(LIST_EXTENSIONS.get((model, field), {}) if prop.get("type") == "array" else {})
            prop.update(MAP_EXTENSIONS.get((model, field), {}))
            description = _description(cls, attr)
            if description:
                prop["description"] = description
            if "$ref" in prop and len(prop) > 1:  # OpenAPI 3.0 ignores siblings of $ref: upstream's allOf
                prop = {"allOf": [{"$ref": prop.pop("$ref")}], **prop}
            props[field] = prop
        if props:
            schema["properties"] = props
        else:  # an empty struct in the client: nothing to check inside
            schema["x-kubernetes-preserve-unknown-fields"] = True
        required = _required(cls)
        if required:
            schema["required"] = required
        return name

    def type_schema(self, typ: str, group: str, model: str, field: str) -> dict:
        if typ.startswith("list["):
            items = self.type_schema(typ[5:-1], group, model, field)
            if "$ref" in items:
                items = {"allOf": [items], "default": {}}
            return {"type": "array", "items": items}
        if typ.startswith("dict("):
            value = typ[5:-1].split(", ", 1)[1]
            if value == "str" and field in QUANTITY_MAPS:
                return {"type": "object", "additionalProperties": {"$ref": REF + QUANTITY}}
            return {"type": "object", "additionalProperties": self.type_schema(value, group, model, field)}
        if typ == "str":
            return {"$ref": REF + QUANTITY} if (model, field) in QUANTITY_FIELDS else {"type": "string"}
        if typ == "int":
            return {"type": "integer", "format": "int64"}
        if typ == "float":
            return {"type": "number", "format": "double"}
        if typ == "bool":
            return {"type": "boolean"}
        if typ == "datetime":
            return {"$ref": REF + (MICRO_TIME if (model, field) in MICRO_TIME_FIELDS else TIME)}
        if typ == "date":
            return {"type": "string", "format": "date"}
        if typ == "object":
            if field in ("port", "targetPort", "maxSurge", "maxUnavailable", "minAvailable"):
                return {"$ref": REF + INT_OR_STRING}
            return {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
        if typ in _MODELS:
            return {"$ref": REF + self.define(typ, group)}
        raise ValueError(f"unknown client type {typ} in {model}.{field}")


def _client_version() -> str:
    import kubernetes

    return kubernetes.__version__


def main() -> None:
    version = _client_version()
    if not version.startswith("32."):
        raise SystemExit(f"kubernetes client {version} installed: generate from the 32.x line (Kubernetes 1.32)")
    doc = Generator().run()
    raw = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
    OUT.write_bytes(gzip.compress(raw, compresslevel=9, mtime=0))
    print(f"{OUT}: {len(doc['definitions'])} definitions, {len(raw)} bytes, {OUT.stat().st_size} gzipped")


if __name__ == "__main__":
    main()
