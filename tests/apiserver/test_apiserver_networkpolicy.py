"""NetworkPolicy (networking.k8s.io/v1): served, defaulted, validated and printed as upstream's.

Nothing enforces a policy (upstream leaves that to a network plugin); the API server stores it.
"""

from __future__ import annotations

import pytest
from apiserver_fixtures import ADMIN

from engine.api.auth import Attributes, authorized, service_account_user
from engine.apiserver import APIError
from engine.history import ref
from engine.kinds import BUILTIN
from engine.printers import columns


def policy(name: str = "api", **spec) -> dict:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": "default"}, "spec": spec}


def ingress(*peers, ports=None) -> dict:
    rule = {"from": list(peers)}
    if ports is not None:
        rule["ports"] = ports
    return rule


def causes(api, body) -> list[tuple[str, str, str]]:
    """The (field, reason, message) of each error of a refused create, which must be 422 Invalid."""
    with pytest.raises(APIError) as caught:
        api.create(ADMIN, body)
    assert caught.value.code == 422 and caught.value.reason == "Invalid"
    assert caught.value.message.startswith(f'NetworkPolicy.networking.k8s.io "{body["metadata"]["name"]}" is invalid: ')
    return [(c["field"], c["reason"], c["message"]) for c in caught.value.details["causes"]]


# ------------------------------------------------------------------ registry


def test_kubectl_names_resolve_to_the_namespaced_networking_kind_without_subresources():
    for name in ("netpol", "networkpolicies", "networkpolicy", "NetworkPolicy", "networkpolicies.networking.k8s.io",
                 "netpol.networking.k8s.io"):
        rt = BUILTIN.resolve(name)
        assert (rt.group, rt.kind, rt.api_version) == ("networking.k8s.io", "NetworkPolicy", "networking.k8s.io/v1")
    rt = BUILTIN.by_kind("networking.k8s.io", "NetworkPolicy")
    assert rt.namespaced and rt.subresources == frozenset() and rt.categories == ()
    assert ref(("networking.k8s.io", "NetworkPolicy", "default", "api")) == "netpol/api"  # (history lines)


# ------------------------------------------------------------------ defaults


def test_a_policy_without_policy_types_isolates_ingress_only_and_ports_default_to_tcp(api):
    made = api.create(ADMIN, policy(podSelector={"matchLabels": {"app": "api"}},
                                    ingress=[ingress({"podSelector": {}}, ports=[{"port": 80}, {"port": "dns",
                                                                                                 "protocol": "UDP"}])]))
    spec = made["spec"]
    assert spec["policyTypes"] == ["Ingress"]
    assert spec["ingress"][0]["ports"] == [{"port": 80, "protocol": "TCP"}, {"port": "dns", "protocol": "UDP"}]
    assert spec["ingress"][0]["from"] == [{"podSelector": {}}]
    assert made["metadata"]["generation"] == 1


