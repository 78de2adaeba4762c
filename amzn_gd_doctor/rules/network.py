"""Network rules: the path from this host to GuardDuty's data endpoint, step by step: the name,
the resolvers, the DNS answer (inside the VPC, elsewhere private, public, missing), the Amazon
resolver, TCP to the endpoint, TLS with the right certificate, and the agent's proxy.

Pure functions of the network facts and the VPC CIDR blocks from IMDS.
"""

import ipaddress
from typing import List, Optional, Sequence, Tuple, TypeVar

from ..facts.agent import AGENT_PACKAGE, AgentPackage
from ..facts.imds import IMDS_IDENTITY, IMDS_NETWORK, IdentityResult, NetworkInfo
from ..facts.network import (
    NET_DNS,
    NET_ENDPOINTS,
    NET_PROXY,
    NET_RESOLVERS,
    NET_TCP,
    NET_TLS,
    DnsResults,
    Endpoints,
    ProxySettings,
    Resolvers,
    TcpResults,
    TlsResults,
)
from ..host.network import DnsAnswer, TcpResult, TlsResult
from ..model import Confidence, Verdict, failed, inconclusive, not_applicable, passed, warned
from ..probes.net_endpoints import FIPS, LINK_LOCAL, LINK_LOCAL_SINCE
from ..probes.net_resolvers import AMAZON_RESOLVER
from ..registry import rule
from ..values import value
from .platform import parse_agent_version

DEFINITE = ("answer", "nxdomain", "nodata")
GOOD = ("in_vpc", "private_outside", "private_unknown")
PLACES = {
    "in_vpc": "inside the VPC",
    "private_outside": "private, outside the VPC",
    "private_unknown": "private",
    "public": "public",
}
DOC = "https://docs.aws.amazon.com/guardduty/latest/ug/validate-vpc-endpoint-config-runtime-monitoring.html"


# -- classification (pure helpers) -------------------------------------------------------------
def classify_address(address: str, cidrs: "Sequence[str]") -> str:
    """in_vpc, private_outside, private_unknown (no CIDRs to compare with), or public."""
    ip = ipaddress.ip_address(address)
    if any(
        ip in ipaddress.ip_network(c, strict=False)
        for c in cidrs
        if ipaddress.ip_network(c, strict=False).version == ip.version
    ):
        return "in_vpc"
    if ip.is_global:
        return "public"
    return "private_outside" if cidrs else "private_unknown"


@value
class NameState:
    """What one endpoint name resolves to, as the host sees it."""

    name: str
    state: str  # in_vpc, private_outside, private_unknown, public, nxdomain, nodata,
    #             servfail, timeout, no_resolver, not_asked
    addresses: "Tuple[str, ...]"
    via: str  # the resolver whose answer counts
    evidence: "Tuple[str, ...]"


def _describe(answer: DnsAnswer, cidrs: "Sequence[str]") -> str:
    if answer.status == "answer":
        return ", ".join(f"{a} ({PLACES[classify_address(a, cidrs)]})" for a in answer.addresses)
    text = {
        "nxdomain": "NXDOMAIN",
        "servfail": "SERVFAIL",
        "nodata": "no address (NOERROR)",
        "timeout": "no reply",
    }.get(answer.status, answer.status)
    return f"{text} ({answer.detail})" if answer.detail else text


def judge_name(
    dns: DnsResults, resolvers: Resolvers, name: str, cidrs: "Sequence[str]"
) -> NameState:
    """The answer that counts is the C library's (what the agent gets) when it was asked,
    else the first resolver in configured order that gave a definite answer."""
    answers = dns.for_name(name)
    sources = {r.server: r.source for r in resolvers.resolvers}
    evidence = tuple(
        f"{a.server} ({sources.get(a.server, a.server)}): {name} -> {_describe(a, cidrs)}"
        for a in answers
    )
    system = [a for a in answers if a.server == "system resolver" and a.status in DEFINITE]
    definite = system or [a for a in answers if a.status in DEFINITE]
    if not answers:
        return NameState(name, "not_asked", (), "", evidence)
    if definite:
        chosen = definite[0]
        if chosen.status != "answer":
            return NameState(name, chosen.status, (), chosen.server, evidence)
        kinds = {classify_address(a, cidrs) for a in chosen.addresses}
        state: str = next(
            k for k in ("public", "private_outside", "private_unknown", "in_vpc") if k in kinds
        )
        return NameState(name, state, chosen.addresses, chosen.server, evidence)
    statuses = {a.status for a in answers}
    state = (
        "servfail"
        if "servfail" in statuses
        else "timeout"
        if statuses == {"timeout"}
        else "no_resolver"
    )
    return NameState(name, state, (), "", evidence)


