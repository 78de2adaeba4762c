"""The report header: who and what this host is, from facts already observed."""

from typing import TYPE_CHECKING, Any, Mapping

from .model import Fact, HostSummary

if TYPE_CHECKING:
    from .doctor import Options


def _value(facts: "Mapping[str, Fact]", probe_id: str) -> Any:
    fact = facts.get(probe_id)
    return fact.value if fact is not None and fact.ok else None


def host_summary(facts: "Mapping[str, Fact]", options: "Options") -> HostSummary:
    identity = _value(facts, "imds.identity")
    doc = getattr(identity, "document", None)
    kernel = _value(facts, "platform.kernel")
    os_info = _value(facts, "platform.os")
    network = _value(facts, "imds.network")
    machine = _value(facts, "platform.arch")
    package = _value(facts, "agent.package")
    return HostSummary(
        instance_id=getattr(doc, "instance_id", None),
        region=getattr(doc, "region", None) or options.region,
        account_id=getattr(doc, "account_id", None),
        instance_type=getattr(doc, "instance_type", None),
        kernel=getattr(kernel, "raw", None),
        os=str(os_info.label) if getattr(os_info, "id", "") else None,
        arch=getattr(doc, "architecture", None) or (str(machine) if machine else None),
        vpc_id=getattr(network, "vpc_id", None),
        subnet_id=getattr(network, "subnet_id", None),
        vpc_cidrs=tuple(getattr(network, "vpc_cidrs", ()) or ()),
        agent_version=getattr(package, "version", None),
    )
