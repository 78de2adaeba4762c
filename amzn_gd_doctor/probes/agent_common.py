"""Names the GuardDuty agent probes share, and size and duration formatting for their values.

Registers no probe. Reads nothing by itself.
"""

import re
from typing import Optional

from .. import lazy_re
from ..numbers import MAX_DIGITS, SIZE_ABSURD

PACKAGE = "amazon-guardduty-agent"
UNIT = "amazon-guardduty-agent.service"
LOG_DIR = "/var/log/amzn-guardduty-agent"
# The kernel keeps 15 characters of a process name (comm): the agent shows as amazon-guarddut
# in /proc and in OOM-killer lines, whatever its binary is called.
PROCESS_PREFIX = "amazon-guarddut"
# dpkg-query, rpm and systemctl answer in tens of milliseconds; 3 s allows for a loaded host
# without eating the run's deadline.
COMMAND_TIMEOUT_S = 3.0
ABSURD_SHOWN = "unlimited or absurd (2^63 bytes or more)"
UNIT_DIRS = (
    "/etc/systemd/system",
    "/run/systemd/system",
    "/usr/lib/systemd/system",
    "/lib/systemd/system",
)

_SIZE_RE = lazy_re.compile(
    r"^\s*([0-9]+)(?:\.([0-9]+))?\s*([KMGTPE]?)(?:i?B)?\s*$", re.IGNORECASE | re.ASCII
)
_UNITS = "KMGTPE"
# A fraction of a size past nine digits changes nothing a report shows.
_FRACTION_DIGITS = 9


def parse_size(text: str) -> "Optional[int]":
    """systemd sizes: ``134217728``, ``128M``, ``1.5G``, ``256MB`` -> bytes (base 1024);
    2^63 bytes or more, however many digits -> SIZE_ABSURD; ``infinity``, empty,
    ``[not set]``, junk or non-ASCII digits -> None."""
    match = _SIZE_RE.match(text or "")
    if not match:
        return None
    whole = match[1].lstrip("0") or "0"
    if len(whole) > MAX_DIGITS:
        return SIZE_ABSURD
    scale = 1024 ** (_UNITS.index(match[3].upper()) + 1) if match[3] else 1
    value = int(whole) * scale
    if match[2]:
        fraction = match[2][:_FRACTION_DIGITS]
        value += int(fraction) * scale // 10 ** len(fraction)
    return min(value, SIZE_ABSURD)


def fmt_bytes(value: "Optional[int]") -> str:
    """134217728 -> ``128M``; 33554432 -> ``32M``; 65536 -> ``64K``; None -> ``unlimited``;
    SIZE_ABSURD or more -> ``unlimited or absurd (2^63 bytes or more)``."""
    if value is None:
        return "unlimited"
    if value >= SIZE_ABSURD:
        return ABSURD_SHOWN
    for power, unit in ((4, "T"), (3, "G"), (2, "M"), (1, "K")):
        size = 1024**power
        if value >= size:
            shown = value / size
            return f"{shown:.0f}{unit}" if shown == int(shown) else f"{shown:.1f}{unit}"
    return f"{value}B"
