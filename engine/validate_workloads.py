"""Validation of Pods, pod templates, Services, Deployments and ReplicaSets.

The checks the engine relies on, worded as upstream's `ValidatePod`,
`ValidateService`, `ValidateDeployment` and `ValidateReplicaSet`.  Each
function takes the object (and the stored one for updates) and returns the
list of `FieldError`s.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pyrsistent import pmap

from . import fieldcheck as fc
from . import selectors, servicetype, validate_service
from .apierrors import FieldError, duplicate, forbidden, invalid, not_supported, required
from .objects import get_path, thaw
from .runtime import control_errors

PROTOCOLS = ("SCTP", "TCP", "UDP")
_EFFECTS = ("NoExecute", "NoSchedule", "PreferNoSchedule")

# ------------------------------------------------------------------ pod spec


def _port_errors(port: Any, path: str, names: set) -> list[FieldError]:
    errors, port = fc.mapping(port, path)
    name = port.get("name")
    if name:
        errors += fc.unique_name(name, f"{path}.name", fc.iana_svc_name_errors, names)
    errors += fc.port_number(port.get("containerPort"), f"{path}.containerPort")
    errors += fc.port_number(port.get("hostPort"), f"{path}.hostPort", needed=False)
    errors += fc.one_of(port.get("protocol"), f"{path}.protocol", PROTOCOLS)
    return errors


def _resources_errors(resources: Any, path: str) -> list[FieldError]:
    errors, resources = fc.mapping(resources, path)
    limits, requests = resources.get("limits"), resources.get("requests")
    errors += fc.quantity_map(limits, f"{path}.limits") + fc.quantity_map(requests, f"{path}.requests")
    if errors or not isinstance(limits, Mapping) or not isinstance(requests, Mapping):
        return errors
    for name, amount in requests.items():
        if name in limits and fc.quantity_value(amount) > fc.quantity_value(limits[name]):
            errors.append(invalid(f"{path}.requests", amount,
                                  f"must be less than or equal to {name} limit of {limits[name]}"))
    return errors


def container_errors(container: Any, path: str, names: set) -> list[FieldError]:
    errors, container = fc.mapping(container, path)
    name = container.get("name")
    if not name:
        errors.append(required(f"{path}.name"))
    else:
        errors += fc.unique_name(name, f"{path}.name", fc.label_errors, names)
    image = container.get("image")
    errors += [required(f"{path}.image")] if not image else fc.wrong_type(image, f"{path}.image", "string")
    port_errors, ports = fc.items(container.get("ports"), f"{path}.ports")
    port_names: set = set()
    for port_path, port in ports:
        port_errors += _port_errors(port, port_path, port_names)
    errors += port_errors
    errors += fc.one_of(container.get("imagePullPolicy"), f"{path}.imagePullPolicy", ("Always", "IfNotPresent", "Never"))
    errors += _resources_errors(container.get("resources"), f"{path}.resources")
    for field in ("command", "args"):
        errors += fc.wrong_type(container.get(field), f"{path}.{field}", "array")
    return errors


def toleration_errors(toleration: Any, path: str) -> list[FieldError]:
    errors, toleration = fc.mapping(toleration, path)
    operator = toleration.get("operator") or "Equal"
    key = toleration.get("key")
    if key:
        errors += fc.named(key, f"{path}.key", fc.qualified_name_errors)
    elif operator != "Exists":
        errors.append(invalid(f"{path}.operator", operator, "operator must be Exists when `key` is empty, "
                              "which means \"match all values and all keys\""))
    if operator == "Exists" and toleration.get("value"):
        errors.append(invalid(f"{path}.operator", toleration.get("value"),
                              "value must be empty when `operator` is 'Exists'"))
    errors += fc.one_of(operator, f"{path}.operator", ("Equal", "Exists"))
    effect = toleration.get("effect")
    errors += fc.one_of(effect or None, f"{path}.effect", _EFFECTS)
    if toleration.get("tolerationSeconds") is not None and effect != "NoExecute":
        errors.append(invalid(f"{path}.effect", effect or "",
                              "effect must be 'NoExecute' when `tolerationSeconds` is set"))
    return errors + fc.int_range(toleration.get("tolerationSeconds"), f"{path}.tolerationSeconds")


def pod_spec_errors(spec: Any, path: str) -> list[FieldError]:
    if spec is None:
        return [required(path)]
    errors, spec = fc.mapping(spec, path)
    names: set = set()
    list_errors, containers = fc.items(spec.get("containers"), f"{path}.containers")
    errors += list_errors
    if not containers and not list_errors:
        errors.append(required(f"{path}.containers"))
    for container_path, container in containers:
        errors += container_errors(container, container_path, names)
    list_errors, init = fc.items(spec.get("initContainers"), f"{path}.initContainers")
    errors += list_errors
    for container_path, container in init:
        errors += container_errors(container, container_path, names)
    errors += _ephemeral_containers_errors(spec, path, names)
    errors += fc.one_of(spec.get("restartPolicy"), f"{path}.restartPolicy", ("Always", "OnFailure", "Never"))
    errors += fc.one_of(spec.get("dnsPolicy"), f"{path}.dnsPolicy",
                        ("ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"))
    errors += fc.int_range(spec.get("terminationGracePeriodSeconds"), f"{path}.terminationGracePeriodSeconds")
    errors += fc.int_range(spec.get("activeDeadlineSeconds"), f"{path}.activeDeadlineSeconds", 1)
    errors += fc.int_range(spec.get("priority"), f"{path}.priority")
    if spec.get("nodeName"):
        errors += fc.named(spec["nodeName"], f"{path}.nodeName")
    errors += fc.label_map(spec.get("nodeSelector"), f"{path}.nodeSelector")
    list_errors, tolerations = fc.items(spec.get("tolerations"), f"{path}.tolerations")
    errors += list_errors
    for toleration_path, toleration in tolerations:
        errors += toleration_errors(toleration, toleration_path)
    if spec.get("schedulingGates") is not None:
        errors += _scheduling_gate_errors(spec["schedulingGates"], f"{path}.schedulingGates")
    if spec.get("runtimeClassName") is not None:
        errors += fc.named(spec["runtimeClassName"], f"{path}.runtimeClassName")
    # (checked as a container's limits, as upstream's validateOverhead words it)
    errors += fc.quantity_map(spec.get("overhead"), f"{path}.overhead.limits")
    return errors


# What a container may set that an ephemeral container may not (upstream's
# allowedEphemeralContainerFields: it is not relied upon for the pod's service), in the order of
# the Container type's fields.
_NOT_EPHEMERAL = ("ports", "resources", "resizePolicy", "restartPolicy", "livenessProbe", "readinessProbe",
                  "startupProbe", "lifecycle")


def _ephemeral_containers_errors(spec: Mapping, path: str, names: set) -> list[FieldError]:
    """validateEphemeralContainers: each is a container (its name unique among all the pod's
    containers) that sets none of _NOT_EPHEMERAL, targets a container or init container of the pod,
    and mounts no subPath; a pod template has none."""
    list_errors, items = fc.items(spec.get("ephemeralContainers"), f"{path}.ephemeralContainers")
    if list_errors or not items:
        return list_errors
    errors = [] if path == "spec" else [forbidden(f"{path}.ephemeralContainers",
                                                  "ephemeral containers not allowed in pod template")]
    targets = {c.get("name") for field in ("containers", "initContainers")
               for c in spec.get(field) or () if isinstance(c, Mapping)}
    for item_path, container in items:
        errors += container_errors(container, item_path, names)
        if not isinstance(container, Mapping):
            continue
        target = container.get("targetContainerName")
        if target and target not in targets:
            errors.append(FieldError("FieldValueNotFound", f"{item_path}.targetContainerName", target))
        errors += [forbidden(f"{item_path}.{field}", "cannot be set for an Ephemeral Container")
                   for field in _NOT_EPHEMERAL if container.get(field) not in (None, {}, [])]
        for i, mount in enumerate(container.get("volumeMounts") or ()):
            for field in ("subPath", "subPathExpr"):
                if isinstance(mount, Mapping) and mount.get(field):
                    errors.append(forbidden(f"{item_path}.volumeMounts[{i}].{field}",
                                            "cannot be set for an Ephemeral Container"))
    return errors


def ephemeral_containers_update_errors(pod: Mapping, old: Mapping) -> list[FieldError]:
    """ValidatePodEphemeralContainersUpdate: the pod's spec as a whole, and every ephemeral
    container it had is still there, unchanged (matched by name: a patch need not keep the order)."""
    errors = pod_spec_errors(pod.get("spec"), "spec")
    now = {c.get("name"): c for c in get_path(pod, "spec", "ephemeralContainers") or () if isinstance(c, Mapping)}
    for was in get_path(old, "spec", "ephemeralContainers") or ():
        name = was.get("name")
        existing = f'existing ephemeral containers "{name}" may not be'
        if name not in now:
            errors.append(forbidden("spec.ephemeralContainers", f"{existing} removed\n"))
        elif now[name] != was:
            errors.append(forbidden("spec.ephemeralContainers", f"{existing} changed\n{_difference(was, now[name])}"))
    return errors


def _difference(old: Mapping, new: Mapping) -> str:
    """The fields of a container that differ, as `-field: old` and `+field: new` lines."""
    lines = []
    for field in sorted(set(old) | set(new)):
        if old.get(field) != new.get(field):
            lines += [f"-{field}: {_json(old.get(field))}", f"+{field}: {_json(new.get(field))}"]
    return "\n".join(lines)


def _json(value: Any) -> str:
    return json.dumps(thaw(value), sort_keys=True, separators=(",", ":"))


def _scheduling_gate_errors(gates: Any, path: str) -> list[FieldError]:
    """validateSchedulingGates: each gate's name is a qualified name, named once."""
    errors, items = fc.items(gates, path)
    seen: set = set()
    for gate_path, gate in items:
        gate_errors, gate = fc.mapping(gate, gate_path)
        errors += gate_errors or fc.unique_name(gate.get("name", ""), gate_path, fc.qualified_name_errors, seen)
    return errors


