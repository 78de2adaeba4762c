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
PRIVATE_DNS = Issue(
    code="vpce_private_dns_attributes",
    issue_type="VPC Endpoint Creation Failed",
    issue_message=(
        "Enabling private DNS requires both enableDnsSupport and enableDnsHostnames VPC "
        "attributes set to true for {vpcId} (Service: Ec2, Status Code:400, Request ID: "
        "{requestId})."
    ),
    scope="account",
    precedence=80,
    severity="high",
    summary="GuardDuty could not create its VPC endpoint with private DNS.",
    remediation=("Set both VPC attributes to true, then retry.",),
    doc_url="https://docs.aws.amazon.com/guardduty/latest/ug/gdu-assess-coverage-ec2.html",
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
    """A primary diagnosis, a likely second one and a suspected third, every outcome a check
    can have, a fact of each status, something left incomplete, host text with a control
    character, and lines longer than the width the text report wraps to (a URL among them)."""
    primary = Diagnosis(
        issue=DISCONNECTED,
        confidence=Confidence.CONFIRMED,
        summary=(
            "The agent was killed by the kernel OOM killer 3 times in the last hour (5 in 24 h); "
            "each time at its memory cap 128M. The agent is crash-looping: 4 restarts in the "
            "last hour."
        ),
        remediation=DISCONNECTED.remediation
        + (
            "Read GuardDuty's memory caps for the agent in "
            "https://docs.aws.amazon.com/guardduty/latest/ug/"
            "prereq-runtime-monitoring-ec2-support.html "
            "before raising MemoryMax.",
        ),
        evidence=(
            "journal: amazon-guardduty-agent.service: "
            "A process of this unit has been killed by the OOM killer.",
        ),
        findings=("agent.not_oom_killed",),
    )
    second = Diagnosis(
        issue=NO_REPORTING,
        confidence=Confidence.LIKELY,
        summary="The agent's log shows 12 authentication failures.",
        remediation=NO_REPORTING.remediation,
        evidence=("/var/log/amzn-guardduty-agent/agent.log: 401 Unauthorized",),
        findings=("agent.logs_clean",),
    )
    third = Diagnosis(
        issue=PRIVATE_DNS,
        confidence=Confidence.SUSPECTED,
        summary="The Amazon resolver 169.254.169.253 does not answer while IMDS does.",
        remediation=PRIVATE_DNS.remediation,
        evidence=("169.254.169.253: no answer in 2.0 s",),
        findings=("network.amazon_resolver",),
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
            confidence=Confidence.LIKELY,
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
        Finding(
            "network.amazon_resolver",
            "Amazon-provided DNS resolver answers",
            "network",
            Outcome.FAIL,
            "the Amazon resolver 169.254.169.253 does not answer while IMDS does, the sign of a "
            "VPC with enableDnsSupport off; private DNS for the GuardDuty endpoint needs both "
            "enableDnsSupport and enableDnsHostnames on vpc-0a1b2c3d4e5f60718.",
            issue="vpce_private_dns_attributes",
            confidence=Confidence.SUSPECTED,
            evidence=third.evidence,
        ),
        Finding(
            "network.tls_valid",
            "Endpoint presents a certificate this host trusts",
            "network",
            Outcome.INCONCLUSIVE,
            'not checked: it depends on the check "Amazon-provided DNS resolver answers", which '
            "failed",
            blocked_by="network.amazon_resolver",
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
        diagnoses=(primary, second, third),
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


def covered_elsewhere() -> Report:
    """An EKS node whose agent is the EKS add-on's: EKS coverage decides it, so the status is
    undecided and its one failure only suspected (rules/family.py, platform.coverage_owner)."""
    reason = (
        "this instance's coverage is EKS Runtime Monitoring's (the aws-guardduty-agent add-on "
        "runs here; EKS node, cluster my-cluster): see "
        "https://docs.aws.amazon.com/guardduty/latest/ug/eks-runtime-monitoring-coverage.html."
    )
    waiting = Issue(
        code="waiting_for_ssm_notification",
        issue_type="No Agent Reporting",
        issue_message="Waiting for SSM notification",
        scope="host",
        precedence=50,
        severity="medium",
        summary="GuardDuty is waiting for SSM to install the agent.",
        remediation=("Make the instance SSM managed.",),
        doc_url="https://docs.aws.amazon.com/guardduty/latest/ug/gdu-assess-coverage-ec2.html",
    )
    suspected = Diagnosis(
        issue=waiting,
        confidence=Confidence.SUSPECTED,
        summary="SSM agent is not installed (no package, snap, unit or binary found).",
        remediation=waiting.remediation,
        evidence=(),
        findings=("ssm.agent_running",),
    )
    return Report(
        tool_version=VERSION,
        coverage_status=CoverageStatus.UNKNOWN,
        primary=suspected,
        diagnoses=(suspected,),
        findings=(
            Finding(
                "platform.coverage_owner",
                "Whose coverage this instance is: EC2 Runtime Monitoring's, or EKS's",
                "platform",
                Outcome.WARN,
                reason,
            ),
            Finding(
                "ssm.agent_running",
                "SSM agent installed and running (the host is an SSM managed node)",
                "ssm",
                Outcome.FAIL,
                suspected.summary,
                issue="waiting_for_ssm_notification",
                confidence=Confidence.SUSPECTED,
            ),
            Finding(
                "agent.installed",
                "GuardDuty agent package installed",
                "agent",
                Outcome.NOT_APPLICABLE,
                "amazon-guardduty-agent is not installed, and is not needed: the EKS add-on's "
                "agent runs on this EKS node (platform.coverage_owner), so its coverage is EKS's.",
            ),
        ),
        facts=(),
        host=HostSummary(
            os="Amazon Linux 2023",
            kernel="6.1.115-126.197.amzn2023.x86_64",
            family="EKS node, cluster my-cluster, GuardDuty's EKS add-on runs here",
        ),
        incomplete=(),
        elapsed_ms=90,
        deadline_s=10.0,
        covered_elsewhere=reason,
    )


REPORTS = {
    "unhealthy": unhealthy,
    "undecided": undecided,
    "not-ec2": not_ec2,
    "covered-elsewhere": covered_elsewhere,
}


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


def test_text_is_wrapped_to_the_width_given_and_the_summary_line_is_not() -> None:
    """Every line but the summary fits the width, except a URL longer than the width, which
    stays whole on a line of its own; joining the wrapped lines again gives back every word;
    width None wraps nothing."""
    report = unhealthy()
    whole = render_text.render(report, width=None)
    for width in (60, 80, 100, 132):
        text = render_text.render(report, width=width)
        lines = text.splitlines()
        assert lines[0] == render_text.summary_line(report)
        too_long = [line for line in lines[1:] if len(line) > width]
        assert all(line.startswith("https://") and " " not in line for line in too_long)
        assert text.split() == whole.split()
    assert max(len(line) for line in whole.splitlines()[1:]) > 100
    lines = render_text.render(report).splitlines()
    assert [line for line in lines[1:] if len(line) > render_text.WIDTH] == []
    # A continuation hangs under the text it continues: the check's summary, the step's words.
    at = next(n for n, line in enumerate(lines) if "[FAIL] network.amazon_resolver:" in line)
    assert lines[at + 1].startswith(" " * 9) and lines[at + 1][9] != " "
    step = next(n for n, line in enumerate(lines) if line.startswith("    3. Read GuardDuty's"))
    assert lines[step + 1].startswith("https://") or lines[step + 1].startswith(" " * 7)


def test_text_width_below_the_minimum_is_the_minimum() -> None:
    narrow = render_text.render(unhealthy(), width=20)
    assert narrow == render_text.render(unhealthy(), width=render_text.MIN_WIDTH)
