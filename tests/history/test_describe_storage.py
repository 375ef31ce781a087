"""recon describe for PersistentVolumes, PersistentVolumeClaims and StorageClasses: kubectl's pages,
line for line; and a pod's claim volumes as kubectl's pod page lists them."""

from __future__ import annotations

import re
import shutil

import pytest

from history_helpers import REPO, recon
from engine.describe import describe as describe_page
from engine.describe_storage import tabbed
from engine.timeutil import parse_time

STORAGE = """\
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: manual}
provisioner: kubernetes.io/no-provisioner
reclaimPolicy: Retain
parameters: {type: ssd, zone: a}
mountOptions: [hard, nfsvers=4.1]
---
apiVersion: v1
kind: PersistentVolume
metadata: {name: disk-1, labels: {tier: gold}}
spec:
  capacity: {storage: 2Gi}
  accessModes: [ReadWriteOnce, ReadOnlyMany]
  storageClassName: manual
  persistentVolumeReclaimPolicy: Retain
  hostPath: {path: /data/disk-1, type: DirectoryOrCreate}
  nodeAffinity:
    required:
      nodeSelectorTerms:
      - matchExpressions:
        - {key: kubernetes.io/hostname, operator: In, values: [node-1, node-2]}
        - {key: disk, operator: DoesNotExist}
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
---
apiVersion: v1
kind: Pod
metadata: {name: user, namespace: default}
spec:
  containers:
  - name: app
    image: busybox:1.36
    volumeMounts:
    - {name: data, mountPath: /data}
    - {name: cache, mountPath: /cache, readOnly: true, subPath: app}
  volumes:
  - name: data
    persistentVolumeClaim: {claimName: static}
  - name: cache
    persistentVolumeClaim: {claimName: dynamic, readOnly: true}
"""

EDGES = """\
apiVersion: v1
kind: PersistentVolume
metadata:
  name: csi-1
  annotations:
    long: "%s"
    multi: "line one\\nline two\\n"
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOncePod]
  storageClassName: nothing
  volumeMode: Block
  csi: {driver: hostpath.csi.k8s.io, volumeHandle: h-1, fsType: ext4, volumeAttributes: {a: "1", b: "2"}}
  nodeAffinity:
    required:
      nodeSelectorTerms:
      - matchExpressions: [{key: zone, operator: NotIn, values: [z1]}]
      - matchExpressions: [{key: rack, operator: Exists}]
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: waiting, namespace: default}
spec:
  storageClassName: missing
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 5Gi}}
  dataSource: {kind: PersistentVolumeClaim, name: dynamic}
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: topo}
provisioner: example.com/x
allowVolumeExpansion: false
allowedTopologies:
- matchLabelExpressions:
  - {key: zone, values: [a, b]}
  - {key: rack, values: [r1]}
---
apiVersion: v1
kind: Pod
metadata: {name: many, namespace: default}
spec:
  containers:
  - {name: app, image: busybox:1.36}
  volumes:
  - {name: mem, emptyDir: {medium: Memory, sizeLimit: 64Mi}}
  - {name: host, hostPath: {path: /var/log}}
  - {name: cfg, configMap: {name: cfg, optional: true}}
  - name: proj
    projected:
      sources:
      - serviceAccountToken: {path: token, expirationSeconds: 3607}
      - configMap: {name: cfg}
      - downwardAPI: {items: [{path: ns, fieldRef: {fieldPath: metadata.namespace}}]}
  - name: dapi
    downwardAPI: {items: [{path: labels, fieldRef: {fieldPath: metadata.labels}}]}
  - {name: csi, csi: {driver: d.example.com, volumeAttributes: {k: v}}}
""" % ("a" * 150)


@pytest.fixture(scope="module")
def storage(tmp_path_factory):
    """A cluster of the example nodes with a static volume, a claim bound to it, a claim the default
    class provisions, a pod using both and a StorageClass of its own (and, in edges.yaml, a volume, a
    claim, a class and a pod that show the rarer lines), run once: its folder."""
    cwd = tmp_path_factory.mktemp("describe-storage")
    (cwd / "manifests").mkdir()
    shutil.copy(REPO / "manifests" / "nodes.yaml", cwd / "manifests" / "nodes.yaml")
    (cwd / "manifests" / "storage.yaml").write_text(STORAGE)
    (cwd / "manifests" / "edges.yaml").write_text(EDGES)
    shutil.copytree(REPO / "rules", cwd / "rules")
    recon("up", "manifests", "--once", "--state", "s", cwd=cwd)
    return cwd


