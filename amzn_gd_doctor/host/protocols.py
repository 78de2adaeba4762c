"""What probes may ask of a host, as small protocols: a probe or a test needs only the part it
uses. ``Host`` is their union, flat on one object (``ctx.host.read_bytes(...)``), so that a host
that wraps another (recording, replaying) forwards the same names.

Imports only the value classes of the answers, never a part, so any part and any probe may
import it without a cycle.
"""

import sys
from typing import TYPE_CHECKING, Dict, List, Mapping, Optional, Sequence, Tuple

# vermin does not read the version guard, hence its markers on the two imports.
if sys.version_info >= (3, 8):
    from typing import Protocol  # novermin
else:  # Python 3.6 and 3.7: the backport, installed by an environment marker
    from typing_extensions import Protocol  # novermin

if TYPE_CHECKING:
    from ..answers import DnsAnswer, ProcessInfo, TcpResult, TlsResult
    from .commands import CommandResult
    from .http import HttpResponse
    from .journal import JournalRead


class FilesPart(Protocol):
    """Bounded reads and metadata; under --root every path is resolved inside the tree."""

    def read_bytes(self, path: str, limit: int, tail: bool = False) -> bytes: ...
    def exists(self, path: str) -> bool: ...
    def is_dir(self, path: str) -> bool: ...
    def list_dir(self, path: str) -> "List[str]": ...
    def file_size(self, path: str) -> int: ...
    def mtime(self, path: str) -> float: ...
    def readlink(self, path: str) -> str: ...
    def path(self, path: str) -> str: ...
    def os_release(self) -> "Dict[str, str]": ...


class CommandsPart(Protocol):
    """Programs run with a timeout and bounded output; Unsupported where none is run."""

    def run(self, argv: "Sequence[str]", timeout: float, limit: int = ...) -> "CommandResult": ...
    def runs_commands(self) -> bool: ...
    def machine(self) -> str: ...
    def is_root(self) -> bool: ...


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
    """The run's budget and clock. ``now`` is Unsupported where the observed system has no
    present moment (a captured tree: its times are read from its files)."""

    def now(self) -> float: ...
    def budget(self, timeout: float) -> float: ...


class Host(
    FilesPart, CommandsPart, HttpPart, JournalPart, ProcessesPart, NetworkPart, ClockPart, Protocol
):
    """What probes may ask: the union of the parts. A recorded host replays a live one."""

    env: "Mapping[str, str]"
