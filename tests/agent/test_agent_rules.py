"""Agent rules called directly with values built inline: every rule passes and fails, and the
cases where the host cannot tell are inconclusive with what to run by hand."""

from __future__ import annotations

from typing import Any, Optional, Tuple

import pytest

from amzn_gd_doctor import catalog
from amzn_gd_doctor.answers import ProcessInfo
from amzn_gd_doctor.catalog.phrases import by_name
from amzn_gd_doctor.facts.agent import (
    AgentEvidence,
    AgentJournal,
    AgentLogs,
    AgentPackage,
    AgentProcess,
    AgentUnit,
    LogFile,
    PhraseHits,
    Systemd,
)
from amzn_gd_doctor.facts.network import ProxySettings, ProxySource, ProxyView
from amzn_gd_doctor.facts.platform import BtfInfo
from amzn_gd_doctor.facts.ssm import SsmAgent
from amzn_gd_doctor.model import Confidence, Outcome, Verdict
from amzn_gd_doctor.numbers import SIZE_ABSURD
from amzn_gd_doctor.probes import agent_evidence
from amzn_gd_doctor.probes.net_proxy import proxy_view
from amzn_gd_doctor.probes.platform import parse_kernel_release
from amzn_gd_doctor.rules import agent_install, agent_journal, agent_logs, agent_memory, agent_unit

M = 1024 * 1024


def hit(name: str, count: int = 3, recent: Optional[int] = None) -> PhraseHits:
    item = by_name(name)
    return PhraseHits(
        name,
        item.category,
        item.meaning,
        count,
        count if recent is None else recent,
        f"sample line for {name}",
    )


def logs(*hits: PhraseHits, lines: int = 200) -> AgentLogs:
    return AgentLogs(
        "/var/log/amzn-guardduty-agent",
        True,
        (LogFile("agent.log", 4096, False, 4096, lines),),
        lines,
        {"info": lines},
        tuple(hits),
    )


def journal(**kw: Any) -> AgentJournal:
    base = dict(
        backend="systemd-python",
        source="the live journal",
        window_s=86400,
        window_end=1795176000.0,
        anchored_on="now",
        entries=40,
        kernel_entries=120,
    )
    base.update(kw)
    return AgentJournal(**base)  # type: ignore[arg-type]


def unit(**kw: Any) -> AgentUnit:
    base = dict(
        systemd="running",
        load_state="loaded",
        active_state="active",
        sub_state="running",
        result="success",
        n_restarts=0,
        main_pid=2540,
        started="Fri 2026-11-20 10:02:11 UTC",
        memory_current=22 * M,
        memory_max=128 * M,
        memory_limit=128 * M,
        unit_file_state="enabled",
        fragment_path="/usr/lib/systemd/system/amazon-guardduty-agent.service",
    )
    base.update(kw)
    return AgentUnit(**base)  # type: ignore[arg-type]


def process(
    memlock: Optional[Tuple[Optional[int], Optional[int]]] = (64 * M, 64 * M), **env: str
) -> AgentProcess:
    info = ProcessInfo(
        2540,
        "amazon-guardduty",
        ("/usr/bin/amazon-guardduty",),
        22 * M,
        1795170000.0,
        memlock,
        env,
        True,
    )
    return AgentProcess((info,), 2540)


def pkg(
    state: str = "installed",
    manager: str = "dpkg",
    version: Optional[str] = "1.9.2",
    status: str = "install ok installed",
) -> AgentPackage:
    return AgentPackage(manager, state, version, status)


def evidence(
    agent_logs: Optional[AgentLogs], agent_journal: Optional[AgentJournal]
) -> AgentEvidence:
    """The derived fact as the engine makes it from these two."""
    usable = agent_evidence.usable(agent_journal)
    phrases = agent_evidence.merge(
        agent_logs.phrases if agent_logs else (), usable.phrases if usable else ()
    )
    return AgentEvidence(agent_logs, usable, phrases)


def ssm(installed: bool, running: bool, known: bool = True) -> SsmAgent:
    unit = "amazon-ssm-agent.service" if installed else None
    return SsmAgent(installed, running, known, "rpm" if installed else "", None, unit, {})


