"""The fleet's outputs rolled up by instance: how many instances have each status and each
console issue, which ones, by OS, kernel family, agent and doctor version, run, and what could
not be decided (grouped by reason).

An instance counts once, from its newest output (S3's LastModified, or the file's mtime): a
source that holds several runs (a whole bucket prefix) has several outputs of one instance.

Each reader (a worker of reading.py, or the process reading S3) counts what it read in a
Tally and sends back only its counts; what must be listed per instance (the instances of each
issue, the undecided, the unreadable, every row for CSV and HTML, and an index of every
output: instance, run, location, time and what it counted) is written to sorted runs in a
temporary folder (runs.py), merged when a view is written. When an instance may have more
than one output (more than one run's folder was read, or an instance folder held several
steps), the index is merged once: each superseded output's counts are taken back, and its
records are left out of every section. Memory therefore does not grow with the fleet
(bench/README.md).
"""

import json
import operator
import os
from typing import Any, Dict, Iterable, Iterator, List, Optional, Set, Tuple

from ..values import fields, value
from .bounded import Bounded
from .counts import NAMES_HELD, Combination, Counts, other_count, sorted_counts
from .parse import UNREADABLE, Row
from .runs import Listing, RunWriter, SpoolError, new_run

__all__ = ["Listing", "SourceError", "SpoolError", "Summary", "Tally", "Totals", "make_summary"]

# Instance ids listed under each issue and each reason in the text view; the JSON, CSV and
# HTML list them all.
TEXT_IDS = 5
# Listed records a reader holds before it writes them, sorted, to a run file: the bound on a
# worker's memory (about 1 KiB a record), and 100,000 outputs make a few tens of runs.
RUN_RECORDS = 5000
_ROW_FIELDS = fields(Row)
_INSTANCE = operator.itemgetter(0)
_CAUSES, _INPUTS = _ROW_FIELDS.index("root_causes"), _ROW_FIELDS.index("undecided")
# Sections of the listing: every row, the undecided and unreadable rows, one per issue, and
# the index of every output (for instances with more than one).
ROWS, UNDECIDED, UNREADABLE_ROWS, INDEX = "rows", "undecided", "unreadable", "index"
# Distinct combinations of counted values (status, issue, OS, kernel, versions, causes, run,
# reason) a reader holds before adding them to its counters: the bound on its counting memory.
COMBINATIONS_HELD = 4096
SHARED_HELD = 4096  # distinct reasons a reader keeps one object of


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
    section: str  # the listing section holding this issue's instance ids


@value
class Groups:
    """Instances by reason, most first; ``other``: those counted beyond NAMES_HELD reasons."""

    counts: "Tuple[Count, ...]"
    other: int = 0


@value
class Repeats:
    """Instances with more than one output: how many, how many of their outputs were not
    counted (a newer one was), and over how many runs (command ids) their outputs spread."""

    instances: int = 0
    outputs: int = 0
    runs: int = 0


