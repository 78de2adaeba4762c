"""Error lines that no known cause explains, grouped so that a count means something: lines
that differ only in their ids, numbers, addresses and times are one group, quoted once.

Used by the SSM agent's log probe and the GuardDuty agent's log and journal probes. Pure: reads
nothing, registers no probe. The report's redaction (redact.scrub) masks the quoted lines as it
masks every other text.
"""

from typing import Dict, Tuple

from .. import lazy_re
from ..facts.causes import ErrorGroup
from ..sanitize import clean
from ..values import field, value

# Groups kept per source: the most recent few say what is wrong; the count of the rest is kept.
MAX_GROUPS = 5
# A group's shape is matched and shown this far: the words that tell two errors apart come
# early, and a long line must not make every key megabytes.
SHAPE_CHARS = 200
# A quoted line: long enough for an SDK error and its "caused by", short enough for a summary.
SAMPLE_CHARS = 300
# Groups kept while reading, before the most recent MAX_GROUPS are picked: a log of ten
# thousand distinct errors is not held whole.
MAX_OPEN_GROUPS = 256

# What differs between two occurrences of one error, most specific first.
_VARIABLE = (
    # 2024-11-04 09:08:13.4731, 2025-04-27T23:22:05Z, a run id's 2025-03-05T14-15-02.123Z
    (
        lazy_re.compile(
            r"\d{4}-\d\d-\d\d[T ]\d\d[:-]\d\d[:-]\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?"
        ),
        "<time>",
    ),
    (lazy_re.compile(r"\b\d\d:\d\d:\d\d(?:[.,]\d+)?\b"), "<time>"),
    (
        lazy_re.compile(r"\b[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}\b"),
        "<id>",
    ),
    (lazy_re.compile(r"\b(?:m?i|vpc|subnet|sg|eni|ami|vpce)-[0-9a-f]{8,17}\b"), "<id>"),
    (lazy_re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b"), "<ip>"),
    (lazy_re.compile(r"\b(?=[0-9a-fA-F]*[0-9])[0-9a-fA-F]{8,}\b"), "<hex>"),
    (lazy_re.compile(r"\d+"), "<n>"),
)
_SPACES = lazy_re.compile(r"\s+")
# A time a line of unknown format may carry: ISO 8601 or the agent's own date and time.
_WHEN_RE = lazy_re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d")


def shape(line: str) -> str:
    """``2024-11-04 09:08:13.4731 ERROR [ssm-agent-worker] [i-0abc12345678def01] retry 3 of
    5 failed`` -> ``<time> ERROR [ssm-agent-worker] [<id>] retry <n> of <n> failed``."""
    text = line[: SHAPE_CHARS * 4]
    for pattern, placeholder in _VARIABLE:
        text = pattern.sub(placeholder, text)
    return clean(_SPACES.sub(" ", text).strip(), SHAPE_CHARS)


def when_of(line: str) -> str:
    """The first date and time a line shows, as ``YYYY-MM-DD HH:MM:SS``; "" without one."""
    match = _WHEN_RE.search(line[:SHAPE_CHARS])
    return match.group(0).replace("T", " ") if match else ""


@value(frozen=False)
class _Open:
    count: int
    when: str
    sample: str
    seen: int  # the position of its newest line in the order the lines came


@value(frozen=False)
class ErrorGrouper:
    """Lines added in the order they were logged, or newest first (``newest_first``, for a
    reader walking backwards): each group keeps its count, its latest time and its newest
    line."""

    newest_first: bool = False
    groups: "Dict[str, _Open]" = field(default_factory=dict)
    total: int = 0

    def add(self, line: str, when: str = "", sample_chars: int = SAMPLE_CHARS) -> None:
        self.total += 1
        key = shape(line)
        group = self.groups.get(key)
        if group is None:
            if len(self.groups) < MAX_OPEN_GROUPS:  # beyond: counted in the total only
                self.groups[key] = _Open(1, when, clean(line, sample_chars), self.total)
            return
        group.count += 1
        if not self.newest_first:  # this one is newer: the group's latest and its sample
            group.when, group.sample = when or group.when, clean(line, sample_chars)
            group.seen = self.total

    def result(self) -> "Tuple[ErrorGroup, ...]":
        """The most recently seen groups, newest first, at most MAX_GROUPS."""
        sign = 1 if self.newest_first else -1
        ranked = sorted(self.groups.items(), key=lambda kv: sign * kv[1].seen)
        return tuple(ErrorGroup(key, g.count, g.when, g.sample) for key, g in ranked[:MAX_GROUPS])
