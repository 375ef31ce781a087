"""kube-proxy's iptables rules for one node, as text, and a walk through them.

The rules themselves are computed by rules/proxy.rules: one
`proxy.recon.dev/v1 ServiceRules` object per Service holds, per service port,
the filter and nat lines and the nat chains that port needs (a node-specific
variant only where a Local traffic policy makes nodes differ).  This module
only assembles them:

- `node_rules(snapshot, node)` is the node's ruleset in iptables-save form:
  the chains and jump rules kube-proxy installs once (KUBE-SERVICES,
  KUBE-NODEPORTS, KUBE-MARK-MASQ, KUBE-POSTROUTING, KUBE-FORWARD, …), and
  every Service's lines grouped by chain, the KUBE-SERVICES → KUBE-NODEPORTS
  jump last, as upstream writes it.  `iptables-restore --test` accepts it.
- `route(snapshot, ip, port, …)` parses that text back and walks it the way
  the kernel does for a new connection (nat PREROUTING or OUTPUT, then filter
  INPUT / FORWARD / OUTPUT, then nat POSTROUTING), following every branch of
  the `statistic` rules, so each outcome carries its probability.
"""

from __future__ import annotations

import ipaddress
import shlex
from collections.abc import Mapping
from typing import Any

import attrs

from .objects import get_path

GROUP, KIND = "proxy.recon.dev", "ServiceRules"
MASQ_MARK = "0x4000"
ANY_NODE = "*"

_FILTER_CHAINS = ("KUBE-EXTERNAL-SERVICES", "KUBE-FIREWALL", "KUBE-FORWARD", "KUBE-NODEPORTS",
                  "KUBE-PROXY-FIREWALL", "KUBE-SERVICES")
_NAT_CHAINS = ("KUBE-MARK-MASQ", "KUBE-NODEPORTS", "KUBE-POSTROUTING", "KUBE-SERVICES")
_NEW = "-m conntrack --ctstate NEW "
_FILTER_JUMPS = (
    "-A INPUT " + _NEW + '-m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
    '-A INPUT -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS',
    "-A INPUT " + _NEW + '-m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES',
    "-A INPUT -j KUBE-FIREWALL",
    "-A FORWARD " + _NEW + '-m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
    '-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD',
    "-A FORWARD " + _NEW + '-m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    "-A FORWARD " + _NEW + '-m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES',
    "-A OUTPUT " + _NEW + '-m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL',
    "-A OUTPUT " + _NEW + '-m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    "-A OUTPUT -j KUBE-FIREWALL",
    '-A KUBE-FIREWALL -m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 '
    "! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP",
)
_FILTER_TAIL = (
    "-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP",
    f'-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark {MASQ_MARK}/{MASQ_MARK} -j ACCEPT',
    '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" '
    "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
)
_NAT_JUMPS = (
    '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
    f"-A KUBE-MARK-MASQ -j MARK --or-mark {MASQ_MARK}",
    f"-A KUBE-POSTROUTING -m mark ! --mark {MASQ_MARK}/{MASQ_MARK} -j RETURN",
    f"-A KUBE-POSTROUTING -j MARK --xor-mark {MASQ_MARK}",
    '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
)
_NODEPORTS_JUMP = ('-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the '
                   'last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS')
_BUILTIN = {"filter": ("INPUT", "FORWARD", "OUTPUT"), "nat": ("PREROUTING", "INPUT", "OUTPUT", "POSTROUTING")}


# ================================================================= rendering


def port_tables(snapshot: Any, node: str) -> list[tuple[str, Mapping]]:
    """(service port name, its table on `node`) for every Service port, in name order."""
    found = []
    for obj in snapshot.list(GROUP, KIND, None):
        for name, variants in sorted((get_path(obj, "spec", "ports") or {}).items()):
            table = variants.get(node) or variants.get(ANY_NODE)
            if table is not None:
                found.append((name, table))
    return sorted(found, key=lambda item: item[0])


