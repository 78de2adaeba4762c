"""Finding processes on a live host: psutil where it loads, /proc read directly where it
cannot (the one-file build carries no compiled code). Both must see the same process."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import time

import pytest
from support import REPO

from amzn_gd_doctor.host.processes import parse_boot_time, parse_stat_start

# A real child process with a distinctive name, found by the doctor's host from another real
# process: once with psutil importable, once with its import made to fail (sys.modules entry
# None is how Python itself marks a module as unimportable).
FIND_SCRIPT = """
import json, sys
if sys.argv[1] == "no-psutil":
    sys.modules["psutil"] = None
from amzn_gd_doctor.host import LiveHost
found = LiveHost().find_processes([sys.argv[2]])
rows = [[p.pid, p.name, list(p.cmdline), p.create_time, p.rss_bytes, p.memlock] for p in found]
print(json.dumps(rows))
"""


def find_with(mode: str, name: str) -> list:
    proc = subprocess.run(
        [sys.executable, "-c", FIND_SCRIPT, mode, name],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=str(REPO),
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stderr
    return list(json.loads(proc.stdout))


def test_proc_fallback_sees_what_psutil_sees() -> None:
    # A name of this run's own: another run of the suite on the machine has its own sleeper.
    name = f"gd-proc-sleeper-{secrets.token_hex(4)}"
    sleeper = subprocess.Popen(["bash", "-c", f"exec -a {name} sleep 60"])
    try:
        time.sleep(0.2)
        with_psutil = find_with("psutil", name)
        without = find_with("no-psutil", name)
    finally:
        sleeper.kill()
        sleeper.wait()
    assert [p[:3] for p in with_psutil] == [[sleeper.pid, "sleep", [name, "60"]]]
    assert [p[:3] for p in without] == [p[:3] for p in with_psutil]
    # Start times agree within the clock-tick granularity of /proc/<pid>/stat.
    assert abs(without[0][3] - with_psutil[0][3]) < 1.0
    assert without[0][4] and with_psutil[0][4] and without[0][4] > 0
    assert without[0][5] == with_psutil[0][5]  # Max locked memory from /proc/<pid>/limits


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"cpu  1 2 3\nintr 5\nbtime 1764556800\nprocesses 9\n", 1764556800),
        (b"cpu  1 2 3\n", None),
        (b"btime " + b"9" * 400 + b"\n", None),
        (b"\xff\xfe binary", None),
    ],
)
def test_parse_boot_time(data: bytes, expected: object) -> None:
    assert parse_boot_time(data) == expected


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            b"2540 (amazon-guardduty) S 1 2540 2540 0 -1 4194560 1 0 0 0 5 3 0 0 20 0 12 0 "
            b"4321 100000 500 18446744073709551615\n",
            4321,
        ),
        (b"77 (a) b (c)) R 1 77 77 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99 0 0\n", 99),
        (b"77 (truncated) R 1 77\n", None),
        (b"", None),
    ],
)
def test_parse_stat_start(data: bytes, expected: object) -> None:
    assert parse_stat_start(data) == expected
