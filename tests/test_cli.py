"""The command line as operators use it: version, help, usage errors, explain/list, output
file, colour, and the JSON report validated against the shipped JSON Schema."""

from __future__ import annotations

import json
import os
import subprocess
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
from support import (
    REPO,
    ROOTS,
    ImdsServer,
    doctor_argv,
    doctor_env,
    null_device,
    read_fifo_in_background,
    run_cli,
)

from amzn_gd_doctor import __version__, catalog

pytestmark = pytest.mark.corpus
ROOT = str(ROOTS / "al2023-6.1")


def schema() -> dict:
    text = resources.files("amzn_gd_doctor").joinpath("schema/report-v1.json").read_text()
    return dict(json.loads(text))


def test_version() -> None:
    result = run_cli("--version")
    assert (result.returncode, result.stdout) == (0, f"amzn-gd-doctor {__version__}\n")


def test_help_lists_commands_and_exit_codes() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    for word in ("check", "explain", "list", "Exit codes: 0 healthy, 1 unhealthy"):
        assert word in result.stdout


def test_check_help_lists_options() -> None:
    out = run_cli("check", "--help").stdout
    for option in (
        "--format",
        "--deadline",
        "--root",
        "--imds-endpoint",
        "--region",
        "--dns-server",
        "--endpoint-port",
        "--output",
        "--no-color",
        "--verbose",
    ):
        assert option in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--deadline", "0"), "must be more than 0 and at most 300 seconds"),
        (("--deadline", "abc"), "Invalid value for '--deadline'"),
        (("--imds-endpoint", "169.254.169.254"), "expected a base URL"),
        (("--root", "/no/such/dir"), "does not exist"),
        (("--region", "mars"), "expected a region name"),
        (("--dns-server", "dns.example"), "expected an IP address"),
        (("--endpoint-port", "70000"), "Invalid value for '--endpoint-port'"),
        (("--format", "yaml"), "yaml"),
        (("--bogus",), "No such option"),
    ],
)
def test_usage_errors_exit_2(args: tuple, message: str) -> None:
    result = run_cli(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_default_command_is_check() -> None:
    plain = run_cli("--root", ROOT, "-f", "json").json()
    explicit = run_cli("check", "--root", ROOT, "-f", "json").json()
    assert [c["id"] for c in plain["checks"]] == [c["id"] for c in explicit["checks"]]


def test_json_report_validates_against_schema(imds_server: ImdsServer) -> None:
    imds_server.tags = {"GuardDutyManaged": "false"}
    result = run_cli(
        "check", "--root", ROOT, "--imds-endpoint", imds_server.url, "-f", "json", env=doctor_env()
    )
    report = result.json()
    jsonschema.validate(report, schema())
    assert report["exit_code"] == result.returncode == 1
    assert report["verdict"]["code"] == "exclusion_tag"
    # The timeline adds up: probes and rules are inside the run's elapsed time, and start-up
    # (imports and argument handling) came before it, within this process's lifetime.
    timing = report["timing"]
    assert timing["probes_ms"] + timing["rules_ms"] <= report["elapsed_ms"] + 1
    assert timing["probes_ms"] > 0
    assert timing["startup_ms"] + report["elapsed_ms"] <= result.elapsed * 1000


def test_json_report_validates_when_undecided() -> None:
    result = run_cli("check", "--root", ROOT, "-f", "json")
    jsonschema.validate(result.json(), schema())


def test_output_file_is_written_whole(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    result = run_cli("check", "--root", ROOT, "-f", "json", "-o", str(target))
    assert result.stdout == ""
    data = json.loads(target.read_text())
    assert data["exit_code"] == result.returncode
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_output_to_a_device_or_fifo_is_written_into_not_replaced(tmp_path: Path) -> None:
    """`-o /dev/null` or `-o /dev/stdout` writes into the device: replacing it with a file
    would break the machine the doctor runs on."""
    import stat

    null = null_device(tmp_path / "null")
    result = run_cli("check", "--root", ROOT, "-f", "json", "-o", str(null))
    assert (result.stdout, result.returncode) == ("", 3)
    assert stat.S_ISCHR(os.stat(null).st_mode)
    fifo = tmp_path / "fifo"
    written = read_fifo_in_background(fifo)
    result = run_cli("check", "--root", ROOT, "-f", "json", "-o", str(fifo))
    assert json.loads(written())["exit_code"] == result.returncode == 3
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert sorted(os.listdir(tmp_path)) == ["fifo", "null"]  # no temporary file beside them


def test_output_directory_must_exist(tmp_path: Path) -> None:
    result = run_cli("check", "--root", ROOT, "-o", str(tmp_path / "missing" / "r.json"))
    assert result.returncode == 2
    assert "does not exist" in result.stderr


def test_no_colour_when_not_a_terminal() -> None:
    assert "\x1b[" not in run_cli("check", "--root", ROOT).stdout


def test_verbose_shows_facts_and_evidence() -> None:
    out = run_cli("check", "--root", ROOT, "-v").stdout
    assert "\nFacts\n" in out and "  platform.kernel: ok, " in out


def test_explain_by_code_type_or_message() -> None:
    by_code = run_cli("explain", "kernel_too_high")
    assert by_code.returncode == 0
    assert by_code.stdout.splitlines()[:3] == [
        "kernel_too_high",
        "  Issue type:    Agent Not Provisioned",
        '  Issue message: "Kernel version is higher than the supported version."',
    ]
    by_message = run_cli("explain", "Kernel version is higher than the supported version.")
    assert by_message.stdout == by_code.stdout
    alias = run_cli("explain", "SSM Association Update Failed")
    assert alias.stdout.startswith("ssm_association_update_missing\n")


def test_explain_unknown_and_ambiguous_exit_2() -> None:
    unknown = run_cli("explain", "no-such-thing")
    assert unknown.returncode == 2 and "no console issue matches 'no-such-thing'" in unknown.stderr
    ambiguous = run_cli("explain", "kernel")
    assert ambiguous.returncode == 2
    assert (
        "matches 3 issues: kernel_too_low, kernel_too_high, bottlerocket_release_unsupported"
        in ambiguous.stderr
    )


def test_list_shows_every_issue_in_order() -> None:
    out = run_cli("list").stdout
    codes = [
        line.split()[0] for line in out.splitlines()[1:] if line and not line.startswith("Scope")
    ]
    assert codes == list(catalog.issues())
    as_json = json.loads(run_cli("list", "-f", "json").stdout)
    assert [i["code"] for i in as_json] == codes
    assert (
        as_json[0]["issue_message"]
        == "Instances with exclusion tags are excluded from Runtime Monitoring."
    )


@pytest.mark.parametrize(
    ("tree", "expected"),
    [
        (
            "al2-4.14",
            'amzn-gd-doctor: UNHEALTHY | Agent Not Provisioned | "Kernel version is lower than '
            'the supported version." | confirmed | instance id unknown',
        ),
        (
            "ssm-healthy",
            'amzn-gd-doctor: UNHEALTHY | No Agent Reporting | "" | likely | instance id unknown',
        ),
        (
            "al2023-6.1",
            "amzn-gd-doctor: UNKNOWN | could not decide: {undecided} checks inconclusive | "
            "instance id unknown",
        ),
    ],
)
def test_summary_line_opens_the_text_report(tree: str, expected: str) -> None:
    """{undecided} is the number of checks the JSON report of the same run leaves undecided
    (inconclusive or crashed), however many checks the areas hold."""
    args = ("check", "--root", str(ROOTS / tree), "--dns-server", "127.0.0.1:9")
    summary = run_cli(*args, "--format", "summary")
    text = run_cli(*args)
    if "{undecided}" in expected:
        checks = run_cli(*args, "--format", "json").json()["checks"]
        undecided = [c for c in checks if c["outcome"] in ("inconclusive", "crash")]  # type: ignore[union-attr]
        assert len(undecided) > 1
        expected = expected.format(undecided=len(undecided))
    assert summary.stdout == expected + "\n"
    assert summary.returncode == text.returncode
    assert text.stdout.splitlines()[0] == expected


def test_summary_line_names_the_instance_and_healthy(imds_server: ImdsServer) -> None:
    env = doctor_env(AWS_METADATA_SERVICE_TIMEOUT="0.5")
    root = str(ROOTS / "agent-healthy")
    out = run_cli(
        "check", "-f", "summary", "--root", root, "--imds-endpoint", imds_server.url, env=env
    )
    assert out.stdout.startswith("amzn-gd-doctor: ") and out.stdout.endswith(
        " | i-0123456789abcdef0\n"
    )


@pytest.mark.parametrize("args", [["--version"], ["list"], ["explain", "kernel_too_low"]])
def test_reader_that_goes_away_gets_no_traceback(args: list) -> None:
    """`amzn-gd-doctor ... | head -0`: the pipe is closed before the doctor writes."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run(
            [*doctor_argv(), *args],
            stdout=write_end,
            stderr=subprocess.PIPE,
            env=doctor_env(AWS_EC2_METADATA_DISABLED="true"),
            cwd=str(REPO),
            timeout=60,
        )
    finally:
        os.close(write_end)
    assert (proc.returncode, proc.stderr) == (1, b"")
