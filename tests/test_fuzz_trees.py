"""Seeded mutations of the scenario trees: every file of a tree may become random bytes, a
truncation, a 5000-digit number, Unicode digits, control and bidi characters, or nothing at
all, and the journal files may be cut short. Whatever the tree holds, the doctor ends with a
report in which nothing crashed and no output format carries a raw control character.

The seeds are fixed, so a failure names a tree that can be rebuilt by hand."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Callable, List

import pytest
from agent.conftest import copy_tree
from support import doctor_env, run_cli

BASES = ["agent-healthy", "agent-oom", "ssm-healthy", "ssm-log-network", "al2023-6.1", "ec2-xen"]
SEEDS = range(24)
RAW = ("\x1b", "\x9b", "\u202e", "\x00", "\x07", "\x85")

Mutation = Callable[[bytes, random.Random], bytes]

MUTATIONS: List[Mutation] = [
    lambda data, rng: bytes(rng.randrange(256) for _ in range(rng.randrange(1, 600))),
    lambda data, rng: data[: rng.randrange(len(data) + 1)],
    lambda data, rng: data.replace(b"1", b"9" * 5000, 1) if b"1" in data else b"9" * 5000,
    lambda data, rng: data.replace(b"0", "\u00b2".encode(), 3),
    lambda data, rng: data + "\x1b[2J\x1b]0;x\x07\u202e\x9b\x85\x00".encode() * 3,
    lambda data, rng: b"",
    lambda data, rng: data.replace(b"\n", b"\r\n\x00", 5),
    lambda data, rng: data.replace(b'"', b"", 1).replace(b"=", b"==", 2),
]


def mutate(root: Path, seed: int) -> List[str]:
    rng = random.Random(seed)
    changed = []
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink()):
        if rng.random() > 0.5:
            continue
        data = path.read_bytes()
        if "journal" in path.parts and path.suffix == ".journal":
            path.write_bytes(data[: rng.randrange(len(data) + 1)])  # a torn journal file
        else:
            path.write_bytes(rng.choice(MUTATIONS)(data, rng))
        changed.append(str(path.relative_to(root)))
    return changed


@pytest.mark.parametrize("seed", SEEDS)
def test_a_mutated_tree_never_crashes_the_doctor(seed: int, tmp_path: Path) -> None:
    base = BASES[seed % len(BASES)]
    root = copy_tree(tmp_path, base)
    changed = mutate(root, seed)
    env = doctor_env(AWS_EC2_METADATA_DISABLED="true")
    outputs = {}
    for fmt in ("json", "text"):
        result = run_cli(
            "check", "--root", str(root), "-f", fmt, "--dns-server", "127.0.0.1:9", env=env
        )
        assert result.stderr == "", (base, changed, result.stderr[-2000:])
        assert result.returncode in (0, 1, 3), (base, changed, result.returncode)
        outputs[fmt] = result.stdout
    report = json.loads(outputs["json"])
    crashed = [c["id"] for c in report["checks"] if c["outcome"] == "crash"]
    crashed += [f["id"] for f in report["facts"] if "crashed" in (f["reason"] or "")]
    assert crashed == [], (base, changed, crashed)
    for fmt, out in outputs.items():
        assert [ch for ch in RAW if ch in out] == [], (base, changed, fmt)
