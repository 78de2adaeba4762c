"""The SSM agent's log cut into entries and sorted into causes: one captured-format file per
cause under fixtures/ssm/logs/, plus the entry rules (continuation lines, the journal's and
rsyslog's forms, the timestamp forms) on lines written inline in the agent's formats."""

from __future__ import annotations

import pytest

from amzn_gd_doctor.probes.ssm_log_causes import EVIDENCE_CHARS, find_causes
from amzn_gd_doctor.probes.ssm_log_lines import (
    MAX_CONTINUATION_LINES,
    Entry,
    parse_entries,
)
from amzn_gd_doctor.probes.ssm_logs import parse_log, parse_logs

NO_ROLE = (
    "2023-10-27 10:43:14 WARN EC2RoleProvider Failed to connect to Systems Manager with "
    "instance profile role credentials. Err: retrieved credentials failed to report to ssm. "
    "Error: EC2RoleRequestError: no EC2 instance role found"
)
UNREACHABLE = (
    'caused by: Get "http://169.254.169.254/latest/meta-data/iam/security-credentials/": '
    "dial tcp 169.254.169.254:80: connect: network is unreachable"
)


def causes_of(data: bytes) -> list[tuple]:
    return [
        (c.cause, c.entries, c.subjects, c.latest, c.guardduty, c.suspected)
        for c in parse_log(data).causes
    ]


@pytest.mark.parametrize(
    "name, expected",
    [
        (
            "cause-network.log",
            [
                (
                    "network",
                    3,
                    (
                        "ssmmessages.us-east-1.amazonaws.com",
                        "ec2messages.us-east-1.amazonaws.com",
                        "ssm.us-east-1.amazonaws.com",
                    ),
                    "2024-11-04 09:08:44",
                    False,
                    False,
                )
            ],
        ),
        (
            "cause-imds-unreachable.log",
            [
                (
                    "imds_unreachable",
                    3,
                    ("network is unreachable",),
                    "2023-10-27 10:43:14",
                    False,
                    False,
                )
            ],
        ),
        (
            "cause-no-instance-profile.log",
            [
                (
                    "no_instance_profile",
                    1,
                    ("IMDS answered 404",),
                    "2024-01-11 10:05:20",
                    False,
                    False,
                )
            ],
        ),
        (
            "cause-no-instance-profile-errors.log",
            [
                (
                    "no_instance_profile",
                    1,
                    ("IMDS answered 404",),
                    "2018-05-30 12:43:59",
                    False,
                    False,
                )
            ],
        ),
        (
            "cause-dhmc-off.log",
            [("dhmc_off", 1, ("111122223333",), "2024-11-04 09:08:13", False, False)],
        ),
        (
            "cause-iam-action.log",
            [
                (
                    "iam_action",
                    1,
                    ("ssm:UpdateInstanceInformation",),
                    "2024-11-04 09:09:02",
                    False,
                    False,
                )
            ],
        ),
        (
            "cause-scp-deny.log",
            [
                (
                    "scp_deny",
                    1,
                    ("ssm:UpdateInstanceInformation",),
                    "2023-10-27 10:43:14",
                    False,
                    False,
                )
            ],
        ),
        (
            "cause-vpce-suspected.log",
            [
                (
                    "vpce_policy",
                    1,
                    ("ssm:ListInstanceAssociations",),
                    "2024-11-04 09:15:02",
                    False,
                    True,
                )
            ],
        ),
        (
            "cause-clock-skew.log",
            [("clock_skew", 1, ("Signature expired",), "2018-05-30 12:43:59", False, False)],
        ),
        (
            "cause-tls-proxy.log",
            [
                (
                    "tls_proxy",
                    2,
                    (
                        "x509: certificate signed by unknown authority",
                        "proxyconnect tcp: dial tcp 10.0.0.50:3128: connect: connection refused",
                    ),
                    "2024-11-04 09:09:14",
                    False,
                    False,
                )
            ],
        ),
        (
            "cause-no-platform-build.log",
            [
                (
                    "no_platform_build",
                    1,
                    ("centos 7.9.2009 (x86_64)",),
                    "2024-11-04 09:15:09",
                    True,  # the run that installs GuardDuty's package, by its id
                    False,
                )
            ],
        ),
        (
            "credentials.log",
            [
                ("no_instance_profile", 1, (), "2025-03-05 14:10:29", False, False),
                ("dhmc_off", 2, ("111122223333",), "2025-03-05 14:10:29", False, False),
            ],
        ),
        (
            "journal-snap.txt",
            [
                (
                    "network",
                    1,
                    ("ssm.eu-west-1.amazonaws.com",),
                    "2024-11-04 09:08:43",
                    False,
                    False,
                )
            ],
        ),
        (
            "syslog-rsyslog.txt",
            [
                (
                    "no_instance_profile",
                    1,
                    ("IMDS answered 404",),
                    "2023-10-27 10:43:14",
                    False,
                    False,
                )
            ],
        ),
        (
            "journal-short-iso.txt",
            [
                (
                    "imds_unreachable",
                    1,
                    ("network is unreachable",),
                    "2023-10-27 10:43:14",
                    False,
                    False,
                )
            ],
        ),
        ("healthy.log", []),
        ("errors-fingerprint.log", []),
        ("guardduty-failed.log", []),
    ],
)
def test_parse_log_names_the_cause(ssm_fixture, name, expected) -> None:
    assert causes_of(ssm_fixture(f"logs/{name}")) == expected


