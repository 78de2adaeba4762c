"""The fleet summary as JSON, text and CSV. Pure functions of the Summary; they count nothing."""

import csv
import io
import json
from typing import Any, Dict, List, Tuple

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


def _counts(items: "Tuple[Count, ...]") -> "List[Dict[str, Any]]":
    return [{"name": c.name, "count": c.count} for c in items]


def summary_dict(s: Summary) -> "Dict[str, Any]":
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
                "instances": list(i.instances),
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
        "undecided": [
            {"instance_id": r.instance_id, "reason": r.reason, "inputs": list(r.undecided)}
            for r in s.undecided
        ],
        "unreadable": [
            {"instance_id": r.instance_id, "command_id": r.command_id, "first_line": r.reason}
            for r in s.unreadable
        ],
        "truncated": s.truncated,
    }


def render_json(s: Summary) -> str:
    return json.dumps(summary_dict(s), indent=2, ensure_ascii=False) + "\n"


def _table(rows: "List[Tuple[str, str]]", indent: str = "  ") -> "List[str]":
    width = max((len(a) for a, _ in rows), default=0)
    return [f"{indent}{a.ljust(width)}  {b}" for a, b in rows]


def _message(message: str) -> str:
    return f'"{message}"'


def render_text(s: Summary) -> str:
    lines = [f"amzn-gd-doctor fleet summary: {s.instances} outputs", "", "Coverage status"]
    lines += _table([(c.name, str(c.count).rjust(7)) for c in s.by_status])
    lines += ["", "Console issues"]
    if not s.by_issue:
        lines.append("  (none predicted)")
    for i in s.by_issue:
        lines.append(f"  {i.count:>7}  {i.issue_type} / {_message(i.issue_message)}")
        lines.append(f"           {first(i.instances, TEXT_IDS)}")
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
    lines += ["", f"Undecided ({len(s.undecided)})"]
    lines += [f"  {r.instance_id}: {r.reason}" for r in s.undecided] or ["  (none)"]
    lines += ["", f"Unreadable ({len(s.unreadable)})"]
    lines += [f"  {r.instance_id}: {r.reason}" for r in s.unreadable] or ["  (none)"]
    if s.truncated:
        lines += ["", f"{s.truncated} outputs were larger than the read limit and were cut."]
    return "\n".join(lines) + "\n"


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


def render_csv(s: Summary) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in s.rows:
        writer.writerow(csv_row(r))
    return buf.getvalue()
