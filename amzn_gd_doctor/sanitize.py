"""Host text made safe to print: every probe that keeps text read from the host (logs,
journal, unit files, network errors, certificate names) passes it through ``clean``, so no
escape sequence or control character reaches a terminal or a report."""

from . import lazy_re

# Longest piece of host text put in a summary or evidence line by default.
EXCERPT_CHARS = 240

# CSI (ESC [ ... final), OSC (ESC ] ... BEL or ST) and two-character ESC sequences.
_ESCAPE_RE = lazy_re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b.")


def printable(text: object) -> str:
    """What every output format shows of a string: printable characters kept, newlines and
    tabs as spaces, any other control or format character (ESC, U+009B, U+202E) as its
    visible escape (``\\x1b``, ``\\x9b``, ``\\u202e``)."""
    out = []
    for ch in str(text):
        if ch.isprintable() or ch == " ":
            out.append(ch)
        elif ch in "\n\t":
            out.append(" ")
        else:
            out.append(_escape(ch))
    return "".join(out)


def _escape(ch: str) -> str:
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def clean(text: str, limit: int = EXCERPT_CHARS) -> str:
    """Escape sequences dropped, other control characters shown as ``\\xNN``, cut to
    ``limit`` characters: ``"\\x1b[31mred\\x07"`` -> ``"red\\x07"``."""
    text = _ESCAPE_RE.sub("", str(text))
    out = "".join(ch if ch.isprintable() else _escape(ch) for ch in text)
    return out if len(out) <= limit else out[: limit - 3] + "..."
