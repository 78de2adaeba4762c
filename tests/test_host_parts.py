"""The host as a composition of small parts: a host built from real parts, the one deadline
budget every part honours, a foreign root that never runs a command, and a package without
import cycles. Real components throughout: real commands, loopback sockets, real trees."""

from __future__ import annotations

import ast
import os
import shutil
import socket
import stat
import sys
import threading
import time
from pathlib import Path
from typing import Dict, Iterator, List, Set

import pytest
from support import REPO

from amzn_gd_doctor import doctor
from amzn_gd_doctor.host import Budget, HostTimeout, LiveHost, RootedHost, Unsupported
from amzn_gd_doctor.host.commands import LiveCommands
from amzn_gd_doctor.host.composed import ComposedHost
from amzn_gd_doctor.host.files import TreeFiles
from amzn_gd_doctor.host.http import HttpFailure, LiveHttp
from amzn_gd_doctor.host.journal import JournalReader
from amzn_gd_doctor.host.live import LiveClock
from amzn_gd_doctor.host.network import NoNetwork
from amzn_gd_doctor.host.processes import ProcessTable
from amzn_gd_doctor.host.rooted import tree_parts
from amzn_gd_doctor.host.units import NoSystemd, UnitFilesOnly

HOST_PACKAGE = REPO / "amzn_gd_doctor" / "host"
# Each call below asks for 30 s; the run's deadline is 0.5 s away. A part that ignored the
# shared budget would take the 30 s; one that honours it ends near 0.5 s. 5 s is the margin
# for a loaded machine, and still six times less than an ignored budget.
ASKED_S = 30.0
DEADLINE_S = 0.5
MARGIN_S = 5.0


# -- a host built from parts ---------------------------------------------------------------------
def test_a_host_built_from_parts_answers_each_protocol_through_its_part(tmp_path: Path) -> None:
    """Tree files with live commands: each call goes to the part that answers its protocol."""
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/hostname").write_bytes(b"from-the-tree\n")
    budget = Budget()
    files = TreeFiles(str(tmp_path))
    commands = LiveCommands(budget, {"PATH": os.environ["PATH"]})
    host = ComposedHost(
        env={},
        budget=budget,
        clock=LiveClock(),
        files=files,
        commands=commands,
        http=LiveHttp(budget),
        journal=JournalReader(files, budget, commands.run, tree=True),
        processes=ProcessTable(files, budget, tree=True),
        network=NoNetwork("no network in this composition"),
        derive=tree_parts,
    )
    assert host.files.read_bytes("/etc/hostname", 100) == b"from-the-tree\n"
    # Flat, for tests and scripts: the same part's answer.
    assert host.read_bytes("/etc/hostname", 100) == b"from-the-tree\n"
    assert host.path("/etc/hostname") == f"{tmp_path}/etc/hostname"
    result = host.run(["echo", "from-a-live-command"], 5.0)
    assert (result.returncode, result.stdout) == (0, b"from-a-live-command\n")
    with pytest.raises(Unsupported, match="^no network in this composition$"):
        host.tcp_connect("127.0.0.1", 9, 1.0)
    with pytest.raises(Unsupported, match="the tree has no captured /proc"):
        host.find_processes(["init"])


def test_the_deadline_given_at_construction_is_the_one_its_parts_share() -> None:
    """A host is built with the run's one budget; every part sizes its calls from it, and the
    engine never changes it afterwards."""
    assert LiveHost(env={}).budget.budget(ASKED_S) == ASKED_S
    budget = Budget(time.monotonic() + DEADLINE_S)
    host = LiveHost(env={}, budget=budget)
    assert host.budget is budget and host.budget.budget(ASKED_S) <= DEADLINE_S
    rooted = RootedHost(str(REPO), env={}, budget=budget)
    assert rooted.budget is budget
    deadline = time.monotonic() + DEADLINE_S
    assert LiveHost(env={}, deadline=deadline).budget.deadline == deadline
    unbounded = Budget()
    doctor.run(LiveHost(env={}, budget=unbounded), doctor.Options(deadline=5.0), {}, {})
    assert unbounded.deadline is None


