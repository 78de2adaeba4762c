"""The HTTP part of the host: one bounded request, used for IMDS.

IMDS is plain HTTP/1.1 to a link-local address (169.254.169.254 or fd00:ec2::254): no TLS, no
proxy, no redirect, no cookie, a body of a few hundred bytes. A request and its response are
read here from a socket. requests costs 55-100 ms to import, at the head of the run's critical
path, and its pooled keep-alive connections made each request wait about 40 ms on the client's
delayed ACK when the server writes headers and body apart; the standard library's http.client
brings in the email package and ssl, 15 ms on Python 3.13 and 30 ms on 3.6. Here every request
has its own connection (``Connection: close``), so no response waits on another's, and the
reading is bounded at every step: head size, body size, each read's time and the whole.

An ``https://`` endpoint (AWS_EC2_METADATA_SERVICE_ENDPOINT or
--imds-endpoint may name one) goes through requests, which verifies certificates the way the
SDKs do. Proxy variables and .netrc are ignored on both paths. Needs no privilege.
"""

import errno
import os
import socket
import threading
import time
from typing import Any, Dict, List, Mapping, Optional, Tuple
from urllib.parse import urlsplit

from .. import lazy_re
from ..values import field, value
from .budget import Budget

# Bytes read at a time; IMDS bodies are tiny, the limit is the caller's.
CHUNK = 16 * 1024
# An IMDS response head is a few hundred bytes; a server sending more is not IMDS.
HEAD_LIMIT = 64 * 1024
HEX = b"0123456789abcdefABCDEF"
_STATUS_RE = lazy_re.compile(r"^HTTP/1\.[01] ([1-5][0-9][0-9])(?: |$)")
# RFC 9110 token characters: what a header name may hold.
_TOKEN_RE = lazy_re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
# A response whose body keeps arriving this many times the call's budget is too slow.
SLOW_BODY_FACTOR = 2


@value
class HttpResponse:
    status: int
    headers: "Dict[str, str]" = field(default_factory=dict)
    body: bytes = b""
    truncated: bool = False


class HttpFailure(Exception):
    """An HTTP call got no response. ``kind`` is one of: refused, connect_timeout,
    read_timeout, unreachable, disconnected, too_slow, connection, invalid_url, invalid_request
    (a header that cannot be sent)."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def _socket_failure(exc: OSError, budget: float, connecting: bool) -> HttpFailure:
    if isinstance(exc, socket.timeout):
        if connecting:
            return HttpFailure("connect_timeout", f"no connection within {budget:.1f} s")
        return HttpFailure("read_timeout", f"no response within {budget:.1f} s")
    if exc.errno == errno.ECONNREFUSED:
        return HttpFailure("refused", "connection refused")
    if exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL):
        return HttpFailure("unreachable", os.strerror(exc.errno).lower())
    if exc.errno in (errno.ECONNRESET, errno.EPIPE) or isinstance(exc, ConnectionError):
        return HttpFailure("disconnected", "the server closed the connection without a response")
    if isinstance(exc, socket.gaierror):
        return HttpFailure("connection", f"the endpoint's name does not resolve ({_short(exc)})")
    return HttpFailure("connection", _short(exc))


def _split_url(url: str) -> "Tuple[str, int, str]":
    """``http://169.254.169.254/latest/api/token`` -> ("169.254.169.254", 80, "/latest/...")."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port or 80
    except ValueError as exc:
        raise HttpFailure("invalid_url", f"{url[:100]!r} is not a usable URL ({exc})") from None
    if not host:
        raise HttpFailure("invalid_url", f"{url[:100]!r} names no host")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return host, port, target


def _request_bytes(
    method: str, host: str, port: int, target: str, headers: "Mapping[str, str]"
) -> bytes:
    shown = f"[{host}]" if ":" in host else host
    lines = [
        f"{method} {target} HTTP/1.1",
        f"Host: {shown}:{port}" if port != 80 else f"Host: {shown}",
    ]
    lines += ["Connection: close", "Accept-Encoding: identity", "Content-Length: 0"]
    for name, text in headers.items():
        if not _TOKEN_RE.match(name) or any(c in text for c in "\r\n\0"):
            raise HttpFailure("invalid_request", f"the header {name[:40]!r} cannot be sent as is")
        lines.append(f"{name}: {text}")
    try:
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    except UnicodeEncodeError:
        raise HttpFailure("invalid_request", "a header value is not ISO-8859-1 text") from None


