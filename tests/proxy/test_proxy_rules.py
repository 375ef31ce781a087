"""kube-proxy as rules: the per-Service derived tables, the node ruleset, incrementality."""

from __future__ import annotations

import shutil
import subprocess

from engine import proxy
from engine.dsl.builtins import BUILTINS

WEB = [("web-a", "10.244.0.2", "node-1"), ("web-b", "10.244.1.2", "node-2"), ("web-c", "10.244.1.3", "node-2")]


def nat_rules(text: str, chain: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(f"-A {chain} ")]


def svc_chain(cluster, name: str, port: str = "http") -> str:
    return "KUBE-SVC-" + BUILTINS["port_proto_hash"].fn(f"demo/{name}:{port}", "tcp")


def test_chain_names_are_upstreams_hashes():
    port_proto_hash = BUILTINS["port_proto_hash"].fn
    # the names in kube-proxy's own tests (pkg/proxy/iptables/proxier_test.go)
    assert port_proto_hash("ns1/svc1:p80", "tcp") == "XPGD46QRK7WJZT7O"
    assert port_proto_hash("ns1/svc1:p80", "tcp", "10.180.0.1:80") == "SXIVWICOYRO3J4NJ"


def test_each_service_gets_one_rules_object_owned_by_it(cluster):
    cluster.service("web")
    cluster.endpoints("web", WEB[:1])
    cluster.run()
    svc, rules = cluster.svc("web"), cluster.rules_of("web")
    assert rules["metadata"]["ownerReferences"][0]["uid"] == svc["metadata"]["uid"]
    table = rules["spec"]["ports"]["demo/web:http"]["*"]
    chain = svc_chain(cluster, "web")
    sep = "KUBE-SEP-" + BUILTINS["port_proto_hash"].fn("demo/web:http", "tcp", "10.244.0.2:8080")
    assert list(table["chains"]) == [chain, sep]
    assert list(table["nat"]) == [
        f'-A KUBE-SERVICES -m comment --comment "demo/web:http cluster IP" -m tcp -p tcp -d {svc["spec"]["clusterIP"]} '
        f"--dport 80 -j {chain}",
        f'-A {chain} -m comment --comment "demo/web:http cluster IP" -m tcp -p tcp -d {svc["spec"]["clusterIP"]} '
        f"--dport 80 ! -s 10.244.0.0/14 -j KUBE-MARK-MASQ",
        f'-A {chain} -m comment --comment "demo/web:http -> 10.244.0.2:8080" -j {sep}',
        f"-A {sep} -m comment --comment demo/web:http -s 10.244.0.2 -j KUBE-MARK-MASQ",
        f"-A {sep} -m comment --comment demo/web:http -m tcp -p tcp -j DNAT --to-destination 10.244.0.2:8080",
    ]
    assert list(table["filter"]) == []


def test_scale_up_rewrites_the_probabilities(cluster):
    cluster.service("web")
    chain = svc_chain(cluster, "web")
    probabilities = []
    for n in (1, 2, 3):
        cluster.endpoints("web", WEB[:n])
        cluster.run()
        text = proxy.node_rules(cluster.head, "node-1")
        balance = [r for r in nat_rules(text, chain) if "KUBE-SEP-" in r]
        probabilities.append([r.split("--probability ")[1].split()[0] if "statistic" in r else "last" for r in balance])
    assert probabilities == [["last"], ["0.5000000000", "last"], ["0.3333333333", "0.5000000000", "last"]]


def test_not_ready_addresses_are_never_used(cluster):
    cluster.service("web")
    cluster.endpoints("web", WEB[:1], not_ready=WEB[1:])
    cluster.run()
    text = proxy.node_rules(cluster.head, "node-1")
    assert "10.244.0.2:8080" in text and "10.244.1.2" not in text and "10.244.1.3" not in text


def test_terminating_endpoints_are_used_only_when_none_is_ready(cluster):
    cluster.service("web")
    # a rollout's last old pod draining (serving, terminating) beside a new one not ready yet
    cluster.endpoints("web", [], not_ready=WEB[:1], terminating=[(*WEB[1], True), (*WEB[2], False)])
    cluster.run()
    text = proxy.node_rules(cluster.head, "node-1")
    balance = [r for r in nat_rules(text, svc_chain(cluster, "web")) if "KUBE-SEP-" in r]
    assert [r.split('"')[1] for r in balance] == ["demo/web:http -> 10.244.1.2:8080"]
    assert "demo/web:http has no endpoints" not in text
    # once one is ready, only the ready ones
    cluster.endpoints("web", WEB[:1], terminating=[(*WEB[1], True)])
    cluster.run()
    text = proxy.node_rules(cluster.head, "node-1")
    balance = [r for r in nat_rules(text, svc_chain(cluster, "web")) if "KUBE-SEP-" in r]
    assert [r.split('"')[1] for r in balance] == ["demo/web:http -> 10.244.0.2:8080"]
    assert "10.244.1.2" not in text


