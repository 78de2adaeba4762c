"""Hostile inputs from IMDS and the command line, each with its expected clear outcome: a named
failure or an "inconclusive, because ..." line, never a crash finding, and no raw control or
bidi character in any output format. The IMDS is the real loopback server, told to misbehave."""

from __future__ import annotations

import json
from typing import Dict, List

import pytest
from support import ROOTS, ImdsServer, doctor_env, run_cli

ROOT = str(ROOTS / "al2023-6.1")
FAST = {"AWS_METADATA_SERVICE_TIMEOUT": "0.5"}
IDENTITY_PATH = "/latest/dynamic/instance-identity/document"
TAG_PATH = "/latest/meta-data/tags/instance/GuardDutyManaged"
RAW = ("\x1b", "\x9b", "\u202e", "\x00", "\x07")


def run(imds: ImdsServer, fmt: str = "json", *extra: str):  # type: ignore[no-untyped-def]
    return run_cli(
        "check",
        "--root",
        ROOT,
        "--imds-endpoint",
        imds.url,
        "--dns-server",
        "127.0.0.1:9",
        "-f",
        fmt,
        *extra,
        env=doctor_env(**FAST),
    )


def checks(report: Dict[str, object]) -> Dict[str, Dict[str, object]]:
    return {c["id"]: c for c in report["checks"]}  # type: ignore[index,union-attr]


def no_crash(report: Dict[str, object]) -> None:
    crashed = [c["id"] for c in report["checks"] if c["outcome"] == "crash"]  # type: ignore[index,union-attr]
    reasons = [f["reason"] or "" for f in report["facts"]]  # type: ignore[union-attr,index]
    assert crashed == [] and not any("crashed" in r for r in reasons), (crashed, reasons)


def identity_doc(extra: str) -> bytes:
    return (
        '{"accountId": "123456789012", "instanceId": "i-0123456789abcdef0", '
        '"region": "us-east-1", "instanceType": "t3.micro"' + extra + "}"
    ).encode()


@pytest.mark.parametrize(
    "body, reason",
    [
        # Deep nesting well under the 64 KiB bound: a recursive parser would exhaust its stack.
        (identity_doc(', "x": ' + "[" * 20000 + "]" * 20000), "nests 20001 levels deep"),
        (identity_doc(', "pendingTime": ' + "9" * 5000), "holds a 5000-digit number"),
        (identity_doc(', "n": -' + "1" * 40), "holds a 41-digit number"),
        (b"\xff\xfe{\x00", "is not UTF-8 text"),
        (b"<html><body>Gateway Timeout</body></html>", "is HTML, not JSON"),
    ],
)
def test_identity_documents_that_are_not(imds_server: ImdsServer, body: bytes, reason: str) -> None:
    imds_server.overrides[IDENTITY_PATH] = (200, body)
    report = run(imds_server).json()
    no_crash(report)
    found = checks(report)["imds.identity_document"]
    assert found["outcome"] == "fail" and reason in found["summary"], found["summary"]


@pytest.mark.parametrize(
    "token",
    ["tökén-ünïcode".encode(), b"abc\r\nX-Injected: 1", b"\x00\x01\x02", b"a" * 2000],
)
def test_a_token_that_is_not_a_token(imds_server: ImdsServer, token: bytes) -> None:
    imds_server.token_body = token
    report = run(imds_server).json()
    no_crash(report)
    found = checks(report)["imds.identity_document"]
    assert found["outcome"] == "fail"
    if len(token) > 1024:  # past the token bound: read as truncated, an IMDS answer gone wrong
        assert "answered the token request" in found["summary"]
    else:
        assert "bytes that are not a token" in found["summary"], found["summary"]
    # Nothing was sent back with the bad token.
    sent: List[Dict[str, str]] = [h for m, p, h in imds_server.requests if m == "GET"]
    assert all("X-aws-ec2-metadata-token" not in h for h in sent)


def test_a_tag_request_that_times_out(imds_server: ImdsServer) -> None:
    imds_server.path_delays[TAG_PATH] = 2.0
    report = run(imds_server).json()
    no_crash(report)
    tag = checks(report)["imds.exclusion_tag"]
    assert tag["outcome"] == "inconclusive"
    assert "the tag request to IMDS failed (no response within 0.5 s)" in tag["summary"]


