"""The man page amzn-gd-doctor(1) as scripts/build_man.py writes it for the packages: it covers
every command of the CLI (the click tree walked here, so a new command or option without a
place on the page fails), holds the sections a reader looks for, renders without a warning
from the real formatter (man-db's `man`, else groff; Debian packages man-db and groff-base),
and two builds are the same bytes.
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator, List, Optional, Tuple

import pytest
from support import REPO

from amzn_gd_doctor.cli_app import build_app

SCRIPT = REPO / "scripts" / "build_man.py"
SECTIONS = (
    "NAME",
    "SYNOPSIS",
    "DESCRIPTION",
    "COMMANDS",
    "EXIT STATUS",
    "ENVIRONMENT",
    "FILES",
    "EXAMPLES",
    "SEE ALSO",
)
# The requests the page is written with; any other line starting with a dot is help text
# that was not escaped.
REQUESTS = {
    ".TH",
    ".SH",
    ".SS",
    ".PP",
    ".TP",
    ".IP",
    ".RS",
    ".RE",
    ".nf",
    ".fi",
    ".br",
    ".nh",
    ".ad",
}
# The width `man` lays the page out at when its output is not a terminal; fixed so that a
# warning about a line that cannot be broken does not depend on who runs the test.
MAN_WIDTH = "80"
# Building imports typer and the app in a fresh interpreter: a second or two on a loaded host.
BUILD_TIMEOUT_S = 60
RENDER_TIMEOUT_S = 60


def build(out: Path) -> bytes:
    subprocess.run(
        [sys.executable, str(SCRIPT), str(out)], check=True, timeout=BUILD_TIMEOUT_S, cwd=REPO
    )
    return out.read_bytes()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("man") / "amzn-gd-doctor.1.gz"


@pytest.fixture(scope="module")
def page(built: Path) -> str:
    return gzip.decompress(build(built)).decode("ascii")


def esc(text: str) -> str:
    """A name as the page spells it: roff's minus, not a hyphen."""
    return text.replace("-", "\\-")


def commands() -> Iterator[Tuple[Tuple[str, ...], Any]]:
    """Every visible command and subcommand, read from the app as click sees it (attributes,
    not click's classes: newer typer vendors click under another name)."""
    import typer

    def walk(command: Any, path: Tuple[str, ...]) -> Iterator[Tuple[Tuple[str, ...], Any]]:
        for name, sub in getattr(command, "commands", {}).items():
            if not getattr(sub, "hidden", False):
                yield (*path, name), sub
                yield from walk(sub, (*path, name))

    root = typer.main.get_command(build_app())
    yield (), root
    yield from walk(root, ())


def test_walk_reaches_a_subcommand() -> None:
    paths = [path for path, _ in commands()]
    assert any(len(path) > 1 for path in paths), paths


def test_every_command_has_a_section(page: str) -> None:
    lines = page.splitlines()
    missing = [
        " ".join(path)
        for path, _ in commands()
        if path and f".SS {esc(' '.join(path))}" not in lines
    ]
    assert not missing


def test_every_option_name_appears(page: str) -> None:
    missing = [
        (" ".join(path) or "amzn-gd-doctor", name)
        for path, command in commands()
        for param in command.params
        if param.param_type_name == "option" and not getattr(param, "hidden", False)
        for name in [*param.opts, *param.secondary_opts]
        if f"\\fB{esc(name)}\\fR" not in page
    ]
    assert not missing


def test_every_argument_appears(page: str) -> None:
    missing = [
        (" ".join(path), param.name)
        for path, command in commands()
        for param in command.params
        if param.param_type_name == "argument"
        and f"\\fI{esc(param.metavar or param.name.upper())}\\fR" not in page
    ]
    assert not missing


def test_sections_in_order(page: str) -> None:
    headings = [line[4:].strip('"') for line in page.splitlines() if line.startswith(".SH ")]
    present = [h for h in headings if h in SECTIONS]
    assert present == list(SECTIONS), headings


def test_markup_is_rendered_not_printed(page: str) -> None:
    assert "`" not in page
    assert "**" not in page
    # check's help says "written by `collect`": a backticked word becomes bold.
    assert "written by \\fBcollect\\fR" in page


def test_roff_escapes(page: str) -> None:
    requests = [line.split()[0] for line in page.splitlines() if line.startswith((".", "'"))]
    assert set(requests) <= REQUESTS, "a help line starting with a dot must be escaped"
    assert re.search(r"(?<!\\)-", page) is None, "a bare hyphen may be set as a typographic one"
    assert all(ord(ch) < 128 for ch in page)


def test_exit_status_matches_the_code(page: str) -> None:
    from amzn_gd_doctor.model import ExitCode

    status = page.split(".SH EXIT STATUS", 1)[1].split(".SH ", 1)[0]
    for code in ExitCode:
        assert f".TP\n\\fB{int(code)}\\fR\n" in status, code


def test_two_builds_give_the_same_bytes(built: Path, page: str, tmp_path: Path) -> None:
    again = build(tmp_path / "again.1.gz")
    assert again == built.read_bytes()
    assert again[4:8] == b"\0\0\0\0", "gzip mtime must be 0"


def renderer(path: Path) -> Tuple[List[str], Optional[bytes]]:
    """The formatter to check the page with, and its standard input: man-db's `man`, which
    reads the .gz as packaged; else groff on the plain page."""
    if shutil.which("man"):
        return ["man", "--warnings", "-l", str(path)], None
    if shutil.which("groff"):
        page = gzip.decompress(path.read_bytes())
        # -P-cbou: plain characters, without grotty's overstrike for bold and underline.
        return ["groff", "-man", "-Tutf8", "-ww", f"-rLL={MAN_WIDTH}n", "-P-cbou"], page
    pytest.skip("no man page formatter: neither man (Debian man-db) nor groff (groff-base)")


def test_renders_without_warnings(built: Path, page: str) -> None:
    argv, stdin = renderer(built)
    env = {**os.environ, "MANWIDTH": MAN_WIDTH, "LC_ALL": "C.UTF-8", "MANPAGER": "cat"}
    env.pop("MAN_KEEP_FORMATTING", None)
    done = subprocess.run(
        argv, input=stdin, capture_output=True, env=env, timeout=RENDER_TIMEOUT_S, check=False
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    assert done.stderr == b""
    text = done.stdout.decode("utf-8")
    assert "fleet summarize" in text
    assert "EXIT STATUS" in text
    assert "`" not in text
