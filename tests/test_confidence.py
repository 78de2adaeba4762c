"""Every way a rule can fail, with the confidence it gives (README, "Confidence"):

- confirmed: the cause itself was seen on the host (a kernel version, a tag, a masked unit, a
  kernel OOM kill, the agent's own log line), and GuardDuty's documentation ties it to the
  console issue;
- likely: the console issue follows from what was seen, but the cause behind it is inferred
  (the agent is absent, or keeps dying, or an association run failed, and why is not seen);
- suspected: the evidence is indirect (SIGKILLs under a memory cap without an OOM-killer
  line, a certificate this host does not trust, a silent Amazon resolver).

And how a diagnosis is assembled from them: its confidence is its strongest failure's, the
failures that name a cause come before those that only show its effect (``symptom``), and so do
their fixes. Rules are called directly with values built inline, as in each area's rule tests
(whose builders these reuse).
"""

from __future__ import annotations

from typing import Tuple

import pytest
from agent.test_agent_rules import (
    FLAPPING,
    KERNEL_510,
    M,
    evidence,
    hit,
    journal,
    logs,
    pkg,
    process,
    skeleton_hit,
    ssm,
    unit,
)
from network.conftest import STANDARD
from network.test_net_rules import ENDPOINTS, NETWORK, amazon, dns, dns_private, tcp, tls

from amzn_gd_doctor import catalog, doctor
from amzn_gd_doctor.answers import TlsResult
from amzn_gd_doctor.facts.agent import AgentPackage, AgentUnit, Systemd
from amzn_gd_doctor.facts.imds import IdentityDocument, IdentityResult, TagResult
from amzn_gd_doctor.facts.platform import BtfInfo, OsInfo
from amzn_gd_doctor.facts.ssm import (
    DocumentRun,
    LogCause,
    PluginInstallState,
    SsmAgent,
    SsmAssociations,
    SsmLogs,
    SsmRegistration,
)
from amzn_gd_doctor.model import Confidence, Finding, Outcome, Verdict
from amzn_gd_doctor.probes.imds_session import parse_imds_config
from amzn_gd_doctor.probes.platform import parse_kernel_release
from amzn_gd_doctor.rules import (
    agent_install,
    agent_journal,
    agent_logs,
    agent_memory,
    agent_unit,
    imds,
    network,
    platform,
)
from amzn_gd_doctor.rules import ssm as ssm_rules

CONFIRMED, LIKELY, SUSPECTED = Confidence.CONFIRMED, Confidence.LIKELY, Confidence.SUSPECTED
AL2023 = OsInfo(True, "amzn", "2023", "Amazon Linux")
NO_GD = AgentPackage("rpm", "not-installed")
SSM_ABSENT = SsmAgent(False, False, True, "", None, None, {})
SSM_STOPPED = SsmAgent(
    True, False, True, "deb", "3.3.1142.0-1", "amazon-ssm-agent.service", {"ActiveState": "failed"}
)


def failure(v: Verdict) -> Tuple[str, Confidence, bool]:
    assert v.outcome is Outcome.FAIL and v.issue in catalog.issues(), v
    return v.issue, v.confidence, v.symptom


# -- platform --------------------------------------------------------------------------------
def test_kernel_too_low_is_confirmed() -> None:
    kernel = parse_kernel_release(b"4.14.355-284.742.amzn2.x86_64\n")
    assert failure(platform.kernel_supported(kernel, AL2023, None)) == (
        "kernel_too_low",
        CONFIRMED,
        False,
    )


def test_kernel_too_high_is_likely_as_the_bound_is_not_published() -> None:
    kernel = parse_kernel_release(b"9.4.0-1-aws\n")
    assert failure(platform.kernel_supported(kernel, AL2023, pkg())) == (
        "kernel_too_high",
        LIKELY,
        False,
    )


def test_missing_btf_is_likely_until_the_agent_says_so() -> None:
    assert failure(platform.btf_present(BtfInfo(False))) == ("no_agent_reporting", LIKELY, False)


@pytest.mark.parametrize("arch, itype", [("x86_64", "a1.large"), ("s390x", "m6i.large")])
def test_unsupported_architecture_is_confirmed(arch: str, itype: str) -> None:
    doc = IdentityDocument("1", "i-1", "us-east-1", itype, arch, None, None, None, None)
    result = IdentityResult(parse_imds_config({}), None, doc)
    assert failure(platform.arch_supported(None, result)) == (
        "ssm_association_execution_failed",
        CONFIRMED,
        False,
    )


