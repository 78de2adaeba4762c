"""Journal export format (https://systemd.io/JOURNAL_EXPORT_FORMATS/) for the agent tests: text
entries, and real binary journal files made from them by systemd-journal-remote.

Run as a script to rewrite the scenario texts under fixtures/agent/journal/ (review the diff):
`python tests/agent/journal_export.py`.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, Iterable, List, Optional

REPO = Path(__file__).resolve().parents[2]
EXPORTS = REPO / "fixtures" / "agent" / "journal"
JOURNAL_REMOTE_PATHS = (
    "/lib/systemd/systemd-journal-remote",
    "/usr/lib/systemd/systemd-journal-remote",
)
BOOT_ID = "6f0e3b1c9a2d4e5f8a7b6c5d4e3f2a1b"
MACHINE_ID = "3c1f0a9e8d7b4c2a9e1f0d3b5a7c9e11"
# 2026-11-20T12:00:00Z: the newest entry of every scenario, where the --root window ends.
END_US = 1_795_176_000_000_000
BOOT_US = END_US - 6 * 3600 * 1_000_000
UNIT = "amazon-guardduty-agent.service"
DESCRIPTION = "amazon-guardduty-agent.service - Amazon GuardDuty Agent"
STARTED_ID = "39f53479d3a045ac8e11786248231fbf"
STOPPED_ID = "9d1aaa27d60140bd96365438aad20286"
RESTART_ID = "5eb03494b6584870a536b337290809b3"
EXIT_ID = "98e322203f7a4ed290d09fe03c09fe15"
FAILED_ID = "d9b373ed55a64feb8242e02dbe79a49c"
OOM_ID = "fe6faa94e7774663a0da52717891d8ef"


def journal_remote() -> Optional[str]:
    return next((p for p in JOURNAL_REMOTE_PATHS if Path(p).exists()), None)


def entry(realtime_us: int, fields: Dict[str, str], boot_id: str = BOOT_ID) -> bytes:
    """One entry: the timestamps journal-remote needs first, then the fields."""
    head = {
        "__REALTIME_TIMESTAMP": str(realtime_us),
        "__MONOTONIC_TIMESTAMP": str(max(1, realtime_us - BOOT_US)),
        "_BOOT_ID": boot_id,
        "_MACHINE_ID": MACHINE_ID,
        "_HOSTNAME": "ip-10-0-1-23",
    }
    lines = [f"{k}={v}" for k, v in {**head, **fields}.items()]
    return ("\n".join(lines) + "\n\n").encode("utf-8")


def pid1(
    message: str, message_id: Optional[str] = None, priority: int = 6, **extra: str
) -> Dict[str, str]:
    fields = {
        "_TRANSPORT": "journal",
        "_PID": "1",
        "_UID": "0",
        "_COMM": "systemd",
        "_SYSTEMD_UNIT": "init.scope",
        "SYSLOG_IDENTIFIER": "systemd",
        "UNIT": UNIT,
        "PRIORITY": str(priority),
        "MESSAGE": message,
    }
    if message_id:
        fields["MESSAGE_ID"] = message_id
    fields.update(extra)
    return fields


def agent(message: str, pid: int, priority: object = 6) -> Dict[str, str]:
    return {
        "_TRANSPORT": "stdout",
        "_PID": str(pid),
        "_UID": "0",
        "_COMM": "amazon-guarddut",
        "_SYSTEMD_UNIT": UNIT,
        "SYSLOG_IDENTIFIER": "amazon-guardduty",
        "PRIORITY": str(priority),
        "MESSAGE": message,
    }


def kernel(message: str, priority: int = 6) -> Dict[str, str]:
    return {
        "_TRANSPORT": "kernel",
        "SYSLOG_IDENTIFIER": "kernel",
        "PRIORITY": str(priority),
        "MESSAGE": message,
    }


def other(unit: str, comm: str, pid: int, message: str) -> Dict[str, str]:
    return {
        "_TRANSPORT": "syslog",
        "_PID": str(pid),
        "_UID": "0",
        "_COMM": comm,
        "_SYSTEMD_UNIT": unit,
        "SYSLOG_IDENTIFIER": comm,
        "PRIORITY": "6",
        "MESSAGE": message,
    }


def make_journal(export: bytes, directory: Path, name: str = "system.journal") -> Path:
    """A real binary journal file from export text, written by systemd-journal-remote."""
    tool = journal_remote()
    if tool is None:
        raise RuntimeError("systemd-journal-remote is not installed")
    directory.mkdir(parents=True, exist_ok=True)
    out = directory / name
    proc = subprocess.run(
        [tool, "-o", str(out), "-"], input=export, capture_output=True, timeout=120
    )
    if proc.returncode != 0:
        raise RuntimeError(f"systemd-journal-remote failed: {proc.stderr.decode()[-500:]}")
    return out


# -- the scenarios ------------------------------------------------------------------------------
S = 1_000_000
MIN = 60 * S


def _noise(start_us: int) -> List[bytes]:
    return [
        entry(
            start_us, kernel("Linux version 6.1.0-27-cloud-amd64 (debian-kernel@lists.debian.org)")
        ),
        entry(
            start_us + 1 * S,
            kernel("EXT4-fs (nvme0n1p1): mounted filesystem with ordered data mode."),
        ),
        entry(
            start_us + 5 * S,
            other("ssh.service", "sshd", 611, "Server listening on 0.0.0.0 port 22."),
        ),
        entry(
            start_us + 6 * S,
            other("cron.service", "cron", 598, "(CRON) INFO (Running @reboot jobs)"),
        ),
    ]


def _start(at: int, pid: int, old: bool = False) -> List[bytes]:
    if old:
        return [
            entry(at, pid1("Starting Amazon GuardDuty Agent...")),
            entry(at + 1000, pid1("Started Amazon GuardDuty Agent.")),
        ]
    return [
        entry(at, pid1(f"Starting {DESCRIPTION}...", JOB_TYPE="start")),
        entry(
            at + 1000,
            pid1(f"Started {DESCRIPTION}.", STARTED_ID, JOB_TYPE="start", JOB_RESULT="done"),
        ),
    ]


def _exit(
    at: int,
    status: int,
    name: str,
    result: str,
    counter: int,
    old: bool = False,
    code: str = "exited",
) -> List[bytes]:
    if old:
        return [
            entry(at, pid1(f"{UNIT}: main process exited, code={code}, status={status}/{name}")),
            entry(at + 100, pid1(f"Unit {UNIT} entered failed state.")),
            entry(at + 200, pid1(f"{UNIT} failed.", priority=4)),
            entry(at + 5 * S, pid1(f"{UNIT} holdoff time over, scheduling restart.")),
            entry(at + 5 * S + 100, pid1("Stopped Amazon GuardDuty Agent.")),
        ]
    return [
        entry(
            at,
            pid1(
                f"{UNIT}: Main process exited, code={code}, status={status}/{name}",
                EXIT_ID,
                priority=5 if code == "exited" else 4,
                EXIT_CODE=code,
                EXIT_STATUS=str(status),
            ),
        ),
        entry(
            at + 100,
            pid1(
                f"{UNIT}: Failed with result '{result}'.", FAILED_ID, priority=4, UNIT_RESULT=result
            ),
        ),
        entry(
            at + 5 * S,
            pid1(
                f"{UNIT}: Scheduled restart job, restart counter is at {counter}.",
                RESTART_ID,
                N_RESTARTS=str(counter),
            ),
        ),
        entry(at + 5 * S + 100, pid1(f"Stopped {DESCRIPTION}.", STOPPED_ID)),
    ]


def _start_limit_hit(last: int) -> List[bytes]:
    """systemd giving up on the unit after five failed starts, then an unrelated entry."""
    return [
        entry(last, pid1(f"{UNIT}: Start request repeated too quickly.", priority=4)),
        entry(
            last + 100,
            pid1(
                f"{UNIT}: Failed with result 'start-limit-hit'.",
                FAILED_ID,
                priority=4,
                UNIT_RESULT="start-limit-hit",
            ),
        ),
        entry(last + 200, pid1(f"Failed to start {DESCRIPTION}.", priority=3)),
        entry(
            END_US, other("cron.service", "cron", 598, "(root) CMD (run-parts /etc/cron.hourly)")
        ),
    ]


def clean_start() -> bytes:
    t = END_US - 65 * MIN
    out = _noise(t - MIN) + _start(t, 2540)
    out.append(
        entry(
            t + 2000,
            agent(
                '{"level":"info","msg":"GuardDuty security agent starting","version":"1.9.2"}', 2540
            ),
        )
    )
    out.append(
        entry(t + 3000, agent('{"level":"info","msg":"eBPF programs loaded","programs":42}', 2540))
    )
    for i in range(1, 13):
        out.append(
            entry(
                t + i * 5 * MIN,
                agent(f'{{"level":"info","msg":"sent events","count":{150 + i}}}', 2540),
            )
        )
    return b"".join(out)


def restart_loop(old: bool = False) -> bytes:
    """Twelve five-minute cycles: start, time out towards the endpoint, exit 1, restart."""
    t = END_US - 62 * MIN
    out = _noise(t - MIN)
    for cycle in range(13):
        at = t + cycle * 5 * MIN
        pid = 3000 + cycle
        out += _start(at, pid, old)
        out.append(
            entry(
                at + 2 * S,
                agent(
                    'level=error msg="send failed" error="Post \\"https://guardduty-data.us-east-1'
                    '.amazonaws.com/\\": dial tcp 10.0.1.5:443: i/o timeout"',
                    pid,
                ),
            )
        )
        if cycle < 12:
            out.append(
                entry(
                    at + 4 * MIN,
                    agent(
                        'level=fatal msg="exiting: cannot reach GuardDuty after 8 attempts"', pid
                    ),
                )
            )
            out += _exit(at + 4 * MIN + S, 1, "FAILURE", "exit-code", cycle + 1, old)
    return b"".join(out)


def oom_kills() -> bytes:
    """One kill three hours ago, four in the last hour, each at the unit's 128M cap."""
    out = _noise(END_US - 4 * 3600 * S)
    times = [END_US - 3 * 3600 * S] + [END_US - (50 - 12 * i) * MIN for i in range(4)]
    out += _start(times[0] - 30 * MIN, 4100)
    for n, at in enumerate(times, start=1):
        pid = 4100 + n - 1
        memcg = f"/system.slice/{UNIT}"
        out += [
            entry(
                at - 2 * S, agent('{"level":"warn","msg":"event queue growing","size":48211}', pid)
            ),
            entry(
                at,
                kernel(
                    "amazon-guarddut invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), "
                    "order=0, oom_score_adj=0",
                    4,
                ),
            ),
            entry(at + 1000, kernel(f"Memory cgroup stats for {memcg}:")),
            entry(
                at + 2000,
                kernel(
                    "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,"
                    f"oom_memcg={memcg},task_memcg={memcg},task=amazon-guarddut,pid={pid},uid=0"
                ),
            ),
            entry(
                at + 3000,
                kernel(
                    f"Memory cgroup out of memory: Killed process {pid} (amazon-guarddut) "
                    "total-vm:1834416kB, anon-rss:130512kB, file-rss:0kB, shmem-rss:0kB, UID:0 "
                    "pgtables:512kB oom_score_adj:0",
                    3,
                ),
            ),
            entry(
                at + 5000,
                pid1(
                    f"{UNIT}: A process of this unit has been killed by the OOM killer.",
                    OOM_ID,
                    priority=4,
                ),
            ),
        ]
        out += _exit(at + 6000, 9, "KILL", "oom-kill", n, code="killed")
        out += _start(at + 6 * S, pid + 1)
    return b"".join(out)


