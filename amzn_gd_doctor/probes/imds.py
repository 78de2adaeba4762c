"""IMDS probe: the IMDSv2 token, then the instance identity document the agent signs in with.

Follows botocore's conventions (environment variables, IMDSv1 fallback on 403/404/405), never
uses a proxy (the host's HTTP session ignores proxy variables) and never requests credentials.
Needs no privilege, only a network path to 169.254.169.254 (or the configured endpoint).
"""

import json
from typing import TYPE_CHECKING, Mapping, Optional, Tuple

from .. import lazy_re
from ..host import Unsupported
from ..host_http import HttpFailure, HttpResponse
from ..registry import probe
from ..values import value

if TYPE_CHECKING:
    from ..doctor import ProbeContext
    from ..host import Host

DEFAULT_BASE_IPV4 = "http://169.254.169.254/"
DEFAULT_BASE_IPV6 = "http://[fd00:ec2::254]/"
TOKEN_PATH = "latest/api/token"
IDENTITY_PATH = "latest/dynamic/instance-identity/document"
# The doctor's token only lives for this run; a short TTL limits what a leaked one is worth.
TOKEN_TTL_S = 300
# Tokens are about 56 bytes; identity documents about 500. Anything near these bounds is not
# what IMDS sends, so the bounds double as a sanity check.
TOKEN_LIMIT = 1024
DOCUMENT_LIMIT = 64 * 1024
# A token is URL-safe base64 text (about 56 characters); anything else is not sent back as a
# header (it could carry CR/LF or bytes that are not text).
_TOKEN_RE = lazy_re.compile(rb"^[A-Za-z0-9_=+/.-]{1,1024}$")
# A real identity document is a flat object of strings; its numbers have a few digits. Bounds
# on nesting and number length keep a hostile body from exhausting the parser (recursion, or
# the thousands of digits Python refuses to convert).
JSON_DEPTH_LIMIT = 16
JSON_DIGITS_LIMIT = 30
# botocore's defaults (AWS_METADATA_SERVICE_TIMEOUT, AWS_METADATA_SERVICE_NUM_ATTEMPTS).
DEFAULT_TIMEOUT_S = 1.0
DEFAULT_ATTEMPTS = 1
MAX_ATTEMPTS = 5


@value
class ImdsConfig:
    base_url: str
    disabled: bool
    v1_disabled: bool
    timeout: float
    attempts: int
    source: str


def _truthy(value: "Optional[str]") -> bool:
    return (value or "").strip().lower() == "true"


def parse_imds_config(env: "Mapping[str, str]", endpoint: "Optional[str]" = None) -> ImdsConfig:
    """botocore's reading of the IMDS variables; ``endpoint`` (--imds-endpoint) wins."""
    mode = (env.get("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE") or "ipv4").strip().lower()
    base, source = (
        (DEFAULT_BASE_IPV6, "endpoint mode ipv6")
        if mode == "ipv6"
        else (DEFAULT_BASE_IPV4, "default")
    )
    if env.get("AWS_EC2_METADATA_SERVICE_ENDPOINT"):
        base, source = env["AWS_EC2_METADATA_SERVICE_ENDPOINT"], "AWS_EC2_METADATA_SERVICE_ENDPOINT"
    if endpoint:
        base, source = endpoint, "--imds-endpoint"
    try:
        timeout = float(env.get("AWS_METADATA_SERVICE_TIMEOUT") or DEFAULT_TIMEOUT_S)
    except ValueError:
        timeout = DEFAULT_TIMEOUT_S
    try:
        attempts = int(env.get("AWS_METADATA_SERVICE_NUM_ATTEMPTS") or DEFAULT_ATTEMPTS)
    except ValueError:
        attempts = DEFAULT_ATTEMPTS
    return ImdsConfig(
        base_url=base if base.endswith("/") else base + "/",
        disabled=_truthy(env.get("AWS_EC2_METADATA_DISABLED")),
        v1_disabled=_truthy(env.get("AWS_EC2_METADATA_V1_DISABLED")),
        timeout=timeout if timeout > 0 else DEFAULT_TIMEOUT_S,
        attempts=min(max(attempts, 1), MAX_ATTEMPTS),
        source=source,
    )


