"""System part of the live host seam: the systemd journal and running processes.

Mixed into ``LiveHost``; every call is bounded in entries, bytes and time.

Journal: read with systemd-python's ``systemd.journal.Reader`` when the module is importable,
otherwise with ``journalctl -o json``; the answer says which backend read it. Under ``--root``
both read the tree's journal files, resolved inside it (the Reader by file, journalctl with
``-D`` when nothing in the directory is a link, else with ``--file`` for each); as
``run()`` never runs a command against a foreign root, the journalctl fallback goes
through this module's own bounded runner, which runs nothing but journalctl on files.
Each journal file is opened on its own first, so a corrupt or unreadable one is named instead
of silently skipped. Reading the system journal needs root (or the systemd-journal/adm group).

Processes: psutil on a live host; under ``--root`` the tree's own ``proc/<pid>/`` files if one was
captured. Where psutil cannot be imported (the one-file build carries no compiled code, and
Python cannot load psutil's extension from inside a zip) the live ``/proc`` is read the same
way, which is what psutil itself reads on Linux. ``/proc/<pid>/environ`` is readable only by
the process owner or root.
"""

import contextlib
import json
import os
import stat
import time
from typing import (
    TYPE_CHECKING,
    Any,
    Dict,
    Iterable,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
)

from . import lazy_re
from .values import field, value

if TYPE_CHECKING:
    from .host import CommandResult

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
# Several probes find processes by name; more matches than this means the name is not specific.
MAX_PROCESSES = 16
# /proc/<pid>/limits is about 1.5 KiB; environ of a daemon a few KiB (ARG_MAX bounds it at 2 MiB,
# but the proxy variables of a service come from its unit, near the start).
PROC_LIMITS_LIMIT = 8 * 1024
PROC_ENVIRON_LIMIT = 256 * 1024
PROC_SMALL_LIMIT = 4 * 1024
# Process scans stop here whatever the deadline says: a process table is read in milliseconds.
PROCESS_SCAN_S = 2.0
# /proc/stat grows with the CPU count (a line per CPU); 64 KiB covers several hundred CPUs and
# btime sits after them.
PROC_STAT_LIMIT = 64 * 1024
# Clock ticks per second for /proc/<pid>/stat's starttime: sysconf's answer on this kernel, or
# the USER_HZ of every Linux architecture GuardDuty supports.
CLOCK_TICKS = float(os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100)
# Unreadable journal files are named one by one up to this many, then counted by reason.
MAX_PROBLEM_LINES = 5
# `journalctl -o json` prints every field of an entry, about four times what is kept from it;
# its output may use this multiple of the caller's byte bound before it is cut.
JOURNALCTL_JSON_OVERHEAD = 4

# A size at or past 2^63 bytes (8 EiB) is no real limit: the kernel's and systemd's "infinity"
# is 2^64-1 and is said as such, and anything else that large is a typo or hostile input. Such
# a value is kept as this one number and never converted from its digits: int() of thousands of
# digits is refused past 4300 on newer Pythons, and a huge int overflows float division.
SIZE_ABSURD = 2**63
# 2^63 has 19 digits; a count (pid, restarts, clock ticks) longer than that is not one.
MAX_DIGITS = 19

# What journalctl (v219 to v256) prints when the caller may not read the system journal: with
# no file readable it exits 1 ("No journal files were opened due to insufficient
# permissions."); with only the user's own files it exits 0 after a hint ("You are currently
# not seeing messages from other users and the system.").
_JOURNAL_DENIED_RE = lazy_re.compile(
    r"insufficient permissions|not seeing messages from other users|Permission denied"
)
JOURNALCTL_DENIED = "permission denied (run as root)"

PROXY_VARIABLES = ("https_proxy", "http_proxy", "no_proxy", "all_proxy")
_CREDENTIALS_RE = lazy_re.compile(r"(://)[^/@\s]*@")


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


