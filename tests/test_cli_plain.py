"""`check` given only plain options runs without typer (cli_app.plain_check), and does what the
same `check` through typer does.

- The parser, against typer's own (tests/plain_vs_typer.py): every argument list of up to
  three words from a vocabulary of options and values, right and wrong, is given to plain_check
  and to click's parser of the app's real `check` command. What plain_check takes, typer takes
  too, with the same values and every other option at its default; what typer refuses,
  plain_check leaves to typer. In the suite with this checkout's typer, and against each
  pip-installed package with the typer pip chose for its interpreter.
- The run, in a network namespace of the test's own (`unshare -n`, loopback only): a live
  `check` with plain options imports neither typer nor click, and reports what the same
  options with `--endpoint-port 443` (the default, which only typer parses) report.
- Ctrl-C in the middle of a run (IMDS a loopback listener that never answers) ends both paths
  alike, with exit 130 and nothing written (cli.Terminated: without it, click 8.0 would print
  `Aborted!` and exit 1, and newer typer exit 130); a run started with SIGINT ignored (`nohup`)
  keeps ignoring it and finishes.

The runs use the doctor under test (AMZN_GD_DOCTOR_COMMAND: the installed package, the one
file), and read which modules it imported from PYTHONVERBOSE's lines, which every form writes.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Tuple

import plain_vs_typer
import pytest
from support import DOCTOR_COMMAND_ENV, doctor_argv, doctor_env

from amzn_gd_doctor import cli, cli_app

REPO = Path(__file__).resolve().parent.parent

# A module of typer or click named in PYTHONVERBOSE's lines: the interpreter's `import 'click'
# # ...`, or the one file's importer's `# amzn-gd-doctor: click from bytecode`.
TYPER_IMPORTED = re.compile(r"^(?:import '|# amzn-gd-doctor: )(typer|click)(?:[.' ]|$)", re.M)


def _assert_alike(result: Dict[str, Any]) -> None:
    assert result["mismatches"] == [], result
    # The corpus holds both kinds in number, so the comparison did not check next to nothing.
    assert result["taken"] > 300 and result["refused"] > 25000, result


def test_plain_check_takes_only_what_typer_takes_and_reads_it_alike() -> None:
    _assert_alike(plain_vs_typer.compare())


@pytest.mark.corpus
def test_plain_check_agrees_with_the_typer_a_pip_install_brings() -> None:
    """pip picks each interpreter's newest typer (0.9 on 3.6 to 0.28 on the newest): the
    comparison runs under the installed package's own interpreter, out of this checkout."""
    script = Path(os.environ.get(DOCTOR_COMMAND_ENV, "") or "/nonexistent")
    script = script if script.is_absolute() else REPO / script
    python = script.parent / "python"
    if not script.is_file() or not python.exists():
        pytest.skip(
            "the doctor under test is not a pip-installed package's console script (a venv's "
            "python beside it); the suite compares this checkout's typer in-process"
        )
    proc = subprocess.run(
        [str(python), str(REPO / "tests" / "plain_vs_typer.py")],
        cwd="/",
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    _assert_alike(json.loads(proc.stdout))


@pytest.mark.parametrize(
    "args",
    [
        ["--deadline", "301"],  # out of range: typer says so
        ["--deadline", "1e1"],  # typer reads it (10.0); plain_check leaves the reading to it
        ["--format", "json", "--format", "text"],  # given twice: typer takes the last
        ["--root", "/"],
        ["--output", "report.json"],
        ["--help"],
        ["collect"],
    ],
)
def test_anything_else_goes_to_typer(args: List[str]) -> None:
    assert cli_app.plain_check(cli._with_default_command(args)) is None


def test_the_completion_variable_goes_to_typer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("_AMZN_GD_DOCTOR_COMPLETE", "bash_complete")
    assert cli_app.plain_check(["check"]) is None


# -- the runs, in a network namespace of the test's own -------------------------------------
# Run in the namespace: loopback up, an IMDS that accepts connections and never answers (or
# none), then the doctor under test with each argument list, SIGINT sent once it has connected
# when asked (to a doctor started with SIGINT ignored, if so asked). Prints each run's exit
# code, output and standard error as JSON.
NAMESPACE_RUN = r"""
import json, os, select, signal, socket, subprocess, sys
subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
spec = json.loads(sys.argv[1])
ignore = (lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if spec["ignored"] else None
results = []
for args in spec["runs"]:
    env = dict(spec["env"])
    hole = None
    if spec["interrupt"]:
        hole = socket.socket()
        hole.bind(("127.0.0.1", 0))
        hole.listen(8)
        env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = "http://127.0.0.1:%d/" % hole.getsockname()[1]
        env["AWS_METADATA_SERVICE_TIMEOUT"] = "60"
    proc = subprocess.Popen(spec["argv"] + args, env=env, cwd=spec["cwd"], preexec_fn=ignore,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if hole is not None:
        # A connection waiting on the listener: the run is in its probes.
        ready, _, _ = select.select([hole], [], [], 60)
        assert ready, "the doctor never asked IMDS"
        proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    # PYTHONVERBOSE's lines come from threads importing at once, written to one text stream,
    # which may garble them (a stray byte, seen once under load): only module names are read.
    err = err.decode("utf-8", "replace")
    results.append({"rc": proc.returncode, "out": out.decode(), "err": err})
print(json.dumps(results))
"""


def _in_namespace(
    runs: List[List[str]], env: Dict[str, str], interrupt: bool, ignored: bool = False
) -> List[Dict]:
    for tool in ("unshare", "ip"):
        if shutil.which(tool) is None:
            pytest.skip(f"needs {tool} for a network namespace of the test's own")
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"unshare cannot make a network namespace here: {probe.stderr.strip()}")
    spec = {"runs": runs, "env": env, "interrupt": interrupt, "ignored": ignored,
            "argv": doctor_argv(), "cwd": str(REPO)}  # fmt: skip
    proc = subprocess.run(
        ["unshare", "-n", sys.executable, "-c", NAMESPACE_RUN, json.dumps(spec)],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr
    return list(json.loads(proc.stdout))


def _outline(report: Dict[str, Any]) -> Tuple[Any, ...]:
    """What a report says, without what differs from one run to the next (times, counts)."""
    checks = tuple((c["id"], c["outcome"]) for c in report["checks"])
    facts = tuple((f["id"], f["status"]) for f in report["facts"])
    return report["verdict"], report["exit_code"], checks, facts


@pytest.mark.corpus
def test_a_plain_live_check_imports_no_typer_and_reports_what_typer_s_path_reports() -> None:
    plain = ["check", "--no-color", "--format", "json", "--deadline", "20"]
    env = doctor_env(AWS_EC2_METADATA_DISABLED="true", PYTHONVERBOSE="1")
    fast, slow = _in_namespace([plain, plain + ["--endpoint-port", "443"]], env, False)
    assert TYPER_IMPORTED.search(fast["err"]) is None, "the plain check imported typer or click"
    assert TYPER_IMPORTED.search(slow["err"]) is not None  # the lines do name them when imported
    assert fast["rc"] == slow["rc"] and fast["rc"] in (0, 1, 3)
    assert _outline(json.loads(fast["out"])) == _outline(json.loads(slow["out"]))


@pytest.mark.corpus
def test_ctrl_c_ends_a_plain_check_as_it_ends_typer_s_with_130() -> None:
    plain = ["check", "--format", "json", "--deadline", "60"]
    fast, slow = _in_namespace([plain, plain + ["--endpoint-port", "443"]], doctor_env(), True)
    for run in (fast, slow):
        assert (run["rc"], run["out"], run["err"]) == (130, "", ""), run


@pytest.mark.corpus
def test_a_check_started_with_ctrl_c_ignored_ignores_it_and_finishes() -> None:
    plain = ["check", "--format", "json", "--deadline", "2"]
    runs = [plain, plain + ["--endpoint-port", "443"]]
    for run in _in_namespace(runs, doctor_env(), True, ignored=True):
        assert run["rc"] in (0, 1, 3), run
        report = json.loads(run["out"])
        assert report["deadline_s"] == 2.0 and report["exit_code"] == run["rc"]
