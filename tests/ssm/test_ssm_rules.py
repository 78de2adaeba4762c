"""SSM rules called directly with values built inline: a passing and a failing case each."""

from __future__ import annotations

from typing import Optional

import pytest

from amzn_gd_doctor.facts.agent import AgentPackage
from amzn_gd_doctor.facts.platform import OsInfo
from amzn_gd_doctor.facts.ssm import (
    DocumentRun,
    LogCause,
    PluginInstallState,
    SsmAgent,
    SsmAssociations,
    SsmLogs,
    SsmRegistration,
)
from amzn_gd_doctor.model import Outcome
from amzn_gd_doctor.rules import ssm

GD = "AmazonGuardDuty-ConfigureRuntimeMonitoringSsmPlugin"


def GdAgent(installed: bool, version: Optional[str] = None) -> AgentPackage:  # noqa: N802
    """The GuardDuty agent's package as agent.package reports it: installed or not."""
    return AgentPackage("rpm", "installed" if installed else "not-installed", version)


RUNNING = SsmAgent(
    True,
    True,
    True,
    "rpm",
    "3.3.1142.0-1",
    "amazon-ssm-agent.service",
    {"ActiveState": "active"},
    (2301,),
)
STOPPED = SsmAgent(
    True,
    False,
    True,
    "deb",
    "3.3.1142.0-1",
    "amazon-ssm-agent.service",
    {"ActiveState": "failed", "Result": "exit-code", "UnitFileState": "enabled"},
)
ABSENT = SsmAgent(False, False, True, "", None, None, {})
UNKNOWN = SsmAgent(
    True, False, False, "files", None, "amazon-ssm-agent.service", {"UnitFileState": "enabled"}
)
NO_LOGS = SsmLogs((), {}, {})


def test_agent_running_passes() -> None:
    v = ssm.agent_running(RUNNING, GdAgent(False), None)
    assert v.outcome is Outcome.PASS
    assert v.summary == (
        "SSM agent (rpm, 3.3.1142.0-1) is running (amazon-ssm-agent.service, pid 2301)."
    )


def test_agent_stopped_and_no_guardduty_agent_fails() -> None:
    v = ssm.agent_running(STOPPED, GdAgent(False), None)
    assert (v.outcome, v.issue) == (Outcome.FAIL, "waiting_for_ssm_notification")
    assert v.summary.startswith(
        "SSM agent (deb, 3.3.1142.0-1) is installed but not running "
        "(amazon-ssm-agent.service: ActiveState failed, Result exit-code,"
        " UnitFileState enabled), and the GuardDuty agent is not installed"
    )
    assert (
        v.fix[0] == "Start the SSM agent: `sudo systemctl enable --now amazon-ssm-agent.service`."
    )
    assert v.fix[1:] == ssm.WAITING_FIX


def test_agent_absent_but_guardduty_agent_installed_only_warns() -> None:
    v = ssm.agent_running(ABSENT, GdAgent(True, "1.9.2"), None)
    assert v.outcome is Outcome.WARN and "installed anyway (v1.9.2)" in v.summary


def test_agent_absent_on_debian_names_the_ami() -> None:
    v = ssm.agent_running(ABSENT, GdAgent(False), OsInfo(True, "debian", "12"))
    assert v.issue == "waiting_for_ssm_notification"
    assert v.fix[0].startswith("Debian AMIs do not ship the SSM agent")


def test_agent_absent_on_fedora_says_ssm_does_not_support_it() -> None:
    v = ssm.agent_running(ABSENT, GdAgent(False), OsInfo(True, "fedora", "41"))
    assert v.fix[0].startswith("Fedora is not supported by SSM")


def test_agent_state_unknown_is_inconclusive_with_command() -> None:
    v = ssm.agent_running(UNKNOWN, GdAgent(False), None)
    assert v.outcome is Outcome.INCONCLUSIVE
    assert "`systemctl status amazon-ssm-agent.service`" in v.summary


def test_agent_stopped_and_guardduty_agent_unknown_is_inconclusive() -> None:
    v = ssm.agent_running(STOPPED, None, None)
    assert v.outcome is Outcome.INCONCLUSIVE and "`rpm -q amazon-guardduty-agent`" in v.summary


