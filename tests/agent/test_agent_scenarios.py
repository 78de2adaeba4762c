"""Agent --root scenarios end to end (doctor.run over every fixtures/roots/agent-* tree with the
agent's probes and rules, real journal files made from fixtures/agent/journal/, the report
rendered as JSON and checked against what the tree's expectation file declares), bad input on
disk, and root-only files read without the privilege to read them."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List

import pytest
from scenarios import area_run_expectation, assert_declared, trees_of
from support import DROP_READ_CAPS, doctor_env, run_cli

from amzn_gd_doctor import doctor, registry
from amzn_gd_doctor.facts.agent import AgentLogs
from amzn_gd_doctor.host import LiveHost
from amzn_gd_doctor.model import FactStatus, Outcome, Report
from amzn_gd_doctor.render import json as render_json
from amzn_gd_doctor.render import text as render_text

from .conftest import (
    AGENT_FIXTURES,
    REPO,
    ROOTS,
    findings,
    needs_systemd_python,
    run_agent_area,
)

LOG = "var/log/amzn-guardduty-agent/agent.log"


def as_json(report: Report, root: Path) -> Dict[str, object]:
    """The JSON report, with the tree's temporary path written `<ROOT>`."""
    return dict(json.loads(render_json.render(report).replace(str(root), "<ROOT>")))


def checks_of(report: Report, root: Path) -> List[Dict[str, object]]:
    """Every check as the JSON report shows it, but how long it took."""
    checks = as_json(report, root)["checks"]
    assert isinstance(checks, list)
    return [{k: v for k, v in c.items() if k != "duration_ms"} for c in checks]


@pytest.mark.parametrize("name", trees_of("agent"))
def test_root_scenario(agent_tree: Callable[[str], Path], name: str) -> None:
    """What the agent area alone concludes over the tree (`area_run` in its expectation file),
    and the outcomes and summary words of the agent checks it declares; its failing agent checks
    are exactly the declared ones."""
    expected = area_run_expectation(name)
    root = agent_tree(name)
    report = run_agent_area(root)
    assert all(f.outcome is not Outcome.CRASH for f in report.findings)
    assert_declared(as_json(report, root), expected, area="agent")
    diagnoses = expected["diagnoses"]
    assert isinstance(diagnoses, list)
    primary = diagnoses[0]["code"] if diagnoses else None
    assert (report.primary.issue.code if report.primary else None) == primary


@needs_systemd_python
@pytest.mark.parametrize("name", ["agent-restart-loop", "agent-oom", "agent-btf", "agent-dns"])
def test_journalctl_fallback_gives_the_same_report(
    agent_tree: Callable[[str], Path], name: str
) -> None:
    root = agent_tree(name)
    by_reader = checks_of(run_agent_area(root, backends=("systemd-python",)), root)
    by_journalctl = checks_of(run_agent_area(root, backends=("journalctl",)), root)
    assert by_reader == by_journalctl


def test_summaries_name_and_count_the_cause(agent_tree: Callable[[str], Path]) -> None:
    oom = findings(run_agent_area(agent_tree("agent-oom")))["agent.not_oom_killed"]
    assert oom.summary == (
        "the agent was killed by the kernel OOM killer 4 times in the last "
        "hour (5 in 24 h); each time at its memory cap 128M."
    )
    assert "raise" in oom.fix[0].lower() and "MemoryMax" in oom.fix[0]
    denied = findings(run_agent_area(agent_tree("agent-access-denied")))["agent.logs_clean"]
    assert "SendSecurityTelemetry" in denied.summary and "service control polic" in denied.fix[0]
    memlock = findings(run_agent_area(agent_tree("agent-memlock")))["agent.memlock"]
    assert "Max locked memory is soft 64K, hard 64K (the running agent (pid 2540))" in (
        memlock.summary
    )


