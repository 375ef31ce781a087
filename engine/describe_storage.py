"""kubectl's describers for PersistentVolumes, PersistentVolumeClaims and StorageClasses, and the
volume sources that a PersistentVolume's page and a pod's page show.

These pages are written as kubectl writes them: lines of tab-separated cells that `tabbed` aligns
as Go's text/tabwriter does (a column is as wide as its widest cell over a run of consecutive lines
that have that column, plus two spaces).  So `recon describe pv NAME` prints what
`kubectl describe pv NAME` prints against `recon up --serve`, but for trailing blanks and one
deviation: a StorageClass's annotations leave out the last applied configuration, as every other
page does (kubectl's StorageClass describer alone prints it, raw JSON and all).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from . import printers, storage
from .objects import get_path
from .timeutil import format_age, parse_time

NONE = "<none>"
PADDING = 2  # tabwriter's padding in kubectl's tabbedString
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
MAX_ANNOTATION = 140  # kubectl's maxAnnotationLen: a longer `key: value` goes on lines of its own

Row = tuple[str, str | None]  # ("Path:", "/data") is the line `Path:\t/data`; ("Items:", None) a line alone


# ---------------------------------------------------------------- layout


def tabbed(lines: Iterable[str]) -> list[str]:
    """Lines of tab-separated cells, aligned as Go's tabwriter aligns them (minwidth 0, padding 2).

    A line's last cell is not tab-terminated and takes no part in alignment; column k of a line is
    padded to the widest column-k cell among the consecutive lines around it that have a column k."""
    cells = [line.split("\t") for line in lines]
    widths = [[0] * (len(row) - 1) for row in cells]
    for column in range(max((len(row) - 1 for row in cells), default=0)):
        start = 0
        while start < len(cells):
            end = start
            while end < len(cells) and len(cells[end]) - 1 > column:
                end += 1
            if end == start:
                start += 1
                continue
            width = max(len(cells[i][column]) for i in range(start, end)) + PADDING
            for i in range(start, end):
                widths[i][column] = width
            start = end
    return [("".join(cell.ljust(width) for cell, width in zip(row, ws)) + row[-1]).rstrip()
            for row, ws in zip(cells, widths)]


def label_lines(title: str, labels: Mapping | None) -> list[str]:
    """printLabelsMultiline: the first `key=value` beside the title, the others under it."""
    items = [f"{k}={v}" for k, v in sorted((labels or {}).items())] or [NONE]
    return [f"{title}:\t{items[0]}", *(f"\t{item}" for item in items[1:])]


def annotation_lines(title: str, annotations: Mapping | None) -> list[str]:
    """printAnnotationsMultiline: `key: value` (the last applied configuration left out); a value
    too long for one line, or of several lines, goes under its key, each line cut at 138 characters."""
    keys = sorted(k for k in (annotations or {}) if k != LAST_APPLIED)
    if not keys:
        return [f"{title}:\t{NONE}"]
    out: list[str] = []
    for i, key in enumerate(keys):
        lead = f"{title}:\t" if i == 0 else "\t"
        value = str(annotations[key]).removesuffix("\n")
        if len(key) + len(value) + 2 > MAX_ANNOTATION or "\n" in value:
            out.append(f"{lead}{key}:")
            out += [f"\t  {_shorten(line, MAX_ANNOTATION - 2)}" for line in value.split("\n")]
        else:
            out.append(f"{lead}{key}: {value}")
    return out


def format_labels(values: Mapping | None) -> str:
    """labels.FormatLabels: `a=1,b=2`, sorted; `<none>` when empty."""
    return ",".join(f"{k}={v}" for k, v in sorted((values or {}).items())) or NONE


def rows_to_lines(rows: Sequence[Row], indent: str) -> list[str]:
    return [indent + cell + ("" if value is None else "\t" + value) for cell, value in rows]


def _shorten(text: str, limit: int) -> str:
    return text[:limit] + "..." if len(text) > limit else text


def _go(value: Any) -> str:
    """Go's %v of a scalar: true/false, numbers, strings as they are."""
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _go_list(values: Sequence | None) -> str:
    """Go's %v of a []string: `[a b]`."""
    return "[" + " ".join(str(v) for v in values or ()) + "]"


def since(stamp: str | None, now: float) -> str:
    """translateTimestampSince: how long ago `stamp` was, `<unknown>` when unset."""
    return format_age(max(0.0, now - parse_time(stamp))) if stamp else "<unknown>"


