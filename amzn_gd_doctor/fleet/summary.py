"""The fleet's outputs rolled up: how many instances have each status and each console issue,
which ones, by OS, kernel family, agent and doctor version, and what could not be decided.

A folder is read by worker processes over its sub-folders (parsing is CPU-bound and the
per-file cost is small); any other iterable of Output (S3) is parsed in this process. Each
worker counts what it read and sends back only its counts; what must be listed per instance
(the instances of each issue, the undecided, the unreadable, every row for CSV and HTML) is
written to sorted runs in a temporary folder, merged when a view is written. Memory therefore
does not grow with the fleet (bench/README.md).
"""

import contextlib
import heapq
import json
import marshal
import os
import shutil
import tempfile
from typing import Any, BinaryIO, Dict, Iterable, Iterator, List, Optional, Tuple

from ..values import fields, value
from .bounded import Bounded
from .parse import STATUSES, UNREADABLE, Row, kernel_family, parse
from .source import Output

# One worker per core: parsing is CPU-bound, and the page cache serves the files (measured:
# four workers on two cores were no faster, and used more memory).
WORKERS = os.cpu_count() or 2
# Instance ids listed under each issue in the text view; the JSON, CSV and HTML list them all.
TEXT_IDS = 5
UNKNOWN_NAME = "unknown"
# Pieces of work per worker: enough that a worker left with a slow piece is not alone at the
# end, few enough that handing them out costs nothing.
PIECES_PER_WORKER = 4
# Listed records a worker holds before it writes them, sorted, to a run file: the bound on a
# worker's memory (about 1 KiB a record), and 100,000 outputs make a few tens of runs.
RUN_RECORDS = 5000
# Records per marshal chunk of a run: a merge holds one chunk of each run it reads. Runs are
# written with marshal (lists of strings, numbers and lists) rather than JSON: five to ten times
# cheaper both ways, and only this process's interpreter reads them back, from its own
# private folder (mkdtemp, mode 0700).
RUN_CHUNK = 256
# Runs a merge reads at once: more are first merged in rounds, so a merge holds at most this
# many chunks (and open files) whatever the fleet's size.
MERGE_FAN_IN = 64
_ROW_FIELDS = fields(Row)
_CAUSES, _INPUTS = _ROW_FIELDS.index("root_causes"), _ROW_FIELDS.index("undecided")
# Sections of the listing: every row, the undecided and unreadable rows, and one per issue.
ROWS, UNDECIDED, UNREADABLE_ROWS = "rows", "undecided", "unreadable"
_COUNTERS = ("os", "kernel", "agent", "doctor", "fmt", "causes")
# Outputs read before they are parsed: up to this many, or this many bytes (and one output).
READ_BATCH = 256
READ_BATCH_BYTES = 4 * 1024 * 1024
# Distinct combinations of counted values (status, issue, OS, kernel, versions, causes) a
# worker holds before adding them to its counters: the bound on its counting memory.
COMBINATIONS_HELD = 4096
SHARED_HELD = 4096  # distinct reasons a worker keeps one object of


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


