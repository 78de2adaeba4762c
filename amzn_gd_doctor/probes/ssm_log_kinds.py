"""The kinds of SSM agent log entries that name no cause but say what the agent did or could
not do (registration, credentials, GuardDuty's association runs), and which levels are errors.

Data only: reads nothing, registers no probe.
"""

import re
from typing import Tuple

from .. import lazy_re
from ..facts.ssm import GD_DOCUMENT, GD_PACKAGE

# (kind, pattern) for entries that name no cause, first match wins. Phrases are the agent's own
# (see docs/ssm.md); "credentials" keeps credential errors whose cause the entry does not say.
KINDS: "Tuple[Tuple[str, re.Pattern[str]], ...]" = (
    ("associations_unavailable", lazy_re.compile(r"Unable to load instance associations")),
    (
        "registration",
        lazy_re.compile(
            r"MachineFingerprintDoesNotMatch|InvalidActivation|ActivationExpired|"
            r"Failed to register|registration failed|error while loading server info",
            re.I,
        ),
    ),
    (
        "credentials",
        lazy_re.compile(
            r"EC2RoleRequestError|NoCredentialProviders|no valid credentials could be retrieved|"
            r"Retrieve credentials produced error|AccessDeniedException|ExpiredToken|"
            r"Health ping failed|instance management role is not configured"
        ),
    ),
    (
        "guardduty_failure",
        lazy_re.compile(
            rf"(?=.*(?:{GD_DOCUMENT}|{GD_PACKAGE}))(?=.*\b(?:ERROR|fail(?:ed|ure)?)\b)", re.I
        ),
    ),
    ("guardduty", lazy_re.compile(rf"{GD_DOCUMENT}|{GD_PACKAGE}")),
    ("association_run", lazy_re.compile(r"Executing association")),
    ("error", lazy_re.compile(r"^\S+ \S+ ERROR ")),
)
# Kinds that say what is wrong (ssm.logs_clean warns about them by name): their ERROR entries
# are not unexplained.
NAMED_KINDS = ("associations_unavailable", "registration", "credentials")
# The agent's levels at error and above: seelog's "error" and "critical" (it has no "fatal"),
# upper case in its files, title case in its nanosecond fallback form.
ERROR_LEVELS = ("ERROR", "CRITICAL", "Error", "Critical")
