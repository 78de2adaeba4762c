"""Network scenarios end to end: the real engine, LiveHost, a loopback IMDS (the shared
``imds_server``), a real DNS server, real TLS servers. Each scenario declares what it is about
(``declared``): its coverage status and diagnoses, and the checks it exercises with their
outcomes and the words their summaries hold; the checks it does not name are not compared."""

from __future__ import annotations

import json
import re
import time
from typing import Any, Callable, Dict, Optional

import pytest
from scenarios import assert_declared
from support import ImdsServer, shown_in

from amzn_gd_doctor.model import Outcome, Report
from amzn_gd_doctor.render import json as render_json
from amzn_gd_doctor.render import text as render_text

from .conftest import (
    LINK_LOCAL,
    STANDARD,
    DnsServer,
    Pki,
    closed_port,
    finding,
    run_network,
)

IN_VPC = ("127.0.0.0/8",)


def normalise(text: str, pki: Pki, port: int) -> str:
    """Ports, temporary paths and timings vary run to run; nothing else may."""
    text = text.replace(str(pki.ca_file.parent), "<pki>")
    text = re.sub(r"(127\.\d+\.\d+\.\d+):\d+", r"\1:PORT", text)
    text = re.sub(r"-p \d+ ", "-p PORT ", text)
    if port != 443:
        text = text.replace(f"TCP {port}", "TCP PORT")
    text = re.sub(r"in \d+ ms", "in N ms", text)
    text = re.sub(r"within \d+(\.\d+)? s", "within N s", text)
    text = re.sub(
        r'"(duration_ms|elapsed_ms|startup_ms|probes_ms|rules_ms|render_ms)": \d+', r'"\1": 0', text
    )
    text = re.sub(r"; \d+ ms\)", "; N ms)", text)
    text = re.sub(r", \d+ ms$", ", N ms", text, flags=re.M)
    return re.sub(r"after \d+\.\d\d s", "after N s", text)


def declared(report: Report, pki: Pki, port: int, expected: Dict[str, Any]) -> None:
    """The JSON report (ports, temporary paths and timings made stable) holds what EXPECTED
    declares (tests/scenarios.py: assert_declared), and the text report shows each declared
    check with the same summary."""
    data = json.loads(normalise(render_json.render(report), pki, port))
    assert_declared(data, expected)
    text = normalise(render_text.render(report, verbose=True), pki, port)
    checks = {c["id"]: c for c in data["checks"]}
    for rule in expected["outcomes"]:
        assert shown_in(f"{rule}: {checks[rule]['summary']}", text)


def outcomes(report: Report) -> Dict[str, str]:
    return {f.rule_id: f.outcome.value for f in report.findings}


@pytest.fixture
def imds(imds_server: ImdsServer) -> ImdsServer:
    imds_server.vpc_cidrs = IN_VPC  # loopback counts as inside the VPC
    return imds_server


NO_PROXY_AGENT: Dict[str, Any] = {"version": "1.9.2", "proxy_env": {}, "unit_env": {}}


