"""The doctor against a real systemd: stand-in agent units booted in a systemd-nspawn container.

Nothing is mocked here: systemd (PID 1 of the container) runs the units, restarts and kills
them, and the doctor reads the result the way it does on an instance. The agent itself is a
stand-in (fixtures/e2e/standin_agent.py): the real one cannot run without AWS.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from amzn_gd_doctor.render.json import SCHEMA_VERSION

pytestmark = pytest.mark.nspawn

UNIT = "amazon-guardduty-agent.service"

# The stand-in unit restarts every second; three restarts prove a loop in about 4 s.
MIN_RESTARTS = 3
# Time for three one-second restarts plus the interpreter start-ups in between.
LOOP_TIMEOUT_S = 20.0
# The rules' k: restarts in the last 10 minutes that make a unit flapping.
FLAP_RESTARTS = 2


def test_container_boots_systemd_with_only_loopback(container: Any) -> None:
    assert container.path("/proc/1/comm").read_text() == "systemd\n"
    assert container.run(["systemctl", "is-system-running"], check=False).stdout.strip() in (
        "running",
        "degraded",
    )
    assert container.run(["systemd-detect-virt", "--container"]).stdout == "systemd-nspawn\n"
    assert sorted(p.name for p in container.path("/sys/class/net").iterdir()) == ["lo"]
    # The repository is bound read-only: the doctor under test cannot write to it.
    probe = container.run(
        ["touch", str(Path(__file__).parent / "written-by-container")], check=False
    )
    assert probe.returncode != 0 and "Read-only file system" in probe.stderr


def test_running_agent_unit(container: Any) -> None:
    container.install_agent("running")
    container.wait_for(
        f"{UNIT} running", lambda: container.agent("SubState")["SubState"] == "running"
    )
    state = container.agent("ActiveState", "SubState", "Result", "NRestarts", "MainPID")
    assert state["ActiveState"] == "active" and state["Result"] == "success"
    assert state["NRestarts"] == "0"
    pid = state["MainPID"]
    assert container.path(f"/proc/{pid}/comm").read_text() == "amazon-guarddut\n"  # 15 chars
    argv0 = container.path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0]
    assert argv0 == b"/opt/amazon-guardduty/bin/amazon-guardduty"
    package = container.run(
        ["dpkg-query", "-W", "-f", "${Status} ${Version}", "amazon-guardduty-agent"]
    ).stdout
    assert package == "install ok installed 1.17.1"
    assert container.agent("UnitFileState") == {"UnitFileState": "enabled"}

    facts = container.facts()
    unit = facts["agent.unit"]["value"]
    assert (
        unit["load_state"],
        unit["active_state"],
        unit["sub_state"],
        unit["result"],
        unit["n_restarts"],
        unit["main_pid"],
        unit["unit_file_state"],
        unit["fragment_path"],
    ) == (
        "loaded",
        "active",
        "running",
        "success",
        0,
        int(pid),
        "enabled",
        "/etc/systemd/system/amazon-guardduty-agent.service",
    )
    package_fact = facts["agent.package"]["value"]
    assert (package_fact["manager"], package_fact["state"], package_fact["version"]) == (
        "dpkg",
        "installed",
        "1.17.1",
    )
    process = facts["agent.process"]["value"]
    assert process["main_pid"] == int(pid)
    assert [(p["pid"], p["name"]) for p in process["processes"]] == [(int(pid), "amazon-guardduty")]

    run = container.doctor()
    assert outcomes(run) == {
        "agent.installed": "pass",
        "agent.unit_running": "pass",
        "agent.not_crash_looping": "pass",
        "agent.not_oom_killed": "pass",
        "agent.btf_errors": "pass",
        "agent.logs_clean": "pass",
        "agent.memlock": "not_applicable",  # this kernel is newer than 5.10
    }
    assert run.check("agent.installed")["summary"] == (
        "amazon-guardduty-agent 1.17.1 is installed (dpkg: install ok installed)."
    )
    summary = run.check("agent.unit_running")["summary"]
    assert summary.startswith("amazon-guardduty-agent.service is active (running) since ")
    assert summary.endswith(f", main pid {pid}.")
    assert run.check("agent.not_crash_looping")["summary"] == (
        "no restart loop (NRestarts=0, 0 restarts in the last hour)."
    )
    # Healthy agent; the verdict is undecided only because IMDS is off in the container.
    assert "agent_disconnected" not in [d["code"] for d in run.report["diagnoses"]]
    assert run.report["verdict"]["coverage_status"] == "UNKNOWN" and run.returncode == 3


def test_crash_looping_agent_unit(container: Any) -> None:
    container.install_agent("crashloop")
    container.wait_for(
        f"{UNIT} restarted {MIN_RESTARTS} times",
        lambda: int(container.agent("NRestarts")["NRestarts"]) >= MIN_RESTARTS,
        LOOP_TIMEOUT_S,
    )
    log = container.run(["journalctl", "-u", UNIT, "--no-pager", "-o", "cat"]).stdout
    assert (
        "amazon-guardduty stand-in: cannot reach guardduty-data.us-east-1.amazonaws.com: "
        "[Errno -3] Temporary failure in name resolution; exiting"
    ) in log
    assert "Main process exited, code=exited, status=1/FAILURE" in log
    assert "Scheduled restart job, restart counter is at" in log

    unit = container.facts()["agent.unit"]["value"]
    assert unit["n_restarts"] >= MIN_RESTARTS
    # Between two starts the unit is waiting out RestartSec; for a moment it runs again.
    assert (unit["active_state"], unit["sub_state"]) in (
        ("activating", "auto-restart"),
        ("active", "running"),
    )

    run = container.doctor()
    loop = run.check("agent.not_crash_looping")
    assert (loop["outcome"], loop["issue"]) == ("fail", "agent_disconnected")
    restarts = re.search(r"systemd restarted it (\d+) times \(NRestarts\)", loop["summary"])
    assert restarts and int(restarts.group(1)) >= MIN_RESTARTS, loop["summary"]
    assert "exits: exited, status=1/FAILURE" in loop["summary"]
    # The cause, from the journal: the lookup the stand-in really made and that really failed.
    assert "(dns_failure, " in loop["summary"]
    assert "Temporary failure in name resolution" in loop["summary"]
    # Restarting every second: disconnected whether this instant catches it up or waiting.
    running = run.check("agent.unit_running")
    assert (running["outcome"], running["issue"]) == ("fail", "agent_disconnected")
    assert running["summary"].startswith("the agent keeps restarting: systemd restarted it "), (
        running["summary"]
    )
    assert run.check("agent.installed")["outcome"] == "pass"
    assert run.report["verdict"]["code"] == "agent_disconnected"
    assert run.report["verdict"]["coverage_status"] == "UNHEALTHY" and run.returncode == 1


def test_oom_killed_agent_unit(container: Any) -> None:
    missing = container.memory_limits_unavailable()
    if missing:
        pytest.skip(missing)
    container.install_agent("oom")
    container.wait_for(
        f"{UNIT} failed",
        lambda: container.agent("ActiveState")["ActiveState"] == "failed",
        LOOP_TIMEOUT_S,
    )
    state = container.agent("Result", "MemoryMax", "ExecMainCode", "ExecMainStatus")
    assert state == {
        "Result": "oom-kill",
        "MemoryMax": str(16 * 1024 * 1024),
        "ExecMainCode": "2",
        "ExecMainStatus": "9",
    }
    log = container.run(["journalctl", "-u", UNIT, "--no-pager", "-o", "cat"]).stdout
    assert "A process of this unit has been killed by the OOM killer." in log
    assert "Failed with result 'oom-kill'." in log

    unit = container.facts()["agent.unit"]["value"]
    assert (unit["active_state"], unit["result"], unit["memory_max"]) == (
        "failed",
        "oom-kill",
        16 * 1024 * 1024,
    )

    run = container.doctor()
    oom = run.check("agent.not_oom_killed")
    assert (oom["outcome"], oom["issue"]) == ("fail", "agent_disconnected")
    assert "killed by the kernel OOM killer" in oom["summary"]
    assert "memory cap 16M" in oom["summary"]
    running = run.check("agent.unit_running")
    assert (running["outcome"], running["issue"]) == ("fail", "agent_disconnected")
    assert "is failed (failed), result oom-kill, 0 restarts" in running["summary"]
    assert run.report["verdict"]["code"] == "agent_disconnected" and run.returncode == 1


def test_sigkilled_agent_unit(container: Any) -> None:
    """What an OOM kill looks like where systemd cannot tell it (cgroup v1 hosts): the main
    process dies of SIGKILL and the result is 'signal'."""
    container.install_agent("sigkill")
    container.wait_for(
        f"{UNIT} failed",
        lambda: container.agent("ActiveState")["ActiveState"] == "failed",
        LOOP_TIMEOUT_S,
    )
    state = container.agent("Result", "ExecMainCode", "ExecMainStatus", "NRestarts")
    assert state == {
        "Result": "signal",
        "ExecMainCode": "2",
        "ExecMainStatus": "9",
        "NRestarts": "0",
    }
    log = container.run(["journalctl", "-u", UNIT, "--no-pager", "-o", "cat"]).stdout
    assert "Main process exited, code=killed, status=9/KILL" in log
    assert "Failed with result 'signal'." in log

    facts = container.facts()
    unit = facts["agent.unit"]["value"]
    assert (
        unit["active_state"],
        unit["result"],
        unit["exec_main_code"],
        unit["exec_main_status"],
    ) == ("failed", "signal", "killed", 9)
    assert facts["agent.process"]["value"]["processes"] == []

    run = container.doctor()
    running = run.check("agent.unit_running")
    assert (running["outcome"], running["issue"], running["summary"]) == (
        "fail",
        "agent_disconnected",
        "the agent's unit amazon-guardduty-agent.service is failed (failed), result signal, "
        "0 restarts: the agent is not running.",
    )
    # Without memory.events (cgroup v1) nothing tells this SIGKILL from an OOM kill; the
    # container's journal has no kernel messages either.
    assert run.check("agent.not_oom_killed")["outcome"] == "pass"
    assert run.check("agent.not_crash_looping")["outcome"] == "pass"
    assert run.report["verdict"]["code"] == "agent_disconnected" and run.returncode == 1


def test_flapping_agent_unit_gets_one_verdict_from_five_runs(container: Any) -> None:
    """A unit SIGKILLed over and over under MemoryMax=32M: five doctor runs, alternately while
    it runs and while it waits to restart, give the same verdict and the same check outcomes.

    Not a real memory-cap kill: in the sandbox these tests were written in, the cgroup v1
    memory controller is read-only inside the container, so MemoryMax= cannot kill. The
    stand-in SIGKILLs itself after 3 s (fixtures/e2e/memcap-loop.service), which is all systemd
    shows of an OOM kill on cgroup v1 (Result=signal, status=9/KILL); the cap is set in the unit
    so the doctor reads it, and the container's journal has no kernel lines, so the kill is a
    suspected memory-cap kill."""
    container.install_agent("memcap-loop")
    container.wait_for(
        f"{UNIT} restarted {FLAP_RESTARTS} times",
        lambda: int(container.agent("NRestarts")["NRestarts"]) >= FLAP_RESTARTS,
        LOOP_TIMEOUT_S,
    )
    assert container.agent("MemoryMax") == {"MemoryMax": str(32 * 1024 * 1024)}
    log = container.run(["journalctl", "-u", UNIT, "--no-pager", "-o", "cat"]).stdout
    assert "Main process exited, code=killed, status=9/KILL" in log
    assert "Failed with result 'signal'." in log
    expected = {
        # Likely: the loop makes the console's issue follow; the cap kill is only suspected.
        "verdict": ("UNHEALTHY", "agent_disconnected", "likely"),
        "outcomes": {
            "agent.installed": "pass",
            "agent.unit_running": "fail",
            "agent.not_crash_looping": "fail",
            "agent.not_oom_killed": "fail",
            "agent.btf_errors": "pass",
            "agent.logs_clean": "pass",
            "agent.memlock": "not_applicable",
        },
        "exit": 1,
    }
    instants = []
    for i in range(5):
        phase = "running" if i % 2 == 0 else "auto-restart"
        container.wait_for(
            f"{UNIT} {phase}",
            lambda phase=phase: container.agent("SubState")["SubState"] == phase,
            LOOP_TIMEOUT_S,
        )
        run = container.doctor()
        verdict = run.report["verdict"]
        seen = {
            "verdict": (verdict["coverage_status"], verdict["code"], verdict["confidence"]),
            "outcomes": outcomes(run),
            "exit": run.returncode,
        }
        assert seen == expected, f"run {i + 1} (started while {phase}): {seen}"
        oom = run.check("agent.not_oom_killed")["summary"]
        assert oom.startswith(
            "the agent's main process died of SIGKILL (killed, status=9/KILL) "
        ) and oom.endswith(
            " under its memory cap 32M, and no kernel OOM-killer line names it: "
            "most likely killed at the cap (on cgroup v1, or when the kernel's lines are not in "
            "the journal, an OOM kill shows only as SIGKILL)."
        ), oom
        instants.append(run.check("agent.unit_running")["summary"].split("at this instant ")[-1])
    print("agent.unit_running at each run:", instants)


def test_doctor_without_the_agent(container: Any) -> None:
    """A booted systemd without the package: the doctor says it is not installed."""
    run = container.doctor()
    assert run.report["schema_version"] == SCHEMA_VERSION
    assert run.fact("imds.identity")["status"] == "unsupported"  # IMDS off for the run
    installed = run.check("agent.installed")
    assert (installed["outcome"], installed["issue"]) == ("fail", "waiting_for_ssm_notification")
    assert installed["summary"].startswith(
        "amazon-guardduty-agent is not installed, and there is no SSM agent"
    )
    for rule_id in ("agent.unit_running", "agent.not_crash_looping", "agent.not_oom_killed"):
        assert run.check(rule_id)["outcome"] == "inconclusive"
        assert run.check(rule_id)["blocked_by"] == "agent.installed"
    assert run.returncode == 1


# The checks these runs are about: the agent's package, unit, journal and logs (not every check
# of the agent area, so that a new one, such as Bottlerocket's host container, changes nothing).
ABOUT = (
    "agent.installed",
    "agent.unit_running",
    "agent.not_crash_looping",
    "agent.not_oom_killed",
    "agent.btf_errors",
    "agent.logs_clean",
    "agent.memlock",
)


def outcomes(run: Any) -> dict:
    return {c["id"]: c["outcome"] for c in run.report["checks"] if c["id"] in ABOUT}