def btf_failure() -> bytes:
    """No kernel BTF: libbpf fails at once, five quick restarts, then the start limit."""
    t = END_US - 20 * MIN
    out = _noise(t - MIN)
    for cycle in range(5):
        at = t + cycle * 6 * S
        pid = 5200 + cycle
        out += _start(at, pid)
        for i, line in enumerate(
            (
                "libbpf: failed to find valid kernel BTF",
                "libbpf: Error loading vmlinux BTF: -3",
                "libbpf: failed to load object 'patrol_bpf'",
                "libbpf: failed to load BPF skeleton 'patrol_bpf': -3",
            )
        ):
            out.append(entry(at + 100_000 + i * 1000, agent(line, pid)))
        out += _exit(at + S, 1, "FAILURE", "exit-code", cycle + 1)[:2]
        if cycle < 4:
            out += _exit(at + S, 1, "FAILURE", "exit-code", cycle + 1)[2:]
    out += _start_limit_hit(t + 4 * 6 * S + 2 * S)
    return b"".join(out)


def connection_errors() -> bytes:
    """Running for an hour, failing DNS for the endpoint every five minutes, never exiting."""
    t = END_US - 61 * MIN
    out = _noise(t - MIN) + _start(t, 2600)
    for i in range(1, 13):
        out.append(
            entry(
                t + i * 5 * MIN,
                agent(
                    f"E1120 {10 + i // 12:02d}:{(i * 5) % 60:02d}:11.415992    2600 "
                    "client.go:211] cannot reach GuardDuty: dial tcp: lookup "
                    "guardduty-data.us-east-1.amazonaws.com on 10.0.0.2:53: no such host",
                    2600,
                ),
            )
        )
    return b"".join(out)


