"""`collect`: the bundle's contents and modes, refusal to replace a file, its exit status, that it
writes nothing else, that secrets do not reach it; and `check --from` on broken bundles."""

from __future__ import annotations

import gzip
import io
import json
import os
import stat
import tarfile
from pathlib import Path
from typing import Dict, List, Set

import pytest
from agent.conftest import copy_tree
from support import ROOTS, doctor_env, run_cli

from amzn_gd_doctor import bundle as bundle_module

ENV = doctor_env(AWS_EC2_METADATA_DISABLED="true")
TREE = ["--root", str(ROOTS / "agent-healthy"), "--dns-server", "127.0.0.1:9"]
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def members(path: Path) -> Dict[str, bytes]:
    with tarfile.open(path) as tar:
        out = {}
        for info in tar.getmembers():
            stream = tar.extractfile(info)
            assert stream is not None
            out[info.name] = stream.read()
        return out


def test_bundle_contents_and_mode(tmp_path: Path) -> None:
    out = tmp_path / "b.tar.gz"
    check = run_cli("check", "-f", "json", *TREE, env=ENV)
    result = run_cli("collect", "-o", str(out), *TREE, env=ENV)
    assert result.returncode == 0
    size = out.stat().st_size
    assert result.stderr.startswith(f"wrote {out} (")
    status = json.loads(members(out)["report.json"])["verdict"]["coverage_status"]
    assert f" observations, {size} bytes); the host: {status} | " in result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.endswith("\n")
    assert result.stdout == ""
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    with tarfile.open(out) as tar:
        infos = tar.getmembers()
    assert [i.name for i in infos] == list(bundle_module.MEMBERS)
    assert {(i.mode, i.uid, i.gid, i.uname, i.gname) for i in infos} == {
        (0o644, 0, 0, "root", "root")
    }
    files = members(out)
    manifest = json.loads(files["manifest.json"])
    assert manifest["format"] == "amzn-gd-doctor-bundle"
    assert manifest["format_version"] == bundle_module.FORMAT_VERSION
    assert manifest["options"]["root"] == str(ROOTS / "agent-healthy")
    assert manifest["options"]["dns_servers"] == ["127.0.0.1:9"]
    assert manifest["sizes"] == {
        name: len(files[name]) for name in ("observations.jsonl", "report.json", "report.txt")
    }
    lines = files["observations.jsonl"].decode().splitlines()
    assert manifest["observations"] == len(lines) > 10
    assert f"({len(lines)} observations," in result.stderr
    assert {p["id"] for p in manifest["probes"]} == {f["id"] for f in check.json()["facts"]}
    assert json.loads(files["report.json"])["verdict"] == check.json()["verdict"]
    assert files["report.txt"].decode().startswith("amzn-gd-doctor: ")
    # Nothing of the environment but what probes read: not HOME, not PATH.
    assert manifest["env"] == {"AWS_EC2_METADATA_DISABLED": "true"}


@pytest.mark.parametrize("tree, status", [("agent-btf", 1), ("debian-11", 3)])
def test_exit_status_is_0_once_written(tmp_path: Path, tree: str, status: int) -> None:
    """`collect && upload` uploads the bundles of unhealthy hosts too: collect exits 0 once the
    bundle is written; the verdict is on stderr and in the bundle."""
    args = ["--root", str(ROOTS / tree), "--dns-server", "127.0.0.1:9"]
    check = run_cli("check", *args, env=ENV)
    out = tmp_path / "x.tar.gz"
    result = run_cli("collect", "-o", str(out), *args, env=ENV)
    assert (check.returncode, result.returncode) == (status, 0)
    word = {1: "UNHEALTHY", 3: "UNKNOWN"}[status]
    assert f"; the host: {word} | " in result.stderr
    assert json.loads(members(out)["manifest.json"])["exit_code"] == status


