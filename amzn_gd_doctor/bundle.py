"""Evidence bundles: one ``.tar.gz`` holding what a run observed and what it concluded, for
AWS Support or a colleague, and for ``check --from`` to replay.

Members, in this order, each mode 0644 and owned by root:root, dated at the capture:

- ``manifest.json``: the bundle format, the tool's version, the options, the capture time, each
  probe's status and duration, and the members' sizes;
- ``observations.jsonl``: one recorded host call a line (host/recorded.py), cleaned of secrets;
- ``report.json`` and ``report.txt``: the report as ``check -f json`` and ``check`` give it.

The bundle is the only file written: created 0600 next to its final name, synced, then linked
to that name, which must not exist yet (an existing file is never replaced).
"""

import contextlib
import gzip
import io
import json
import os
import tarfile
import zlib
from typing import IO, Any, Dict, List, Mapping, Optional, Sequence, Tuple

from . import lazy_re
from .values import value

FORMAT = "amzn-gd-doctor-bundle"
FORMAT_VERSION = "1.2"  # the major changes when an older reader could not replay a bundle;
# 1.1: gzip answers kept decompressed and masked (host/codec.py): a 1.0 reader replays them as
# could-not-look; 1.2: each observation names the probe that asked it (host/threads.py), which
# an older reader ignores
MEMBERS = ("manifest.json", "observations.jsonl", "report.json", "report.txt")
# Reading refuses members past these sizes: a bundle the doctor wrote stays well under them
# (observations are bounded by host.recorded.OBSERVATIONS_LIMIT, reports are tens of KiB).
MEMBER_LIMIT = 64 * 1024 * 1024
MANIFEST_LIMIT = 1024 * 1024
REPORT_LIMIT = 16 * 1024 * 1024


class BundleError(Exception):
    """A bundle that cannot be written or read; the message says why."""


@value
class Bundle:
    manifest: "Dict[str, Any]"
    observations: "Tuple[Dict[str, Any], ...]"
    report_json: str


def _member(name: str, data: bytes, mtime: int) -> "Tuple[tarfile.TarInfo, io.BytesIO]":
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    info.mtime = mtime
    return info, io.BytesIO(data)


def encode_members(
    manifest: "Mapping[str, Any]",
    observations: "Sequence[Mapping[str, Any]]",
    report_json: str,
    report_txt: str,
) -> "List[Tuple[str, bytes]]":
    lines = "".join(json.dumps(o, sort_keys=True, ensure_ascii=False) + "\n" for o in observations)
    members = [
        ("observations.jsonl", lines.encode("utf-8", "surrogateescape")),
        ("report.json", report_json.encode("utf-8")),
        ("report.txt", report_txt.encode("utf-8")),
    ]
    full = dict(manifest)
    full["sizes"] = {name: len(data) for name, data in members}
    head = json.dumps(full, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    return [("manifest.json", head.encode("utf-8"))] + members


def write(path: str, members: "Sequence[Tuple[str, bytes]]", mtime: int) -> int:
    """Write the bundle at ``path``, which must not exist; returns its size in bytes.
    FileExistsError when it does (then nothing was changed)."""
    directory = os.path.dirname(os.path.abspath(path))
    tmp = _temporary(directory)
    # Removed on any way out, SIGINT and SIGTERM included (cli.py turns both into an
    # exception), so that no temporary file is left behind.
    try:
        fd = tmp[1]
        with os.fdopen(fd, "wb") as raw:
            _write_archive(raw, members, mtime)
            raw.flush()
            os.fsync(raw.fileno())
            size = os.fstat(raw.fileno()).st_size
        os.link(tmp[0], path)  # refuses an existing name: no file is ever replaced
        _sync_directory(directory)
        return size
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp[0])


def _write_archive(raw: "IO[bytes]", members: "Sequence[Tuple[str, bytes]]", mtime: int) -> None:
    with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=mtime) as gz, tarfile.open(
        fileobj=gz, mode="w", format=tarfile.PAX_FORMAT
    ) as tar:
        for name, data in members:
            info, stream = _member(name, data, mtime)
            tar.addfile(info, stream)


