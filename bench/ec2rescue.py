#!/usr/bin/env python3
"""amzn-gd-doctor and EC2Rescue for Linux side by side, on one host, in one run.

    sudo python bench/ec2rescue.py --ec2rl DIR [--pairs N] [--python PYTHON]

DIR is an unpacked aws-ec2rescue-linux (its `ec2rl` script at the top). The script re-runs
itself in a private mount and network namespace (`unshare --mount --net`), so nothing it does
is seen outside and no packet leaves the machine. Inside it:

- brings up loopback and puts 169.254.169.254 on it, with an IMDSv2 simulator on port 80 (the
  test suite's server, which answers headers and body in separate writes as a real one may);
- mounts a tmpfs on /var/tmp (EC2Rescue writes its run folder there);
- overlays /etc with an Ubuntu /etc/lsb-release (EC2Rescue's modules refuse Debian);
- runs the two tools in pairs, A then B, so the machine's drift falls on both alike.

The doctor runs `check --format json` on the live host in two forms, on --python's interpreter
(one with the doctor's dependencies, such as .venv-test/bin/python):

- A, installed as pip installs it: this checkout's code started as the `amzn-gd-doctor`
  console script starts it;
- I, the one file users take: `python3 dist/amzn-gd-doctor.pyz`, through a venv of the same
  interpreter with nothing installed (build/bench/bare-<minor>, as bench/run.py makes it);
- P, what the packages install: the .deb unpacked under build/bench/unpacked (its launcher
  /usr/bin/amzn-gd-doctor and its compiled modules), run by the same bare venv's python.

B is `ec2rl run` restricted to the seven modules that cover the doctor's ground: kernelversion,
osrelease, oomkiller, journal, systemsmanager, resolvconf, kernelconfig, run by --ec2rl-python
(default: the same). EC2Rescue 1.1.7's bundled libraries import on Python 3.11 and older only
(six.moves fails on 3.12). Each round runs A, I, P, B in turn; the ratios of A, I and P to B
are printed, with the target for the installed forms, I and P.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "bench"))

from bench_installed import unpack_deb  # noqa: E402
from netns import SCRATCH, in_namespace, prepare_namespace, start_imds  # noqa: E402
from run import ENTRY, PYZ, bare  # noqa: E402

MODULES = "kernelversion,osrelease,oomkiller,journal,systemsmanager,resolvconf,kernelconfig"
LSB_RELEASE = (
    "DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=22.04\nDISTRIB_CODENAME=jammy\n"
    'DISTRIB_DESCRIPTION="Ubuntu 22.04.4 LTS"\n'
)
# The target: the installed doctor in at most 15 % of EC2Rescue's time.
TARGET_RATIO = 0.15


def timed(argv: list, environ: dict, cwd: str, show: bool = False) -> float:
    began = time.perf_counter()
    proc = subprocess.run(
        argv, env=environ, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False
    )
    seconds = time.perf_counter() - began
    output = proc.stdout.decode(errors="replace")
    if proc.returncode not in (0, 1, 3) or "ERROR:\tMissing Python module" in output:
        sys.exit(f"{' '.join(argv)} exited {proc.returncode}:\n{output[-3000:]}")
    if show:
        print(f"$ {' '.join(argv)}  (exit {proc.returncode}, {seconds:.3f} s)\n{output[-3000:]}")
    return seconds


def inside(opts: argparse.Namespace) -> int:
    prepare_namespace(lsb_release=LSB_RELEASE)
    start_imds()
    # EC2Rescue's `ec2rl` script runs the first `python3` on PATH.
    python_dir = str(Path(opts.ec2rl_python).parent)
    environ = {
        "PATH": f"{python_dir}:/usr/sbin:/usr/bin:/sbin:/bin",
        "LANG": "C.UTF-8",
        "HOME": "/root",
    }
    doctor = [opts.python, "-c", ENTRY, "check", "--format", "json"]
    doctor_env = dict(environ, PYTHONPATH=str(REPO))
    one_file = [opts.bare, str(PYZ), "check", "--format", "json"]
    launcher = str(Path(opts.unpacked) / "usr" / "bin" / "amzn-gd-doctor")
    package = [opts.bare, launcher, "check", "--format", "json"]
    ec2rl = [str(Path(opts.ec2rl) / "ec2rl"), "run", f"--only-modules={MODULES}"]
    # One of each first: the page cache and EC2Rescue's first-run checks, not measured.
    timed(doctor, doctor_env, str(REPO), show=opts.show)
    timed(one_file, environ, str(REPO), show=opts.show)
    timed(package, environ, str(REPO), show=opts.show)
    timed(ec2rl, environ, opts.ec2rl, show=opts.show)
    a_times, i_times, p_times, b_times = [], [], [], []
    for _ in range(opts.pairs):
        a_times.append(timed(doctor, doctor_env, str(REPO)))
        i_times.append(timed(one_file, environ, str(REPO)))
        p_times.append(timed(package, environ, str(REPO)))
        b_times.append(timed(ec2rl, environ, opts.ec2rl))
        for leftover in SCRATCH.glob("ec2rl*"):
            shutil.rmtree(str(leftover), ignore_errors=True)
    a, i, b = (statistics.median(t) for t in (a_times, i_times, b_times))
    packaged = statistics.median(p_times)
    versions = [
        subprocess.run(
            [python, "-c", "import sys; print(sys.version.split()[0])"],
            stdout=subprocess.PIPE,
            text=True,
        ).stdout.strip()
        for python in (opts.python, opts.ec2rl_python)
    ]
    load = os.getloadavg()[0]
    print(f"side by side, {os.cpu_count()} CPUs, load average {load:.1f}, {opts.pairs} rounds")
    rows = [
        (f"A amzn-gd-doctor check, pip-installed (Python {versions[0]})", a_times),
        (f"I python3 {PYZ.name} check (Python {versions[0]})", i_times),
        (f"P the package's amzn-gd-doctor check (Python {versions[0]})", p_times),
        (f"B ec2rl run, {len(MODULES.split(','))} modules (Python {versions[1]})", b_times),
    ]
    for label, times in rows:
        print(f"  {label:<58} median {statistics.median(times):.3f} s  min {min(times):.3f}")
    print(f"  ratio A/B {a / b:.3f}")
    for name, took in (("I", i), ("P", packaged)):
        verdict = "ok" if took / b <= TARGET_RATIO else "MISSED"
        print(f"  ratio {name}/B {took / b:.3f}  target <= {TARGET_RATIO:.2f}: {verdict}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ec2rl", required=True, help="an unpacked aws-ec2rescue-linux")
    parser.add_argument("--pairs", type=int, default=15)
    parser.add_argument(
        "--python",
        default=sys.executable,
        help="the interpreter both tools run on (default: this one)",
    )
    parser.add_argument(
        "--ec2rl-python", help="the interpreter EC2Rescue runs on (default: --python)"
    )
    parser.add_argument("--show", action="store_true", help="print each tool's first output")
    parser.add_argument("--bare", help=argparse.SUPPRESS)
    parser.add_argument("--unpacked", help=argparse.SUPPRESS)
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    opts = parser.parse_args()
    opts.ec2rl = os.path.abspath(opts.ec2rl)
    opts.ec2rl_python = opts.ec2rl_python or opts.python
    if not PYZ.exists():
        parser.error(f"no {PYZ}: run ./scripts/build.sh first")
    if not (Path(opts.ec2rl) / "ec2rl").is_file():
        parser.error(f"{opts.ec2rl}: no ec2rl script there (unpack aws-ec2rescue-linux)")
    if opts.inside:
        return inside(opts)
    argv = ["--inside", "--ec2rl", opts.ec2rl, "--pairs", str(opts.pairs)]
    argv += ["--python", opts.python, "--ec2rl-python", opts.ec2rl_python]
    argv += ["--bare", bare(opts.python)]  # made here: the namespace's /var/tmp is a tmpfs
    unpacked = unpack_deb(REPO / "build" / "bench" / "unpacked")
    if unpacked is None:
        parser.error("no dist/*.deb to unpack: run ./scripts/build.sh first")
    argv += ["--unpacked", str(unpacked)]
    argv += ["--show"] if opts.show else []
    return in_namespace(parser, __file__, argv)


if __name__ == "__main__":
    sys.exit(main())
