"""The SSM agent's own document code, as tests call it: `../shared/bin/ssm-agent-doc`, a build of
amazon-ssm-agent 3.3.1142.0's document parser, parameter validators, substitution,
aws:runShellScript plugin, status mapping and console truncation (its README is
`../shared/tools/ssm-agent-doc/README.md`). No Python imitation of the agent stands in for it:
where the binary is missing (a clone without `shared/` beside it), the tests that need it skip
and name it.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

import pytest
from support import REPO

AGENT_DOC = REPO.parent / "shared" / "bin" / "ssm-agent-doc"
DOCUMENT = REPO / "packaging" / "ssm" / "AmznGdDoctor-Check.json"
# The agent's exit status for a document or parameters it refused (validate and run alike).
REFUSED = 2
# The step's Output, as the console shows it: stdout, then this title and stderr, cut to
# MaximumPluginOutputSize bytes (iohandler.TruncateOutput; shared reference, section 9).
CONSOLE_BYTES = 2500
ERROR_TITLE = "\n----------ERROR-------\n"
# What the agent puts where it cut stdout (iohandler's truncateOut).
OUTPUT_CUT = "---Output truncated---"

needs_agent = pytest.mark.skipif(
    not AGENT_DOC.is_file(),
    reason=f"needs the SSM agent's document code, {AGENT_DOC} (a clone without shared/ beside it)",
)


def agent_line(status: int) -> str:
    """The line the agent appends to a step's stderr when its script exits non-zero
    (runscript.go, runCommands)."""
    return f"failed to run commands: exit status {status}"


def params(values: Mapping[str, str]) -> List[str]:
    return [arg for name, value in sorted(values.items()) for arg in ("-p", f"{name}={value}")]


def call(*args: str, timeout: float = 900) -> Tuple[int, Dict[str, Any]]:
    """Run the tool; its exit status and its one JSON object. Exit 1 is the tool failing (bad
    arguments, a non-fresh orchestration folder), never the document: that raises."""
    proc = subprocess.run([str(AGENT_DOC), *args], capture_output=True, text=True, timeout=timeout)
    if proc.returncode not in (0, REFUSED):
        raise RuntimeError(f"ssm-agent-doc failed ({proc.returncode}): {proc.stdout}{proc.stderr}")
    return proc.returncode, dict(json.loads(proc.stdout))


def validate(values: Mapping[str, str], document: Path = DOCUMENT) -> Tuple[int, Dict[str, Any]]:
    return call("validate", str(document), *params(values))


def run(
    values: Mapping[str, str],
    orchestration: Path,
    chroot: Optional[Path] = None,
    env: Optional[Mapping[str, str]] = None,
    document: Path = DOCUMENT,
) -> Tuple[int, Dict[str, Any]]:
    """Run the document as the agent does on an instance (`--env agent`: PATH only, cwd
    /usr/bin/, umask 022), inside CHROOT when given."""
    args = ["run", str(document), "--orchestration", str(orchestration), *params(values)]
    if chroot is not None:
        args += ["--chroot", str(chroot)]
    for name, value in sorted((env or {}).items()):
        args += ["-e", f"{name}={value}"]
    return call(*args)