def _issue_section(issue_type: str, issue_message: str) -> str:
    return json.dumps(["issue", issue_type, issue_message], ensure_ascii=False)


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
    undecided: int  # UNKNOWN rows, listed in the UNDECIDED section
    unreadable: int  # listed in the UNREADABLE_ROWS section
    truncated: int
    listing: Listing
    outputs: int = 0  # outputs read: the instances, and the outputs a newer one superseded
    repeated: Repeats = Repeats()
    by_command_id: "Groups" = Groups(())
    undecided_reasons: "Groups" = Groups(())
    unreadable_reasons: "Groups" = Groups(())

    def issue_ids(self, issue: IssueCount) -> "Iterator[str]":
        return (r[0] for r in self.listing.records(issue.section))

    def undecided_rows(self) -> "Iterator[List[Any]]":
        """[instance_id, command_id, location, reason, [inputs...]]"""
        return self.listing.records(UNDECIDED)

    def unreadable_rows(self) -> "Iterator[List[Any]]":
        """[instance_id, command_id, location, first line]"""
        return self.listing.records(UNREADABLE_ROWS)

    def rows(self) -> "Iterator[Row]":
        """Every instance, sorted by instance id (only when the listing keeps rows)."""
        for r in self.listing.records(ROWS):
            row = r[3:]
            row[_CAUSES] = tuple(row[_CAUSES])
            row[_INPUTS] = tuple(row[_INPUTS])
            yield Row(*row)

    def reason_ids(
        self, section: str, groups: "Iterable[Count]", n: int = TEXT_IDS
    ) -> "Dict[str, List[str]]":
        """The first ``n`` instance ids of each of ``groups`` (reasons of the UNDECIDED or the
        UNREADABLE_ROWS section), in one read of the section that stops once all are found."""
        wanted = {g.name: min(g.count, n) for g in groups}
        found: Dict[str, List[str]] = {name: [] for name in wanted}
        left = len(wanted)
        for r in self.listing.records(section) if left else ():
            ids = found.get(r[3])
            if ids is not None and len(ids) < wanted[r[3]]:
                ids.append(r[0])
                if len(ids) == wanted[r[3]]:
                    left -= 1
                    if not left:
                        break
        return found


class Tally:
    """Counts and runs of one worker (or of the process reading S3)."""

    def __init__(self, folder: str, keep_rows: bool, run_records: int = RUN_RECORDS) -> None:
        self.folder = folder
        self.run_records = run_records
        self.keep_rows = keep_rows
        self.counts = Counts()
        # Each distinct combination once, with its count and the one tuple that stands for it
        # in the index (marshal writes an object it meets again in a chunk as a reference).
        self.combinations: Dict[Combination, List[Any]] = {}
        # One object for each distinct reason held, for the same reason.
        self.shared: Bounded[str, str] = Bounded(SHARED_HELD)
        self.held: Dict[Any, List[Any]] = {}
        self.count = 0
        self.index: List[List[Any]] = []
        self.runs: Dict[str, List[str]] = {}
        # Whether an instance may have more than one output here: the same instance twice in a
        # row (an instance folder's steps are read together), or outputs of more than one
        # run's folder (``folder``: the first output's location up to its instance id).
        self.repeats = False
        self.last = ""
        self.folder_prefix: Optional[str] = None

    def add(self, row: Row) -> None:
        """Counts one row: each distinct combination of what is counted once (a fleet has
        few), spread over the counters later (_spread); and holds what is listed, and the
        row's entry in the index. Written for speed: it runs once an output."""
        status = row.status
        instance = row.instance_id
        command = row.command_id
        location = row.location
        if instance == self.last:
            self.repeats = True
        self.last = instance
        prefix = self.folder_prefix
        if prefix is None:
            self.folder_prefix = _run_folder(location, instance)
            self.repeats = self.repeats or self.folder_prefix is None  # cannot tell: resolve
        elif not (location.startswith(prefix) and location.startswith(instance, len(prefix))):
            self.repeats = True  # another run's folder (or one deeper)
        reason = row.reason
        if reason:
            shared = self.shared
            if len(shared) >= SHARED_HELD:
                shared.clear()
            reason = shared.setdefault(reason, reason)
        if self.keep_rows:
            self._hold(ROWS, [instance, command, location] + [row.__dict__[f] for f in _ROW_FIELDS])
        if status == UNREADABLE:
            self._hold(UNREADABLE_ROWS, [instance, command, location, reason])
        else:
            if status == "UNKNOWN":
                shared = self.shared
                inputs = [shared.setdefault(item, item) for item in row.undecided]
                self._hold(UNDECIDED, [instance, command, location, reason, inputs])
            if row.issue_type:
                self._hold((row.issue_type, row.issue_message), [instance, command, location])
        combination = (
            status,
            row.truncated,
            command,
            reason,
            row.issue_type,
            row.issue_message,
            row.os,
            row.kernel,
            row.agent_version,
            row.doctor_version,
            row.fmt,
            row.root_causes,
        )
        combinations = self.combinations
        found = combinations.get(combination)
        if found is None:
            found = combinations[combination] = [combination, 0]
            if len(combinations) >= COMBINATIONS_HELD:
                self._spread()
        found[1] += 1
        index = self.index
        index.append([instance, command, location, row.mtime, found[0]])
        if len(index) >= self.run_records:
            self._write_index()

    def _spread(self) -> None:
        """The combinations counted so far, added to each counter (the one being counted, if
        it is new, is kept: its count follows)."""
        held = self.combinations
        self.combinations = {}
        for combination, found in held.items():
            if found[1]:
                self.counts.add(combination, found[1])
            else:
                self.combinations[combination] = found

    def _write_index(self) -> None:
        """The index, as a run of its own: one entry an output, and nothing else held, so its
        runs are as long as the bound allows. Sorted by instance id alone (a string compare,
        the cheapest sort): a merge of such runs still comes out grouped by instance, which
        is all the resolution of repeated instances reads it for."""
        if self.index:
            path = new_run(self.folder, self.index, key=_INSTANCE)
            self.runs.setdefault(INDEX, []).append(path)
        self.index = []

    def _hold(self, section: "Any", record: "List[Any]") -> None:
        self.held.setdefault(section, []).append(record)
        self.count += 1
        if self.count >= self.run_records:
            self.flush()

    def flush(self) -> None:
        """Each held section, sorted, to a new run file."""
        for section, records in self.held.items():
            name = section if isinstance(section, str) else _issue_section(*section)
            self.runs.setdefault(name, []).append(new_run(self.folder, records))
        self.held = {}
        self.count = 0

    def result(self) -> "Tuple[Any, ...]":
        self._spread()
        self.flush()
        self._write_index()
        return self.counts.state(), self.runs, self.repeats, self.folder_prefix