def memcap_sigkill() -> bytes:
    """Killed by SIGKILL at a 32M cap twice in a few seconds and up again at capture, with no
    kernel OOM line (cgroup v1: systemd sees only the signal): the instant says running."""
    t = END_US - 20 * S
    out = _noise(t - 30 * MIN) + _start(t - 20 * MIN, 6100)
    out.append(entry(t - 20 * MIN + 2000, agent(STARTING, 6100)))
    cycles = [(t, 6101), (t + 9 * S, 6102)]
    out += _exit(t - 4 * S, 9, "KILL", "signal", 1, code="killed")[:2]
    for n, (at, pid) in enumerate(cycles, start=1):
        # _exit's restart comes 5 s after the kill; the start follows it.
        out += _exit(at - 4 * S, 9, "KILL", "signal", n, code="killed")[2:]
        out += _start(at + S + 100_000, pid)
        out.append(entry(at + S + 102_000, agent(STARTING, pid)))
        if n < len(cycles):
            out += _exit(at + 5 * S, 9, "KILL", "signal", n + 1, code="killed")[:2]
    return b"".join(out)


def bpf_skeleton() -> bytes:
    """A kernel with BTF, an agent whose patrol_bpf skeleton fails to load (-22) anyway: five
    quick restarts, then the start limit."""
    t = END_US - 3 * MIN
    out = _noise(t - MIN)
    for cycle in range(5):
        at = t + cycle * 6 * S
        pid = 5400 + cycle
        out += _start(at, pid)
        for i, line in enumerate(
            (
                "libbpf: prog 'patrol_exec': BPF program load failed: Invalid argument",
                "libbpf: prog 'patrol_exec': failed to load: -22",
                "libbpf: failed to load object 'patrol_bpf'",
                "libbpf: failed to load BPF skeleton 'patrol_bpf': -22",
            )
        ):
            out.append(entry(at + 100_000 + i * 1000, agent(line, pid)))
        out += _exit(at + S, 1, "FAILURE", "exit-code", cycle + 1)[: 2 if cycle == 4 else 4]
    out += _start_limit_hit(t + 4 * 6 * S + 2 * S)
    return b"".join(out)