class Listing:
    """The per-instance records of a summary, in sorted runs under a temporary folder, each
    section read back merged in instance order. Removed by close() (or the with block)."""

    def __init__(self, keep_rows: bool = True) -> None:
        self.folder = tempfile.mkdtemp(prefix="amzn-gd-doctor-fleet-")
        self.keep_rows = keep_rows
        self.runs: Dict[str, List[str]] = {}

    def add(self, runs: "Dict[str, List[str]]") -> None:
        for section, paths in runs.items():
            self.runs.setdefault(section, []).extend(paths)

    def records(self, section: str) -> "Iterator[List[Any]]":
        """The section's records, merged from its runs: [instance, command, location, ...],
        compared as they are (those three are unique to an output, so a comparison never
        reaches the rest)."""
        paths = sorted(self.runs.get(section, ()))
        while len(paths) > MERGE_FAN_IN:
            paths = [
                self._merged(paths[n : n + MERGE_FAN_IN])
                for n in range(0, len(paths), MERGE_FAN_IN)
            ]
            self.runs[section] = paths
        yield from _merge_runs(paths)

    def _merged(self, paths: "List[str]") -> str:
        """Runs merged into one (a fleet large enough to make more runs than a merge reads at
        once is merged in rounds, so that a merge holds MERGE_FAN_IN chunks at most)."""
        if len(paths) == 1:
            return paths[0]
        fd, merged = tempfile.mkstemp(suffix=".run", dir=self.folder)
        with os.fdopen(fd, "wb") as fh:
            chunk: List[List[Any]] = []
            for record in _merge_runs(paths):
                chunk.append(record)
                if len(chunk) >= RUN_CHUNK:
                    _write_run(fh, chunk)
                    chunk = []
            _write_run(fh, chunk)
        for path in paths:
            os.unlink(path)
        return merged

    def rows(self) -> "Iterator[Row]":
        for r in self.records(ROWS):
            row = r[3:]
            row[_CAUSES] = tuple(row[_CAUSES])
            row[_INPUTS] = tuple(row[_INPUTS])
            yield Row(*row)

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> "Listing":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _read_run(fh: "BinaryIO") -> "Iterator[List[Any]]":
    """A run's records, chunk by chunk: each chunk is its length (4 bytes, big-endian) and
    then its marshal bytes (marshal.load on a file reads in small pieces, ten times slower)."""
    while True:
        head = fh.read(4)
        if len(head) < 4:
            return
        yield from marshal.loads(fh.read(int.from_bytes(head, "big")))


def _merge_runs(paths: "List[str]") -> "Iterator[List[Any]]":
    with contextlib.ExitStack() as stack:
        streams = [_read_run(stack.enter_context(open(path, "rb"))) for path in paths]
        if len(streams) == 1:
            yield from streams[0]
        else:
            yield from heapq.merge(*streams)


def _write_run(fh: "BinaryIO", records: "List[List[Any]]") -> None:
    for start in range(0, len(records), RUN_CHUNK):
        data = marshal.dumps(records[start : start + RUN_CHUNK])
        fh.write(len(data).to_bytes(4, "big") + data)


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
        return self.listing.rows()


