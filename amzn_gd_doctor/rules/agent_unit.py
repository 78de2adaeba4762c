"""Whether the agent's systemd unit is active, and what its restarts say when it is not (or
when it flaps while it happens to be up).

Pure functions of ``agent.unit``, ``agent.journal`` and ``agent.process``.
"""

from typing import Optional

from ..facts.agent import (
    AGENT_JOURNAL,
    AGENT_PROCESS,
    AGENT_UNIT,
    PACKAGE,
    UNIT,
    AgentJournal,
    AgentProcess,
    AgentUnit,
    Systemd,
)
from ..model import Confidence, Outcome, Verdict, failed, inconclusive, passed
from ..numbers import fmt_bytes
from ..registry import rule
from .agent_common import (
    AGENT,
    BY_HAND_UNIT,
    CRASH_LOOP_RESTARTS,
    LOOP_FIX,
    START_FIX,
    flapping,
    usable,
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
        return _state_from_journal(unit, usable(journal))
    state = f"{unit.active_state} ({unit.sub_state})"
    flap = flapping(usable(journal))
    if flap and unit.active_state not in ("failed", "inactive"):  # those say it as they are
        return _restarting(flap, state)
    if unit.active_state == "active":
        return _active(unit, state)
    return _not_running(unit, state)


def _restarting(flap: str, state: str) -> Verdict:
    """A loop fails whatever this instant shows: the agent is down for part of every cycle.
    Likely: the console's "Agent disconnected" follows, but why it dies is another check's."""
    return failed(
        "agent_disconnected",
        f"the agent keeps restarting: {flap}; at this instant {UNIT} is {state}, but the "
        "agent does not stay up long enough to report.",
        fix=LOOP_FIX,
        confidence=Confidence.LIKELY,
        symptom=True,
    )


def _not_loaded(unit: AgentUnit) -> Verdict:
    """A masked or missing unit is never started, whatever else is true: the cause is seen."""
    how = "is masked" if unit.load_state == "masked" else "does not exist (LoadState=not-found)"
    return failed(
        "agent_disconnected",
        f"the agent's unit {UNIT} {how}, so systemd never starts the agent.",
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
    """Between restarts, still starting, failed or stopped: each is told apart, since the fix
    differs in urgency though not in kind. A stopped unit is the cause itself (confirmed); one
    that failed or waits to restart shows a cause it does not name (likely); one still
    starting may report in a moment (suspected)."""
    detail = f"result {unit.result}" + (
        f", {unit.n_restarts} restarts" if unit.n_restarts is not None else ""
    )
    confidence, symptom = Confidence.LIKELY, True
    if unit.active_state == "activating" and unit.sub_state == "auto-restart":
        summary = f"the agent's unit {UNIT} is between restarts ({state}, {detail})"
    elif unit.active_state in ("activating", "reloading"):
        summary = f"the agent's unit {UNIT} is still starting ({state}) and not yet running"
        confidence = Confidence.SUSPECTED
    else:
        disabled = " and not enabled at boot" if unit.unit_file_state == "disabled" else ""
        summary = f"the agent's unit {UNIT} is {state}, {detail}{disabled}"
        if unit.active_state == "inactive":
            confidence, symptom = Confidence.CONFIRMED, False
    return failed(
        "agent_disconnected",
        summary + ": the agent is not running.",
        fix=START_FIX,
        confidence=confidence,
        symptom=symptom,
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
    flap = flapping(journal)
    if flap and not journal.start_limit_hits:  # after start-limit-hit, "last failed" says it
        return failed(
            "agent_disconnected",
            f"the agent keeps restarting: {flap}, counted back from the journal's newest "
            f"entry; {UNIT} was last {journal.last_state} "
            f"{_duration(journal.last_state_age_s or 0)} before that entry (from the tree's "
            f"journal; {files}).",
            fix=LOOP_FIX,
            confidence=Confidence.LIKELY,
            symptom=True,
        )
    if journal.last_state == "started" and journal.restarts_recent >= CRASH_LOOP_RESTARTS:
        return Verdict(
            Outcome.WARN,
            f"{UNIT} was last started {ago}, but it restarted "
            f"{journal.restarts_recent} times in the hour before (from the tree's "
            "journal; the restart-loop check judges the loop).",
        )
    if journal.last_state == "started":
        return passed(
            f"{UNIT} was last started {ago}, with no stop or failure after it "
            f"(from the tree's journal; {files})."
        )
    stopped = journal.last_state == "stopped"  # stopped is the cause; a failure shows one
    return failed(
        "agent_disconnected",
        f"the agent's unit {UNIT} last {journal.last_state} {ago} and was not "
        f"started again (from the tree's journal; {files}).",
        fix=START_FIX,
        confidence=Confidence.CONFIRMED if stopped else Confidence.LIKELY,
        symptom=not stopped,
    )
