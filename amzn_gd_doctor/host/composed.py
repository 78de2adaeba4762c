"""A host made of parts: one object for each protocol of protocols.py, held as an attribute of
that part's name, and the higher-level parts (packages, units) built over its files and commands
by the host's ``derive``.

The parts share the one ``Budget`` the host was built with, so the run's deadline, given at
construction, bounds every part's calls. No part knows of another except through what it was
handed.
"""

from typing import TYPE_CHECKING, Dict, Mapping, Tuple

from .budget import Budget
from .journal import JournalReader
from .protocols import (
    RECORDED,
    ClockPart,
    CommandsPart,
    Derive,
    FilesPart,
    HttpPart,
    JournalPart,
    NetworkPart,
    ProcessesPart,
    method_names,
)

_METHOD_PARTS: "Dict[str, str]" = {}


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
        derive: Derive,
    ) -> None:
        self.env = env
        self.budget = budget
        self.clock = clock
        self.files = files
        self.commands = commands
        self.web = http
        self.journal = journal
        self.processes = processes
        self.network = network
        self.derive = derive
        self.packages, self.units = derive(files, commands)

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

    if not TYPE_CHECKING:  # for tests and scripts only: the package's code names the part

        def __getattr__(self, name: str) -> object:
            """``host.read_bytes(...)`` for ``host.files.read_bytes(...)``: each recorded part's
            questions, found through protocols.py."""
            if not _METHOD_PARTS:
                _METHOD_PARTS.update(
                    (method, part)
                    for part, protocol in RECORDED
                    for method in method_names(protocol)
                )
            part = _METHOD_PARTS.get(name)
            if part is None or name.startswith("_"):
                raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")
            return getattr(getattr(self, part), name)
