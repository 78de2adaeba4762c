"""`fleet summarize` over a folder of real outputs and junk, through the real CLI."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import pytest
from support import REPO, check_golden, doctor_env, null_device, read_fifo_in_background, run_cli

from amzn_gd_doctor.fleet import reading as fleet_reading
from amzn_gd_doctor.fleet import runs as fleet_runs
from amzn_gd_doctor.fleet import summary as fleet_summary
from amzn_gd_doctor.fleet.parse import parse
from amzn_gd_doctor.fleet.walk import walk
from amzn_gd_doctor.render import fleet as render_fleet

from .conftest import COMMAND, REAL

DOCS = "https://docs.aws.amazon.com/guardduty/latest/ug/"


def summarize(path: Path, *args: str):
    env = doctor_env(AWS_EC2_METADATA_DISABLED="true", TMPDIR=os.environ["TMPDIR"])
    return run_cli("fleet", "summarize", str(path), *args, env=env)


def stable(text: str, top: Path) -> str:
    from support import REPO

    return text.replace(str(top), "$FLEET").replace(str(REPO), "$REPO")


def test_json_summary_counts_are_exact(fleet_dir: Path, request: pytest.FixtureRequest) -> None:
    result = summarize(fleet_dir, "-f", "json")
    assert (result.returncode, result.stderr) == (0, "")
    data = json.loads(result.stdout)
    assert data["instances"] == 22
    assert data["by_status"] == {"HEALTHY": 2, "UNHEALTHY": 5, "UNKNOWN": 6, "UNREADABLE": 9}
    assert data["coverage_statistics"] == {
        "countByResourceType": {"EC2": 7},
        "countByCoverageStatus": {"HEALTHY": 2, "UNHEALTHY": 5},
    }
    assert data["by_issue"] == [
        {
            "issue_type": "Agent Not Provisioned",
            "issue_message": "Kernel version is lower than the supported version.",
            "count": 2,
            "instances": ["i-000000000000000c1", "i-000000000000000c2"],
            "code": "kernel_too_low",
            "doc_url": DOCS + "prereq-runtime-monitoring-cpu-os-kernel-support.html",
        },
        {
            "issue_type": "No Agent Reporting",
            "issue_message": "Waiting for SSM notification",
            "count": 2,
            "instances": ["i-000000000000000b1", "i-000000000000000b2"],
            "code": "waiting_for_ssm_notification",
            "doc_url": DOCS + "gdu-assess-coverage-ec2.html",
        },
        {
            "issue_type": "No Agent Reporting",
            "issue_message": "",
            "count": 1,
            "instances": ["i-000000000000000e1"],
            "code": "no_agent_reporting",
            "doc_url": DOCS + "gdu-assess-coverage-ec2.html",
        },
    ]
    assert data["by_os"] == [
        {"name": "Amazon Linux 2023", "count": 8},
        {"name": "Amazon Linux 2", "count": 4},
        {"name": "Ubuntu 22.04.2 LTS", "count": 1},
    ]
    assert data["by_kernel_family"] == [
        {"name": "6.1", "count": 8},
        {"name": "4.14", "count": 2},
        {"name": "5.10", "count": 2},
        {"name": "6.8", "count": 1},
    ]
    # No report says the agent's version yet: every readable one counts as unknown.
    assert data["by_agent_version"] == [{"name": "unknown", "count": 13}]
    assert data["by_format"] == [{"name": "text", "count": 8}, {"name": "json", "count": 5}]
    assert [u["instance_id"] for u in data["undecided"]] == [
        "i-000000000000000a1",
        "i-000000000000000a2",
        "i-000000000000000d1",
        "i-000000000000000d2",
        "i-000000000000000e2",
        "i-000000000000000j8",
    ]
    assert {u["instance_id"]: u["first_line"] for u in data["unreadable"]} == {
        "i-000000000000000j1": "empty output",
        "i-000000000000000j2": "bash: amzn-gd-doctor: command not found",
        "i-000000000000000j3": "truncated JSON: {",
        # As the bytes were (JSON escapes them: \u0000...); the text view shows \x00...
        "i-000000000000000j4": "\x00\x01\x02\x03\x04\x05\x06\x07\x08",
        "i-000000000000000j5": "<!DOCTYPE html>",
        "i-000000000000000j6": "report schema 2.0 is newer than this reader (major 1): "
        "upgrade amzn-gd-doctor",
        "i-000000000000000j7": 'JSON but not a doctor report: {"errorMessage": "Task timed out"}',
        "i-000000000000000j9": "cannot read stdout: not a regular file",
        # A link to /nonexistent/stdout: outside the source, so not followed at all.
        "i-000000000000000ja": "cannot read stdout: a link outside SOURCE, not followed "
        "(--follow-links reads it)",
    }
    assert data["truncated"] == 1
    check_golden(request, "fleet/summary.json", stable(result.stdout, fleet_dir))


def test_text_and_json_reports_of_one_host_count_alike(fleet_dir: Path) -> None:
    """The same tree's report read from its JSON and from its text gives the same row."""
    rows = {
        o.instance_id: parse(o)
        for o in walk(str(fleet_dir), [])
        if o.instance_id in {i for i, _, _ in REAL}
    }
    by_tree: dict[str, dict[str, object]] = {}
    for instance, tree, fmt in REAL:
        by_tree.setdefault(tree, {})[fmt] = rows[instance]
    pairs = [(f["json"], f["text"]) for f in by_tree.values() if len(f) == 2]
    assert len(pairs) == 4
    for js, tx in pairs:
        for name in ("status", "code", "issue_type", "issue_message", "os", "kernel"):
            assert getattr(js, name) == getattr(tx, name), (name, js, tx)
        assert js.doctor_version == tx.doctor_version == "0.1.0"
        assert (js.root_causes, js.reason, js.undecided) == (
            tx.root_causes,
            tx.reason,
            tx.undecided,
        )


