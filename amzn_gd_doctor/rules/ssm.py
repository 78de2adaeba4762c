"""SSM rules: is the host an SSM managed node, did GuardDuty's association and Distributor
package install succeed, is it a hybrid (non-EC2) node, and what the SSM agent's logs complain
about, each cause named with its fix. Pure functions of the ssm.* facts (and agent.package,
platform.os where given).
"""

from typing import Dict, List, Optional, Tuple

from ..facts.agent import AGENT_PACKAGE, AgentPackage
from ..facts.family import FAMILY_BOTTLEROCKET, Bottlerocket
from ..facts.platform import PLATFORM_OS, OsInfo
from ..facts.ssm import (
    GD_DOCUMENT,
    GD_PACKAGE,
    SSM_AGENT,
    SSM_ASSOCIATION,
    SSM_GUARDDUTY_PLUGIN,
    SSM_LOGS,
    SSM_REGISTRATION,
    LogCause,
    PluginInstallState,
    SsmAgent,
    SsmAssociations,
    SsmLogs,
    SsmRegistration,
)
from ..model import Confidence, Verdict, failed, inconclusive, not_applicable, passed, warned
from ..registry import rule
from .agent_common import MANUAL_INSTALL
from .family_ssm import ssm_on_bottlerocket

INSTALL_SSM_DOC = (
    "https://docs.aws.amazon.com/systems-manager/latest/userguide/"
    "manually-install-ssm-agent-linux.html"
)
# Once the SSM agent runs, what else makes the instance a managed node GuardDuty reaches.
WAITING_FIX = (
    "Give the instance a role with AmazonSSMManagedInstanceCore (or turn on Default Host "
    "Management Configuration) and a path to the SSM endpoints; then check that it is managed: "
    "`aws ssm describe-instance-information --filters Key=InstanceIds,Values=<id>`.",
    MANUAL_INSTALL,
)
LOG_KINDS_TO_WARN = ("registration", "credentials", "associations_unavailable")
RESTART_SSM = (
    "then `sudo systemctl restart amazon-ssm-agent` (snap: `sudo snap restart amazon-ssm-agent`)"
)
CORE_POLICY = "AmazonSSMManagedInstanceCore"
# For credential errors whose entries do not say why.
CREDENTIALS_FIX = (
    f"Attach an instance profile with {CORE_POLICY} (or enable Default Host Management "
    f"Configuration), {RESTART_SSM}."
)
SSM_ENDPOINT_LOOKUP = (
    "`aws ec2 describe-vpc-endpoints --filters "
    "Name=service-name,Values=com.amazonaws.<region>.ssm --query 'VpcEndpoints[].PolicyDocument'`"
)
# Each cause the SSM agent's log names, in the order a reader should take them (no network, no
# IMDS and a wrong clock break everything after them): how a summary calls it ({0}: what its
# entries name, or the stand-in after it), and the steps that fix it.
LOG_CAUSES: "Dict[str, Tuple[str, str, Tuple[str, ...]]]" = {
    "imds_unreachable": (
        "IMDS unreachable from the SSM agent ({0}): a route or firewall problem, not a "
        "missing role",
        "no connection",
        (
            "The SSM agent cannot reach IMDS at 169.254.169.254, so it finds no role whether "
            "or not one is attached: look for what blocks it (`ip route get 169.254.169.254`, "
            "`sudo iptables -S`, `sudo nft list ruleset`, a proxy without "
            "no_proxy=169.254.169.254); the imds checks show what IMDS answers here.",
        ),
    ),
    "network": (
        "network or DNS failure reaching {0}",
        "the SSM endpoints",
        (
            "The SSM agent cannot reach {0}: the name must resolve (`getent hosts <name>`) "
            "and TCP 443 to it must open. Without internet access the VPC needs interface "
            "endpoints for ssm, ssmmessages and ec2messages with private DNS, their security "
            "group allowing 443 from the instance; the network checks follow the same path "
            "for GuardDuty's endpoint.",
        ),
    ),
    "tls_proxy": (
        "TLS or proxy failure ({0})",
        "handshake failed",
        (
            "TLS to SSM fails ({0}): a proxy or TLS inspection is in the way, or the trust "
            "store is stale. Check the SSM agent's proxy (`systemctl show amazon-ssm-agent -p "
            "Environment`: https_proxy, no_proxy), that the proxy answers, and the CA bundle "
            "(`update-ca-trust` or `update-ca-certificates`); an expired certificate can also "
            "mean a wrong clock.",
        ),
    ),
    "clock_skew": (
        "clock skew ({0}): AWS refuses the agent's signed requests",
        "signature expired",
        (
            "Set the clock right: `timedatectl` must say the clock is synchronized; use chrony "
            f"with the Amazon Time Sync Service (169.254.169.123), {RESTART_SSM}.",
        ),
    ),
    "no_instance_profile": (
        "no instance profile ({0})",
        "IMDS has no role",
        (
            f"Attach an instance profile whose role has {CORE_POLICY} (`aws ec2 "
            "associate-iam-instance-profile --instance-id <id> --iam-instance-profile "
            "Name=<profile>`), or turn on Default Host Management Configuration; "
            f"{RESTART_SSM}.",
        ),
    ),
    "dhmc_off": (
        "Default Host Management not configured for account {0}",
        "of this instance",
        (
            "Turn on Default Host Management Configuration for the account in this region "
            "(Systems Manager, Fleet Manager, Account management; it needs IMDSv2), or attach "
            f"an instance profile with {CORE_POLICY}; {RESTART_SSM}.",
        ),
    ),
    "iam_action": (
        "the instance's role lacks {0} (no identity-based policy allows it)",
        "an SSM action",
        (
            f"Attach {CORE_POLICY} to the instance's role: it allows {{0}} (`aws iam "
            "attach-role-policy --role-name <role> --policy-arn "
            f"arn:aws:iam::aws:policy/{CORE_POLICY}`); {RESTART_SSM}.",
        ),
    ),
    "scp_deny": (
        "a service control policy explicitly denies {0}",
        "an SSM action",
        (
            "An SCP of the organisation denies {0} to this account, and no role policy can "
            "override it: ask the organisation's administrators to exempt the instance's role "
            "(AWS Organizations, Policies, Service control policies).",
        ),
    ),
    "vpce_policy": (
        "a VPC endpoint policy denies {0}",
        "an SSM action",
        (f"The SSM interface endpoints' policy must allow {{0}}: {SSM_ENDPOINT_LOOKUP}.",),
    ),
    "vpce_policy_suspected": (
        "access denied on {0} with no policy named (suspected: a VPC endpoint policy)",
        "an SSM call",
        (
            f"Read the SSM interface endpoints' policy, which must allow {{0}}: "
            f"{SSM_ENDPOINT_LOOKUP}. If it does, the role or an SCP denies it: {CORE_POLICY} "
            "on the role covers what the agent calls.",
        ),
    ),
    "no_platform_build": (
        "Distributor has no build of {package} for {0}",
        "this platform",
        (
            "Distributor has no build of {package} for {0}: check the OS, its version and the "
            "architecture against what the package supports (GuardDuty: x86_64, or arm64 on "
            "Graviton2 or newer, and the listed distributions).",
        ),
    ),
}


