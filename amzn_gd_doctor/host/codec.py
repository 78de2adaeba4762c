"""The recorded form of the host's answers: JSON written as before, read back by declared type,
with validation.

A recorded answer or argument is one of a closed set of shapes, read from annotations already
written: the part protocols' signatures (protocols.py) and the value classes' own fields. Nothing
is declared here twice: ``shape`` parses such an annotation (``"Tuple[ProcessInfo, ...]"``,
``"Optional[float]"``, ``bytes``) into a ``Shape``, and ``decode`` reads JSON back into exactly
that shape or raises ``Malformed``, a CouldNotLook: a broken bundle gives checks that are
inconclusive, never a crash.

The JSON (bundle format 1): text, numbers, booleans and null as themselves; bytes as
``{"bytes": text}`` (or ``{"base64": ...}`` when not UTF-8 once cleaned), except compressed
bytes, which masking could not see into: a gzip stream is kept decompressed, bounded and cleaned
(``{"gzip": {"text": ..., "whole": bool, "cut": bool}}``, bundle format 1.1) and served back
recompressed, so a probe that gunzips it reads the cleaned text; other compressed forms are
withheld (``{"withheld": "xz"}``, could-not-look on replay); tuples as
``{"tuple": [...]}``; lists as lists; maps as ``{"map": [[key, value], ...]}``; value classes as
``{"value": "Name", "fields": {...}}``. Pure; needs no privilege.
"""

import base64
import binascii
import zlib
from typing import TYPE_CHECKING, Callable, Dict, List, Mapping, Optional, Tuple, Union

from .. import lazy_re
from ..answers import DnsAnswer, ProcessInfo, TcpResult, TlsResult
from ..values import FIELDS, fields
from .commands import CommandResult
from .errors import CouldNotLook
from .files import StatVfs
from .http import HttpResponse
from .journal import JournalEntry, JournalRead

if TYPE_CHECKING:
    Json = Union[None, bool, int, float, str, List["Json"], Dict[str, "Json"]]

