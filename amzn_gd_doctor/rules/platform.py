"""Platform rules: kernel against GuardDuty's support matrix, BTF, CPU architecture.

Pure functions of facts; the matrix is static data from the catalogue.
"""

import re
from typing import Any, Dict, List, Optional, Tuple

from .. import catalog
from ..facts.agent import AGENT_PACKAGE, AgentPackage
from ..facts.family import FAMILY_BOTTLEROCKET, Bottlerocket
from ..facts.imds import IMDS_IDENTITY, IdentityResult
from ..facts.platform import (
    PLATFORM_ARCH,
    PLATFORM_BTF,
    PLATFORM_EC2_SIGNS,
    PLATFORM_KERNEL,
    PLATFORM_OS,
    BtfInfo,
    Ec2Signs,
    KernelRelease,
    OsInfo,
)
from ..facts.ssm import SSM_REGISTRATION, SsmRegistration
from ..model import (
    Confidence,
    Verdict,
    failed,
    inconclusive,
    not_applicable,
    passed,
    warned,
)
from ..registry import rule

Family = Tuple[int, int]


def parse_family(text: str) -> Family:
    major, minor = text.split(".")[:2]
    return int(major), int(minor)


def fmt(family: Family) -> str:
    return f"{family[0]}.{family[1]}"


def parse_agent_version(text: "Optional[str]") -> "Optional[Tuple[int, ...]]":
    """``1.9.2``, ``1.9.2-1.amzn2023`` or ``v1.17.1`` -> (1, 9, 2); junk -> None."""
    match = re.match(r"^v?(\d+(?:\.\d+)*)", (text or "").strip())
    return tuple(int(p) for p in match[1].split(".")) if match else None


def newest_family(matrix: "Dict[str, Any]", agent_version: "Optional[str]") -> "Tuple[Family, str]":
    """The newest kernel family the installed agent supports, or the newest known agent's."""
    parsed = parse_agent_version(agent_version)
    families: List[Family] = []
    for step in matrix["families_added_by_agent"]:
        if parsed is None or parse_agent_version(step["agent"]) <= parsed:  # type: ignore[operator]
            families += [parse_family(f) for f in step["families"]]
    if parsed is None:
        newest_agent = matrix["families_added_by_agent"][-1]["agent"]
        return max(families), f"the newest known agent (v{newest_agent})"
    return max(families), f"the installed agent v{agent_version}"


def match_distribution(
    matrix: "Dict[str, Any]", os_info: "Optional[OsInfo]"
) -> "Optional[Dict[str, Any]]":
    """The matrix row for this OS: exact VERSION_ID for dotted entries, major for plain ones."""
    if os_info is None or not os_info.id:
        return None
    for dist in matrix["distributions"]:
        if dist["id"] != os_info.id:
            continue
        for listed in dist["versions"]:
            major = os_info.version_id.split(".")[0]
            if os_info.version_id == listed or ("." not in listed and major == listed):
                return dict(dist)
    return None


def _installed_agent_version(agent: "Optional[AgentPackage]") -> "Optional[str]":
    return agent.version if agent is not None and agent.installed and agent.version else None


@rule(
    "platform.kernel_supported",
    title="Kernel within GuardDuty's supported range",
    facts=(PLATFORM_KERNEL,),
    optional=(PLATFORM_OS, AGENT_PACKAGE, FAMILY_BOTTLEROCKET),
    issues=("kernel_too_low", "kernel_too_high"),
)
def kernel_supported(
    kernel: KernelRelease,
    os_info: "Optional[OsInfo]",
    agent: "Optional[AgentPackage]",
    host: "Optional[Bottlerocket]" = None,
) -> Verdict:
    if kernel.family is None:
        return inconclusive(f"kernel release {kernel.raw[:80]!r} does not start with MAJOR.MINOR")
    if host is not None and host.found:  # GuardDuty's rule there is the release, not the kernel
        return _bottlerocket_kernel(kernel, host)
    matrix = catalog.kernel_matrix()
    family, lowest = kernel.family, parse_family(matrix["lowest_family"])
    if family < lowest:
        return failed(
            "kernel_too_low",
            f"kernel {kernel.raw} (family {fmt(family)}) is below "
            f"{fmt(lowest)}, the oldest family GuardDuty supports.",
        )
    newest, basis = newest_family(matrix, _installed_agent_version(agent))
    if family > newest:
        # Likely, not confirmed: the kernel is seen, but GuardDuty does not publish where
        # "higher" starts, and the newest family grows with every agent release.
        return failed(
            "kernel_too_high",
            f"kernel {kernel.raw} (family {fmt(family)}) is above "
            f"{fmt(newest)}, the newest family {basis} supports.",
            confidence=Confidence.LIKELY,
        )
    return _distribution_listed(kernel, family, os_info, matrix)


def _bottlerocket_kernel(kernel: KernelRelease, host: Bottlerocket) -> Verdict:
    """GuardDuty lists Bottlerocket by variant and release, not in the kernel matrix (its ECS-2
    variants use kernel 6.1 and ECS-3 6.12): platform.bottlerocket_supported judges it."""
    return passed(
        f"kernel {kernel.raw} comes with {host.label}: GuardDuty judges Bottlerocket by its "
        "variant and release, not by this matrix (the Bottlerocket release check judges it)."
    )


