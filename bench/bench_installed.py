#!/usr/bin/env python3
"""What users install, timed beside `pip install .` on the same interpreter: the one file
(`python3 dist/amzn-gd-doctor.pyz`) and the package's launcher (the .deb unpacked with dpkg-deb
-x: /usr/bin/amzn-gd-doctor and the compiled modules in /usr/share/amzn-gd-doctor, the same
payload as the .rpm's) on the floor (3.6) and the newest interpreter found, and the .deb
installed in a copy of the Debian 12 tree (`/usr/bin/amzn-gd-doctor` on Debian's python3).

    .venv-test/bin/python bench/bench_installed.py [--rounds N] [--python PY ...] [--no-deb]

Each command (`check` of a fixture tree, `--version`, `--help`, `list`, `explain`) runs as a new
process in every form in turn, one run of each per round (A B A B ...), so the machine's drift
falls on all of them alike; after one warm-up run each, the median CPU time (user + system, from
wait4, children included) and wall time of each are printed, with the installed form's ratio to
the pip-installed package's. Target: 1.2 or less, CPU and wall. The load average is printed
around the runs: the machine may be shared.

The forms, per interpreter (pyenv's, or python3.X on PATH; made once under build/bench/):

- pip: `build/bench/pip-<minor>`, a venv with `pip install .` of this checkout (put in again on
  each run with --no-deps), started by its `amzn-gd-doctor` console script. Making it the first
  time downloads the dependencies from the package index, as `pip install .` does; the runs
  themselves use no network;
- pyz: `dist/amzn-gd-doctor.pyz` (build it first: ./scripts/build.sh), run by the python of
  `build/bench/bare-<minor>`, a venv of the same interpreter with nothing installed. The two
  start alike: neither sees what the interpreter's own site-packages holds (on this machine, a
  .pth file that imports at every start);
- pkg: the .deb unpacked under build/bench/unpacked, its /usr/bin/amzn-gd-doctor run by the
  same bare venv's python;
- in a copy of build/debian12-tree (root only, made by the package tests), on Debian's python3:
  deb, `/usr/bin/amzn-gd-doctor` from `dpkg -i dist/amzn-gd-doctor_<v>_all.deb`, against pip,
  `pip install --target` of this checkout (by the same minor from pyenv) behind a console script.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional, Tuple

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))

from build_pyz import find_interpreters  # noqa: E402

WORK = REPO / "build" / "bench"
DIST = REPO / "dist"
PYZ = DIST / "amzn-gd-doctor.pyz"
TREE = REPO / "build" / "debian12-tree"
ROOT = REPO / "fixtures" / "roots" / "agent-healthy"
TARGET_RATIO = 1.2
# check: a fixture tree, IMDS off, the resolver a refused loopback port (no network).
COMMANDS = {
    "check": ["check", "--root", "{root}", "-f", "json", "--dns-server", "127.0.0.1:9"],
    "--version": ["--version"],
    "--help": ["--help"],
    "list": ["list"],
    "explain": ["explain", "kernel_too_low"],
}
ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "HOME": "/root"}
ENV["AWS_EC2_METADATA_DISABLED"] = "true"
# What pip writes as the `amzn-gd-doctor` console script (less its Windows suffix handling).
CONSOLE_SCRIPT = """#!{python}
import re
import sys
{path}from amzn_gd_doctor.cli import main
if __name__ == "__main__":
    sys.exit(main())
"""
# The pip release that still runs on each old interpreter (as scripts/test.sh raises it).
PIP_FOR = {"3.6": "pip<22", "3.7": "pip<24.1", "3.8": "pip<25.1"}


class Form(NamedTuple):
    label: str
    argv: List[str]  # the command, before the doctor's arguments
    root: str  # the fixture tree as this form sees it


def unpack_deb(dest: Path) -> Optional[Path]:
    """The .deb's payload under DEST (made anew), or None when there is no .deb or dpkg-deb."""
    debs = sorted(DIST.glob("amzn-gd-doctor_*_all.deb"))
    if not debs or not shutil.which("dpkg-deb"):
        print("pkg: skipped (needs dist/*.deb and dpkg-deb)")
        return None
    shutil.rmtree(str(dest), ignore_errors=True)
    sh("dpkg-deb", "-x", str(debs[-1]), str(dest))
    return dest


def sh(*argv: str, **kw) -> None:
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kw)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(argv)} exited {proc.returncode}:\n{proc.stdout.decode()[-3000:]}")


