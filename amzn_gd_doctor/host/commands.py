"""The commands part of the host: programs run with no input, a C locale, bounded output and
a timeout that never runs past the run's deadline.

``LiveCommands`` runs them on this machine; ``NoCommands`` is the part of a host that runs
nothing (a foreign root: the tree's programs are not this machine's, and this machine's know
nothing of the tree), so every question raises Unsupported. Probes ask no command directly:
the package database and units parts (packages.py, units.py) run them on a live host.
"""

import contextlib
import os
import subprocess
import threading
import time
from typing import IO, List, Mapping, Optional, Sequence, Tuple

from ..values import value
from .budget import Budget
from .errors import HostTimeout, Unsupported

# Bounds on command output: `systemctl show` is a few KiB, `rpm -ql` of the agent a few dozen
# lines; 1 MiB leaves ample room and keeps a runaway command from filling memory.
COMMAND_OUTPUT_LIMIT = 1024 * 1024
COMMAND_STDERR_LIMIT = 64 * 1024


@value
class CommandResult:
    argv: "Tuple[str, ...]"
    returncode: int
    stdout: bytes
    stderr: bytes
    truncated: bool = False
    not_found: bool = False


class LiveCommands:
    """Commands on the machine the doctor runs on, found on the host's PATH."""

    def __init__(self, budget: Budget, env: "Mapping[str, str]") -> None:
        self._budget = budget
        self._env = env

    def run(
        self, argv: "Sequence[str]", timeout: float, limit: "Optional[int]" = None
    ) -> CommandResult:
        bound = COMMAND_OUTPUT_LIMIT if limit is None else limit
        return run_bounded(argv, self._budget.budget(timeout), bound, self._env.get("PATH"))

    def machine(self) -> str:
        return os.uname().machine


class NoCommands:
    """A host that runs no command: each question says so, and why."""

    def __init__(self, against: str, machine_unknown: str) -> None:
        self._against = against  # "a foreign root (--root)": what no command is run against
        self._machine_unknown = machine_unknown

    def run(
        self, argv: "Sequence[str]", timeout: float, limit: "Optional[int]" = None
    ) -> CommandResult:
        raise Unsupported(f"`{argv[0]}` is not run against {self._against}")

    def machine(self) -> str:
        raise Unsupported(self._machine_unknown)


def run_bounded(
    argv: "Sequence[str]", timeout: float, limit: int, path: "Optional[str]" = None
) -> CommandResult:
    """Run a command with no input, a C locale and no pager: stdout kept up to ``limit``
    bytes (the rest drained and dropped), the whole process group killed at ``timeout``."""
    env = {
        "PATH": path or "/usr/sbin:/usr/bin:/sbin:/bin",
        "LC_ALL": "C",
        "SYSTEMD_PAGER": "",
        "SYSTEMD_COLORS": "0",
    }
    try:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            start_new_session=True,
        )
    except FileNotFoundError:
        return CommandResult(tuple(argv), 127, b"", b"", not_found=True)
    assert proc.stdout is not None and proc.stderr is not None
    out: List[bytes] = []
    err: List[bytes] = []
    readers = [
        threading.Thread(target=_drain, args=(proc.stdout, limit, out), daemon=True),
        threading.Thread(target=_drain, args=(proc.stderr, COMMAND_STDERR_LIMIT, err), daemon=True),
    ]
    deadline = time.monotonic() + timeout
    for t in readers:
        t.start()
    # Wait on the pipes first: Popen.wait(timeout) polls with sleeps that double up to 50 ms,
    # so a command that ended at 32 ms was noticed at 63 ms. The pipes close as the command
    # exits, and a join returns the moment they do; the wait after it is then immediate.
    for t in readers:
        t.join(max(0.0, deadline - time.monotonic()))
    try:
        proc.wait(timeout=max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        raise HostTimeout(f"`{' '.join(argv)}` did not finish within {timeout:.1f} s") from None
    for t in readers:  # a command that exited but left its pipes to a child of its own
        t.join(timeout=min(1.0, max(0.0, deadline - time.monotonic())))
    stdout = b"".join(out)
    return CommandResult(
        tuple(argv),
        proc.returncode,
        stdout[:limit],
        b"".join(err)[:COMMAND_STDERR_LIMIT],
        truncated=len(stdout) > limit,
    )


def _drain(stream: "IO[bytes]", limit: int, sink: "List[bytes]") -> None:
    """Keep what fits under the limit, then discard, so the child never blocks on a full pipe."""
    kept = 0
    while True:
        chunk = stream.read(65536)
        if not chunk:
            break
        if kept <= limit:
            sink.append(chunk)
            kept += len(chunk)
    stream.close()


def _kill_group(proc: "subprocess.Popen[bytes]") -> None:
    try:
        os.killpg(proc.pid, 9)
    except OSError:
        proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=1.0)
