"""Benchmark of the GuardDuty agent checks on a big host: a 1 GB agent log and a journal of
200,000 entries of which 5,000 are the agent's, made by systemd-journal-remote.

Prints the time the agent checks add to a run (its probes and rules over a --root tree, each
reader), per-probe times, and the peak RSS of a fresh process running them, with the targets.

    .venv-test/bin/python bench/bench_agent.py [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from agent.journal_export import (  # noqa: E402
    DESCRIPTION,
    END_US,
    RESTART_ID,
    STARTED_ID,
    UNIT,
    agent,
    entry,
    journal_remote,
    kernel,
    other,
    pid1,
)

LOG_BYTES = 1024**3
LOG_TAIL_LINES = 20_000  # real lines at the end of the otherwise sparse log
JOURNAL_ENTRIES = 200_000
AGENT_ENTRIES = 5_000
TARGET_ADDED_S = 1.0
TARGET_RSS_MB = 100.0
RUNS = 5

CHILD = """
import json, resource, sys, time
sys.path.insert(0, {repo!r})
from pathlib import Path
from amzn_gd_doctor import doctor, registry
from amzn_gd_doctor.host import RootedHost
root, area, backend = sys.argv[1], sys.argv[2], sys.argv[3]
probes, rules = registry.load()
keep = ("platform.kernel", "platform.btf", "ssm.agent")
picked = {{k: v for k, v in probes.items()
          if k in keep or (area == "agent" and k.startswith("agent."))}}
host = RootedHost(root=root, env={{"AWS_EC2_METADATA_DISABLED": "true"}})
host.journal_backends = (backend,)
started = time.monotonic()
report = doctor.run(host, doctor.Options(root=root, deadline=30.0), picked,
                    {{k: v for k, v in rules.items() if k.startswith(area + ".")}})
elapsed = time.monotonic() - started
print(json.dumps({{"elapsed": elapsed,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "facts": {{f.probe_id: [f.status.value, f.duration_ms, f.reason]
                            for f in report.facts}},
                  "checks": {{f.rule_id: f.outcome.value for f in report.findings}}}}))
"""


def make_log(path: Path) -> None:
    """1 GB: a sparse hole, then real lines (a few errors among them) at the end."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = random.Random(7)
    lines = []
    for i in range(LOG_TAIL_LINES):
        if rng.random() < 0.02:
            lines.append(
                f'{{"level":"warn","msg":"send failed, retrying","attempt":{i % 5},'
                '"error":"dial tcp 10.0.1.5:443: i/o timeout"}\n'
            )
        else:
            lines.append(f'{{"level":"info","msg":"sent events","count":{rng.randint(1, 500)}}}\n')
    tail = "".join(lines).encode()
    with open(path, "wb") as fh:
        fh.truncate(LOG_BYTES - len(tail))
        fh.seek(0, os.SEEK_END)
        fh.write(tail)


def journal_entries():
    """200,000 entries over the last 24 h; every 40th is the agent's (or PID 1 about it)."""
    rng = random.Random(11)
    step = 24 * 3600 * 1_000_000 // JOURNAL_ENTRIES
    start = END_US - JOURNAL_ENTRIES * step
    units = [
        ("nginx.service", "nginx", 812),
        ("cron.service", "cron", 598),
        ("sshd.service", "sshd", 611),
        ("containerd.service", "containerd", 702),
    ]
    agent_every = JOURNAL_ENTRIES // AGENT_ENTRIES
    for i in range(JOURNAL_ENTRIES):
        t = start + i * step
        if i % agent_every == 0:
            n = i // agent_every
            if n % 1000 == 0:  # a restart every few hours: a healthy agent
                fields = pid1(f"Started {DESCRIPTION}.", STARTED_ID)
            elif n % 1000 == 1:
                fields = pid1(
                    f"{UNIT}: Scheduled restart job, restart counter is at {n // 1000}.", RESTART_ID
                )
            else:
                fields = agent(f'{{"level":"info","msg":"sent events","count":{n}}}', 2540)
        elif rng.random() < 0.2:
            fields = kernel(f'audit: type=1400 audit({t / 1e6:.3f}:{i}): apparmor="ALLOWED"')
        else:
            unit, comm, pid = rng.choice(units)
            fields = other(unit, comm, pid, f"request {i} served in {rng.randint(1, 900)} ms")
        yield entry(t, fields)