def _gate_names(spec: Mapping) -> list:
    return [g.get("name") for g in spec.get("schedulingGates") or () if isinstance(g, Mapping)]


def _scheduling_gate_update_errors(spec: Mapping, old_spec: Mapping) -> list[FieldError]:
    """validateOnlyDeletedSchedulingGates: a gate can be removed, never added (nor renamed)."""
    old = set(_gate_names(old_spec))
    return [forbidden(f"spec.schedulingGates[{i}].name",
                      f"only deletion is allowed, but found new scheduling gate '{name}'")
            for i, name in enumerate(_gate_names(spec)) if name not in old]


def _node_affinity(spec: Mapping) -> Any:
    return (spec.get("affinity") or {}).get("nodeAffinity")


def _gated_directive_errors(spec: Mapping, old_spec: Mapping) -> list[FieldError]:
    """What a gated pod's update may do to its node scheduling directives (upstream's
    validateNodeSelectorMutation and validateNodeAffinityMutation): only tighten them.  New
    nodeSelector entries, and new requirements in each existing required node-affinity term, are
    allowed; nothing there may change or go; a required affinity may be set where there was none;
    preferred node-affinity terms may change freely."""
    errors = []
    selector, old_selector = spec.get("nodeSelector") or {}, old_spec.get("nodeSelector") or {}
    if any(selector.get(k) != v for k, v in old_selector.items()):
        errors.append(invalid("spec.nodeSelector", spec.get("nodeSelector"),
                              "only additions to spec.nodeSelector are allowed (no mutations or deletions)"))
    old_required = (_node_affinity(old_spec) or {}).get("requiredDuringSchedulingIgnoredDuringExecution")
    if old_required is None:
        return errors
    path = "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms"
    old_terms = old_required.get("nodeSelectorTerms") or ()
    terms = ((_node_affinity(spec) or {}).get("requiredDuringSchedulingIgnoredDuringExecution") or {}).get(
        "nodeSelectorTerms") or ()
    if old_terms and len(terms) != len(old_terms):
        return errors + [invalid(path, terms, "no additions/deletions to non-empty NodeSelectorTerms list are allowed")]
    for i, (term, old_term) in enumerate(zip(terms, old_terms)):
        if not all(_only_additions(term.get(f) or (), old_term.get(f) or ()) for f in ("matchExpressions", "matchFields")):
            errors.append(invalid(f"{path}[{i}]", term, "only additions are allowed (no mutations or deletions)"))
    return errors


