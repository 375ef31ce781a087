"""Validation of RuntimeClasses (node.k8s.io/v1).

Worded as upstream's `ValidateRuntimeClass` (pkg/apis/node/validation): the
handler is a DNS-1123 label, fixed once created; `overhead.podFixed` is
checked as a container's limits are (so its errors read
`overhead.limits[cpu]`, as upstream's reuse of ValidateResourceRequirements
words them); `scheduling.nodeSelector` is a label map and
`scheduling.tolerations` a pod's tolerations.  An update is checked as a
create, and its handler may not change (ValidateRuntimeClassUpdate).
"""

from __future__ import annotations

from collections.abc import Mapping

from . import fieldcheck as fc
from .apierrors import FieldError, invalid
from .validate_workloads import toleration_errors


def runtimeclass_errors(rc: Mapping, old: Mapping | None) -> list[FieldError]:
    handler = rc.get("handler")
    errors = fc.named(handler if handler is not None else "", "handler", fc.label_errors)
    overhead_errors, overhead = fc.mapping(rc.get("overhead"), "overhead")
    errors += overhead_errors + fc.quantity_map(overhead.get("podFixed"), "overhead.limits")
    scheduling_errors, scheduling = fc.mapping(rc.get("scheduling"), "scheduling")
    errors += scheduling_errors + fc.label_map(scheduling.get("nodeSelector"), "scheduling.nodeSelector")
    list_errors, tolerations = fc.items(scheduling.get("tolerations"), "scheduling.tolerations")
    errors += list_errors
    for path, toleration in tolerations:
        errors += toleration_errors(toleration, path)
    if old is not None and handler != old.get("handler"):
        errors.append(invalid("handler", handler, "field is immutable"))
    return errors