def _cidr_text(network: "Optional[NetworkInfo]") -> str:
    cidrs = network.vpc_cidrs if network is not None else ()
    return ", ".join(cidrs) if cidrs else "the VPC CIDR (not available from IMDS)"


def _link_local_works(
    endpoints: Endpoints, tcp: "Optional[TcpResults]", tls: "Optional[TlsResults]"
) -> bool:
    endpoint = endpoints.of_kind(LINK_LOCAL)
    if endpoint is None or tcp is None:
        return False
    if not any(r.status == "connected" for r in tcp.for_name(endpoint.name)):
        return False
    return tls is None or any(r.status == "verified" for r in tls.for_name(endpoint.name))


def _agent_version(package: "Optional[AgentPackage]") -> "Optional[Tuple[int, ...]]":
    if package is None or not package.installed:
        return None
    return parse_agent_version(package.version)


def _state_sentence(state: NameState) -> str:
    via = f" from {state.via}" if state.via else ""
    return {
        "public": f"resolves to public {', '.join(state.addresses)}{via}",
        "nxdomain": f"does not exist (NXDOMAIN{via})",
        "nodata": f"has no address (NOERROR without an answer{via})",
        "servfail": "gets SERVFAIL from every resolver that answered",
        "timeout": "gets no reply from any resolver",
        "no_resolver": "cannot be resolved: no resolver could be reached",
        "not_asked": "was not asked of any resolver",
    }.get(state.state, f"resolves to {', '.join(state.addresses)}{via}")


def endpoint_fix(endpoints: Endpoints, network: "Optional[NetworkInfo]") -> "Tuple[str, ...]":
    region = endpoints.region
    vpc = (network.vpc_id if network is not None else None) or "<vpc-id>"
    subnet = (network.subnet_id if network is not None else None) or "<subnet-id>"
    service = f"com.amazonaws.{region}.guardduty-data"
    return (
        f"Create the interface VPC endpoint {service} in {vpc} with private DNS enabled, or "
        "enable private DNS on the existing one: `aws ec2 create-vpc-endpoint --vpc-id "
        f"{vpc} --vpc-endpoint-type Interface --service-name {service} --subnet-ids {subnet} "
        "--security-group-ids <sg-id> --private-dns-enabled` (automated agent configuration "
        "creates it for you when enabled).",
        f"Allow inbound TCP 443 from {_cidr_text(network)} in the endpoint's security group.",
        f"Keep both VPC attributes on: `aws ec2 describe-vpc-attribute --vpc-id {vpc} "
        "--attribute enableDnsSupport` and `--attribute enableDnsHostnames` must be true.",
        "If the host uses its own DNS servers, forward "
        f"guardduty-data.{region}.amazonaws.com to the VPC resolver (Route 53 Resolver) so "
        f"the endpoint's private zone is seen. See {DOC}",
    )


def dns_fix(endpoints: Endpoints, resolvers: Resolvers) -> "Tuple[str, ...]":
    name = endpoints.standard.name
    first = resolvers.resolvers[0].server if resolvers.resolvers else AMAZON_RESOLVER
    address, _, port = first.rpartition(":") if first.count(":") == 1 else (first, "", "")
    dig = f"dig @{address}" + (f" -p {port}" if port else "") + f" {name}"
    return (
        f"Make this host's resolvers answer: try `{dig}`; the Amazon resolver "
        f"({AMAZON_RESOLVER}, or the VPC base address + 2) only answers when the VPC's "
        "enableDnsSupport attribute is on.",
        "If the host uses its own DNS servers, check they are running, reachable from this "
        f"subnet, and forward {name} to the VPC resolver.",
    )


# -- rules ---------------------------------------------------------------------------------
@rule(
    "network.endpoint_name",
    title="GuardDuty endpoint name for this region",
    facts=(NET_ENDPOINTS,),
)
def endpoint_name(endpoints: Endpoints) -> Verdict:
    extra = [f"{e.name}: {e.note}" for e in endpoints.endpoints]
    fips = {True: "on", False: "off", None: "unknown"}[endpoints.fips_enabled]
    return passed(
        f"the agent sends to {endpoints.standard.name} (region {endpoints.region} "
        f"from {endpoints.region_source}); kernel FIPS mode is {fips}.",
        evidence=tuple(extra),
    )