def test_terminating_endpoints_that_no_longer_serve_leave_the_service_without_endpoints(cluster):
    cluster.service("web")
    cluster.endpoints("web", [], terminating=[(*WEB[0], False)])
    cluster.run()
    table = cluster.rules_of("web")["spec"]["ports"]["demo/web:http"]["*"]
    assert list(table["nat"]) == [] and "has no endpoints" in table["filter"][0]


def test_a_local_policy_falls_back_to_the_nodes_own_terminating_endpoints(cluster):
    # node-1's only endpoint is draining; node-2's are ready: node-1 keeps sending its external
    # traffic to its own draining pod (upstream's local fallback), not dropping it
    cluster.service("web", type="NodePort", externalTrafficPolicy="Local")
    cluster.endpoints("web", WEB[1:], terminating=[(*WEB[0], True)])
    cluster.run()
    variants = cluster.rules_of("web")["spec"]["ports"]["demo/web:http"]
    assert sorted(variants) == ["*", "node-1", "node-2"]
    svl = "KUBE-SVL-" + BUILTINS["port_proto_hash"].fn("demo/web:http", "tcp")
    on_1 = proxy.node_rules(cluster.head, "node-1")
    assert [r.split('"')[1] for r in nat_rules(on_1, svl)] == ["demo/web:http -> 10.244.0.2:8080"]
    # the cluster IP still goes to the ready endpoints only, and node-1 programs all three SEP chains
    assert [r.split('"')[1] for r in nat_rules(on_1, svc_chain(cluster, "web")) if "KUBE-SEP-" in r] == [
        "demo/web:http -> 10.244.1.2:8080", "demo/web:http -> 10.244.1.3:8080"]
    assert "DNAT --to-destination 10.244.0.2:8080" in on_1
    elsewhere = proxy.node_rules(cluster.head, "node-3")
    assert "DNAT --to-destination 10.244.0.2:8080" not in elsewhere


def test_endpoints_repeated_across_slices_are_routed_once(cluster):
    cluster.service("web")
    cluster.endpoints("web", WEB[:2])
    second = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "addressType": "IPv4",
              "metadata": {"name": "web-other", "namespace": "demo", "labels": {"kubernetes.io/service-name": "web"}},
              "endpoints": [{"addresses": ["10.244.1.2"]}, {"addresses": ["10.244.1.3"]}],
              "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]}
    cluster.api.create(cluster.admin, second)
    cluster.run()
    text = proxy.node_rules(cluster.head, "node-1")
    balance = [r.split('"')[1] for r in nat_rules(text, svc_chain(cluster, "web")) if "KUBE-SEP-" in r]
    assert balance == ["demo/web:http -> 10.244.0.2:8080", "demo/web:http -> 10.244.1.2:8080",
                       "demo/web:http -> 10.244.1.3:8080"]


def test_a_service_without_endpoints_is_rejected_in_the_filter_table(cluster):
    svc = cluster.service("web", type="NodePort")
    cluster.run()
    table = cluster.rules_of("web")["spec"]["ports"]["demo/web:http"]["*"]
    ip, node_port = cluster.svc("web")["spec"]["clusterIP"], cluster.svc("web")["spec"]["ports"][0]["nodePort"]
    assert svc["metadata"]["name"] == "web" and list(table["nat"]) == [] and list(table["chains"]) == []
    assert list(table["filter"]) == [
        f'-A KUBE-SERVICES -m comment --comment "demo/web:http has no endpoints" -m tcp -p tcp -d {ip} '
        f"--dport 80 -j REJECT",
        f'-A KUBE-EXTERNAL-SERVICES -m comment --comment "demo/web:http has no endpoints" -m addrtype '
        f"--dst-type LOCAL -m tcp -p tcp --dport {node_port} -j REJECT",
    ]


