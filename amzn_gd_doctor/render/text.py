"""The report for people: the predicted console issue first, then a line per check with its
fix under each failure. Every string from the host is escaped so no control character or
terminal escape sequence reaches the terminal.

Every line but the first (the one-line summary a fleet reads) is wrapped to the terminal's
width, or to WIDTH columns when the report does not go to a terminal; a wrapped line continues
under its own text (after ``[PASS] ``, ``Observed:      ``, ``1. ``), so the check ids and
labels stay in their column.
"""

from typing import Dict, List, Optional, Set

from .. import lazy_re
from ..model import Confidence, Diagnosis, ExitCode, Finding, Outcome, Report
from ..sanitize import printable

# Where a report that does not go to a terminal (a pipe, a file, Run Command's output) is
# wrapped: as wide as the longest URL of GuardDuty's docs the report names, so that one fits
# whole on a line of its own.
WIDTH = 100
# Narrower terminals still get this much: below it, the continuation column (17 after
# "Observed:") would leave a few characters a line.
MIN_WIDTH = 60
_ANSI = lazy_re.compile(r"\x1b\[[0-9;]*m")
# What a wrapped line continues under: a check's mark, a list dash, a step number, or a label
# ("Observed:      ", "Hint: "); else two columns in from the line's own indent.
_HANG = lazy_re.compile(r" *(?:\[.{4}\] |-> |- |\d+\. |[A-Za-z][A-Za-z ]*: +)")
_URL = "://"

MARKS = {
    Outcome.PASS: ("PASS", "32"),
    Outcome.FAIL: ("FAIL", "31;1"),
    Outcome.WARN: ("WARN", "33"),
    Outcome.INCONCLUSIVE: (" ?? ", "35"),
    Outcome.NOT_APPLICABLE: (" -- ", "2"),
    Outcome.CRASH: ("CRSH", "31"),
}
# Areas in provisioning order, the order an operator works through them; others follow.
AREA_ORDER = ("platform", "imds", "ssm", "agent", "network")
EXIT_WORDS = {
    ExitCode.HEALTHY: "healthy",
    ExitCode.UNHEALTHY: "unhealthy predicted",
    ExitCode.UNDECIDED: "could not decide",
}


def clean(text: object) -> str:
    return printable(text)


def _message(message: str) -> str:
    return f'"{message}"' if message else '"" (the console shows an empty message)'