def describe(cwd, *args: str) -> list[str]:
    """The page's lines, a Finalizers line cut to its label (the protection finalizers come and go
    with the rules that add them)."""
    lines = recon("describe", *args, "--state", "s", cwd=cwd).stdout.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("Finalizers:"):
            assert re.fullmatch(r"Finalizers:\s+\[(kubernetes\.io/pvc?-protection)?\]", line), line
            lines[i] = "Finalizers:"
    return lines


def test_describe_pv_shows_its_claim_policy_node_affinity_and_source_as_kubectl_does(storage):
    assert describe(storage, "pv", "disk-1") == [
        "Name:              disk-1",
        "Labels:            applyset.kubernetes.io/part-of=recon-manifests",
        "                   tier=gold",
        "Annotations:       pv.kubernetes.io/bound-by-controller: yes",
        "                   recon.dev/source: storage.yaml",
        "Finalizers:",
        "StorageClass:      manual",
        "Status:            Bound",
        "Claim:             default/static",
        "Reclaim Policy:    Retain",
        "Access Modes:      RWO,ROX",
        "VolumeMode:        Filesystem",
        "Capacity:          2Gi",
        "Node Affinity:",
        "  Required Terms:",
        "    Term 0:        kubernetes.io/hostname in [node-1, node-2]",
        "                   disk doesnotexist",
        "Message:",
        "Source:",
        "    Type:          HostPath (bare host directory volume)",
        "    Path:          /data/disk-1",
        "    HostPathType:  DirectoryOrCreate",
        "Events:            <none>",
    ]


def test_describe_pvc_shows_its_volume_and_the_pods_that_use_it(storage):
    lines = describe(storage, "pvc", "static", "-n", "default")
    assert lines[:14] == [
        "Name:          static",
        "Namespace:     default",
        "StorageClass:  manual",
        "Status:        Bound",
        "Volume:        disk-1",
        "Labels:        applyset.kubernetes.io/part-of=recon-manifests",
        "Annotations:   pv.kubernetes.io/bind-completed: yes",
        "               pv.kubernetes.io/bound-by-controller: yes",
        "               recon.dev/source: storage.yaml",
        "Finalizers:",
        "Capacity:      2Gi",
        "Access Modes:  RWO,ROX",
        "VolumeMode:    Filesystem",
        "Used By:       user",
    ]
    assert lines[14] == "Events:" or lines[14].startswith("Events:       ")


def test_a_provisioned_claim_names_its_new_volume_and_the_provisioners_events(storage):
    lines = describe(storage, "pvc/dynamic", "-n", "default")
    fields = {line.split(":")[0]: line.split(":", 1)[1].strip() for line in lines if not line.startswith(" ")}
    assert fields["StorageClass"] == "standard" and fields["Used By"] == "user"
    assert fields["Volume"].startswith("pvc-") and fields["Capacity"] == "500Mi"
    assert "volume.kubernetes.io/storage-provisioner: recon.dev/simulated" in "\n".join(lines)
    events = lines[lines.index("Events:") + 3:]
    assert [e.split()[1] for e in events][-2:] == ["Provisioning", "ProvisioningSucceeded"]
    assert events[-1].endswith(f"Successfully provisioned volume {fields['Volume']}")

    volume = describe(storage, "pv", fields["Volume"])
    assert volume[:4] == [f"Name:            {fields['Volume']}", "Labels:          <none>",
                          "Annotations:     pv.kubernetes.io/provisioned-by: recon.dev/simulated",
                          "Finalizers:"]
    assert "Claim:           default/dynamic" in volume and "Reclaim Policy:  Delete" in volume
    assert "Node Affinity:   <none>" in volume and "    Type:          HostPath (bare host directory volume)" in volume


def test_describe_storageclass_shows_provisioner_parameters_and_mount_options(storage):
    assert describe(storage, "storageclass", "manual") == [
        "Name:                  manual",
        "IsDefaultClass:        No",
        "Annotations:           recon.dev/source=storage.yaml",
        "Provisioner:           kubernetes.io/no-provisioner",
        "Parameters:            type=ssd,zone=a",
        "AllowVolumeExpansion:  <unset>",
        "MountOptions:",
        "  hard",
        "  nfsvers=4.1",
        "ReclaimPolicy:      Retain",
        "VolumeBindingMode:  Immediate",
        "Events:             <none>",
    ]
    assert describe(storage, "sc", "standard")[:3] == [
        "Name:                  standard", "IsDefaultClass:        Yes",
        "Annotations:           storageclass.kubernetes.io/is-default-class=true"]