# -- imds ------------------------------------------------------------------------------------
def test_no_identity_document_is_confirmed() -> None:
    result = IdentityResult(
        parse_imds_config({}), None, None, "http_404", "IMDS answered the token request with 404"
    )
    assert failure(imds.identity_document(result, None, None)) == (
        "identity_document_unavailable",
        CONFIRMED,
        False,
    )


def test_exclusion_tag_is_confirmed() -> None:
    assert failure(imds.exclusion_tag(TagResult(True, "false"))) == (
        "exclusion_tag",
        CONFIRMED,
        False,
    )


# -- ssm -------------------------------------------------------------------------------------
@pytest.mark.parametrize("seen", [SSM_ABSENT, SSM_STOPPED], ids=["absent", "stopped"])
def test_no_ssm_agent_at_work_is_confirmed(seen: SsmAgent) -> None:
    assert failure(ssm_rules.agent_running(seen, NO_GD, None)) == (
        "waiting_for_ssm_notification",
        CONFIRMED,
        False,
    )


def test_hybrid_registration_is_confirmed() -> None:
    reg = SsmRegistration("mi-0abc12345def67890", "eu-west-1", ("mi-0abc12345def67890",), True)
    assert failure(ssm_rules.hybrid_registration(reg)) == (
        "identity_document_unavailable",
        CONFIRMED,
        False,
    )


def test_failed_plugin_install_is_likely_and_a_symptom() -> None:
    plugin = PluginInstallState(True, 2, "Failed", "1.9.2", retry_count=3)
    assert failure(ssm_rules.plugin_install_state(plugin, None)) == (
        "ssm_association_execution_failed",
        LIKELY,
        True,
    )


def test_failed_association_run_is_likely_and_a_symptom() -> None:
    run = DocumentRun("current", "x.json", ssm_rules.GD_DOCUMENT, "Failed", None, None)
    assoc = SsmAssociations(("i-1",), 1, (run,))
    v = ssm_rules.association_execution(assoc, None)
    assert failure(v) == ("ssm_association_execution_failed", LIKELY, True)
    assert "?" not in v.summary  # no association id or time: left out, not "?"


def test_no_build_for_this_platform_in_the_ssm_log_is_confirmed() -> None:
    cause = LogCause("no_platform_build", 2, ("ubuntu 26.04 arm64",), "", ("x",), guardduty=True)
    logs_ = SsmLogs(("amazon-ssm-agent.log",), {}, {}, causes=(cause,))
    assert failure(ssm_rules.logs_clean(logs_)) == (
        "ssm_association_execution_failed",
        CONFIRMED,
        False,
    )


# -- agent.installed -------------------------------------------------------------------------
def test_half_installed_agent_is_confirmed() -> None:
    half = pkg("half-configured", status="install ok half-configured")
    assert failure(agent_install.installed(half, None)) == ("no_agent_reporting", CONFIRMED, False)


@pytest.mark.parametrize("installed", [False, True], ids=["no-ssm", "ssm-stopped"])
def test_missing_agent_without_a_working_ssm_agent_is_the_ssm_agents_symptom(
    installed: bool,
) -> None:
    v = agent_install.installed(pkg("not-installed"), ssm(installed, False))
    assert failure(v) == ("waiting_for_ssm_notification", CONFIRMED, True)


@pytest.mark.parametrize("running", [True, None], ids=["ssm-runs", "ssm-unknown"])
def test_missing_agent_with_ssm_running_or_unknown_is_likely(running: object) -> None:
    seen = ssm(True, True) if running else None
    v = agent_install.installed(pkg("not-installed"), seen)
    assert failure(v) == ("no_agent_reporting", LIKELY, False)


# -- agent.unit_running ----------------------------------------------------------------------
def test_masked_unit_is_confirmed() -> None:
    v = agent_unit.unit_running(unit(load_state="masked"), None, None)
    assert failure(v) == ("agent_disconnected", CONFIRMED, False)


def test_stopped_unit_is_confirmed() -> None:
    v = agent_unit.unit_running(
        unit(active_state="inactive", sub_state="dead", unit_file_state="disabled"), None, None
    )
    assert failure(v) == ("agent_disconnected", CONFIRMED, False)


@pytest.mark.parametrize(
    "kw",
    [
        dict(active_state="failed", sub_state="failed", result="exit-code"),
        dict(active_state="activating", sub_state="auto-restart", result="signal"),
    ],
    ids=["failed", "between-restarts"],
)
def test_failed_or_restarting_unit_is_likely_and_a_symptom(kw: dict) -> None:
    v = agent_unit.unit_running(unit(**kw), None, None)
    assert failure(v) == ("agent_disconnected", LIKELY, True)


