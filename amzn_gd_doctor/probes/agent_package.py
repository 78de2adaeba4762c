"""The GuardDuty agent package: installed or not, which version, in which dpkg/rpm state, and
which files it put on the host (binary, unit).

Asks the host's package database (host/packages.py): on a live host `dpkg-query -W` / `dpkg -L`
or `rpm -q` / `rpm -ql`, under --root the tree's /var/lib/dpkg/status and info/*.list. Where no
package database is read (an rpm tree, or one without any but with systemd unit directories)
the agent's unit file is the evidence. Needs no privilege.
"""

from typing import TYPE_CHECKING, List, Tuple

from ..facts.agent import AGENT_PACKAGE, PACKAGE, UNIT, AgentPackage
from ..host import CouldNotLook, Unsupported
from ..host.packages import DpkgStatusFile, NoPackageDatabase, PackageEvidence, PackageQuery
from ..host.protocols import FILES, PACKAGES
from ..probing import probe
from .agent_common import UNIT_DIRS
from .agent_package_parse import (
    MalformedAnswer,
    notable_files,
    parse_dpkg_query,
    parse_dpkg_status_file,
    parse_rpm_query,
)

if TYPE_CHECKING:
    from ..host.protocols import FilesPart, PackagesPart
    from ..probing import ProbeContext


def _parse(evidence: "PackageEvidence") -> "AgentPackage":
    """The package as one database records it; CouldNotLook for an answer in no known shape."""
    try:
        if isinstance(evidence, DpkgStatusFile):
            try:
                return parse_dpkg_status_file(evidence.data)
            except MalformedAnswer as exc:
                raise CouldNotLook(f"{evidence.path}: {exc}") from None
        assert isinstance(evidence, PackageQuery)
        res = evidence.result
        parse = parse_dpkg_query if evidence.manager == "dpkg" else parse_rpm_query
        return parse(res.returncode, res.stdout, res.stderr)
    except MalformedAnswer as exc:
        raise CouldNotLook(str(exc)) from None


def _with_files(
    pkg: AgentPackage, files: "Tuple[str, ...]", count: int, notes: "Tuple[str, ...]" = ()
) -> AgentPackage:
    return AgentPackage(pkg.manager, pkg.state, pkg.version, pkg.status, files, count, notes)


def _by_unit_file(files: "FilesPart", none: NoPackageDatabase) -> AgentPackage:
    """No package database is read: the agent's unit file says whether it is there."""
    unit = next((f"{d}/{UNIT}" for d in UNIT_DIRS if files.exists(f"{d}/{UNIT}")), None)
    if unit is None and not none.database_present and not any(files.is_dir(d) for d in UNIT_DIRS):
        raise Unsupported(
            f"{none.place} has neither a package database nor systemd unit "
            "directories: whether the agent is installed is unknown"
        )
    if unit is None:
        return AgentPackage(None, "not-installed", notes=(none.note,))
    return AgentPackage(None, "installed", files=(unit,), file_count=1, notes=(none.note,))


@probe(AGENT_PACKAGE, parts=(PACKAGES, FILES), timeout=8.0)
def package(ctx: "ProbeContext", packages: "PackagesPart", files: "FilesPart") -> AgentPackage:
    """Whether the agent package is installed, as the package manager records it."""
    absent: List[AgentPackage] = []
    for evidence in packages.records(PACKAGE):
        if isinstance(evidence, NoPackageDatabase):
            return _by_unit_file(files, evidence)
        if isinstance(evidence, PackageQuery) and evidence.result.not_found:
            continue  # this package manager's program is not installed
        pkg = _parse(evidence)
        if pkg.state != "not-installed":
            listed, count = notable_files(packages.listing(evidence, PACKAGE))
            return _with_files(pkg, listed, count)
        absent.append(pkg)
    if not absent:
        raise Unsupported("neither dpkg-query nor rpm is available to ask about packages")
    return absent[0]
