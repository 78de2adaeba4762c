"""Lines of the agent's output, from its log files or the journal: their level, whether they
report a failure, what of them may be shown, and their phrase classes counted.

Registers no probe. Reads nothing by itself.
"""

import re
from typing import Dict, List, Optional, Tuple

from .. import lazy_re
from ..catalog.phrases import by_name, classify
from ..facts.agent import PhraseHits
from ..sanitize import clean
from ..values import field, value

# Longer lines are cut before they are matched: every known phrase sits near the start.
MAX_LINE_CHARS = 4096
SAMPLE_CHARS = 300
# Characters kept before the phrase in a sample: the words just before it.
SAMPLE_CONTEXT = 40
# More than this share of unprintable characters makes a line binary garbage.
GARBAGE_SHARE = 0.3

_LEVEL_PATTERNS = (
    lazy_re.compile(r'"(?:level|lvl|severity|levelname)"\s*:\s*"(\w+)"', re.IGNORECASE),
    lazy_re.compile(r"\b(?:level|lvl|severity)=[\"']?(\w+)", re.IGNORECASE),
    lazy_re.compile(
        r"\[(trace|debug|info|notice|warn|warning|error|err|fatal|critical|crit|panic)\]",
        re.IGNORECASE,
    ),
    lazy_re.compile(r"\b(TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|FATAL|CRITICAL|PANIC)\b"),
)
_GLOG_RE = lazy_re.compile(r"^([IWEF])\d{4} \d\d:\d\d:\d\d")
_LEVELS = {
    **dict.fromkeys(("trace", "debug"), "debug"),
    **dict.fromkeys(("info", "notice", "i"), "info"),
    **dict.fromkeys(("warn", "warning", "w"), "warning"),
    **dict.fromkeys(("error", "err", "e"), "error"),
    **dict.fromkeys(("fatal", "critical", "crit", "panic", "f"), "fatal"),
}
# Levels at error and above: what an unexplained error line is (docs/causes.md).
ERROR_LEVELS = ("error", "fatal")
# journald's PRIORITY for errors and worse: 0 emerg, 1 alert, 2 crit, 3 err
# (systemd.journal-fields(7)). A service's stdout is logged at 6 (info) whatever it says, so
# this counts only for programs that set it themselves.
ERROR_PRIORITY = 3
_FAILURE_WORDS = lazy_re.compile(
    r"\b(error|fail(ed|ure|s)?|unable|cannot|can't|denied|refused|"
    r"time[d ]?out|panic|fatal)\b",
    re.IGNORECASE,
)


def line_level(line: str) -> "Optional[str]":
    """``{"level":"error",...}``, ``level=warn``, ``[ERROR]``, ``... ERROR ...`` or glog
    ``E0501 12:00:00.000 ...`` -> "error"/"warning"/...; None when the line shows none."""
    head = line[:200]
    glog = _GLOG_RE.match(head)
    if glog:
        return _LEVELS[glog[1].lower()]
    for pattern in _LEVEL_PATTERNS:
        match = pattern.search(head)
        if match and match[1].lower() in _LEVELS:
            return _LEVELS[match[1].lower()]
    return None


def is_failure_line(line: str, level: "Optional[str]") -> bool:
    if level is not None:
        return level in ("warning", "error", "fatal")
    return _FAILURE_WORDS.search(line) is not None


def printable(line: str) -> "Optional[str]":
    """The line as it may be shown: NULs dropped, escape sequences removed, other control
    bytes as ``\\xNN``, cut to MAX_LINE_CHARS; "" for a blank line, None for binary garbage."""
    stripped = line.replace("\x00", "").rstrip("\r")
    if not stripped.strip():
        return None if "\x00" in line else ""  # NUL runs: a sparse or preallocated file
    line = stripped
    if line.isprintable():
        return line[:MAX_LINE_CHARS]
    bad = sum(1 for ch in line if not ch.isprintable() and ch != "\t")
    if bad > len(line) * GARBAGE_SHARE:
        return None
    return clean(line, MAX_LINE_CHARS)


def excerpt(line: str, match: "Optional[re.Match[str]]") -> str:
    """The line shortened around the phrase that classified it, so the cause stays visible."""
    start = match.start() if match else 0
    if start <= SAMPLE_CONTEXT:
        return clean(line, SAMPLE_CHARS)
    return clean("..." + line[start - SAMPLE_CONTEXT :], SAMPLE_CHARS)


@value(frozen=False)
class PhraseTally:
    """Counts per phrase class, the newest occurrence kept as a sample. Lines are given newest
    first, so the first sample seen is the newest."""

    counts: "Dict[str, List[int]]" = field(default_factory=dict)
    samples: "Dict[str, str]" = field(default_factory=dict)

    def add(self, line: str, failure_line: bool, recent: bool) -> "Optional[str]":
        found = classify(line, failure_line)
        if found is None:
            return None
        count = self.counts.setdefault(found.name, [0, 0])
        count[0] += 1
        count[1] += int(recent)
        if found.name not in self.samples:
            self.samples[found.name] = excerpt(line, found.pattern.search(line.lower()))
        return found.name

    def hits(self) -> "Tuple[PhraseHits, ...]":
        out = []
        for name, (count, recent) in self.counts.items():
            item = by_name(name)
            out.append(
                PhraseHits(name, item.category, item.meaning, count, recent, self.samples[name])
            )
        return tuple(sorted(out, key=lambda h: (-h.recent, -h.count, h.name)))