@rule("network.resolver_configured", title="DNS resolvers this host uses", facts=(NET_RESOLVERS,))
def resolver_configured(resolvers: Resolvers) -> Verdict:
    listed = tuple(f"{r.server} ({r.source})" for r in resolvers.resolvers)
    if resolvers.overridden:
        return passed(
            f"asking {len(listed)} resolver(s) given with --dns-server instead of the host's.",
            evidence=listed,
        )
    if not resolvers.system:
        return warned(
            "/etc/resolv.conf lists no nameserver, so the C library falls back to 127.0.0.1.",
            evidence=listed + resolvers.notes,
        )
    return passed(
        f"{len(resolvers.system)} nameserver(s) in /etc/resolv.conf "
        f"({', '.join(resolvers.system)}); asking {len(listed)} resolver(s) in all.",
        evidence=listed + resolvers.notes,
    )


@rule(
    "network.dns_private",
    title="Endpoint name resolves to private addresses in the VPC",
    facts=(NET_ENDPOINTS, NET_RESOLVERS, NET_DNS),
    optional=(IMDS_NETWORK, AGENT_PACKAGE, NET_TCP, NET_TLS),
    requires=("network.endpoint_name", "network.resolver_configured"),
    issues=("no_agent_reporting",),
)
def dns_private(
    endpoints: Endpoints,
    resolvers: Resolvers,
    dns: DnsResults,
    network: "Optional[NetworkInfo]",
    package: "Optional[AgentPackage]",
    tcp: "Optional[TcpResults]",
    tls: "Optional[TlsResults]",
) -> Verdict:
    cidrs = network.vpc_cidrs if network is not None else ()
    std = judge_name(dns, resolvers, endpoints.standard.name, cidrs)
    notes = _fips_note(endpoints, dns, resolvers, cidrs)
    evidence = std.evidence + notes
    said = f"{std.name} {_state_sentence(std)}"
    if std.state == "in_vpc":
        return (warned if notes else passed)(
            f"{said}, inside the VPC ({', '.join(cidrs)}).", evidence=evidence
        )
    if std.state in ("private_outside", "private_unknown"):
        where = (
            f"outside the VPC CIDRs ({', '.join(cidrs)}): a peered VPC's endpoint or custom DNS"
            if cidrs
            else "(the VPC CIDRs were not available to compare)"
        )
        return warned(f"{said}, private but {where}.", evidence=evidence)
    version = _agent_version(package)
    if _link_local_works(endpoints, tcp, tls) and (version is None or version >= LINK_LOCAL_SINCE):
        which = "unknown" if version is None else ".".join(map(str, version))
        return warned(
            f"{said}, but the link-local path answers, which agent v1.17.1 and "
            f"later try first (installed version: {which}).",
            evidence=evidence,
        )
    fix = (
        dns_fix(endpoints, resolvers)
        if std.state in ("servfail", "timeout", "no_resolver")
        else endpoint_fix(endpoints, network)
    )
    return failed(
        "no_agent_reporting",
        f"{said}, so the agent cannot reach GuardDuty through the VPC endpoint.",
        evidence=evidence,
        fix=fix,
    )


def _fips_note(
    endpoints: Endpoints, dns: DnsResults, resolvers: Resolvers, cidrs: "Sequence[str]"
) -> "Tuple[str, ...]":
    fips = endpoints.of_kind(FIPS)
    if fips is None:
        return ()
    state = judge_name(dns, resolvers, fips.name, cidrs)
    if state.state in GOOD:
        return state.evidence
    return state.evidence + (
        f"kernel FIPS mode is on and {fips.name} "
        f"{_state_sentence(state)} (that the agent uses the FIPS "
        "endpoint in FIPS mode is not confirmed)",
    )