# -- the shared budget, honoured by every part --------------------------------------------------
@pytest.fixture
def silent_tcp() -> Iterator[int]:
    """A loopback TCP server that accepts and then never says a word."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: List[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(2.0)
    for conn in held:
        conn.close()
    server.close()


@pytest.fixture
def silent_udp() -> Iterator[str]:
    """A loopback UDP socket that receives queries and never answers them."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    yield f"127.0.0.1:{sock.getsockname()[1]}"
    sock.close()


def _host_due_soon() -> LiveHost:
    return LiveHost(env={"PATH": os.environ["PATH"]}, budget=Budget(time.monotonic() + DEADLINE_S))


def test_the_commands_part_stops_at_the_shared_deadline() -> None:
    host = _host_due_soon()
    began = time.monotonic()
    with pytest.raises(HostTimeout):
        host.run(["sleep", "60"], ASKED_S)
    assert time.monotonic() - began < MARGIN_S


def test_the_http_part_stops_at_the_shared_deadline(silent_tcp: int) -> None:
    host = _host_due_soon()
    began = time.monotonic()
    with pytest.raises(HttpFailure) as caught:
        host.http("GET", f"http://127.0.0.1:{silent_tcp}/latest", {}, ASKED_S, 1024)
    assert caught.value.kind == "read_timeout"
    assert time.monotonic() - began < MARGIN_S


def test_the_network_part_stops_dns_at_the_shared_deadline(silent_udp: str) -> None:
    host = _host_due_soon()
    began = time.monotonic()
    answer = host.dns_query(silent_udp, "agent.example.test", ASKED_S)
    assert answer.status == "timeout"
    assert time.monotonic() - began < MARGIN_S


def test_the_network_part_stops_tls_at_the_shared_deadline(silent_tcp: int) -> None:
    host = _host_due_soon()
    began = time.monotonic()
    result = host.tls_handshake("127.0.0.1", silent_tcp, "agent.example.test", ASKED_S)
    assert result.status == "timeout"
    assert time.monotonic() - began < MARGIN_S


