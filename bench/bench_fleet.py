"""Benchmark of `fleet summarize`: a folder in Run Command's output layout with N instances'
outputs, made from real reports of the fixture trees (text and JSON) and the junk a fleet
returns, summarised by the CLI as a new process.

Prints, for each size, the best wall time of 3 runs (after a warm-up run), the peak RSS of
the summarising process and its workers (the largest of them, from wait4), the load average
around the runs (the machine may be shared), and whether the target is met: 100,000 outputs
in at most 5 s, in memory that does not grow with the fleet.

    .venv-test/bin/python bench/bench_fleet.py [--sizes 10000,100000] [--keep DIR]
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
TARGET_S = 5.0
TARGET_SIZE = 100000  # the target is for this many outputs
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
            measure(top)  # the first run warms the page cache and the interpreter's files
            load = os.getloadavg()[0]
            runs = [measure(top) for _ in range(RUNS)]
            load = max(load, os.getloadavg()[0])
            wall = min(r[0] for r in runs)
            rss = max(r[1] for r in runs)
            cpu = min(r[2] for r in runs)
            if size == TARGET_SIZE:
                mark = "target met" if wall <= TARGET_S else "TARGET NOT MET"
            else:
                mark = ""
            print(
                f"{size:>7} outputs: best of {RUNS} {wall:.2f} s wall (all: "
                f"{', '.join(f'{r[0]:.2f}' for r in runs)}; target <= {TARGET_S:g} s at "
                f"100,000), CPU {cpu:.1f} s, peak RSS {rss:.0f} MiB, load average {load:.1f} on "
                f"{os.cpu_count()} cores  {mark}",
                flush=True,
            )
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