def assert_catalogued(verdict: Verdict) -> None:
    if verdict.outcome is Outcome.FAIL:
        assert verdict.issue in catalog.issues()


KERNEL_510 = parse_kernel_release(b"5.10.228-219.884.amzn2.x86_64\n")
KERNEL_61 = parse_kernel_release(b"6.1.115-126.197.amzn2023.x86_64\n")


# -- agent.installed ----------------------------------------------------------------------------
def test_installed_passes_with_version() -> None:
    v = agent_install.installed(pkg(), None)
    assert v.outcome is Outcome.PASS and "1.9.2" in v.summary


def test_installed_passes_from_unit_file_in_an_rpm_tree() -> None:
    files = AgentPackage(
        None,  # no package database was read: the unit file is the evidence
        "installed",
        files=("/usr/lib/systemd/system/x.service",),
        notes=("the rpm database is not read under --root",),
    )
    v = agent_install.installed(files, None)
    assert v.outcome is Outcome.PASS and "rpm database is not read" in v.summary


def test_installed_fails_waiting_for_ssm_without_ssm_agent() -> None:
    v = agent_install.installed(pkg("not-installed", version=None, status=""), ssm(False, False))
    assert (v.outcome, v.issue) == (Outcome.FAIL, "waiting_for_ssm_notification")
    assert "no SSM agent" in v.summary
    assert_catalogued(v)


def test_installed_fails_waiting_for_ssm_with_stopped_ssm_agent() -> None:
    v = agent_install.installed(pkg("not-installed"), ssm(True, False))
    assert v.issue == "waiting_for_ssm_notification" and "not running" in v.summary


def test_installed_fails_no_agent_reporting_when_ssm_runs() -> None:
    v = agent_install.installed(pkg("not-installed"), ssm(True, True))
    assert v.issue == "no_agent_reporting"
    assert "automated agent configuration is off" in v.summary
    assert any("installing-gdu-security-agent-ec2-manually" in f for f in v.fix)


@pytest.mark.parametrize("ssm_value", [None, ssm(True, False, known=False)])
def test_installed_fails_no_agent_reporting_when_ssm_cannot_tell(ssm_value: Any) -> None:
    v = agent_install.installed(
        pkg("config-files", version="1.8.0", status="deinstall ok config-files"), ssm_value
    )
    assert v.issue == "no_agent_reporting"
    assert "configuration files remain" in v.summary


def test_installed_fails_half_configured() -> None:
    v = agent_install.installed(
        pkg("half-configured", status="install ok half-configured"), ssm(True, True)
    )
    assert v.issue == "no_agent_reporting" and "iF (half-configured)" in v.summary
    assert "sudo dpkg --configure -a" in v.fix[0]


# -- agent.unit_running -------------------------------------------------------------------------
def test_unit_running_passes_when_active() -> None:
    v = agent_unit.unit_running(unit(), None, None)
    assert v.outcome is Outcome.PASS
    assert "active (running)" in v.summary and "memory 22M of cap 128M" in v.summary


@pytest.mark.parametrize(
    "kw, words",
    [
        (
            dict(active_state="failed", sub_state="failed", result="oom-kill", n_restarts=4),
            "failed (failed), result oom-kill, 4 restarts",
        ),
        (
            dict(
                active_state="activating",
                sub_state="auto-restart",
                result="exit-code",
                n_restarts=17,
            ),
            "between restarts",
        ),
        (
            dict(active_state="inactive", sub_state="dead", unit_file_state="disabled"),
            "not enabled at boot",
        ),
        (dict(load_state="masked"), "is masked"),
        (dict(load_state="not-found"), "LoadState=not-found"),
    ],
)
def test_unit_running_fails(kw: Any, words: str) -> None:
    v = agent_unit.unit_running(unit(**kw), None, None)
    assert (v.outcome, v.issue) == (Outcome.FAIL, "agent_disconnected")
    assert words in v.summary


