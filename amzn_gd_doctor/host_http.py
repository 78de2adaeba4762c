"""HTTP part of the live host seam: one bounded request, used for IMDS.

IMDS is plain HTTP to a link-local address (169.254.169.254 or fd00:ec2::254): no TLS, no proxy,
no redirect, no cookie. For that, ``http.client`` is all that is needed, and it is what runs:
requests costs 55-100 ms to import, at the head of the run's critical path, and its pooled
keep-alive connections made each request wait about 40 ms on the client's delayed ACK when the
server writes headers and body apart. Here every request has its own connection, so no
response waits on another's. An ``https://`` endpoint (AWS_EC2_METADATA_SERVICE_ENDPOINT or
--imds-endpoint may name one) goes through requests, which verifies certificates the way the
SDKs do. Proxy variables and .netrc are ignored on both paths. Needs no privilege.
"""

import errno
import os
import socket
import time
from typing import Any, Dict, List, Mapping, Optional
from urllib.parse import urlsplit

from .values import field, value

# Body chunks read at a time; IMDS bodies are tiny, the limit is the caller's.
CHUNK = 16 * 1024
# A response whose body keeps arriving this many times the call's budget is too slow.
SLOW_BODY_FACTOR = 2


@value
class HttpResponse:
    status: int
    headers: Dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    truncated: bool = False


class HttpFailure(Exception):
    """An HTTP call got no response. ``kind`` is one of: refused, connect_timeout,
    read_timeout, unreachable, disconnected, too_slow, connection, invalid_url."""

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


def plain_request(
    method: str, url: str, headers: Mapping[str, str], budget: float, limit: int
) -> HttpResponse:
    """One request on its own connection, closed after the response. Connecting and each
    read take ``budget``; a body still arriving after twice that is too slow."""
    import http.client

    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port or 80
        if not host:
            raise ValueError("no host in the URL")
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        conn = http.client.HTTPConnection(host, port, timeout=budget)
    except (ValueError, UnicodeError) as exc:
        raise HttpFailure(
            "invalid_url", f"{url[:100]!r} is not a usable URL ({_short(exc)})"
        ) from None
    started = time.monotonic()
    try:
        try:
            conn.connect()
        except UnicodeError as exc:  # a host name that IDNA cannot encode (too long a label)
            raise HttpFailure(
                "invalid_url", f"the host of {url[:100]!r} is not valid ({exc})"
            ) from None
        except OSError as exc:
            raise _socket_failure(exc, budget, connecting=True) from exc
        try:
            conn.request(method, target, headers=dict(headers))
            resp = conn.getresponse()
            chunks: List[bytes] = []
            size = 0
            truncated = False
            while True:
                chunk = resp.read(CHUNK)
                if not chunk:
                    # http.client ends a body cut short quietly; its count of bytes still
                    # owed says so.
                    if resp.length:
                        raise http.client.IncompleteRead(b"".join(chunks), resp.length)
                    break
                chunks.append(chunk)
                size += len(chunk)
                if size > limit:
                    truncated = True
                    break
                if time.monotonic() - started > budget * SLOW_BODY_FACTOR:
                    raise HttpFailure(
                        "too_slow", f"body still arriving after {budget * SLOW_BODY_FACTOR:.1f} s"
                    )
        except http.client.RemoteDisconnected as exc:
            raise HttpFailure(
                "disconnected", "the server closed the connection without a response"
            ) from exc
        except http.client.IncompleteRead as exc:
            raise HttpFailure("disconnected", "the server closed the connection mid-body") from exc
        except http.client.HTTPException as exc:
            raise HttpFailure("connection", f"not an HTTP response ({_short(exc)})") from exc
        except UnicodeError as exc:  # a header value outside latin-1
            raise HttpFailure("invalid_url", f"a request header cannot be sent ({exc})") from exc
        except OSError as exc:
            raise _socket_failure(exc, budget, connecting=False) from exc
    finally:
        conn.close()
    return HttpResponse(
        resp.status,
        {k.lower(): v for k, v in resp.getheaders()},
        b"".join(chunks)[:limit],
        truncated,
    )


def tls_request(
    session: Any, method: str, url: str, headers: Mapping[str, str], budget: float, limit: int
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


def _classify_connection_error_arg(arg: BaseException) -> Optional[HttpFailure]:
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
