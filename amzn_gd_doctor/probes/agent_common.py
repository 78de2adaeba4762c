"""Names the GuardDuty agent probes share, and the parser of systemd sizes.

Registers no probe. Reads nothing by itself.
"""

import re
from typing import Optional

from .. import lazy_re
from ..numbers import MAX_DIGITS, SIZE_ABSURD

# The kernel keeps 15 characters of a process name (comm): the agent shows as amazon-guarddut
# in /proc and in OOM-killer lines, whatever its binary is called.
PROCESS_PREFIX = "amazon-guarddut"
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
