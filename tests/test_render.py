"""The renderers over fixed reports: every format of three reports built here from the real
value classes, as the engine makes them, against fixtures/golden/render/ (regenerate with
``pytest --update-golden tests/test_render.py`` and review the diff).

The reports are written out in this file rather than produced by running the rules, so that no
rule, probe or catalogue change rewrites these goldens: they change only when a renderer or the
report's model does. The scenario trees declare what they are about in expectation files
instead of goldens (tests/test_corpus.py and the area tests), and the JSON Schema is checked
on real reports in tests/test_cli.py as well as on these."""

from __future__ import annotations

import json
from importlib import resources

import pytest
from support import check_golden

from amzn_gd_doctor.model import (
    Confidence,
    CoverageStatus,
    Diagnosis,
    Fact,
    FactStatus,
    Finding,
    HostSummary,
    Incomplete,
    Issue,
    Outcome,
    Replay,
    Report,
    Timing,
)
from amzn_gd_doctor.render import guardduty
from amzn_gd_doctor.render import json as render_json
from amzn_gd_doctor.render import text as render_text

NOW = 1796116800.75  # 2026-12-01T09:20:00.75Z
VERSION = "9.9.9"

# Issues as the catalogue holds them, copied here so that an edit of the catalogue's remediation
# or summary leaves these goldens alone (tests/test_conformance.py holds the catalogue itself).
DISCONNECTED = Issue(
    code="agent_disconnected",
    issue_type="No Agent Reporting",
    issue_message="Agent disconnected",
    scope="host",
    precedence=70,
    severity="high",
    summary="The agent was installed but stopped sending runtime events.",
    remediation=(
        "Run `sudo systemctl status amazon-guardduty-agent` and read why it stopped.",
        "Raise MemoryMax= in a drop-in if the agent is killed at its memory cap.",
    ),
    doc_url="https://docs.aws.amazon.com/guardduty/latest/ug/runtime-monitoring-agent-troubleshooting.html",
)
NO_REPORTING = Issue(
    code="no_agent_reporting",
    issue_type="No Agent Reporting",
    issue_message="",
    scope="host",
    precedence=60,
    severity="high",
    summary="GuardDuty receives nothing from the agent.",
    remediation=("Check the agent's logs under /var/log/amzn-guardduty-agent.",),
    doc_url="https://docs.aws.amazon.com/guardduty/latest/ug/runtime-monitoring-agent-troubleshooting.html",
)

HOST = HostSummary(
    instance_id="i-0123456789abcdef0",
    region="eu-west-1",
    account_id="123456789012",
    instance_type="m6i.large",
    kernel="6.14.0-1011-aws",
    os="Ubuntu 24.04.3 LTS",
    arch="x86_64",
    vpc_id="vpc-0a1b2c3d4e5f60718",
    subnet_id="subnet-0a1b2c3d4e5f60718",
    vpc_cidrs=("10.0.0.0/16",),
    agent_version="1.9.2",
)


