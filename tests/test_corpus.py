"""The CLI scenario corpus: every --root tree under fixtures/roots diagnosed by the doctor as a
process, compared with its golden verdict and checks.

This is the part of the suite that also runs against other builds of the doctor: set
AMZN_GD_DOCTOR_COMMAND to an installed console script or to `PYTHON dist/amzn-gd-doctor.pyz`
(scripts/test.sh does so for every interpreter from 3.6 to the newest) and the same trees must
give the same verdicts, diagnoses and check summaries.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Dict, List

import pytest
from agent.conftest import copy_tree
from support import ROOTS, check_golden, doctor_env, run_cli

pytestmark = pytest.mark.corpus
TREES = sorted(p.name for p in ROOTS.iterdir() if p.is_dir())


def stable_report(data: Dict[str, object], root: Path) -> str:
    """What must not depend on the interpreter or the build: the verdict, the diagnoses and
    every check's outcome and summary. Facts are left out: their values name the reader that
    was used (systemd-python or journalctl), which legitimately differs between builds."""
    text = json.dumps(data).replace(str(root), "<ROOT>")
    report = json.loads(text)
    checks: List[Dict[str, object]] = [
        {key: c[key] for key in ("id", "outcome", "summary", "issue")} for c in report["checks"]
    ]
    kept = {
        "verdict": report["verdict"],
        "diagnoses": report["diagnoses"],
        "checks": checks,
        "exit_code": report["exit_code"],
    }
    return json.dumps(kept, indent=2, ensure_ascii=False) + "\n"


@pytest.fixture
def tree(tmp_path: Path) -> Callable[[str], Path]:
    return lambda name: copy_tree(tmp_path, name)


@pytest.mark.parametrize("name", TREES)
def test_tree(name: str, tree: Callable[[str], Path], request: pytest.FixtureRequest) -> None:
    root = tree(name)
    # IMDS disabled and every resolver a refused loopback port: only the tree is judged.
    env = doctor_env(AWS_EC2_METADATA_DISABLED="true")
    result = run_cli(
        "check", "-f", "json", "--root", str(root), "--dns-server", "127.0.0.1:9", env=env
    )
    assert result.stderr == "", result.stderr
    data = result.json()
    assert result.returncode == data["exit_code"]
    # No tree, hostile ones included, makes a probe or a rule crash.
    assert [c["id"] for c in data["checks"] if c["outcome"] == "crash"] == []
    assert [f["id"] for f in data["facts"] if "crashed" in (f["reason"] or "")] == []
    check_golden(request, f"corpus/{name}.json", stable_report(data, root))