@value
class ImdsSession:
    """How this run talks to IMDS: with a token (v2) or without (v1 fallback)."""

    config: ImdsConfig
    token: "Optional[str]"
    notes: "Tuple[str, ...]" = ()
    # The token PUT got no answer while a plain GET did (what a hop limit of 1 looks like).
    put_unanswered: bool = False

    @property
    def version(self) -> str:
        return "IMDSv2" if self.token else "IMDSv1"

    def get(self, host: "Host", path: str, limit: int) -> HttpResponse:
        headers = {"X-aws-ec2-metadata-token": self.token} if self.token else {}
        return request(host, self.config, "GET", path, headers, limit)


def request(
    host: "Host",
    config: ImdsConfig,
    method: str,
    path: str,
    headers: "Mapping[str, str]",
    limit: int,
) -> HttpResponse:
    """One IMDS call with botocore's retry count; the last failure is raised."""
    failure: Optional[HttpFailure] = None
    for _ in range(config.attempts):
        try:
            return host.http(method, config.base_url + path, headers, config.timeout, limit)
        except HttpFailure as exc:
            failure = exc
            if exc.kind == "invalid_url":
                break
    assert failure is not None
    raise failure


@value
class IdentityDocument:
    account_id: str
    instance_id: str
    region: str
    instance_type: "Optional[str]"
    architecture: "Optional[str]"
    availability_zone: "Optional[str]"
    image_id: "Optional[str]"
    private_ip: "Optional[str]"
    pending_time: "Optional[str]"


class MalformedDocument(ValueError):
    """The identity document is not the JSON object IMDS sends; the message says how."""


_REQUIRED = {
    "accountId": lazy_re.compile(r"^\d{12}$"),
    "instanceId": lazy_re.compile(r"^(i|mi)-[0-9a-f]{8,17}$"),
    "region": lazy_re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$"),
}


