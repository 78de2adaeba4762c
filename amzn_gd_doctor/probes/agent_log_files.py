"""Reading the agent's log files: a bounded tail of a plain file, the end of a rotated .gz, and
their lines (a tail read from the middle of a line drops that piece).

Registers no probe. Reads through the files part it is given.
"""

import zlib
from typing import TYPE_CHECKING, List, Tuple

from ..facts.agent import LogFile

if TYPE_CHECKING:
    from ..host.protocols import FilesPart

# A rotated .gz cannot be read from its end: at most this much of it is decompressed (keeping
# the tail asked for), from at most GZ_INPUT_LIMIT compressed bytes.
GZ_INPUT_LIMIT = 4 * 1024 * 1024
GZ_OUTPUT_LIMIT = 32 * 1024 * 1024


def split_lines(data: bytes, from_start: bool) -> "List[str]":
    """Decoded lines of a chunk; a tail read that began mid-line loses its first piece, unless
    that piece ends a run of NULs (the hole copytruncate leaves when the writer keeps its
    offset): then what follows the NULs is a whole line."""
    lines = data.decode("utf-8", "replace").split("\n")
    if not from_start and len(lines) > 1:
        lines = lines[1:] if "\x00" not in lines[0] else [lines[0].rsplit("\x00", 1)[1]] + lines[1:]
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def gunzip_tail(data: bytes, keep: int) -> "Tuple[bytes, bool]":
    """The last ``keep`` bytes of a gzip stream's first GZ_OUTPUT_LIMIT bytes, and whether the
    whole stream was seen. Raises zlib.error for data that is not gzip."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    tail = b""
    produced = 0
    pending = data
    while pending and produced < GZ_OUTPUT_LIMIT:
        chunk = inflater.decompress(pending, 256 * 1024)
        pending = inflater.unconsumed_tail
        produced += len(chunk)
        tail = (tail + chunk)[-keep:]
        if inflater.eof:
            return tail, True
    return tail, inflater.eof


def read_file(files: "FilesPart", path: str, name: str, budget: int) -> "Tuple[LogFile, List[str]]":
    size = files.file_size(path)
    if name.endswith(".gz"):
        data = files.read_bytes(path, GZ_INPUT_LIMIT)
        try:
            tail, whole = gunzip_tail(data, budget)
        except zlib.error:
            return LogFile(name, size, True, 0, 0, "not a valid gzip file"), []
        lines = split_lines(tail, from_start=whole and len(tail) < budget)
        return LogFile(name, size, True, len(tail), len(lines)), lines
    if name.endswith((".xz", ".bz2", ".zst", ".lz4")):
        return LogFile(name, size, True, 0, 0, "compressed in a format that is not read"), []
    data = files.read_bytes(path, budget, tail=True)
    lines = split_lines(data, from_start=size <= budget)
    return LogFile(name, size, False, len(data), len(lines)), lines
