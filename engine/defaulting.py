"""Defaulting and admission, as kube-apiserver applies them.

The functions here edit a thawed (plain dict) object in place:

- `apply_defaults(kind, obj)`: the scheme defaults upstream applies on every
  write that decodes the main resource (`SetDefaults_Pod`, `_Service`,
  `_Deployment`, ...); idempotent.
- `prepare_create(kind, obj)`: the strategies' `PrepareForCreate` (a new
  Pod is Pending with its QoS class, a new Namespace is Active and carries
  the `kubernetes` finalizer, a new ReplicaSet's status is `replicas: 0`).
- `admit_pod(pod, priority_classes)`: the create-time admission plugins
  that fill pods (ServiceAccount's name only, DefaultTolerationSeconds,
  Priority).  Raises `APIError` (Forbidden) like upstream's plugins.
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from . import servicetype
from .apierrors import forbidden_error
from .fieldcheck import quantity_value
from .kinds import CRD_GROUP, CRD_KIND

NOT_READY_TAINT = "node.kubernetes.io/not-ready"
UNREACHABLE_TAINT = "node.kubernetes.io/unreachable"
DEFAULT_TOLERATION_SECONDS = 300
TEMPLATE_GENERATION = "deprecated.daemonset.template.generation"

# ------------------------------------------------------------ pods & templates


def image_pull_policy(image: str) -> str:
    """Always for `:latest` or an untagged image, else IfNotPresent (upstream's rule)."""
    if "@" in image:
        return "IfNotPresent"
    last = image.rsplit("/", 1)[-1]
    _, colon, tag = last.partition(":")
    return "Always" if not colon or tag == "latest" else "IfNotPresent"


def _container_defaults(container: dict) -> None:
    if isinstance(container.get("image"), str):
        container.setdefault("imagePullPolicy", image_pull_policy(container["image"]))
    container.setdefault("terminationMessagePath", "/dev/termination-log")
    container.setdefault("terminationMessagePolicy", "File")
    container.setdefault("resources", {})
    for port in container.get("ports") or ():
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")


def pod_spec_defaults(spec: dict) -> None:
    """SetDefaults_PodSpec and the container defaults (pods and templates alike)."""
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("securityContext", {})
    spec.setdefault("enableServiceLinks", True)
    for field in ("containers", "initContainers"):
        for container in spec.get(field) or ():
            if isinstance(container, dict):
                _container_defaults(container)


def ephemeral_container_defaults(containers: list) -> None:
    """The container defaults for ephemeral containers (the same as for the others)."""
    for container in containers:
        if isinstance(container, dict):
            _container_defaults(container)


def _requests_from_limits(spec: dict) -> None:
    """Only for Pods: a container with limits but no requests requests its limits."""
    for container in spec.get("containers") or ():
        resources = container.get("resources") if isinstance(container, dict) else None
        if isinstance(resources, dict) and isinstance(resources.get("limits"), dict):
            requests = resources.setdefault("requests", {})
            if isinstance(requests, dict):
                for name, amount in resources["limits"].items():
                    requests.setdefault(name, amount)


def _pod(pod: dict) -> None:
    spec = pod.get("spec")
    if isinstance(spec, dict):
        pod_spec_defaults(spec)
        _requests_from_limits(spec)


def _template_owner(obj: dict) -> None:
    template = (obj.get("spec") or {}).get("template") if isinstance(obj.get("spec"), dict) else None
    if isinstance(template, dict) and isinstance(template.get("spec"), dict):
        pod_spec_defaults(template["spec"])


def _replicaset(rs: dict) -> None:
    if isinstance(rs.get("spec"), dict):
        rs["spec"].setdefault("replicas", 1)
        _template_owner(rs)


def _replicationcontroller(rc: dict) -> None:
    """SetDefaults_ReplicationController: an empty selector and empty labels are the template's
    labels (when it has some), one replica; the template's pod spec defaults."""
    spec = rc.get("spec")
    if not isinstance(spec, dict):
        return
    template = spec.get("template")
    template_meta = template.get("metadata") if isinstance(template, dict) else None
    labels = template_meta.get("labels") if isinstance(template_meta, dict) else None
    if isinstance(labels, dict):
        if not spec.get("selector"):
            spec["selector"] = dict(labels)
        meta = rc.setdefault("metadata", {})
        if isinstance(meta, dict) and not meta.get("labels"):
            meta["labels"] = dict(labels)
    if spec.get("replicas") is None:
        spec["replicas"] = 1
    _template_owner(rc)


def _daemonset(ds: dict) -> None:
    """SetDefaults_DaemonSet (apps/v1): RollingUpdate with maxUnavailable 1 and maxSurge 0, revisionHistoryLimit 10."""
    spec = ds.get("spec")
    if not isinstance(spec, dict):
        return
    strategy = spec.setdefault("updateStrategy", {})
    if isinstance(strategy, dict):
        if not strategy.get("type"):
            strategy["type"] = "RollingUpdate"
        if strategy["type"] == "RollingUpdate":
            if strategy.get("rollingUpdate") is None:
                strategy["rollingUpdate"] = {}
            rolling = strategy["rollingUpdate"]
            if isinstance(rolling, dict):
                for field, value in (("maxUnavailable", 1), ("maxSurge", 0)):
                    if rolling.get(field) is None:
                        rolling[field] = value
    if spec.get("revisionHistoryLimit") is None:
        spec["revisionHistoryLimit"] = 10
    _template_owner(ds)


def daemonset_template_generation(ds: dict, old_generation: int | None, template_changed: bool) -> None:
    """A DaemonSet's templateGeneration, which apps/v1 carries as the annotation
    `deprecated.daemonset.template.generation`: 1 at create (or the one given, when higher), one
    more each time an update changes the template; an update cannot set it (PrepareForUpdate)."""
    meta = ds.setdefault("metadata", {})
    if not isinstance(meta.get("annotations"), dict):
        meta["annotations"] = {}
    given = meta["annotations"].get(TEMPLATE_GENERATION)
    if old_generation is None:
        generation = max(int(given), 1) if isinstance(given, str) and given.isdigit() else 1
    else:
        generation = old_generation + (1 if template_changed else 0)
    meta["annotations"][TEMPLATE_GENERATION] = str(generation)


def _deployment(deploy: dict) -> None:
    spec = deploy.get("spec")
    if not isinstance(spec, dict):
        return
    spec.setdefault("replicas", 1)
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    strategy = spec.setdefault("strategy", {})
    if isinstance(strategy, dict):
        strategy.setdefault("type", "RollingUpdate")
        if strategy["type"] == "RollingUpdate":
            rolling = strategy.setdefault("rollingUpdate", {})
            if isinstance(rolling, dict):
                rolling.setdefault("maxUnavailable", "25%")
                rolling.setdefault("maxSurge", "25%")
    _template_owner(deploy)


# ---------------------------------------------------- stateful sets & claims


def _claim_defaults(claim: dict) -> None:
    """SetDefaults_PersistentVolumeClaim: a Filesystem volume, Pending until bound."""
    spec = claim.get("spec")
    if isinstance(spec, dict):
        spec.setdefault("volumeMode", "Filesystem")
    status = claim.setdefault("status", {})
    if isinstance(status, dict) and not status.get("phase"):
        status["phase"] = "Pending"


def _persistentvolumeclaim(claim: dict) -> None:
    _claim_defaults(claim)


def _persistentvolume(pv: dict) -> None:
    """SetDefaults_PersistentVolume: Retain, a Filesystem volume, Pending until the controller sees it."""
    spec = pv.get("spec")
    if isinstance(spec, dict):
        if not spec.get("persistentVolumeReclaimPolicy"):
            spec["persistentVolumeReclaimPolicy"] = "Retain"
        spec.setdefault("volumeMode", "Filesystem")
    status = pv.setdefault("status", {})
    if isinstance(status, dict) and not status.get("phase"):
        status["phase"] = "Pending"


def _storageclass(sc: dict) -> None:
    """SetDefaults_StorageClass (storage/v1): volumes of the class are deleted with their claims and
    bound at once."""
    if not sc.get("reclaimPolicy"):
        sc["reclaimPolicy"] = "Delete"
    if not sc.get("volumeBindingMode"):
        sc["volumeBindingMode"] = "Immediate"


def _statefulset(sts: dict) -> None:
    """SetDefaults_StatefulSet (apps/v1), and the claim templates' defaults as claims get them."""
    spec = sts.get("spec")
    if not isinstance(spec, dict):
        return
    spec.setdefault("podManagementPolicy", "OrderedReady")
    strategy = spec.setdefault("updateStrategy", {})
    if isinstance(strategy, dict):
        if not strategy.get("type"):
            strategy["type"] = "RollingUpdate"
            strategy.setdefault("rollingUpdate", {})
        rolling = strategy.get("rollingUpdate")
        if strategy["type"] == "RollingUpdate" and isinstance(rolling, dict):
            rolling.setdefault("partition", 0)
    policy = spec.setdefault("persistentVolumeClaimRetentionPolicy", {})
    if isinstance(policy, dict):
        for field in ("whenDeleted", "whenScaled"):
            if not policy.get(field):
                policy[field] = "Retain"
    spec.setdefault("replicas", 1)
    spec.setdefault("revisionHistoryLimit", 10)
    for claim in spec.get("volumeClaimTemplates") or ():
        if isinstance(claim, dict):
            claim.setdefault("apiVersion", "v1")
            claim.setdefault("kind", "PersistentVolumeClaim")
            _claim_defaults(claim)
    _template_owner(sts)


# ------------------------------------------------------------------ batch

JOB_UID_LABELS = ("batch.kubernetes.io/controller-uid", "controller-uid")
JOB_NAME_LABELS = ("batch.kubernetes.io/job-name", "job-name")


def _job_spec(spec: dict) -> None:
    """SetDefaults_Job (batch/v1): completions and parallelism 1, backoffLimit 6, NonIndexed, not suspended."""
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
    spec.setdefault("parallelism", 1)
    spec.setdefault("backoffLimit", 2147483647 if spec.get("backoffLimitPerIndex") is not None else 6)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    spec.setdefault("podReplacementPolicy", "Failed" if spec.get("podFailurePolicy") else "TerminatingOrFailed")
    spec.setdefault("manualSelector", False)
    template = spec.get("template")
    if isinstance(template, dict) and isinstance(template.get("spec"), dict):
        pod_spec_defaults(template["spec"])


def _job(job: dict) -> None:
    if isinstance(job.get("spec"), dict):
        _job_spec(job["spec"])
        labels = ((job["spec"].get("template") or {}).get("metadata") or {}).get("labels")
        meta = job.get("metadata")
        if isinstance(meta, dict) and isinstance(labels, dict) and labels and not meta.get("labels"):
            meta["labels"] = dict(labels)


def _cronjob(cj: dict) -> None:
    """SetDefaults_CronJob: Allow, not suspended, keep 3 successful and 1 failed Job."""
    spec = cj.get("spec")
    if not isinstance(spec, dict):
        return
    spec.setdefault("concurrencyPolicy", "Allow")
    spec.setdefault("suspend", False)
    spec.setdefault("successfulJobsHistoryLimit", 3)
    spec.setdefault("failedJobsHistoryLimit", 1)
    job_template = spec.get("jobTemplate")
    if isinstance(job_template, dict) and isinstance(job_template.get("spec"), dict):
        # the template's job spec gets the Job's defaults when a Job is made from it (upstream
        # defaults only the pod template here)
        template = job_template["spec"].get("template")
        if isinstance(template, dict) and isinstance(template.get("spec"), dict):
            pod_spec_defaults(template["spec"])


def generate_job_selector(job: dict) -> None:
    """The Job strategy's generateSelector (unless spec.manualSelector): the pod template gets the
    job-name and controller-uid labels and the selector matches batch.kubernetes.io/controller-uid."""
    spec = job.get("spec")
    meta = job.get("metadata") or {}
    if not isinstance(spec, dict) or spec.get("manualSelector") is True:
        return
    template = spec.setdefault("template", {})
    if not isinstance(template, dict):
        return
    template_meta = template.setdefault("metadata", {})
    labels = template_meta.setdefault("labels", {}) if isinstance(template_meta, dict) else None
    if not isinstance(labels, dict):
        return
    for key in JOB_NAME_LABELS:
        labels.setdefault(key, meta.get("name") or "")
    for key in JOB_UID_LABELS:
        labels.setdefault(key, meta.get("uid") or "")
    selector = spec.get("selector") if isinstance(spec.get("selector"), dict) else {}
    match = selector.get("matchLabels") if isinstance(selector.get("matchLabels"), dict) else {}
    match.setdefault(JOB_UID_LABELS[0], meta.get("uid") or "")
    spec["selector"] = dict(selector, matchLabels=match)
    # SetDefaults_Job on the next read: a Job without labels shows its template's
    if not meta.get("labels"):
        job.setdefault("metadata", {})["labels"] = dict(labels)


# ------------------------------------------------------------------ others


def _service(svc: dict) -> None:
    spec = svc.get("spec")
    if not isinstance(spec, dict):
        return
    kind = spec.setdefault("type", "ClusterIP")
    affinity = spec.setdefault("sessionAffinity", "None")
    if affinity == "None":
        spec.pop("sessionAffinityConfig", None)
    if affinity == "ClientIP":
        config = spec.setdefault("sessionAffinityConfig", {})
        client = config.setdefault("clientIP", {}) if isinstance(config, dict) else None
        if isinstance(client, dict):
            client.setdefault("timeoutSeconds", 10800)  # DefaultClientIPServiceAffinitySeconds
    if kind != "ExternalName":
        spec.setdefault("internalTrafficPolicy", "Cluster")
    if servicetype.externally_accessible(spec):
        spec.setdefault("externalTrafficPolicy", "Cluster")
    if kind == "LoadBalancer":
        spec.setdefault("allocateLoadBalancerNodePorts", True)
    for port in spec.get("ports") or ():
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")
            target = port.get("targetPort")
            if "port" in port and (target is None or target in (0, "") and not isinstance(target, bool)):
                port["targetPort"] = port["port"]  # (an unset IntOrString is 0 or "")


def _namespace(ns: dict) -> None:
    name = (ns.get("metadata") or {}).get("name")
    if name:
        ns["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = name


def _secret(secret: dict) -> None:
    secret.setdefault("type", "Opaque")
    string_data = secret.pop("stringData", None)
    if isinstance(string_data, Mapping) and string_data:
        data = secret.setdefault("data", {})
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode()


def _ports_protocol(ports: Any) -> None:
    for port in ports or ():
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")


def _endpoints(ep: dict) -> None:
    for subset in ep.get("subsets") or ():
        if isinstance(subset, dict):
            _ports_protocol(subset.get("ports"))


def _endpointslice(eps: dict) -> None:
    _ports_protocol(eps.get("ports"))


def _networkpolicy(np: dict) -> None:
    """SetDefaults_NetworkPolicy and _NetworkPolicyPort: without policyTypes a policy is about
    Ingress, and Egress too when it has egress rules; a port's protocol is TCP.  The spec and its
    pod selector are structs upstream, so a policy always shows them (`podSelector: {}`)."""
    spec = np.setdefault("spec", {})
    if not isinstance(spec, dict):
        return
    if spec.get("podSelector") is None:
        spec["podSelector"] = {}
    if not spec.get("policyTypes"):
        spec["policyTypes"] = ["Ingress", "Egress"] if spec.get("egress") else ["Ingress"]
    for direction in ("ingress", "egress"):
        rules = spec.get(direction)
        for rule in rules if isinstance(rules, list) else ():
            if isinstance(rule, dict):
                _ports_protocol(rule.get("ports"))


def _node(node: dict) -> None:
    status = node.get("status")
    if isinstance(status, dict) and status.get("capacity") is not None and status.get("allocatable") is None:
        status["allocatable"] = dict(status["capacity"])


def _priorityclass(pc: dict) -> None:
    pc.setdefault("preemptionPolicy", "PreemptLowerPriority")


def _crd(crd: dict) -> None:
    spec = crd.get("spec")
    if not isinstance(spec, dict):
        return
    names = spec.get("names")
    if isinstance(names, dict) and names.get("kind"):
        names.setdefault("singular", names["kind"].lower())
        names.setdefault("listKind", names["kind"] + "List")
    spec.setdefault("conversion", {"strategy": "None"})


# ---------------------------------------------------------------- autoscaling

# SetDefaults_HorizontalPodAutoscaler (autoscaling/v2): the rules a behavior's missing scaleUp or
# scaleDown gets (scaleDown's stabilization window is left to the controller's flag, 300 s)
HPA_SCALE_UP = {"stabilizationWindowSeconds": 0, "selectPolicy": "Max",
                "policies": [{"type": "Pods", "value": 4, "periodSeconds": 15},
                             {"type": "Percent", "value": 100, "periodSeconds": 15}]}
HPA_SCALE_DOWN = {"selectPolicy": "Max", "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]}
HPA_DEFAULT_CPU_UTILIZATION = 80


def _horizontalpodautoscaler(hpa: dict) -> None:
    """minReplicas 1; no metrics: an 80 % average cpu utilization target; a behavior's scaleUp and
    scaleDown filled field by field from upstream's rules."""
    spec = hpa.get("spec")
    if not isinstance(spec, dict):
        return
    if spec.get("minReplicas") is None:
        spec["minReplicas"] = 1
    if not spec.get("metrics"):
        spec["metrics"] = [{"type": "Resource", "resource": {"name": "cpu", "target": {
            "type": "Utilization", "averageUtilization": HPA_DEFAULT_CPU_UTILIZATION}}}]
    behavior = spec.get("behavior")
    if isinstance(behavior, dict):
        for field, rules in (("scaleUp", HPA_SCALE_UP), ("scaleDown", HPA_SCALE_DOWN)):
            given = behavior.get(field)
            if given is None:
                behavior[field] = copy.deepcopy(rules)
            elif isinstance(given, dict):
                for key, value in rules.items():
                    if given.get(key) is None:
                        given[key] = copy.deepcopy(value)


RBAC_GROUP = "rbac.authorization.k8s.io"


def _role_binding(binding: dict) -> None:
    """SetDefaults_RoleBinding / _ClusterRoleBinding and SetDefaults_Subject: an empty apiGroup of
    the roleRef is the RBAC group, of a User or Group subject too (a ServiceAccount's stays "",
    which upstream's JSON leaves out)."""
    ref = binding.get("roleRef")
    if isinstance(ref, dict) and not ref.get("apiGroup"):
        ref["apiGroup"] = RBAC_GROUP
    for subject in binding.get("subjects") or ():
        if isinstance(subject, dict) and not subject.get("apiGroup") and subject.get("kind") in ("User", "Group"):
            subject["apiGroup"] = RBAC_GROUP


def _webhooks(config: dict, mutating: bool) -> None:
    """SetDefaults_ValidatingWebhook / _MutatingWebhook, _Rule and _ServiceReference (v1)."""
    for hook in config.get("webhooks") or ():
        if not isinstance(hook, dict):
            continue
        hook.setdefault("failurePolicy", "Fail")
        hook.setdefault("matchPolicy", "Equivalent")
        for selector in ("namespaceSelector", "objectSelector"):
            if hook.get(selector) is None:
                hook[selector] = {}
        hook.setdefault("timeoutSeconds", 10)
        if mutating:
            hook.setdefault("reinvocationPolicy", "Never")
        for rule in hook.get("rules") or ():
            if isinstance(rule, dict) and rule.get("scope") is None:
                rule["scope"] = "*"
        client = hook.get("clientConfig")
        service = client.get("service") if isinstance(client, dict) else None
        if isinstance(service, dict) and service.get("port") is None:
            service["port"] = 443


ADMISSION_GROUP = "admissionregistration.k8s.io"

_DEFAULTS: dict[tuple[str, str], Callable[[dict], None]] = {
    ("", "Pod"): _pod,
    ("", "Service"): _service,
    ("", "Namespace"): _namespace,
    ("", "Secret"): _secret,
    ("", "Endpoints"): _endpoints,
    ("", "Node"): _node,
    ("discovery.k8s.io", "EndpointSlice"): _endpointslice,
    ("networking.k8s.io", "NetworkPolicy"): _networkpolicy,
    ("scheduling.k8s.io", "PriorityClass"): _priorityclass,
    ("apps", "Deployment"): _deployment,
    ("apps", "ReplicaSet"): _replicaset,
    ("", "ReplicationController"): _replicationcontroller,
    ("apps", "DaemonSet"): _daemonset,
    ("apps", "StatefulSet"): _statefulset,
    ("", "PersistentVolumeClaim"): _persistentvolumeclaim,
    ("", "PersistentVolume"): _persistentvolume,
    ("storage.k8s.io", "StorageClass"): _storageclass,
    ("batch", "Job"): _job,
    ("batch", "CronJob"): _cronjob,
    ("autoscaling", "HorizontalPodAutoscaler"): _horizontalpodautoscaler,
    (CRD_GROUP, CRD_KIND): _crd,
    (RBAC_GROUP, "RoleBinding"): _role_binding,
    (RBAC_GROUP, "ClusterRoleBinding"): _role_binding,
    (ADMISSION_GROUP, "ValidatingWebhookConfiguration"): lambda config: _webhooks(config, False),
    (ADMISSION_GROUP, "MutatingWebhookConfiguration"): lambda config: _webhooks(config, True),
}


def apply_defaults(group: str, kind: str, obj: dict) -> None:
    """Fill the scheme defaults of a main-resource write, in place."""
    fill = _DEFAULTS.get((group, kind))
    if fill is not None:
        fill(obj)


def node_defaults(obj: dict) -> None:
    """The defaults that apply to Node status writes too (allocatable from capacity)."""
    _node(obj)


def pod_status_ips(status: Mapping) -> dict:
    """What keeps a pod's podIP and podIPs (hostIP and hostIPs) in step, as upstream's v1
    PodStatus conversion does on every write: the plural list from the single address when only
    that is given or the two differ (the single one wins, for old clients), the single from the
    first of the list.  Empty when they are in step already."""
    fixes: dict = {}
    for single, plural in (("podIP", "podIPs"), ("hostIP", "hostIPs")):
        ip, ips = status.get(single), status.get(plural)
        ips = ips if isinstance(ips, Sequence) and not isinstance(ips, str) else ()
        first = ips[0].get("ip") if ips and isinstance(ips[0], Mapping) else None
        if ip and isinstance(ip, str) and ip != first and (not ips or first is not None):
            fixes[plural] = [{"ip": ip}]
        elif first and not ip:
            fixes[single] = first
    return fixes


# ------------------------------------------------------------ create only


def qos_class(spec: Mapping) -> str:
    """Guaranteed, Burstable or BestEffort (upstream's GetPodQOS)."""
    containers = [c for f in ("containers", "initContainers") for c in spec.get(f) or () if isinstance(c, Mapping)]
    any_set, guaranteed = False, True
    for container in containers:
        resources = container.get("resources") or {}
        requests, limits = resources.get("requests") or {}, resources.get("limits") or {}
        if any(_positive(part[name]) for part in (requests, limits) for name in ("cpu", "memory") if name in part):
            any_set = True  # (only cpu and memory count: isSupportedQoSComputeResource)
        for name in ("cpu", "memory"):
            limit = limits.get(name)
            if limit is None or not _positive(limit) or (name in requests and _amount(requests[name]) != _amount(limit)):
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


def _amount(value: Any) -> Any:
    try:
        return quantity_value(value)
    except (TypeError, ValueError):
        return None


def _positive(value: Any) -> bool:
    amount = _amount(value)
    return amount is not None and amount > 0


# The status PrepareForCreate resets a new object to (the Go zero value, `Status = XStatus{}`), as
# upstream's JSON writes it: the counts whose json tag has no omitempty are there, at 0.
_ZERO_STATUS: dict[tuple[str, str], dict[str, int]] = {
    ("apps", "ReplicaSet"): {"replicas": 0},
    ("", "ReplicationController"): {"replicas": 0},
    ("apps", "StatefulSet"): {"replicas": 0, "availableReplicas": 0},
    ("apps", "DaemonSet"): {"currentNumberScheduled": 0, "numberMisscheduled": 0, "desiredNumberScheduled": 0,
                            "numberReady": 0},
    ("autoscaling", "HorizontalPodAutoscaler"): {"desiredReplicas": 0},
    ("policy", "PodDisruptionBudget"): {"disruptionsAllowed": 0, "currentHealthy": 0, "desiredHealthy": 0,
                                        "expectedPods": 0},
}


def prepare_create(group: str, kind: str, obj: dict) -> None:
    """Status and spec fields a strategy sets on create (PrepareForCreate)."""
    if (group, kind) in _ZERO_STATUS:
        obj["status"] = dict(_ZERO_STATUS[group, kind])
    if (group, kind) == ("", "Pod"):
        spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
        obj["status"] = {"phase": "Pending", "qosClass": qos_class(spec)}
    elif (group, kind) == ("batch", "Job"):
        generate_job_selector(obj)
    elif (group, kind) == ("", "Namespace"):
        obj["status"] = {"phase": "Active"}
        spec = obj.setdefault("spec", {})
        finalizers = spec.setdefault("finalizers", [])
        if isinstance(finalizers, list) and "kubernetes" not in finalizers:
            finalizers.append("kubernetes")


def _default_tolerations(spec: dict) -> None:
    """DefaultTolerationSeconds: tolerate not-ready/unreachable NoExecute for 300s."""
    tolerations = spec.get("tolerations")
    tolerations = tolerations if isinstance(tolerations, list) else []
    for taint in (NOT_READY_TAINT, UNREACHABLE_TAINT):
        covered = any(isinstance(t, Mapping) and (t.get("key") or "") in (taint, "")
                      and (t.get("effect") or "") in ("NoExecute", "")
                      for t in tolerations)
        if not covered:
            tolerations.append({"key": taint, "operator": "Exists", "effect": "NoExecute",
                                "tolerationSeconds": DEFAULT_TOLERATION_SECONDS})
    spec["tolerations"] = tolerations


def _priority(pod: dict, spec: dict, classes: Iterable[Mapping]) -> None:
    classes = list(classes)
    name = spec.get("priorityClassName")
    pod_name = (pod.get("metadata") or {}).get("name")
    if name:
        chosen = next((c for c in classes if (c.get("metadata") or {}).get("name") == name), None)
        if chosen is None:
            raise forbidden_error("pods", pod_name, f"no PriorityClass with name {name} was found")
    else:
        defaults = [c for c in classes if c.get("globalDefault")]
        chosen = min(defaults, key=lambda c: c.get("value", 0), default=None)
    value = chosen.get("value", 0) if chosen else 0
    if spec.get("priority") is not None and spec["priority"] != value:
        raise forbidden_error("pods", pod_name, f"the integer value of priority ({spec['priority']}) must not be "
                              f"provided in pod spec; priority admission controller computed {value} from the "
                              "given PriorityClass name")
    spec["priority"] = value
    if chosen:
        spec["priorityClassName"] = chosen["metadata"]["name"]
    spec.setdefault("preemptionPolicy", (chosen or {}).get("preemptionPolicy") or "PreemptLowerPriority")


def admit_pod(pod: dict, priority_classes: Iterable[Mapping]) -> None:
    """The create-time admission plugins that fill a new pod's spec."""
    spec = pod.get("spec")
    if not isinstance(spec, dict):
        return
    spec.setdefault("serviceAccountName", "default")
    _default_tolerations(spec)
    _priority(pod, spec, priority_classes)


def admit_pod_update(pod: dict, old: Mapping) -> None:
    """Pod admission on update: keep what create-time admission and binding set.

    As upstream, Priority keeps the stored priority and preemption policy and
    DefaultTolerationSeconds runs again.  recon also keeps the stored node,
    service account and ephemeral containers when the body leaves them out
    (upstream would refuse the update as a spec change), so a manifest
    re-applied in full still updates.
    """
    spec, old_spec = pod.get("spec"), old.get("spec") or {}
    if not isinstance(spec, dict):
        return
    for field in ("priority", "preemptionPolicy"):
        if old_spec.get(field) is not None:
            spec[field] = old_spec[field]
    for field in ("nodeName", "serviceAccountName", "priorityClassName", "ephemeralContainers"):
        if old_spec.get(field) is not None and not spec.get(field):
            spec[field] = old_spec[field]
    _default_tolerations(spec)
