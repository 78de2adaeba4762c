"""Whether the GuardDuty agent is installed, and if not, whether SSM could install it: a
missing agent is "Waiting for SSM notification" without an SSM agent, an empty message with one.

Pure functions of ``agent.package`` and ``ssm.agent``.
"""

from typing import Optional

from ..facts.agent import (
    AGENT_PACKAGE,
    PACKAGE,
    AgentPackage,
)
from ..facts.ssm import SSM_AGENT, SsmAgent
from ..model import Verdict, failed, passed
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
    optional=(SSM_AGENT,),
    issues=("waiting_for_ssm_notification", "no_agent_reporting"),
)
def installed(pkg: AgentPackage, ssm: "Optional[SsmAgent]") -> Verdict:
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
    )
