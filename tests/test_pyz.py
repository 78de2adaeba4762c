"""The one-file build: two builds give the same bytes, it carries no compiled code, and a run
leaves no file behind. The corpus replays through it on every interpreter in scripts/test.sh;
here it runs on the floor (3.6) when pyenv has it, else on this interpreter."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Dict, List, Set

import pytest
from support import REPO, ROOTS, exclusive, floor_python

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


def snapshot(dirs: List[Path]) -> Set[str]:
    seen: Set[str] = set()
    for top in dirs:
        for base, subdirs, files in os.walk(str(top)):
            seen.update(os.path.join(base, name) for name in subdirs + files)
    return seen


def test_a_run_leaves_nothing_behind(pyz: Path, tmp_path: Path) -> None:
    home, tmp = tmp_path / "home", tmp_path / "tmp"
    home.mkdir()
    tmp.mkdir()
    watched = [Path("/var/tmp"), Path("/var/cache"), Path("/tmp"), home, tmp, pyz.parent]
    before = snapshot(watched)
    env: Dict[str, str] = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "TMPDIR": str(tmp),
    }
    # IMDS and DNS on refused loopback ports: requests and dnspython are loaded and used.
    check = ["check", "--root", str(ROOTS / "agent-healthy"), "-f", "json"]
    check += ["--imds-endpoint", "http://127.0.0.1:9/", "--dns-server", "127.0.0.1:9"]
    for args in (["--version"], check):
        proc = subprocess.run(
            [floor_python(), str(pyz), *args], env=env, capture_output=True, timeout=120
        )
        assert proc.returncode in (0, 1, 3), proc.stderr
        assert proc.stderr == b""
    after = snapshot(watched)
    # Other tests may run at the same time and use /tmp (other workers build their own pyz under
    # pytest's temporary root): only new names of this run count.
    mine = tuple(str(d) + os.sep for d in (home, tmp, pyz.parent))
    temp_root = next((p for p in tmp_path.parents if p.name.startswith("pytest-of-")), tmp_path)
    new = {
        p
        for p in after - before
        if p.startswith(mine) or ("amzn" in p and not p.startswith(str(temp_root) + os.sep))
    }
    assert new == set()
    assert not any(n.endswith(".pyc") for n in after - before if n.startswith(str(pyz.parent)))
