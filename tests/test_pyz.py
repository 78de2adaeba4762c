"""The one-file build: two builds give the same bytes, it carries no compiled code, and a run
leaves no file behind (watched in a private mount namespace and with strace, tests/watch.py).
The corpus replays through it on every interpreter in scripts/test.sh; here it runs on the floor
(3.6) when pyenv has it, else on this interpreter."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from support import REPO, ROOTS, exclusive, floor_python
from watch import PrivateRun, run_private, strace_writes

BUILD = [sys.executable, str(REPO / "scripts" / "build_pyz.py")]
WHEELS = REPO / "build" / "pyz-wheels"


@pytest.fixture(scope="module")
def pyz(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pyz") / "amzn-gd-doctor.pyz"
    with exclusive("build"):
        subprocess.run([*BUILD, "--out", str(out), "--wheels", str(WHEELS)], check=True)
    return out


def test_two_builds_give_the_same_bytes(pyz: Path, tmp_path: Path) -> None:
    again = tmp_path / "again.pyz"
    with exclusive("build"):
        subprocess.run([*BUILD, "--out", str(again), "--wheels", str(WHEELS)], check=True)
    assert hashlib.sha256(again.read_bytes()).digest() == hashlib.sha256(pyz.read_bytes()).digest()
    assert os.stat(again).st_mode & 0o777 == 0o755


def test_contents_are_pure_python_with_the_backport_apart(pyz: Path) -> None:
    assert pyz.read_bytes().startswith(b"#!/usr/bin/env python3\n")
    names = zipfile.ZipFile(str(pyz)).namelist()
    compiled = [n for n in names if n.endswith((".so", ".pyc", ".pyd", ".dll", ".exe"))]
    assert compiled == []
    assert "__main__.py" in names and "amzn_gd_doctor/catalog/issues.json" in names
    assert not any(n.startswith(("_py36/", "dataclasses")) for n in names)
    tops = {n.split("/", 1)[0] for n in names}
    assert {"typer", "click", "requests", "urllib3", "dns", "distro", "certifi"} <= tops
    assert "psutil" not in tops and "systemd" not in tops


# IMDS and DNS on refused loopback ports: requests and dnspython are loaded and used.
OFFLINE = ["--imds-endpoint", "http://127.0.0.1:9/", "--dns-server", "127.0.0.1:9"]
TREE = "agent-healthy"
needs_unshare = pytest.mark.skipif(
    shutil.which("unshare") is None or os.geteuid() != 0,
    reason="needs util-linux unshare and root to give the run a private mount namespace",
)
needs_strace = pytest.mark.skipif(
    shutil.which("strace") is None, reason="strace (package strace) is needed to watch the run"
)


def private_runs(pyz: Path, stage: Path, *check_args: str) -> PrivateRun:
    """`--version`, then `check` over the tree (with CHECK_ARGS), on the floor interpreter, in a
    mount namespace of their own: the pyz alone in its folder and the tree, both copied into the
    private /tmp."""
    python, private_pyz = floor_python(), "/tmp/pyz/" + pyz.name
    check = ["check", "--root", "/tmp/root", "-f", "json", *OFFLINE, *check_args]
    return run_private(
        stage,
        {"pyz/" + pyz.name: pyz, "root": ROOTS / TREE},
        [[python, private_pyz, "--version"], [python, private_pyz, *check]],
        {"PATH": "/usr/bin:/bin"},
    )


@needs_unshare
def test_a_run_leaves_nothing_behind(pyz: Path, tmp_path: Path) -> None:
    """The run gets its own empty /tmp, /var/tmp, /var/cache and /dev/shm (tmpfs in a private
    mount namespace; see tests/watch.py), with the pyz in a folder of its own, HOME, TMPDIR
    and the working folder all inside them. Every name there is listed before and after, in
    the namespace: the two listings must be equal, so no file was left (no .pyc beside the pyz,
    no cache in HOME, no temporary file, not even one made and removed again, which moves its
    folder's mtime) and none was rewritten.

    Why this watch: nothing else on the machine can add to these folders (another checkout's
    suite, a build), so the test sees only this run and cannot be disturbed; it judges what is
    left, whichever way it was written; and it needs only util-linux and root, which the suite
    has. Places outside these folders are for the strace test below, which needs strace.
    test_the_watch_sees_a_file_written holds the watch itself to account."""
    run = private_runs(pyz, tmp_path / "stage")
    for ran in run.ran:
        assert ran.returncode in (0, 1, 3), ran.stderr
        assert ran.stderr == ""
    assert run.ran[0].stdout.startswith("amzn-gd-doctor ")
    assert json.loads(run.ran[1].stdout)["tool"]["name"] == "amzn-gd-doctor"
    # The folders were private: they held only what was put there.
    staged = {
        "/tmp", "/var/tmp", "/var/cache", "/dev/shm", "/tmp/home", "/tmp/tmp", "/tmp/work",
        "/tmp/pyz", f"/tmp/pyz/{pyz.name}", "/tmp/root",
    }  # fmt: skip
    assert {p for p in run.before if not p.startswith("/tmp/root/")} == staged
    assert {p: d for p, d in run.after.items() if run.before.get(p) != d} == {}
    assert set(run.before) - set(run.after) == set()


@needs_unshare
def test_the_watch_sees_a_file_written(pyz: Path, tmp_path: Path) -> None:
    """The same watch over a run told to write its report (`-o`) into TMPDIR: the new file and
    its folder's changed mtime show, so an empty difference above means nothing was written."""
    run = private_runs(pyz, tmp_path / "stage", "-o", "/tmp/tmp/report.json")
    assert run.ran[1].stderr == "" and run.ran[1].stdout == ""
    changed = {p for p, d in run.after.items() if run.before.get(p) != d}
    assert changed == {"/tmp/tmp", "/tmp/tmp/report.json"}


@needs_strace
def test_a_run_asks_to_write_no_file_anywhere(pyz: Path, tmp_path: Path) -> None:
    """The mount namespace above sees the places programs leave files; strace of the run's own
    processes (children included) sees the rest: no open for writing, creat, mkdir, rename,
    unlink, link, chmod or utime on any path at all (the interpreter's __pycache__, the
    checkout, /etc), successful or not. Opening /dev/null read-write is allowed: subprocess hands
    it to a child, and it leaves nothing. The last case is the watch's own check: a run that
    writes its report (`-o`) must be caught."""
    work = tmp_path / "work"
    for name in ("work", "home", "tmp"):
        (tmp_path / name).mkdir()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path / "home"), "TMPDIR": str(tmp_path / "tmp")}
    check = ["check", "--root", str(ROOTS / TREE), "-f", "json", *OFFLINE]
    report = tmp_path / "report.json"
    cases = [("version", ["--version"]), ("check", check), ("written", [*check, "-o", str(report)])]
    for name, args in cases:
        proc, writes = strace_writes(
            [floor_python(), str(pyz), *args], tmp_path / f"trace-{name}", env=env, cwd=str(work)
        )
        assert proc.returncode in (0, 1, 3), proc.stderr
        assert proc.stderr == b""
        if name == "written":
            assert writes and all(str(tmp_path) in line for line in writes), writes
            assert report.exists()
        else:
            assert writes == []
