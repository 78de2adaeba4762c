"""Network rules called directly with values built inline: every conclusion they can reach."""

from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

from amzn_gd_doctor.answers import DnsAnswer, TcpResult, TlsResult
from amzn_gd_doctor.facts.agent import AgentPackage
from amzn_gd_doctor.facts.imds import IdentityDocument, IdentityResult, NetworkInfo
from amzn_gd_doctor.facts.network import (
    DnsResults,
    Endpoints,
    NamedTcp,
    ProxySettings,
    ProxySource,
    ProxyView,
    Resolver,
    Resolvers,
    TcpResults,
    TlsResults,
)
from amzn_gd_doctor.model import Confidence, Outcome
from amzn_gd_doctor.probes.imds_session import parse_imds_config
from amzn_gd_doctor.probes.net_endpoints import endpoint_names
from amzn_gd_doctor.probes.net_names import name_states
from amzn_gd_doctor.probes.net_proxy import proxy_view
from amzn_gd_doctor.rules import network as rules

from .conftest import LINK_LOCAL, STANDARD

ENDPOINTS = Endpoints(
    "us-east-1", "the identity document", False, endpoint_names("us-east-1", False)
)
FIPS_ENDPOINTS = Endpoints(
    "us-east-1", "the identity document", True, endpoint_names("us-east-1", True)
)
NETWORK = NetworkInfo(
    "0e:12:34:56:78:9a", "vpc-0a1b2c3d4e5f60718", "subnet-0123456789abcdef0", ("10.0.0.0/16",)
)
HOST_RESOLVERS = Resolvers(
    (Resolver("10.0.0.2", "/etc/resolv.conf"), Resolver("169.254.169.253", "Amazon resolver")),
    False,
    ("10.0.0.2",),
)
DOC = IdentityDocument(
    "123456789012",
    "i-0123456789abcdef0",
    "us-east-1",
    "t3.micro",
    "x86_64",
    "us-east-1a",
    None,
    "10.0.1.23",
    None,
)
IDENTITY = IdentityResult(parse_imds_config({}), None, DOC)


def agent_package(version: Optional[str]) -> AgentPackage:
    state = "installed" if version is not None else "not-installed"
    return AgentPackage("rpm", state, version)


def dns(*answers: Tuple[str, str, Any]) -> DnsResults:
    """(server, name, addresses-or-status) triples."""
    out = []
    for server, name, what in answers:
        if isinstance(what, tuple):
            out.append(DnsAnswer(server, name, "answer", what))
        else:
            out.append(
                DnsAnswer(
                    server, name, what, (), "no reply within 2.0 s" if what == "timeout" else ""
                )
            )
    return DnsResults(tuple(out), True)


def private(name: str = STANDARD, via: str = "system resolver") -> DnsResults:
    return dns((via, name, ("10.0.1.5", "10.0.2.7")))


def dns_private(
    d: DnsResults,
    network: Optional[NetworkInfo] = NETWORK,
    package: Optional[AgentPackage] = None,
    tcp: Optional[TcpResults] = None,
    tls: Optional[TlsResults] = None,
    endpoints: Endpoints = ENDPOINTS,
) -> Any:
    names = name_states(endpoints, HOST_RESOLVERS, d, network)
    return rules.dns_private(names, network, package, tcp, tls)


def test_endpoint_name() -> None:
    v = rules.endpoint_name(FIPS_ENDPOINTS)
    assert v.outcome is Outcome.PASS
    assert v.summary == (
        "the agent sends to guardduty-data.us-east-1.amazonaws.com (region "
        "us-east-1 from the identity document); kernel FIPS mode is on."
    )
    assert len(v.evidence) == 3 and "not confirmed" in v.evidence[2]


def test_resolver_configured() -> None:
    assert rules.resolver_configured(HOST_RESOLVERS).summary == (
        "1 nameserver(s) in /etc/resolv.conf (10.0.0.2); asking 2 resolver(s) in all."
    )
    empty = Resolvers((Resolver("169.254.169.253", "Amazon resolver"),), False, ())
    v = rules.resolver_configured(empty)
    assert (v.outcome, v.summary) == (
        Outcome.WARN,
        "/etc/resolv.conf lists no nameserver, so the C library falls back to 127.0.0.1.",
    )


def test_dns_private_inside_vpc_passes() -> None:
    v = dns_private(private())
    assert v.outcome is Outcome.PASS
    assert v.summary == (
        f"{STANDARD} resolves to 10.0.1.5, 10.0.2.7 from system resolver, "
        "inside the VPC (10.0.0.0/16)."
    )
    assert v.evidence == (
        f"system resolver (system resolver): {STANDARD} -> 10.0.1.5 (inside "
        "the VPC), 10.0.2.7 (inside the VPC)",
    )


