"""The agent's journal entries summarised over a window: the value the agent.journal probe
returns (restarts, exits, SIGKILLs and OOM kills, counted over the last 24 h, hour and 10
minutes) and the pure function that makes it.

Registers no probe. Reads nothing by itself.
"""

import datetime
from typing import List

from ..facts.agent import FLAP_WINDOW_S, UNIT, AgentJournal
from ..host.journal import JournalEntry
from ..numbers import parse_count
from ..sanitize import clean
from ..values import replace
from .agent_journal_events import UnitCounts, count_pid1_entry, oom_kills
from .agent_text import (
    ERROR_LEVELS,
    ERROR_PRIORITY,
    SAMPLE_CHARS,
    PhraseTally,
    is_failure_line,
    line_level,
    printable,
)
from .cause_errors import ErrorGrouper

# A restart loop, a series of OOM kills and the last start all show within a day.
WINDOW_S = 24 * 3600
# N, the recent history verdicts are judged over: restarts, exits and kills (SIGKILLs, OOM
# kills) in the last 60 minutes are the current problem. An hour holds many cycles of any loop
# worth the name, and an agent that has run an hour since its last kill is reporting again.
RECENT_S = 3600


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
    errors = ErrorGrouper(newest_first=True)
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
        level = line_level(text)
        failure = (priority is not None and priority <= 4) or is_failure_line(text, level)
        named = tally.add(text, failure, recent=entry.realtime_us >= recent_us)
        if named is None and (
            level in ERROR_LEVELS or (priority is not None and priority <= ERROR_PRIORITY)
        ):
            errors.add(text, _when(entry.realtime_us))
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
        unexplained=errors.result(),
    )


def _when(realtime_us: int) -> str:
    """A journal entry's time as the other sources write it, in UTC."""
    stamp = datetime.datetime.fromtimestamp(realtime_us / 1e6, datetime.timezone.utc)
    return stamp.strftime("%Y-%m-%d %H:%M:%S")