def _views(summary: fleet_summary.Summary) -> tuple[str, str, str]:
    with summary.listing:
        return (
            render_fleet.render_json(summary),
            render_fleet.render_text(summary),
            render_fleet.render_csv(summary),
        )


def test_walk_reads_in_workers_what_one_process_reads(fleet_dir: Path) -> None:
    one = _views(fleet_reading.read_folder(str(fleet_dir), workers=1))
    four = _views(fleet_reading.read_folder(str(fleet_dir), workers=4))
    assert one == four
    assert json.loads(one[0])["instances"] == 22
    # Pointed at the command's folder instead of the prefix: the same outputs.
    below = _views(fleet_reading.read_folder(str(fleet_dir / COMMAND), workers=4))
    assert below == one


def test_text_view(fleet_dir: Path, request: pytest.FixtureRequest) -> None:
    result = summarize(fleet_dir)
    assert (result.returncode, result.stderr) == (0, "")
    assert "\n  UNREADABLE        9\n" in result.stdout
    check_golden(request, "fleet/summary.txt", stable(result.stdout, fleet_dir))


def test_csv_view(fleet_dir: Path, request: pytest.FixtureRequest) -> None:
    result = summarize(fleet_dir, "-f", "csv")
    assert (result.returncode, result.stderr) == (0, "")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 22
    assert rows[2]["instance_id"] == "i-000000000000000b1"
    assert rows[2]["issue_message"] == "Waiting for SSM notification"
    check_golden(request, "fleet/summary.csv", stable(result.stdout, fleet_dir))


def test_csv_cells_never_start_a_formula(tmp_path: Path) -> None:
    from .conftest import place

    place(tmp_path, "=HYPERLINK(1)", b"+cmd\n", command="@SUM(A1)")
    place(tmp_path, "-i-2", b"-2+3\n", command="cmd")
    result = summarize(tmp_path, "-f", "csv")
    assert result.returncode == 0
    assert result.stdout.splitlines()[1:] == [
        "'-i-2,cmd,UNREADABLE,,,,,,,,,,'-2+3,",
        "'=HYPERLINK(1),'@SUM(A1),UNREADABLE,,,,,,,,,,'+cmd,",
    ]


def test_output_file_is_written_whole(fleet_copy: Path, tmp_path: Path) -> None:
    out = tmp_path / "report" / "fleet.json"
    out.parent.mkdir()
    out.write_text("old\n")
    result = summarize(fleet_copy, "-f", "json", "-o", str(out))
    assert (result.returncode, result.stdout, result.stderr) == (0, "", f"wrote {out}\n")
    assert json.loads(out.read_text())["instances"] == 22
    assert sorted(os.listdir(out.parent)) == ["fleet.json"]  # no temporary file left


def test_output_to_a_device_or_fifo_is_written_into_not_replaced(
    fleet_dir: Path, tmp_path: Path
) -> None:
    import stat

    null = null_device(tmp_path / "null")
    result = summarize(fleet_dir, "-f", "json", "-o", str(null))
    assert (result.returncode, result.stdout, result.stderr) == (0, "", f"wrote {null}\n")
    assert stat.S_ISCHR(os.stat(null).st_mode)
    fifo = tmp_path / "fifo"
    written = read_fifo_in_background(fifo)
    result = summarize(fleet_dir, "-f", "json", "-o", str(fifo))
    assert json.loads(written())["instances"] == 22
    assert sorted(os.listdir(tmp_path)) == ["fifo", "null", "spool"]  # spool: the fixture's


