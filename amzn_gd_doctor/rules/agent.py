"""GuardDuty agent rules: installed, its unit running, not crash-looping, not OOM-killed, a big
enough locked-memory limit on old kernels, and logs free of eBPF, connectivity and
authentication failures.

Pure functions of the agent facts (and ``ssm.agent`` for who would install a missing agent,
``net.proxy_view`` for the proxy the agent runs with).
"""

from typing import Dict, List, Optional, Tuple

from ..facts.agent import (
    AGENT_EVIDENCE,
    AGENT_JOURNAL,
    AGENT_PACKAGE,
    AGENT_PROCESS,
    AGENT_UNIT,
    LOG_DIR,
    PACKAGE,
    SIGKILL_EXIT,
    UNIT,
    AgentEvidence,
    AgentJournal,
    AgentPackage,
    AgentProcess,
    AgentUnit,
    PhraseHits,
    Systemd,
)
from ..facts.network import NET_PROXY_VIEW, ProxyView
from ..facts.platform import PLATFORM_BTF, PLATFORM_KERNEL, BtfInfo, KernelRelease
from ..facts.ssm import SSM_AGENT, SsmAgent
from ..model import Confidence, Outcome, Verdict, failed, inconclusive, not_applicable, passed
from ..numbers import SIZE_ABSURD, fmt_bytes
from ..registry import rule

AGENT = "amazon-guardduty-agent"
# Three restarts: one is an upgrade or a reboot race, three is a loop (systemd itself gives
# up after 5 starts in 10 s with the default StartLimitBurst).
CRASH_LOOP_RESTARTS = 3
# k: restarts inside the journal's last FLAP_WINDOW_S (m, 10 min; N, the history judged, is its
# RECENT_S, 60 min) that make the agent "Agent disconnected" even while it runs at this instant.
# systemd counts only its own automatic restarts (NRestarts, "Scheduled restart job"): neither
# `systemctl restart`, a package upgrade nor a reboot adds one, so each is the agent dying
# unasked. One can be a one-off crash; a second within minutes is a loop that keeps the agent
# down for part of every cycle, whatever state this instant catches (two SIGKILLs at a memory
# cap in a few seconds already flip an instant verdict between HEALTHY and disconnected).
FLAP_RESTARTS = 2
# SIGKILLs of the main process in the last hour that, under a memory cap and with no kernel
# OOM line, make a suspected memory-cap kill: one can be anyone's `kill -9`, two are a pattern.
CAP_KILLS = 2
# GuardDuty's prerequisite for kernels 5.10 and older, which charge eBPF maps to RLIMIT_MEMLOCK.
MEMLOCK_MIN = 32 * 1024 * 1024
MEMLOCK_KERNELS_UPTO = (5, 10)
MANUAL_INSTALL = (
    "Manually managed agent: install it as in "
    "https://docs.aws.amazon.com/guardduty/latest/ug/"
    "installing-gdu-security-agent-ec2-manually.html."
)
BY_HAND_UNIT = f"sudo systemctl status {AGENT}"
BY_HAND_JOURNAL = f"sudo journalctl -u {AGENT} --since -24h"
BY_HAND_LOGS = f"sudo tail -n 200 {LOG_DIR}/*"
CONNECTIVITY = ("auth", "imds", "dns", "network", "tls")
# The order causes are named in: what stops the agent outright first.
CATEGORY_ORDER = CONNECTIVITY + ("ebpf", "memlock", "crash", "throttling")
FIXES = {
    "auth": (
        "Look for a Deny of guardduty:SendSecurityTelemetry in the service control "
        "policies (AWS Organizations) over this account and in the guardduty-data VPC "
        "endpoint policy; the agent needs that action allowed.",
    ),
    "imds": (
        "The agent signs in with the instance identity: keep IMDS enabled "
        "(HttpEndpoint=enabled) and reachable by the agent's process.",
    ),
    "dns": (
        "Create the interface VPC endpoint com.amazonaws.<region>.guardduty-data with "
        "private DNS enabled (or enable automated agent configuration, which creates it).",
    ),
    "network": (
        "Allow inbound TCP 443 from the VPC CIDR on the guardduty-data endpoint's "
        "security group, and check NACLs, routes and any proxy the agent uses.",
    ),
    "tls": (
        "Exempt guardduty-data.<region>.amazonaws.com from TLS inspection, and check the "
        "system clock (`timedatectl`).",
    ),
}


