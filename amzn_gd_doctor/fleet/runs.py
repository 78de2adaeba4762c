"""The fleet summary's per-instance records, in sorted runs under a private temporary folder
(``mkdtemp``, mode 0700, under TMPDIR), each section read back merged in instance order, less
the records of outputs that a newer output of the same instance superseded.

Runs are written with marshal (lists of strings, numbers and lists) rather than JSON: five to
ten times cheaper both ways, and only this process's interpreter reads them back, from its own
private folder. A write that fails (a full TMPDIR) is a SpoolError, one line for the operator.
"""

import contextlib
import heapq
import marshal
import operator
import os
import shutil
import tempfile
from typing import Any, BinaryIO, Dict, Iterator, List, Optional

# Records per marshal chunk of a run: a merge holds one chunk of each run it reads.
RUN_CHUNK = 256
# Runs a merge reads at once: more are first merged in rounds, so a merge holds at most this
# many chunks (and open files) whatever the fleet's size.
MERGE_FAN_IN = 64
# A record's key: instance, command id and location, unique to an output. Sorting on it as a
# tuple of strings runs the interpreter's fast string comparison, several times cheaper than
# comparing the records (lists) themselves.
RECORD_KEY = operator.itemgetter(0, 1, 2)
SPOOL_HINT = "about 400 bytes an output, 750 for CSV and HTML"


class SpoolError(Exception):
    """The temporary folder could not be written (full, read-only or missing): the text is
    one line for the operator, naming the folder and what it needs."""


def spool_error(err: OSError, folder: str) -> SpoolError:
    why = err.strerror or str(err)
    return SpoolError(
        f"cannot write the summary's temporary files under {os.path.dirname(folder) or folder}: "
        f"{why} (set TMPDIR to a folder with room: {SPOOL_HINT})"
    )


def read_run(fh: "BinaryIO") -> "Iterator[List[Any]]":
    """A run's records, chunk by chunk: each chunk is its length (4 bytes, big-endian) and
    then its marshal bytes (marshal.load on a file reads in small pieces, ten times slower)."""
    while True:
        head = fh.read(4)
        if len(head) < 4:
            return
        yield from marshal.loads(fh.read(int.from_bytes(head, "big")))


def merge_runs(paths: "List[str]") -> "Iterator[List[Any]]":
    with contextlib.ExitStack() as stack:
        streams = [read_run(stack.enter_context(open(path, "rb"))) for path in paths]
        if len(streams) == 1:
            yield from streams[0]
        else:
            yield from heapq.merge(*streams)


def write_run(fh: "BinaryIO", records: "List[List[Any]]") -> None:
    for start in range(0, len(records), RUN_CHUNK):
        data = marshal.dumps(records[start : start + RUN_CHUNK])
        fh.write(len(data).to_bytes(4, "big") + data)


def new_run(folder: str, records: "List[List[Any]]", key: "Any" = RECORD_KEY) -> str:
    """A run file of ``records`` (sorted here, by ``key``) in ``folder``; its path."""
    records.sort(key=key)
    try:
        fd, path = tempfile.mkstemp(suffix=".run", dir=folder)
        with os.fdopen(fd, "wb") as fh:
            write_run(fh, records)
    except OSError as err:
        raise spool_error(err, folder) from None
    return path


class RunWriter:
    """One run written as records come, already in order (the resolution of repeated
    instances produces its records sorted), a chunk at a time."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        try:
            fd, self.path = tempfile.mkstemp(suffix=".run", dir=folder)
            self.fh = os.fdopen(fd, "wb")
        except OSError as err:
            raise spool_error(err, folder) from None
        self.chunk: List[List[Any]] = []

    def add(self, record: "List[Any]") -> None:
        self.chunk.append(record)
        if len(self.chunk) >= RUN_CHUNK:
            self._write()

    def _write(self) -> None:
        try:
            write_run(self.fh, self.chunk)
        except OSError as err:
            raise spool_error(err, self.folder) from None
        self.chunk = []

    def close(self) -> str:
        self._write()
        try:
            self.fh.close()
        except OSError as err:
            raise spool_error(err, self.folder) from None
        return self.path


def _without(records: "Iterator[List[Any]]", dropped: "Iterator[List[Any]]") -> "Iterator[Any]":
    """``records`` less those whose key is in ``dropped``; both sorted by key (a merge join:
    neither is held)."""
    key = RECORD_KEY
    drop: Optional[List[Any]] = next(dropped, None)
    for record in records:
        if drop is not None:
            mine = list(key(record))
            while drop is not None and drop < mine:
                drop = next(dropped, None)
            if drop == mine:
                continue
        yield record


class Listing:
    """The per-instance records of a summary, by section. Removed by close() (or the with
    block)."""

    def __init__(self, keep_rows: bool = True) -> None:
        try:
            self.folder = tempfile.mkdtemp(prefix="amzn-gd-doctor-fleet-")
        except OSError as err:
            raise spool_error(err, os.path.join(tempfile.gettempdir(), "x")) from None
        self.keep_rows = keep_rows
        self.runs: Dict[str, List[str]] = {}
        # Per section, the run of the keys of outputs another output of their instance
        # superseded (read_folder's resolution of repeated instances).
        self.dropped: Dict[str, str] = {}

    def add(self, runs: "Dict[str, List[str]]") -> None:
        for section, paths in runs.items():
            self.runs.setdefault(section, []).extend(paths)

    def records(self, section: str) -> "Iterator[List[Any]]":
        """The section's records, merged from its runs: [instance, command, location, ...],
        compared as they are (those three are unique to an output, so a comparison never
        reaches the rest), less the superseded outputs'."""
        paths = sorted(self.runs.get(section, ()))
        while len(paths) > MERGE_FAN_IN:
            paths = [
                self._merged(paths[n : n + MERGE_FAN_IN])
                for n in range(0, len(paths), MERGE_FAN_IN)
            ]
            self.runs[section] = paths
        merged = merge_runs(paths)
        dropped = self.dropped.get(section)
        if dropped is None:
            return merged
        return _without(merged, merge_runs([dropped]))

    def _merged(self, paths: "List[str]") -> str:
        """Runs merged into one (a fleet large enough to make more runs than a merge reads at
        once is merged in rounds, so that a merge holds MERGE_FAN_IN chunks at most)."""
        if len(paths) == 1:
            return paths[0]
        writer = RunWriter(self.folder)
        for record in merge_runs(paths):
            writer.add(record)
        merged = writer.close()
        for path in paths:
            os.unlink(path)
        return merged

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> "Listing":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