def node_rules(snapshot: Any, node: str) -> str:
    """The iptables-save text of everything kube-proxy programs on `node`."""
    tables = [t for _, t in port_tables(snapshot, node)]
    filter_lines = [line for t in tables for line in t.get("filter") or ()]
    nat_lines = [line for t in tables for line in t.get("nat") or ()]
    service_chains = list(dict.fromkeys(c for t in tables for c in t.get("chains") or ()))
    services, rest = [], []
    for line in nat_lines:
        (services if _chain_of(line) == "KUBE-SERVICES" else rest).append(line)
    out = ["*filter", *_chain_lines("filter", _FILTER_CHAINS)]
    out += _grouped([*_FILTER_JUMPS, *filter_lines, *_FILTER_TAIL], ["INPUT", "FORWARD", "OUTPUT", *_FILTER_CHAINS])
    out += ["COMMIT", "*nat", *_chain_lines("nat", _NAT_CHAINS + tuple(service_chains))]
    order = ["PREROUTING", "OUTPUT", "POSTROUTING", *_NAT_CHAINS, *service_chains]
    out += _grouped([*_NAT_JUMPS, *services, _NODEPORTS_JUMP, *rest], order)
    out.append("COMMIT")
    return "\n".join(out) + "\n"


def _chain_lines(table: str, chains: tuple[str, ...]) -> list[str]:
    return [f":{c} ACCEPT [0:0]" for c in _BUILTIN[table]] + [f":{c} - [0:0]" for c in chains]


def _chain_of(line: str) -> str:
    return line.split(None, 2)[1]


def _grouped(lines: list[str], order: list[str]) -> list[str]:
    """Rules grouped by chain (iptables-save's layout), each chain's rules in their order."""
    by_chain: dict[str, list[str]] = {c: [] for c in order}
    for line in lines:
        by_chain.setdefault(_chain_of(line), []).append(line)
    return [line for rules in by_chain.values() for line in rules]


# ================================================================== parsing


@attrs.frozen
class Rule:
    """One `-A CHAIN …` line: its options (name → (value, negated)) and its target."""

    line: str
    chain: str
    options: Mapping[str, tuple[str | None, bool]]
    target: str
    target_args: Mapping[str, str | None]

    def opt(self, name: str) -> str | None:
        found = self.options.get(name)
        return found[0] if found else None

    @property
    def comment(self) -> str | None:
        return self.opt("--comment")


_FLAGS = {"--rcheck", "--set", "--reap", "--rsource", "--random-fully", "--random"}


def parse_rule(line: str) -> Rule:
    words = shlex.split(line)
    chain, words = words[1], words[2:]
    options: dict[str, tuple[str | None, bool]] = {}
    target, target_args, negate, i = "", {}, False, 0
    while i < len(words):
        word = words[i]
        if word == "!":
            negate = True
        elif word == "-j":
            target = words[i + 1]
            rest = words[i + 2:]
            for j, arg in enumerate(rest):
                if arg.startswith("--"):
                    value = rest[j + 1] if j + 1 < len(rest) and not rest[j + 1].startswith("--") else None
                    target_args[arg] = value
            break
        elif word == "-m":
            options.setdefault(f"-m {words[i + 1]}", (None, False))
            i += 1
        elif word in _FLAGS:
            options[word] = (None, negate)
            negate = False
        else:
            options[word] = (words[i + 1], negate)
            negate = False
            i += 1
        i += 1
    return Rule(line, chain, options, target, target_args)


def parse_tables(text: str) -> dict[str, dict[str, list[Rule]]]:
    """{table: {chain: [Rule]}} of an iptables-save text."""
    tables: dict[str, dict[str, list[Rule]]] = {}
    current: dict[str, list[Rule]] = {}
    for line in text.splitlines():
        if line.startswith("*"):
            current = tables.setdefault(line[1:], {})
        elif line.startswith(":"):
            current.setdefault(line[1:].split()[0], [])
        elif line.startswith("-A "):
            rule = parse_rule(line)
            current.setdefault(rule.chain, []).append(rule)
    return tables


# ================================================================== walking


