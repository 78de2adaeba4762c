"""Shared test helpers: a real IMDSv2-behaving HTTP server for loopback, a hermetic way to run
the CLI, and the golden files of the renderers. Fixtures that start these live in conftest.py.

Network traffic in tests goes to loopback only: every doctor run gets an IMDS endpoint on
127.0.0.1 (or IMDS disabled) from these helpers.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import shlex
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "fixtures"
ROOTS = FIXTURES / "roots"
GOLDEN = FIXTURES / "golden"

IDENTITY = {
    "accountId": "123456789012",
    "architecture": "x86_64",
    "availabilityZone": "us-east-1a",
    "billingProducts": None,
    "devpayProductCodes": None,
    "marketplaceProductCodes": None,
    "imageId": "ami-0abcdef1234567890",
    "instanceId": "i-0123456789abcdef0",
    "instanceType": "t3.micro",
    "kernelId": None,
    "pendingTime": "2026-11-20T10:00:00Z",
    "privateIp": "10.0.1.23",
    "ramdiskId": None,
    "region": "us-east-1",
    "version": "2017-09-30",
}
MAC = "0e:12:34:56:78:9a"


# -- IMDS -------------------------------------------------------------------------------------
@dataclass
class ImdsServer:
    """A loopback IMDS with IMDSv2 semantics. Tests change the attributes to pick a behaviour:

    - ``tokens``: "optional" (v2 tokens work, plain GETs too), "required" (GET without a valid
      token is 401), "off" (the token PUT answers ``token_status``, e.g. 403/404/405).
    - ``put_delay``/``get_delay``: seconds before answering (hop-limit and slow IMDS).
    - ``tags``: None means tags in metadata are off (404); a dict lists instance tags.
    - ``overrides``: path -> (status, body) replacing or adding a metadata path.
    - ``token_body``: bytes the token PUT answers with instead of a token; ``path_delays``:
      path -> seconds one GET path waits before answering.
    - ``requests``: every (method, path, headers) received, for assertions; ``peers`` the
      client port of each.
    """

    port: int = 0
    tokens: str = "optional"
    token_status: int = 404
    put_delay: float = 0.0
    get_delay: float = 0.0
    identity: Dict[str, object] = field(default_factory=lambda: dict(IDENTITY))
    vpc_cidrs: Tuple[str, ...] = ("10.0.0.0/16",)
    tags: Optional[Dict[str, str]] = None
    overrides: Dict[str, Tuple[int, bytes]] = field(default_factory=dict)
    # A token body to hand out instead of a real token, and per-path delays for GETs.
    token_body: Optional[bytes] = None
    path_delays: Dict[str, float] = field(default_factory=dict)
    requests: List[Tuple[str, str, Dict[str, str]]] = field(default_factory=list)
    # The client's port of every request, in order: one connection per request shows no reuse.
    peers: List[int] = field(default_factory=list)
    issued: Dict[str, float] = field(default_factory=dict)
    # GETs being answered right now, and the most seen at once.
    in_flight: int = 0
    most_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def metadata(self) -> Dict[str, Tuple[int, bytes]]:
        base = f"/latest/meta-data/network/interfaces/macs/{MAC}/"
        paths = {
            "/latest/dynamic/instance-identity/document": (
                200,
                json.dumps(self.identity, indent=2).encode(),
            ),
            "/latest/meta-data/": (200, b"ami-id\nhostname\ninstance-id\nmac\nnetwork/\n"),
            "/latest/meta-data/mac": (200, MAC.encode()),
            base + "vpc-id": (200, b"vpc-0a1b2c3d4e5f60718"),
            base + "subnet-id": (200, b"subnet-0123456789abcdef0"),
            base + "vpc-ipv4-cidr-blocks": (200, "\n".join(self.vpc_cidrs).encode()),
        }
        if self.tags is not None:
            paths["/latest/meta-data/tags/instance"] = (200, "\n".join(self.tags).encode())
            for key, value in self.tags.items():
                paths[f"/latest/meta-data/tags/instance/{key}"] = (200, value.encode())
        paths.update(self.overrides)
        return paths


class _ImdsHandler(BaseHTTPRequestHandler):
    server: _ImdsHTTPServer
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:  # keep pytest output clean
        pass

    def _send(self, status: int, body: bytes = b"") -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_PUT(self) -> None:
        imds = self.server.imds
        imds.requests.append(("PUT", self.path, dict(self.headers)))
        imds.peers.append(self.client_address[1])
        time.sleep(imds.put_delay)
        if self.path != "/latest/api/token":
            return self._send(405 if self.path.startswith("/latest/meta-data") else 404)
        if imds.tokens == "off":
            return self._send(imds.token_status)
        if "X-Forwarded-For" in self.headers:
            return self._send(403)
        ttl = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds", "")
        if not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
            return self._send(400)
        if imds.token_body is not None:
            return self._send(200, imds.token_body)
        token = secrets.token_urlsafe(42)
        imds.issued[token] = time.monotonic() + int(ttl)
        self._send(200, token.encode())

    def do_GET(self) -> None:
        imds = self.server.imds
        imds.requests.append(("GET", self.path, dict(self.headers)))
        imds.peers.append(self.client_address[1])
        with imds.lock:
            imds.in_flight += 1
            imds.most_in_flight = max(imds.most_in_flight, imds.in_flight)
        time.sleep(imds.get_delay + imds.path_delays.get(self.path, 0.0))
        with imds.lock:
            imds.in_flight -= 1
        token = self.headers.get("X-aws-ec2-metadata-token")
        if token is not None and imds.issued.get(token, 0) < time.monotonic():
            return self._send(401)
        if token is None and imds.tokens == "required":
            return self._send(401)
        found = imds.metadata().get(self.path)
        if found is None:
            return self._send(
                404, b'<?xml version="1.0"?><html><body>404 - Not Found</body></html>'
            )
        self._send(*found)


class _ImdsHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    imds: ImdsServer


# -- privilege ---------------------------------------------------------------------------------
# Root without the capabilities that bypass file permissions: a real "not root" for file reads
# that keeps the interpreter under /root usable.
DROP_READ_CAPS = [
    "setpriv",
    "--inh-caps=-dac_override,-dac_read_search",
    "--bounding-set=-dac_override,-dac_read_search",
]


# -- running the CLI --------------------------------------------------------------------------
def doctor_env(**overrides: str) -> Dict[str, str]:
    """A hermetic environment: no AWS or proxy variables from the developer's shell."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/root"),
        "LANG": "C.UTF-8",
    }
    if not os.environ.get(DOCTOR_COMMAND_ENV):
        env["PYTHONPATH"] = str(REPO)
    env.update(overrides)
    return env


