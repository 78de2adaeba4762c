"""Host causes made for real and read live: in a private mount namespace (`unshare`), a noexec
tmpfs over /var/lib where the real shell runs a step's script (Permission denied, 126), and
dpkg's frontend lock held while the real dpkg is asked to run (its own words); and, in this
process, inotify watches the kernel itself reports in /proc/self/fdinfo. The probes read the
live host (LiveHost) inside the namespace, and the rules judge what they saw.

Tests see only their own process and namespace: nothing is mounted outside it. Skipped, naming
what is missing, without unshare (and user namespaces when not root) or dpkg.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, List

import pytest
from support import REPO, private_mount_namespace

from amzn_gd_doctor.host.files import LiveFiles
from amzn_gd_doctor.probes import host_inotify
from amzn_gd_doctor.probes.cause_step_signs import find_signs

UNSHARE = shutil.which("unshare")
INSTANCE = "i-0123456789abcdef0"
RUN = "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"


def _namespace() -> List[str]:
    return private_mount_namespace()


def _inside(script: str, *args: str) -> Dict[str, object]:
    """Run ``script`` (Python) in a private mount namespace; its last line of stdout is JSON."""
    result = subprocess.run(
        [*_namespace(), sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
        cwd=str(REPO),
    )
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


# Shared by the scripts run in the namespace: the probes and rules named, over the live host.
DIAGNOSE = r"""
def diagnose(rule_ids, extra_facts=()):
    from amzn_gd_doctor import doctor, registry
    from amzn_gd_doctor.host import LiveHost
    probes, rules = registry.load()
    picked_rules = {k: v for k, v in rules.items() if k in rule_ids}
    needed = {f for r in picked_rules.values() for f in r.facts + r.optional} | set(extra_facts)
    needed |= {n for f in list(needed) for n in probes[f].needs}
    picked = {k: v for k, v in probes.items() if k in needed}
    host = LiveHost(env={"AWS_EC2_METADATA_DISABLED": "true"})
    report = doctor.run(host, doctor.Options(), picked, picked_rules)
    return {f.rule_id: [f.outcome.value, f.confidence.value, f.summary] for f in report.findings}
"""

NOEXEC = (
    DIAGNOSE
    + r"""
import json, os, subprocess, sys
instance, run = sys.argv[1], sys.argv[2]
subprocess.run(["mount", "-t", "tmpfs", "-o", "noexec,nosuid,nodev,size=8m", "tmpfs", "/var/lib"],
               check=True)
folder = f"/var/lib/amazon/ssm/{instance}/document/orchestration/{run}/configurePackage/install"
os.makedirs(folder)
script = f"{folder}/_script.sh"
with open(script, "w") as fh:
    fh.write("echo Running sh install.sh\nsh install.sh\n")
os.chmod(script, 0o755)
# As the SSM agent runs a step (runscript.go): sh -c <path>; it appends its own line on a
# non-zero exit.
shell = subprocess.run(["sh", "-c", script], capture_output=True, text=True)
stderr = shell.stderr + f"failed to run commands: exit status {shell.returncode}\n"
with open(f"{folder}/stderr", "w") as fh:
    fh.write(stderr)
found = diagnose(("host.mounts_allow_install", "host.install_script_executes"))
print(json.dumps({"code": shell.returncode, "stderr": stderr, "found": found}))
"""
)


def test_noexec_var_lib_fails_a_real_step_with_126_and_is_confirmed() -> None:
    """The real shell refuses a script on a noexec mount (exit 126, "Permission denied"); the
    mounts probe reads the live /proc/self/mountinfo; the step's output confirms the cause."""
    seen = _inside(NOEXEC, INSTANCE, RUN)
    assert seen["code"] == 126
    assert "Permission denied" in str(seen["stderr"])
    signs = find_signs(str(seen["stderr"]), RUN, False)
    assert [s.sign for s in signs] == ["exit_126"]
    assert signs[0].subject.endswith("/_script.sh")
    found = seen["found"]
    assert isinstance(found, dict)
    outcome, confidence, summary = found["host.mounts_allow_install"]
    assert (outcome, confidence) == ("fail", "confirmed"), summary
    assert "/var/lib/amazon/ssm is on /var/lib (tmpfs tmpfs: " in summary and "noexec" in summary
    # Not GuardDuty's run as far as this host knows (no SSM log names it): a warning only.
    outcome, _, summary = found["host.install_script_executes"]
    assert outcome == "warn" and "exited 126" in summary, summary