def test_hybrid_registration_fails_with_step_one() -> None:
    reg = SsmRegistration("mi-0abc12345def67890", "eu-west-1", ("mi-0abc12345def67890",), True)
    v = ssm.hybrid_registration(reg)
    assert (v.outcome, v.issue) == (Outcome.FAIL, "identity_document_unavailable")
    assert "a hybrid, non-EC2 host" in v.summary and "a hybrid, non-EC2 host" in v.fix[0]


def test_ec2_registration_passes() -> None:
    v = ssm.hybrid_registration(SsmRegistration(None, None, ("i-0123456789abcdef0",), True))
    assert v.outcome is Outcome.PASS and "i-0123456789abcdef0" in v.summary


def test_no_ssm_data_dir_is_not_applicable() -> None:
    v = ssm.hybrid_registration(SsmRegistration(None, None, (), False))
    assert v.outcome is Outcome.NOT_APPLICABLE


def test_malformed_registration_warns() -> None:
    v = ssm.hybrid_registration(SsmRegistration(None, None, (), True, "x: not valid JSON"))
    assert v.outcome is Outcome.WARN


def test_plugin_install_state_installed_passes() -> None:
    v = ssm.plugin_install_state(PluginInstallState(True, 8, "Installed", "1.9.2"), None)
    assert v.outcome is Outcome.PASS


def test_plugin_install_state_failed_fails_with_log_evidence() -> None:
    logs = SsmLogs(
        ("/var/log/amazon/ssm/amazon-ssm-agent.log",),
        {"guardduty_failure": 1},
        {"guardduty_failure": ("2025-03-05 14:15:16 ERROR install failed",)},
    )
    plugin = PluginInstallState(True, 2, "Failed", "1.9.2", None, "2025-03-05T14:25:01.5Z", 3)
    v = ssm.plugin_install_state(plugin, logs)
    assert (v.outcome, v.issue) == (Outcome.FAIL, "ssm_association_execution_failed")
    assert v.summary == (
        "AmazonGuardDuty-RuntimeMonitoringSsmPlugin 1.9.2 is Failed (state 2, "
        "2025-03-05T14:25:01.5Z, retry count 3)."
    )
    assert v.evidence == ("SSM log: 2025-03-05 14:15:16 ERROR install failed",)


def test_plugin_install_state_rollback_fails() -> None:
    plugin = PluginInstallState(True, 9, "RollbackUninstall", "1.9.2", "1.9.1")
    assert ssm.plugin_install_state(plugin, None).issue == "ssm_association_execution_failed"


def test_plugin_install_state_malformed_or_unknown_state_warns() -> None:
    assert (
        ssm.plugin_install_state(
            PluginInstallState(True, problem="is not a JSON object"), None
        ).outcome
        is Outcome.WARN
    )
    assert (
        ssm.plugin_install_state(PluginInstallState(True, 42, "unknown state 42"), None).outcome
        is Outcome.WARN
    )


def test_plugin_install_state_absent_is_not_applicable() -> None:
    v = ssm.plugin_install_state(PluginInstallState(False), None)
    assert v.outcome is Outcome.NOT_APPLICABLE


def _run(status: str, folder: str = "current") -> DocumentRun:
    failures = ("aws:configurePackage: Failed (code 1): boom",) if status == "Failed" else ()
    return DocumentRun(folder, "f", GD, status, "0f1e", "2025-03-05T14:15:02Z", failures)


def test_association_execution_failed_fails_with_plugin_output() -> None:
    v = ssm.association_execution(SsmAssociations(("i-0",), 2, (_run("Failed"),)), None)
    assert (v.outcome, v.issue) == (Outcome.FAIL, "ssm_association_execution_failed")
    assert v.evidence == ("aws:configurePackage: Failed (code 1): boom",)


def test_association_execution_in_progress_passes() -> None:
    v = ssm.association_execution(SsmAssociations(("i-0",), 1, (_run("InProgress"),)), None)
    assert v.outcome is Outcome.PASS


