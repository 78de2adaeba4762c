"""Whether the GuardDuty agent is installed, and if not, whether SSM could install it: a
missing agent is "Waiting for SSM notification" without an SSM agent, an empty message with one.
Where the agent is not a package (Bottlerocket's host container, the EKS add-on's pod) the check
does not apply, and says where the agent comes from instead: it is never installed by hand there.

Pure functions of ``agent.package`` and ``ssm.agent`` (and ``family.*`` where given).
"""

from typing import Optional

from ..facts.agent import (
    AGENT_PACKAGE,
    PACKAGE,
    AgentPackage,
)
from ..facts.family import (
    FAMILY_BOTTLEROCKET,
    FAMILY_EKS,
    GUARDDUTY_CONTAINER,
    Bottlerocket,
    EksNode,
)
from ..facts.ssm import SSM_AGENT, SsmAgent
from ..model import Confidence, Verdict, failed, not_applicable, passed
from ..registry import rule
from .agent_common import (
    MANUAL_INSTALL,
)


def _absent_summary(pkg: AgentPackage) -> str:
    left = " (only its configuration files remain)" if pkg.state == "config-files" else ""
    return f"{PACKAGE} is not installed{left}"


@rule(
    "agent.installed",
    title="GuardDuty agent package installed",
    facts=(AGENT_PACKAGE,),
    optional=(SSM_AGENT, FAMILY_BOTTLEROCKET, FAMILY_EKS),
    issues=("waiting_for_ssm_notification", "no_agent_reporting"),
)
def installed(
    pkg: AgentPackage,
    ssm: "Optional[SsmAgent]",
    host: "Optional[Bottlerocket]" = None,
    eks: "Optional[EksNode]" = None,
) -> Verdict:
    elsewhere = _not_a_package(pkg, host, eks)
    if elsewhere is not None:
        return elsewhere
    if pkg.installed and not pkg.from_database:
        return passed(
            f"{PACKAGE} is installed: its unit file {pkg.files[0]} is in the tree "
            f"({pkg.notes[0] if pkg.notes else 'package database not read'})."
        )
    if pkg.installed:
        return passed(
            f"{PACKAGE} {pkg.version or '(version unknown)'} is installed "
            f"({pkg.manager}: {pkg.status}).",
            evidence=tuple(pkg.files),
        )
    if pkg.broken:
        return _half_installed(pkg)
    return _not_installed(_absent_summary(pkg), ssm)


def _not_a_package(
    pkg: AgentPackage, host: "Optional[Bottlerocket]", eks: "Optional[EksNode]"
) -> "Optional[Verdict]":
    """On Bottlerocket the agent is a host container (ECS variants) or the EKS add-on's pod;
    on an EKS node with the add-on, the add-on's pod is the agent GuardDuty counts."""
    if host is not None and host.found:
        where = (
            "the EKS add-on's pod"
            if host.orchestrator == "k8s"
            else f"the host container {GUARDDUTY_CONTAINER}"
        )
        return not_applicable(
            f"{host.label} has no package manager: GuardDuty's agent here is {where}, "
            "deployed by GuardDuty, never installed by hand."
        )
    if eks is not None and eks.addon and not pkg.installed:
        return not_applicable(
            f"{PACKAGE} is not installed, and is not needed: the EKS add-on's agent runs on "
            "this EKS node, so its coverage is EKS's."
        )
    return None


def _half_installed(pkg: AgentPackage) -> Verdict:
    return failed(
        "no_agent_reporting",
        f"{PACKAGE} {pkg.version or ''} is only partly "
        f"installed: dpkg state {pkg.abbrev} ({pkg.state}), an install or upgrade "
        "that stopped halfway, usually because its maintainer script failed.",
        evidence=(f"dpkg status: {pkg.status}",),
        fix=(
            "Finish it and read the error: `sudo dpkg --configure -a`.",
            f"Then reinstall: `sudo apt-get install --reinstall {PACKAGE}`.",
        ),
    )


def _not_installed(base: str, ssm: "Optional[SsmAgent]") -> Verdict:
    """Absent: whether SSM can install it decides which console issue shows."""
    if ssm is not None and not ssm.installed:
        return failed(
            "waiting_for_ssm_notification",
            f"{base}, and there is no SSM agent, so "
            "GuardDuty's automated agent configuration cannot install it.",
            fix=("Install and start the SSM agent (amazon-ssm-agent).", MANUAL_INSTALL),
            symptom=True,  # of the missing SSM agent, which ssm.agent_running fails on
        )
    if ssm is not None and not ssm.running and ssm.running_known:
        return failed(
            "waiting_for_ssm_notification",
            f"{base}, and the SSM agent is installed "
            "but not running, so automated agent configuration cannot install it.",
            fix=(
                "Start the SSM agent: `sudo systemctl enable --now amazon-ssm-agent`.",
                MANUAL_INSTALL,
            ),
            symptom=True,  # of the stopped SSM agent, which ssm.agent_running fails on
        )
    why = (
        "although the SSM agent runs: automated agent configuration is off for this "
        "account, or its association has not installed the agent yet"
        if ssm is not None and ssm.running
        else "and whether SSM could install it cannot be told from here"
    )
    return failed(
        "no_agent_reporting",
        f"{base}, {why}.",
        fix=(
            MANUAL_INSTALL,
            "Automated agent configuration: make the instance SSM "
            "managed and check the AmazonGuardDuty-ConfigureRuntimeMonitoringSsmPlugin "
            "association's execution history.",
        ),
        confidence=Confidence.LIKELY,  # the absence is seen, why SSM has not installed it is not
    )
