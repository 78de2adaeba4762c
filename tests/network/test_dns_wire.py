"""The standard-library DNS reader against dnspython, which writes every reply here: what one
builds the other must read, and bytes that are not a reply to the question are refused with a
reason. Then the host's query over real sockets: a stray reply is ignored, and a truncated UDP
reply is asked again over TCP against a loopback server that answers on both."""

from __future__ import annotations

import select
import socket
import struct
import threading
from typing import Iterator, List

import dns.flags
import dns.message
import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import pytest

from amzn_gd_doctor.host import LiveHost, dnswire

NAME = "guardduty-data.us-east-1.amazonaws.com"


def reply_to(query: bytes, *addresses: str, cname: str = "", rcode: int = 0) -> bytes:
    """dnspython's reply to our question: A records (after a CNAME when given), compressed."""
    message = dns.message.from_wire(query)
    reply = dns.message.make_response(message)
    reply.set_rcode(rcode)
    owner = message.question[0].name
    if cname:
        target = dns.name.from_text(cname)
        reply.answer.append(
            dns.rrset.from_text(owner, 60, dns.rdataclass.IN, dns.rdatatype.CNAME, cname + ".")
        )
        owner = target
    if addresses:
        reply.answer.append(
            dns.rrset.from_text(owner, 60, dns.rdataclass.IN, dns.rdatatype.A, *addresses)
        )
    return bytes(reply.to_wire())


def test_dnspython_reads_the_question_we_build() -> None:
    message = dns.message.from_wire(dnswire.build_query(NAME, 0x1234))
    assert message.id == 0x1234
    assert message.flags & dns.flags.RD and not message.flags & dns.flags.QR
    question = message.question[0]
    assert question.name.to_text(omit_final_dot=True) == NAME
    assert (question.rdtype, question.rdclass) == (dns.rdatatype.A, dns.rdataclass.IN)


def test_reads_dnspython_replies_with_compression_and_cname() -> None:
    query = dnswire.build_query(NAME, 7)
    rcode, found, truncated = dnswire.parse_reply(reply_to(query, "10.0.1.5", "10.0.2.5"), 7, NAME)
    assert (rcode, sorted(found), truncated) == ("NOERROR", ["10.0.1.5", "10.0.2.5"], False)
    chained = reply_to(
        query, "10.0.3.7", cname="vpce-0abc.guardduty-data.us-east-1.vpce.amazonaws.com"
    )
    assert dnswire.parse_reply(chained, 7, NAME) == ("NOERROR", ("10.0.3.7",), False)
    assert dnswire.parse_reply(reply_to(query, rcode=3), 7, NAME) == ("NXDOMAIN", (), False)
    assert dnswire.parse_reply(reply_to(query, rcode=4), 7, NAME)[0] == "NOTIMP"
    # Names compare without case, as resolvers may echo them in another case (0x20 encoding).
    assert dnswire.parse_reply(reply_to(query, "10.0.0.9"), 7, NAME.upper())[1] == ("10.0.0.9",)


def _pointer_loop(query: bytes) -> bytes:
    header = struct.pack("!HHHHHH", 7, 0x8180, 1, 1, 0, 0)
    question = query[12:]
    # The answer's owner name points at itself.
    at = len(header) + len(question)
    return header + question + struct.pack("!H", 0xC000 | at) + b"\x00\x01\x00\x01"


