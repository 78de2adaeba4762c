"""The network part of the host: DNS, TCP and TLS towards the GuardDuty endpoint.

``LiveNetwork`` makes every call within the timeout it is given and the run's budget. A call's
outcome (an NXDOMAIN, a refused connection, a certificate that fails verification) is a value,
not an exception: it is what the doctor came to observe. Needs no privilege. The network
of a foreign root cannot be reached from here: ``NoNetwork`` says so on every call. The
answers (``DnsAnswer``, ``TcpResult``, ``TlsResult``) are in ``answers.py``, where the facts
that carry them may import them.
"""

import errno
import ipaddress
import os
import socket
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, List, Mapping, Optional, Tuple

from ..answers import DnsAnswer, TcpResult, TlsResult
from ..sanitize import clean as _clean_any
from . import dnswire
from .budget import Budget
from .errors import Unsupported
from .http import socket_name

if TYPE_CHECKING:
    import ssl

# DNS probes run on several threads at once and import dnspython lazily (for TCP retries).
# Python 3.6 can hand a second thread the package before its submodule is bound to it ("module
# 'dns' has no attribute 'query'"), which happens when importing is slow, as from a zip.
_DNS_IMPORT_LOCK = threading.Lock()

# An A answer for an interface endpoint holds one address per Availability Zone (at most six in
# any region); 1232 bytes is the EDNS buffer size DNS operators agree on, far above that.
DNS_RECEIVE_LIMIT = 1232
# Addresses kept from one answer: one per AZ of the endpoint plus room for odd setups.
MAX_ADDRESSES = 16
# Text from the network shown in a finding (verification messages, certificate names).
TEXT_LIMIT = 200


def clean(text: str) -> str:
    return _clean_any(text, TEXT_LIMIT)


# A certificate chain's leaf is a few KiB; a DER blob beyond this is not parsed.
CERT_LIMIT = 64 * 1024


def parse_server(text: str, default_port: int = 53) -> "Tuple[str, int]":
    """``10.0.0.2``, ``127.0.0.1:5353``, ``[::1]:5353`` or ``::1`` -> (address, port).

    Raises ValueError for anything that is not an IP address with an optional port: resolvers
    are addressed by IP, never by name."""
    text = text.strip()
    host, port = text, default_port
    if text.startswith("["):
        close = text.find("]")
        if close < 0:
            raise ValueError(f"unbalanced brackets in {text!r}")
        host, rest = text[1:close], text[close + 1 :]
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f"junk after the address in {text!r}")
            port = int(rest[1:])
    elif text.count(":") == 1:
        host, port_text = text.split(":")
        port = int(port_text)
    address = str(ipaddress.ip_address(host))
    if not 0 < port < 65536:
        raise ValueError(f"port {port} out of range")
    return address, port


def format_server(address: str, port: int) -> str:
    shown = f"[{address}]" if ":" in address else address
    return shown if port == 53 else f"{shown}:{port}"


def _ms(since: float) -> int:
    return int(round((time.monotonic() - since) * 1000))


def _ordered(addresses: "Iterable[str]") -> "Tuple[str, ...]":
    """Unique and sorted: resolvers rotate their answers, reports should not."""
    unique = {ipaddress.ip_address(a) for a in addresses}
    return tuple(str(a) for a in sorted(unique, key=lambda a: (a.version, a)))[:MAX_ADDRESSES]


def _socket_status(exc: OSError) -> "Tuple[str, str]":
    if isinstance(exc, socket.timeout):
        return "timeout", "no answer"
    if exc.errno == errno.ECONNREFUSED:
        return "refused", "connection refused"
    if exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL):
        return "unreachable", os.strerror(exc.errno).lower()
    if exc.errno == errno.ECONNRESET:
        return "error", "connection reset by peer"
    return "error", clean(str(exc) or type(exc).__name__)


def call_bounded(
    fn: "Callable[[], Any]", timeout: float
) -> "Tuple[bool, Any, Optional[BaseException]]":
    """Call ``fn`` on a daemon thread and stop waiting after ``timeout``: for calls such as
    getaddrinfo that have no timeout of their own. Returns (finished, result, exception); an
    abandoned call finishes on its own and never holds the process open."""
    box: List[Any] = []

    def target() -> None:
        try:
            box.append((fn(), None))
        except BaseException as exc:  # handed back to the caller, not raised on the thread
            box.append((None, exc))

    worker = threading.Thread(target=target, name="bounded-call", daemon=True)
    worker.start()
    worker.join(timeout)
    if not box:
        return False, None, None
    result, exc = box[0]
    return True, result, exc


