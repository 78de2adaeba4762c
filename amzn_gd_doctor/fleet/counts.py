"""The fleet's counters: instances by status, console issue, OS, kernel family, versions,
format, root cause, run (command id) and, for the undecided and the unreadable, by reason.

Each output is counted as one combination of what is counted (a fleet has few distinct ones),
spread over the counters in bulk, with a weight: +1 as it is read, -1 when a newer output of
the same instance supersedes it. Pure data: no I/O.
"""

from typing import Any, Dict, Optional, Tuple

from .parse import STATUSES, UNREADABLE, kernel_family

UNKNOWN_NAME = "unknown"
# Counters keyed by strings of the outputs (run ids, reasons: every junk output's first line
# may differ) hold at most this many names; beyond, the rest count together under OTHER, so
# their memory does not grow with the fleet. Far more than a screen or a page shows.
NAMES_HELD = 1000
OTHER = None  # the key of what is counted beyond NAMES_HELD names
COUNTERS = (
    "os",
    "kernel",
    "agent",
    "doctor",
    "fmt",
    "causes",
    "command",
    "undecided",
    "unreadable",
)
CAPPED = ("command", "undecided", "unreadable")
# A combination: (status, truncated, command id, reason, issue type, issue message, OS, kernel,
# agent version, doctor version, format, root causes).
Combination = Tuple[Any, ...]


def _add_capped(counter: "Dict[Any, int]", name: Any, n: int) -> None:
    if name in counter:
        counter[name] += n
    elif n > 0 and len(counter) < NAMES_HELD:
        counter[name] = n
    else:  # a name beyond the bound, or one counted under OTHER before
        counter[OTHER] = counter.get(OTHER, 0) + n


class Counts:
    def __init__(self) -> None:
        self.status: Dict[str, int] = {name: 0 for name in STATUSES + (UNREADABLE,)}
        self.truncated = 0
        self.issues: Dict[Tuple[str, str], int] = {}
        self.by: Dict[str, Dict[Any, int]] = {k: {} for k in COUNTERS}

    def add(self, combination: "Combination", n: int) -> None:
        status, truncated, command, reason = combination[:4]
        self.status[status] = self.status.get(status, 0) + n
        self.truncated += n if truncated else 0
        by = self.by
        _add_capped(by["command"], command, n)
        if status == UNREADABLE:
            _add_capped(by["unreadable"], reason, n)
            return
        if status == "UNKNOWN":
            _add_capped(by["undecided"], reason, n)
        issue_type, message, os_name, kernel, agent, doctor, fmt, causes = combination[4:]
        if issue_type:
            self.issues[(issue_type, message)] = self.issues.get((issue_type, message), 0) + n
        for name, item in (
            ("os", os_name),
            ("kernel", kernel_family(kernel)),
            ("agent", agent),
            ("doctor", doctor),
            ("fmt", fmt),
        ):
            item = item or UNKNOWN_NAME
            by[name][item] = by[name].get(item, 0) + n
        for check_id in causes:
            by["causes"][check_id] = by["causes"].get(check_id, 0) + n

    def merge(self, part: "Tuple[Any, ...]") -> None:
        """Adds another Counts' state (as state() gave it, from a worker)."""
        status, truncated, issues, by = part
        for name, n in status.items():
            self.status[name] = self.status.get(name, 0) + n
        self.truncated += truncated
        for key, n in issues.items():
            self.issues[key] = self.issues.get(key, 0) + n
        for counter in COUNTERS:
            mine = self.by[counter]
            for name, n in by[counter].items():
                if counter in CAPPED:
                    _add_capped(mine, name, n)
                else:
                    mine[name] = mine.get(name, 0) + n

    def state(self) -> "Tuple[Any, ...]":
        return self.status, self.truncated, self.issues, self.by

    @property
    def instances(self) -> int:
        return sum(self.status.values())


def sorted_counts(counter: "Dict[Any, int]") -> "Tuple[Tuple[str, int], ...]":
    """Most first, ties by name (the same input always gives the same order); names counted
    down to nothing (superseded outputs) left out, and OTHER too (other_count gives it)."""
    items = [(k, n) for k, n in counter.items() if n > 0 and k is not OTHER]
    return tuple(sorted(items, key=lambda kv: (-kv[1], kv[0])))


def other_count(counter: "Dict[Optional[str], int]") -> int:
    return max(0, counter.get(OTHER, 0))