def test_unit_running_inconclusive_without_systemd_names_the_process() -> None:
    v = agent_unit.unit_running(
        AgentUnit("not-running", detail="systemd is not running as PID 1 here"), None, process()
    )
    assert v.outcome is Outcome.INCONCLUSIVE
    assert "pid 2540" in v.summary and "sudo systemctl status amazon-guardduty-agent" in v.summary
    assert "inactive" not in v.summary


def test_unit_running_in_a_tree_reads_the_journal() -> None:
    tree = AgentUnit(
        Systemd.UNIT_FILES, "loaded", unit_file_state="enabled", fragment_path="/lib/x.service"
    )
    started = journal(last_state="started", last_state_age_s=600.0)
    assert agent_unit.unit_running(tree, started, None).outcome is Outcome.PASS
    looping = journal(last_state="started", last_state_age_s=6.0, restarts_recent=9)
    assert agent_unit.unit_running(tree, looping, None).outcome is Outcome.WARN
    stopped = agent_unit.unit_running(
        tree, journal(last_state="failed", last_state_age_s=6.0), None
    )
    assert stopped.issue == "agent_disconnected" and "last failed" in stopped.summary
    unknown = agent_unit.unit_running(tree, None, None)
    assert unknown.outcome is Outcome.INCONCLUSIVE and "enabled" in unknown.summary


# -- agent.not_crash_looping --------------------------------------------------------------------
def test_not_crash_looping_passes() -> None:
    v = agent_journal.not_crash_looping(
        evidence(None, journal(restarts_recent=1, restarts=1)), unit(n_restarts=1)
    )
    assert v.outcome is Outcome.PASS and "NRestarts=1" in v.summary


def test_not_crash_looping_fails_with_counts_and_cause() -> None:
    v = agent_journal.not_crash_looping(
        evidence(
            logs(hit("connection_timeout", 24)),
            journal(restarts=30, restarts_recent=12, exits={"exited, status=1/FAILURE": 12}),
        ),
        unit(n_restarts=17),
    )
    assert v.issue == "agent_disconnected"
    assert "17 times (NRestarts)" in v.summary and ", 12 in the last hour" in v.summary
    assert "status=1/FAILURE ×12" in v.summary and "connection_timeout" in v.summary


def test_not_crash_looping_fails_when_systemd_gave_up() -> None:
    v = agent_journal.not_crash_looping(
        evidence(None, journal(restarts=2, restarts_recent=2, start_limit_hits=1)), None
    )
    assert v.outcome is Outcome.FAIL and "start-limit-hit" in v.summary


def test_not_crash_looping_names_oom_as_the_cause() -> None:
    v = agent_journal.not_crash_looping(evidence(None, journal(oom_kills=5)), unit(n_restarts=5))
    assert "OOM killer killed it 5 times" in v.summary


def test_not_crash_looping_inconclusive_without_unit_or_journal() -> None:
    unreadable = journal(entries=0, problems=("3 journal files: permission denied",))
    v = agent_journal.not_crash_looping(evidence(None, unreadable), AgentUnit("not-running"))
    assert v.outcome is Outcome.INCONCLUSIVE and "systemctl show -p NRestarts" in v.summary


# -- agent.not_oom_killed -----------------------------------------------------------------------
def test_not_oom_killed_passes() -> None:
    v = agent_memory.not_oom_killed(journal(), unit())
    assert v.outcome is Outcome.PASS and "120 kernel lines" in v.summary


def test_not_oom_killed_fails_at_the_memory_cap() -> None:
    v = agent_memory.not_oom_killed(
        journal(oom_kills=5, oom_kills_recent=4, oom_cap_kills=5), unit()
    )
    assert v.issue == "agent_disconnected"
    assert v.summary == (
        "the agent was killed by the kernel OOM killer 4 times in the last hour "
        "(5 in 24 h); each time at its memory cap 128M."
    )
    assert "MemoryMax" in v.fix[0] and "256M" in v.fix[0]


def test_not_oom_killed_fails_from_the_unit_result_alone() -> None:
    v = agent_memory.not_oom_killed(
        None, unit(result="oom-kill", memory_max=None, memory_limit=None)
    )
    assert v.outcome is Outcome.FAIL and "no memory cap is set" in v.summary