def _usable(journal: "Optional[AgentJournal]") -> "Optional[AgentJournal]":
    """The journal summary, unless it saw nothing because files were unreadable."""
    if journal is None or (journal.problems and journal.entries == 0):
        return None
    return journal


def _flapping(journal: "Optional[AgentJournal]") -> "Optional[str]":
    """The restarts that make a loop now (FLAP_RESTARTS in the flap window), or None."""
    if journal is None or journal.restarts_flap < FLAP_RESTARTS:
        return None
    return (
        f"systemd restarted it {journal.restarts_flap} times in the last "
        f"{journal.flap_window_s // 60} min ({journal.restarts_recent} in the last hour)"
    )


def _cap(unit: "Optional[AgentUnit]") -> "Optional[int]":
    """The unit's memory cap when it is one: unset or past 2^63 bytes is none."""
    cap = unit.memory_cap if unit is not None else None
    return cap if cap is not None and cap < SIZE_ABSURD else None


def _counts(items: "Dict[str, int]") -> str:
    return ", ".join(f"{k} ×{v}" for k, v in sorted(items.items(), key=lambda kv: -kv[1])[:3])


def _describe(hit: PhraseHits, recent_only: bool = True) -> str:
    n = hit.recent if recent_only else hit.count
    return f"{hit.meaning} ({hit.name}, {n} line{'s' if n != 1 else ''}: '{hit.sample}')"


def _cause(evidence: AgentEvidence) -> str:
    journal = evidence.journal
    if journal is not None and journal.oom_kills:
        return f"; the kernel OOM killer killed it {journal.oom_kills} times"
    hits = evidence.hits(CONNECTIVITY + ("ebpf", "memlock", "crash"))
    return f"; it logs {_describe(hits[0], False)}" if hits else ""


def _sources(evidence: AgentEvidence) -> str:
    """What was read, for a passing summary: "6 recent log lines and the journal"."""
    logs, journal = evidence.logs, evidence.journal
    parts = []
    if logs is not None and logs.read_any:
        parts.append(f"{logs.lines} recent log lines")
    if journal is not None:
        parts.append(f"the journal ({journal.entries} entries)")
    return " and ".join(parts)


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


@rule(
    "agent.unit_running",
    title="Agent's systemd unit is active",
    facts=(AGENT_UNIT,),
    optional=(AGENT_JOURNAL, AGENT_PROCESS),
    requires=("agent.installed",),
    issues=("agent_disconnected",),
)
def unit_running(
    unit: AgentUnit, journal: "Optional[AgentJournal]", proc: "Optional[AgentProcess]"
) -> Verdict:
    if unit.systemd == Systemd.NOT_RUNNING:
        seen = f"; an agent process runs (pid {proc.main.pid})" if proc and proc.main else ""
        return inconclusive(
            f"{unit.detail}, so the agent's unit cannot be asked{seen}. On the "
            f"instance itself run `{BY_HAND_UNIT}`."
        )
    if unit.load_state in ("not-found", "masked"):
        return _not_loaded(unit)
    if unit.systemd == Systemd.UNIT_FILES:
        return _state_from_journal(unit, _usable(journal))
    state = f"{unit.active_state} ({unit.sub_state})"
    flap = _flapping(_usable(journal))
    if flap and unit.active_state not in ("failed", "inactive"):  # those say it as they are
        return _restarting(flap, state)
    if unit.active_state == "active":
        return _active(unit, state)
    return _not_running(unit, state)


def _restarting(flap: str, state: str) -> Verdict:
    """A loop fails whatever this instant shows: the agent is down for part of every cycle."""
    return failed(
        "agent_disconnected",
        f"{UNIT} keeps restarting: {flap}; at this instant it is {state}, but it does "
        "not stay up long enough to report.",
        fix=(f"Read why it dies: `{BY_HAND_JOURNAL}` (agent.not_crash_looping names the cause).",),
    )


