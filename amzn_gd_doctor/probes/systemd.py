"""Whether systemd can be asked at all, for the probes that would run `systemctl show`.

/run/systemd/system exists only when systemd is PID 1 (sd_booted). A live host without it (a
container) is told so without starting systemctl; a tree (--root) runs no command, and its unit
files are read instead. Reads one path; needs no privilege.
"""

from typing import TYPE_CHECKING, Optional

from ..host import CouldNotLook

if TYPE_CHECKING:
    from ..host import Host


def systemd_absent(host: "Host") -> "Optional[str]":
    """Why systemd cannot be asked, or None."""
    if host.exists("/run/systemd/system"):
        return None
    return "systemd is not running as PID 1 here (/run/systemd/system is missing)"


def runs_commands(host: "Host") -> bool:
    """Whether the host runs programs; False when that is unknown (a bundle recorded before
    the question was asked), so that systemctl is asked and its recorded answer replayed."""
    try:
        return host.runs_commands()
    except CouldNotLook:
        return False


def live_without_systemd(host: "Host") -> "Optional[str]":
    """Why systemctl need not be started on this host (a live host where systemd is not PID
    1), or None: a host with systemd, or one that runs no command."""
    absent = systemd_absent(host)
    return absent if absent and runs_commands(host) else None