@pytest.mark.parametrize(
    "endpoint, detail",
    [
        ("http://" + "a" * 300 + "/", "is not valid"),
        ("http://" + "b" * 63 + "." + "c" * 63 + "/", "does not resolve"),
    ],
)
def test_an_endpoint_host_that_cannot_be(endpoint: str, detail: str) -> None:
    result = run_cli(
        "check", "--root", ROOT, "--imds-endpoint", endpoint, "-f", "json", env=doctor_env(**FAST)
    )
    report = result.json()
    no_crash(report)
    found = checks(report)["imds.identity_document"]
    assert found["outcome"] == "fail" and detail in found["summary"], found["summary"]


def test_control_and_bidi_characters_are_escaped_in_every_format(imds_server: ImdsServer) -> None:
    hostile = "t3.\u202emicro\x1b[2J\x9b\x07"
    imds_server.identity["instanceType"] = hostile
    imds_server.tags = {"GuardDutyManaged": "maybe\x1b]0;pwned\x07\u202e"}
    outputs = {fmt: run(imds_server, fmt).stdout for fmt in ("json", "text", "summary")}
    for fmt, out in outputs.items():
        assert not [ch for ch in RAW if ch in out], fmt
    report = json.loads(outputs["json"])
    shown = "t3.\\u202emicro\\x1b[2J\\x9b\\x07"
    assert report["host"]["instance_type"] == shown
    assert shown in outputs["text"]


def copy_root(tmp_path, name: str):  # type: ignore[no-untyped-def]
    import shutil

    root = tmp_path / name
    shutil.copytree(str(ROOTS / name), str(root), symlinks=True)
    return root


def run_tree(root, *formats: str) -> Dict[str, str]:  # type: ignore[no-untyped-def]
    outputs = {}
    for fmt in formats:
        result = run_cli(
            "check",
            "--root",
            str(root),
            "-f",
            fmt,
            env=doctor_env(AWS_EC2_METADATA_DISABLED="true"),
        )
        assert result.stderr == "", result.stderr
        outputs[fmt] = result.stdout
    return outputs


@pytest.mark.parametrize(
    "status_line, reason",
    [
        ("Status: install ok unpacked-ish", "not a dpkg status: 'install ok unpacked-ish'"),
        ("Status: hold", "not a dpkg status: 'hold'"),
    ],
)
def test_an_odd_dpkg_status_line_is_named(tmp_path, status_line: str, reason: str) -> None:  # type: ignore[no-untyped-def]
    root = copy_root(tmp_path, "agent-healthy")
    status = root / "var" / "lib" / "dpkg" / "status"
    text = status.read_text()
    start = text.index("Package: amazon-guardduty-agent")
    line_start = text.index("Status:", start)
    line_end = text.index("\n", line_start)
    status.write_text(text[:line_start] + status_line + text[line_end:])
    report = json.loads(run_tree(root, "json")["json"])
    no_crash(report)
    fact = next(f for f in report["facts"] if f["id"] == "agent.package")
    assert fact["status"] == "error" and reason in fact["reason"], fact["reason"]


def test_a_superscript_pid_directory_is_not_a_process(tmp_path) -> None:  # type: ignore[no-untyped-def]
    root = copy_root(tmp_path, "ssm-healthy")
    weird = root / "proc" / "\u00b2"
    weird.mkdir(parents=True)
    (weird / "comm").write_text("amazon-ssm-agent\n")
    (weird / "cmdline").write_bytes(b"/usr/bin/amazon-ssm-agent\x00")
    report = json.loads(run_tree(root, "json")["json"])
    no_crash(report)


def test_host_text_with_control_characters_in_every_format(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """os-release and an SSM log line carrying ESC sequences, C1 controls and bidi overrides:
    none reaches any output format raw."""
    root = copy_root(tmp_path, "ssm-healthy")
    release = root / "etc" / "os-release"
    release.write_text(
        release.read_text().replace('PRETTY_NAME="', 'PRETTY_NAME="\x1b[31m\u202e\x9bEvil ')
    )
    log = root / "var" / "log" / "amazon" / "ssm" / "amazon-ssm-agent.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(str(log), "a", encoding="utf-8") as fh:
        fh.write(
            "2024-11-04 09:08:13.4731 ERROR [ssm-agent-worker] failed to call "
            "ssm.us-east-1.amazonaws.com: \x1b]0;owned\x07dial tcp: lookup "
            "ssm.us-east-1.amazonaws.com: no such host \u202e\x9b\x00\n"
        )
    outputs = run_tree(root, "json", "text", "summary")
    for fmt, out in outputs.items():
        assert not [ch for ch in RAW if ch in out], fmt
    no_crash(json.loads(outputs["json"]))