# -- bad input ----------------------------------------------------------------------------------
def test_two_gigabyte_sparse_log_is_read_from_its_tail(agent_tree: Callable[[str], Path]) -> None:
    root = agent_tree("agent-healthy")
    log = root / LOG
    with open(log, "r+b") as fh:
        fh.truncate(2 * 1024**3)  # a hole of NULs: costs nothing on disk
        fh.seek(0, os.SEEK_END)
        fh.write(b"2026-11-20T11:59:59Z ERROR dial tcp 10.0.1.5:443: connect: connection refused\n")
    started = time.monotonic()
    report = run_agent_area(root)
    assert time.monotonic() - started < 5
    logs_fact = {f.probe_id: f for f in report.facts}["agent.logs"]
    assert logs_fact.duration_ms < 1000
    value = logs_fact.value
    assert isinstance(value, AgentLogs) and value.lines == 1
    assert value.files[0].bytes_read == 512 * 1024
    f = findings(report)["agent.logs_clean"]
    assert f.outcome is Outcome.FAIL and "connection_refused" in f.summary


def test_sparse_log_of_nothing_but_nuls(agent_tree: Callable[[str], Path]) -> None:
    root = agent_tree("agent-healthy")
    with open(root / LOG, "wb") as fh:
        fh.truncate(2 * 1024**3)
    f = findings(run_agent_area(root))["agent.logs_clean"]
    assert f.outcome is Outcome.PASS


def test_hostile_log_never_reaches_the_terminal(agent_tree: Callable[[str], Path]) -> None:
    root = agent_tree("agent-healthy")
    shutil.copyfile(AGENT_FIXTURES / "logs/hostile.log", root / LOG)
    report = run_agent_area(root)
    f = findings(report)["agent.logs_clean"]
    assert f.outcome is Outcome.FAIL and "connection refused" in f.summary
    text = render_text.render(report, verbose=True)
    as_json = render_json.render(report)
    for out in (text, as_json, json.dumps(json.loads(as_json))):
        assert "\x1b" not in out and "\x07" not in out and "\x00" not in out and "\x9b" not in out
    assert "\x1b" not in str(json.loads(as_json))


def test_rotated_gzip_logs_are_read(agent_tree: Callable[[str], Path]) -> None:
    root = agent_tree("agent-healthy")
    rotated = root / "var/log/amzn-guardduty-agent/agent.log.1.gz"
    rotated.write_bytes(gzip.compress((AGENT_FIXTURES / "logs/glog-dns.log").read_bytes()))
    os.utime(rotated, (1, 1))  # older than the current file
    (root / "var/log/amzn-guardduty-agent/agent.log.2.gz").write_bytes(b"not gzip")
    os.utime(root / "var/log/amzn-guardduty-agent/agent.log.2.gz", (0, 0))
    report = run_agent_area(root)
    value = {f.probe_id: f for f in report.facts}["agent.logs"].value
    assert [f.name for f in value.files] == ["agent.log", "agent.log.1.gz", "agent.log.2.gz"]
    assert value.files[2].error == "not a valid gzip file"
    assert {h.name for h in value.phrases} == {"dns_failure"}
    assert findings(report)["agent.logs_clean"].outcome is Outcome.FAIL


def test_huge_dpkg_status_and_unit_files_stay_bounded(agent_tree: Callable[[str], Path]) -> None:
    root = agent_tree("agent-healthy")
    unit = root / "lib/systemd/system/amazon-guardduty-agent.service"
    with open(unit, "ab") as fh:
        fh.write(b"\x00\xff" * 100_000)
    report = run_agent_area(root)
    assert findings(report)["agent.installed"].outcome is Outcome.PASS
    assert all(f.outcome is not Outcome.CRASH for f in report.findings)


# -- live host in this sandbox ------------------------------------------------------------------
@pytest.mark.skipif(os.path.isdir("/run/systemd/system"), reason="systemd runs as PID 1 here")
def test_live_host_without_systemd_is_its_own_status() -> None:
    probes, rules = registry.load()
    picked = {k: probes[k] for k in ("agent.unit", "agent.package", "agent.process")}
    host = LiveHost(env={"AWS_EC2_METADATA_DISABLED": "true"})
    facts = doctor.collect(host, doctor.Options(), picked, time.monotonic() + 15)
    unit = facts["agent.unit"]
    assert unit.status is FactStatus.OK and unit.value.systemd == "not-running"
    verdict = rules["agent.unit_running"].fn(unit.value, None, facts["agent.process"].value)
    assert verdict.outcome is Outcome.INCONCLUSIVE and "not running as PID 1" in verdict.summary
    assert facts["agent.package"].status is FactStatus.OK  # real dpkg-query or rpm answered
    assert facts["agent.process"].value.processes == ()


