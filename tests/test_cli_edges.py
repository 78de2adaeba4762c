"""Where a user trips on the CLI: a mistyped command, `-h`, `explain` on a console type that
names several issues or on a typo, the coverage format's reason on stderr, colour as
no-color.org and TERM=dumb say, and help text in words rather than typer's type names."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from typing import Dict, Optional

import pytest
from support import REPO, ROOTS, doctor_argv, doctor_env, run_cli

ESC = "\x1b["
UNDECIDED = ["--root", str(ROOTS / "debian-11"), "--dns-server", "127.0.0.1:9"]


def test_a_mistyped_command_is_refused_with_the_nearest_one() -> None:
    result = run_cli("colect")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("Error: no command 'colect'. Did you mean 'collect'? ")
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize("args", [["-h"], ["check", "-h"], ["fleet", "summarize", "-h"]])
def test_dash_h_is_help(args: list) -> None:
    result = run_cli(*args)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.startswith("Usage: amzn-gd-doctor ")


def test_explain_a_console_type_lists_every_issue_of_that_type() -> None:
    result = run_cli("explain", "No Agent Reporting")
    assert result.returncode == 0, result.stderr
    # Three from the EC2 coverage page, one from Bottlerocket's (docs/families.md).
    assert result.stdout.startswith("No Agent Reporting: 4 console issues\n\n")
    shown = [line for line in result.stdout.splitlines() if line.startswith("  Issue type:")]
    assert shown == ["  Issue type:    No Agent Reporting"] * 4
    as_json = run_cli("explain", "no agent reporting", "-f", "json")
    assert len(json.loads(as_json.stdout)) == 4


def test_explain_a_typo_suggests_the_nearest_codes() -> None:
    result = run_cli("explain", "agent_disconected")
    assert (result.returncode, result.stdout) == (2, "")
    assert "Did you mean: 'agent_disconnected'" in result.stderr


def test_coverage_format_says_on_stderr_why_it_has_no_status() -> None:
    result = run_cli("check", "-f", "coverage", *UNDECIDED)
    assert result.returncode == 3
    assert "coverageStatus" not in json.loads(result.stdout)
    assert result.stderr.startswith("amzn-gd-doctor: no coverageStatus in the coverage resource: ")
    assert "could not decide: " in result.stderr


def on_a_terminal(args: list, env: Dict[str, Optional[str]]) -> str:
    """The text report as a terminal gets it (stdout a pseudo-terminal)."""
    full = doctor_env(AWS_EC2_METADATA_DISABLED="true", TERM="xterm-256color")
    for name, value in env.items():
        if value is None:
            full.pop(name, None)
        else:
            full[name] = value
    primary, secondary = os.openpty()
    try:
        proc = subprocess.run(
            [*doctor_argv(), "check", *UNDECIDED, *args],
            stdout=secondary, stderr=subprocess.PIPE, env=full, cwd=str(REPO), timeout=120,
        )  # fmt: skip
        os.close(secondary)
        chunks = []
        while True:
            try:
                chunk = os.read(primary, 65536)
            except OSError:  # EIO: the terminal's other side is closed
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(primary)
    assert proc.returncode == 3, proc.stderr
    return b"".join(chunks).decode()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs a Linux pseudo-terminal")
@pytest.mark.parametrize(
    ("args", "env", "colour"),
    [
        ([], {"NO_COLOR": None}, True),
        ([], {"NO_COLOR": ""}, True),  # no-color.org: set *and not empty*
        ([], {"NO_COLOR": "1"}, False),
        ([], {"NO_COLOR": None, "TERM": "dumb"}, False),
        (["--color", "never"], {"NO_COLOR": None}, False),
        (["--no-color"], {"NO_COLOR": None}, False),
        (["--color", "always"], {"NO_COLOR": "1"}, True),
    ],
)
def test_colour_follows_no_color_term_and_the_option(
    args: list, env: Dict[str, Optional[str]], colour: bool
) -> None:
    assert (ESC in on_a_terminal(args, env)) is colour


def test_color_always_reaches_a_pager_through_a_pipe() -> None:
    result = run_cli("check", *UNDECIDED, "--color", "always")
    assert ESC in result.stdout


@pytest.mark.parametrize("command", [["check"], ["collect"], ["fleet", "summarize"], ["explain"]])
def test_help_names_values_in_words(command: list) -> None:
    text = run_cli(*command, "--help").stdout
    assert "<str>" not in text and "<int" not in text and "<float" not in text, text


@pytest.mark.parametrize("args", [["--version"], ["list"], ["explain", "kernel_too_low"]])
@pytest.mark.parametrize(
    "redirect,why",
    [("> /dev/full", "No space left on device"), (">&-", "standard output is closed")],
    ids=["full", "closed"],
)
def test_output_that_cannot_be_written_is_one_line_and_exit_2(
    args: list, redirect: str, why: str
) -> None:
    """A full disk behind standard output, or standard output closed: one line, no traceback."""
    command = " ".join(shlex.quote(a) for a in doctor_argv() + args) + " " + redirect
    proc = subprocess.run(
        command, shell=True, env=doctor_env(AWS_EC2_METADATA_DISABLED="true"),
        stderr=subprocess.PIPE, text=True, timeout=60,
    )  # fmt: skip
    assert (proc.returncode, proc.stderr) == (
        2,
        f"amzn-gd-doctor: cannot write the output: {why}\n",
    )
