"""The network checks against real third-party components and through the real command line:
Debian's dnsmasq as the resolver, and `python -m amzn_gd_doctor check` end to end."""

from __future__ import annotations

import os
import subprocess
import time
from typing import Callable, Dict, Iterator

import pytest
from support import ImdsServer, doctor_env, run_cli

from amzn_gd_doctor.host import LiveHost
from amzn_gd_doctor.model import Outcome

from .conftest import LINK_LOCAL, STANDARD, DnsServer, Pki, finding, free_udp_port, run_network

DNSMASQ = "/usr/sbin/dnsmasq"


@pytest.fixture
def dnsmasq() -> Iterator[str]:
    """dnsmasq on 127.0.0.1, hermetic: no config file, no upstreams, no hosts file, one name."""
    if not os.path.exists(DNSMASQ):
        pytest.skip(f"dnsmasq is not installed ({DNSMASQ}, Debian package dnsmasq-base)")
    port = free_udp_port()
    proc = subprocess.Popen(
        [
            DNSMASQ,
            "--conf-file=/dev/null",
            "--no-resolv",
            "--no-hosts",
            "--listen-address=127.0.0.1",
            "--bind-interfaces",
            f"--port={port}",
            f"--address=/{STANDARD}/127.0.0.10",
            "--keep-in-foreground",
            "--pid-file",
            "--log-facility=-",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    server = f"127.0.0.1:{port}"
    host = LiveHost(env={})
    for _ in range(100):  # wait until it answers, at most 5 s
        if host.dns_query(server, STANDARD, 0.05).status == "answer":
            break
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else b""
        time.sleep(0.05)
    try:
        yield server
    finally:
        proc.terminate()
        proc.wait(timeout=5)


def test_dnsmasq_answer_is_judged_inside_the_vpc(
    imds_server: ImdsServer, dnsmasq: str, endpoints_on_loopback: Callable, pki: Pki
) -> None:
    imds_server.vpc_cidrs = ("127.0.0.0/8",)
    tls = endpoints_on_loopback("good", "127.0.0.10")
    report = run_network(imds_url=imds_server.url, dns_servers=[dnsmasq], port=tls.port, pki=pki)
    dns = finding(report, "network.dns_private")
    assert (dns.outcome, dns.summary) == (
        Outcome.PASS,
        f"{STANDARD} resolves to 127.0.0.10 from {dnsmasq}, inside the VPC (127.0.0.0/8).",
    )
    answers = {
        a.name: a.status
        for a in next(f for f in report.facts if f.probe_id == "net.dns").value.answers
    }
    # dnsmasq without upstreams refuses names it has no local answer for.
    assert answers == {STANDARD: "answer", LINK_LOCAL: "refused"}
    assert finding(report, "network.tls_valid").outcome is Outcome.PASS


def _network_checks(data: Dict[str, object]) -> Dict[str, str]:
    return {
        c["id"]: c["outcome"]
        for c in data["checks"]  # type: ignore[attr-defined]
        if c["id"].startswith("network.")
    }


@pytest.mark.corpus
def test_cli_reports_the_network_path(
    imds_server: ImdsServer,
    dns_server: Callable[..., DnsServer],
    endpoints_on_loopback: Callable,
    pki: Pki,
) -> None:
    imds_server.vpc_cidrs = ("127.0.0.0/8",)
    tls = endpoints_on_loopback("untrusted", "127.0.0.10")
    dns = dns_server({STANDARD: ("127.0.0.10",)})
    env = doctor_env(SSL_CERT_FILE=str(pki.ca_file), SSL_CERT_DIR=str(pki.ca_dir))
    result = run_cli(
        "check",
        "--format",
        "json",
        "--imds-endpoint",
        imds_server.url,
        "--dns-server",
        dns.address,
        "--endpoint-port",
        str(tls.port),
        env=env,
    )
    data = result.json()
    checks = _network_checks(data)
    assert checks["network.dns_private"] == "pass"
    assert checks["network.tcp_reachable"] == "pass"
    assert checks["network.tls_valid"] == "fail"
    assert checks["network.amazon_resolver"] == "not_applicable"
    assert result.returncode == 1
    tls_check = next(c for c in data["checks"] if c["id"] == "network.tls_valid")  # type: ignore[attr-defined]
    assert "issued by O=Test, CN=Corp Inspection CA" in tls_check["summary"]


@pytest.mark.corpus
def test_cli_region_option_without_imds(dns_server: Callable[..., DnsServer]) -> None:
    dns = dns_server({}, default="nxdomain")
    result = run_cli(
        "check", "--format", "json", "--region", "eu-west-3", "--dns-server", dns.address
    )
    assert "guardduty-data.eu-west-3.amazonaws.com" in dns.queries
    checks = _network_checks(result.json())
    assert checks["network.dns_private"] == "fail"
    assert checks["network.tcp_reachable"] == "inconclusive"
