"""Facts from the instance metadata service: the identity document, tags, the network."""

from typing import Optional, Tuple

from ..values import value
from . import Key

# The instance tag GuardDuty reads to tell whether it manages the agent.
TAG_KEY = "GuardDutyManaged"


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


@value
class ImdsConfig:
    base_url: str
    disabled: bool
    v1_disabled: bool
    timeout: float
    attempts: int
    source: str


@value
class ImdsSession:
    """How this run talks to IMDS: with a token (v2) or without (v1 fallback). The probes
    make their requests through it (``probes/imds_session.py``)."""

    config: ImdsConfig
    token: "Optional[str]"
    notes: "Tuple[str, ...]" = ()
    # The token PUT got no answer while a plain GET did (what a hop limit of 1 looks like).
    put_unanswered: bool = False

    @property
    def version(self) -> str:
        return "IMDSv2" if self.token else "IMDSv1"


@value
class IdentityResult:
    """What IMDS gave: a document, or the failure kind and a sentence describing it."""

    config: ImdsConfig
    session: "Optional[ImdsSession]"
    document: "Optional[IdentityDocument]"
    failure: "Optional[str]" = None
    detail: "Optional[str]" = None


@value
class TagResult:
    tags_in_metadata: bool
    value: "Optional[str]"


@value
class NetworkInfo:
    mac: "Optional[str]"
    vpc_id: "Optional[str]"
    subnet_id: "Optional[str]"
    vpc_cidrs: "Tuple[str, ...]"


IMDS_IDENTITY = Key("imds.identity", IdentityResult, "the instance identity document")
IMDS_TAGS = Key("imds.tags", TagResult, "the instance's tags in IMDS")
IMDS_NETWORK = Key("imds.network", NetworkInfo, "the VPC details from IMDS")
