"""A private mount and network namespace that looks like an EC2 instance from the inside:
loopback up, 169.254.169.254 on it with an IMDSv2 simulator on port 80, a tmpfs on /var/tmp,
and /etc overlaid so that files can be added without touching the host. Nothing leaves the
namespace: it has no interface but loopback.
"""

import argparse
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import List, Optional

IMDS_ADDRESS = "169.254.169.254"
SCRATCH = Path("/var/tmp")


def sh(*argv: str) -> None:
    subprocess.run(argv, check=True)


def in_namespace(parser: argparse.ArgumentParser, script: str, argv: List[str]) -> int:
    """Run ``script --inside ARGV`` in new mount and network namespaces (needs root)."""
    if os.geteuid() != 0:
        parser.error("needs root: it makes a private mount and network namespace")
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        parser.error("needs unshare (util-linux) and ip (iproute2)")
    command = ["unshare", "--mount", "--net", "--propagation", "private"]
    return subprocess.run([*command, sys.executable, script, *argv], check=False).returncode


def prepare_namespace(lsb_release: Optional[str] = None) -> None:
    """Only ever called inside the private namespaces: every change here dies with them."""
    sh("ip", "link", "set", "lo", "up")
    sh("ip", "addr", "add", f"{IMDS_ADDRESS}/32", "dev", "lo")
    sh("mount", "-t", "tmpfs", "-o", "mode=1777", "tmpfs", str(SCRATCH))
    upper, work = SCRATCH / ".etc-upper", SCRATCH / ".etc-work"
    upper.mkdir()
    work.mkdir()
    options = f"lowerdir=/etc,upperdir={upper},workdir={work}"
    sh("mount", "-t", "overlay", "overlay", "-o", options, "/etc")
    if lsb_release is not None:
        Path("/etc/lsb-release").write_text(lsb_release)


def start_imds() -> None:
    """The test suite's IMDSv2 server on 169.254.169.254:80 (it writes headers and body
    apart, as a real one may), with the paths EC2Rescue also asks for."""
    from support import ImdsServer, _ImdsHandler, _ImdsHTTPServer

    httpd = _ImdsHTTPServer((IMDS_ADDRESS, 80), _ImdsHandler)
    httpd.imds = ImdsServer(port=80)
    httpd.imds.overrides.update(
        {
            "/latest/meta-data/instance-id": (200, b"i-0123456789abcdef0"),
            "/latest/meta-data/profile": (200, b"default-hvm"),
        }
    )
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