def _log_evidence(logs: "Optional[SsmLogs]", *kinds: str) -> "Tuple[str, ...]":
    if logs is None:
        return ()
    return tuple(f"SSM log: {line}" for kind in kinds for line in logs.lines.get(kind, ()))


def _no_gd_build(logs: "Optional[SsmLogs]") -> "Tuple[LogCause, ...]":
    """Distributor said it has no build of GuardDuty's package for this platform."""
    causes = logs.causes if logs is not None else ()
    return tuple(c for c in causes if c.cause == "no_platform_build" and c.guardduty)


def _gd_failure_evidence(logs: "Optional[SsmLogs]", *kinds: str) -> "Tuple[str, ...]":
    lines = tuple(f"SSM log: {line}" for c in _no_gd_build(logs) for line in c.lines)
    return lines + _log_evidence(logs, *kinds)


def _cause_text(cause: LogCause, template: str) -> str:
    key = cause.cause + ("_suspected" if cause.suspected else "")
    subject = ", ".join(cause.subjects) or LOG_CAUSES[key][1]
    package = GD_PACKAGE if cause.guardduty else "a package"
    return template.format(subject, package=package)


def _cause_phrase(cause: LogCause) -> str:
    key = cause.cause + ("_suspected" if cause.suspected else "")
    n = cause.entries
    when = f", latest {cause.latest}" if cause.latest else ""
    return f"{_cause_text(cause, LOG_CAUSES[key][0])} [{n} entr{'y' if n == 1 else 'ies'}{when}]"


def _cause_evidence(causes: "Tuple[LogCause, ...]") -> "Tuple[str, ...]":
    return tuple(f"SSM log, {c.cause.replace('_', ' ')}: {ln}" for c in causes for ln in c.lines)


