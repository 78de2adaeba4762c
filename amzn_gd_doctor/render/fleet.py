"""The fleet summary as JSON, text and CSV. Pure functions of the Summary; they count nothing."""

import csv
import io
import json
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, TextIO, Tuple

from ..fleet.bounded import Bounded
from ..fleet.parse import Row
from ..fleet.summary import TEXT_IDS, Count, Summary, first, status_count

SCHEMA_VERSION = "1.0"
CSV_COLUMNS = (
    "instance_id",
    "command_id",
    "status",
    "issue_type",
    "issue_message",
    "code",
    "os",
    "kernel",
    "agent_version",
    "doctor_version",
    "format",
    "root_causes",
    "reason",
    "truncated",
)
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class RawJSON(str):
    """JSON text already rendered where it goes: stream_json writes it as it is."""


def _undecided_entries(s: Summary, indent: "Optional[int]") -> "Iterator[RawJSON]":
    """``{"instance_id": ..., "reason": ..., "inputs": [...]}`` for each undecided host, as
    stream_json would render the dict two levels deep, built in one expression: a fleet has
    tens of thousands of them."""
    inner, sep, end = _layout(indent, 2)
    names = [inner + _key("instance_id"), sep + _key("reason"), sep + _key("inputs")]
    for r in s.undecided_rows():
        yield RawJSON(
            "{"
            + names[0]
            + _encoded(r[0])
            + names[1]
            + _encoded(r[3])
            + names[2]
            + _dump(r[4], indent, 3)
            + end
            + "}"
        )


def _counts(items: "Tuple[Count, ...]") -> "List[Dict[str, Any]]":
    return [{"name": c.name, "count": c.count} for c in items]


def summary_dict(s: Summary, indent: "Optional[int]" = 2) -> "Dict[str, Any]":
    """The JSON view; its per-instance lists are iterators over the summary's listing, for
    write_json to stream (the undecided hosts' entries already rendered for ``indent``)."""
    decided = status_count(s, "HEALTHY") + status_count(s, "UNHEALTHY")
    return {
        "schema_version": SCHEMA_VERSION,
        "instances": s.instances,
        "by_status": {c.name: c.count for c in s.by_status},
        # GetCoverageStatistics' own shape, over the instances whose status was decided.
        "coverage_statistics": {
            "countByResourceType": {"EC2": decided},
            "countByCoverageStatus": {
                "HEALTHY": status_count(s, "HEALTHY"),
                "UNHEALTHY": status_count(s, "UNHEALTHY"),
            },
        },
        "by_issue": [
            {
                "issue_type": i.issue_type,
                "issue_message": i.issue_message,
                "count": i.count,
                "instances": s.issue_ids(i),
                "code": i.code or None,
                "doc_url": i.doc_url or None,
            }
            for i in s.by_issue
        ],
        "by_os": _counts(s.by_os),
        "by_kernel_family": _counts(s.by_kernel_family),
        "by_agent_version": _counts(s.by_agent_version),
        "by_doctor_version": _counts(s.by_doctor_version),
        "by_format": _counts(s.by_format),
        "root_causes": [{"check_id": c.name, "count": c.count} for c in s.root_causes],
        "undecided": _undecided_entries(s, indent),
        "unreadable": (
            {"instance_id": r[0], "command_id": r[1], "first_line": r[3]}
            for r in s.unreadable_rows()
        ),
        "truncated": s.truncated,
    }


class _Streamed(Exception):
    """An iterator inside an item: _dump leaves it, unread, for stream_json."""


