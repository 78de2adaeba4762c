"""Reading a fleet's outputs: a folder by worker processes (one per core, over shares of its
sub-folders: parsing is CPU-bound and the per-file cost is small), S3 in this process (the
boto3 client is not shared with workers). Each reader counts in a Tally (summary.py).

Signals: a worker ignores Ctrl-C (the process that started it stops the pool, so no worker
prints a traceback) and dies quietly of SIGTERM; SIGTERM to this process is turned into an
exception while a summary is made (terminate_cleanly), so that the temporary folder is removed
as it is on Ctrl-C.
"""

import contextlib
import os
import signal
from typing import Any, Callable, Iterable, Iterator, List, Optional, Tuple

from .parse import parse
from .runs import Listing
from .source import Output
from .summary import RUN_RECORDS, SourceError, Summary, Tally, Totals, make_summary

# One worker per core: parsing is CPU-bound, and the page cache serves the files (measured:
# four workers on two cores were no faster, and used more memory).
WORKERS = os.cpu_count() or 2
# Pieces of work per worker: enough that a worker left with a slow piece is not alone at the
# end, few enough that handing them out costs nothing.
PIECES_PER_WORKER = 4
# Outputs read before they are parsed: up to this many, or this many bytes (and one output).
READ_BATCH = 256
READ_BATCH_BYTES = 4 * 1024 * 1024
# Seconds between progress reports while the workers read: often enough to look alive.
PROGRESS_EVERY = 0.25
# How long the last progress report waits for the count of instance folders, if it is not
# done when the workers are (it reads a fraction of what they read): then it goes without.
COUNT_WAIT_S = 1.0
# The exit status of a summary stopped by SIGTERM (128 + the signal), as a shell reports it.
TERMINATED_EXIT = 128 + 15
Progress = Callable[[int, Optional[int]], None]  # (outputs read, total once known)


def read_source(
    source: str,
    keep_rows: bool = True,
    progress: "Optional[Progress]" = None,
    follow_links: bool = False,
    command_ids: "Tuple[str, ...]" = (),
) -> Summary:
    """A folder or an s3:// URL, summarised. Every failure that stops it (the source, S3,
    the temporary folder) is a SourceError or a SpoolError whose text is for the operator."""
    if not source.startswith("s3://"):
        return read_folder(
            source,
            progress=progress,
            keep_rows=keep_rows,
            follow_links=follow_links,
            command_ids=command_ids,
        )
    from . import s3

    total: List[Optional[int]] = [None]

    def found(n: int) -> None:
        total[0] = n

    try:
        outputs = s3.iter_s3(source, command_ids, found)
        return read_outputs(outputs, source, keep_rows, progress, total)
    except s3.S3Error as err:
        raise SourceError(str(err)) from None


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


def _parse_piece(job: "Tuple[Any, ...]") -> "Tuple[Any, ...]":
    from .walk import walk

    items, share, scope, folder, keep_rows, run_records = job
    outputs = (o for item in items for o in walk(item[0], item[1:], share=share, scope=scope))
    return _tally(outputs, folder, keep_rows, run_records)


def read_folder(
    path: str,
    workers: int = WORKERS,
    progress: "Optional[Progress]" = None,
    keep_rows: bool = True,
    run_records: int = RUN_RECORDS,
    follow_links: bool = False,
    command_ids: "Tuple[str, ...]" = (),
) -> Summary:
    """Every output under ``path``, counted by instance; SourceError when there is nothing to
    summarise, SpoolError when the temporary folder cannot be written. The caller closes the
    summary's listing (``with summary.listing:``)."""
    from .walk import scope_of, split

    if not os.path.exists(path):
        raise SourceError(f"{path}: no such file or directory")
    if not os.path.isdir(path):
        raise SourceError(f"{path}: not a folder (expected Run Command's output layout)")
    scope = scope_of(path, follow_links, command_ids)
    if progress is not None:
        progress(0, None)
    folders = split(path, workers)
    wanted = workers * PIECES_PER_WORKER
    listing = Listing(keep_rows)
    if len(folders) >= wanted:
        # Interleaved, so that each piece gets a share of every command's instances.
        jobs = [
            (folders[n::wanted], (0, 1), scope, listing.folder, keep_rows, run_records)
            for n in range(wanted)
        ]
    else:
        # Few folders holding many entries: each worker walks every n-th entry of each. One
        # share per worker, not several: every share reads the whole folder's entries, and
        # interleaved shares of one folder are alike in size.
        jobs = [
            (folders, (n, workers), scope, listing.folder, keep_rows, run_records)
            for n in range(max(1, workers))
        ]
    try:
        totals = Totals()
        if workers <= 1 or len(jobs) == 1:
            for job in jobs:
                totals.add(_parse_piece(job), listing)
                if progress is not None:
                    progress(totals.instances, None)
        else:
            _read_in_workers(jobs, workers, totals, listing, progress, path, scope)
        if not totals.instances:
            runs = f" of command id {', '.join(command_ids)}" if command_ids else ""
            raise SourceError(
                f"{path}: no outputs{runs} found (expected <command-id>/<instance-id>/"
                "awsrunShellScript/<step>/stdout under it)"
            )
        return make_summary(totals, listing)
    except BaseException:
        listing.close()
        raise


