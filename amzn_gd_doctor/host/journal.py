"""The journal part of the host: the systemd journal, bounded in entries, bytes and time.

Read with systemd-python's ``systemd.journal.Reader`` when the module is importable, otherwise
with ``journalctl -o json``; the answer says which backend read it. A part made for a tree
(``tree=True``, under ``--root``) reads the tree's journal files, resolved inside it by the files
part (the Reader by file, journalctl with ``-D`` when nothing in the directory is a link, else
with ``--file`` for each); a host that runs no command against a foreign root hands this part
a runner that runs nothing but journalctl on those files.
Each journal file is opened on its own first, so a corrupt or unreadable one is named instead
of silently skipped. Reading the system journal needs root (or the systemd-journal/adm group).
"""

import json
import os
import stat
import time
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from .. import lazy_re
from ..numbers import parse_count
from ..values import value
from .budget import Budget
from .commands import CommandResult
from .errors import CouldNotLook, Unsupported
from .protocols import FilesPart

# Runs one command: (argv, timeout, limit) -> its result.
Runner = Callable[[Sequence[str], float, int], CommandResult]

JOURNAL_DIRS = ("/var/log/journal", "/run/log/journal")
# journalctl takes --file as a glob; a tree's file whose name holds one of these could match a
# neighbour that was never checked, so such a file is not handed over (journald never makes one).
GLOB_CHARS = "*?[\\"
# Fields kept from each entry; everything a probe summarises or shows as evidence.
JOURNAL_FIELDS = (
    "MESSAGE",
    "PRIORITY",
    "_PID",
    "_COMM",
    "_SYSTEMD_UNIT",
    "UNIT",
    "_TRANSPORT",
    "SYSLOG_IDENTIFIER",
    "MESSAGE_ID",
    "_BOOT_ID",
    "EXIT_CODE",
    "EXIT_STATUS",
    "N_RESTARTS",
    "JOB_RESULT",
)
# One field is cut here: journald's own LineMax is 48 KiB, evidence needs a few hundred bytes,
# and a message that names a cause does so in its first kilobytes.
JOURNAL_FIELD_LIMIT = 4096
# Journal files are rotated at 128 MiB at most; 512 files is a multi-GB journal, far beyond
# SystemMaxUse defaults, so this only stops a pathological directory.
MAX_JOURNAL_FILES = 512
# Unreadable journal files are named one by one up to this many, then counted by reason.
MAX_PROBLEM_LINES = 5
# `journalctl -o json` prints every field of an entry, about four times what is kept from it;
# its output may use this multiple of the caller's byte bound before it is cut.
JOURNALCTL_JSON_OVERHEAD = 4

# What journalctl (v219 to v256) prints when the caller may not read the system journal: with
# no file readable it exits 1 ("No journal files were opened due to insufficient
# permissions."); with only the user's own files it exits 0 after a hint ("You are currently
# not seeing messages from other users and the system.").
_JOURNAL_DENIED_RE = lazy_re.compile(
    r"insufficient permissions|not seeing messages from other users|Permission denied"
)
JOURNALCTL_DENIED = "permission denied (run as root)"


@value
class JournalEntry:
    realtime_us: int
    fields: "Mapping[str, str]"

    def get(self, name: str, default: str = "") -> str:
        return self.fields.get(name, default)


@value
class JournalRead:
    """Entries matching a query, oldest first, and how they were read."""

    entries: "Tuple[JournalEntry, ...]"
    backend: str  # "systemd-python" or "journalctl"
    source: str  # "the live journal" or the directory read
    truncated: bool = False  # stopped at the entry, byte or time bound
    problems: "Tuple[str, ...]" = ()  # files that could not be read, and why
    files: int = 0  # journal files read (0 when journalctl chose them)


