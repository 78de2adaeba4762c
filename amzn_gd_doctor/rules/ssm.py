"""SSM rules: is the host an SSM managed node, did GuardDuty's association and Distributor
package install succeed, is it a hybrid (non-EC2) node, and what the SSM agent's logs complain
about. Pure functions of the ssm.* facts (and agent.package, platform.os where given).
"""

from typing import Any, Optional, Tuple

from ..model import Verdict, failed, inconclusive, not_applicable, passed, warned
from ..probes.platform import OsInfo
from ..probes.ssm_agent import SsmAgent
from ..probes.ssm_association import SsmAssociations
from ..probes.ssm_common import GD_DOCUMENT, GD_PACKAGE
from ..probes.ssm_logs import SsmLogs
from ..probes.ssm_state import PluginInstallState, SsmRegistration
from ..registry import rule

INSTALL_SSM_DOC = (
    "https://docs.aws.amazon.com/systems-manager/latest/userguide/"
    "manually-install-ssm-agent-linux.html"
)
LOG_KINDS_TO_WARN = ("registration", "credentials", "associations_unavailable")


def _log_evidence(logs: "Optional[SsmLogs]", *kinds: str) -> "Tuple[str, ...]":
    if logs is None:
        return ()
    return tuple(f"SSM log: {line}" for kind in kinds for line in logs.lines.get(kind, ()))


def _os_hint(os_info: "Optional[OsInfo]") -> "Tuple[str, ...]":
    os_id = os_info.id if os_info is not None else ""
    if os_id == "fedora":
        return (
            "Fedora is not supported by SSM, so automated agent configuration cannot "
            "work here: install the GuardDuty agent manually (see the manual install guide).",
        )
    if os_id == "debian":
        return (f"Debian AMIs do not ship the SSM agent: install it ({INSTALL_SSM_DOC}).",)
    return ()


@rule(
    "ssm.agent_running",
    title="SSM agent installed and running (the host is an SSM managed node)",
    facts=("ssm.agent",),
    optional=("agent.package", "platform.os"),
    issues=("waiting_for_ssm_notification",),
)
def agent_running(ssm: SsmAgent, gd_agent: Any, os_info: "Optional[OsInfo]") -> Verdict:
    state = ssm.unit_state
    how = f" ({ssm.how}{', ' + ssm.version if ssm.version else ''})" if ssm.installed else ""
    if ssm.running:
        pids = f", pid {', '.join(map(str, ssm.pids))}" if ssm.pids else ""
        return passed(f"SSM agent{how} is running ({ssm.unit}{pids}).")
    if ssm.installed and not ssm.running_known:
        enabled = state.get("UnitFileState", "unknown")
        return inconclusive(
            f"SSM agent{how} is installed (unit {ssm.unit}, {enabled}), but "
            f"whether it runs cannot be told here; on the host run "
            f"`systemctl status {ssm.unit}`."
        )
    if ssm.installed:
        seen = (
            f"SSM agent{how} is installed but not running ({ssm.unit}: "
            + ", ".join(
                f"{k} {state[k]}" for k in ("ActiveState", "Result", "UnitFileState") if k in state
            ).strip()
            + ")"
        )
        fix: Tuple[str, ...] = (f"sudo systemctl enable --now {ssm.unit}",)
    else:
        seen = "SSM agent is not installed (no package, snap, unit or binary found)"
        fix = _os_hint(os_info) or (f"Install the SSM agent: {INSTALL_SSM_DOC}",)
    if gd_agent is None:
        return inconclusive(
            f"{seen}; whether the GuardDuty agent is installed is unknown, so "
            "the console issue cannot be told (`rpm -q amazon-guardduty-agent` "
            "or `dpkg -s amazon-guardduty-agent`)."
        )
    if getattr(gd_agent, "installed", False):
        return warned(
            f"{seen}; the GuardDuty agent is installed anyway (v"
            f"{getattr(gd_agent, 'version', None) or '?'}), so it does not depend on "
            "SSM now, but automated agent configuration cannot update it.",
            fix=fix,
        )
    return failed(
        "waiting_for_ssm_notification",
        f"{seen}, and the GuardDuty agent is not "
        "installed: the instance is not SSM managed, so GuardDuty's association "
        "never reaches it.",
        fix=fix,
    )


@rule(
    "ssm.hybrid_registration",
    title="SSM registration: EC2 instance, not a hybrid managed node",
    facts=("ssm.registration",),
    issues=("identity_document_unavailable",),
)
def hybrid_registration(reg: SsmRegistration) -> Verdict:
    mid = reg.managed_instance_id
    if mid and mid.startswith("mi-"):
        return failed(
            "identity_document_unavailable",
            f"SSM registered this host as {mid}"
            f"{' in ' + reg.region if reg.region else ''} through a hybrid activation:"
            " a hybrid, non-EC2 host has no instance identity document, and GuardDuty "
            "Runtime Monitoring for EC2 does not cover it.",
            evidence=(f"/var/lib/amazon/ssm/registration: ManagedInstanceID {mid}",),
            fix=(
                "Confirm this is an EC2 instance and not a hybrid, non-EC2 host "
                "registered with SSM (`mi-` id).",
            ),
        )
    if reg.problem:
        return warned(f"SSM registration file is unreadable: {reg.problem}.")
    if not reg.data_dir:
        return not_applicable("no SSM state directory (/var/lib/amazon/ssm): SSM never ran here.")
    ids = ", ".join(reg.instance_dirs) or "no instance id yet"
    return passed(f"no hybrid registration; SSM keeps state for {ids}.")


