"""The text report of every scenario tree reads as one voice: wrapped to 100 columns but for
its summary line, no internal name (a fact or check id outside the check's own prefix, `None`,
`v?`) in the sentences meant for people, whole sentences under "Observed", a fix list without a
repeated step or a reference to "the cause named above", and no check contradicting the
diagnosis.

Each tree is diagnosed as operators run it (`check -f text --no-color`, through run_cli, so
AMZN_GD_DOCTOR_COMMAND picks the build), with IMDS disabled and every resolver a refused
loopback port, as tests/scenarios.py does for the JSON report; the JSON report of the same tree
(the `scenario_reports` fixture) says which checks each diagnosis names.
"""

from __future__ import annotations

import os
import pty
import re
import subprocess
from pathlib import Path
from typing import Callable, Dict, List

import pytest
from scenarios import TREES
from support import REPO, ROOTS, deadline_args, doctor_argv, doctor_env, run_cli

pytestmark = pytest.mark.corpus
Reports = Callable[[str], Dict[str, object]]

WIDTH = 100  # render/text.py's WIDTH: stdout is a pipe here
# A fact or check id in a sentence: `area.name`, not part of a longer word, path, file or host
# name (amazon-guardduty-agent.service, amazon-ssm-agent.log and ssm.us-east-1.amazonaws.com are
# not ids), and not followed by more of a name.
FACT_KEY = re.compile(
    r"(?<![\w./-])(?:agent|ssm|imds|net|network|platform)\.[a-z_]+\b(?![\w-]|\.\w)"
)
# Where an id belongs: a check line's `[PASS] area.check: ` and a `- area.thing: ` list item.
ID_PREFIX = re.compile(r"^ *(?:\[[A-Z ?-]{4}\] |- )[a-z0-9_]+\.[a-z0-9_]+: ")
LEAKS = {
    "None": re.compile(r"\bNone\b"),
    "v?": re.compile(r"\bv\?"),
    "the cause named above": re.compile(r"the cause named above"),
}
STEP = re.compile(r"^ *(\d+)\. ")


def text_report(tmp_path: Path, name: str) -> str:
    from agent.conftest import copy_tree  # the tree with its journal made; imports the package

    root = copy_tree(tmp_path, name)
    env = doctor_env(AWS_EC2_METADATA_DISABLED="true")
    result = run_cli(
        "check", "-f", "text", "--no-color", "--root", str(root), "--dns-server", "127.0.0.1:9",
        env=env,
    )  # fmt: skip
    assert result.stderr == "", result.stderr
    return result.stdout


def block(lines: List[str], start: str, stop: Callable[[str], bool]) -> List[str]:
    """The lines from the one that starts with START up to the first that STOP accepts."""
    at = next((n for n, line in enumerate(lines) if line.startswith(start)), None)
    if at is None:
        return []
    end = next((n for n in range(at + 1, len(lines)) if stop(lines[n])), len(lines))
    return lines[at:end]


def steps(lines: List[str]) -> List[str]:
    """Numbered fix steps, each joined from its wrapped lines."""
    found: List[str] = []
    for line in lines:
        match = STEP.match(line)
        if match:
            found.append(line[match.end() :].strip())
        elif found and line.strip() and not line.strip().endswith(":"):
            found[-1] += " " + line.strip()
    return found


def sentences(text: str) -> List[str]:
    """TEXT cut after every full stop (not an ellipsis, which shortens a quoted log line)."""
    return [s for s in re.split(r"(?<=[^.]\.)\s+", text.strip()) if s]


@pytest.mark.parametrize("name", TREES)
def test_text_report_reads_as_one_voice(
    name: str, tmp_path: Path, scenario_reports: Reports
) -> None:
    text = text_report(tmp_path, name)
    lines = text.splitlines()
    assert lines[0].startswith("amzn-gd-doctor: ")
    assert [line for line in lines[1:] if len(line) > WIDTH] == []
    prose = [ID_PREFIX.sub("", line) for line in lines[1:]]
    keys = [line.strip() for line in prose if FACT_KEY.search(line)]
    assert keys == [], f"fact or check ids in sentences: {keys}"
    for what, pattern in LEAKS.items():
        leaked = [line.strip() for line in prose if pattern.search(line)]
        assert leaked == [], f"{what!r} in the report: {leaked}"
    observed = block(lines, "  Observed:", lambda line: not line.startswith(" " * 17))
    said = " ".join(line.strip() for line in observed)[len("Observed:") :]
    for sentence in sentences(said):
        assert sentence[0].isupper() and sentence.endswith("."), (sentence, said)
    fixes = block(lines, "  How to fix:", lambda line: line.startswith("  Docs:"))
    every = steps(fixes)
    assert len(every) == len(set(every)), f"a step repeated: {every}"
    for start in range(len(lines)):  # each fix block under a check has no repeated step either
        if lines[start] == "       How to fix:":
            under = steps(block(lines[start:], "       How to fix:", lambda x: "Docs:" in x))
            assert len(under) == len(set(under)), f"a step repeated: {under}"
    if observed or fixes:
        assert said.strip() and every, "a predicted issue comes with what was seen and a fix"

    report = scenario_reports(name)
    checks = {c["id"]: c for c in report["checks"]}  # type: ignore[attr-defined]
    for d in report["diagnoses"]:  # type: ignore[attr-defined]
        # A diagnosis names only checks that failed: a passing check is never its cause.
        assert {checks[i]["outcome"] for i in d["findings"]} == {"fail"}, d
        if "no SSM agent" in d["summary"]:
            assert checks["ssm.agent_running"]["outcome"] != "pass", d["summary"]


def test_text_report_follows_the_terminals_width() -> None:
    """On a terminal the report is wrapped to its width (here COLUMNS, as a terminal of 72
    columns reports it), the summary line excepted; a URL wider than that is not cut."""
    main, child = pty.openpty()
    argv = doctor_argv() + ["check", "--no-color", "--root", str(ROOTS / "al2-4.14")]
    env = doctor_env(AWS_EC2_METADATA_DISABLED="true", COLUMNS="72")
    try:
        proc = subprocess.Popen(
            argv + ["--dns-server", "127.0.0.1:9", *deadline_args()],
            stdout=child,
            stderr=subprocess.DEVNULL,
            env=env,
            cwd=str(REPO),
        )
        os.close(child)
        out = b""
        while True:
            try:
                chunk = os.read(main, 65536)
            except OSError:  # EIO: the doctor closed its end
                break
            if not chunk:
                break
            out += chunk
        proc.wait(timeout=60)
    finally:
        os.close(main)
    lines = out.decode().replace("\r\n", "\n").splitlines()
    assert lines[0].startswith("amzn-gd-doctor: UNHEALTHY | Agent Not Provisioned")
    assert len(lines[0]) > 72
    # A URL longer than the terminal is wide stays whole, on a line of its own.
    too_long = [line for line in lines[1:] if len(line) > 72]
    assert all(line.startswith("https://") and " " not in line for line in too_long), too_long
    assert any(len(line) > 64 for line in lines[1:])  # wrapped at 72, not narrower


def test_every_fact_has_a_title() -> None:
    """The engine names a fact that could not be read by its key's title ("not checked: the
    instance identity document cannot be observed here"): a key without one would show its id
    in words ("host mounts"), which reads as a sentence but says less."""
    from amzn_gd_doctor import facts, registry

    probes, _ = registry.load()
    untitled = sorted(p for p in probes if facts.title(p) == p.replace(".", " ").replace("_", " "))
    assert untitled == [], f"keys made without a title (facts/): {untitled}"
