"""`check --from` treats a bundle as hostile, and `collect` writes nothing a stranger could
unmask or race.

- Bombs (a 2 GiB GNU long name or pax header, 2,000,000 empty members, 16 GiB of member data
  before the manifest, 64 MiB of tiny observation lines, millions of empty lists) replay in a
  child with a memory ceiling (RLIMIT_AS) and a time bound: one error line, exit 2. Their bytes
  are repeated gzip members of one compressed chunk, so building them costs a fraction of a
  second and a few MB of disk, while the old reader had to decompress all of them.
- Malformed fields of the manifest or an observation: one error line, exit 2, no traceback.
- Malformed recorded answers: an inconclusive check naming the bad answer, never a crash.
- Rotated gzip logs are recorded decompressed and masked, and replay as they ran.
- SIGTERM during `collect` removes the temporary file; temporary names cannot be guessed.
"""

from __future__ import annotations

import copy
import gzip
import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import time
import zlib
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest
from agent.conftest import copy_tree
from support import REPO, ROOTS, doctor_env, run_cli

from amzn_gd_doctor import bundle as bundle_module
from amzn_gd_doctor.host import CouldNotLook, codec
from amzn_gd_doctor.host import recorded as recording
from amzn_gd_doctor.probes import agent_logs
from amzn_gd_doctor.redact import mask

ENV = doctor_env(AWS_EC2_METADATA_DISABLED="true")
TREE = ["--root", str(ROOTS / "agent-healthy"), "--dns-server", "127.0.0.1:9"]
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
# The child replaying a bomb: a replay of a real bundle needs well under 100 MiB of address
# space (threads get 512 KiB stacks); each bomb took GiBs with the old reader.
MEMORY_CEILING = 384 * 1024 * 1024
TIME_BOUND_S = 30.0  # the old reader took 53 s and 70 s on two of these; the new one ~0.3 s


# -- building bundles --------------------------------------------------------------------------
def header(name: str, size: int, kind: bytes = b"0") -> bytes:
    info = tarfile.TarInfo(name)
    info.size = size
    info.type = kind
    # Past 8 GiB only GNU's base-256 size field holds a size.
    return info.tobuf(format=tarfile.GNU_FORMAT if size >= 8 * GIB else tarfile.USTAR_FORMAT)


def gz(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=1)


def repeated(chunk: bytes, times: int) -> bytes:
    """``chunk`` repeated ``times`` times once decompressed: one gzip member written ``times``
    times (gzip readers concatenate members)."""
    return gz(chunk) * times


ZEROS_64M = b"\0" * (64 * 1024 * 1024)
GIB = 1024 * 1024 * 1024


def good_members() -> Tuple[Dict[str, Any], List[Dict[str, Any]]]:
    return (
        {
            "format": "amzn-gd-doctor-bundle",
            "format_version": "1.1",
            "captured_at_epoch": 1796609683.4,
            "options": {"root": "/tree", "deadline": 5.0},
            "env": {},
        },
        [{"seq": 0, "method": "exists", "args": {"path": "/etc/os-release"}, "result": False}],
    )


