"""IMDS metadata probes: the GuardDutyManaged instance tag and the VPC facts of the primary
network interface. They reuse the identity probe's session (token); no privilege needed.
"""

import ipaddress
import threading
from typing import TYPE_CHECKING, List, Optional, Tuple

from .. import lazy_re
from ..facts.imds import (
    IMDS_IDENTITY,
    IMDS_NETWORK,
    IMDS_TAGS,
    TAG_KEY,
    IdentityResult,
    ImdsSession,
    NetworkInfo,
    TagResult,
)
from ..host import CouldNotLook
from ..host.http import HttpFailure
from ..host.protocols import HTTP
from ..probing import Blocked, probe
from .imds_session import session_get

if TYPE_CHECKING:
    from ..host.protocols import HttpPart
    from ..probing import ProbeContext

TAGS_PATH = "latest/meta-data/tags/instance"
# Tag values are at most 256 characters; the tag key list of an instance is at most 50 keys.
TAG_LIMIT = 16 * 1024
# One MAC, one VPC id, a handful of CIDR blocks.
META_LIMIT = 4096

_MAC_RE = lazy_re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")


def _session(ctx: "ProbeContext") -> ImdsSession:
    result: IdentityResult = ctx.need(IMDS_IDENTITY)
    if result.session is None:
        raise Blocked(f"needs imds.identity: {result.detail}", "imds.identity")
    return result.session


@probe(IMDS_TAGS, parts=(HTTP,), needs=(IMDS_IDENTITY,))
def tags(ctx: "ProbeContext", http: "HttpPart") -> TagResult:
    """GuardDuty reads the exclusion tag through IMDS, so this sees what GuardDuty sees."""
    session = _session(ctx)
    try:
        resp = session_get(http, session, f"{TAGS_PATH}/{TAG_KEY}", TAG_LIMIT)
        if resp.status == 200:
            return TagResult(True, resp.body.decode("utf-8", errors="replace").strip())
        if resp.status != 404:
            raise CouldNotLook(f"IMDS answered the tag request with HTTP {resp.status}")
        listing = session_get(http, session, TAGS_PATH, TAG_LIMIT)
    except HttpFailure as exc:
        raise CouldNotLook(f"the tag request to IMDS failed ({exc.detail})") from None
    if listing.status == 404:
        return TagResult(False, None)
    if listing.status == 200:
        return TagResult(True, None)
    raise CouldNotLook(f"IMDS answered the tag list request with HTTP {listing.status}")


def parse_cidr_blocks(text: str) -> "Tuple[str, ...]":
    """``10.0.0.0/16\\n100.64.0.0/16`` -> ("10.0.0.0/16", "100.64.0.0/16"); junk lines dropped."""
    blocks = []
    for line in text.splitlines():
        try:
            blocks.append(str(ipaddress.ip_network(line.strip(), strict=False)))
        except ValueError:
            continue
    return tuple(blocks)


def _text(session: ImdsSession, http: "HttpPart", path: str) -> "Optional[str]":
    try:
        resp = session_get(http, session, path, META_LIMIT)
    except HttpFailure:
        return None
    if resp.status != 200 or resp.truncated:
        return None
    text = resp.body.decode("utf-8", errors="replace").strip()
    return "".join(ch for ch in text if ch.isprintable() or ch == "\n")


@probe(IMDS_NETWORK, parts=(HTTP,), needs=(IMDS_IDENTITY,))
def network(ctx: "ProbeContext", http: "HttpPart") -> NetworkInfo:
    """VPC id, subnet and CIDR blocks of the primary interface, for the endpoint checks."""
    session = _session(ctx)
    mac = (_text(session, http, "latest/meta-data/mac") or "").lower()
    if not _MAC_RE.match(mac):
        return NetworkInfo(None, None, None, ())
    base = f"latest/meta-data/network/interfaces/macs/{mac}/"
    vpc_id, subnet_id, cidrs = _texts(
        session, http, [base + "vpc-id", base + "subnet-id", base + "vpc-ipv4-cidr-blocks"]
    )
    return NetworkInfo(mac, vpc_id, subnet_id, parse_cidr_blocks(cidrs or ""))


def _texts(session: ImdsSession, http: "HttpPart", paths: "List[str]") -> "List[Optional[str]]":
    """Fetched at once, each on its own connection: one after another, every answer would
    wait on the one before it (and, from an IMDS that writes headers and body apart, on the
    client's delayed ACK). Each request keeps its own timeout within the run's deadline."""
    answers: List[Optional[str]] = [None] * len(paths)
    errors: List[BaseException] = []

    def fetch(index: int, path: str) -> None:
        try:
            answers[index] = _text(session, http, path)
        except BaseException as exc:  # re-raised below, in the probe's own thread
            errors.append(exc)

    threads = [threading.Thread(target=fetch, args=item, daemon=True) for item in enumerate(paths)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return answers
