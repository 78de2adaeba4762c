"""Package-manager locks held now, and by whom: dpkg's and apt's lock files and rpm's, whose
holders /proc/locks names (matched through the holders' open files), and yum's and dnf's pid
files, whose process still runs.

/proc/locks is world-readable; a process's open files (/proc/<pid>/fd) are readable by root
only, so without root a holder is not named. Under --root, the tree's captured /proc: its
inode numbers mean nothing on this machine, so holders are matched by the lock file's path
(readlink of /proc/<pid>/fd/<n>), never by inode.
"""

from typing import TYPE_CHECKING, Dict, List, Optional, Set, Tuple

from ..facts.causes import HOST_PACKAGE_LOCKS, LockHolder, PackageLocks
from ..host.protocols import FILES
from ..numbers import parse_count
from ..probing import probe
from ..sanitize import clean

if TYPE_CHECKING:
    from ..host.protocols import FilesPart
    from ..probing import ProbeContext

LOCKS = "/proc/locks"
# /proc/locks is a line (about 50 bytes) per lock held or awaited: thousands fit in 256 KiB.
LOCKS_LIMIT = 256 * 1024
# Lock files held with fcntl(2) or flock(2) (apt-pkg/contrib/fileutl.cc GetLock, dpkg's
# frontend lock, rpm's lib/rpmlock.c), by the tool that takes them.
LOCK_FILES = {
    "/var/lib/dpkg/lock-frontend": "dpkg",
    "/var/lib/dpkg/lock": "dpkg",
    "/var/lib/apt/lists/lock": "apt",
    "/var/cache/apt/archives/lock": "apt",
    "/var/lib/rpm/.rpm.lock": "rpm",
    "/usr/lib/sysimage/rpm/.rpm.lock": "rpm",
}
# Pid files that exist while their tool runs (yum's YumBase.doLock; dnf/lock.py ProcessLock,
# for root: the cache and persist directories themselves).
PID_FILES = {
    "/var/run/yum.pid": "yum",
    "/var/cache/dnf/download_lock.pid": "dnf",
    "/var/cache/dnf/metadata_lock.pid": "dnf",
    "/var/lib/dnf/rpmdb_lock.pid": "dnf",
}
PID_FILE_LIMIT = 64
# Holders whose open files are read: each lock-holding process once. Tens on a busy host.
MAX_HOLDERS = 64
# Open files read per holder: apt and rpm hold a few dozen; a daemon with thousands of
# sockets is not a package manager, and its first files say so.
MAX_FDS = 512
COMM_LIMIT = 64


def parse_locks(text: str) -> "Tuple[List[Tuple[int, str]], int, int]":
    """Holders in /proc/locks (proc_locks(5)) as (pid, kind), the entries, and the waiters:
    ``1: POSIX  ADVISORY  WRITE 1578 fd:00:53013121 0 EOF`` -> (1578, "POSIX"); a waiter
    (``1: -> FLOCK  ADVISORY  WRITE 1580 ...``) holds nothing; an OFD lock's pid is -1."""
    holders: List[Tuple[int, str]] = []
    entries = waiting = 0
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 5 or not fields[0].endswith(":"):
            continue
        entries += 1
        if fields[1] == "->":
            waiting += 1
            continue
        pid = parse_count(fields[4])
        if pid is not None and pid > 0 and (pid, fields[1]) not in holders:
            holders.append((pid, clean(fields[1], 16)))
    return holders, entries, waiting


def _text(files: "FilesPart", path: str, limit: int) -> "Optional[str]":
    try:
        return files.read_bytes(path, limit).decode("utf-8", "replace").strip()
    except OSError:
        return None


def _command(files: "FilesPart", pid: int) -> str:
    return clean(_text(files, f"/proc/{pid}/comm", COMM_LIMIT) or "", COMM_LIMIT)


def _lock_files_open(files: "FilesPart", pid: int) -> "Optional[Set[str]]":
    """The package managers' lock files among the first MAX_FDS open files of ``pid``; None
    when its open files cannot be read (another user's, or not in the tree)."""
    try:
        fds = files.list_dir(f"/proc/{pid}/fd")
    except OSError:
        return None
    found = set()
    for fd in fds[:MAX_FDS]:
        try:
            target = files.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target in LOCK_FILES:
            found.add(target)
    return found


def _pid_file_holders(files: "FilesPart") -> "List[LockHolder]":
    holders = []
    for path, manager in PID_FILES.items():
        text = _text(files, path, PID_FILE_LIMIT)
        pid = parse_count(text.split()[0]) if text else None
        if pid is not None and pid > 0 and files.exists(f"/proc/{pid}"):
            holders.append(LockHolder(path, manager, pid, _command(files, pid), "pid file"))
    return holders


@probe(HOST_PACKAGE_LOCKS, parts=(FILES,))
def package_locks(ctx: "ProbeContext", files: "FilesPart") -> PackageLocks:
    """A package manager busy elsewhere makes GuardDuty's install fail ("dpkg frontend is
    locked by another process") or wait (docs/causes.md)."""
    holders = _pid_file_holders(files)
    text = _text(files, LOCKS, LOCKS_LIMIT)
    if text is None:
        return PackageLocks(tuple(holders), False)
    table, entries, waiting = parse_locks(text)
    kinds: Dict[int, str] = {}
    for pid, kind in table:
        kinds.setdefault(pid, kind)
    unread = 0
    for pid in list(kinds)[:MAX_HOLDERS]:
        found = _lock_files_open(files, pid)
        unread += found is None
        for lock in sorted(found or ()):
            how = f"{kinds[pid]} lock"
            holders.append(LockHolder(lock, LOCK_FILES[lock], pid, _command(files, pid), how))
    return PackageLocks(tuple(holders), True, entries, waiting, unread)