def test_healthy_path(
    imds: ImdsServer,
    dns_server: Callable[..., DnsServer],
    endpoints_on_loopback: Callable,
    pki: Pki,
) -> None:
    tls = endpoints_on_loopback("good", "127.0.0.10")
    dns = dns_server({STANDARD: ("127.0.0.10",)})
    report = run_network(
        imds_url=imds.url, dns_servers=[dns.address], port=tls.port, pki=pki, agent=NO_PROXY_AGENT
    )
    # On the healthy path no check fails, warns or is left undecided.
    assert set(outcomes(report).values()) <= {"pass", "not_applicable"}, outcomes(report)
    assert set(dns.queries) == {STANDARD, LINK_LOCAL}
    declared(
        report,
        pki,
        tls.port,
        {
            "coverage_status": "HEALTHY",
            "diagnoses": [],
            "outcomes": {
                "imds.identity_document": "pass",
                "network.endpoint_name": "pass",
                "network.resolver_configured": "pass",
                "network.amazon_resolver": "not_applicable",
                "network.dns_private": "pass",
                "network.proxy_exempt": "pass",
                "network.tcp_reachable": "pass",
                "network.tls_valid": "pass",
            },
            "summaries": {
                "imds.identity_document": ["read with IMDSv2"],
                "network.endpoint_name": [STANDARD, "region us-east-1", "FIPS mode is off"],
                "network.resolver_configured": ["1 resolver(s) given with --dns-server"],
                "network.amazon_resolver": ["--dns-server replaces every resolver"],
                "network.dns_private": ["resolves to 127.0.0.10", "inside the VPC (127.0.0.0/8)"],
                "network.proxy_exempt": ["no HTTPS proxy"],
                "network.tcp_reachable": ["1 of 1 address(es)", "accept TCP PORT"],
                "network.tls_valid": ["TLSv1.3", "verified", "CN=GD Doctor Test Root CA"],
            },
        },
    )


@pytest.mark.parametrize(
    "name, behaviour, summary",
    [
        (
            "public_answer",
            ("52.94.4.10",),
            f"the endpoint name {STANDARD} resolves to public 52.94.4.10 from 127.0.0.1:PORT, "
            "so the agent cannot reach GuardDuty through the VPC endpoint.",
        ),
        (
            "nxdomain",
            "nxdomain",
            f"the endpoint name {STANDARD} does not exist (NXDOMAIN from 127.0.0.1:PORT), so "
            "the agent cannot reach GuardDuty through the VPC endpoint.",
        ),
        (
            "servfail",
            "servfail",
            f"the endpoint name {STANDARD} gets SERVFAIL from every resolver that answered, "
            "so the agent cannot reach GuardDuty through the VPC endpoint.",
        ),
        (
            "nodata",
            "nodata",
            f"the endpoint name {STANDARD} has no address (NOERROR without an answer from "
            "127.0.0.1:PORT), so the agent cannot reach GuardDuty through the VPC endpoint.",
        ),
    ],
)
def test_name_not_private_fails_once(
    imds: ImdsServer,
    dns_server: Callable[..., DnsServer],
    pki: Pki,
    name: str,
    behaviour: Any,
    summary: str,
) -> None:
    dns = dns_server({STANDARD: behaviour})
    port = closed_port("127.0.0.10")
    report = run_network(
        imds_url=imds.url, dns_servers=[dns.address], port=port, pki=pki, agent=NO_PROXY_AGENT
    )
    dns_rule = finding(report, "network.dns_private")
    assert (dns_rule.outcome, dns_rule.issue) == (Outcome.FAIL, "no_agent_reporting")
    assert re.sub(r":\d+", ":PORT", dns_rule.summary) == summary
    for later in ("network.tcp_reachable", "network.tls_valid"):
        f = finding(report, later)
        assert (f.outcome, f.blocked_by) == (Outcome.INCONCLUSIVE, "network.dns_private")
    assert report.primary is not None and report.primary.issue.code == "no_agent_reporting"
    assert [d.issue.code for d in report.diagnoses] == ["no_agent_reporting"]
    assert report.incomplete == ()
    declared(
        report,
        pki,
        port,
        {
            "coverage_status": "UNHEALTHY",
            "diagnoses": [{"code": "no_agent_reporting", "confidence": "confirmed"}],
            "outcomes": {
                "network.dns_private": "fail",
                "network.tcp_reachable": "inconclusive",
                "network.tls_valid": "inconclusive",
            },
            "summaries": {
                "network.tcp_reachable": [
                    '"Endpoint name resolves to private addresses in the VPC", which failed'
                ],
                "network.tls_valid": [
                    '"Endpoint name resolves to private addresses in the VPC", which failed'
                ],
            },
        },
    )