@value
class ProcessInfo:
    pid: int
    name: str
    cmdline: "Tuple[str, ...]"
    rss_bytes: "Optional[int]"
    create_time: "Optional[float]"
    memlock: (
        "Optional[Tuple[Optional[int], Optional[int]]]"  # (soft, hard); None inside = unlimited
    )
    proxy_env: "Mapping[str, str]" = field(default_factory=dict)
    environ_readable: bool = False


# -- pure parsers -------------------------------------------------------------------------------
def ascii_digits(text: str) -> bool:
    """Whether ``text`` is one or more ASCII digits. ``str.isdigit()`` also takes ``"²"`` (which
    int() then refuses) and ``"٣"`` (which int() reads as 3): neither is a number a host writes."""
    return bool(text) and all("0" <= c <= "9" for c in text)


def parse_count(text: str) -> "Optional[int]":
    """``"42"`` -> 42; not ASCII digits, or longer than MAX_DIGITS -> None."""
    text = text.strip()
    if not ascii_digits(text) or len(text) > MAX_DIGITS:
        return None
    return int(text)


def parse_bytes(text: str) -> "Optional[int]":
    """``"65536"`` -> 65536; 2^63 or more (however many digits) -> SIZE_ABSURD; not ASCII
    digits -> None."""
    text = text.strip()
    if not ascii_digits(text):
        return None
    significant = text.lstrip("0") or "0"
    if len(significant) > MAX_DIGITS:
        return SIZE_ABSURD
    return min(int(significant), SIZE_ABSURD)


def parse_limit_value(text: str) -> "Optional[int]":
    """``65536`` -> 65536; ``unlimited`` -> None; a 4000-digit number -> SIZE_ABSURD."""
    if text == "unlimited":
        return None
    value = parse_bytes(text)
    if value is None:
        raise ValueError(f"not a limit: {text[:20]!r}")
    return value


def parse_memlock(data: bytes) -> "Optional[Tuple[Optional[int], Optional[int]]]":
    """The "Max locked memory" row of /proc/<pid>/limits:
    ``Max locked memory         65536                65536                bytes`` -> (65536, 65536).
    None when the row is missing or malformed."""
    for line in data.decode("ascii", "replace").splitlines():
        if line.startswith("Max locked memory"):
            parts = line[len("Max locked memory") :].split()
            try:
                return parse_limit_value(parts[0]), parse_limit_value(parts[1])
            except (IndexError, ValueError):
                return None
    return None


def redact_proxy(value: str) -> str:
    """``http://user:secret@proxy:3128`` -> ``http://***@proxy:3128``."""
    return _CREDENTIALS_RE.sub(r"\1***@", value)


def parse_proxy_environ(data: bytes) -> "Dict[str, str]":
    """Proxy variables (any case) from NUL-separated /proc/<pid>/environ, credentials redacted:
    ``PATH=/usr/bin\\0HTTPS_PROXY=http://10.0.0.5:3128\\0`` -> {"HTTPS_PROXY": "http://10.0.0.5:3128"}."""
    found: Dict[str, str] = {}
    for item in data.split(b"\0"):
        key, sep, value = item.decode("utf-8", "replace").partition("=")
        if sep and key.lower() in PROXY_VARIABLES:
            found[key] = redact_proxy("".join(ch for ch in value if ch.isprintable())[:300])
    return found


def parse_boot_time(data: bytes) -> "Optional[int]":
    """``btime 1764556800`` in /proc/stat: the boot time in seconds since the epoch."""
    for line in data.decode("ascii", "replace").splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "btime":
            return parse_count(parts[1])
    return None


def parse_stat_start(data: bytes) -> "Optional[int]":
    """Field 22 (starttime, clock ticks after boot) of /proc/<pid>/stat:
    ``2540 (amazon-guardduty) S 1 2540 2540 0 -1 4194560 ... 20 0 12 0 4321 ...``. The name in
    parentheses may hold spaces and parentheses, so fields are counted after the last ')'."""
    text = data.decode("ascii", "replace")
    fields = text[text.rfind(")") + 1 :].split()
    # Fields after the name start at field 3 (state): starttime is the 20th of them.
    return parse_count(fields[19]) if len(fields) >= 20 else None


