"""`recon describe KIND NAME`: one object as a readable page, like `kubectl describe`.

Name, Namespace, Labels and Annotations (but the last applied
configuration, which kubectl leaves out too); then the fields of the kind that
matter when debugging (kubectl's describers for Pods, Deployments,
ReplicaSets, ReplicationControllers, Nodes, Services, Jobs, CronJobs, NetworkPolicies and
HorizontalPodAutoscalers; the spec and status of any other kind as YAML);
the Conditions table; and the object's Events — the core/v1 Events whose
involvedObject names it (kind, name, namespace and, when both have one,
uid).  PersistentVolumes, PersistentVolumeClaims and StorageClasses get
kubectl's whole page, laid out as kubectl lays it out (describe_storage.py).
Everything is read from one snapshot, so `--at REV` describes the object as
it was.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from .describe_storage import PAGES, annotation_lines, rows_to_lines, since, tabbed, volume_source
from .objects import Key, get_path, thaw
from .selectors import format_label_selector
from .timeutil import format_age, parse_time

NONE = "<none>"
UNKNOWN = "<unknown>"
WIDTH = 14  # the label column, as kubectl's


def describe(snapshot: Any, key: Key) -> str:
    """The page of the object at `key` in `snapshot` (the object must exist)."""
    obj = snapshot.get(tuple(key))
    page = PAGES.get((key[0], key[1]))
    if page is not None:
        return "\n".join(tabbed([*page(obj, snapshot), *_event_lines(snapshot, key, obj)])) + "\n"
    meta = obj.get("metadata", {})
    out: list[str] = [_field("Name", meta.get("name"))]
    if key[2]:
        out.append(_field("Namespace", key[2]))
    out += _map_field("Labels", meta.get("labels"))
    out += _fixed(annotation_lines("Annotations", meta.get("annotations")))
    if meta.get("creationTimestamp"):
        out.append(_field("CreationTimestamp", meta["creationTimestamp"]))
    if meta.get("deletionTimestamp"):
        out.append(_field("Terminating", f"since {meta['deletionTimestamp']}"))
    owner = next((r for r in meta.get("ownerReferences", ()) if r.get("controller")), None)
    if owner is not None:
        out.append(_field("Controlled By", f"{owner.get('kind')}/{owner.get('name')}"))
    out += _KINDS.get(key[1], _generic)(obj, snapshot)
    out += _conditions(get_path(obj, "status", "conditions"), wide=key[1] != "Pod")
    out += _events(snapshot, key, obj)
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- layout


def _field(label: str, value: Any, indent: int = 0) -> str:
    text = NONE if value is None or value == "" else str(value)
    return " " * indent + f"{label + ':':<{max(WIDTH, len(label) + 2)}}{text}"


def _map_field(label: str, values: Mapping | None) -> list[str]:
    items = [f"{k}={str(v).strip()}" for k, v in sorted((values or {}).items())]
    if not items:
        return [_field(label, None)]
    return [_field(label, items[0]), *(" " * WIDTH + item for item in items[1:])]


def _fixed(lines: Sequence[str]) -> list[str]:
    """Tab-separated `label:\tvalue` lines in this page's fixed label column."""
    out = []
    for line in lines:
        label, tab, value = line.partition("\t")
        out.append(f"{label:<{max(WIDTH, len(label) + 1)}}{value}".rstrip() if tab else line)
    return out


