"""Network probe: the GuardDuty endpoint names this host's agent sends to, from the region
(identity document, or --region) and the kernel's FIPS mode. Reads
/proc/sys/crypto/fips_enabled (world-readable); needs no privilege.
"""

from typing import TYPE_CHECKING, Optional, Tuple

from .. import lazy_re
from ..facts.imds import IMDS_IDENTITY
from ..facts.network import FIPS, LINK_LOCAL, NET_ENDPOINTS, STANDARD, Endpoint, Endpoints
from ..host import CouldNotLook
from ..host.protocols import FILES
from ..probing import Blocked, probe

if TYPE_CHECKING:
    from ..host.protocols import FilesPart
    from ..probing import ProbeContext

FIPS_PATH = "/proc/sys/crypto/fips_enabled"
# The file holds "0\n" or "1\n".
FIPS_LIMIT = 16

_REGION_RE = lazy_re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")


def parse_fips_enabled(data: bytes) -> bool:
    """``1\\n`` -> True; anything else (``0\\n``) -> False."""
    return data.strip() == b"1"


def endpoint_names(region: str, fips: "Optional[bool]") -> "Tuple[Endpoint, ...]":
    names = [
        Endpoint(
            f"guardduty-data.{region}.amazonaws.com",
            STANDARD,
            "through the interface VPC endpoint com.amazonaws."
            f"{region}.guardduty-data with private DNS",
        ),
        Endpoint(
            f"guardduty-data-v2.{region}.amazonaws.com",
            LINK_LOCAL,
            "link-local path tried first by agent v1.17.1 and later (no private DNS)",
        ),
    ]
    if fips:
        names.append(
            Endpoint(
                f"guardduty-data-fips.{region}.amazonaws.com",
                FIPS,
                "FIPS endpoint; that the agent uses it in FIPS mode is not confirmed",
            )
        )
    return tuple(names)


@probe(NET_ENDPOINTS, parts=(FILES,), needs=(IMDS_IDENTITY,))
def endpoints(ctx: "ProbeContext", files: "FilesPart") -> Endpoints:
    """Names only: nothing is contacted here."""
    region, source = ctx.options.region, "--region"
    if not region:
        identity = ctx.need(IMDS_IDENTITY)
        document = identity.document
        if document is None:
            detail = identity.detail or "no identity document"
            raise Blocked(
                f"no region: {detail} (pass --region to check the network path anyway)",
                "imds.identity",
            )
        region, source = document.region, "the identity document"
    if not _REGION_RE.match(region):
        raise CouldNotLook(f"{region[:40]!r} is not an AWS region name (such as us-east-1)")
    try:
        fips: Optional[bool] = parse_fips_enabled(files.read_bytes(FIPS_PATH, FIPS_LIMIT))
    except FileNotFoundError:
        fips = False  # a kernel built without FIPS support has no such file
    except OSError:
        fips = None
    return Endpoints(region, source, fips, endpoint_names(region, fips))
