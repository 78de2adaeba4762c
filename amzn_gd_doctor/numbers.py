"""Numbers as a host writes them (in /proc, systemd properties, journal fields): ASCII digits
only, and bounded, so hostile input never turns into a huge int; and sizes as a report shows
them. Cheap to import from any area.
"""

from typing import Optional

# A size at or past 2^63 bytes (8 EiB) is no real limit: the kernel's and systemd's "infinity"
# is 2^64-1 and is said as such, and anything else that large is a typo or hostile input. Such
# a value is kept as this one number and never converted from its digits: int() of thousands of
# digits is refused past 4300 on newer Pythons, and a huge int overflows float division.
SIZE_ABSURD = 2**63
# 2^63 has 19 digits; a count (pid, restarts, clock ticks) longer than that is not one.
MAX_DIGITS = 19
# How fmt_bytes shows a size at or past SIZE_ABSURD.
ABSURD_SHOWN = "unlimited or absurd (2^63 bytes or more)"


def ascii_digits(text: str) -> bool:
    """Whether ``text`` is one or more ASCII digits. ``str.isdigit()`` also takes ``"²"`` (which
    int() then refuses) and ``"٣"`` (which int() reads as 3): neither is a number a host writes."""
    return bool(text) and all("0" <= c <= "9" for c in text)


def parse_count(text: str) -> "Optional[int]":
    """``"42"`` -> 42; not ASCII digits, or longer than MAX_DIGITS -> None."""
    text = text.strip()
    if not ascii_digits(text) or len(text) > MAX_DIGITS:
        return None
    return int(text)


def parse_bytes(text: str) -> "Optional[int]":
    """``"65536"`` -> 65536; 2^63 or more (however many digits) -> SIZE_ABSURD; not ASCII
    digits -> None."""
    text = text.strip()
    if not ascii_digits(text):
        return None
    significant = text.lstrip("0") or "0"
    if len(significant) > MAX_DIGITS:
        return SIZE_ABSURD
    return min(int(significant), SIZE_ABSURD)


def parse_limit_value(text: str) -> "Optional[int]":
    """``65536`` -> 65536; ``unlimited`` -> None; a 4000-digit number -> SIZE_ABSURD."""
    if text == "unlimited":
        return None
    value = parse_bytes(text)
    if value is None:
        raise ValueError(f"not a limit: {text[:20]!r}")
    return value


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