def test_dns_private_system_answer_counts_over_resolvers() -> None:
    d = dns(("10.0.0.2", STANDARD, ("52.94.4.10",)), ("system resolver", STANDARD, ("10.0.1.5",)))
    assert dns_private(d).outcome is Outcome.PASS


def test_dns_private_outside_vpc_warns() -> None:
    v = dns_private(dns(("10.0.0.2", STANDARD, ("10.9.0.5",))))
    assert v.outcome is Outcome.WARN
    assert v.summary == (
        f"{STANDARD} resolves to 10.9.0.5 from 10.0.0.2, private but outside "
        "the VPC CIDRs (10.0.0.0/16): a peered VPC's endpoint or custom DNS."
    )


def test_dns_private_without_cidrs_warns() -> None:
    v = dns_private(private(), network=None)
    assert v.outcome is Outcome.WARN
    assert "the VPC CIDRs were not available to compare" in v.summary


def test_dns_public_fails_with_endpoint_steps() -> None:
    v = dns_private(dns(("10.0.0.2", STANDARD, ("52.94.4.10", "52.94.4.11"))))
    assert (v.outcome, v.issue, v.confidence) == (
        Outcome.FAIL,
        "no_agent_reporting",
        Confidence.CONFIRMED,
    )
    assert v.summary == (
        f"the endpoint name {STANDARD} resolves to public 52.94.4.10, 52.94.4.11 from 10.0.0.2, "
        "so the agent cannot reach GuardDuty through the VPC endpoint."
    )
    assert "com.amazonaws.us-east-1.guardduty-data in vpc-0a1b2c3d4e5f60718" in v.fix[0]
    assert "--subnet-ids subnet-0123456789abcdef0" in v.fix[0]
    assert v.fix[1] == "Allow inbound TCP 443 from 10.0.0.0/16 in the endpoint's security group."


def test_dns_nxdomain_fails() -> None:
    v = dns_private(dns(("10.0.0.2", STANDARD, "nxdomain")))
    assert v.issue == "no_agent_reporting"
    assert v.summary.startswith(
        f"the endpoint name {STANDARD} does not exist (NXDOMAIN from 10.0.0.2)"
    )


def test_dns_servfail_and_silence_fail() -> None:
    v = dns_private(
        dns(("10.0.0.2", STANDARD, "servfail"), ("169.254.169.253", STANDARD, "timeout"))
    )
    assert v.summary.startswith(
        f"the endpoint name {STANDARD} gets SERVFAIL from every resolver that answered"
    )
    v = dns_private(
        dns(("10.0.0.2", STANDARD, "timeout"), ("169.254.169.253", STANDARD, "timeout"))
    )
    assert v.summary.startswith(f"the endpoint name {STANDARD} gets no reply from any resolver")
    v = dns_private(dns(("10.0.0.2", STANDARD, "unreachable"), ("x", STANDARD, "timeout")))
    assert v.summary.startswith(
        f"the endpoint name {STANDARD} cannot be resolved: no resolver could be reached"
    )
    assert v.issue == "no_agent_reporting"


def _link_local_ok() -> Tuple[TcpResults, TlsResults]:
    tcp = TcpResults(443, (NamedTcp(LINK_LOCAL, TcpResult("169.254.170.9", 443, "connected")),))
    tls = TlsResults((TlsResult("169.254.170.9", 443, LINK_LOCAL, "verified"),))
    return tcp, tls


def test_public_name_with_working_link_local_path() -> None:
    public = dns(
        ("10.0.0.2", STANDARD, ("52.94.4.10",)), ("10.0.0.2", LINK_LOCAL, ("169.254.170.9",))
    )
    tcp, tls = _link_local_ok()
    v = dns_private(public, package=agent_package("1.17.1"), tcp=tcp, tls=tls)
    assert v.outcome is Outcome.WARN
    assert v.summary.endswith(
        "but the link-local path answers, which agent v1.17.1 and later "
        "try first (installed version: 1.17.1)."
    )
    assert (
        dns_private(public, package=agent_package(None), tcp=tcp, tls=tls).outcome is Outcome.WARN
    )
    old = dns_private(public, package=agent_package("1.16.0-1.amzn2023"), tcp=tcp, tls=tls)
    assert (old.outcome, old.issue) == (Outcome.FAIL, "no_agent_reporting")
    failed_tls = TlsResults((TlsResult("169.254.170.9", 443, LINK_LOCAL, "verify_failed"),))
    assert (
        dns_private(public, package=agent_package("1.17.1"), tcp=tcp, tls=failed_tls).outcome
        is Outcome.FAIL
    )


