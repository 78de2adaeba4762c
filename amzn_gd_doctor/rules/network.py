"""Network rules: the path from this host to GuardDuty's data endpoint, step by step: the name,
the resolvers, the DNS answer (inside the VPC, elsewhere private, public, missing), the Amazon
resolver, TCP to the endpoint, TLS with the right certificate, and the agent's proxy.

Pure functions of the network facts and the VPC CIDR blocks from IMDS.
"""

import ipaddress
from typing import List, Optional, Sequence, Tuple, TypeVar

from ..answers import TcpResult, TlsResult
from ..facts.agent import AGENT_PACKAGE, AgentPackage
from ..facts.imds import IMDS_IDENTITY, IMDS_NETWORK, IdentityResult, NetworkInfo
from ..facts.network import (
    AMAZON_RESOLVER,
    DEFINITE,
    FIPS,
    LINK_LOCAL,
    LINK_LOCAL_SINCE,
    NET_ENDPOINTS,
    NET_NAME_STATE,
    NET_PROXY_VIEW,
    NET_RESOLVERS,
    NET_TCP,
    NET_TLS,
    Endpoints,
    NameState,
    NameStates,
    ProxyView,
    Resolvers,
    TcpResults,
    TlsResults,
    describe_answer,
)
from ..model import Confidence, Verdict, failed, inconclusive, not_applicable, passed, warned
from ..registry import rule
from .platform import parse_agent_version

GOOD = ("in_vpc", "private_outside", "private_unknown")
DOC = "https://docs.aws.amazon.com/guardduty/latest/ug/validate-vpc-endpoint-config-runtime-monitoring.html"


# -- pure helpers ------------------------------------------------------------------------------
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
    facts=(NET_NAME_STATE,),
    optional=(IMDS_NETWORK, AGENT_PACKAGE, NET_TCP, NET_TLS),
    requires=("network.endpoint_name", "network.resolver_configured"),
    issues=("no_agent_reporting",),
)
def dns_private(
    names: NameStates,
    network: "Optional[NetworkInfo]",
    package: "Optional[AgentPackage]",
    tcp: "Optional[TcpResults]",
    tls: "Optional[TlsResults]",
) -> Verdict:
    std, cidrs = names.standard, names.cidrs
    notes = _fips_note(names.fips)
    evidence = std.evidence + notes
    said = f"{std.name} {_state_sentence(std)}"
    if std.state in GOOD:
        return _private_verdict(std, cidrs, notes, said, evidence)
    link_local = _link_local_note(names.endpoints, package, tcp, tls)
    if link_local:
        return warned(f"{said}, {link_local}", evidence=evidence)
    return failed(
        "no_agent_reporting",
        f"the endpoint name {said}, so the agent cannot reach GuardDuty through the VPC endpoint.",
        evidence=evidence,
        fix=_dns_private_fix(names, network),
    )


def _link_local_note(
    endpoints: Endpoints,
    package: "Optional[AgentPackage]",
    tcp: "Optional[TcpResults]",
    tls: "Optional[TlsResults]",
) -> str:
    """Agent v1.17.1 and later try the link-local name first, which needs no private DNS: when
    it answers (and the agent is not known to be older), a bad standard name only warns."""
    version = _agent_version(package)
    if not _link_local_works(endpoints, tcp, tls):
        return ""
    if version is not None and version < LINK_LOCAL_SINCE:
        return ""
    which = "unknown" if version is None else ".".join(map(str, version))
    return (
        "but the link-local path answers, which agent v1.17.1 and "
        f"later try first (installed version: {which})."
    )


def _private_verdict(
    std: NameState,
    cidrs: "Sequence[str]",
    notes: "Tuple[str, ...]",
    said: str,
    evidence: "Tuple[str, ...]",
) -> Verdict:
    """A private answer passes only inside the VPC; elsewhere private it may be a peered VPC's
    endpoint or custom DNS, which works but is worth a look."""
    if std.state == "in_vpc":
        return (warned if notes else passed)(
            f"{said}, inside the VPC ({', '.join(cidrs)}).", evidence=evidence
        )
    where = (
        f"outside the VPC CIDRs ({', '.join(cidrs)}): a peered VPC's endpoint or custom DNS"
        if cidrs
        else "(the VPC CIDRs were not available to compare)"
    )
    return warned(f"{said}, private but {where}.", evidence=evidence)


def _dns_private_fix(names: NameStates, network: "Optional[NetworkInfo]") -> "Tuple[str, ...]":
    """No answer at all is the resolvers' fault; a wrong answer is the VPC endpoint's."""
    if names.standard.state in ("servfail", "timeout", "no_resolver"):
        return dns_fix(names.endpoints, names.resolvers)
    return endpoint_fix(names.endpoints, network)