def test_association_execution_none_kept_but_log_failure_warns() -> None:
    logs = SsmLogs(("a",), {"guardduty_failure": 1}, {"guardduty_failure": ("ERROR x",)})
    v = ssm.association_execution(SsmAssociations(("i-0",), 0, ()), logs)
    assert v.outcome is Outcome.WARN and v.evidence == ("SSM log: ERROR x",)


def test_association_execution_without_state_is_not_applicable() -> None:
    v = ssm.association_execution(SsmAssociations((), 0, ()), NO_LOGS)
    assert v.outcome is Outcome.NOT_APPLICABLE


def test_logs_clean_passes() -> None:
    logs = SsmLogs(("a",), {"association_run": 4}, {})
    v = ssm.logs_clean(logs)
    assert v.outcome is Outcome.PASS and "4 association run(s)" in v.summary


def test_logs_with_credential_errors_warn() -> None:
    logs = SsmLogs(
        ("a", "b"),
        {"credentials": 3, "associations_unavailable": 1},
        {"credentials": ("c1",), "associations_unavailable": ("u1",)},
        True,
    )
    v = ssm.logs_clean(logs)
    assert v.outcome is Outcome.WARN
    assert v.summary.startswith(
        "SSM agent log (2 file(s), tails only) has 3 credentials, "
        "1 associations unavailable line(s)"
    )
    assert v.evidence == ("SSM log: c1", "SSM log: u1")


def test_no_logs_is_not_applicable() -> None:
    assert ssm.logs_clean(NO_LOGS).outcome is Outcome.NOT_APPLICABLE


AGENT_LOG = "/var/log/amazon/ssm/amazon-ssm-agent.log"
WHEN = "2024-11-04 09:08:44"


def _cause(cause: str, *subjects: str, guardduty=False, suspected=False, n=1) -> LogCause:
    return LogCause(cause, n, subjects, WHEN, (f"{WHEN} ERROR {cause}",), guardduty, suspected)


@pytest.mark.parametrize(
    "cause, named, first_fix",
    [
        (
            _cause("network", "ssmmessages.us-east-1.amazonaws.com", n=3),
            "network or DNS failure reaching ssmmessages.us-east-1.amazonaws.com [3 entries",
            "The SSM agent cannot reach ssmmessages.us-east-1.amazonaws.com: the name must resolve",
        ),
        (
            _cause("imds_unreachable", "network is unreachable"),
            "IMDS unreachable from the SSM agent (network is unreachable): a route or firewall "
            "problem, not a missing role [1 entry",
            "The SSM agent cannot reach IMDS at 169.254.169.254",
        ),
        (
            _cause("no_instance_profile", "IMDS answered 404"),
            "no instance profile (IMDS answered 404) [1 entry",
            "Attach an instance profile whose role has AmazonSSMManagedInstanceCore",
        ),
        (
            _cause("dhmc_off", "111122223333"),
            "Default Host Management not configured for account 111122223333 [1 entry",
            "Turn on Default Host Management Configuration for the account",
        ),
        (
            _cause("iam_action", "ssm:UpdateInstanceInformation"),
            "the instance's role lacks ssm:UpdateInstanceInformation (no identity-based policy "
            "allows it) [1 entry",
            "Attach AmazonSSMManagedInstanceCore to the instance's role: it allows "
            "ssm:UpdateInstanceInformation",
        ),
        (
            _cause("scp_deny", "ssm:UpdateInstanceInformation"),
            "a service control policy explicitly denies ssm:UpdateInstanceInformation [1 entry",
            "An SCP of the organisation denies ssm:UpdateInstanceInformation",
        ),
        (
            _cause("vpce_policy", "ssm:ListInstanceAssociations", suspected=True),
            "access denied on ssm:ListInstanceAssociations with no policy named (suspected: a "
            "VPC endpoint policy) [1 entry",
            "Read the SSM interface endpoints' policy, which must allow "
            "ssm:ListInstanceAssociations",
        ),
        (
            _cause("vpce_policy", "ssm:UpdateInstanceInformation"),
            "a VPC endpoint policy denies ssm:UpdateInstanceInformation [1 entry",
            "The SSM interface endpoints' policy must allow ssm:UpdateInstanceInformation",
        ),
        (
            _cause("clock_skew", "Signature expired"),
            "clock skew (Signature expired): AWS refuses the agent's signed requests [1 entry",
            "Set the clock right",
        ),
        (
            _cause("tls_proxy", "x509: certificate signed by unknown authority"),
            "TLS or proxy failure (x509: certificate signed by unknown authority) [1 entry",
            "TLS to SSM fails (x509: certificate signed by unknown authority)",
        ),
        (
            _cause("no_platform_build", "ubuntu 24.04 (arm64)"),
            "Distributor has no build of a package for ubuntu 24.04 (arm64) [1 entry",
            "Distributor has no build of a package for ubuntu 24.04 (arm64)",
        ),
        (
            _cause("network"),  # no endpoint named: the stand-in says which
            "network or DNS failure reaching the SSM endpoints [1 entry",
            "The SSM agent cannot reach the SSM endpoints",
        ),
    ],
)
def test_logs_clean_names_each_cause_with_its_fix(cause, named, first_fix) -> None:
    v = ssm.logs_clean(SsmLogs((AGENT_LOG,), {}, {}, causes=(cause,)))
    assert v.outcome is Outcome.WARN and v.issue is None
    assert v.summary == f"SSM agent log (1 file(s)) names 1 cause(s): {named}, latest {WHEN}]."
    assert v.fix[0].startswith(first_fix) and len(v.fix) == 1
    assert v.evidence == (f"SSM log, {cause.cause.replace('_', ' ')}: {WHEN} ERROR {cause.cause}",)