# -- the journal's own parsers ------------------------------------------------------------------
def parse_journal_json_line(
    line: bytes, limit: int = JOURNAL_FIELD_LIMIT
) -> "Optional[JournalEntry]":
    """One line of ``journalctl -o json``: ``{"__REALTIME_TIMESTAMP": "1714564800000000",
    "MESSAGE": "started", ...}``. Binary fields come as arrays of byte values, repeated fields
    as arrays of those; both are decoded. None for a line that is not an entry."""
    try:
        data = json.loads(line)
        realtime = parse_count(data["__REALTIME_TIMESTAMP"])
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    if realtime is None or not isinstance(data, dict):
        return None
    fields = {}
    for name in JOURNAL_FIELDS:
        value = _json_field(data.get(name))
        if value is not None:
            fields[name] = value[:limit]
    return JournalEntry(realtime, fields)


def _json_field(value: Any) -> "Optional[str]":
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value:
        if all(isinstance(b, int) and 0 <= b < 256 for b in value):
            return bytes(value).decode("utf-8", "replace")
        return _json_field(value[-1])  # a field repeated in one entry: keep the last value
    return None


def _reader_field(value: Any, limit: int) -> str:
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return text[:limit]


# -- the part ------------------------------------------------------------------------------------
class JournalReader:
    """Journal entries for the agent and SSM probes, read through the host's files part."""

    def __init__(self, files: "FilesPart", budget: Budget, run: Runner, tree: bool = False) -> None:
        self._files = files
        self._budget = budget
        self._run = run
        self._tree = tree

    # Which journal readers may be used, in order. Tests set this on an instance to force the
    # journalctl fallback; nothing else changes it.
    journal_backends: "Tuple[str, ...]" = ("systemd-python", "journalctl")

    # -- journal --------------------------------------------------------------------------------
    def journal_entries(
        self,
        matches: "Sequence[Sequence[str]]",
        since_s: "Optional[float]",
        max_entries: int,
        max_bytes: int,
        timeout: float,
    ) -> JournalRead:
        """The newest entries (at most ``max_entries``, ``max_bytes`` of kept fields, within
        ``timeout``) matching any one group of ``matches`` (each group: ``FIELD=value`` terms
        that must all hold), realtime at or after ``since_s`` if given; returned oldest first."""
        deadline = time.monotonic() + self._budget.budget(timeout)
        since_us = int(since_s * 1_000_000) if since_s is not None else None
        tried = []
        for backend in self.journal_backends:
            if backend == "systemd-python":
                try:
                    from systemd import journal  # noqa: F401
                except ImportError:
                    tried.append("systemd-python is not installed")
                    continue
                return self._journal_by_reader(matches, since_us, max_entries, max_bytes, deadline)
            if backend == "journalctl":
                return self._journal_by_journalctl(
                    matches, since_s, max_entries, max_bytes, deadline
                )
            raise ValueError(f"unknown journal backend {backend!r}")
        raise (
            Unsupported("no journal reader: " + "; ".join(tried))
            if tried
            else CouldNotLook("no journal reader configured")
        )

    def _journal_files(self, since_us: "Optional[int]") -> "Tuple[List[str], List[str], int]":
        """(files worth opening, problems, journal files found). A file last written before
        the window starts holds nothing in it and is left closed. The files are named as the
        journal readers must open them: under --root resolved inside the tree, and only
        regular files, so no link or device node of the tree leads a reader out of it."""
        files: List[Tuple[float, str]] = []
        skipped: List[Tuple[str, str]] = []
        found = 0
        for top in JOURNAL_DIRS:
            if not self._files.is_dir(top):
                continue
            for sub in [top] + [f"{top}/{n}" for n in self._listing(top)]:
                if not self._files.is_dir(sub):
                    continue
                for name in self._listing(sub):
                    if not (name.endswith(".journal") or name.endswith(".journal~")):
                        continue
                    found += 1
                    try:
                        full = self._files.path(f"{sub}/{name}")
                        info = os.lstat(full) if self._tree else os.stat(full)
                    except OSError:
                        continue
                    if self._tree and not stat.S_ISREG(info.st_mode):
                        skipped.append((_short_path(full), "not a regular file in the tree"))
                        continue
                    if self._tree and any(c in full for c in GLOB_CHARS):
                        skipped.append((_short_path(full), "a path journalctl reads as a glob"))
                        continue
                    if since_us is None or info.st_mtime * 1_000_000 >= since_us:
                        files.append((info.st_mtime, full))
        files.sort(reverse=True)
        problems = _group_problems(skipped)
        if len(files) > MAX_JOURNAL_FILES:
            problems.append(
                f"{len(files)} journal files: only the newest {MAX_JOURNAL_FILES} were read"
            )
        return [f for _, f in files[:MAX_JOURNAL_FILES]], problems, found

    def _listing(self, path: str) -> "List[str]":
        try:
            return self._files.list_dir(path)
        except OSError:
            return []

    def _journal_by_reader(
        self,
        matches: "Sequence[Sequence[str]]",
        since_us: "Optional[int]",
        max_entries: int,
        max_bytes: int,
        deadline: float,
    ) -> JournalRead:
        from systemd import journal

        candidates, problems, found = self._journal_files(since_us)
        if not found:
            if self._tree:
                raise CouldNotLook(
                    f"no journal files under {self._files.path(JOURNAL_DIRS[0])}: the "
                    "tree has no persistent journal"
                )
            raise CouldNotLook(
                f"no journal files under {' or '.join(JOURNAL_DIRS)}: journald "
                "keeps no journal here"
            )
        good = []
        bad: List[Tuple[str, str]] = []
        for path in candidates:
            try:
                journal.Reader(files=[path]).close()
                good.append(path)
            except OSError as exc:
                bad.append((_short_path(path), _journal_error(exc)))
        problems += _group_problems(bad)
        source = "the live journal" if not self._tree else self._files.path(JOURNAL_DIRS[0])
        if not good:
            return JournalRead((), "systemd-python", source, False, tuple(problems), 0)
        reader = journal.Reader(files=good)
        try:
            reader.data_threshold = JOURNAL_FIELD_LIMIT
            for i, group in enumerate(matches):
                if i:
                    reader.add_disjunction()
                reader.add_match(*group)
            entries, truncated = _walk_backwards(reader, since_us, max_entries, max_bytes, deadline)
        finally:
            reader.close()
        entries.reverse()
        return JournalRead(
            tuple(entries), "systemd-python", source, truncated, tuple(problems), len(good)
        )

    def _journal_by_journalctl(
        self,
        matches: "Sequence[Sequence[str]]",
        since_s: "Optional[float]",
        max_entries: int,
        max_bytes: int,
        deadline: float,
    ) -> JournalRead:
        argv = ["journalctl", "-o", "json", "-a", "--no-pager", "-r", "-n", str(max_entries)]
        if since_s is not None:
            argv += ["--since", f"@{int(since_s)}"]
        if self._tree:
            directory = self._files.path(JOURNAL_DIRS[0])
            files, skipped, found = self._journal_files(None)
            if not found:
                raise CouldNotLook(
                    f"no journal files under {directory}: the tree has no persistent journal"
                )
            if _holds_no_link(directory):
                argv += ["-D", directory]
            elif files:
                # journalctl would follow the directory's links itself, so it gets the files
                # one by one as resolved inside the tree. Unlike -D, it then stops at the
                # first unreadable file instead of skipping it: used only when -D is unsafe.
                for path in files:
                    argv += ["--file", path]
            else:  # with neither -D nor --file journalctl would read the live journal
                return JournalRead((), "journalctl", directory, False, tuple(skipped), 0)
            source = directory
        else:
            source = "the live journal"
        for i, group in enumerate(matches):
            argv += (["+"] if i else []) + list(group)
        timeout = max(0.05, deadline - time.monotonic())
        result = self._run(argv, timeout, max_bytes * JOURNALCTL_JSON_OVERHEAD)
        if result.not_found:
            raise CouldNotLook(
                "neither systemd-python nor journalctl is available to read the journal"
            )
        stderr = result.stderr.decode("utf-8", "replace")
        if "No journal files were found" in stderr:
            raise CouldNotLook(f"no journal files in {source}: journald keeps no journal here")
        problems = tuple(_journalctl_problems(stderr))
        if result.returncode != 0 and not result.stdout and _JOURNAL_DENIED_RE.search(stderr):
            raise CouldNotLook(
                f"{JOURNALCTL_DENIED}: journalctl: " + " ".join(stderr.split())[:200]
            )
        if result.returncode != 0 and not result.stdout:
            raise CouldNotLook(
                f"journalctl failed (exit {result.returncode}): "
                + (" ".join(stderr.split())[:200] or "no message")
            )
        entries = []
        lines = result.stdout.split(b"\n")
        if result.truncated and lines:
            lines = lines[:-1]  # the last line was cut at the byte bound
        for line in lines:
            entry = parse_journal_json_line(line)
            if entry is not None:
                entries.append(entry)
        entries.reverse()
        truncated = result.truncated or len(entries) >= max_entries
        return JournalRead(tuple(entries), "journalctl", source, truncated, problems, 0)


