"""The CLI scenario corpus: every --root tree under fixtures/roots diagnosed by the doctor as a
process, checked against the expectation file beside the tree and against its golden checks,
one golden per area.

Goldens are per area so that a change to one area rewrites only that area's files:
fixtures/golden/corpus/AREA/TREE.json holds the checks of AREA (id, outcome, summary, issue),
and fixtures/golden/corpus/verdict/TREE.json the verdict, the diagnoses and the exit code.

This is the part of the suite that also runs against other builds of the doctor: set
AMZN_GD_DOCTOR_COMMAND to an installed console script or to `PYTHON dist/amzn-gd-doctor.pyz`
(scripts/test.sh does so for every interpreter from 3.6 to the newest) and the same trees must
give the same verdicts, diagnoses and check summaries. Facts are left out of the goldens: their
values name the reader that was used (systemd-python or journalctl), which legitimately differs
between builds.
"""

from __future__ import annotations

import json
from typing import Callable, Dict

import pytest
from scenarios import (
    TREES,
    checks_by_area,
    expect_path,
    issue_of,
    load_expectation,
)
from support import ROOTS, check_golden

pytestmark = pytest.mark.corpus
Reports = Callable[[str], Dict[str, object]]


def dump(data: object) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def test_every_tree_has_an_expectation_file() -> None:
    missing = [name for name in TREES if not expect_path(name).exists()]
    assert missing == [], (
        f"scenario trees without an expectation file beside them: {missing}; write "
        "fixtures/roots/NAME.expect.json for each (see fixtures/roots/NOTES.md)"
    )
    orphans = sorted(
        p.name for p in ROOTS.glob("*.expect.json") if p.name[: -len(".expect.json")] not in TREES
    )
    assert orphans == [], f"expectation files without a tree: {orphans}"


@pytest.mark.parametrize("name", TREES)
def test_tree(name: str, scenario_reports: Reports, request: pytest.FixtureRequest) -> None:
    expected = load_expectation(name)
    report = scenario_reports(name)
    # No tree, hostile ones included, makes a probe or a rule crash.
    assert [c["id"] for c in report["checks"] if c["outcome"] == "crash"] == []  # type: ignore[union-attr]
    assert [f["id"] for f in report["facts"] if "crashed" in (f["reason"] or "")] == []  # type: ignore[union-attr]
    # What the scenario is for, as its expectation file declares it.
    assert report["verdict"]["coverage_status"] == expected["coverage_status"]  # type: ignore[index]
    assert issue_of(report) == expected["issue"]
    outcomes = {c["id"]: c["outcome"] for c in report["checks"]}  # type: ignore[union-attr]
    declared = expected["outcomes"]
    assert isinstance(declared, dict)
    assert {rule: outcomes.get(rule, "absent") for rule in declared} == declared
    # Everything else the report says, one golden per area.
    verdict = {key: report[key] for key in ("verdict", "diagnoses", "exit_code")}
    check_golden(request, f"corpus/verdict/{name}.json", dump(verdict))
    for area, checks in sorted(checks_by_area(report).items()):
        check_golden(request, f"corpus/{area}/{name}.json", dump(checks))