DPKG_LOCK = (
    DIAGNOSE
    + r"""
import fcntl, json, os, subprocess, sys, time
subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", "/var/lib/dpkg"], check=True)
for name in ("status", "lock", "lock-frontend"):
    open(f"/var/lib/dpkg/{name}", "a").close()
os.makedirs("/var/lib/dpkg/updates")
os.makedirs("/var/lib/dpkg/info")
holder = subprocess.Popen([sys.executable, "-c",
    "import fcntl, os, sys, time\n"
    "fd = os.open('/var/lib/dpkg/lock-frontend', os.O_RDWR)\n"
    "fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)\n"
    "print('held', flush=True)\n"
    "time.sleep(60)\n"], stdout=subprocess.PIPE, text=True)
assert holder.stdout.readline().strip() == "held"
try:
    dpkg = subprocess.run(["dpkg", "--configure", "-a"], capture_output=True, text=True)
    found = diagnose(("host.package_manager_unlocked",), ("host.package_locks",))
    from amzn_gd_doctor.host import LiveHost
    from amzn_gd_doctor.probes.host_locks import parse_locks
    table = open("/proc/locks").read()
finally:
    holder.kill()
print(json.dumps({"pid": holder.pid, "code": dpkg.returncode, "stderr": dpkg.stderr,
                  "found": found, "locks": table}))
"""
)


@pytest.mark.skipif(shutil.which("dpkg") is None, reason="needs dpkg")
def test_a_held_dpkg_lock_is_named_with_its_holder_and_dpkg_s_own_words() -> None:
    """The real dpkg refuses to run while another process holds its frontend lock; the lock's
    holder is found from the live /proc/locks through its open files, and dpkg's words are a
    package_lock sign naming that pid."""
    seen = _inside(DPKG_LOCK)
    pid = seen["pid"]
    assert seen["code"] != 0
    stderr = str(seen["stderr"])
    assert f"dpkg frontend lock was locked by another process with pid {pid}" in stderr
    signs = find_signs(stderr + "failed to run commands: exit status 2\n", RUN, True)
    assert [(s.sign, s.subject) for s in signs] == [("package_lock", f"pid {pid}")]
    # /proc/locks writes major:minor in hexadecimal (fs/locks.c); the holder is its pid.
    assert f" {pid} " in str(seen["locks"])
    found = seen["found"]
    assert isinstance(found, dict)
    outcome, _, summary = found["host.package_manager_unlocked"]
    assert outcome == "warn", summary  # held now; no GuardDuty install failed of it here
    assert f"dpkg's /var/lib/dpkg/lock-frontend is locked by pid {pid} (python" in summary


def _inotify() -> ctypes.CDLL:
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    if not hasattr(libc, "inotify_init1"):
        pytest.skip("no inotify_init1 in this C library")
    return libc


def test_inotify_watches_are_counted_from_the_kernel_s_own_fdinfo() -> None:
    """Watches on real directories, counted as the kernel lists them for this process."""
    libc = _inotify()
    fd = libc.inotify_init1(os.O_CLOEXEC)
    assert fd >= 0, os.strerror(ctypes.get_errno())
    with tempfile.TemporaryDirectory() as top:
        try:
            for i in range(7):
                path = Path(top) / str(i)
                path.mkdir()
                assert libc.inotify_add_watch(fd, str(path).encode(), 0x100) >= 0  # IN_CREATE
            fdinfo = Path(f"/proc/self/fdinfo/{fd}").read_bytes()
            assert host_inotify.count_watches(fdinfo) == 7
            watches, instances, whole = host_inotify._held(LiveFiles(), os.getpid())
            assert (watches >= 7, instances >= 1, whole) == (True, True, True)
        finally:
            os.close(fd)