# The CLI corpus runs the doctor from this checkout by default. Set this variable to a command
# (split like a shell would) to run it through an installed package or the one-file build on
# another interpreter instead, e.g. "/opt/venv36/bin/amzn-gd-doctor" or
# "python3.6 dist/amzn-gd-doctor.pyz".
DOCTOR_COMMAND_ENV = "AMZN_GD_DOCTOR_COMMAND"

# A number of seconds: when set, every doctor run that judges only a --root tree (run_cli,
# hence every scenario in tests/scenarios.py) gets `--deadline N` instead of the doctor's 10 s.
# It exists for the build replayed under emulation: under qemu-user on a loaded 2-core machine
# a run takes several times longer than natively, probes still running at 10 s came out "timed
# out (unfinished at the run deadline)" and trees differed from their goldens. Nothing in such a
# run waits on the network (IMDS is disabled and the rooted host has no network part), so a
# longer deadline changes no verdict, only whether slow probes finish before it.
TEST_DEADLINE_ENV = "AMZN_GD_DOCTOR_TEST_DEADLINE"
# How long, beyond that deadline, run_cli waits for the process before calling it hung: an
# emulated interpreter's start-up and the rendering after the deadline (an emulated run takes
# about 1.4 s of CPU in all).
TEST_DEADLINE_SLACK_S = 30.0


