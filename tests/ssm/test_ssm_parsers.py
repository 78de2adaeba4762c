"""Parsers of the SSM probes over captured outputs in fixtures/ssm/, one file per variant."""

from __future__ import annotations

import pytest

from amzn_gd_doctor.probes.ssm_agent import parse_systemctl_show
from amzn_gd_doctor.probes.ssm_association import parse_document_state, parse_instance_document
from amzn_gd_doctor.probes.ssm_common import parse_state_json
from amzn_gd_doctor.probes.ssm_logs import parse_log
from amzn_gd_doctor.probes.ssm_packages import (
    parse_dpkg_query,
    parse_dpkg_status,
    parse_rpm_q,
    parse_snap_version,
)
from amzn_gd_doctor.probes.ssm_state import parse_installstate, parse_registration
from amzn_gd_doctor.sanitize import clean

from .conftest import SSM_ROOTS


def printable(text: str) -> bool:
    return all(ch.isprintable() for ch in text)


@pytest.mark.parametrize(
    "name, expected",
    [
        (
            "active.txt",
            {"ActiveState": "active", "SubState": "running", "UnitFileState": "enabled"},
        ),
        ("inactive-disabled.txt", {"ActiveState": "inactive", "UnitFileState": "disabled"}),
        (
            "failed-exit-code.txt",
            {"ActiveState": "failed", "Result": "exit-code", "NRestarts": "5"},
        ),
        ("not-found.txt", {"LoadState": "not-found", "UnitFileState": ""}),
        ("masked.txt", {"LoadState": "masked", "UnitFileState": "masked"}),
        ("snap-active.txt", {"ActiveState": "active"}),
    ],
)
def test_parse_systemctl_show(ssm_fixture, name, expected) -> None:
    props = parse_systemctl_show(ssm_fixture(f"systemctl/{name}"))
    assert {k: props[k] for k in expected} == expected
    assert set(props) == {
        "LoadState",
        "ActiveState",
        "SubState",
        "Result",
        "NRestarts",
        "UnitFileState",
    }


def test_parse_systemctl_show_hostile_output_is_printable(ssm_fixture) -> None:
    props = parse_systemctl_show(ssm_fixture("systemctl/hostile.txt"))
    assert props["Result"] == "success"  # the colour escape is dropped, not echoed
    assert props["ActiveState"] == "active\\x07"
    assert all(printable(v) for v in props.values())


@pytest.mark.parametrize(
    "name, expected",
    [
        ("installed.txt", (True, "3.3.1142.0-1")),
        ("config-files.txt", (False, None)),
        ("half-configured.txt", (False, None)),
        ("not-installed.txt", (False, None)),
        ("captured-bash-installed.txt", (True, None)),  # real dpkg-query output, version varies
    ],
)
def test_parse_dpkg_query(ssm_fixture, name, expected) -> None:
    installed, version = parse_dpkg_query(ssm_fixture(f"dpkg/{name}"))
    assert installed is expected[0]
    if expected[1] is not None or not installed:
        assert version == expected[1]
    else:
        assert version  # whatever version this machine's bash had


@pytest.mark.parametrize(
    "name, expected",
    [
        ("installed-rc0.txt", (True, "3.3.1142.0-1")),
        ("installed-al2023-arm-rc0.txt", (True, "3.3.1802.0-1.amzn2023")),
        ("not-installed-rc1.txt", (False, None)),
    ],
)
def test_parse_rpm_q(ssm_fixture, name, expected) -> None:
    rc = int(name.rsplit("-rc", 1)[1].split(".")[0])
    assert parse_rpm_q(rc, ssm_fixture(f"rpm/{name}")) == expected


@pytest.mark.parametrize(
    "tree, expected",
    [
        ("ssm-association-failed", (True, "3.3.1142.0-1")),
        ("ssm-not-installed", (False, None)),  # removed, config files left
    ],
)
def test_parse_dpkg_status(tree, expected) -> None:
    assert parse_dpkg_status((SSM_ROOTS / tree / "var/lib/dpkg/status").read_bytes()) == expected


def test_parse_snap_version() -> None:
    meta = (SSM_ROOTS / "ssm-snap/snap/amazon-ssm-agent/9881/meta/snap.yaml").read_bytes()
    assert parse_snap_version(meta) == "3.3.1142.0"
    assert parse_snap_version(b"name: x\n") is None


