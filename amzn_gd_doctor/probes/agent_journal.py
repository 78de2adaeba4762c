"""The agent in the systemd journal over a recent window: its own output, what systemd (PID 1)
logged about its unit (starts, exits, restarts, results), and kernel OOM-killer lines that
name it, summarised as counts.

Live: the window ends now. A system with no present moment (the host's clock says None: a
tree under --root, its var/log/journal) ends the window at the newest entry read (the moment
the disk was captured). Reading the system journal needs root or the systemd-journal group;
without, the files left out are reported.
"""

import time
from typing import TYPE_CHECKING

from ..facts.agent import AGENT_JOURNAL, UNIT, AgentJournal
from ..host import CouldNotLook
from ..host.protocols import CLOCK, JOURNAL
from ..probing import probe
from .agent_journal_summary import WINDOW_S, summarise

if TYPE_CHECKING:
    from ..host.protocols import ClockPart, JournalPart
    from ..probing import ProbeContext

# A crash-looping agent logs about 10 entries a cycle every few seconds: 5000 entries cover
# hours of it. Kernel lines are fewer; 2000 is days of a quiet kernel.
MAX_UNIT_ENTRIES = 5000
MAX_KERNEL_ENTRIES = 2000
MAX_QUERY_BYTES = 4 * 1024 * 1024
QUERY_TIMEOUT_S = 2.5

UNIT_MATCHES = ((f"_SYSTEMD_UNIT={UNIT}",), (f"UNIT={UNIT}", "_PID=1"))
KERNEL_MATCHES = (("_TRANSPORT=kernel",),)


@probe(AGENT_JOURNAL, parts=(CLOCK, JOURNAL), timeout=2 * QUERY_TIMEOUT_S + 1.0)
def journal(ctx: "ProbeContext", clock: "ClockPart", reader: "JournalPart") -> AgentJournal:
    """Restarts, exits, OOM kills and failure phrases of the agent in the recent journal."""
    now = clock.now()  # None: a captured system, anchored on its newest entry
    since = now - WINDOW_S if now is not None else None
    units = reader.journal_entries(
        UNIT_MATCHES, since, MAX_UNIT_ENTRIES, MAX_QUERY_BYTES, QUERY_TIMEOUT_S
    )
    kernel = reader.journal_entries(
        KERNEL_MATCHES, since, MAX_KERNEL_ENTRIES, MAX_QUERY_BYTES, QUERY_TIMEOUT_S
    )
    problems = tuple(dict.fromkeys(units.problems + kernel.problems))
    if problems and not units.entries and not kernel.entries and not units.files:
        raise CouldNotLook("no journal file could be read: " + "; ".join(problems))
    newest = max([e.realtime_us for e in units.entries + kernel.entries], default=0)
    if now is not None:
        later = clock.now()  # the window ends after the reads
        end_us = int((now if later is None else later) * 1_000_000)
    elif newest:
        end_us = newest
    else:  # nothing read from a captured system: the window ends at the time of this run
        end_us = int(time.time() * 1_000_000)
    start_us = end_us - WINDOW_S * 1_000_000
    unit_entries = [e for e in units.entries if e.realtime_us >= start_us]
    kernel_entries = [e for e in kernel.entries if e.realtime_us >= start_us]
    base = AgentJournal(
        backend=units.backend,
        source=units.source,
        window_s=WINDOW_S,
        window_end=end_us / 1e6,
        anchored_on="now" if now is not None else "the newest entry",
        entries=len(unit_entries),
        kernel_entries=len(kernel_entries),
        truncated=units.truncated or kernel.truncated,
        problems=problems,
    )
    return summarise(unit_entries, kernel_entries, end_us, base)
