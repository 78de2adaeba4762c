"""What the views show of a large fleet: a text view that fits a screen (the undecided and the
unreadable grouped by reason, a few ids each, while CSV still lists every instance), binary
junk shown with the escapes the docs promise, and progress on a terminal that starts at once,
shows the total once known and ends with ``wrote FILE``."""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

from support import REPO, doctor_env, run_cli

from .conftest import place

REASONS = [f"could not decide: {n} checks inconclusive" for n in range(1, 9)]
JUNK = [
    b"",
    b"bash: amzn-gd-doctor: command not found\n",
    b"<html>502</html>\n",
    b"Traceback (most recent call last):\n",
    b"\xff\xfe\x00binary\n",
    b"Killed\n",
    b"sudo: a password is required\n",
    b"error: out of memory\n",
]


def summarize(path: Path, *args: str, env: dict[str, str] | None = None):
    env = env or doctor_env(AWS_EC2_METADATA_DISABLED="true", TMPDIR=os.environ["TMPDIR"])
    return run_cli("fleet", "summarize", str(path), *args, env=env)


def make_fleet(top: Path, size: int) -> None:
    """``size`` outputs: a third healthy, a third undecided over eight reasons, a third junk
    of eight kinds."""
    for n in range(size):
        kind = n % 3
        if kind == 0:
            data = f"amzn-gd-doctor: HEALTHY | no issue predicted | i-{n}\n".encode()
        elif kind == 1:
            data = f"amzn-gd-doctor: UNKNOWN | {REASONS[n % 8]} | i-{n}\n".encode()
        else:
            data = JUNK[n % 8]
        place(top, f"i-{n:017x}", data)


def test_text_view_fits_a_screen_and_groups_by_reason(tmp_path: Path) -> None:
    top = tmp_path / "fleet"
    make_fleet(top, 1500)
    text = summarize(top).stdout
    lines = text.splitlines()
    assert len(lines) < 70, text  # the old view listed 1,000 instances, one a line
    at = lines.index("Undecided (500), by reason")
    group = lines[at + 1 : at + 3]
    assert group[0].split(None, 1)[1].startswith("could not decide: ")
    assert int(group[0].split()[0]) in (62, 63)  # 500 over eight reasons
    assert group[1].strip().startswith("i-") and group[1].endswith(" more")
    assert group[1].count("i-") == 5
    assert "in 3 more reasons (-f csv or -f json lists every instance)" in lines[at + 11]
    unreadable = lines.index("Unreadable (500), by reason")
    assert lines[unreadable + 1].split(None, 1)[0] in ("62", "63")
    rows = list(csv.DictReader(io.StringIO(summarize(top, "-f", "csv").stdout)))
    assert len(rows) == 1500 and len({r["instance_id"] for r in rows}) == 1500


def test_binary_junk_is_shown_with_escapes_not_replacement_characters(tmp_path: Path) -> None:
    place(tmp_path, "i-1", b"\xff\xfe\x80ok\x1b[31m\xc2\x9b\n")
    text = summarize(tmp_path).stdout
    assert "\\xff\\xfe\\x80ok\\x1b[31m\\x9b" in text
    assert "\ufffd" not in text and "\x1b" not in text
    data = json.loads(summarize(tmp_path, "-f", "json").stdout)
    # Bytes that are not UTF-8 as the text \xNN; characters as they are (JSON escapes them).
    assert data["unreadable"][0]["first_line"] == "\\xff\\xfe\\x80ok\x1b[31m\x9b"
    row = next(csv.DictReader(io.StringIO(summarize(tmp_path, "-f", "csv").stdout)))
    assert row["reason"] == "\\xff\\xfe\\x80ok\\x1b[31m\\x9b"


def _on_a_terminal(
    argv: list[str], env: dict[str, str], timeout: float = 120
) -> tuple[int, str, float]:
    """Runs argv with stderr on a pseudo-terminal: (exit status, what the terminal got, seconds
    until its first bytes)."""
    leader, follower = pty.openpty()
    started = time.monotonic()
    proc = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=follower, env=env
    )
    os.close(follower)
    seen = b""
    first = None
    deadline = started + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the process closed the terminal
                break
            if not chunk:
                break
            if first is None:
                first = time.monotonic() - started
            seen += chunk
        elif proc.poll() is not None:
            break
    os.close(leader)
    return proc.wait(timeout=timeout), seen.decode(), first if first is not None else -1.0


def test_progress_on_a_terminal_starts_at_once_shows_the_total_and_what_was_written(
    tmp_path: Path,
) -> None:
    top = tmp_path / "fleet"
    make_fleet(top, 3000)
    out = tmp_path / "fleet.json"
    env = doctor_env(AWS_EC2_METADATA_DISABLED="true", TMPDIR=os.environ["TMPDIR"])
    argv = [sys.executable, "-m", "amzn_gd_doctor", "fleet", "summarize", str(top)]
    argv += ["-f", "json", "-o", str(out)]
    code, seen, first = _on_a_terminal(argv, {**env, "PYTHONPATH": str(REPO)})
    assert code == 0, seen
    lines = seen.replace("\r\n", "\n").split("\r")
    assert lines[1].startswith(f"reading {top} ...")  # before any output is read
    assert "3,000 of 3,000 outputs read (100 %)" in seen
    assert "parts" not in seen
    assert seen.endswith(f"; writing {out}\r\nwrote {out}\r\n")
    assert 0 <= first < 5  # the interpreter's start, then at once


def test_wrote_file_is_said_also_off_a_terminal(tmp_path: Path) -> None:
    place(tmp_path / "fleet", "i-1", b"amzn-gd-doctor: HEALTHY | no issue predicted | i-1\n")
    out = tmp_path / "out.csv"
    result = summarize(tmp_path / "fleet", "-f", "csv", "-o", str(out))
    assert (result.returncode, result.stdout, result.stderr) == (0, "", f"wrote {out}\n")
