"""Several runs under one source: the fleet counts instances, not files. An instance with
several outputs counts once, from its newest (the file's mtime here; S3's LastModified in
test_s3.py), the JSON says how many had more than one and over how many runs, and
``--command-id`` keeps to chosen runs."""

from __future__ import annotations

import csv
import io
import json
import os
import random
from pathlib import Path

import pytest
from support import doctor_env, run_cli

from .conftest import place

OLD, NEW = "11111111-aaaa-4bbb-8ccc-000000000001", "22222222-aaaa-4bbb-8ccc-000000000002"
WAITING = (
    b'amzn-gd-doctor: UNHEALTHY | No Agent Reporting | "Waiting for SSM notification" | '
    b"confirmed | i-x\n"
)
KERNEL = (
    b"amzn-gd-doctor: UNHEALTHY | Agent Not Provisioned | "
    b'"Kernel version is lower than the supported version." | confirmed | i-x\n'
)
HEALTHY = b"amzn-gd-doctor: HEALTHY | no issue predicted | i-x\n"
UNDECIDED = b"amzn-gd-doctor: UNKNOWN | could not decide: 3 checks inconclusive | i-x\n"
JUNK = b"junk\n"
STATUS = {
    HEALTHY: "HEALTHY",
    UNDECIDED: "UNKNOWN",
    WAITING: "UNHEALTHY",
    KERNEL: "UNHEALTHY",
    JUNK: "UNREADABLE",
}


def put(top: Path, command: str, instance: str, data: bytes, mtime: float) -> None:
    path = place(top, instance, data, command=command)
    os.utime(path, (mtime, mtime))


@pytest.fixture
def two_runs(tmp_path: Path) -> Path:
    """Two runs over overlapping instances. i-1 and i-2 ran in both; i-2's output of the first
    run is the newer one (its file was written last), so it is the one that counts."""
    top = tmp_path / "bucket" / "prefix"
    put(top, OLD, "i-1", WAITING, 1000)
    put(top, OLD, "i-2", UNDECIDED, 3000)
    put(top, OLD, "i-3", b"bash: amzn-gd-doctor: command not found\n", 1000)
    put(top, NEW, "i-1", HEALTHY, 2000)
    put(top, NEW, "i-2", HEALTHY, 2000)
    put(top, NEW, "i-4", KERNEL, 2000)
    return top


def summarize(path: Path, *args: str):
    env = doctor_env(AWS_EC2_METADATA_DISABLED="true", TMPDIR=os.environ["TMPDIR"])
    return run_cli("fleet", "summarize", str(path), *args, env=env)


def test_an_instance_of_several_runs_counts_once_from_its_newest_output(two_runs: Path) -> None:
    result = summarize(two_runs, "-f", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["instances"], data["outputs"]) == (4, 6)
    assert data["repeated"] == {"instances": 2, "outputs_not_counted": 2, "runs": 2}
    assert data["by_status"] == {"HEALTHY": 1, "UNHEALTHY": 1, "UNKNOWN": 1, "UNREADABLE": 1}
    assert [(i["issue_type"], i["instances"]) for i in data["by_issue"]] == [
        ("Agent Not Provisioned", ["i-4"])  # i-1's issue of the older run is not counted
    ]
    assert [(u["instance_id"], u["command_id"]) for u in data["undecided"]] == [("i-2", OLD)]
    assert [u["instance_id"] for u in data["unreadable"]] == ["i-3"]
    assert data["by_command_id"] == [  # instances counted from each run; ties by name
        {"command_id": OLD, "count": 2},
        {"command_id": NEW, "count": 2},
    ]
    assert result.stderr == (
        "Note: 2 instances had more than one output in 2 runs: each counts once, from its "
        "newest output (2 older outputs not counted; --command-id ID keeps to one run).\n"
    )


