"""The network seam (LiveHost's DNS, TCP and TLS calls) against real servers on loopback."""

from __future__ import annotations

import socket
import time
from typing import Callable

import pytest

from amzn_gd_doctor.host import LiveHost, RootedHost, Unsupported
from amzn_gd_doctor.host.network import call_bounded

from .conftest import LINK_LOCAL, STANDARD, DnsServer, Pki, closed_port, free_udp_port


@pytest.fixture
def zone(dns_server: Callable[..., DnsServer]) -> DnsServer:
    return dns_server(
        {
            STANDARD: ("127.0.0.10", "127.0.0.11"),
            LINK_LOCAL: "nodata",
            "servfail.test": "servfail",
            "refused.test": "refused",
            "drop.test": "drop",
        }
    )


@pytest.mark.parametrize(
    "name, status, addresses",
    [
        (STANDARD, "answer", ("127.0.0.10", "127.0.0.11")),
        (LINK_LOCAL, "nodata", ()),
        ("unknown.test", "nxdomain", ()),
        ("servfail.test", "servfail", ()),
        ("refused.test", "refused", ()),
    ],
)
def test_dns_query_statuses(zone: DnsServer, name: str, status: str, addresses: tuple) -> None:
    answer = LiveHost(env={}).dns_query(zone.address, name, 2.0)
    assert (answer.server, answer.name, answer.status, answer.addresses) == (
        zone.address,
        name,
        status,
        addresses,
    )
    assert zone.queries[-1] == name.lower()


def test_dns_query_black_hole_times_out_on_time(zone: DnsServer) -> None:
    began = time.monotonic()
    answer = LiveHost(env={}).dns_query(zone.address, "drop.test", 0.4)
    elapsed = time.monotonic() - began
    assert answer.status == "timeout"
    assert answer.detail == "no reply within 0.4 s"
    assert 0.35 <= elapsed < 1.0


def test_dns_query_nothing_listening_is_unreachable() -> None:
    answer = LiveHost(env={}).dns_query(f"127.0.0.1:{free_udp_port()}", STANDARD, 2.0)
    assert (answer.status, answer.detail) == ("unreachable", "connection refused")
    assert answer.elapsed_ms < 1000


def test_dns_query_honours_the_run_deadline(zone: DnsServer) -> None:
    host = LiveHost(env={}, deadline=time.monotonic() + 0.3)
    began = time.monotonic()
    assert host.dns_query(zone.address, "drop.test", 5.0).status == "timeout"
    assert time.monotonic() - began < 0.8


def test_system_resolver_reads_hosts_file() -> None:
    """localhost comes from /etc/hosts (nsswitch "files"), so no DNS server is asked."""
    answer = LiveHost(env={}).system_resolve("localhost", 2.0)
    assert answer.server == "system resolver"
    assert answer.status == "answer"
    assert "127.0.0.1" in answer.addresses or "::1" in answer.addresses


def test_run_bounded_abandons_a_stuck_call() -> None:
    began = time.monotonic()
    finished, result, exc = call_bounded(lambda: time.sleep(5), 0.2)
    assert (finished, result, exc) == (False, None, None)
    assert time.monotonic() - began < 0.5
    assert call_bounded(lambda: 42, 1.0) == (True, 42, None)
    finished, _, exc = call_bounded(lambda: 1 / 0, 1.0)
    assert finished and isinstance(exc, ZeroDivisionError)


def test_tcp_connect(endpoints_on_loopback: Callable, pki: Pki) -> None:
    host = LiveHost(env={})
    good = endpoints_on_loopback("good", "127.0.0.10")
    assert host.tcp_connect("127.0.0.10", good.port, 2.0).status == "connected"
    refused = host.tcp_connect("127.0.0.12", closed_port("127.0.0.12"), 2.0)
    assert (refused.status, refused.detail) == ("refused", "connection refused")
    drop = endpoints_on_loopback("drop", "127.0.0.13")
    began = time.monotonic()
    silent = host.tcp_connect("127.0.0.13", drop.port, 0.5)
    assert silent.status == "timeout"
    assert silent.detail == "no answer to the connection request within 0.5 s"
    assert 0.45 <= time.monotonic() - began < 1.2


