"""The report header: who and what this host is, from facts already observed."""

from typing import TYPE_CHECKING, Mapping, Optional, TypeVar

from .facts.agent import AGENT_PACKAGE
from .facts.imds import IMDS_IDENTITY, IMDS_NETWORK
from .facts.platform import PLATFORM_ARCH, PLATFORM_KERNEL, PLATFORM_OS
from .model import Fact, HostSummary

if TYPE_CHECKING:
    from .facts import Key
    from .probing import Options

T = TypeVar("T")


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
    return HostSummary(
        instance_id=doc.instance_id if doc else None,
        region=(doc.region if doc else None) or options.region,
        account_id=doc.account_id if doc else None,
        instance_type=doc.instance_type if doc else None,
        kernel=kernel.raw if kernel else None,
        os=os_info.label if os_info and os_info.id else None,
        arch=(doc.architecture if doc else None) or machine or None,
        vpc_id=network.vpc_id if network else None,
        subnet_id=network.subnet_id if network else None,
        vpc_cidrs=network.vpc_cidrs if network else (),
        agent_version=package.version if package else None,
    )