def test_not_oom_killed_warns_about_older_kills() -> None:
    v = agent_memory.not_oom_killed(journal(oom_kills=2, oom_kills_recent=0), unit())
    assert v.outcome is Outcome.WARN


def test_not_oom_killed_without_journal() -> None:
    assert agent_memory.not_oom_killed(None, unit()).outcome is Outcome.PASS
    v = agent_memory.not_oom_killed(None, unit(n_restarts=3))
    assert v.outcome is Outcome.INCONCLUSIVE and "journalctl -k" in v.summary


# -- agent.memlock ------------------------------------------------------------------------------
def test_memlock_passes_with_enough_locked_memory() -> None:
    v = agent_memory.memlock(KERNEL_510, evidence(None, None), process((64 * M, 64 * M)), None)
    assert v.outcome is Outcome.PASS and "soft 64M, hard 64M" in v.summary


def test_memlock_not_applicable_on_newer_kernels() -> None:
    assert (
        agent_memory.memlock(KERNEL_61, evidence(None, None), process((65536, 65536)), None).outcome
        is Outcome.NOT_APPLICABLE
    )


def test_memlock_fails_on_the_running_agent() -> None:
    v = agent_memory.memlock(
        KERNEL_510, evidence(logs(hit("memlock_limit", 2)), None), process((65536, 65536)), None
    )
    assert (v.issue, v.confidence) == ("agent_disconnected", Confidence.CONFIRMED)
    assert "soft 64K, hard 64K (the running agent (pid 2540))" in v.summary
    assert "logged locked-memory failures 2 times" in v.summary
    assert "DefaultLimitMEMLOCK=32M:32M" in v.fix[0]


def test_memlock_from_configuration_is_suspected() -> None:
    configured = AgentUnit(
        Systemd.UNIT_FILES, "loaded", memlock=(65536, 65536), memlock_source="systemd's default"
    )
    v = agent_memory.memlock(KERNEL_510, evidence(None, None), None, configured)
    assert (v.outcome, v.confidence) == (Outcome.FAIL, Confidence.SUSPECTED)


def test_memlock_inconclusive_when_unknown() -> None:
    v = agent_memory.memlock(
        KERNEL_510, evidence(None, None), AgentProcess((), None), AgentUnit("not-running")
    )
    assert v.outcome is Outcome.INCONCLUSIVE and "/limits" in v.summary


# -- agent.btf_errors ---------------------------------------------------------------------------
def test_btf_errors_passes() -> None:
    v = agent_logs.btf_errors(
        evidence(logs(hit("connection_timeout")), journal()), BtfInfo(True), pkg()
    )
    assert v.outcome is Outcome.PASS


def test_btf_errors_fails_and_names_missing_btf() -> None:
    v = agent_logs.btf_errors(
        evidence(logs(hit("bpf_load_failed", 4)), journal(phrases=(hit("btf_missing", 8),))),
        BtfInfo(False),
        pkg(),
    )
    assert v.issue == "agent_disconnected"
    assert "libbpf failed 12 times" in v.summary and "(btf_missing, 8 lines" in v.summary
    assert "/sys/kernel/btf/vmlinux is missing" in v.summary


def test_btf_errors_leaves_memlock_failures_to_memlock() -> None:
    v = agent_logs.btf_errors(
        evidence(logs(hit("memlock_limit"), hit("bpf_load_failed")), None), None, None
    )
    assert v.outcome is Outcome.NOT_APPLICABLE


def test_btf_errors_inconclusive_without_logs_or_journal() -> None:
    v = agent_logs.btf_errors(evidence(None, None), None, None)
    assert v.outcome is Outcome.INCONCLUSIVE and "grep -h libbpf" in v.summary


# -- agent.logs_clean ---------------------------------------------------------------------------
def seen(unit: Optional[AgentUnit], proc: Optional[AgentProcess] = None) -> ProxyView:
    """The proxy view the agent's unit and process make; net.proxy's own sources are left
    unobserved, since only the agent's variables are shown here."""
    unseen = ProxySettings(ProxySource("p", False, {}, "x"), ProxySource("u", False, {}, "y"))
    return proxy_view(unseen, unit, proc)