def unhealthy() -> Report:
    """A primary diagnosis and a suspected second one, every outcome a check can have, a fact
    of each status, something left incomplete, and host text with a control character."""
    primary = Diagnosis(
        issue=DISCONNECTED,
        confidence=Confidence.CONFIRMED,
        summary="The agent's unit was killed by the OOM killer 3 times in the last hour.",
        remediation=DISCONNECTED.remediation,
        evidence=(
            "journal: amazon-guardduty-agent.service: "
            "A process of this unit has been killed by the OOM killer.",
        ),
        findings=("agent.not_oom_killed",),
    )
    second = Diagnosis(
        issue=NO_REPORTING,
        confidence=Confidence.SUSPECTED,
        summary="The agent's log shows 12 authentication failures.",
        remediation=NO_REPORTING.remediation,
        evidence=("/var/log/amzn-guardduty-agent/agent.log: 401 Unauthorized",),
        findings=("agent.logs_clean",),
    )
    findings = (
        Finding(
            "platform.os_supported",
            "Operating system supported",
            "platform",
            Outcome.PASS,
            "Ubuntu 24.04.3 LTS is supported.",
            duration_ms=1,
        ),
        Finding(
            "platform.kernel_supported",
            "Kernel supported",
            "platform",
            Outcome.WARN,
            "Kernel 6.14.0-1011-aws is newer than the newest tested (6.12).",
            fix=("Watch the release notes for 6.14 support.",),
            duration_ms=2,
        ),
        Finding(
            "imds.reachable",
            "IMDS reachable",
            "imds",
            Outcome.PASS,
            "IMDSv2 answered in 3 ms.",
            evidence=("PUT /latest/api/token -> 200",),
            duration_ms=3,
        ),
        Finding(
            "ssm.agent_running",
            "SSM agent running",
            "ssm",
            Outcome.INCONCLUSIVE,
            "inconclusive, because /var/lib/amazon/ssm could not be read (EACCES).",
            blocked_by="ssm.agent",
        ),
        Finding(
            "ssm.association",
            "GuardDuty association applied",
            "ssm",
            Outcome.CRASH,
            "The rule crashed: ValueError: bad state \x1b[31m.",
        ),
        Finding(
            "agent.not_oom_killed",
            "Agent is not killed for memory",
            "agent",
            Outcome.FAIL,
            primary.summary,
            issue="agent_disconnected",
            evidence=primary.evidence,
            duration_ms=4,
        ),
        Finding(
            "agent.logs_clean",
            "Agent logs free of failures",
            "agent",
            Outcome.FAIL,
            second.summary,
            issue="no_agent_reporting",
            confidence=Confidence.SUSPECTED,
            evidence=second.evidence,
            duration_ms=5,
        ),
        Finding(
            "agent.unit_running",
            "Agent's systemd unit is active",
            "agent",
            Outcome.FAIL,
            "amazon-guardduty-agent.service is activating (auto-restart).",
            issue="agent_disconnected",
            duration_ms=1,
        ),
        Finding(
            "network.endpoint_dns",
            "Endpoint name resolves",
            "network",
            Outcome.NOT_APPLICABLE,
            "No region, so no endpoint name to resolve.",
        ),
    )
    facts = (
        Fact("platform.os", FactStatus.OK, duration_ms=1),
        Fact(
            "ssm.agent",
            FactStatus.ERROR,
            reason="permission denied: /var/lib/amazon/ssm",
            duration_ms=2,
        ),
        Fact("network.dns", FactStatus.TIMEOUT, reason="no answer in 2.0 s", duration_ms=2000),
        Fact("agent.process", FactStatus.UNSUPPORTED, reason="no /proc under --root"),
        Fact("agent.logs", FactStatus.ERROR, reason="crashed: OSError", crashed=True),
        Fact("network.tls", FactStatus.ERROR, reason="blocked", blocked_by="network.dns"),
    )
    return Report(
        tool_version=VERSION,
        coverage_status=CoverageStatus.UNHEALTHY,
        primary=primary,
        diagnoses=(primary, second),
        findings=findings,
        facts=facts,
        host=HOST,
        incomplete=(
            Incomplete("ssm.agent_running", "/var/lib/amazon/ssm could not be read (EACCES)"),
            Incomplete("ssm.association", "the rule crashed"),
        ),
        elapsed_ms=1234,
        deadline_s=10.0,
        timing=Timing(startup_ms=40, probes_ms=1100, rules_ms=3),
    )


def undecided() -> Report:
    """Nothing failed, something could not be decided; replayed from a bundle; host unknown."""
    return Report(
        tool_version=VERSION,
        coverage_status=CoverageStatus.UNKNOWN,
        primary=None,
        diagnoses=(),
        findings=(
            Finding(
                "platform.os_supported",
                "Operating system supported",
                "platform",
                Outcome.PASS,
                "Amazon Linux 2023 is supported.",
            ),
            Finding(
                "imds.reachable",
                "IMDS reachable",
                "imds",
                Outcome.INCONCLUSIVE,
                "inconclusive, because IMDS did not answer in 1.0 s.",
            ),
            Finding(
                "zeta.extra",
                "An area the text report does not order",
                "zeta",
                Outcome.PASS,
                "Areas outside the known ones come last.",
            ),
        ),
        facts=(Fact("imds.identity", FactStatus.TIMEOUT, reason="no answer in 1.0 s"),),
        host=HostSummary(kernel="6.1.115-126.197.amzn2023.x86_64", os="Amazon Linux 2023"),
        incomplete=(Incomplete("imds.reachable", "IMDS did not answer in 1.0 s"),),
        elapsed_ms=2050,
        deadline_s=10.0,
        replay=Replay("bundle-i-0123.tar.gz", "2026-11-30T08:00:00Z", "0.9.0"),
    )


