"""The scenario trees under fixtures/roots: discovery, the expectation file beside each tree, the
check of a report against what the tree declares, and one CLI run per tree shared by every test
that reads its report.

A scenario is a directory `fixtures/roots/NAME/` (the host's files) and `NAME.expect.json`
beside it (what the scenario is about: its verdict, its diagnoses, and the checks it exercises
with their outcomes and the words their summaries must hold; see docs/testing.md). A scenario
never freezes the checks it is not about: a new check touches only the trees made for it.

Each tree is diagnosed once per test run by the doctor as a process (`run_cli`, so
AMZN_GD_DOCTOR_COMMAND picks the build), with IMDS disabled and every resolver a refused
loopback port: only the tree is judged (AMZN_GD_DOCTOR_TEST_DEADLINE gives these runs a longer
deadline than the doctor's 10 s, for emulated builds: see support.py). The report is kept in the
run's temporary directory, shared by the pytest-xdist workers, so the corpus test and the
conformance test never diagnose a tree twice.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from typing import Callable, Dict, List, Mapping, Optional

import pytest
from support import FIXTURES, ROOTS, doctor_env, run_cli

TREES = sorted(p.name for p in ROOTS.iterdir() if p.is_dir())
OUTCOMES = ("pass", "fail", "warn", "not_applicable", "inconclusive", "timeout", "crash")
COVERAGE = ("HEALTHY", "UNHEALTHY", "UNKNOWN")
CONFIDENCE = ("confirmed", "likely", "suspected")
# Each coverage status is one exit code (`amzn-gd-doctor --help`).
EXIT_CODES = {"HEALTHY": 0, "UNHEALTHY": 1, "UNKNOWN": 3}
# Journal exports (tests/agent/journal_export.py) that a tree's "journal" may name.
JOURNAL_EXPORTS = FIXTURES / "agent" / "journal"
# Keys an expectation file may hold; anything else is a typo that would silently check nothing.
EXPECT_KEYS = {
    "description",
    "coverage_status",
    "issue",
    "diagnoses",
    "outcomes",
    "summaries",
    "area_run",
    "journal",
    "missing_files",
}
REQUIRED_KEYS = {"description", "coverage_status", "issue", "diagnoses", "outcomes", "summaries"}
# Trees named AREA-* are also diagnosed with only that area's probes and rules
# (tests/agent/test_agent_scenarios.py, tests/ssm/test_ssm_scenarios.py): their expectation
# says what that area alone concludes, under "area_run".
AREA_RUN_PREFIXES = ("agent", "ssm")


def expect_path(name: str) -> Path:
    return ROOTS / f"{name}.expect.json"


def trees_of(area: str) -> List[str]:
    """The trees named AREA-*, which tests/AREA/ also diagnose with that area alone."""
    return [name for name in TREES if name.startswith(f"{area}-")]


def _check_diagnoses(where: str, diagnoses: object) -> None:
    assert isinstance(diagnoses, list), f"{where}: diagnoses is a list"
    for d in diagnoses:
        assert isinstance(d, dict) and set(d) == {"code", "confidence"}, (
            f"{where}: each diagnosis is {{code, confidence}}"
        )
        assert isinstance(d["code"], str) and d["confidence"] in CONFIDENCE, where


def load_expectation(name: str) -> Dict[str, object]:
    """NAME.expect.json, checked for shape so that a malformed file fails with its own name."""
    path = expect_path(name)
    if not path.exists():
        raise AssertionError(
            f"scenario tree {name} has no expectation file: write {path.name} beside it "
            "(description, coverage_status, issue, diagnoses, outcomes, summaries; see "
            "fixtures/roots/NOTES.md)"
        )
    data = json.loads(path.read_text(encoding="utf-8"))
    where = path.name
    assert isinstance(data, dict), f"{where}: not a JSON object"
    assert set(data) <= EXPECT_KEYS, f"{where}: unknown keys {sorted(set(data) - EXPECT_KEYS)}"
    assert set(data) >= REQUIRED_KEYS, f"{where}: missing {sorted(REQUIRED_KEYS - set(data))}"
    assert isinstance(data["description"], str) and data["description"].strip()
    assert data["coverage_status"] in COVERAGE, f"{where}: coverage_status"
    issue = data["issue"]
    assert issue is None or (isinstance(issue, dict) and set(issue) == {"type", "message"}), (
        f"{where}: issue is null or {{type, message}}"
    )
    _check_diagnoses(where, data["diagnoses"])
    outcomes = data["outcomes"]
    assert isinstance(outcomes, dict) and outcomes, f"{where}: outcomes names no check"
    assert set(outcomes.values()) <= set(OUTCOMES), f"{where}: unknown outcome"
    summaries = data["summaries"]
    assert isinstance(summaries, dict) and set(summaries) == set(outcomes), (
        f"{where}: summaries gives words for exactly the checks in outcomes"
    )
    for check, words in summaries.items():
        assert isinstance(words, list) and words, f"{where}: {check} names no words"
        assert all(isinstance(w, str) and w.strip() for w in words), f"{where}: {check} words"
    has_area_run = name.split("-", 1)[0] in AREA_RUN_PREFIXES
    assert ("area_run" in data) == has_area_run, (
        f"{where}: area_run is given for, and only for, trees named "
        + " or ".join(f"{p}-*" for p in AREA_RUN_PREFIXES)
    )
    if has_area_run:
        area_run = data["area_run"]
        assert isinstance(area_run, dict), f"{where}: area_run is an object"
        assert set(area_run) == {"coverage_status", "diagnoses"}, f"{where}: area_run keys"
        assert area_run["coverage_status"] in COVERAGE, f"{where}: area_run coverage_status"
        _check_diagnoses(f"{where} area_run", area_run["diagnoses"])
    if "journal" in data:
        export = JOURNAL_EXPORTS / f"{data['journal']}.export"
        assert export.is_file(), f"{where}: journal names no file {export}"
    return data


def journal_of(name: str) -> Optional[str]:
    """The journal export (fixtures/agent/journal/NAME.export) a tree's expectation names: it
    becomes the tree's real journal file when a test copies the tree (agent/conftest.py)."""
    journal = load_expectation(name).get("journal")
    return journal if isinstance(journal, str) else None