def test_logs_clean_passes() -> None:
    v = agent_logs.logs_clean(evidence(logs(), journal()), seen(unit(), process()))
    assert v.outcome is Outcome.PASS
    assert v.summary == (
        "no connectivity or authentication failure, and no error line that matches no known "
        "cause, in 200 recent log lines and the journal (40 entries)."
    )


def test_logs_clean_fails_on_access_denied_with_scp_hint() -> None:
    v = agent_logs.logs_clean(
        evidence(logs(hit("telemetry_access_denied", 2), hit("dns_failure", 1)), None),
        seen(unit(environment={"HTTPS_PROXY": "http://user:pw@10.0.0.5:3128", "LANG": "C"})),
    )
    assert v.issue == "agent_disconnected"
    assert "cannot authenticate to GuardDuty" in v.summary and "also dns_failure" in v.summary
    assert "service control policies" in v.fix[0]
    assert "agent proxy setting HTTPS_PROXY=http://***@10.0.0.5:3128" in v.evidence


@pytest.mark.parametrize(
    "name, fix_words",
    [
        ("dns_failure", "private DNS"),
        ("connection_timeout", "TCP 443"),
        ("connection_refused", "TCP 443"),
        ("tls_error", "TLS inspection"),
        ("imds_unavailable", "IMDS"),
    ],
)
def test_logs_clean_fails_on_connectivity(name: str, fix_words: str) -> None:
    v = agent_logs.logs_clean(evidence(None, journal(phrases=(hit(name, 5),))), None)
    assert v.issue == "agent_disconnected" and "cannot reach GuardDuty" in v.summary
    assert fix_words in v.fix[0]


def test_logs_clean_warns_on_old_or_minor_errors() -> None:
    v = agent_logs.logs_clean(
        evidence(logs(hit("connection_timeout", 3, recent=0), hit("throttled", 2)), None),
        None,
    )
    assert v.outcome is Outcome.WARN and "connection_timeout ×3" in v.summary


def test_logs_clean_inconclusive_without_any_source() -> None:
    unreadable = journal(entries=0, problems=("system.journal: permission denied",))
    empty_dir = AgentLogs("/var/log/amzn-guardduty-agent", False)
    v = agent_logs.logs_clean(evidence(empty_dir, unreadable), None)
    assert v.outcome is Outcome.INCONCLUSIVE and "sudo tail -n 200" in v.summary


# -- a window, not an instant: flapping, memory-cap kills ----------------------------------------
FLAPPING = dict(restarts_flap=2, restarts_recent=2, restarts=2)


@pytest.mark.parametrize(
    "kw, now",
    [
        ({}, "active (running)"),
        (
            dict(active_state="activating", sub_state="auto-restart", result="signal"),
            "activating (auto-restart)",
        ),
    ],
    ids=["up-now", "between-restarts"],
)
def test_unit_running_fails_while_flapping_whatever_the_instant(kw: Any, now: str) -> None:
    v = agent_unit.unit_running(unit(n_restarts=2, **kw), journal(**FLAPPING), None)
    assert (v.outcome, v.issue, v.summary) == (
        Outcome.FAIL,
        "agent_disconnected",
        "the agent keeps restarting: systemd restarted it 2 times in the last 10 min (2 in the "
        f"last hour); at this instant amazon-guardduty-agent.service is {now}, but the agent "
        "does not stay up long enough to report.",
    )


def test_unit_running_one_restart_in_the_window_is_not_flapping() -> None:
    v = agent_unit.unit_running(
        unit(n_restarts=1), journal(restarts_flap=1, restarts_recent=1), None
    )
    assert v.outcome is Outcome.PASS


def test_unit_running_failed_unit_is_said_as_failed_not_flapping() -> None:
    v = agent_unit.unit_running(
        unit(active_state="failed", sub_state="failed", result="start-limit-hit", n_restarts=4),
        journal(restarts_flap=4, restarts_recent=4, start_limit_hits=1),
        None,
    )
    assert v.summary == (
        "the agent's unit amazon-guardduty-agent.service is failed (failed), result "
        "start-limit-hit, 4 restarts: the agent is not running."
    )