def test_session_affinity_uses_the_recent_match(cluster):
    cluster.service("web", sessionAffinity="ClientIP")
    cluster.endpoints("web", WEB[:2])
    cluster.run()
    assert cluster.svc("web")["spec"]["sessionAffinityConfig"] == {"clientIP": {"timeoutSeconds": 10800}}
    text = proxy.node_rules(cluster.head, "node-1")
    rules = nat_rules(text, svc_chain(cluster, "web"))
    seps = [r.rsplit("-j ", 1)[1] for r in rules if "--rcheck" in r]
    assert len(seps) == 2
    assert all(f"-m recent --name {s} --rcheck --seconds 10800 --reap -j {s}" in text for s in seps)
    assert all(f"-m recent --name {s} --set -m tcp -p tcp -j DNAT" in text for s in seps)
    # the affinity checks come before the random choice
    assert [("--rcheck" in r) for r in rules[1:]] == [True, True, False, False]


def test_local_traffic_policy_gives_nodes_with_local_endpoints_their_own_variant(cluster):
    cluster.service("web", type="NodePort", externalTrafficPolicy="Local")
    cluster.endpoints("web", WEB)
    cluster.run()
    variants = cluster.rules_of("web")["spec"]["ports"]["demo/web:http"]
    assert sorted(variants) == ["*", "node-1", "node-2"]
    svl = "KUBE-SVL-" + BUILTINS["port_proto_hash"].fn("demo/web:http", "tcp")
    on_2 = proxy.node_rules(cluster.head, "node-2")
    assert [r.split('"')[1] for r in nat_rules(on_2, svl)] == ["demo/web:http -> 10.244.1.2:8080",
                                                              "demo/web:http -> 10.244.1.3:8080"]
    elsewhere = proxy.node_rules(cluster.head, "node-3")
    assert f":{svl} " not in elsewhere
    assert "has no local endpoints" in elsewhere and " -j DROP" in elsewhere


def test_generated_rules_pass_iptables_restore(cluster, tmp_path):
    assert shutil.which("iptables-restore"), "iptables is installed by `make test` (apt-get install iptables)"
    cluster.node("node-1", "172.18.0.2")
    cluster.service("web", type="NodePort", externalIPs=["192.0.2.50"])
    cluster.service("db", ports=[{"name": "pg", "port": 5432}], sessionAffinity="ClientIP")
    cluster.service("dns", ports=[{"name": "dns", "port": 53, "protocol": "UDP"},
                                  {"name": "dns-tcp", "port": 53, "protocol": "TCP"}])
    cluster.service("local", type="NodePort", externalTrafficPolicy="Local", internalTrafficPolicy="Local")
    cluster.service("empty", type="LoadBalancer")
    cluster.service("headless", clusterIP="None")
    cluster.endpoints("web", WEB)
    cluster.endpoints("db", WEB[:2], ports=[{"name": "pg", "port": 5432, "protocol": "TCP"}])
    cluster.endpoints("dns", WEB[1:], ports=[{"name": "dns", "port": 53, "protocol": "UDP"},
                                             {"name": "dns-tcp", "port": 53, "protocol": "TCP"}])
    cluster.endpoints("local", WEB)
    cluster.run()
    assert cluster.rules_of("headless") is None
    for node in ("node-1", "node-2", "node-3"):
        path = tmp_path / f"{node}.rules"
        path.write_text(proxy.node_rules(cluster.head, node))
        done = subprocess.run(["unshare", "-n", "iptables-restore", "--test", str(path)],
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr


def test_an_endpoints_change_rewrites_only_that_services_rules(cluster):
    names = ["web"] + [f"svc-{i}" for i in range(12)]
    for name in names:
        cluster.service(name)
        cluster.endpoints(name, WEB[:2])
    cluster.run()
    before = {name: cluster.rules_of(name) for name in names}
    records = []
    cluster.store.listeners.append(lambda snap, events, record: records.append(record))
    evaluations = cluster.engine.evaluations["kube-proxy/service_rules"]
    cluster.endpoints("web", WEB)
    result = cluster.run()
    # web's instance runs for the change, then once more to see its own write (and write nothing);
    # no other Service's instance runs, whatever the number of Services
    assert cluster.engine.evaluations["kube-proxy/service_rules"] - evaluations == 2
    assert result.evaluations == 2
    written = [op.key for r in records for op in r.ops if op.key[1] == "ServiceRules"]
    assert written == [("proxy.recon.dev", "ServiceRules", "demo", "web")]
    assert all(cluster.rules_of(n) is before[n] for n in names[1:])
    assert cluster.rules_of("web") is not before["web"]


def test_an_idle_cluster_writes_nothing_more(cluster):
    cluster.service("web", type="NodePort", sessionAffinity="ClientIP")
    cluster.endpoints("web", WEB)
    cluster.run()
    revision = cluster.store.revision
    result = cluster.run()
    assert cluster.store.revision == revision and result.evaluations == 0