def test_egress_rules_add_egress_to_the_default_policy_types_and_their_ports_default_too(api):
    made = api.create(ADMIN, policy(podSelector={}, egress=[{"ports": [{"port": 53, "endPort": 60}]}]))
    assert made["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert made["spec"]["egress"] == [{"ports": [{"port": 53, "endPort": 60, "protocol": "TCP"}]}]


def test_given_policy_types_are_kept_and_an_empty_list_is_defaulted(api):
    egress_only = api.create(ADMIN, policy("deny-egress", podSelector={}, policyTypes=["Egress"]))
    assert egress_only["spec"]["policyTypes"] == ["Egress"]
    empty = api.create(ADMIN, policy("empty", podSelector={}, policyTypes=[], egress=[{}]))
    assert empty["spec"]["policyTypes"] == ["Ingress", "Egress"]


def test_a_policy_without_a_spec_selects_every_pod_of_its_namespace(api):
    body = policy("deny-all")
    del body["spec"]
    made = api.create(ADMIN, body)
    assert made["spec"] == {"podSelector": {}, "policyTypes": ["Ingress"]}


def test_an_update_that_drops_the_policy_types_gets_them_defaulted_again_and_bumps_the_generation(api):
    api.create(ADMIN, policy(podSelector={}, policyTypes=["Egress"]))
    changed = api.update(ADMIN, policy(podSelector={"matchLabels": {"app": "api"}}, egress=[{}]))
    assert changed["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert changed["metadata"]["generation"] == 2


# ------------------------------------------------------------------ validation


def test_a_full_policy_is_valid(api):
    made = api.create(ADMIN, policy(
        podSelector={"matchLabels": {"app": "api"}, "matchExpressions": [{"key": "tier", "operator": "In",
                                                                         "values": ["back"]}]},
        policyTypes=["Ingress", "Egress"],
        ingress=[ingress({"namespaceSelector": {"matchLabels": {"team": "web"}},
                          "podSelector": {"matchLabels": {"role": "fe"}}},
                         {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16", "10.2.3.0/24"]}},
                         ports=[{"protocol": "TCP", "port": 8080}, {"port": "http"},
                                {"protocol": "SCTP", "port": 7000, "endPort": 7100}, {"protocol": "UDP"}]), {}],
        egress=[{"to": [{"ipBlock": {"cidr": "2001:db8::/32", "except": ["2001:db8:1::/48"]}}]}]))
    assert made["spec"]["ingress"][1] == {}


def test_the_pod_selector_is_a_label_selector(api):
    found = causes(api, policy(podSelector={"matchExpressions": [{"key": "tier", "operator": "In"}]}))
    assert [(field, message) for field, _reason, message in found] == [
        ("spec.podSelector.matchExpressions[0].values",
         "Required value: must be specified when `operator` is 'In' or 'NotIn'")]


def test_a_port_number_is_between_1_and_65535_and_a_port_name_is_an_iana_service_name(api):
    found = causes(api, policy(podSelector={}, ingress=[ingress(ports=[{"port": 0}, {"port": 70000}, {"port": "HTTP"},
                                                                      {"port": "a--b"}])]))
    assert found == [
        ("spec.ingress[0].ports[0].port", "FieldValueInvalid",
         "Invalid value: 0: must be between 1 and 65535, inclusive"),
        ("spec.ingress[0].ports[1].port", "FieldValueInvalid",
         "Invalid value: 70000: must be between 1 and 65535, inclusive"),
        ("spec.ingress[0].ports[2].port", "FieldValueInvalid",
         'Invalid value: "HTTP": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)'),
        ("spec.ingress[0].ports[2].port", "FieldValueInvalid",
         'Invalid value: "HTTP": must contain at least one letter (a-z)'),
        ("spec.ingress[0].ports[3].port", "FieldValueInvalid",
         'Invalid value: "a--b": must not contain consecutive hyphens'),
    ]


def test_an_unknown_protocol_is_not_supported(api):
    found = causes(api, policy(podSelector={}, egress=[{"ports": [{"protocol": "ICMP", "port": 1}]}]))
    assert found == [("spec.egress[0].ports[0].protocol", "FieldValueNotSupported",
                      'Unsupported value: "ICMP": supported values: "TCP", "UDP", "SCTP"')]


def test_end_port_follows_a_numeric_port_and_is_a_port_number(api):
    found = causes(api, policy(podSelector={}, egress=[{"ports": [
        {"port": 100, "endPort": 90}, {"port": "http", "endPort": 90}, {"endPort": 90}, {"port": 100, "endPort": 70000},
    ]}]))
    assert found == [
        ("spec.egress[0].ports[0].endPort", "FieldValueInvalid",  # (v1.32 quotes the port, not the endPort)
         "Invalid value: 100: must be greater than or equal to `port`"),
        ("spec.egress[0].ports[1].endPort", "FieldValueInvalid",
         "Invalid value: 90: may not be specified when `port` is non-numeric"),
        ("spec.egress[0].ports[2].endPort", "FieldValueInvalid",
         "Invalid value: 90: may not be specified when `port` is not specified"),
        ("spec.egress[0].ports[3].endPort", "FieldValueInvalid",
         "Invalid value: 70000: must be between 1 and 65535, inclusive"),
    ]


def test_a_peer_names_pods_or_namespaces_or_else_an_ip_block_alone(api):
    found = causes(api, policy(podSelector={}, ingress=[ingress(
        {}, {"podSelector": {}, "ipBlock": {"cidr": "10.0.0.0/8"}},
        {"namespaceSelector": {"matchLabels": {"team": "-web"}}})]))
    assert [f[:2] for f in found] == [
        ("spec.ingress[0].from[0]", "FieldValueRequired"),
        ("spec.ingress[0].from[1]", "FieldValueForbidden"),
        ("spec.ingress[0].from[2].namespaceSelector.matchLabels", "FieldValueInvalid"),
    ]
    assert found[0][2] == "Required value: must specify a peer"
    assert found[1][2] == "Forbidden: may not specify both ipBlock and another peer"
    assert "a valid label must be an empty string or consist of alphanumeric characters" in found[2][2]


def test_an_ip_block_needs_a_valid_cidr_and_excepts_strictly_inside_it(api):
    found = causes(api, policy(podSelector={}, egress=[{"to": [
        {"ipBlock": {"cidr": ""}}, {"ipBlock": {"cidr": "10.0.0.0"}}, {"ipBlock": {"cidr": "10.0.0.0/33"}},
        {"ipBlock": {"cidr": "10.0.0.0/16", "except": ["10.0.0.0/16", "10.0.0.0/8", "192.168.0.0/24", "bad",
                                                        "10.0.1.0/24"]}},
    ]}]))
    invalid_cidr = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"
    assert found == [
        ("spec.egress[0].to[0].ipBlock.cidr", "FieldValueRequired", "Required value"),
        ("spec.egress[0].to[1].ipBlock.cidr", "FieldValueInvalid", f'Invalid value: "10.0.0.0": {invalid_cidr}'),
        ("spec.egress[0].to[2].ipBlock.cidr", "FieldValueInvalid", f'Invalid value: "10.0.0.0/33": {invalid_cidr}'),
        ("spec.egress[0].to[3].ipBlock.except[0]", "FieldValueInvalid",
         'Invalid value: "10.0.0.0/16": must be a strict subset of `cidr`'),
        ("spec.egress[0].to[3].ipBlock.except[1]", "FieldValueInvalid",
         'Invalid value: "10.0.0.0/8": must be a strict subset of `cidr`'),
        ("spec.egress[0].to[3].ipBlock.except[2]", "FieldValueInvalid",
         'Invalid value: "192.168.0.0/24": must be a strict subset of `cidr`'),
        ("spec.egress[0].to[3].ipBlock.except[3]", "FieldValueInvalid", f'Invalid value: "bad": {invalid_cidr}'),
    ]


def test_cidrs_are_parsed_as_loosely_as_upstream_parses_them(api):
    # ParseCIDRSloppy: host bits may be set and IPv4 octets may have leading zeros
    api.create(ADMIN, policy(podSelector={}, egress=[{"to": [
        {"ipBlock": {"cidr": "10.0.0.1/8", "except": ["010.001.0.0/16"]}}]}]))


def test_an_ipv6_except_is_not_inside_an_ipv4_cidr(api):
    found = causes(api, policy(podSelector={}, egress=[{"to": [
        {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["2001:db8::/32"]}}]}]))
    assert found == [("spec.egress[0].to[0].ipBlock.except[0]", "FieldValueInvalid",
                      'Invalid value: "2001:db8::/32": must be a strict subset of `cidr`')]


def test_policy_types_are_ingress_or_egress_and_at_most_two(api):
    found = causes(api, policy(podSelector={}, policyTypes=["Ingress", "Both"]))
    assert found == [("spec.policyTypes[1]", "FieldValueNotSupported",
                      'Unsupported value: "Both": supported values: "Ingress", "Egress"')]
    found = causes(api, policy(podSelector={}, policyTypes=["Ingress", "Egress", "Ingress"]))
    assert found == [("spec.policyTypes", "FieldValueInvalid",
                      'Invalid value: []networking.PolicyType{"Ingress", "Egress", "Ingress"}: '
                      "may not specify more than two policyTypes")]


def test_the_name_is_a_dns_subdomain_and_every_error_is_reported_at_once(api):
    body = policy("Bad_Name", podSelector={}, policyTypes=["Sideways"])
    with pytest.raises(APIError) as caught:
        api.create(ADMIN, body)
    message = caught.value.message
    assert message.startswith('NetworkPolicy.networking.k8s.io "Bad_Name" is invalid: [metadata.name: Invalid value: '
                              '"Bad_Name": a lowercase RFC 1123 subdomain must consist of')
    assert message.endswith(
        'spec.policyTypes[0]: Unsupported value: "Sideways": supported values: "Ingress", "Egress"]')


def test_wrong_types_are_invalid_never_a_crash(api):
    found = causes(api, policy(podSelector="app=api", ingress={"from": []}, egress=[{"ports": [{"port": 1.5},
                                                                                              {"port": 80,
                                                                                               "endPort": "90"}],
                                                                                    "to": "all"}]))
    assert [f[0] for f in found] == ["spec.podSelector", "spec.ingress", "spec.egress[0].ports[0].port",
                                     "spec.egress[0].ports[1].endPort", "spec.egress[0].to"]


def test_an_update_is_validated_as_a_create(api):
    api.create(ADMIN, policy(podSelector={}))
    with pytest.raises(APIError) as caught:
        api.update(ADMIN, policy(podSelector={}, egress=[{"to": [{"ipBlock": {"cidr": "10.0.0.0/8",
                                                                               "except": ["11.0.0.0/16"]}}]}]))
    assert caught.value.code == 422
    assert "spec.egress[0].to[0].ipBlock.except[0]: Invalid value: \"11.0.0.0/16\"" in caught.value.message


# ------------------------------------------------------------------ printer


def test_kubectl_get_shows_the_pod_selector_as_upstreams_printer(api):
    selected = api.create(ADMIN, policy(podSelector={"matchLabels": {"app": "api"},
                                                     "matchExpressions": [{"key": "tier", "operator": "Exists"}]}))
    everyone = api.create(ADMIN, policy("all", podSelector={}))
    cols = columns(BUILTIN.by_kind("networking.k8s.io", "NetworkPolicy"))
    assert [c.name for c in cols] == ["NAME", "POD-SELECTOR", "AGE"]
    assert [c.cell(selected, 0.0) for c in cols[:2]] == ["api", "app=api,tier"]
    assert cols[1].cell(everyone, 0.0) == "<none>"
    wide = columns(BUILTIN.by_kind("networking.k8s.io", "NetworkPolicy"), wide=True)
    assert [c.name for c in wide] == ["NAME", "POD-SELECTOR", "AGE"]


# ------------------------------------------------------------------ RBAC


@pytest.mark.parametrize("resource", ["networkpolicies", "ingresses"])
@pytest.mark.parametrize("role, verbs, refused", [
    ("view", ("get", "list", "watch"), ("create", "update", "patch", "delete")),
    ("edit", ("get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"), ()),
    ("admin", ("get", "create", "delete"), ()),
])
def test_the_default_user_roles_grant_the_networking_kinds_as_upstreams_do(api, role, verbs, refused, resource):
    """Upstream's edit writes ingresses and networkpolicies, its view reads them (and ingresses/status)."""
    api.create(ADMIN, {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                       "metadata": {"name": f"bot-{role}", "namespace": "default"},
                       "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
                       "subjects": [{"kind": "ServiceAccount", "name": "bot", "namespace": "default"}]})
    bot = service_account_user("default", "bot")

    def may(verb: str) -> bool:
        request = Attributes(verb, "networking.k8s.io", resource, namespace="default", name="api")
        return authorized(api.head, bot, request)

    assert [v for v in verbs if not may(v)] == [] and [v for v in refused if may(v)] == []
    if resource == "ingresses" and role == "view":
        status = Attributes("get", "networking.k8s.io", resource, "status", namespace="default", name="api")
        assert authorized(api.head, bot, status)