def test_logs_clean_fails_when_distributor_has_no_build_of_guardduty() -> None:
    cause = _cause("no_platform_build", "centos 7.9.2009 (x86_64)", guardduty=True)
    v = ssm.logs_clean(SsmLogs((AGENT_LOG,), {"association_run": 1}, {}, causes=(cause,)))
    assert (v.outcome, v.issue) == (Outcome.FAIL, "ssm_association_execution_failed")
    assert v.summary == (
        "SSM agent log (1 file(s)) names 1 cause(s): Distributor has no build of "
        "AmazonGuardDuty-RuntimeMonitoringSsmPlugin for centos 7.9.2009 (x86_64) "
        f"[1 entry, latest {WHEN}]."
    )


def test_logs_clean_orders_causes_root_first_and_keeps_unexplained_lines() -> None:
    logs = SsmLogs(
        (AGENT_LOG, "/var/log/amazon/ssm/errors.log"),
        {"credentials": 2},
        {"credentials": ("c1",)},
        True,
        causes=(
            _cause("dhmc_off", "111122223333", n=2),
            LogCause("no_instance_profile", 1, (), "", ("l2",)),
            _cause("network", "ssm.eu-west-1.amazonaws.com"),
        ),
    )
    v = ssm.logs_clean(logs)
    assert v.summary == (
        "SSM agent log (2 file(s), tails only) names 3 cause(s): network or DNS failure "
        f"reaching ssm.eu-west-1.amazonaws.com [1 entry, latest {WHEN}]; no instance profile "
        "(IMDS has no role) [1 entry]; Default Host Management not configured for account "
        f"111122223333 [2 entries, latest {WHEN}]; also 2 credentials line(s) that name no "
        "cause."
    )
    assert [f.split(" ", 3)[:3] for f in v.fix] == [
        ["The", "SSM", "agent"],
        ["Attach", "an", "instance"],
        ["Turn", "on", "Default"],
        ["Attach", "an", "instance"],  # the credentials lines' step comes last
    ]
    assert v.evidence[-1] == "SSM log: c1"


def test_plugin_install_state_failed_shows_the_missing_build() -> None:
    cause = _cause("no_platform_build", "centos 7.9.2009 (x86_64)", guardduty=True)
    logs = SsmLogs((AGENT_LOG,), {}, {}, causes=(cause,))
    plugin = PluginInstallState(True, 2, "Failed", "1.9.2", None, "2024-11-04T09:15:10Z", 1)
    v = ssm.plugin_install_state(plugin, logs)
    assert v.evidence == (f"SSM log: {WHEN} ERROR no_platform_build",)
