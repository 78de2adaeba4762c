"""Benchmark of `fleet summarize`: a folder in Run Command's output layout with N instances'
outputs, made from real reports of the fixture trees (text and JSON) and the junk a fleet
returns, summarised by the CLI as a new process.

The yardstick is the floor of any reader of such a folder: `find` walking the same folder
(every name listed, written to /dev/null), timed in the same run, in turn with the summary (find,
summarize, find, summarize, ...), so that the machine's speed and load fall on both alike.
Prints, for each size, the best wall time of 3 runs of each (after a warm-up run of each), the
ratio of the two (the target: 1.3 or less), the summary's CPU time and peak RSS (the process
and its workers, the largest of them, from wait4) and the load average around the runs (the
machine may be shared). Memory must not grow with the fleet.

    .venv-test/bin/python bench/bench_fleet.py [--sizes 10000,100000] [--keep DIR] [--runs N]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ROOTS = REPO / "fixtures" / "roots"
# `fleet summarize` takes at most this many times as long as `find` over the same folder. An
# absolute target measured the machine more than the code: on the 2-core machine the project is
# developed on, `find` alone has taken from under 5 s to 5.3 s over 100,000 outputs.
TARGET_RATIO = 1.3
# Runs per size; the best counts, so that a run slowed by other work on the machine does not.
RUNS = 3
# Trees whose reports make the mix: mostly unhealthy hosts with different causes, some healthy
# or undecided, on several distributions.
TREES = (
    "agent-oom",
    "agent-not-installed",
    "agent-memlock",
    "al2-4.14",
    "al2023-6.1",
    "ubuntu-22.04",
    "rhel-9.4",
    "ssm-stopped",
    "ssm-not-installed",
    "debian-12",
)
JUNK = (
    b"",
    b"bash: amzn-gd-doctor: command not found\n",
    b"<!DOCTYPE html><html><body>502 Bad Gateway</body></html>\n",
    bytes(range(256)) * 4,
)
# Shares of the fleet: text reports (the document's default), JSON reports, junk.
WEIGHTS = (0.70, 0.25, 0.05)


def env(tmpdir: Path | None = None) -> dict[str, str]:
    extra = {"TMPDIR": str(tmpdir)} if tmpdir else {}
    return {
        **os.environ,
        **extra,
        "PYTHONPATH": str(REPO),
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def templates() -> tuple[list[bytes], list[bytes]]:
    texts, jsons = [], []
    for tree in TREES:
        base = [sys.executable, "-m", "amzn_gd_doctor", "check", "--root", str(ROOTS / tree)]
        base += ["--dns-server", "127.0.0.1:9"]
        for fmt, out in (("text", texts), ("json", jsons)):
            proc = subprocess.run(base + ["-f", fmt], env=env(), capture_output=True, timeout=60)
            out.append(proc.stdout)
    return texts, jsons


def make_folder(top: Path, size: int, texts: list[bytes], jsons: list[bytes]) -> None:
    rng = random.Random(size)
    command = top / "3f1c2d4e-5b6a-4789-9abc-def012345678"
    for n in range(size):
        pick = rng.random()
        if pick < WEIGHTS[0]:
            data = rng.choice(texts)
        elif pick < WEIGHTS[0] + WEIGHTS[1]:
            data = rng.choice(jsons)
        else:
            data = rng.choice(JUNK)
        step = command / f"i-{n:017x}" / "awsrunShellScript" / "diagnose"
        step.mkdir(parents=True)
        (step / "stdout").write_bytes(data)
        (step / "stderr").write_bytes(b"")


def walk(top: Path) -> float:
    """Wall time of `find TOP` with its output thrown away: listing every name once."""
    started = time.monotonic()
    subprocess.run(["find", str(top)], stdout=subprocess.DEVNULL, check=True)
    return time.monotonic() - started


def measure(top: Path) -> tuple[float, float, float]:
    """Wall time, peak RSS (MiB) and CPU time (user + system, the workers included) of one
    `fleet summarize -f json` run, page cache warm. The CPU time moves less with the load than
    the wall time does: over the cores, it is what the run needs of an idle machine."""
    argv = [sys.executable, "-m", "amzn_gd_doctor", "fleet", "summarize", str(top), "-f", "json"]
    out = top.parent / f"{top.name}.json"
    started = time.monotonic()
    proc = subprocess.Popen(argv + ["-o", str(out)], env=env(top.parent))
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"fleet summarize failed on {top}")
    return wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--keep", type=Path, help="make the folders here and keep them")
    parser.add_argument("--runs", type=int, default=RUNS, help="runs of each, the best counts")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-fleet-"))
    try:
        texts, jsons = templates()
        for size in (int(s) for s in args.sizes.split(",")):
            top = work / f"fleet-{size}"
            if not top.exists():
                began = time.monotonic()
                make_folder(top, size, texts, jsons)
                print(f"made {size} outputs in {time.monotonic() - began:.1f} s", flush=True)
            walk(top)  # the first runs warm the page cache and the interpreter's files
            measure(top)
            load = os.getloadavg()[0]
            finds, runs = [], []
            for _ in range(args.runs):
                finds.append(walk(top))
                runs.append(measure(top))
            load = max(load, os.getloadavg()[0])
            floor = min(finds)
            wall = min(r[0] for r in runs)
            rss = max(r[1] for r in runs)
            cpu = min(r[2] for r in runs)
            ratio = wall / floor
            mark = "target met" if ratio <= TARGET_RATIO else "TARGET NOT MET"
            print(
                f"{size:>7} outputs: summary best of {args.runs} {wall:.2f} s (all: "
                f"{', '.join(f'{r[0]:.2f}' for r in runs)}), find {floor:.2f} s (all: "
                f"{', '.join(f'{f:.2f}' for f in finds)}), ratio {ratio:.2f} (target <= "
                f"{TARGET_RATIO:g})  CPU {cpu:.1f} s, peak RSS {rss:.0f} MiB, load average "
                f"{load:.1f} on {os.cpu_count()} cores  {mark}",
                flush=True,
            )
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
