"""The catalogue of causes the SSM agent's log names for not working: named patterns over one
entry (a header line and its continuation lines), each with what it picks out (the endpoint,
the IAM action, the account, the platform). Where the phrases come from: fixtures/ssm/NOTES.md.

Data only: reads nothing, registers no probe.
"""

import re
from typing import Optional

from .. import lazy_re
from ..values import value


@value
class CausePattern:
    cause: str
    match: "re.Pattern[str]"
    subject: "Optional[re.Pattern[str]]" = None  # its groups name what the entry is about
    shape: str = "{0}"  # how those groups are written
    suspected: bool = False  # the entry only suggests the cause


_ENDPOINT = (
    r"\b((?:ssm|ssmmessages|ec2messages)(?:-fips)?\.[a-z]{2}(?:-[a-z]+)+-\d"
    r"\.amazonaws\.com(?:\.cn)?)\b"
)
_ACTION = r"not authorized to perform: ([\w-]+:\w+)"
_IMDS_DIAL = r"dial tcp (?:169\.254\.169\.254|\[fd00:ec2::254\]):80: (?:connect: )?"

# First match wins, so the specific come before the general: a line naming both a missing role
# and an unreachable IMDS is the unreachable IMDS; a proxy failure on the way to ssm.<region>
# is the proxy's.
CAUSES = (
    # [pluginName=aws:configurePackage] ... failed to find platform: no manifest found for
    # platform: centos, version 7.9.2009, architecture x86_64
    CausePattern(
        "no_platform_build",
        lazy_re.compile(r"no manifest found for platform: "),
        lazy_re.compile(r"found for platform: ([^,|]+), version ([^,|]+), architecture ([\w-]+)"),
        "{0} {1} ({2})",
    ),
    # InvalidSignatureException: Signature expired: 20240111T100520Z is now earlier than ...
    CausePattern(
        "clock_skew",
        lazy_re.compile(
            r"Signature expired|Signature not yet current|RequestTimeTooSkewed|"
            r"RequestExpired|clock skew",
            re.I,
        ),
        lazy_re.compile(
            r"(Signature expired|Signature not yet current|RequestTimeTooSkewed|RequestExpired)"
        ),
    ),
    # x509: certificate signed by unknown authority; proxyconnect tcp: dial tcp ...: refused
    CausePattern(
        "tls_proxy",
        lazy_re.compile(r"x509: |proxyconnect |Proxy Authentication Required|remote error: tls: "),
        lazy_re.compile(
            r"(x509: [a-z][a-z ]*[a-z]|proxyconnect tcp: [^|\"]*?(?:refused|timeout|"
            r"unreachable|no such host)|Proxy Authentication Required|"
            r"remote error: tls: [a-z ]*[a-z])"
        ),
    ),
    # caused by: Get "http://169.254.169.254/latest/meta-data/iam/security-credentials/":
    # dial tcp 169.254.169.254:80: connect: network is unreachable
    CausePattern(
        "imds_unreachable",
        lazy_re.compile(
            _IMDS_DIAL + r"(?:network is unreachable|no route to host|connection refused|"
            r"i/o timeout)"
        ),
        lazy_re.compile(_IMDS_DIAL + r"([a-z /]*[a-z])"),
    ),
    # AccessDeniedException: Systems Manager's instance management role is not configured for
    # account: 111122223333
    CausePattern(
        "dhmc_off",
        lazy_re.compile(r"instance management role is not configured for account"),
        lazy_re.compile(r"for account:? ?(\d{12})"),
    ),
    # ... is not authorized to perform: ssm:UpdateInstanceInformation on resource: ... with an
    # explicit deny in a service control policy
    CausePattern(
        "scp_deny",
        lazy_re.compile(r"explicit deny in a service control policy"),
        lazy_re.compile(_ACTION),
    ),
    # ... because no identity-based policy allows the ssm:UpdateInstanceInformation action
    CausePattern(
        "iam_action",
        lazy_re.compile(
            r"because no identity-based policy allows|explicit deny in an identity-based "
            r"policy|in a permissions boundary"
        ),
        lazy_re.compile(_ACTION),
    ),
    # ... because no VPC endpoint policy allows the ... action
    CausePattern(
        "vpce_policy",
        lazy_re.compile(r"(?:because no|explicit deny in a) VPC endpoint policy"),
        lazy_re.compile(_ACTION),
    ),
    # EC2RoleRequestError: no EC2 instance role found | caused by: EC2MetadataError: failed to
    # make EC2Metadata request | status code: 404, request id:
    CausePattern(
        "no_instance_profile",
        lazy_re.compile(r"no EC2 instance role found"),
        lazy_re.compile(r"status code: (\d{3})"),
        "IMDS answered {0}",
    ),
    # dial tcp: lookup ssmmessages.us-east-1.amazonaws.com on 10.0.0.2:53: no such host
    CausePattern(
        "network",
        lazy_re.compile(
            r"^(?=.*(?:amazonaws\.com|send request failed))(?=.*(?:no such host|i/o timeout|"
            r"connection refused|network is unreachable|no route to host|connection reset|"
            r"TLS handshake timeout|Client\.Timeout|context deadline exceeded|"
            r"server misbehaving))"
        ),
        lazy_re.compile(_ENDPOINT),
    ),
    # An AccessDenied that names no policy: the role looks right to the agent, so a VPC
    # endpoint policy is one suspect (the host cannot see either).
    CausePattern(
        "vpce_policy",
        lazy_re.compile(r"AccessDenied|is not authorized to perform"),
        lazy_re.compile(_ACTION),
        suspected=True,
    ),
)
