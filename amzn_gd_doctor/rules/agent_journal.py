"""Whether the agent crash-loops: systemd's restarts in the journal and the unit's counter,
with the cause its logs name.

Pure functions of ``agent.evidence`` and ``agent.unit``.
"""

from typing import List, Optional

from ..facts.agent import (
    AGENT_EVIDENCE,
    AGENT_UNIT,
    AgentEvidence,
    AgentJournal,
    AgentUnit,
)
from ..model import Confidence, Verdict, failed, inconclusive, passed
from ..registry import rule
from .agent_common import (
    AGENT,
    BY_HAND_JOURNAL,
    CRASH_LOOP_RESTARTS,
    LOOP_FIX,
    cause,
    counts,
    flapping,
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
    flap = flapping(journal)
    if max(total or 0, recent or 0) < CRASH_LOOP_RESTARTS and not gave_up and not flap:
        return _no_loop(total, recent)
    return _looping(_loop_parts(total, journal, gave_up), cause(evidence))


def _looping(parts: "List[str]", why: str) -> Verdict:
    """The loop is the console's "Agent disconnected" either way: confirmed when the journal
    or the logs say why the agent dies, else its cause is only inferred (likely)."""
    return failed(
        "agent_disconnected",
        "the agent is crash-looping: " + "; ".join(parts) + why + ".",
        fix=LOOP_FIX,
        confidence=Confidence.CONFIRMED if why else Confidence.LIKELY,
        symptom=True,
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
            parts.append(f"exits: {counts(dict(journal.exits))}")
    if gave_up:
        parts.append("systemd then gave up (start-limit-hit)")
    return parts
