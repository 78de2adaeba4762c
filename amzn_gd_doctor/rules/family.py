"""Host-family rules: GuardDuty's own rule for Bottlerocket (which variants and releases), its
agent there (the host container amazon-guardduty-agent), the ECS guide's prerequisites on an
ECS container instance, and whose coverage an EKS node is.

Pure functions of the family.* facts (and platform.kernel, agent.package where given). Sources
and quotes: docs/families.md.
"""

from typing import Optional, Tuple

from ..facts.agent import AGENT_PACKAGE, AgentPackage
from ..facts.family import (
    BOTTLEROCKET_ECS_GENERATIONS,
    BOTTLEROCKET_SUPPORTED_FROM,
    EKS_COVERAGE_DOC,
    FAMILY_BOTTLEROCKET,
    FAMILY_CONTAINER_JOURNAL,
    FAMILY_ECS,
    FAMILY_EKS,
    GUARDDUTY_CONTAINER,
    HOST_VIEW,
    Bottlerocket,
    ContainerJournal,
    EcsInstance,
    EksNode,
    HostContainer,
    version_tuple,
)
from ..facts.platform import PLATFORM_KERNEL, KernelRelease
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

SUPPORTED = "aws-ecs-2 or aws-ecs-3, any -nvidia or -fips build, from release 1.62.1"
# The ECS guide's prerequisites for Runtime Monitoring on EC2 container instances
# (ecs-guard-duty-configure-manual-customize.html; the kernel floor from its Chinese page).
ECS_AGENT_MIN = (1, 77, 0)
ECS_KERNEL_MIN = (5, 10)
ECS_METADATA = "curl -s http://localhost:51678/v1/metadata"
ECS_FIX = (
    "Update the ECS agent (`sudo yum update -y ecs-init`, then `sudo systemctl restart ecs`), or "
    "move to a current ECS-optimized AMI (20230929 or later)."
)
BY_HAND_SETTINGS = f"apiclient get settings.host-containers.{GUARDDUTY_CONTAINER}"
BY_HAND_JOURNAL = f"sudo sheltie journalctl -u host-containers@{GUARDDUTY_CONTAINER}"
CHECK_CONTAINER = (
    "Verify that the agent host container is enabled and running: from the admin container "
    f"`{BY_HAND_SETTINGS}` and `{BY_HAND_JOURNAL}`.",
)


@rule(
    "platform.bottlerocket_supported",
    title="Bottlerocket variant and release within GuardDuty's support",
    facts=(FAMILY_BOTTLEROCKET,),
    issues=("bottlerocket_release_unsupported",),
)
def bottlerocket_supported(host: Bottlerocket) -> Verdict:
    """GuardDuty judges Bottlerocket by its variant and release, not by its kernel."""
    if not host.found:
        return not_applicable("not Bottlerocket (no os-release with ID=bottlerocket).")
    if host.orchestrator == "k8s":
        return not_applicable(
            f"{host.label} is an EKS variant: GuardDuty covers it with its EKS add-on, not as "
            "an EC2 instance (see the check of whose coverage this instance is)."
        )
    if host.orchestrator == "ecs" and host.version is None:
        return inconclusive(
            f"{host.label}: VERSION_ID {host.version_id!r} in {host.release_file} is not a "
            "release number, so GuardDuty's support cannot be told."
        )
    if host.ecs_generation not in BOTTLEROCKET_ECS_GENERATIONS:
        return _other_variant(host)
    if (host.version or (0, 0, 0)) >= BOTTLEROCKET_SUPPORTED_FROM:
        return passed(f"{host.label} is in GuardDuty's support ({SUPPORTED}).")
    return failed(
        "bottlerocket_release_unsupported",
        f"{host.label} is older than 1.62.1, the first release of aws-ecs-2 and aws-ecs-3 "
        "that GuardDuty supports.",
    )


def _other_variant(host: Bottlerocket) -> Verdict:
    """aws-ecs-1 is an ECS variant GuardDuty does not list (the console's message for it is not
    published); other variants (aws-dev, metal, vmware) are not EC2 ECS hosts it covers."""
    if host.orchestrator == "ecs":
        return failed(
            "bottlerocket_release_unsupported",
            f"{host.label}: GuardDuty supports only {SUPPORTED}; for aws-ecs-1 the console's "
            "message is not published, this one is the closest.",
            confidence=Confidence.SUSPECTED,
        )
    return warned(
        f"{host.label} is not a variant GuardDuty lists for EC2 ({SUPPORTED}; EKS variants are "
        "covered by its EKS add-on): coverage is not expected."
    )