def _tls_host(pki: Pki) -> LiveHost:
    return LiveHost(env={"SSL_CERT_FILE": str(pki.ca_file), "SSL_CERT_DIR": str(pki.ca_dir)})


def test_tls_verified(endpoints_on_loopback: Callable, pki: Pki) -> None:
    server = endpoints_on_loopback("good", "127.0.0.10")
    result = _tls_host(pki).tls_handshake("127.0.0.10", server.port, STANDARD, 3.0)
    assert result.status == "verified", result
    assert result.issuer == "O=Test, CN=GD Doctor Test Root CA"
    assert result.subject == f"O=Test, CN={STANDARD}"
    assert result.version.startswith("TLSv1.")
    assert result.trust_store == f"{pki.ca_file} + {pki.ca_dir}"


def test_tls_untrusted_issuer_is_named(endpoints_on_loopback: Callable, pki: Pki) -> None:
    server = endpoints_on_loopback("untrusted", "127.0.0.10")
    result = _tls_host(pki).tls_handshake("127.0.0.10", server.port, STANDARD, 3.0)
    assert result.status == "verify_failed"
    assert result.verify_error == "unable to get local issuer certificate"
    assert result.issuer == "O=Test, CN=Corp Inspection CA"


def test_tls_wrong_name(endpoints_on_loopback: Callable, pki: Pki) -> None:
    server = endpoints_on_loopback("wrong_name", "127.0.0.10")
    result = _tls_host(pki).tls_handshake("127.0.0.10", server.port, STANDARD, 3.0)
    assert result.status == "verify_failed"
    assert result.verify_error == f"Hostname mismatch, certificate is not valid for '{STANDARD}'."
    assert result.subject == "O=Test, CN=wrong.example"
    assert result.names == ("wrong.example",)


def test_tls_untrusted_without_trust_store_env(endpoints_on_loopback: Callable, pki: Pki) -> None:
    """Without SSL_CERT_FILE the machine's own store is used, which does not hold the test CA."""
    server = endpoints_on_loopback("good", "127.0.0.10")
    result = LiveHost(env={}).tls_handshake("127.0.0.10", server.port, STANDARD, 3.0)
    assert result.status == "verify_failed"
    assert result.issuer == "O=Test, CN=GD Doctor Test Root CA"


def test_tls_silent_server_times_out(blackhole_port: int, pki: Pki) -> None:
    began = time.monotonic()
    result = _tls_host(pki).tls_handshake("127.0.0.1", blackhole_port, STANDARD, 0.5)
    assert result.status == "timeout"
    assert time.monotonic() - began < 1.2


def test_tls_plain_tcp_server_is_a_failed_handshake(pki: Pki) -> None:
    """A listener that answers with something other than TLS (here it closes at once)."""
    import threading

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(4)

    def serve() -> None:
        conn, _ = sock.accept()
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
        conn.close()

    threading.Thread(target=serve, daemon=True).start()
    try:
        result = _tls_host(pki).tls_handshake("127.0.0.1", sock.getsockname()[1], STANDARD, 2.0)
    finally:
        sock.close()
    assert result.status == "handshake_failed"
    assert result.detail


def test_network_calls_are_unsupported_under_root(tmp_path) -> None:  # type: ignore[no-untyped-def]
    host = RootedHost(root=str(tmp_path), env={})
    for call in (
        lambda: host.dns_query("127.0.0.1", STANDARD, 1.0),
        lambda: host.system_resolve(STANDARD, 1.0),
        lambda: host.tcp_connect("127.0.0.1", 1, 1.0),
        lambda: host.tls_handshake("127.0.0.1", 1, STANDARD, 1.0),
    ):
        with pytest.raises(Unsupported):
            call()
