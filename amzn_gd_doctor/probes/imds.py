"""IMDS probe: the IMDSv2 token, then the instance identity document the agent signs in with.

Follows botocore's conventions (environment variables, IMDSv1 fallback on 403/404/405), never
uses a proxy (the host's HTTP session ignores proxy variables) and never requests credentials.
Needs no privilege, only a network path to 169.254.169.254 (or the configured endpoint).
"""

from typing import TYPE_CHECKING, Mapping, Optional, Tuple

from .. import lazy_re
from ..facts.imds import IMDS_IDENTITY, IdentityResult, ImdsConfig, ImdsSession
from ..host import Unsupported
from ..host.http import HttpFailure
from ..host.protocols import ENV, HTTP
from ..probing import probe
from .imds_document import MalformedDocument, parse_identity_document
from .imds_session import parse_imds_config, request, session_get

if TYPE_CHECKING:
    from ..host.protocols import HttpPart
    from ..probing import ProbeContext

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


def open_session(
    http: "HttpPart", config: ImdsConfig
) -> "Tuple[Optional[ImdsSession], Optional[str], Optional[str]]":
    """IMDSv2 token, or the v1 fallback botocore would take, or (None, kind, sentence)."""
    base = config.base_url
    headers = {"X-aws-ec2-metadata-token-ttl-seconds": str(TOKEN_TTL_S)}
    try:
        resp = request(http, config, "PUT", TOKEN_PATH, headers, TOKEN_LIMIT)
    except HttpFailure as exc:
        if exc.kind != "read_timeout":
            return None, exc.kind, f"IMDS at {base} could not be reached for a token ({exc.detail})"
        return _after_token_timeout(http, config)
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
    http: "HttpPart", config: ImdsConfig
) -> "Tuple[Optional[ImdsSession], Optional[str], Optional[str]]":
    """A PUT that times out while plain GETs answer is the hop-limit symptom."""
    base = config.base_url
    try:
        probe_get = request(http, config, "GET", "latest/meta-data/", {}, DOCUMENT_LIMIT)
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


@probe(IMDS_IDENTITY, parts=(ENV, HTTP))
def identity(ctx: "ProbeContext", env: "Mapping[str, str]", http: "HttpPart") -> IdentityResult:
    """The identity document, through a session that later IMDS probes reuse."""
    config = parse_imds_config(env, ctx.options.imds_endpoint)
    if config.disabled:
        raise Unsupported("IMDS access is disabled for this run by AWS_EC2_METADATA_DISABLED=true")
    session, kind, detail = open_session(http, config)
    if session is None:
        return IdentityResult(config, None, None, kind, detail)
    try:
        resp = session_get(http, session, IDENTITY_PATH, DOCUMENT_LIMIT)
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
