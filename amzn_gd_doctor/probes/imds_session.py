"""How the doctor talks to IMDS: botocore's reading of the IMDS variables, the session (with a
token, or the IMDSv1 fallback) and one request with botocore's retry count. Every call goes
through the host, never through a proxy; no privilege is needed.
"""

from typing import TYPE_CHECKING, Mapping, Optional

from ..facts.imds import ImdsConfig, ImdsSession
from ..host.http import HttpFailure, HttpResponse

if TYPE_CHECKING:
    from ..host.protocols import HttpPart

DEFAULT_BASE_IPV4 = "http://169.254.169.254/"
DEFAULT_BASE_IPV6 = "http://[fd00:ec2::254]/"
# botocore's defaults (AWS_METADATA_SERVICE_TIMEOUT, AWS_METADATA_SERVICE_NUM_ATTEMPTS).
DEFAULT_TIMEOUT_S = 1.0
DEFAULT_ATTEMPTS = 1
MAX_ATTEMPTS = 5


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


def session_get(http: "HttpPart", session: ImdsSession, path: str, limit: int) -> HttpResponse:
    """A GET in ``session``: with its token when it has one."""
    headers = {"X-aws-ec2-metadata-token": session.token} if session.token else {}
    return request(http, session.config, "GET", path, headers, limit)


def request(
    http: "HttpPart",
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
            return http.http(method, config.base_url + path, headers, config.timeout, limit)
        except HttpFailure as exc:
            failure = exc
            if exc.kind == "invalid_url":
                break
    assert failure is not None
    raise failure