def _cause_steps(causes: "Tuple[LogCause, ...]") -> "Tuple[str, ...]":
    steps: List[str] = []
    for cause in causes:
        key = cause.cause + ("_suspected" if cause.suspected else "")
        for step in LOG_CAUSES[key][2]:
            text = _cause_text(cause, step)
            if text not in steps:
                steps.append(text)
    return tuple(steps)


def _os_hint(os_info: "Optional[OsInfo]") -> "Tuple[str, ...]":
    os_id = os_info.id if os_info is not None else ""
    if os_id == "fedora":
        return (
            "Fedora is not supported by SSM, so automated agent configuration cannot "
            "work here: install the GuardDuty agent manually (see the manual install guide).",
        )
    if os_id == "debian":
        return (f"Debian AMIs do not ship the SSM agent: install it as in {INSTALL_SSM_DOC}.",)
    return ()


@rule(
    "ssm.agent_running",
    title="SSM agent installed and running (the host is an SSM managed node)",
    facts=(SSM_AGENT,),
    optional=(AGENT_PACKAGE, PLATFORM_OS, FAMILY_BOTTLEROCKET),
    issues=("waiting_for_ssm_notification",),
)
def agent_running(
    ssm: SsmAgent,
    gd_agent: "Optional[AgentPackage]",
    os_info: "Optional[OsInfo]",
    host: "Optional[Bottlerocket]" = None,
) -> Verdict:
    if host is not None and host.found:  # it runs in the control container (rules/family_ssm)
        return ssm_on_bottlerocket(ssm, host)
    how = _how(ssm)
    if ssm.running:
        pids = ", ".join(map(str, ssm.pids))
        if ssm.unit is None:  # only its process was seen
            return passed(
                f"an SSM agent process runs (pid {pids}), although no package, snap, unit or "
                "binary of it was found."
            )
        return passed(f"SSM agent{how} is running ({ssm.unit}{', pid ' + pids if pids else ''}).")
    if ssm.installed and not ssm.running_known:
        enabled = ssm.unit_state.get("UnitFileState", "unknown")
        return inconclusive(
            f"SSM agent{how} is installed (unit {ssm.unit}, {enabled}), but "
            f"whether it runs cannot be told here; on the host run "
            f"`systemctl status {ssm.unit}`."
        )
    seen, fix = _not_running(ssm, how, os_info)
    return _without_ssm(seen, fix, gd_agent)


# How the SSM agent is installed (SsmAgent.how), in words.
HOW_WORDS = {"files": "no package record"}


def _how(ssm: SsmAgent) -> str:
    """`` (deb, 3.3.1142.0-1)``, `` (snap)``, `` (no package record)``, or "" when it is not
    installed."""
    if not ssm.installed or not ssm.how:
        return ""
    parts = [HOW_WORDS.get(ssm.how, ssm.how)] + ([ssm.version] if ssm.version else [])
    return f" ({', '.join(parts)})"


def _not_running(
    ssm: SsmAgent, how: str, os_info: "Optional[OsInfo]"
) -> "Tuple[str, Tuple[str, ...]]":
    """What was seen of an SSM agent that does not run, and how to get it running: start an
    installed one, or install one (Fedora and Debian need their own advice)."""
    state = ssm.unit_state
    if ssm.installed:
        seen = (
            f"SSM agent{how} is installed but not running ({ssm.unit}: "
            + ", ".join(
                f"{k} {state[k]}" for k in ("ActiveState", "Result", "UnitFileState") if k in state
            ).strip()
            + ")"
        )
        return seen, (f"Start the SSM agent: `sudo systemctl enable --now {ssm.unit}`.",)
    seen = "SSM agent is not installed (no package, snap, unit or binary found)"
    return seen, _os_hint(os_info) or (f"Install the SSM agent: {INSTALL_SSM_DOC}",)


def _without_ssm(seen: str, fix: "Tuple[str, ...]", gd_agent: "Optional[AgentPackage]") -> Verdict:
    """Without SSM, only a GuardDuty agent already installed keeps the host covered: the
    console issue depends on it."""
    if gd_agent is None:
        return inconclusive(
            f"{seen}; whether the GuardDuty agent is installed is unknown, so "
            "the console issue cannot be told (`rpm -q amazon-guardduty-agent` "
            "or `dpkg -s amazon-guardduty-agent`)."
        )
    if gd_agent.installed:
        version = f" (v{gd_agent.version})" if gd_agent.version else ""
        return warned(
            f"{seen}; the GuardDuty agent is installed anyway{version}, so it does not depend "
            "on SSM now, but automated agent configuration cannot update it.",
            fix=fix,
        )
    # Seen: no SSM agent at work, and no GuardDuty agent, which only SSM would install here.
    gd = "only partly installed" if gd_agent.broken else "not installed"
    return failed(
        "waiting_for_ssm_notification",
        f"{seen}, and the GuardDuty agent is {gd}: the instance is not SSM managed, so "
        "GuardDuty's association never reaches it.",
        fix=fix + WAITING_FIX,
    )