def _rfc1123z(stamp: str | None) -> str:
    """time.RFC1123Z of a metav1.Time (Go's zero time when unset)."""
    if not stamp:
        return "Mon, 01 Jan 0001 00:00:00 +0000"
    return datetime.fromtimestamp(int(parse_time(stamp)), tz=timezone.utc).strftime("%a, %d %b %Y %H:%M:%S +0000")


def _status(obj: Mapping, now: float) -> str:
    """`Terminating (lasts 5s)` once deleted, else the phase."""
    deleted = get_path(obj, "metadata", "deletionTimestamp")
    return f"Terminating (lasts {since(deleted, now)})" if deleted else get_path(obj, "status", "phase") or ""


# ---------------------------------------------------------------- volume sources


def _fields(title: str, *fields: tuple[str, str, Any]) -> Callable[[Mapping], list[Row]]:
    """A source printed as its type, then each (label, field, value when unset) as Go's %v prints it."""
    def rows(source: Mapping) -> list[Row]:
        return [("Type:", title), *((f"{label}:", _go(source.get(field, unset))) for label, field, unset in fields)]
    return rows


def _host_path(source: Mapping) -> list[Row]:
    return [("Type:", "HostPath (bare host directory volume)"), ("Path:", source.get("path", "")),
            ("HostPathType:", source.get("type") or NONE)]


def _empty_dir(source: Mapping) -> list[Row]:
    limit = source.get("sizeLimit")
    return [("Type:", "EmptyDir (a temporary directory that shares a pod's lifetime)"),
            ("Medium:", source.get("medium", "")),
            ("SizeLimit:", str(limit) if limit not in (None, "", "0", 0) else "<unset>")]


def _csi(source: Mapping) -> list[Row]:
    """printCSIPersistentVolumeSource (VolumeHandle: a volume's) or printCSIVolumeSource (a pod's)."""
    rows: list[Row] = [("Type:", "CSI (a Container Storage Interface (CSI) volume source)"),
                       ("Driver:", source.get("driver", "")), ("FSType:", source.get("fsType", ""))]
    if "volumeHandle" in source:
        rows.append(("VolumeHandle:", source["volumeHandle"]))
    rows.append(("ReadOnly:", _go(bool(source.get("readOnly")))))
    attributes = [_shorten(f"{k}={v}", MAX_ANNOTATION)
                  for k, v in sorted((source.get("volumeAttributes") or {}).items())]
    if not attributes:
        return rows + [("VolumeAttributes:", NONE)]
    # (kubectl writes each attribute, and each further line's lead, with the level's indent again)
    return rows + [("VolumeAttributes:", "    " + attributes[0]), *(("    ", "    " + a) for a in attributes[1:])]


def _projected(source: Mapping) -> list[Row]:
    rows: list[Row] = [("Type:", "Projected (a volume that contains injected data from multiple sources)")]
    for part in source.get("sources") or ():
        if part.get("secret") is not None:
            rows += [("SecretName:", part["secret"].get("name", "")),
                     ("Optional:", _go(bool(part["secret"].get("optional"))))]
        elif part.get("downwardAPI") is not None:
            rows.append(("DownwardAPI:", "true"))
        elif part.get("configMap") is not None:
            rows += [("ConfigMapName:", part["configMap"].get("name", "")),
                     ("Optional:", _go(bool(part["configMap"].get("optional"))))]
        elif part.get("serviceAccountToken") is not None:
            rows.append(("TokenExpirationSeconds:", _go(part["serviceAccountToken"].get("expirationSeconds", 3600))))
    return rows


def _downward_api(source: Mapping) -> list[Row]:
    rows: list[Row] = [("Type:", "DownwardAPI (a volume populated by information about the pod)"), ("Items:", None)]
    for item in source.get("items") or ():
        for ref, field in (("fieldRef", "fieldPath"), ("resourceFieldRef", "resource")):
            if item.get(ref):
                rows.append((f"  {item[ref].get(field, '')} -> {item.get('path', '')}", None))
    return rows


