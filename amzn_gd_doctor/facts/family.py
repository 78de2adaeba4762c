"""Facts about the host's family, beside its distribution: Bottlerocket (its release, variant
and host containers), an ECS container instance (its cluster and ECS agent) and an EKS node (its
cluster and GuardDuty's EKS add-on). Each says ``found=False`` on a host of another family.

The names and paths come from the families' own sources (docs/families.md gives each one's).
"""

from typing import Optional, Tuple

from .. import lazy_re
from ..values import value
from . import Key

# Bottlerocket's host containers (host-ctr): GuardDuty's agent on the ECS variants, and the
# control container, where the SSM agent runs.
GUARDDUTY_CONTAINER = "amazon-guardduty-agent"
CONTROL_CONTAINER = "control"
# Where the doctor reads a Bottlerocket host from: its own files (a copy of its disk, or the
# admin container's /.bottlerocket/rootfs), or from inside its control container, which sees
# the host's os-release and its own storage, not the host's /etc, /var/log or processes.
HOST_VIEW = "host"
CONTROL_VIEW = "control container"
CONTAINER_VIEW = "host container"
# GuardDuty covers the ECS variants aws-ecs-2 and aws-ecs-3 (any -nvidia or -fips build) from
# this Bottlerocket release on (managing-gdu-agent-bottlerocket-ecs-ec2.html).
BOTTLEROCKET_SUPPORTED_FROM = (1, 62, 1)
BOTTLEROCKET_ECS_GENERATIONS = (2, 3)
# The GuardDuty EKS add-on: DaemonSet aws-guardduty-agent in namespace amazon-guardduty.
ADDON_NAMESPACE = "amazon-guardduty"
ADDON_NAME = "aws-guardduty-agent"
EKS_COVERAGE_DOC = (
    "https://docs.aws.amazon.com/guardduty/latest/ug/eks-runtime-monitoring-coverage.html"
)

_VARIANT_RE = lazy_re.compile(r"^aws-(ecs|k8s)-([0-9][0-9.]*)((?:-[a-z0-9]+)*)$")
_VERSION_RE = lazy_re.compile(r"^v?([0-9]{1,6})\.([0-9]{1,6})(?:\.([0-9]{1,6}))?")


def version_tuple(text: str) -> "Optional[Tuple[int, int, int]]":
    """``1.62.1`` (or ``v1.62.1-rc1``, ``1.77``) -> (1, 62, 1); anything else -> None."""
    match = _VERSION_RE.match(text.strip())
    if not match:
        return None
    return int(match[1]), int(match[2]), int(match[3] or 0)


@value
class HostContainer:
    """One of Bottlerocket's host containers, as its settings (or only its storage) show it."""

    name: str
    enabled: "Optional[bool]"  # None: its settings were not read, only its storage was seen
    source: str = ""  # the image, printable and shortened
    seen_in: str = ""  # the file or directory that names it


@value
class Bottlerocket:
    found: bool
    view: str = ""  # HOST_VIEW, CONTROL_VIEW or CONTAINER_VIEW
    release_file: str = ""  # the os-release read (/etc/bottlerocket-release in a container)
    variant_id: str = ""
    version_id: str = ""
    build_id: str = ""
    containers: "Tuple[HostContainer, ...]" = ()
    settings_read: "Tuple[str, ...]" = ()  # where the host containers' settings were read
    ssm_state: str = ""  # the control container's SSM state as seen from here, "" if unseen
    problems: "Tuple[str, ...]" = ()  # files there but unreadable, each with why

    @property
    def version(self) -> "Optional[Tuple[int, int, int]]":
        return version_tuple(self.version_id)

    @property
    def orchestrator(self) -> str:
        """``ecs`` or ``k8s`` for the aws-ecs-N and aws-k8s-1.NN variants, else ""."""
        match = _VARIANT_RE.match(self.variant_id)
        return match[1] if match else ""

    @property
    def ecs_generation(self) -> "Optional[int]":
        """2 for aws-ecs-2, aws-ecs-2-nvidia and aws-ecs-2-nvidia-fips; None off ECS."""
        match = _VARIANT_RE.match(self.variant_id)
        if not match or match[1] != "ecs" or not match[2].isdigit():
            return None
        return int(match[2])

    @property
    def label(self) -> str:
        return f"Bottlerocket {self.version_id or '(release unknown)'} ({self.variant_id or '?'})"

    def container(self, name: str) -> "Optional[HostContainer]":
        return next((c for c in self.containers if c.name == name), None)


@value
class EcsInstance:
    found: bool
    cluster: str = ""  # ECS_CLUSTER; "" when unset or empty, which the ECS agent calls default
    cluster_source: str = ""  # the file ECS_CLUSTER was read from, "" when none said
    agent_version: str = ""  # the ECS agent's version from its log, "" when not found
    version_source: str = ""
    signs: "Tuple[str, ...]" = ()  # the files that make it an ECS container instance
    problems: "Tuple[str, ...]" = ()

    @property
    def cluster_name(self) -> str:
        return self.cluster or "default"


@value
class EksNode:
    found: bool
    cluster: str = ""  # the cluster's name (its id on a local Outposts cluster), "" if unread
    cluster_source: str = ""
    bootstrap: str = ""  # "nodeadm", "bootstrap.sh" or "bottlerocket"; "" when not seen
    addon: "Tuple[str, ...]" = ()  # the EKS add-on's agent: its pod log files and directories
    signs: "Tuple[str, ...]" = ()
    problems: "Tuple[str, ...]" = ()


@value
class ContainerJournal:
    """What host-ctr logged for GuardDuty's host container in the journal: its image pulls."""

    entries: int  # entries of the host container read
    pull_failures: int  # "failed to pull image" and "retries exhausted" entries
    pulls: int  # "pulled image successfully" entries
    latest_pull: str  # "failed", "pulled", or "" when no pull was logged
    samples: "Tuple[str, ...]" = ()  # the latest failure lines, printable
    problems: "Tuple[str, ...]" = ()


FAMILY_BOTTLEROCKET = Key(
    "family.bottlerocket", Bottlerocket, "Bottlerocket's release and host containers"
)
FAMILY_ECS = Key("family.ecs", EcsInstance, "the ECS container instance's cluster and agent")
FAMILY_EKS = Key("family.eks", EksNode, "the EKS node's cluster and add-on")
FAMILY_CONTAINER_JOURNAL = Key(
    "family.agent_container_journal",
    ContainerJournal,
    "the journal of GuardDuty's host container",
)
