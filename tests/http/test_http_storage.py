"""Real kubectl (v1.32) against `recon up --serve`: StorageClasses and PersistentVolumes are served, claims
bind to static volumes or to volumes the default class provisions, and get/describe show them as kubectl
shows a kind or minikube cluster's."""

from __future__ import annotations

import json

from http_live import claim_phases, wait_for

MANIFEST = """\
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: manual}
provisioner: kubernetes.io/no-provisioner
reclaimPolicy: Retain
---
apiVersion: v1
kind: PersistentVolume
metadata: {name: disk-1, labels: {tier: gold}}
spec:
  capacity: {storage: 2Gi}
  accessModes: [ReadWriteOnce]
  storageClassName: manual
  persistentVolumeReclaimPolicy: Retain
  hostPath: {path: /data/disk-1}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: static, namespace: default}
spec:
  storageClassName: manual
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
  selector: {matchLabels: {tier: gold}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: dynamic, namespace: default}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 500Mi}}
"""

BROKEN = """\
apiVersion: v1
kind: PersistentVolume
metadata: {name: broken}
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteSometimes]
  persistentVolumeReclaimPolicy: Keep
  hostPath: {path: /a}
  nfs: {server: nas, path: /b}
"""


def rows(text: str) -> list[list[str]]:
    return [line.split() for line in text.splitlines() if line.strip()]


def test_kubectl_applies_storage_binds_claims_and_shows_them_as_upstream(live):
    path = live.root / "storage.yaml"
    path.write_text(MANIFEST)
    out = live.kubectl("apply", "-f", str(path)).stdout
    for line in ("storageclass.storage.k8s.io/manual created", "persistentvolume/disk-1 created",
                 "persistentvolumeclaim/static created", "persistentvolumeclaim/dynamic created"):
        assert line in out, out

    def phases():
        found = claim_phases(live)
        return found if found.get("static") == found.get("dynamic") == "Bound" else None

    wait_for(phases, "both claims Bound")
    dynamic = json.loads(live.kubectl("get", "pvc", "dynamic", "-o", "json").stdout)
    volume = dynamic["spec"]["volumeName"]
    assert dynamic["spec"]["storageClassName"] == "standard" and volume == "pvc-" + dynamic["metadata"]["uid"]

    pvs = rows(live.kubectl("get", "pv").stdout)
    assert pvs[0] == ["NAME", "CAPACITY", "ACCESS", "MODES", "RECLAIM", "POLICY", "STATUS", "CLAIM", "STORAGECLASS",
                      "VOLUMEATTRIBUTESCLASS", "REASON", "AGE"]
    by_name = {r[0]: r for r in pvs[1:]}
    assert by_name["disk-1"][1:8] == ["2Gi", "RWO", "Retain", "Bound", "default/static", "manual", "<unset>"]
    assert by_name[volume][1:8] == ["500Mi", "RWO", "Delete", "Bound", "default/dynamic", "standard", "<unset>"]
    claims = rows(live.kubectl("get", "pvc", "-o", "wide").stdout)
    assert claims[0][-1] == "VOLUMEMODE"
    assert {r[0]: r[1:6] for r in claims[1:]} == {"static": ["Bound", "disk-1", "2Gi", "RWO", "manual"],
                                                   "dynamic": ["Bound", volume, "500Mi", "RWO", "standard"]}
    classes = rows(live.kubectl("get", "sc").stdout)
    assert classes[0] == ["NAME", "PROVISIONER", "RECLAIMPOLICY", "VOLUMEBINDINGMODE", "ALLOWVOLUMEEXPANSION", "AGE"]
    assert {r[0]: r[1:-1] for r in classes[1:]} == {
        "manual": ["kubernetes.io/no-provisioner", "Retain", "Immediate", "false"],
        "standard": ["(default)", "recon.dev/simulated", "Delete", "Immediate", "false"]}
    several = live.kubectl("get", "pv,pvc,sc").stdout
    assert "persistentvolume/disk-1" in several and "persistentvolumeclaim/static" in several
    assert "storageclass.storage.k8s.io/standard (default)" in several

    described = live.kubectl("describe", "pvc", "dynamic").stdout
    for line in ("StorageClass:  standard", "Status:        Bound", f"Volume:        {volume}",
                 "pv.kubernetes.io/bind-completed: yes", "volume.kubernetes.io/storage-provisioner: recon.dev/simulated",
                 "ExternalProvisioning", "ProvisioningSucceeded", f"Successfully provisioned volume {volume}"):
        assert line in described, (line, described)
    pv = live.kubectl("describe", "pv", "disk-1").stdout
    for line in ("Claim:           default/static", "Reclaim Policy:  Retain", "StorageClass:    manual",
                 "Status:          Bound", "Type:          HostPath", "Path:          /data/disk-1"):
        assert line in pv, (line, pv)

    live.kubectl("delete", "pvc", "static", "dynamic")
    released = lambda: rows(live.kubectl("get", "pv").stdout)  # noqa: E731
    wait_for(lambda: [r[0] for r in released()[1:]] == ["disk-1"] and released()[1][4] == "Released",
             "the provisioned volume deleted, the retained one Released")


def test_an_invalid_volume_is_refused_in_upstreams_words(live):
    path = live.root / "broken.yaml"
    path.write_text(BROKEN)
    out = live.kubectl("apply", "-f", str(path), check=1)
    assert 'The PersistentVolume "broken" is invalid: ' in out.stderr
    for line in ('* spec.accessModes: Unsupported value: "ReadWriteSometimes": supported values: "ReadOnlyMany", '
                 '"ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"',
                 '* spec.persistentVolumeReclaimPolicy: Unsupported value: "Keep": supported values: "Delete", '
                 '"Recycle", "Retain"',
                 "* spec.nfs: Forbidden: may not specify more than 1 volume type"):
        assert line in out.stderr, out.stderr