# Members of a streamed list joined into one piece: a fleet's lists have 100,000 members.
STREAM_BATCH = 256
# A fleet repeats its reasons and check ids over thousands of hosts, and encoding a string costs
# about a microsecond per 150 characters: the JSON forms of strings, member names and short
# lists of strings are remembered, each table cleared when it holds this many.
ENCODED_KNOWN = 20000
ENCODED_SHORT = 40  # shorter strings (instance ids, mostly unique) are encoded each time
LISTS_KNOWN = 4096
LIST_KNOWN_MAX = 64  # longer lists (a listing's thousands of instance ids) are not remembered
_encode_basestring = json.encoder.encode_basestring
_ENCODED: "Bounded[str, str]" = Bounded(ENCODED_KNOWN)
_KEYS: "Bounded[str, str]" = Bounded(ENCODED_KNOWN)
_LISTS: "Bounded[Tuple[Tuple[str, ...], Optional[int], int], str]" = Bounded(LISTS_KNOWN)
_LAYOUTS: "Dict[Tuple[Optional[int], int], Tuple[str, str, str]]" = {}


def _encoded(item: str) -> str:
    """``json.dumps(item, ensure_ascii=False)`` for a string, remembered (bounded)."""
    if len(item) < ENCODED_SHORT:
        return _encode_basestring(item)
    found = _ENCODED.get(item)
    if found is None:
        found = _ENCODED.keep(item, _encode_basestring(item))
    return found


def _dump(item: Any, indent: "Optional[int]", level: int) -> str:
    """``json.dumps(item, indent=indent, ensure_ascii=False)`` as it reads nested ``level``
    deep, built in one call (json.dumps with an indent runs the pure-Python encoder). Keys are
    strings. Raises _Streamed, having read no iterator, when one is inside."""
    if isinstance(item, str):
        return item if type(item) is RawJSON else _encoded(item)
    if isinstance(item, dict):
        if not item:
            return "{}"
        inner, sep, end = _layout(indent, level)
        deeper = level + 1
        members = [
            _key(k) + (_encoded(v) if type(v) is str else _dump(v, indent, deeper))
            for k, v in item.items()
        ]
        return "{" + inner + sep.join(members) + end + "}"
    if isinstance(item, (list, tuple)):
        if not item:
            return "[]"
        if len(item) <= LIST_KNOWN_MAX:
            known = _string_list(item, indent, level)
            if known is not None:
                return known
        inner, sep, end = _layout(indent, level)
        deeper = level + 1
        members = [_encoded(v) if type(v) is str else _dump(v, indent, deeper) for v in item]
        return "[" + inner + sep.join(members) + end + "]"
    if hasattr(item, "__next__"):
        raise _Streamed
    return json.dumps(item, ensure_ascii=False)


def _string_list(item: "Sequence[Any]", indent: "Optional[int]", level: int) -> "Optional[str]":
    """A short list of strings (an undecided host's reasons), remembered (bounded): a fleet's
    undecided hosts repeat the same lists. None for a list of anything else."""
    key = (tuple(item), indent, level)
    try:
        found = _LISTS.get(key)
    except TypeError:  # a member that is a list or a dict
        return None
    if found is None:
        if not all(type(v) is str for v in item):
            return None
        inner, sep, end = _layout(indent, level)
        found = _LISTS.keep(key, "[" + inner + sep.join(map(_encoded, item)) + end + "]")
    return found


def _key(name: str) -> str:
    """A member's name as it leads the member: ``"name": ``."""
    found = _KEYS.get(name)
    if found is None:
        found = _KEYS.keep(name, _encode_basestring(name) + ": ")
    return found


def _layout(indent: "Optional[int]", level: int) -> "Tuple[str, str, str]":
    """What opens a container's first member, separates its members, and ends its last."""
    found = _LAYOUTS.get((indent, level))
    if found is None:
        if indent is None:
            found = ("", ", ", "")
        else:
            inner = "\n" + " " * (indent * (level + 1))
            found = (inner, "," + inner, "\n" + " " * (indent * level))
        _LAYOUTS[(indent, level)] = found
    return found


