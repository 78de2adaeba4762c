"""The processes part of the host: which processes run, with their memory, start time,
memlock limit and proxy variables.

psutil on a live host; a part made for a tree (``tree=True``, under ``--root``) reads the tree's
own ``proc/<pid>/`` files if one was captured, and says Unsupported if none was. Where psutil
cannot be imported (the one-file build carries no compiled code, and Python cannot load
psutil's extension from inside a zip) the live ``/proc`` is read the same way, which is what
psutil itself reads on Linux. ``/proc/<pid>/environ`` is readable only by the process owner or
root. The /proc parsers here back this reader and nothing else. Its answer, ``ProcessInfo``,
is in ``answers.py``, where the facts that carry it may import it.
"""

import contextlib
import os
import time
from typing import Dict, List, Optional, Sequence, Tuple

from ..answers import ProcessInfo
from ..numbers import ascii_digits, parse_count, parse_limit_value
from ..redact import PROXY_VARIABLES, mask_proxy_credentials
from .budget import Budget
from .errors import Unsupported
from .protocols import FilesPart

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


# -- the /proc parsers behind the reader -----------------------------------------------------
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


def parse_proxy_environ(data: bytes) -> "Dict[str, str]":
    """Proxy variables from NUL-separated /proc/<pid>/environ, credentials masked (before the
    value is cut, so no part of a long password survives):
    ``PATH=/usr/bin\\0HTTPS_PROXY=http://10.0.0.5:3128\\0`` -> {"HTTPS_PROXY": "http://10.0.0.5:3128"}."""
    found: Dict[str, str] = {}
    for item in data.split(b"\0"):
        key, sep, value = item.decode("utf-8", "replace").partition("=")
        if sep and key in PROXY_VARIABLES:
            masked = mask_proxy_credentials(value)
            found[key] = "".join(ch for ch in masked if ch.isprintable())[:300]
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


class ProcessTable:
    """Processes by name, for the agent and SSM probes, with the files part reading /proc."""

    def __init__(self, files: "FilesPart", budget: Budget, tree: bool = False) -> None:
        self._files = files
        self._budget = budget
        self._tree = tree

    def find_processes(
        self, names: "Sequence[str]", pids: "Sequence[int]" = ()
    ) -> "Tuple[ProcessInfo, ...]":
        """Processes whose name (comm, or the first word of their command line) starts with one
        of ``names``, plus ``pids``; oldest first, at most MAX_PROCESSES."""
        if self._tree:
            if not self._has_proc_tree():
                raise Unsupported("the tree has no captured /proc: which processes ran is unknown")
            found = self._scan_proc_tree(names, pids)
        else:
            found = self._scan_psutil(names, pids)
        found.sort(key=lambda p: (p.create_time or 0.0, p.pid))
        return tuple(found[:MAX_PROCESSES])

    def _has_proc_tree(self) -> bool:
        try:
            return any(ascii_digits(n) for n in self._files.list_dir("/proc"))
        except OSError:
            return False

    def _scan_psutil(self, names: "Sequence[str]", pids: "Sequence[int]") -> "List[ProcessInfo]":
        try:
            import psutil
        except ImportError:  # the one-file build: read the live /proc as a tree's is read
            return self._scan_proc_tree(names, pids)
        found: List[ProcessInfo] = []
        stop = time.monotonic() + min(PROCESS_SCAN_S, self._budget.budget(PROCESS_SCAN_S))
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
        stop = time.monotonic() + min(PROCESS_SCAN_S, self._budget.budget(PROCESS_SCAN_S))
        boot = parse_boot_time(_read_optional(self._files, "/proc/stat", PROC_STAT_LIMIT))
        for entry in self._files.list_dir("/proc"):
            if time.monotonic() > stop or len(found) >= MAX_PROCESSES:
                break
            pid = parse_count(entry)
            if pid is None:
                continue
            try:
                name = (
                    self._files.read_bytes(f"/proc/{pid}/comm", PROC_SMALL_LIMIT)
                    .decode("utf-8", "replace")
                    .strip()
                )
            except OSError:
                continue
            cmdline = tuple(
                _read_optional(self._files, f"/proc/{pid}/cmdline", PROC_SMALL_LIMIT)
                .decode("utf-8", "replace")
                .split("\0")[:-1]
            )
            if pid not in pids and not _name_matches(name, cmdline, names):
                continue
            rss = parse_status_rss(
                _read_optional(self._files, f"/proc/{pid}/status", PROC_SMALL_LIMIT)
            )
            started = parse_stat_start(
                _read_optional(self._files, f"/proc/{pid}/stat", PROC_SMALL_LIMIT)
            )
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
        memlock = parse_memlock(
            _read_optional(self._files, f"/proc/{pid}/limits", PROC_LIMITS_LIMIT)
        )
        try:
            environ = self._files.read_bytes(f"/proc/{pid}/environ", PROC_ENVIRON_LIMIT)
            proxies, readable = parse_proxy_environ(environ), True
        except OSError:
            proxies, readable = {}, False
        shown = tuple("".join(ch for ch in arg if ch.isprintable())[:200] for arg in cmdline[:8])
        return ProcessInfo(pid, name, shown, rss, create_time, memlock, proxies, readable)


def _name_matches(name: str, cmdline: "Sequence[str]", names: "Sequence[str]") -> bool:
    first = os.path.basename(cmdline[0]) if cmdline else ""
    return any(name.startswith(n) or first.startswith(n) for n in names)


def _read_optional(files: "FilesPart", path: str, limit: int) -> bytes:
    try:
        return files.read_bytes(path, limit)
    except OSError:
        return b""
