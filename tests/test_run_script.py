"""`./scripts/run.sh`, the README's first command, in a copy of the project: the first call
makes ./.venv and installs the doctor, a second call installs nothing, and a changed source file
is installed again on the next call."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from support import REPO

from amzn_gd_doctor import __version__

# Enough for pip to install the doctor and its dependencies from the package index.
INSTALL_TIMEOUT_S = 600


def run_script(project: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(project / "scripts" / "run.sh"), "--version"],
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT_S,
        env={**os.environ, "PYTHON": shutil.which("python3") or "python3"},
    )


@pytest.mark.skipif(os.geteuid() != 0, reason="run.sh runs the doctor through sudo unless root")
def test_run_script_installs_once_and_again_after_a_change(tmp_path: Path) -> None:
    project = tmp_path / "project"
    for name in ("amzn_gd_doctor", "scripts"):
        shutil.copytree(
            str(REPO / name), str(project / name), ignore=shutil.ignore_patterns("__pycache__")
        )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(str(REPO / name), str(project / name))

    first = run_script(project)
    assert (first.returncode, first.stdout) == (0, f"amzn-gd-doctor {__version__}\n"), first.stderr
    (installed,) = project.glob(".venv/lib/python3*/site-packages/amzn_gd_doctor/lazy_re.py")
    made = installed.stat().st_mtime_ns

    second = run_script(project)
    assert (second.returncode, second.stdout) == (0, first.stdout), second.stderr
    assert installed.stat().st_mtime_ns == made  # nothing was installed

    source = project / "amzn_gd_doctor" / "lazy_re.py"
    source.write_text(source.read_text() + "# changed\n")
    third = run_script(project)
    assert (third.returncode, third.stdout) == (0, first.stdout), third.stderr
    assert installed.read_text().endswith("# changed\n")