def test_refuses_to_replace_a_file(tmp_path: Path) -> None:
    out = tmp_path / "taken.tar.gz"
    out.write_bytes(b"precious")
    os.chmod(out, 0o640)
    result = run_cli("collect", "-o", str(out), *TREE, env=ENV)
    assert result.returncode == 2
    assert result.stderr == (
        f"Error: {out} exists; collect never replaces a file. Choose another name.\n"
    )
    assert out.read_bytes() == b"precious"
    assert stat.S_IMODE(out.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken.tar.gz"]


def test_write_refuses_a_name_taken_meanwhile(tmp_path: Path) -> None:
    """The final link refuses a name that appeared during the run, and leaves no temp file."""
    out = tmp_path / "late.tar.gz"
    out.write_bytes(b"first")
    with pytest.raises(FileExistsError):
        bundle_module.write(str(out), [("manifest.json", b"{}")], 0)
    assert out.read_bytes() == b"first"
    assert [p.name for p in tmp_path.iterdir()] == ["late.tar.gz"]


def snapshot(dirs: List[Path]) -> Set[str]:
    seen: Set[str] = set()
    for top in dirs:
        for base, subdirs, files in os.walk(str(top)):
            seen.update(os.path.join(base, name) for name in subdirs + files)
    return seen


def test_default_name_and_nothing_else_written(tmp_path: Path) -> None:
    home, tmp, cwd = tmp_path / "home", tmp_path / "tmp", tmp_path / "cwd"
    for d in (home, tmp, cwd):
        d.mkdir()
    env = doctor_env(AWS_EC2_METADATA_DISABLED="true", HOME=str(home), TMPDIR=str(tmp))
    before = snapshot([home, tmp, cwd, ROOTS])
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "amzn_gd_doctor", "collect", *TREE],
        env=env,
        cwd=str(cwd),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    new = snapshot([home, tmp, cwd, ROOTS]) - before
    assert len(new) == 1, new
    name = Path(new.pop()).name
    assert name.startswith("amzn-gd-doctor-") and name.endswith("Z.tar.gz")
    stamp = name[: -len(".tar.gz")].rsplit("-", 1)[1]
    assert len(stamp) == 16 and stamp[8] == "T"


def test_a_planted_secret_does_not_reach_the_bundle(tmp_path: Path) -> None:
    root = copy_tree(tmp_path, "agent-healthy")
    logs = root / "var/log/amazon/guardduty"
    logs.mkdir(parents=True, exist_ok=True)
    planted = [p for p in sorted(root.rglob("*.log")) if p.is_file()]
    assert planted, "the tree has no log file to plant a secret in"
    for log in planted:
        with log.open("a") as fh:
            fh.write(f"aws_secret_access_key = {SECRET}\n")
    out = tmp_path / "s.tar.gz"
    run_cli("collect", "-o", str(out), "--root", str(root), "--dns-server", "127.0.0.1:9", env=ENV)
    raw = gzip.decompress(out.read_bytes())
    assert SECRET.encode() not in raw
    assert SECRET[:20].encode() not in raw
    reads = [
        o
        for o in map(json.loads, members(out)["observations.jsonl"].decode().splitlines())
        if o["method"] == "read_bytes" and o["args"]["path"].endswith(".log")
    ]
    assert any("aws_secret_access_key = [REDACTED:aws-secret-key]" in json.dumps(o) for o in reads)


def test_collect_pseudonymize_option(tmp_path: Path) -> None:
    out = tmp_path / "p.tar.gz"
    result = run_cli("collect", "--pseudonymize", "-o", str(out), *TREE, env=ENV)
    assert result.returncode == 0, result.stderr
    assert json.loads(members(out)["manifest.json"])["pseudonymized"] is True


# -- check --from on what is not a good bundle --------------------------------------------------
def tar_gz(path: Path, files: Dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


MANIFEST = {"format": "amzn-gd-doctor-bundle", "format_version": "1.0", "options": {}}


@pytest.mark.parametrize(
    "case, expected",
    [
        ("missing", "{path}: no such file"),
        ("not-gzip", "{path}: not a gzip-compressed tar archive (not a gzip file)"),
        ("no-manifest", "{path}: not an evidence bundle (no manifest.json)"),
        (
            "newer",
            "{path}: bundle format 2.0 is newer than this doctor reads "
            f"({bundle_module.FORMAT_VERSION}); replay it with a newer amzn-gd-doctor",
        ),
        (
            "bad-line",
            "{path}: observations.jsonl line 1: Expecting value: line 1 column 1 (char 0)",
        ),
    ],
)
def test_from_refuses_a_bad_bundle(tmp_path: Path, case: str, expected: str) -> None:
    path = tmp_path / f"{case}.tar.gz"
    if case == "not-gzip":
        path.write_bytes(b"plain text\n")
    elif case == "no-manifest":
        tar_gz(path, {"report.json": b"{}"})
    elif case == "newer":
        tar_gz(path, {"manifest.json": json.dumps(dict(MANIFEST, format_version="2.0")).encode()})
    elif case == "bad-line":
        tar_gz(
            path,
            {"manifest.json": json.dumps(MANIFEST).encode(), "observations.jsonl": b"oops\n"},
        )
    result = run_cli("check", "--from", str(path), env=ENV)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == "Error: " + expected.format(path=path) + "\n"


def test_from_refuses_observation_options(tmp_path: Path) -> None:
    out = tmp_path / "b.tar.gz"
    run_cli("collect", "-o", str(out), *TREE, env=ENV)
    result = run_cli("check", "--from", str(out), "--dns-server", "127.0.0.1:53", env=ENV)
    assert result.returncode == 2
    assert result.stderr == (
        "Error: --dns-server cannot be combined with --from: a replay uses the options the "
        "bundle was collected with.\n"
    )
    text = run_cli("check", "--from", str(out), env=ENV)
    assert "Replayed from b.tar.gz, captured " in text.stdout
