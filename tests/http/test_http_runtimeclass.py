"""Real kubectl (v1.32) with RuntimeClasses against `recon up --serve`: served, explained and printed as
upstream's, and a pod naming one admitted as upstream's RuntimeClass plugin admits it."""

from __future__ import annotations

import json

RUNTIME_CLASS = """\
apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata: {name: gvisor}
handler: runsc
overhead:
  podFixed: {cpu: 250m, memory: 64Mi}
scheduling:
  nodeSelector: {kubernetes.io/os: linux}
  tolerations: [{key: sandbox, operator: Exists, effect: NoSchedule}]
"""

POD = """\
apiVersion: v1
kind: Pod
metadata: {name: sandboxed, namespace: default}
spec:
  runtimeClassName: gvisor
  containers: [{name: app, image: nginx:1.27}]
"""


def create(live, name: str, text: str, check: int | None = 0):
    path = live.root / name
    path.write_text(text)
    return live.kubectl("create", "-f", str(path), check=check)


def test_kubectl_creates_gets_and_explains_runtime_classes(live):
    assert "runtimeclass.node.k8s.io/gvisor created" in create(live, "rc.yaml", RUNTIME_CLASS).stdout
    resources = [line.split() for line in live.kubectl("api-resources", "--api-group=node.k8s.io").stdout.splitlines()]
    assert resources[1] == ["runtimeclasses", "node.k8s.io/v1", "false", "RuntimeClass"]
    table = live.kubectl("get", "runtimeclass").stdout.splitlines()
    assert table[0].split() == ["NAME", "HANDLER", "AGE"] and table[1].split()[:2] == ["gvisor", "runsc"]
    wide = live.kubectl("get", "runtimeclasses.node.k8s.io", "gvisor", "-o", "wide").stdout.splitlines()
    assert wide[0].split() == ["NAME", "HANDLER", "AGE"]
    explained = live.kubectl("explain", "runtimeclass.overhead").stdout
    assert "KIND:       RuntimeClass" in explained and "podFixed\t<map[string]Quantity>" in explained
    assert "handler\t<string> -required-" in live.kubectl("explain", "runtimeclass").stdout
    changed = live.kubectl("patch", "runtimeclass", "gvisor", "--type=merge", "-p", '{"handler":"kata"}', check=1)
    assert 'The RuntimeClass "gvisor" is invalid: handler: Invalid value: "kata": field is immutable' in changed.stderr


def test_a_pod_of_a_runtime_class_gets_its_overhead_selector_and_tolerations(live):
    create(live, "rc.yaml", RUNTIME_CLASS.replace("gvisor", "kata").replace("runsc", "kata"))
    create(live, "pod.yaml", POD.replace("gvisor", "kata"))
    spec = json.loads(live.kubectl("get", "pod", "sandboxed", "-o", "json").stdout)["spec"]
    assert spec["overhead"] == {"cpu": "250m", "memory": "64Mi"}
    assert spec["nodeSelector"] == {"kubernetes.io/os": "linux"}
    assert {"key": "sandbox", "operator": "Exists", "effect": "NoSchedule"} in spec["tolerations"]
    missing = create(live, "missing.yaml", POD.replace("sandboxed", "lost").replace("gvisor", "nope"), check=1)
    assert missing.stderr.startswith("Error from server (Forbidden): error when creating ")
    assert missing.stderr.rstrip().endswith('pods "lost" is forbidden: pod rejected: RuntimeClass "nope" not found')