def tar_of(files: List[Tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in files:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def bundle_bytes(manifest: Any, observations: Any) -> bytes:
    head = manifest if isinstance(manifest, bytes) else json.dumps(manifest).encode()
    if isinstance(observations, bytes):
        lines = observations
    else:
        lines = "".join(json.dumps(o) + "\n" for o in observations).encode()
    return gz(tar_of([("manifest.json", head), ("observations.jsonl", lines)]))


def replay_limited(path: Path, timeout: float = TIME_BOUND_S) -> subprocess.CompletedProcess:
    """`check --from PATH -f json` in a child under MEMORY_CEILING; TimeoutExpired past
    ``timeout``."""
    code = (
        "import resource, sys, threading\n"
        "threading.stack_size(512 * 1024)\n"
        f"resource.setrlimit(resource.RLIMIT_AS, ({MEMORY_CEILING}, {MEMORY_CEILING}))\n"
        "from amzn_gd_doctor.cli import main\n"
        f"main(['check', '--from', {str(path)!r}, '-f', 'json'])\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        env=ENV,
        cwd=str(REPO),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def refused(path: Path, why: str, timeout: float = TIME_BOUND_S) -> None:
    began = time.monotonic()
    result = replay_limited(path, timeout)
    assert (result.returncode, result.stdout) == (2, ""), result.stderr[-2000:]
    assert result.stderr.startswith(f"Error: {path}: ") and result.stderr.count("\n") == 1
    assert why in result.stderr, result.stderr
    assert time.monotonic() - began < timeout


# -- bombs: bounded before allocating -----------------------------------------------------------


def bomb(case: str) -> bytes:
    if case == "gnu-long-name-2GiB":
        return gz(header("././@LongLink", 2 * GIB, b"L")) + repeated(ZEROS_64M, 32)
    if case == "pax-header-2GiB":
        return gz(header("././@PaxHeader", 2 * GIB, b"x")) + repeated(ZEROS_64M, 32)
    if case == "2M-empty-members":
        return repeated(header("empty", 0) * 65536, 31)  # 2,031,616 members
    if case == "16GiB-member-before-manifest":
        return gz(header("sparse.img", 16 * GIB)) + repeated(ZEROS_64M, 256)
    if case == "16GiB-observations":
        return gz(header("observations.jsonl", 16 * GIB)) + repeated(ZEROS_64M, 256)
    manifest = json.dumps(good_members()[0]).encode()
    if case == "4M-tiny-observation-lines":
        line = b'{"method":"x"}\n'
        lines = line * (60 * 1024 * 1024 // len(line))
    else:  # "20M-empty-lists": one line, 60 MiB of [] (a million values at most are read)
        lines = b'{"method":"x","args":{},"result":[' + b"[]," * (20 * 1024 * 1024) + b"[]]}\n"
    return gz(tar_of([("manifest.json", manifest), ("observations.jsonl", lines)]))


@pytest.mark.parametrize(
    "case, why",
    [
        ("gnu-long-name-2GiB", "holds '././@LongLink' of tar type 'L'"),
        ("pax-header-2GiB", "holds a pax header of 2147483648 bytes"),
        ("2M-empty-members", "holds 'empty', which is not a member of an evidence bundle"),
        ("16GiB-member-before-manifest", "holds 'sparse.img', which is not a member"),
        ("16GiB-observations", "observations.jsonl is larger than 67108864 bytes"),
        ("4M-tiny-observation-lines", "observations.jsonl holds more than 100000 lines"),
        ("20M-empty-lists", "observations.jsonl holds more than 1000000 values"),
    ],
)
def test_a_bomb_is_refused_within_memory_and_time(tmp_path: Path, case: str, why: str) -> None:
    path = tmp_path / f"{case}.tar.gz"
    path.write_bytes(bomb(case))
    refused(path, why)


def test_a_file_larger_than_any_bundle_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "huge.tar.gz"
    with path.open("wb") as fh:
        fh.write(gz(b""))
        fh.truncate(bundle_module.INPUT_LIMIT + 1)  # sparse: no disk used
    refused(path, f"larger than {bundle_module.INPUT_LIMIT} bytes")


# -- malformed fields: one error line, exit 2 ---------------------------------------------------
def manifest_with(**changes: Any) -> Dict[str, Any]:
    manifest = good_members()[0]
    manifest.update(changes)
    return manifest


def observation_with(**changes: Any) -> List[Dict[str, Any]]:
    observations = good_members()[1]
    observations[0].update(changes)
    return observations


DEEP = b"[" * 100000 + b"]" * 100000
FIELDS = [
    (
        "deep-manifest",
        b'{"format": "amzn-gd-doctor-bundle", "x": ' + DEEP + b"}",
        None,
        "manifest.json is not JSON (nests deeper than 32 levels)",
    ),
    (
        "deep-observation",
        None,
        b'{"method": "exists", "args": {}, "result": ' + DEEP + b"}\n",
        "observations.jsonl line 1: nests deeper than 32 levels",
    ),
    (
        "unclosed-observation",
        None,
        b'{"method": "exists", "args": {}, "result": ' + b"[" * 100000 + b"\n",
        "observations.jsonl line 1: not JSON",
    ),
    (
        "superscript-version",
        manifest_with(format_version="\u00b2.0"),
        None,
        "manifest.json has no usable format_version ('\u00b2.0')",
    ),
    (
        "version-not-text",
        manifest_with(format_version=1),
        None,
        "no usable format_version (1)",
    ),
    ("seq-text", None, observation_with(seq="0"), "line 1 is not an observation (its seq"),
    ("seq-float", None, observation_with(seq=0.5), "line 1 is not an observation (its seq"),
    ("args-list", None, observation_with(args=[]), "(its args are not an object)"),
    ("method-number", None, observation_with(method=7), "(no method)"),
    ("no-answer", None, [{"method": "exists", "args": {}}], "(not one of result and error)"),
    ("line-not-object", None, b"[1, 2]\n", "line 1 is not an observation (not a JSON object)"),
    (
        "deadline-infinity",
        json.dumps(manifest_with(options={"deadline": float("inf")})).encode(),
        None,
        "manifest.json is not JSON (holds Infinity, which is not a JSON number)",
    ),
    (
        "nan-answer",
        None,
        b'{"method": "mtime", "args": {"path": "/x"}, "result": NaN}\n',
        "line 1: holds NaN, which is not a JSON number",
    ),
    (
        "deadline-huge",
        manifest_with(options={"deadline": 1e300}),
        None,
        "options.deadline is 1e+300, not seconds up to 300",
    ),
    (
        "deadline-text",
        manifest_with(options={"deadline": "10"}),
        None,
        "options.deadline is '10', not seconds",
    ),
    (
        "capture-huge",
        manifest_with(captured_at_epoch=1e300),
        None,
        "captured_at_epoch is 1e+300, not a time from 2000 to 9999",
    ),
    ("capture-missing", manifest_with(captured_at_epoch=None), None, "is None, not a time"),
    ("long-number", b'{"format": 1' + b"9" * 5000 + b"}", None, "more than 40 digits"),
    ("env-not-text", manifest_with(env={"HTTPS_PROXY": ["x"]}), None, "env is not a map of text"),
    ("port-text", manifest_with(options={"endpoint_port": "443"}), None, "not a TCP port"),
    ("dns-not-list", manifest_with(options={"dns_servers": "a"}), None, "not a list of text"),
    ("root-number", manifest_with(options={"root": 5}), None, "options.root is not text"),
]


@pytest.mark.parametrize(
    "manifest, observations, why", [f[1:] for f in FIELDS], ids=[f[0] for f in FIELDS]
)
def test_a_malformed_field_is_one_error_line(
    tmp_path: Path, manifest: Any, observations: Any, why: str
) -> None:
    good = good_members()
    path = tmp_path / "bad.tar.gz"
    path.write_bytes(
        bundle_bytes(
            good[0] if manifest is None else manifest,
            good[1] if observations is None else observations,
        )
    )
    result = run_cli("check", "--from", str(path), env=ENV)
    assert (result.returncode, result.stdout) == (2, ""), result.stderr[-2000:]
    assert result.stderr.startswith(f"Error: {path}: ") and result.stderr.count("\n") == 1
    assert why in result.stderr


@pytest.mark.parametrize(
    "case, why",
    [
        ("truncated", "it ends early"),
        ("bad-checksum", "bad header checksum"),
        ("twice", "holds manifest.json twice"),
        ("directory", "of tar type '5'"),
        ("symlink", "of tar type '2'"),
        ("corrupt-deflate", "not a gzip-compressed tar archive"),
    ],
)
def test_a_tar_not_of_a_bundles_shape_is_refused(tmp_path: Path, case: str, why: str) -> None:
    manifest, observations = good_members()
    good = tar_of([("manifest.json", json.dumps(manifest).encode())])
    if case == "truncated":
        data = gz(good[: 512 + 20])
    elif case == "bad-checksum":
        data = gz(b"x" + good[1:])
    elif case == "twice":
        data = gz(tar_of([("manifest.json", b"{}"), ("manifest.json", b"{}")]))
    elif case in ("directory", "symlink"):
        data = gz(header("manifest.json", 0, b"5" if case == "directory" else b"2"))
    else:
        data = gz(good)[:12] + bytes(b ^ 0x5A for b in gz(good)[12:])
    path = tmp_path / "bad.tar.gz"
    path.write_bytes(data)
    result = run_cli("check", "--from", str(path), env=ENV)
    assert (result.returncode, result.stdout) == (2, ""), result.stderr
    assert result.stderr.count("\n") == 1 and why in result.stderr, result.stderr


def test_a_pax_header_naming_a_member_is_read(tmp_path: Path) -> None:
    """tar writes a pax header for a long or non-ASCII path, or a size past 8 GiB: its path and
    size records are honoured, within PAX_LIMIT."""
    manifest, observations = good_members()
    data = json.dumps(manifest).encode()
    record = b"path=manifest.json\n"
    pax = b"%d %s" % (len(record) + 3, record)
    raw = header("././@PaxHeader", len(pax), b"x") + pax + b"\0" * (-len(pax) % 512)
    raw += header("something-else", len(data)) + data + b"\0" * (-len(data) % 512)
    lines = "".join(json.dumps(o) + "\n" for o in observations).encode()
    raw += tar_of([("observations.jsonl", lines)])
    path = tmp_path / "pax.tar.gz"
    path.write_bytes(gz(raw))
    found = bundle_module.read(str(path))
    assert found.manifest["format"] == "amzn-gd-doctor-bundle"
    assert len(found.observations) == 1


def test_limits_agree_with_what_collect_writes() -> None:
    assert bundle_module.OBSERVATION_LINES >= recording.OBSERVATIONS_COUNT
    assert bundle_module.MEMBER_LIMIT > recording.OBSERVATIONS_LIMIT
    # The limit lives with gunzip_tail, wherever the agent log probe keeps it.
    gunzipping = sys.modules[agent_logs.gunzip_tail.__module__]
    assert (codec.DECODED_LIMIT, codec.DECODED_KEEP) == (
        gunzipping.GZ_OUTPUT_LIMIT,  # type: ignore[attr-defined]
        agent_logs.TAIL_BYTES,
    )


# -- malformed answers: inconclusive, never a crash ---------------------------------------------
def test_malformed_answers_are_inconclusive_checks_naming_them(tmp_path: Path) -> None:
    """A collected bundle whose answers are broken in each way: every check that read one is
    inconclusive and says which answer was bad; none crashed."""
    out = tmp_path / "good.tar.gz"
    assert run_cli("collect", "-o", str(out), *TREE, env=ENV).returncode == 0
    with tarfile.open(str(out)) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
        text = tar.extractfile("observations.jsonl").read()  # type: ignore[union-attr]
    observations = [json.loads(line) for line in text.decode().splitlines()]
    breakers = {
        "exists": lambda e: {"value": "NoSuchClass", "fields": {}},
        "read_bytes": lambda e: {"base64": "!!not base64!!"},
        "list_dir": lambda e: {"tuple": [{"value": "ProcessInfo", "fields": {"bogus": 1}}]},
        "os_release": lambda e: {"map": [["id", 7]]},
        "http": lambda e: {"value": "HttpResponse", "fields": {"status": "two hundred"}},
    }
    broken = copy.deepcopy(observations)
    for entry in broken:
        if entry["method"] in breakers and "result" in entry:
            entry["result"] = breakers[entry["method"]](entry)
        elif "error" in entry:
            entry["error"] = {"type": "ZeroDivisionError", "message": "division by zero"}
    path = tmp_path / "broken.tar.gz"
    path.write_bytes(bundle_bytes(manifest, broken))
    result = run_cli("check", "-f", "json", "--from", str(path), env=ENV)
    assert result.returncode == 3, result.stderr
    report = result.json()
    crashed = [c["id"] for c in report["checks"] if c["outcome"] == "crash"]
    assert crashed == [] and not [f for f in report["facts"] if f.get("crashed")]
    reasons = " ".join(str(f["reason"]) for f in report["facts"])
    for said in (
        "the recorded answer to exists is malformed",
        "the recorded answer to read_bytes is malformed: recorded bytes that are not base64",
        "a recorded error of a kind no host raises ('ZeroDivisionError')",
    ):
        assert said in reasons, reasons


def test_a_recorded_error_no_host_raises_is_malformed() -> None:
    for name in ("ZeroDivisionError", "SystemExit", "KeyboardInterrupt", "MemoryError", "X"):
        error = recording.decode_error({"type": name, "message": "m"})
        assert isinstance(error, recording.Malformed), name
    assert type(recording.decode_error({"type": "ValueError", "message": "m"})) is ValueError


# -- rotated logs: decompressed, bounded, masked ------------------------------------------------
def lines_read(data: bytes, budget: int) -> Tuple[List[str], bool]:
    """What probes/agent_logs.py makes of a .gz it read."""
    tail, whole = agent_logs.gunzip_tail(data, budget)
    return agent_logs.split_lines(tail, from_start=whole and len(tail) < budget), whole


def round_trip(data: bytes) -> bytes:
    encoded = json.loads(json.dumps(codec.encode(data, mask)))
    assert "bytes" not in json.dumps(encoded)[:20] and "base64" not in json.dumps(encoded)[:20]
    return codec.decode(codec.shape(bytes), encoded)  # type: ignore[return-value]


LOG = "".join(
    f"2026-01-02T03:04:{i % 60:02d}Z INFO line {i} with some words\n" for i in range(40000)
)


@pytest.mark.parametrize(
    "case",
    ["small", "cut", "cut-small-budget", "truncated-stream", "nul-hole", "not-utf8"],
)
def test_a_gzip_answer_replays_as_the_probe_read_it(case: str) -> None:
    text = LOG.encode()
    budget = agent_logs.TAIL_BYTES
    if case == "small":
        text = text[:5000]
    elif case == "cut-small-budget":
        budget = 100 * 1024
    elif case == "nul-hole":
        text = b"\0" * 300 + text[-(agent_logs.TAIL_BYTES + 10) :]
    elif case == "not-utf8":
        text = text[:3000] + b"\xff\xfe binary \x00\n" + text[3000:6000]
    data = gzip.compress(text)
    if case == "truncated-stream":
        data = data[: len(data) // 2]
    assert lines_read(round_trip(data), budget) == lines_read(data, budget)


def test_a_gzip_answer_is_kept_masked_as_text() -> None:
    data = gzip.compress(f"start\naws_secret_access_key = {SECRET}\nend\n".encode())
    encoded = codec.encode(data, mask)
    assert isinstance(encoded, dict) and set(encoded) == {"gzip"}
    assert SECRET not in json.dumps(encoded)
    assert "[REDACTED:aws-secret-key]" in encoded["gzip"]["text"]  # type: ignore[index]
    lines, whole = lines_read(round_trip(data), agent_logs.TAIL_BYTES)
    assert whole and lines[0] == "start" and len(lines) == 3


def test_gzip_that_is_not_and_other_compressed_forms() -> None:
    broken = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + os.urandom(64)
    with pytest.raises(zlib.error):
        agent_logs.gunzip_tail(broken, 1024)
    assert codec.encode(broken, mask) == {"gzip": {"invalid": True}}
    with pytest.raises(zlib.error):
        agent_logs.gunzip_tail(round_trip(broken), 1024)
    for magic, form in codec.WITHHELD_MAGIC:
        encoded = codec.encode(magic + b"secret stuff", mask)
        assert encoded == {"withheld": form}
        with pytest.raises(CouldNotLook, match=f"{form}-compressed bytes are not kept"):
            codec.decode(codec.shape(bytes), encoded)
    for bad in ({"gzip": {"text": "x"}}, {"gzip": {"text": 1, "whole": True, "cut": False}}):
        with pytest.raises(CouldNotLook):
            codec.decode(codec.shape(bytes), bad)


def test_an_older_bundles_raw_gzip_answer_still_replays() -> None:
    data = gzip.compress(b"2026-01-02T03:04:05Z ERROR old\n")
    old = {"base64": __import__("base64").b64encode(data).decode()}
    assert codec.decode(codec.shape(bytes), old) == data


def test_a_rotated_log_reaches_the_bundle_masked_and_replays(tmp_path: Path) -> None:
    root = copy_tree(tmp_path, "agent-healthy")
    logs = root / "var/log/amzn-guardduty-agent"
    rotated = logs / "agent.log.1.gz"
    body = (logs / "agent.log").read_bytes() + f"aws_secret_access_key = {SECRET}\n".encode()
    rotated.write_bytes(gzip.compress(body))
    os.utime(str(rotated), (1, 1))
    args = ["--root", str(root), "--dns-server", "127.0.0.1:9"]
    out = tmp_path / "r.tar.gz"
    assert run_cli("collect", "-o", str(out), *args, env=ENV).returncode == 0
    with tarfile.open(str(out)) as tar:
        text = tar.extractfile("observations.jsonl").read()  # type: ignore[union-attr]
    assert SECRET.encode() not in text and SECRET[:20].encode() not in text
    (read,) = [
        json.loads(line)
        for line in text.decode().splitlines()
        if '"read_bytes"' in line and "agent.log.1.gz" in line
    ]
    assert "[REDACTED:aws-secret-key]" in read["result"]["gzip"]["text"]
    # Nothing recorded is gzip any more, whatever its encoding.
    for line in text.decode().splitlines():
        for blob in _blobs(json.loads(line)):
            assert not blob.startswith(b"\x1f\x8b")
    live = run_cli("check", "-f", "json", *args, env=ENV).json()
    replayed = run_cli("check", "-f", "json", "--from", str(out), env=ENV).json()
    logs_fact = {f["id"]: f for f in live["facts"]}["agent.logs"]
    again = {f["id"]: f for f in replayed["facts"]}["agent.logs"]
    assert again["status"] == logs_fact["status"] == "ok"
    assert _files(again) == _files(logs_fact)


def _files(fact: Dict[str, Any]) -> Any:
    value = fact.get("value") or {}
    return [(f["name"], f.get("lines")) for f in value.get("files", [])], value.get("lines")


def _blobs(data: object) -> List[bytes]:
    if isinstance(data, dict):
        if set(data) == {"base64"}:
            return [__import__("base64").b64decode(data["base64"])]
        if set(data) == {"bytes"}:
            return [str(data["bytes"]).encode("utf-8", "surrogateescape")]
        return [b for v in data.values() for b in _blobs(v)]
    if isinstance(data, list):
        return [b for v in data for b in _blobs(v)]
    return []


# -- writing: signals and names -----------------------------------------------------------------
def test_sigterm_while_writing_leaves_no_temporary_file(tmp_path: Path) -> None:
    """The signal arrives while the archive is being written (the child sends it to itself
    there): the temporary file is removed and the process exits 128 + 15."""
    out = tmp_path / "b.tar.gz"
    code = (
        "import os, signal, time\n"
        "from amzn_gd_doctor import bundle, cli\n"
        "real = bundle._write_archive\n"
        "def slow(raw, members, mtime):\n"
        "    real(raw, members, mtime)\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "    time.sleep(30)\n"
        "bundle._write_archive = slow\n"
        f"cli.main(['collect', '-o', {str(out)!r}, *{TREE!r}])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=ENV,
        cwd=str(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 128 + signal.SIGTERM, result.stderr
    assert list(tmp_path.iterdir()) == []


def test_temporary_names_cannot_be_taken_first(tmp_path: Path) -> None:
    """Whatever names another user creates beforehand (here every name the old scheme would
    try, and a link), the bundle is written, and what they planted is left alone."""
    out = tmp_path / "b.tar.gz"
    planted = [tmp_path / f".b.tar.gz.{os.getpid()}.{n}.tmp" for n in range(100)]
    for p in planted:
        p.write_bytes(b"theirs")
    (tmp_path / ".b.tar.gz.link").symlink_to("/etc/passwd")
    size = bundle_module.write(str(out), [("manifest.json", b"{}")], 0)
    assert out.stat().st_size == size
    assert all(p.read_bytes() == b"theirs" for p in planted)
    assert len(list(tmp_path.iterdir())) == len(planted) + 2


def test_a_bundle_that_cannot_be_written_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = run_cli("collect", "-o", "/proc/amzn-gd-doctor-test.tar.gz", *TREE, env=ENV)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.startswith("Error: could not write the bundle in /proc: ")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