@attrs.frozen
class Packet:
    proto: str
    src: str | None  # None: the node itself, address unknown
    dst: str
    dport: int
    local_src: bool  # sent by the node itself
    local_addresses: frozenset[str]
    mark: int = 0


@attrs.frozen
class Hop:
    table: str
    chain: str
    rule: Rule
    probability: float | None = None  # a statistic rule's own --probability


@attrs.frozen
class Outcome:
    """One way the packet can go, with its probability."""

    probability: float
    hops: tuple[Hop, ...]
    packet: Packet
    verdict: str  # DNAT, REJECT, DROP, ACCEPT (through untouched)
    dnat: str | None = None  # ip:port
    masquerade: bool = False
    recent_set: str | None = None  # the `recent` list this connection is recorded in


_TERMINAL = {"DNAT", "REJECT", "DROP", "ACCEPT", "MASQUERADE"}


def _in(address: str | None, cidr: str) -> bool:
    if address is None:
        return False
    return ipaddress.ip_address(address) in ipaddress.ip_network(cidr, strict=False)


def matches(rule: Rule, pkt: Packet, recent: Mapping[str, set]) -> bool:
    """Whether every match of `rule` (but statistic) holds for `pkt`."""
    checks = {
        "-p": lambda v: v == pkt.proto,
        "-d": lambda v: _in(pkt.dst, v),
        "-s": lambda v: _in(pkt.src, v),
        "--dport": lambda v: int(v) == pkt.dport,
        "--dst-type": lambda v: v == "LOCAL" and (pkt.dst in pkt.local_addresses or _in(pkt.dst, "127.0.0.0/8")),
        "--src-type": lambda v: v == "LOCAL" and pkt.local_src,
        "--ctstate": lambda v: "NEW" in v.split(","),
        "--mark": lambda v: _mark_matches(pkt.mark, v),
        "--rcheck": lambda _v: pkt.src in recent.get(rule.opt("--name") or "", ()),
    }
    for name, (value, negated) in rule.options.items():
        check = checks.get(name)
        if check is not None and check(value) == negated:
            return False
    return True


def _mark_matches(mark: int, spec: str) -> bool:
    value, _, mask = spec.partition("/")
    return mark & int(mask or "0xffffffff", 16) == int(value, 16)


