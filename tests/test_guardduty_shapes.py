"""`check --format coverage|eventbridge`: GuardDuty's own shapes for one instance, validated
against botocore's guardduty service model (names, enums, types, required members) and, for
the EventBridge envelope, against the shared reference (section 7)."""

from __future__ import annotations

import datetime
import json
import re
from typing import Any

import pytest
from support import ROOTS, ImdsServer, check_golden, doctor_env, run_cli

from amzn_gd_doctor.model import (
    Confidence,
    CoverageStatus,
    Diagnosis,
    HostSummary,
    Issue,
    Report,
)
from amzn_gd_doctor.render import guardduty

botocore_loaders = pytest.importorskip(
    "botocore.loaders", reason="botocore is not installed (its guardduty model is the authority)"
)
MODEL = botocore_loaders.Loader().load_service_model("guardduty", "service-2")
SHAPES = MODEL["shapes"]
PROTOCOL_TIMESTAMP = {"rest-json": "unixTimestamp", "json": "unixTimestamp"}[
    MODEL["metadata"]["protocol"]
]
NOW = 1796116800.75  # 2026-12-01T09:20:00.75Z


def _wire(name: str, member: dict[str, Any]) -> str:
    return member.get("jsonName") or member.get("locationName") or name


def validate(value: Any, shape_name: str, path: str = "$") -> None:
    """Fail unless ``value`` is a valid wire (JSON) value of the model's shape."""
    shape = SHAPES[shape_name]
    kind = shape["type"]
    if kind == "structure":
        assert isinstance(value, dict), f"{path}: {shape_name} must be an object"
        members = {_wire(name, m): m for name, m in shape["members"].items()}
        unknown = set(value) - set(members)
        assert not unknown, f"{path}: not members of {shape_name}: {sorted(unknown)}"
        for name in shape.get("required", []):
            wire = _wire(name, shape["members"][name])
            assert wire in value, f"{path}: {shape_name} requires {wire}"
        for key, item in value.items():
            validate(item, members[key]["shape"], f"{path}.{key}")
    elif kind == "list":
        assert isinstance(value, list), f"{path}: {shape_name} must be a list"
        for n, item in enumerate(value):
            validate(item, shape["member"]["shape"], f"{path}[{n}]")
    elif kind == "string":
        assert isinstance(value, str), f"{path}: {shape_name} must be a string"
        if "enum" in shape:
            assert value in shape["enum"], f"{path}: {value!r} not in {shape_name} {shape['enum']}"
        assert len(value) >= shape.get("min", 0), f"{path}: shorter than {shape_name} allows"
        assert len(value) <= shape.get("max", len(value)), f"{path}: longer than {shape_name}"
    elif kind in ("integer", "long"):
        assert isinstance(value, int) and not isinstance(value, bool), f"{path}: not an integer"
    elif kind == "boolean":
        assert isinstance(value, bool), f"{path}: not a boolean"
    elif kind == "timestamp":
        fmt = shape.get("timestampFormat", PROTOCOL_TIMESTAMP)
        assert fmt == "unixTimestamp", f"{path}: {fmt} timestamps are not checked here"
        assert isinstance(value, (int, float)) and not isinstance(value, bool), (
            f"{path}: a {fmt} timestamp is a number of seconds"
        )
    else:
        raise AssertionError(f"{path}: shape type {kind} not handled by this validator")


# The event's detail mirrors API shapes member by member (reference, section 7).
DETAIL_SHAPES = {
    "resourceAccountId": "AccountId",
    "currentStatus": "CoverageStatus",
    "previousStatus": "CoverageStatus",
    "resourceDetails": "CoverageResourceDetails",
    "issue": "String",
}
DETAIL_KEYS = {"schemaVersion", "lastUpdatedAt", *DETAIL_SHAPES}
ENVELOPE_KEYS = {"version", "id", "detail-type", "source", "account", "time", "region"}
ENVELOPE_KEYS |= {"resources", "detail"}
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def validate_event(event: dict[str, Any]) -> None:
    assert set(event) == ENVELOPE_KEYS
    assert event["source"] == "aws.guardduty"
    assert event["version"] == "0" and event["resources"] == []
    assert ISO_UTC.match(event["time"])
    detail = event["detail"]
    expected_type = f"GuardDuty Runtime Protection {detail['currentStatus'].capitalize()}"
    assert event["detail-type"] == expected_type
    assert set(detail) <= DETAIL_KEYS
    assert {"schemaVersion", "currentStatus", "resourceDetails", "lastUpdatedAt"} <= set(detail)
    assert detail["schemaVersion"] == "1.0"
    assert detail["lastUpdatedAt"] == event["time"]
    for key, shape in DETAIL_SHAPES.items():
        if key in detail:
            validate(detail[key], shape, f"$.detail.{key}")
    assert detail["resourceDetails"]["resourceType"] == "EC2"


def test_validator_rejects_what_the_model_does_not_allow() -> None:
    good = {"resourceId": "i-1", "coverageStatus": "HEALTHY", "updatedAt": 1}
    validate(good, "CoverageResource")
    bad = [
        ({**good, "coverageStatus": "UNKNOWN"}, "not in CoverageStatus"),
        ({**good, "ResourceId": "i-1"}, "not members of CoverageResource"),
        ({**good, "updatedAt": "2026-12-01T00:00:00Z"}, "a number of seconds"),
        ({**good, "resourceDetails": {"resourceType": "VM"}}, "not in ResourceType"),
        (
            {**good, "resourceDetails": {"ec2InstanceDetails": {"instanceId": 5}}},
            "must be a string",
        ),
    ]
    for value, message in bad:
        with pytest.raises(AssertionError, match=message):
            validate(value, "CoverageResource")
    # No coverage shape requires a member; AccountDetail does (accountId and email).
    with pytest.raises(AssertionError, match="AccountDetail requires accountId"):
        validate({"email": "a@example.com"}, "AccountDetail")


