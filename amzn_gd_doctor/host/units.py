"""The units part: systemd's view of a unit, handed to the probe as raw as it came.

Live (``LiveUnits``): `systemctl show UNIT -p ...`, unless systemd is not PID 1 here (a
container): /run/systemd/system exists only when it is (sd_booted), and systemctl would only
say it cannot operate, so it is not started. Under --root (``TreeUnits``): systemd is never
asked, the tree's is not running; the answer says that only the unit's files can be read, and
its runtime state is unknown. Needs no privilege.
"""

from typing import Sequence, Union

from ..values import value
from .commands import CommandResult
from .protocols import CommandsPart, FilesPart

SYSTEMD_BOOTED = "/run/systemd/system"
# systemctl answers in tens of milliseconds; 3 s allows for a loaded host without eating the
# run's deadline.
SHOW_TIMEOUT_S = 3.0


@value
class UnitShow:
    """systemd asked: ``systemctl show UNIT -p PROPERTY,...`` as it answered."""

    result: CommandResult


@value
class NoSystemd:
    """systemd is not PID 1 here: there is nothing to ask."""

    reason: str


@value
class UnitFilesOnly:
    """systemd is not asked: only the unit's files can be read, its runtime state is unknown."""

    note: str


UnitEvidence = Union[UnitShow, NoSystemd, UnitFilesOnly]


class LiveUnits:
    def __init__(self, files: FilesPart, commands: CommandsPart) -> None:
        self._files = files
        self._commands = commands

    def show(self, unit: str, properties: "Sequence[str]") -> UnitEvidence:
        if not self._files.exists(SYSTEMD_BOOTED):
            return NoSystemd(f"systemd is not running as PID 1 here ({SYSTEMD_BOOTED} is missing)")
        argv = ["systemctl", "show", unit, "-p", ",".join(properties)]
        return UnitShow(self._commands.run(argv, SHOW_TIMEOUT_S))


class TreeUnits:
    """A foreign root's units (--root): its systemd is not running, so it is never asked."""

    def show(self, unit: str, properties: "Sequence[str]") -> UnitEvidence:
        return UnitFilesOnly("under --root the unit's runtime state is unknown")