def area_run_expectation(name: str) -> Dict[str, object]:
    """What an AREA-* tree declares for a run of its area alone: the verdict and diagnoses under
    "area_run", and the tree's declared checks (assert_declared with area= keeps the area's)."""
    expected = load_expectation(name)
    area_run = expected["area_run"]
    assert isinstance(area_run, dict)
    return {
        "coverage_status": area_run["coverage_status"],
        "diagnoses": area_run["diagnoses"],
        "outcomes": expected["outcomes"],
        "summaries": expected["summaries"],
    }


def _diagnoses(report: Mapping[str, object]) -> List[Dict[str, object]]:
    return [
        {"code": d["code"], "confidence": d["confidence"]}
        for d in report["diagnoses"]  # type: ignore[attr-defined]
    ]


def assert_declared(
    report: Mapping[str, object],
    declared: Mapping[str, object],
    area: Optional[str] = None,
) -> None:
    """REPORT (a JSON report) says what DECLARED (an expectation, or a table of the same keys)
    says, for the checks it names and nothing else: coverage status, issue (when declared),
    diagnoses in order with their confidence, each named check's outcome, and the words its
    summary must hold. Any key left out is not checked. With AREA, only AREA's checks are
    compared, and the area's failing checks must be exactly the declared ones."""
    checks = {c["id"]: c for c in report["checks"]}  # type: ignore[attr-defined]
    verdict = report["verdict"]
    assert isinstance(verdict, dict)

    def mine(check_id: str) -> bool:
        return area is None or check_id.split(".", 1)[0] == area

    if "coverage_status" in declared:
        assert verdict["coverage_status"] == declared["coverage_status"], verdict
    if "issue" in declared:
        assert issue_of(report) == declared["issue"], verdict
    if "diagnoses" in declared:
        assert _diagnoses(report) == declared["diagnoses"]
    outcomes = declared.get("outcomes", {})
    assert isinstance(outcomes, dict)
    named = {rule: outcome for rule, outcome in outcomes.items() if mine(rule)}
    got = {rule: checks[rule]["outcome"] if rule in checks else "absent" for rule in named}
    assert got == named, (
        f"declared outcomes {named}, the report's {got}; their summaries: "
        f"{ {rule: checks[rule]['summary'] for rule in got if rule in checks} }"
    )
    summaries = declared.get("summaries", {})
    assert isinstance(summaries, dict)
    lacking = {
        rule: ([w for w in words if w not in checks[rule]["summary"]], checks[rule]["summary"])
        for rule, words in summaries.items()
        if mine(rule) and rule in checks
    }
    lacking = {rule: why for rule, why in lacking.items() if why[0]}
    assert lacking == {}, (
        f"summaries lack their declared words, {{check: ([words], summary)}}: {lacking}"
    )
    if area is not None:
        failing = {rule for rule, c in checks.items() if mine(rule) and c["outcome"] == "fail"}
        assert failing == {rule for rule, outcome in named.items() if outcome == "fail"}


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


def issue_of(report: Mapping[str, object]) -> Optional[Dict[str, str]]:
    verdict = report["verdict"]
    assert isinstance(verdict, dict)
    if verdict["issue_type"] is None:
        return None
    return {"type": verdict["issue_type"], "message": verdict["issue_message"]}
