"""Fixtures for the SSM tests: paths to the captured SSM outputs, and a doctor run limited to
the SSM area over a --root tree."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Optional

import pytest

from amzn_gd_doctor import doctor, registry
from amzn_gd_doctor.host import RootedHost
from amzn_gd_doctor.model import Report
from amzn_gd_doctor.registry import ProbeSpec

REPO = Path(__file__).resolve().parents[2]
SSM_FIXTURES = REPO / "fixtures" / "ssm"
SSM_ROOTS = REPO / "fixtures" / "roots"
# Facts from other areas the SSM rules read.
OTHER_FACTS = ("platform.os", "agent.package")


class _NoGuardDutyAgent:
    installed = False
    version: Optional[str] = None


def _agent_package_stand_in(ctx: Any) -> _NoGuardDutyAgent:
    """Stands in for agent.package while no probe provides it: no ssm-* tree holds the
    GuardDuty agent, which is what the real probe reports for them."""
    return _NoGuardDutyAgent()


def run_ssm_area(root: Path, env: Optional[Dict[str, str]] = None) -> Report:
    """doctor.run over a tree with the SSM probes and rules (plus the facts they read)."""
    probes, rules = registry.load()
    picked = {k: v for k, v in probes.items() if k.startswith("ssm.") or k in OTHER_FACTS}
    if "agent.package" not in picked:
        picked["agent.package"] = ProbeSpec("agent.package", _agent_package_stand_in, (), 1.0)
    host = RootedHost(root=str(root), env=env or {"AWS_EC2_METADATA_DISABLED": "true"})
    return doctor.run(
        host,
        doctor.Options(root=str(root)),
        picked,
        {k: v for k, v in rules.items() if k.startswith("ssm.")},
    )


@pytest.fixture
def ssm_fixture() -> Any:
    def read(relpath: str) -> bytes:
        return (SSM_FIXTURES / relpath).read_bytes()

    return read
