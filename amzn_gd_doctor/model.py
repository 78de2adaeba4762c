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
    """How directly the host showed the cause of a failure (README, "Confidence"), strongest
    first.

    CONFIRMED: the cause itself was seen on the host (a kernel version, a tag, a kernel OOM kill,
    the agent's own log line), and GuardDuty's documentation ties it to the console issue.
    LIKELY: the console issue follows from what was seen, but the cause behind it is inferred
    (the agent is absent, or keeps dying, and why is not seen). SUSPECTED: the evidence is
    indirect (a sign that usually goes with the cause, such as SIGKILLs under a memory cap with
    no OOM-killer line)."""

    CONFIRMED = "confirmed"
    LIKELY = "likely"
    SUSPECTED = "suspected"

    @property
    def rank(self) -> int:
        """0 for the strongest (CONFIRMED): a diagnosis sorts before weaker ones."""
        return _CONFIDENCE_RANK[self.value]


_CONFIDENCE_RANK = {"confirmed": 0, "likely": 1, "suspected": 2}


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
    # A failure that shows the console issue's effect (a restart loop, a unit that is down, a
    # failed association run) rather than its cause: in a diagnosis, a failure that names the
    # cause comes first, and its fix replaces this one's ("read why it dies").
    symptom: bool = False


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
    symptom: bool = False,
) -> Verdict:
    """A failure naming a catalogue issue. ``summary`` is one whole sentence about what was
    observed, as the report's "Observed" shows it: it starts with a word that may take a
    capital ("the agent ...", "kernel 4.14 ...", not a path or a package name) and ends with a
    period. ``fix``: the steps for this cause, most direct first; without any, the catalogue's
    steps for the issue stand in."""
    return Verdict(Outcome.FAIL, summary, issue, confidence, evidence, fix, symptom)


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
    symptom: bool = False  # as Verdict.symptom


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
    # The host family beside the distribution (Bottlerocket's release and variant, an ECS
    # container instance's cluster, an EKS node's cluster), or None.
    family: "Optional[str]" = None


@value
class Incomplete:
    id: str
    reason: str


@value
class Timing:
    """Where a run's time went, in milliseconds: from the first import to the start of the
    diagnosis (imports and argument handling), the probes, and the rules. From the one file
    only (None otherwise): importing the modules it carries, and the part of that spent
    compiling sources for want of valid bytecode for the interpreter."""

    startup_ms: int = 0
    probes_ms: int = 0
    rules_ms: int = 0
    import_ms: "Optional[int]" = None
    compile_ms: "Optional[int]" = None


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
    # Why this instance's coverage is judged elsewhere than by EC2 Runtime Monitoring (an EKS
    # node whose agent is the EKS add-on's: EKS coverage decides it), or None.
    covered_elsewhere: "Optional[str]" = None

    @property
    def exit_code(self) -> ExitCode:
        if self.coverage_status is CoverageStatus.UNHEALTHY:
            return ExitCode.UNHEALTHY
        if self.coverage_status is CoverageStatus.UNKNOWN:
            return ExitCode.UNDECIDED
        return ExitCode.HEALTHY
