"""The one-file build: two builds give the same bytes, it carries no machine code and no
bytecode but its one member per interpreter (`__pycache__/<cache tag>.bytecode`, see
tests/test_pyz_bytecode.py), and a run leaves no file behind (watched in a private mount
namespace and with strace, tests/watch.py). The corpus replays through it on every interpreter
in scripts/test.sh; here it runs on the floor (3.6) when pyenv has it, else on this interpreter,
and on the newest interpreter here."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from support import REPO, ROOTS, exclusive, floor_python
from watch import PrivateRun, run_private, strace_writes

sys.path.insert(0, str(REPO / "scripts"))
from build_pyz import find_interpreters  # noqa: E402

BUILD = [sys.executable, str(REPO / "scripts" / "build_pyz.py")]
WHEELS = REPO / "build" / "pyz-wheels"


@pytest.fixture(scope="module")
def pyz(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pyz") / "amzn-gd-doctor.pyz"
    with exclusive("build"):
        subprocess.run([*BUILD, "--out", str(out), "--wheels", str(WHEELS)], check=True)
    return out


def frozen_inputs(dest: Path) -> Path:
    """A copy of what build_pyz.py reads (it finds them beside itself), so that two builds read
    one state of the sources, as two builds of one commit do, while the working tree may change
    between them: a build compiles with every interpreter here and takes some seconds."""
    (dest / "scripts").mkdir(parents=True)
    shutil.copy(str(REPO / "scripts" / "build_pyz.py"), str(dest / "scripts"))
    skip = shutil.ignore_patterns("__pycache__")
    shutil.copytree(str(REPO / "packaging" / "pyz"), str(dest / "packaging" / "pyz"), ignore=skip)
    shutil.copytree(str(REPO / "amzn_gd_doctor"), str(dest / "amzn_gd_doctor"), ignore=skip)
    return dest / "scripts" / "build_pyz.py"


def test_two_builds_give_the_same_bytes(tmp_path: Path) -> None:
    build = [sys.executable, str(frozen_inputs(tmp_path / "inputs"))]
    built = []
    for name in ("first.pyz", "again.pyz"):
        with exclusive("build"):
            out = tmp_path / name
            subprocess.run([*build, "--out", str(out), "--wheels", str(WHEELS)], check=True)
        built.append(hashlib.sha256(out.read_bytes()).digest())
        assert os.stat(out).st_mode & 0o777 == 0o755
    assert built[0] == built[1]


def test_contents_are_pure_python_with_the_backport_apart(pyz: Path) -> None:
    assert pyz.read_bytes().startswith(b"#!/usr/bin/env python3\n")
    archive = zipfile.ZipFile(str(pyz))
    own = archive.namelist()
    # Few names of its own (the interpreter reads them all before running it): its start, the
    # licences, the bytecode, and modules.zip, stored, with every module and data file.
    assert archive.getinfo("modules.zip").compress_type == zipfile.ZIP_STORED
    assert archive.getinfo("__main__.py").compress_type == zipfile.ZIP_STORED
    # The start's pycs are the newest interpreter's, which zipimport checks (see
    # test_pyz_bytecode.test_the_newest_interpreter_compiles_nothing).
    start = {"__main__.py", "__main__.pyc", "_amzn_gd_doctor_pyz.py", "_amzn_gd_doctor_pyz.pyc"}
    assert {n for n in own if not n.startswith(("__pycache__/", "_licenses/"))} == start | {
        "modules.zip"
    }
    modules = zipfile.ZipFile(io.BytesIO(archive.read("modules.zip")))
    names = modules.namelist()
    assert len(own) <= 30 < len(names)
    compiled = [n for n in own + names if n.endswith((".so", ".pyc", ".pyo", ".pyd", ".dll"))]
    assert set(compiled) == start - {"__main__.py", "_amzn_gd_doctor_pyz.py"}
    assert not [n for n in own + names if n.endswith(".exe")]
    # Bytecode only as one stored member per interpreter, read in place by the importer.
    cached = [n for n in own + names if "__pycache__" in n]
    assert cached and all(re.fullmatch(r"__pycache__/cpython-3\d+\.bytecode", n) for n in cached)
    for name in cached:
        assert archive.getinfo(name).compress_type == zipfile.ZIP_STORED
        assert archive.read(name).startswith(b"amzn-gd-doctor bytecode 1\n")
    assert "amzn_gd_doctor/catalog/issues.json" in names and "amzn_gd_doctor/cli.py" in names
    assert not any(n.startswith(("_py36/", "dataclasses")) for n in names)
    tops = {n.split("/", 1)[0] for n in names}
    assert {"typer", "click", "requests", "urllib3", "dns", "distro", "certifi"} <= tops
    assert "psutil" not in tops and "systemd" not in tops


@pytest.mark.parametrize(
    "damage,said",
    [
        ("no modules", "no modules.zip in it"),
        ("cut modules", "no zip directory where it should end"),
    ],
)
def test_a_damaged_file_says_so_in_one_line(
    pyz: Path, tmp_path: Path, damage: str, said: str
) -> None:
    """The file without its modules, or with them cut short: one line and exit 2 for any
    command but --version (which needs nothing of them)."""
    damaged = tmp_path / "damaged.pyz"
    with zipfile.ZipFile(str(pyz)) as zin, open(damaged, "wb") as fh:
        fh.write(b"#!/usr/bin/env python3\n")
        with zipfile.ZipFile(fh, "w") as zout:
            for info in zin.infolist():
                data = zin.read(info)
                if info.filename == "modules.zip":
                    if damage == "no modules":
                        continue
                    data = data[: len(data) // 2]
                zout.writestr(info, data)
    proc = subprocess.run(
        [sys.executable, str(damaged), "list"], capture_output=True, text=True, timeout=60
    )
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr == f"amzn-gd-doctor: cannot read {damaged}: {said}\n"
    version = subprocess.run([sys.executable, str(damaged), "--version"], capture_output=True)
    assert version.returncode == 0


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


def newest_python() -> str:
    """pyenv's newest CPython (or python3.X on PATH), else this interpreter."""
    found = find_interpreters()
    return (
        found[max(found, key=lambda m: tuple(map(int, m.split("."))))] if found else sys.executable
    )