def test_output_into_a_missing_folder_is_refused(fleet_dir: Path, tmp_path: Path) -> None:
    result = summarize(fleet_dir, "-o", str(tmp_path / "nowhere" / "x.json"))
    assert result.returncode == 2
    assert "directory of" in result.stderr and "does not exist" in result.stderr


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "missing", "missing: no such file or directory"),
        (lambda p: (p / "file").write_text("x") and p / "file", "file: not a folder"),
        (lambda p: (p / "empty").mkdir() or p / "empty", "empty: no outputs found"),
    ],
)
def test_bad_sources_are_refused(tmp_path: Path, make, message: str) -> None:
    result = summarize(make(tmp_path))
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("Error: ") and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_s3_source_without_boto3_is_a_usage_error(tmp_path: Path) -> None:
    """A host without the fleet extra: boto3 cannot be imported. boto3 is installed in the test
    environment, so a package of that name that fails to import is put first on the path (the
    one way to make the real import fail without uninstalling it)."""
    shadow = tmp_path / "shadow" / "boto3"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError(\"No module named 'boto3'\")\n")
    env = doctor_env(PYTHONPATH=f"{REPO}{os.pathsep}{shadow.parent}", TMPDIR=os.environ["TMPDIR"])
    result = run_cli("fleet", "summarize", "s3://bucket/prefix", env=env)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        "Error: reading s3://bucket/prefix needs boto3: pip install 'amzn-gd-doctor[fleet]'\n"
    )


@pytest.mark.parametrize("fmt", ["json", "text", "csv", "html"])
def test_spooled_listing_is_removed(fleet_dir: Path, tmp_path: Path, fmt: str) -> None:
    """The per-instance runs live in TMPDIR while the view is written, and go with it."""
    spool = tmp_path / "tmp"
    spool.mkdir()
    result = run_cli(
        "fleet", "summarize", str(fleet_dir), "-f", fmt, env=doctor_env(TMPDIR=str(spool))
    )
    assert (result.returncode, result.stderr) == (0, "")
    assert "i-000000000000000c1" in result.stdout
    assert os.listdir(spool) == []
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run_cli("fleet", "summarize", str(empty), env=doctor_env(TMPDIR=str(spool)))
    assert result.returncode == 2
    assert os.listdir(spool) == []


def test_listing_is_merged_in_instance_order_across_runs(fleet_dir: Path) -> None:
    """Runs of two records force many sorted runs per section; the views must not change."""
    whole = _views(fleet_reading.read_folder(str(fleet_dir), workers=1))
    assert _views(fleet_reading.read_folder(str(fleet_dir), workers=2, run_records=2)) == whole


@pytest.mark.parametrize("workers", [1, 2])
def test_progress_counts_outputs_as_they_are_read(
    fleet_dir: Path, workers: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Progress starts at once (0 read), goes up to the whole count; with workers it is also
    reported while they read (every PROGRESS_EVERY seconds, made tiny here), from the count
    they share, with the total (the instance folders, counted meanwhile) once it is known."""
    monkeypatch.setattr(fleet_reading, "PROGRESS_EVERY", 0.001)
    calls: list[tuple[int, int | None]] = []
    summary = fleet_reading.read_folder(
        str(fleet_dir), workers=workers, progress=lambda *args: calls.append(args)
    )
    summary.listing.close()
    assert calls[0] == (0, None)
    assert calls[-1][0] == 22
    assert [c[0] for c in calls] == sorted(c[0] for c in calls)
    assert all(c[0] <= 22 for c in calls)
    if workers > 1:
        assert calls[-1] == (22, 22)
        assert {c[1] for c in calls} <= {None, 22}


def test_many_runs_are_merged_in_rounds(fleet_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """More runs than a merge reads at once (three here) are merged in rounds first; the views
    do not change, and the runs merged away are removed."""
    whole = _views(fleet_reading.read_folder(str(fleet_dir), workers=1))
    monkeypatch.setattr(fleet_runs, "MERGE_FAN_IN", 3)
    summary = fleet_reading.read_folder(str(fleet_dir), workers=2, run_records=1)
    runs = summary.listing.runs
    assert max(len(paths) for paths in runs.values()) > 3
    # One run of the fleet: the index of every output is never merged (no instance repeats).
    index = runs.pop(fleet_summary.INDEX)
    views = (
        render_fleet.render_json(summary),
        render_fleet.render_text(summary),
        render_fleet.render_csv(summary),
    )
    left = sorted(os.listdir(summary.listing.folder))
    summary.listing.close()
    assert views == whole
    assert max(len(paths) for paths in runs.values()) <= 3
    runs[fleet_summary.INDEX] = index
    assert left == sorted(os.path.basename(p) for paths in runs.values() for p in paths)