def test_the_journal_part_stops_at_the_shared_deadline(tmp_path: Path) -> None:
    """journalctl, handed the part's runner, is given no more than the shared budget: a
    journalctl on PATH that hangs is stopped at the deadline, not after the 30 s asked for."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    hang = bindir / "journalctl"
    hang.write_text(f"#!/bin/sh\nexec {shutil.which('sleep')} 60\n")
    hang.chmod(0o755)
    host = LiveHost(env={"PATH": str(bindir)}, budget=Budget(time.monotonic() + DEADLINE_S))
    host.journal_backends = ("journalctl",)
    began = time.monotonic()
    with pytest.raises(HostTimeout):
        host.journal_entries((("_SYSTEMD_UNIT=x.service",),), None, 10, 4096, ASKED_S)
    assert time.monotonic() - began < MARGIN_S


# -- a foreign root runs no command ---------------------------------------------------------------
def _trap_bin(directory: Path, marker: Path, names: List[str]) -> None:
    """Programs named like the ones the probes ask, each writing its name to ``marker``."""
    directory.mkdir()
    for name in names:
        path = directory / name
        path.write_text(f'#!/bin/sh\necho {name} >> "{marker}"\nexit 1\n')
        path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


TRAPPED = ["systemctl", "dpkg-query", "dpkg", "rpm", "snap", "uname", "ps", "journalctl"]


def test_the_trap_records_a_command_a_live_host_runs(tmp_path: Path) -> None:
    """The control for the test below: the trap does see a command that is run."""
    marker = tmp_path / "ran"
    _trap_bin(tmp_path / "bin", marker, TRAPPED)
    LiveHost(env={"PATH": str(tmp_path / "bin")}).run(["systemctl", "show", "x"], 5.0)
    assert marker.read_text() == "systemctl\n"


def test_rooted_host_never_runs_a_command(tmp_path: Path) -> None:
    """The whole probe set on a fixture tree, with programs of every name the probes ask for
    on PATH: none of them is run, and each command question is Unsupported. (journalctl on
    the tree's own journal files is the one program a tree may start; it is found on the
    system's PATH, not the host's, so the trap does not stand in for it.)"""
    marker = tmp_path / "ran"
    _trap_bin(tmp_path / "bin", marker, TRAPPED)
    tree = REPO / "fixtures/roots/agent-healthy"
    env = {"PATH": str(tmp_path / "bin"), "AWS_EC2_METADATA_DISABLED": "true"}
    host = RootedHost(str(tree), env=env)
    report = doctor.run(host, doctor.Options(root=str(tree), deadline=20.0))
    assert report.facts, "the probes ran"
    assert not marker.exists(), marker.read_text()
    for argv in (["systemctl", "show", "x"], ["rpm", "-q", "x"], ["uname", "-m"]):
        with pytest.raises(Unsupported, match="is not run against a foreign root"):
            host.run(argv, 5.0)
    with pytest.raises(Unsupported):
        host.machine()
    with pytest.raises(Unsupported):
        host.dns_query("127.0.0.1:53", "x.test", 1.0)
    assert host.clock.now() is None  # no present moment: times come from the tree's files
    assert isinstance(host.units.show("x.service", ("LoadState",)), UnitFilesOnly)


@pytest.mark.skipif(
    os.path.exists("/run/systemd/system"), reason="systemd runs as PID 1 on this machine"
)
def test_no_systemctl_is_started_where_systemd_is_not_pid_1(tmp_path: Path) -> None:
    """A live host without systemd (a container): agent.unit and ssm.agent say so without
    starting systemctl (the package tools they ask are trapped too, and may run): the units
    part answers that systemd is not PID 1, asked without a command."""
    from amzn_gd_doctor import registry

    marker = tmp_path / "ran"
    _trap_bin(tmp_path / "bin", marker, TRAPPED)
    host = LiveHost(env={"PATH": str(tmp_path / "bin"), "AWS_EC2_METADATA_DISABLED": "true"})
    probes, rules = registry.load()
    only = {name: probes[name] for name in ("agent.unit", "ssm.agent")}
    report = doctor.run(host, doctor.Options(deadline=20.0), probes=only, rules={})
    assert {(f.probe_id, f.status.value) for f in report.facts} == {
        ("agent.unit", "ok"),
        ("ssm.agent", "ok"),
    }
    ran = marker.read_text().split() if marker.exists() else []
    assert "systemctl" not in ran, ran
    assert isinstance(host.units.show("x.service", ("LoadState",)), NoSystemd)


# -- no import cycles in the package ------------------------------------------------------------
def _module_imports(path: Path) -> Set[str]:
    """Sibling modules of the host package that ``path`` imports when it is imported (imports
    under ``if TYPE_CHECKING:`` and inside functions are not taken at import time)."""
    tree = ast.parse(path.read_text())
    found: Set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:
                found.update(alias.name for alias in node.names)
    return found


def test_the_host_package_has_no_import_cycle_and_no_way_back_to_probes() -> None:
    graph: Dict[str, Set[str]] = {}
    for path in sorted(HOST_PACKAGE.glob("*.py")):
        text = path.read_text()
        assert "probes" not in {n.split(".")[0] for n in _relative_parents(text)}, path
        graph[path.stem] = _module_imports(path) - {path.stem}
    parts = {name: deps for name, deps in graph.items() if name != "__init__"}
    assert not any("__init__" in deps for deps in parts.values())
    order: List[str] = []
    visiting: Set[str] = set()

    def visit(name: str, trail: List[str]) -> None:
        assert name not in visiting, " -> ".join(trail + [name])
        if name in order:
            return
        visiting.add(name)
        for dep in sorted(parts.get(name, ())):
            visit(dep, trail + [name])
        visiting.discard(name)
        order.append(name)

    for name in sorted(parts):
        visit(name, [])
    assert set(order) >= {"protocols", "files", "commands", "http", "journal", "processes"}


def _relative_parents(text: str) -> List[str]:
    """Modules imported from the parent package (``from ..X import``)."""
    return [
        node.module or ""
        for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.ImportFrom) and node.level == 2
    ]


def test_every_part_imports_on_its_own(tmp_path: Path) -> None:
    """Each module, imported first in a fresh interpreter, loads: no order-dependent cycle."""
    import subprocess

    names = sorted(p.stem for p in HOST_PACKAGE.glob("*.py") if p.stem != "__init__")
    code = "import importlib, sys\nimportlib.import_module('amzn_gd_doctor.host.' + sys.argv[1])\n"
    for name in names:
        proc = subprocess.run(
            [sys.executable, "-c", code, name],
            cwd=str(REPO),
            env={**os.environ, "PYTHONPATH": str(REPO)},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 0, (name, proc.stderr[-2000:])
