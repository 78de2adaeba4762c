"""What the GuardDuty agent rules share: the thresholds they judge by, the fixes of each kind
of failure the agent logs, and small readers of the journal and evidence facts."""

from typing import Dict, Optional

from ..facts.agent import (
    LOG_DIR,
    PACKAGE,
    AgentEvidence,
    AgentJournal,
    AgentUnit,
    PhraseHits,
)
from ..numbers import SIZE_ABSURD

AGENT = PACKAGE  # the package, its unit and its process are all named so
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
# The last step of a fix that changes what the agent needs: systemd may have given up on it
# (start-limit-hit), so it is started again by hand rather than left to its restart timer.
RESTART = f"sudo systemctl reset-failed {AGENT} && sudo systemctl restart {AGENT}"
RESTART_STEP = f"Then restart the agent: `{RESTART}`."
# A restart loop or a failed unit shows a cause it does not name: find it, fix it, restart.
LOOP_FIX = (f"Read why it dies: `{BY_HAND_JOURNAL}`; fix that, then `{RESTART}`.",)
START_FIX = (
    f"Read why it stopped: `{BY_HAND_UNIT}` and `{BY_HAND_JOURNAL}`; then "
    f"`sudo systemctl enable --now {AGENT}`.",
)
CONNECTIVITY = ("auth", "imds", "dns", "network", "tls")
# The order causes are named in: what stops the agent outright first.
CATEGORY_ORDER = CONNECTIVITY + ("ebpf", "memlock", "crash", "throttling")
FIXES = {
    "auth": (
        "Look for a Deny of guardduty:SendSecurityTelemetry in the service control "
        "policies (AWS Organizations) over this account and in the guardduty-data VPC "
        "endpoint policy; the agent needs that action allowed.",
        RESTART_STEP,
    ),
    "imds": (
        "The agent signs in with the instance identity: keep IMDS enabled "
        "(HttpEndpoint=enabled) and reachable by the agent's process.",
        RESTART_STEP,
    ),
    "dns": (
        "Create the interface VPC endpoint com.amazonaws.<region>.guardduty-data with "
        "private DNS enabled (or enable automated agent configuration, which creates it).",
        RESTART_STEP,
    ),
    "network": (
        "Allow inbound TCP 443 from the VPC CIDR on the guardduty-data endpoint's "
        "security group, and check NACLs, routes and any proxy the agent uses.",
        RESTART_STEP,
    ),
    "tls": (
        "Exempt guardduty-data.<region>.amazonaws.com from TLS inspection, and check the "
        "system clock (`timedatectl`).",
        RESTART_STEP,
    ),
}


def usable(journal: "Optional[AgentJournal]") -> "Optional[AgentJournal]":
    """The journal summary, unless it saw nothing because files were unreadable."""
    if journal is None or (journal.problems and journal.entries == 0):
        return None
    return journal


def flapping(journal: "Optional[AgentJournal]") -> "Optional[str]":
    """The restarts that make a loop now (FLAP_RESTARTS in the flap window), or None."""
    if journal is None or journal.restarts_flap < FLAP_RESTARTS:
        return None
    return (
        f"systemd restarted it {journal.restarts_flap} times in the last "
        f"{journal.flap_window_s // 60} min ({journal.restarts_recent} in the last hour)"
    )


def cap_of(unit: "Optional[AgentUnit]") -> "Optional[int]":
    """The unit's memory cap when it is one: unset or past 2^63 bytes is none."""
    cap = unit.memory_cap if unit is not None else None
    return cap if cap is not None and cap < SIZE_ABSURD else None


def counts(items: "Dict[str, int]") -> str:
    return ", ".join(f"{k} ×{v}" for k, v in sorted(items.items(), key=lambda kv: -kv[1])[:3])


def describe(hit: PhraseHits, recent_only: bool = True) -> str:
    n = hit.recent if recent_only else hit.count
    return f"{hit.meaning} ({hit.name}, {n} line{'s' if n != 1 else ''}: '{hit.sample}')"


def cause(evidence: AgentEvidence) -> str:
    journal = evidence.journal
    if journal is not None and journal.oom_kills:
        return f"; the kernel OOM killer killed it {journal.oom_kills} times"
    hits = evidence.hits(CONNECTIVITY + ("ebpf", "memlock", "crash"))
    return f"; it logs {describe(hits[0], False)}" if hits else ""


def sources(evidence: AgentEvidence) -> str:
    """What was read, for a passing summary: "6 recent log lines and the journal"."""
    logs, journal = evidence.logs, evidence.journal
    parts = []
    if logs is not None and logs.read_any:
        parts.append(f"{logs.lines} recent log lines")
    if journal is not None:
        parts.append(f"the journal ({journal.entries} entries)")
    return " and ".join(parts)