class Walker:
    """Follows a packet through parsed tables, splitting at every statistic rule."""

    def __init__(self, tables: Mapping[str, Mapping[str, list[Rule]]], recent: Mapping[str, set] | None = None):
        self.tables = tables
        self.recent = recent or {}

    def chain(self, table: str, chain: str, pkt: Packet, prob: float, hops: tuple, start: int = 0) -> list[Outcome]:
        """Outcomes of entering `chain` at rule `start`; verdict RETURN means it fell through."""
        rules = self.tables.get(table, {}).get(chain, [])
        for i in range(start, len(rules)):
            rule = rules[i]
            if not matches(rule, pkt, self.recent):
                continue
            chance = float(rule.opt("--probability") or 1.0)
            hop = Hop(table, chain, rule, chance if rule.opt("--probability") else None)
            taken = self._take(table, chain, rule, i, pkt, prob * chance, (*hops, hop))
            if chance >= 1.0:
                return taken
            return taken + self.chain(table, chain, pkt, prob * (1 - chance), hops, i + 1)
        return [Outcome(prob, hops, pkt, "RETURN")]

    def _take(self, table: str, chain: str, rule: Rule, i: int, pkt: Packet, prob: float, hops: tuple) -> list[Outcome]:
        target = rule.target
        recorded = rule.opt("--name") if "--set" in rule.options else None
        if target == "MARK":
            mark = pkt.mark | int(rule.target_args.get("--or-mark") or "0", 16)
            mark ^= int(rule.target_args.get("--xor-mark") or "0", 16)
            return self.chain(table, chain, attrs.evolve(pkt, mark=mark), prob, hops, i + 1)
        if target == "RETURN" or not target:
            return [Outcome(prob, hops, pkt, "RETURN")]
        if target in _TERMINAL:
            dnat = rule.target_args.get("--to-destination")
            outcome = Outcome(prob, hops, pkt, target, dnat=dnat, recent_set=recorded)
            return [outcome]
        results = []
        for sub in self.chain(table, target, pkt, prob, hops):
            if sub.verdict != "RETURN":
                results.append(sub)
                continue
            # a chain that matched nothing leaves no hop behind
            back = hops[:-1] if sub.hops == hops else sub.hops
            results += self.chain(table, chain, sub.packet, sub.probability, back, i + 1)
        return results

    def connect(self, pkt: Packet) -> list[Outcome]:
        """Every way a new connection can go: nat, then filter, then nat POSTROUTING."""
        first = "OUTPUT" if pkt.local_src else "PREROUTING"
        results = []
        for nat in self.chain("nat", first, pkt, 1.0, ()):
            after = nat.packet
            if nat.verdict == "DNAT":
                ip, _, port = nat.dnat.rpartition(":")
                after = attrs.evolve(after, dst=ip, dport=int(port))
            hook = "OUTPUT" if pkt.local_src else ("INPUT" if _is_local(after) else "FORWARD")
            for flt in self.chain("filter", hook, after, nat.probability, nat.hops):
                if flt.verdict in ("REJECT", "DROP"):
                    results.append(attrs.evolve(flt, dnat=nat.dnat, recent_set=nat.recent_set))
                    continue
                post = self.chain("nat", "POSTROUTING", flt.packet, flt.probability, flt.hops)
                for done in post:
                    verdict = "DNAT" if nat.verdict == "DNAT" else "ACCEPT"
                    results.append(Outcome(done.probability, done.hops, done.packet, verdict, nat.dnat,
                                           done.verdict == "MASQUERADE", nat.recent_set))
        return results


def _is_local(pkt: Packet) -> bool:
    return pkt.dst in pkt.local_addresses or _in(pkt.dst, "127.0.0.0/8")


# ==================================================================== route


class RouteError(Exception):
    """The route cannot be walked (an unknown node, a malformed address)."""


@attrs.frozen
class Route:
    node: str
    packet: Packet
    outcomes: tuple[Outcome, ...]


def node_addresses(snapshot: Any, node: str) -> frozenset[str]:
    obj = snapshot.get(("", "Node", "", node)) if node else None
    addresses = get_path(obj, "status", "addresses") or () if obj is not None else ()
    return frozenset(a.get("address") for a in addresses
                     if a.get("type") in ("InternalIP", "ExternalIP") and a.get("address"))


def pod_by_ip(snapshot: Any, ip: str) -> Any:
    """The pod that has `ip` (a running one first), or None."""
    pods = [p for p in snapshot.list("", "Pod", None) if get_path(p, "status", "podIP") == ip]
    pods.sort(key=lambda p: get_path(p, "status", "phase") in ("Succeeded", "Failed"))
    return pods[0] if pods else None


def pick_node(snapshot: Any, dst: str, client: str | None) -> str:
    """The node a packet to `dst` from `client` is walked on, when none is given: the node that
    owns `dst` (a NodePort), else the client pod's node, else the first node; "" without nodes."""
    nodes = sorted(get_path(n, "metadata", "name") for n in snapshot.list("", "Node", None))
    for name in nodes:
        if dst in node_addresses(snapshot, name):
            return name
    pod = pod_by_ip(snapshot, client) if client else None
    if pod is not None and get_path(pod, "spec", "nodeName"):
        return get_path(pod, "spec", "nodeName")
    for name in nodes:
        if client and client in node_addresses(snapshot, name):
            return name
    return nodes[0] if nodes else ""