def _only_additions(new: Any, old: Any) -> bool:
    """Every old requirement is still there (in any order)."""
    return len(old) <= len(new) and all(o in new for o in old)


def _with_old_directives(spec: Mapping, old_spec: Mapping) -> Mapping:
    """`spec` with the old pod's nodeSelector and node affinity, the parts a gated pod may change
    (an affinity left holding nothing but the node affinity is taken as the old one's absence)."""
    spec = spec.set("nodeSelector", old_spec["nodeSelector"]) if "nodeSelector" in old_spec else spec.discard("nodeSelector")
    affinity, old_node = spec.get("affinity"), _node_affinity(old_spec)
    if old_node == (affinity or {}).get("nodeAffinity"):
        return spec
    if affinity is None:
        return spec.set("affinity", pmap({"nodeAffinity": old_node}))
    if old_spec.get("affinity") is None and not (affinity.get("podAffinity") or affinity.get("podAntiAffinity")):
        return spec.discard("affinity")
    return spec.set("affinity", affinity.discard("nodeAffinity") if old_node is None else affinity.set("nodeAffinity", old_node))


# ------------------------------------------------------------------ kinds

_POD_MUTABLE = ("`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,"
                "`spec.tolerations` (only additions to existing tolerations),"
                "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)")


def _without_mutable(spec: Mapping) -> Mapping:
    spec = spec.discard("activeDeadlineSeconds").discard("tolerations").discard("terminationGracePeriodSeconds")
    spec = spec.discard("schedulingGates")
    for field in ("containers", "initContainers"):
        if spec.get(field):
            spec = spec.set(field, [c.discard("image") if isinstance(c, Mapping) else c for c in spec[field]])
    return spec