def stream_json(item: Any, indent: "Optional[int]" = 2, level: int = 0) -> "Iterator[str]":
    """``json.dumps(item, indent=indent, ensure_ascii=False)`` in pieces, where a list may
    also be an iterator: a fleet's instance lists are read from the listing as written."""
    try:
        whole: Optional[str] = _dump(item, indent, level)
    except _Streamed:
        whole = None
    if whole is not None:
        yield whole
        return
    if isinstance(item, dict):
        pairs: Iterable[Any] = ((_key(k), v) for k, v in item.items())
        opening, closing = "{", "}"
    else:
        pairs = (("", v) for v in item)
        opening, closing = "[", "]"
    inner, sep, end = _layout(indent, level)
    empty = True
    batch: List[str] = []
    for key, member in pairs:
        lead = (opening + inner if empty else sep) + key
        empty = False
        try:
            batch.append(lead + _dump(member, indent, level + 1))
        except _Streamed:
            yield "".join(batch) + lead
            batch = []
            yield from stream_json(member, indent, level + 1)
            continue
        if len(batch) >= STREAM_BATCH:
            yield "".join(batch)
            batch = []
    yield "".join(batch) + (opening + closing if empty else end + closing)


def write_json(s: Summary, out: "TextIO") -> None:
    out.writelines(stream_json(summary_dict(s)))
    out.write("\n")


def render_json(s: Summary) -> str:
    buf = io.StringIO()
    write_json(s, buf)
    return buf.getvalue()


def _table(rows: "List[Tuple[str, str]]", indent: str = "  ") -> "List[str]":
    width = max((len(a) for a, _ in rows), default=0)
    return [f"{indent}{a.ljust(width)}  {b}" for a, b in rows]


def _message(message: str) -> str:
    return f'"{message}"'


def write_text(s: Summary, out: "TextIO") -> None:
    lines = [f"amzn-gd-doctor fleet summary: {s.instances} outputs", "", "Coverage status"]
    lines += _table([(c.name, str(c.count).rjust(7)) for c in s.by_status])
    lines += ["", "Console issues"]
    if not s.by_issue:
        lines.append("  (none predicted)")
    for i in s.by_issue:
        lines.append(f"  {i.count:>7}  {i.issue_type} / {_message(i.issue_message)}")
        lines.append(f"           {first(s.issue_ids(i), i.count, TEXT_IDS)}")
        if i.doc_url:
            lines.append(f"           fix: {i.doc_url}")
    for title, items in (
        ("Root causes (failing checks)", s.root_causes),
        ("OS", s.by_os),
        ("Kernel family", s.by_kernel_family),
        ("Agent version", s.by_agent_version),
        ("Doctor version", s.by_doctor_version),
        ("Output format", s.by_format),
    ):
        lines += ["", title]
        lines += _table([(str(c.count).rjust(7), c.name) for c in items]) or ["  (none)"]
    lines += ["", f"Undecided ({s.undecided})"]
    out.write("\n".join(lines) + "\n")
    out.writelines(f"  {r[0]}: {r[3]}\n" for r in s.undecided_rows())
    lines = ["  (none)"] if not s.undecided else []
    lines += ["", f"Unreadable ({s.unreadable})"]
    out.write("\n".join(lines) + "\n")
    out.writelines(f"  {r[0]}: {r[3]}\n" for r in s.unreadable_rows())
    lines = ["  (none)"] if not s.unreadable else []
    if s.truncated:
        lines += ["", f"{s.truncated} outputs were larger than the read limit and were cut."]
    if lines:
        out.write("\n".join(lines) + "\n")


def render_text(s: Summary) -> str:
    buf = io.StringIO()
    write_text(s, buf)
    return buf.getvalue()


def _cell(item: str) -> str:
    return "'" + item if item.startswith(FORMULA_STARTS) else item


def csv_row(r: Row) -> "List[str]":
    return [
        _cell(v)
        for v in (
            r.instance_id,
            r.command_id,
            r.status,
            r.issue_type,
            r.issue_message,
            r.code,
            r.os,
            r.kernel,
            r.agent_version,
            r.doctor_version,
            r.fmt,
            " ".join(r.root_causes),
            r.reason,
            "yes" if r.truncated else "",
        )
    ]


def write_csv(s: Summary, out: "TextIO") -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows(csv_row(r) for r in s.rows())


def render_csv(s: Summary) -> str:
    buf = io.StringIO()
    write_csv(s, buf)
    return buf.getvalue()
