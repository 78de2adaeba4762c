"""The canary: fixtures/roots/canary-secrets holds about seventy kinds of secret (the forms and
families of redact_kinds.py) in every source the doctor reads (agent and SSM logs, a rotated
.gz agent log, the journal, unit files and drop-ins, the agent process's environment and
command line, os-release, resolv.conf, /etc/environment, SSM state documents).
No byte of any report format, standard error included, may hold one of them or a piece of one.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from agent.conftest import copy_tree
from canary import SECRETS, TREE, assert_no_secret, secret_lines
from support import ImdsServer, doctor_env, run_cli

from amzn_gd_doctor.cli_app import CheckFormat
from amzn_gd_doctor.redact import mask

# Every format `check --format` offers, so a new one is covered the day it is added.
VARIANTS = [[f"--format={fmt.value}"] for fmt in CheckFormat] + [
    ["--format=text", "-v"],
    ["--format=json", "-v"],
    ["--format=text", "-v", "--pseudonymize"],
    ["--format=json", "--pseudonymize"],
]


def test_the_canary_has_fifty_kinds_in_every_source() -> None:
    assert len(SECRETS) >= 50
    sources = [
        "var/log/amzn-guardduty-agent/agent.log",
        "var/log/amazon/ssm/amazon-ssm-agent.log",
        "var/log/amazon/ssm/errors.log",
        "lib/systemd/system/amazon-guardduty-agent.service",
        "etc/systemd/system/amazon-guardduty-agent.service.d/override.conf",
        "etc/os-release",
        "etc/resolv.conf",
    ]
    for source in sources:
        data = (TREE / source).read_text()
        planted = [kind for kind, value in SECRETS.items() if value[:24] in data]
        assert len(planted) >= 50, (source, planted)
    rotated = gzip.decompress((TREE / "var/log/amzn-guardduty-agent/agent.log.1.gz").read_bytes())
    assert sum(value[:24].encode() in rotated for value in SECRETS.values()) >= 50
    export = (TREE.parent.parent / "agent/journal/canary-secrets.export").read_text()
    # All but the access key id planted cut in two by a line break.
    assert [k for k, v in SECRETS.items() if v[:24] not in export] == ["split-access-key"]
    assert all(
        value.encode() in (TREE / "proc/2540/environ").read_bytes()
        for value in [
            SECRETS["aws-secret-key"],
            SECRETS["aws-session-token"],
            SECRETS["proxy-password"],
        ]
    )


def test_mask_removes_every_planted_secret() -> None:
    for line in secret_lines():
        assert_no_secret(mask(line).encode(), where=repr(line[:40]))
        assert_no_secret(mask(line.replace("\n", "\\n")).encode(), where=repr(line[:40]))


@pytest.mark.parametrize("args", VARIANTS, ids=lambda a: " ".join(a))
def test_no_report_format_shows_a_secret(args: list, tmp_path: Path) -> None:
    root = copy_tree(tmp_path, TREE.name)
    env = doctor_env(AWS_EC2_METADATA_DISABLED="true")
    result = run_cli("check", *args, "--root", str(root), "--dns-server", "127.0.0.1:9", env=env)
    assert result.returncode in (0, 1, 3), result.stderr
    assert result.stdout.strip(), result.stderr
    assert_no_secret(result.stdout.encode(), where=f"stdout of check {' '.join(args)}")
    assert_no_secret(result.stderr.encode(), where=f"stderr of check {' '.join(args)}")


def test_the_imds_token_signature_and_credentials_never_reach_a_report(
    imds_server: ImdsServer, tmp_path: Path
) -> None:
    """Against a loopback IMDS: the token the doctor was issued is in no report format, and
    neither the identity document's signature, its pkcs7 nor any credentials were asked for."""
    root = copy_tree(tmp_path, TREE.name)
    for args in (["-v"], ["-f", "json"], ["-f", "summary"]):
        result = run_cli(
            "check",
            *args,
            "--root",
            str(root),
            "--imds-endpoint",
            imds_server.url,
            "--dns-server",
            "127.0.0.1:9",
            env=doctor_env(),
        )
        assert imds_server.issued, result.stderr
        for token in imds_server.issued:
            assert token not in result.stdout and token not in result.stderr
    paths = [path for _, path, _ in imds_server.requests]
    asked = [p for p in paths if any(w in p for w in ("signature", "pkcs7", "rsa2048", "iam/"))]
    assert paths and asked == []