@pytest.mark.parametrize(
    "mangle, reason",
    [
        (lambda r, q: r[:5], "5 bytes is shorter than a DNS header"),
        (lambda r, q: b"\x00\x08" + r[2:], "the reply's id does not match the question's"),
        (lambda r, q: r[:2] + bytes([r[2] & 0x7F]) + r[3:], "the message is a query, not a reply"),
        (lambda r, q: r[:-3], "a record's data runs past the end of the message"),
        (lambda r, q: r[:-12], "a record runs past the end of the message"),
        (lambda r, q: r[:20], "a name runs past the end of the message"),
        (
            lambda r, q: r[:12] + (b"\x3f" + b"a" * 63) * 4 + q[12:],
            "a name is longer than 255 octets",
        ),
        (lambda r, q: _pointer_loop(q), "compression pointers loop"),
        (
            lambda r, q: r.replace(b"\x0eguardduty-data", b"\x0eguardduty-datb", 1),
            "the reply answers another question",
        ),
        (lambda r, q: r[:-6] + b"\x00\x05" + r[-4:] + b"\x00", "an A record holds 5 bytes, not 4"),
    ],
)
def test_refuses_what_is_not_a_reply_to_the_question(mangle, reason: str) -> None:  # type: ignore[no-untyped-def]
    query = dnswire.build_query(NAME, 7)
    with pytest.raises(dnswire.MalformedReply) as caught:
        dnswire.parse_reply(mangle(reply_to(query, "10.0.1.5"), query), 7, NAME)
    assert str(caught.value) == reason


def test_names_that_cannot_be_asked() -> None:
    for bad in ("a..b", "x" * 64 + ".com", ".".join(["abcdefgh"] * 40), "ünïcode.example"):
        with pytest.raises(ValueError):
            dnswire.build_query(bad, 1)


class TwoWayServer:
    """UDP and TCP DNS on one loopback port. UDP first sends a stray reply with another id,
    then the real one; with ``truncate`` the UDP reply is empty with TC set and the answer
    comes only over TCP, as from a resolver whose UDP limit the answer exceeds."""

    def __init__(self, addresses: List[str], truncate: bool) -> None:
        self.addresses, self.truncate = addresses, truncate
        self.tcp_queries = 0
        self.tcp = socket.socket()
        self.tcp.bind(("127.0.0.1", 0))
        self.tcp.listen(4)
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", self.tcp.getsockname()[1]))
        self.running = True

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.tcp.getsockname()[1]}"

    def serve(self) -> None:
        while self.running:
            try:
                ready, _, _ = select.select([self.udp, self.tcp], [], [], 0.05)
                for sock in ready:
                    self.answer(sock)
            except (OSError, ValueError):  # closed by the fixture's teardown
                return

    def answer(self, sock: socket.socket) -> None:
        if sock is self.udp:
            query, peer = self.udp.recvfrom(4096)
            stray = bytes([query[0] ^ 0xFF, query[1]]) + reply_to(query, "192.0.2.66")[2:]
            self.udp.sendto(stray, peer)
            if self.truncate:
                message = dns.message.make_response(dns.message.from_wire(query))
                message.flags |= dns.flags.TC
                self.udp.sendto(message.to_wire(), peer)
            else:
                self.udp.sendto(reply_to(query, *self.addresses), peer)
        else:
            conn, _ = self.tcp.accept()
            with conn:
                length = struct.unpack("!H", conn.recv(2))[0]
                query = conn.recv(length)
                self.tcp_queries += 1
                reply = reply_to(query, *self.addresses)
                conn.sendall(struct.pack("!H", len(reply)) + reply)


@pytest.fixture
def two_way() -> Iterator[object]:
    servers: List[TwoWayServer] = []

    def start(addresses: List[str], truncate: bool) -> TwoWayServer:
        server = TwoWayServer(addresses, truncate)
        threading.Thread(target=server.serve, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.running = False
        server.udp.close()
        server.tcp.close()


def test_a_stray_reply_is_ignored(two_way) -> None:  # type: ignore[no-untyped-def]
    server = two_way(["10.0.1.5"], truncate=False)
    got = LiveHost().dns_query(server.address, NAME, 2.0)
    assert (got.status, got.addresses) == ("answer", ("10.0.1.5",))
    assert server.tcp_queries == 0


def test_a_truncated_reply_is_asked_again_over_tcp(two_way) -> None:  # type: ignore[no-untyped-def]
    many = [f"10.0.{i}.5" for i in range(1, 7)]
    server = two_way(many, truncate=True)
    got = LiveHost().dns_query(server.address, NAME, 2.0)
    assert (got.status, got.addresses) == ("answer", tuple(many))
    assert server.tcp_queries == 1