def test_public_answer_is_never_contacted(
    imds: ImdsServer, dns_server: Callable[..., DnsServer], pki: Pki
) -> None:
    dns = dns_server({STANDARD: ("52.94.4.10",)})
    report = run_network(imds_url=imds.url, dns_servers=[dns.address], pki=pki)
    tcp = next(f for f in report.facts if f.probe_id == "net.tcp").value
    assert tcp.results == ()
    assert tcp.skipped == (
        (
            STANDARD,
            "52.94.4.10",
            "not contacted: a public address (the agent needs the VPC endpoint's private one)",
        ),
    )


def test_private_outside_vpc_warns(
    imds_server: ImdsServer,
    dns_server: Callable[..., DnsServer],
    endpoints_on_loopback: Callable,
    pki: Pki,
) -> None:
    imds_server.vpc_cidrs = ("127.0.0.0/24",)
    tls = endpoints_on_loopback("good", "127.0.5.10")
    dns = dns_server({STANDARD: ("127.0.5.10",)})
    report = run_network(
        imds_url=imds_server.url,
        dns_servers=[dns.address],
        port=tls.port,
        pki=pki,
        agent=NO_PROXY_AGENT,
    )
    declared(
        report,
        pki,
        tls.port,
        {
            "coverage_status": "HEALTHY",
            "diagnoses": [],
            "outcomes": {
                "network.dns_private": "warn",
                "network.tcp_reachable": "pass",
                "network.tls_valid": "pass",
            },
            "summaries": {
                "network.dns_private": [
                    "resolves to 127.0.5.10",
                    "private but outside the VPC CIDRs (127.0.0.0/24)",
                ],
            },
        },
    )


def test_security_group_drops_connections(
    imds: ImdsServer,
    dns_server: Callable[..., DnsServer],
    endpoints_on_loopback: Callable,
    pki: Pki,
) -> None:
    drop = endpoints_on_loopback("drop", "127.0.0.13")
    dns = dns_server({STANDARD: ("127.0.0.13",)})
    report = run_network(
        imds_url=imds.url, dns_servers=[dns.address], port=drop.port, pki=pki, agent=NO_PROXY_AGENT
    )
    tcp = finding(report, "network.tcp_reachable")
    assert (tcp.outcome, tcp.issue) == (Outcome.FAIL, "no_agent_reporting")
    assert tcp.summary == (
        f"none of 1 address(es) of {STANDARD} accept TCP {drop.port}: no "
        "answer to connection requests: the endpoint's security group must "
        f"allow inbound TCP {drop.port} from 127.0.0.0/8."
    )
    assert finding(report, "network.tls_valid").blocked_by == "network.tcp_reachable"
    declared(
        report,
        pki,
        drop.port,
        {
            "coverage_status": "UNHEALTHY",
            "diagnoses": [{"code": "no_agent_reporting", "confidence": "confirmed"}],
            "outcomes": {
                "network.dns_private": "pass",
                "network.tcp_reachable": "fail",
                "network.tls_valid": "inconclusive",
            },
            "summaries": {
                "network.dns_private": ["resolves to 127.0.0.13", "inside the VPC"],
                "network.tls_valid": ['"Endpoint accepts TCP connections", which failed'],
            },
        },
    )