def _not_loaded(unit: AgentUnit) -> Verdict:
    """A masked or missing unit is never started, whatever else is true."""
    how = "is masked" if unit.load_state == "masked" else "does not exist (LoadState=not-found)"
    return failed(
        "agent_disconnected",
        f"{UNIT} {how}, so systemd never starts the agent.",
        fix=(
            f"`sudo systemctl unmask {AGENT}`"
            if unit.load_state == "masked"
            else f"Reinstall {PACKAGE}, then `sudo systemctl daemon-reload`.",
        ),
    )


def _active(unit: AgentUnit, state: str) -> Verdict:
    """Running: the pid and memory against its cap say how close it is to being killed."""
    pid = f", main pid {unit.main_pid}" if unit.main_pid else ""
    mem = (
        f", memory {fmt_bytes(unit.memory_current)} of cap {fmt_bytes(unit.memory_cap)}"
        if unit.memory_current is not None
        else ""
    )
    return passed(f"{UNIT} is {state} since {unit.started or 'an unknown time'}{pid}{mem}.")


def _not_running(unit: AgentUnit, state: str) -> Verdict:
    """Between restarts, still starting or stopped: each is told apart, since the fix differs
    in urgency though not in kind."""
    detail = f"result {unit.result}" + (
        f", {unit.n_restarts} restarts" if unit.n_restarts is not None else ""
    )
    if unit.active_state == "activating" and unit.sub_state == "auto-restart":
        summary = f"{UNIT} is between restarts ({state}, {detail})"
    elif unit.active_state in ("activating", "reloading"):
        summary = f"{UNIT} is still starting ({state}) and not yet running"
    else:
        disabled = " and not enabled at boot" if unit.unit_file_state == "disabled" else ""
        summary = f"{UNIT} is {state}, {detail}{disabled}"
    return failed(
        "agent_disconnected",
        summary + ": the agent is not running.",
        fix=(f"Read why: `{BY_HAND_UNIT}`, then `sudo systemctl enable --now {AGENT}`.",),
    )


def _duration(seconds: float) -> str:
    """6 -> "6 s"; 840 -> "14 min"; 10800 -> "3.0 h"."""
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _state_from_journal(unit: AgentUnit, journal: "Optional[AgentJournal]") -> Verdict:
    files = f"unit file {unit.fragment_path}, {unit.unit_file_state}"
    if journal is None or journal.last_state is None:
        return inconclusive(
            f"under --root the unit's runtime state is not in the files "
            f"({files}) and the journal does not show it; on the instance run "
            f"`{BY_HAND_UNIT}`."
        )
    ago = f"{_duration(journal.last_state_age_s or 0)} before the journal's newest entry"
    flap = _flapping(journal)
    if flap and not journal.start_limit_hits:  # after start-limit-hit, "last failed" says it
        return failed(
            "agent_disconnected",
            f"{UNIT} keeps restarting: {flap}, counted back from the journal's newest entry; "
            f"it was last {journal.last_state} {_duration(journal.last_state_age_s or 0)} "
            f"before that entry (from the tree's journal; {files}).",
            fix=(
                f"Read why it dies: `{BY_HAND_JOURNAL}` (agent.not_crash_looping names the cause).",
            ),
        )
    if journal.last_state == "started" and journal.restarts_recent >= CRASH_LOOP_RESTARTS:
        return Verdict(
            Outcome.WARN,
            f"{UNIT} was last started {ago}, but it restarted "
            f"{journal.restarts_recent} times in the hour before (from the tree's "
            "journal; agent.not_crash_looping judges the loop).",
        )
    if journal.last_state == "started":
        return passed(
            f"{UNIT} was last started {ago}, with no stop or failure after it "
            f"(from the tree's journal; {files})."
        )
    return failed(
        "agent_disconnected",
        f"{UNIT} last {journal.last_state} {ago} and was not "
        f"started again (from the tree's journal; {files}).",
        fix=(f"Read why: `{BY_HAND_UNIT}`, then `sudo systemctl enable --now {AGENT}`.",),
    )


