"""The scenario trees hold what their own package databases say is installed: every path a
dpkg file list (var/lib/dpkg/info/*.list, what `dpkg -L` prints and the doctor reads under
--root) names exists in the tree, unless the tree's expectation file declares it missing on
purpose, with the reason. Paths are resolved the way the doctor resolves them, so a merged-/usr
link (`lib -> usr/lib`) counts."""

from __future__ import annotations

import os
from typing import List

import pytest
from scenarios import TREES, load_expectation
from support import ROOTS

from amzn_gd_doctor.host import tree as rooted


def listed_paths(name: str) -> List[str]:
    """The leaves of every dpkg file list in the tree: a directory that holds a listed file is
    implied by that file, so only entries no other entry lies under are checked."""
    info = ROOTS / name / "var/lib/dpkg/info"
    paths: List[str] = []
    for listing in sorted(info.glob("*.list")) if info.is_dir() else []:
        entries = [p for p in listing.read_text(encoding="utf-8").splitlines() if p.strip("/.")]
        paths += [p for p in entries if not any(o.startswith(p + "/") for o in entries)]
    return paths


def test_some_trees_have_file_lists() -> None:
    assert "/opt/aws/amazon-guardduty-agent/bin/amazon-guardduty" in listed_paths("agent-healthy")


@pytest.mark.parametrize("name", TREES)
def test_listed_files_exist_in_the_tree(name: str) -> None:
    declared = load_expectation(name).get("missing_files", {})
    assert isinstance(declared, dict)
    root = str(ROOTS / name)
    missing = [p for p in listed_paths(name) if not os.path.lexists(rooted.resolve(root, p))]
    assert sorted(missing) == sorted(declared), (
        f"{name}: paths its dpkg file lists name but the tree lacks (add them, or declare "
        f"them in {name}.expect.json under missing_files with the reason): "
        f"{sorted(set(missing) - set(declared))}; declared missing but present or unlisted: "
        f"{sorted(set(declared) - set(missing))}"
    )
    assert all(isinstance(why, str) and why for why in declared.values())