class _Style:
    def __init__(self, color: bool) -> None:
        self.color = color

    def __call__(self, text: str, code: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.color else text


def summary_line(report: Report) -> str:
    """The one line a fleet reads first (Run Command shows only the first 2,500 characters):
    ``amzn-gd-doctor: UNHEALTHY | <issue type> | "<issue message>" | <confidence> | <instance>``,
    or ``HEALTHY | no issue predicted | <instance>``, or ``UNKNOWN | could not decide: ...``,
    or ``UNKNOWN | not an EC2 instance: ...`` on a machine the console does not cover.
    Fields are separated by `` | ``, which no console issue string contains."""
    who = clean(report.host.instance_id or "instance id unknown")
    status = report.coverage_status.value
    if report.not_ec2:
        fields = [
            status,
            "not an EC2 instance: GuardDuty's EC2 Runtime Monitoring does not cover it",
        ]
    elif report.covered_elsewhere:
        fields = [status, clean(report.covered_elsewhere)]
    elif report.primary:
        p = report.primary
        fields = [status, p.issue.issue_type, f'"{p.issue.issue_message}"', p.confidence.value]
    elif status == "UNKNOWN":
        undecided = (Outcome.INCONCLUSIVE, Outcome.CRASH)  # what makes the status UNKNOWN
        count = sum(1 for f in report.findings if f.outcome in undecided)
        fields = [
            status,
            f"could not decide: {count} check{'s' if count != 1 else ''} inconclusive",
        ]
    else:
        fields = [status, "no issue predicted"]
    return "amzn-gd-doctor: " + " | ".join(fields + [who])


def _header(report: Report) -> "List[str]":
    h = report.host
    who = clean(h.instance_id or "this host")
    where = ", ".join(clean(p) for p in (h.instance_type, h.region) if p)
    lines = [
        f"amzn-gd-doctor {report.tool_version}: GuardDuty Runtime Monitoring on {who}"
        + (f" ({where})" if where else "")
    ]
    if report.replay:
        r = report.replay
        lines.append(
            f"Replayed from {clean(r.bundle)}, captured {clean(r.captured_at)} "
            f"by amzn-gd-doctor {clean(r.tool_version)}: not observed on this host now"
        )
    parts = [
        clean(p)
        for p in (
            f"{h.os} ({h.family})" if h.os and h.family else h.os or h.family,
            f"kernel {h.kernel}" if h.kernel else None,
            h.arch,
            f"account {h.account_id}" if h.account_id else None,
            h.vpc_id,
        )
        if p
    ]
    if parts:
        lines.append("Host: " + ", ".join(parts))
    return lines


def _verdict(report: Report, style: _Style) -> "List[str]":
    status = report.coverage_status.value
    code = {"HEALTHY": "32;1", "UNHEALTHY": "31;1"}.get(status, "33;1")
    lines = ["", f"Predicted coverage status: {style(status, code)}"]
    if report.not_ec2:
        lines.append(f"  Not EC2:       {clean(report.not_ec2)}")
        if report.primary:
            lines.append("  The failures below are consequences, none is a console issue:")
    elif report.covered_elsewhere:
        lines.append(f"  Coverage:      {clean(report.covered_elsewhere)}")
        if report.primary:
            lines.append("  The failures below are not this instance's EC2 coverage issue:")
    if report.primary and not report.not_ec2 and not report.covered_elsewhere:
        p = report.primary
        # The fix comes here, not only under its check: Run Command shows the first 2,500
        # characters of the output, and the checks that precede the failing one can fill them.
        lines += [
            f"  Issue type:    {p.issue.issue_type}",
            f"  Issue message: {_message(p.issue.issue_message)}",
            f"  Confidence:    {p.confidence.value}",
            f"  Observed:      {clean(p.summary)}",
            "  How to fix:",
        ]
        lines += [f"    {n}. {clean(step)}" for n, step in enumerate(p.remediation, 1)]
        lines.append(f"  Docs: {p.issue.doc_url}")
    elif status == "UNKNOWN" and not report.covered_elsewhere:
        lines.append("  Nothing failed, but some checks could not decide (see below).")
    return lines


def _fix_block(d: Diagnosis) -> "List[str]":
    lines = [
        f"       -> {d.issue.issue_type} / {_message(d.issue.issue_message)}"
        f" ({d.confidence.value})",
        "       How to fix:",
    ]
    lines += [f"         {n}. {clean(step)}" for n, step in enumerate(d.remediation, 1)]
    lines.append(f"       Docs: {d.issue.doc_url}")
    return lines


def _check(
    f: Finding, report: Report, style: _Style, verbose: bool, shown: "Set[str]"
) -> "List[str]":
    word, code = MARKS[f.outcome]
    lines = [f"  [{style(word, code)}] {f.rule_id}: {clean(f.summary)}"]
    if f.outcome is Outcome.FAIL and f.issue and f.issue not in shown:
        shown.add(f.issue)
        lines += _fix_block(next(d for d in report.diagnoses if d.issue.code == f.issue))
    elif f.outcome is Outcome.FAIL and report.primary and f.issue == report.primary.issue.code:
        p = report.primary
        lines.append(
            f"       -> {p.issue.issue_type} / {_message(p.issue.issue_message)}"
            f" ({p.confidence.value}; how to fix: above)"
        )
    elif f.fix and f.outcome is not Outcome.FAIL:
        lines += [f"       Hint: {clean(step)}" for step in f.fix]
    if verbose:
        lines += [f"       evidence: {clean(e)}" for e in f.evidence]
        lines.append(f"       ({f.title}; {f.duration_ms} ms)")
    return lines


def _shown(text: str) -> int:
    """Columns ``text`` takes on a terminal: its colour codes take none."""
    return len(_ANSI.sub("", text))


def wrap(line: str, width: int) -> "List[str]":
    """``line`` as lines of at most ``width`` columns, broken at spaces; the continuations hang
    under its text (_HANG). A word too long for a line of its own is cut, except a URL, which
    stays whole to stay usable: it gets a line to itself, moved left as far as it needs."""
    if _shown(line) <= width:
        return [line]
    plain = _ANSI.sub("", line)
    hang = _HANG.match(plain)
    indent = len(hang.group(0)) if hang else len(plain) - len(plain.lstrip(" ")) + 2
    pad = " " * min(indent, width // 2)
    head = len(line) - len(line.lstrip(" "))
    out: List[str] = []
    current, used, empty = line[:head], head, True
    for word in line[head:].split(" "):
        size = _shown(word)
        if not empty and used + 1 + size > width:
            out.append(current.rstrip())
            current, used, empty = pad, len(pad), True
        if empty and used + size > width:
            if _URL in word:  # whole, on a line of its own, as far right as it fits
                if current.strip():
                    out.append(current.rstrip())
                out.append(" " * max(0, min(len(pad), width - size)) + word)
                current, used, empty = pad, len(pad), True
                continue
            while used + size > width:  # host text with no space in it: cut
                room = width - used
                out.append(current + word[:room])
                word, size = word[room:], size - room
                current, used = pad, len(pad)
        current += word if empty else " " + word
        used += size if empty else 1 + size
        empty = False
    if current.strip():
        out.append(current.rstrip())
    return out


def render(
    report: Report, verbose: bool = False, color: bool = False, width: "Optional[int]" = WIDTH
) -> str:
    """The text report. ``width``: the columns its lines are wrapped to (the terminal's, or
    WIDTH), at least MIN_WIDTH; None leaves every line whole."""
    style = _Style(color)
    lines = [summary_line(report)] + _header(report) + _verdict(report, style) + ["", "Checks"]
    # The primary diagnosis's fix is in the verdict block already.
    shown: Set[str] = {report.primary.issue.code} if report.primary else set()
    by_area: Dict[str, List[Finding]] = {}
    for f in report.findings:
        by_area.setdefault(f.area, []).append(f)
    rank = {area: n for n, area in enumerate(AREA_ORDER)}
    for area in sorted(by_area, key=lambda a: (rank.get(a, len(rank)), a)):
        lines.append(f" {area}")
        for f in by_area[area]:
            lines += _check(f, report, style, verbose, shown)
    others = [d for d in report.diagnoses if d is not report.primary]
    if others:
        lines += ["", "Other diagnoses (the console shows one issue at a time):"]
        for d in others:
            weaker = f" - {d.confidence.value}" if d.confidence is not Confidence.CONFIRMED else ""
            lines.append(f"  - {d.issue.issue_type} / {_message(d.issue.issue_message)}{weaker}")
    if report.incomplete:
        lines += ["", "Could not observe or decide:"]
        lines += [f"  - {clean(i.id)}: {clean(i.reason)}" for i in report.incomplete]
    if verbose:
        lines += ["", "Facts"]
        lines += [
            f"  {fact.probe_id}: {fact.status.value}"
            + (f" ({clean(fact.reason)})" if fact.reason else "")
            + f", {fact.duration_ms} ms"
            for fact in report.facts
        ]
    code = report.exit_code
    lines += ["", f"Exit {int(code)} ({EXIT_WORDS[code]}) after {report.elapsed_ms / 1000:.2f} s"]
    if width is not None:  # the summary line, first, stays whole: a fleet reads it as one
        columns = max(width, MIN_WIDTH)
        lines = lines[:1] + [part for line in lines[1:] for part in wrap(line, columns)]
    return "\n".join(lines) + "\n"