@rule(
    "agent.not_crash_looping",
    title="Agent is not in a restart loop",
    facts=(AGENT_EVIDENCE,),
    optional=(AGENT_UNIT,),
    requires=("agent.installed",),
    issues=("agent_disconnected",),
)
def not_crash_looping(evidence: AgentEvidence, unit: "Optional[AgentUnit]") -> Verdict:
    journal = evidence.journal
    total = unit.n_restarts if unit is not None else None
    recent = journal.restarts_recent if journal is not None else None
    if total is None and recent is None:
        return inconclusive(
            "the restart count is unknown (no systemd unit state and no readable "
            f"journal); run by hand: `systemctl show -p NRestarts {AGENT}` and "
            f"`{BY_HAND_JOURNAL} | grep -c 'Scheduled restart'`."
        )
    gave_up = journal is not None and journal.start_limit_hits > 0
    flap = _flapping(journal)
    if max(total or 0, recent or 0) < CRASH_LOOP_RESTARTS and not gave_up and not flap:
        return _no_loop(total, recent)
    return failed(
        "agent_disconnected",
        "the agent is crash-looping: "
        + "; ".join(_loop_parts(total, journal, gave_up))
        + _cause(evidence)
        + ".",
        fix=(
            f"Read the cause: `{BY_HAND_JOURNAL}`, fix it, then `sudo systemctl "
            f"reset-failed {AGENT} && sudo systemctl restart {AGENT}`.",
        ),
    )


def _no_loop(total: "Optional[int]", recent: "Optional[int]") -> Verdict:
    """Passing names both counts it had, so a reader sees the loop was looked for."""
    seen = [f"NRestarts={total}"] if total is not None else []
    seen += [f"{recent} restarts in the last hour"] if recent is not None else []
    return passed(f"no restart loop ({', '.join(seen)}).")


def _loop_parts(
    total: "Optional[int]", journal: "Optional[AgentJournal]", gave_up: bool
) -> "List[str]":
    """Every count that shows the loop, systemd's and the journal's, since either can be
    missing and they cover different spans."""
    parts = []
    if total is not None:
        parts.append(f"systemd restarted it {total} times (NRestarts)")
    if journal is not None:
        parts.append(
            f"{journal.restarts_flap} restart{'s' if journal.restarts_flap != 1 else ''} in "
            f"the last {journal.flap_window_s // 60} min, "
            f"{journal.restarts_recent} in the last hour, {journal.restarts} "
            f"in the last {journal.window_s // 3600} h"
        )
        if journal.exits:
            parts.append(f"exits: {_counts(dict(journal.exits))}")
    if gave_up:
        parts.append("systemd then gave up (start-limit-hit)")
    return parts


@rule(
    "agent.not_oom_killed",
    title="Agent is not killed for memory",
    facts=(),
    optional=(AGENT_JOURNAL, AGENT_UNIT),
    requires=("agent.installed",),
    issues=("agent_disconnected",),
)
def not_oom_killed(journal: "Optional[AgentJournal]", unit: "Optional[AgentUnit]") -> Verdict:
    journal = _usable(journal)
    unit_oom = unit is not None and unit.result == "oom-kill"
    if journal is None and not unit_oom:
        return _oom_without_journal(unit)
    recent = journal.oom_kills_recent if journal is not None else 0
    if recent or unit_oom:
        return _oom_failure(recent, journal, unit)
    assert journal is not None  # no journal and no oom-kill result returned above
    return _oom_from_journal(journal, unit)


def _oom_from_journal(journal: AgentJournal, unit: "Optional[AgentUnit]") -> Verdict:
    """No OOM kill in the last hour: repeated SIGKILLs (under a cap, a suspected cap kill) or
    older OOM kills still deserve a word."""
    hours = f"{journal.window_s // 3600} h"
    kills = journal.sigkills_recent
    if kills >= CAP_KILLS and _cap(unit) is not None:
        return _cap_kills(f"{kills} times in the last hour ({journal.sigkills} in {hours})", unit)
    if kills >= CAP_KILLS:
        return Verdict(
            Outcome.WARN,
            f"the agent's main process died of SIGKILL {kills} times in the last hour and no "
            "memory cap is set: the host's OOM killer (whose lines are not in the journal) or "
            "another process killed it.",
        )
    if journal.oom_kills:
        return Verdict(
            Outcome.WARN,
            f"the agent was killed by the OOM killer "
            f"{journal.oom_kills} times in the last {hours}, but not in the last hour.",
        )
    return passed(
        f"no OOM kill of the agent in the last {hours} "
        f"({journal.kernel_entries} kernel lines read)."
    )