def _holds_no_link(directory: str) -> bool:
    """Whether a journal directory (already resolved inside the tree) and its subdirectories
    hold only directories and regular journal files: then journalctl's own walk of it, which
    follows links, cannot leave the tree."""
    try:
        if not stat.S_ISDIR(os.lstat(directory).st_mode):
            return False
        for name in os.listdir(directory):
            mode = os.lstat(os.path.join(directory, name)).st_mode
            if stat.S_ISDIR(mode):
                for inner in os.listdir(os.path.join(directory, name)):
                    if not _plain_entry(os.path.join(directory, name, inner)):
                        return False
            elif not _plain_entry(os.path.join(directory, name)):
                return False
    except OSError:
        return False
    return True


def _plain_entry(path: str) -> bool:
    mode = os.lstat(path).st_mode
    return stat.S_ISREG(mode) or stat.S_ISDIR(mode)


def _short_path(path: str) -> str:
    return os.path.join(os.path.basename(os.path.dirname(path)), os.path.basename(path))


def _journal_error(exc: OSError) -> str:
    import errno

    if exc.errno == errno.EBADMSG:
        return "corrupted (not a readable journal file)"
    if exc.errno == errno.ENODATA:
        return "truncated"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied (run as root, or in the systemd-journal group)"
    if exc.errno == errno.EPROTONOSUPPORT:
        return "written by a newer systemd with features this reader lacks"
    return exc.strerror or str(exc)