@rule(
    "network.amazon_resolver",
    title="Amazon-provided DNS resolver answers",
    facts=(NET_ENDPOINTS, NET_RESOLVERS, NET_DNS),
    optional=(IMDS_IDENTITY, IMDS_NETWORK),
    requires=("network.endpoint_name", "network.resolver_configured"),
    issues=("vpce_private_dns_attributes",),
)
def amazon_resolver(
    endpoints: Endpoints,
    resolvers: Resolvers,
    dns: DnsResults,
    identity: "Optional[IdentityResult]",
    network: "Optional[NetworkInfo]",
) -> Verdict:
    if resolvers.overridden:
        return not_applicable(
            "the Amazon resolver is not asked: --dns-server replaces every resolver."
        )
    cidrs = network.vpc_cidrs if network is not None else ()
    amazon = {AMAZON_RESOLVER} | {_base_plus_two(c) for c in cidrs}
    asked = [a for a in dns.answers if a.server in amazon]
    if any(a.status in DEFINITE for a in asked):
        servers = ", ".join(sorted({a.server for a in asked}))
        return passed(f"the Amazon resolver answers ({servers}).")
    evidence = tuple(f"{a.server}: {a.name} -> {_describe(a, cidrs)}" for a in asked)
    if identity is None or identity.document is None:
        return inconclusive(
            "the Amazon resolver does not answer, and IMDS gave no identity "
            "document either: this may not be an EC2 network.",
            evidence,
        )
    std = judge_name(dns, resolvers, endpoints.standard.name, cidrs)
    said = (
        f"the Amazon resolver {AMAZON_RESOLVER} does not answer while IMDS does, the sign "
        "of a VPC with enableDnsSupport off"
    )
    if std.state in GOOD:
        return warned(
            f"{said}; this host still resolves {std.name} privately through {std.via}.",
            evidence=evidence,
        )
    vpc = (network.vpc_id if network is not None else None) or "this VPC"
    return failed(
        "vpce_private_dns_attributes",
        f"{said}; private DNS for the GuardDuty endpoint "
        f"needs both enableDnsSupport and enableDnsHostnames on {vpc}.",
        evidence=evidence,
        confidence=Confidence.SUSPECTED,
    )


def _base_plus_two(cidr: str) -> str:
    net = ipaddress.ip_network(cidr, strict=False)
    return str(net.network_address + 2) if net.num_addresses > 4 else ""


R = TypeVar("R")


def _pick(name_results: "Sequence[Tuple[str, Sequence[R]]]") -> "Tuple[str, Sequence[R]]":
    """The first name with results: the standard name, else the link-local one."""
    return next(((n, r) for n, r in name_results if r), (name_results[0][0], ()))


@rule(
    "network.tcp_reachable",
    title="Endpoint accepts TCP connections",
    facts=(NET_ENDPOINTS, NET_TCP),
    optional=(IMDS_NETWORK,),
    requires=("network.dns_private",),
    issues=("no_agent_reporting",),
)
def tcp_reachable(
    endpoints: Endpoints, tcp: TcpResults, network: "Optional[NetworkInfo]"
) -> Verdict:
    names = [e.name for e in endpoints.endpoints if e.kind != FIPS]
    name, results = _pick([(n, tcp.for_name(n)) for n in names])
    evidence = tuple(
        f"{r.address}:{r.port} {r.status} in {r.elapsed_ms} ms"
        + (f" ({r.detail})" if r.detail else "")
        for r in results
    )
    evidence += tuple(f"{n} {a}: {why}" for n, a, why in tcp.skipped)
    ok = [r for r in results if r.status == "connected"]
    if not results:
        return inconclusive(f"no address of {name} to connect to.", evidence)
    count = f"{len(ok)} of {len(results)} address(es) of {name}"
    if len(ok) == len(results):
        return passed(f"{count} accept TCP {tcp.port}.", evidence)
    bad: List[TcpResult] = [r for r in results if r.status != "connected"]
    if ok:
        return warned(f"{count} accept TCP {tcp.port}; {bad[0].address} {bad[0].status}.", evidence)
    cidr = _cidr_text(network)
    why = {
        "timeout": f"no answer to connection requests: the endpoint's security group must "
        f"allow inbound TCP {tcp.port} from {cidr}",
        "refused": "connections are refused (a reset): a firewall on the path or on this host "
        "rejects them, or the address is not the endpoint",
        "unreachable": "there is no route to the endpoint's addresses",
    }.get(bad[0].status, f"connections fail ({bad[0].detail})")
    return failed(
        "no_agent_reporting",
        f"none of {len(results)} address(es) of {name} accept TCP {tcp.port}: {why}.",
        evidence=evidence,
        fix=(
            f"Allow inbound TCP {tcp.port} from {cidr} in the security group of the "
            f"VPC endpoint com.amazonaws.{endpoints.region}.guardduty-data, and "
            "check the subnet's network ACLs and any host firewall.",
        ),
    )