@pytest.mark.parametrize(
    "kind, error, issuer",
    [
        ("untrusted", "unable to get local issuer certificate", "O=Test, CN=Corp Inspection CA"),
        (
            "wrong_name",
            f"Hostname mismatch, certificate is not valid for '{STANDARD}'.",
            "O=Test, CN=GD Doctor Test Root CA",
        ),
    ],
)
def test_tls_interception(
    imds: ImdsServer,
    dns_server: Callable[..., DnsServer],
    endpoints_on_loopback: Callable,
    pki: Pki,
    kind: str,
    error: str,
    issuer: str,
) -> None:
    tls = endpoints_on_loopback(kind, "127.0.0.10")
    dns = dns_server({STANDARD: ("127.0.0.10",)})
    report = run_network(
        imds_url=imds.url, dns_servers=[dns.address], port=tls.port, pki=pki, agent=NO_PROXY_AGENT
    )
    f = finding(report, "network.tls_valid")
    assert (f.outcome, f.issue, f.confidence.value) == (
        Outcome.FAIL,
        "no_agent_reporting",
        "suspected",
    )
    assert f"({error}); it was issued by {issuer}:" in f.summary
    declared(
        report,
        pki,
        tls.port,
        {
            "coverage_status": "UNHEALTHY",
            "diagnoses": [{"code": "no_agent_reporting", "confidence": "suspected"}],
            "outcomes": {"network.tcp_reachable": "pass", "network.tls_valid": "fail"},
            "summaries": {
                "network.tcp_reachable": ["1 of 1 address(es)"],
                "network.tls_valid": [
                    f"presents for {STANDARD} does not verify",
                    "TLS interception",
                ],
            },
        },
    )


def test_proxy_not_exempting_the_endpoint(
    imds: ImdsServer,
    dns_server: Callable[..., DnsServer],
    endpoints_on_loopback: Callable,
    pki: Pki,
) -> None:
    tls = endpoints_on_loopback("good", "127.0.0.10")
    dns = dns_server({STANDARD: ("127.0.0.10",)})
    agent = {
        "version": "1.9.2",
        "unit_env": {"HTTPS_PROXY": "http://u:pw@10.0.0.9:3128"},
        "proxy_env": {
            "https_proxy": "http://u:pw@10.0.0.9:3128",
            "no_proxy": "localhost,169.254.169.254",
        },
    }
    report = run_network(
        imds_url=imds.url, dns_servers=[dns.address], port=tls.port, pki=pki, agent=agent
    )
    f = finding(report, "network.proxy_exempt")
    assert f.outcome is Outcome.WARN
    assert f.summary.startswith(
        "/proc/4242/environ sets https_proxy=http://***@10.0.0.9:3128, and no_proxy does not exempt"
    )
    assert "pw" not in render_json.render(report)
    assert "pw" not in render_text.render(report, verbose=True)
    declared(
        report,
        pki,
        tls.port,
        {
            "coverage_status": "HEALTHY",
            "diagnoses": [],
            "outcomes": {"network.proxy_exempt": "warn", "network.tls_valid": "pass"},
            "summaries": {
                "network.proxy_exempt": [
                    "https_proxy=http://***@10.0.0.9:3128",
                    f"no_proxy does not exempt {STANDARD}",
                    "the proxy, which must reach the VPC endpoint itself",
                ],
            },
        },
    )


def test_proxy_unknown_without_agent_facts(
    imds: ImdsServer, dns_server: Callable[..., DnsServer], pki: Pki
) -> None:
    dns = dns_server({STANDARD: "nxdomain"})
    report = run_network(imds_url=imds.url, dns_servers=[dns.address], pki=pki)
    f = finding(report, "network.proxy_exempt")
    assert f.outcome is Outcome.INCONCLUSIVE
    assert f.summary.startswith("the agent's proxy settings were not observed: agent.process ")