def pod_errors(pod: Mapping, old: Mapping | None) -> list[FieldError]:
    errors = pod_spec_errors(pod.get("spec"), "spec")
    spec = pod.get("spec")
    if old is None and isinstance(spec, Mapping) and spec.get("ephemeralContainers"):  # (only through the subresource)
        errors.append(forbidden("spec.ephemeralContainers", "cannot be set on create"))
    if not errors and spec.get("schedulingGates") and spec.get("nodeName"):
        errors.append(forbidden("spec.nodeName", "cannot be set until all schedulingGates have been cleared"))
    if old is None or errors:
        return errors
    old_spec = old.get("spec")
    if spec.get("schedulingGates"):
        errors += _scheduling_gate_update_errors(spec, old_spec)
    if old_spec.get("schedulingGates"):  # a gated pod's node directives may be tightened
        errors += _gated_directive_errors(spec, old_spec)
        spec = _with_old_directives(spec, old_spec)
    if not old_spec.get("nodeName"):  # recon lets a main update bind an unscheduled pod
        spec, old_spec = spec.discard("nodeName"), old_spec.discard("nodeName")
    if _without_mutable(spec) != _without_mutable(old_spec):
        errors.append(forbidden("spec", f"pod updates may not change fields other than {_POD_MUTABLE}"))
    old_tolerations = list(old_spec.get("tolerations") or ())
    if any(t not in (spec.get("tolerations") or ()) for t in old_tolerations):
        errors.append(forbidden("spec.tolerations", "existing toleration can not be modified except its tolerationSeconds"))
    return errors


def _service_port_errors(port: Any, path: str, many: bool, names: set) -> list[FieldError]:
    errors, port = fc.mapping(port, path)
    name = port.get("name")
    if not name and many:
        errors.append(required(f"{path}.name"))
    elif name:
        errors += fc.unique_name(name, f"{path}.name", fc.label_errors, names)
    errors += fc.port_number(port.get("port"), f"{path}.port")
    errors += fc.one_of(port.get("protocol"), f"{path}.protocol", PROTOCOLS)
    target = port.get("targetPort")
    if isinstance(target, str):
        errors += fc.named(target, f"{path}.targetPort", fc.iana_svc_name_errors)
    else:
        errors += fc.port_number(target, f"{path}.targetPort", needed=False)
    return errors + fc.int_range(port.get("nodePort"), f"{path}.nodePort", 1, 65535)