def _parse_head(head: bytes) -> "Tuple[int, Dict[str, str]]":
    """``HTTP/1.1 200 OK\\r\\nContent-Length: 56\\r\\n...`` -> (200, {"content-length": "56"})."""
    lines = head.decode("latin-1").split("\r\n")
    match = _STATUS_RE.match(lines[0])
    if not match:
        raise HttpFailure("connection", f"not an HTTP response ({lines[0][:60]!r})")
    headers: Dict[str, str] = {}
    for line in lines[1:]:
        name, sep, text = line.partition(":")
        if sep and _TOKEN_RE.match(name):
            headers[name.strip().lower()] = text.strip()
    return int(match.group(1)), headers


class _Reader:
    """Bytes from the socket, each read bounded by the call's budget, the whole response by
    twice that."""

    def __init__(self, sock: socket.socket, budget: float) -> None:
        self.sock, self.budget = sock, budget
        self.ends = time.monotonic() + budget * SLOW_BODY_FACTOR
        self.buffer = b""
        self.eof = False

    def fill(self) -> None:
        if time.monotonic() > self.ends:
            raise HttpFailure(
                "too_slow", f"body still arriving after {self.budget * SLOW_BODY_FACTOR:.1f} s"
            )
        chunk = self.sock.recv(CHUNK)
        self.buffer += chunk
        self.eof = not chunk

    def until(self, marker: bytes, limit: int, what: str) -> bytes:
        while marker not in self.buffer:
            if len(self.buffer) > limit:
                raise HttpFailure("connection", f"{what} longer than {limit} bytes")
            self.fill()
            if self.eof:
                if not self.buffer:
                    raise HttpFailure(
                        "disconnected", "the server closed the connection without a response"
                    )
                raise HttpFailure("disconnected", f"the server closed the connection mid-{what}")
        found, _, self.buffer = self.buffer.partition(marker)
        return found

    def exactly(self, count: int) -> bytes:
        while len(self.buffer) < count:
            self.fill()
            if self.eof:
                raise HttpFailure("disconnected", "the server closed the connection mid-body")
        found, self.buffer = self.buffer[:count], self.buffer[count:]
        return found

    def rest(self, limit: int) -> bytes:
        while not self.eof and len(self.buffer) <= limit:
            self.fill()
        return self.buffer


def _read_body(reader: _Reader, headers: "Mapping[str, str]", limit: int) -> bytes:
    """Up to ``limit + 1`` bytes of the body: chunked, sized, or up to the close."""
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = b""
        while len(body) <= limit:
            size_line = reader.until(b"\r\n", HEAD_LIMIT, "chunk size").split(b";")[0].strip()
            if not size_line or len(size_line) > 8 or not all(c in HEX for c in size_line):
                raise HttpFailure("connection", "a malformed chunk size")
            size = int(size_line, 16)
            if size == 0:
                break
            body += reader.exactly(min(size, limit + 1 - len(body)))
            if len(body) > limit:
                break
            reader.exactly(2)
        return body
    length = headers.get("content-length")
    if length is not None:
        if not all("0" <= c <= "9" for c in length) or not length:  # isdigit() takes "²"
            raise HttpFailure("connection", f"a malformed Content-Length ({length[:20]!r})")
        if len(length) > 12:
            raise HttpFailure("connection", "a Content-Length past any IMDS answer")
        return reader.exactly(min(int(length), limit + 1))
    return reader.rest(limit)


def socket_name(host: str) -> Any:
    """``host`` as the socket module is best given it. A str is IDNA-encoded first, and the
    codec's first use imports encodings.idna, stringprep and unicodedata (about 1.5 ms). For an
    ASCII name or address that encoding is the ASCII bytes, once each label's length is checked:
    so the bytes are given instead, after the same check. A name that fails it, or is not
    ASCII, stays a str, encoded (or refused) by the codec as before."""
    try:
        data = host.encode("ascii")
    except UnicodeEncodeError:
        return host
    labels = data.split(b".")
    if all(0 < len(label) < 64 for label in labels[:-1]) and len(labels[-1]) < 64:
        return data
    return host


def plain_request(
    method: str, url: str, headers: "Mapping[str, str]", budget: float, limit: int
) -> HttpResponse:
    """One HTTP/1.1 request on its own connection, closed after the response. Connecting and
    each read take ``budget``; a response still arriving after twice that is too slow."""
    host, port, target = _split_url(url)
    request = _request_bytes(method, host, port, target, headers)
    try:
        sock = socket.create_connection((socket_name(host), port), timeout=budget)
    except UnicodeError as exc:  # a host name that IDNA cannot encode (too long a label)
        raise HttpFailure(
            "invalid_url", f"the host of {url[:100]!r} is not valid ({exc})"
        ) from None
    except OSError as exc:
        raise _socket_failure(exc, budget, connecting=True) from exc
    with sock:
        try:
            sock.sendall(request)
            reader = _Reader(sock, budget)
            status, response_headers = _parse_head(reader.until(b"\r\n\r\n", HEAD_LIMIT, "headers"))
            no_body = method == "HEAD" or status in (204, 304) or 100 <= status < 200
            body = b"" if no_body else _read_body(reader, response_headers, limit)
        except OSError as exc:
            raise _socket_failure(exc, budget, connecting=False) from exc
    return HttpResponse(status, response_headers, body[:limit], len(body) > limit)


