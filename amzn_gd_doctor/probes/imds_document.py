"""The instance identity document: the JSON object IMDS serves and the agent signs in with.

A pure parser with the bounds a hostile body needs; the imds probes own the reading.
"""

import json
from typing import Optional

from .. import lazy_re
from ..facts.imds import IdentityDocument

# A real identity document is a flat object of strings; its numbers have a few digits. Bounds
# on nesting and number length keep a hostile body from exhausting the parser (recursion, or
# the thousands of digits Python refuses to convert).
JSON_DEPTH_LIMIT = 16
JSON_DIGITS_LIMIT = 30


class MalformedDocument(ValueError):
    """The identity document is not the JSON object IMDS sends; the message says how."""


_REQUIRED = {
    "accountId": lazy_re.compile(r"^\d{12}$"),
    "instanceId": lazy_re.compile(r"^(i|mi)-[0-9a-f]{8,17}$"),
    "region": lazy_re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$"),
}


def _nesting(body: bytes) -> int:
    """The deepest nesting of arrays and objects in a JSON text, strings skipped."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return deepest


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > JSON_DIGITS_LIMIT:
        raise MalformedDocument(f"the response holds a {len(text)}-digit number")
    return int(text)


def parse_identity_document(body: bytes) -> IdentityDocument:
    """``{"accountId": "123456789012", "instanceId": "i-0abc...", "region": "us-east-1",
    "instanceType": "t3.micro", "architecture": "x86_64", ...}`` -> IdentityDocument."""
    if not body.strip():
        raise MalformedDocument("the response body is empty")
    depth = _nesting(body)
    if depth > JSON_DEPTH_LIMIT:
        limit = JSON_DEPTH_LIMIT
        raise MalformedDocument(f"the response nests {depth} levels deep (more than {limit})")
    try:
        data = json.loads(body.decode("utf-8"), parse_int=_bounded_int)
    except UnicodeDecodeError:
        raise MalformedDocument("the response is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        start = body.lstrip()[:1]
        kind = (
            "HTML, not JSON" if start == b"<" else f"not valid JSON ({exc.msg} at char {exc.pos})"
        )
        raise MalformedDocument(f"the response is {kind}") from None
    if not isinstance(data, dict):
        raise MalformedDocument(f"the response is a JSON {type(data).__name__}, not an object")
    for key, pattern in _REQUIRED.items():
        value = data.get(key)
        if not isinstance(value, str) or not pattern.match(value):
            raise MalformedDocument(f"field {key} is missing or invalid ({str(value)[:40]!r})")

    def opt(key: str) -> "Optional[str]":
        value = data.get(key)
        return value[:100] if isinstance(value, str) else None

    return IdentityDocument(
        data["accountId"],
        data["instanceId"],
        data["region"],
        opt("instanceType"),
        opt("architecture"),
        opt("availabilityZone"),
        opt("imageId"),
        opt("privateIp"),
        opt("pendingTime"),
    )
