"""The SSM Run Command document: valid schema 2.2 shape, and every option it passes exists."""

from __future__ import annotations

import json
import re

import pytest
from support import REPO, run_cli

DOCUMENT = REPO / "packaging" / "ssm" / "AmznGdDoctor-Check.json"


def test_ssm_document_shape() -> None:
    doc = json.loads(DOCUMENT.read_text())
    assert doc["schemaVersion"] == "2.2"
    (step,) = doc["mainSteps"]
    assert step["action"] == "aws:runShellScript"
    assert set(doc["parameters"]) == {"format", "deadline"}
    assert doc["parameters"]["format"]["allowedValues"] == ["text", "json"]
    pattern = re.compile(doc["parameters"]["deadline"]["allowedPattern"])
    assert pattern.match("10") and pattern.match("2.5") and not pattern.match("10; reboot")


@pytest.mark.corpus
def test_ssm_document_command_runs_with_its_defaults() -> None:
    doc = json.loads(DOCUMENT.read_text())
    command = doc["mainSteps"][0]["inputs"]["runCommand"][-1]
    for name, spec in doc["parameters"].items():
        command = command.replace("{{ " + name + " }}", spec["default"])
    args = re.findall(r"'([^']*)'|(--?[\w-]+)", command.split("check", 1)[1])
    argv = [a or b for a, b in args]
    assert argv == ["--no-color", "--format", "text", "--deadline", "10"]
    result = run_cli("check", *argv, "--root", str(REPO / "fixtures/roots/al2023-6.1"))
    assert result.returncode in (0, 1, 3) and "Predicted coverage status:" in result.stdout
