"""What each command imports, observed in a real process: the modules loaded when it exits.
Start-up speed comes from not importing; these tests keep a module from creeping back onto a
path that does not use it (the timings themselves live in bench/, not in tests)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import List, Set

import pytest
from support import REPO, ROOTS, ImdsServer, doctor_env

# Run the CLI, and print the loaded module names when it leaves through os._exit.
PROBE = """
import os, sys
real_exit = os._exit
def report(code):
    sys.stderr.write("\\nMODULES " + " ".join(sorted(sys.modules)) + "\\n")
    sys.stderr.flush()
    real_exit(code)
os._exit = report
from amzn_gd_doctor.cli import main
main(sys.argv[1:])
"""


def loaded(*args: str, imds: bool = False) -> Set[str]:
    env = doctor_env() if imds else doctor_env(AWS_EC2_METADATA_DISABLED="true")
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        env=env,
        cwd=str(REPO),
        capture_output=True,
        text=True,
        timeout=60,
    )
    line = proc.stderr.rsplit("MODULES ", 1)[1]
    return set(line.split())


def tops(modules: Set[str]) -> Set[str]:
    return {m.split(".")[0] for m in modules}


def test_version_loads_no_cli_framework_and_no_typing() -> None:
    found = loaded("--version")
    assert not {"typer", "click", "typing", "amzn_gd_doctor.cli_app"} & found, found


@pytest.mark.parametrize("args", [["--help"], ["list"], ["explain", "kernel_lower"]])
def test_help_and_catalogue_commands_load_no_engine(args: List[str]) -> None:
    found = loaded(*args)
    unused = {"amzn_gd_doctor.doctor", "amzn_gd_doctor.host", "requests", "dns", "psutil", "ssl"}
    unused |= {"pkgutil", "amzn_gd_doctor.registry", "amzn_gd_doctor.probing"}
    unused |= {"amzn_gd_doctor.answers", "amzn_gd_doctor.facts"}
    assert not unused & (found | tops(found)), unused & (found | tops(found))


def test_check_keeps_requests_and_dnspython_off_the_path(imds_server: ImdsServer) -> None:
    """IMDS over plain HTTP is read from a socket, and DNS that gets a reply is read by the
    standard library: neither needs requests, http.client (email, ssl) or dnspython."""
    found = loaded(
        "check",
        "--root",
        str(ROOTS / "al2023-6.1"),
        "--imds-endpoint",
        imds_server.url,
        "--dns-server",
        "127.0.0.1:9",
        "--format",
        "json",
        imds=True,
    )
    assert "amzn_gd_doctor.probes.imds" in found and "amzn_gd_doctor.host.http" in found
    unused = {"requests", "urllib3", "dns", "dataclasses", "http", "email", "ssl"} & tops(found)
    assert not unused, unused


def test_the_probe_harness_sees_the_report() -> None:
    """The harness above prints after the command's own output, which stays intact."""
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, "list", "--format", "json"],
        env=doctor_env(),
        cwd=str(REPO),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0
    assert len(json.loads(proc.stdout)) >= 17


def test_fact_modules_import_no_probe_no_rule_and_nothing_costly() -> None:
    """Every area imports the value classes of every other: importing them must not pull in
    another area's probes, the rules, the host, or a third-party library."""
    code = (
        "import sys\n"
        "before = set(sys.modules)\n"
        "import amzn_gd_doctor.facts.agent, amzn_gd_doctor.facts.imds\n"
        "import amzn_gd_doctor.facts.network, amzn_gd_doctor.facts.platform\n"
        "import amzn_gd_doctor.facts.ssm\n"
        "print(' '.join(sorted(set(sys.modules) - before)))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        env=doctor_env(),
        cwd=str(REPO),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    ours = sorted(m for m in proc.stdout.split() if m.startswith("amzn_gd_doctor"))
    assert ours == [
        "amzn_gd_doctor",
        "amzn_gd_doctor.facts",
        "amzn_gd_doctor.facts.agent",
        "amzn_gd_doctor.facts.causes",  # the error groups the agent's and SSM's logs hold
        "amzn_gd_doctor.facts.imds",
        "amzn_gd_doctor.facts.network",
        "amzn_gd_doctor.facts.platform",
        "amzn_gd_doctor.facts.ssm",
        "amzn_gd_doctor.values",
    ]
    costly = {"requests", "urllib3", "dns", "psutil", "ssl", "socket", "json", "dataclasses"}
    assert not costly & tops(set(proc.stdout.split()))


def _loaded_by_importing(package: str) -> Set[str]:
    """The package's modules loaded by importing every module of ``package``, as the registry
    does, in a fresh process: what lint-imports reads from the source, seen at run time."""
    code = (
        "import importlib, pkgutil, sys\n"
        f"pkg = importlib.import_module({package!r})\n"
        "for info in pkgutil.iter_modules(pkg.__path__):\n"
        f"    importlib.import_module({package!r} + '.' + info.name)\n"
        "print(' '.join(sorted(sys.modules)))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        env=doctor_env(),
        cwd=str(REPO),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return {m for m in proc.stdout.split() if m.startswith("amzn_gd_doctor")}


ENGINE = {"amzn_gd_doctor.doctor", "amzn_gd_doctor.summary", "amzn_gd_doctor.evidence"}


def test_rules_load_no_host_no_probe_and_no_engine() -> None:
    """Rules import facts, the model and the catalogue: the constants and helpers they quote
    (the agent's unit name, the FIPS endpoint kind, a DNS answer described) live in facts/."""
    found = _loaded_by_importing("amzn_gd_doctor.rules")
    assert "amzn_gd_doctor.rules.network" in found and "amzn_gd_doctor.registry" in found
    lower = ("amzn_gd_doctor.host", "amzn_gd_doctor.probes", "amzn_gd_doctor.probing")
    below = {m for m in found if m.startswith(lower)}
    assert not below | (ENGINE & found), below | (ENGINE & found)


def test_probes_load_no_engine_and_no_rule() -> None:
    """Probes register through probing.py, which sits below the engine."""
    found = _loaded_by_importing("amzn_gd_doctor.probes")
    assert {"amzn_gd_doctor.probing", "amzn_gd_doctor.host"} <= found
    above = {m for m in found if m.startswith("amzn_gd_doctor.rules")} | (ENGINE & found)
    assert not above, above


EVIDENCE = {"amzn_gd_doctor.host.recorded", "amzn_gd_doctor.bundle", "amzn_gd_doctor.evidence"}


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["collect", "--help"]])
def test_help_loads_no_bundle_code(args: List[str]) -> None:
    found = loaded(*args)
    assert not (EVIDENCE | {"amzn_gd_doctor.doctor", "tarfile", "gzip"}) & found


def test_check_loads_no_bundle_code() -> None:
    found = loaded("check", "--root", str(ROOTS / "al2023-6.1"), "--dns-server", "127.0.0.1:9")
    assert "amzn_gd_doctor.doctor" in found
    assert not (EVIDENCE | {"tarfile", "gzip"}) & found, EVIDENCE & found


def test_collect_loads_the_engine_and_the_recording(tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "b.tar.gz"
    found = loaded("collect", "-o", str(out), "--root", str(ROOTS / "al2023-6.1"))
    assert {"amzn_gd_doctor.doctor", "amzn_gd_doctor.host.recorded", "tarfile"} <= found
    assert out.exists()