def route(snapshot: Any, dst: str, port: int, proto: str = "tcp", node: str | None = None,
          client: str | None = None, recent: Mapping[str, set] | None = None) -> Route:
    """Walk a new `proto` connection from `client` (default: the node itself) to dst:port on `node`."""
    try:
        ipaddress.ip_address(dst)
        if client:
            ipaddress.ip_address(client)
    except ValueError as exc:
        raise RouteError(str(exc)) from None
    if node is None:
        node = pick_node(snapshot, dst, client)
    elif snapshot.get(("", "Node", "", node)) is None:
        raise RouteError(f'node "{node}" not found')
    local = node_addresses(snapshot, node)
    own = sorted(local)[0] if local else None
    src = client or own
    pkt = Packet(proto.lower(), src, dst, int(port), client is None or client in local, local)
    tables = parse_tables(node_rules(snapshot, node))
    return Route(node, pkt, tuple(Walker(tables, recent).connect(pkt)))


def format_route(snapshot: Any, r: Route) -> str:
    """What `recon proxy route` prints: each hop, each endpoint's probability, the pod or why not."""
    pkt = r.packet
    source = pkt.src or "the node"
    if pkt.local_src:
        source = f"{source} (node {r.node or '-'} itself)"
    lines = [f"{pkt.proto} {source} -> {pkt.dst}:{pkt.dport} on node {r.node or '(none)'}"]
    many = len(r.outcomes) > 1
    if many:
        lines.append(f"{len(r.outcomes)} possible paths, one picked at random per new connection:")
    for n, outcome in enumerate(r.outcomes, 1):
        indent = "  " if many else ""
        if many:
            lines.append(f"path {n}: probability {outcome.probability:.4f} ({_fraction(outcome.probability)})")
        for hop in outcome.hops:
            lines.append(indent + "  " + _format_hop(hop))
        lines.append(indent + "  => " + _result(snapshot, outcome))
    return "\n".join(lines) + "\n"


def _fraction(p: float) -> str:
    n = round(1 / p) if p > 0 else 0
    return f"1/{n}" if n and abs(1 / n - p) < 1e-9 else f"{p * 100:.2f}%"


def _format_hop(hop: Hop) -> str:
    rule = hop.rule
    action = rule.target
    if rule.target == "DNAT":
        action = f"DNAT --to-destination {rule.target_args.get('--to-destination')}"
    elif rule.target == "MARK":
        action = "MARK " + " ".join(f"{k} {v}" for k, v in rule.target_args.items())
    notes = []
    if hop.probability is not None:
        notes.append(f"statistic --probability {rule.opt('--probability')}")
    if "--rcheck" in rule.options:
        notes.append(f"recent --rcheck {rule.opt('--name')} (client seen within {rule.opt('--seconds')}s)")
    if "--set" in rule.options:
        notes.append(f"recent --set {rule.opt('--name')}")
    comment = f'  "{rule.comment}"' if rule.comment else ""
    extra = f"  [{'; '.join(notes)}]" if notes else ""
    return f"{hop.table} {hop.chain} -> {action}{comment}{extra}"


def _result(snapshot: Any, outcome: Outcome) -> str:
    if outcome.verdict in ("REJECT", "DROP"):
        last = outcome.hops[-1].rule if outcome.hops else None
        why = f": {last.comment}" if last is not None and last.comment else ""
        word = "rejected" if outcome.verdict == "REJECT" else "dropped"
        return f"{word} ({outcome.verdict}){why}"
    if outcome.verdict != "DNAT" or not outcome.dnat:
        return "no kube-proxy rule matched: not a service address, the packet goes on unchanged"
    ip, _, port = outcome.dnat.rpartition(":")
    pod = pod_by_ip(snapshot, ip)
    who = "no pod has this IP"
    if pod is not None:
        meta = pod.get("metadata") or {}
        who = f"pod {meta.get('namespace')}/{meta.get('name')} (IP {ip}, port {port}"
        who += f", node {get_path(pod, 'spec', 'nodeName')})" if get_path(pod, "spec", "nodeName") else ")"
    text = f"{outcome.dnat}: {who}"
    if outcome.masquerade:
        text += "; source masqueraded (SNAT) by KUBE-POSTROUTING"
    if outcome.recent_set:
        text += f"; ClientIP affinity: later connections from {outcome.packet.src} stick to it"
    return text
