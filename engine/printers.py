"""Table columns per kind, as kubectl prints them.

`columns(resource_type, wide)` answers the columns of `kubectl get` for a
kind: each a `Column` whose `fn(obj, now)` renders one cell.  The cell logic
follows kubectl's printers (pkg/printers/internalversion/printers.go), so
READY, STATUS, RESTARTS, PORT(S) and friends read the way Kubernetes users
know them.  The HTTP API's Table output uses the same columns, each cell
typed as kube-apiserver sends it (`Column.cell`).

A custom kind shows its CRD's `additionalPrinterColumns` (a JSONPath per
column, typed and formatted the way apiextensions-apiserver's table
convertor does), and a `scale` subresource shows DESIRED and AVAILABLE.

`render_table(headers, rows)` lays rows out like kubectl's tabwriter.
"""

from __future__ import annotations

import decimal
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from . import jsonpath, storage
from .kinds import PrinterColumn
from .objects import get_path, thaw
from .selectors import format_label_selector, from_map
from .timeutil import format_age, format_time, parse_time

NONE = "<none>"
UNKNOWN = "<unknown>"


@attrs.frozen
class Column:
    """One column of `kubectl get`: priority 0 always, 1 only with -o wide.

    `title` is the column definition's name as upstream declares it
    (`Name`, `Up-to-date`; a CRD column's own name); kubectl prints it
    upper-cased (`name`).  `fn` renders the text kubectl prints; `value`,
    when set, the Table cell (a number, a boolean or None) the text comes from.
    """

    title: str
    priority: int
    fn: Callable[[Mapping, float], str]
    type: str = "string"
    description: str = ""
    format: str = ""
    value: Callable[[Mapping, float], Any] | None = None

    @property
    def name(self) -> str:
        """The header kubectl prints: the title upper-cased."""
        return self.title.upper()

    def cell(self, obj: Mapping, now: float) -> Any:
        """The Table cell: `value`'s, else the text (an integer column's as a number)."""
        if self.value is not None:
            return self.value(obj, now)
        text = self.fn(obj, now)
        return int(text) if self.type == "integer" and text.lstrip("-").isdigit() else text


# ---------------------------------------------------------------- helpers


def _age_of(timestamp: str | None, now: float) -> str:
    if not timestamp:
        return UNKNOWN
    return format_age(max(0.0, now - parse_time(timestamp)))


def age(obj: Mapping, now: float) -> str:
    return _age_of(get_path(obj, "metadata", "creationTimestamp"), now)


def name(obj: Mapping, now: float) -> str:
    return get_path(obj, "metadata", "name") or ""


def _int(value: Any) -> int:
    return int(value or 0)


def _path(*path: str, default: str = NONE) -> Callable[[Mapping, float], str]:
    def cell(obj: Mapping, now: float) -> str:
        value = get_path(obj, *path)
        return default if value in (None, "") else str(value)

    return cell


def format_labels(labels: Mapping | None) -> str:
    """`app=web,tier=front` (sorted by key), or <none>."""
    return str(from_map(labels)) or NONE if labels else NONE


def _containers(obj: Mapping) -> Sequence[Mapping]:
    return get_path(obj, "spec", "template", "spec", "containers") or ()


def container_names(obj: Mapping, now: float) -> str:
    return ",".join(c.get("name", "") for c in _containers(obj)) or NONE


def container_images(obj: Mapping, now: float) -> str:
    return ",".join(c.get("image", "") for c in _containers(obj)) or NONE


def selector(obj: Mapping, now: float) -> str:
    return format_label_selector(get_path(obj, "spec", "selector"))


# -------------------------------------------------------------------- pods


@attrs.frozen
class PodSummary:
    """What printPod works out of a pod: its READY counts, STATUS reason and restarts."""

    ready: int
    total: int
    reason: str
    restarts: int
    last_restart: float | None


def _restartable(container: Mapping | None) -> bool:
    """A sidecar: an init container with `restartPolicy: Always` (podutil.IsRestartableInitContainer)."""
    return bool(container) and container.get("restartPolicy") == "Always"


def _last_terminated(cs: Mapping) -> float | None:
    finished = get_path(cs, "lastState", "terminated", "finishedAt")
    return parse_time(finished) if finished else None


def _latest(*times: float | None) -> float | None:
    known = [t for t in times if t is not None]
    return max(known) if known else None


def _init_step(cs: Mapping, index: int, total: int, sidecar: bool) -> tuple[str | None, bool]:
    """One init container's say in printPod: (the Init:… reason that stops the walk, or None to go on;
    whether it counts as a ready sidecar)."""
    state = cs.get("state") or {}
    term, waiting = state.get("terminated"), state.get("waiting")
    if term and term.get("exitCode", 0) == 0:
        return None, False
    if sidecar and cs.get("started"):
        return None, bool(cs.get("ready"))
    if term:
        if term.get("reason"):
            return "Init:" + term["reason"], False
        if term.get("signal"):
            return f"Init:Signal:{term['signal']}", False
        return f"Init:ExitCode:{term.get('exitCode', 0)}", False
    if waiting and waiting.get("reason") and waiting["reason"] != "PodInitializing":
        return "Init:" + waiting["reason"], False
    return f"Init:{index}/{total}", False


def pod_summary(pod: Mapping) -> PodSummary:
    """printPod's walk over a pod's init containers, then (once initialized) its containers; the
    row's READY, STATUS and RESTARTS columns ask in turn, so the last pod's summary is kept."""
    if _LAST_SUMMARY[0] is pod:
        return _LAST_SUMMARY[1]
    summary = _pod_summary(pod)
    _LAST_SUMMARY[:] = [pod, summary]
    return summary


