"""The GuardDuty agent package: installed or not, which version, in which dpkg/rpm state, and
which files it put on the host (binary, unit).

Live: `dpkg-query -W` / `dpkg -L` or `rpm -q` / `rpm -ql`. Under --root: the tree's
/var/lib/dpkg/status and info/*.list; an rpm database is not read from files, so an rpm tree
(or one without any package database but with systemd unit directories) is judged by the
agent's unit file. Needs no privilege.
"""

from typing import TYPE_CHECKING, List, Optional, Tuple

from ..facts.agent import AGENT_PACKAGE, PACKAGE, UNIT, AgentPackage
from ..host import CouldNotLook, Unsupported
from ..probing import probe
from . import pkgdb
from .agent_common import COMMAND_TIMEOUT_S, UNIT_DIRS
from .agent_package_parse import (
    MalformedAnswer,
    notable_files,
    parse_dpkg_query,
    parse_dpkg_status_file,
    parse_rpm_query,
)

if TYPE_CHECKING:
    from ..host import Host
    from ..probing import ProbeContext

# A large dpkg status file is about 5 MiB (thousands of packages); 32 MiB bounds a broken one.
DPKG_STATUS_LIMIT = 32 * 1024 * 1024
# The agent package holds a few dozen files; its list is a few KiB.
FILE_LIST_LIMIT = 256 * 1024
RPM_QUERY_FORMAT = "%{NAME}\\t%{VERSION}-%{RELEASE}\\t%{ARCH}\\n"


def _query_live(host: "Host") -> "Optional[AgentPackage]":
    """The package managers' answer; None when neither dpkg-query nor rpm is there to ask."""
    answers: List[AgentPackage] = []
    for manager in pkgdb.managers(host):
        if manager == "dpkg":
            argv = ["dpkg-query", "-W", "-f", "${Status}\t${Version}\n", PACKAGE]
            res = host.run(argv, COMMAND_TIMEOUT_S)
            parse = parse_dpkg_query
        else:
            res = host.run(["rpm", "-q", "--qf", RPM_QUERY_FORMAT, PACKAGE], COMMAND_TIMEOUT_S)
            parse = parse_rpm_query
        if res.not_found:
            continue
        try:
            answer = parse(res.returncode, res.stdout, res.stderr)
        except MalformedAnswer as exc:
            raise CouldNotLook(str(exc)) from None
        if answer.state != "not-installed":
            list_argv = ["dpkg", "-L", PACKAGE] if manager == "dpkg" else ["rpm", "-ql", PACKAGE]
            listing = host.run(list_argv, COMMAND_TIMEOUT_S, FILE_LIST_LIMIT)
            files, count = notable_files(listing.stdout if listing.returncode == 0 else b"")
            return _with_files(answer, files, count)
        answers.append(answer)
    return answers[0] if answers else None


def _with_files(
    pkg: AgentPackage, files: "Tuple[str, ...]", count: int, notes: "Tuple[str, ...]" = ()
) -> AgentPackage:
    return AgentPackage(pkg.manager, pkg.state, pkg.version, pkg.status, files, count, notes)


def _read_tree(host: "Host") -> AgentPackage:
    try:
        status = host.read_bytes("/var/lib/dpkg/status", DPKG_STATUS_LIMIT)
    except FileNotFoundError:
        status = None
    if status is not None:
        try:
            pkg = parse_dpkg_status_file(status)
        except MalformedAnswer as exc:
            raise CouldNotLook(f"/var/lib/dpkg/status: {exc}") from None
        if pkg.state == "not-installed":
            return pkg
        info = "/var/lib/dpkg/info"
        for name in host.list_dir(info) if host.is_dir(info) else []:
            if name.startswith(PACKAGE) and name.endswith(".list") and name[len(PACKAGE)] in ".:":
                files, count = notable_files(host.read_bytes(f"{info}/{name}", FILE_LIST_LIMIT))
                return _with_files(pkg, files, count)
        return pkg
    unit = next((f"{d}/{UNIT}" for d in UNIT_DIRS if host.exists(f"{d}/{UNIT}")), None)
    has_rpm = pkgdb.has_rpm_database(host)
    if unit is None and not has_rpm and not any(host.is_dir(d) for d in UNIT_DIRS):
        raise Unsupported(
            "the tree has neither a package database nor systemd unit "
            "directories: whether the agent is installed is unknown"
        )
    note = (
        "the rpm database is not read under --root"
        if has_rpm
        else "the tree has no package database",
    )
    if unit is None:
        return AgentPackage("files", "not-installed", notes=note)
    return AgentPackage("files", "installed", files=(unit,), file_count=1, notes=note)


@probe(AGENT_PACKAGE, timeout=8.0)
def package(ctx: "ProbeContext") -> AgentPackage:
    """Whether the agent package is installed, as the package manager records it."""
    try:
        answer = _query_live(ctx.host)
    except Unsupported:  # a host that runs no command (--root): its files answer
        return _read_tree(ctx.host)
    if answer is None:
        raise Unsupported("neither dpkg-query nor rpm is available to ask about packages")
    return answer