def not_ec2() -> Report:
    """A machine GuardDuty's EC2 coverage does not apply to, with a failure that is only a
    consequence of that."""
    consequence = Diagnosis(
        issue=NO_REPORTING,
        confidence=Confidence.CONFIRMED,
        summary="amazon-guardduty-agent is not installed.",
        remediation=NO_REPORTING.remediation,
        evidence=(),
        findings=("agent.installed",),
    )
    return Report(
        tool_version=VERSION,
        coverage_status=CoverageStatus.UNKNOWN,
        primary=consequence,
        diagnoses=(consequence,),
        findings=(
            Finding(
                "platform.ec2_instance",
                "Runs on EC2",
                "platform",
                Outcome.WARN,
                "DMI says QEMU, Standard PC (Q35 + ICH9, 2009): not EC2.",
            ),
            Finding(
                "agent.installed",
                "GuardDuty agent package installed",
                "agent",
                Outcome.FAIL,
                consequence.summary,
                issue="no_agent_reporting",
            ),
        ),
        facts=(),
        host=HostSummary(os="Debian GNU/Linux 12 (bookworm)", arch="x86_64"),
        incomplete=(),
        elapsed_ms=80,
        deadline_s=10.0,
        not_ec2="DMI says QEMU: not an EC2 instance, and no SSM hybrid registration.",
    )


REPORTS = {"unhealthy": unhealthy, "undecided": undecided, "not-ec2": not_ec2}


def stable_json(report: Report) -> str:
    """The JSON report with the one value that varies: the time taken to build it."""
    data = json.loads(render_json.render(report))
    data["timing"]["render_ms"] = 0
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


@pytest.mark.parametrize("name", REPORTS)
def test_text(name: str, request: pytest.FixtureRequest) -> None:
    check_golden(request, f"render/{name}.txt", render_text.render(REPORTS[name]()))


@pytest.mark.parametrize("name", REPORTS)
def test_text_verbose(name: str, request: pytest.FixtureRequest) -> None:
    text = render_text.render(REPORTS[name](), verbose=True)
    check_golden(request, f"render/{name}.verbose.txt", text)


def test_text_color(request: pytest.FixtureRequest) -> None:
    text = render_text.render(unhealthy(), color=True)
    check_golden(request, "render/unhealthy.color.txt", text)


@pytest.mark.parametrize("name", REPORTS)
def test_summary_line(name: str, request: pytest.FixtureRequest) -> None:
    check_golden(
        request, f"render/{name}.summary.txt", render_text.summary_line(REPORTS[name]()) + "\n"
    )


@pytest.mark.parametrize("name", REPORTS)
def test_json(name: str, request: pytest.FixtureRequest) -> None:
    check_golden(request, f"render/{name}.json", stable_json(REPORTS[name]()))


@pytest.mark.parametrize("name", REPORTS)
def test_json_validates_against_schema(name: str) -> None:
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema is not installed")
    text = resources.files("amzn_gd_doctor").joinpath("schema/report-v1.json").read_text()
    jsonschema.validate(json.loads(render_json.render(REPORTS[name]())), json.loads(text))


def test_coverage(request: pytest.FixtureRequest) -> None:
    text = guardduty.render_coverage(unhealthy(), NOW)
    check_golden(request, "render/unhealthy.coverage.json", text)


def test_eventbridge(request: pytest.FixtureRequest) -> None:
    text = guardduty.render_event(unhealthy(), NOW)
    check_golden(request, "render/unhealthy.eventbridge.json", text)


def test_no_eventbridge_event_when_undecided() -> None:
    with pytest.raises(guardduty.NoEvent, match="the coverage status is undecided"):
        guardduty.render_event(undecided(), NOW)
