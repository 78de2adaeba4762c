"""A fleet's Run Command output folder made of real reports: the doctor run on fixture trees
in JSON and in text, placed in Run Command's layout, plus the junk a fleet returns."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from support import ROOTS, doctor_env, run_cli

from amzn_gd_doctor.fleet.source import OUTPUT_LIMIT
from amzn_gd_doctor.model import CoverageStatus, HostSummary, Report
from amzn_gd_doctor.render import json as render_json
from amzn_gd_doctor.render import text as render_text

COMMAND = "5e1b7f0c-2a3d-4e5f-8a9b-0c1d2e3f4a5b"
STEP = "diagnose"
# (instance id, fixture tree, format)
REAL = (
    ("i-000000000000000a1", "agent-oom", "json"),
    ("i-000000000000000a2", "agent-oom", "text"),
    ("i-000000000000000b1", "ssm-stopped", "json"),
    ("i-000000000000000b2", "ssm-stopped", "text"),
    ("i-000000000000000c1", "al2-4.14", "text"),
    ("i-000000000000000c2", "al2-4.14", "json"),
    ("i-000000000000000d1", "al2023-6.1", "json"),
    ("i-000000000000000d2", "al2023-6.1", "text"),
    ("i-000000000000000e1", "ssm-healthy", "text"),
    ("i-000000000000000e2", "ubuntu-22.04", "text"),
)


def report(tree: str, fmt: str) -> bytes:
    # IMDS disabled and every resolver a refused loopback port: only the tree is judged.
    result = run_cli(
        "check",
        "-f",
        fmt,
        "--root",
        str(ROOTS / tree),
        "--dns-server",
        "127.0.0.1:9",
        env=doctor_env(AWS_EC2_METADATA_DISABLED="true"),
    )
    assert result.stdout, result.stderr
    return result.stdout.encode()


def healthy_report(fmt: str) -> bytes:
    """No fixture tree is healthy under --root (IMDS and the running agent cannot be seen
    there), so this one is a Report value rendered by the real renderers."""
    value = Report(
        tool_version="0.1.0",
        coverage_status=CoverageStatus.HEALTHY,
        primary=None,
        diagnoses=(),
        findings=(),
        facts=(),
        host=HostSummary(
            instance_id="i-000000000000000f1",
            os="Amazon Linux 2",
            kernel="5.10.228-219.884.amzn2.x86_64",
        ),
        incomplete=(),
        elapsed_ms=0,
        deadline_s=10.0,
    )
    text = render_json.render(value) if fmt == "json" else render_text.render(value)
    return text.encode()


def place(top: Path, instance: str, data: bytes, command: str = COMMAND) -> Path:
    step = top / command / instance / "awsrunShellScript" / STEP
    step.mkdir(parents=True)
    (step / "stderr").write_bytes(b"")
    path = step / "stdout"
    path.write_bytes(data)
    return path


def junk(top: Path, oom_json: bytes, oom_text: bytes) -> None:
    place(top, "i-000000000000000j1", b"")
    place(top, "i-000000000000000j2", b"bash: amzn-gd-doctor: command not found\n")
    place(top, "i-000000000000000j3", oom_json[: len(oom_json) // 2])  # cut mid-document
    place(top, "i-000000000000000j4", bytes(range(256)) * 8)
    place(top, "i-000000000000000j5", b"<!DOCTYPE html>\n<html><body>502 Bad Gateway</body>\n")
    newer = json.loads(oom_json)
    newer["schema_version"] = "2.0"
    place(top, "i-000000000000000j6", json.dumps(newer, indent=2).encode())
    place(top, "i-000000000000000j7", b'{"errorMessage": "Task timed out"}\n')
    # Larger than the read limit: a text report followed by megabytes of log, read up to the
    # limit and marked truncated, still a report.
    place(top, "i-000000000000000j8", oom_text + b"x" * (OUTPUT_LIMIT + 10))
    # The suite runs as root, for whom chmod 000 does not stop a read: a `stdout` that is a
    # folder and one that is a link to nowhere fail for root as for anyone.
    path = place(top, "i-000000000000000j9", b"")
    path.unlink()
    path.mkdir()
    path = place(top, "i-000000000000000ja", b"")
    path.unlink()
    os.symlink("/nonexistent/stdout", path)


@pytest.fixture(scope="session")
def fleet_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    top = tmp_path_factory.mktemp("fleet") / "outputs"
    made: dict[tuple[str, str], bytes] = {}
    for instance, tree, fmt in REAL:
        data = made.setdefault((tree, fmt), report(tree, fmt))
        place(top, instance, data)
    place(top, "i-000000000000000f1", healthy_report("json"))
    place(top, "i-000000000000000f2", healthy_report("text"))
    junk(top, made[("agent-oom", "json")], made[("agent-oom", "text")])
    # Not part of the layout: ignored.
    (top / "README.txt").write_text("outputs of the doctor\n")
    (top / COMMAND / "i-000000000000000b1" / "awsrunShellScript" / "other").mkdir()
    return top


@pytest.fixture
def fleet_copy(fleet_dir: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "outputs"
    shutil.copytree(fleet_dir, dest, symlinks=True)
    return dest


@pytest.fixture(autouse=True)
def spool_under_pytest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The summary's temporary runs go under this test's own folder, in this process
    (tempfile) and in the CLI processes the tests start (TMPDIR), so a concurrent test that
    watches /tmp for the doctor's leftovers (tests/test_pyz.py) does not see them pass by."""
    spool = tmp_path / "spool"
    spool.mkdir()
    monkeypatch.setenv("TMPDIR", str(spool))
    monkeypatch.setattr(tempfile, "tempdir", str(spool))
    return spool
