"""The host's own resolver path, for real, in a network namespace the test creates
(`unshare -n -m`): /etc/resolv.conf is bind-mounted to point at a DNS server on 127.0.0.1:53,
getaddrinfo is used, and the Amazon resolver 169.254.169.253 has no route (only loopback
exists), so nothing can leave the namespace."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict

import pytest

from .conftest import LINK_LOCAL, STANDARD

SCRIPT = Path(__file__).resolve().parent / "netns_scenario.py"


def run_in_namespace(tmp_path: Path, answer: str) -> Dict[str, Any]:
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        pytest.skip("unshare (util-linux) or ip (iproute2) is missing")
    probe = subprocess.run(["unshare", "-n", "-m", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("unshare -n -m (network and mount namespaces) is not permitted here")
    resolv = tmp_path / "resolv.conf"
    resolv.write_text("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
    shell = (
        f"ip link set lo up && mount --bind {resolv} /etc/resolv.conf && "
        f"exec {sys.executable} {SCRIPT} {answer}"
    )
    proc = subprocess.run(
        ["unshare", "-n", "-m", "--propagation", "private", "sh", "-c", shell],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 0, proc.stderr
    return dict(json.loads(proc.stdout))


def test_public_answer_with_silent_amazon_resolver(tmp_path: Path) -> None:
    out = run_in_namespace(tmp_path, "52.94.4.10")
    answers = {(s, n): (st, a) for s, n, st, a in out["answers"]}
    assert answers[("127.0.0.1", STANDARD)] == ("answer", ["52.94.4.10"])
    assert answers[("system resolver", STANDARD)] == ("answer", ["52.94.4.10"])
    assert answers[("169.254.169.253", STANDARD)][0] == "unreachable"
    assert answers[("system resolver", LINK_LOCAL)][0] == "nxdomain"
    f = out["findings"]
    assert f["network.resolver_configured"][3] == (
        "1 nameserver(s) in /etc/resolv.conf (127.0.0.1); asking 2 resolver(s) in all."
    )
    assert f["network.dns_private"][:2] == ["fail", "no_agent_reporting"]
    assert f["network.dns_private"][3].startswith(
        f"the endpoint name {STANDARD} resolves to public 52.94.4.10 from system resolver"
    )
    assert f["network.amazon_resolver"][:3] == ["fail", "vpce_private_dns_attributes", "suspected"]
    assert f["network.tcp_reachable"][3] == (
        'not checked: it depends on the check "Endpoint name resolves to private addresses in '
        'the VPC", which failed'
    )


def test_private_answer_through_the_system_resolver(tmp_path: Path) -> None:
    out = run_in_namespace(tmp_path, "127.0.0.10")
    f = out["findings"]
    assert f["network.dns_private"][0] == "pass"
    assert f["network.amazon_resolver"][0] == "warn"
    assert f["network.amazon_resolver"][3].endswith(
        f"this host still resolves {STANDARD} privately through system resolver."
    )