_SOURCES: dict[str, Callable[[Mapping], list[Row]]] = {
    "hostPath": _host_path,
    "emptyDir": _empty_dir,
    "gcePersistentDisk": _fields("GCEPersistentDisk (a Persistent Disk resource in Google Compute Engine)",
                                 ("PDName", "pdName", ""), ("FSType", "fsType", ""), ("Partition", "partition", 0),
                                 ("ReadOnly", "readOnly", False)),
    "awsElasticBlockStore": _fields("AWSElasticBlockStore (a Persistent Disk resource in AWS)",
                                    ("VolumeID", "volumeID", ""), ("FSType", "fsType", ""),
                                    ("Partition", "partition", 0), ("ReadOnly", "readOnly", False)),
    "secret": _fields("Secret (a volume populated by a Secret)", ("SecretName", "secretName", ""),
                      ("Optional", "optional", False)),
    "configMap": _fields("ConfigMap (a volume populated by a ConfigMap)", ("Name", "name", ""),
                         ("Optional", "optional", False)),
    "nfs": _fields("NFS (an NFS mount that lasts the lifetime of a pod)", ("Server", "server", ""),
                   ("Path", "path", ""), ("ReadOnly", "readOnly", False)),
    "persistentVolumeClaim": _fields("PersistentVolumeClaim (a reference to a PersistentVolumeClaim in the same "
                                     "namespace)", ("ClaimName", "claimName", ""), ("ReadOnly", "readOnly", False)),
    "ephemeral": _fields("EphemeralVolume (an inline specification for a volume that gets created and deleted "
                         "with the pod)"),
    "downwardAPI": _downward_api,
    "local": _fields("LocalVolume (a persistent volume backed by local storage on a node)", ("Path", "path", "")),
    "projected": _projected,
    "csi": _csi,
}


def volume_source(volume: Mapping) -> list[Row] | None:
    """The rows kubectl prints for the source a volume (a pod's, or a PersistentVolume's spec) names;
    None for a source it does not know."""
    for field, rows in _SOURCES.items():
        if isinstance(volume.get(field), Mapping):
            return rows(volume[field])
    return None


# ---------------------------------------------------------------- the pages


def persistent_volume(obj: Mapping, snapshot: Any) -> list[str]:
    """describePersistentVolume, up to the events."""
    meta, spec = obj.get("metadata", {}), obj.get("spec", {})
    out = [f"Name:\t{meta.get('name', '')}", *label_lines("Labels", meta.get("labels")),
           *annotation_lines("Annotations", meta.get("annotations")),
           f"Finalizers:\t{_go_list(meta.get('finalizers'))}",
           f"StorageClass:\t{storage.volume_class(obj)}",
           f"Status:\t{_status(obj, snapshot.time)}",
           f"Claim:\t{printers.volume_claim(obj, snapshot.time)}",
           f"Reclaim Policy:\t{spec.get('persistentVolumeReclaimPolicy', '')}",
           f"Access Modes:\t{printers.volume_access_modes(obj, snapshot.time)}"]
    if spec.get("volumeMode"):
        out.append(f"VolumeMode:\t{spec['volumeMode']}")
    out.append(f"Capacity:\t{get_path(spec, 'capacity', 'storage') or '0'}")
    out += _node_affinity(spec.get("nodeAffinity"))
    out += [f"Message:\t{get_path(obj, 'status', 'message') or ''}", "Source:"]
    rows = volume_source(spec)
    return out + (rows_to_lines(rows, "    ") if rows is not None else ["  <unknown>"])


def _node_affinity(affinity: Mapping | None) -> list[str]:
    """printVolumeNodeAffinity: each required term's expressions, `key op [values]`."""
    required = (affinity or {}).get("required")
    if required is None:
        return [f"Node Affinity:\t{NONE}"]
    terms = required.get("nodeSelectorTerms") or ()
    out = ["Node Affinity:\t", f"  Required Terms:\t{'' if terms else NONE}"]
    for i, term in enumerate(terms):
        expressions = [f"{e.get('key', '')} {str(e.get('operator', '')).lower()}"
                       + (f" [{', '.join(e['values'])}]" if e.get("values") else "")
                       for e in term.get("matchExpressions") or ()] or [NONE]
        out += [f"    Term {i}:\t{expressions[0]}", *(f"    \t{e}" for e in expressions[1:])]
    return out