@rule(
    "ssm.plugin_install_state",
    title=f"Distributor install state of {GD_PACKAGE}",
    facts=("ssm.guardduty_plugin",),
    optional=("ssm.logs",),
    issues=("ssm_association_execution_failed",),
)
def plugin_install_state(plugin: PluginInstallState, logs: "Optional[SsmLogs]") -> Verdict:
    if not plugin.present:
        extra = f" (version directories: {', '.join(plugin.versions)})" if plugin.versions else ""
        return not_applicable(
            f"no Distributor install state for {GD_PACKAGE}{extra}: SSM has "
            "not tried to install GuardDuty's package here."
        )
    if plugin.problem:
        return warned(
            f"the {GD_PACKAGE} installstate file {plugin.problem}; the SSM agent "
            "treats it as Unknown and reinstalls on the next association run."
        )
    seen = (
        f"{GD_PACKAGE} {plugin.version or '?'} is {plugin.state_name} (state "
        f"{plugin.state}, {plugin.time or 'no time'}, retry count {plugin.retry_count})"
    )
    if plugin.failed:
        last = plugin.last_installed_version
        return failed(
            "ssm_association_execution_failed",
            f"{seen}{'; last installed ' + last if last else ''}.",
            evidence=_log_evidence(logs, "guardduty_failure", "guardduty"),
            fix=(
                f"Read why in /var/log/amazon/ssm/amazon-ssm-agent.log and errors.log "
                f"(`sudo grep -i {GD_PACKAGE} /var/log/amazon/ssm/*.log`).",
            ),
        )
    if plugin.state_name == "Installed":
        return passed(f"{seen}.")
    return warned(f"{seen}: not Installed yet, or not any more.")


@rule(
    "ssm.association_execution",
    title=f"Runs of the association document {GD_DOCUMENT}",
    facts=("ssm.association",),
    optional=("ssm.logs",),
    issues=("ssm_association_execution_failed",),
)
def association_execution(assoc: SsmAssociations, logs: "Optional[SsmLogs]") -> Verdict:
    bad = [run for run in assoc.guardduty if run.failed]
    if bad:
        run = bad[-1]
        return failed(
            "ssm_association_execution_failed",
            f"{len(bad)} run(s) of {GD_DOCUMENT} failed; the latest is {run.status} in "
            f"state/{run.folder}/{run.file} (association {run.association_id or '?'}, "
            f"created {run.created or '?'}).",
            evidence=run.plugin_failures + _log_evidence(logs, "guardduty_failure"),
        )
    if assoc.guardduty:
        run = assoc.guardduty[-1]
        return passed(
            f"{len(assoc.guardduty)} run(s) of {GD_DOCUMENT} on record, the latest "
            f"{run.status} (state/{run.folder})."
        )
    if not assoc.instance_dirs:
        return not_applicable("SSM keeps no document state on this host: no association ran.")
    gd_fail = _log_evidence(logs, "guardduty_failure")
    if gd_fail:
        return warned(
            f"no {GD_DOCUMENT} run in the {assoc.documents} document state file(s) "
            "kept, but the SSM log reports GuardDuty failures.",
            evidence=gd_fail,
        )
    return passed(
        f"no pending, current or corrupt {GD_DOCUMENT} run among {assoc.documents} "
        "document state file(s) (completed runs are not kept)."
    )


@rule(
    "ssm.logs_clean",
    title="SSM agent log free of registration and credential errors",
    facts=("ssm.logs",),
)
def logs_clean(logs: SsmLogs) -> Verdict:
    if not logs.files:
        return not_applicable("no SSM agent log files under /var/log/amazon/ssm.")
    found = {k: logs.counts[k] for k in LOG_KINDS_TO_WARN if logs.counts.get(k)}
    scope = f"{len(logs.files)} file(s){', tails only' if logs.truncated else ''}"
    if found:
        what = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in found.items())
        return warned(
            f"SSM agent log ({scope}) has {what} line(s): without working "
            "credentials and registration SSM cannot run GuardDuty's association.",
            evidence=_log_evidence(logs, *LOG_KINDS_TO_WARN),
            fix=(
                "Attach an instance profile with AmazonSSMManagedInstanceCore (or "
                "enable Default Host Management Configuration), then "
                "`sudo systemctl restart amazon-ssm-agent`.",
            ),
        )
    runs = logs.counts.get("association_run", 0)
    return passed(
        f"no registration or credential errors in the SSM agent log ({scope}; "
        f"{runs} association run(s) logged)."
    )
