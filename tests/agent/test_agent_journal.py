"""The journal seam and the agent.journal probe on REAL binary journal files, made during the
run by systemd-journal-remote from the export texts under fixtures/agent/journal/, read by the
real systemd-python Reader and by the real `journalctl` fallback."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, Tuple

import pytest

from amzn_gd_doctor import doctor, registry
from amzn_gd_doctor.facts.agent import AgentJournal
from amzn_gd_doctor.host import CouldNotLook, RootedHost
from amzn_gd_doctor.model import FactStatus, Outcome
from amzn_gd_doctor.probes.agent_journal import KERNEL_MATCHES, UNIT_MATCHES

from .conftest import (
    BACKEND_PARAMS,
    JOURNALCTL,
    READER,
    REPO,
    findings,
    needs_journal_remote,
    needs_systemd_python,
    run_agent_area,
)
from .journal_export import END_US, EXPORTS, SCENARIOS, entry, in_time_order, kernel, make_journal

pytestmark = needs_journal_remote
BACKENDS = (READER, JOURNALCTL)
MACHINE_DIR = "var/log/journal/3c1f0a9e8d7b4c2a9e1f0d3b5a7c9e11"


def tree_with(tmp_path: Path, *exports: bytes) -> Path:
    for i, export in enumerate(exports):
        make_journal(
            export, tmp_path / MACHINE_DIR, f"system@{i}.journal" if i else "system.journal"
        )
    return tmp_path


def export(name: str) -> bytes:
    return (EXPORTS / f"{name}.export").read_bytes()


def probe_value(root: Path, backend: Tuple[str, ...]) -> AgentJournal:
    host = RootedHost(root=str(root))
    host.journal_backends = backend
    spec = registry.load()[0]["agent.journal"]
    fact = doctor.collect(
        host, doctor.Options(root=str(root)), {spec.id: spec}, time.monotonic() + 20
    )[spec.id]
    assert fact.status is FactStatus.OK, fact.reason
    assert isinstance(fact.value, AgentJournal)
    return fact.value


def test_exports_are_what_the_generator_writes() -> None:
    for name, build in SCENARIOS.items():
        assert export(name) == in_time_order(build()), (
            f"rerun tests/agent/journal_export.py ({name})"
        )


@needs_systemd_python
@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_reader_and_journalctl_read_the_same_entries(tmp_path: Path, name: str) -> None:
    root = tree_with(tmp_path, export(name))
    reads = {}
    for backend in BACKENDS:
        host = RootedHost(root=str(root))
        host.journal_backends = backend
        result = host.journal_entries(UNIT_MATCHES + KERNEL_MATCHES, None, 10_000, 1 << 24, 10)
        assert result.backend == backend[0] and not result.truncated and not result.problems
        reads[backend[0]] = [(e.realtime_us, dict(e.fields)) for e in result.entries]
    assert reads["systemd-python"] == reads["journalctl"]
    times = [t for t, _ in reads["journalctl"]]
    assert times == sorted(times) and times[-1] <= END_US
    assert all(f.get("_SYSTEMD_UNIT") != "ssh.service" for _, f in reads["journalctl"])


# scenario: restarts, recent restarts, restart counter, OOM kills (all, recent, at the cap),
# start-limit hits, last state, top phrase class
EXPECTED: Dict[str, tuple] = {
    "clean-start": (0, 0, None, (0, 0, 0), 0, "started", None),
    "restart-loop": (12, 12, 12, (0, 0, 0), 0, "started", "connection_timeout"),
    "restart-loop-systemd219": (12, 12, None, (0, 0, 0), 0, "started", "connection_timeout"),
    "oom-kills": (5, 4, 5, (5, 4, 5), 0, "started", None),
    "btf-failure": (4, 4, 4, (0, 0, 0), 1, "failed", "btf_missing"),
    "connection-errors": (0, 0, None, (0, 0, 0), 0, "started", "dns_failure"),
    "memcap-sigkill": (2, 2, 2, (0, 0, 0), 0, "started", None),
    "bpf-skeleton": (4, 4, 4, (0, 0, 0), 1, "failed", "bpf_skeleton_failed"),
    "hostile-numbers": (1, 1, None, (0, 0, 0), 0, "started", None),
}
# scenario: restarts in the flap window, SIGKILL exits (all, recent), exits by label
WINDOWED: Dict[str, tuple] = {
    "restart-loop": (2, (0, 0), {"exited, status=1/FAILURE": 12}),
    "oom-kills": (1, (5, 4), {"killed, status=9/KILL": 5}),  # window ends at the last start
    "memcap-sigkill": (2, (2, 2), {"killed, status=9/KILL": 2}),
    "hostile-numbers": (0, (0, 0), {}),  # "status=٩" is no exit status
}


@pytest.mark.parametrize("backend", BACKEND_PARAMS)
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_journal_summary(tmp_path: Path, name: str, backend: Tuple[str, ...]) -> None:
    value = probe_value(tree_with(tmp_path, export(name)), backend)
    restarts, recent, counter, ooms, limit, state, phrase = EXPECTED[name]
    assert (value.restarts, value.restarts_recent, value.restart_counter) == (
        restarts,
        recent,
        counter,
    )
    assert (value.oom_kills, value.oom_kills_recent, value.oom_cap_kills) == ooms
    assert (value.start_limit_hits, value.last_state) == (limit, state)
    names = {h.name for h in value.phrases}
    assert (phrase in names) if phrase else not names
    assert value.backend == backend[0] and value.anchored_on == "the newest entry"
    assert value.window_end <= END_US / 1e6


@needs_systemd_python
@pytest.mark.parametrize("backend", BACKEND_PARAMS)
@pytest.mark.parametrize("name", sorted(WINDOWED))
def test_journal_window_counts(tmp_path: Path, name: str, backend: Tuple[str, ...]) -> None:
    value = probe_value(tree_with(tmp_path, export(name)), backend)
    assert (value.restarts_flap, (value.sigkills, value.sigkills_recent), dict(value.exits)) == (
        WINDOWED[name]
    )
    assert value.flap_window_s == 600


@needs_systemd_python
def test_old_systemd_messages_give_the_same_story(tmp_path: Path) -> None:
    new = probe_value(tree_with(tmp_path / "new", export("restart-loop")), BACKENDS[0])
    old = probe_value(tree_with(tmp_path / "old", export("restart-loop-systemd219")), BACKENDS[0])
    assert dict(old.exits) == dict(new.exits) == {"exited, status=1/FAILURE": 12}
    assert dict(old.results) == {"failed": 12} and dict(new.results) == {"exit-code": 12}


def test_window_and_entry_bounds(tmp_path: Path) -> None:
    root = tree_with(tmp_path, export("restart-loop"))
    host = RootedHost(root=str(root))
    all_entries = host.journal_entries(UNIT_MATCHES, None, 10_000, 1 << 24, 10).entries
    newest = host.journal_entries(UNIT_MATCHES, None, 10, 1 << 24, 10)
    assert newest.truncated and newest.entries == all_entries[-10:]
    since = all_entries[-5].realtime_us / 1e6
    recent = host.journal_entries(UNIT_MATCHES, since, 10_000, 1 << 24, 10)
    assert recent.entries == all_entries[-5:] and not recent.truncated
    small = host.journal_entries(UNIT_MATCHES, None, 10_000, 500, 10)
    assert small.truncated and 0 < len(small.entries) < 10
    host.journal_backends = ("journalctl",)
    assert host.journal_entries(UNIT_MATCHES, since, 10_000, 1 << 24, 10).entries == recent.entries


@needs_systemd_python
def test_long_messages_are_cut(tmp_path: Path) -> None:
    huge = entry(END_US, {**kernel("Killed process 1 (amazon-guarddut) " + "x" * 100_000)})
    root = tree_with(tmp_path, huge)
    for backend in BACKENDS:
        host = RootedHost(root=str(root))
        host.journal_backends = backend
        (only,) = host.journal_entries(KERNEL_MATCHES, None, 10, 1 << 24, 10).entries
        assert len(only.get("MESSAGE")) == 4096


@pytest.mark.parametrize("damage", ["signature", "garbage", "truncated"])
@pytest.mark.parametrize("backend", BACKEND_PARAMS)
def test_corrupt_journal_is_a_clear_finding(
    tmp_path: Path, damage: str, backend: Tuple[str, ...]
) -> None:
    root = tree_with(tmp_path, export("oom-kills"))
    path = root / MACHINE_DIR / "system.journal"
    data = path.read_bytes()
    path.write_bytes(
        {
            "signature": b"XXXXXXXX" + data[8:],
            "garbage": bytes(range(256)) * 400,
            "truncated": data[:100],
        }[damage]
    )
    (root / "lib/systemd/system").mkdir(parents=True)
    host = RootedHost(root=str(root))
    host.journal_backends = backend
    read = host.journal_entries(UNIT_MATCHES, None, 100, 1 << 20, 10)
    assert read.entries == () and read.problems
    if backend[0] == "systemd-python":
        assert read.files == 0
        assert read.problems[0] in (
            "3c1f0a9e8d7b4c2a9e1f0d3b5a7c9e11/system.journal: truncated",
            "3c1f0a9e8d7b4c2a9e1f0d3b5a7c9e11/system.journal: corrupted "
            "(not a readable journal file)",
        )
    report = run_agent_area(root, backends=backend)
    fact = {f.probe_id: f for f in report.facts}["agent.journal"]
    if fact.status is FactStatus.OK:  # journalctl skips the file and says so on stderr
        assert fact.value.problems and "ignoring file" in fact.value.problems[0]
        assert fact.value.entries == 0
    else:
        assert "corrupted" in (fact.reason or "") or "truncated" in (fact.reason or "")
    assert not fact.crashed
    assert all(f.outcome is not Outcome.CRASH for f in report.findings)


@needs_systemd_python
def test_one_corrupt_file_among_good_ones_is_named(tmp_path: Path) -> None:
    root = tree_with(tmp_path, export("clean-start"), export("oom-kills"))
    (root / MACHINE_DIR / "system@1.journal").write_bytes(b"\x00" * 5000)
    value = probe_value(root, BACKENDS[0])
    assert value.problems == (f"{MACHINE_DIR.rsplit('/', 1)[1]}/system@1.journal: truncated",) or (
        value.problems[0].endswith("corrupted (not a readable journal file)")
    )
    assert value.starts == 1 and value.oom_kills == 0


@needs_systemd_python
def test_no_journal_files_could_not_look(tmp_path: Path) -> None:
    (tmp_path / "var/log/journal").mkdir(parents=True)
    for backend in BACKENDS:
        host = RootedHost(root=str(tmp_path))
        host.journal_backends = backend
        with pytest.raises(CouldNotLook, match="no persistent journal"):
            host.journal_entries(UNIT_MATCHES, None, 10, 1000, 5)


FALLBACK_SCRIPT = """
import sys
sys.modules["systemd"] = None  # as on a host without systemd-python
from amzn_gd_doctor.host import RootedHost
host = RootedHost(root=sys.argv[1])
read = host.journal_entries([["_TRANSPORT=kernel"]], None, 100, 1 << 20, 10)
print(read.backend, len(read.entries))
"""


def test_falls_back_to_journalctl_when_systemd_python_is_missing(tmp_path: Path) -> None:
    root = tree_with(tmp_path, export("oom-kills"))
    proc = subprocess.run(
        [sys.executable, "-c", FALLBACK_SCRIPT, str(root)],
        cwd=str(REPO),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["journalctl", "22"]


@needs_systemd_python
def test_journal_under_root_feeds_the_rules_with_either_backend(tmp_path: Path) -> None:
    root = tree_with(tmp_path, export("oom-kills"))
    (root / "usr/lib/systemd/system").mkdir(parents=True)
    (root / "usr/lib/systemd/system/amazon-guardduty-agent.service").write_text(
        "[Service]\nMemoryMax=128M\nMemoryLimit=128M\n"
    )
    (root / "usr/lib/sysimage/rpm").mkdir(parents=True)
    (root / "proc/sys/kernel").mkdir(parents=True)
    (root / "proc/sys/kernel/osrelease").write_text("6.1.115-126.197.amzn2023.x86_64\n")
    summaries = set()
    for backend in BACKENDS:
        f = findings(run_agent_area(root, backends=backend))["agent.not_oom_killed"]
        assert f.outcome is Outcome.FAIL and "4 times in the last hour" in f.summary
        summaries.add(f.summary)
    assert len(summaries) == 1
    json.dumps(sorted(summaries))
