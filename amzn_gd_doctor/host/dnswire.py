"""The DNS wire format of one A question and its reply (RFC 1035 sections 4.1 and 4.1.4).

The doctor asks each resolver one A question. dnspython's message and query modules cost 75 ms
(Python 3.13) to 105 ms (3.6) to import, more than the whole DNS step, and that import sat on
the run's critical path. A question for A records and the reading of its reply take a hundred
lines of the standard library, so that is what runs. dnspython still asks again over TCP when a
resolver truncates its UDP reply, which is rare and off the common path.
"""

import ipaddress
import struct
from typing import List, Tuple

TYPE_A = 1
CLASS_IN = 1
# Header flags: QR (a response), TC (truncated), RD (recursion desired).
FLAG_QR = 0x8000
FLAG_TC = 0x0200
FLAG_RD = 0x0100
RCODE_MASK = 0x000F
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}
# A name is at most 255 octets in 63-octet labels (RFC 1035 2.3.4). A chain of compression
# pointers longer than this loops.
NAME_LIMIT = 255
LABEL_LIMIT = 63
POINTER_LIMIT = 32
# Records read from one section; a resolver's A answer for an endpoint holds a handful.
RECORD_LIMIT = 100

_HEADER = struct.Struct("!HHHHHH")
_RECORD = struct.Struct("!HHIH")


class MalformedReply(ValueError):
    """The bytes are not a reply to the question asked; the message says what is wrong."""


def encode_name(name: str) -> bytes:
    """``guardduty-data.us-east-1.amazonaws.com`` -> length-prefixed labels ending in 0."""
    labels = name.rstrip(".").split(".")
    if any(not label for label in labels):
        raise ValueError(f"empty label in {name!r}")
    out = b""
    for label in labels:
        raw = label.encode("ascii")  # endpoint names are ASCII; UnicodeEncodeError is a ValueError
        if len(raw) > LABEL_LIMIT:
            raise ValueError(f"label longer than {LABEL_LIMIT} octets in {name!r}")
        out += bytes([len(raw)]) + raw
    if len(out) + 1 > NAME_LIMIT:
        raise ValueError(f"name longer than {NAME_LIMIT} octets")
    return out + b"\x00"


def build_query(name: str, query_id: int) -> bytes:
    """One question (``name`` IN A), recursion desired, no EDNS: what a stub resolver sends."""
    header = _HEADER.pack(query_id, FLAG_RD, 1, 0, 0, 0)
    return header + encode_name(name) + struct.pack("!HH", TYPE_A, CLASS_IN)


def _skip_name(data: bytes, pos: int) -> "Tuple[str, int]":
    """Read the (possibly compressed) name at ``pos``: (lower-case name, position after it)."""
    labels: List[str] = []
    end = -1
    jumps = 0
    total = 0
    while True:
        if pos >= len(data):
            raise MalformedReply("a name runs past the end of the message")
        length = data[pos]
        if length & 0xC0 == 0xC0:
            if pos + 1 >= len(data):
                raise MalformedReply("a compression pointer runs past the end of the message")
            jumps += 1
            if jumps > POINTER_LIMIT:
                raise MalformedReply("compression pointers loop")
            if end < 0:
                end = pos + 2
            pos = ((length & 0x3F) << 8) | data[pos + 1]
            continue
        if length & 0xC0:
            raise MalformedReply(f"unknown label type 0x{length & 0xC0:02x}")
        if length == 0:
            return ".".join(labels).lower(), end if end >= 0 else pos + 1
        total += length + 1
        if total > NAME_LIMIT:
            raise MalformedReply(f"a name is longer than {NAME_LIMIT} octets")
        if pos + 1 + length > len(data):
            raise MalformedReply("a name runs past the end of the message")
        labels.append(data[pos + 1 : pos + 1 + length].decode("ascii", errors="replace"))
        pos += 1 + length


def parse_reply(data: bytes, query_id: int, name: str) -> "Tuple[str, Tuple[str, ...], bool]":
    """A reply to ``build_query(name, query_id)`` -> (rcode name, A addresses, truncated).

    Addresses are those of every A record in the answer section, whatever its owner (after a
    CNAME the A records belong to the target). Raises MalformedReply for bytes that are not a
    well-formed reply to this question."""
    if len(data) < _HEADER.size:
        raise MalformedReply(f"{len(data)} bytes is shorter than a DNS header")
    reply_id, flags, questions, answers, _, _ = _HEADER.unpack_from(data)
    if reply_id != query_id:
        raise MalformedReply("the reply's id does not match the question's")
    if not flags & FLAG_QR:
        raise MalformedReply("the message is a query, not a reply")
    rcode = flags & RCODE_MASK
    rcode_name = RCODES.get(rcode, f"RCODE{rcode}")
    pos = _HEADER.size
    if questions != 1 and rcode == 0:
        raise MalformedReply(f"the reply holds {questions} questions, not 1")
    for _ in range(questions):
        asked, pos = _skip_name(data, pos)
        if pos + 4 > len(data):
            raise MalformedReply("the question runs past the end of the message")
        qtype, qclass = struct.unpack_from("!HH", data, pos)
        pos += 4
        if (asked, qtype, qclass) != (name.rstrip(".").lower(), TYPE_A, CLASS_IN):
            raise MalformedReply("the reply answers another question")
    found: List[str] = []
    for _ in range(min(answers, RECORD_LIMIT)):
        _, pos = _skip_name(data, pos)
        if pos + _RECORD.size > len(data):
            raise MalformedReply("a record runs past the end of the message")
        rtype, rclass, _, length = _RECORD.unpack_from(data, pos)
        pos += _RECORD.size
        if pos + length > len(data):
            raise MalformedReply("a record's data runs past the end of the message")
        if rtype == TYPE_A and rclass == CLASS_IN:
            if length != 4:
                raise MalformedReply(f"an A record holds {length} bytes, not 4")
            found.append(str(ipaddress.IPv4Address(data[pos : pos + 4])))
        pos += length
    return rcode_name, tuple(found), bool(flags & FLAG_TC)