def parse_status_rss(data: bytes) -> "Optional[int]":
    """``VmRSS:\\t   21504 kB`` in /proc/<pid>/status -> 22020096 bytes."""
    for line in data.decode("ascii", "replace").splitlines():
        if line.startswith("VmRSS:"):
            parts = line.split()
            kib = parse_count(parts[1]) if len(parts) >= 2 else None
            if kib is not None:
                return kib * 1024
    return None


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


# -- the mixin ------------------------------------------------------------------------------------
class SystemHostMixin:
    """Journal entries and process facts for the agent and SSM probes."""

    if TYPE_CHECKING:
        root: "Optional[str]"

        def path(self, path: str) -> str: ...
        def budget(self, timeout: float) -> float: ...
        def read_bytes(self, path: str, limit: int, tail: bool = False) -> bytes: ...
        def list_dir(self, path: str) -> "List[str]": ...
        def is_dir(self, path: str) -> bool: ...
        def run(
            self, argv: "Sequence[str]", timeout: float, limit: int = ...
        ) -> "CommandResult": ...

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
        from .host import CouldNotLook, Unsupported

        deadline = time.monotonic() + self.budget(timeout)
        since_us = int(since_s * 1_000_000) if since_s is not None else None
        tried = []
        for backend in self.journal_backends:
            if backend == "systemd-python":
                try:
                    from systemd import journal  # type: ignore[import-untyped]  # noqa: F401
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
            if not self.is_dir(top):
                continue
            for sub in [top] + [f"{top}/{n}" for n in self._listing(top)]:
                if not self.is_dir(sub):
                    continue
                for name in self._listing(sub):
                    if not (name.endswith(".journal") or name.endswith(".journal~")):
                        continue
                    found += 1
                    try:
                        full = self.path(f"{sub}/{name}")
                        info = os.lstat(full) if self.root else os.stat(full)
                    except OSError:
                        continue
                    if self.root and not stat.S_ISREG(info.st_mode):
                        skipped.append((_short_path(full), "not a regular file in the tree"))
                        continue
                    if self.root and any(c in full for c in GLOB_CHARS):
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
            return self.list_dir(path)
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

        from .host import CouldNotLook

        candidates, problems, found = self._journal_files(since_us)
        if not found:
            if self.root:
                raise CouldNotLook(
                    f"no journal files under {self.path(JOURNAL_DIRS[0])}: the "
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
        source = "the live journal" if not self.root else self.path(JOURNAL_DIRS[0])
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
        from .host import CouldNotLook

        argv = ["journalctl", "-o", "json", "-a", "--no-pager", "-r", "-n", str(max_entries)]
        if since_s is not None:
            argv += ["--since", f"@{int(since_s)}"]
        if self.root:
            directory = self.path(JOURNAL_DIRS[0])
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
        if self.root:
            result = _run_bounded(argv, timeout, max_bytes * JOURNALCTL_JSON_OVERHEAD)
        else:
            result = self.run(argv, timeout, max_bytes * JOURNALCTL_JSON_OVERHEAD)
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

    # -- processes ------------------------------------------------------------------------------
    def find_processes(
        self, names: "Sequence[str]", pids: "Sequence[int]" = ()
    ) -> "Tuple[ProcessInfo, ...]":
        """Processes whose name (comm, or the first word of their command line) starts with one
        of ``names``, plus ``pids``; oldest first, at most MAX_PROCESSES."""
        from .host import Unsupported

        if self.root:
            if not self._has_proc_tree():
                raise Unsupported("the tree has no captured /proc: which processes ran is unknown")
            found = self._scan_proc_tree(names, pids)
        else:
            found = self._scan_psutil(names, pids)
        found.sort(key=lambda p: (p.create_time or 0.0, p.pid))
        return tuple(found[:MAX_PROCESSES])

    def _has_proc_tree(self) -> bool:
        try:
            return any(ascii_digits(n) for n in self.list_dir("/proc"))
        except OSError:
            return False

    def _scan_psutil(self, names: "Sequence[str]", pids: "Sequence[int]") -> "List[ProcessInfo]":
        try:
            import psutil
        except ImportError:  # the one-file build: read the live /proc as a tree's is read
            return self._scan_proc_tree(names, pids)
        found: List[ProcessInfo] = []
        stop = time.monotonic() + min(PROCESS_SCAN_S, self.budget(PROCESS_SCAN_S))
        # Name and command line for every process; the rest only for the few that match.
        for proc in psutil.process_iter(["name", "cmdline"]):
            if time.monotonic() > stop or len(found) >= MAX_PROCESSES:
                break
            info = proc.info
            cmdline = tuple(info.get("cmdline") or ())
            name = info.get("name") or ""
            if proc.pid not in pids and not _name_matches(name, cmdline, names):
                continue
            rss: Optional[int] = None
            started: Optional[float] = None
            # A process that ended or is not ours keeps its name, without time or memory.
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied), proc.oneshot():
                started = proc.create_time()
                rss = proc.memory_info().rss
            found.append(self._process_info(proc.pid, name, cmdline, rss, started))
        return found

    def _scan_proc_tree(self, names: "Sequence[str]", pids: "Sequence[int]") -> "List[ProcessInfo]":
        found: List[ProcessInfo] = []
        stop = time.monotonic() + min(PROCESS_SCAN_S, self.budget(PROCESS_SCAN_S))
        boot = parse_boot_time(_read_optional(self, "/proc/stat", PROC_STAT_LIMIT))
        for entry in self.list_dir("/proc"):
            if time.monotonic() > stop or len(found) >= MAX_PROCESSES:
                break
            pid = parse_count(entry)
            if pid is None:
                continue
            try:
                name = (
                    self.read_bytes(f"/proc/{pid}/comm", PROC_SMALL_LIMIT)
                    .decode("utf-8", "replace")
                    .strip()
                )
            except OSError:
                continue
            cmdline = tuple(
                _read_optional(self, f"/proc/{pid}/cmdline", PROC_SMALL_LIMIT)
                .decode("utf-8", "replace")
                .split("\0")[:-1]
            )
            if pid not in pids and not _name_matches(name, cmdline, names):
                continue
            rss = parse_status_rss(_read_optional(self, f"/proc/{pid}/status", PROC_SMALL_LIMIT))
            started = parse_stat_start(_read_optional(self, f"/proc/{pid}/stat", PROC_SMALL_LIMIT))
            created = None if boot is None or started is None else boot + started / CLOCK_TICKS
            found.append(self._process_info(pid, name, cmdline, rss, created))
        return found

    def _process_info(
        self,
        pid: int,
        name: str,
        cmdline: "Tuple[str, ...]",
        rss: "Optional[int]",
        create_time: "Optional[float]",
    ) -> ProcessInfo:
        memlock = parse_memlock(_read_optional(self, f"/proc/{pid}/limits", PROC_LIMITS_LIMIT))
        try:
            environ = self.read_bytes(f"/proc/{pid}/environ", PROC_ENVIRON_LIMIT)
            proxies, readable = parse_proxy_environ(environ), True
        except OSError:
            proxies, readable = {}, False
        shown = tuple("".join(ch for ch in arg if ch.isprintable())[:200] for arg in cmdline[:8])
        return ProcessInfo(pid, name, shown, rss, create_time, memlock, proxies, readable)


def _name_matches(name: str, cmdline: "Sequence[str]", names: "Sequence[str]") -> bool:
    first = os.path.basename(cmdline[0]) if cmdline else ""
    return any(name.startswith(n) or first.startswith(n) for n in names)


def _read_optional(host: SystemHostMixin, path: str, limit: int) -> bytes:
    try:
        return host.read_bytes(path, limit)
    except OSError:
        return b""


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


def _run_bounded(argv: "Sequence[str]", timeout: float, limit: int) -> "CommandResult":
    """Run journalctl on a tree's journal files: the only command ever run under --root."""
    from .host import run_bounded

    return run_bounded(argv, timeout, limit)