_LAST_SUMMARY: list = [None, None]  # (the pod, its summary): one row's three columns


def _pod_summary(pod: Mapping) -> PodSummary:
    status = pod.get("status") or {}
    phase = status.get("phase") or ""
    reason = status.get("reason") or phase
    if any(c.get("type") == "PodScheduled" and c.get("reason") == "SchedulingGated"
           for c in status.get("conditions") or ()) or _gated(pod):
        reason = "SchedulingGated"
    init_specs = {c.get("name"): c for c in get_path(pod, "spec", "initContainers") or ()}
    total = len(get_path(pod, "spec", "containers") or ()) + sum(map(_restartable, init_specs.values()))
    ready = restarts = sidecar_restarts = 0
    last = sidecar_last = None
    initializing = False
    for i, cs in enumerate(status.get("initContainerStatuses") or ()):
        sidecar = _restartable(init_specs.get(cs.get("name")))
        restarts += _int(cs.get("restartCount"))
        last = _latest(last, _last_terminated(cs))
        if sidecar:
            sidecar_restarts += _int(cs.get("restartCount"))
            sidecar_last = _latest(sidecar_last, _last_terminated(cs))
        init_reason, sidecar_ready = _init_step(cs, i, len(init_specs), sidecar)
        ready += sidecar_ready
        if init_reason is not None:
            reason, initializing = init_reason, True
            break
    if not initializing or _condition(pod, "Initialized") == "True":
        restarts, last = sidecar_restarts, sidecar_last
        has_running = False
        for cs in reversed(status.get("containerStatuses") or ()):
            restarts += _int(cs.get("restartCount"))
            last = _latest(last, _last_terminated(cs))
            state = cs.get("state") or {}
            waiting, term = state.get("waiting"), state.get("terminated")
            if waiting and waiting.get("reason"):
                reason = waiting["reason"]
            elif term and term.get("reason"):
                reason = term["reason"]
            elif term:
                reason = f"Signal:{term['signal']}" if term.get("signal") else f"ExitCode:{term.get('exitCode', 0)}"
            elif cs.get("ready") and state.get("running") is not None:
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            reason = "Running" if _condition(pod, "Ready") == "True" else "NotReady"
    if get_path(pod, "metadata", "deletionTimestamp"):
        if status.get("reason") == "NodeLost":
            reason = "Unknown"
        elif phase not in ("Succeeded", "Failed"):
            reason = "Terminating"
    return PodSummary(ready, total, reason, restarts, last)


def _gated(pod: Mapping) -> bool:
    """Scheduling gates hold an unbound pod (the SchedulingGated condition upstream's API server adds)."""
    return bool(get_path(pod, "spec", "schedulingGates")) and not get_path(pod, "spec", "nodeName")


def _condition(obj: Mapping, ctype: str) -> str | None:
    for cond in get_path(obj, "status", "conditions") or ():
        if cond.get("type") == ctype:
            return cond.get("status")
    return None


def pod_status(pod: Mapping, now: float = 0.0) -> str:
    """The STATUS column: printPod's reason."""
    return pod_summary(pod).reason


def pod_ready(pod: Mapping, now: float) -> str:
    """`1/2`: ready containers and started sidecars of all containers and sidecars."""
    summary = pod_summary(pod)
    return f"{summary.ready}/{summary.total}"


def pod_restarts(pod: Mapping, now: float) -> str:
    """`3`, or `3 (2m ago)` with the time of the last restart."""
    summary = pod_summary(pod)
    if summary.restarts and summary.last_restart is not None:
        return f"{summary.restarts} ({format_age(max(0.0, now - summary.last_restart))} ago)"
    return str(summary.restarts)


def pod_readiness_gates(pod: Mapping, now: float) -> str:
    gates = get_path(pod, "spec", "readinessGates") or ()
    if not gates:
        return NONE
    true = sum(1 for g in gates if _condition(pod, g.get("conditionType")) == "True")
    return f"{true}/{len(gates)}"


# ------------------------------------------------------------ workloads


def deployment_ready(obj: Mapping, now: float) -> str:
    return f"{_int(get_path(obj, 'status', 'readyReplicas'))}/{_int(get_path(obj, 'spec', 'replicas'))}"


def _count(*path: str) -> Callable[[Mapping, float], str]:
    return lambda obj, now: str(_int(get_path(obj, *path)))


# ------------------------------------------------------------- services


def service_external_ip(svc: Mapping, now: float) -> str:
    spec = svc.get("spec") or {}
    stype = spec.get("type") or "ClusterIP"
    external = list(spec.get("externalIPs") or ())
    if stype in ("ClusterIP", "NodePort"):
        return ",".join(external) or NONE
    if stype == "LoadBalancer":  # the balancer's addresses, sorted and unique, then the external IPs
        ingress = get_path(svc, "status", "loadBalancer", "ingress") or ()
        balancer = sorted({i.get("ip") or i.get("hostname") for i in ingress if i.get("ip") or i.get("hostname")})
        return ",".join(balancer + external) or "<pending>"
    if stype == "ExternalName":
        return spec.get("externalName") or ""
    return UNKNOWN


def service_ports(svc: Mapping, now: float) -> str:
    parts = []
    for port in get_path(svc, "spec", "ports") or ():
        proto = port.get("protocol") or "TCP"
        node_port = port.get("nodePort")
        parts.append(f"{port.get('port')}:{node_port}/{proto}" if node_port else f"{port.get('port')}/{proto}")
    return ",".join(parts) or NONE


