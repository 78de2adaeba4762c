"""The fleet's outputs rolled up: how many instances have each status and each console issue,
which ones, by OS, kernel family, agent and doctor version, and what could not be decided.

A folder is read by worker processes over its sub-folders (parsing is CPU-bound and the
per-file cost is small); any other iterable of Output (S3) is parsed in this process.
"""

import os
from typing import Any, Dict, Iterable, List, Optional, Tuple

from ..values import fields, value
from .parse import STATUSES, UNREADABLE, Row, kernel_family, parse
from .source import Output

# Two per core on this kind of machine: while one process waits on the disk the other parses.
WORKERS = 4
# Instance ids listed under each issue in the text view; the JSON, CSV and HTML list them all.
TEXT_IDS = 5
UNKNOWN_NAME = "unknown"
# Pieces of work per worker: enough that a worker left with a slow piece is not alone at the
# end, few enough that handing them out costs nothing.
PIECES_PER_WORKER = 4
_ROW_FIELDS = fields(Row)


class SourceError(Exception):
    """The source cannot be summarised at all (missing, not a folder, no outputs)."""


@value
class Count:
    name: str
    count: int


@value
class IssueCount:
    issue_type: str
    issue_message: str
    code: str
    doc_url: str
    count: int
    instances: "Tuple[str, ...]"


@value
class Summary:
    instances: int
    by_status: "Tuple[Count, ...]"  # HEALTHY, UNHEALTHY, UNKNOWN, UNREADABLE, in that order
    by_issue: "Tuple[IssueCount, ...]"
    by_os: "Tuple[Count, ...]"
    by_kernel_family: "Tuple[Count, ...]"
    by_agent_version: "Tuple[Count, ...]"
    by_doctor_version: "Tuple[Count, ...]"
    by_format: "Tuple[Count, ...]"
    root_causes: "Tuple[Count, ...]"
    undecided: "Tuple[Row, ...]"  # UNKNOWN rows
    unreadable: "Tuple[Row, ...]"
    truncated: int
    rows: "Tuple[Row, ...]"  # every instance, sorted by instance id


def _pack(row: Row, interned: "Dict[Any, Any]") -> "Tuple[Any, ...]":
    """A row as a tuple whose repeated strings are shared: a fleet's rows differ mostly in
    their instance id, so 100,000 of them stay a few tens of MB (bench/README.md)."""
    values = row.__dict__  # a value class keeps its fields there (values.py)
    return tuple([interned.setdefault(values[f], values[f]) for f in _ROW_FIELDS])


def _unpack(item: "Tuple[Any, ...]") -> Row:
    return Row(*item)


def parse_all(outputs: "Iterable[Output]") -> "List[Tuple[Any, ...]]":
    interned: Dict[Any, Any] = {}
    return [_pack(parse(output), interned) for output in outputs]


def _parse_piece(items: "List[List[str]]") -> "List[Tuple[Any, ...]]":
    from .walk import walk

    return parse_all(output for item in items for output in walk(item[0], item[1:]))


def read_folder(path: str, workers: int = WORKERS, progress: Any = None) -> "List[Row]":
    """Every output under ``path``, parsed; SourceError when there is nothing to summarise."""
    from .walk import split

    if not os.path.exists(path):
        raise SourceError(f"{path}: no such file or directory")
    if not os.path.isdir(path):
        raise SourceError(f"{path}: not a folder (expected Run Command's output layout)")
    folders = split(path, workers)
    # Interleaved, so that each piece gets a share of every command's instances.
    count = min(len(folders), workers * PIECES_PER_WORKER)
    pieces = [folders[n::count] for n in range(count)]
    # Each piece's tuples become rows as it arrives, so the two never coexist for the fleet.
    rows: List[Row] = []
    if workers <= 1 or len(pieces) == 1:
        for piece in pieces:
            rows += [_unpack(item) for item in _parse_piece(piece)]
    else:
        import multiprocessing

        with multiprocessing.get_context(_start_method()).Pool(workers) as pool:
            for n, part in enumerate(pool.imap_unordered(_parse_piece, pieces), 1):
                rows += [_unpack(item) for item in part]
                if progress is not None:
                    progress(n, len(pieces), len(rows))
    if not rows:
        raise SourceError(
            f"{path}: no outputs found (expected <command-id>/<instance-id>/awsrunShellScript/"
            "<step>/stdout under it)"
        )
    return rows


def _start_method() -> str:
    import multiprocessing

    # fork starts a worker in a millisecond; where it is unavailable the default is used.
    return "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"


def read_outputs(outputs: "Iterable[Output]", location: str) -> "List[Row]":
    rows = [_unpack(item) for item in parse_all(outputs)]
    if not rows:
        raise SourceError(f"{location}: no outputs found")
    return rows


def _counts(counter: "Dict[str, int]") -> "Tuple[Count, ...]":
    """Most first, ties by name: the same input always gives the same order."""
    return tuple(Count(k, n) for k, n in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))


def _add(counter: "Dict[str, int]", name: str) -> None:
    key = name or UNKNOWN_NAME
    counter[key] = counter.get(key, 0) + 1


def summarize(rows: "Iterable[Row]") -> Summary:
    from .. import catalog

    ordered = sorted(rows, key=lambda r: (r.instance_id, r.command_id, r.location))
    status: Dict[str, int] = {name: 0 for name in STATUSES + (UNREADABLE,)}
    issues: Dict[Tuple[str, str], List[str]] = {}
    by: Dict[str, Dict[str, int]] = {k: {} for k in ("os", "kernel", "agent", "doctor", "fmt")}
    causes: Dict[str, int] = {}
    for row in ordered:
        status[row.status] += 1
        if row.status == UNREADABLE:
            continue
        if row.issue_type:
            issues.setdefault((row.issue_type, row.issue_message), []).append(row.instance_id)
        _add(by["os"], row.os)
        _add(by["kernel"], kernel_family(row.kernel))
        _add(by["agent"], row.agent_version)
        _add(by["doctor"], row.doctor_version)
        _add(by["fmt"], row.fmt)
        for check_id in row.root_causes:
            _add(causes, check_id)
    known = {(i.issue_type, i.issue_message): i for i in catalog.issues().values()}
    by_issue = []
    for (issue_type, message), ids in issues.items():
        issue = known.get((issue_type, message))
        by_issue.append(
            IssueCount(
                issue_type,
                message,
                issue.code if issue else "",
                issue.doc_url if issue else "",
                len(ids),
                tuple(ids),
            )
        )
    by_issue.sort(key=lambda i: (-i.count, i.issue_type, i.issue_message))
    return Summary(
        instances=len(ordered),
        by_status=tuple(Count(k, n) for k, n in status.items()),
        by_issue=tuple(by_issue),
        by_os=_counts(by["os"]),
        by_kernel_family=_counts(by["kernel"]),
        by_agent_version=_counts(by["agent"]),
        by_doctor_version=_counts(by["doctor"]),
        by_format=_counts(by["fmt"]),
        root_causes=_counts(causes),
        undecided=tuple(r for r in ordered if r.status == "UNKNOWN"),
        unreadable=tuple(r for r in ordered if r.status == UNREADABLE),
        truncated=sum(1 for r in ordered if r.truncated),
        rows=tuple(ordered),
    )


def status_count(summary: Summary, name: str) -> int:
    return next((c.count for c in summary.by_status if c.name == name), 0)


def first(items: "Tuple[str, ...]", n: int = TEXT_IDS) -> "Optional[str]":
    more = len(items) - n
    return ", ".join(items[:n]) + (f" and {more} more" if more > 0 else "") if items else None