# Every class a recording may hold, by the bare name a recording gives it.
VALUE_CLASSES: "Dict[str, type]" = {
    cls.__name__: cls
    for cls in (
        CommandResult,
        DnsAnswer,
        HttpResponse,
        JournalEntry,
        JournalRead,
        ProcessInfo,
        StatVfs,
        TcpResult,
        TlsResult,
    )
}
SCALARS = ("str", "int", "float", "bool", "bytes", "None")
# Containers by the names annotations give them: a sequence argument is kept as a tuple.
CONTAINERS = {
    "Optional": "optional",
    "Tuple": "tuple",
    "tuple": "tuple",
    "List": "list",
    "list": "list",
    "Sequence": "tuple",
    "Dict": "map",
    "dict": "map",
    "Mapping": "map",
}
# A gzip answer is decompressed as far as a probe decompresses a rotated log, and of that the
# last DECODED_KEEP bytes are kept, the most a probe keeps (the agent log probe's
# GZ_OUTPUT_LIMIT and TAIL_BYTES; tests/test_bundle_hostile.py holds them equal).
DECODED_LIMIT = 32 * 1024 * 1024
DECODED_KEEP = 512 * 1024
_INFLATE_CHUNK = 256 * 1024
GZIP_MAGIC = b"\x1f\x8b"
# Compressed forms a recording does not decode (no probe reads them): withheld, never raw.
WITHHELD_MAGIC = (
    (b"\xfd7zXZ\x00", "xz"),
    (b"BZh", "bzip2"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
    (b"\x04\x22\x4d\x18", "lz4"),
    (b"PK\x03\x04", "zip"),
)
# Served for a recorded gzip stream that did not decompress: a gzip header, then a deflate
# block of a type that does not exist, so the reader's zlib fails as it did on the original.
INVALID_GZIP = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xff\xff\xff"
_TOKEN_RE = lazy_re.compile(r"\s*(\.\.\.|[A-Za-z_][A-Za-z0-9_.]*|[\[\],])")


class Malformed(CouldNotLook):
    """A recorded answer that is not of the shape its call declares."""


class Shape:
    """A declared type: ``kind`` is a scalar name, "optional", "tuple" (``args`` one item
    shape, any length), "fixed" (one shape per item), "list", "map" (key, value) or "value"
    (``cls``, a class of VALUE_CLASSES)."""

    __slots__ = ("kind", "args", "cls")

    def __init__(
        self, kind: str, args: "Tuple[Shape, ...]" = (), cls: "Optional[type]" = None
    ) -> None:
        self.kind = kind
        self.args = args
        self.cls = cls

    def __repr__(self) -> str:
        inner = ", ".join(repr(a) for a in self.args)
        return f"{self.cls.__name__ if self.cls else self.kind}[{inner}]"


def shape(annotation: object) -> Shape:
    """The shape of an annotation: a string (``"Dict[str, str]"``) or a class (``bytes``)."""
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    tokens = _TOKEN_RE.findall(str(text))
    if "".join(tokens) != "".join(str(text).split()):
        raise ValueError(f"cannot read the annotation {text!r}")
    found, rest = _parse(tokens)
    if rest:
        raise ValueError(f"cannot read the annotation {text!r}")
    return found


def _parse(tokens: "List[str]") -> "Tuple[Shape, List[str]]":
    if not tokens:
        raise ValueError("an annotation ends early")
    name, rest = tokens[0].rpartition(".")[2], tokens[1:]
    if name in SCALARS:
        return Shape(name), rest
    if name in VALUE_CLASSES:
        return Shape("value", cls=VALUE_CLASSES[name]), rest
    kind = CONTAINERS.get(name)
    if kind is None or not rest or rest[0] != "[":
        raise ValueError(f"{name!r} is not a type a recording holds")
    args: List[Shape] = []
    rest = rest[1:]
    variadic = False
    while rest and rest[0] != "]":
        if rest[0] == "...":
            variadic, rest = True, rest[1:]
        else:
            arg, rest = _parse(rest)
            args.append(arg)
        if rest and rest[0] == ",":
            rest = rest[1:]
    if not rest:
        raise ValueError(f"unclosed {name}[")
    if kind == "tuple" and not variadic and name not in ("Sequence",):
        kind = "fixed"
    return Shape(kind, tuple(args)), rest[1:]


_FIELD_SHAPES: "Dict[type, Dict[str, Shape]]" = {}


def field_shapes(cls: type) -> "Dict[str, Shape]":
    """The shapes of a value class's fields, from its own annotations."""
    found = _FIELD_SHAPES.get(cls)
    if found is None:
        notes = cls.__dict__.get("__annotations__", {})
        found = {name: shape(notes[name]) for name in getattr(cls, FIELDS)}
        _FIELD_SHAPES[cls] = found
    return found


# -- JSON to values, by declared shape ----------------------------------------------------------
def decode(expected: Shape, data: object) -> object:
    """``data`` read as ``expected``; Malformed when it is not of that shape."""
    kind = expected.kind
    if kind == "optional":
        return None if data is None else decode(expected.args[0], data)
    if kind in SCALARS:
        return _scalar(kind, data)
    if kind in ("tuple", "fixed", "list"):
        items = _items(data)
        if kind == "fixed":
            if len(items) != len(expected.args):
                raise Malformed(f"a recorded tuple of {len(items)} items, not {len(expected.args)}")
            return tuple(decode(s, item) for s, item in zip(expected.args, items))
        decoded = [decode(expected.args[0], item) for item in items]
        return decoded if kind == "list" else tuple(decoded)
    if kind == "map":
        key, val = expected.args
        return {decode(key, k): decode(val, v) for k, v in _pairs(data)}
    assert expected.cls is not None
    return _value(expected.cls, data)


def _scalar(kind: str, data: object) -> object:
    if kind == "bytes":
        return _bytes(data)
    if kind == "None" and data is None:
        return None
    if kind == "bool" and isinstance(data, bool):
        return data
    if kind in ("int", "float") and isinstance(data, int) and not isinstance(data, bool):
        return float(data) if kind == "float" else data
    if kind == "float" and isinstance(data, float):
        return data
    if kind == "str" and isinstance(data, str):
        return data
    raise Malformed(f"a recorded {type(data).__name__} where {kind} belongs")


def _bytes(data: object) -> bytes:
    if isinstance(data, dict) and set(data) == {"gzip"}:
        return _regzipped(data["gzip"])
    if isinstance(data, dict) and set(data) == {"withheld"}:
        form = str(data["withheld"])[:20]
        raise CouldNotLook(f"{form}-compressed bytes are not kept in a recording")
    if isinstance(data, dict) and isinstance(data.get("bytes"), str):
        return str(data["bytes"]).encode("utf-8", "surrogateescape")
    if isinstance(data, dict) and isinstance(data.get("base64"), str):
        try:
            return base64.b64decode(str(data["base64"]), validate=True)
        except (binascii.Error, ValueError):
            raise Malformed("recorded bytes that are not base64") from None
    raise Malformed(f"a recorded {type(data).__name__} where bytes belong")


def _regzipped(data: object) -> bytes:
    """A gzip stream that decompresses as the recorded one did: its kept text, after a line
    standing for what was cut off before it (so a reader keeping a tail still drops a partial
    first line), without gzip's trailer when the recorded stream was not whole."""
    if isinstance(data, dict) and data.get("invalid") is True and len(data) == 1:
        return INVALID_GZIP
    flags = ("whole", "cut")
    if not (
        isinstance(data, dict)
        and set(data) == {"text", *flags}
        and all(isinstance(data[f], bool) for f in flags)
    ):
        raise Malformed("a recorded gzip stream that is not one")
    text = _bytes({"bytes": data["text"]} if isinstance(data["text"], str) else data["text"])
    if data["cut"]:
        text = b" " * DECODED_KEEP + b"\n" + text
    packer = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    body = packer.compress(text)
    return body + packer.flush(zlib.Z_FINISH if data["whole"] else zlib.Z_SYNC_FLUSH)


def _gunzipped(data: bytes, clean: "Callable[[str], str]") -> "Json":
    """What a probe reads of a gzip stream (the last DECODED_KEEP bytes of its first
    DECODED_LIMIT, as the agent log probe's gunzip_tail), cleaned: when the start was cut
    off, its partial first line goes too (a secret cut in two could not be masked), but for
    what follows the NULs a truncated log begins with, which is a whole line."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    tail, produced, pending = b"", 0, data
    try:
        while pending and produced < DECODED_LIMIT and not inflater.eof:
            chunk = inflater.decompress(pending, _INFLATE_CHUNK)
            pending = inflater.unconsumed_tail
            produced += len(chunk)
            tail = (tail + chunk)[-DECODED_KEEP:]
    except zlib.error:
        return {"gzip": {"invalid": True}}
    cut = produced > len(tail)
    if cut:
        first, newline, rest = tail.partition(b"\n")
        tail = first.rsplit(b"\x00", 1)[1] + newline + rest if b"\x00" in first else rest
    return {"gzip": {"text": _text(tail, clean), "whole": inflater.eof, "cut": cut}}


def _text(data: bytes, clean: "Callable[[str], str]") -> "Json":
    """Bytes, cleaned, as text when they are UTF-8 once cleaned, else as base64."""
    cleaned = clean(data.decode("utf-8", "surrogateescape")).encode("utf-8", "surrogateescape")
    try:
        return cleaned.decode("utf-8")
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(cleaned).decode("ascii")}


def _items(data: object) -> "List[object]":
    if isinstance(data, dict) and set(data) == {"tuple"} and isinstance(data["tuple"], list):
        return list(data["tuple"])
    if isinstance(data, list):
        return list(data)
    raise Malformed(f"a recorded {type(data).__name__} where a sequence belongs")


def _pairs(data: object) -> "List[Tuple[object, object]]":
    if isinstance(data, dict) and set(data) == {"map"} and isinstance(data["map"], list):
        pairs = data["map"]
        if all(isinstance(p, list) and len(p) == 2 for p in pairs):
            return [(p[0], p[1]) for p in pairs]
    raise Malformed(f"a recorded {type(data).__name__} where a map belongs")


def _value(cls: type, data: object) -> object:
    if not (
        isinstance(data, dict)
        and data.get("value") == cls.__name__
        and isinstance(data.get("fields"), dict)
    ):
        raise Malformed(f"not a recorded {cls.__name__}")
    shapes = field_shapes(cls)
    given: Dict[str, object] = data["fields"]
    unknown = sorted(set(given) - set(shapes))
    if unknown:
        raise Malformed(f"a recorded {cls.__name__} with unknown fields {unknown}")
    try:
        return cls(**{name: decode(shapes[name], v) for name, v in given.items()})
    except TypeError as exc:  # a field without a default is missing
        raise Malformed(f"a recorded {cls.__name__} that is incomplete ({exc})") from None


# -- values to JSON, by what they are ------------------------------------------------------------
def encode(obj: object, clean: "Callable[[str], str]") -> "Json":
    """JSON for a host's answer or argument: value classes by their fields, tuples, bytes and
    maps tagged so that ``decode`` gives back an equal object. Every text goes through
    ``clean``."""
    if obj is None or isinstance(obj, (bool, int, float)):
        return obj
    if isinstance(obj, str):
        return clean(obj)
    if isinstance(obj, bytes):
        if obj.startswith(GZIP_MAGIC):
            return _gunzipped(obj, clean)
        for magic, form in WITHHELD_MAGIC:
            if obj.startswith(magic):
                return {"withheld": form}
        text = _text(obj, clean)
        return {"bytes": text} if isinstance(text, str) else text
    if isinstance(obj, tuple):
        return {"tuple": [encode(item, clean) for item in obj]}
    if isinstance(obj, list):
        return [encode(item, clean) for item in obj]
    if isinstance(obj, Mapping):
        return {"map": [[encode(k, clean), encode(v, clean)] for k, v in obj.items()]}
    if type(obj).__name__ in VALUE_CLASSES and hasattr(type(obj), FIELDS):
        return {
            "value": type(obj).__name__,
            "fields": {name: encode(getattr(obj, name), clean) for name in fields(obj)},
        }
    raise TypeError(f"cannot record a {type(obj).__name__}")


def decode_any(data: object) -> object:
    """JSON read back by its own tags, for what has no declared shape (a recording's arguments
    as tests and the allow-list read them); value classes by their declared fields."""
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    if isinstance(data, list):
        return [decode_any(item) for item in data]
    if not isinstance(data, dict):
        raise Malformed(f"a {type(data).__name__} in a recording")
    if any(tag in data for tag in ("bytes", "base64", "gzip", "withheld")):
        return _bytes(data)
    if "tuple" in data:
        return tuple(decode_any(item) for item in _items(data))
    if "map" in data:
        return {decode_any(k): decode_any(v) for k, v in _pairs(data)}
    if "value" in data:
        cls = VALUE_CLASSES.get(str(data["value"]))
        if cls is None:
            raise Malformed(f"an unknown value class {data['value']!r} in a recording")
        return _value(cls, data)
    raise Malformed("an unknown object in a recording")
