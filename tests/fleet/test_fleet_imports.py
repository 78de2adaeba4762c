"""`fleet summarize` loads the fleet reader and no probe; `check` loads no fleet module."""

from __future__ import annotations

from pathlib import Path

from support import ROOTS
from test_imports import loaded


def test_fleet_summarize_loads_no_probe_and_no_engine(fleet_dir: Path) -> None:
    found = loaded("fleet", "summarize", str(fleet_dir), "-f", "json")
    assert "amzn_gd_doctor.fleet.summary" in found and "amzn_gd_doctor.render.fleet" in found
    engine = {m for m in found if m.startswith("amzn_gd_doctor.probes")}
    engine |= {"amzn_gd_doctor.doctor", "amzn_gd_doctor.registry", "amzn_gd_doctor.host"}
    engine |= {"amzn_gd_doctor.probing", "amzn_gd_doctor.answers"}
    assert not engine & found, engine & found


def test_check_loads_no_fleet_module() -> None:
    found = loaded("check", "--root", str(ROOTS / "al2023-6.1"), "--dns-server", "127.0.0.1:9")
    assert "amzn_gd_doctor.probes.platform" in found
    assert not {m for m in found if m.startswith("amzn_gd_doctor.fleet")}
