"""inotify limits and what root's processes hold of them: fs.inotify.max_user_watches and
max_user_instances (per real user id, shared by every root daemon: proc_sys_fs_inotify(5)),
and the watches and instances counted from each root process's inotify descriptors (one
``inotify wd:`` line per watch in /proc/<pid>/fdinfo/<fd>: proc_pid_fdinfo(5)).

The SSM agent's document worker watches its channel directory with inotify: with no watch or
instance left it cannot start, and the document fails (docs/causes.md). Other processes' open
files are readable by root only: without root the counts are floors. Under --root, the tree's
captured /proc.
"""

import time
from typing import TYPE_CHECKING, List, Optional, Tuple

from ..facts.causes import HOST_INOTIFY, InotifyHolder, InotifyUse
from ..host.protocols import FILES
from ..numbers import ascii_digits, parse_count
from ..probing import probe
from ..sanitize import clean

if TYPE_CHECKING:
    from ..host.protocols import FilesPart
    from ..probing import ProbeContext

LIMITS = "/proc/sys/fs/inotify"
INOTIFY_LINK = "anon_inode:inotify"
# A host runs hundreds of processes, a busy one a few thousand; past this the counts are floors.
MAX_PROCESSES = 4096
# Open files looked at per process: inotify descriptors are opened early and are few.
MAX_FDS = 1024
# The scan stops after this long whatever is left, within the probe's own timeout.
SCAN_S = 2.0
# /proc/<pid>/status is about 1.5 KiB; fdinfo holds a line (about 80 bytes) per watch, and
# 8 MiB holds 100,000 watches, past any limit a distribution sets.
STATUS_LIMIT = 4 * 1024
FDINFO_LIMIT = 8 * 1024 * 1024
SMALL_LIMIT = 64
# The processes named in the report: those holding the most watches.
TOP = 3


def parse_uid(status: bytes) -> "Optional[int]":
    """The real user id of ``Uid:\\t0\\t0\\t0\\t0`` in /proc/<pid>/status; None without it."""
    for line in status.decode("ascii", "replace").splitlines():
        if line.startswith("Uid:"):
            parts = line.split()
            return parse_count(parts[1]) if len(parts) > 1 else None
    return None


def count_watches(fdinfo: bytes) -> int:
    """``inotify wd:1 ino:a0001 sdev:800001 mask:fce ignored_mask:0 ...`` lines: one a watch."""
    return sum(1 for line in fdinfo.splitlines() if line.startswith(b"inotify wd:"))


def _limit(files: "FilesPart", name: str) -> "Optional[int]":
    try:
        return parse_count(files.read_bytes(f"{LIMITS}/{name}", SMALL_LIMIT).decode().strip())
    except (OSError, UnicodeDecodeError):
        return None


def _held(files: "FilesPart", pid: int) -> "Tuple[int, int, bool]":
    """(watches, instances, every descriptor read) of one process."""
    try:
        fds = files.list_dir(f"/proc/{pid}/fd")
    except OSError:
        return 0, 0, False
    watches = instances = 0
    for fd in fds[:MAX_FDS]:
        try:
            if files.readlink(f"/proc/{pid}/fd/{fd}") != INOTIFY_LINK:
                continue
            instances += 1
            watches += count_watches(files.read_bytes(f"/proc/{pid}/fdinfo/{fd}", FDINFO_LIMIT))
        except OSError:
            continue
    return watches, instances, len(fds) <= MAX_FDS


@probe(HOST_INOTIFY, parts=(FILES,))
def inotify(ctx: "ProbeContext", files: "FilesPart") -> InotifyUse:
    """ "filewatcher listener encountered error when add watch: no space left on device" is the
    SSM agent out of inotify watches: the limit and root's use say whether it is so now."""
    max_watches, max_instances = (
        _limit(files, "max_user_watches"),
        _limit(files, "max_user_instances"),
    )
    try:
        pids = [int(n) for n in files.list_dir("/proc") if ascii_digits(n)]
    except OSError:
        return InotifyUse(max_watches, max_instances, None, None)
    stop = time.monotonic() + SCAN_S
    holders: List[InotifyHolder] = []
    looked = 0
    complete = len(pids) <= MAX_PROCESSES
    for pid in pids[:MAX_PROCESSES]:
        if time.monotonic() > stop:
            complete = False
            break
        try:
            uid = parse_uid(files.read_bytes(f"/proc/{pid}/status", STATUS_LIMIT))
        except OSError:
            continue  # ended meanwhile
        if uid != 0:
            continue
        looked += 1
        watches, instances, whole = _held(files, pid)
        complete = complete and whole
        if instances:
            command = clean(_text(files, f"/proc/{pid}/comm"), SMALL_LIMIT)
            holders.append(InotifyHolder(pid, command, watches, instances))
    if not looked:  # no root process's status was read: nothing was counted
        return InotifyUse(max_watches, max_instances, None, None)
    holders.sort(key=lambda h: (-h.watches, h.pid))
    return InotifyUse(
        max_watches,
        max_instances,
        sum(h.watches for h in holders),
        sum(h.instances for h in holders),
        looked,
        complete,
        tuple(holders[:TOP]),
    )


def _text(files: "FilesPart", path: str) -> str:
    try:
        return files.read_bytes(path, SMALL_LIMIT).decode("utf-8", "replace").strip()
    except OSError:
        return ""