@rule(
    "agent.host_container",
    title="GuardDuty's agent host container on Bottlerocket",
    facts=(FAMILY_BOTTLEROCKET,),
    optional=(FAMILY_CONTAINER_JOURNAL,),
    issues=("bottlerocket_no_agent_reporting", "ecr_image_pull_failed"),
)
def host_container(host: Bottlerocket, journal: "Optional[ContainerJournal]") -> Verdict:
    """On Bottlerocket the agent is the host container amazon-guardduty-agent, deployed by
    GuardDuty's SSM association (Distributor) and pulled from Amazon ECR by host-ctr."""
    if not host.found:
        return not_applicable("not Bottlerocket: the agent is a package here.")
    if host.orchestrator == "k8s":
        return not_applicable(
            f"{host.label} is an EKS variant: its agent is the EKS add-on's pod, not a host "
            "container."
        )
    if host.view != HOST_VIEW:
        return inconclusive(
            f"{host.label} seen from its {host.view}, which does not see the host's "
            f"host-container settings, journal or processes: run `{BY_HAND_SETTINGS}` here, "
            "or the doctor on the host's root (the admin container's /.bottlerocket/rootfs)."
        )
    agent = host.container(GUARDDUTY_CONTAINER)
    if agent is None or agent.enabled is False:
        return _not_deployed(host, agent)
    pulls = _pull_failed(journal)
    return pulls or _deployed(host, agent, journal)


def _not_deployed(host: Bottlerocket, agent: "Optional[HostContainer]") -> Verdict:
    """No amazon-guardduty-agent in the settings, or disabled: the agent is not running."""
    if agent is not None:
        seen = f"{GUARDDUTY_CONTAINER} is disabled (enabled = false in {agent.seen_in})"
    elif host.settings_read:
        seen = (
            f"no host container {GUARDDUTY_CONTAINER} among those configured (no env file of it "
            f"in {', '.join(host.settings_read)})"
        )
    elif host.containers:
        seen = (
            f"no {GUARDDUTY_CONTAINER} among the host containers' storage in "
            f"/local/host-containers ({', '.join(c.name for c in host.containers)})"
        )
    else:
        return inconclusive(
            f"{host.label}: neither /etc/host-containers nor /local/host-containers could be "
            f"read{_problems(host)}, so whether {GUARDDUTY_CONTAINER} is deployed is unknown."
        )
    return failed(
        "bottlerocket_no_agent_reporting",
        f"{host.label}: {seen}, so no agent reports. GuardDuty's SSM association deploys it "
        "(the SSM agent runs in the control container), and host-ctr pulls its image from "
        "Amazon ECR: the association or the pull has not happened.",
        confidence=Confidence.CONFIRMED if host.settings_read else Confidence.SUSPECTED,
    )


def _pull_failed(journal: "Optional[ContainerJournal]") -> "Optional[Verdict]":
    if journal is None or journal.latest_pull != "failed":
        return None
    return failed(
        "ecr_image_pull_failed",
        f"the agent's image was not pulled: host-ctr logged {journal.pull_failures} failed "
        f"pull{'' if journal.pull_failures == 1 else 's'} in the journal of "
        f"host-containers@{GUARDDUTY_CONTAINER}, and no successful one since.",
        evidence=tuple(f"journal: {line}" for line in journal.samples),
        confidence=Confidence.SUSPECTED,
    )


def _deployed(
    host: Bottlerocket, agent: HostContainer, journal: "Optional[ContainerJournal]"
) -> Verdict:
    source = f", image {agent.source}" if agent.source else ""
    pulls = ""
    if journal is not None and journal.pulls:
        earlier = f" after {journal.pull_failures} failed" if journal.pull_failures else ""
        pulls = f"; host-ctr pulled its image{earlier}"
    if agent.enabled is None:
        return warned(
            f"the host container {GUARDDUTY_CONTAINER} is there ({agent.seen_in}), but whether "
            "it is enabled could not be read (a copy of the disk lacks /etc, a tmpfs on "
            f"Bottlerocket{_problems(host)}){pulls}.",
            fix=CHECK_CONTAINER,
        )
    return passed(
        f"the host container {GUARDDUTY_CONTAINER} is enabled ({agent.seen_in}{source}){pulls}."
    )


def _problems(host: Bottlerocket) -> str:
    return f"; {'; '.join(host.problems)}" if host.problems else ""