def test_cause_entries_are_kept_whole_and_explained_entries_leave_the_kinds(ssm_fixture) -> None:
    tally = parse_log(ssm_fixture("logs/cause-no-instance-profile-errors.log"))
    assert tally.counts == {}  # the ERROR line named a cause, so it is not a bare "error"
    assert tally.causes[0].lines == (
        "2018-05-30 12:43:59 ERROR [HandleAwsError @ awserr.go.48] "
        "[instanceID=i-0123456789abcdef0] error when calling AWS APIs. error details - "
        "EC2RoleRequestError: no EC2 instance role found | caused by: EC2MetadataError: "
        "failed to make EC2Metadata request | status code: 404, request id:",
    )


def test_long_entry_evidence_keeps_its_start_and_its_end(ssm_fixture) -> None:
    line = parse_log(ssm_fixture("logs/cause-imds-unreachable.log")).causes[0].lines[0]
    assert len(line) == EVIDENCE_CHARS
    assert line.startswith("2023-10-27 10:43:14 WARN EC2RoleProvider Failed to connect")
    assert " ... " in line and line.endswith("connect: network is unreachable")


@pytest.mark.parametrize(
    "lines, cause, subjects, entries",
    [
        # The journal gives each SDK line its own entry; the snap's identifier is longer.
        (
            [
                f"Oct 27 10:43:14 ip-172-31-5-10 amazon-ssm-agent[2301]: {NO_ROLE}",
                "Oct 27 10:43:14 ip-172-31-5-10 amazon-ssm-agent[2301]: caused by: "
                "RequestError: send request failed",
                f"Oct 27 10:43:14 ip-172-31-5-10 amazon-ssm-agent[2301]: {UNREACHABLE}",
            ],
            "imds_unreachable",
            ("network is unreachable",),
            1,
        ),
        # The unreachable IMDS logged as an entry of its own, next to the missing role.
        (
            [
                NO_ROLE,
                "2023-10-27 10:43:14 ERROR [CredentialRefresher] Retrieve credentials produced "
                "error: EC2MetadataError: failed to get IMDSv2 token and fallback to IMDSv1 is "
                'disabled | caused by: Put "http://169.254.169.254/latest/api/token": dial tcp '
                "169.254.169.254:80: connect: network is unreachable",
            ],
            "imds_unreachable",
            ("network is unreachable",),
            2,  # the missing role too: IMDS could not be asked
        ),
        # An explicit deny in an endpoint policy is said, so not only suspected.
        (
            [
                "2024-11-04 09:09:02.1187 ERROR [HealthCheck] error when calling AWS APIs. "
                "error details - AccessDeniedException: User: arn:aws:sts::111122223333:"
                "assumed-role/SSMInstanceRole/i-0123456789abcdef0 is not authorized to "
                "perform: ssm:UpdateInstanceInformation on resource: arn:aws:ec2:us-east-1:"
                "111122223333:instance/i-0123456789abcdef0 with an explicit deny in a VPC "
                "endpoint policy",
            ],
            "vpce_policy",
            ("ssm:UpdateInstanceInformation",),
            1,
        ),
        # A proxy failure on the way to ssm.<region> is the proxy's, not the network's.
        (
            [
                "2024-11-04 09:08:44.2209 ERROR [HealthCheck] error when calling AWS APIs. "
                "error details - RequestError: send request failed",
                'caused by: Post "https://ssm.us-east-1.amazonaws.com/": proxyconnect tcp: '
                "dial tcp 10.0.0.50:3128: i/o timeout",
            ],
            "tls_proxy",
            ("proxyconnect tcp: dial tcp 10.0.0.50:3128: i/o timeout",),
            1,
        ),
        (
            [
                "2024-11-04 09:08:44.2209 ERROR [HealthCheck] error when calling AWS APIs. "
                "error details - RequestTimeTooSkewed: The difference between the request time "
                "and the current time is too large.",
            ],
            "clock_skew",
            ("RequestTimeTooSkewed",),
            1,
        ),
        # seelog's debug form, Unix nanoseconds, with the endpoint of a FIPS region.
        (
            [
                "1704967520066534055 [Debug] [ssm-agent-worker] [MessageService] "
                "[MessageDeliveryService] error when calling AWS APIs. error details - "
                "RequestError: send request failed",
                'caused by: Post "https://ec2messages-fips.us-gov-west-1.amazonaws.com/": '
                "dial tcp: lookup ec2messages-fips.us-gov-west-1.amazonaws.com: i/o timeout",
            ],
            "network",
            ("ec2messages-fips.us-gov-west-1.amazonaws.com",),
            1,
        ),
    ],
)
def test_parse_log_entry_forms(lines, cause, subjects, entries) -> None:
    (found,) = parse_log("\n".join(lines).encode()).causes
    assert (found.cause, found.subjects, found.entries) == (cause, subjects, entries)


