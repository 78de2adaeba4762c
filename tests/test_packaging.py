"""The SSM Command document, checked by the SSM agent's own code (tests/ssm_agent.py): it accepts
the document with every parameter's default and with every value an operator may give, and it
refuses, before anything runs, every value that could break out of the step's quoting. Every
allowedPattern also compiles under RE2 (google-re2), whose syntax and repeat limit are Go's,
so a pattern the agent would refuse fails here even where the agent's binary is missing.
The committed JSON is current with packaging/ssm/runner.py, and the text report puts its verdict
and fix inside what the console shows of a step. tests/test_packages.py runs the document."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict

import pytest
from ssm_agent import (
    CONSOLE_BYTES,
    DOCUMENT,
    ERROR_TITLE,
    OUTPUT_CUT,
    REFUSED,
    agent_line,
    needs_agent,
    run,
    validate,
)
from support import REPO, ROOTS, run_cli

# The CLI's own ceiling on --deadline, and the runner's download timeout.
MAX_DEADLINE_S = 300
DOWNLOAD_TIMEOUT_S = 60
SHA = "a" * 64
PRESIGNED = (
    "https://bucket.s3.eu-west-1.amazonaws.com/tools/amzn-gd-doctor.pyz?X-Amz-Algorithm="
    "AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE%2F20261201%2Feu-west-1%2Fs3%2Faws4_request"
    "&X-Amz-Date=20261201T000000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host"
    "&X-Amz-Signature=" + "0a1b2c3d" * 8
)
# Values an operator gives, each of which the agent must accept.
ACCEPTED = [
    {},
    {"format": "json", "deadline": "300", "exitStatus": "verdict"},
    {"format": "summary", "deadline": "2.5"},
    {"source": PRESIGNED, "sha256": SHA},
    # A presigned URL made with temporary credentials carries a session token: well over the
    # 1000 that Go's regexp allows a counted repeat.
    {"source": PRESIGNED + "&X-Amz-Security-Token=" + "IQoJb3JpZ2luX2VjE%2F" * 60, "sha256": SHA},
    {"source": "https://" + "a" * 4000, "sha256": SHA.upper()},
]
# One value per parameter that would break out of the step's single quotes, or smuggle
# something else in, if it were substituted.
QUOTE_BREAKING = {
    "format": "text' ; reboot ; '",
    "deadline": "10'; reboot; '",
    "source": "https://example.com/x.pyz' ; reboot ; '",
    "sha256": "0" * 64 + "'; reboot; '",
    "exitStatus": "report' ; reboot ; '",
}
OTHER_REFUSED = [
    ("deadline", "$(reboot)"),
    ("source", "installed; reboot"),
    ("source", "https://example.com/a b"),
    ("source", "http://example.com/amzn-gd-doctor.pyz"),
    ("source", "file:///etc/shadow"),
    ("source", "https://deploy:secret@example.com/amzn-gd-doctor.pyz"),
    ("source", "https://"),
    ("sha256", "0" * 63),
]


def document() -> Dict[str, Any]:
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
    assert set(doc["parameters"]) == set(QUOTE_BREAKING)
    # The agent checks only allowedPattern for Run Command; allowedValues is the service's.
    assert all("allowedPattern" in spec for spec in doc["parameters"].values())
    assert doc["parameters"]["format"]["allowedValues"] == ["text", "json", "summary"]
    assert doc["parameters"]["exitStatus"]["allowedValues"] == ["report", "verdict"]
    assert doc["parameters"]["exitStatus"]["default"] == "report"
    assert int(step["inputs"]["timeoutSeconds"]) > MAX_DEADLINE_S + DOWNLOAD_TIMEOUT_S
    # Exit status 194 asks the SSM agent to reboot the instance: no path may exit with it.
    assert re.search(r"exit\W*194", "\n".join(step["inputs"]["runCommand"])) is None


def test_every_allowed_pattern_compiles_under_re2() -> None:
    re2 = pytest.importorskip("re2", reason="needs google-re2 (the test extra)")
    compiled = {
        name: re2.compile(spec["allowedPattern"]) for name, spec in document()["parameters"].items()
    }
    for values in ACCEPTED:
        for name, spec in document()["parameters"].items():
            value = values.get(name, spec["default"])
            assert compiled[name].search(value), (name, value)
    for name, value in [*QUOTE_BREAKING.items(), *OTHER_REFUSED]:
        assert not compiled[name].search(value), (name, value)


def test_re2_refuses_what_the_agent_refused() -> None:
    # The pattern the document once had: Python's re accepts it, Go's regexp and RE2 do not.
    re2 = pytest.importorskip("re2", reason="needs google-re2 (the test extra)")
    old = "^(installed|https://[A-Za-z0-9._~:/?#@!$&()*+,;=%\\[\\]-]{1,2040})$"
    assert re.compile(old)
    with pytest.raises(re2.error):
        re2.compile(old)


@needs_agent
@pytest.mark.parametrize("values", ACCEPTED, ids=lambda v: ",".join(sorted(v)) or "defaults")
def test_the_agent_accepts_the_document(values: Dict[str, str]) -> None:
    status, result = validate(values)
    assert status == 0 and result["ok"], result.get("error")
    assert "warnings" not in result, result["warnings"]
    (step,) = result["steps"]
    line = next(c for c in step["inputs"]["runCommand"] if c.endswith("<<'AMZN_GD_DOCTOR_RUNNER'"))
    given = {**{n: s["default"] for n, s in document()["parameters"].items()}, **values}
    quoted = " ".join(
        f"'{given[n]}'" for n in ("source", "sha256", "format", "deadline", "exitStatus")
    )
    assert line == f"\"$PY\" - {quoted} <<'AMZN_GD_DOCTOR_RUNNER'"


@needs_agent
@pytest.mark.parametrize(("name", "value"), [*QUOTE_BREAKING.items(), *OTHER_REFUSED])
def test_the_agent_refuses_a_value_before_anything_runs(
    name: str, value: str, tmp_path: Path
) -> None:
    # Without allowedValues, as if the service had not checked them: the agent's own
    # allowedPattern check is what refuses.
    doc = copy.deepcopy(document())
    for spec in doc["parameters"].values():
        spec.pop("allowedValues", None)
    stripped = tmp_path / "doc.json"
    stripped.write_text(json.dumps(doc))
    status, result = validate({name: value}, document=stripped)
    assert (status, result["ok"], result["stage"]) == (REFUSED, False, "agent"), result
    assert f"validating parameter /{name}/" in result["error"]
    assert "does not match the allowed pattern" in result["error"]
    # Run refuses the same way: nothing is written, nothing runs.
    orchestration = tmp_path / "orchestration"
    status, result = run({name: value}, orchestration, document=stripped)
    assert (status, result["ok"]) == (REFUSED, False)
    assert not (orchestration / "amznGdDoctorCheck").exists()


def fits(stdout: str, stderr: str, end: int) -> bool:
    """Whether stdout[:end] is shown whole in the step's console Output (TruncateOutput: stdout
    is cut to make room for the error title and a short stderr)."""
    room = CONSOLE_BYTES - len(ERROR_TITLE.encode()) - len(stderr.encode())
    shown = stdout.encode()[: room - len(OUTPUT_CUT)]
    return len(stdout[:end].encode()) <= len(shown)


@pytest.mark.parametrize("tree", sorted(p.name for p in ROOTS.iterdir() if p.is_dir()))
def test_verdict_and_fix_fit_in_what_run_command_shows(tree: str) -> None:
    result = run_cli("check", "--root", str(ROOTS / tree), "--dns-server", "127.0.0.1:9")
    out = result.stdout
    verdict_end = out.index("\nChecks\n")
    # The console's 2,500 bytes hold stdout, the error title and stderr, where the agent adds
    # its own line when the step exits non-zero (exitStatus verdict).
    stderr = result.stderr + agent_line(result.returncode)
    assert fits(out, stderr, verdict_end), out[:verdict_end]
    if "Issue type:" in out[:verdict_end]:
        assert "  How to fix:\n    1. " in out[:verdict_end]
        # A URL longer than the line goes on a line of its own (render/text.py's wrapping).
        assert "Docs: https://docs.aws.amazon.com/guardduty/" in " ".join(out[:verdict_end].split())