def endpoints_list(ep: Mapping, now: float, limit: int = 3) -> str:
    """`10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 2 more...`"""
    addresses = []
    for subset in ep.get("subsets") or ():
        ips = [a.get("ip", "") for a in subset.get("addresses") or ()]
        ports = subset.get("ports") or ()
        if not ports:
            addresses += ips
        for port in ports:
            addresses += [_host_port(ip, port.get("port")) for ip in ips]
    if not ep.get("subsets"):
        return NONE  # (subsets of not-ready addresses only show an empty cell, as formatEndpoints)
    shown = ",".join(addresses[:limit])
    return f"{shown} + {len(addresses) - limit} more..." if len(addresses) > limit else shown


def _host_port(ip: str, port: Any) -> str:
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def endpointslice_ports(obj: Mapping, now: float) -> str:
    """`80,metrics,*`: a port's number, else its name, else * (formatDiscoveryPorts)."""
    ports = [str(p["port"]) if p.get("port") is not None else p.get("name") or "*" for p in obj.get("ports") or ()]
    return _list_with_more(ports)


def endpointslice_endpoints(obj: Mapping, now: float) -> str:
    return _list_with_more([a for e in obj.get("endpoints") or () for a in e.get("addresses") or ()])


def _list_with_more(items: list[str], limit: int = 3) -> str:
    """The first `limit` items and how many more, or <unset> (upstream's listWithMoreString)."""
    shown = ",".join(items[:limit])
    if len(items) > limit:
        return f"{shown} + {len(items) - limit} more..."
    return shown or "<unset>"


# ----------------------------------------------------------------- nodes


def node_status(node: Mapping, now: float) -> str:
    ready = _condition(node, "Ready")  # (printNode: "Not" + the type for any status but True)
    states = ["Ready" if ready == "True" else "Unknown" if ready is None else "NotReady"]
    if get_path(node, "spec", "unschedulable"):
        states.append("SchedulingDisabled")
    return ",".join(states)


def node_roles(node: Mapping, now: float) -> str:
    roles = set()
    for label, value in (get_path(node, "metadata", "labels") or {}).items():
        if label.startswith("node-role.kubernetes.io/"):
            roles.add(label.removeprefix("node-role.kubernetes.io/"))
        elif label == "kubernetes.io/role" and value:
            roles.add(value)
    return ",".join(sorted(r for r in roles if r)) or NONE


def _node_address(kind: str) -> Callable[[Mapping, float], str]:
    def cell(node: Mapping, now: float) -> str:
        for address in get_path(node, "status", "addresses") or ():
            if address.get("type") == kind:
                return address.get("address") or NONE
        return NONE

    return cell


# ------------------------------------------------------------ the others


def data_count(obj: Mapping, now: float) -> str:
    return str(len(obj.get("data") or {}) + len(obj.get("binaryData") or {}))


def created_at(obj: Mapping, now: float) -> str:
    ts = get_path(obj, "metadata", "creationTimestamp")
    return format_time(parse_time(ts)) if ts else UNKNOWN


def csr_duration(obj: Mapping, now: float) -> str:
    """REQUESTEDDURATION: spec.expirationSeconds as a human duration, or <none>."""
    seconds = get_path(obj, "spec", "expirationSeconds")
    return format_age(seconds) if isinstance(seconds, int) and not isinstance(seconds, bool) else NONE


def csr_condition(obj: Mapping, now: float) -> str:
    """CONDITION: Pending, Approved or Denied (Denied first), then ,Failed and ,Issued (extractCSRStatus)."""
    types = {c.get("type") for c in get_path(obj, "status", "conditions") or () if isinstance(c, Mapping)}
    text = "Denied" if "Denied" in types else "Approved" if "Approved" in types else "Pending"
    if "Failed" in types:
        text += ",Failed"
    return text + (",Issued" if get_path(obj, "status", "certificate") else "")


# A core Event's field and its events.k8s.io/v1 name (upstream prints the internal type both convert to)
_EVENT_FIELDS = {"involvedObject": "regarding", "message": "note", "source": "deprecatedSource",
                 "firstTimestamp": "deprecatedFirstTimestamp", "lastTimestamp": "deprecatedLastTimestamp",
                 "count": "deprecatedCount", "reportingComponent": "reportingController"}


def _event(obj: Mapping, field: str) -> Any:
    value = obj.get(field)
    return obj.get(_EVENT_FIELDS[field]) if value is None and field in _EVENT_FIELDS else value


def event_object(obj: Mapping, now: float) -> str:
    """`pod/web-1`, or the bare kind when the event names no object."""
    ref = _event(obj, "involvedObject") or {}
    kind = (ref.get("kind") or "").lower()
    return f"{kind}/{ref['name']}" if ref.get("name") else kind


def controllerrevision_owner(obj: Mapping, now: float) -> str:
    """The controller as `daemonset.apps/fluentd` (formatResourceName with its group), or <none>."""
    ref = next((r for r in get_path(obj, "metadata", "ownerReferences") or () if r.get("controller")), None)
    if ref is None:
        return NONE
    group = (ref.get("apiVersion") or "").rpartition("/")[0]
    kind = f"{ref.get('kind') or ''}.{group}" if group else ref.get("kind") or ""
    return f"{kind.lower()}/{ref.get('name') or ''}"


# ------------------------------------------------------------- claims

_ACCESS_MODE_SHORT = (("ReadWriteOnce", "RWO"), ("ReadOnlyMany", "ROX"), ("ReadWriteMany", "RWX"),
                      ("ReadWriteOncePod", "RWOP"))


def claim_phase(obj: Mapping, now: float) -> str:
    return "Terminating" if get_path(obj, "metadata", "deletionTimestamp") else get_path(obj, "status", "phase") or ""


def claim_capacity(obj: Mapping, now: float) -> str:
    """The bound volume's capacity; blank until the claim names a volume (printPersistentVolumeClaim)."""
    if not get_path(obj, "spec", "volumeName"):
        return ""
    return str(get_path(obj, "status", "capacity", "storage") or "")