def test_no_role_far_from_an_unreachable_imds_stays_no_role() -> None:
    quiet = [f"2023-10-27 10:4{i}:00 INFO [CredentialRefresher] tick" for i in range(5)]
    text = "\n".join([NO_ROLE, *quiet, "2023-10-27 10:49:00 ERROR x", UNREACHABLE])
    assert [c.cause for c in parse_log(text.encode()).causes] == [
        "no_instance_profile",
        "imds_unreachable",
    ]


def test_no_manifest_for_another_package_is_not_guardduty() -> None:
    text = (
        "2024-11-04 09:15:09.4731 INFO [ssm-document-worker] [0f1e2d3c-4b5a-6978-8a9b-"
        "0c1d2e3f4a5b.2024-11-04T09-15-02.102Z] Initiating AmazonGuardDuty-RuntimeMonitoring"
        "SsmPlugin install\n"
        "2024-11-04 09:20:09.8815 ERROR [ssm-document-worker] [9a8b7c6d-5e4f-4a3b-9c2d-"
        "1e0f9a8b7c6d.2024-11-04T09-20-01.007Z] [pluginName=aws:configurePackage] failed to "
        "find platform: no manifest found for platform: ubuntu, version 24.04, architecture arm64"
    )
    (found,) = parse_log(text.encode()).causes
    assert (found.cause, found.subjects, found.guardduty) == (
        "no_platform_build",
        ("ubuntu 24.04 (arm64)",),
        False,
    )


def test_errors_log_repeats_are_counted_once(ssm_fixture) -> None:
    data = ssm_fixture("logs/cause-dhmc-off.log")
    errors_only = b"".join(line for line in data.splitlines(keepends=True) if b" INFO " not in line)
    (found,) = parse_logs([(data, False), (errors_only, False)]).causes
    assert found.entries == 1


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "2018-05-30 12:43:59 ERROR [HandleAwsError @ awserr.go.48] [instanceID=i-0a] boom",
            Entry(
                "2018-05-30 12:43:59 ERROR [HandleAwsError @ awserr.go.48] [instanceID=i-0a] boom",
                "2018-05-30 12:43:59",
                "ERROR",
            ),
        ),
        (
            "2024-11-04 09:08:13.4731 INFO x",
            Entry("2024-11-04 09:08:13.4731 INFO x", "2024-11-04 09:08:13", "INFO"),
        ),
        (
            "1704967520066534055 [Debug] [ssm-agent-worker] x",
            Entry(
                "1704967520066534055 [Debug] [ssm-agent-worker] x", "2024-01-11 10:05:20", "Debug"
            ),
        ),
        (
            "Nov 04 09:08:43 ip-10-0-1-23 amazon-ssm-agent.amazon-ssm-agent[1187]: "
            "2024-11-04 09:08:43.4802 ERROR x\n"
            "Nov 04 09:08:43 ip-10-0-1-23 amazon-ssm-agent.amazon-ssm-agent[1187]: "
            "#011status code: 404, request id: ",
            Entry(
                "2024-11-04 09:08:43.4802 ERROR x | status code: 404, request id:",
                "2024-11-04 09:08:43",
                "ERROR",
            ),
        ),
        ("a line without a header", Entry("a line without a header", "", "")),
    ],
)
def test_parse_entries(text, expected) -> None:
    assert parse_entries(text) == [expected]


def test_continuation_lines_are_bounded() -> None:
    text = "2024-11-04 09:08:13.4731 ERROR x\n" + "caused by: y\n" * 100
    (entry,) = parse_entries(text)
    assert entry.text.count("caused by: y") == MAX_CONTINUATION_LINES


def test_find_causes_reports_which_entries_it_explained() -> None:
    entries = parse_entries(f"2023-10-27 10:43:14 INFO start\n{NO_ROLE}\n{UNREACHABLE}\n")
    causes, explained = find_causes(entries)
    assert [c.cause for c in causes] == ["imds_unreachable"] and explained == {1}
