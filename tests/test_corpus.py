"""The CLI scenario corpus: every --root tree under fixtures/roots diagnosed by the doctor as a
process and checked against the expectation file beside the tree, which says what the tree is
about: its verdict and console issue, its diagnoses (code and confidence, in order), and the
checks it exercises with their outcomes and the words their summaries must hold. The checks a
tree does not name are not compared, so a new check changes only the trees made for it.

This is the part of the suite that also runs against other builds of the doctor: set
AMZN_GD_DOCTOR_COMMAND to an installed console script or to `PYTHON dist/amzn-gd-doctor.pyz`
(scripts/test.sh does so for every interpreter from 3.6 to the newest) and the same trees must
give the same verdicts, diagnoses, outcomes and summary words. Facts are not compared: their
values name the journal reader that was used (systemd-python or journalctl), which legitimately
differs between builds.
"""

from __future__ import annotations

from typing import Callable, Dict

import pytest
from scenarios import EXIT_CODES, TREES, assert_declared, expect_path, load_expectation
from support import ROOTS

pytestmark = pytest.mark.corpus
Reports = Callable[[str], Dict[str, object]]


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
def test_tree(name: str, scenario_reports: Reports) -> None:
    expected = load_expectation(name)
    report = scenario_reports(name)
    # No tree, hostile ones included, makes a probe or a rule crash.
    assert [c["id"] for c in report["checks"] if c["outcome"] == "crash"] == []  # type: ignore[union-attr]
    assert [f["id"] for f in report["facts"] if "crashed" in (f["reason"] or "")] == []  # type: ignore[union-attr]
    # What the scenario is about, as its expectation file declares it.
    assert_declared(report, expected)
    # The verdict is the first diagnosis, and the exit code the coverage status.
    verdict = report["verdict"]
    assert isinstance(verdict, dict)
    first = report["diagnoses"][0] if expected["issue"] else None  # type: ignore[index]
    assert (verdict["code"], verdict["confidence"]) == (
        (first["code"], first["confidence"]) if first else (None, None)
    )
    assert report["exit_code"] == EXIT_CODES[verdict["coverage_status"]]