def _oom_without_journal(unit: "Optional[AgentUnit]") -> Verdict:
    """What systemd alone says: its result, and the last exit with ExecMainCode/Status."""
    if unit is not None and unit.result == "success" and unit.n_restarts == 0:
        return passed(
            f"{UNIT} has not been killed since it started (result success, no "
            "restarts); the journal was not read."
        )
    sigkill = unit is not None and (unit.exec_main_code, unit.exec_main_status) == ("killed", 9)
    if unit is not None and sigkill and (unit.n_restarts or 0) >= 1 and _cap(unit) is not None:
        return _cap_kills(
            f"at its last exit, after {unit.n_restarts} restarts (ExecMainCode=killed, "
            "ExecMainStatus=9; the journal was not read to count the others)",
            unit,
        )
    return inconclusive(
        "OOM kills cannot be counted without the journal; run by hand: "
        "`sudo journalctl -k --since -24h | grep -i 'killed process'`."
    )


def _cap_kills(times: str, unit: "Optional[AgentUnit]") -> Verdict:
    """Repeated SIGKILL under a memory cap with no kernel OOM line: suspected, not confirmed."""
    return failed(
        "agent_disconnected",
        f"the agent's main process died of SIGKILL ({SIGKILL_EXIT}) {times} under its "
        f"memory cap {fmt_bytes(_cap(unit))}, and no kernel OOM-killer line names it: most "
        "likely killed at the cap (on cgroup v1, or when the kernel's lines are not in the "
        "journal, an OOM kill shows only as SIGKILL).",
        fix=_cap_fix(_cap(unit))
        + ("Confirm with `sudo dmesg | grep -i 'killed process'` right after a kill.",),
        confidence=Confidence.SUSPECTED,
    )


def _cap_fix(cap: "Optional[int]") -> "Tuple[str, ...]":
    if cap is None:
        return ("Give the instance more memory, or find what else uses it (`ps aux --sort=-rss`).",)
    return (
        f"Raise MemoryMax and MemoryLimit (to {fmt_bytes(cap * 2)}, for example) in "
        f"/lib/systemd/system/{UNIT} or a drop-in (`sudo systemctl edit {AGENT}`), then "
        f"`sudo systemctl daemon-reload && sudo systemctl restart {AGENT}`.",
    )


def _oom_failure(
    recent: int, journal: "Optional[AgentJournal]", unit: "Optional[AgentUnit]"
) -> Verdict:
    cap = unit.memory_cap if unit is not None else None
    if journal is not None and recent:
        times = (
            f"{recent} time{'s' if recent != 1 else ''} in the last hour ({journal.oom_kills}"
            f" in {journal.window_s // 3600} h)"
        )
    else:
        times = "(its unit's last result is oom-kill)"
    at_cap = journal is not None and journal.oom_cap_kills > 0
    where = (
        f"each time at its memory cap {fmt_bytes(cap)}"
        if at_cap and cap
        else f"memory cap {fmt_bytes(cap)}"
        if cap
        else "no memory cap is set: the host ran out"
    )
    return failed(
        "agent_disconnected",
        f"the agent was killed by the kernel OOM killer {times}; {where}.",
        fix=_cap_fix(_cap(unit)),
    )


