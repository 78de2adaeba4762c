"""The recorded form of the host's answers: JSON written as before, read back by declared type,
with validation.

A recorded answer or argument is one of a closed set of shapes, read from annotations already
written: the part protocols' signatures (protocols.py) and the value classes' own fields. Nothing
is declared here twice: ``shape`` parses such an annotation (``"Tuple[ProcessInfo, ...]"``,
``"Optional[float]"``, ``bytes``) into a ``Shape``, and ``decode`` reads JSON back into exactly
that shape or raises ``Malformed``, a CouldNotLook: a broken bundle gives checks that are
inconclusive, never a crash.

The JSON (bundle format 1): text, numbers, booleans and null as themselves; bytes as
``{"bytes": text}`` (or ``{"base64": ...}`` when not UTF-8 once cleaned); tuples as
``{"tuple": [...]}``; lists as lists; maps as ``{"map": [[key, value], ...]}``; value classes as
``{"value": "Name", "fields": {...}}``. Pure; needs no privilege.
"""

import base64
import binascii
from typing import TYPE_CHECKING, Callable, Dict, List, Mapping, Optional, Tuple, Union

from .. import lazy_re
from ..answers import DnsAnswer, ProcessInfo, TcpResult, TlsResult
from ..values import FIELDS, fields
from .commands import CommandResult
from .errors import CouldNotLook
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
    if isinstance(data, dict) and isinstance(data.get("bytes"), str):
        return str(data["bytes"]).encode("utf-8", "surrogateescape")
    if isinstance(data, dict) and isinstance(data.get("base64"), str):
        try:
            return base64.b64decode(str(data["base64"]), validate=True)
        except (binascii.Error, ValueError):
            raise Malformed("recorded bytes that are not base64") from None
    raise Malformed(f"a recorded {type(data).__name__} where bytes belong")


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
        text = obj.decode("utf-8", "surrogateescape")
        cleaned = clean(text)
        try:
            return {"bytes": cleaned.encode("utf-8", "surrogateescape").decode("utf-8")}
        except UnicodeDecodeError:
            raw = cleaned.encode("utf-8", "surrogateescape")
            return {"base64": base64.b64encode(raw).decode("ascii")}
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
    if "bytes" in data or "base64" in data:
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
