"""The one seam to the host: files, commands, HTTP (IMDS), and, through mixins, the system
(journal, processes) and the network (DNS, TCP, TLS).

Every bound is enforced here, so a probe cannot forget one: file reads take a byte limit,
commands and HTTP calls a timeout that never runs past the run's deadline. ``root`` re-roots
every file read (like sos ``--sysroot``); commands are never run against a foreign root.
Needs no privilege of its own; what root-only files cannot be read surfaces as PermissionError.
"""

import contextlib
import os
import subprocess
import sys
import threading
import time
from typing import IO, Any, Dict, List, Mapping, Optional, Sequence, Tuple

# vermin does not read the version guard, hence its markers on the two imports.
if sys.version_info >= (3, 8):
    from typing import Protocol  # novermin
else:  # Python 3.6 and 3.7: the backport, installed by an environment marker
    from typing_extensions import Protocol  # novermin

from .host_http import HttpResponse, plain_request, tls_request
from .host_net import DnsAnswer, NetHostMixin, TcpResult, TlsResult
from .host_system import JournalRead, ProcessInfo, SystemHostMixin
from .values import value

# Bounds on command output: `systemctl show` is a few KiB, `rpm -ql` of the agent a few dozen
# lines; 1 MiB leaves ample room and keeps a runaway command from filling memory.
COMMAND_OUTPUT_LIMIT = 1024 * 1024
COMMAND_STDERR_LIMIT = 64 * 1024
# The shortest budget any call gets, so a call made just before the deadline still fails fast
# and cleanly instead of with a zero or negative timeout.
MIN_CALL_BUDGET_S = 0.05


class Unsupported(Exception):
    """The host cannot answer this kind of question (for example a command under --root)."""


class CouldNotLook(Exception):
    """A probe could not observe what it was after; the message says why."""


class HostTimeout(Exception):
    """A call ran out of time."""


@value
class CommandResult:
    argv: "tuple[str, ...]"
    returncode: int
    stdout: bytes
    stderr: bytes
    truncated: bool = False
    not_found: bool = False


class Host(Protocol):
    """What probes may ask. A recorded host replays the answers of a live one."""

    root: "Optional[str]"
    env: "Mapping[str, str]"

    def read_bytes(self, path: str, limit: int, tail: bool = False) -> bytes: ...
    def exists(self, path: str) -> bool: ...
    def is_dir(self, path: str) -> bool: ...
    def list_dir(self, path: str) -> "List[str]": ...
    def file_size(self, path: str) -> int: ...
    def mtime(self, path: str) -> float: ...
    def readlink(self, path: str) -> str: ...
    def run(self, argv: "Sequence[str]", timeout: float, limit: int = ...) -> CommandResult: ...
    def http(
        self,
        method: str,
        url: str,
        headers: "Mapping[str, str]",
        timeout: float,
        limit: int,
    ) -> HttpResponse: ...
    def machine(self) -> str: ...
    def os_release(self) -> "Dict[str, str]": ...
    def is_root(self) -> bool: ...
    def now(self) -> float: ...
    def budget(self, timeout: float) -> float: ...
    def path(self, path: str) -> str: ...
    # system (host_system.py)
    def journal_entries(
        self,
        matches: "Sequence[Sequence[str]]",
        since_s: "Optional[float]",
        max_entries: int,
        max_bytes: int,
        timeout: float,
    ) -> JournalRead: ...
    def find_processes(
        self, names: "Sequence[str]", pids: "Sequence[int]" = ()
    ) -> "Tuple[ProcessInfo, ...]": ...
    # network (host_net.py)
    def dns_query(self, server: str, name: str, timeout: float) -> DnsAnswer: ...
    def system_resolve(self, name: str, timeout: float) -> DnsAnswer: ...
    def tcp_connect(self, address: str, port: int, timeout: float) -> TcpResult: ...
    def tls_handshake(
        self, address: str, port: int, server_name: str, timeout: float
    ) -> TlsResult: ...


