"""`route`: walking a new connection through a node's rules, in memory and through `recon proxy`."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from engine import proxy

WEB = [("web-a", "10.244.0.2", "node-1"), ("web-b", "10.244.1.2", "node-2"), ("web-c", "10.244.1.3", "node-2")]
REPO = Path(__file__).resolve().parents[2]


def setup(cluster, **spec):
    cluster.node("node-1", "172.18.0.2")
    cluster.node("node-2", "172.18.0.3")
    for pod, ip, node in WEB:
        cluster.pod(pod, ip, node)
    cluster.service("web", **spec)
    cluster.endpoints("web", WEB)
    cluster.run()
    return cluster.svc("web")["spec"]


def dnat_targets(route):
    return sorted((o.dnat, round(o.probability, 6)) for o in route.outcomes)


def test_a_cluster_ip_reaches_each_endpoint_with_equal_probability(cluster):
    spec = setup(cluster)
    route = proxy.route(cluster.head, spec["clusterIP"], 80, client="10.244.0.2")
    assert route.node == "node-1"  # the client pod's node
    assert dnat_targets(route) == [("10.244.0.2:8080", 0.333333), ("10.244.1.2:8080", 0.333333),
                                   ("10.244.1.3:8080", 0.333333)]
    assert all(o.verdict == "DNAT" for o in route.outcomes)
    # only the connection that comes back to its own pod is masqueraded (hairpin)
    assert [o.masquerade for o in route.outcomes] == [True, False, False]
    text = proxy.format_route(cluster.head, route)
    assert "pod demo/web-b (IP 10.244.1.2, port 8080, node node-2)" in text
    assert "[statistic --probability 0.3333333333]" in text and "[statistic --probability 0.5000000000]" in text


def test_a_node_port_from_outside_is_masqueraded_to_every_endpoint(cluster):
    spec = setup(cluster, type="NodePort")
    node_port = spec["ports"][0]["nodePort"]
    route = proxy.route(cluster.head, "172.18.0.3", node_port, client="192.0.2.7")
    assert route.node == "node-2"
    assert len(route.outcomes) == 3 and all(o.masquerade and o.verdict == "DNAT" for o in route.outcomes)
    chains = [h.chain for h in route.outcomes[0].hops]
    assert chains[:3] == ["PREROUTING", "KUBE-SERVICES", "KUBE-NODEPORTS"]
    assert chains[3].startswith("KUBE-EXT-")


def test_a_node_port_with_local_policy_only_reaches_local_pods(cluster):
    spec = setup(cluster, type="NodePort", externalTrafficPolicy="Local")
    node_port = spec["ports"][0]["nodePort"]
    route = proxy.route(cluster.head, "172.18.0.3", node_port, client="192.0.2.7")
    assert dnat_targets(route) == [("10.244.1.2:8080", 0.5), ("10.244.1.3:8080", 0.5)]
    assert not any(o.masquerade for o in route.outcomes)  # the client's address is kept


def test_session_affinity_sends_a_returning_client_to_its_endpoint(cluster):
    spec = setup(cluster, sessionAffinity="ClientIP")
    first = proxy.route(cluster.head, spec["clusterIP"], 80, client="10.244.1.9")
    assert len(first.outcomes) == 3 and all(o.recent_set for o in first.outcomes)
    chosen = first.outcomes[1]
    again = proxy.route(cluster.head, spec["clusterIP"], 80, client="10.244.1.9",
                        recent={chosen.recent_set: {"10.244.1.9"}})
    assert [(o.dnat, o.probability) for o in again.outcomes] == [(chosen.dnat, 1.0)]
    assert "--rcheck" in again.outcomes[0].hops[2].rule.options
    other = proxy.route(cluster.head, spec["clusterIP"], 80, client="10.244.1.10",
                        recent={chosen.recent_set: {"10.244.1.9"}})
    assert len(other.outcomes) == 3
    assert "ClientIP affinity" in proxy.format_route(cluster.head, first)


def test_a_service_without_endpoints_is_rejected(cluster):
    setup(cluster)
    cluster.service("empty")
    cluster.run()
    ip = cluster.svc("empty")["spec"]["clusterIP"]
    route = proxy.route(cluster.head, ip, 80, client="10.244.0.2")
    assert [o.verdict for o in route.outcomes] == ["REJECT"]
    assert proxy.format_route(cluster.head, route).endswith(
        "=> rejected (REJECT): demo/empty:http has no endpoints\n")


def test_an_address_no_service_has_goes_through_untouched(cluster):
    setup(cluster)
    route = proxy.route(cluster.head, "8.8.8.8", 53, proto="udp", client="10.244.0.2")
    assert [o.verdict for o in route.outcomes] == ["ACCEPT"]
    assert "not a service address" in proxy.format_route(cluster.head, route)


# -------------------------------------------------------------- the command line

MANIFESTS = """\
apiVersion: v1
kind: Namespace
metadata: {name: demo}
---
apiVersion: v1
kind: Node
metadata: {name: node-1}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: demo}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080, nodePort: 30080}]
---
apiVersion: v1
kind: Service
metadata: {name: empty, namespace: demo}
spec:
  clusterIP: 10.96.0.50
  ports: [{port: 80}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-1
  namespace: demo
  labels: {kubernetes.io/service-name: web}
addressType: IPv4
endpoints:
- {addresses: [10.244.0.5], nodeName: node-1, targetRef: {kind: Pod, namespace: demo, name: web-1}}
- {addresses: [10.244.0.6], nodeName: node-1, targetRef: {kind: Pod, namespace: demo, name: web-2}}
ports: [{name: http, port: 8080, protocol: TCP}]
"""


def recon(*args, cwd):
    return subprocess.run([sys.executable, "-m", "engine.cli", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120)


def test_recon_proxy_prints_rules_that_iptables_accepts_and_walks_a_route(tmp_path):
    (tmp_path / "manifests").mkdir()
    (tmp_path / "manifests" / "cluster.yaml").write_text(textwrap.dedent(MANIFESTS))
    (tmp_path / "rules").mkdir()
    for name in ("proxy.rules", "service-ip.rules"):
        shutil.copy(REPO / "rules" / name, tmp_path / "rules" / name)
    up = recon("up", "manifests", "--rules", "rules", "--once", "--state", "st", cwd=tmp_path)
    assert up.returncode == 0, up.stderr
    rules = recon("proxy", "rules", "--node", "node-1", "--state", "st", cwd=tmp_path)
    assert rules.returncode == 0, rules.stderr
    assert rules.stdout.startswith("*filter\n") and "-A KUBE-NODEPORTS -m comment --comment demo/web:http" in rules.stdout
    (tmp_path / "node-1.rules").write_text(rules.stdout)
    check = subprocess.run(["unshare", "-n", "iptables-restore", "--test", str(tmp_path / "node-1.rules")],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    route = recon("proxy", "route", "10.96.0.2:80", "--client", "10.244.0.9", "--state", "st", cwd=tmp_path)
    assert route.returncode == 0, route.stderr
    assert "2 possible paths" in route.stdout and "probability 0.5000 (1/2)" in route.stdout
    assert "=> 10.244.0.6:8080: no pod has this IP" in route.stdout
    rejected = recon("proxy", "route", "10.96.0.50:80", "--state", "st", cwd=tmp_path)
    assert "=> rejected (REJECT): demo/empty has no endpoints" in rejected.stdout
    missing = recon("proxy", "rules", "--node", "nope", "--state", "st", cwd=tmp_path)
    assert missing.returncode == 1 and 'node "nope" not found' in missing.stderr
    usage = recon("proxy", "route", "10.96.0.2", "--state", "st", cwd=tmp_path)
    assert usage.returncode == 2 and "expected IP:PORT" in usage.stderr
