"""The package database part: what the host's package database holds about a package, handed to
the probe as raw as it came, for the probe's own parser.

Live (``LivePackages``): the package manager is asked, `dpkg-query -W` or `rpm -q`, for each
database the host holds (by its files); a package tool installed without its database (Debian's
rpm package, there to build rpms) has nothing to say about this host's packages, and asking it
costs a process tree (rpm runs a shell to find its macros): it is not asked. Under --root
(``TreePackages``): no program is run; dpkg's database is read from its status file, and an rpm
database is not read from files at all, which the answer says. Needs no privilege.
"""

from typing import Iterator, Tuple, Union

from ..values import value
from .commands import CommandResult
from .protocols import CommandsPart, FilesPart

DPKG_STATUS = "/var/lib/dpkg/status"
DPKG_INFO = "/var/lib/dpkg/info"
RPM_DB_DIRS = ("/var/lib/rpm", "/usr/lib/sysimage/rpm")
# Berkeley DB (Amazon Linux 2, RHEL 7 and 8), SQLite (AL2023, RHEL 9, Fedora), ndb (SUSE).
RPM_DB_FILES = ("Packages", "rpmdb.sqlite", "Packages.db")
# dpkg-query and rpm answer in tens of milliseconds; 3 s allows for a loaded host without eating
# the run's deadline.
QUERY_TIMEOUT_S = 3.0
# A large dpkg status file is about 5 MiB (thousands of packages); 32 MiB bounds a broken one.
DPKG_STATUS_LIMIT = 32 * 1024 * 1024
# A package holds a few dozen files; its list is a few KiB.
FILE_LIST_LIMIT = 256 * 1024
DPKG_QUERY_FORMAT = "${Status}\t${Version}\n"
RPM_QUERY_FORMAT = "%{NAME}\\t%{VERSION}-%{RELEASE}\\t%{ARCH}\\n"


@value
class PackageQuery:
    """The package manager's own answer about a package:
    ``dpkg-query -W -f '${Status}\\t${Version}\\n' P`` or ``rpm -q --qf NAME\\tVR\\tARCH P``."""

    manager: str  # "dpkg" or "rpm"
    result: CommandResult


@value
class DpkgStatusFile:
    """dpkg's database read from its status file, where no package manager is run."""

    path: str
    data: bytes


@value
class NoPackageDatabase:
    """No package database is read here: ``note`` says why, for the report."""

    note: str
    database_present: bool  # one is there but not read (rpm's, which only rpm reads)
    place: str  # where it was looked for ("the tree")


PackageEvidence = Union[PackageQuery, DpkgStatusFile, NoPackageDatabase]


def has_rpm_database(files: FilesPart) -> bool:
    return any(files.exists(f"{d}/{name}") for d in RPM_DB_DIRS for name in RPM_DB_FILES)


def managers(files: FilesPart) -> "Tuple[str, ...]":
    """The package managers whose database this host holds; both when neither is found, so
    that a host with an unusual layout is still asked."""
    found = tuple(
        name
        for name, present in (
            ("dpkg", files.exists(DPKG_STATUS)),
            ("rpm", has_rpm_database(files)),
        )
        if present
    )
    return found or ("dpkg", "rpm")


class LivePackages:
    """The package managers of the machine the doctor runs on, asked one at a time."""

    def __init__(self, files: FilesPart, commands: CommandsPart) -> None:
        self._files = files
        self._commands = commands

    def records(self, package: str) -> "Iterator[PackageEvidence]":
        """Each database's answer in turn (dpkg first): a probe stops at the one it needs."""
        for manager in managers(self._files):
            if manager == "dpkg":
                argv = ["dpkg-query", "-W", "-f", DPKG_QUERY_FORMAT, package]
            else:
                argv = ["rpm", "-q", "--qf", RPM_QUERY_FORMAT, package]
            yield PackageQuery(manager, self._commands.run(argv, QUERY_TIMEOUT_S))

    def listing(self, evidence: PackageEvidence, package: str) -> bytes:
        """The package's files, one path a line (`dpkg -L`, `rpm -ql`); empty when unknown."""
        if not isinstance(evidence, PackageQuery):
            return b""
        argv = ["dpkg", "-L", package] if evidence.manager == "dpkg" else ["rpm", "-ql", package]
        result = self._commands.run(argv, QUERY_TIMEOUT_S, FILE_LIST_LIMIT)
        return result.stdout if result.returncode == 0 else b""


class TreePackages:
    """The package database of a foreign root (--root), read from its files."""

    def __init__(self, files: FilesPart) -> None:
        self._files = files

    def records(self, package: str) -> "Iterator[PackageEvidence]":
        try:
            status = self._files.read_bytes(DPKG_STATUS, DPKG_STATUS_LIMIT)
        except FileNotFoundError:
            status = None
        if status is not None:
            yield DpkgStatusFile(DPKG_STATUS, status)
        elif has_rpm_database(self._files):
            yield NoPackageDatabase("the rpm database is not read under --root", True, "the tree")
        else:
            yield NoPackageDatabase("the tree has no package database", False, "the tree")

    def listing(self, evidence: PackageEvidence, package: str) -> bytes:
        """dpkg's list of the package's files (``info/PACKAGE.list``, or ``PACKAGE:ARCH.list``
        for a multi-arch one)."""
        if not isinstance(evidence, DpkgStatusFile) or not self._files.is_dir(DPKG_INFO):
            return b""
        for name in self._files.list_dir(DPKG_INFO):
            if name.startswith(package) and name.endswith(".list") and name[len(package)] in ".:":
                return self._files.read_bytes(f"{DPKG_INFO}/{name}", FILE_LIST_LIMIT)
        return b""