class Tally:
    """Counts and runs of one worker (or of the process reading S3)."""

    def __init__(self, folder: str, keep_rows: bool, run_records: int = RUN_RECORDS) -> None:
        self.folder = folder
        self.run_records = run_records
        self.keep_rows = keep_rows
        self.status: Dict[str, int] = {}
        self.issues: Dict[Tuple[str, str], int] = {}
        self.by: Dict[str, Dict[str, int]] = {k: {} for k in _COUNTERS}
        self.combinations: Dict[Tuple[Any, ...], int] = {}
        # One object for each distinct reason held: marshal writes an object it meets again
        # in a chunk as a reference, so a fleet's repeated reasons are written and read once.
        self.shared: Bounded[str, str] = Bounded(SHARED_HELD)
        self.truncated = 0
        self.held: Dict[Any, List[Any]] = {}
        self.count = 0
        self.runs: Dict[str, List[str]] = {}

    def add(self, row: Row) -> None:
        """Counts one row: each distinct combination of what is counted once (a fleet has
        few), spread over the counters later (_spread); and holds what is listed."""
        status = row.status
        key = [row.instance_id, row.command_id, row.location]
        if self.keep_rows:
            self._hold(ROWS, key + [row.__dict__[f] for f in _ROW_FIELDS])
        if status == UNREADABLE:
            self._hold(UNREADABLE_ROWS, key + [row.reason])
            combination: Tuple[Any, ...] = (status, row.truncated)
        else:
            if status == "UNKNOWN":
                shared = self.shared
                if len(shared) >= shared.limit:
                    shared.clear()
                inputs = [shared.setdefault(item, item) for item in row.undecided]
                self._hold(UNDECIDED, key + [shared.setdefault(row.reason, row.reason), inputs])
            if row.issue_type:
                self._hold((row.issue_type, row.issue_message), key)
            combination = (
                status,
                row.truncated,
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
        combinations[combination] = combinations.get(combination, 0) + 1
        if len(combinations) >= COMBINATIONS_HELD:
            self._spread()

    def _spread(self) -> None:
        """The combinations counted so far, added to each counter."""
        for combination, n in self.combinations.items():
            status, truncated = combination[:2]
            self.status[status] = self.status.get(status, 0) + n
            self.truncated += n if truncated else 0
            if status == UNREADABLE:
                continue
            issue_type, message, os_name, kernel, agent, doctor, fmt, causes = combination[2:]
            if issue_type:
                self.issues[(issue_type, message)] = self.issues.get((issue_type, message), 0) + n
            by = self.by
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
        self.combinations = {}

    def _hold(self, section: "Any", record: "List[Any]") -> None:
        self.held.setdefault(section, []).append(record)
        self.count += 1
        if self.count >= self.run_records:
            self.flush()

    def flush(self) -> None:
        """Each held section, sorted, to a new run file."""
        for section, records in self.held.items():
            records.sort()  # by instance, command and location: unique, so never further
            fd, path = tempfile.mkstemp(suffix=".run", dir=self.folder)
            with os.fdopen(fd, "wb") as fh:
                _write_run(fh, records)
            name = section if isinstance(section, str) else _issue_section(*section)
            self.runs.setdefault(name, []).append(path)
        self.held = {}
        self.count = 0

    def result(self) -> "Tuple[Any, ...]":
        self._spread()
        self.flush()
        return self.status, self.issues, self.by, self.truncated, self.runs


def _merge(total: "Dict[Any, int]", part: "Dict[Any, int]") -> None:
    for name, n in part.items():
        total[name] = total.get(name, 0) + n


class _Totals:
    def __init__(self) -> None:
        self.status: Dict[str, int] = {name: 0 for name in STATUSES + (UNREADABLE,)}
        self.issues: Dict[Tuple[str, str], int] = {}
        self.by: Dict[str, Dict[str, int]] = {k: {} for k in _COUNTERS}
        self.truncated = 0

    def add(self, part: "Tuple[Any, ...]", listing: Listing) -> None:
        status, issues, by, truncated, runs = part
        _merge(self.status, status)
        _merge(self.issues, issues)
        for name in _COUNTERS:
            _merge(self.by[name], by[name])
        self.truncated += truncated
        listing.add(runs)

    @property
    def instances(self) -> int:
        return sum(self.status.values())


def _tally(
    outputs: "Iterable[Output]", folder: str, keep_rows: bool, run_records: int = RUN_RECORDS
) -> "Tuple[Any, ...]":
    tally = Tally(folder, keep_rows, run_records)
    add = tally.add
    batch: List[Output] = []
    size = 0
    # Read a batch, then parse it: reading (system calls) and parsing, each done many times
    # in a row, cost a fifth less CPU than done in turns (bench/README.md).
    for output in outputs:
        batch.append(output)
        size += len(output.data)
        if len(batch) >= READ_BATCH or size >= READ_BATCH_BYTES:
            for held in batch:
                add(parse(held))
            _count_read(len(batch))
            batch = []
            size = 0
    for held in batch:
        add(parse(held))
    _count_read(len(batch))
    return tally.result()


def _parse_piece(
    job: "Tuple[List[List[str]], Tuple[int, int], str, bool, int]",
) -> "Tuple[Any, ...]":
    from .walk import walk

    items, share, folder, keep_rows, run_records = job
    outputs = (o for item in items for o in walk(item[0], item[1:], share=share))
    return _tally(outputs, folder, keep_rows, run_records)


def read_folder(
    path: str,
    workers: int = WORKERS,
    progress: Any = None,
    keep_rows: bool = True,
    run_records: int = RUN_RECORDS,
) -> Summary:
    """Every output under ``path``, counted; SourceError when there is nothing to summarise.
    The caller closes the summary's listing (``with summary.listing:``)."""
    from .walk import split

    if not os.path.exists(path):
        raise SourceError(f"{path}: no such file or directory")
    if not os.path.isdir(path):
        raise SourceError(f"{path}: not a folder (expected Run Command's output layout)")
    folders = split(path, workers)
    wanted = workers * PIECES_PER_WORKER
    listing = Listing(keep_rows)
    if len(folders) >= wanted:
        # Interleaved, so that each piece gets a share of every command's instances.
        jobs = [
            (folders[n::wanted], (0, 1), listing.folder, keep_rows, run_records)
            for n in range(wanted)
        ]
    else:
        # Few folders holding many entries: each worker walks every n-th entry of each. One
        # share per worker, not several: every share reads the whole folder's entries, and
        # interleaved shares of one folder are alike in size.
        jobs = [
            (folders, (n, workers), listing.folder, keep_rows, run_records)
            for n in range(max(1, workers))
        ]
    try:
        totals = _Totals()
        if workers <= 1 or len(jobs) == 1:
            for n, job in enumerate(jobs, 1):
                totals.add(_parse_piece(job), listing)
                if progress is not None:
                    progress(n, len(jobs), totals.instances)
        else:
            _read_in_workers(jobs, workers, totals, listing, progress)
        if not totals.instances:
            raise SourceError(
                f"{path}: no outputs found (expected <command-id>/<instance-id>/"
                "awsrunShellScript/<step>/stdout under it)"
            )
        return _summary(totals, listing)
    except BaseException:
        listing.close()
        raise


def _read_in_workers(
    jobs: "List[Any]", workers: int, totals: "_Totals", listing: Listing, progress: Any
) -> None:
    """The jobs in a pool of workers. With ``progress``, the workers add the outputs they
    read to a shared count, reported every PROGRESS_EVERY seconds as well as at each job's
    end: one job may be a whole fleet's share."""
    import multiprocessing

    context = multiprocessing.get_context(_start_method())
    counter = context.Value("q", 0) if progress is not None else None
    with context.Pool(workers, initializer=_start_worker, initargs=(counter,)) as pool:
        parts = pool.imap_unordered(_parse_piece, jobs)
        done = 0
        while done < len(jobs):
            try:
                part = parts.next(PROGRESS_EVERY if counter is not None else None)
            except multiprocessing.TimeoutError:
                progress(done, len(jobs), counter.value if counter is not None else 0)
                continue
            done += 1
            totals.add(part, listing)
            if counter is not None:
                progress(done, len(jobs), max(counter.value, totals.instances))


_READ_COUNT: Any = None  # in a worker: the count of outputs read, shared with the parent
PROGRESS_EVERY = 0.5  # seconds


def _start_worker(counter: Any) -> None:
    global _READ_COUNT
    _READ_COUNT = counter


def _count_read(outputs: int) -> None:
    if _READ_COUNT is not None:
        with _READ_COUNT.get_lock():
            _READ_COUNT.value += outputs


def _start_method() -> str:
    import multiprocessing

    # fork starts a worker in a millisecond; where it is unavailable the default is used.
    return "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"


def read_outputs(outputs: "Iterable[Output]", location: str, keep_rows: bool = True) -> Summary:
    listing = Listing(keep_rows)
    try:
        totals = _Totals()
        totals.add(_tally(outputs, listing.folder, keep_rows), listing)
        if not totals.instances:
            raise SourceError(f"{location}: no outputs found")
        return _summary(totals, listing)
    except BaseException:
        listing.close()
        raise


def summarize(rows: "Iterable[Row]", keep_rows: bool = True) -> Summary:
    """Rows already parsed, counted as a folder's are."""
    listing = Listing(keep_rows)
    try:
        tally = Tally(listing.folder, keep_rows)
        for row in rows:
            tally.add(row)
        totals = _Totals()
        totals.add(tally.result(), listing)
        return _summary(totals, listing)
    except BaseException:
        listing.close()
        raise


def _counts(counter: "Dict[str, int]") -> "Tuple[Count, ...]":
    """Most first, ties by name: the same input always gives the same order."""
    return tuple(Count(k, n) for k, n in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))


def _summary(totals: _Totals, listing: Listing) -> Summary:
    from .. import catalog

    known = {(i.issue_type, i.issue_message): i for i in catalog.issues().values()}
    by_issue = []
    for (issue_type, message), n in totals.issues.items():
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
    by = totals.by
    return Summary(
        instances=totals.instances,
        by_status=tuple(Count(k, n) for k, n in totals.status.items()),
        by_issue=tuple(by_issue),
        by_os=_counts(by["os"]),
        by_kernel_family=_counts(by["kernel"]),
        by_agent_version=_counts(by["agent"]),
        by_doctor_version=_counts(by["doctor"]),
        by_format=_counts(by["fmt"]),
        root_causes=_counts(by["causes"]),
        undecided=totals.status["UNKNOWN"],
        unreadable=totals.status[UNREADABLE],
        truncated=totals.truncated,
        listing=listing,
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
