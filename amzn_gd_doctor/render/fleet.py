"""The fleet summary as JSON, text and CSV. Pure functions of the Summary; they count nothing.

Every string of the outputs (ids, folder names, reports' fields) goes through fleet_safe:
visible escapes in text and CSV, ``\\u`` escapes in JSON.
"""

import csv
import io
import json
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, TextIO, Tuple

from ..fleet.bounded import Bounded
from ..fleet.parse import Row
from ..fleet.summary import (
    TEXT_IDS,
    UNDECIDED,
    UNREADABLE_ROWS,
    Count,
    Groups,
    Summary,
    first,
    status_count,
)
from .fleet_safe import csv_cell, json_string, shown

# 1.1 added outputs, repeated, by_command_id, undecided_reasons, unreadable_reasons, and the
# command_id of each undecided instance.
SCHEMA_VERSION = "1.1"
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
# Groups of undecided and of unreadable instances the text view shows (most first), and rows
# of each count table: the rest are summed on one line; the JSON and CSV list every one.
TEXT_GROUPS = 5
TEXT_ROWS = 8


class RawJSON(str):
    """JSON text already rendered where it goes: stream_json writes it as it is."""


def _undecided_entries(s: Summary, indent: "Optional[int]") -> "Iterator[RawJSON]":
    """``{"instance_id": ..., "reason": ..., "inputs": [...]}`` for each undecided host, as
    stream_json would render the dict two levels deep, built in one expression: a fleet has
    tens of thousands of them."""
    inner, sep, end = _layout(indent, 2)
    first = "{" + inner + _key("instance_id")
    command = sep + _key("command_id")
    reason, inputs, close = sep + _key("reason"), sep + _key("inputs"), end + "}"
    # A fleet has a few runs: each one's ``"command_id": "..."`` piece is made once.
    runs: Dict[str, str] = {}
    for r in s.undecided_rows():
        run = runs.get(r[1])
        if run is None:
            run = command + _encoded(r[1]) + reason
            if len(runs) < LISTS_KNOWN:
                runs[r[1]] = run
        yield RawJSON(
            first + _encoded(r[0]) + run + _encoded(r[3]) + inputs + _dump(r[4], indent, 3) + close
        )


def _counts(items: "Tuple[Count, ...]") -> "List[Dict[str, Any]]":
    return [{"name": c.name, "count": c.count} for c in items]


def _groups(groups: Groups, name: str) -> "List[Dict[str, Any]]":
    """Counts by a name the outputs wrote (a run, a reason); those beyond the names counted
    one by one (NAMES_HELD) sum up under null."""
    found: List[Dict[str, Any]] = [{name: c.name, "count": c.count} for c in groups.counts]
    if groups.other:
        found.append({name: None, "count": groups.other})
    return found