def test_unit_running_in_a_tree_fails_while_flapping() -> None:
    tree = AgentUnit(
        Systemd.UNIT_FILES, "loaded", unit_file_state="enabled", fragment_path="/lib/x.service"
    )
    v = agent_unit.unit_running(
        tree, journal(last_state="started", last_state_age_s=3.0, **FLAPPING), None
    )
    assert (v.issue, v.summary) == (
        "agent_disconnected",
        "the agent keeps restarting: systemd restarted it 2 times in the last 10 min (2 in the "
        "last hour), counted back from the journal's newest entry; "
        "amazon-guardduty-agent.service was last started 3 s before that entry (from the "
        "tree's journal; unit file /lib/x.service, enabled).",
    )


def test_not_crash_looping_fails_on_two_restarts_in_ten_minutes() -> None:
    v = agent_journal.not_crash_looping(
        evidence(None, journal(exits={"killed, status=9/KILL": 2}, **FLAPPING)),
        unit(n_restarts=2),
    )
    assert (v.outcome, v.summary) == (
        Outcome.FAIL,
        "the agent is crash-looping: systemd restarted it 2 times (NRestarts); 2 restarts in "
        "the last 10 min, 2 in the last hour, 2 in the last 24 h; exits: killed, "
        "status=9/KILL ×2.",
    )


def test_not_crash_looping_two_restarts_spread_over_the_hour_pass() -> None:
    v = agent_journal.not_crash_looping(
        evidence(None, journal(restarts_flap=0, restarts_recent=2, restarts=2)), unit(n_restarts=2)
    )
    assert (v.outcome, v.summary) == (
        Outcome.PASS,
        "no restart loop (NRestarts=2, 2 restarts in the last hour).",
    )


def test_not_oom_killed_repeated_sigkill_under_a_cap_is_suspected() -> None:
    v = agent_memory.not_oom_killed(
        journal(sigkills=3, sigkills_recent=2), unit(memory_max=32 * M, memory_limit=None)
    )
    assert (v.outcome, v.issue, v.confidence) == (
        Outcome.FAIL,
        "agent_disconnected",
        Confidence.SUSPECTED,
    )
    assert v.summary == (
        "the agent's main process died of SIGKILL (killed, status=9/KILL) 2 times in the last "
        "hour (3 in 24 h) under its memory cap 32M, and no kernel OOM-killer line names it: "
        "most likely killed at the cap (on cgroup v1, or when the kernel's lines are not in "
        "the journal, an OOM kill shows only as SIGKILL)."
    )
    assert v.fix[0].startswith("Raise MemoryMax and MemoryLimit (to 64M, for example)")


def test_not_oom_killed_sigkill_with_the_kernel_line_is_confirmed() -> None:
    v = agent_memory.not_oom_killed(
        journal(sigkills=2, sigkills_recent=2, oom_kills=2, oom_kills_recent=2, oom_cap_kills=2),
        unit(memory_max=32 * M, memory_limit=None),
    )
    assert (v.outcome, v.confidence, v.summary) == (
        Outcome.FAIL,
        Confidence.CONFIRMED,
        "the agent was killed by the kernel OOM killer 2 times in the last hour (2 in 24 h); "
        "each time at its memory cap 32M.",
    )


@pytest.mark.parametrize(
    "kw, sigkills, outcome",
    [
        (dict(memory_max=32 * M), 1, Outcome.PASS),  # one kill -9 is not a pattern
        (dict(memory_max=None, memory_limit=None), 2, Outcome.WARN),  # no cap to be killed at
        (dict(memory_max=SIZE_ABSURD, memory_limit=None), 2, Outcome.WARN),  # absurd is no cap
    ],
    ids=["once", "no-cap", "absurd-cap"],
)
def test_not_oom_killed_sigkills_that_are_not_a_cap_kill(
    kw: Any, sigkills: int, outcome: Outcome
) -> None:
    v = agent_memory.not_oom_killed(
        journal(sigkills=sigkills, sigkills_recent=sigkills), unit(**kw)
    )
    assert v.outcome is outcome