# The floor and the newest interpreter: the importer of each reads its own bytecode member.
PYTHONS = pytest.mark.parametrize(
    "python", [floor_python(), newest_python()], ids=["floor", "newest"]
)


def private_runs(pyz: Path, stage: Path, python: str, *check_args: str) -> PrivateRun:
    """`--version`, then `check` over the tree (with CHECK_ARGS), on PYTHON, in a mount
    namespace of their own: the pyz alone in its folder and the tree, both copied into the
    private /tmp."""
    private_pyz = "/tmp/pyz/" + pyz.name
    check = ["check", "--root", "/tmp/root", "-f", "json", *OFFLINE, *check_args]
    return run_private(
        stage,
        {"pyz/" + pyz.name: pyz, "root": ROOTS / TREE},
        [[python, private_pyz, "--version"], [python, private_pyz, *check]],
        {"PATH": "/usr/bin:/bin"},
    )


@needs_unshare
@PYTHONS
def test_a_run_leaves_nothing_behind(pyz: Path, tmp_path: Path, python: str) -> None:
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
    run = private_runs(pyz, tmp_path / "stage", python)
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
    run = private_runs(pyz, tmp_path / "stage", floor_python(), "-o", "/tmp/tmp/report.json")
    assert run.ran[1].stderr == "" and run.ran[1].stdout == ""
    changed = {p for p, d in run.after.items() if run.before.get(p) != d}
    assert changed == {"/tmp/tmp", "/tmp/tmp/report.json"}


@needs_strace
@PYTHONS
def test_a_run_asks_to_write_no_file_anywhere(pyz: Path, tmp_path: Path, python: str) -> None:
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
            [python, str(pyz), *args], tmp_path / f"trace-{name}", env=env, cwd=str(work)
        )
        assert proc.returncode in (0, 1, 3), proc.stderr
        assert proc.stderr == b""
        if name == "written":
            # The report is written through a handle on its folder (openat and renameat
            # relative to it), to a temporary name beside it that is then renamed.
            ours = re.compile(r'at\(\d+, "(report\.json|\.amzn-gd-doctor\.[0-9a-f]+)"')
            assert writes and all(str(tmp_path) in w or ours.search(w) for w in writes), writes
            assert report.exists()
        else:
            assert writes == []