class LiveHost(SystemHostMixin, NetHostMixin):
    """The machine the doctor runs on, optionally with files read from under ``root``."""

    def __init__(
        self,
        root: "Optional[str]" = None,
        env: "Optional[Mapping[str, str]]" = None,
        deadline: "Optional[float]" = None,
    ) -> None:
        self.root = os.path.abspath(root) if root else None
        self.env: Mapping[str, str] = dict(os.environ if env is None else env)
        self.deadline = deadline  # time.monotonic() value, or None for no deadline
        self._session: Any = None
        self._session_lock = threading.Lock()

    # -- budget ---------------------------------------------------------------------------
    def budget(self, timeout: float) -> float:
        """The timeout a call may use: its own, but never past the run's deadline."""
        if self.deadline is None:
            return timeout
        return max(MIN_CALL_BUDGET_S, min(timeout, self.deadline - time.monotonic()))

    # -- files ----------------------------------------------------------------------------
    def path(self, path: str) -> str:
        if not self.root:
            return path
        return os.path.join(self.root, path.lstrip("/"))

    def read_bytes(self, path: str, limit: int, tail: bool = False) -> bytes:
        with open(self.path(path), "rb") as fh:
            if tail:
                try:
                    size = os.fstat(fh.fileno()).st_size
                    if size > limit:
                        fh.seek(size - limit)
                except OSError:
                    pass  # pseudo files without a size: read from the start
            return fh.read(limit)

    def exists(self, path: str) -> bool:
        return os.path.lexists(self.path(path))

    def is_dir(self, path: str) -> bool:
        return os.path.isdir(self.path(path))

    def list_dir(self, path: str) -> "List[str]":
        return sorted(os.listdir(self.path(path)))

    def file_size(self, path: str) -> int:
        return os.stat(self.path(path)).st_size

    def mtime(self, path: str) -> float:
        return os.stat(self.path(path)).st_mtime

    def readlink(self, path: str) -> str:
        return os.readlink(self.path(path))

    def os_release(self) -> "Dict[str, str]":
        """OS identity through distro, which honours the same root (etc, then usr/lib)."""
        import distro

        try:
            info = distro.LinuxDistribution(
                root_dir=self.root,
                include_lsb=False,
                include_uname=False,
                include_oslevel=False,
            )
            return {
                "id": info.id(),
                "version_id": info.version(best=False),
                "name": info.name(pretty=True),
                "like": info.like(),
                "codename": info.codename(),
                "raw_id": info.os_release_attr("id"),
            }
        except UnicodeDecodeError as exc:
            raise ValueError(f"os-release is not UTF-8 text ({exc.reason})") from exc

    # -- commands -------------------------------------------------------------------------
    def run(
        self, argv: "Sequence[str]", timeout: float, limit: int = COMMAND_OUTPUT_LIMIT
    ) -> CommandResult:
        if self.root:
            raise Unsupported(f"`{argv[0]}` is not run against a foreign root (--root)")
        return run_bounded(argv, self.budget(timeout), limit, self.env.get("PATH"))

    def machine(self) -> str:
        if self.root:
            raise Unsupported("the architecture of a foreign root is not known from its files")
        return os.uname().machine

    def is_root(self) -> bool:
        return os.geteuid() == 0

    def now(self) -> float:
        return time.time()

    # -- HTTP ---------------------------------------------------------------------------------
    def _requests_session(self) -> Any:
        with self._session_lock:
            if self._session is None:
                import requests

                session = requests.Session()
                # IMDS must never go through a proxy: ignore every proxy variable and .netrc.
                session.trust_env = False
                session.proxies = {}
                self._session = session
            return self._session

    def http(
        self,
        method: str,
        url: str,
        headers: "Mapping[str, str]",
        timeout: float,
        limit: int,
    ) -> HttpResponse:
        budget = self.budget(timeout)
        if url.lower().startswith("https://"):
            return tls_request(self._requests_session(), method, url, headers, budget, limit)
        return plain_request(method, url, headers, budget, limit)


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
