"""SSM --root scenarios end to end (doctor.run over every fixtures/roots/ssm-* tree with the SSM
probes and rules, the report rendered as JSON and checked against what the tree's expectation
file declares), bad input on disk, and root-only files read without the privilege to read
them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from scenarios import area_run_expectation, assert_declared, trees_of
from support import DROP_READ_CAPS, doctor_env, run_cli, shown_in

from amzn_gd_doctor.model import Outcome
from amzn_gd_doctor.render import json as render_json
from amzn_gd_doctor.render import text as render_text

from .conftest import REPO, SSM_FIXTURES, SSM_ROOTS, run_ssm_area

PLUGIN_STATE = "var/lib/amazon/ssm/packages/AmazonGuardDuty-RuntimeMonitoringSsmPlugin/installstate"


@pytest.mark.parametrize("name", trees_of("ssm"))
def test_root_scenario(name: str) -> None:
    """What the SSM area alone concludes over the tree (`area_run` in its expectation file),
    and the outcomes and summary words of the SSM checks it declares; its failing SSM checks are
    exactly the declared ones."""
    expected = area_run_expectation(name)
    root = SSM_ROOTS / name
    report = run_ssm_area(root)
    assert all(f.outcome is not Outcome.CRASH for f in report.findings)
    data = json.loads(render_json.render(report).replace(str(root), "<ROOT>"))
    assert_declared(data, expected, area="ssm")
    diagnoses = expected["diagnoses"]
    assert isinstance(diagnoses, list)
    primary = diagnoses[0]["code"] if diagnoses else None
    assert (report.primary.issue.code if report.primary else None) == primary


def findings(report) -> dict:
    return {f.rule_id: f for f in report.findings}


def copy_tree(tmp_path: Path, name: str) -> Path:
    dest = tmp_path / name
    shutil.copytree(SSM_ROOTS / name, dest, symlinks=True)
    return dest


def test_huge_installstate_is_a_finding_not_a_crash(tmp_path: Path) -> None:
    root = copy_tree(tmp_path, "ssm-healthy")
    state = root / PLUGIN_STATE
    with open(state, "wb") as fh:
        fh.truncate(64 * 1024 * 1024)  # sparse: 64 MiB of NULs on disk costs nothing
    f = findings(run_ssm_area(root))["ssm.plugin_install_state"]
    assert f.outcome is Outcome.WARN
    assert "larger than 1024 KiB, not an SSM state file" in f.summary


@pytest.mark.parametrize("variant", ["corrupt-prefix.json", "binary.bin", "unknown-state-42.json"])
def test_malformed_installstate_on_disk_warns(tmp_path: Path, variant: str) -> None:
    root = copy_tree(tmp_path, "ssm-healthy")
    shutil.copyfile(SSM_FIXTURES / "installstate" / variant, root / PLUGIN_STATE)
    f = findings(run_ssm_area(root))["ssm.plugin_install_state"]
    assert f.outcome is Outcome.WARN


def test_hostile_log_is_printable_in_the_report(tmp_path: Path) -> None:
    root = copy_tree(tmp_path, "ssm-healthy")
    shutil.copyfile(SSM_FIXTURES / "logs/hostile.log", root / "var/log/amazon/ssm/errors.log")
    report = run_ssm_area(root)
    f = findings(report)["ssm.logs_clean"]
    assert f.outcome is Outcome.WARN and len(f.evidence) == 2
    text = render_text.render(report, verbose=True)
    assert "\x1b" not in text and "\x07" not in text and "\x00" not in text
    assert shown_in("Health ping failed with error - EC2RoleRequestError", text)


def test_corrupt_document_state_is_skipped(tmp_path: Path) -> None:
    root = copy_tree(tmp_path, "ssm-healthy")
    (root / "var/lib/amazon/ssm/i-0123456789abcdef0/document/state/pending/bad").write_bytes(
        b"\x00\xff not json"
    )
    f = findings(run_ssm_area(root))["ssm.association_execution"]
    assert f.outcome is Outcome.PASS


PROBE_SCRIPT = """
import json, sys
sys.path.insert(0, {tests!r})
from ssm.conftest import run_ssm_area
report = run_ssm_area(__import__("pathlib").Path(sys.argv[1]))
print(json.dumps({{f.rule_id: [f.outcome.value, f.summary] for f in report.findings}}))
"""


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None,
    reason="needs root and setpriv (util-linux) to drop the read capabilities",
)
def test_root_only_files_without_privilege_are_inconclusive(tmp_path: Path) -> None:
    root = copy_tree(tmp_path, "ssm-plugin-failed")
    for sub in ("var/lib/amazon/ssm", "var/log/amazon/ssm"):
        os.chmod(root / sub, 0)
    try:
        proc = subprocess.run(
            DROP_READ_CAPS
            + [sys.executable, "-c", PROBE_SCRIPT.format(tests=str(REPO / "tests")), str(root)],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=str(REPO),
            env=doctor_env(AWS_EC2_METADATA_DISABLED="true"),
        )
    finally:
        for sub in ("var/lib/amazon/ssm", "var/log/amazon/ssm"):
            os.chmod(root / sub, 0o755)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    outcome, summary = result["ssm.plugin_install_state"]
    assert outcome == "inconclusive"
    assert "permission denied reading" in summary and "`sudo cat " in summary
    outcome, summary = result["ssm.logs_clean"]
    assert outcome == "inconclusive" and "`sudo tail -n 200 " in summary
    assert result["ssm.agent_running"][0] == "pass"  # /proc and unit files stay readable


@pytest.mark.corpus
def test_cli_reports_ssm_checks_for_a_root_tree() -> None:
    res = run_cli(
        "check",
        "--format",
        "json",
        "--root",
        str(SSM_ROOTS / "ssm-hybrid"),
        "--dns-server",
        "127.0.0.1:9",
    )
    checks = {c["id"]: c for c in res.json()["checks"]}
    assert checks["ssm.hybrid_registration"]["outcome"] == "fail"
    assert checks["ssm.hybrid_registration"]["issue"] == "identity_document_unavailable"
    assert res.returncode == 1
