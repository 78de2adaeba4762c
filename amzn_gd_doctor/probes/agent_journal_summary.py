"""The agent's journal entries summarised over a window: the value the agent.journal probe
returns (restarts, exits, SIGKILLs and OOM kills, counted over the last 24 h, hour and 10
minutes) and the pure function that makes it.

Registers no probe. Reads nothing by itself.
"""

from typing import List, Mapping, Optional, Tuple

from ..host.journal import JournalEntry
from ..numbers import parse_count
from ..sanitize import clean
from ..values import field, replace, value
from .agent_common import UNIT
from .agent_journal_events import UnitCounts, count_pid1_entry, oom_kills
from .agent_text import (
    SAMPLE_CHARS,
    PhraseHits,
    PhraseTally,
    is_failure_line,
    line_level,
    printable,
)

# A restart loop, a series of OOM kills and the last start all show within a day.
WINDOW_S = 24 * 3600
# N, the recent history verdicts are judged over: restarts, exits and kills (SIGKILLs, OOM
# kills) in the last 60 minutes are the current problem. An hour holds many cycles of any loop
# worth the name, and an agent that has run an hour since its last kill is reporting again.
RECENT_S = 3600
# m, the span that tells a unit flapping now from one that restarted once: the rules' k
# (FLAP_RESTARTS) restarts inside the last 10 minutes. Ten minutes hold two restarts of any loop
# whose cycle is under five minutes (a cap reached at start-up dies in seconds, a slow leak
# under load in minutes), while a loop that stopped ten minutes ago no longer counts as now.
FLAP_WINDOW_S = 10 * 60


@value
class AgentJournal:
    backend: str
    source: str
    window_s: int
    window_end: float  # epoch seconds
    anchored_on: str  # "now" (live) or "the newest entry" (a tree)
    entries: int  # unit and PID 1 entries in the window
    kernel_entries: int
    truncated: bool = False
    problems: "Tuple[str, ...]" = ()
    starts: int = 0
    restarts: int = 0
    restarts_recent: int = 0
    restarts_flap: int = 0  # in the last FLAP_WINDOW_S
    flap_window_s: int = FLAP_WINDOW_S
    restart_counter: "Optional[int]" = None
    start_limit_hits: int = 0
    exits: "Mapping[str, int]" = field(default_factory=dict)  # "status=1/FAILURE": 12
    results: "Mapping[str, int]" = field(default_factory=dict)  # "oom-kill": 4
    oom_kills: int = 0
    oom_kills_recent: int = 0
    oom_cap_kills: int = 0  # kills inside the unit's memory cgroup (its MemoryMax)
    sigkills: int = 0  # main process exits by SIGKILL (code=killed, status=9/KILL)
    sigkills_recent: int = 0
    last_state: "Optional[str]" = None  # "started", "stopped" or "failed"
    last_state_age_s: "Optional[float]" = None
    phrases: "Tuple[PhraseHits, ...]" = ()
    last_agent_line: "Optional[str]" = None


def summarise(
    unit_entries: "List[JournalEntry]",
    kernel_entries: "List[JournalEntry]",
    end_us: int,
    base: AgentJournal,
) -> AgentJournal:
    """``base`` with the counts over entries already cut to the window ending at ``end_us``."""
    recent_us = end_us - RECENT_S * 1_000_000
    flap_us = end_us - FLAP_WINDOW_S * 1_000_000
    counts = UnitCounts()
    tally = PhraseTally()
    last_line = None
    for entry in reversed(unit_entries):  # newest first, so samples are the newest
        if entry.get("_PID") == "1" and entry.get("UNIT") == UNIT:
            count_pid1_entry(entry, counts)
            continue
        text = printable(entry.get("MESSAGE"))
        if not text:
            continue
        # journald gives a service's stdout one priority (info), so the line's own level counts
        priority = parse_count(entry.get("PRIORITY"))
        failure = (priority is not None and priority <= 4) or is_failure_line(
            text, line_level(text)
        )
        tally.add(text, failure, recent=entry.realtime_us >= recent_us)
        if last_line is None:
            last_line = clean(text, SAMPLE_CHARS)
    kills = oom_kills(kernel_entries)
    times = [t for t, _ in kills.values()] or counts.systemd_ooms
    last = counts.last_state
    return replace(
        base,
        starts=counts.starts,
        restarts=len(counts.restarts),
        restarts_recent=sum(1 for t in counts.restarts if t >= recent_us),
        restarts_flap=sum(1 for t in counts.restarts if t >= flap_us),
        restart_counter=counts.counter,
        start_limit_hits=counts.start_limit,
        exits=counts.exits,
        results=counts.results,
        oom_kills=len(times),
        oom_kills_recent=sum(1 for t in times if t >= recent_us),
        oom_cap_kills=sum(1 for _, memcg in kills.values() if memcg),
        sigkills=len(counts.sigkills),
        sigkills_recent=sum(1 for t in counts.sigkills if t >= recent_us),
        last_state=last[0] if last else None,
        last_state_age_s=(end_us - last[1]) / 1e6 if last else None,
        phrases=tally.hits(),
        last_agent_line=last_line,
    )
