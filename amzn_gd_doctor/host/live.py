"""The machine the doctor runs on: its files, commands, IMDS, journal, processes and network,
its package managers and its systemd."""

import os
import time
from typing import Mapping, Optional, Tuple

from .budget import Budget
from .commands import LiveCommands
from .composed import ComposedHost
from .files import LiveFiles
from .http import LiveHttp
from .journal import JournalReader
from .network import LiveNetwork
from .packages import LivePackages
from .processes import ProcessTable
from .protocols import CommandsPart, FilesPart, PackagesPart, UnitsPart
from .units import LiveUnits


class LiveClock:
    """The present moment of the machine the doctor runs on."""

    def now(self) -> "Optional[float]":
        return time.time()


def live_parts(files: FilesPart, commands: CommandsPart) -> "Tuple[PackagesPart, UnitsPart]":
    """The package managers and systemd of a live machine, asked through its commands."""
    return LivePackages(files, commands), LiveUnits(files, commands)


class LiveHost(ComposedHost):
    """This machine, every call bounded by the one budget handed in (or made from
    ``deadline``, a time.monotonic() value)."""

    def __init__(
        self,
        env: "Optional[Mapping[str, str]]" = None,
        deadline: "Optional[float]" = None,
        budget: "Optional[Budget]" = None,
    ) -> None:
        shared = budget if budget is not None else Budget(deadline)
        environ: Mapping[str, str] = dict(os.environ if env is None else env)
        files = LiveFiles()
        commands = LiveCommands(shared, environ)
        super().__init__(
            env=environ,
            budget=shared,
            clock=LiveClock(),
            files=files,
            commands=commands,
            http=LiveHttp(shared),
            journal=JournalReader(files, shared, commands.run),
            processes=ProcessTable(files, shared),
            network=LiveNetwork(shared, environ),
            derive=live_parts,
        )
