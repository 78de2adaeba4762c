"""`list` and `explain`: the console issue catalogue for people and as JSON."""

import json
from typing import Any, Dict, Iterable

from ..model import Issue


def _message(issue: Issue) -> str:
    return f'"{issue.issue_message}"' if issue.issue_message else '"" (empty message)'


def render_list(issues: "Iterable[Issue]") -> str:
    rows = list(issues)
    width = max(len(i.code) for i in rows)
    lines = [f"{'CODE'.ljust(width)}  SCOPE    ISSUE TYPE / MESSAGE"]
    for i in rows:
        lines.append(f"{i.code.ljust(width)}  {i.scope.ljust(7)}  {i.issue_type} / {_message(i)}")
    lines.append("")
    lines.append("Scope 'account': the host cannot show it; `explain CODE` says what to check.")
    return "\n".join(lines) + "\n"


def render_explain(issue: Issue) -> str:
    lines = [
        f"{issue.code}",
        f"  Issue type:    {issue.issue_type}",
        f"  Issue message: {_message(issue)}",
    ]
    if issue.aliases:
        lines.append(f"  Also shown as: {', '.join(issue.aliases)}")
    where = "seen from the host" if issue.scope == "host" else "visible only in the account"
    lines += [
        f"  Scope:         {issue.scope} ({where})",
        f"  Severity:      {issue.severity}",
        "",
        f"  {issue.summary}",
        "",
        "  How to fix:",
    ]
    lines += [f"    {n}. {step}" for n, step in enumerate(issue.remediation, 1)]
    lines += ["", f"  Docs: {issue.doc_url}"]
    return "\n".join(lines) + "\n"


def issue_dict(issue: Issue) -> "Dict[str, Any]":
    return {
        "code": issue.code,
        "issue_type": issue.issue_type,
        "issue_message": issue.issue_message,
        "aliases": list(issue.aliases),
        "scope": issue.scope,
        "precedence": issue.precedence,
        "severity": issue.severity,
        "summary": issue.summary,
        "remediation": list(issue.remediation),
        "doc_url": issue.doc_url,
    }


def render_json(issues: "Iterable[Issue]") -> str:
    return json.dumps([issue_dict(i) for i in issues], indent=2, ensure_ascii=False) + "\n"
