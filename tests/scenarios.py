"""The scenario trees under fixtures/roots: discovery, the expectation file beside each tree, and
one CLI run per tree shared by every test that reads its report.

A scenario is a directory `fixtures/roots/NAME/` (the host's files) and `NAME.expect.json`
beside it (what the scenario is for). Each tree is diagnosed once per test run by the doctor
as a process (`run_cli`, so AMZN_GD_DOCTOR_COMMAND picks the build), with IMDS disabled and every
resolver a refused loopback port: only the tree is judged (AMZN_GD_DOCTOR_TEST_DEADLINE gives
these runs a longer deadline than the doctor's 10 s, for emulated builds: see support.py). The
report is kept in the run's temporary directory, shared by the pytest-xdist workers, so the
corpus test and the conformance test never diagnose a tree twice.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from typing import Callable, Dict, List, Optional

import pytest
from support import ROOTS, doctor_env, run_cli

TREES = sorted(p.name for p in ROOTS.iterdir() if p.is_dir())
OUTCOMES = ("pass", "fail", "warn", "not_applicable", "inconclusive", "timeout", "crash")
COVERAGE = ("HEALTHY", "UNHEALTHY", "UNKNOWN")
# Keys an expectation file may hold; anything else is a typo that would silently check nothing.
EXPECT_KEYS = {"description", "coverage_status", "issue", "outcomes", "missing_files"}
REQUIRED_KEYS = {"description", "coverage_status", "issue", "outcomes"}


def expect_path(name: str) -> Path:
    return ROOTS / f"{name}.expect.json"


def load_expectation(name: str) -> Dict[str, object]:
    """NAME.expect.json, checked for shape so that a malformed file fails with its own name."""
    path = expect_path(name)
    if not path.exists():
        raise AssertionError(
            f"scenario tree {name} has no expectation file: write {path.name} beside it "
            "(description, coverage_status, issue, outcomes; see fixtures/roots/NOTES.md)"
        )
    data = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path.name}: not a JSON object"
    assert set(data) <= EXPECT_KEYS, f"{path.name}: unknown keys {sorted(set(data) - EXPECT_KEYS)}"
    assert set(data) >= REQUIRED_KEYS, f"{path.name}: missing {sorted(REQUIRED_KEYS - set(data))}"
    assert isinstance(data["description"], str) and data["description"].strip()
    assert data["coverage_status"] in COVERAGE, f"{path.name}: coverage_status"
    issue = data["issue"]
    assert issue is None or (isinstance(issue, dict) and set(issue) == {"type", "message"}), (
        f"{path.name}: issue is null or {{type, message}}"
    )
    outcomes = data["outcomes"]
    assert isinstance(outcomes, dict) and outcomes, f"{path.name}: outcomes names no rule"
    assert set(outcomes.values()) <= set(OUTCOMES), f"{path.name}: unknown outcome"
    return data


def diagnose(root: Path) -> Dict[str, object]:
    """One run of the doctor over ROOT, its JSON report with the tree's path made `<ROOT>`.
    With AMZN_GD_DOCTOR_TEST_DEADLINE set, the run gets `--deadline N` (support.deadline_args,
    checked there)."""
    # IMDS disabled and every resolver a refused loopback port: only the tree is judged, and
    # nothing waits on the network, so run_cli may lengthen the deadline.
    env = doctor_env(AWS_EC2_METADATA_DISABLED="true")
    result = run_cli(
        "check", "-f", "json", "--root", str(root), "--dns-server", "127.0.0.1:9", env=env
    )
    assert result.stderr == "", result.stderr
    data = json.loads(result.stdout.replace(str(root), "<ROOT>"))
    assert result.returncode == data["exit_code"]
    return dict(data)


def shared_reports(
    tmp_path_factory: pytest.TempPathFactory,
) -> Callable[[str], Dict[str, object]]:
    """`report(NAME)`: the tree's report, made once per test run whichever worker asks first
    (the session fixture `scenario_reports` in conftest.py)."""
    base = tmp_path_factory.getbasetemp()
    # Under pytest-xdist each worker's base is a folder of the run's own: share their parent.
    shared = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "scenarios"
    shared.mkdir(exist_ok=True)
    memo: Dict[str, Dict[str, object]] = {}

    def report(name: str) -> Dict[str, object]:
        if name not in memo:
            kept = shared / f"{name}.json"
            with open(shared / f"{name}.lock", "w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                if not kept.exists():
                    from agent.conftest import copy_tree  # journals; imports the package

                    work = tmp_path_factory.mktemp(f"tree-{name}")
                    data = diagnose(copy_tree(work, name))
                    kept.write_text(json.dumps(data), encoding="utf-8")
            memo[name] = json.loads(kept.read_text(encoding="utf-8"))
        return memo[name]

    return report


def checks_by_area(report: Dict[str, object]) -> Dict[str, List[Dict[str, object]]]:
    """Every check's id, outcome, summary and issue, grouped by the area its rule id names."""
    areas: Dict[str, List[Dict[str, object]]] = {}
    for c in report["checks"]:  # type: ignore[union-attr]
        kept = {key: c[key] for key in ("id", "outcome", "summary", "issue")}
        areas.setdefault(c["id"].split(".", 1)[0], []).append(kept)
    return areas


def issue_of(report: Dict[str, object]) -> Optional[Dict[str, str]]:
    verdict = report["verdict"]
    assert isinstance(verdict, dict)
    if verdict["issue_type"] is None:
        return None
    return {"type": verdict["issue_type"], "message": verdict["issue_message"]}
