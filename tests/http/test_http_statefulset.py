"""Real kubectl (v1.32) driving a StatefulSet against `recon up --serve`: apply, rollout, scale, undo, delete."""

from __future__ import annotations

import json

from http_live import wait_for

STATEFULSET = """\
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
  namespace: default
spec:
  replicas: 3
  serviceName: db
  selector:
    matchLabels: {app: db}
  template:
    metadata:
      labels: {app: db}
    spec:
      containers:
      - name: app
        image: nginx:1.27
        volumeMounts: [{name: data, mountPath: /data}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 1Gi}}
"""


def images(live) -> dict:
    out = live.kubectl("get", "pods", "-l", "app=db", "-o", "json").stdout
    return {p["metadata"]["name"]: p["spec"]["containers"][0]["image"] for p in json.loads(out)["items"]
            if not p["metadata"].get("deletionTimestamp")}


def deletions(live) -> list:
    """The pods the controller deleted, in the order it deleted them (events are named by time)."""
    out = live.kubectl("get", "events", "--field-selector", "reason=SuccessfulDelete,involvedObject.name=db",
                       "-o", "json").stdout
    return [e["message"].split()[2] for e in sorted(json.loads(out)["items"], key=lambda e: e["metadata"]["name"])]


def rolled(live):
    live.kubectl("rollout", "status", "sts/db", "--timeout=60s", timeout=70)


def test_kubectl_runs_a_statefulset_through_its_whole_life(live):
    path = live.root / "db.yaml"
    path.write_text(STATEFULSET)
    live.kubectl("apply", "-f", str(path))
    rolled(live)
    assert images(live) == {"db-0": "nginx:1.27", "db-1": "nginx:1.27", "db-2": "nginx:1.27"}
    got = live.kubectl("get", "sts", "db").stdout.split("\n")
    assert got[0].split() == ["NAME", "READY", "AGE"] and got[1].split()[:2] == ["db", "3/3"]
    claims = live.kubectl("get", "pvc", "data-db-0").stdout.split("\n")
    assert claims[0].split()[:5] == ["NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS"]
    assert claims[1].split()[1] == "Bound" and claims[1].split()[3:5] == ["1Gi", "RWO"]

    # a new image rolls from the highest ordinal down
    live.kubectl("set", "image", "sts/db", "app=nginx:1.28")
    rolled(live)
    assert set(images(live).values()) == {"nginx:1.28"}
    assert deletions(live) == ["db-2", "db-1", "db-0"]
    history = live.kubectl("rollout", "history", "sts/db").stdout
    assert [line.split()[0] for line in history.splitlines()[2:] if line.strip()] == ["1", "2"]

    # undo goes back to revision 1, which becomes revision 3
    live.kubectl("rollout", "undo", "sts/db")
    wait_for(lambda: set(images(live).values()) == {"nginx:1.27"} and len(images(live)) == 3, "the rollback")
    rolled(live)
    history = live.kubectl("rollout", "history", "sts/db").stdout
    assert [line.split()[0] for line in history.splitlines()[2:] if line.strip()] == ["2", "3"]

    live.kubectl("rollout", "restart", "sts/db")
    rolled(live)
    live.kubectl("scale", "sts/db", "--replicas=1")
    wait_for(lambda: list(images(live)) == ["db-0"], "the scale down")
    describe = live.kubectl("describe", "sts", "db").stdout
    assert "Replicas:           1 desired | 1 total" in describe
    assert "create Pod db-0 in StatefulSet db successful" in describe

    live.kubectl("delete", "sts", "db")
    wait_for(lambda: images(live) == {}, "the pods to go with their StatefulSet")
    assert "data-db-0" in live.kubectl("get", "pvc", "-o", "name").stdout  # Retain: the claims stay
