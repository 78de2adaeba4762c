"""The agent's memory: killed by the kernel OOM killer or at its unit's memory cap, and a
locked-memory limit big enough for eBPF maps on kernels 5.10 and older.

Pure functions of ``agent.journal``, ``agent.unit``, ``agent.process`` and the kernel.
"""

from typing import Optional, Tuple

from ..facts.agent import (
    AGENT_EVIDENCE,
    AGENT_JOURNAL,
    AGENT_PROCESS,
    AGENT_UNIT,
    SIGKILL_EXIT,
    UNIT,
    AgentEvidence,
    AgentJournal,
    AgentProcess,
    AgentUnit,
)
from ..facts.platform import PLATFORM_KERNEL, KernelRelease
from ..model import Confidence, Outcome, Verdict, failed, inconclusive, not_applicable, passed
from ..numbers import fmt_bytes
from ..registry import rule
from .agent_common import (
    AGENT,
    CAP_KILLS,
    MEMLOCK_KERNELS_UPTO,
    MEMLOCK_MIN,
    RESTART_STEP,
    cap_of,
    usable,
)


@rule(
    "agent.not_oom_killed",
    title="Agent is not killed for memory",
    facts=(),
    optional=(AGENT_JOURNAL, AGENT_UNIT),
    requires=("agent.installed",),
    issues=("agent_disconnected",),
)
def not_oom_killed(journal: "Optional[AgentJournal]", unit: "Optional[AgentUnit]") -> Verdict:
    journal = usable(journal)
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
    if kills >= CAP_KILLS and cap_of(unit) is not None:
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
    if unit is not None and sigkill and (unit.n_restarts or 0) >= 1 and cap_of(unit) is not None:
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
        f"memory cap {fmt_bytes(cap_of(unit))}, and no kernel OOM-killer line names it: most "
        "likely killed at the cap (on cgroup v1, or when the kernel's lines are not in the "
        "journal, an OOM kill shows only as SIGKILL).",
        fix=_cap_fix(cap_of(unit))
        + ("Confirm with `sudo dmesg | grep -i 'killed process'` right after a kill.",),
        confidence=Confidence.SUSPECTED,
    )


def _cap_fix(cap: "Optional[int]") -> "Tuple[str, ...]":
    if cap is None:
        return (
            "Give the instance more memory, or find what else uses it (`ps aux --sort=-rss`).",
            RESTART_STEP,
        )
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
        fix=_cap_fix(cap_of(unit)),
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