def test_unit_still_starting_is_suspected() -> None:
    v = agent_unit.unit_running(unit(active_state="activating", sub_state="start"), None, None)
    assert failure(v) == ("agent_disconnected", SUSPECTED, True)


def test_flapping_unit_is_likely_and_a_symptom() -> None:
    v = agent_unit.unit_running(unit(n_restarts=2), journal(**FLAPPING), None)
    assert failure(v) == ("agent_disconnected", LIKELY, True)


@pytest.mark.parametrize(
    "state, expected", [("stopped", (CONFIRMED, False)), ("failed", (LIKELY, True))]
)
def test_unit_state_from_a_trees_journal(state: str, expected: Tuple[Confidence, bool]) -> None:
    tree = AgentUnit(Systemd.UNIT_FILES, "loaded", unit_file_state="enabled", fragment_path="/x")
    v = agent_unit.unit_running(tree, journal(last_state=state, last_state_age_s=60.0), None)
    assert failure(v) == ("agent_disconnected", *expected)


# -- agent.not_crash_looping -----------------------------------------------------------------
def test_crash_loop_with_its_cause_in_the_journal_is_confirmed() -> None:
    looping = journal(restarts_recent=5, restarts=5, oom_kills=5, oom_kills_recent=4)
    v = agent_journal.not_crash_looping(evidence(None, looping), unit(n_restarts=5))
    assert failure(v) == ("agent_disconnected", CONFIRMED, True)


def test_crash_loop_without_a_cause_is_likely() -> None:
    v = agent_journal.not_crash_looping(evidence(None, journal(**FLAPPING)), unit(n_restarts=2))
    assert failure(v) == ("agent_disconnected", LIKELY, True)


# -- agent.not_oom_killed, agent.memlock -----------------------------------------------------
def test_oom_kill_in_the_journal_is_confirmed() -> None:
    v = agent_memory.not_oom_killed(
        journal(oom_kills=5, oom_kills_recent=4, oom_cap_kills=5), unit()
    )
    assert failure(v) == ("agent_disconnected", CONFIRMED, False)


def test_oom_kill_as_the_units_result_is_confirmed() -> None:
    v = agent_memory.not_oom_killed(None, unit(result="oom-kill", active_state="failed"))
    assert failure(v) == ("agent_disconnected", CONFIRMED, False)


def test_sigkills_under_a_cap_without_an_oom_line_are_suspected() -> None:
    v = agent_memory.not_oom_killed(
        journal(sigkills=3, sigkills_recent=2), unit(memory_max=32 * M, memory_limit=None)
    )
    assert failure(v) == ("agent_disconnected", SUSPECTED, False)


def test_low_memlock_of_the_running_agent_is_confirmed() -> None:
    v = agent_memory.memlock(KERNEL_510, evidence(None, None), process((65536, 65536)), None)
    assert failure(v) == ("agent_disconnected", CONFIRMED, False)


def test_low_memlock_from_configuration_alone_is_suspected() -> None:
    configured = AgentUnit(
        Systemd.UNIT_FILES, "loaded", memlock=(65536, 65536), memlock_source="systemd's default"
    )
    v = agent_memory.memlock(KERNEL_510, evidence(None, None), None, configured)
    assert failure(v) == ("agent_disconnected", SUSPECTED, False)


# -- agent.btf_errors, agent.logs_clean: the agent's own lines -------------------------------
def test_libbpf_failures_in_the_agents_logs_are_confirmed() -> None:
    missing = agent_logs.btf_errors(
        evidence(logs(hit("bpf_load_failed", 4)), journal(phrases=(hit("btf_missing", 8),))),
        BtfInfo(False),
        pkg(),
    )
    assert failure(missing) == ("agent_disconnected", CONFIRMED, False)
    own = agent_logs.btf_errors(
        evidence(None, journal(phrases=(skeleton_hit(), hit("bpf_load_failed", 3)))),
        BtfInfo(True),
        pkg(),
    )
    assert failure(own) == ("agent_disconnected", CONFIRMED, False)


def test_connectivity_failures_in_the_agents_logs_are_confirmed() -> None:
    v = agent_logs.logs_clean(evidence(logs(hit("connection_timeout")), None), None)
    assert failure(v) == ("agent_disconnected", CONFIRMED, False)


# -- network ---------------------------------------------------------------------------------
def test_endpoint_name_not_private_is_confirmed() -> None:
    v = dns_private(dns(("10.0.0.2", STANDARD, "nxdomain")))
    assert failure(v) == ("no_agent_reporting", CONFIRMED, False)