def tls_request(
    session: Any, method: str, url: str, headers: "Mapping[str, str]", budget: float, limit: int
) -> HttpResponse:
    """The same through a requests session, for an https:// endpoint."""
    import requests

    started = time.monotonic()
    try:
        resp = session.request(
            method,
            url,
            headers=dict(headers),
            timeout=(budget, budget),
            stream=True,
            allow_redirects=False,
        )
    except requests.exceptions.ConnectTimeout as exc:
        raise HttpFailure("connect_timeout", f"no connection within {budget:.1f} s") from exc
    except requests.exceptions.ReadTimeout as exc:
        raise HttpFailure("read_timeout", f"no response within {budget:.1f} s") from exc
    except (requests.exceptions.InvalidURL, ValueError) as exc:
        raise HttpFailure("invalid_url", _short(exc)) from exc
    except requests.exceptions.SSLError as exc:
        raise HttpFailure("connection", f"TLS failed ({_short(exc)})") from exc
    except requests.exceptions.ConnectionError as exc:
        raise _classify_connection_error(exc, budget) from exc
    try:
        chunks: List[bytes] = []
        size = 0
        truncated = False
        for chunk in resp.iter_content(chunk_size=CHUNK):
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                truncated = True
                break
            if time.monotonic() - started > budget * SLOW_BODY_FACTOR:
                raise HttpFailure(
                    "too_slow", f"body still arriving after {budget * SLOW_BODY_FACTOR:.1f} s"
                )
        body = b"".join(chunks)
    except requests.exceptions.RequestException as exc:
        if "timed out" in str(exc).lower():
            raise HttpFailure("read_timeout", f"body stalled for {budget:.1f} s") from exc
        raise HttpFailure("disconnected", _short(exc)) from exc
    finally:
        resp.close()
    return HttpResponse(
        resp.status_code,
        {k.lower(): v for k, v in resp.headers.items()},
        body[:limit],
        truncated,
    )


def _classify_connection_error(exc: Exception, budget: float) -> HttpFailure:
    """Walk the cause chain for the socket error behind a requests ConnectionError."""
    seen: Optional[BaseException] = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno is not None:
            if seen.errno == errno.ECONNREFUSED:
                return HttpFailure("refused", "connection refused")
            if seen.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
                return HttpFailure("unreachable", os.strerror(seen.errno).lower())
        if "timed out" in str(seen).lower():
            return HttpFailure("read_timeout", f"no response within {budget:.1f} s")
        for arg in getattr(seen, "args", ()):
            if isinstance(arg, BaseException) and arg is not seen:
                nested = _classify_connection_error_arg(arg)
                if nested is not None:
                    return nested
        seen = seen.__cause__ or seen.__context__
    text = str(exc)
    if "RemoteDisconnected" in text or "Connection aborted" in text:
        return HttpFailure("disconnected", "the server closed the connection without a response")
    return HttpFailure("connection", _short(exc))


def _classify_connection_error_arg(arg: BaseException) -> "Optional[HttpFailure]":
    text = str(arg)
    if "Connection refused" in text or "Errno 111" in text:
        return HttpFailure("refused", "connection refused")
    if "Network is unreachable" in text or "No route to host" in text:
        return HttpFailure("unreachable", "network is unreachable")
    if "RemoteDisconnected" in text or "Connection aborted" in text:
        return HttpFailure("disconnected", "the server closed the connection without a response")
    reason = getattr(arg, "reason", None)
    if isinstance(reason, BaseException):
        return _classify_connection_error_arg(reason)
    return None


class LiveHttp:
    """HTTP from this machine (IMDS): plain HTTP on its own socket code, HTTPS through one
    requests session made on first use, never through a proxy."""

    def __init__(self, budget: Budget) -> None:
        self._budget = budget
        self._session: Any = None
        self._session_lock = threading.Lock()

    def _requests_session(self) -> Any:
        with self._session_lock:
            if self._session is None:
                import requests

                session = requests.Session()
                # IMDS must never go through a proxy: ignore every proxy variable and .netrc.
                session.trust_env = False
                session.proxies = {}
                self._session = session
            return self._session

    def http(
        self,
        method: str,
        url: str,
        headers: "Mapping[str, str]",
        timeout: float,
        limit: int,
    ) -> HttpResponse:
        budget = self._budget.budget(timeout)
        if url.lower().startswith("https://"):
            return tls_request(self._requests_session(), method, url, headers, budget, limit)
        return plain_request(method, url, headers, budget, limit)