def persistent_volume_claim(obj: Mapping, snapshot: Any) -> list[str]:
    """describePersistentVolumeClaim, up to the events: the claim, the pods that use it, its conditions."""
    meta, spec = obj.get("metadata", {}), obj.get("spec", {})
    now = snapshot.time
    out = [f"Name:\t{meta.get('name', '')}", f"Namespace:\t{meta.get('namespace', '')}",
           f"StorageClass:\t{storage.claim_class(obj)}", f"Status:\t{_status(obj, now)}",
           f"Volume:\t{spec.get('volumeName', '')}", *label_lines("Labels", meta.get("labels")),
           *annotation_lines("Annotations", meta.get("annotations")),
           f"Finalizers:\t{_go_list(meta.get('finalizers'))}",
           f"Capacity:\t{printers.claim_capacity(obj, now)}",
           f"Access Modes:\t{printers.claim_access_modes(obj, now)}"]
    if spec.get("volumeMode"):
        out.append(f"VolumeMode:\t{spec['volumeMode']}")
    source = spec.get("dataSource")
    if source:
        out += ["DataSource:", *([f"  APIGroup:\t{source['apiGroup']}"] if source.get("apiGroup") else []),
                f"  Kind:\t{source.get('kind', '')}", f"  Name:\t{source.get('name', '')}"]
    users = claim_users(snapshot, obj)
    out += [f"Used By:\t{users[0] if users else NONE}", *(f"\t{name}" for name in users[1:])]
    conditions = get_path(obj, "status", "conditions") or ()
    if conditions:
        out += ["Conditions:", "  Type\tStatus\tLastProbeTime\tLastTransitionTime\tReason\tMessage",
                "  ----\t------\t-----------------\t------------------\t------\t-------"]
        out += [f"  {c.get('type', '')} \t{c.get('status', '')} \t{_rfc1123z(c.get('lastProbeTime'))} \t"
                f"{_rfc1123z(c.get('lastTransitionTime'))} \t{c.get('reason', '')} \t{c.get('message', '')}"
                for c in conditions]
    return out


def claim_users(snapshot: Any, claim: Mapping) -> list[str]:
    """getPodsForPVC: the names of the pods of the claim's namespace that name it in a volume, and
    of the pods that own it (a generic ephemeral volume's), sorted."""
    meta = claim.get("metadata", {})
    owners = {r.get("uid") for r in meta.get("ownerReferences") or () if r.get("kind") == "Pod"}
    found = set()
    for key in snapshot.keys("", "Pod", meta.get("namespace", "")):
        pod = snapshot.get(key)
        names = {get_path(v, "persistentVolumeClaim", "claimName") for v in get_path(pod, "spec", "volumes") or ()}
        if meta.get("name") in names or get_path(pod, "metadata", "uid") in owners:
            found.add(key[3])
    return sorted(found)


def storage_class(obj: Mapping, _snapshot: Any) -> list[str]:
    """describeStorageClass, up to the events."""
    meta = obj.get("metadata", {})
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k != LAST_APPLIED}
    expansion = obj.get("allowVolumeExpansion")
    options = obj.get("mountOptions") or ()
    out = [f"Name:\t{meta.get('name', '')}",
           f"IsDefaultClass:\t{'Yes' if storage.is_default_class(obj) else 'No'}",
           f"Annotations:\t{format_labels(annotations)}",
           f"Provisioner:\t{obj.get('provisioner', '')}",
           f"Parameters:\t{format_labels(obj.get('parameters'))}",
           f"AllowVolumeExpansion:\t{'<unset>' if expansion is None else 'True' if expansion else 'False'}",
           *((["MountOptions:"] + [f"  {o}" for o in options]) if options else [f"MountOptions:\t{NONE}"])]
    for label, field in (("ReclaimPolicy", "reclaimPolicy"), ("VolumeBindingMode", "volumeBindingMode")):
        if obj.get(field):
            out.append(f"{label}:\t{obj[field]}")
    if obj.get("allowedTopologies") is not None:
        out += _allowed_topologies(obj["allowedTopologies"])
    return out


def _allowed_topologies(terms: Sequence[Mapping]) -> list[str]:
    out = ["AllowedTopologies:\t" + ("" if terms else NONE)]
    for i, term in enumerate(terms):
        requirements = [f"{r.get('key', '')} in" + (f" [{', '.join(r['values'])}]" if r.get("values") else "")
                        for r in term.get("matchLabelExpressions") or ()] or [NONE]
        out += [f"  Term {i}:\t{requirements[0]}", *(f"  \t{r}" for r in requirements[1:])]
    return out


PAGES: dict[tuple[str, str], Callable[[Mapping, Any], list[str]]] = {
    ("", "PersistentVolume"): persistent_volume,
    ("", "PersistentVolumeClaim"): persistent_volume_claim,
    ("storage.k8s.io", "StorageClass"): storage_class,
}
