#!/usr/bin/env python3
"""Start-up and end-to-end timings of amzn-gd-doctor, against loopback fixtures only.

    python bench/run.py [--runs N]

Prints one line per measurement with its target. Every network call goes to 127.0.0.1: a
loopback IMDS (the test suite's server), and a loopback DNS port for the resolver override.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from support import ImdsServer, _ImdsHandler, _ImdsHTTPServer, floor_python  # noqa: E402

ROOT = REPO / "fixtures" / "roots" / "al2023-6.1"
# Ratios to the yardstick, per interpreter, from the last accepted change (--save-baseline).
BASELINE = REPO / "bench" / "baseline.json"
# A measurement this much slower than its baseline ratio is flagged for review.
REGRESSION = 0.20
DEADLINE_S = 3.0


def env(**extra: str) -> dict:
    base = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(REPO),
    }
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
    timed(args, environ)  # warm the page cache once; every measured run is a new process
    return statistics.median(timed(args, environ) for _ in range(runs))


def start_imds() -> tuple:
    httpd = _ImdsHTTPServer(("127.0.0.1", 0), _ImdsHandler)
    httpd.imds = ImdsServer(port=httpd.server_address[1])
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, httpd.imds


def udp_blackhole() -> socket.socket:
    """A loopback DNS port that receives and never answers (the worst case for resolvers)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    return sock


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument(
        "--save-baseline",
        action="store_true",
        help=f"store this run's ratios as the baseline in {BASELINE.name}",
    )
    opts = parser.parse_args()
    py = [sys.executable, "-m", "amzn_gd_doctor"]
    rows = []
    # The yardstick: a bare interpreter start on this machine, now. Ratios to it hold still
    # while the machine's speed and load drift, so they compare across runs and machines.
    yardstick = median([sys.executable, "-c", "pass"], env(), opts.runs)

    rows.append(
        ("--version (cold process, median)", median(py + ["--version"], env(), opts.runs), 0.15)
    )
    rows.append(("--help (cold process, median)", median(py + ["--help"], env(), opts.runs), None))
    pyz = REPO / "dist" / "amzn-gd-doctor.pyz"
    if pyz.exists():
        for python in sorted({floor_python(), sys.executable}):
            version = subprocess.run(
                [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                capture_output=True,
                text=True,
            ).stdout.strip()
            seconds = median([python, str(pyz), "--version"], {"PATH": "/usr/bin:/bin"}, opts.runs)
            rows.append((f"pyz --version on Python {version} (cold process, median)", seconds, 0.3))
    else:
        print("no dist/amzn-gd-doctor.pyz: run ./scripts/build.sh to measure the one-file build")

    httpd, imds = start_imds()
    dns = udp_blackhole()
    dns_port = dns.getsockname()[1]
    check = py + [
        "check",
        "--root",
        str(ROOT),
        "--imds-endpoint",
        imds.url,
        "-f",
        "json",
        "--region",
        "us-east-1",
    ]
    healthy = median(
        check + ["--dns-server", f"127.0.0.1:{dns_port}"], env(), max(3, opts.runs // 3)
    )
    rows.append(("check, healthy loopback IMDS (median)", healthy, 1.0))
    httpd.shutdown()

    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(64)
    blackholed = py + [
        "check",
        "--root",
        str(ROOT),
        "--imds-endpoint",
        f"http://127.0.0.1:{hole.getsockname()[1]}/",
        "--deadline",
        str(DEADLINE_S),
        "--dns-server",
        f"127.0.0.1:{dns_port}",
        "-f",
        "json",
    ]
    worst = max(timed(blackholed, env(AWS_METADATA_SERVICE_TIMEOUT="30")) for _ in range(3))
    rows.append(
        (
            f"check, IMDS and DNS black-holed, --deadline {DEADLINE_S:g} (worst of 3)",
            worst,
            DEADLINE_S + 0.5,
        )
    )

    interpreter = f"{sys.version_info[0]}.{sys.version_info[1]}"
    stored = json.loads(BASELINE.read_text()) if BASELINE.exists() else {}
    baseline = stored.get(interpreter, {})
    ratios = {name: seconds / yardstick for name, seconds, _ in rows}
    print(
        f"amzn-gd-doctor bench on {sys.version.split()[0]}, {os.cpu_count()} CPUs; "
        f"yardstick `python -c pass` {yardstick * 1000:.1f} ms"
    )
    regressed = 0
    for name, seconds, target in rows:
        verdict = (
            ""
            if target is None
            else (f"target < {target:.2f} s: " + ("ok" if seconds < target else "MISSED"))
        )
        change = ""
        if name in baseline:
            delta = ratios[name] / baseline[name] - 1
            change = f"{delta:+5.0%} vs baseline"
            if delta > REGRESSION:
                change += " REGRESSED"
                regressed += 1
        print(f"  {name:<62} {seconds:7.3f} s {ratios[name]:6.1f}x  {change:<24} {verdict}")
    if opts.save_baseline:
        stored[interpreter] = {name: round(r, 2) for name, r in ratios.items()}
        BASELINE.write_text(json.dumps(stored, indent=2, sort_keys=True) + "\n")
        print(f"baseline for Python {interpreter} saved in {BASELINE.relative_to(REPO)}")
    elif regressed:
        print(f"{regressed} measurement(s) more than {REGRESSION:.0%} slower than the baseline")
    return 0


if __name__ == "__main__":
    sys.exit(main())
