"""Facts about host causes of a failed install or a failing agent (docs/causes.md): the mounts
and free space of the places the SSM agent and the GuardDuty agent use, package-manager locks
and who holds them, inotify limits and use, what the SSM documents' steps wrote, and the
error lines of the agents' logs that no known cause explains."""

from typing import Optional, Tuple

from ..values import value
from . import Key


@value
class ErrorGroup:
    """ERROR (or worse) lines that match no known cause, alike once their ids, numbers and
    times are made placeholders: ``shape`` is that common text, ``sample`` the newest line as
    written (printable, bounded), ``latest`` when it was logged ("" when its line does not
    say)."""

    shape: str
    count: int
    latest: str
    sample: str


@value
class Place:
    """A directory the SSM agent or the GuardDuty agent uses, and what a problem there does."""

    path: str
    role: str
    install: bool  # GuardDuty's install writes here: a problem here fails the install
    executes: bool  # programs are run from here: noexec stops them
    optional: bool = False  # looked at only where it exists (one package database or another)


SSM_DATA = "/var/lib/amazon/ssm"
AGENT_DIR = "/opt/aws/amazon-guardduty-agent"
# In the order a report names them: where the install runs, then where the agents log.
PLACES = (
    Place(
        SSM_DATA,
        "the SSM agent's data (documents' scripts run from it; Distributor downloads and "
        "unpacks GuardDuty's package into it)",
        True,
        True,
    ),
    Place(AGENT_DIR, "the GuardDuty agent's program", True, True),
    Place("/var/lib/dpkg", "dpkg's package database", True, False, optional=True),
    Place("/var/lib/rpm", "rpm's package database", True, False, optional=True),
    Place("/var/log/amazon/ssm", "the SSM agent's logs", False, False),
    Place("/var/log/amzn-guardduty-agent", "the GuardDuty agent's logs", False, False),
    Place("/tmp", "temporary files", False, False),
)


@value
class Mount:
    """One line of /proc/self/mountinfo (proc_pid_mountinfo(5))."""

    mount_point: str
    fs_type: str
    source: str
    options: "Tuple[str, ...]"  # per-mount options: noexec, ro, nosuid...
    super_options: "Tuple[str, ...]" = ()  # the filesystem's own: ro after errors=remount-ro

    @property
    def noexec(self) -> bool:
        return "noexec" in self.options

    @property
    def read_only(self) -> bool:
        return "ro" in self.options or "ro" in self.super_options


@value
class PlaceMount:
    place: Place
    mount: "Optional[Mount]"  # None: no line of the table holds it (a damaged table)


@value
class HostMounts:
    mounts: int  # lines read
    places: "Tuple[PlaceMount, ...]"
    skipped: int = 0  # lines not in mountinfo's shape


@value
class PlaceSpace:
    """Room left on the filesystem that holds a place, as root sees it (both agents run as
    root, and root may use the blocks reserved for it)."""

    place: Place
    measured: str  # the path asked: the place, or its nearest parent that exists
    total_bytes: int
    free_bytes: int
    total_inodes: int  # 0: the filesystem does not count inodes (btrfs)
    free_inodes: int
    read_only: bool = False


@value
class HostDiskSpace:
    places: "Tuple[PlaceSpace, ...]"
    problems: "Tuple[str, ...]" = ()  # places that could not be measured, with why


@value
class LockHolder:
    lock: str  # the lock file or pid file
    manager: str  # dpkg, apt, rpm, yum or dnf
    pid: int
    command: str  # /proc/<pid>/comm, "" when unknown
    how: str  # "POSIX lock", "FLOCK lock", "OFDLCK lock" or "pid file"


@value
class PackageLocks:
    holders: "Tuple[LockHolder, ...]"
    lock_table: bool  # /proc/locks was read
    locks: int = 0  # its entries
    waiting: int = 0  # of them, processes blocked waiting for a lock
    unread: int = 0  # lock holders whose open files could not be read (not root)


@value
class InotifyHolder:
    pid: int
    command: str
    watches: int
    instances: int


@value
class InotifyUse:
    """fs.inotify limits (per real user id, shared by every root daemon) and what root's
    processes hold of them, from their inotify descriptors' fdinfo."""

    max_watches: "Optional[int]"
    max_instances: "Optional[int]"
    watches: "Optional[int]"  # None: not counted (no /proc to read)
    instances: "Optional[int]"
    processes: int = 0  # root's processes looked at
    complete: bool = True  # False: the scan stopped at its bounds, the counts are floors
    top: "Tuple[InotifyHolder, ...]" = ()  # those holding the most watches


@value
class StepSign:
    """A line an SSM document's step wrote that shows a host cause."""

    sign: str  # exit_126, exit_127, package_lock, plugin_not_found, no_space, worker_timeout
    run: str  # the association or command id (the orchestration folder) or the state file
    line: str  # the line that shows it, printable and bounded
    subject: str = ""  # what it names: the command not found, the lock file, the pid
    guardduty: bool = False  # a run of GuardDuty's association or package


@value
class StepOutputs:
    runs: int  # runs whose outputs were read
    files: int  # output files read
    signs: "Tuple[StepSign, ...]" = ()
    truncated: bool = False  # more runs or files than were read

    def of(self, *names: str) -> "Tuple[StepSign, ...]":
        return tuple(s for s in self.signs if s.sign in names)


HOST_MOUNTS = Key("host.mounts", HostMounts, "the mount table (/proc/self/mountinfo)")
HOST_DISK_SPACE = Key(
    "host.disk_space", HostDiskSpace, "the free space where the install and the agents write"
)
HOST_PACKAGE_LOCKS = Key("host.package_locks", PackageLocks, "the package managers' locks")
HOST_INOTIFY = Key("host.inotify", InotifyUse, "the inotify limits and their use")
SSM_STEP_OUTPUTS = Key("ssm.step_outputs", StepOutputs, "the output of SSM documents' steps")
