"""How the SSM agent is installed: the deb or rpm package record, or the snap.

Asks the host's package database (host/packages.py): `dpkg-query -W` then `rpm -q` on a live
host, the tree's /var/lib/dpkg/status under --root (an rpm database is not read from files).
Needs no privilege. Registers no probe; ``ssm.agent`` uses it.
"""

from typing import TYPE_CHECKING, Optional, Tuple

from ..host.packages import DpkgStatusFile, PackageQuery
from ..sanitize import clean

if TYPE_CHECKING:
    from ..host.protocols import PackagesPart

PACKAGE = "amazon-ssm-agent"


def parse_dpkg_query(stdout: bytes) -> "Tuple[bool, Optional[str]]":
    """``install ok installed\\t3.3.1142.0-1`` -> (True, "3.3.1142.0-1"); a removed package
    (``deinstall ok config-files``) or half-installed one is not installed."""
    status, _, version = stdout.decode("utf-8", "replace").strip().partition("\t")
    installed = status.split()[-1:] == ["installed"]
    return installed, (clean(version.strip(), 80) or None) if installed else None


def parse_rpm_q(returncode: int, stdout: bytes) -> "Tuple[bool, Optional[str]]":
    """``amazon-ssm-agent\\t3.3.1142.0-1\\tx86_64`` (``rpm -q --qf NAME\\tVR\\tARCH``) or plain
    ``rpm -q`` NVRA, ``amazon-ssm-agent-3.3.1142.0-1.x86_64`` -> (True, "3.3.1142.0-1"); rc 1
    with ``package amazon-ssm-agent is not installed`` -> (False, None)."""
    line = stdout.decode("utf-8", "replace").strip().splitlines()[:1]
    if returncode != 0 or not line:
        return False, None
    fields = line[0].split("\t")
    if len(fields) == 3 and fields[0] == PACKAGE:
        return True, clean(fields[1], 80)
    if not line[0].startswith(PACKAGE + "-"):
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


def package_record(packages: "PackagesPart") -> "Tuple[bool, str, Optional[str]]":
    """(installed, "deb"|"rpm"|"", version): the package manager is the authority on versions."""
    for evidence in packages.records(PACKAGE):
        if isinstance(evidence, DpkgStatusFile):
            installed, version = parse_dpkg_status(evidence.data)
            return installed, "deb" if installed else "", version
        if not isinstance(evidence, PackageQuery) or evidence.result.not_found:
            continue
        res = evidence.result
        if evidence.manager == "dpkg":
            if res.returncode == 0:
                installed, version = parse_dpkg_query(res.stdout)
                if installed:
                    return True, "deb", version
        else:
            installed, version = parse_rpm_q(res.returncode, res.stdout)
            if installed:
                return True, "rpm", version
    return False, "", None