def _read_in_workers(
    jobs: "List[Any]",
    workers: int,
    totals: "Totals",
    listing: Listing,
    progress: "Optional[Progress]",
    path: str,
    scope: Any,
) -> None:
    """The jobs in a pool of workers. With ``progress``, the workers add the outputs they
    read to a shared count, reported every PROGRESS_EVERY seconds, with the total once a
    thread of this process has counted the instance folders (while the workers read)."""
    import multiprocessing

    context = multiprocessing.get_context(_start_method())
    counter = context.Value("q", 0) if progress is not None else None
    total: List[Optional[int]] = [None]
    # Ctrl-C and SIGTERM are held back while the workers start, so that none meets one before
    # it has set how it takes them (_start_worker): a worker would otherwise run this process's
    # handler, and live on. This process gets them once the workers have started.
    with _signals_blocked():
        pool = context.Pool(workers, initializer=_start_worker, initargs=(counter,))
    counting = None
    if progress is not None:  # a thread, started once the workers are forked
        counting = _count_in_background(path, scope, total)
    with pool:
        parts = pool.imap_unordered(_parse_piece, jobs)
        done = 0
        while done < len(jobs):
            try:
                part = parts.next(PROGRESS_EVERY if counter is not None else None)
            except multiprocessing.TimeoutError:
                if progress is not None and counter is not None:
                    progress(counter.value, total[0])
                continue
            done += 1
            totals.add(part, listing)
        if progress is not None and counter is not None:
            if counting is not None:  # one directory read an instance: done long before
                counting.join(COUNT_WAIT_S)
            progress(max(counter.value, totals.instances), total[0])


def _count_in_background(path: str, scope: Any, total: "List[Optional[int]]") -> Any:
    import threading

    from .walk import count_instances

    def count() -> None:
        with contextlib.suppress(Exception):
            total[0] = count_instances(path, scope)

    thread = threading.Thread(target=count, name="count-instances", daemon=True)
    thread.start()
    return thread


_HELD = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def _signals_blocked() -> "Iterator[None]":
    mask = getattr(signal, "pthread_sigmask", None)
    if mask is None:
        yield
        return
    mask(signal.SIG_BLOCK, _HELD)
    try:
        yield
    finally:
        mask(signal.SIG_UNBLOCK, _HELD)


_READ_COUNT: Any = None  # in a worker: the count of outputs read, shared with the parent


def _start_worker(counter: Any) -> None:
    """A worker leaves Ctrl-C to the process that started it, which stops the pool (and so
    prints no traceback of its own), and dies quietly of SIGTERM (the pool's terminate())."""
    global _READ_COUNT
    _READ_COUNT = counter
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    mask = getattr(signal, "pthread_sigmask", None)
    if mask is not None:
        mask(signal.SIG_UNBLOCK, _HELD)  # started blocked (_signals_blocked)


def _count_read(outputs: int) -> None:
    if _READ_COUNT is not None:
        with _READ_COUNT.get_lock():
            _READ_COUNT.value += outputs


def _start_method() -> str:
    import multiprocessing

    # fork starts a worker in a millisecond; where it is unavailable the default is used.
    return "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"


class Terminated(SystemExit):
    """SIGTERM, raised where the process is so that its clean-up runs as for Ctrl-C."""


@contextlib.contextmanager
def terminate_cleanly() -> "Iterator[None]":
    """SIGTERM during the summary becomes an exception (exit status TERMINATED_EXIT), so that
    the temporary folder and a half-written ``-o`` file are removed on the way out, as they
    are on Ctrl-C. The previous handler is restored after."""

    def stop(signum: int, frame: Any) -> None:
        raise Terminated(TERMINATED_EXIT)

    try:
        previous = signal.signal(signal.SIGTERM, stop)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def read_outputs(
    outputs: "Iterable[Output]",
    location: str,
    keep_rows: bool = True,
    progress: "Optional[Progress]" = None,
    total: "Optional[List[Optional[int]]]" = None,
) -> Summary:
    """Outputs read elsewhere (S3), parsed in this process. With ``progress``, reported every
    READ_BATCH outputs, with ``total[0]`` once the source has set it."""
    listing = Listing(keep_rows)
    try:
        totals = Totals()
        if progress is not None:
            progress(0, None)
            outputs = _reported(outputs, progress, total or [None])
        totals.add(_tally(outputs, listing.folder, keep_rows), listing)
        if not totals.instances:
            raise SourceError(f"{location}: no outputs found")
        return make_summary(totals, listing)
    except BaseException:
        listing.close()
        raise


def _reported(
    outputs: "Iterable[Output]", progress: "Progress", total: "List[Optional[int]]"
) -> "Iterator[Output]":
    n = 0
    for output in outputs:
        yield output
        n += 1
        if n % READ_BATCH == 0:
            progress(n, total[0])
    progress(n, total[0])
