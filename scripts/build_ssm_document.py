"""Write packaging/ssm/AmznGdDoctor-Check.json, the SSM Command document, from
packaging/ssm/runner.py (its step's program) and packaging/ssm/no_python.sh (what the step
says where there is no python3). The document is committed; a test checks it is
current.

Usage: python3 scripts/build_ssm_document.py [--check]
"""

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SSM = REPO / "packaging" / "ssm"
DOCUMENT = SSM / "AmznGdDoctor-Check.json"
MARK = "AMZN_GD_DOCTOR_RUNNER"
# The runner's arguments, in its order (packaging/ssm/runner.py).
RUNNER_ARGS = ("source", "sha256", "format", "deadline", "exitStatus")
# The doctor's deadline is at most 300 s; the download has 60 s; the rest is margin.
TIMEOUT_SECONDS = "420"

PARAMETERS = {
    "format": {
        "type": "String",
        "description": "text: the report, its first line a one-line summary; json: exactly the "
        "JSON report, for a fleet roll-up; summary: the one line alone.",
        "allowedValues": ["text", "json", "summary"],
        # The service checks allowedValues; the agent checks only allowedPattern, so each
        # parameter has one (shared reference, section 9).
        "allowedPattern": "^(text|json|summary)$",
        "default": "text",
    },
    "deadline": {
        "type": "String",
        "description": "Whole-run deadline of the doctor in seconds (at most 300).",
        "allowedPattern": "^[0-9]{1,3}(\\.[0-9]{1,2})?$",
        "default": "10",
    },
    "source": {
        "type": "String",
        "description": "installed: the amzn-gd-doctor command of the rpm/deb package. Or an "
        "https:// URL of amzn-gd-doctor.pyz (a presigned S3 URL works): it is downloaded with "
        "python3 into a private temporary folder, checked against sha256, run, and removed.",
        # No counted repeat: the SSM agent compiles patterns with Go's regexp, which refuses one
        # over 1000 ("invalid repeat count"), and a presigned URL made with temporary
        # credentials carries a session token that makes it longer than that. No "@": a URL's
        # user-info is a credential, and the step must never print one. No quote, space or
        # "$(": nothing can leave the step's single quotes.
        "allowedPattern": "^(installed|https://[A-Za-z0-9._~:/?#!$&()*+,;=%\\[\\]-]+)$",
        "default": "installed",
    },
    "sha256": {
        "type": "String",
        "description": "sha256 of the pyz at source (64 hex digits); required with a URL.",
        "allowedPattern": "^([0-9a-fA-F]{64})?$",
        "default": "",
    },
    "exitStatus": {
        "type": "String",
        "description": "report: the step succeeds whenever the doctor printed a report, whatever "
        "its verdict, and fails only when the doctor could not run. verdict: the step exits with "
        "the doctor's status (0 healthy, 1 unhealthy predicted, 3 could not decide), so Run "
        "Command marks unhealthy instances Failed.",
        "allowedValues": ["report", "verdict"],
        "allowedPattern": "^(report|verdict)$",
        "default": "report",
    },
}


def document() -> dict:
    runner = (SSM / "runner.py").read_text().rstrip("\n").split("\n")
    no_python = (SSM / "no_python.sh").read_text().rstrip("\n").split("\n")
    script = [
        "#!/bin/sh",
        "# amzn-gd-doctor: read-only diagnosis of GuardDuty Runtime Monitoring coverage.",
        "# Exit 2 when the doctor could not run; otherwise 0 (exitStatus report), or the",
        "# doctor's status (exitStatus verdict: 0 healthy, 1 unhealthy, 3 undecided); never 194.",
        "PY=$(command -v python3 || echo /usr/libexec/platform-python)",
        'if [ ! -x "$PY" ]; then',
        *("  " + line if line else line for line in no_python),
        "fi",
        '"$PY" - ' + " ".join(f"'{{{{ {name} }}}}'" for name in RUNNER_ARGS) + f" <<'{MARK}'",
        *runner,
        MARK,
    ]
    return {
        "schemaVersion": "2.2",
        "description": "Run amzn-gd-doctor on Linux instances: explains why GuardDuty Runtime "
        "Monitoring coverage is Unhealthy. Read-only. The step fails (exit 2) when the doctor "
        "could not run; with exitStatus verdict it also exits 1 for an unhealthy prediction and "
        "3 when the doctor could not decide.",
        "parameters": PARAMETERS,
        "mainSteps": [
            {
                "action": "aws:runShellScript",
                "name": "amznGdDoctorCheck",
                "precondition": {"StringEquals": ["platformType", "Linux"]},
                "inputs": {"timeoutSeconds": TIMEOUT_SECONDS, "runCommand": script},
            }
        ],
    }


def main() -> None:
    text = json.dumps(document(), indent=2) + "\n"
    if sys.argv[1:] == ["--check"]:
        if DOCUMENT.read_text() != text:
            sys.exit(f"{DOCUMENT} is not current: run python3 scripts/build_ssm_document.py")
        return
    DOCUMENT.write_text(text)


if __name__ == "__main__":
    main()