def _fips_note(fips: "Optional[NameState]") -> "Tuple[str, ...]":
    """In FIPS mode the FIPS name's answers are shown too, and a warning when it is not
    private, since whether the agent then uses it is not confirmed."""
    if fips is None:
        return ()
    if fips.state in GOOD:
        return fips.evidence
    return fips.evidence + (
        f"kernel FIPS mode is on and {fips.name} "
        f"{_state_sentence(fips)} (that the agent uses the FIPS "
        "endpoint in FIPS mode is not confirmed)",
    )


@rule(
    "network.amazon_resolver",
    title="Amazon-provided DNS resolver answers",
    facts=(NET_NAME_STATE,),
    optional=(IMDS_IDENTITY, IMDS_NETWORK),
    requires=("network.endpoint_name", "network.resolver_configured"),
    issues=("vpce_private_dns_attributes",),
)
def amazon_resolver(
    names: NameStates,
    identity: "Optional[IdentityResult]",
    network: "Optional[NetworkInfo]",
) -> Verdict:
    if names.resolvers.overridden:
        return not_applicable(
            "the Amazon resolver is not asked: --dns-server replaces every resolver."
        )
    cidrs = names.cidrs
    amazon = {AMAZON_RESOLVER} | {_base_plus_two(c) for c in cidrs}
    asked = [a for a in names.dns.answers if a.server in amazon]
    if any(a.status in DEFINITE for a in asked):
        servers = ", ".join(sorted({a.server for a in asked}))
        return passed(f"the Amazon resolver answers ({servers}).")
    evidence = tuple(f"{a.server}: {a.name} -> {describe_answer(a, cidrs)}" for a in asked)
    if identity is None or identity.document is None:
        return inconclusive(
            "the Amazon resolver does not answer, and IMDS gave no identity "
            "document either: this may not be an EC2 network.",
            evidence,
        )
    return _amazon_silent(names.standard, network, evidence)


def _amazon_silent(
    std: NameState, network: "Optional[NetworkInfo]", evidence: "Tuple[str, ...]"
) -> Verdict:
    """A silent Amazon resolver while IMDS answers points at enableDnsSupport off; it only
    matters when the endpoint name is not resolved privately some other way."""
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
    return _tcp_refused(endpoints, name, len(results), bad[0], tcp.port, network, evidence)


def _tcp_refused(
    endpoints: Endpoints,
    name: str,
    count: int,
    first: TcpResult,
    port: int,
    network: "Optional[NetworkInfo]",
    evidence: "Tuple[str, ...]",
) -> Verdict:
    """No address connects: how the first one failed tells a security group (silence) from a
    firewall (reset) from routing."""
    cidr = _cidr_text(network)
    why = {
        "timeout": f"no answer to connection requests: the endpoint's security group must "
        f"allow inbound TCP {port} from {cidr}",
        "refused": "connections are refused (a reset): a firewall on the path or on this host "
        "rejects them, or the address is not the endpoint",
        "unreachable": "there is no route to the endpoint's addresses",
    }.get(first.status, f"connections fail ({first.detail})")
    return failed(
        "no_agent_reporting",
        f"none of {count} address(es) of {name} accept TCP {port}: {why}.",
        evidence=evidence,
        fix=(
            f"Allow inbound TCP {port} from {cidr} in the security group of the "
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
    return _tls_failed(name, bad[0], evidence)


def _tls_failed(name: str, first: TlsResult, evidence: "Tuple[str, ...]") -> Verdict:
    """A certificate that does not verify is most likely interception (suspected); a handshake
    that fails outright is something on the path that is not the endpoint."""
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
        fix=(
            f"Find what answers for {name} on its port (a proxy, firewall or inspection "
            "appliance) and let the agent reach the VPC endpoint directly.",
        ),
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
    facts=(NET_ENDPOINTS, NET_PROXY_VIEW),
    requires=("network.endpoint_name",),
)
def proxy_exempt(endpoints: Endpoints, proxy: ProxyView) -> Verdict:
    if not proxy.observed:
        return inconclusive(f"the agent's proxy settings were not observed: {proxy.reason}.")
    evidence = tuple(f"{proxy.label}: {k}={v}" for k, v in sorted(proxy.variables.items()))
    if proxy.https is None:
        return passed(f"no HTTPS proxy in {proxy.label}.", evidence)
    name = endpoints.standard.name
    entry = no_proxy_exempts(name, 443, proxy.no_proxy)
    if entry:
        return passed(
            f"{proxy.label} sets {proxy.https}, and no_proxy entry {entry!r} exempts {name}.",
            evidence,
        )
    return warned(
        f"{proxy.label} sets {proxy.https}, and no_proxy does not exempt {name}: the agent's "
        "traffic goes through the proxy, which must reach the VPC endpoint itself.",
        evidence,
        fix=(
            f"Add {name} (or .amazonaws.com) to no_proxy and NO_PROXY in the "
            "agent's environment (`sudo systemctl edit amazon-guardduty-agent`"
            "), then restart the agent.",
        ),
    )
