"""Fixtures for the agent tests: captured outputs, --root trees with real journal files made
by systemd-journal-remote, and a doctor run limited to the agent area."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable, Dict, Optional, Tuple

import pytest
from scenarios import journal_of

from amzn_gd_doctor import doctor, registry
from amzn_gd_doctor.host import RootedHost
from amzn_gd_doctor.model import Finding, Report

from .journal_export import EXPORTS, journal_remote, make_journal

REPO = Path(__file__).resolve().parents[2]
AGENT_FIXTURES = REPO / "fixtures" / "agent"
ROOTS = REPO / "fixtures" / "roots"
# Facts from other areas the agent rules read.
OTHER_FACTS = (
    "platform.kernel",
    "platform.btf",
    "ssm.agent",
    "net.proxy_view",
    # agent.host_container: the agent as Bottlerocket's host container (docs/families.md)
    "family.bottlerocket",
    "family.agent_container_journal",
)


def _systemd_python_missing() -> bool:
    try:
        import systemd.journal  # noqa: F401
    except ImportError:
        return True
    return False


needs_systemd_python = pytest.mark.skipif(
    _systemd_python_missing(), reason="systemd-python (python3-systemd) is not installed"
)
# The two journal readers as test parameters: the Reader's cases skip, naming it, without it.
READER = ("systemd-python",)
JOURNALCTL = ("journalctl",)
BACKEND_PARAMS = (
    pytest.param(READER, marks=needs_systemd_python, id="systemd-python"),
    pytest.param(JOURNALCTL, id="journalctl"),
)
needs_journal_remote = pytest.mark.skipif(
    journal_remote() is None,
    reason="systemd-journal-remote (package systemd-journal-remote) "
    "is needed to make real journal files",
)


def run_agent_area(
    root: Path, env: Optional[Dict[str, str]] = None, backends: Optional[Tuple[str, ...]] = None
) -> Report:
    """doctor.run over a tree with the agent probes and rules (plus the facts they read)."""
    probes, rules = registry.load()
    picked = {k: v for k, v in probes.items() if k.startswith("agent.") or k in OTHER_FACTS}
    host = RootedHost(root=str(root), env=env or {"AWS_EC2_METADATA_DISABLED": "true"})
    if backends is not None:
        host.journal_backends = backends
    return doctor.run(
        host,
        doctor.Options(root=str(root), deadline=20.0),
        picked,
        {k: v for k, v in rules.items() if k.startswith("agent.")},
    )


def findings(report: Report) -> Dict[str, Finding]:
    return {f.rule_id: f for f in report.findings}


def copy_tree(tmp_path: Path, name: str) -> Path:
    """A writable copy of fixtures/roots/NAME, with its journal made from the export text that
    the tree's expectation file names under "journal" (tests/scenarios.py)."""
    dest = tmp_path / name
    shutil.copytree(ROOTS / name, dest, symlinks=True)
    export = journal_of(name)
    if export is not None:
        if journal_remote() is None:
            pytest.skip("systemd-journal-remote is needed to make the tree's journal")
        make_journal(
            (EXPORTS / f"{export}.export").read_bytes(),
            dest / "var/log/journal" / "3c1f0a9e8d7b4c2a9e1f0d3b5a7c9e11",
        )
    return dest


@pytest.fixture
def agent_tree(tmp_path: Path) -> Callable[[str], Path]:
    return lambda name: copy_tree(tmp_path, name)


@pytest.fixture
def agent_fixture() -> Callable[[str], bytes]:
    return lambda relpath: (AGENT_FIXTURES / relpath).read_bytes()
