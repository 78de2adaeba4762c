"""End-to-end harness: a throwaway container booted by a real systemd under systemd-nspawn.

The container is the host's own OS tree booted with ``--volatile=yes`` (a tmpfs root, the
host's ``/usr`` read-only, an empty ``/etc`` and ``/var``), so nothing has to be downloaded and
nothing the container does reaches the host's files. ``AMZN_GD_DOCTOR_E2E_TREE=DIR`` boots
another tree instead (see tests/e2e/build_tree.sh). It has ``--private-network``: its only
interface is its own loopback.

Commands run inside with ``nsenter --all`` on the container's PID 1 (``systemd-run --machine``
and ``machinectl`` need the container registered with systemd-machined, and this harness
registers nothing). Files are placed through ``/proc/<leader>/root``. Teardown kills the
container's PID 1, which takes every process of its PID namespace with it.

Needs root, ``systemd-nspawn`` (package systemd-container), ``nsenter`` (util-linux) and a tree
with systemd in it (package systemd). See docs/e2e.md.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Sequence

import pytest

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "fixtures" / "e2e"
TREE = os.environ.get("AMZN_GD_DOCTOR_E2E_TREE", "/")

# A volatile boot of the host tree reaches running in about 0.5 s here; 30 s is far beyond
# any healthy boot and still short enough that a hung boot fails the test quickly.
BOOT_TIMEOUT_S = 30.0
# SIGKILL of the container's PID 1 ends nspawn in about 0.1 s; 10 s before nspawn is killed too.
TEARDOWN_TIMEOUT_S = 10.0
# Every command inside is short (systemctl, cat, the doctor with --deadline 8).
COMMAND_TIMEOUT_S = 30.0
# How often state inside the container is polled while waiting for it to change.
POLL_S = 0.1
# Console output kept for a failure message: the end of the boot log is what explains it.
LOG_TAIL_CHARS = 4000

# The stand-in agent: fixtures/e2e/standin_agent.py run by one of fixtures/e2e/*.service.
UNIT = "amazon-guardduty-agent.service"
AGENT_DIR = "/opt/amazon-guardduty"
AGENT_BIN = f"{AGENT_DIR}/bin/amazon-guardduty"
AGENT_DEB = "/root/amazon-guardduty-agent.deb"
# A version that supports this kernel and OS, so only the unit's state is under test.
AGENT_VERSION = "1.17.1"
AGENT_CONTROL = f"""Package: amazon-guardduty-agent
Version: {AGENT_VERSION}
Architecture: all
Maintainer: amzn-gd-doctor e2e tests <e2e@example.invalid>
Description: stand-in for the GuardDuty security agent (amzn-gd-doctor e2e tests)
"""
# The doctor's own run deadline inside the container (the CLI's --deadline).
DOCTOR_DEADLINE_S = "8"

FACTS_SCRIPT = """
import json, sys
from amzn_gd_doctor import doctor, values
from amzn_gd_doctor.host import LiveHost

def plain(v):  # a value class (amzn_gd_doctor.values) as JSON-ready dicts and lists
    if hasattr(type(v), values.FIELDS):
        return {name: plain(getattr(v, name)) for name in values.fields(v)}
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    return v

opts = doctor.Options(deadline=float(sys.argv[1]), dns_servers=("127.0.0.1",))
report = doctor.run(LiveHost(), opts)
out = {f.probe_id: {"status": f.status.value, "reason": f.reason,
                    "value": plain(f.value) if hasattr(type(f.value), values.FIELDS) else None}
       for f in report.facts}