@contextlib.contextmanager
def exclusive(name: str) -> Iterator[None]:
    """One pytest-xdist worker at a time does NAME (a build into dist/ or build/, a tree)."""
    (REPO / "build").mkdir(exist_ok=True)
    with open(REPO / "build" / f".{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def floor_python() -> str:
    """pyenv's newest CPython 3.6 (the floor) when installed, else this interpreter."""
    found = sorted(Path.home().glob(".pyenv/versions/3.6.*/bin/python3"))
    return str(found[-1]) if found else sys.executable


def doctor_argv(python: Optional[str] = None) -> List[str]:
    """The command that starts the doctor under test."""
    command = os.environ.get(DOCTOR_COMMAND_ENV)
    if command and python is None:
        return shlex.split(command)
    return [python or sys.executable, "-m", "amzn_gd_doctor"]


def deadline_args() -> List[str]:
    """`--deadline N` from TEST_DEADLINE_ENV, or nothing (the doctor's default) when it is unset
    or empty. A value the CLI would refuse stops the test at once, with the variable named: a
    typo must not leave emulated runs quietly at the default."""
    raw = os.environ.get(TEST_DEADLINE_ENV, "").strip()
    if not raw:
        return []
    from amzn_gd_doctor.model import MAX_DEADLINE_S

    try:
        seconds = float(raw)
    except ValueError:
        seconds = float("nan")
    if not 0 < seconds <= MAX_DEADLINE_S:  # NaN fails the comparison too
        pytest.fail(
            f"{TEST_DEADLINE_ENV}={raw!r}: expected a number of seconds, more than 0 and at most "
            f"{MAX_DEADLINE_S:g} (the range of the doctor's --deadline)",
            pytrace=False,
        )
    return ["--deadline", f"{seconds:g}"]


def _judges_only_a_tree(args: Sequence[str], env: Mapping[str, str]) -> bool:
    """A run over a --root tree with IMDS disabled and no deadline of its own: nothing in it
    waits on the network, so TEST_DEADLINE_ENV may lengthen its deadline without changing a
    verdict (a run given --deadline is about that deadline, and keeps it)."""

    def given(option: str) -> bool:
        return any(a == option or a.startswith(option + "=") for a in args)

    imds_off = env.get("AWS_EC2_METADATA_DISABLED", "").lower() == "true"
    return given("--root") and imds_off and not given("--imds-endpoint") and not given("--deadline")


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str
    elapsed: float

    def json(self) -> Dict[str, object]:
        return dict(json.loads(self.stdout))


def run_cli(
    *args: str,
    env: Optional[Dict[str, str]] = None,
    timeout: float = 60,
    python: Optional[str] = None,
) -> CliResult:
    """Run `python -m amzn_gd_doctor ARGS` as a real process, the way operators do. A run that
    judges only a --root tree gets the deadline of TEST_DEADLINE_ENV when it is set."""
    run_env = env if env is not None else doctor_env(AWS_EC2_METADATA_DISABLED="true")
    argv = list(args)
    if _judges_only_a_tree(argv, run_env):
        longer = deadline_args()
        if longer:
            argv += longer
            timeout = max(timeout, float(longer[1]) + TEST_DEADLINE_SLACK_S)
    started = time.monotonic()
    proc = subprocess.run(
        [*doctor_argv(python), *argv],
        env=run_env,
        cwd=str(REPO),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr, time.monotonic() - started)


# -- golden reports ---------------------------------------------------------------------------
# Whole-output goldens are kept only for the renderers and the machine formats
# (fixtures/golden/render, fleet, guardduty); scenarios declare what they are about instead
# (tests/scenarios.py).
def check_golden(request: pytest.FixtureRequest, relpath: str, actual: str) -> None:
    """Compare with fixtures/golden/RELPATH; `pytest --update-golden` rewrites it."""
    path = GOLDEN / relpath
    if request.config.getoption("--update-golden"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        return
    assert path.exists(), f"no golden file {path}; create it with `pytest --update-golden`"
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, f"report differs from {path} (rerun with --update-golden and review)"


def null_device(path: Path) -> Path:
    """A character device like /dev/null (major 1, minor 3) at ``path``: an output target that
    must be written into, never replaced. Making one needs CAP_MKNOD (root here)."""
    import stat

    try:
        os.mknod(str(path), stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("mknod of a character device needs CAP_MKNOD (run the suite as root)")
    return path


def read_fifo_in_background(path: Path) -> Callable[[], bytes]:
    """A FIFO at ``path`` with a reader thread; the returned call waits for the writer to close
    it and gives what was written."""
    os.mkfifo(str(path))
    got: List[bytes] = []
    thread = threading.Thread(target=lambda: got.append(path.read_bytes()), daemon=True)
    thread.start()

    def result() -> bytes:
        thread.join(timeout=60)
        assert got, "nothing was written to the FIFO"
        return got[0]

    return result


def shown_in(fragment: str, text: str) -> bool:
    """Whether a text report shows FRAGMENT (a check's summary), however its lines were wrapped:
    render/text.py breaks lines at spaces, so both are compared with every run of white space
    made one space."""
    return " ".join(fragment.split()) in " ".join(text.split())


def private_mount_namespace() -> List[str]:
    """unshare's argv for a private mount namespace this user may make, or skip the test."""
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("needs unshare (util-linux) for a private mount namespace")
    flags = ["--mount", "--propagation", "private"]
    if os.geteuid() != 0:
        flags = ["--user", "--map-root-user"] + flags
    probe = subprocess.run([unshare, *flags, "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"unshare cannot make a private mount namespace here: {probe.stderr.strip()}")
    return [unshare, *flags]
