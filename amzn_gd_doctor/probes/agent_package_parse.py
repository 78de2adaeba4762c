"""The package manager's answers about the agent package, parsed: `dpkg-query`, `rpm -q`,
/var/lib/dpkg/status, and file lists (`dpkg -L`, `rpm -ql`).

Registers no probe. Reads nothing by itself.
"""

from typing import Dict, Optional, Tuple

from ..facts.agent import DPKG_STATE, PACKAGE, AgentPackage
from ..sanitize import clean

# Files worth naming in a finding: the unit and executables. More is noise.
NOTABLE_FILES = 8


class MalformedAnswer(ValueError):
    """A package manager answered in a shape this parser does not know."""


def parse_dpkg_status_line(status: str, version: str) -> "Tuple[str, Optional[str]]":
    """``install ok half-configured`` -> ("half-configured", version)."""
    parts = status.split()
    if len(parts) != 3 or parts[2] not in DPKG_STATE:
        raise MalformedAnswer(f"not a dpkg status: {clean(status, 80)!r}")
    if parts[2] == "not-installed":
        return "not-installed", None
    return parts[2], clean(version.strip(), 80) or None


def parse_dpkg_query(returncode: int, stdout: bytes, stderr: bytes) -> AgentPackage:
    """``dpkg-query -W -f '${Status}\\t${Version}'``: ``install ok installed\\t1.9.2``;
    rc 1 with ``dpkg-query: no packages found matching ...`` on stderr -> not installed."""
    text = stdout.decode("utf-8", "replace")
    if returncode != 0:
        if b"no packages found" in stderr or b"no package named" in stderr:
            return AgentPackage("dpkg", "not-installed")
        raise MalformedAnswer(
            f"dpkg-query failed (exit {returncode}): "
            f"{clean(stderr.decode('utf-8', 'replace').strip(), 160)}"
        )
    lines = [line for line in text.splitlines() if line.strip()]
    status, tab, version = (lines[-1] if lines else "").partition("\t")
    if not tab:
        raise MalformedAnswer(f"unexpected dpkg-query output: {clean(text.strip(), 80)!r}")
    state, parsed_version = parse_dpkg_status_line(status, version)
    return AgentPackage("dpkg", state, parsed_version, clean(status.strip(), 80))


def parse_rpm_query(returncode: int, stdout: bytes, stderr: bytes) -> AgentPackage:
    """``rpm -q --qf '%{NAME}\\t%{VERSION}-%{RELEASE}\\t%{ARCH}\\n'``:
    ``amazon-guardduty-agent\\t1.9.2-1\\tx86_64``; plain ``rpm -q`` NVRA
    (``amazon-guardduty-agent-1.9.2-1.x86_64``) is read too. rc 1 with ``package ... is not
    installed`` -> not installed; a database error -> MalformedAnswer."""
    text = stdout.decode("utf-8", "replace").strip()
    if returncode != 0 or not text:
        if "is not installed" in text:
            return AgentPackage("rpm", "not-installed", status=clean(text, 120))
        err = clean(stderr.decode("utf-8", "replace").strip() or text, 160)
        raise MalformedAnswer(f"rpm failed (exit {returncode}): {err or 'no output'}")
    line = text.splitlines()[-1]  # several versions at once: the last one rpm lists
    fields = line.split("\t")
    if len(fields) == 3 and fields[0] == PACKAGE:
        return AgentPackage("rpm", "installed", clean(fields[1], 80), clean(line, 120))
    if line.startswith(PACKAGE + "-") and "\t" not in line:
        nvra = line[len(PACKAGE) + 1 :]
        version, _, arch = nvra.rpartition(".")
        version = version if arch in ("x86_64", "aarch64", "noarch") else nvra
        return AgentPackage("rpm", "installed", clean(version, 80), clean(line, 120))
    raise MalformedAnswer(f"unexpected rpm output: {clean(line, 80)!r}")


def parse_dpkg_status_file(data: bytes) -> AgentPackage:
    """The agent's paragraph of /var/lib/dpkg/status:
    ``Package: amazon-guardduty-agent\\nStatus: install ok installed\\n...\\nVersion: 1.9.2``."""
    for para in data.decode("utf-8", "replace").split("\n\n"):
        fields: Dict[str, str] = {}
        for line in para.splitlines():
            key, sep, value = line.partition(":")
            if sep and not line[:1].isspace():
                fields[key.strip()] = value.strip()
        if fields.get("Package") == PACKAGE:
            status = fields.get("Status", "")
            state, version = parse_dpkg_status_line(status, fields.get("Version", ""))
            return AgentPackage("dpkg", state, version, clean(status, 80))
    return AgentPackage("dpkg", "not-installed")


def notable_files(listing: bytes) -> "Tuple[Tuple[str, ...], int]":
    """From `dpkg -L` / `rpm -ql` output: (the unit file and executables, number of files)."""
    paths = [
        p.strip()
        for p in listing.decode("utf-8", "replace").splitlines()
        if p.strip().startswith("/")
    ]
    keep = [p for p in paths if p.endswith(".service") or "/bin/" in p or "/sbin/" in p]
    return tuple(clean(p, 200) for p in keep[:NOTABLE_FILES]), len(paths)