def minor_of(python: str) -> str:
    out = subprocess.run(
        [python, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def pip_venv(python: str, minor: str) -> Path:
    """build/bench/pip-MINOR with this checkout pip-installed (its dependencies once)."""
    venv = WORK / f"pip-{minor}"
    pip = [
        str(venv / "bin" / "python"),
        "-m",
        "pip",
        "install",
        "-q",
        "--disable-pip-version-check",
    ]
    if not (venv / "bin" / "python").exists():
        sh(python, "-m", "venv", str(venv))
        sh(*pip, "-U", PIP_FOR.get(minor, "pip"))
        sh(*pip, str(REPO))
    else:
        sh(*pip, "--no-deps", "--force-reinstall", str(REPO))
    return venv


def bare_venv(python: str, minor: str) -> Path:
    venv = WORK / f"bare-{minor}"
    if not (venv / "bin" / "python").exists():
        sh(python, "-m", "venv", "--without-pip", str(venv))
    return venv


def debian_forms(tree: Path, pythons: Dict[str, str]) -> Optional[Tuple[str, List[Form]]]:
    """The .deb installed in TREE (a copy of the Debian 12 tree) and, beside it, this checkout
    pip-installed for the tree's python3; None when that cannot be done here."""
    debs = sorted(DIST.glob("amzn-gd-doctor_*_all.deb"))
    if os.geteuid() != 0 or not TREE.is_dir() or not debs:
        print("deb: skipped (needs root, build/debian12-tree and dist/*.deb)")
        return None
    sh("cp", "-a", str(TREE), str(tree))
    version = subprocess.run(
        [
            "chroot",
            str(tree),
            "python3",
            "-c",
            "import sys; print('%d.%d.%d' % sys.version_info[:3])",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    minor = ".".join(version.split(".")[:2])
    if minor not in pythons:
        print(f"deb: skipped (no Python {minor} here to pip-install for the tree's python3)")
        return None
    shutil.copy(str(debs[-1]), str(tree / "tmp" / "pkg.deb"))
    sh("chroot", str(tree), "dpkg", "-i", "/tmp/pkg.deb", env=ENV)
    # What `pip install .` puts in site-packages, for the tree's python3: the same minor (and
    # so the same bytecode magic and wheel tags) installs it; the tree's python3 compiles it.
    target = tree / "opt" / "pip-installed"
    sh(pythons[minor], "-m", "pip", "install", "-q", "--disable-pip-version-check",
       "--target", str(target), str(REPO))  # fmt: skip
    sh("chroot", str(tree), "python3", "-m", "compileall", "-q", "/opt/pip-installed")
    script = tree / "usr" / "local" / "bin" / "amzn-gd-doctor-pip"
    path = 'sys.path.insert(0, "/opt/pip-installed")\n'
    script.write_text(CONSOLE_SCRIPT.format(python="/usr/bin/python3", path=path))
    script.chmod(0o755)
    shutil.copytree(str(ROOT), str(tree / "tmp" / "root"), symlinks=True)
    root = "/tmp/root"
    return version, [
        Form("pip", ["chroot", str(tree), "/usr/local/bin/amzn-gd-doctor-pip"], root),
        Form("deb", ["chroot", str(tree), "/usr/bin/amzn-gd-doctor"], root),
    ]


def measure(forms: List[Form], rounds: int) -> Dict[Tuple[str, str], Tuple[float, float]]:
    """(form, command) -> (median CPU, median wall), the forms in turn in every round."""
    out = {}
    for command, args in COMMANDS.items():
        argvs = [f.argv + [a.format(root=f.root) for a in args] for f in forms]
        for argv in argvs:
            timed(argv)  # warm-up: the page cache, and the pip-installed form's bytecode
        samples: List[List[Tuple[float, float]]] = [[] for _ in forms]
        for _ in range(rounds):
            for n, argv in enumerate(argvs):
                samples[n].append(timed(argv))
        for form, taken in zip(forms, samples):
            out[(form.label, command)] = (
                statistics.median(t[0] for t in taken),
                statistics.median(t[1] for t in taken),
            )
    return out


def timed(argv: List[str]) -> Tuple[float, float]:
    """(CPU seconds, wall seconds) of one run of ARGV, as a new process."""
    began = time.perf_counter()
    proc = subprocess.Popen(
        argv, env=ENV, cwd="/", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - began
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1, 3):
        sys.exit(f"{' '.join(argv)} exited {code}")
    return usage.ru_utime + usage.ru_stime, wall


def table(
    title: str, results: Dict[Tuple[str, str], Tuple[float, float]], base: str, other: str
) -> int:
    """Print BASE against OTHER per command; the number of ratios over the target."""
    print(title)
    print(f"  {'command':<10} {base + ' CPU':>9} {'wall':>7}  {other + ' CPU':>9} {'wall':>7}"
          f"  {'ratio CPU':>9} {'wall':>5}")  # fmt: skip
    missed = 0
    for command in COMMANDS:
        (b_cpu, b_wall), (o_cpu, o_wall) = results[(base, command)], results[(other, command)]
        r_cpu, r_wall = o_cpu / b_cpu, o_wall / b_wall
        over = [name for name, r in (("CPU", r_cpu), ("wall", r_wall)) if r > TARGET_RATIO]
        missed += len(over)
        mark = "ok" if not over else "OVER (" + ", ".join(over) + ")"
        print(
            f"  {command:<10} {b_cpu * 1000:7.1f}ms {b_wall * 1000:5.1f}ms"
            f"  {o_cpu * 1000:7.1f}ms {o_wall * 1000:5.1f}ms  {r_cpu:9.2f} {r_wall:5.2f}  {mark}"
        )
    return missed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--python", action="append", help="an interpreter (default: 3.6, newest)")
    parser.add_argument("--no-deb", action="store_true", help="leave out the Debian tree")
    opts = parser.parse_args()
    if not PYZ.exists():
        parser.error(f"no {PYZ.relative_to(REPO)}: run ./scripts/build.sh first")
    newer = [
        p
        for p in (REPO / "amzn_gd_doctor").rglob("*.py")
        if p.stat().st_mtime > PYZ.stat().st_mtime
    ]
    if newer:
        print(f"note: {len(newer)} source files are newer than {PYZ.name} (./scripts/build.sh?)")
    found = find_interpreters()
    pythons = opts.python or [found[m] for m in (min(found, key=_key), max(found, key=_key))]
    WORK.mkdir(parents=True, exist_ok=True)
    unpacked = unpack_deb(WORK / "unpacked")
    print(f"amzn-gd-doctor, installed forms against pip install ., {os.cpu_count()} CPUs, "
          f"medians of {opts.rounds} rounds; load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    missed = 0
    for python in dict.fromkeys(pythons):
        version = minor_of(python)
        minor = ".".join(version.split(".")[:2])
        pip, bare = pip_venv(python, minor), bare_venv(python, minor)
        forms = [
            Form("pip", [str(pip / "bin" / "amzn-gd-doctor")], str(ROOT)),
            Form("pyz", [str(bare / "bin" / "python"), str(PYZ)], str(ROOT)),
        ]
        if unpacked is not None:
            launcher = str(unpacked / "usr" / "bin" / "amzn-gd-doctor")
            forms.append(Form("pkg", [str(bare / "bin" / "python"), launcher], str(ROOT)))
        results = measure(forms, opts.rounds)
        missed += table(
            f"Python {version}: pip-installed, and python3 {PYZ.name}", results, "pip", "pyz"
        )
        if unpacked is not None:
            missed += table(
                f"Python {version}: pip-installed, and the package's /usr/bin/amzn-gd-doctor "
                "(unpacked)",
                results,
                "pip",
                "pkg",
            )
    if not opts.no_deb:
        scratch = Path(tempfile.mkdtemp(prefix="bench-deb-", dir=str(WORK)))
        try:
            made = debian_forms(scratch / "tree", found)
            if made is not None:
                version, forms = made
                results = measure(forms, opts.rounds)
                missed += table(
                    f"Debian 12 tree, its python3 {version}: pip-installed, and the .deb's "
                    "/usr/bin/amzn-gd-doctor",
                    results,
                    "pip",
                    "deb",
                )
        finally:
            shutil.rmtree(str(scratch), ignore_errors=True)
    print(f"load average after: {os.getloadavg()[0]:.1f}; "
          f"{missed} ratio(s) over {TARGET_RATIO:g}")  # fmt: skip
    return 0


def _key(minor: str) -> Tuple[int, ...]:
    return tuple(int(n) for n in minor.split("."))


if __name__ == "__main__":
    sys.exit(main())