@rule(
    "platform.ecs_agent",
    title="ECS container instance: the ECS guide's prerequisites for Runtime Monitoring",
    facts=(FAMILY_ECS,),
    optional=(PLATFORM_KERNEL, FAMILY_BOTTLEROCKET),
)
def ecs_agent(
    ecs: EcsInstance, kernel: "Optional[KernelRelease]", host: "Optional[Bottlerocket]"
) -> Verdict:
    """GuardDuty covers an ECS container instance as an EC2 instance (its issues show under EC2
    coverage, with the cluster's ARN); the ECS guide adds its own floor for the ECS agent and
    the kernel."""
    if not ecs.found:
        return not_applicable(
            "not an ECS container instance (no ecs.service, ecs-init or ecs.config)."
        )
    where = f"ECS container instance of cluster {ecs.cluster_name}"
    if host is not None and host.found:
        return not_applicable(
            f"{where} on {host.label}: there GuardDuty's rule is the Bottlerocket release "
            "(see the check of Bottlerocket's variant and release)."
        )
    short = _ecs_shortfalls(ecs, kernel)
    if short:
        return warned(
            f"{where}: {'; '.join(short)}. The ECS guide asks for ECS agent 1.77 or later and "
            "kernel 5.10 or later for Runtime Monitoring.",
            fix=(ECS_FIX,),
        )
    return passed(
        f"{where}: ECS agent {ecs.agent_version} and kernel {kernel.raw if kernel else '?'} meet "
        "the ECS guide's floor (1.77, 5.10); this instance's coverage issues show under EC2 "
        f"instances (with the cluster's ARN) and make cluster {ecs.cluster_name} unhealthy too."
    )


def _ecs_shortfalls(ecs: EcsInstance, kernel: "Optional[KernelRelease]") -> "Tuple[str, ...]":
    found = []
    version = version_tuple(ecs.agent_version)
    if version is None:
        found.append(
            f"the ECS agent's version is not in its logs{_listed(ecs.problems)} "
            f"(`{ECS_METADATA}` shows it)"
        )
    elif version < ECS_AGENT_MIN:
        found.append(f"ECS agent {ecs.agent_version} is older than 1.77 ({ecs.version_source})")
    if kernel is None or kernel.family is None:
        found.append("the kernel's version is unknown")
    elif kernel.family < ECS_KERNEL_MIN:
        found.append(f"kernel {kernel.raw} is older than 5.10")
    return tuple(found)


def _listed(problems: "Tuple[str, ...]") -> str:
    return f" ({'; '.join(problems)})" if problems else ""


@rule(
    "platform.coverage_owner",
    title="Whose coverage this instance is: EC2 Runtime Monitoring's, or EKS's",
    facts=(FAMILY_EKS,),
    optional=(FAMILY_BOTTLEROCKET, AGENT_PACKAGE),
)
def coverage_owner(
    eks: EksNode, host: "Optional[Bottlerocket]", agent: "Optional[AgentPackage]"
) -> Verdict:
    """Warns when GuardDuty's EKS Runtime Monitoring covers this instance: the report then says
    first that EC2 coverage does not decide it, and points to EKS coverage troubleshooting."""
    cluster = f"cluster {eks.cluster}" if eks.cluster else "its cluster unread"
    if eks.found and eks.addon:
        return _addon_runs(eks, cluster, agent is not None and agent.installed)
    if host is not None and host.found and host.orchestrator == "k8s":
        return warned(
            f"this instance's coverage is EKS Runtime Monitoring's ({host.label} is an EKS "
            "variant, covered by the aws-guardduty-agent add-on, whose pod was not seen here): "
            f"see {EKS_COVERAGE_DOC}."
        )
    if not eks.found:
        return not_applicable("not an EKS node: EC2 Runtime Monitoring's coverage applies.")
    return passed(
        f"an EKS node ({cluster}) without GuardDuty's EKS add-on (no aws-guardduty-agent pod "
        "log under /var/log/containers or /var/log/pods): EC2 Runtime Monitoring covers it."
    )


def _addon_runs(eks: EksNode, cluster: str, ec2_agent: bool) -> Verdict:
    """The EKS agent takes priority over an EC2 agent on the same instance (agent v1.1.0 on)."""
    idle = " The EC2 agent installed here stays idle by design: EKS's takes priority."
    return warned(
        "this instance's coverage is EKS Runtime Monitoring's (the aws-guardduty-agent add-on "
        f"runs here; EKS node, {cluster}): see {EKS_COVERAGE_DOC}.{idle if ec2_agent else ''}",
        evidence=eks.addon[:3],
    )
