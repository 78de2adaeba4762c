#!/usr/bin/env python3
"""Start-up and end-to-end timings of amzn-gd-doctor, on each interpreter, against loopback only.

    python bench/run.py [--runs N] [--python PY ...] [--save-baseline]

Every command runs as a new process with this checkout first on PYTHONPATH, started the way the
installed `amzn-gd-doctor` console script starts it, and then as users who take the one file
start it, `python3 dist/amzn-gd-doctor.pyz`, and as the packages install it, the .deb's
/usr/bin/amzn-gd-doctor and /usr/share/amzn-gd-doctor unpacked under build/bench/unpacked (build
both first: ./scripts/build.sh), each on the same interpreter through a venv with nothing
installed (build/bench/bare-<minor>), so that all start alike. --python names an interpreter
with the doctor's dependencies (repeatable); the default is this interpreter and, when
./scripts/test.sh has made it, .venv-pkg-3.6/bin/python (the floor). Each line shows the time,
its ratio to a same-run yardstick (that interpreter's `python -c pass`), the change of that
ratio against bench/baseline.json, and the target: for the one file and the package, 1.2 times
the same command started as the console script, in the same run.
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

from bench_installed import unpack_deb

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
DEADLINE_MARGIN_S = 0.2
# The one file takes at most this many times as long as the console script, command by command.
PYZ_RATIO = 1.2
PYZ = REPO / "dist" / "amzn-gd-doctor.pyz"
# `check` of a fixture tree, no network: IMDS off, the resolver a refused loopback port.
FIXTURE_CHECK = ["check", "--root", str(ROOT), "-f", "json", "--dns-server", "127.0.0.1:9"]
COMMANDS = [
    ("--version", ["--version"], VERSION_S),
    ("--help", ["--help"], HELP_S),
    ("list", ["list"], HELP_S),
    ("explain no_agent_reporting", ["explain", "no_agent_reporting"], HELP_S),
    ("check --root (a fixture tree)", FIXTURE_CHECK, None),
]

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


def bare(python: str) -> str:
    """The interpreter of PYTHON (a venv's, maybe) through a venv with nothing installed:
    build/bench/bare-<minor>, made once. The one file sees no site-packages of PYTHON's (the
    doctor's dependencies, psutil among them) and starts as PYTHON does."""
    out = subprocess.run(
        [python, "-c", "import sys; print(sys.base_prefix, '%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    )
    prefix, minor = out.stdout.split()
    venv = REPO / "build" / "bench" / f"bare-{minor}"
    if not (venv / "bin" / "python").exists():
        base = os.path.join(prefix, "bin", f"python{minor}")
        subprocess.run([base, "-m", "venv", "--without-pip", str(venv)], check=True)
    return str(venv / "bin" / "python")


def paired(a: list, others: List[Optional[list]], runs: int) -> List[Optional[float]]:
    """Medians of A and each of OTHERS, each run in turn (A B C A B C ...) so that the
    machine's drift falls on all; None for one that cannot run (not built). A gets this checkout
    on PYTHONPATH; the others (the one file, the package) run what they carry."""
    offline = {"AWS_EC2_METADATA_DISABLED": "true"}
    a_env, b_env = env(**offline), env(PYTHONPATH="", **offline)
    argvs = [(a, a_env)] + [(b, b_env) for b in others if b is not None]
    for argv, environ in argvs:
        timed(argv, environ)
    taken = [[timed(argv, environ) for argv, environ in argvs] for _ in range(runs)]
    medians = iter([statistics.median(t[n] for t in taken) for n in range(len(argvs))])
    first = next(medians)
    return [first] + [None if b is None else next(medians) for b in others]


def measure(
    python: str, runs: int, live: Optional[float], unpacked: Optional[Path]
) -> Tuple[float, List[Row]]:
    doctor = [python, "-c", ENTRY]
    yardstick = median([python, "-c", "pass"], env(), runs)
    one_file = [bare(python), str(PYZ)] if PYZ.exists() else None
    package = [bare(python), str(unpacked / "usr/bin/amzn-gd-doctor")] if unpacked else None
    rows: List[Row] = []
    ones: List[Row] = []
    packaged: List[Row] = []
    for name, args, target in COMMANDS:
        console, pyz, pkg = paired(
            doctor + args, [f + args if f else None for f in (one_file, package)], runs
        )
        assert console is not None
        rows.append((name, console, target))
        ones.append((f"pyz {name}", pyz, PYZ_RATIO * console))
        packaged.append((f"pkg {name}", pkg, PYZ_RATIO * console))
    rows.extend(ones + packaged)
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
    unpacked = unpack_deb(REPO / "build" / "bench" / "unpacked")
    stored = json.loads(BASELINE.read_text()) if BASELINE.exists() else {}
    regressed = 0
    print(f"amzn-gd-doctor bench, {os.cpu_count()} CPUs, medians of {opts.runs} new processes")
    for python in pythons:
        version = version_of(python)
        yardstick, rows = measure(python, opts.runs, live.get(python), unpacked)
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
                else f"target <= {target:.3f} s: " + ("ok" if seconds <= target else "MISSED")
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
