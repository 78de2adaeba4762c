"""The host's HTTP call (IMDS) over real sockets: plain HTTP through the standard library, one
connection per request, and an https:// endpoint through requests with its certificate checked."""

from __future__ import annotations

import socket
import threading
from typing import Callable, Iterator, Optional

import pytest
from support import ImdsServer

from amzn_gd_doctor.host import LiveHost
from amzn_gd_doctor.host.http import HttpFailure

from .conftest import Pki

IDENTITY = "latest/dynamic/instance-identity/document"


def test_every_request_has_its_own_connection(imds_server: ImdsServer) -> None:
    """A kept-alive connection made each request wait on the client's delayed ACK (about
    40 ms) when the server writes headers and body apart, as this one does."""
    host = LiveHost(env={})
    token = host.http(
        "PUT",
        imds_server.url + "latest/api/token",
        {"X-aws-ec2-metadata-token-ttl-seconds": "60"},
        2.0,
        1024,
    )
    assert token.status == 200 and token.body
    for _ in range(4):
        resp = host.http(
            "GET",
            imds_server.url + IDENTITY,
            {"X-aws-ec2-metadata-token": token.body.decode()},
            2.0,
            65536,
        )
        assert resp.status == 200 and b'"accountId"' in resp.body
        assert resp.headers["content-type"] == "text/plain"
    assert len(imds_server.peers) == 5
    assert len(set(imds_server.peers)) == 5


def test_a_body_past_the_limit_is_cut_and_marked(imds_server: ImdsServer) -> None:
    imds_server.overrides["/" + IDENTITY] = (200, b"x" * 100_000)
    resp = LiveHost(env={}).http("GET", imds_server.url + IDENTITY, {}, 2.0, 1000)
    assert (len(resp.body), resp.truncated) == (1000, True)


@pytest.mark.parametrize(
    "url",
    ["http://" + "a" * 300 + "/", "http://127.0.0.1:99999/", "http:///nohost"],
)
def test_an_unusable_url_is_invalid_url(url: str) -> None:
    with pytest.raises(HttpFailure) as caught:
        LiveHost(env={}).http("GET", url + IDENTITY, {}, 1.0, 1024)
    assert caught.value.kind == "invalid_url"


@pytest.fixture
def one_shot_server() -> Iterator[Callable[[bytes], int]]:
    """A TCP server that answers each connection with fixed bytes and closes it."""
    socks = []

    def start(reply: bytes, seen: Optional[list] = None) -> int:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(4)
        socks.append(sock)

        def serve() -> None:
            while True:
                try:
                    conn, _ = sock.accept()
                except OSError:
                    return
                with conn:
                    request = conn.recv(4096)
                    if seen is not None:
                        seen.append(request)
                    conn.sendall(reply)

        threading.Thread(target=serve, daemon=True).start()
        return int(sock.getsockname()[1])

    yield start
    for sock in socks:
        sock.close()


@pytest.mark.parametrize(
    "reply, body",
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello, and more", b"hello"),
        (b"HTTP/1.0 200 OK\r\n\r\nup to the close", b"up to the close"),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n",
            b"hello, world",
        ),
        (b"HTTP/1.1 204 No Content\r\nX-Odd: 1\r\n\r\n", b""),
    ],
)
def test_bodies_are_read_as_framed(one_shot_server, reply: bytes, body: bytes) -> None:  # type: ignore[no-untyped-def]
    port = one_shot_server(reply)
    resp = LiveHost(env={}).http("GET", f"http://127.0.0.1:{port}/{IDENTITY}", {}, 2.0, 65536)
    assert (resp.body, resp.truncated) == (body, False)


def test_the_request_is_one_plain_http11_message(one_shot_server) -> None:  # type: ignore[no-untyped-def]
    seen = []
    port = one_shot_server(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", seen)
    LiveHost(env={}).http(
        "PUT",
        f"http://127.0.0.1:{port}/latest/api/token?x=1",
        {"X-aws-ec2-metadata-token-ttl-seconds": "60"},
        2.0,
        1024,
    )
    assert seen[0] == (
        b"PUT /latest/api/token?x=1 HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n"
        b"Accept-Encoding: identity\r\nContent-Length: 0\r\n"
        b"X-aws-ec2-metadata-token-ttl-seconds: 60\r\n\r\n" % port
    )


@pytest.mark.parametrize(
    "headers",
    [
        {"X-aws-ec2-metadata-token": "abc\r\nX-Injected: 1"},
        {"X-aws-ec2-metadata-token": "tökén€"},
        {"Bad Name": "1"},
    ],
)
def test_a_header_that_cannot_be_sent_is_refused(headers: dict) -> None:
    with pytest.raises(HttpFailure) as caught:
        LiveHost(env={}).http("GET", f"http://127.0.0.1:9/{IDENTITY}", headers, 1.0, 1024)
    assert caught.value.kind == "invalid_request"


@pytest.mark.parametrize(
    "reply, kind, detail",
    [
        (b"", "disconnected", "the server closed the connection without a response"),
        (b"SSH-2.0-OpenSSH_9.2\r\n\r\n", "connection", "not an HTTP response"),
        (b"HTTP/1.1 200 OK\r\n" + b"X-Pad: " + b"a" * 70000, "connection", "headers longer than"),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: \xc2\xb2\r\n\r\nx",
            "connection",
            "a malformed Content-Length",
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            "connection",
            "a malformed chunk size",
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Le",
            "disconnected",
            "the server closed the connection mid-headers",
        ),
        (
            b'HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n{"accountId"',
            "disconnected",
            "the server closed the connection mid-body",
        ),
    ],
)
def test_a_broken_server_is_named(one_shot_server, reply: bytes, kind: str, detail: str) -> None:  # type: ignore[no-untyped-def]
    port = one_shot_server(reply)
    with pytest.raises(HttpFailure) as caught:
        LiveHost(env={}).http("GET", f"http://127.0.0.1:{port}/{IDENTITY}", {}, 2.0, 65536)
    assert caught.value.kind == kind
    assert caught.value.detail.startswith(detail)


def test_an_https_endpoint_has_its_certificate_checked(endpoints_on_loopback, pki: Pki) -> None:  # type: ignore[no-untyped-def]
    """https:// goes through requests, which trusts the SDKs' store, not a test CA."""
    listener = endpoints_on_loopback("untrusted", "127.0.0.1")
    with pytest.raises(HttpFailure) as caught:
        LiveHost(env={}).http(
            "PUT", f"https://127.0.0.1:{listener.port}/latest/api/token", {}, 2.0, 1024
        )
    assert caught.value.kind == "connection"
    assert caught.value.detail.startswith("TLS failed")
    assert "CERTIFICATE_VERIFY_FAILED" in caught.value.detail