def test_link_local_path_for_new_agents(
    imds: ImdsServer,
    dns_server: Callable[..., DnsServer],
    endpoints_on_loopback: Callable,
    pki: Pki,
) -> None:
    tls = endpoints_on_loopback("good", "127.0.0.20")
    dns = dns_server({STANDARD: ("52.94.4.10",), LINK_LOCAL: ("127.0.0.20",)})
    agent = {"version": "1.17.1", "proxy_env": {}, "unit_env": {}}
    report = run_network(
        imds_url=imds.url, dns_servers=[dns.address], port=tls.port, pki=pki, agent=agent
    )
    assert finding(report, "network.tls_valid").summary.startswith(
        f"1 TLSv1.3 handshake(s) with {LINK_LOCAL} verified"
    )
    declared(
        report,
        pki,
        tls.port,
        {
            "coverage_status": "HEALTHY",
            "diagnoses": [],
            "outcomes": {
                "network.dns_private": "warn",
                "network.tcp_reachable": "pass",
                "network.tls_valid": "pass",
            },
            "summaries": {
                "network.dns_private": [
                    "resolves to public 52.94.4.10",
                    "the link-local path answers",
                    "installed version: 1.17.1",
                ],
                "network.tcp_reachable": [f"of {LINK_LOCAL} accept TCP PORT"],
            },
        },
    )
    old = run_network(
        imds_url=imds.url,
        dns_servers=[dns.address],
        port=tls.port,
        pki=pki,
        agent={"version": "1.16.0", "proxy_env": {}, "unit_env": {}},
    )
    assert finding(old, "network.dns_private").issue == "no_agent_reporting"


def test_no_region_is_named_once(dns_server: Callable[..., DnsServer], pki: Pki) -> None:
    dns = dns_server({STANDARD: ("127.0.0.10",)})
    report = run_network(imds_url=None, dns_servers=[dns.address], pki=pki, agent=NO_PROXY_AGENT)
    assert dns.queries == []
    blocked = {
        f.rule_id: f.blocked_by
        for f in report.findings
        if f.rule_id.startswith("network.") and f.rule_id not in ("network.resolver_configured",)
    }
    assert set(blocked.values()) == {"imds.identity"}, blocked
    assert [i.id for i in report.incomplete] == ["imds.identity"]
    declared(
        report,
        pki,
        443,
        {
            "coverage_status": "UNKNOWN",
            "diagnoses": [],
            "outcomes": {
                "network.endpoint_name": "inconclusive",
                "network.resolver_configured": "pass",
                "network.dns_private": "inconclusive",
            },
            "summaries": {
                "network.endpoint_name": ["not checked: the instance identity document"],
                "network.dns_private": ["not checked: the instance identity document"],
            },
        },
    )


def test_region_option_checks_the_path_without_imds(
    dns_server: Callable[..., DnsServer], endpoints_on_loopback: Callable, pki: Pki
) -> None:
    tls = endpoints_on_loopback("good", "127.0.0.10")
    dns = dns_server({"guardduty-data.eu-west-3.amazonaws.com": ("127.0.0.10",)})
    report = run_network(
        imds_url=None, dns_servers=[dns.address], port=tls.port, pki=pki, region="eu-west-3"
    )
    assert "guardduty-data.eu-west-3.amazonaws.com" in dns.queries
    dns_rule = finding(report, "network.dns_private")
    assert dns_rule.outcome is Outcome.WARN  # no VPC CIDRs without IMDS
    assert finding(report, "network.tls_valid").outcome is Outcome.FAIL  # cert is for us-east-1


def test_every_resolver_black_holed_ends_within_the_deadline(
    imds: ImdsServer, dns_server: Callable[..., DnsServer], pki: Pki
) -> None:
    servers = [dns_server({}, default="drop") for _ in range(3)]
    deadline = 1.5
    began = time.monotonic()
    report = run_network(
        imds_url=imds.url,
        dns_servers=[s.address for s in servers],
        deadline=deadline,
        pki=pki,
        agent=NO_PROXY_AGENT,
    )
    elapsed = time.monotonic() - began
    assert elapsed < deadline + 0.5, elapsed
    assert all(len(s.queries) == 2 for s in servers)
    f = finding(report, "network.dns_private")
    assert (f.outcome, f.issue) == (Outcome.FAIL, "no_agent_reporting")
    assert f.summary == (
        f"the endpoint name {STANDARD} gets no reply from any resolver, so the agent cannot "
        "reach GuardDuty through the VPC endpoint."
    )
    declared(
        report,
        pki,
        443,
        {
            "coverage_status": "UNHEALTHY",
            "diagnoses": [{"code": "no_agent_reporting", "confidence": "confirmed"}],
            "outcomes": {
                "network.resolver_configured": "pass",
                "network.dns_private": "fail",
                "network.tcp_reachable": "inconclusive",
            },
            "summaries": {
                "network.resolver_configured": ["3 resolver(s) given with --dns-server"],
                "network.tcp_reachable": [
                    '"Endpoint name resolves to private addresses in the VPC", which failed'
                ],
            },
        },
    )