# -- certificates -----------------------------------------------------------------------------
_NAME_OIDS = {
    "2.5.4.3": "CN",
    "2.5.4.6": "C",
    "2.5.4.7": "L",
    "2.5.4.8": "ST",
    "2.5.4.10": "O",
    "2.5.4.11": "OU",
}
_SAN_OID = "2.5.29.17"


def _der(data: bytes, pos: int) -> "Tuple[int, int, int]":
    """(tag, start of content, end of content) of the DER element at ``pos``."""
    tag, length = data[pos], data[pos + 1]
    pos += 2
    if length & 0x80:
        count = length & 0x7F
        if not 0 < count <= 4:
            raise ValueError("unsupported DER length")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    if pos + length > len(data):
        raise ValueError("truncated DER")
    return tag, pos, pos + length


def _children(data: bytes, start: int, end: int) -> "List[Tuple[int, int, int]]":
    items = []
    while start < end:
        item = _der(data, start)
        items.append(item)
        start = item[2]
    return items


def _oid(raw: bytes) -> str:
    parts = [raw[0] // 40, raw[0] % 40]
    value = 0
    for byte in raw[1:]:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            parts.append(value)
            value = 0
    return ".".join(str(p) for p in parts)


def _name(data: bytes, start: int, end: int) -> str:
    parts = []
    for _, rdn_start, rdn_end in _children(data, start, end):
        for _, atv_start, atv_end in _children(data, rdn_start, rdn_end):
            (_, o_start, o_end), (_, v_start, v_end) = _children(data, atv_start, atv_end)[:2]
            key = _NAME_OIDS.get(_oid(data[o_start:o_end]))
            if key:
                parts.append(f"{key}={data[v_start:v_end].decode('utf-8', errors='replace')}")
    return clean(", ".join(parts))


def parse_certificate_names(der: bytes) -> "Tuple[str, str, Tuple[str, ...]]":
    """DER certificate -> (subject, issuer, DNS names), e.g. ("CN=guardduty-data.us-east-1.
    amazonaws.com", "C=US, O=Amazon, CN=Amazon RSA 2048 M02", ("guardduty-data.us-east-1.
    amazonaws.com", ...)). Only the fields a finding shows; raises ValueError on bad DER."""
    try:
        _, cert_start, cert_end = _der(der, 0)
        _, tbs_start, tbs_end = _children(der, cert_start, cert_end)[0]
        fields = _children(der, tbs_start, tbs_end)
        if fields and fields[0][0] == 0xA0:  # explicit version tag
            fields = fields[1:]
        issuer, subject = _name(der, *fields[2][1:]), _name(der, *fields[4][1:])
        names: List[str] = []
        for tag, ext_start, _ in fields[6:]:
            if tag != 0xA3:
                continue
            _, seq_start, seq_end = _der(der, ext_start)
            for _, e_start, e_end in _children(der, seq_start, seq_end):
                parts = _children(der, e_start, e_end)
                if _oid(der[parts[0][1] : parts[0][2]]) != _SAN_OID:
                    continue
                _, gn_start, gn_end = _der(der, parts[-1][1])
                for gtag, g_start, g_end in _children(der, gn_start, gn_end):
                    if gtag == 0x82:  # dNSName
                        names.append(clean(der[g_start:g_end].decode("ascii", "replace")))
        return subject, issuer, tuple(names[:MAX_ADDRESSES])
    except (IndexError, ValueError) as exc:
        raise ValueError(f"unreadable certificate: {exc}") from None


def trust_store(env: "Mapping[str, str]") -> "Tuple[Optional[str], Optional[str]]":
    """The CA file and directory OpenSSL would use for this environment: SSL_CERT_FILE and
    SSL_CERT_DIR when set, else the compiled-in defaults (never certifi's bundle)."""
    import ssl  # 7-10 ms, paid only when a TLS check runs

    paths = ssl.get_default_verify_paths()
    cafile = env.get("SSL_CERT_FILE") or paths.openssl_cafile
    capath = env.get("SSL_CERT_DIR") or paths.openssl_capath
    return (
        cafile if cafile and os.path.isfile(cafile) else None,
        capath if capath and os.path.isdir(capath) else None,
    )


def _udp_exchange(sock: socket.socket, query: bytes, query_id: int, deadline: float) -> bytes:
    """Send ``query`` and return the first datagram that carries its id: a stray reply (an
    earlier question's, or a spoofed one) does not decide the answer."""
    sock.send(query)
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise socket.timeout("timed out")
        sock.settimeout(remaining)
        data = sock.recv(DNS_RECEIVE_LIMIT * 4)
        if len(data) >= 2 and int.from_bytes(data[:2], "big") == query_id:
            return data


def _ask_over_tcp(
    address: str, port: int, name: str, timeout: float
) -> "Tuple[str, Tuple[str, ...]]":
    """The same question over TCP, through dnspython: only a resolver that truncates its UDP
    reply leads here, so its import cost stays off the common path."""
    with _DNS_IMPORT_LOCK:
        import dns.exception
        import dns.message
        import dns.query
        import dns.rcode
        import dns.rdatatype

    query = dns.message.make_query(name, dns.rdatatype.A)
    try:
        reply = dns.query.tcp(query, address, timeout=timeout, port=port)
    except dns.exception.Timeout:
        raise socket.timeout("timed out") from None
    except dns.exception.DNSException as exc:
        raise dnswire.MalformedReply(f"over TCP: {exc}") from None
    found = [
        rd.address for rrset in reply.answer if rrset.rdtype == dns.rdatatype.A for rd in rrset
    ]
    return dns.rcode.to_text(reply.rcode()), tuple(found)


class LiveNetwork:
    """DNS resolution, TCP connects and TLS handshakes, each bounded by the run's deadline."""

    def __init__(self, budget: Budget, env: "Mapping[str, str]") -> None:
        self._budget = budget
        self.env = env

    # -- DNS ------------------------------------------------------------------------------
    def dns_query(self, server: str, name: str, timeout: float) -> DnsAnswer:
        """Ask one resolver (``HOST[:PORT]``) for the A records of ``name``, once, over UDP
        from a connected socket, so that "nothing listens" (ICMP port unreachable) is told
        apart from a black hole. A truncated reply is asked again over TCP, as a stub resolver
        would."""
        address, port = parse_server(server)
        label = format_server(address, port)
        budget = self._budget.budget(timeout)
        began = time.monotonic()

        def answer(status: str, addresses: "Tuple[str, ...]" = (), detail: str = "") -> DnsAnswer:
            return DnsAnswer(label, name, status, addresses, detail, _ms(began))

        query_id = int.from_bytes(os.urandom(2), "big")
        try:
            query = dnswire.build_query(name, query_id)
        except ValueError as exc:
            return answer("error", detail=clean(f"cannot ask for {name!r}: {exc}"))
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        try:
            with socket.socket(family, socket.SOCK_DGRAM) as sock:
                sock.connect((address, port))
                reply = _udp_exchange(sock, query, query_id, began + budget)
        except socket.timeout:
            return answer("timeout", detail=f"no reply within {budget:.1f} s")
        except OSError as exc:
            status, detail = _socket_status(exc)
            return answer("unreachable" if status == "refused" else status, detail=detail)
        try:
            rcode, found, truncated = dnswire.parse_reply(reply, query_id, name)
            if truncated:
                remaining = max(0.05, began + budget - time.monotonic())
                rcode, found = _ask_over_tcp(address, port, name, remaining)
        except dnswire.MalformedReply as exc:
            return answer("error", detail=clean(f"malformed reply: {exc}"))
        except socket.timeout:
            return answer("timeout", detail=f"no reply over TCP within {budget:.1f} s")
        except OSError as exc:
            status, detail = _socket_status(exc)
            return answer(status, detail=f"the reply was truncated and TCP failed: {detail}")
        if rcode == "NXDOMAIN":
            return answer("nxdomain")
        if rcode == "SERVFAIL":
            return answer("servfail")
        if rcode == "REFUSED":
            return answer("refused", detail="the resolver refused the query")
        if rcode != "NOERROR":
            return answer("rcode", detail=rcode)
        if not found:
            return answer("nodata")
        return answer("answer", _ordered(found))

    def system_resolve(self, name: str, timeout: float) -> DnsAnswer:
        """The answer the C library gives (what a program on this host gets): getaddrinfo,
        which has no timeout, on a daemon thread abandoned at the budget."""
        budget = self._budget.budget(timeout)
        began = time.monotonic()
        label = "system resolver"
        finished, infos, exc = call_bounded(
            lambda: socket.getaddrinfo(socket_name(name), None, 0, socket.SOCK_STREAM), budget
        )
        if not finished:
            return DnsAnswer(
                label, name, "timeout", (), f"no result within {budget:.1f} s", _ms(began)
            )
        if isinstance(exc, socket.gaierror):
            status = {
                socket.EAI_NONAME: "nxdomain",
                socket.EAI_AGAIN: "servfail",
                getattr(socket, "EAI_NODATA", -5): "nodata",
            }.get(exc.errno or 0, "error")
            return DnsAnswer(label, name, status, (), clean(exc.strerror or str(exc)), _ms(began))
        if exc is not None:
            return DnsAnswer(label, name, "error", (), clean(str(exc)), _ms(began))
        addresses = _ordered(str(info[4][0]) for info in infos)
        return DnsAnswer(
            label, name, "answer" if addresses else "nodata", addresses, "", _ms(began)
        )

    # -- TCP ------------------------------------------------------------------------------
    def _connect(self, address: str, port: int, budget: float) -> socket.socket:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.settimeout(budget)
        try:
            sock.connect((address, port))
        except BaseException:
            sock.close()
            raise
        return sock

    def tcp_connect(self, address: str, port: int, timeout: float) -> TcpResult:
        """Open and close one connection; nothing is sent."""
        budget = self._budget.budget(timeout)
        began = time.monotonic()
        try:
            self._connect(address, port, budget).close()
        except OSError as exc:
            status, detail = _socket_status(exc)
            if status == "timeout":
                detail = f"no answer to the connection request within {budget:.1f} s"
            return TcpResult(address, port, status, detail, _ms(began))
        return TcpResult(address, port, "connected", "", _ms(began))

    # -- TLS ------------------------------------------------------------------------------
    def tls_handshake(self, address: str, port: int, server_name: str, timeout: float) -> TlsResult:
        """Handshake with SNI ``server_name`` and verify the certificate against the system
        trust store (SSL_CERT_FILE/SSL_CERT_DIR from this host's environment, as OpenSSL reads
        them). On a verification failure a second, unverified handshake reads the certificate
        so the finding can name who issued it (a proxy or an inspection appliance)."""
        import ssl

        cafile, capath = trust_store(self.env)
        store = " + ".join(p for p in (cafile, capath) if p) or "none found"
        budget = self._budget.budget(timeout)
        began = time.monotonic()

        def result(status: str, **kw: Any) -> TlsResult:
            return TlsResult(
                address, port, server_name, status, trust_store=store, elapsed_ms=_ms(began), **kw
            )

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        if cafile or capath:
            context.load_verify_locations(cafile=cafile, capath=capath)
        try:
            der, version = self._handshake(context, address, port, server_name, budget)
        except (ssl.SSLError, ConnectionResetError) as exc:
            reason = getattr(exc, "reason", None) or str(exc)
            if reason == "CERTIFICATE_VERIFY_FAILED":
                # Python 3.7+ raises SSLCertVerificationError and says why in verify_message;
                # 3.6 raises a plain SSLError with this reason and no further detail.
                error = clean(getattr(exc, "verify_message", None) or reason)
                return self._unverified(result, address, port, server_name, began, budget, error)
            return result("handshake_failed", detail=clean(reason))
        except OSError as exc:
            status, detail = _socket_status(exc)
            return result(status, detail=detail)
        return result("verified", version=version, **self._names(der))

    def _unverified(
        self,
        result: "Callable[..., TlsResult]",
        address: str,
        port: int,
        server_name: str,
        began: float,
        budget: float,
        error: str,
    ) -> TlsResult:
        import ssl

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        remaining = max(0.05, budget - (time.monotonic() - began))
        try:
            der, version = self._handshake(context, address, port, server_name, remaining)
        except (OSError, ssl.SSLError) as exc:
            return result(
                "verify_failed",
                verify_error=error,
                detail=clean(f"certificate not readable: {exc}"),
            )
        return result("verify_failed", verify_error=error, version=version, **self._names(der))

    def _handshake(
        self, context: "ssl.SSLContext", address: str, port: int, server_name: str, budget: float
    ) -> "Tuple[bytes, str]":
        with self._connect(address, port, budget) as raw:
            deadline = time.monotonic() + budget
            raw.settimeout(max(0.05, deadline - time.monotonic()))
            with context.wrap_socket(raw, server_hostname=server_name) as tls:
                return tls.getpeercert(binary_form=True) or b"", tls.version() or ""

    @staticmethod
    def _names(der: bytes) -> "Dict[str, Any]":
        if not der or len(der) > CERT_LIMIT:
            return {"detail": "no certificate to read"}
        try:
            subject, issuer, names = parse_certificate_names(der)
        except ValueError as exc:
            return {"detail": clean(str(exc))}
        return {"subject": subject, "issuer": issuer, "names": names}


class NoNetwork:
    """A host whose network path is not tested (a foreign root): each call says so."""

    def __init__(self, why: str) -> None:
        self._why = why

    def dns_query(self, server: str, name: str, timeout: float) -> DnsAnswer:
        raise Unsupported(self._why)

    def system_resolve(self, name: str, timeout: float) -> DnsAnswer:
        raise Unsupported(self._why)

    def tcp_connect(self, address: str, port: int, timeout: float) -> TcpResult:
        raise Unsupported(self._why)

    def tls_handshake(self, address: str, port: int, server_name: str, timeout: float) -> TlsResult:
        raise Unsupported(self._why)
