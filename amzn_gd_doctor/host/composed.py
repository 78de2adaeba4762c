"""A host made of parts: each protocol's calls forwarded, flat, to the part that answers them.

The parts share the one ``Budget`` the host was built with, so a deadline set on the host
bounds every part's calls. No part knows of another except through what it was handed.
"""

from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from ..answers import DnsAnswer, ProcessInfo, TcpResult, TlsResult
from .budget import Budget
from .commands import COMMAND_OUTPUT_LIMIT, CommandResult
from .http import HttpResponse
from .journal import JournalRead, JournalReader
from .protocols import (
    ClockPart,
    CommandsPart,
    FilesPart,
    HttpPart,
    JournalPart,
    NetworkPart,
    ProcessesPart,
)


class ComposedHost:
    """The ``Host`` protocol over one part for each of its small protocols."""

    def __init__(
        self,
        env: "Mapping[str, str]",
        budget: Budget,
        clock: ClockPart,
        files: FilesPart,
        commands: CommandsPart,
        http: HttpPart,
        journal: JournalPart,
        processes: ProcessesPart,
        network: NetworkPart,
    ) -> None:
        self.env = env
        self.parts_budget = budget
        self.clock = clock
        self.files = files
        self.commands = commands
        self.web = http
        self.journal = journal
        self.processes = processes
        self.network = network

    # -- the run's budget, shared by every part ------------------------------------------------
    @property
    def deadline(self) -> "Optional[float]":
        """The run's deadline (a time.monotonic() value), or None; the engine sets it."""
        return self.parts_budget.deadline

    @deadline.setter
    def deadline(self, value: "Optional[float]") -> None:
        self.parts_budget.deadline = value

    @property
    def journal_backends(self) -> "Tuple[str, ...]":
        """Which journal readers may be used, in order (tests force the journalctl fallback)."""
        if isinstance(self.journal, JournalReader):
            return self.journal.journal_backends
        return ()

    @journal_backends.setter
    def journal_backends(self, value: "Tuple[str, ...]") -> None:
        if isinstance(self.journal, JournalReader):
            self.journal.journal_backends = value

    # -- clock ----------------------------------------------------------------------------------
    def budget(self, timeout: float) -> float:
        return self.clock.budget(timeout)

    def now(self) -> float:
        return self.clock.now()

    # -- files ----------------------------------------------------------------------------------
    def path(self, path: str) -> str:
        return self.files.path(path)

    def read_bytes(self, path: str, limit: int, tail: bool = False) -> bytes:
        return self.files.read_bytes(path, limit, tail)

    def exists(self, path: str) -> bool:
        return self.files.exists(path)

    def is_dir(self, path: str) -> bool:
        return self.files.is_dir(path)

    def list_dir(self, path: str) -> "List[str]":
        return self.files.list_dir(path)

    def file_size(self, path: str) -> int:
        return self.files.file_size(path)

    def mtime(self, path: str) -> float:
        return self.files.mtime(path)

    def readlink(self, path: str) -> str:
        return self.files.readlink(path)

    def os_release(self) -> "Dict[str, str]":
        return self.files.os_release()

    # -- commands -------------------------------------------------------------------------------
    def run(
        self, argv: "Sequence[str]", timeout: float, limit: int = COMMAND_OUTPUT_LIMIT
    ) -> CommandResult:
        return self.commands.run(argv, timeout, limit)

    def runs_commands(self) -> bool:
        return self.commands.runs_commands()

    def machine(self) -> str:
        return self.commands.machine()

    def is_root(self) -> bool:
        return self.commands.is_root()

    # -- HTTP -----------------------------------------------------------------------------------
    def http(
        self,
        method: str,
        url: str,
        headers: "Mapping[str, str]",
        timeout: float,
        limit: int,
    ) -> HttpResponse:
        return self.web.http(method, url, headers, timeout, limit)

    # -- journal --------------------------------------------------------------------------------
    def journal_entries(
        self,
        matches: "Sequence[Sequence[str]]",
        since_s: "Optional[float]",
        max_entries: int,
        max_bytes: int,
        timeout: float,
    ) -> JournalRead:
        return self.journal.journal_entries(matches, since_s, max_entries, max_bytes, timeout)

    # -- processes ------------------------------------------------------------------------------
    def find_processes(
        self, names: "Sequence[str]", pids: "Sequence[int]" = ()
    ) -> "Tuple[ProcessInfo, ...]":
        return self.processes.find_processes(names, pids)

    # -- network --------------------------------------------------------------------------------
    def dns_query(self, server: str, name: str, timeout: float) -> DnsAnswer:
        return self.network.dns_query(server, name, timeout)

    def system_resolve(self, name: str, timeout: float) -> DnsAnswer:
        return self.network.system_resolve(name, timeout)

    def tcp_connect(self, address: str, port: int, timeout: float) -> TcpResult:
        return self.network.tcp_connect(address, port, timeout)

    def tls_handshake(self, address: str, port: int, server_name: str, timeout: float) -> TlsResult:
        return self.network.tls_handshake(address, port, server_name, timeout)
