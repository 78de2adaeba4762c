"""Which package databases a host holds: dpkg's status file, rpm's database files.

A package tool installed without its database (Debian's rpm package, there to build rpms) has
nothing to say about this host's packages, and asking it costs a process tree (rpm runs a shell
to find its macros): it is not asked. Reads file existence only; needs no privilege.
"""

from typing import TYPE_CHECKING, Tuple

if TYPE_CHECKING:
    from ..host import Host

DPKG_STATUS = "/var/lib/dpkg/status"
RPM_DB_DIRS = ("/var/lib/rpm", "/usr/lib/sysimage/rpm")
# Berkeley DB (Amazon Linux 2, RHEL 7 and 8), SQLite (AL2023, RHEL 9, Fedora), ndb (SUSE).
RPM_DB_FILES = ("Packages", "rpmdb.sqlite", "Packages.db")


def has_rpm_database(host: "Host") -> bool:
    return any(host.exists(f"{d}/{name}") for d in RPM_DB_DIRS for name in RPM_DB_FILES)


def managers(host: "Host") -> "Tuple[str, ...]":
    """The package managers whose database this host holds; both when neither is found, so
    that a host with an unusual layout is still asked."""
    found = tuple(
        name
        for name, present in (("dpkg", host.exists(DPKG_STATUS)), ("rpm", has_rpm_database(host)))
        if present
    )
    return found or ("dpkg", "rpm")
