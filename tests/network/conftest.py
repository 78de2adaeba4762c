"""Fixtures for the network tests: a real DNS server on loopback answering per name, real TLS
servers with a test CA made here, a port that never completes a connection, and a doctor run
limited to the network area.

Everything listens on 127.0.0.0/8; the doctor is always given loopback resolvers
(``dns_servers``), so the Amazon resolver and the host's own resolvers are never asked.
"""

from __future__ import annotations

import contextlib
import datetime
import select
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import pytest

from amzn_gd_doctor import doctor, registry
from amzn_gd_doctor.answers import ProcessInfo
from amzn_gd_doctor.facts import Key
from amzn_gd_doctor.facts.agent import (
    AGENT_PACKAGE,
    AGENT_PROCESS,
    AGENT_UNIT,
    AgentPackage,
    AgentProcess,
    AgentUnit,
    Systemd,
)
from amzn_gd_doctor.host import LiveHost, RootedHost
from amzn_gd_doctor.model import Report

REGION = "us-east-1"
STANDARD = f"guardduty-data.{REGION}.amazonaws.com"
LINK_LOCAL = f"guardduty-data-v2.{REGION}.amazonaws.com"
FIPS = f"guardduty-data-fips.{REGION}.amazonaws.com"

# A name's behaviour: addresses to answer with, or one of these words.
Behaviour = Union[Tuple[str, ...], str]
WORDS = ("nxdomain", "servfail", "nodata", "refused", "drop")


# -- DNS ----------------------------------------------------------------------------------------
@dataclass
class DnsServer:
    """A UDP DNS server on 127.0.0.1 answering A questions per name from ``answers``; names
    not listed get ``default``. "drop" receives and never replies (a black hole)."""

    answers: Dict[str, Behaviour]
    default: Behaviour = "nxdomain"
    queries: List[str] = field(default_factory=list)
    sock: socket.socket = field(
        default_factory=lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    )
    running: bool = True

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.sock.getsockname()[1]}"

    def serve(self) -> None:
        import dns.message
        import dns.rcode
        import dns.rdataclass
        import dns.rdatatype
        import dns.rrset

        while self.running:
            ready, _, _ = select.select([self.sock], [], [], 0.05)
            if not ready:
                continue
            try:
                data, peer = self.sock.recvfrom(4096)
            except OSError:
                return
            query = dns.message.from_wire(data)
            qname = query.question[0].name
            name = qname.to_text(omit_final_dot=True).lower()
            self.queries.append(name)
            behaviour = self.answers.get(name, self.default)
            if behaviour == "drop":
                continue
            reply = dns.message.make_response(query)
            if isinstance(behaviour, str):
                rcode = {
                    "nxdomain": dns.rcode.NXDOMAIN,
                    "servfail": dns.rcode.SERVFAIL,
                    "refused": dns.rcode.REFUSED,
                }.get(behaviour, dns.rcode.NOERROR)
                reply.set_rcode(rcode)
            else:
                reply.answer.append(
                    dns.rrset.from_text(qname, 60, dns.rdataclass.IN, dns.rdatatype.A, *behaviour)
                )
            self.sock.sendto(reply.to_wire(), peer)


@pytest.fixture
def dns_server() -> Iterator[Callable[..., DnsServer]]:
    """Start DNS servers: ``dns_server({name: behaviour}, default="nxdomain")``."""
    started: List[DnsServer] = []

    def start(answers: Dict[str, Behaviour], default: Behaviour = "nxdomain") -> DnsServer:
        server = DnsServer({k.lower(): v for k, v in answers.items()}, default)
        server.sock.bind(("127.0.0.1", 0))
        threading.Thread(target=server.serve, daemon=True).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.running = False
        server.sock.close()


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- certificates -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Pki:
    ca_file: Path  # the trust store the doctor is pointed at (SSL_CERT_FILE)
    ca_dir: Path  # an empty SSL_CERT_DIR, so the machine's own store plays no part
    certs: Dict[str, Tuple[Path, Path]]  # kind -> (cert, key): good, wrong_name, untrusted