def hostile_numbers() -> bytes:
    """Superscript and other non-ASCII digits where systemd and journald write numbers
    (PRIORITY, N_RESTARTS, the restart counter, an exit status): none is a number."""
    t = END_US - 30 * MIN
    out = _noise(t - MIN) + _start(t, 2540)
    out.append(entry(t + 2000, agent(STARTING, 2540, priority="²")))
    out.append(
        entry(
            t + 5 * MIN,
            pid1(
                f"{UNIT}: Scheduled restart job, restart counter is at ².",
                RESTART_ID,
                N_RESTARTS="²",
            ),
        )
    )
    out.append(entry(t + 6 * MIN, pid1(f"{UNIT}: Main process exited, code=killed, status=٩/KILL")))
    out += _start(END_US - MIN, 2541)
    out.append(entry(END_US, agent('{"level":"info","msg":"sent events","count":"³"}', 2541)))
    return b"".join(out)


STARTING = '{"level":"info","msg":"GuardDuty security agent starting","version":"1.9.2"}'

# Bottlerocket: host-ctr runs GuardDuty's agent as the host container amazon-guardduty-agent, its
# output tagged host-containers@amazon-guardduty-agent (bottlerocket-core-kit host-ctr main.go
# and host-containers@.service; the lines' shape as bottlerocket PR #1508 and core-kit PR #337
# show them in a journal).
HOST_CTR_ID = "host-containers@amazon-guardduty-agent"
GD_REF = "ecr.aws/arn:aws:ecr:us-east-1:593207742271:repository/aws-guardduty-agent-ecs-ec2:v1.0.0"
# containerd's error for a refused manifest request (its shape as aws/eks-charts#1044 shows it).
PULL_ERROR = (
    f'failed to resolve reference \\"{GD_REF}\\": unexpected status from HEAD request to '
    "https://593207742271.dkr.ecr.us-east-1.amazonaws.com/v2/aws-guardduty-agent-ecs-ec2/"
    "manifests/v1.0.0: 403 Forbidden"
)


