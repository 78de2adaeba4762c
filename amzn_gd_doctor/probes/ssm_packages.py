"""How the SSM agent is installed: the deb or rpm package record, or the snap.

Live: `dpkg-query -W` then `rpm -q`. Under --root: the tree's /var/lib/dpkg/status (an rpm
database is not read from files). Needs no privilege. Registers no probe; ``ssm.agent`` uses it.
"""

from typing import TYPE_CHECKING, Optional, Tuple

from ..host import Unsupported
from ..sanitize import clean
from . import pkgdb

if TYPE_CHECKING:
    from ..host import Host

PACKAGE = "amazon-ssm-agent"
# Commands are quick; 3 s allows for a loaded host without eating the run's deadline.
COMMAND_TIMEOUT_S = 3.0
# A large dpkg status file is about 5 MiB (thousands of packages); 32 MiB bounds a broken one.
DPKG_STATUS_LIMIT = 32 * 1024 * 1024


def parse_dpkg_query(stdout: bytes) -> "Tuple[bool, Optional[str]]":
    """``install ok installed\\t3.3.1142.0-1`` -> (True, "3.3.1142.0-1"); a removed package
    (``deinstall ok config-files``) or half-installed one is not installed."""
    status, _, version = stdout.decode("utf-8", "replace").strip().partition("\t")
    installed = status.split()[-1:] == ["installed"]
    return installed, (clean(version.strip(), 80) or None) if installed else None


def parse_rpm_q(returncode: int, stdout: bytes) -> "Tuple[bool, Optional[str]]":
    """``amazon-ssm-agent-3.3.1142.0-1.x86_64`` -> (True, "3.3.1142.0-1"); rc 1 with
    ``package amazon-ssm-agent is not installed`` -> (False, None)."""
    line = stdout.decode("utf-8", "replace").strip().splitlines()[:1]
    if returncode != 0 or not line or not line[0].startswith(PACKAGE + "-"):
        return False, None
    nvra = line[0][len(PACKAGE) + 1 :]
    version, _, arch = nvra.rpartition(".")
    return True, clean(version if arch in ("x86_64", "aarch64", "noarch") else nvra, 80)


def parse_dpkg_status(data: bytes, package: str = PACKAGE) -> "Tuple[bool, Optional[str]]":
    """The package's paragraph of /var/lib/dpkg/status:
    ``Package: amazon-ssm-agent\\nStatus: install ok installed\\n...Version: 3.3.1142.0-1``."""
    for para in data.decode("utf-8", "replace").split("\n\n"):
        fields = dict(line.split(": ", 1) for line in para.splitlines() if ": " in line[:40])
        if fields.get("Package", "").strip() == package:
            if fields.get("Status", "").split()[-1:] == ["installed"]:
                return True, clean(fields.get("Version", "").strip(), 80) or None
            return False, None
    return False, None


def parse_snap_version(meta: bytes) -> "Optional[str]":
    """``name: amazon-ssm-agent\\nversion: '3.3.1142.0'`` (meta/snap.yaml) -> "3.3.1142.0"."""
    for line in meta.decode("utf-8", "replace").splitlines():
        if line.startswith("version:"):
            return clean(line.split(":", 1)[1].strip().strip("'\""), 80) or None
    return None


def package_record(host: "Host") -> "Tuple[bool, str, Optional[str]]":
    """(installed, "deb"|"rpm"|"", version): the package manager is the authority on versions."""
    try:
        return _ask_package_manager(host)
    except Unsupported:  # a host that runs no command (--root): dpkg's status file answers
        pass
    try:
        data = host.read_bytes("/var/lib/dpkg/status", DPKG_STATUS_LIMIT)
    except FileNotFoundError:
        return False, "", None
    installed, version = parse_dpkg_status(data)
    return installed, "deb" if installed else "", version


def _ask_package_manager(host: "Host") -> "Tuple[bool, str, Optional[str]]":
    managers = pkgdb.managers(host)
    if "dpkg" in managers:
        argv = ["dpkg-query", "-W", "-f", "${Status}\t${Version}", PACKAGE]
        res = host.run(argv, COMMAND_TIMEOUT_S)
        if not res.not_found and res.returncode == 0:
            installed, version = parse_dpkg_query(res.stdout)
            if installed:
                return True, "deb", version
    if "rpm" in managers:
        res = host.run(["rpm", "-q", PACKAGE], COMMAND_TIMEOUT_S)
        if not res.not_found:
            installed, version = parse_rpm_q(res.returncode, res.stdout)
            if installed:
                return True, "rpm", version
    return False, "", None
