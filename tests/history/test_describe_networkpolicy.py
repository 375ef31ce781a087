"""recon describe for NetworkPolicies: the Spec block of kubectl's NetworkPolicy describer, line for line."""

from __future__ import annotations

from engine.apiserver import Actor, APIServer
from engine.clock import SimClock
from engine.describe import describe
from engine.store import Store

ADMIN = Actor("admin", "user", None)


def spec_block(**spec) -> list[str]:
    """The lines of `recon describe` from `Spec:` up to the events, for a policy with `spec`."""
    store = Store(clock=SimClock().now)
    api = APIServer(store, SimClock())
    api.bootstrap()
    api.create(ADMIN, {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                       "metadata": {"name": "np", "namespace": "default"}, "spec": spec})
    lines = describe(store.head, ("networking.k8s.io", "NetworkPolicy", "default", "np")).splitlines()
    start = lines.index("Spec:")
    return lines[start:next(i for i, line in enumerate(lines) if line.startswith("Events:"))]


def test_ingress_rules_show_ports_ranges_and_each_peer_as_kubectl_does():
    assert spec_block(
        podSelector={"matchLabels": {"app": "api"}},
        ingress=[{"from": [{"namespaceSelector": {"matchLabels": {"team": "web"}},
                            "podSelector": {"matchLabels": {"role": "fe"}}},
                           {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16", "10.2.0.0/16"]}}],
                  "ports": [{"port": 8080}, {"protocol": "UDP", "port": 53, "endPort": 60}]}],
    ) == [
        "Spec:",
        "  PodSelector:     app=api",
        "  Allowing ingress traffic:",
        "    To Port: 8080/TCP",
        "    To Port Range: 53-60/UDP",
        "    From:",
        "      NamespaceSelector: team=web",
        "      PodSelector: role=fe",
        "    From:",
        "      IPBlock:",
        "        CIDR: 10.0.0.0/8",
        "        Except: 10.1.0.0/16, 10.2.0.0/16",
        "  Not affecting egress traffic",
        "  Policy Types: Ingress",
    ]


def test_egress_rules_are_separated_and_open_parts_say_so():
    assert spec_block(
        podSelector={},
        policyTypes=["Egress"],
        egress=[{"to": [{"namespaceSelector": {}}], "ports": [{"port": "dns", "protocol": "UDP"}]}, {}],
    ) == [
        "Spec:",
        "  PodSelector:     <none> (Allowing the specific traffic to all pods in this namespace)",
        "  Not affecting ingress traffic",
        "  Allowing egress traffic:",
        "    To Port: dns/UDP",
        "    To:",
        "      NamespaceSelector: <none>",
        "    ----------",
        "    To Port: <any> (traffic allowed to all ports)",
        "    To: <any> (traffic not restricted by destination)",
        "  Policy Types: Egress",
    ]


def test_a_deny_all_policy_isolates_the_pods_both_ways():
    assert spec_block(podSelector={}, policyTypes=["Ingress", "Egress"]) == [
        "Spec:",
        "  PodSelector:     <none> (Allowing the specific traffic to all pods in this namespace)",
        "  Allowing ingress traffic:",
        "    <none> (Selected pods are isolated for ingress connectivity)",
        "  Allowing egress traffic:",
        "    <none> (Selected pods are isolated for egress connectivity)",
        "  Policy Types: Ingress, Egress",
    ]