def _group_problems(bad: "Sequence[Tuple[str, str]]") -> "List[str]":
    """One line per file while few, one line per reason when many (non-root sees dozens)."""
    if len(bad) <= MAX_PROBLEM_LINES:
        return [f"{name}: {reason}" for name, reason in bad]
    counts: Dict[str, int] = {}
    for _, reason in bad:
        counts[reason] = counts.get(reason, 0) + 1
    return [f"{n} journal files: {reason}" for reason, n in counts.items()]


def _journalctl_problems(stderr: str) -> "Iterable[str]":
    for line in stderr.splitlines():
        text = " ".join(line.split())
        if "ignoring file" in text or "corrupt" in text.lower() or "truncated" in text:
            yield text[:200]
        elif _JOURNAL_DENIED_RE.search(text):  # some files read, the system's not among them
            yield f"{JOURNALCTL_DENIED}: {text[:200]}"


def _walk_backwards(
    reader: Any, since_us: "Optional[int]", max_entries: int, max_bytes: int, deadline: float
) -> "Tuple[List[JournalEntry], bool]":
    """Newest first from the tail. Uses the Reader's per-field getters: converting every field
    of every entry (``get_previous``) costs several times more for nothing kept."""
    reader.seek_tail()
    entries: List[JournalEntry] = []
    size = 0
    while True:
        if len(entries) >= max_entries or size >= max_bytes or time.monotonic() > deadline:
            return entries, True
        if not reader._previous():
            return entries, False
        realtime = reader._get_realtime()
        if since_us is not None and realtime < since_us:
            return entries, False
        fields = {}
        for name in JOURNAL_FIELDS:
            try:
                raw = reader._get(name)
            except (KeyError, OSError):
                continue
            fields[name] = _reader_field(raw, JOURNAL_FIELD_LIMIT)
            size += len(fields[name])
        entries.append(JournalEntry(realtime, fields))
