"""A foreign root (``--root DIR``, like sos ``--sysroot`` and distro's ``root_dir``): everything
that mode means, in this one class.

- files: every path resolved inside the tree as if chrooted there (files.TreeFiles, tree.py);
- os-release: the tree's, read through that resolver;
- commands: none is run (the tree's programs are not this machine's): Unsupported, and the
  probe reads the tree's files instead; the only program ever started is journalctl, on the
  tree's own journal files;
- journal: the tree's persistent journal, no time window of "now";
- processes: the tree's captured ``/proc``, Unsupported when none was captured;
- network: not reachable from here: Unsupported;
- clock: the tree has no present moment, so ``now`` is Unsupported and time is read from files;
- HTTP (IMDS): as on the live machine; the IMDS probes decide from the run's options.
"""

import os
from typing import Mapping, Optional, Sequence

from .budget import Budget
from .commands import CommandResult, NoCommands, run_bounded
from .composed import ComposedHost
from .errors import Unsupported
from .files import TreeFiles
from .http import LiveHttp
from .journal import JournalReader
from .network import NoNetwork
from .processes import ProcessTable


class TreeClock:
    """The run's budget; no present moment for the tree."""

    def __init__(self, budget: Budget) -> None:
        self._budget = budget

    def budget(self, timeout: float) -> float:
        return self._budget.budget(timeout)

    def now(self) -> float:
        raise Unsupported("a foreign root has no present moment: its times come from its files")


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
            clock=TreeClock(shared),
            files=files,
            commands=NoCommands(
                "a foreign root (--root)",
                "the architecture of a foreign root is not known from its files",
            ),
            http=LiveHttp(shared),
            journal=JournalReader(files, shared, _journalctl_on_files, tree=True),
            processes=ProcessTable(files, shared, tree=True),
            network=NoNetwork("the network path is only tested live, not against a foreign root"),
        )