def claim_access_modes(obj: Mapping, now: float) -> str:
    """GetAccessModesAsString of the bound volume's modes: `RWO,RWX`."""
    if not get_path(obj, "spec", "volumeName"):
        return ""
    modes = get_path(obj, "status", "accessModes") or ()
    return ",".join(short for mode, short in _ACCESS_MODE_SHORT if mode in modes)


def claim_class(obj: Mapping, now: float) -> str:
    beta = (get_path(obj, "metadata", "annotations") or {}).get("volume.beta.kubernetes.io/storage-class")
    return beta if beta is not None else get_path(obj, "spec", "storageClassName") or ""


def volume_claim(obj: Mapping, now: float) -> str:
    """`namespace/name` of the claim a volume is bound (or reserved) to; blank when none."""
    ref = get_path(obj, "spec", "claimRef")
    return f"{ref.get('namespace') or ''}/{ref.get('name') or ''}" if ref else ""


def volume_access_modes(obj: Mapping, now: float) -> str:
    modes = get_path(obj, "spec", "accessModes") or ()
    return ",".join(short for mode, short in _ACCESS_MODE_SHORT if mode in modes)


def volume_class(obj: Mapping, now: float) -> str:
    return storage.volume_class(obj)


def storageclass_name(obj: Mapping, now: float) -> str:
    name = get_path(obj, "metadata", "name") or ""
    return name + " (default)" if storage.is_default_class(obj) else name


def event_subobject(obj: Mapping, now: float) -> str:
    return (_event(obj, "involvedObject") or {}).get("fieldPath") or ""


def event_first_seen(obj: Mapping, now: float) -> str:
    return _age_of(_event(obj, "firstTimestamp") or obj.get("eventTime"), now)


def event_last_seen(obj: Mapping, now: float) -> str:
    """The series' last observation, else lastTimestamp, else the first sighting (printEvent)."""
    observed = get_path(obj, "series", "lastObservedTime")
    if observed:
        return _age_of(observed, now)
    last = _event(obj, "lastTimestamp")
    return _age_of(last, now) if last else event_first_seen(obj, now)


def event_count(obj: Mapping, now: float) -> str:
    """The series' count, else count; a singleton event (count unset) is 1."""
    return str(get_path(obj, "series", "count") or _event(obj, "count") or 1)


def event_source(obj: Mapping, now: float) -> str:
    """`kubelet, node-1`: the source's component and host, else the reporting controller and instance."""
    source = _event(obj, "source") or {}
    component = source.get("component") or _event(obj, "reportingComponent") or ""
    instance = source.get("host") or obj.get("reportingInstance") or ""
    return f"{component}, {instance}" if instance else component


def event_message(obj: Mapping, now: float) -> str:
    return (_event(obj, "message") or "").strip()


def job_status(job: Mapping, now: float) -> str:
    """printJob's STATUS: terminal conditions first, then Terminating, Suspended and the interim ones."""
    if _condition(job, "Complete") == "True":
        return "Complete"
    if _condition(job, "Failed") == "True":
        return "Failed"
    if get_path(job, "metadata", "deletionTimestamp"):
        return "Terminating"
    for ctype in ("Suspended", "FailureTarget", "SuccessCriteriaMet"):
        if _condition(job, ctype) == "True":
            return ctype
    return "Running"


def job_completions(job: Mapping, now: float) -> str:
    succeeded = _int(get_path(job, "status", "succeeded"))
    completions = get_path(job, "spec", "completions")
    parallelism = get_path(job, "spec", "parallelism")
    if completions is not None:
        return f"{succeeded}/{completions}"
    if parallelism is None:
        return f"{succeeded}/1 of 1"
    return f"{succeeded}/1 of {parallelism}" if parallelism > 1 else f"{succeeded}/1"


def job_duration(job: Mapping, now: float) -> str:
    start = get_path(job, "status", "startTime")
    if not start:
        return ""
    end = get_path(job, "status", "completionTime")
    return format_age(max(0.0, (parse_time(end) if end else now) - parse_time(start)))


def _job_template_containers(obj: Mapping) -> Sequence[Mapping]:
    return get_path(obj, "spec", "jobTemplate", "spec", "template", "spec", "containers") or ()


def _bool_ptr(*path: str) -> Callable[[Mapping, float], str]:
    def cell(obj: Mapping, now: float) -> str:
        value = get_path(obj, *path)
        return "<unset>" if value is None else ("True" if value else "False")

    return cell


def cronjob_last_schedule(cj: Mapping, now: float) -> str:
    ts = get_path(cj, "status", "lastScheduleTime")
    return _age_of(ts, now) if ts else NONE


def _int_or_string(*path: str) -> Callable[[Mapping, float], str]:
    def cell(obj: Mapping, now: float) -> str:
        value = get_path(obj, *path)
        return "N/A" if value is None else str(value)

    return cell


def ingress_hosts(ing: Mapping, now: float, limit: int = 3) -> str:
    rules = get_path(ing, "spec", "rules") or ()
    hosts = [r.get("host") for r in rules[:limit] if r.get("host")]
    if not hosts:
        return "*"
    shown = ",".join(hosts)
    return f"{shown} + {len(rules) - limit} more..." if len(rules) > limit else shown


def ingress_address(ing: Mapping, now: float) -> str:
    found = get_path(ing, "status", "loadBalancer", "ingress") or ()
    return ",".join(i.get("ip") or i.get("hostname") or "" for i in found if i.get("ip") or i.get("hostname"))


def ingress_ports(ing: Mapping, now: float) -> str:
    return "80, 443" if get_path(ing, "spec", "tls") else "80"


