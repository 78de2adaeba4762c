"""A full disk, for real: a scenario tree copied onto a small tmpfs filled to the last block, in
a private mount namespace (`unshare`), diagnosed with --root. The rooted host answers statvfs
for the filesystem the tree lies on, so this is the one way a tree shows a full disk; the
corpus's trees lie on the test machine's disk, where host.disk_not_full passes.

Skipped, naming unshare, where no private mount namespace can be made (no unshare, no user
namespaces and not root).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

from support import REPO, ROOTS, private_mount_namespace

UNSHARE = shutil.which("unshare")
# Run inside the namespace: mount the tmpfs, copy the tree onto it, fill it, diagnose it with
# the host's files and the SSM log and step outputs the disk check reads.
INSIDE = r"""
import json, shutil, subprocess, sys
from pathlib import Path
where, tree, size, extra = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4]
subprocess.run(["mount", "-t", "tmpfs", "-o", "size=" + size, "tmpfs", str(where)], check=True)
root = where / "tree"
shutil.copytree(tree, root, symlinks=True)
for rel, text in json.loads(extra).items():
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
try:
    with open(where / "fill", "wb") as fh:
        while True:
            fh.write(b"\0" * 65536)
            fh.flush()
except OSError:
    pass  # ENOSPC: the file system is full, as wanted
from amzn_gd_doctor import doctor, registry
from amzn_gd_doctor.host import RootedHost
probes, rules = registry.load()
wanted = ("host.disk_not_full",)
picked_rules = {k: v for k, v in rules.items() if k in wanted}
needed = {f for r in picked_rules.values() for f in r.facts + r.optional}
needed |= {n for f in list(needed) for n in probes[f].needs}
picked = {k: v for k, v in probes.items() if k in needed}
host = RootedHost(root=str(root), env={"AWS_EC2_METADATA_DISABLED": "true"})
report = doctor.run(host, doctor.Options(root=str(root)), picked, picked_rules)
found = [[f.rule_id, f.outcome.value, f.confidence.value, f.summary] for f in report.findings]
print(json.dumps(found))
"""


def _namespace() -> List[str]:
    return private_mount_namespace()


def _diagnose_full(tmp_path: Path, tree: str, extra: Dict[str, str]) -> Dict[str, List[str]]:
    where = tmp_path / "disk"
    where.mkdir()
    env = dict(os.environ, PYTHONPATH=str(REPO))
    result = subprocess.run(
        [*_namespace(), sys.executable, "-c", INSIDE, str(where), str(ROOTS / tree), "4m"]
        + [json.dumps(extra)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=str(REPO),
    )
    assert result.returncode == 0, result.stderr
    return {rule: rest for rule, *rest in json.loads(result.stdout)}


def test_a_full_disk_under_the_install_is_likely_the_cause(tmp_path: Path) -> None:
    """The filesystem is full and nothing GuardDuty's install wrote says so: likely."""
    found = _diagnose_full(tmp_path, "ssm-plugin-failed", {})
    outcome, confidence, summary = found["host.disk_not_full"]
    assert (outcome, confidence) == ("fail", "likely"), summary
    assert summary.startswith("full: /var/lib/amazon/ssm: 0B free of 4M")
    assert "Distributor cannot download and unpack GuardDuty's package" in summary


def test_a_full_disk_and_no_space_in_the_install_output_is_confirmed(tmp_path: Path) -> None:
    """The install's own output says "No space left on device": the cause, seen."""
    stderr = (
        "cp: error writing '/opt/aws/amazon-guardduty-agent/bin/amazon-guardduty': "
        "No space left on device\nfailed to run commands: exit status 1\n"
    )
    run = "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"
    orchestration = f"var/lib/amazon/ssm/i-0123456789abcdef0/document/orchestration/{run}"
    found = _diagnose_full(
        tmp_path, "ssm-plugin-failed", {f"{orchestration}/configurePackage/install/stderr": stderr}
    )
    outcome, confidence, summary = found["host.disk_not_full"]
    assert (outcome, confidence) == ("fail", "confirmed"), summary
    assert "No space left on device" in summary