def test_describe_pod_lists_its_claim_volumes_and_each_containers_mounts(storage):
    lines = describe(storage, "pod", "user", "-n", "default")
    assert lines[lines.index("    Mounts:"):lines.index("    Mounts:") + 3] == [
        "    Mounts:", "      /cache from cache (ro,path=\"app\")", "      /data from data (rw)"]
    start = lines.index("Volumes:")
    assert lines[start:start + 9] == [
        "Volumes:",
        "  data:",
        "    Type:       PersistentVolumeClaim (a reference to a PersistentVolumeClaim in the same namespace)",
        "    ClaimName:  static",
        "    ReadOnly:   false",
        "  cache:",
        "    Type:       PersistentVolumeClaim (a reference to a PersistentVolumeClaim in the same namespace)",
        "    ClaimName:  dynamic",
        "    ReadOnly:   true",
    ]
    assert lines[start + 9].startswith("QoS Class:")


def test_describe_storage_kinds_alone_describes_every_object_of_the_kind(storage):
    out = recon("describe", "pv", "--state", "s", cwd=storage).stdout
    names = [line.split()[1] for line in out.splitlines() if line.startswith("Name:")]
    assert names[:2] == ["csi-1", "disk-1"] and len(names) == 3 and names[2].startswith("pvc-")
    claims = recon("describe", "pvc", "-n", "default", "--state", "s", cwd=storage).stdout
    assert [line.split()[1] for line in claims.splitlines() if line.startswith("Name:")] == [
        "dynamic", "static", "waiting"]


def test_an_unbound_csi_volume_leaves_its_claim_blank_and_lists_its_attributes(storage):
    assert describe(storage, "pv", "csi-1") == [
        "Name:              csi-1",
        "Labels:            applyset.kubernetes.io/part-of=recon-manifests",
        "Annotations:       long:",
        "                     " + "a" * 138 + "...",
        "                   multi:",
        "                     line one",
        "                     line two",
        "                   recon.dev/source: edges.yaml",
        "Finalizers:",
        "StorageClass:      nothing",
        "Status:            Available",
        "Claim:",
        "Reclaim Policy:    Retain",
        "Access Modes:      RWOP",
        "VolumeMode:        Block",
        "Capacity:          1Gi",
        "Node Affinity:",
        "  Required Terms:",
        "    Term 0:        zone notin [z1]",
        "    Term 1:        rack exists",
        "Message:",
        "Source:",
        "    Type:              CSI (a Container Storage Interface (CSI) volume source)",
        "    Driver:            hostpath.csi.k8s.io",
        "    FSType:            ext4",
        "    VolumeHandle:      h-1",
        "    ReadOnly:          false",
        "    VolumeAttributes:      a=1",
        "                           b=2",
        "Events:                <none>",
    ]


def test_a_pending_claim_shows_no_capacity_and_names_its_data_source(storage):
    lines = describe(storage, "pvc", "waiting", "-n", "default")
    assert lines[:16] == [
        "Name:          waiting",
        "Namespace:     default",
        "StorageClass:  missing",
        "Status:        Pending",
        "Volume:",
        "Labels:        applyset.kubernetes.io/part-of=recon-manifests",
        "Annotations:   recon.dev/source: edges.yaml",
        "Finalizers:",
        "Capacity:",
        "Access Modes:",
        "VolumeMode:    Filesystem",
        "DataSource:",
        "  Kind:   PersistentVolumeClaim",
        "  Name:   dynamic",
        "Used By:  <none>",
        "Events:",
    ]
    assert lines[-1].split()[:2] == ["Warning", "ProvisioningFailed"]
    assert lines[-1].endswith('storageclass.storage.k8s.io "missing" not found')


def test_a_storageclass_lists_its_allowed_topologies_term_by_term(storage):
    assert describe(storage, "sc", "topo")[5:] == [
        "AllowVolumeExpansion:  False",
        "MountOptions:          <none>",
        "ReclaimPolicy:         Delete",
        "VolumeBindingMode:     Immediate",
        "AllowedTopologies:",
        "  Term 0:              zone in [a, b]",
        "                       rack in [r1]",
        "Events:                <none>",
    ]