@pytest.mark.parametrize(
    "name, state, state_name, problem",
    [
        ("installed.json", 8, "Installed", None),
        ("failed.json", 2, "Failed", None),
        ("installing.json", 7, "Installing", None),
        ("rollback-install.json", 10, "RollbackInstall", None),
        ("uninstalled.json", 4, "Uninstalled", None),
        ("unknown-state-42.json", 42, "unknown state 42", None),
        ("string-state.json", None, "", "has no numeric state ('Installed')"),
        ("array.json", None, "", "is not a JSON object"),
    ],
)
def test_parse_installstate(ssm_fixture, name, state, state_name, problem) -> None:
    doc, error = parse_state_json(ssm_fixture(f"installstate/{name}"))
    assert error is None
    parsed = parse_installstate(doc)
    assert (parsed.state, parsed.state_name, parsed.problem) == (state, state_name, problem)
    assert parsed.failed is (state_name in ("Failed", "RollbackInstall"))


def test_parse_installstate_fields(ssm_fixture) -> None:
    doc, _ = parse_state_json(ssm_fixture("installstate/failed.json"))
    parsed = parse_installstate(doc)
    assert (parsed.version, parsed.last_installed_version, parsed.time, parsed.retry_count) == (
        "1.9.2",
        None,
        "2025-03-05T14:25:01.5Z",
        3,
    )


@pytest.mark.parametrize(
    "name, reason",
    [
        ("corrupt-prefix.json", "not valid JSON (Expecting value: line 1 column 1 (char 0))"),
        ("truncated.json", "not valid JSON (Expecting value: line 1 column 35 (char 34))"),
        ("binary.bin", "not UTF-8 text"),
    ],
)
def test_malformed_installstate(ssm_fixture, name, reason) -> None:
    assert parse_state_json(ssm_fixture(f"installstate/{name}")) == (None, reason)


def test_installstate_with_escapes_is_made_printable(ssm_fixture) -> None:
    doc, _ = parse_state_json(ssm_fixture("installstate/escapes.json"))
    parsed = parse_installstate(doc)
    assert parsed.version == "1.9.2" and parsed.retry_count == 0  # true is not a count


def test_oversize_state_json_is_refused() -> None:
    data = b'{"state": 8, "pad": "' + b"x" * (1024 * 1024) + b'"}'
    assert parse_state_json(data) == (None, "larger than 1024 KiB, not an SSM state file")


def test_deeply_nested_json_is_refused() -> None:
    doc, reason = parse_state_json(b"[" * 100000 + b"]" * 100000)
    assert doc is None and reason == "JSON nested too deeply"


@pytest.mark.parametrize(
    "doc, expected",
    [
        (
            {"ManagedInstanceID": "mi-0abc12345def67890", "Region": "eu-west-1"},
            ("mi-0abc12345def67890", "eu-west-1"),
        ),
        ({"ManagedInstanceID": ""}, (None, None)),
        ({"ManagedInstanceID": 7, "Region": ["x"]}, (None, None)),
        ("mi-0abc", (None, None)),
    ],
)
def test_parse_registration(doc, expected) -> None:
    assert parse_registration(doc) == expected


def test_parse_log_healthy(ssm_fixture) -> None:
    tally = parse_log(ssm_fixture("logs/healthy.log"))
    assert (tally.counts, tally.causes) == ({"association_run": 1, "guardduty": 1}, ())


def test_parse_log_credentials_are_named_causes(ssm_fixture) -> None:
    tally = parse_log(ssm_fixture("logs/credentials.log"))
    assert tally.counts == {}
    assert [(c.cause, c.entries) for c in tally.causes] == [
        ("no_instance_profile", 1),
        ("dhmc_off", 2),
    ]
    assert (
        tally.causes[1]
        .lines[-1]
        .startswith(
            "2025-03-05 14:10:29 ERROR [CredentialRefresher] Retrieve credentials produced error"
        )
    )


def test_parse_log_credentials_without_a_cause() -> None:
    data = (
        b"2025-03-05 14:10:29 ERROR [CredentialRefresher] Retrieve credentials produced error: "
        b"NoCredentialProviders: no valid providers in chain\n"
    )
    tally = parse_log(data)
    assert (tally.counts, tally.causes) == ({"credentials": 1}, ())


def test_parse_log_fingerprint(ssm_fixture) -> None:
    tally = parse_log(ssm_fixture("logs/errors-fingerprint.log"))
    assert tally.counts == {"associations_unavailable": 2}
    assert "Unable to load instance associations" in tally.lines["associations_unavailable"][0]
    assert len(tally.lines["associations_unavailable"][0]) == 240  # cut to the excerpt bound