def _nesting(body: bytes) -> int:
    """The deepest nesting of arrays and objects in a JSON text, strings skipped."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return deepest


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > JSON_DIGITS_LIMIT:
        raise MalformedDocument(f"the response holds a {len(text)}-digit number")
    return int(text)


def parse_identity_document(body: bytes) -> IdentityDocument:
    """``{"accountId": "123456789012", "instanceId": "i-0abc...", "region": "us-east-1",
    "instanceType": "t3.micro", "architecture": "x86_64", ...}`` -> IdentityDocument."""
    if not body.strip():
        raise MalformedDocument("the response body is empty")
    depth = _nesting(body)
    if depth > JSON_DEPTH_LIMIT:
        limit = JSON_DEPTH_LIMIT
        raise MalformedDocument(f"the response nests {depth} levels deep (more than {limit})")
    try:
        data = json.loads(body.decode("utf-8"), parse_int=_bounded_int)
    except UnicodeDecodeError:
        raise MalformedDocument("the response is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        start = body.lstrip()[:1]
        kind = (
            "HTML, not JSON" if start == b"<" else f"not valid JSON ({exc.msg} at char {exc.pos})"
        )
        raise MalformedDocument(f"the response is {kind}") from None
    if not isinstance(data, dict):
        raise MalformedDocument(f"the response is a JSON {type(data).__name__}, not an object")
    for key, pattern in _REQUIRED.items():
        value = data.get(key)
        if not isinstance(value, str) or not pattern.match(value):
            raise MalformedDocument(f"field {key} is missing or invalid ({str(value)[:40]!r})")

    def opt(key: str) -> "Optional[str]":
        value = data.get(key)
        return value[:100] if isinstance(value, str) else None

    return IdentityDocument(
        data["accountId"],
        data["instanceId"],
        data["region"],
        opt("instanceType"),
        opt("architecture"),
        opt("availabilityZone"),
        opt("imageId"),
        opt("privateIp"),
        opt("pendingTime"),
    )


@value
class IdentityResult:
    """What IMDS gave: a document, or the failure kind and a sentence describing it."""

    config: ImdsConfig
    session: "Optional[ImdsSession]"
    document: "Optional[IdentityDocument]"
    failure: "Optional[str]" = None
    detail: "Optional[str]" = None


def open_session(
    host: "Host", config: ImdsConfig
) -> "Tuple[Optional[ImdsSession], Optional[str], Optional[str]]":
    """IMDSv2 token, or the v1 fallback botocore would take, or (None, kind, sentence)."""
    base = config.base_url
    headers = {"X-aws-ec2-metadata-token-ttl-seconds": str(TOKEN_TTL_S)}
    try:
        resp = request(host, config, "PUT", TOKEN_PATH, headers, TOKEN_LIMIT)
    except HttpFailure as exc:
        if exc.kind != "read_timeout":
            return None, exc.kind, f"IMDS at {base} could not be reached for a token ({exc.detail})"
        return _after_token_timeout(host, config)
    if resp.status == 200 and resp.body.strip() and not resp.truncated:
        token = resp.body.strip()
        if not _TOKEN_RE.match(token):
            shown = token[:20].decode("ascii", errors="backslashreplace")
            what = f"{len(token)} bytes that are not a token ({shown!r}...)"
            return None, "bad_token", f"IMDS at {base} answered the token request with {what}"
        return ImdsSession(config, token.decode("ascii")), None, None
    if resp.status in (403, 404, 405):
        if config.v1_disabled:
            return (
                None,
                "v1_disabled",
                (
                    f"IMDS at {base} refused a token (HTTP {resp.status}) and IMDSv1 is disabled "
                    "by AWS_EC2_METADATA_V1_DISABLED"
                ),
            )
        note = f"token request answered HTTP {resp.status}; fell back to IMDSv1"
        return ImdsSession(config, None, (note,)), None, None
    if resp.status == 400:
        return None, "http_400", f"IMDS at {base} rejected the token request (HTTP 400)"
    return (
        None,
        f"http_{resp.status}",
        f"IMDS at {base} answered the token request with HTTP {resp.status}",
    )


def _after_token_timeout(
    host: "Host", config: ImdsConfig
) -> "Tuple[Optional[ImdsSession], Optional[str], Optional[str]]":
    """A PUT that times out while plain GETs answer is the hop-limit symptom."""
    base = config.base_url
    try:
        probe_get = request(host, config, "GET", "latest/meta-data/", {}, DOCUMENT_LIMIT)
    except HttpFailure as exc:
        return (
            None,
            "timeout",
            (
                f"IMDS at {base} did not answer the token request within "
                f"{config.timeout:g} s, nor a plain GET ({exc.detail})"
            ),
        )
    observed = (
        f"the token PUT to {base} got no answer within {config.timeout:g} s while a plain GET "
        f"answered (HTTP {probe_get.status})"
    )
    if probe_get.status == 200 and not config.v1_disabled:
        note = observed + "; fell back to IMDSv1"
        return ImdsSession(config, None, (note,), put_unanswered=True), None, None
    return None, "hop_limit", observed


@probe("imds.identity")
def identity(ctx: "ProbeContext") -> IdentityResult:
    """The identity document, through a session that later IMDS probes reuse."""
    config = parse_imds_config(ctx.host.env, ctx.options.imds_endpoint)
    if config.disabled:
        raise Unsupported("IMDS access is disabled for this run by AWS_EC2_METADATA_DISABLED=true")
    session, kind, detail = open_session(ctx.host, config)
    if session is None:
        return IdentityResult(config, None, None, kind, detail)
    try:
        resp = session.get(ctx.host, IDENTITY_PATH, DOCUMENT_LIMIT)
    except HttpFailure as exc:
        return IdentityResult(
            config, session, None, exc.kind, f"the identity document request failed ({exc.detail})"
        )
    if resp.status != 200:
        why = " (IMDSv2 is required but no token was obtained)" if resp.status == 401 else ""
        return IdentityResult(
            config,
            session,
            None,
            f"http_{resp.status}",
            f"IMDS answered the identity document request with HTTP {resp.status}{why}",
        )
    if resp.truncated:
        return IdentityResult(
            config,
            session,
            None,
            "too_large",
            f"the identity document response exceeds {DOCUMENT_LIMIT // 1024} KiB",
        )
    try:
        document = parse_identity_document(resp.body)
    except MalformedDocument as exc:
        return IdentityResult(
            config, session, None, "malformed", f"the identity document is malformed: {exc}"
        )
    return IdentityResult(config, session, document)