def _type_dependent_errors(spec: Mapping, kind: str, ports: list) -> list[FieldError]:
    """The fields a Service's type rules out (upstream's ValidateService): node ports on a
    ClusterIP Service, cluster IPs and IP families on an ExternalName one, an external traffic
    policy where no traffic comes from outside.  An update that changes the type drops those it
    left unchanged first (engine/servicetype.py), so only values the write set are refused."""
    errors = []
    if kind == "ClusterIP":
        errors += [forbidden(f"{path}.nodePort", "may not be used when `type` is 'ClusterIP'")
                   for path, port in ports if isinstance(port, Mapping) and port.get("nodePort")]
    if kind == "ExternalName":
        if spec.get("clusterIPs") or spec.get("clusterIP"):  # (upstream has filled clusterIPs from clusterIP)
            errors.append(forbidden("spec.clusterIPs", "may not be set for ExternalName services"))
        for field in ("ipFamilies", "ipFamilyPolicy"):
            if spec.get(field):
                errors.append(forbidden(f"spec.{field}", "may not be set for ExternalName services"))
    if spec.get("externalTrafficPolicy") and not servicetype.externally_accessible(spec):
        errors.append(invalid("spec.externalTrafficPolicy", spec.get("externalTrafficPolicy"),
                              "may only be set for externally-accessible services"))
    return errors + _health_check_port_errors(spec)


def _health_check_port_errors(spec: Mapping) -> list[FieldError]:
    """Only a LoadBalancer with the Local policy has a health-check node port (upstream's
    validateServiceExternalTrafficPolicy; one it has yet to get is allocated after the write,
    rules/service-ip.rules, so a missing one is not refused)."""
    port = spec.get("healthCheckNodePort")
    if not port:
        return []
    if not servicetype.needs_health_check_port(spec):
        return [invalid("spec.healthCheckNodePort", port,
                        "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'")]
    return fc.port_number(port, "spec.healthCheckNodePort")