def test_parse_log_guardduty_failure(ssm_fixture) -> None:
    tally = parse_log(ssm_fixture("logs/guardduty-failed.log"))
    assert tally.counts == {"association_run": 1, "guardduty": 2, "guardduty_failure": 1}
    assert "Failed to install package" in tally.lines["guardduty_failure"][0]


def test_parse_log_hostile_bytes_never_echo_raw(ssm_fixture) -> None:
    tally = parse_log(ssm_fixture("logs/hostile.log"))
    assert tally.counts["registration"] == 1
    kept = [line for bucket in tally.lines.values() for line in bucket]
    kept += [line for cause in tally.causes for line in cause.lines]
    assert kept and all(printable(line) and "\x1b" not in line for line in kept)
    assert tally.causes[0].lines == (
        "2025-03-05 14:10:29 ERROR Health ping failed with error"
        " - EC2RoleRequestError: no EC2 instance role found",
    )


def test_parse_log_tail_drops_partial_first_line() -> None:
    tally = parse_log(b"ciations, x\n2025-03-05 14:10:29 ERROR boom\n", truncated=True)
    assert tally.counts == {"error": 1}


def test_parse_log_keeps_latest_lines_only() -> None:
    data = b"".join(b"2025-03-05 14:10:%02d ERROR n%d\n" % (i, i) for i in range(50))
    tally = parse_log(data)
    assert tally.counts == {"error": 50}
    assert [line[-3:] for line in tally.lines["error"]] == ["n47", "n48", "n49"]


@pytest.mark.parametrize(
    "name, document, status, failed",
    [
        ("gd-failed.json", "AmazonGuardDuty-ConfigureRuntimeMonitoringSsmPlugin", "Failed", True),
        (
            "gd-inprogress.json",
            "AmazonGuardDuty-ConfigureRuntimeMonitoringSsmPlugin",
            "InProgress",
            False,
        ),
        ("other-failed.json", "AWS-GatherSoftwareInventory", "Failed", True),
    ],
)
def test_parse_document_state(ssm_fixture, name, document, status, failed) -> None:
    doc, _ = parse_state_json(ssm_fixture(f"documents/{name}"))
    run = parse_document_state(doc, "current", name)
    assert run is not None
    assert (run.document, run.status, run.failed) == (document, status, failed)


def test_parse_document_state_failure_output(ssm_fixture) -> None:
    doc, _ = parse_state_json(ssm_fixture("documents/gd-failed.json"))
    run = parse_document_state(doc, "current", "x")
    assert run is not None and run.association_id == "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"
    assert run.plugin_failures == (
        "aws:configurePackage: Failed (code 1): Initiating AmazonGuardDuty-RuntimeMonitoring"
        "SsmPlugin 1.9.2 install | Plugin aws:runShellScript ResultStatus Failed | unsupported "
        "kernel: 4.14.355-284.742.amzn2.x86_64 | Failed to install package; install status Failed",
    )


def test_parse_document_state_rejects_other_json(ssm_fixture) -> None:
    doc, _ = parse_state_json(ssm_fixture("documents/not-a-state.json"))
    assert parse_document_state(doc, "current", "x") is None
    assert parse_document_state([1, 2], "current", "x") is None


def test_corrupt_folder_counts_as_failed(ssm_fixture) -> None:
    doc, _ = parse_state_json(ssm_fixture("documents/gd-inprogress.json"))
    run = parse_document_state(doc, "corrupt", "x")
    assert run is not None and run.failed


@pytest.mark.parametrize(
    "name, expected",
    [
        ("instance-document.json", "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"),
        ("instance-document-old.json", "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"),
        ("not-a-state.json", None),
    ],
)
def test_parse_instance_document(ssm_fixture, name, expected) -> None:
    doc, _ = parse_state_json(ssm_fixture(f"documents/{name}"))
    assert parse_instance_document(doc) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("plain", "plain"),
        ("\x1b[31mred\x1b[0m", "red"),
        ("title\x1b]0;pwned\x07 after", "title after"),
        ("bell\x07nul\x00", "bell\\x07nul\\x00"),
        ("x" * 300, "x" * 237 + "..."),
    ],
)
def test_clean(text, expected) -> None:
    assert clean(text) == expected
