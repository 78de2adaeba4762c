"""Which causes the SSM agent's log names (the catalogue is ssm_log_patterns), how often, when
last, about what, with the entries that say so.

Pure: reads nothing, registers no probe.
"""

from typing import Dict, FrozenSet, List, Sequence, Set, Tuple

from .. import lazy_re
from ..facts.ssm import GD_DOCUMENT, GD_PACKAGE, LogCause
from ..sanitize import clean
from .ssm_log_lines import Entry
from .ssm_log_patterns import CAUSES, CausePattern

# Entries kept as evidence per cause: the latest few say enough, more would flood the report.
MAX_ENTRIES_PER_CAUSE = 3
# An entry with its "caused by:" lines runs to 300-500 characters. The innermost cause comes
# last, so a longer entry is shown as its start and its end, 400 characters in all.
EVIDENCE_CHARS = 400
EVIDENCE_HEAD_CHARS = 200
# Endpoints, actions or platforms named per cause: three say which; more would drown the summary.
MAX_SUBJECTS = 3
SUBJECT_CHARS = 100
# "no EC2 instance role found" means IMDS could not be reached when an entry this close to it
# says so: the agent logs the failure and its cause within a few entries of each other.
NEAR_ENTRIES = 3


_RUN_ID_RE = lazy_re.compile(r"\[(?:\w+=)?([0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12})")
_BY_CAUSE = {p.cause: p for p in CAUSES if not p.suspected}


def find_causes(entries: "Sequence[Entry]") -> "Tuple[Tuple[LogCause, ...], FrozenSet[int]]":
    """The causes the entries name, and which entries named one. ``... EC2RoleRequestError: no
    EC2 instance role found | caused by: ... dial tcp 169.254.169.254:80: connect: network is
    unreachable`` -> imds_unreachable, not no_instance_profile."""
    hits = match_entries(entries, CAUSES)
    unreachable = [i for i, p in hits.items() if p.cause == "imds_unreachable"]
    for i, p in hits.items():
        near = any(abs(i - j) <= NEAR_ENTRIES for j in unreachable)
        if p.cause == "no_instance_profile" and near:
            hits[i] = _BY_CAUSE["imds_unreachable"]
    return tally_hits(entries, hits), frozenset(hits)


def match_entries(
    entries: "Sequence[Entry]",
    patterns: "Sequence[CausePattern]",
    skip: "FrozenSet[int]" = frozenset(),
) -> "Dict[int, CausePattern]":
    """The first of ``patterns`` each entry matches, by the entry's index (``skip``: entries
    another catalogue explained already)."""
    hits: Dict[int, CausePattern] = {}
    for i, entry in enumerate(entries):
        if i in skip:
            continue
        for pattern in patterns:
            if pattern.match.search(entry.text):
                hits[i] = pattern
                break
    return hits


def tally_hits(
    entries: "Sequence[Entry]", hits: "Dict[int, CausePattern]"
) -> "Tuple[LogCause, ...]":
    """One LogCause per cause the hits name, in the order the causes were first logged."""
    gd_runs = guardduty_runs(entries)
    grouped: Dict[str, List[Tuple[Entry, CausePattern]]] = {}
    for i in sorted(hits):
        grouped.setdefault(hits[i].cause, []).append((entries[i], hits[i]))
    return tuple(_tally(c, found, gd_runs) for c, found in grouped.items())


def run_ids(text: str) -> "List[str]":
    """The association, command or document ids an entry's bracketed contexts carry."""
    return _RUN_ID_RE.findall(text)


def guardduty_runs(entries: "Sequence[Entry]") -> "Set[str]":
    """Association and command ids of entries that name GuardDuty's document or package: the
    plugin's own lines carry the run's id but not always the package's name."""
    return {
        run_id
        for e in entries
        if GD_PACKAGE in e.text or GD_DOCUMENT in e.text
        for run_id in _RUN_ID_RE.findall(e.text)
    }


def _tally(cause: str, found: "List[Tuple[Entry, CausePattern]]", gd_runs: "Set[str]") -> LogCause:
    subjects: List[str] = []
    for entry, pattern in found:
        match = pattern.subject.search(entry.text) if pattern.subject else None
        named = clean(pattern.shape.format(*match.groups()), SUBJECT_CHARS) if match else ""
        if named and named not in subjects and len(subjects) < MAX_SUBJECTS:
            subjects.append(named)
    return LogCause(
        cause,
        len(found),
        tuple(subjects),
        max(entry.when for entry, _ in found),
        tuple(excerpt(entry.text) for entry, _ in found[-MAX_ENTRIES_PER_CAUSE:]),
        any(_names_guardduty(entry, gd_runs) for entry, _ in found),
        all(pattern.suspected for _, pattern in found),
    )


def excerpt(text: str) -> str:
    """The entry as evidence: whole when it is short, else its start and its end."""
    if len(text) <= EVIDENCE_CHARS:
        return clean(text, EVIDENCE_CHARS)
    tail = EVIDENCE_CHARS - EVIDENCE_HEAD_CHARS - len(" ... ")
    head = clean(text[:EVIDENCE_HEAD_CHARS], EVIDENCE_HEAD_CHARS)
    return f"{head} ... {clean(text[-tail:], tail)}"


def _names_guardduty(entry: Entry, gd_runs: "Set[str]") -> bool:
    if GD_PACKAGE in entry.text or GD_DOCUMENT in entry.text:
        return True
    return any(run_id in gd_runs for run_id in run_ids(entry.text))