def test_unreachable_resolver(imds: ImdsServer, pki: Pki) -> None:
    from .conftest import free_udp_port

    report = run_network(imds_url=imds.url, dns_servers=[f"127.0.0.1:{free_udp_port()}"], pki=pki)
    assert finding(report, "network.dns_private").summary.startswith(
        f"the endpoint name {STANDARD} cannot be resolved: no resolver could be reached"
    )


def test_bad_dns_server_option_is_one_finding(imds: ImdsServer, pki: Pki) -> None:
    report = run_network(imds_url=imds.url, dns_servers=["dns.example"], pki=pki)
    f = finding(report, "network.resolver_configured")
    assert f.outcome is Outcome.INCONCLUSIVE
    assert "--dns-server 'dns.example' is not HOST[:PORT]" in f.summary
    assert finding(report, "network.dns_private").blocked_by == "network.resolver_configured"


def _json(report: Report) -> Optional[Dict[str, Any]]:
    return dict(json.loads(render_json.render(report)))


def test_foreign_root_reads_files_but_contacts_nothing(
    dns_server: Callable[..., DnsServer], pki: Pki
) -> None:
    """Under --root the names and resolvers come from the tree; DNS, TCP and TLS are not tried."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "fixtures/network/roots/fips-on"
    dns = dns_server({STANDARD: ("127.0.0.10",)})
    report = run_network(
        imds_url=None, dns_servers=[dns.address], pki=pki, region="us-east-1", root=str(root)
    )
    assert dns.queries == []
    endpoints = next(f for f in report.facts if f.probe_id == "net.endpoints").value
    assert [e.kind for e in endpoints.endpoints] == ["standard", "link_local", "fips"]
    assert finding(report, "network.endpoint_name").summary == (
        f"the agent sends to {STANDARD} (region us-east-1 from --region); kernel FIPS mode is on."
    )
    dns_rule = finding(report, "network.dns_private")
    assert (dns_rule.outcome, dns_rule.summary) == (
        Outcome.INCONCLUSIVE,
        "inconclusive, because the DNS answers for the endpoint names cannot be observed here "
        "(the network path is only tested live, not against a foreign root)",
    )
    assert finding(report, "network.tls_valid").blocked_by == "network.dns_private"


def test_resolvers_from_a_resolved_host() -> None:
    """systemd-resolved's stub plus its upstreams, then the Amazon resolver, from files only."""
    from pathlib import Path

    from amzn_gd_doctor import doctor, registry
    from amzn_gd_doctor.host import RootedHost

    root = str(Path(__file__).resolve().parents[2] / "fixtures/network/roots/ubuntu-resolved")
    probes, _ = registry.load()
    report = doctor.run(
        RootedHost(root=root, env={}),
        doctor.Options(root=root),
        {"net.resolvers": probes["net.resolvers"]},
        {},
    )
    value = report.facts[0].value
    assert [(r.server, r.source) for r in value.resolvers] == [
        ("127.0.0.53", "/etc/resolv.conf"),
        ("172.31.0.2", "systemd-resolved upstream (/run/systemd/resolve/resolv.conf)"),
        ("fe80::1%eth0", "systemd-resolved upstream (/run/systemd/resolve/resolv.conf)"),
        ("169.254.169.253", "Amazon resolver"),
    ]