def test_csv_lists_each_instance_once_and_the_text_view_says_why(two_runs: Path) -> None:
    result = summarize(two_runs, "-f", "csv")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["instance_id"], r["command_id"], r["status"]) for r in rows] == [
        ("i-1", NEW, "HEALTHY"),
        ("i-2", OLD, "UNKNOWN"),
        ("i-3", OLD, "UNREADABLE"),
        ("i-4", NEW, "UNHEALTHY"),
    ]
    text = summarize(two_runs).stdout
    assert text.startswith("amzn-gd-doctor fleet summary: 4 instances (6 outputs)\n")
    assert "Note: 2 instances had more than one output in 2 runs" in text
    assert "Runs (command ids)\n        2  " in text


def test_command_id_keeps_to_the_chosen_runs(two_runs: Path) -> None:
    data = json.loads(summarize(two_runs, "-f", "json", "--command-id", NEW).stdout)
    assert (data["instances"], data["outputs"], data["repeated"]["instances"]) == (3, 3, 0)
    assert data["by_status"] == {"HEALTHY": 2, "UNHEALTHY": 1, "UNKNOWN": 0, "UNREADABLE": 0}
    both = summarize(two_runs, "-f", "json", "--command-id", OLD, "--command-id", NEW)
    assert json.loads(both.stdout) == json.loads(summarize(two_runs, "-f", "json").stdout)
    missing = summarize(two_runs, "--command-id", "no-such-run")
    assert (missing.returncode, missing.stdout) == (2, "")
    assert missing.stderr.startswith("Error: ") and "no outputs of command id no-such-run" in (
        missing.stderr
    )


def test_an_instance_folder_of_several_steps_counts_once(tmp_path: Path) -> None:
    top = tmp_path / "runs"
    put(top, OLD, "i-1", UNDECIDED, 1000)
    second = top / OLD / "i-1" / "awsrunShellScript" / "again"
    second.mkdir()
    (second / "stdout").write_bytes(HEALTHY)
    os.utime(second / "stdout", (2000, 2000))
    data = json.loads(summarize(top, "-f", "json").stdout)
    assert (data["instances"], data["outputs"], data["repeated"]["runs"]) == (1, 2, 1)
    assert data["by_status"]["HEALTHY"] == 1 and data["undecided"] == []


def _reference(top: Path) -> dict[str, tuple[str, str]]:
    """The plain way: every output's (mtime, command, location) per instance, newest wins."""
    newest: dict[str, tuple[float, str, str, bytes]] = {}
    for path in top.rglob("stdout"):
        command, instance = path.parts[-5], path.parts[-4]
        key = (path.stat().st_mtime, command, str(path), path.read_bytes())
        newest[instance] = max(newest.get(instance, key), key)
    return {i: (v[1], STATUS[v[3]]) for i, v in newest.items()}


@pytest.mark.parametrize("workers", [1, 2])
def test_many_runs_resolved_through_small_runs_and_rounds(
    tmp_path: Path, workers: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Five runs over 60 instances, each instance in a random subset of runs at random times,
    read with runs of three records merged three at a time: each instance is counted once,
    from the output the plain way picks, in every section of the listing."""
    from amzn_gd_doctor.fleet import reading as fleet_reading
    from amzn_gd_doctor.fleet import runs as fleet_runs
    from amzn_gd_doctor.render import fleet as render_fleet

    rng = random.Random(7)
    top = tmp_path / "runs"
    reports = tuple(STATUS)
    for run in range(5):
        for n in range(60):
            if rng.random() < 0.6:
                put(top, f"cmd-{run}", f"i-{n:03}", rng.choice(reports), rng.randrange(1, 50))
    expected = _reference(top)
    monkeypatch.setattr(fleet_runs, "MERGE_FAN_IN", 3)
    summary = fleet_reading.read_folder(str(top), workers=workers, run_records=3)
    with summary.listing:
        rows = list(summary.rows())
        data = json.loads(render_fleet.render_json(summary))
    got = {r.instance_id: (r.command_id, r.status) for r in rows}
    assert got == expected
    assert len(rows) == len(expected) == data["instances"]
    assert data["outputs"] == sum(1 for _ in top.rglob("stdout"))
    listed = [i for issue in data["by_issue"] for i in issue["instances"]]
    listed += [u["instance_id"] for u in data["undecided"] + data["unreadable"]]
    assert sorted(listed) == sorted(i for i, (_, s) in got.items() if s != "HEALTHY")
    assert sum(data["by_status"].values()) == len(expected)