_SEPARATORS = ("/", os.sep)


def _run_folder(location: str, instance: str) -> "Optional[str]":
    """``/x/runs/<command-id>/`` of ``/x/runs/<command-id>/<instance>/awsrunShellScript/...``
    (or of an s3:// URL), None when the location does not hold the instance id."""
    for sep in _SEPARATORS:
        at = location.rfind(sep + instance + sep)
        if at >= 0:
            return location[: at + 1]
    return None


class Totals:
    def __init__(self) -> None:
        self.counts = Counts()
        self.repeats = False
        self.prefixes: Set[str] = set()

    def add(self, part: "Tuple[Any, ...]", listing: Listing) -> None:
        counts, runs, repeats, prefix = part
        self.counts.merge(counts)
        listing.add(runs)
        self.repeats = self.repeats or repeats
        if prefix is not None:
            self.prefixes.add(prefix)

    @property
    def instances(self) -> int:
        return self.counts.instances

    @property
    def may_repeat(self) -> bool:
        return self.repeats or len(self.prefixes) > 1


def summarize(rows: "Iterable[Row]", keep_rows: bool = True) -> Summary:
    """Rows already parsed, counted as a folder's are."""
    listing = Listing(keep_rows)
    try:
        tally = Tally(listing.folder, keep_rows)
        for row in rows:
            tally.add(row)
        totals = Totals()
        totals.add(tally.result(), listing)
        return make_summary(totals, listing)
    except BaseException:
        listing.close()
        raise