print(json.dumps(out, default=str))
"""

# Enabled at install, as the agent's package does; started by the test.
AGENT_POSTINST = f"""#!/bin/sh
set -e
systemctl enable {UNIT}
"""

CONTAINER_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def nspawn_unavailable(tree: str = TREE) -> Optional[str]:
    """Why systemd-nspawn cannot boot a container here, naming the missing piece; None if it can.

    Only missing components are reasons to skip: once these hold, a container that does not
    boot is a test failure."""
    if shutil.which("systemd-nspawn") is None:
        return "systemd-nspawn not installed (apt package systemd-container)"
    for tool, package in (
        ("nsenter", "util-linux"),
        ("unshare", "util-linux"),
        ("dpkg-deb", "dpkg"),
    ):
        if shutil.which(tool) is None:
            return f"{tool} not installed (apt package {package})"
    if os.geteuid() != 0:
        return f"systemd-nspawn needs root; running as uid {os.geteuid()}"
    if not any(
        os.path.exists(os.path.join(tree, p))
        for p in ("usr/lib/systemd/systemd", "lib/systemd/systemd")
    ):
        return f"no systemd in the container tree {tree} (apt package systemd)"
    probe = subprocess.run(
        ["unshare", "--mount", "--pid", "--uts", "--ipc", "--net", "--fork", "true"],
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
    )
    if probe.returncode != 0:
        return f"cannot create mount/pid/uts/ipc/net namespaces: {probe.stderr.strip()}"
    return None


def _bind_paths() -> List[str]:
    """The repository and the Python running the tests, at the same paths inside."""
    paths = {str(REPO), os.path.realpath(sys.prefix), os.path.realpath(sys.base_prefix)}
    keep: List[str] = []
    for p in sorted(paths):
        if TREE == "/" and (p == "/usr" or p.startswith("/usr/")):
            continue  # the volatile boot of the host tree has the host's /usr already
        if any(p.startswith(k + "/") for k in keep):
            continue
        keep.append(p)
    return keep


def _ns_pid(pid: int) -> Optional[List[str]]:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("NSpid:"):
            return line.split()[1:]
    return None


def _children(pid: int) -> List[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            found += [int(c) for c in (task / "children").read_text().split()]
    return found


@dataclass
class DoctorRun:
    returncode: int
    report: Dict[str, object]
    stderr: str
    elapsed: float

    def check(self, rule_id: str) -> Dict[str, object]:
        for item in self.report["checks"]:  # type: ignore[attr-defined]
            if item["id"] == rule_id:
                return dict(item)
        raise AssertionError(f"no check {rule_id} in the report")

    def fact(self, probe_id: str) -> Dict[str, object]:
        for item in self.report["facts"]:  # type: ignore[attr-defined]
            if item["id"] == probe_id:
                return dict(item)
        raise AssertionError(f"no fact {probe_id} in the report")


@dataclass
class Container:
    name: str
    proc: subprocess.Popen  # type: ignore[type-arg]
    log: Path
    leader: int = 0
    boot_s: float = 0.0

    # -- commands --------------------------------------------------------------------------
    def run(
        self,
        argv: Sequence[str],
        env: Optional[Dict[str, str]] = None,
        timeout: float = COMMAND_TIMEOUT_S,
        check: bool = True,
    ) -> subprocess.CompletedProcess:  # type: ignore[type-arg]
        """Run argv in all of the container's namespaces, with a clean environment."""
        full_env = {"PATH": CONTAINER_PATH, "LANG": "C.UTF-8", "HOME": "/root"}
        full_env.update(env or {})
        result = subprocess.run(
            ["nsenter", f"--target={self.leader}", "--all", "--root", "--wd=/", *argv],
            env=full_env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"{' '.join(argv)} exited {result.returncode} inside {self.name}:\n"
                f"{result.stdout}{result.stderr}"
            )
        return result

    def show(self, unit: str, *props: str) -> Dict[str, str]:
        out = self.run(["systemctl", "show", unit, "-p", ",".join(props)]).stdout
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    def wait_for(
        self, what: str, predicate: Callable[[], bool], timeout: float = BOOT_TIMEOUT_S
    ) -> float:
        """Poll until predicate() holds; return the seconds it took."""
        started = time.monotonic()
        while not predicate():
            if time.monotonic() - started > timeout:
                raise AssertionError(f"{self.name}: {what} did not happen within {timeout:g} s")
            time.sleep(POLL_S)
        return time.monotonic() - started

    # -- files -----------------------------------------------------------------------------
    def path(self, inside: str) -> Path:
        """A container path seen from the host, through the leader's root directory."""
        return Path(f"/proc/{self.leader}/root") / inside.lstrip("/")

    def install(self, inside: str, data: bytes, mode: int = 0o644) -> None:
        target = self.path(inside)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        target.chmod(mode)

    def console(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-LOG_TAIL_CHARS:]
        except OSError:
            return ""

    # -- the stand-in agent and the doctor -------------------------------------------------
    def install_agent(self, variant: str, start: bool = True) -> None:
        """Install the stand-in agent package with fixtures/e2e/<variant>.service as its unit,
        then start the unit.

        It is a real .deb installed by dpkg, so the package database says what it says on an
        instance. Its unit goes to /etc/systemd/system: the container's /usr is read-only.
        ``bin/amazon-guardduty`` links to the interpreter running these tests, so the process
        shows under the agent's name."""
        with tempfile.TemporaryDirectory() as tmp:
            stage = Path(tmp) / "pkg"
            for inside, data, mode in (
                ("DEBIAN/control", AGENT_CONTROL.encode(), 0o644),
                ("DEBIAN/postinst", AGENT_POSTINST.encode(), 0o755),
                (
                    f"etc/systemd/system/{UNIT}",
                    (FIXTURES / f"{variant}.service").read_bytes(),
                    0o644,
                ),
                (
                    f"{AGENT_DIR[1:]}/standin_agent.py",
                    (FIXTURES / "standin_agent.py").read_bytes(),
                    0o755,
                ),
            ):
                (stage / inside).parent.mkdir(parents=True, exist_ok=True)
                (stage / inside).write_bytes(data)
                (stage / inside).chmod(mode)
            (stage / AGENT_BIN[1:]).parent.mkdir(parents=True)
            (stage / AGENT_BIN[1:]).symlink_to(os.path.realpath(sys.executable))
            subprocess.run(
                [
                    "dpkg-deb",
                    "--root-owner-group",
                    "--build",
                    str(stage),
                    str(self.path(AGENT_DEB)),
                ],
                check=True,
                capture_output=True,
            )
        # --volatile=yes starts with an empty /var: an empty package database, as after install.
        for d in ("info", "updates", "triggers"):
            self.path(f"/var/lib/dpkg/{d}").mkdir(parents=True, exist_ok=True)
        for f in ("status", "available"):
            self.path(f"/var/lib/dpkg/{f}").touch()
        self.run(["dpkg", "--install", AGENT_DEB])
        if start:
            self.run(["systemctl", "start", "--no-block", UNIT])

    def memory_limits_unavailable(self) -> Optional[str]:
        """Why the container's systemd cannot enforce MemoryMax= or see OOM kills; None if it can.

        systemd applies MemoryMax= and reports Result=oom-kill (from memory.events) only on the
        unified cgroup v2 hierarchy, and only where the memory controller is handed down to the
        container."""
        top = self.path("/sys/fs/cgroup/cgroup.controllers")
        if not top.exists():
            return (
                "cgroup v2 memory controller not available: the host mounts the memory "
                "controller on the legacy cgroup v1 hierarchy, read-only inside the container, "
                "so systemd cannot enforce MemoryMax= or report Result=oom-kill"
            )
        controllers = top.read_text().split()
        if "memory" not in controllers:
            return (
                "cgroup v2 memory controller not delegated to the container (its "
                f"cgroup.controllers: {' '.join(controllers) or 'none'})"
            )
        return None

    def agent(self, *props: str) -> Dict[str, str]:
        return self.show(UNIT, *props)

    def doctor(self, *args: str) -> DoctorRun:
        """The doctor inside the container, as an operator runs it: IMDS off, DNS on
        loopback (where nothing answers: the container has no other network)."""
        started = time.monotonic()
        result = self.run(
            [
                sys.executable,
                "-m",
                "amzn_gd_doctor",
                "check",
                "--format",
                "json",
                "--deadline",
                DOCTOR_DEADLINE_S,
                "--dns-server",
                "127.0.0.1",
                *args,
            ],
            env={"AWS_EC2_METADATA_DISABLED": "true", "PYTHONPATH": str(REPO)},
            check=False,
        )
        elapsed = time.monotonic() - started
        try:
            report = json.loads(result.stdout)
        except ValueError as exc:
            raise AssertionError(
                f"doctor printed no JSON (exit {result.returncode}):\n"
                f"{result.stdout}\n{result.stderr}"
            ) from exc
        return DoctorRun(result.returncode, report, result.stderr, elapsed)

    def facts(self) -> Dict[str, Dict[str, object]]:
        """Every fact of one doctor run inside the container, with its value (the JSON report
        leaves values out), so a test can show what a probe saw when a rule says otherwise."""
        result = self.run(
            [sys.executable, "-c", FACTS_SCRIPT, DOCTOR_DEADLINE_S],
            env={"AWS_EC2_METADATA_DISABLED": "true", "PYTHONPATH": str(REPO)},
        )
        return dict(json.loads(result.stdout))

    # -- lifecycle ---------------------------------------------------------------------------
    def _find_leader(self, booted: bool = True) -> Optional[int]:
        """nspawn's descendant that is PID 1 of a new PID namespace (and has exec'd systemd)."""
        todo = [self.proc.pid]
        while todo:
            pid = todo.pop()
            ns = _ns_pid(pid)
            if ns and len(ns) > 1 and ns[-1] == "1":
                if not booted:
                    return pid
                try:
                    if Path(f"/proc/{pid}/comm").read_text().strip() == "systemd":
                        return pid
                except OSError:
                    pass
            todo += _children(pid)
        return None

    def wait_booted(self) -> None:
        started = time.monotonic()
        deadline = started + BOOT_TIMEOUT_S
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"systemd-nspawn exited {self.proc.returncode} during boot:\n{self.console()}"
                )
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{self.name} not booted within {BOOT_TIMEOUT_S:g} s:\n{self.console()}"
                )
            if not self.leader:
                self.leader = self._find_leader() or 0
            if self.leader:
                left = max(1.0, deadline - time.monotonic())
                state = self.run(
                    ["systemctl", "is-system-running", "--wait"], timeout=left, check=False
                )
                # "Failed to connect to bus" until PID 1 has created its private socket.
                if state.stdout.strip() in ("running", "degraded"):
                    self.boot_s = time.monotonic() - started
                    return
            time.sleep(POLL_S)

    def stop(self) -> None:
        if self.proc.poll() is None:
            # Killing PID 1 of the container kills its whole PID namespace.
            victim = self.leader or self._find_leader(booted=False) or self.proc.pid
            with contextlib.suppress(ProcessLookupError):
                os.kill(victim, signal.SIGKILL)
            try:
                self.proc.wait(TEARDOWN_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(TEARDOWN_TIMEOUT_S)


def boot(name: str, log: Path) -> Container:
    argv = [
        "systemd-nspawn",
        f"--directory={TREE}",
        "--volatile=yes",
        "--boot",
        "--register=no",
        "--keep-unit",
        "--private-network",
        f"--machine={name}",
        "--console=read-only",
        # No resolv.conf: name lookups inside go to loopback and fail at once.
        "--resolv-conf=off",
        *[f"--bind-ro={p}" for p in _bind_paths()],
        "systemd.firstboot=off",
    ]
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    container = Container(name, proc, log)
    try:
        container.wait_booted()
    except BaseException:
        container.stop()
        raise
    return container


# -- fixtures ---------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def nspawn_ready() -> None:
    reason = nspawn_unavailable()
    if reason:
        pytest.skip(reason)


@pytest.fixture
def container(
    nspawn_ready: None, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Container]:
    """A freshly booted container, killed after the test whatever its outcome."""
    label = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower())[:30].strip("-")
    box = boot(f"gd-e2e-{os.getpid()}-{label}", tmp_path / "console.log")
    try:
        yield box
    finally:
        box.stop()
