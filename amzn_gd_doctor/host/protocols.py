"""The host, declared once: the small protocols its parts answer, the ``Part`` keys by which a
probe declares the parts it reads, and the ``Host`` that holds one of each.

A probe declares its parts, ``@probe(KEY, parts=(FILES, CLOCK))``, and is called with exactly
those, ``def probe(ctx, files: FilesPart, clock: ClockPart)``: mypy holds the signature to the
declaration, so a probe cannot call a part it did not declare. These protocols are also what a
recording keeps and a replay serves: ``RECORDED`` names the parts whose every call is an
observation, and host/recorded.py builds both ends from their methods' signatures and answer
types (host/codec.py reads the annotations), so no signature is written out a second time.
``packages`` and ``units`` are parts of a higher level, built by each host over its files and
commands (``Host.derive``): recording and replaying those two parts gives them for free.

Imports only the value classes of the answers, never a part, so any part and any probe may
import it without a cycle.
"""

import sys
from typing import (
    TYPE_CHECKING,
    Callable,
    Dict,
    Generic,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    TypeVar,
)

# vermin does not read the version guard, hence its markers on the two imports.
if sys.version_info >= (3, 8):
    from typing import Protocol  # novermin
else:  # Python 3.6 and 3.7: the backport, installed by an environment marker
    from typing_extensions import Protocol  # novermin

if TYPE_CHECKING:
    from ..answers import DnsAnswer, ProcessInfo, TcpResult, TlsResult
    from .budget import Budget
    from .commands import CommandResult
    from .files import StatVfs
    from .http import HttpResponse
    from .journal import JournalRead
    from .packages import PackageEvidence
    from .units import UnitEvidence

P_co = TypeVar("P_co", covariant=True)


class FilesPart(Protocol):
    """Bounded reads and metadata; under --root every path is resolved inside the tree."""

    def read_bytes(self, path: str, limit: int, tail: bool = False) -> bytes: ...
    def exists(self, path: str) -> bool: ...
    def is_dir(self, path: str) -> bool: ...
    def list_dir(self, path: str) -> "List[str]": ...
    def file_size(self, path: str) -> int: ...
    def mtime(self, path: str) -> float: ...
    def readlink(self, path: str) -> str: ...
    def statvfs(self, path: str) -> "StatVfs": ...
    def path(self, path: str) -> str: ...
    def os_release(self) -> "Dict[str, str]": ...


class CommandsPart(Protocol):
    """Programs run with a timeout and bounded output (``limit`` None: the part's own bound);
    Unsupported where none is run. ``machine`` is `uname -m`."""

    def run(
        self, argv: "Sequence[str]", timeout: float, limit: "Optional[int]" = None
    ) -> "CommandResult": ...
    def machine(self) -> str: ...


class HttpPart(Protocol):
    def http(
        self,
        method: str,
        url: str,
        headers: "Mapping[str, str]",
        timeout: float,
        limit: int,
    ) -> "HttpResponse": ...


class JournalPart(Protocol):
    def journal_entries(
        self,
        matches: "Sequence[Sequence[str]]",
        since_s: "Optional[float]",
        max_entries: int,
        max_bytes: int,
        timeout: float,
    ) -> "JournalRead": ...


class ProcessesPart(Protocol):
    def find_processes(
        self, names: "Sequence[str]", pids: "Sequence[int]" = ()
    ) -> "Tuple[ProcessInfo, ...]": ...


class NetworkPart(Protocol):
    def dns_query(self, server: str, name: str, timeout: float) -> "DnsAnswer": ...
    def system_resolve(self, name: str, timeout: float) -> "DnsAnswer": ...
    def tcp_connect(self, address: str, port: int, timeout: float) -> "TcpResult": ...
    def tls_handshake(
        self, address: str, port: int, server_name: str, timeout: float
    ) -> "TlsResult": ...


class ClockPart(Protocol):
    """The observed system's present moment (epoch seconds), or None where it has none: a
    captured tree, whose times are read from its files."""

    def now(self) -> "Optional[float]": ...


class PackagesPart(Protocol):
    """The package database: what it holds about a package, as raw as it came (host/packages.py:
    the package manager's answer, dpkg's status file, or why no database is read)."""

    def records(self, package: str) -> "Iterator[PackageEvidence]": ...
    def listing(self, evidence: "PackageEvidence", package: str) -> bytes: ...


class UnitsPart(Protocol):
    """systemd's view of a unit (host/units.py): `systemctl show`, or why systemd is not asked."""

    def show(self, unit: str, properties: "Sequence[str]") -> "UnitEvidence": ...


class Part(Generic[P_co]):
    """A part a probe may declare: its attribute on the host, and (for mypy) what it is."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"Part({self.name!r})"


ENV: "Part[Mapping[str, str]]" = Part("env")
BUDGET: "Part[Budget]" = Part("budget")
CLOCK: "Part[ClockPart]" = Part("clock")
FILES: "Part[FilesPart]" = Part("files")
COMMANDS: "Part[CommandsPart]" = Part("commands")
# The HTTP part is held as ``web``: its one question is named ``http`` (as recordings name it).
HTTP: "Part[HttpPart]" = Part("web")
JOURNAL: "Part[JournalPart]" = Part("journal")
PROCESSES: "Part[ProcessesPart]" = Part("processes")
NETWORK: "Part[NetworkPart]" = Part("network")
PACKAGES: "Part[PackagesPart]" = Part("packages")
UNITS: "Part[UnitsPart]" = Part("units")

# The parts whose every call is an observation, by attribute and protocol: what a recording
# keeps and a replay serves (host/recorded.py). Method names are unique across them.
RECORDED: "Tuple[Tuple[str, type], ...]" = (
    ("clock", ClockPart),
    ("files", FilesPart),
    ("commands", CommandsPart),
    ("web", HttpPart),
    ("journal", JournalPart),
    ("processes", ProcessesPart),
    ("network", NetworkPart),
)


def method_names(protocol: type) -> "Tuple[str, ...]":
    """The questions a part protocol declares, in the order it declares them."""
    return tuple(n for n, v in vars(protocol).items() if callable(v) and not n.startswith("_"))


# How a host builds its higher-level parts over its (possibly recorded) files and commands.
Derive = Callable[[FilesPart, CommandsPart], "Tuple[PackagesPart, UnitsPart]"]


class Host(Protocol):
    """One of each part, with the run's environment and its one deadline budget."""

    env: "Mapping[str, str]"
    budget: "Budget"
    clock: ClockPart
    files: FilesPart
    commands: CommandsPart
    web: HttpPart
    journal: JournalPart
    processes: ProcessesPart
    network: NetworkPart
    packages: PackagesPart
    units: UnitsPart
    derive: Derive
