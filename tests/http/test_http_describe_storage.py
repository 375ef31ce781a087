"""`recon describe` of PersistentVolumes, PersistentVolumeClaims and StorageClasses prints what real kubectl
(v1.32) prints of them against `recon up --serve`: the same page, line for line (but the events' ages: recon
counts them to the state's last revision, kubectl to now)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

from http_live import REPO, claim_phases, wait_for

MANIFEST = """\
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: slow, labels: {speed: slow}}
provisioner: example.com/nfs
parameters: {server: nas, share: /exports}
allowVolumeExpansion: true
volumeBindingMode: WaitForFirstConsumer
---
apiVersion: v1
kind: PersistentVolume
metadata: {name: shelf, labels: {tier: gold}, annotations: {note: kept}}
spec:
  capacity: {storage: 3Gi}
  accessModes: [ReadWriteMany]
  storageClassName: ""
  persistentVolumeReclaimPolicy: Retain
  nfs: {server: nas, path: /exports/shelf, readOnly: true}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: books, namespace: default}
spec:
  storageClassName: ""
  accessModes: [ReadWriteMany]
  resources: {requests: {storage: 1Gi}}
  selector: {matchLabels: {tier: gold}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: scratch, namespace: default}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 100Mi}}
---
apiVersion: v1
kind: Pod
metadata: {name: reader, namespace: default}
spec:
  containers:
  - name: app
    image: busybox:1.36
    volumeMounts: [{name: books, mountPath: /books}]
  volumes:
  - name: books
    persistentVolumeClaim: {claimName: books}
"""

ENTRY_POINT = "import sys; from engine.cli import main; sys.exit(main())"


def recon_describe(live, *args: str) -> str:
    proc = subprocess.run([sys.executable, "-c", ENTRY_POINT, "describe", *args, "--state", ".recon"],
                          cwd=live.root, capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def without_ages(page: str) -> list[str]:
    """The page's lines, trailing blanks dropped and each event row's Age cell blanked."""
    lines = [line.rstrip() for line in page.splitlines()]
    if "Events:" in lines:
        start = lines.index("Events:") + 1
        lines[start:] = [re.split(r"\s{2,}", line.strip()) for line in lines[start:]]
        lines[start:] = ["|".join(cells[:2] + cells[3:]) for cells in lines[start:]]
    return lines


def same_page(live, *args: str) -> list[str]:
    """kubectl's and recon's pages of one object, once they agree (or recon's, to compare, after 10 s)."""
    deadline = time.monotonic() + 10
    while True:
        theirs = without_ages(live.kubectl("describe", *args).stdout)
        ours = without_ages(recon_describe(live, *args))
        if ours == theirs or time.monotonic() > deadline:
            assert ours == theirs
            return ours
        time.sleep(0.2)


def test_recon_describe_prints_kubectls_pages_of_volumes_claims_and_classes(live):
    path = live.root / "describe-storage.yaml"
    path.write_text(MANIFEST)
    live.kubectl("create", "-f", str(path))

    def bound():
        phases = claim_phases(live)
        pod = json.loads(live.kubectl("get", "pod", "reader", "-o", "json").stdout)
        return phases.get("books") == phases.get("scratch") == "Bound" and pod["status"].get("phase") == "Running"

    wait_for(bound, "both claims Bound and the pod Running")
    volume = json.loads(live.kubectl("get", "pvc", "scratch", "-o", "json").stdout)["spec"]["volumeName"]

    shelf = same_page(live, "pv", "shelf")
    assert "Source:" in shelf and "    Type:      NFS (an NFS mount that lasts the lifetime of a pod)" in shelf
    assert "Claim:           default/books" in shelf and "Annotations:     note: kept" in shelf
    assert "Used By:       reader" in same_page(live, "pvc", "books", "-n", "default")
    assert any("|ProvisioningSucceeded|" in line for line in same_page(live, "pvc", "scratch", "-n", "default"))
    same_page(live, "pv", volume)
    slow = same_page(live, "sc", "slow")
    assert "AllowVolumeExpansion:  True" in slow and "VolumeBindingMode:     WaitForFirstConsumer" in slow
    assert "IsDefaultClass:        Yes" in same_page(live, "sc", "standard")