def host_ctr(message: str, pid: int, at: int) -> bytes:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at // S))
    return entry(
        at,
        {
            "_TRANSPORT": "stdout",
            "_PID": str(pid),
            "_UID": "0",
            "_COMM": "host-ctr",
            "_SYSTEMD_UNIT": f"{HOST_CTR_ID}.service",
            "SYSLOG_IDENTIFIER": HOST_CTR_ID,
            "PRIORITY": "6",
            "MESSAGE": f'time="{stamp}" {message}',
        },
    )


def host_ctr_pull_failures() -> bytes:
    """Three starts of GuardDuty's host container 45 s apart (its unit's RestartSec), each
    failing to pull the agent's image from ECR five times, then giving up."""
    out: List[bytes] = _noise(END_US - 10 * MIN)
    for cycle in range(3):
        at, pid = END_US - (3 - cycle) * 2 * MIN, 3100 + cycle
        out.append(
            host_ctr(f'level=info msg="pulling with Amazon ECR Resolver" ref="{GD_REF}"', pid, at)
        )
        for attempt in range(5):
            out.append(
                host_ctr(
                    f'level=warning msg="failed to pull image. waiting {2 + attempt}.'
                    f'{417 + attempt}s before retrying..." error="{PULL_ERROR}"',
                    pid,
                    at + (attempt + 1) * 4 * S,
                )
            )
        out.append(
            host_ctr(
                f'level=error msg="retries exhausted: {PULL_ERROR}" ref="{GD_REF}"',
                pid,
                at + 25 * S,
            )
        )
    return b"".join(out)


def unexplained_errors() -> bytes:
    """Running an hour and sending events, with error lines no phrase class explains: the
    agent's JSON errors on stdout (PRIORITY=6, as journald logs any stdout) and a plain line
    written at PRIORITY=3 (err), which counts by its priority alone."""
    t = END_US - 65 * MIN
    out = _noise(t - MIN) + _start(t, 2540)
    out.append(entry(t + 2000, agent(STARTING, 2540)))
    for i, pid in enumerate((31337, 40211, 41877), start=1):
        message = (
            f'{{"level":"error","msg":"failed to read process info","pid":{pid},'
            f'"error":"open /proc/{pid}/status: no such file or directory"}}'
        )
        out.append(entry(t + i * 15 * MIN, agent(message, 2540)))
    out.append(entry(t + 62 * MIN, agent("event ring buffer full: dropped 2048 events", 2540, 3)))
    return b"".join(out)


SCENARIOS = {
    "clean-start": clean_start,
    "unexplained-errors": unexplained_errors,
    "restart-loop": restart_loop,
    "restart-loop-systemd219": lambda: restart_loop(old=True),
    "oom-kills": oom_kills,
    "btf-failure": btf_failure,
    "connection-errors": connection_errors,
    "memcap-sigkill": memcap_sigkill,
    "bpf-skeleton": bpf_skeleton,
    "hostile-numbers": hostile_numbers,
    "host-ctr-pull-failures": host_ctr_pull_failures,
}


def in_time_order(export: bytes) -> bytes:
    """Entries sorted by realtime: the Reader walks a file in the order it was written."""
    blocks = [b for b in export.split(b"\n\n") if b.strip()]
    blocks.sort(key=lambda b: int(b.split(b"\n", 1)[0].split(b"=", 1)[1]))
    return b"".join(b + b"\n\n" for b in blocks)


def write_exports(names: Iterable[str] = SCENARIOS) -> None:
    EXPORTS.mkdir(parents=True, exist_ok=True)
    for name in names:
        (EXPORTS / f"{name}.export").write_bytes(in_time_order(SCENARIOS[name]()))


if __name__ == "__main__":
    write_exports(sys.argv[1:] or SCENARIOS)
    if shutil.which("git"):
        subprocess.run(["git", "-C", str(REPO), "status", "--short", str(EXPORTS)], check=False)