def _table(rows: Sequence[Sequence[Any]], indent: int = 2) -> list[str]:
    rows = [[NONE if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [" " * indent + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]


def _yaml(label: str, value: Any) -> list[str]:
    if not value:
        return [_field(label, None)]
    text = yaml.dump(thaw(value), Dumper=yaml.CSafeDumper, default_flow_style=False, sort_keys=True, width=100)
    return [f"{label}:", *("  " + line for line in text.splitlines())]


# ---------------------------------------------------------------- kinds


def _pod(obj: Mapping, _snapshot: Any) -> list[str]:
    spec, status = obj.get("spec", {}), obj.get("status", {})
    node = spec.get("nodeName")
    out = [
        _field("Priority", spec.get("priority", 0)),
        _field("Service Account", spec.get("serviceAccountName")),
        _field("Node", f"{node}/{status['hostIP']}" if node and status.get("hostIP") else node),
        _field("Start Time", status.get("startTime")),
        _field("Status", "Terminating" if get_path(obj, "metadata", "deletionTimestamp")
               else status.get("phase")),
    ]
    if status.get("reason"):
        out.append(_field("Reason", status["reason"]))
    if status.get("message"):
        out.append(_field("Message", status["message"]))
    out.append(_field("IP", status.get("podIP")))
    out.append("Containers:")
    states = {c.get("name"): c for c in status.get("containerStatuses", ())}
    for c in spec.get("containers", ()):
        cs = states.get(c.get("name"), {})
        out.append(f"  {c.get('name')}:")
        out.append(_field("Image", c.get("image"), 4))
        ports = ", ".join(f"{p.get('containerPort')}/{p.get('protocol', 'TCP')}" for p in c.get("ports", ()))
        out.append(_field("Port", ports or None, 4))
        state = cs.get("state") or {}
        for name, detail in state.items():
            out.append(_field("State", name.capitalize(), 4))
            for k in ("reason", "startedAt", "exitCode", "finishedAt"):
                if isinstance(detail, Mapping) and k in detail:
                    out.append(_field(k[0].upper() + k[1:], detail[k], 6))
        out.append(_field("Ready", cs.get("ready", False), 4))
        out.append(_field("Restart Count", cs.get("restartCount", 0), 4))
        requests = get_path(c, "resources", "requests") or {}
        if requests:
            out.append("    Requests:")
            out += [_field(k, v, 6) for k, v in sorted(requests.items())]
        out += _mounts(c)
    out += _volumes(spec.get("volumes"))
    out.append(_field("QoS Class", status.get("qosClass")))
    out += _map_field("Node-Selectors", spec.get("nodeSelector"))
    tolerations = [_toleration(t) for t in spec.get("tolerations", ())]
    out.append(_field("Tolerations", tolerations[0] if tolerations else None))
    out += [" " * WIDTH + t for t in tolerations[1:]]
    return out


def _mounts(container: Mapping) -> list[str]:
    """kubectl's Mounts (and Devices): `/data from data (rw)`, by mount path."""
    mounts = sorted(container.get("volumeMounts") or (), key=lambda m: m.get("mountPath", ""))
    out = ["    Mounts:" if mounts else _field("Mounts", None, 4)]
    for m in mounts:
        flags = ["ro" if m.get("readOnly") else "rw"] + ([f'path="{m["subPath"]}"'] if m.get("subPath") else [])
        out.append(f"      {m.get('mountPath')} from {m.get('name')} ({','.join(flags)})")
    devices = sorted(container.get("volumeDevices") or (), key=lambda d: d.get("devicePath", ""))
    if devices:
        out += ["    Devices:", *(f"      {d.get('devicePath')} from {d.get('name')}" for d in devices)]
    return out


def _volumes(volumes: Sequence[Mapping] | None) -> list[str]:
    """kubectl's Volumes: each volume's name, then what its source says (a claim's name, a host path, ...),
    aligned volume by volume as kubectl aligns them."""
    if not volumes:
        return [_field("Volumes", None)]
    out = ["Volumes:"]
    for volume in volumes:
        rows = volume_source(volume)
        out += [f"  {volume.get('name')}:", *(tabbed(rows_to_lines(rows, "    ")) if rows else [f"  {UNKNOWN}"])]
    return out


def _toleration(t: Mapping) -> str:
    text = t.get("key", "")
    if t.get("operator") == "Equal" or t.get("value"):
        text += f"={t.get('value', '')}"
    text += f":{t['effect']}" if t.get("effect") else ""
    text += " op=Exists" if t.get("operator") == "Exists" else ""
    return text + (f" for {t['tolerationSeconds']}s" if t.get("tolerationSeconds") is not None else "")


def _selector(obj: Mapping) -> str | None:
    selector = get_path(obj, "spec", "selector")
    if isinstance(selector, Mapping) and ("matchLabels" in selector or "matchExpressions" in selector):
        return format_label_selector(selector)
    return ",".join(f"{k}={v}" for k, v in sorted((selector or {}).items())) or None


def _deployment(obj: Mapping, _snapshot: Any) -> list[str]:
    spec, status = obj.get("spec", {}), obj.get("status", {})
    count = lambda name: status.get(name, 0)  # noqa: E731
    strategy = spec.get("strategy", {})
    out = [
        _field("Selector", _selector(obj)),
        _field("Replicas", f"{spec.get('replicas', 1)} desired | {count('updatedReplicas')} updated | "
                           f"{count('replicas')} total | {count('availableReplicas')} available | "
                           f"{count('unavailableReplicas')} unavailable"),
        _field("StrategyType", strategy.get("type")),
        _field("MinReadySeconds", spec.get("minReadySeconds", 0)),
    ]
    rolling = strategy.get("rollingUpdate")
    if rolling:
        out.append(_field("RollingUpdateStrategy", f"{rolling.get('maxUnavailable')} max unavailable, "
                                                   f"{rolling.get('maxSurge')} max surge"))
    return out + _template(spec.get("template"))


def _replicaset(obj: Mapping, snapshot: Any) -> list[str]:
    spec, status = obj.get("spec", {}), obj.get("status", {})
    out = [
        _field("Selector", _selector(obj)),
        _field("Replicas", f"{status.get('replicas', 0)} current / {spec.get('replicas', 1)} desired"),
        _field("Pods Status", _pods_status(snapshot, obj)),
    ]
    return out + _template(spec.get("template"))


def _pods_status(snapshot: Any, obj: Mapping) -> str:
    """`N Running / N Waiting / N Succeeded / N Failed` of the pods `obj` controls."""
    uid = get_path(obj, "metadata", "uid")
    pods = [snapshot.get(k) for k in sorted(snapshot.index("owner", uid))] if uid else []
    phases = [get_path(p, "status", "phase") for p in pods if p.get("kind") == "Pod"]
    return " / ".join(f"{phases.count(p)} {'Waiting' if p == 'Pending' else p}"
                      for p in ("Running", "Pending", "Succeeded", "Failed"))


def _daemonset(obj: Mapping, snapshot: Any) -> list[str]:
    spec, status = obj.get("spec", {}), obj.get("status", {})
    node_selector = get_path(spec, "template", "spec", "nodeSelector") or {}
    return [
        _field("Selector", _selector(obj)),
        _field("Node-Selector", ",".join(f"{k}={v}" for k, v in sorted(node_selector.items())) or "<none>"),
        *(_field(label, status.get(name, 0)) for label, name in (
            ("Desired Number of Nodes Scheduled", "desiredNumberScheduled"),
            ("Current Number of Nodes Scheduled", "currentNumberScheduled"),
            ("Number of Nodes Scheduled with Up-to-date Pods", "updatedNumberScheduled"),
            ("Number of Nodes Scheduled with Available Pods", "numberAvailable"),
            ("Number of Nodes Misscheduled", "numberMisscheduled"))),
        _field("Pods Status", _pods_status(snapshot, obj)),
    ] + _template(spec.get("template"))


def _statefulset(obj: Mapping, snapshot: Any) -> list[str]:
    spec, status = obj.get("spec", {}), obj.get("status", {})
    strategy = spec.get("updateStrategy", {})
    out = [
        _field("Selector", _selector(obj)),
        _field("Replicas", f"{spec.get('replicas', 1)} desired | {status.get('replicas', 0)} total"),
        _field("Update Strategy", strategy.get("type")),
    ]
    partition = get_path(strategy, "rollingUpdate", "partition")
    if partition is not None:
        out.append(_field("Partition", partition, 2))
    out += [_field("Pods Status", _pods_status(snapshot, obj)), *_template(spec.get("template"))]
    claims = spec.get("volumeClaimTemplates") or ()
    out.append("Volume Claims:" if claims else _field("Volume Claims", None))
    for claim in claims:
        out += [_field("Name", get_path(claim, "metadata", "name"), 2),
                _field("StorageClass", get_path(claim, "spec", "storageClassName") or "", 2),
                _field("Capacity", get_path(claim, "spec", "resources", "requests", "storage"), 2),
                _field("Access Modes", ",".join(get_path(claim, "spec", "accessModes") or ()), 2)]
    return out


def _template(template: Mapping | None) -> list[str]:
    if not template:
        return []
    out = ["Pod Template:", *("  " + line for line in _map_field("Labels", get_path(template, "metadata", "labels")))]
    for c in get_path(template, "spec", "containers") or ():
        out += [f"  {c.get('name')}:", _field("Image", c.get("image"), 4)]
    return out


def _node(obj: Mapping, _snapshot: Any) -> list[str]:
    spec, status = obj.get("spec", {}), obj.get("status", {})
    taints = [f"{t.get('key')}" + (f"={t['value']}" if t.get("value") else "") + f":{t.get('effect')}"
              for t in spec.get("taints", ())]
    out = [_field("Taints", taints[0] if taints else None), *(" " * WIDTH + t for t in taints[1:]),
           _field("Unschedulable", bool(spec.get("unschedulable")))]
    out.append("Addresses:")
    out += [_field(a.get("type"), a.get("address"), 2) for a in status.get("addresses", ())]
    for label in ("capacity", "allocatable"):
        values = status.get(label) or {}
        out.append(f"{label.capitalize()}:" + ("" if values else f" {NONE}"))
        out += [_field(k, v, 2) for k, v in sorted(values.items())]
    out.append(_field("PodCIDR", spec.get("podCIDR")))
    return out


def _service(obj: Mapping, snapshot: Any) -> list[str]:
    spec = obj.get("spec", {})
    meta = obj.get("metadata", {})
    ports = [f"{p.get('name') or '<unset>'}  {p.get('port')}/{p.get('protocol', 'TCP')}"
             f" -> {p.get('targetPort', p.get('port'))}" for p in spec.get("ports", ())]
    ep = snapshot.get(("", "Endpoints", meta.get("namespace", ""), meta.get("name")))
    addresses = [f"{a.get('ip')}:{p.get('port')}" for s in (ep or {}).get("subsets", ())
                 for a in s.get("addresses", ()) for p in s.get("ports", ())]
    return [
        _field("Selector", _selector(obj)),
        _field("Type", spec.get("type", "ClusterIP")),
        _field("IP", spec.get("clusterIP")),
        _field("Port", ports[0] if ports else None), *(" " * WIDTH + p for p in ports[1:]),
        _field("Endpoints", ",".join(addresses) or None),
    ]


def _job(obj: Mapping, snapshot: Any) -> list[str]:
    """kubectl's DescribeJob: the counts, the times, the pods' statuses, an Indexed Job's completed indexes."""
    spec, status = obj.get("spec", {}), obj.get("status", {})
    out = [
        _field("Selector", format_label_selector(spec.get("selector")) or None),
        _field("Parallelism", spec.get("parallelism", 1)),
        _field("Completions", spec.get("completions", "<unset>")),
        _field("Completion Mode", spec.get("completionMode", "NonIndexed")),
        _field("Suspend", bool(spec.get("suspend"))),
        _field("Backoff Limit", spec.get("backoffLimit", 6)),
    ]
    if spec.get("activeDeadlineSeconds") is not None:
        out.append(_field("Active Deadline Seconds", f"{spec['activeDeadlineSeconds']}s"))
    start, done = status.get("startTime"), status.get("completionTime")
    if start:
        out.append(_field("Start Time", start))
    if done:
        out.append(_field("Completed At", done))
    if start:
        end = parse_time(done) if done else snapshot.time
        out.append(_field("Duration", format_age(max(0.0, end - parse_time(start)))))
    out.append(_field("Pods Statuses", f"{status.get('active', 0)} Active ({status.get('ready', 0)} Ready) / "
                                       f"{status.get('succeeded', 0)} Succeeded / {status.get('failed', 0)} Failed"))
    if spec.get("completionMode") == "Indexed":
        out.append(_field("Completed Indexes", _capped_indexes(status.get("completedIndexes") or "", 50)))
    return out + _template(spec.get("template"))


def _capped_indexes(indexes: str, soft_limit: int) -> str:
    """kubectl's capIndexesListOrNone: cut at the first comma from SOFT_LIMIT characters on, then "..."."""
    if not indexes:
        return NONE
    cut = indexes.find(",", soft_limit)
    return indexes if cut < 0 else indexes[:cut + 1] + "..."


def _cronjob(obj: Mapping, _snapshot: Any) -> list[str]:
    """kubectl's DescribeCronJob: the schedule and policies, the job template, the active jobs."""
    spec, status = obj.get("spec", {}), obj.get("status", {})
    job_spec = get_path(spec, "jobTemplate", "spec") or {}
    active = [f"{ref.get('name')}" for ref in status.get("active", ())]
    out = [
        _field("Schedule", spec.get("schedule")),
        _field("Concurrency Policy", spec.get("concurrencyPolicy", "Allow")),
        _field("Suspend", bool(spec.get("suspend"))),
        _field("Successful Job History Limit", spec.get("successfulJobsHistoryLimit", 3)),
        _field("Failed Job History Limit", spec.get("failedJobsHistoryLimit", 1)),
        _field("Starting Deadline Seconds", f"{spec['startingDeadlineSeconds']}s"
               if spec.get("startingDeadlineSeconds") is not None else "<unset>"),
        _field("Parallelism", job_spec.get("parallelism", "<unset>")),
        _field("Completions", job_spec.get("completions", "<unset>")),
    ]
    out += _template(job_spec.get("template"))
    out.append(_field("Last Schedule Time", status.get("lastScheduleTime") or "<unset>"))
    out.append(_field("Active Jobs", ", ".join(active) or None))
    return out


def _networkpolicy(obj: Mapping, _snapshot: Any) -> list[str]:
    """kubectl's NetworkPolicy describer: the pods it selects, then per direction its rules (or that
    it leaves that direction alone), then the policy types."""
    spec = obj.get("spec") or {}
    selector = spec.get("podSelector") or {}
    selected = format_label_selector(selector) if selector.get("matchLabels") or selector.get("matchExpressions") \
        else "<none> (Allowing the specific traffic to all pods in this namespace)"
    out = ["Spec:", f"  PodSelector:     {selected}"]
    types = spec.get("policyTypes") or ()
    for kind, field, peers, what in (("Ingress", "ingress", "From", "source"),
                                     ("Egress", "egress", "To", "destination")):
        if kind not in types:
            out.append(f"  Not affecting {field} traffic")
            continue
        out.append(f"  Allowing {field} traffic:")
        rules = spec.get(field) or ()
        if not rules:
            out.append(f"    <none> (Selected pods are isolated for {field} connectivity)")
        for i, rule in enumerate(rules):
            out += ["    " + line for line in _policy_rule(rule, peers, what)]
            if i != len(rules) - 1:
                out.append("    ----------")
    return out + [f"  Policy Types: {', '.join(types)}"]


def _policy_rule(rule: Mapping, peers: str, what: str) -> list[str]:
    out = []
    for port in rule.get("ports") or ():
        number = "<nil>" if port.get("port") is None else port["port"]
        protocol = port.get("protocol") or "TCP"
        out.append(f"To Port: {number}/{protocol}" if port.get("endPort") is None
                   else f"To Port Range: {number}-{port['endPort']}/{protocol}")
    if not out:
        out.append("To Port: <any> (traffic allowed to all ports)")
    if not rule.get(peers.lower()):
        out.append(f"{peers}: <any> (traffic not restricted by {what})")
    for peer in rule.get(peers.lower()) or ():
        out += [f"{peers}:", *("  " + line for line in _policy_peer(peer))]
    return out


def _policy_peer(peer: Mapping) -> list[str]:
    """A peer's selectors (namespaces first), else its IP block."""
    found = [f"{label}: {format_label_selector(peer[field])}"
             for label, field in (("NamespaceSelector", "namespaceSelector"), ("PodSelector", "podSelector"))
             if peer.get(field) is not None]
    block = peer.get("ipBlock")
    if found or block is None:
        return found
    excepts = ", ".join(block.get("except") or ())
    return ["IPBlock:", f"  CIDR: {block.get('cidr') or ''}", f"  Except: {excepts}".rstrip()]


def _horizontalpodautoscaler(obj: Mapping, _snapshot: Any) -> list[str]:
    """kubectl's HorizontalPodAutoscaler describer (v2): the target, each metric's current value
    against its target, the replica bounds, the behavior and the target's replicas."""
    spec, status = obj.get("spec", {}), obj.get("status", {})
    ref = spec.get("scaleTargetRef") or {}
    current = list(status.get("currentMetrics") or ())
    out = [_field("Reference", f"{ref.get('kind', '')}/{ref.get('name', '')}"), "Metrics:  ( current / target )"]
    for i, metric in enumerate(spec.get("metrics") or ()):
        out.append("  " + _hpa_metric_line(metric, current[i] if i < len(current) else None))
    out += [_field("Min replicas", spec.get("minReplicas")), _field("Max replicas", spec.get("maxReplicas"))]
    behavior = spec.get("behavior")
    if behavior:
        out.append("Behavior:")
        for label, field in (("Scale Up", "scaleUp"), ("Scale Down", "scaleDown")):
            rules = behavior.get(field) or {}
            out.append(f"  {label}:")
            if rules.get("stabilizationWindowSeconds") is not None:
                out.append(f"    Stabilization Window: {rules['stabilizationWindowSeconds']} seconds")
            out.append(f"    Select Policy: {rules.get('selectPolicy') or ''}")
            out.append("    Policies:")
            out += [f"      - Type: {p.get('type')}  Value: {p.get('value')}  Period: {p.get('periodSeconds')} seconds"
                    for p in rules.get("policies") or ()]
    out.append(f"{ref.get('kind', '')} pods:  {status.get('currentReplicas', 0)} current / "
               f"{status.get('desiredReplicas', 0)} desired")
    return out


def _hpa_metric_line(metric: Mapping, status: Mapping | None) -> str:
    """One metric as kubectl's describer lists it: `resource cpu on pods  (as a percentage of request):  <unknown> / 80%`."""
    kind = metric.get("type")
    source = {"Resource": "resource", "ContainerResource": "containerResource", "Pods": "pods", "Object": "object",
              "External": "external"}.get(kind, "")
    spec = metric.get(source) or {}
    target = spec.get("target") or {}
    now = (status or {}).get(source, {}).get("current") if status and status.get(source) else None
    if source in ("resource", "containerResource"):
        where = f"resource {spec.get('name')}" + (f" of container \"{spec.get('container')}\"" if spec.get("container") else "")
        if target.get("averageValue") is not None:
            return f"{where} on pods:  {(now or {}).get('averageValue', UNKNOWN)} / {target['averageValue']}"
        used = UNKNOWN if not now or now.get("averageUtilization") is None else \
            f"{now['averageUtilization']}% ({now.get('averageValue', '0')})"
        return f"{where} on pods  (as a percentage of request):  {used} / {target.get('averageUtilization')}%"
    name = (spec.get("metric") or {}).get("name")
    value = target.get("averageValue") if target.get("averageValue") is not None else target.get("value")
    used = UNKNOWN if not now else now.get("averageValue") or now.get("value") or UNKNOWN
    if source == "pods":
        return f"\"{name}\" on pods:  {used} / {value}"
    kind_of_target = "target average value" if target.get("averageValue") is not None else "target value"
    if source == "object":
        described = spec.get("describedObject") or {}
        return f"\"{name}\" on {described.get('kind')}/{described.get('name')} ({kind_of_target}):  {used} / {value}"
    return f"\"{name}\" ({kind_of_target}):  {used} / {value}"


def _generic(obj: Mapping, _snapshot: Any) -> list[str]:
    status = {k: v for k, v in (obj.get("status") or {}).items() if k != "conditions"}
    body = {k: v for k, v in obj.items()
            if k not in ("apiVersion", "kind", "metadata", "status")}
    spec = body.pop("spec", None)
    out = _yaml("Spec", spec) if spec is not None else []
    out += [line for k, v in sorted(body.items()) for line in _yaml(k[0].upper() + k[1:], v)]
    return out + (_yaml("Status", status) if status else [])


_KINDS = {"Pod": _pod, "Deployment": _deployment, "ReplicaSet": _replicaset, "ReplicationController": _replicaset,
          "Node": _node, "Service": _service, "Job": _job, "CronJob": _cronjob, "DaemonSet": _daemonset,
          "StatefulSet": _statefulset, "NetworkPolicy": _networkpolicy,
          "HorizontalPodAutoscaler": _horizontalpodautoscaler}


# ---------------------------------------------------------------- conditions and events


def _conditions(conditions: Sequence | None, wide: bool) -> list[str]:
    if not conditions:
        return []
    head = ["Type", "Status", "Reason", "Message"] if wide else ["Type", "Status"]
    rows = [[c.get("type"), c.get("status"), c.get("reason"), c.get("message")][:len(head)]
            for c in conditions]
    return ["Conditions:", *_table([head, ["-" * len(h) for h in head], *rows])]


def events_of(snapshot: Any, key: Key, obj: Mapping) -> list[Mapping]:
    """The core/v1 Events about the object, oldest first (namespaced objects' events live
    in their namespace, cluster-scoped objects' in every namespace)."""
    group, kind, namespace, name = key
    uid = get_path(obj, "metadata", "uid")
    # a kubelet names its Node by name where a uid goes (kubectl's describe node looks for both)
    uids = {uid, name} if (group, kind) == ("", "Node") else {uid}
    keys = snapshot.keys("", "Event", namespace) if namespace else snapshot.keys("", "Event")
    found = []
    for k in keys:
        event = snapshot.get(k)
        about = event.get("involvedObject") or {}
        api_group = str(about.get("apiVersion", "")).rpartition("/")[0]
        if (about.get("kind") == kind and about.get("name") == name and api_group == group
                and (about.get("namespace") or "") == namespace
                and (not uid or not about.get("uid") or about.get("uid") in uids)):
            found.append(event)
    return sorted(found, key=lambda e: (_when(e), get_path(e, "metadata", "name") or ""))


def _when(event: Mapping) -> float:
    for field in ("lastTimestamp", "eventTime", "firstTimestamp"):
        stamp = event.get(field) or get_path(event, "metadata", "creationTimestamp")
        if stamp:
            return parse_time(stamp)
    return 0.0


def _events(snapshot: Any, key: Key, obj: Mapping) -> list[str]:
    lines = _event_lines(snapshot, key, obj)
    return [_field("Events", None)] if len(lines) == 1 else tabbed(lines)


def _event_lines(snapshot: Any, key: Key, obj: Mapping) -> list[str]:
    """kubectl's DescribeEvents as tab-separated cells: `Events:\t<none>`, or the table."""
    events = events_of(snapshot, key, obj)
    if not events:
        return [f"Events:\t{NONE}"]
    rows = [["Type", "Reason", "Age", "From", "Message"], ["----", "------", "----", "----", "-------"]]
    rows += [_event_row(e, snapshot.time) for e in events]
    return ["Events:", *("  " + "\t".join(row) for row in rows)]


def _event_row(event: Mapping, now: float) -> list[str]:
    """One event as kubectl lists it: its age since first seen, or `LAST (xN over FIRST)` when repeated."""
    first = since(event.get("eventTime") or event.get("firstTimestamp"), now)
    series, count = event.get("series"), event.get("count") or 0
    if series:
        age = f"{since(series.get('lastObservedTime'), now)} (x{series.get('count', 0)} over {first})"
    else:
        age = f"{since(event.get('lastTimestamp'), now)} (x{count} over {first})" if count > 1 else first
    return [event.get("type") or "", event.get("reason") or "", age,
            get_path(event, "source", "component") or event.get("reportingComponent") or "",
            str(event.get("message") or "").strip()]
