"""Real kubectl (v1.32) driving NetworkPolicies against `recon up --serve`: stored, defaulted, validated,
printed and described as upstream's API server and kubectl show them (nothing filters traffic by them)."""

from __future__ import annotations

import json
import os
import subprocess

from http_live import KUBECTL, wait_for

POLICY = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {name}
  namespace: default
spec:
  podSelector:
    matchLabels: {{app: api}}
  ingress:
  - from:
    - namespaceSelector:
        matchLabels: {{team: web}}
      podSelector:
        matchLabels: {{role: fe}}
    - ipBlock:
        cidr: 10.0.0.0/8
        except: [10.1.0.0/16]
    ports:
    - port: {port}
    - protocol: UDP
      port: 53
      endPort: 60
"""

DENY_ALL = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all, namespace: default}
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
"""

BROKEN = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: broken, namespace: default}
spec:
  podSelector: {}
  policyTypes: [Ingress, Sideways]
  egress:
  - to: [{podSelector: {}, ipBlock: {cidr: 10.0.0.0/8, except: [11.0.0.0/16]}}, {}]
    ports: [{port: http, endPort: 90}, {port: 0}]
"""


def apply(live, name: str, text: str, check: int | None = 0):
    path = live.root / name
    path.write_text(text)
    return live.kubectl("apply", "-f", str(path), check=check)


def edit(live, target: str, editor: str) -> subprocess.CompletedProcess:
    """`kubectl edit TARGET` with `editor` as KUBE_EDITOR (a command that rewrites the file it is given)."""
    env = {"HOME": str(live.root / "home"), "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "KUBE_EDITOR": editor}
    return subprocess.run([KUBECTL, "--kubeconfig", str(live.kubeconfig), "edit", target], cwd=live.root, env=env,
                          capture_output=True, text=True, timeout=30)


def spec(live, name: str) -> dict:
    return json.loads(live.kubectl("get", "netpol", name, "-o", "json").stdout)["spec"]


def test_kubectl_apply_stores_the_policy_with_upstreams_defaults_and_get_prints_its_pod_selector(live):
    assert "networkpolicy.networking.k8s.io/api created" in apply(live, "api.yaml", POLICY.format(name="api",
                                                                                                port=8080)).stdout
    apply(live, "deny-all.yaml", DENY_ALL)
    stored = spec(live, "api")
    assert stored["policyTypes"] == ["Ingress"]
    assert stored["ingress"][0]["ports"] == [{"port": 8080, "protocol": "TCP"},
                                             {"port": 53, "endPort": 60, "protocol": "UDP"}]
    table = live.kubectl("get", "netpol").stdout.splitlines()
    assert table[0].split() == ["NAME", "POD-SELECTOR", "AGE"]
    rows = {line.split()[0]: line.split()[1] for line in table[1:]}
    assert rows["api"] == "app=api" and rows["deny-all"] == "<none>"
    wide = live.kubectl("get", "networkpolicies.networking.k8s.io", "api", "-o", "wide").stdout.splitlines()
    assert wide[0].split() == ["NAME", "POD-SELECTOR", "AGE"] and wide[1].split()[:2] == ["api", "app=api"]
    assert "podSelector: {}" in live.kubectl("get", "netpol", "deny-all", "-o", "yaml").stdout
    assert "netpol" in live.kubectl("api-resources", "--api-group=networking.k8s.io").stdout
    assert "networkpolic" not in live.kubectl("get", "all").stdout


def test_kubectl_describe_prints_the_rules_with_kubectls_own_describer(live):
    apply(live, "described.yaml", POLICY.format(name="described", port=8080))
    apply(live, "deny-all.yaml", DENY_ALL)
    described = live.kubectl("describe", "networkpolicy", "described").stdout
    for line in ("PodSelector:     app=api", "Allowing ingress traffic:", "To Port: 8080/TCP",
                 "To Port Range: 53-60/UDP", "NamespaceSelector: team=web", "PodSelector: role=fe",
                 "CIDR: 10.0.0.0/8", "Except: 10.1.0.0/16", "Not affecting egress traffic", "Policy Types: Ingress"):
        assert line in described, line
    deny = live.kubectl("describe", "netpol", "deny-all").stdout
    assert "<none> (Allowing the specific traffic to all pods in this namespace)" in deny
    assert "<none> (Selected pods are isolated for egress connectivity)" in deny
    assert "Policy Types: Ingress, Egress" in deny


def test_an_invalid_policy_is_refused_with_every_error_in_upstreams_words(live):
    out = apply(live, "broken.yaml", BROKEN, check=1)
    assert 'The NetworkPolicy "broken" is invalid: ' in out.stderr
    for line in ("* spec.egress[0].ports[0].endPort: Invalid value: 90: may not be specified when `port` is "
                 "non-numeric",
                 "* spec.egress[0].ports[1].port: Invalid value: 0: must be between 1 and 65535, inclusive",
                 '* spec.egress[0].to[0].ipBlock.except[0]: Invalid value: "11.0.0.0/16": must be a strict subset '
                 "of `cidr`",
                 "* spec.egress[0].to[0]: Forbidden: may not specify both ipBlock and another peer",
                 "* spec.egress[0].to[1]: Required value: must specify a peer",
                 '* spec.policyTypes[1]: Unsupported value: "Sideways": supported values: "Ingress", "Egress"'):
        assert line in out.stderr, line
    assert live.kubectl("get", "netpol", "broken", check=1).stderr.strip().endswith('"broken" not found')


def test_apply_again_patch_edit_and_delete_change_the_stored_policy(live):
    apply(live, "changed.yaml", POLICY.format(name="changed", port=8080))
    assert "configured" in apply(live, "changed.yaml", POLICY.format(name="changed", port=9090)).stdout
    assert spec(live, "changed")["ingress"][0]["ports"][0] == {"port": 9090, "protocol": "TCP"}
    live.kubectl("patch", "netpol", "changed", "--type=merge", "-p",
                 '{"spec":{"egress":[{"to":[{"podSelector":{}}]}]}}')
    patched = json.loads(live.kubectl("get", "netpol", "changed", "-o", "json").stdout)
    assert patched["spec"]["egress"] == [{"to": [{"podSelector": {}}]}]
    assert patched["spec"]["policyTypes"] == ["Ingress"]  # (defaulted once: kept as stored)
    assert patched["metadata"]["generation"] == 3
    refused = live.kubectl("patch", "netpol", "changed", "--type=json", "-p",
                           '[{"op": "replace", "path": "/spec/policyTypes", "value": ["Egress", "Both"]}]', check=1)
    assert 'spec.policyTypes[1]: Unsupported value: "Both"' in refused.stderr
    edited = edit(live, "netpol/changed", "sed -i s/app:\\ api/app:\\ edited/")
    assert "networkpolicy.networking.k8s.io/changed edited" in edited.stdout, edited.stderr
    assert spec(live, "changed")["podSelector"] == {"matchLabels": {"app": "edited"}}
    live.kubectl("delete", "netpol", "changed")
    wait_for(lambda: "changed" not in live.kubectl("get", "netpol", "-o", "name").stdout, "the policy gone")