# The temporary file's name: short whatever the bundle's (a name near the file system's
# 255-byte limit must still be writable) and 64 random bits, so no one can create it first; a
# few tries always find a free one (as outfile.py and mkstemp).
TEMP_PREFIX = ".amzn-gd-doctor-bundle."
TEMP_TRIES = 8


def _temporary(directory: str) -> "Tuple[str, int]":
    """A new file beside the bundle, mode 0600 from its creation, under a name no one could
    have guessed and created before (the bundle's name is not part of it)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW
    for _ in range(TEMP_TRIES):
        name = os.path.join(directory, TEMP_PREFIX + os.urandom(8).hex() + ".tmp")
        try:
            return name, os.open(name, flags, 0o600)
        except FileExistsError:
            continue
    raise BundleError(f"could not create a temporary file in {directory}")


def _sync_directory(directory: str) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def read(path: str) -> Bundle:
    """The bundle at ``path``; BundleError says what is wrong with it, in one line. A bundle may
    come from anyone: every size is checked before it is allocated (see the bounds above)."""
    if not os.path.exists(path):
        raise BundleError(f"{path}: no such file")
    if os.path.isdir(path):
        raise BundleError(f"{path}: is a directory, not a bundle")
    try:
        with open(path, "rb") as raw:
            if os.fstat(raw.fileno()).st_size > INPUT_LIMIT:
                raise BundleError(
                    f"{path}: not a gzip-compressed tar archive (larger than {INPUT_LIMIT} "
                    "bytes, more than any bundle)"
                )
            found = _read_members(path, _Inflated(path, raw))
    except OSError as exc:
        raise BundleError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if "manifest.json" not in found:
        raise BundleError(f"{path}: not an evidence bundle (no manifest.json)")
    manifest = _json_object(path, "manifest.json", found["manifest.json"])
    if manifest.get("format") != FORMAT:
        raise BundleError(f"{path}: manifest.json is not an amzn-gd-doctor bundle's")
    version = manifest.get("format_version")
    if not isinstance(version, str) or not _VERSION_RE.fullmatch(version):
        shown = repr(version)[:40]
        raise BundleError(f"{path}: manifest.json has no usable format_version ({shown})")
    if int(version.partition(".")[0]) > int(FORMAT_VERSION.partition(".")[0]):
        raise BundleError(
            f"{path}: bundle format {version} is newer than this doctor reads "
            f"({FORMAT_VERSION}); replay it with a newer amzn-gd-doctor"
        )
    if "observations.jsonl" not in found:
        raise BundleError(f"{path}: the bundle holds no observations.jsonl")
    observations = _observations(path, found["observations.jsonl"])
    report = str(found.get("report.json", b""), "utf-8", "replace")
    return Bundle(manifest, tuple(observations), report)


# -- reading: the gzip stream, bounded ------------------------------------------------------------
# What a bundle may hold, read before anything is allocated. Every bound is far above what a
# doctor writes (observations are at most host.recorded.OBSERVATIONS_LIMIT bytes and
# OBSERVATIONS_COUNT lines, reports tens of KiB), and far below what would hurt the reader.
MEMBER_LIMITS = {
    "manifest.json": MANIFEST_LIMIT,
    "observations.jsonl": MEMBER_LIMIT,
    "report.json": REPORT_LIMIT,
    "report.txt": REPORT_LIMIT,
}
BLOCK = 512  # a tar block: headers are one, members are padded to whole ones
# A pax extended header (a doctor never writes one; a tar written by another tool may carry
# one for a member's path or size): a few records, never more than this.
PAX_LIMIT = 8 * 1024
# Headers a bundle holds: one per member, one pax header before each at most.
HEADER_COUNT = 2 * len(MEMBERS)
# Decompressed bytes: every member at its limit, its headers and padding, and the end blocks.
TOTAL_LIMIT = sum(MEMBER_LIMITS.values()) + (HEADER_COUNT + 4) * BLOCK + len(MEMBERS) * PAX_LIMIT
# Compressed bytes read: deflate adds at most 5 bytes a 16 KiB block to what it cannot
# compress, plus gzip's own header; anything larger is not a bundle.
INPUT_LIMIT = TOTAL_LIMIT + TOTAL_LIMIT // 1024 + 64 * 1024
# gzip members (a doctor writes one; `cat a.gz b.gz` makes two): a few at most.
GZIP_MEMBERS = 4
# Compressed bytes read at a time, and decompressed bytes asked of zlib at a time.
READ_CHUNK = 64 * 1024
INFLATE_CHUNK = 256 * 1024
_VERSION_RE = lazy_re.compile(r"[0-9]{1,6}\.[0-9]{1,6}")


class _Inflated:
    """The tar stream inside a gzip file, decompressed on demand: never more than TOTAL_LIMIT
    bytes out, INPUT_LIMIT bytes in, or GZIP_MEMBERS gzip members."""

    def __init__(self, path: str, raw: "IO[bytes]") -> None:
        self._path = path
        self._raw = raw
        self._inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self._members = 1
        self._pending = b""
        self._buffer = bytearray()
        self._read = 0
        self._out = 0
        self._ended = False
        head = raw.read(2)
        if head != b"\x1f\x8b":
            raise BundleError(f"{path}: not a gzip-compressed tar archive (not a gzip file)")
        self._pending = head

    def _error(self, why: str) -> BundleError:
        return BundleError(f"{self._path}: not a gzip-compressed tar archive ({why})")

    def read(self, size: int) -> bytes:
        """Exactly ``size`` bytes, or fewer where the stream ends."""
        while len(self._buffer) < size and not self._ended:
            self._inflate(size - len(self._buffer))
        out = bytes(self._buffer[:size])
        del self._buffer[:size]
        return out

    def skip(self, size: int) -> bool:
        """Pass over ``size`` bytes without keeping them; False when the stream ends first."""
        while size > 0:
            got = len(self.read(min(size, INFLATE_CHUNK)))
            if not got:
                return False
            size -= got
        return True

    def _inflate(self, wanted: int) -> None:
        if not self._pending:
            self._pending = self._raw.read(READ_CHUNK)
            self._read += len(self._pending)
            if self._read > INPUT_LIMIT:
                raise self._error(f"larger than {INPUT_LIMIT} bytes, more than any bundle")
            if not self._pending:
                if not self._inflater.eof:
                    raise self._error("it ends early")
                self._ended = True
                return
        if self._inflater.eof:  # another gzip member follows the one that ended
            self._members += 1
            if self._members > GZIP_MEMBERS:
                raise self._error(f"more than {GZIP_MEMBERS} gzip members")
            self._inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            out = self._inflater.decompress(self._pending, max(wanted, INFLATE_CHUNK))
        except zlib.error as exc:
            raise self._error(str(exc)) from None
        self._pending = self._inflater.unconsumed_tail or self._inflater.unused_data
        self._out += len(out)
        if self._out > TOTAL_LIMIT:
            raise self._error(f"more than {TOTAL_LIMIT} bytes once decompressed")
        self._buffer += out


# -- reading: the tar stream, strictly ------------------------------------------------------------
def _read_members(path: str, stream: _Inflated) -> "Dict[str, bytes]":
    """The members of MEMBERS, read from the tar headers themselves: a regular member of each
    name at most once, each within its limit, optionally after one bounded pax header. Anything
    else (GNU long names, sparse or linked members, other names) is not a bundle's, and is
    refused by its header before any of its data is read."""
    found: Dict[str, bytes] = {}
    seen: List[str] = []
    overrides: Dict[str, str] = {}
    for _ in range(HEADER_COUNT + 1):
        block = stream.read(BLOCK)
        if len(block) < BLOCK or block == bytes(BLOCK):
            if block and len(block) < BLOCK:
                raise BundleError(f"{path}: not a gzip-compressed tar archive (it ends early)")
            return found
        name, kind, size = _header(path, block)
        if kind in (b"x", b"g"):
            if size > PAX_LIMIT:
                raise BundleError(f"{path}: holds a pax header of {size} bytes, not a bundle's")
            data = stream.read(size)
            stream.skip(-size % BLOCK)
            if kind == b"x":
                overrides = _pax(path, data)
            continue
        name = overrides.pop("path", name)
        if "size" in overrides:
            size = _number(path, overrides.pop("size").encode("ascii", "replace"))
        overrides = {}
        if kind not in (b"0", b"\0", b"7"):
            raise BundleError(
                f"{path}: holds {name[:100]!r} of tar type {kind.decode('latin-1')!r}, "
                "which no evidence bundle holds"
            )
        if name not in MEMBER_LIMITS:
            raise BundleError(
                f"{path}: holds {name[:100]!r}, which is not a member of an evidence bundle"
            )
        if name in seen:
            raise BundleError(f"{path}: holds {name} twice")
        seen.append(name)
        limit = MEMBER_LIMITS[name]
        if size > limit:
            raise BundleError(f"{path}: {name} is larger than {limit} bytes")
        if name == "report.txt":  # not read by a replay: passed over
            complete = stream.skip(size)
        else:
            found[name] = stream.read(size)
            complete = len(found[name]) == size
        if not complete:
            raise BundleError(f"{path}: not a gzip-compressed tar archive (it ends early)")
        stream.skip(-size % BLOCK)
        if len(seen) == len(MEMBERS):
            return found
    raise BundleError(f"{path}: holds more headers than an evidence bundle")


def _header(path: str, block: bytes) -> "Tuple[str, bytes, int]":
    """(name, type, size) of a ustar, pax or GNU header block, its checksum verified."""
    stored = block[148:156]
    total = sum(block[:148]) + sum(block[156:]) + 8 * ord(" ")
    if _number(path, stored, "header checksum") != total:
        raise BundleError(f"{path}: not a gzip-compressed tar archive (bad header checksum)")
    name = block[:100].split(b"\0", 1)[0]
    if block[257:263] == b"ustar\0":  # POSIX: the prefix field holds the path's start
        prefix = block[345:500].split(b"\0", 1)[0]
        name = prefix + b"/" + name if prefix else name
    return str(name, "utf-8", "replace"), block[156:157], _number(path, block[124:136])


def _number(path: str, field: bytes, what: str = "member size") -> int:
    """An octal tar field. A base-256 one (first byte 0x80 or 0xff) only says a number too large
    for octal: no member of a bundle is."""
    digits = field.replace(b"\0", b" ").strip()
    if field[:1] in (b"\x80", b"\xff"):
        return TOTAL_LIMIT + 1
    if not digits or len(digits) > 12 or digits.strip(b"01234567"):
        raise BundleError(f"{path}: not a gzip-compressed tar archive (bad {what})")
    return int(digits, 8)


def _pax(path: str, data: bytes) -> "Dict[str, str]":
    """The ``path`` and ``size`` records of a pax header (``"<length> <key>=<value>\\n"``)."""
    out: Dict[str, str] = {}
    rest = data.rstrip(b"\0")
    while rest:
        length_text, _, _ = rest.partition(b" ")
        if not length_text.isdigit() or len(length_text) > 6:
            raise BundleError(f"{path}: holds a malformed pax header")
        length = int(length_text)
        record, rest = rest[:length], rest[length:]
        key, eq, value_ = record[len(length_text) + 1 : -1].partition(b"=")
        if length <= len(length_text) or not eq or not record.endswith(b"\n"):
            raise BundleError(f"{path}: holds a malformed pax header")
        if key in (b"path", b"size"):
            out[key.decode("ascii")] = str(value_, "utf-8", "replace")
    return out


# -- reading: JSON, bounded ----------------------------------------------------------------------
# A recording nests about six levels deep (an observation, its answer, a value class, its
# fields, a tuple, a map's pairs); JSON past this depth is refused before it is parsed (a
# recursive reader would exhaust its stack).
JSON_DEPTH = 32
# Values in all the observations together (each list item, object key and value counts): a
# real recording holds tens of thousands; a million empty lists would take ~100 MiB.
JSON_VALUES = 1000 * 1000
# Lines of observations.jsonl: host.recorded.OBSERVATIONS_COUNT at most are written.
OBSERVATION_LINES = 100 * 1000
# Digits of one number: a time or a size has at most 20; converting a longer one costs time
# quadratic in its length on Python before 3.11.
NUMBER_DIGITS = 40
_STRING_RE = lazy_re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET_RE = lazy_re.compile(r"[^\[\]{}]+")
_PAIR_RE = lazy_re.compile(r"\[\]|\{\}")
_LONG_NUMBER_RE = lazy_re.compile("[0-9]{" + str(NUMBER_DIGITS + 1) + "}")


def _bounded_json(text: str, values_left: int = JSON_VALUES) -> "Tuple[Any, int]":
    """``text`` parsed, and the number of values it holds; ValueError says why it is not
    parsed: more than ``values_left`` values, more than JSON_DEPTH levels, a number of more
    than NUMBER_DIGITS digits, NaN or Infinity, or not JSON. Size and depth are measured on
    the text before parsing it: strings taken out, then pairs of brackets removed level by
    level (a pass per level, JSON_DEPTH at most)."""
    bare = _STRING_RE.sub("0", text)
    values = 1 + sum(bare.count(c) for c in ",:[{")
    if values > values_left:
        raise _TooMany(f"holds more than {JSON_VALUES} values")
    if _LONG_NUMBER_RE.search(bare):
        raise ValueError(f"holds a number of more than {NUMBER_DIGITS} digits")
    if bare.count("[") + bare.count("{") > JSON_DEPTH:
        brackets = _NOT_BRACKET_RE.sub("", bare)
        del bare
        for _ in range(JSON_DEPTH):
            fewer = _PAIR_RE.sub("", brackets)
            if fewer == brackets:
                break
            brackets = fewer
        if brackets:
            deeper = _PAIR_RE.search(brackets) is not None
            raise ValueError(f"nests deeper than {JSON_DEPTH} levels" if deeper else "not JSON")
    return json.loads(text, parse_constant=_no_constant), values


class _TooMany(ValueError):
    """More values than a bundle holds in all."""


def _no_constant(name: str) -> object:
    raise ValueError(f"holds {name}, which is not a JSON number")


def _json_object(path: str, name: str, data: bytes) -> "Dict[str, Any]":
    try:
        loaded, _ = _bounded_json(str(data, "utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise BundleError(f"{path}: {name} is not JSON ({exc})") from None
    if not isinstance(loaded, dict):
        raise BundleError(f"{path}: {name} is not a JSON object")
    return loaded


def _observations(path: str, data: bytes) -> "List[Dict[str, Any]]":
    """One observation a line, each ``{"method": str, "args": {...}, "seq": int, "ms": number}``
    with one of ``result`` and ``error``, and the ``probe`` that asked it when one did;
    JSON_VALUES values in all."""
    if data.count(b"\n") > OBSERVATION_LINES:
        raise BundleError(f"{path}: observations.jsonl holds more than {OBSERVATION_LINES} lines")
    text = str(data, "utf-8", "surrogateescape")
    del data
    observations = []
    values = 0
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}: observations.jsonl line {number}"
        try:
            entry, count = _bounded_json(line, JSON_VALUES - values)
        except _TooMany as exc:
            raise BundleError(f"{path}: observations.jsonl {exc}") from None
        except (ValueError, RecursionError) as exc:
            raise BundleError(f"{where}: {exc}") from None
        values += count
        why = _not_an_observation(entry)
        if why is not None:
            raise BundleError(f"{where} is not an observation ({why})")
        observations.append(entry)
    return observations


def _not_an_observation(entry: object) -> "Optional[str]":
    if not isinstance(entry, dict):
        return "not a JSON object"
    if not isinstance(entry.get("method"), str):
        return "no method"
    if not isinstance(entry.get("args", {}), dict):
        return "its args are not an object"
    seq = entry.get("seq", 0)
    if not isinstance(seq, int) or isinstance(seq, bool):
        return "its seq is not an integer"
    if ("result" in entry) == ("error" in entry):
        return "not one of result and error"
    return None


def default_name(instance: "Optional[str]", hostname: str, captured_at: float) -> str:
    import re
    import time

    who = instance or hostname or "host"
    who = re.sub(r"[^A-Za-z0-9._-]", "_", who)[:64]
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(captured_at))
    return f"amzn-gd-doctor-{who}-{stamp}.tar.gz"
