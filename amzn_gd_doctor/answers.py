"""The host's answers that facts carry to rules: a DNS answer, a TCP connect, a TLS handshake, a
process entry (with the proxy variables it runs with, credentials redacted).

The host makes them and the facts hold them, and the host sits below the facts: so they live
here, beside the report model, where both may import them and a rule that reads a TCP result
imports no host. Other host answers (command output, HTTP responses, journal entries) stay in
``host/``: only probes read them. Recordings name these classes by their bare names
(``host/recorded.py``), so where they live is not part of a bundle.
"""

from typing import Mapping, Optional, Tuple

from .values import field, value


@value
class DnsAnswer:
    """One question to one resolver. ``status`` is one of: answer (addresses found), nxdomain,
    servfail, nodata (the name exists without an address), refused (RCODE REFUSED), rcode
    (another error code, in ``detail``), unreachable (nothing listens or no route), timeout,
    error (a malformed reply or a local failure)."""

    server: str
    name: str
    status: str
    addresses: "Tuple[str, ...]" = ()
    detail: str = ""
    elapsed_ms: int = 0


@value
class TcpResult:
    """One TCP connect. ``status``: connected, refused, timeout, unreachable, error."""

    address: str
    port: int
    status: str
    detail: str = ""
    elapsed_ms: int = 0


@value
class TlsResult:
    """One TLS handshake with SNI. ``status``: verified, verify_failed (handshake completed
    but the certificate is not trusted or not for this name), handshake_failed, refused,
    timeout, unreachable, error. ``issuer``/``subject`` come from the peer certificate even
    when verification failed."""

    address: str
    port: int
    server_name: str
    status: str
    verify_error: str = ""
    issuer: str = ""
    subject: str = ""
    names: "Tuple[str, ...]" = ()
    version: str = ""
    trust_store: str = ""
    detail: str = ""
    elapsed_ms: int = 0


@value
class ProcessInfo:
    pid: int
    name: str
    cmdline: "Tuple[str, ...]"
    rss_bytes: "Optional[int]"
    create_time: "Optional[float]"
    memlock: (
        "Optional[Tuple[Optional[int], Optional[int]]]"  # (soft, hard); None inside = unlimited
    )
    proxy_env: "Mapping[str, str]" = field(default_factory=dict)  # redact.proxy_variables
    environ_readable: bool = False