@rule(
    "agent.memlock",
    title="Locked-memory limit for the agent's eBPF maps (kernels 5.10 and older)",
    facts=(PLATFORM_KERNEL, AGENT_EVIDENCE),
    optional=(AGENT_PROCESS, AGENT_UNIT),
    requires=("agent.installed",),
    issues=("agent_disconnected",),
)
def memlock(
    kernel: KernelRelease,
    evidence: AgentEvidence,
    proc: "Optional[AgentProcess]",
    unit: "Optional[AgentUnit]",
) -> Verdict:
    if kernel.family is None:
        return inconclusive(f"kernel release {kernel.raw[:80]!r} has no MAJOR.MINOR")
    if kernel.family > MEMLOCK_KERNELS_UPTO:
        return not_applicable(
            f"kernel {kernel.raw} is newer than 5.10: eBPF memory is charged "
            "to the memory cgroup, RLIMIT_MEMLOCK does not limit the agent."
        )
    logged = sum(h.count for h in evidence.hits(("memlock",)))
    found = _memlock_limits(proc, unit, logged)
    if found is None:
        return inconclusive(
            f"kernel {kernel.raw} needs RLIMIT_MEMLOCK of at least 32M for the "
            "agent, and its limit is unknown; run by hand: `grep 'Max locked' "
            f"/proc/$(systemctl show -p MainPID --value {AGENT})/limits`."
        )
    (soft, hard), source, sure = found
    low = [v for v in (soft, hard) if v is not None and v < MEMLOCK_MIN]
    shown = f"soft {fmt_bytes(soft)}, hard {fmt_bytes(hard)} ({source})"
    if not low:
        return passed(f"Max locked memory is {shown}: at least 32M.")
    return _memlock_too_low(kernel, shown, logged, sure)


def _memlock_too_low(kernel: KernelRelease, shown: str, logged: int, sure: bool) -> Verdict:
    """Confirmed when the running agent has the low limit or says so in its logs; the unit's
    limit alone is only what the next start would get."""
    seen = f"; the agent logged locked-memory failures {logged} times" if logged else ""
    return failed(
        "agent_disconnected",
        f"kernel {kernel.raw} charges eBPF maps to locked "
        f"memory and the agent needs at least 32M, but Max locked memory is "
        f"{shown}{seen}.",
        fix=(
            "Set `DefaultLimitMEMLOCK=32M:32M` in /etc/systemd/system.conf, then "
            "reboot (or `sudo systemctl daemon-reexec` and restart the agent).",
        ),
        confidence=Confidence.CONFIRMED if sure else Confidence.SUSPECTED,
    )


def _memlock_limits(
    proc: "Optional[AgentProcess]", unit: "Optional[AgentUnit]", logged: int
) -> "Optional[Tuple[Tuple[Optional[int], Optional[int]], str, bool]]":
    """The limits, where they come from, and whether a low one is sure: the running process's
    are what the agent has; the unit's are what it would get, sure only when the agent also
    logged locked-memory failures."""
    main = proc.main if proc is not None else None
    if main is not None and main.memlock is not None:
        return main.memlock, f"the running agent (pid {main.pid})", True
    if unit is not None and unit.memlock is not None:
        return unit.memlock, unit.memlock_source, logged > 0
    return None


@rule(
    "agent.btf_errors",
    title="Agent loads its eBPF programs (no libbpf/BTF failures)",
    facts=(AGENT_EVIDENCE,),
    optional=(PLATFORM_BTF, AGENT_PACKAGE),
    requires=("agent.installed",),
    issues=("agent_disconnected",),
)
def btf_errors(
    evidence: AgentEvidence, btf: "Optional[BtfInfo]", pkg: "Optional[AgentPackage]"
) -> Verdict:
    if not evidence.readable:
        return inconclusive(
            "neither the agent's logs nor the journal could be read; run by "
            f"hand: `sudo grep -h libbpf {LOG_DIR}/*` and `{BY_HAND_JOURNAL}`."
        )
    hits = evidence.hits(("ebpf",))
    if not hits:
        return passed(f"no libbpf or BTF failure in {_sources(evidence)}.")
    btf_missing = any(h.name == "btf_missing" for h in hits)
    if evidence.hits(("memlock",)) and not btf_missing:
        return not_applicable(
            "the agent's libbpf failures come with locked-memory errors: agent.memlock judges them."
        )
    total = sum(h.count for h in hits)
    skeleton = next((h for h in hits if h.name == "bpf_skeleton_failed"), None)
    if skeleton is not None and not btf_missing and btf is not None and btf.present:
        return _agent_side_bpf_failure(skeleton, total, pkg)
    return _bpf_load_failure(hits[0], total, btf)