def _key() -> Any:
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(ec.SECP256R1())


def _general_name(name: str) -> Any:
    """A subjectAltName entry: an IP address for an address, else a DNS name."""
    import ipaddress

    from cryptography import x509

    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def _cert(
    subject_cn: str, issuer_cn: str, key: Any, signer: Any, names: Sequence[str], ca: bool
) -> Any:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test"),
                    x509.NameAttribute(NameOID.COMMON_NAME, subject_cn),
                ]
            )
        )
        .issuer_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test"),
                    x509.NameAttribute(NameOID.COMMON_NAME, issuer_cn),
                ]
            )
        )
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if names:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([_general_name(n) for n in names]), critical=False
        )
    return builder.sign(signer, hashes.SHA256())


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A test CA the doctor trusts, a second CA it does not (an inspection appliance's), and
    leaf certificates: right name, wrong name, right name from the untrusted CA."""
    pytest.importorskip("cryptography", reason="the cryptography package (test extra) is missing")
    from cryptography.hazmat.primitives import serialization

    base = tmp_path_factory.mktemp("pki")
    ca_key, rogue_key = _key(), _key()
    ca = _cert("GD Doctor Test Root CA", "GD Doctor Test Root CA", ca_key, ca_key, (), True)
    pem = serialization.Encoding.PEM
    (base / "ca.pem").write_bytes(ca.public_bytes(pem))
    (base / "capath").mkdir()
    certs: Dict[str, Tuple[Path, Path]] = {}
    leaves = {
        "good": ("GD Doctor Test Root CA", ca_key, STANDARD, (STANDARD, LINK_LOCAL, FIPS)),
        "wrong_name": ("GD Doctor Test Root CA", ca_key, "wrong.example", ("wrong.example",)),
        "untrusted": ("Corp Inspection CA", rogue_key, STANDARD, (STANDARD, LINK_LOCAL)),
    }
    for kind, (issuer, signer, cn, names) in leaves.items():
        key = _key()
        cert = _cert(cn, issuer, key, signer, names, False)
        cert_path, key_path = base / f"{kind}.pem", base / f"{kind}.key"
        cert_path.write_bytes(cert.public_bytes(pem))
        key_path.write_bytes(
            key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        )
        certs[kind] = (cert_path, key_path)
    return Pki(base / "ca.pem", base / "capath", certs)


# -- TLS and TCP endpoints -----------------------------------------------------------------------
@dataclass
class Listener:
    address: str
    port: int
    sock: socket.socket
    running: bool = True


def _serve_tls(listener: Listener, context: ssl.SSLContext) -> None:
    while listener.running:
        ready, _, _ = select.select([listener.sock], [], [], 0.05)
        if not ready:
            continue
        try:
            conn, _ = listener.sock.accept()
        except OSError:
            return
        threading.Thread(target=_handshake, args=(conn, context), daemon=True).start()


def _handshake(conn: socket.socket, context: ssl.SSLContext) -> None:
    conn.settimeout(5)
    try:
        with context.wrap_socket(conn, server_side=True) as tls:
            tls.recv(1)
    except (OSError, ssl.SSLError):
        pass
    finally:
        conn.close()


@pytest.fixture
def endpoints_on_loopback(pki: Pki) -> Iterator[Callable[..., Listener]]:
    """Start a loopback endpoint: ``start(kind, address, port=0)``. Kinds: good, wrong_name,
    untrusted (TLS servers with those certificates), and drop (a listener whose full accept
    queue makes further connection requests go unanswered, as behind a security group)."""
    made: List[Listener] = []
    held: List[socket.socket] = []

    def start(kind: str, address: str, port: int = 0) -> Listener:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, port))
        listener = Listener(address, sock.getsockname()[1], sock)
        made.append(listener)
        if kind == "drop":
            sock.listen(0)
            for _ in range(3):  # fill the accept queue; the kernel then drops new SYNs
                filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                filler.setblocking(False)
                with contextlib.suppress(BlockingIOError):
                    filler.connect((address, listener.port))
                held.append(filler)
            return listener
        sock.listen(16)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        cert, key = pki.certs[kind]
        context.load_cert_chain(str(cert), str(key))
        threading.Thread(target=_serve_tls, args=(listener, context), daemon=True).start()
        return listener

    yield start
    for listener in made:
        listener.running = False
        listener.sock.close()
    for sock in held:
        sock.close()


def closed_port(address: str) -> int:
    """A port on ``address`` that nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((address, 0))
        return int(sock.getsockname()[1])


# -- running the network area ---------------------------------------------------------------------
NETWORK_PROBES = (
    "imds.identity",
    "imds.network",
    "net.endpoints",
    "net.resolvers",
    "net.dns",
    "net.tcp",
    "net.tls",
    "net.proxy",
    "net.name_state",  # derived
    "net.proxy_view",  # derived
)
NETWORK_RULES_PREFIX = "network."


def run_network(
    *,
    imds_url: Optional[str],
    dns_servers: Sequence[str],
    port: int = 443,
    pki: Optional[Pki] = None,
    deadline: float = 8.0,
    region: Optional[str] = None,
    agent: Optional[Dict[str, Any]] = None,
    root: Optional[str] = None,
) -> Report:
    """The network probes and rules (plus IMDS) through the real engine and LiveHost.

    ``agent`` stands in for the agent area's facts (package, process, unit), which need a
    GuardDuty agent installed and running and so cannot exist here: keys "version",
    "proxy_env", "unit_env". Without it those facts are absent, as on a host where the agent
    probes could not look."""
    assert dns_servers, "network tests always pass loopback resolvers"
    all_probes, all_rules = registry.load()
    probes = {k: all_probes[k] for k in NETWORK_PROBES}
    if agent is not None:
        probes.update(_agent_stand_ins(agent))
    rules = {
        k: v
        for k, v in all_rules.items()
        if k.startswith(NETWORK_RULES_PREFIX) or k == "imds.identity_document"
    }
    env: Dict[str, str] = {}
    if imds_url is None:
        env["AWS_EC2_METADATA_DISABLED"] = "true"
    if pki is not None:
        env.update(SSL_CERT_FILE=str(pki.ca_file), SSL_CERT_DIR=str(pki.ca_dir))
    options = doctor.Options(
        deadline=deadline,
        imds_endpoint=imds_url,
        region=region,
        root=root,
        dns_servers=tuple(dns_servers),
        endpoint_port=port,
    )
    # The host is given the run's deadline when it is built, as the command line builds it.
    until = options.run_deadline(time.monotonic())
    host = RootedHost(root, env=env, deadline=until) if root else LiveHost(env=env, deadline=until)
    return doctor.run(host, options, probes, rules)


def _agent_stand_ins(agent: Dict[str, Any]) -> Dict[str, registry.ProbeSpec]:
    version = agent.get("version")
    running = "proxy_env" in agent
    main = ProcessInfo(
        4242,
        "amazon-guardduty",
        ("/usr/bin/amazon-guardduty-agent",),
        None,
        None,
        None,
        dict(agent.get("proxy_env", {})),
        True,
    )
    values: Dict[Key[object], object] = {
        AGENT_PACKAGE: AgentPackage(
            "rpm", "installed" if version is not None else "not-installed", version
        ),
        AGENT_PROCESS: AgentProcess((main,), 4242) if running else AgentProcess((), None),
        AGENT_UNIT: AgentUnit(Systemd.RUNNING, environment=dict(agent.get("unit_env", {}))),
    }
    return {
        key.id: registry.ProbeSpec(key.id, (lambda ctx, v=value: v), (), 1.0, key.type)
        for key, value in values.items()
    }


def finding(report: Report, rule_id: str) -> Any:
    return next(f for f in report.findings if f.rule_id == rule_id)


def fact(report: Report, probe_id: str) -> Any:
    return next(f for f in report.facts if f.probe_id == probe_id)
