"""Derived fact: what the agent's own lines say, from its log files (``agent.logs``) and the
journal (``agent.journal``) at once, merged by phrase class. Reads nothing itself; rules take
this one value instead of merging the two sources each.
"""

from typing import TYPE_CHECKING, Dict, Optional, Tuple

from ..catalog.phrases import phrase_classes
from ..facts.agent import (
    AGENT_EVIDENCE,
    AGENT_JOURNAL,
    AGENT_LOGS,
    AgentEvidence,
    AgentJournal,
    PhraseHits,
)
from ..probing import derived

if TYPE_CHECKING:
    from ..probing import ProbeContext

# Connectivity first (what the console shows as disconnected), then what stops the agent
# loading, then noise: the order findings name hits in.
CATEGORY_ORDER = ("auth", "imds", "dns", "network", "tls", "ebpf", "memlock", "crash", "throttling")


def usable(journal: "Optional[AgentJournal]") -> "Optional[AgentJournal]":
    """The journal summary, unless it saw nothing because files were unreadable."""
    if journal is None or (journal.problems and journal.entries == 0):
        return None
    return journal


def merge(*groups: "Tuple[PhraseHits, ...]") -> "Tuple[PhraseHits, ...]":
    """Hits of the same class from several sources as one: counts added, the first sample kept;
    ordered by category then by the catalogue."""
    merged: Dict[str, PhraseHits] = {}
    for hit in (h for group in groups for h in group):
        seen = merged.get(hit.name)
        merged[hit.name] = (
            hit
            if seen is None
            else PhraseHits(
                hit.name,
                hit.category,
                hit.meaning,
                seen.count + hit.count,
                seen.recent + hit.recent,
                seen.sample,
            )
        )
    order = [c.name for c in phrase_classes()]

    def rank(h: PhraseHits) -> "Tuple[int, int]":
        category = CATEGORY_ORDER.index(h.category) if h.category in CATEGORY_ORDER else 99
        return category, order.index(h.name) if h.name in order else len(order)

    return tuple(sorted(merged.values(), key=rank))


@derived(AGENT_EVIDENCE, needs=(AGENT_LOGS, AGENT_JOURNAL))
def evidence(ctx: "ProbeContext") -> AgentEvidence:
    """Both sources, each None when it could not be read."""
    logs, journal = ctx.observed(AGENT_LOGS), usable(ctx.observed(AGENT_JOURNAL))
    phrases = merge(logs.phrases if logs else (), journal.phrases if journal else ())
    return AgentEvidence(logs, journal, phrases)