@rule(
    "network.tls_valid",
    title="Endpoint presents a certificate this host trusts",
    facts=(NET_ENDPOINTS, NET_TLS),
    requires=("network.tcp_reachable",),
    issues=("no_agent_reporting",),
)
def tls_valid(endpoints: Endpoints, tls: TlsResults) -> Verdict:
    names = [e.name for e in endpoints.endpoints if e.kind != FIPS]
    name, results = _pick([(n, tls.for_name(n)) for n in names])
    evidence = tuple(_tls_line(r) for r in results)
    if not results:
        return inconclusive(f"no TLS handshake with {name} was made.", evidence)
    bad: List[TlsResult] = [r for r in results if r.status != "verified"]
    if not bad:
        r = results[0]
        return passed(
            f"{len(results)} {r.version} handshake(s) with {name} verified; "
            f"certificate issued by {r.issuer or 'an unnamed issuer'}.",
            evidence,
        )
    first = bad[0]
    if first.status == "verify_failed":
        return failed(
            "no_agent_reporting",
            f"the certificate {first.address} presents for "
            f"{name} does not verify ({first.verify_error}); it was issued by "
            f"{first.issuer or 'an unnamed issuer'}: TLS interception by a proxy or "
            "inspection appliance, or DNS pointing elsewhere.",
            evidence=evidence,
            fix=(
                f"Exempt {name} from TLS inspection, or send it through the VPC "
                "endpoint directly rather than through the proxy or appliance.",
            ),
            confidence=Confidence.SUSPECTED,
        )
    return failed(
        "no_agent_reporting",
        f"the TLS handshake with {name} at {first.address} "
        f"failed: {first.status} ({first.detail}): something on the path is not the "
        "endpoint (a proxy, firewall or appliance).",
        evidence=evidence,
    )


def _tls_line(r: TlsResult) -> str:
    text = f"{r.address}:{r.port} SNI {r.server_name}: {r.status}"
    if r.verify_error:
        text += f" ({r.verify_error})"
    if r.subject or r.issuer:
        text += f"; subject {r.subject or '-'}; issuer {r.issuer or '-'}"
    return text + f"; trust store {r.trust_store}" + (f"; {r.detail}" if r.detail else "")


def no_proxy_exempts(name: str, port: int, no_proxy: str) -> "Optional[str]":
    """The no_proxy entry that exempts ``name`` (curl and Go semantics: ``*``, an exact name,
    or a domain suffix with or without a leading dot; ``host:port`` only for that port)."""
    for raw in no_proxy.split(","):
        entry = raw.strip().lower()
        host, _, entry_port = entry.rpartition(":") if entry.count(":") == 1 else (entry, "", "")
        if entry_port and entry_port != str(port):
            continue
        domain = host.lstrip("*").lstrip(".")
        if entry == "*" or (domain and (name == domain or name.endswith("." + domain))):
            return raw.strip()
    return None


@rule(
    "network.proxy_exempt",
    title="Agent proxy settings exempt the endpoint",
    facts=(NET_ENDPOINTS, NET_PROXY),
    requires=("network.endpoint_name",),
)
def proxy_exempt(endpoints: Endpoints, proxy: ProxySettings) -> Verdict:
    if not proxy.observed:
        return inconclusive(
            "the agent's proxy settings were not observed: "
            f"{proxy.process.reason}; {proxy.unit.reason}."
        )
    source = proxy.process if proxy.process.observed else proxy.unit
    env = source.variables
    evidence = tuple(f"{source.label}: {k}={v}" for k, v in sorted(env.items()))
    https = next(
        (
            f"{k}={env[k]}"
            for k in ("https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")
            if env.get(k)
        ),
        None,
    )
    if https is None:
        return passed(f"no HTTPS proxy in {source.label}.", evidence)
    name = endpoints.standard.name
    no_proxy = ",".join(env.get(k, "") for k in ("no_proxy", "NO_PROXY"))
    entry = no_proxy_exempts(name, 443, no_proxy)
    if entry:
        return passed(
            f"{source.label} sets {https}, and no_proxy entry {entry!r} exempts {name}.", evidence
        )
    return warned(
        f"{source.label} sets {https}, and no_proxy does not exempt {name}: the agent's "
        "traffic goes through the proxy, which must reach the VPC endpoint itself.",
        evidence,
        fix=(
            f"Add {name} (or .amazonaws.com) to no_proxy and NO_PROXY in the "
            "agent's environment (`sudo systemctl edit amazon-guardduty-agent`"
            "), then restart the agent.",
        ),
    )