@pytest.mark.corpus
def test_cli_reports_agent_checks_for_a_root_tree() -> None:
    res = run_cli(
        "check",
        "--format",
        "json",
        "--root",
        str(ROOTS / "agent-half-configured"),
        "--dns-server",
        "127.0.0.1:9",
    )
    checks = {c["id"]: c for c in res.json()["checks"]}
    assert checks["agent.installed"]["outcome"] == "fail"
    assert checks["agent.installed"]["issue"] == "no_agent_reporting"
    assert res.returncode == 1


# -- root-only files without the privilege to read them -----------------------------------------
PROBE_SCRIPT = """
import json, sys
sys.path.insert(0, {tests!r})
from agent.conftest import run_agent_area
backends = tuple(sys.argv[2].split(",")) if len(sys.argv) > 2 else None
report = run_agent_area(__import__("pathlib").Path(sys.argv[1]), backends=backends)
print(json.dumps({{"findings": {{f.rule_id: [f.outcome.value, f.summary] for f in report.findings}},
                  "facts": {{f.probe_id: [f.status.value, f.reason] for f in report.facts}}}}))
"""


def run_without_read_caps(root: Path, *backends: str) -> dict:
    proc = subprocess.run(
        DROP_READ_CAPS
        + [sys.executable, "-c", PROBE_SCRIPT.format(tests=str(REPO / "tests")), str(root)]
        + ([",".join(backends)] if backends else []),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=str(REPO),
        env=doctor_env(AWS_EC2_METADATA_DISABLED="true"),
    )
    assert proc.returncode == 0, proc.stderr
    return dict(json.loads(proc.stdout))


needs_setpriv = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None,
    reason="needs root and setpriv (util-linux) to drop the read capabilities",
)


@needs_setpriv
def test_root_only_files_without_privilege_are_inconclusive(
    agent_tree: Callable[[str], Path],
) -> None:
    root = agent_tree("agent-restart-loop")
    journal = next((root / "var/log/journal").rglob("*.journal"))
    for path in (root / LOG, journal):
        os.chmod(path, 0)
    result = run_without_read_caps(root)
    status, reason = result["facts"]["agent.logs"]
    assert status == "error" and "permission denied reading" in reason
    assert "`sudo tail -n 200 /var/log/amzn-guardduty-agent/*`" in reason
    status, reason = result["facts"]["agent.journal"]
    assert status == "error" and "permission denied (run as root" in reason
    for rule in ("agent.logs_clean", "agent.btf_errors", "agent.not_crash_looping"):
        outcome, summary = result["findings"][rule]
        assert outcome == "inconclusive" and "run by hand" in summary
    assert result["findings"]["agent.installed"][0] == "pass"  # dpkg status is world-readable


@needs_setpriv
def test_journalctl_without_privilege_says_permission_denied(
    agent_tree: Callable[[str], Path],
) -> None:
    """The real journalctl, on journal files it may not read, exits 1 with "No journal files
    were opened due to insufficient permissions.": the fact names the privilege."""
    root = agent_tree("agent-restart-loop")
    for journal in (root / "var/log/journal").rglob("*.journal"):
        os.chmod(journal, 0)
    result = run_without_read_caps(root, "journalctl")
    assert result["facts"]["agent.journal"] == [
        "error",
        "permission denied (run as root): journalctl: No journal files were opened due to "
        "insufficient permissions.",
    ]
    assert result["findings"]["agent.not_crash_looping"] == [
        "inconclusive",
        "the restart count is unknown (no systemd unit state and no readable journal); run by "
        "hand: `systemctl show -p NRestarts amazon-guardduty-agent` and `sudo journalctl -u "
        "amazon-guardduty-agent --since -24h | grep -c 'Scheduled restart'`.",
    ]


@needs_setpriv
def test_root_only_log_directory_without_privilege(agent_tree: Callable[[str], Path]) -> None:
    root = agent_tree("agent-healthy")
    os.chmod(root / "var/log/amzn-guardduty-agent", 0)
    try:
        result = run_without_read_caps(root)
    finally:
        os.chmod(root / "var/log/amzn-guardduty-agent", 0o755)
    status, reason = result["facts"]["agent.logs"]
    assert status == "error" and reason.startswith("permission denied reading")
    assert result["findings"]["agent.logs_clean"][0] == "pass"  # the journal still tells