def summary_dict(s: Summary, indent: "Optional[int]" = 2) -> "Dict[str, Any]":
    """The JSON view; its per-instance lists are iterators over the summary's listing, for
    write_json to stream (the undecided hosts' entries already rendered for ``indent``)."""
    decided = status_count(s, "HEALTHY") + status_count(s, "UNHEALTHY")
    return {
        "schema_version": SCHEMA_VERSION,
        "instances": s.instances,
        "outputs": s.outputs,
        # Instances with more than one output: each counts once, from its newest output.
        "repeated": {
            "instances": s.repeated.instances,
            "outputs_not_counted": s.repeated.outputs,
            "runs": s.repeated.runs,
        },
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
        "by_command_id": _groups(s.by_command_id, "command_id"),
        "undecided_reasons": _groups(s.undecided_reasons, "reason"),
        "unreadable_reasons": _groups(s.unreadable_reasons, "reason"),
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
_encode_basestring = json.encoder.encode_basestring  # for member names, which are ours
_ENCODED: "Bounded[str, str]" = Bounded(ENCODED_KNOWN)
_KEYS: "Bounded[str, str]" = Bounded(ENCODED_KNOWN)
_LISTS: "Bounded[Tuple[Tuple[str, ...], Optional[int], int], str]" = Bounded(LISTS_KNOWN)
_LAYOUTS: "Dict[Tuple[Optional[int], int], Tuple[str, str, str]]" = {}


def _encoded(item: str) -> str:
    """``json.dumps(item, ensure_ascii=False)`` for a string, with fleet_safe's escapes,
    remembered (bounded)."""
    if len(item) < ENCODED_SHORT:
        return _encode_basestring(item) if item.isprintable() else json_string(item)
    found = _ENCODED.get(item)
    if found is None:
        found = _ENCODED.keep(item, json_string(item))
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
    return f'"{shown(message)}"'


def _ids(ids: "Iterable[str]", count: int) -> str:
    return first((shown(i) for i in ids), count, TEXT_IDS) or ""


def _count_table(items: "Tuple[Count, ...]") -> "List[str]":
    lines = _table([(str(c.count).rjust(7), shown(c.name)) for c in items[:TEXT_ROWS]])
    rest = items[TEXT_ROWS:]
    if rest:
        more = sum(c.count for c in rest)
        lines.append(f"  {more:>7}  in {len(rest)} more (the JSON lists every one)")
    return lines or ["  (none)"]


def repeats_note(s: Summary) -> "Optional[str]":
    """One sentence when some instances had more than one output, else None."""
    r = s.repeated
    if not r.instances:
        return None
    runs = f" in {r.runs} runs" if r.runs > 1 else ""
    return (
        f"{_plural(r.instances, 'instance')} had more than one output{runs}: each counts once, "
        f"from its newest output ({_plural(r.outputs, 'older output')} not counted; "
        "--command-id ID keeps to one run)"
    )


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _reason_groups(s: Summary, section: str, groups: Groups, title: str, total: int) -> "List[str]":
    """Instances by reason, like the issues: a count, the reason, a few ids; the most
    frequent TEXT_GROUPS reasons, then the rest on one line."""
    lines = ["", f"{title} ({total})" + (", by reason" if total else "")]
    if not total:
        return lines + ["  (none)"]
    shown_groups = groups.counts[:TEXT_GROUPS]
    ids = s.reason_ids(section, shown_groups, TEXT_IDS)
    for group in shown_groups:
        lines.append(f"  {group.count:>7}  {shown(group.name)}")
        lines.append(f"           {_ids(ids[group.name], group.count)}")
    rest = groups.counts[TEXT_GROUPS:]
    more = sum(c.count for c in rest) + groups.other
    if more:
        reasons = len(rest) + (1 if groups.other else 0)
        lines.append(
            f"  {more:>7}  in {reasons}{'+' if groups.other else ''} more reasons "
            "(-f csv or -f json lists every instance)"
        )
    return lines


def write_text(s: Summary, out: "TextIO") -> None:
    outputs = f" ({s.outputs} outputs)" if s.outputs != s.instances else ""
    lines = [f"amzn-gd-doctor fleet summary: {s.instances} instances{outputs}"]
    note = repeats_note(s)
    if note:
        lines.append(f"Note: {note}.")
    lines += ["", "Coverage status"]
    lines += _table([(c.name, str(c.count).rjust(7)) for c in s.by_status])
    lines += ["", "Console issues"]
    if not s.by_issue:
        lines.append("  (none predicted)")
    for i in s.by_issue:
        lines.append(f"  {i.count:>7}  {shown(i.issue_type)} / {_message(i.issue_message)}")
        lines.append(f"           {_ids(s.issue_ids(i), i.count)}")
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
        lines += _count_table(items)
    runs = s.by_command_id
    if len(runs.counts) > 1 or runs.other:
        lines += ["", "Runs (command ids)"]
        lines += _count_table(
            runs.counts + ((Count("(others)", runs.other),) if runs.other else ())
        )
    lines += _reason_groups(s, UNDECIDED, s.undecided_reasons, "Undecided", s.undecided)
    lines += _reason_groups(s, UNREADABLE_ROWS, s.unreadable_reasons, "Unreadable", s.unreadable)
    if s.truncated:
        lines += ["", f"{s.truncated} outputs were larger than the read limit and were cut."]
    out.write("\n".join(lines) + "\n")


def render_text(s: Summary) -> str:
    buf = io.StringIO()
    write_text(s, buf)
    return buf.getvalue()


def csv_row(r: Row) -> "List[str]":
    return [
        csv_cell(v)
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
