"""Host text made safe to print: every probe that keeps text read from the host (logs,
journal, unit files, network errors, certificate names) passes it through ``clean``, so no
escape sequence or control character reaches a terminal or a report."""

from . import lazy_re

# Longest piece of host text put in a summary or evidence line by default.
EXCERPT_CHARS = 240

# CSI (ESC [ ... final), OSC (ESC ] ... BEL or ST) and two-character ESC sequences.
_ESCAPE_RE = lazy_re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b.")


def clean(text: str, limit: int = EXCERPT_CHARS) -> str:
    """Escape sequences dropped, other control characters shown as ``\\xNN``, cut to
    ``limit`` characters: ``"\\x1b[31mred\\x07"`` -> ``"red\\x07"``."""
    text = _ESCAPE_RE.sub("", str(text))
    out = "".join(ch if ch.isprintable() else f"\\x{ord(ch) & 0xFF:02x}" for ch in text)
    return out if len(out) <= limit else out[: limit - 3] + "..."