def _distribution_listed(
    kernel: KernelRelease,
    family: Family,
    os_info: "Optional[OsInfo]",
    matrix: "Dict[str, Any]",
) -> Verdict:
    """In range is not the whole story: GuardDuty lists the families it verified per
    distribution, and an unlisted one only warns, since coverage may still be healthy."""
    dist = match_distribution(matrix, os_info)
    if os_info is None:
        return warned(
            f"kernel family {fmt(family)} is in range; the distribution could not be read "
            "(see the distribution check), so whether GuardDuty lists it is unknown."
        )
    if dist is None:
        return warned(
            f"kernel family {fmt(family)} is in range, but {os_info.label} is not a "
            "distribution GuardDuty lists: not verified by GuardDuty, coverage may "
            "still be healthy."
        )
    if fmt(family) not in dist["families"]:
        return warned(
            f"kernel family {fmt(family)} is in range, but not verified by GuardDuty "
            f"for {dist['name']} (listed: {', '.join(dist['families'])}); coverage "
            "may still be healthy."
        )
    return passed(f"kernel {kernel.raw} (family {fmt(family)}) is supported on {os_info.label}.")


@rule(
    "platform.btf_present",
    title="Kernel BTF type information for the agent's eBPF programs",
    facts=(PLATFORM_BTF,),
    requires=("platform.kernel_supported",),
    issues=("no_agent_reporting",),
)
def btf_present(btf: BtfInfo) -> Verdict:
    if btf.present:
        return passed("/sys/kernel/btf/vmlinux is present (CONFIG_DEBUG_INFO_BTF=y).")
    # Likely: the missing file is seen, but that the agent fails for it is GuardDuty's stated
    # prerequisite, not seen here (agent.btf_errors confirms it from the agent's own lines).
    return failed(
        "no_agent_reporting",
        "the kernel has no BTF type information (/sys/kernel/btf/vmlinux is missing: it was "
        "built without CONFIG_DEBUG_INFO_BTF=y), so the agent cannot load its eBPF programs "
        "(it logs 'libbpf: failed to find valid kernel BTF') and never reports.",
        fix=(
            "Boot a kernel built with CONFIG_DEBUG_INFO_BTF=y (the distribution's standard "
            "EC2 kernels are); check with `ls /sys/kernel/btf/vmlinux`.",
        ),
        confidence=Confidence.LIKELY,
    )


@rule(
    "platform.arch_supported",
    title="CPU architecture and instance family",
    facts=(),
    optional=(PLATFORM_ARCH, IMDS_IDENTITY),
    issues=("ssm_association_execution_failed",),
)
def arch_supported(machine: "Optional[str]", identity: "Optional[IdentityResult]") -> Verdict:
    matrix = catalog.kernel_matrix()
    doc = identity.document if identity else None
    arch = (doc.architecture if doc and doc.architecture else machine) or ""
    arch = matrix["architecture_aliases"].get(arch, arch)
    itype = doc.instance_type if doc else None
    if not arch:
        return inconclusive(
            "architecture unknown: no identity document and no `uname -m` "
            "(under --root the architecture is not read from files)"
        )
    return _arch_verdict(arch, itype, matrix)


def _arch_verdict(arch: str, itype: "Optional[str]", matrix: "Dict[str, Any]") -> Verdict:
    """The instance family is judged before the architecture: a1 is arm64, which is otherwise
    supported, but first-generation Graviton is not."""
    family = (itype or "").split(".")[0]
    on = f" on {itype}" if itype else ""
    if family in matrix["unsupported_instance_families"]:
        return failed(
            "ssm_association_execution_failed",
            f"instance type {itype} is first-"
            "generation Graviton (a1), which the agent does not support.",
            fix=("Move to a Graviton2 or newer type (m6g, c7g, ...) or to x86_64.",),
        )
    if arch not in matrix["architectures"]:
        return failed(
            "ssm_association_execution_failed",
            f"architecture {arch}{on} is not "
            "supported; the agent runs on x86_64 and arm64 (Graviton2 or newer).",
        )
    return passed(f"architecture {arch}{on} is supported.")


@rule(
    "platform.ec2_instance",
    title="This machine is an EC2 instance",
    facts=(PLATFORM_EC2_SIGNS,),
    optional=(SSM_REGISTRATION,),
)
def ec2_instance(signs: Ec2Signs, registration: "Optional[SsmRegistration]") -> Verdict:
    """Warns only on a machine that is neither EC2 nor an SSM hybrid node: the report then says
    first that GuardDuty's EC2 Runtime Monitoring does not cover it."""
    managed = (registration.managed_instance_id if registration else None) or ""
    if signs.is_ec2:
        return passed(f"this machine is an EC2 instance ({signs.describe()}).")
    if managed.startswith("mi-"):
        return not_applicable(
            f"an SSM hybrid node ({managed}), not an EC2 instance ({signs.describe()})."
        )
    if signs.is_ec2 is None:
        return not_applicable(f"whether this is an EC2 instance is unknown: {signs.describe()}.")
    return warned(
        f"this machine is not an EC2 instance ({signs.describe()}), nor an SSM hybrid node: "
        "GuardDuty's EC2 Runtime Monitoring does not cover it, so no console issue applies "
        "to it."
    )


@rule("platform.os_identified", title="The distribution is identified", facts=(PLATFORM_OS,))
def os_identified(os_info: OsInfo) -> Verdict:
    """Where the distribution comes from; a malformed os-release shows here as could-not-look,
    not as a distribution nobody has heard of."""
    if not os_info.found:
        return warned("no /etc/os-release or /usr/lib/os-release: the distribution is unknown.")
    if not (os_info.id or os_info.name):
        return warned("os-release names no distribution (no ID or NAME).")
    ids = ", ".join(
        f"{k} {v!r}" for k, v in (("ID", os_info.id), ("VERSION_ID", os_info.version_id)) if v
    )
    return passed(f"{os_info.label} ({ids}).")
