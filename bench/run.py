#!/usr/bin/env python3
"""Start-up and end-to-end timings of amzn-gd-doctor, on each interpreter, against loopback only.

    python bench/run.py [--runs N] [--python PY ...] [--save-baseline]

Every command runs as a new process with this checkout first on PYTHONPATH, started the way the
installed `amzn-gd-doctor` console script starts it. --python names an
interpreter with the doctor's dependencies (repeatable); the default is this interpreter and,
when ./scripts/test.sh has made it, .venv-pkg-3.6/bin/python (the floor). Each line shows the
time, its ratio to a same-run yardstick (that interpreter's `python -c pass`), the change of
that ratio against bench/baseline.json, and the target.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import List, Optional, Tuple

REPO = Path(__file__).resolve().parent.parent
ROOT = REPO / "fixtures" / "roots" / "al2023-6.1"
FLOOR_VENV = REPO / ".venv-pkg-3.6" / "bin" / "python"
# Ratios to the yardstick, per interpreter, from the last accepted change (--save-baseline).
BASELINE = REPO / "bench" / "baseline.json"
# A measurement this much slower than its baseline ratio is flagged for review.
REGRESSION = 0.20
DEADLINE_S = 3.0
# Targets, in seconds.
VERSION_S = 0.05
HELP_S = 0.10
CHECK_S = 0.25
PYZ_VERSION_S = 0.30
DEADLINE_MARGIN_S = 0.2

# What pip's console script for `amzn-gd-doctor` runs; `python -m` adds runpy's imports.
ENTRY = "import re, sys\nfrom amzn_gd_doctor.cli import main\nsys.exit(main())"

Row = Tuple[str, Optional[float], Optional[float]]  # name, seconds (None: not measured), target


def env(**extra: str) -> dict:
    base = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "PYTHONPATH": str(REPO)}
    base.update(extra)
    return base


def timed(args: list, environ: dict) -> float:
    began = time.perf_counter()
    subprocess.run(
        args,
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=str(REPO),
        check=False,
    )
    return time.perf_counter() - began


def median(args: list, environ: dict, runs: int) -> float:
    timed(args, environ)  # warm the page cache and write bytecode once; then new processes
    return statistics.median(timed(args, environ) for _ in range(runs))


def version_of(python: str) -> str:
    out = subprocess.run(
        [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def live_check(pythons: List[str], runs: int) -> dict:
    """Medians of bench/check_live.py (a namespace made like an instance; needs root)."""
    if os.geteuid() != 0:
        return {}
    argv = [sys.executable, str(REPO / "bench" / "check_live.py"), "--json", "--runs", str(runs)]
    for python in pythons:
        argv += ["--python", python]
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        print(f"check_live.py failed: {proc.stderr.strip()[-500:]}")
        return {}
    return {row["python"]: row["median_s"] for row in json.loads(proc.stdout.splitlines()[-1])}


def black_holed(python: str) -> float:
    """IMDS accepts and never answers, the only resolver never answers: the worst of 3 runs."""
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(64)
    dns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    dns.bind(("127.0.0.1", 0))
    argv = [python, "-c", ENTRY, "check", "--root", str(ROOT), "-f", "json"]
    argv += ["--imds-endpoint", f"http://127.0.0.1:{hole.getsockname()[1]}/"]
    argv += ["--dns-server", f"127.0.0.1:{dns.getsockname()[1]}", "--deadline", str(DEADLINE_S)]
    try:
        return max(timed(argv, env(AWS_METADATA_SERVICE_TIMEOUT="30")) for _ in range(3))
    finally:
        hole.close()
        dns.close()


def measure(python: str, runs: int, live: Optional[float]) -> Tuple[float, List[Row]]:
    doctor = [python, "-c", ENTRY]
    yardstick = median([python, "-c", "pass"], env(), runs)
    rows: List[Row] = [
        ("--version", median(doctor + ["--version"], env(), runs), VERSION_S),
        ("--help", median(doctor + ["--help"], env(), runs), HELP_S),
        ("list", median(doctor + ["list"], env(), runs), HELP_S),
        (
            "explain no_agent_reporting",
            median(doctor + ["explain", "no_agent_reporting"], env(), runs),
            HELP_S,
        ),
    ]
    pyz = REPO / "dist" / "amzn-gd-doctor.pyz"
    pyz_seconds = (
        median([python, str(pyz), "--version"], env(PYTHONPATH=""), runs) if pyz.exists() else None
    )
    rows.append(("pyz --version (after ./scripts/build.sh)", pyz_seconds, PYZ_VERSION_S))
    rows.append(("check, live host in a namespace (root only)", live, CHECK_S))
    rows.append(
        (
            f"check, IMDS and DNS black-holed, --deadline {DEADLINE_S:g} (worst of 3)",
            black_holed(python),
            DEADLINE_S + DEADLINE_MARGIN_S,
        )
    )
    return yardstick, rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--python", action="append", help="an interpreter with the doctor's deps")
    parser.add_argument(
        "--save-baseline",
        action="store_true",
        help=f"store this run's ratios as the baseline in {BASELINE.name}",
    )
    opts = parser.parse_args()
    pythons = [os.path.abspath(p) for p in opts.python or []] or [sys.executable] + (
        [str(FLOOR_VENV)] if FLOOR_VENV.exists() else []
    )
    live = live_check(pythons, opts.runs)
    stored = json.loads(BASELINE.read_text()) if BASELINE.exists() else {}
    regressed = 0
    print(f"amzn-gd-doctor bench, {os.cpu_count()} CPUs, medians of {opts.runs} new processes")
    for python in pythons:
        version = version_of(python)
        yardstick, rows = measure(python, opts.runs, live.get(python))
        baseline = stored.get(version, {})
        print(f"Python {version} ({python}); yardstick `python -c pass` {yardstick * 1000:.1f} ms")
        ratios = {}
        for name, seconds, target in rows:
            if seconds is None:
                print(f"  {name:<62} not measured")
                continue
            ratios[name] = seconds / yardstick
            change = ""
            if name in baseline:
                delta = ratios[name] / baseline[name] - 1
                change = f"{delta:+5.0%} vs baseline"
                if delta > REGRESSION:
                    change += " REGRESSED"
                    regressed += 1
            verdict = (
                ""
                if target is None
                else f"target <= {target:.2f} s: " + ("ok" if seconds <= target else "MISSED")
            )
            print(f"  {name:<62} {seconds:7.3f} s {ratios[name]:6.1f}x  {change:<24} {verdict}")
        if opts.save_baseline:
            stored[version] = {name: round(r, 2) for name, r in ratios.items()}
    if opts.save_baseline:
        BASELINE.write_text(json.dumps(stored, indent=2, sort_keys=True) + "\n")
        print(f"baselines saved in {BASELINE.relative_to(REPO)}")
    elif regressed:
        print(f"{regressed} measurement(s) more than {REGRESSION:.0%} slower than the baseline")
    return 0


if __name__ == "__main__":
    sys.exit(main())