def service_errors(svc: Mapping, old: Mapping | None) -> list[FieldError]:
    errors, spec = fc.mapping(svc.get("spec"), "spec")
    kind = spec.get("type") or "ClusterIP"
    errors += fc.one_of(kind, "spec.type", ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort"))
    if kind == "ExternalName" and not spec.get("externalName"):
        errors.append(required("spec.externalName"))
    list_errors, ports = fc.items(spec.get("ports"), "spec.ports")
    errors += list_errors
    if not ports and not list_errors and kind != "ExternalName" and spec.get("clusterIP") != "None":
        errors.append(required("spec.ports"))
    names: set = set()
    seen: set = set()
    for port_path, port in ports:
        errors += _service_port_errors(port, port_path, len(ports) > 1, names)
        if isinstance(port, Mapping):
            ident = (port.get("port"), port.get("protocol") or "TCP")
            if ident in seen:
                errors.append(duplicate(port_path, port))
            seen.add(ident)
    errors += _type_dependent_errors(spec, kind, ports)
    errors += fc.label_map(spec.get("selector"), "spec.selector")
    errors += fc.one_of(spec.get("sessionAffinity"), "spec.sessionAffinity", ("ClientIP", "None"))
    old_spec = (old.get("spec") or {}) if old is not None else {}
    errors += validate_service.spec_errors(spec, kind, old_spec)
    old_ip = old_spec.get("clusterIP")
    if old_ip and spec.get("clusterIP") and spec.get("clusterIP") != old_ip:
        errors.append(invalid("spec.clusterIP", spec.get("clusterIP"), "field is immutable"))
    if (servicetype.needs_health_check_port(old_spec) and servicetype.needs_health_check_port(spec)
            and old_spec.get("healthCheckNodePort")  # (not while it waits for its allocation)
            and spec.get("healthCheckNodePort") != old_spec.get("healthCheckNodePort")):
        errors.append(forbidden("spec.healthCheckNodePort", "field is immutable"))
    return errors


def _template_errors(spec: Mapping, kind_word: str) -> list[FieldError]:
    selector = spec.get("selector")
    errors = fc.label_selector(selector, "spec.selector") if selector is not None else [required("spec.selector")]
    if selector is not None and not errors and not (selector.get("matchLabels") or selector.get("matchExpressions")):
        errors.append(invalid("spec.selector", selector, f"empty selector is invalid for {kind_word}"))
    template = spec.get("template")
    if template is None:
        return errors + [required("spec.template")]
    template_errors, template = fc.mapping(template, "spec.template")
    metadata_errors, metadata = fc.mapping(template.get("metadata"), "spec.template.metadata")
    errors += template_errors + metadata_errors
    labels = metadata.get("labels") or {}
    label_errors = fc.label_map(labels, "spec.template.metadata.labels")
    errors += label_errors + control_errors(metadata.get("annotations"), "spec.template.metadata.annotations")
    # (no selector at all selects nothing, upstream's labels.Nothing(): no template matches it either)
    if (not errors or (selector is None and not label_errors)) and (
            selector is None or not selectors.from_label_selector(selector).matches(labels)):
        errors.append(invalid("spec.template.metadata.labels", labels, "`selector` does not match template `labels`"))
    errors += pod_spec_errors(template.get("spec"), "spec.template.spec")
    policy = (template.get("spec") or {}).get("restartPolicy") if isinstance(template.get("spec"), Mapping) else None
    if policy not in (None, "Always"):
        errors.append(not_supported("spec.template.spec.restartPolicy", policy, ("Always",)))
    return errors


def _no_active_deadline(spec: Mapping, kind: str) -> list[FieldError]:
    """A DaemonSet's or StatefulSet's pods run for good: their template may not set activeDeadlineSeconds."""
    template = spec.get("template")
    template_spec = template.get("spec") if isinstance(template, Mapping) else None
    if isinstance(template_spec, Mapping) and template_spec.get("activeDeadlineSeconds") is not None:
        return [forbidden("spec.template.spec.activeDeadlineSeconds", f"activeDeadlineSeconds in {kind} is not Supported")]
    return []


def _selector_immutable(spec: Mapping, old: Mapping | None) -> list[FieldError]:
    if old is None or spec.get("selector") == (old.get("spec") or {}).get("selector"):
        return []
    return [invalid("spec.selector", spec.get("selector"), "field is immutable")]


def replicaset_errors(rs: Mapping, old: Mapping | None) -> list[FieldError]:
    errors, spec = fc.mapping(rs.get("spec"), "spec")
    if rs.get("spec") is None:
        return [required("spec")]
    errors += fc.int_range(spec.get("replicas"), "spec.replicas", 0)
    errors += fc.int_range(spec.get("minReadySeconds"), "spec.minReadySeconds", 0)
    return errors + _template_errors(spec, "replicaset") + _selector_immutable(spec, old)


def _label_set_errors(selector: Any, path: str) -> list[FieldError]:
    """A map selector's types (a ReplicationController's: labels to values)."""
    errors, selector = fc.mapping(selector, path)
    for key, value in selector.items():
        errors += fc.wrong_type(value, f"{path}[{key}]", "string")
    return errors


def _rc_template_errors(spec: Mapping, selector: Mapping) -> list[FieldError]:
    """ValidatePodTemplateSpecForRC: the template's labels match the (non-empty) selector, its
    pods restart Always and have no deadline."""
    template = spec.get("template")
    if template is None:
        return [required("spec.template")]
    errors, template = fc.mapping(template, "spec.template")
    metadata_errors, metadata = fc.mapping(template.get("metadata"), "spec.template.metadata")
    errors += metadata_errors
    labels = metadata.get("labels") or {}
    if selector and isinstance(labels, Mapping) and not selectors.from_map(selector).matches(labels):
        errors.append(invalid("spec.template.metadata.labels", labels, "`selector` does not match template `labels`"))
    errors += fc.label_map(metadata.get("labels"), "spec.template.metadata.labels")
    errors += control_errors(metadata.get("annotations"), "spec.template.metadata.annotations")
    errors += pod_spec_errors(template.get("spec"), "spec.template.spec")
    pod_spec = template.get("spec") if isinstance(template.get("spec"), Mapping) else {}
    policy = pod_spec.get("restartPolicy")
    if policy != "Always":
        errors.append(not_supported("spec.template.spec.restartPolicy", policy or "", ("Always",)))
    if pod_spec.get("activeDeadlineSeconds") is not None:
        errors.append(forbidden("spec.template.spec.activeDeadlineSeconds",
                                "activeDeadlineSeconds in ReplicationController is not Supported"))
    return errors


def replicationcontroller_errors(rc: Mapping, old: Mapping | None) -> list[FieldError]:
    """ValidateReplicationControllerSpec: minReadySeconds and replicas not negative, a selector
    that is not empty (it may change, unlike a ReplicaSet's), a template it selects."""
    errors, spec = fc.mapping(rc.get("spec"), "spec")
    errors += fc.int_range(spec.get("minReadySeconds"), "spec.minReadySeconds", 0)
    selector = spec.get("selector")
    selector_errors = _label_set_errors(selector, "spec.selector")
    errors += selector_errors
    if not selector and not selector_errors:
        errors.append(required("spec.selector"))
    errors += fc.int_range(spec.get("replicas"), "spec.replicas", 0)
    return errors + _rc_template_errors(spec, selector if isinstance(selector, Mapping) and not selector_errors else {})


def replicationcontroller_status_errors(rc: Mapping) -> list[FieldError]:
    """ValidateReplicationControllerStatus: no negative count, none above status.replicas, no more
    available than ready replicas."""
    errors, status = fc.mapping(rc.get("status"), "status")
    fields = ("replicas", "fullyLabeledReplicas", "readyReplicas", "availableReplicas", "observedGeneration")
    for field in fields:
        errors += fc.int_range(status.get(field), f"status.{field}", 0)
    if errors:
        return errors
    count = {field: status.get(field) or 0 for field in fields}
    for field in ("fullyLabeledReplicas", "readyReplicas", "availableReplicas"):
        if count[field] > count["replicas"]:
            errors.append(invalid(f"status.{field}", count[field], "cannot be greater than status.replicas"))
    if count["availableReplicas"] > count["readyReplicas"]:
        errors.append(invalid("status.availableReplicas", count["availableReplicas"],
                              "cannot be greater than readyReplicas"))
    return errors


def _int_or_percent(value: Any, path: str) -> list[FieldError]:
    if value is None or fc.is_int(value) and value >= 0:
        return []
    if isinstance(value, str) and value.endswith("%") and value[:-1].isdigit():
        return []
    return [invalid(path, value, "a valid percent string must be a numeric string followed by an ending '%'"
                    if isinstance(value, str) else "must be greater than or equal to 0")]


def _is_zero(value: Any) -> bool:
    return value in (0, "0%", "0")


def _strategy_errors(strategy: Any) -> list[FieldError]:
    errors, strategy = fc.mapping(strategy, "spec.strategy")
    kind = strategy.get("type")
    errors += fc.one_of(kind, "spec.strategy.type", ("Recreate", "RollingUpdate"))
    rolling = strategy.get("rollingUpdate")
    if kind == "Recreate" and rolling is not None:
        return errors + [forbidden("spec.strategy.rollingUpdate", "may not be specified when strategy `type` is 'Recreate'")]
    rolling_errors, rolling = fc.mapping(rolling, "spec.strategy.rollingUpdate")
    errors += rolling_errors
    path = "spec.strategy.rollingUpdate"
    errors += _int_or_percent(rolling.get("maxSurge"), f"{path}.maxSurge")
    errors += _int_or_percent(rolling.get("maxUnavailable"), f"{path}.maxUnavailable")
    if _is_zero(rolling.get("maxSurge")) and _is_zero(rolling.get("maxUnavailable")):
        errors.append(invalid(f"{path}.maxUnavailable", rolling.get("maxUnavailable"),
                              "may not be 0 when `maxSurge` is 0"))
    return errors


def deployment_errors(deploy: Mapping, old: Mapping | None) -> list[FieldError]:
    if deploy.get("spec") is None:
        return [required("spec")]
    errors, spec = fc.mapping(deploy.get("spec"), "spec")
    errors += fc.int_range(spec.get("replicas"), "spec.replicas", 0)
    errors += fc.int_range(spec.get("minReadySeconds"), "spec.minReadySeconds", 0)
    errors += fc.int_range(spec.get("revisionHistoryLimit"), "spec.revisionHistoryLimit", 0)
    deadline = spec.get("progressDeadlineSeconds")
    errors += fc.int_range(deadline, "spec.progressDeadlineSeconds", 0)
    if fc.is_int(deadline) and deadline <= (spec.get("minReadySeconds") or 0):
        errors.append(invalid("spec.progressDeadlineSeconds", deadline, "must be greater than minReadySeconds"))
    errors += _strategy_errors(spec.get("strategy"))
    return errors + _template_errors(spec, "deployment") + _selector_immutable(spec, old)
