"""The doctor's vocabulary: facts observed by probes, findings judged by rules, the report.

Everything here is an immutable value. Nothing in this module touches the host.
"""

import enum
from typing import Any, Optional, Tuple

from .values import value

# Ten seconds: enough for every probe to use its own timeout once, short enough that an SSM
# Run Command over a fleet is not held up by a host whose IMDS or DNS is black-holed.
DEFAULT_DEADLINE_S = 10.0
MAX_DEADLINE_S = 300.0


class FactStatus(str, enum.Enum):
    """Whether a probe could look. What it saw (even "not installed") is the value."""

    OK = "ok"
    ERROR = "error"
    TIMEOUT = "timeout"
    UNSUPPORTED = "unsupported"


class Outcome(str, enum.Enum):
    PASS = "pass"
    FAIL = "fail"
    WARN = "warn"
    INCONCLUSIVE = "inconclusive"
    NOT_APPLICABLE = "not_applicable"
    CRASH = "crash"


class Confidence(str, enum.Enum):
    CONFIRMED = "confirmed"
    SUSPECTED = "suspected"


class CoverageStatus(str, enum.Enum):
    HEALTHY = "HEALTHY"
    UNHEALTHY = "UNHEALTHY"
    UNKNOWN = "UNKNOWN"


class ExitCode(enum.IntEnum):
    HEALTHY = 0
    UNHEALTHY = 1
    USAGE = 2
    UNDECIDED = 3


@value
class Fact:
    """One probe's observation, or the reason it could not observe."""

    probe_id: str
    status: FactStatus
    value: Any = None
    reason: "Optional[str]" = None
    duration_ms: int = 0
    blocked_by: "Optional[str]" = None
    crashed: bool = False
    # A derived fact left unobserved by a failed input names that input, so that a rule
    # reading it reports the input's problem, as if it had read the input itself.
    cause: "Optional[str]" = None

    @property
    def ok(self) -> bool:
        return self.status is FactStatus.OK


@value
class Verdict:
    """What a rule returns: one outcome and one sentence about what was observed."""

    outcome: Outcome
    summary: str
    issue: "Optional[str]" = None
    confidence: Confidence = Confidence.CONFIRMED
    evidence: "Tuple[str, ...]" = ()
    fix: "Tuple[str, ...]" = ()


def passed(summary: str, evidence: "Tuple[str, ...]" = ()) -> Verdict:
    return Verdict(Outcome.PASS, summary, evidence=evidence)


def warned(summary: str, evidence: "Tuple[str, ...]" = (), fix: "Tuple[str, ...]" = ()) -> Verdict:
    return Verdict(Outcome.WARN, summary, evidence=evidence, fix=fix)


def failed(
    issue: str,
    summary: str,
    evidence: "Tuple[str, ...]" = (),
    fix: "Tuple[str, ...]" = (),
    confidence: Confidence = Confidence.CONFIRMED,
) -> Verdict:
    return Verdict(Outcome.FAIL, summary, issue, confidence, evidence, fix)


def not_applicable(summary: str) -> Verdict:
    return Verdict(Outcome.NOT_APPLICABLE, summary)


def inconclusive(summary: str, evidence: "Tuple[str, ...]" = ()) -> Verdict:
    return Verdict(Outcome.INCONCLUSIVE, summary, evidence=evidence)


@value
class Finding:
    """A rule's verdict placed in the report, with where it came from."""

    rule_id: str
    title: str
    area: str
    outcome: Outcome
    summary: str
    issue: "Optional[str]" = None
    confidence: Confidence = Confidence.CONFIRMED
    evidence: "Tuple[str, ...]" = ()
    fix: "Tuple[str, ...]" = ()
    duration_ms: int = 0
    blocked_by: "Optional[str]" = None


@value
class Issue:
    """One console issue, verbatim from the GuardDuty console, with what fixes it."""

    code: str
    issue_type: str
    issue_message: str
    scope: str  # "host": the host can show it; "account": only the account can
    precedence: int
    severity: str
    summary: str
    remediation: "Tuple[str, ...]"
    doc_url: str
    aliases: "Tuple[str, ...]" = ()


@value
class Diagnosis:
    issue: Issue
    confidence: Confidence
    summary: str
    remediation: "Tuple[str, ...]"
    evidence: "Tuple[str, ...]"
    findings: "Tuple[str, ...]"


@value
class HostSummary:
    instance_id: "Optional[str]" = None
    region: "Optional[str]" = None
    account_id: "Optional[str]" = None
    instance_type: "Optional[str]" = None
    kernel: "Optional[str]" = None
    os: "Optional[str]" = None
    arch: "Optional[str]" = None
    vpc_id: "Optional[str]" = None
    subnet_id: "Optional[str]" = None
    vpc_cidrs: "Tuple[str, ...]" = ()
    # The installed GuardDuty agent package's version (dpkg/rpm), for GuardDuty's own shapes.
    agent_version: "Optional[str]" = None


@value
class Incomplete:
    id: str
    reason: str


@value
class Timing:
    """Where a run's time went, in milliseconds: from the first import to the start of the
    diagnosis (imports and argument handling), the probes, and the rules."""

    startup_ms: int = 0
    probes_ms: int = 0
    rules_ms: int = 0


@value
class Replay:
    """A report replayed from an evidence bundle (``check --from``): which one, when it was
    captured and by which version of the doctor."""

    bundle: str
    captured_at: str  # ISO 8601, UTC
    tool_version: str


@value
class Report:
    tool_version: str
    coverage_status: CoverageStatus
    primary: "Optional[Diagnosis]"
    diagnoses: "Tuple[Diagnosis, ...]"
    findings: "Tuple[Finding, ...]"
    facts: "Tuple[Fact, ...]"
    host: HostSummary
    incomplete: "Tuple[Incomplete, ...]"
    elapsed_ms: int
    deadline_s: float
    timing: Timing = Timing()
    # Why GuardDuty's EC2 coverage does not apply to this machine (not EC2, not hybrid), or None.
    not_ec2: "Optional[str]" = None
    # Set when the observations were replayed from a bundle rather than made on this host.
    replay: "Optional[Replay]" = None

    @property
    def exit_code(self) -> ExitCode:
        if self.coverage_status is CoverageStatus.UNHEALTHY:
            return ExitCode.UNHEALTHY
        if self.coverage_status is CoverageStatus.UNKNOWN:
            return ExitCode.UNDECIDED
        return ExitCode.HEALTHY
