"""Strings the fleet view did not make (folder names, fields of the reports, which anyone who
can write to the bucket may forge, first lines of junk) made safe for each view it writes.

- Text and CSV: every character that is not printable (C0 and C1 controls such as ESC and
  U+009B, DEL, bidi controls U+202A-U+202E and U+2066-U+2069, and other format characters)
  as its visible escape (``\\x1b``, ``\\x9b``, ``\\u202e``), and a byte that is not UTF-8 as
  ``\\xff``; no terminal or spreadsheet runs them, and nothing reorders a line.
- CSV also guards formulas: a cell whose first character after any leading whitespace or
  control is ``=``, ``+``, ``-`` or ``@`` (or that starts with a tab or a carriage return)
  starts with ``'``.
- JSON: valid UTF-8, those characters as ``\\u`` escapes (the consumer decodes the string
  exactly), bytes that are not UTF-8 as the text ``\\xff``.
- HTML: the JSON inside a script element has every ``<`` as ``\\u003c``, so neither ``</``,
  ``<!--`` nor ``<script`` in a field can end it or change how it is parsed.

The common case, a printable string, is decided in C (``str.isprintable``): a fleet view
writes hundreds of thousands of strings.
"""

import json

_encode_basestring = json.encoder.encode_basestring
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@")
# Characters a spreadsheet skips before it looks for a formula's first character.
LEADING_SKIPPED = " \t\r\n\x0b\x0c"


def _undecoded(code: int) -> str:
    """A lone surrogate: U+DC80-U+DCFF is a byte that was not UTF-8 (surrogateescape)."""
    if 0xDC80 <= code <= 0xDCFF:
        return f"\\x{code - 0xDC00:02x}"
    return f"\\u{code:04x}"


def _visible(ch: str) -> str:
    code = ord(ch)
    if 0xD800 <= code <= 0xDFFF:
        return _undecoded(code)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def shown(item: str) -> str:
    """For text, CSV and the page's visible text: ``"a\\x1b[2Jb"`` -> ``"a\\\\x1b[2Jb"``."""
    if item.isprintable():
        return item
    return "".join(ch if ch.isprintable() else _visible(ch) for ch in item)


def csv_cell(item: str) -> str:
    cell = shown(item)
    if item[:1] in ("\t", "\r") or item.lstrip(LEADING_SKIPPED).startswith(FORMULA_STARTS):
        return "'" + cell
    return cell


def _json_char(ch: str) -> str:
    code = ord(ch)
    if ch.isprintable() or code < 0x20:  # C0 as json.dumps writes it: \n, \t, \u0000
        return _encode_basestring(ch)[1:-1]
    if 0xD800 <= code <= 0xDFFF:
        return _encode_basestring(_undecoded(code))[1:-1]
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 | (code >> 10):04x}\\u{0xDC00 | (code & 0x3FF):04x}"


def json_string(item: str) -> str:
    """``json.dumps(item, ensure_ascii=False)``, with every character that is not printable
    as a ``\\u`` escape and a byte that was not UTF-8 as the text ``\\xNN``."""
    if item.isprintable():
        return _encode_basestring(item)
    return '"' + "".join(_json_char(ch) for ch in item) + '"'


def script_json(piece: str) -> str:
    """JSON text made safe inside ``<script type="application/json">``: ``<`` only occurs
    inside JSON strings, where ``\\u003c`` decodes to the same character."""
    return piece.replace("<", "\\u003c")
