"""Names the GuardDuty agent probes share, and size and duration formatting for their values.

Registers no probe. Reads nothing by itself.
"""

import re
from typing import Optional

from .. import lazy_re

PACKAGE = "amazon-guardduty-agent"
UNIT = "amazon-guardduty-agent.service"
LOG_DIR = "/var/log/amzn-guardduty-agent"
# The kernel keeps 15 characters of a process name (comm): the agent shows as amazon-guarddut
# in /proc and in OOM-killer lines, whatever its binary is called.
PROCESS_PREFIX = "amazon-guarddut"
# dpkg-query, rpm and systemctl answer in tens of milliseconds; 3 s allows for a loaded host
# without eating the run's deadline.
COMMAND_TIMEOUT_S = 3.0
UNIT_DIRS = (
    "/etc/systemd/system",
    "/run/systemd/system",
    "/usr/lib/systemd/system",
    "/lib/systemd/system",
)

_SIZE_RE = lazy_re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGTPE]?)(?:i?B)?\s*$", re.IGNORECASE)
_UNITS = "KMGTPE"


def parse_size(text: str) -> "Optional[int]":
    """systemd sizes: ``134217728``, ``128M``, ``256MB``, ``1G`` -> bytes (base 1024);
    ``infinity``, empty, ``[not set]`` or junk -> None."""
    match = _SIZE_RE.match(text or "")
    if not match:
        return None
    value = float(match[1])
    if match[2]:
        value *= 1024 ** (_UNITS.index(match[2].upper()) + 1)
    return int(value)


def fmt_bytes(value: "Optional[int]") -> str:
    """134217728 -> ``128M``; 33554432 -> ``32M``; 65536 -> ``64K``; None -> ``unlimited``."""
    if value is None:
        return "unlimited"
    for power, unit in ((4, "T"), (3, "G"), (2, "M"), (1, "K")):
        size = 1024**power
        if value >= size:
            shown = value / size
            return f"{shown:.0f}{unit}" if shown == int(shown) else f"{shown:.1f}{unit}"
    return f"{value}B"