def _resolve(totals: Totals, listing: Listing) -> Repeats:
    """Instances with more than one output: the newest (mtime, then command id and location,
    so that the choice does not depend on the order of reading) counts; the others' counts are
    taken back, and their keys are written to each section they are listed in, to be left out
    as the section is read. One merge of the index, in instance order."""
    taken_back: Dict[Combination, int] = {}
    writers: Dict[str, RunWriter] = {}
    repeated = superseded = 0
    runs: Set[str] = set()

    def drop(section: str, key: "List[Any]") -> None:
        writer = writers.get(section)
        if writer is None:
            writer = writers[section] = RunWriter(listing.folder)
        writer.add(key)

    def settle(group: "List[List[Any]]") -> None:
        nonlocal repeated, superseded
        repeated += 1
        superseded += len(group) - 1
        if len(runs) < NAMES_HELD:
            runs.update(r[1] for r in group)
        newest = max(group, key=lambda r: (r[3], r[1], r[2]))
        for r in group:
            if r is newest:
                continue
            combination = r[4]
            taken_back[combination] = taken_back.get(combination, 0) + 1
            key = r[:3]
            if listing.keep_rows:
                drop(ROWS, key)
            status, issue_type, message = combination[0], combination[4], combination[5]
            if status == UNREADABLE:
                drop(UNREADABLE_ROWS, key)
                continue
            if status == "UNKNOWN":
                drop(UNDECIDED, key)
            if issue_type:
                drop(_issue_section(issue_type, message), key)

    group: List[List[Any]] = []
    for record in listing.records(INDEX):
        if group and record[0] != group[0][0]:
            if len(group) > 1:
                settle(group)
            group = []
        group.append(record)
    if len(group) > 1:
        settle(group)
    for combination, n in taken_back.items():
        totals.counts.add(tuple(combination), -n)
    for section, writer in writers.items():
        listing.dropped[section] = writer.close()
    return Repeats(repeated, superseded, len(runs))


def _groups(counter: "Dict[Any, int]") -> Groups:
    return Groups(tuple(Count(k, n) for k, n in sorted_counts(counter)), other_count(counter))


def _counts(counter: "Dict[Any, int]") -> "Tuple[Count, ...]":
    return tuple(Count(k, n) for k, n in sorted_counts(counter))


def make_summary(totals: Totals, listing: Listing) -> Summary:
    from .. import catalog

    outputs = totals.instances
    repeats = _resolve(totals, listing) if totals.may_repeat else Repeats()
    counts = totals.counts
    # Several catalogue issues may show the same console text: the first in precedence order
    # names it, as parse.py's codes of text reports do.
    known: Dict[Tuple[str, str], Any] = {}
    for item in catalog.issues().values():
        known.setdefault((item.issue_type, item.issue_message), item)
    by_issue = []
    for (issue_type, message), n in counts.issues.items():
        if n <= 0:
            continue
        issue = known.get((issue_type, message))
        by_issue.append(
            IssueCount(
                issue_type,
                message,
                issue.code if issue else "",
                issue.doc_url if issue else "",
                n,
                _issue_section(issue_type, message),
            )
        )
    by_issue.sort(key=lambda i: (-i.count, i.issue_type, i.issue_message))
    by = counts.by
    return Summary(
        instances=counts.instances,
        by_status=tuple(Count(k, n) for k, n in counts.status.items()),
        by_issue=tuple(by_issue),
        by_os=_counts(by["os"]),
        by_kernel_family=_counts(by["kernel"]),
        by_agent_version=_counts(by["agent"]),
        by_doctor_version=_counts(by["doctor"]),
        by_format=_counts(by["fmt"]),
        root_causes=_counts(by["causes"]),
        undecided=counts.status["UNKNOWN"],
        unreadable=counts.status[UNREADABLE],
        truncated=counts.truncated,
        listing=listing,
        outputs=outputs,
        repeated=repeats,
        by_command_id=_groups(by["command"]),
        undecided_reasons=_groups(by["undecided"]),
        unreadable_reasons=_groups(by["unreadable"]),
    )


def status_count(summary: Summary, name: str) -> int:
    return next((c.count for c in summary.by_status if c.name == name), 0)


def first(items: "Iterable[str]", count: int, n: int = TEXT_IDS) -> "Optional[str]":
    """The first ``n`` of ``count`` items, read no further than those."""
    shown = []
    for item in items:
        shown.append(item)
        if len(shown) >= n:
            break
    more = count - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "") if shown else None
