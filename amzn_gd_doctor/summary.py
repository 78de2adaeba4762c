"""The report header: who and what this host is, from facts already observed."""

from typing import TYPE_CHECKING, Mapping, Optional, TypeVar

from .facts.agent import AGENT_PACKAGE
from .facts.family import (
    CONTROL_VIEW,
    FAMILY_BOTTLEROCKET,
    FAMILY_ECS,
    FAMILY_EKS,
    Bottlerocket,
    EcsInstance,
    EksNode,
)
from .facts.imds import IMDS_IDENTITY, IMDS_NETWORK
from .facts.platform import PLATFORM_ARCH, PLATFORM_KERNEL, PLATFORM_OS
from .model import Fact, HostSummary

if TYPE_CHECKING:
    from .facts import Key
    from .probing import Options

T = TypeVar("T")
# Where Bottlerocket's admin container sees the host's root file system (cli_app reads the host
# there when run in it).
ADMIN_ROOTFS = "/.bottlerocket/rootfs"


def _value(facts: "Mapping[str, Fact]", key: "Key[T]") -> "Optional[T]":
    fact = facts.get(key.id)
    return fact.value if fact is not None and fact.ok else None


def host_summary(facts: "Mapping[str, Fact]", options: "Options") -> HostSummary:
    identity = _value(facts, IMDS_IDENTITY)
    doc = identity.document if identity is not None else None
    kernel = _value(facts, PLATFORM_KERNEL)
    os_info = _value(facts, PLATFORM_OS)
    network = _value(facts, IMDS_NETWORK)
    machine = _value(facts, PLATFORM_ARCH)
    package = _value(facts, AGENT_PACKAGE)
    bottlerocket = _value(facts, FAMILY_BOTTLEROCKET)
    family = family_line(
        bottlerocket, _value(facts, FAMILY_ECS), _value(facts, FAMILY_EKS), options.root
    )
    os_label = os_info.label if os_info and os_info.id else None
    return HostSummary(
        instance_id=doc.instance_id if doc else None,
        region=(doc.region if doc else None) or options.region,
        account_id=doc.account_id if doc else None,
        instance_type=doc.instance_type if doc else None,
        kernel=kernel.raw if kernel else None,
        os="Bottlerocket" if bottlerocket and bottlerocket.found else os_label,
        arch=(doc.architecture if doc else None) or machine or None,
        vpc_id=network.vpc_id if network else None,
        subnet_id=network.subnet_id if network else None,
        vpc_cidrs=network.vpc_cidrs if network else (),
        agent_version=package.version if package else None,
        family=family or None,
    )


def family_line(
    bottlerocket: "Optional[Bottlerocket]",
    ecs: "Optional[EcsInstance]",
    eks: "Optional[EksNode]",
    root: "Optional[str]" = None,
) -> str:
    """The family beside the distribution, for the host line: "release 1.62.1, variant aws-ecs-2;
    ECS container instance, cluster prod", or "" for a host of no family."""
    parts = []
    if bottlerocket is not None and bottlerocket.found:
        where = ", seen from its control container" if bottlerocket.view == CONTROL_VIEW else ""
        if root is not None and root.rstrip("/") == ADMIN_ROOTFS:
            where = f", read at {ADMIN_ROOTFS} from its admin container"
        parts.append(
            f"release {bottlerocket.version_id or '?'}, variant {bottlerocket.variant_id or '?'}"
            + where
        )
    if ecs is not None and ecs.found:
        agent = f", ECS agent {ecs.agent_version}" if ecs.agent_version else ""
        parts.append(f"ECS container instance, cluster {ecs.cluster_name}{agent}")
    if eks is not None and eks.found:
        addon = ", GuardDuty's EKS add-on runs here" if eks.addon else ""
        parts.append(f"EKS node, cluster {eks.cluster or 'unknown'}{addon}")
    return "; ".join(parts)