def ingressclass_parameters(ic: Mapping, now: float) -> str:
    params = get_path(ic, "spec", "parameters")
    if not params:
        return NONE
    group = params.get("apiGroup")
    kind = f"{params.get('kind')}.{group}" if group else params.get("kind")
    return f"{kind}/{params.get('name')}"


def _quota_column(limits: bool) -> Callable[[Mapping, float], str]:
    """printResourceQuota: `resource: used/hard` per resource, `limits.*` in the LIMIT column."""
    def cell(quota: Mapping, now: float) -> str:
        hard = get_path(quota, "status", "hard") or {}
        used = get_path(quota, "status", "used") or {}
        parts = [f"{r}: {used.get(r, '0')}/{hard[r]}" for r in sorted(hard)
                 if (r.split(".", 1)[0] == "limits" and "." in r) == limits]
        return ", ".join(parts)

    return cell


def _hpa_metric(spec: Mapping, status: Any) -> str:
    """One metric of an HPA's TARGETS: `current/target`, `<unknown>` until a current value is read."""
    kind = spec.get("type")
    source = {"External": "external", "Pods": "pods", "Object": "object", "Resource": "resource",
              "ContainerResource": "containerResource"}.get(kind)
    if source is None or not isinstance(spec.get(source), Mapping):
        return "<unknown type>"
    target = get_path(spec, source, "target") or {}
    current = get_path(status, source, "current") if isinstance(status, Mapping) and status.get(source) else None
    if source in ("resource", "containerResource"):
        name = get_path(spec, source, "name") or ""
        if target.get("averageValue") is not None:
            now_value = UNKNOWN if current is None else str((current or {}).get("averageValue") or "0")
            return f"{name}: {now_value}/{target['averageValue']}"
        used = (current or {}).get("averageUtilization")
        goal = target.get("averageUtilization")
        return f"{name}: {UNKNOWN if used is None else f'{used}%'}/{'<auto>' if goal is None else f'{goal}%'}"
    if source == "pods":
        return f"{UNKNOWN if current is None else (current or {}).get('averageValue') or '0'}/{target.get('averageValue') or '0'}"
    if target.get("averageValue") is not None:  # external, object: per pod
        used = (current or {}).get("averageValue")
        return f"{UNKNOWN if used is None else used}/{target['averageValue']} (avg)"
    return f"{UNKNOWN if current is None else (current or {}).get('value') or '0'}/{target.get('value') or '0'}"


def hpa_targets(hpa: Mapping, now: float, limit: int = 2) -> str:
    """formatHPAMetrics: each metric's current value against its target, the spec's order, two at most."""
    specs = [m for m in get_path(hpa, "spec", "metrics") or () if isinstance(m, Mapping)]
    if not specs:
        return NONE
    statuses = list(get_path(hpa, "status", "currentMetrics") or ())
    cells = [_hpa_metric(spec, statuses[i] if i < len(statuses) else None) for i, spec in enumerate(specs)]
    text = ", ".join(cells[:limit])
    return f"{text} + {len(cells) - limit} more..." if len(cells) > limit else text


def hpa_reference(hpa: Mapping, now: float) -> str:
    ref = get_path(hpa, "spec", "scaleTargetRef") or {}
    return f"{ref.get('kind', '')}/{ref.get('name', '')}"


def role_ref(binding: Mapping, now: float) -> str:
    """A binding's ROLE: `ClusterRole/view`."""
    ref = binding.get("roleRef") or {}
    return f"{ref.get('kind', '')}/{ref.get('name', '')}"


def _subjects(kind: str) -> Callable[[Mapping, float], str]:
    """A binding's subjects of one kind (`ns/name` for service accounts), as rbac.SubjectsStrings lists them."""
    def cell(binding: Mapping, now: float) -> str:
        return ", ".join(
            f"{s.get('namespace', '')}/{s.get('name', '')}" if kind == "ServiceAccount" else s.get("name", "")
            for s in binding.get("subjects") or () if s.get("kind") == kind)

    return cell


def _go_bool(value: Any) -> str:
    return "true" if value else "false"


# ---------------------------------------------------------- custom kinds


def _go_float(value: float) -> str:
    """A float as Go's fmt prints it: shortest digits, an exponent from 1e+06 up and below 1e-04."""
    sign, digits, exponent = decimal.Decimal(repr(value)).normalize().as_tuple()
    lead = len(digits) + int(exponent) - 1
    if -4 <= lead < 6:
        return format(decimal.Decimal(repr(value)).normalize(), "f")
    mantissa = str(digits[0]) + ("." + "".join(map(str, digits[1:])) if len(digits) > 1 else "")
    return f"{'-' if sign else ''}{mantissa}e{'-' if lead < 0 else '+'}{abs(lead):02d}"


