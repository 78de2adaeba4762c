#!/usr/bin/env python3
"""A full `check` on a host like an EC2 instance, timed: in a private namespace with an IMDSv2
simulator on 169.254.169.254:80 (see netns.py), the doctor runs live, as on an instance.

    sudo python bench/check_live.py [--runs N] [--python PY ...] [--rev REV ...]

Each --python (default: this interpreter) and each --rev (a git revision, checked out into
build/bench-rev-REV; default: the working tree) makes one variant. Variants run in turn, one run
of each per round (A B C A B C ...), so the machine's drift falls on all of them alike; the
median and quartiles of each are printed, with the target beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "bench"))

from netns import in_namespace, prepare_namespace, start_imds  # noqa: E402

TARGET_S = 0.25
# What pip's console script for `amzn-gd-doctor` runs; `python -m` adds runpy's imports.
ENTRY = "import re, sys\nfrom amzn_gd_doctor.cli import main\nsys.exit(main())"


def checkout(rev: str) -> Path:
    """The tree of ``rev`` under build/, made once with `git worktree`."""
    if rev == "WORKTREE":
        return REPO
    sha = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", rev],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    tree = REPO / "build" / f"bench-rev-{sha}"
    if not tree.exists():
        subprocess.run(
            ["git", "-C", str(REPO), "worktree", "add", "--detach", str(tree), sha],
            check=True,
            capture_output=True,
        )
    return tree


def one_run(python: str, tree: Path) -> tuple:
    environ = {
        "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
        "LANG": "C.UTF-8",
        "HOME": "/root",
        "PYTHONPATH": str(tree),
    }
    began = time.perf_counter()
    proc = subprocess.run(
        [python, "-c", ENTRY, "check", "--format", "json"],
        env=environ,
        cwd=str(tree),
        capture_output=True,
        check=False,
    )
    seconds = time.perf_counter() - began
    if proc.returncode not in (0, 1, 3):
        sys.exit(f"{python} in {tree} exited {proc.returncode}: {proc.stderr.decode()[-2000:]}")
    return seconds, json.loads(proc.stdout).get("timing", {})


def inside(opts: argparse.Namespace) -> int:
    prepare_namespace()
    start_imds()
    variants = [(python, rev, checkout(rev)) for rev in opts.rev for python in opts.python]
    for python, _, tree in variants:  # the first run of each compiles its bytecode
        one_run(python, tree)
    times: dict = {(python, rev): [] for python, rev, _ in variants}
    timings: dict = {(python, rev): [] for python, rev, _ in variants}
    for _ in range(opts.runs):
        for python, rev, tree in variants:
            seconds, timing = one_run(python, tree)
            times[(python, rev)].append(seconds)
            timings[(python, rev)].append(timing)
    if opts.json:
        medians = [
            {"python": python, "rev": rev, "median_s": statistics.median(values)}
            for (python, rev), values in times.items()
        ]
        print(json.dumps(medians))
        return 0
    print(f"check on a live host in a namespace, {opts.runs} rounds (variants in turn)")
    for (python, rev), values in times.items():
        version = subprocess.run(
            [python, "-c", "import sys; print(sys.version.split()[0])"],
            capture_output=True,
            text=True,
        ).stdout.strip()
        q1, med, q3 = statistics.quantiles(values, n=4)
        parts = {
            key: statistics.median(t.get(key, 0) for t in timings[(python, rev)])
            for key in ("startup_ms", "probes_ms", "rules_ms", "render_ms")
        }
        verdict = "ok" if med <= TARGET_S else "MISSED"
        print(
            f"  Python {version:<8} {rev:<12} median {med:.3f} s (quartiles {q1:.3f}-{q3:.3f})"
            f"  start-up {parts['startup_ms']:.0f} ms, probes {parts['probes_ms']:.0f} ms"
            f"  target <= {TARGET_S:.2f} s: {verdict}"
        )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--python", action="append", help="an interpreter with the doctor's deps")
    parser.add_argument("--rev", action="append", help="a git revision (default: the work tree)")
    parser.add_argument("--json", action="store_true", help="print the medians as JSON")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    opts = parser.parse_args()
    opts.python = [os.path.abspath(p) for p in opts.python or [sys.executable]]
    opts.rev = opts.rev or ["WORKTREE"]
    if opts.inside:
        return inside(opts)
    argv = ["--inside", "--runs", str(opts.runs)] + (["--json"] if opts.json else [])
    for python in opts.python:
        argv += ["--python", python]
    for rev in opts.rev:
        argv += ["--rev", rev]
    return in_namespace(parser, __file__, argv)


if __name__ == "__main__":
    sys.exit(main())