def test_not_oom_killed_without_journal_reads_the_last_exit() -> None:
    killed = unit(
        active_state="activating",
        sub_state="auto-restart",
        result="signal",
        n_restarts=3,
        exec_main_code="killed",
        exec_main_status=9,
        memory_max=32 * M,
        memory_limit=None,
    )
    v = agent_memory.not_oom_killed(None, killed)
    assert (v.outcome, v.confidence) == (Outcome.FAIL, Confidence.SUSPECTED)
    assert v.summary.startswith(
        "the agent's main process died of SIGKILL (killed, status=9/KILL) at its last exit, "
        "after 3 restarts (ExecMainCode=killed, ExecMainStatus=9; the journal was not read "
        "to count the others) under its memory cap 32M"
    )


def test_memlock_absurd_limits_are_said_so() -> None:
    v = agent_memory.memlock(
        KERNEL_510, evidence(None, None), process((SIZE_ABSURD, SIZE_ABSURD)), None
    )
    assert (v.outcome, v.summary) == (
        Outcome.PASS,
        "Max locked memory is soft unlimited or absurd (2^63 bytes or more), hard unlimited "
        "or absurd (2^63 bytes or more) (the running agent (pid 2540)): at least 32M.",
    )


def test_unit_running_absurd_memory_cap_is_said_so() -> None:
    v = agent_unit.unit_running(unit(memory_max=SIZE_ABSURD, memory_limit=None), None, None)
    assert v.summary.endswith(
        "main pid 2540, memory 22M of cap unlimited or absurd (2^63 bytes or more)."
    )


# -- patrol_bpf on a kernel with BTF --------------------------------------------------------------
SKELETON = "libbpf: failed to load BPF skeleton 'patrol_bpf': -22"


def skeleton_hit(count: int = 3) -> PhraseHits:
    item = by_name("bpf_skeleton_failed")
    return PhraseHits(item.name, item.category, item.meaning, count, count, SKELETON)


def test_btf_errors_skeleton_failure_with_btf_is_the_agents() -> None:
    v = agent_logs.btf_errors(
        evidence(None, journal(phrases=(skeleton_hit(), hit("bpf_load_failed", 3)))),
        BtfInfo(True),
        pkg(),
    )
    assert (v.outcome, v.issue, v.confidence) == (
        Outcome.FAIL,
        "agent_disconnected",
        Confidence.CONFIRMED,
    )
    assert v.summary == (
        "the agent 1.9.2 cannot load its eBPF skeleton patrol_bpf (libbpf failed 6 times: "
        "'libbpf: failed to load BPF skeleton 'patrol_bpf': -22', 3 lines) although the kernel "
        "has BTF (/sys/kernel/btf/vmlinux exists): a failure of the agent itself, fixed in a "
        "later release, not missing BTF."
    )
    assert v.fix[0].startswith("Upgrade amazon-guardduty-agent (1.9.2 installed) to the newest")
    assert "CONFIG_DEBUG_INFO_BTF" not in " ".join(v.fix)


@pytest.mark.parametrize(
    "hits, btf",
    [
        ((skeleton_hit(),), BtfInfo(False)),  # no BTF: the kernel's side
        ((skeleton_hit(), hit("btf_missing", 2)), BtfInfo(True)),  # libbpf found no valid BTF
        ((skeleton_hit(),), None),  # BTF unknown
    ],
    ids=["btf-missing", "btf-invalid", "btf-unknown"],
)
def test_btf_errors_skeleton_failure_without_usable_btf_stays_the_kernels(
    hits: Tuple[PhraseHits, ...], btf: Optional[BtfInfo]
) -> None:
    v = agent_logs.btf_errors(evidence(None, journal(phrases=hits)), btf, pkg())
    assert v.issue == "agent_disconnected"
    assert v.summary.startswith("the agent cannot load its eBPF programs (libbpf failed")
    assert "CONFIG_DEBUG_INFO_BTF=y" in v.fix[0]