def _bpf_load_failure(first: PhraseHits, total: int, btf: "Optional[BtfInfo]") -> Verdict:
    """libbpf failing for want of BTF (or for a reason the kernel side explains): a kernel with
    BTF and a current agent are the fix."""
    missing = (
        ", and /sys/kernel/btf/vmlinux is missing" if btf is not None and not btf.present else ""
    )
    return failed(
        "agent_disconnected",
        f"the agent cannot load its eBPF programs (libbpf "
        f"failed {total} times): {_describe(first, False)}{missing}.",
        fix=(
            "Boot a kernel built with CONFIG_DEBUG_INFO_BTF=y (check `ls "
            "/sys/kernel/btf/vmlinux`) and update the agent to the newest version.",
        ),
    )


def _agent_side_bpf_failure(
    skeleton: PhraseHits, total: int, pkg: "Optional[AgentPackage]"
) -> Verdict:
    """patrol_bpf failing on a kernel with BTF: the agent's own bug (fixed in a later release),
    not missing BTF. The agent exits on it, so the console still shows it disconnected."""
    version = f" {pkg.version}" if pkg is not None and pkg.version else ""
    return failed(
        "agent_disconnected",
        f"the agent{version} cannot load its eBPF skeleton patrol_bpf (libbpf failed {total} "
        f"times: '{skeleton.sample}', {skeleton.count} line{'s' if skeleton.count != 1 else ''})"
        " although the kernel has BTF (/sys/kernel/btf/vmlinux exists): a failure of the agent "
        "itself, fixed in a later release, not missing BTF.",
        fix=(
            f"Upgrade {PACKAGE}{version and ' (' + version.strip() + ' installed)'} to the "
            "newest release: with automated agent configuration GuardDuty updates it; a manual "
            "install is upgraded as in https://docs.aws.amazon.com/guardduty/latest/ug/"
            "runtime-monitoring-agent-release-history.html.",
            f"Then `sudo systemctl restart {AGENT}` and look for libbpf in `{BY_HAND_JOURNAL}`.",
        ),
    )


@rule(
    "agent.logs_clean",
    title="Agent reaches and authenticates to GuardDuty (its logs)",
    facts=(AGENT_EVIDENCE,),
    optional=(NET_PROXY_VIEW,),
    requires=("agent.installed",),
    issues=("agent_disconnected",),
)
def logs_clean(lines: AgentEvidence, proxy: "Optional[ProxyView]") -> Verdict:
    if not lines.readable:
        return inconclusive(
            "neither the agent's logs nor the journal could be read; run by "
            f"hand: `{BY_HAND_LOGS}` and `{BY_HAND_JOURNAL}`."
        )
    hits = lines.hits(CONNECTIVITY + ("throttling",))
    current = [h for h in hits if h.recent and h.category in CONNECTIVITY]
    env = proxy.agent_env if proxy is not None else {}
    evidence = tuple(f"agent proxy setting {k}={v}" for k, v in sorted(env.items()))
    if current:
        return _cannot_reach(current, evidence)
    read = _sources(lines)
    if hits:
        names = ", ".join(f"{h.name} ×{h.count}" for h in hits)
        return Verdict(
            Outcome.WARN,
            f"no current connectivity or authentication failure in "
            f"{read}, but earlier or minor ones: {names}.",
            evidence=evidence,
        )
    return passed(f"no connectivity or authentication failure in {read}.", evidence=evidence)


def _cannot_reach(current: "List[PhraseHits]", evidence: "Tuple[str, ...]") -> Verdict:
    """The first current failure names the cause and its fix (they are ordered connectivity
    first); two more are mentioned, since one cause often brings another."""
    first = current[0]
    what = "cannot authenticate to" if first.category == "auth" else "cannot reach"
    others = "".join(f"; also {h.name} ×{h.recent}" for h in current[1:3])
    return failed(
        "agent_disconnected",
        f"the agent logs that it {what} GuardDuty: {_describe(first)}{others}.",
        evidence=evidence + tuple(f"{h.name}: {h.sample}" for h in current),
        fix=FIXES[first.category],
    )
