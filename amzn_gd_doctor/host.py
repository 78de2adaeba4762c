"""The one seam to the host: files, commands, HTTP (IMDS), and, through mixins, the system
(journal, processes) and the network (DNS, TCP, TLS).

Every bound is enforced here, so a probe cannot forget one: file reads take a byte limit,
commands and HTTP calls a timeout that never runs past the run's deadline. ``root`` re-roots
every file operation (like sos ``--sysroot``), each path resolved inside the tree as if chrooted
there (rooted.py), so no link in the tree leads out of it; commands are never run against a
foreign root.
Needs no privilege of its own; what root-only files cannot be read surfaces as PermissionError.
"""

import contextlib
import errno
import io
import os
import stat
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

from . import rooted
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
# os-release as the standard orders it: /etc first, the vendor's /usr/lib copy as the fallback.
# Each is a few hundred bytes; 16 KiB bounds a hostile tree's file without cutting a real one.
OS_RELEASE_FILES = ("/etc/os-release", "/usr/lib/os-release")
OS_RELEASE_LIMIT = 16 * 1024


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
        self._root_real: Optional[str] = None

    # -- budget ---------------------------------------------------------------------------
    def budget(self, timeout: float) -> float:
        """The timeout a call may use: its own, but never past the run's deadline."""
        if self.deadline is None:
            return timeout
        return max(MIN_CALL_BUDGET_S, min(timeout, self.deadline - time.monotonic()))

    # -- files ----------------------------------------------------------------------------
    # Under --root every path is first resolved inside the tree (rooted.py), so no link in the
    # tree leads out of it; the live host reads paths as they are.
    def path(self, path: str) -> str:
        """Where ``path`` is on this machine: itself, or under --root the file it names inside
        the tree, its links followed as if the doctor were chrooted there."""
        if not self.root:
            return path
        return rooted.resolve(self.root, path)

    def read_bytes(self, path: str, limit: int, tail: bool = False) -> bytes:
        if not self.root:
            with open(path, "rb") as fh:
                return _read_bounded(fh, limit, tail)
        with os.fdopen(self._open_in_tree(path, stat.S_IFREG), "rb") as fh:
            return _read_bounded(fh, limit, tail)

    def exists(self, path: str) -> bool:
        """Whether anything is there, a dangling link included (``os.path.lexists``)."""
        if not self.root:
            return os.path.lexists(path)
        try:
            os.lstat(rooted.resolve(self.root, path, follow_last=False))
        except OSError:
            return False
        return True

    def is_dir(self, path: str) -> bool:
        if not self.root:
            return os.path.isdir(path)
        try:
            return stat.S_ISDIR(self._lstat_in_tree(path).st_mode)
        except OSError:
            return False

    def list_dir(self, path: str) -> "List[str]":
        if not self.root:
            return sorted(os.listdir(path))
        fd = self._open_in_tree(path, stat.S_IFDIR)
        try:
            return sorted(os.listdir(fd))
        finally:
            os.close(fd)

    def file_size(self, path: str) -> int:
        return (self._lstat_in_tree(path) if self.root else os.stat(path)).st_size

    def mtime(self, path: str) -> float:
        return (self._lstat_in_tree(path) if self.root else os.stat(path)).st_mtime

    def readlink(self, path: str) -> str:
        """The link's own text, unchanged (``/dev/null`` for a masked unit, also in a tree)."""
        if not self.root:
            return os.readlink(path)
        return os.readlink(rooted.resolve(self.root, path, follow_last=False))

    def _lstat_in_tree(self, path: str) -> os.stat_result:
        """The file ``path`` names in the tree; its links are followed by the resolver, so the
        last component is no link (lstat keeps it so if one were swapped in meanwhile)."""
        assert self.root is not None
        return os.lstat(rooted.resolve(self.root, path))

    def _open_in_tree(self, path: str, kind: int) -> int:
        """A descriptor on the file ``path`` names in the tree, of ``kind`` (S_IFREG or
        S_IFDIR). The kind is checked before the open, so no device node or FIFO of the tree
        is ever opened; the last component is opened without following a link; and the open
        file must be the one checked and lie inside the tree, so a link swapped into the tree
        between the resolution and the open is refused instead of read."""
        assert self.root is not None
        real = rooted.resolve(self.root, path)
        before = os.lstat(real)
        _check_kind(path, before.st_mode, kind)
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
        fd = os.open(real, flags | (os.O_DIRECTORY if kind == stat.S_IFDIR else 0))
        try:
            after = os.fstat(fd)
            where = _open_file_path(fd)
            if (after.st_dev, after.st_ino) != (before.st_dev, before.st_ino) or (
                where is not None and not rooted.inside(self._real_root(), where)
            ):
                raise OSError(errno.EXDEV, "changed while read: it led out of the tree", path)
        except BaseException:
            os.close(fd)
            raise
        return fd

    def _real_root(self) -> str:
        """The tree's top as the kernel names open files (links in DIR itself resolved), asked
        of the kernel rather than found by walking the directories above the tree."""
        if self._root_real is None:
            assert self.root is not None
            fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            try:
                self._root_real = _open_file_path(fd) or self.root
            finally:
                os.close(fd)
        return self._root_real

    def os_release(self) -> "Dict[str, str]":
        """OS identity through distro: the live /etc/os-release (else /usr/lib/os-release), or
        under --root the tree's, read through the tree's resolver (see ``_tree_distribution``)."""
        import distro

        try:
            if self.root:
                info = self._tree_distribution(distro)
            else:
                info = distro.LinuxDistribution(
                    include_lsb=False, include_uname=False, include_oslevel=False
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

    def _tree_distribution(self, distro: Any) -> Any:
        """distro's answer for the tree's files. Given ``root_dir``, distro opens
        ``DIR/etc/os-release``, ``DIR/etc/*-release`` and ``DIR/etc/debian_version`` itself and
        follows their links out of the tree (``/etc/os-release -> /usr/lib/os-release`` would
        name the host's file). So the files are read here, through the resolver, and handed to
        distro as its data sources; its normalisation (``ol`` -> ``oracle``, codenames, the
        version fallbacks) is kept. The tree's ``/etc/*-release`` files are not searched."""
        text = b""
        for candidate in OS_RELEASE_FILES:
            try:
                text = self.read_bytes(candidate, OS_RELEASE_LIMIT)
                break
            except (FileNotFoundError, NotADirectoryError):
                continue
        info = distro.LinuxDistribution(
            include_lsb=False,
            include_uname=False,
            include_oslevel=False,
            os_release_file=OS_RELEASE_FILES[0],
            distro_release_file=OS_RELEASE_FILES[0],
        )
        release = info._parse_os_release_content(io.StringIO(text.decode("utf-8")))
        debian = release.get("id") == "debian" or "debian" in release.get("id_like", "").split()
        # distro's data sources are cached properties; an instance attribute of the same name
        # is what their first use would have stored, so distro opens no file of its own.
        info.__dict__.update(
            _os_release_info=release,
            _distro_release_info={},
            _debian_version=self._debian_version() if debian else "",
        )
        return info

    def _debian_version(self) -> str:
        try:
            data = self.read_bytes("/etc/debian_version", OS_RELEASE_LIMIT)
        except (FileNotFoundError, NotADirectoryError):
            return ""
        return data.decode("ascii", "replace").partition("\n")[0].rstrip()

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


def _read_bounded(fh: "IO[bytes]", limit: int, tail: bool) -> bytes:
    if tail:
        try:
            size = os.fstat(fh.fileno()).st_size
            if size > limit:
                fh.seek(size - limit)
        except OSError:
            pass  # pseudo files without a size: read from the start
    return fh.read(limit)


def _check_kind(path: str, mode: int, kind: int) -> None:
    if stat.S_IFMT(mode) == kind:
        return
    if kind == stat.S_IFDIR:
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), path)
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
    raise OSError(errno.EINVAL, "not a regular file in the tree", path)


def _open_file_path(fd: int) -> "Optional[str]":
    """Where the kernel says an open descriptor's file is; None without a /proc to ask."""
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return None