def _go_json(value: Any) -> str:
    """Compact JSON with sorted keys and <, >, & escaped, as Go's json.Marshal writes it."""
    text = json.dumps(thaw(value), separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _jsonpath_text(value: Any) -> str:
    """A value as client-go's JSONPath prints it: objects and lists as JSON, scalars as Go's fmt."""
    if value is None:
        return "<no value>"
    if isinstance(value, bool):
        return _go_bool(value)
    if isinstance(value, float):
        return _go_float(value)
    if isinstance(value, (Mapping, Sequence)) and not isinstance(value, str):
        return _go_json(value)
    return str(value)


def _typed_cell(column: PrinterColumn, value: Any, now: float) -> Any:
    """The Table cell of a custom column (apiextensions' cellForJSONValue): None when the type does not fit."""
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    if column.type == "string":
        return _jsonpath_text(value)
    if column.type == "integer" and numeric:
        return int(value)
    if column.type == "number" and numeric:
        return float(value)
    if column.type == "boolean" and isinstance(value, bool):
        return value
    if column.type == "date" and isinstance(value, str):
        try:
            return _age_of(value, now) if value else UNKNOWN
        except ValueError:
            return "<invalid>"
    return None


def cell_text(cell: Any) -> str:
    """How kubectl prints a Table cell: nothing for None, a string up to its first newline."""
    if cell is None:
        return ""
    if isinstance(cell, str):
        head, newline, _ = cell.partition("\n")
        return head + "..." if newline else head
    return _jsonpath_text(cell)


def _custom_value(column: PrinterColumn) -> Callable[[Mapping, float], Any]:
    def value(obj: Mapping, now: float) -> Any:
        try:
            found = jsonpath.find(column.json_path, obj)
        except jsonpath.JSONPathError:
            return None
        return _typed_cell(column, found[0], now) if found else None

    return value


def custom_column(column: PrinterColumn) -> Column:
    """A CRD's printer column: its JSONPath's first result, typed as the column declares."""
    value = _custom_value(column)
    description = column.description or f"Custom resource definition column (in JSONPath format): {column.json_path}"
    return Column(column.name, column.priority, lambda obj, now: cell_text(value(obj, now)),
                  column.type, description, column.format, value)


# served when a CRD version declares no columns (apiextensions' serveDefaultColumnsIfEmpty)
_CUSTOM_AGE = PrinterColumn("Age", "date", ".metadata.creationTimestamp",
                            description="CreationTimestamp is a timestamp representing the server time "
                                        "when this object was created.")


def _custom_columns(rt: Any, version: str | None) -> list[Column]:
    declared = rt.printer_columns.get(version if version in rt.printer_columns else rt.version) or ()
    return [_NAME, *(custom_column(c) for c in declared or (_CUSTOM_AGE,))]


# ------------------------------------------------------------- the table

C = Column
_NAME = C("Name", 0, name, format="name")
_AGE = C("Age", 0, age)
_CREATED_AT = C("Created At", 0, created_at, "date")
_WORKLOAD_WIDE = [C("Containers", 1, container_names), C("Images", 1, container_images), C("Selector", 1, selector)]

def _healthy(obj: Mapping) -> Mapping:
    return next((c for c in obj.get("conditions") or () if c.get("type") == "Healthy"), {})


def component_status(obj: Mapping, now: float) -> str:
    """printComponentStatus: Healthy or Unhealthy by the Healthy condition, else Unknown."""
    status = _healthy(obj).get("status")
    return "Healthy" if status == "True" else "Unhealthy" if status else "Unknown"


def _healthy_condition(field: str):
    return lambda obj, now: _healthy(obj).get(field) or ""


def api_service_service(obj: Mapping, now: float) -> str:
    """Local, or the namespace/name of the Service an APIService proxies to."""
    service = get_path(obj, "spec", "service")
    return f"{service.get('namespace')}/{service.get('name')}" if service else "Local"


def api_service_available(obj: Mapping, now: float) -> str:
    """The Available condition's status, with its reason when not True."""
    condition = next((c for c in get_path(obj, "status", "conditions") or () if c.get("type") == "Available"), None)
    if condition is None:
        return "Unknown"
    status = condition.get("status") or ""
    return status if status == "True" else f"{status} ({condition.get('reason') or ''})"


_BY_KIND: dict[tuple[str, str], list[Column]] = {
    ("", "Pod"): [
        _NAME, C("Ready", 0, pod_ready), C("Status", 0, pod_status), C("Restarts", 0, pod_restarts), _AGE,
        C("IP", 1, _path("status", "podIP")), C("Node", 1, _path("spec", "nodeName")),
        C("Nominated Node", 1, _path("status", "nominatedNodeName")), C("Readiness Gates", 1, pod_readiness_gates),
    ],
    ("apps", "Deployment"): [
        _NAME, C("Ready", 0, deployment_ready), C("Up-to-date", 0, _count("status", "updatedReplicas"), "integer"),
        C("Available", 0, _count("status", "availableReplicas"), "integer"), _AGE, *_WORKLOAD_WIDE,
    ],
    ("apps", "ReplicaSet"): [
        _NAME, C("Desired", 0, _count("spec", "replicas"), "integer"), C("Current", 0, _count("status", "replicas"), "integer"),
        C("Ready", 0, _count("status", "readyReplicas"), "integer"), _AGE, *_WORKLOAD_WIDE,
    ],
    ("", "ReplicationController"): [
        _NAME, C("Desired", 0, _count("spec", "replicas"), "integer"), C("Current", 0, _count("status", "replicas"), "integer"),
        C("Ready", 0, _count("status", "readyReplicas"), "integer"), _AGE, *_WORKLOAD_WIDE[:2],
        C("Selector", 1, lambda o, n: format_labels(get_path(o, "spec", "selector"))),
    ],
    ("apps", "StatefulSet"): [_NAME, C("Ready", 0, deployment_ready), _AGE, *_WORKLOAD_WIDE[:2]],
    ("apps", "DaemonSet"): [
        _NAME, C("Desired", 0, _count("status", "desiredNumberScheduled"), "integer"),
        C("Current", 0, _count("status", "currentNumberScheduled"), "integer"),
        C("Ready", 0, _count("status", "numberReady"), "integer"),
        C("Up-to-date", 0, _count("status", "updatedNumberScheduled"), "integer"),
        C("Available", 0, _count("status", "numberAvailable"), "integer"),
        C("Node Selector", 0, lambda o, n: format_labels(get_path(o, "spec", "template", "spec", "nodeSelector"))),
        _AGE, *_WORKLOAD_WIDE,
    ],
    ("batch", "Job"): [
        _NAME, C("Status", 0, job_status), C("Completions", 0, job_completions), C("Duration", 0, job_duration),
        _AGE, *_WORKLOAD_WIDE,
    ],
    ("batch", "CronJob"): [
        _NAME, C("Schedule", 0, _path("spec", "schedule", default="")),
        C("Timezone", 0, _path("spec", "timeZone")), C("Suspend", 0, _bool_ptr("spec", "suspend"), "boolean"),
        C("Active", 0, lambda o, n: str(len(get_path(o, "status", "active") or ())), "integer"),
        C("Last Schedule", 0, cronjob_last_schedule), _AGE,
        C("Containers", 1, lambda o, n: ",".join(c.get("name", "") for c in _job_template_containers(o)) or NONE),
        C("Images", 1, lambda o, n: ",".join(c.get("image", "") for c in _job_template_containers(o)) or NONE),
        C("Selector", 1, lambda o, n: format_label_selector(get_path(o, "spec", "jobTemplate", "spec", "selector"))),
    ],
    ("autoscaling", "HorizontalPodAutoscaler"): [
        _NAME, C("Reference", 0, hpa_reference), C("Targets", 0, hpa_targets),
        C("MinPods", 0, _path("spec", "minReplicas", default="<unset>")),
        C("MaxPods", 0, _count("spec", "maxReplicas"), value=lambda o, n: _int(get_path(o, "spec", "maxReplicas"))),
        C("Replicas", 0, _count("status", "currentReplicas"),
          value=lambda o, n: _int(get_path(o, "status", "currentReplicas"))),
        _AGE,
    ],
    ("policy", "PodDisruptionBudget"): [
        _NAME, C("Min Available", 0, _int_or_string("spec", "minAvailable")),
        C("Max Unavailable", 0, _int_or_string("spec", "maxUnavailable")),
        C("Allowed Disruptions", 0, _count("status", "disruptionsAllowed"), "integer"), _AGE,
    ],
    ("networking.k8s.io", "Ingress"): [
        _NAME, C("Class", 0, _path("spec", "ingressClassName")), C("Hosts", 0, ingress_hosts),
        C("Address", 0, ingress_address), C("Ports", 0, ingress_ports), _AGE,
    ],
    ("networking.k8s.io", "IngressClass"): [
        _NAME, C("Controller", 0, _path("spec", "controller", default="")),
        C("Parameters", 0, ingressclass_parameters), _AGE,
    ],
    ("networking.k8s.io", "NetworkPolicy"): [
        _NAME, C("Pod-Selector", 0, lambda o, n: format_label_selector(get_path(o, "spec", "podSelector"))), _AGE,
    ],
    ("", "ResourceQuota"): [_NAME, _AGE, C("Request", 0, _quota_column(False)), C("Limit", 0, _quota_column(True))],
    ("", "LimitRange"): [_NAME, _CREATED_AT],
    ("", "Service"): [
        _NAME, C("Type", 0, _path("spec", "type", default="ClusterIP")), C("Cluster-IP", 0, _path("spec", "clusterIP")),
        C("External-IP", 0, service_external_ip), C("Port(s)", 0, service_ports), _AGE,
        C("Selector", 1, lambda o, n: format_labels(get_path(o, "spec", "selector"))),
    ],
    ("", "Endpoints"): [_NAME, C("Endpoints", 0, endpoints_list), _AGE],
    ("discovery.k8s.io", "EndpointSlice"): [
        _NAME, C("AddressType", 0, _path("addressType")), C("Ports", 0, endpointslice_ports),
        C("Endpoints", 0, endpointslice_endpoints), _AGE,
    ],
    ("", "Node"): [
        _NAME, C("Status", 0, node_status), C("Roles", 0, node_roles), _AGE,
        C("Version", 0, _path("status", "nodeInfo", "kubeletVersion", default="")),
        C("Internal-IP", 1, _node_address("InternalIP")), C("External-IP", 1, _node_address("ExternalIP")),
        C("OS-Image", 1, _path("status", "nodeInfo", "osImage", default=UNKNOWN)),
        C("Kernel-Version", 1, _path("status", "nodeInfo", "kernelVersion", default=UNKNOWN)),
        C("Container-Runtime", 1, _path("status", "nodeInfo", "containerRuntimeVersion", default=UNKNOWN)),
    ],
    ("", "Namespace"): [_NAME, C("Status", 0, _path("status", "phase", default="")), _AGE],
    ("", "ServiceAccount"): [_NAME, C("Secrets", 0, lambda o, n: str(len(o.get("secrets") or ())), "integer"), _AGE],
    ("", "ConfigMap"): [_NAME, C("Data", 0, data_count, "integer"), _AGE],
    ("", "Secret"): [_NAME, C("Type", 0, _path("type", default="")), C("Data", 0, data_count, "integer"), _AGE],
    ("", "PersistentVolumeClaim"): [
        _NAME, C("Status", 0, claim_phase), C("Volume", 0, _path("spec", "volumeName", default="")),
        C("Capacity", 0, claim_capacity), C("Access Modes", 0, claim_access_modes),
        C("StorageClass", 0, claim_class),
        C("VolumeAttributesClass", 0, _path("spec", "volumeAttributesClassName", default="<unset>")), _AGE,
        C("VolumeMode", 1, _path("spec", "volumeMode", default="<unset>")),
    ],
    ("", "PersistentVolume"): [
        _NAME, C("Capacity", 0, _path("spec", "capacity", "storage", default="0")),
        C("Access Modes", 0, volume_access_modes),
        C("Reclaim Policy", 0, _path("spec", "persistentVolumeReclaimPolicy", default="")),
        C("Status", 0, claim_phase), C("Claim", 0, volume_claim), C("StorageClass", 0, volume_class),
        C("VolumeAttributesClass", 0, _path("spec", "volumeAttributesClassName", default="<unset>")),
        C("Reason", 0, _path("status", "reason", default="")), _AGE,
        C("VolumeMode", 1, _path("spec", "volumeMode", default="<unset>")),
    ],
    ("storage.k8s.io", "StorageClass"): [
        C("Name", 0, storageclass_name, format="name"),
        C("Provisioner", 0, _path("provisioner", default="")),
        C("ReclaimPolicy", 0, _path("reclaimPolicy", default="Delete")),
        C("VolumeBindingMode", 0, _path("volumeBindingMode", default="Immediate")),
        C("AllowVolumeExpansion", 0, lambda o, n: _go_bool(o.get("allowVolumeExpansion")),
          value=lambda o, n: bool(o.get("allowVolumeExpansion"))),
        _AGE,
    ],
    ("apps", "ControllerRevision"): [_NAME, C("Controller", 0, controllerrevision_owner),
                                     C("Revision", 0, _count("revision"), "integer"), _AGE],
    ("coordination.k8s.io", "Lease"): [_NAME, C("Holder", 0, _path("spec", "holderIdentity", default="")), _AGE],
    ("apiextensions.k8s.io", "CustomResourceDefinition"): [_NAME, _CREATED_AT],
    ("", "Event"): [
        C("Last Seen", 0, event_last_seen), C("Type", 0, _path("type", default="")),
        C("Reason", 0, _path("reason", default="")), C("Object", 0, event_object),
        C("Subobject", 1, event_subobject), C("Source", 1, event_source),
        C("Message", 0, event_message), C("First Seen", 1, event_first_seen),
        C("Count", 1, event_count, value=lambda o, n: int(event_count(o, n))), attrs.evolve(_NAME, priority=1),
    ],
    ("scheduling.k8s.io", "PriorityClass"): [
        _NAME, C("Value", 0, _count("value"), "integer"),
        C("Global-Default", 0, lambda o, n: _go_bool(o.get("globalDefault")), "boolean",
          value=lambda o, n: bool(o.get("globalDefault"))),
        _AGE, C("PreemptionPolicy", 0, _path("preemptionPolicy", default="")),
    ],
    ("", "ComponentStatus"): [
        _NAME, C("Status", 0, component_status), C("Message", 0, _healthy_condition("message")),
        C("Error", 0, _healthy_condition("error")),
    ],
    ("apiregistration.k8s.io", "APIService"): [
        _NAME, C("Service", 0, api_service_service), C("Available", 0, api_service_available), _AGE,
    ],
    ("node.k8s.io", "RuntimeClass"): [_NAME, C("Handler", 0, _path("handler", default="")), _AGE],
    **{("admissionregistration.k8s.io", kind): [
        _NAME, C("Webhooks", 0, lambda o, n: str(len(o.get("webhooks") or ())), "integer"), _AGE]
       for kind in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration")},
    ("certificates.k8s.io", "CertificateSigningRequest"): [
        _NAME, _AGE, C("SignerName", 0, _path("spec", "signerName")),
        C("Requestor", 0, _path("spec", "username", default="")),
        C("RequestedDuration", 0, csr_duration), C("Condition", 0, csr_condition)],
    ("rbac.authorization.k8s.io", "Role"): [_NAME, _CREATED_AT],
    ("rbac.authorization.k8s.io", "ClusterRole"): [_NAME, _CREATED_AT],
    ("rbac.authorization.k8s.io", "RoleBinding"): [
        _NAME, C("Role", 0, role_ref), _AGE, C("Users", 1, _subjects("User")),
        C("Groups", 1, _subjects("Group")), C("ServiceAccounts", 1, _subjects("ServiceAccount")),
    ],
}
_BY_KIND[("events.k8s.io", "Event")] = _BY_KIND[("", "Event")]
_BY_KIND[("rbac.authorization.k8s.io", "ClusterRoleBinding")] = _BY_KIND[("rbac.authorization.k8s.io", "RoleBinding")]
_DEFAULT = [_NAME, _AGE]


def _scale_columns(rt: Any) -> list[Column]:
    """The Scale subresource's table: printScale's, or a custom kind's from its scale paths."""
    desired = C("Desired", 0, _count("spec", "replicas"), "integer", "Number of desired replicas")
    available = C("Available", 0, _count("status", "replicas"), "integer", "Number of actual replicas")
    if rt.is_custom:
        return [_NAME, desired, available, custom_column(_CUSTOM_AGE)]
    return [attrs.evolve(_NAME, format=""), desired, available, _AGE]


def columns(resource_type: Any, wide: bool = False, subresource: str = "",
            version: str | None = None) -> list[Column]:
    """The `kubectl get` columns of a kind (priority-1 columns only when wide).

    `subresource` "scale" answers the Scale's columns; any other shows the
    kind's own (`--subresource=status`).  A custom kind's come from the CRD's
    `version` (default: the stored one).
    """
    if subresource == "scale":
        cols = _scale_columns(resource_type)
    elif resource_type.is_custom:
        cols = _custom_columns(resource_type, version)
    else:
        cols = _BY_KIND.get((resource_type.group, resource_type.kind), _DEFAULT)
    return [c for c in cols if wide or c.priority == 0]


def render_table(headers: Sequence[str], rows: Sequence[Sequence[str]], padding: int = 3) -> str:
    """Left-aligned columns separated by at least `padding` spaces (kubectl's tabwriter)."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row)]
    lines = []
    for row in [headers, *rows]:
        cells = [cell.ljust(w + padding) for cell, w in zip(row[:-1], widths)] + [row[-1]]
        lines.append("".join(cells).rstrip())
    return "\n".join(lines)