def _report(status: CoverageStatus, **host: Any) -> Report:
    issue = Issue(
        code="exclusion_tag",
        issue_type="Agent Not Provisioned",
        issue_message="Instances with exclusion tags are excluded from Runtime Monitoring.",
        scope="host",
        precedence=10,
        severity="error",
        summary="s",
        remediation=(),
        doc_url="https://docs.aws.amazon.com/guardduty/latest/ug/gdu-assess-coverage-ec2.html",
    )
    diagnosis = Diagnosis(issue, Confidence.CONFIRMED, "s", (), (), ())
    unhealthy = status is CoverageStatus.UNHEALTHY
    return Report(
        tool_version="0",
        coverage_status=status,
        primary=diagnosis if unhealthy else None,
        diagnoses=(diagnosis,) if unhealthy else (),
        findings=(),
        facts=(),
        host=HostSummary(**host),
        incomplete=(),
        elapsed_ms=0,
        deadline_s=30.0,
    )


HOST = dict(
    instance_id="i-0123456789abcdef0",
    account_id="123456789012",
    region="eu-west-3",
    instance_type="m7g.large",
    agent_version="1.9.2",
)


def test_coverage_resource_of_an_unhealthy_instance() -> None:
    resource = guardduty.coverage_resource(_report(CoverageStatus.UNHEALTHY, **HOST), NOW)
    validate(resource, "CoverageResource")
    assert resource == {
        "resourceId": "i-0123456789abcdef0",
        "accountId": "123456789012",
        "resourceDetails": {
            "resourceType": "EC2",
            "ec2InstanceDetails": {
                "instanceId": "i-0123456789abcdef0",
                "instanceType": "m7g.large",
                "agentDetails": {"version": "1.9.2"},
            },
        },
        "coverageStatus": "UNHEALTHY",
        "issue": "Agent Not Provisioned",
        "updatedAt": 1796116800,
    }


def test_event_of_a_healthy_instance() -> None:
    event = guardduty.event(_report(CoverageStatus.HEALTHY, **HOST), NOW)
    validate_event(event)
    assert event["detail-type"] == "GuardDuty Runtime Protection Healthy"
    assert event["time"] == "2026-12-01T09:20:00Z"
    assert (event["account"], event["region"]) == ("123456789012", "eu-west-3")
    assert event["detail"]["currentStatus"] == "HEALTHY"
    assert event["detail"]["previousStatus"] == "UNHEALTHY"
    assert "issue" not in event["detail"]
    # One run, one event: the same report and time give the same id.
    assert guardduty.event(_report(CoverageStatus.HEALTHY, **HOST), NOW)["id"] == event["id"]


def test_undecided_report_has_no_status_and_no_event() -> None:
    report = _report(CoverageStatus.UNKNOWN)
    resource = guardduty.coverage_resource(report, NOW)
    validate(resource, "CoverageResource")
    assert resource == {
        "resourceDetails": {"resourceType": "EC2"},
        "updatedAt": 1796116800,
    }
    with pytest.raises(guardduty.NoEvent, match="^no EventBridge event: the coverage status"):
        guardduty.event(report, NOW)


def _normalise(text: str) -> str:
    """The run's time varies; everything else must match."""
    data = json.loads(text)
    if "updatedAt" in data:
        data["updatedAt"] = 0
    if "detail" in data:
        data["id"] = data["time"] = data["detail"]["lastUpdatedAt"] = "T"
    return json.dumps(data, indent=2) + "\n"


@pytest.mark.parametrize("fmt", ["coverage", "eventbridge"])
@pytest.mark.parametrize(
    ("root", "tags", "code"),
    # An exclusion tag makes any tree UNHEALTHY; agent-healthy has an agent package (a
    # version), al2023-6.1 none.
    [
        ("agent-healthy", {"GuardDutyManaged": "false"}, 1),
        ("al2023-6.1", {"GuardDutyManaged": "false"}, 1),
    ],
)
def test_cli_formats_golden(
    request: pytest.FixtureRequest,
    imds_server: ImdsServer,
    fmt: str,
    root: str,
    tags: dict[str, str],
    code: int,
) -> None:
    imds_server.tags = tags
    began = datetime.datetime.now(datetime.timezone.utc).timestamp()
    result = run_cli(
        "check",
        "--root",
        str(ROOTS / root),
        "--imds-endpoint",
        imds_server.url,
        "-f",
        fmt,
        env=doctor_env(),
    )
    assert result.returncode == code, result.stderr
    data = json.loads(result.stdout)
    if fmt == "coverage":
        validate(data, "CoverageResource")
        assert began - 1 <= data["updatedAt"] <= began + 60
    else:
        validate_event(data)
    check_golden(request, f"guardduty/{root}.{fmt}.json", _normalise(result.stdout))


def test_cli_eventbridge_undecided_says_why_and_exits_undecided() -> None:
    result = run_cli("check", "--root", str(ROOTS / "al2023-6.1"), "-f", "eventbridge")
    assert result.returncode == 3
    assert result.stdout == ""
    assert result.stderr.startswith("no EventBridge event: the coverage status is undecided")
