"""The SSM Command document's shape: schema 2.2, one aws:runShellScript step, every parameter
declared and held by a pattern that stops shell injection, a timeout above the deadline, and
the committed JSON current with packaging/ssm/runner.py. tests/test_packages.py runs it."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from ssm_run import declared_but_used, substitute
from support import REPO, ROOTS, run_cli

DOCUMENT = REPO / "packaging" / "ssm" / "AmznGdDoctor-Check.json"
# Run Command shows the first 2,500 characters of a step's output.
RUN_COMMAND_SHOWN = 2500
# The CLI's own ceiling on --deadline, and the runner's download timeout.
MAX_DEADLINE_S = 300
DOWNLOAD_TIMEOUT_S = 60


def document() -> dict:
    return dict(json.loads(DOCUMENT.read_text()))


def test_document_is_current_with_its_runner() -> None:
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "build_ssm_document.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr


def test_document_shape() -> None:
    doc = document()
    assert doc["schemaVersion"] == "2.2"
    (step,) = doc["mainSteps"]
    assert step["action"] == "aws:runShellScript"
    assert set(doc["parameters"]) == {"format", "deadline", "source", "sha256"}
    assert declared_but_used(doc) == []
    for name, spec in doc["parameters"].items():
        assert "allowedValues" in spec or "allowedPattern" in spec, name
    assert doc["parameters"]["format"]["allowedValues"] == ["text", "json", "summary"]
    assert int(step["inputs"]["timeoutSeconds"]) > MAX_DEADLINE_S + DOWNLOAD_TIMEOUT_S
    # Exit status 194 asks the SSM agent to reboot the instance: no path may exit with it.
    assert re.search(r"exit\W*194", "\n".join(step["inputs"]["runCommand"])) is None


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("deadline", "10; reboot"),
        ("deadline", "$(reboot)"),
        ("source", "installed; reboot"),
        ("source", "https://example.com/x.pyz' ; reboot ; '"),
        ("source", "https://example.com/a b"),
        ("source", "http://example.com/amzn-gd-doctor.pyz"),
        ("source", "file:///etc/shadow"),
        ("sha256", "0" * 63),
        ("sha256", "0" * 64 + "'"),
        ("format", "text' ; reboot ; '"),
    ],
)
def test_parameters_refuse_shell_injection(name: str, value: str) -> None:
    with pytest.raises(ValueError):
        substitute(document(), {name: value})


def test_presigned_url_is_accepted_and_quoted() -> None:
    url = (
        "https://bucket.s3.eu-west-1.amazonaws.com/tools/amzn-gd-doctor.pyz?X-Amz-Algorithm="
        "AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F20261201%2Feu-west-1%2Fs3%2Faws4_request"
        "&X-Amz-Signature=0a1b2c"
    )
    script = substitute(document(), {"source": url, "sha256": "a" * 64})
    assert f"'{url}' '{'a' * 64}' 'text' '10'" in script
    assert script.endswith("\nAMZN_GD_DOCTOR_RUNNER\n")
    assert re.search(r"\{\{", script) is None


@pytest.mark.parametrize("tree", sorted(p.name for p in ROOTS.iterdir() if p.is_dir()))
def test_verdict_and_fix_fit_in_what_run_command_shows(tree: str) -> None:
    out = run_cli("check", "--root", str(ROOTS / tree), "--dns-server", "127.0.0.1:9").stdout
    verdict_end = out.index("\nChecks\n")
    assert verdict_end < RUN_COMMAND_SHOWN, out[:verdict_end]
    if "Issue type:" in out[:verdict_end]:
        assert "  How to fix:\n    1. " in out[:verdict_end]
        assert "  Docs: https://docs.aws.amazon.com/guardduty/" in out[:verdict_end]