def test_silent_amazon_resolver_is_suspected() -> None:
    silent = dns(
        ("10.50.0.10", STANDARD, ("52.94.4.10",)), ("169.254.169.253", STANDARD, "timeout")
    )
    assert failure(amazon(silent)) == ("vpce_private_dns_attributes", SUSPECTED, False)


def test_no_tcp_answer_is_confirmed() -> None:
    v = network.tcp_reachable(ENDPOINTS, tcp(("10.0.1.5", "timeout")), NETWORK)
    assert failure(v) == ("no_agent_reporting", CONFIRMED, False)


def test_untrusted_certificate_is_suspected_and_a_failed_handshake_confirmed() -> None:
    untrusted = TlsResult("10.0.1.5", 443, STANDARD, "verify_failed", verify_error="self-signed")
    assert failure(network.tls_valid(ENDPOINTS, tls(untrusted))) == (
        "no_agent_reporting",
        SUSPECTED,
        False,
    )
    reset = TlsResult("10.0.1.5", 443, STANDARD, "reset", detail="connection reset")
    v = network.tls_valid(ENDPOINTS, tls(reset))
    assert failure(v) == ("no_agent_reporting", CONFIRMED, False)
    assert v.fix  # a step of its own, not the catalogue's generic ones


# -- the diagnosis ---------------------------------------------------------------------------
def fail(rule_id: str, confidence: Confidence, fix: Tuple[str, ...], symptom: bool) -> Finding:
    return Finding(
        rule_id,
        rule_id,
        rule_id.split(".")[0],
        Outcome.FAIL,
        f"the {rule_id.split('.')[1].replace('_', ' ')} was seen",
        issue="agent_disconnected",
        confidence=confidence,
        fix=fix,
        symptom=symptom,
    )


LOOP = ("Read why it dies, fix that, then restart the agent.",)
CAP = ("Raise MemoryMax.", "Then restart the agent.")


def test_a_diagnosis_starts_with_the_cause_and_its_fix() -> None:
    """The OOM case: the loop (a symptom) is seen first in rule order, the memory cap is the
    cause; its fix alone is the diagnosis's, and nothing says "the cause named above"."""
    (d,) = doctor.diagnose(
        [
            fail("agent.not_crash_looping", CONFIRMED, LOOP, True),
            fail("agent.oom", SUSPECTED, CAP, False),
        ]
    )
    assert d.findings == ("agent.oom", "agent.not_crash_looping")
    assert d.remediation == CAP
    assert d.confidence is CONFIRMED
    assert d.summary == "The oom was seen. The not crash looping was seen."
    assert not any("named above" in step for step in d.remediation)


def test_a_diagnosis_of_symptoms_alone_takes_their_fixes_once() -> None:
    (d,) = doctor.diagnose(
        [fail("agent.unit_running", LIKELY, LOOP, True), fail("agent.loop", LIKELY, LOOP, True)]
    )
    assert (d.remediation, d.confidence) == (LOOP, LIKELY)


def test_a_cause_without_steps_of_its_own_takes_the_catalogues() -> None:
    (d,) = doctor.diagnose(
        [fail("agent.x", LIKELY, (), False), fail("agent.y", LIKELY, CAP, False)]
    )
    issue = catalog.issue("agent_disconnected")
    assert d.remediation == issue.remediation + CAP
    assert not any("named above" in step for step in issue.remediation)


def test_diagnoses_sort_by_confidence_then_provisioning_order() -> None:
    def one(code: str, confidence: Confidence) -> Finding:
        return Finding("a.b", "t", "a", Outcome.FAIL, "x.", issue=code, confidence=confidence)

    found = doctor.diagnose(
        [
            one("agent_disconnected", LIKELY),
            one("kernel_too_high", SUSPECTED),
            one("no_agent_reporting", LIKELY),
            one("vpce_private_dns_attributes", CONFIRMED),
        ]
    )
    assert [d.issue.code for d in found] == [
        "vpce_private_dns_attributes",
        "no_agent_reporting",
        "agent_disconnected",
        "kernel_too_high",
    ]


@pytest.mark.parametrize(
    "summary, sentence",
    [
        ("the agent is down", "The agent is down."),
        ("kernel 4.14 is below 5.4.", "Kernel 4.14 is below 5.4."),
        ("SSM agent is not installed.", "SSM agent is not installed."),
    ],
)
def test_observed_is_whole_sentences(summary: str, sentence: str) -> None:
    assert doctor.sentence(summary) == sentence


def test_confidence_rank_orders_the_three() -> None:
    assert sorted(Confidence, key=lambda c: c.rank) == [CONFIRMED, LIKELY, SUSPECTED]
    assert [c.value for c in Confidence] == ["confirmed", "likely", "suspected"]