def make_journal(directory: Path) -> float:
    tool = journal_remote()
    if tool is None:
        sys.exit("systemd-journal-remote is not installed (apt-get install systemd-journal-remote)")
    directory.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    proc = subprocess.Popen(
        [tool, "-o", str(directory / "system.journal"), "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdin is not None
    batch = []
    for block in journal_entries():
        batch.append(block)
        if len(batch) >= 5000:
            proc.stdin.write(b"".join(batch))
            batch = []
    proc.stdin.write(b"".join(batch))
    proc.stdin.close()
    if proc.wait() != 0:
        sys.exit("systemd-journal-remote failed")
    return time.monotonic() - started


def run(root: Path, area: str, backend: str) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", CHILD.format(repo=str(REPO)), str(root), area, backend],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if proc.returncode != 0:
        sys.exit(proc.stderr)
    return dict(json.loads(proc.stdout))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keep", metavar="DIR", help="build the tree in DIR and keep it")
    args = parser.parse_args()
    work = Path(args.keep or tempfile.mkdtemp(prefix="bench-agent-"))
    root = work / "root"
    if not (root / "var/log/journal").is_dir() or not args.keep:
        shutil.rmtree(root, ignore_errors=True)
        shutil.copytree(REPO / "fixtures/roots/agent-healthy", root, symlinks=True)
        make_log(root / "var/log/amzn-guardduty-agent/agent.log")
        made = make_journal(root / "var/log/journal/3c1f0a9e8d7b4c2a9e1f0d3b5a7c9e11")
        print(
            f"built: 1 GB agent log (sparse), journal of {JOURNAL_ENTRIES:,} entries "
            f"({AGENT_ENTRIES:,} the agent's) in {made:.1f} s"
        )
    try:
        journal_mib = sum(p.stat().st_size for p in root.rglob("*.journal")) >> 20
        log_mib = (root / "var/log/amzn-guardduty-agent/agent.log").stat().st_size >> 20
        print(f"journal file: {journal_mib} MiB; agent log: {log_mib} MiB apparent")
        base = [run(root, "platform", "systemd-python") for _ in range(RUNS)]
        base_s = statistics.median(r["elapsed"] for r in base)
        base_rss = max(r["rss_mb"] for r in base)
        print(
            f"  {'baseline: same run without the agent probes (median)':<60} {base_s:6.3f} s"
            f"  peak RSS {base_rss:5.1f} MB"
        )
        for backend in ("systemd-python", "journalctl"):
            runs = [run(root, "agent", backend) for _ in range(RUNS)]
            added = statistics.median(r["elapsed"] for r in runs) - base_s
            rss = max(r["rss_mb"] for r in runs)
            verdict = "ok" if added < TARGET_ADDED_S and rss < TARGET_RSS_MB else "MISSED"
            print(
                f"  {'agent checks added, journal by ' + backend + ' (median)':<60} {added:6.3f} s"
                f"  peak RSS {rss:5.1f} MB  target < {TARGET_ADDED_S:.2f} s, "
                f"< {TARGET_RSS_MB:.0f} MB: {verdict}"
            )
            for probe in ("agent.journal", "agent.logs", "agent.package", "agent.unit"):
                status = runs[-1]["facts"][probe][0]
                ms = statistics.median(r["facts"][probe][1] for r in runs)
                print(f"      {probe:<20} {status:<6} {ms:5.0f} ms")
            outcomes = runs[-1]["checks"]
            print(
                "      checks: "
                + ", ".join(f"{k.split('.', 1)[1]}={v}" for k, v in sorted(outcomes.items()))
            )
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