def test_fips_name_not_private_is_a_warning() -> None:
    d = dns(
        ("system resolver", STANDARD, ("10.0.1.5",)),
        ("system resolver", "guardduty-data-fips.us-east-1.amazonaws.com", "nxdomain"),
    )
    v = dns_private(d, endpoints=FIPS_ENDPOINTS)
    assert v.outcome is Outcome.WARN
    assert v.evidence[-1] == (
        "kernel FIPS mode is on and guardduty-data-fips.us-east-1."
        "amazonaws.com does not exist (NXDOMAIN from system resolver) (that "
        "the agent uses the FIPS endpoint in FIPS mode is not confirmed)"
    )


def amazon(d: DnsResults, identity: Any = IDENTITY, resolvers: Resolvers = HOST_RESOLVERS) -> Any:
    names = name_states(ENDPOINTS, resolvers, d, NETWORK)
    return rules.amazon_resolver(names, identity, NETWORK)


def test_amazon_resolver() -> None:
    ok = amazon(dns(("169.254.169.253", STANDARD, ("52.94.4.10",))))
    assert (ok.outcome, ok.summary) == (
        Outcome.PASS,
        "the Amazon resolver answers (169.254.169.253).",
    )
    silent_public = dns(
        ("10.50.0.10", STANDARD, ("52.94.4.10",)), ("169.254.169.253", STANDARD, "timeout")
    )
    v = amazon(silent_public)
    assert (v.outcome, v.issue, v.confidence) == (
        Outcome.FAIL,
        "vpce_private_dns_attributes",
        Confidence.SUSPECTED,
    )
    assert v.summary == (
        "the Amazon resolver 169.254.169.253 does not answer while IMDS does, "
        "the sign of a VPC with enableDnsSupport off; private DNS for the "
        "GuardDuty endpoint needs both enableDnsSupport and enableDnsHostnames "
        "on vpc-0a1b2c3d4e5f60718."
    )
    silent_private = dns(
        ("10.50.0.10", STANDARD, ("10.0.1.5",)), ("169.254.169.253", STANDARD, "timeout")
    )
    assert amazon(silent_private).outcome is Outcome.WARN
    no_imds = amazon(silent_public, identity=IdentityResult(parse_imds_config({}), None, None))
    assert no_imds.outcome is Outcome.INCONCLUSIVE
    base_plus_two = amazon(
        dns(("10.0.0.2", STANDARD, "nxdomain"), ("169.254.169.253", STANDARD, "timeout"))
    )
    assert base_plus_two.outcome is Outcome.PASS  # 10.0.0.2 is the VPC base + 2
    overridden = Resolvers((Resolver("127.0.0.1:5353", "--dns-server"),), True, ())
    assert amazon(silent_public, resolvers=overridden).outcome is Outcome.NOT_APPLICABLE


def tcp(*results: Tuple[str, str], name: str = STANDARD) -> TcpResults:
    return TcpResults(443, tuple(NamedTcp(name, TcpResult(a, 443, s)) for a, s in results))


def test_tcp_reachable() -> None:
    ok = rules.tcp_reachable(
        ENDPOINTS, tcp(("10.0.1.5", "connected"), ("10.0.2.7", "connected")), NETWORK
    )
    assert (ok.outcome, ok.summary) == (
        Outcome.PASS,
        f"2 of 2 address(es) of {STANDARD} accept TCP 443.",
    )
    part = rules.tcp_reachable(
        ENDPOINTS, tcp(("10.0.1.5", "connected"), ("10.0.2.7", "timeout")), NETWORK
    )
    assert part.outcome is Outcome.WARN and "10.0.2.7 timeout" in part.summary
    sg = rules.tcp_reachable(ENDPOINTS, tcp(("10.0.1.5", "timeout")), NETWORK)
    assert (sg.outcome, sg.issue) == (Outcome.FAIL, "no_agent_reporting")
    assert sg.summary == (
        f"none of 1 address(es) of {STANDARD} accept TCP 443: no answer to "
        "connection requests: the endpoint's security group must allow "
        "inbound TCP 443 from 10.0.0.0/16."
    )
    assert "10.0.0.0/16" in sg.fix[0]
    refused = rules.tcp_reachable(ENDPOINTS, tcp(("10.0.1.5", "refused")), NETWORK)
    assert "connections are refused" in refused.summary
    none = rules.tcp_reachable(ENDPOINTS, TcpResults(443, ()), NETWORK)
    assert none.outcome is Outcome.INCONCLUSIVE
    link = rules.tcp_reachable(
        ENDPOINTS, tcp(("169.254.170.9", "connected"), name=LINK_LOCAL), NETWORK
    )
    assert link.summary == f"1 of 1 address(es) of {LINK_LOCAL} accept TCP 443."


