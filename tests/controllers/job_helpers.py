"""What the Job controller tests read and write of a Job and its pods (there is no kubelet in them)."""

from __future__ import annotations

from engine.describe import events_of
from engine.objects import key_of
from engine.timeutil import format_time

INDEX = "batch.kubernetes.io/job-completion-index"


def terminate(c, pod, phase="Failed", code=None, conditions=()):
    """The pod's terminal status, as the kubelet writes it: its container exited with CODE (0 when it
    succeeded, 1 when it failed, by default), with CONDITIONS true."""
    code = (0 if phase == "Succeeded" else 1) if code is None else code
    status = {"phase": phase, "conditions": [{"type": t, "status": "True"} for t in conditions],
              "containerStatuses": [{"name": "c", "ready": False, "restartCount": 0, "state": {"terminated": {
                  "exitCode": code, "finishedAt": format_time(c.clock.now()), "reason": "Error" if code else "Completed"}}}]}
    c.patch("Pod", pod["metadata"]["name"], {"status": status}, subresource="status")


def running(c, name="pi"):
    """The Job's active pods (not finished, not being deleted) by completion index."""
    return {p["metadata"]["annotations"][INDEX]: p for p in c.owned("Pod", c.get("Job", name))
            if p.get("status", {}).get("phase") not in ("Succeeded", "Failed") and not p["metadata"].get("deletionTimestamp")}


def status(c, name="pi"):
    return c.get("Job", name)["status"]


def conditions(c, name="pi"):
    """The Job's conditions as (type, status, reason, message)."""
    return [(x["type"], x["status"], x.get("reason"), x.get("message")) for x in status(c, name).get("conditions", ())]


def said(c, name="pi"):
    """The Job's events as (type, reason, message)."""
    j = c.get("Job", name)
    return [(e["type"], e["reason"], e["message"]) for e in events_of(c.store.head, key_of(j), j)]


def warnings(c, name="pi"):
    """The Job's Warning events as (reason, message)."""
    return [(reason, message) for kind, reason, message in said(c, name) if kind == "Warning"]
