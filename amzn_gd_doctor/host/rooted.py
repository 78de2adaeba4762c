"""A foreign root (``--root DIR``, like sos ``--sysroot`` and distro's ``root_dir``): everything
that mode means, in this one class and the parts it is built of.

- files: every path resolved inside the tree as if chrooted there (files.TreeFiles, tree.py);
- os-release: the tree's, read through that resolver;
- commands: none is run (the tree's programs are not this machine's): Unsupported; the only
  program ever started is journalctl, on the tree's own journal files;
- packages: dpkg's database read from its status file; an rpm database is not read
  (packages.TreePackages);
- units: systemd is not asked, only the unit's files can be read (units.TreeUnits);
- journal: the tree's persistent journal, no time window of "now";
- processes: the tree's captured ``/proc``, Unsupported when none was captured;
- network: not reachable from here: Unsupported;
- clock: the tree has no present moment (``now`` is None) and time is read from files;
- HTTP (IMDS): as on the live machine; the IMDS probes decide from the run's options.
"""

import os
from typing import Mapping, Optional, Sequence, Tuple

from .budget import Budget
from .commands import CommandResult, NoCommands, run_bounded
from .composed import ComposedHost
from .errors import Unsupported
from .files import TreeFiles
from .http import LiveHttp
from .journal import JournalReader
from .network import NoNetwork
from .packages import TreePackages
from .processes import ProcessTable
from .protocols import CommandsPart, FilesPart, PackagesPart, UnitsPart
from .units import TreeUnits


class TreeClock:
    """A tree has no present moment: its times come from its files."""

    def now(self) -> "Optional[float]":
        return None


def tree_parts(files: FilesPart, commands: CommandsPart) -> "Tuple[PackagesPart, UnitsPart]":
    """A tree's package database and units, read from its files alone."""
    return TreePackages(files), TreeUnits()


def _journalctl_on_files(argv: "Sequence[str]", timeout: float, limit: int) -> CommandResult:
    """Run journalctl on a tree's journal files: the only command ever run under --root."""
    if not argv or argv[0] != "journalctl":
        raise Unsupported(f"`{argv[0] if argv else ''}` is not run against a foreign root (--root)")
    return run_bounded(argv, timeout, limit)


class RootedHost(ComposedHost):
    """The tree at ``root`` as a host."""

    def __init__(
        self,
        root: str,
        env: "Optional[Mapping[str, str]]" = None,
        deadline: "Optional[float]" = None,
        budget: "Optional[Budget]" = None,
    ) -> None:
        shared = budget if budget is not None else Budget(deadline)
        environ: Mapping[str, str] = dict(os.environ if env is None else env)
        files = TreeFiles(root)
        self.root = files.root
        super().__init__(
            env=environ,
            budget=shared,
            clock=TreeClock(),
            files=files,
            commands=NoCommands(
                "a foreign root (--root)",
                "the architecture of a foreign root is not known from its files",
            ),
            http=LiveHttp(shared),
            journal=JournalReader(files, shared, _journalctl_on_files, tree=True),
            processes=ProcessTable(files, shared, tree=True),
            network=NoNetwork("the network path is only tested live, not against a foreign root"),
            derive=tree_parts,
        )