@rule(
    "ssm.hybrid_registration",
    title="SSM registration: EC2 instance, not a hybrid managed node",
    facts=(SSM_REGISTRATION,),
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
    facts=(SSM_GUARDDUTY_PLUGIN,),
    optional=(SSM_LOGS,),
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
    version = f" {plugin.version}" if plugin.version else ""
    seen = (
        f"{GD_PACKAGE}{version} is {plugin.state_name} (state "
        f"{plugin.state}, {plugin.time or 'no time'}, retry count {plugin.retry_count})"
    )
    if plugin.failed:
        return _install_failed(plugin, seen, logs)
    if plugin.state_name == "Installed":
        return passed(f"{seen}.")
    return warned(f"{seen}: not Installed yet, or not any more.")


def _install_failed(plugin: PluginInstallState, seen: str, logs: "Optional[SsmLogs]") -> Verdict:
    """A failed install state: the SSM log's GuardDuty lines say why, so they are the evidence.
    Likely: the failed install is seen, the prerequisite it missed is not (the SSM log check
    names it when the log says)."""
    last = plugin.last_installed_version
    return failed(
        "ssm_association_execution_failed",
        f"{seen}{'; last installed ' + last if last else ''}.",
        evidence=_gd_failure_evidence(logs, "guardduty_failure", "guardduty"),
        fix=(
            f"Read why in /var/log/amazon/ssm/amazon-ssm-agent.log and errors.log "
            f"(`sudo grep -i {GD_PACKAGE} /var/log/amazon/ssm/*.log`).",
            "Fix what it names (the OS, its version or the architecture against what GuardDuty "
            "supports); the association runs again on its schedule.",
        ),
        confidence=Confidence.LIKELY,
        symptom=True,
    )


@rule(
    "ssm.association_execution",
    title=f"Runs of the association document {GD_DOCUMENT}",
    facts=(SSM_ASSOCIATION,),
    optional=(SSM_LOGS,),
    issues=("ssm_association_execution_failed",),
)
def association_execution(assoc: SsmAssociations, logs: "Optional[SsmLogs]") -> Verdict:
    bad = [run for run in assoc.guardduty if run.failed]
    if bad:
        run = bad[-1]
        about = [f"association {run.association_id}"] if run.association_id else []
        about += [f"created {run.created}"] if run.created else []
        # Likely: the failed run is seen; the prerequisite it missed is inferred.
        return failed(
            "ssm_association_execution_failed",
            f"GuardDuty's association did not complete: {len(bad)} run(s) of {GD_DOCUMENT} "
            f"failed; the latest is {run.status} in state/{run.folder}/{run.file}"
            + (f" ({', '.join(about)})." if about else "."),
            evidence=run.plugin_failures + _gd_failure_evidence(logs, "guardduty_failure"),
            confidence=Confidence.LIKELY,
            symptom=True,
        )
    if assoc.guardduty:
        run = assoc.guardduty[-1]
        return passed(
            f"{len(assoc.guardduty)} run(s) of {GD_DOCUMENT} on record, the latest "
            f"{run.status} (state/{run.folder})."
        )
    return _no_run_on_record(assoc, logs)


def _no_run_on_record(assoc: SsmAssociations, logs: "Optional[SsmLogs]") -> Verdict:
    """Completed runs are not kept, so no run on record passes unless the log says GuardDuty
    failed."""
    if not assoc.instance_dirs:
        return not_applicable("SSM keeps no document state on this host: no association ran.")
    gd_fail = _gd_failure_evidence(logs, "guardduty_failure")
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


def _named_causes(
    logs: SsmLogs,
    causes: "Tuple[LogCause, ...]",
    scope: str,
    other: str,
    credentials: bool,
    evidence: "Tuple[str, ...]",
) -> Verdict:
    """Causes the log names are warnings, except that Distributor has no GuardDuty build for
    this platform, which stops the association for good."""
    summary = (
        f"SSM agent log ({scope}) names {len(causes)} cause(s): "
        + "; ".join(map(_cause_phrase, causes))
        + (f"; also {other} line(s) that name no cause" if other else "")
        + _unexplained_phrase(logs, "; also ")
        + "."
    )
    fix = _cause_steps(causes) + ((CREDENTIALS_FIX,) if credentials else ())
    fix += (UNEXPLAINED_FIX,) if logs.unexplained_entries else ()
    if _no_gd_build(logs):
        return failed("ssm_association_execution_failed", summary, evidence, fix)
    return warned(summary, evidence, fix)


# A quoted line in a summary: enough for the error's words, short enough for one sentence.
QUOTE_CHARS = 160
UNEXPLAINED_FIX = (
    "Read the quoted ERROR entries in /var/log/amazon/ssm/amazon-ssm-agent.log and errors.log "
    "(`sudo grep -E ' (ERROR|CRITICAL) ' /var/log/amazon/ssm/*.log | tail -n 50`): no known "
    "cause matches them, so the doctor cannot say whether they stop GuardDuty's association."
)


def _quote(text: str) -> str:
    return text if len(text) <= QUOTE_CHARS else text[: QUOTE_CHARS - 3] + "..."


def _unexplained_phrase(logs: SsmLogs, lead: str) -> str:
    """``12 ERROR entries that match no known cause, the latest 'retry 4 of 5 failed' ×8,
    last seen 2024-11-04 09:09:13`` (with ``lead`` before it), or "" when there are none."""
    if not logs.unexplained_entries:
        return ""
    n, first = logs.unexplained_entries, logs.unexplained[0] if logs.unexplained else None
    seen = f", last seen {first.latest}" if first and first.latest else ""
    quoted = f", the latest '{_quote(first.sample)}' ×{first.count}{seen}" if first else ""
    groups = len(logs.unexplained)
    kinds = f" ({groups} kind{'s' if groups != 1 else ''} shown)" if groups > 1 else ""
    entries = "1 ERROR entry that matches" if n == 1 else f"{n} ERROR entries that match"
    return f"{lead}{entries} no known cause{kinds}{quoted}"


def _unexplained_evidence(logs: SsmLogs) -> "Tuple[str, ...]":
    return tuple(
        f"SSM log, no known cause (×{g.count}{', last ' + g.latest if g.latest else ''}): "
        f"{g.sample}"
        for g in logs.unexplained
    )


@rule(
    "ssm.logs_clean",
    title="SSM agent log free of errors: none that names a cause, none that matches no cause",
    facts=(SSM_LOGS,),
    issues=("ssm_association_execution_failed",),
)
def logs_clean(logs: SsmLogs) -> Verdict:
    if not logs.files:
        return not_applicable("no SSM agent log files under /var/log/amazon/ssm.")
    causes = tuple(sorted(logs.causes, key=lambda c: list(LOG_CAUSES).index(c.cause)))
    found = {k: logs.counts[k] for k in LOG_KINDS_TO_WARN if logs.counts.get(k)}
    scope = f"{len(logs.files)} file(s){', tails only' if logs.truncated else ''}"
    other = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in found.items())
    evidence = _cause_evidence(causes) + _log_evidence(logs, *LOG_KINDS_TO_WARN)
    evidence += _unexplained_evidence(logs)
    fix = (UNEXPLAINED_FIX,) if logs.unexplained_entries else ()
    if causes:
        return _named_causes(logs, causes, scope, other, "credentials" in found, evidence)
    if found or logs.unexplained_entries:
        return warned(
            _unnamed_summary(logs, scope, other),
            evidence,
            fix + ((CREDENTIALS_FIX,) if "credentials" in found else ()),
        )
    runs = logs.counts.get("association_run", 0)
    host = sum(c.entries for c in logs.host_causes)
    judged = f"; {host} entr{'y' if host == 1 else 'ies'} name host causes the host checks judge"
    return passed(
        "no registration, credential, network or Distributor errors, and no ERROR entry that "
        f"matches no known cause, in the SSM agent log ({scope}; {runs} association run(s) "
        f"logged{judged if host else ''})."
    )


def _unnamed_summary(logs: SsmLogs, scope: str, other: str) -> str:
    """Credential or registration lines without a cause, or ERROR entries no cause matches."""
    if not other:
        return f"SSM agent log ({scope}) has {_unexplained_phrase(logs, '')}."
    return (
        f"SSM agent log ({scope}) has {other} line(s): without working credentials and "
        "registration SSM cannot run GuardDuty's association"
        + _unexplained_phrase(logs, "; also ")
        + "."
    )
