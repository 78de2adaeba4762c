"""GuardDuty's own shapes for this instance, from the report: the CoverageResource that
ListCoverage would return for it, and the EventBridge event "GuardDuty Runtime Protection
Unhealthy/Healthy" (shared reference, section 7; botocore's guardduty model is the authority for
names, enums and types).

Only what the report knows is filled in; a member the host cannot know is left out, never
guessed (every member of CoverageResource is optional in the model):
- detectorId: the detector belongs to the account and region, not to the instance;
- managementType: whether GuardDuty's SSM association or a person installed the agent is
  recorded in the account (the package looks the same);
- clusterArn: only ECS container instances have one, and the host does not ask ECS.
``issue`` is the console's issue type: its message can hold account-side values (a VPC id,
a request id) that the host does not see.
"""

import datetime
import json
import uuid
from typing import Any, Dict

from ..model import CoverageStatus, Report

SOURCE = "aws.guardduty"
DETAIL_TYPES = {
    CoverageStatus.HEALTHY: "GuardDuty Runtime Protection Healthy",
    CoverageStatus.UNHEALTHY: "GuardDuty Runtime Protection Unhealthy",
}
EVENT_SCHEMA_VERSION = "1.0"


class NoEvent(Exception):
    """The report cannot become an event; the text says why."""


def _compact(item: "Dict[str, Any]") -> "Dict[str, Any]":
    """The mapping without members the report does not know (None or an empty structure)."""
    out = {}
    for key, val in item.items():
        if isinstance(val, dict):
            val = _compact(val)
        if val is not None and val != {}:
            out[key] = val
    return out


def _resource_details(report: Report) -> "Dict[str, Any]":
    host = report.host
    return {
        "resourceType": "EC2",
        "ec2InstanceDetails": {
            "instanceId": host.instance_id,
            "instanceType": host.instance_type,
            "agentDetails": {"version": host.agent_version},
        },
    }


def _issue(report: Report) -> "Any":
    if report.coverage_status is not CoverageStatus.UNHEALTHY or report.primary is None:
        return None
    return report.primary.issue.issue_type


def _status(report: Report) -> "Any":
    known = report.coverage_status is not CoverageStatus.UNKNOWN and not report.not_ec2
    return report.coverage_status.value if known else None


def undecided(report: Report) -> str:
    """Why the coverage resource has no coverageStatus, or "" when it has one."""
    if _status(report) is not None:
        return ""
    from .text import summary_line

    why = summary_line(report).split(" | ")[1]
    return f"amzn-gd-doctor: no coverageStatus in the coverage resource: {why}"


def coverage_resource(report: Report, now: float) -> "Dict[str, Any]":
    """One item of ListCoverage's ``resources``, as of ``now`` (seconds since the epoch).

    updatedAt is a number of seconds: a rest-json timestamp in a body. An undecided report
    has no coverageStatus (the model allows HEALTHY and UNHEALTHY only)."""
    return _compact(
        {
            "resourceId": report.host.instance_id,
            "accountId": report.host.account_id,
            "resourceDetails": _resource_details(report),
            "coverageStatus": _status(report),
            "issue": _issue(report),
            "updatedAt": int(now),
        }
    )


def _iso(now: float) -> str:
    moment = datetime.datetime.fromtimestamp(int(now), tz=datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def event(report: Report, now: float) -> "Dict[str, Any]":
    """The event GuardDuty sends when this instance's coverage changes to the reported status.

    Such an event marks a change, so previousStatus is the other status. The id is derived
    from the instance and the time, so one run renders one event."""
    status = _status(report)
    if status is None:
        raise NoEvent(
            "no EventBridge event: the coverage status is undecided"
            + (f" ({report.not_ec2})" if report.not_ec2 else "")
            + "; GuardDuty sends one only for HEALTHY or UNHEALTHY"
        )
    current = CoverageStatus(status)
    previous = (
        CoverageStatus.UNHEALTHY if current is CoverageStatus.HEALTHY else CoverageStatus.HEALTHY
    )
    stamp = _iso(now)
    detail = _compact(
        {
            "schemaVersion": EVENT_SCHEMA_VERSION,
            "resourceAccountId": report.host.account_id,
            "currentStatus": current.value,
            "previousStatus": previous.value,
            "resourceDetails": _resource_details(report),
            "issue": _issue(report),
            "lastUpdatedAt": stamp,
        }
    )
    name = f"{report.host.instance_id or ''}/{current.value}/{stamp}"
    return _compact(
        {
            "version": "0",
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"amzn-gd-doctor:{name}")),
            "detail-type": DETAIL_TYPES[current],
            "source": SOURCE,
            "account": report.host.account_id,
            "time": stamp,
            "region": report.host.region,
            "resources": [],
            "detail": detail,
        }
    )


def _dump(item: "Dict[str, Any]") -> str:
    # ASCII only: a control or bidi character in host text reaches no consumer raw.
    return json.dumps(item, indent=2) + "\n"


def render_coverage(report: Report, now: float) -> str:
    return _dump(coverage_resource(report, now))


def render_event(report: Report, now: float) -> str:
    return _dump(event(report, now))