def tls(*results: TlsResult) -> TlsResults:
    return TlsResults(results)


def test_tls_valid() -> None:
    good = TlsResult(
        "10.0.1.5",
        443,
        STANDARD,
        "verified",
        issuer="C=US, O=Amazon, CN=Amazon RSA 2048 M02",
        subject=f"CN={STANDARD}",
        version="TLSv1.3",
        trust_store="/etc/ssl/certs/ca-certificates.crt",
    )
    v = rules.tls_valid(ENDPOINTS, tls(good))
    assert (v.outcome, v.summary) == (
        Outcome.PASS,
        f"1 TLSv1.3 handshake(s) with {STANDARD} "
        "verified; certificate issued by C=US, O=Amazon, CN=Amazon "
        "RSA 2048 M02.",
    )
    intercepted = TlsResult(
        "10.0.1.5",
        443,
        STANDARD,
        "verify_failed",
        verify_error="self-signed certificate in certificate chain",
        issuer="O=Corp, CN=Corp Inspection CA",
        subject=f"CN={STANDARD}",
    )
    v = rules.tls_valid(ENDPOINTS, tls(intercepted))
    assert (v.outcome, v.issue, v.confidence) == (
        Outcome.FAIL,
        "no_agent_reporting",
        Confidence.SUSPECTED,
    )
    assert v.summary == (
        f"the certificate 10.0.1.5 presents for {STANDARD} does not verify "
        "(self-signed certificate in certificate chain); it was issued by O=Corp, "
        "CN=Corp Inspection CA: TLS interception by a proxy or inspection "
        "appliance, or DNS pointing elsewhere."
    )
    broken = TlsResult("10.0.1.5", 443, STANDARD, "handshake_failed", detail="WRONG_VERSION_NUMBER")
    v = rules.tls_valid(ENDPOINTS, tls(broken))
    assert (v.outcome, v.confidence) == (Outcome.FAIL, Confidence.CONFIRMED)
    assert rules.tls_valid(ENDPOINTS, tls()).outcome is Outcome.INCONCLUSIVE


def proxy(process: Optional[Dict[str, str]], unit: Optional[Dict[str, str]] = None) -> ProxyView:
    def source(label: str, env: Optional[Dict[str, str]]) -> ProxySource:
        return ProxySource(
            label, env is not None, env or {}, "" if env is not None else f"{label} not observed"
        )

    return proxy_view(
        ProxySettings(
            source("/proc/4242/environ", process), source("the agent unit's Environment=", unit)
        )
    )


def test_proxy_exempt() -> None:
    assert rules.proxy_exempt(ENDPOINTS, proxy({})).summary == (
        "no HTTPS proxy in /proc/4242/environ."
    )
    v = rules.proxy_exempt(
        ENDPOINTS, proxy({"https_proxy": "http://10.0.0.9:3128", "no_proxy": "169.254.169.254"})
    )
    assert v.outcome is Outcome.WARN
    assert v.summary == (
        f"/proc/4242/environ sets https_proxy=http://10.0.0.9:3128, and no_proxy "
        f"does not exempt {STANDARD}: the agent's traffic goes through the proxy, "
        "which must reach the VPC endpoint itself."
    )
    assert v.evidence == (
        "/proc/4242/environ: https_proxy=http://10.0.0.9:3128",
        "/proc/4242/environ: no_proxy=169.254.169.254",
    )
    ok = rules.proxy_exempt(
        ENDPOINTS, proxy({"HTTPS_PROXY": "http://p:3128", "NO_PROXY": "localhost,.amazonaws.com"})
    )
    assert ok.outcome is Outcome.PASS and "'.amazonaws.com' exempts" in ok.summary
    unit_only = rules.proxy_exempt(ENDPOINTS, proxy(None, {"HTTPS_PROXY": "http://p:3128"}))
    assert unit_only.outcome is Outcome.WARN
    assert unit_only.summary.startswith("the agent unit's Environment= sets HTTPS_PROXY=")
    unknown = rules.proxy_exempt(ENDPOINTS, proxy(None, None))
    assert unknown.outcome is Outcome.INCONCLUSIVE
    assert unknown.summary == (
        "the agent's proxy settings were not observed: /proc/4242/environ "
        "not observed; the agent unit's Environment= not observed."
    )