def test_describe_pod_shows_each_kind_of_volume_as_kubectl_does(storage):
    lines = describe(storage, "pod", "many", "-n", "default")
    assert lines[lines.index("Volumes:"):lines.index("Volumes:") + 30] == [
        "Volumes:",
        "  mem:",
        "    Type:       EmptyDir (a temporary directory that shares a pod's lifetime)",
        "    Medium:     Memory",
        "    SizeLimit:  64Mi",
        "  host:",
        "    Type:          HostPath (bare host directory volume)",
        "    Path:          /var/log",
        "    HostPathType:  <none>",
        "  cfg:",
        "    Type:      ConfigMap (a volume populated by a ConfigMap)",
        "    Name:      cfg",
        "    Optional:  true",
        "  proj:",
        "    Type:                    Projected (a volume that contains injected data from multiple sources)",
        "    TokenExpirationSeconds:  3607",
        "    ConfigMapName:           cfg",
        "    Optional:                false",
        "    DownwardAPI:             true",
        "  dapi:",
        "    Type:  DownwardAPI (a volume populated by information about the pod)",
        "    Items:",
        "      metadata.labels -> labels",
        "  csi:",
        "    Type:              CSI (a Container Storage Interface (CSI) volume source)",
        "    Driver:            d.example.com",
        "    FSType:",
        "    ReadOnly:          false",
        "    VolumeAttributes:      k=v",
        "QoS Class:    BestEffort",
    ]


class Snapshot:
    """Just what a page reads of a snapshot: one object, no events, no pods, and the time."""

    def __init__(self, obj, now: str):
        self.obj, self.time = obj, parse_time(now)

    def get(self, key):
        return self.obj

    def keys(self, *_):
        return []


def test_a_terminating_claim_says_for_how_long_and_lists_its_conditions_as_kubectl_does():
    claim = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
             "metadata": {"name": "grow", "namespace": "default", "uid": "u1",
                          "finalizers": ["kubernetes.io/pvc-protection"], "deletionTimestamp": "2026-12-02T17:00:00Z"},
             "spec": {"accessModes": ["ReadWriteOnce"], "volumeName": "disk-9", "storageClassName": "standard",
                      "resources": {"requests": {"storage": "1Gi"}}},
             "status": {"phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"},
                        "conditions": [{"type": "Resizing", "status": "True", "reason": "R", "message": "m m",
                                        "lastTransitionTime": "2026-12-02T16:00:00Z"},
                                       {"type": "FileSystemResizePending", "status": "False"}]}}
    page = describe_page(Snapshot(claim, "2026-12-02T17:03:02Z"), ("", "PersistentVolumeClaim", "default", "grow"))
    assert page.splitlines() == [
        "Name:          grow",
        "Namespace:     default",
        "StorageClass:  standard",
        "Status:        Terminating (lasts 3m2s)",
        "Volume:        disk-9",
        "Labels:        <none>",
        "Annotations:   <none>",
        "Finalizers:    [kubernetes.io/pvc-protection]",
        "Capacity:      1Gi",
        "Access Modes:  RWO",
        "Used By:       <none>",
        "Conditions:",
        "  Type                      Status  LastProbeTime                     LastTransitionTime                Reason  Message",
        "  ----                      ------  -----------------                 ------------------                ------  -------",
        "  Resizing                  True    Mon, 01 Jan 0001 00:00:00 +0000   Wed, 02 Dec 2026 16:00:00 +0000   R       m m",
        "  FileSystemResizePending   False   Mon, 01 Jan 0001 00:00:00 +0000   Mon, 01 Jan 0001 00:00:00 +0000",
        "Events:" + " " * 21 + "<none>",  # (in the conditions' run of lines, as kubectl's tabwriter has it)
    ]


def test_tabbed_pads_each_column_to_its_widest_cell_over_a_run_of_lines_as_gos_tabwriter():
    assert tabbed(["Name:\tx", "Reclaim Policy:\tRetain", "Source:", "    HostPathType:\t", "Events:\t<none>",
                   "Events:", "  Type\tReason\tAge", "  ----\t------\t---", "  Normal\tScheduled\t5s"]) == [
        "Name:            x",
        "Reclaim Policy:  Retain",
        "Source:",
        "    HostPathType:",
        "Events:            <none>",
        "Events:",
        "  Type    Reason     Age",
        "  ----    ------     ---",
        "  Normal  Scheduled  5s",
    ]
