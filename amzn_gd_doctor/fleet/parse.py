"""One output read back as a row: what the doctor said on that instance, from its JSON report
or from the first lines of its text report, or why the output is not a report (UNREADABLE).

Pure: bytes in, a row out. Never raises on any input. The row's strings are the output's own,
as they are (control and bidi characters, and bytes that are not UTF-8 as lone surrogates,
``surrogateescape``): each view escapes them in its own way (render/fleet_safe.py), so that a
JSON consumer gets them back exactly and a terminal or a spreadsheet never runs them.
"""

import functools
import json
from typing import Any, Dict, List, Optional, Tuple

from .. import lazy_re
from ..values import fields, value
from .bounded import Bounded
from .source import Output

UNREADABLE = "UNREADABLE"
STATUSES = ("HEALTHY", "UNHEALTHY", "UNKNOWN")
# The JSON report's major version this reader understands; a newer major may move fields.
SCHEMA_MAJOR = "1"
# An UNREADABLE output is named by its first line, cut to this many characters: enough for
# "bash: amzn-gd-doctor: command not found" or an HTML doctype, short for a table cell.
FIRST_LINE_MAX = 120
# The text report's summary line, its header and its check lines are in its first lines; the
# "Could not observe or decide" list is further down, so the whole text (bounded by
# OUTPUT_LIMIT) is scanned line by line, which is cheap.
SUMMARY_PREFIX = "amzn-gd-doctor: "
_HEADER_START = "amzn-gd-doctor "
_HEADER_END = ": GuardDuty Runtime Monitoring on "
HOST_LINES_KNOWN = 4096
_HOST_LINES: "Bounded[str, Dict[str, str]]" = Bounded(HOST_LINES_KNOWN)
_INCOMPLETE_MARK = '\n  "incomplete": '
BLOCKS_KNOWN = 1024
_BLOCKS: "Bounded[str, Tuple[str, ...]]" = Bounded(BLOCKS_KNOWN)
_INCOMPLETES: "Bounded[str, Tuple[str, ...]]" = Bounded(BLOCKS_KNOWN)
FAIL_MARK = "\n  [FAIL] "
CHECK_ID_MAX = 80  # longer than any check id, so a cut line is not taken for one
_CHECK_ID_RE = lazy_re.compile(r"[a-z0-9_]+\.[a-z0-9_]+$")
# The lines of that list, one after another: "  - <check id>: <reason>", each perhaps
# continued on lines indented further (a report wrapped to a width: render/text.wrap hangs a
# continuation under the item's text).
_INCOMPLETE_BLOCK_RE = lazy_re.compile(
    r"(?:  - [a-z0-9_]+\.[a-z0-9_]+: [^\n]*(?:\n|\Z)(?: {4,}\S[^\n]*(?:\n|\Z))*)+"
)
_ITEM_START = "\n  - "
INCOMPLETE_TITLE = "\nCould not observe or decide:\n"
_FAMILY_RE = lazy_re.compile(r"^(\d+\.\d+)")
# Top-level keys of the report as render/json.py writes it (indent 2): a newline and exactly
# two spaces before a key can only be a top-level key, since JSON strings hold no raw newline.
_TOP_KEYS = ("schema_version", "tool", "verdict", "diagnoses", "host", "incomplete")
# Of those, the ones render/json.py writes after the checks and facts (four fifths of a
# report): searched from the end.
_TAIL_KEYS = frozenset(("host", "incomplete", "facts"))
_DECODER = json.JSONDecoder()
# What a summary decodes first; the diagnoses' findings and the incomplete list are decoded
# where they are, and only when needed.
_FIRST_KEYS = ("schema_version", "tool", "verdict", "host")
_DIAGNOSES_MARK = '\n  "diagnoses": '
_CHECKS_MARK = '\n  "checks": '
_FINDINGS_MARK = '\n      "findings": '  # a member of a diagnosis, an element of "diagnoses"
_SUMMARY_BYTES = SUMMARY_PREFIX.encode()
# A check's outcome, as render/json.py writes it (six spaces: a member of a check, which is an
# element of the top-level "checks" list); no other member of a report is named "outcome".
_UNDECIDED_OUTCOMES = ('\n      "outcome": "inconclusive",', '\n      "outcome": "crash",')
DECODE_ERRORS = "surrogateescape"


@value
class Row:
    """One instance as the summary counts it. Empty strings stand for "not said"."""

    instance_id: str
    command_id: str
    status: str  # HEALTHY, UNHEALTHY, UNKNOWN or UNREADABLE
    code: str = ""  # catalogue code of the predicted issue
    issue_type: str = ""
    issue_message: str = ""
    os: str = ""
    kernel: str = ""
    agent_version: str = ""
    doctor_version: str = ""
    fmt: str = ""  # "json", "text", or "" when unreadable
    root_causes: "Tuple[str, ...]" = ()  # failing check ids
    undecided: "Tuple[str, ...]" = ()  # "id: reason" of what could not be observed or decided
    reason: str = ""  # why UNKNOWN or UNREADABLE, in one line
    truncated: bool = False
    location: str = ""
    mtime: float = 0.0  # when the output was written: of an instance's outputs, the newest counts


_DEFAULTS = {name: getattr(Row, name) for name in fields(Row)[3:]}


def _row(**values: Any) -> Row:
    """Row(**values), built without the value class's argument checks: every caller here
    names only fields, and a fleet has hundreds of thousands of rows."""
    row: Row = object.__new__(Row)
    row.__dict__.update(_DEFAULTS)
    row.__dict__.update(values)
    return row


def kernel_family(kernel: str) -> str:
    """``6.1.115-126.197.amzn2023.x86_64`` -> ``6.1``; the support matrix is by family."""
    match = _FAMILY_RE.match(kernel)
    return match.group(1) if match else ""


def first_line(data: bytes) -> str:
    if not data.strip():
        return "empty output"
    # Bytes that are not UTF-8 are kept (as lone surrogates) for the views to show as \xNN.
    text = data.lstrip().split(b"\n", 1)[0].decode("utf-8", DECODE_ERRORS).strip()
    return text if len(text) <= FIRST_LINE_MAX else text[: FIRST_LINE_MAX - 3] + "..."


def parse(output: Output) -> Row:
    base: Dict[str, Any] = {
        "instance_id": output.instance_id,
        "command_id": output.command_id,
        "truncated": output.truncated,
        "location": output.location,
        "mtime": output.mtime,
    }
    data = output.data
    try:
        head = data[:64].lstrip()
        if head.startswith(b"{"):
            return _from_json(data, base)
        if head.startswith(_SUMMARY_BYTES):
            return _from_text(data.decode("utf-8", DECODE_ERRORS), base)
    except Exception as err:  # noqa: BLE001 - a bad output is a row, never a crash
        return _row(status=UNREADABLE, reason=f"unreadable report ({type(err).__name__})", **base)
    return _row(status=UNREADABLE, reason=first_line(data), **base)


def _unreadable(base: "Dict[str, Any]", why: str, data: bytes) -> Row:
    return _row(status=UNREADABLE, reason=f"{why}: {first_line(data)}", **base)


def _top_level(text: str, keys: "Tuple[str, ...]" = _TOP_KEYS) -> "Optional[Dict[str, Any]]":
    """The few top-level members a summary needs, decoded one by one where render/json.py put
    them: a report's checks and facts are four fifths of it and are not needed, and the members
    written after them are searched from the end. None when the layout is another (re-indented
    by a tool), for the caller to decode the whole."""
    out: Dict[str, Any] = {}
    for key in keys:
        mark = f'\n  "{key}": '
        at = text.rfind(mark) if key in _TAIL_KEYS else text.find(mark)
        if at < 0:
            return None
        out[key], _ = _DECODER.raw_decode(text, at + len(mark))
    if not text[-64:].rstrip().endswith("}"):
        raise ValueError("truncated")
    return out


def _undecided_count(text: str, checks: "Optional[List[Any]]") -> int:
    """How many checks were inconclusive or crashed: from the decoded checks, else counted in
    the text of the "checks" member, which is not decoded (most of a report)."""
    if checks is not None:
        return sum(1 for c in checks if _dict(c).get("outcome") in ("inconclusive", "crash"))
    start = text.find('\n  "checks": ')
    end = len(text)  # only checks have an "outcome" member: the facts after them count none
    if start < 0:
        found = (_top_level(text, ("checks",)) or {}).get("checks")
        return _undecided_count(text, found if isinstance(found, list) else [])
    return sum(text.count(mark, start, end) for mark in _UNDECIDED_OUTCOMES)


def _from_json(data: bytes, base: "Dict[str, Any]") -> Row:
    text = data.decode("utf-8", DECODE_ERRORS)
    try:
        doc = _top_level(text, _FIRST_KEYS)
        if doc is None:
            doc = json.loads(text)
        if not isinstance(doc, dict) or "schema_version" not in doc:
            return _unreadable(base, "JSON but not a doctor report", data)
        major = str(doc.get("schema_version")).split(".")[0]
        if major != SCHEMA_MAJOR:
            return _row(
                status=UNREADABLE,
                reason=f"report schema {doc.get('schema_version')} is newer than "
                f"this reader (major {SCHEMA_MAJOR}): upgrade amzn-gd-doctor",
                **base,
            )
        verdict = _dict(doc.get("verdict"))
        status = str(verdict.get("coverage_status"))
        if status not in STATUSES:
            return _unreadable(base, f"unknown coverage status {status!r}", data)
        causes = _findings(text, doc)
        undecided: Tuple[str, ...] = ()
        if status == "UNKNOWN":
            undecided = _incomplete(text, doc)
        reason = ""
        if verdict.get("not_ec2"):
            reason = f"not an EC2 instance: {verdict['not_ec2']}"
        elif verdict.get("covered_elsewhere"):  # as the text report's summary line says it
            reason = _text(verdict.get("covered_elsewhere"))
        elif status == "UNKNOWN":
            # The text report's words (render/text.summary_line): both formats count alike.
            checks = doc.get("checks")
            count = _undecided_count(text, checks if isinstance(checks, list) else None)
            reason = f"could not decide: {count} check{'s' if count != 1 else ''} inconclusive"
    except ValueError:
        why = "truncated JSON" if base["truncated"] or not text.rstrip().endswith("}") else None
        return _unreadable(base, why or "not valid JSON", data)
    host = _dict(doc.get("host"))
    return _row(
        status=status,
        code=_text(verdict.get("code")),
        issue_type=_text(verdict.get("issue_type")) if verdict.get("code") else "",
        issue_message=_text(verdict.get("issue_message")) if verdict.get("code") else "",
        os=_text(host.get("os")),
        kernel=_text(host.get("kernel")),
        agent_version=_text(host.get("agent_version")),
        doctor_version=_text(_dict(doc.get("tool")).get("version")),
        fmt="json",
        root_causes=causes,
        undecided=undecided,
        reason=reason,
        **base,
    )


def _incomplete(text: str, doc: "Dict[str, Any]") -> "Tuple[str, ...]":
    """The "incomplete" member as ``id: reason`` lines, remembered (bounded) by its text where
    render/json.py put it: a fleet's undecided hosts repeat the same list."""
    key = None
    if "incomplete" not in doc:
        at = text.rfind(_INCOMPLETE_MARK)
        end = text.find('\n  "', at + len(_INCOMPLETE_MARK)) if at >= 0 else -1
        key = text[at:end] if end >= 0 else None
    found = _INCOMPLETES.get(key) if key is not None else None
    if found is None:
        found = tuple(
            f"{item.get('id')}: {item.get('reason')}"
            for item in (_dict(i) for i in _member(text, doc, "incomplete") or [])
        )
        if key is not None:
            _INCOMPLETES.keep(key, found)
    return found


def _member(text: str, doc: "Dict[str, Any]", key: str) -> Any:
    """A top-level member: from the decoded document, else decoded where it is."""
    if key in doc:
        return doc[key]
    return (_top_level(text, (key,)) or {}).get(key)


def _findings(text: str, doc: "Dict[str, Any]") -> "Tuple[str, ...]":
    """The check ids of every diagnosis's findings. In render/json.py's layout only the
    ``"findings"`` lists of the diagnoses are decoded (the rest is prose: summaries and
    remediation steps), between the diagnoses and the checks that follow them."""
    start = text.find(_DIAGNOSES_MARK) if "diagnoses" not in doc else -1
    end = text.find(_CHECKS_MARK, start) if start >= 0 else -1
    lists: List[Any] = []
    if end < 0:
        lists = [_dict(d).get("findings") for d in _member(text, doc, "diagnoses") or []]
    else:
        at = text.find(_FINDINGS_MARK, start, end)
        while at >= 0:
            found, at = _DECODER.raw_decode(text, at + len(_FINDINGS_MARK))
            lists.append(found)
            at = text.find(_FINDINGS_MARK, at, end)
    causes = {str(check_id) for found in lists if isinstance(found, list) for check_id in found}
    return tuple(sorted(causes))


def _dict(item: Any) -> "Dict[str, Any]":
    return item if isinstance(item, dict) else {}


def _text(item: Any) -> str:
    return str(item) if item is not None else ""


def _from_text(text: str, base: "Dict[str, Any]") -> Row:
    """The text report: its summary line (render/text.summary_line), then the header lines
    ``amzn-gd-doctor 0.1.0: GuardDuty Runtime Monitoring on i-0abc...`` and
    ``Host: Amazon Linux 2023, kernel 6.1.115-126.197.amzn2023.x86_64, x86_64, ...``, then a
    ``  [FAIL] agent.unit_active: ...`` line per check, and near the end the list of what could
    not be observed or decided."""
    text = text.lstrip()
    # The first three lines, found without copying the rest of the text.
    end1 = text.find("\n")
    end2 = text.find("\n", end1 + 1) if end1 >= 0 else -1
    end3 = text.find("\n", end2 + 1) if end2 >= 0 else -1
    first = text[len(SUMMARY_PREFIX) : end1] if end1 >= 0 else text[len(SUMMARY_PREFIX) :]
    fields = first.rstrip("\r").split(" | ")
    status = fields[0]
    if status not in STATUSES or len(fields) < 2:
        return _row(status=UNREADABLE, reason=first_line(text.encode()), **base)
    row: Row = object.__new__(Row)
    values = row.__dict__
    values.update(_DEFAULTS)
    values.update(base)
    values["status"] = status
    values["fmt"] = "text"
    if status == "UNHEALTHY" and len(fields) >= 4 and fields[2].startswith('"'):
        values["issue_type"] = issue_type = fields[1]
        message = fields[2][1:-1] if fields[2].endswith('"') else fields[2][1:]
        values["issue_message"] = message
        values["code"] = _codes().get((issue_type, message), "")
    elif status == "UNKNOWN":
        values["reason"] = fields[1]
        values["undecided"] = _undecided_lines(text)
    if end1 >= 0:
        header = text[end1 + 1 : end2] if end2 >= 0 else text[end1 + 1 :]
        if header.startswith(_HEADER_START):
            cut = header.find(_HEADER_END, len(_HEADER_START))
            version = header[len(_HEADER_START) : cut]
            if cut > len(_HEADER_START) and not _has_space(version):
                values["doctor_version"] = version
    if end2 >= 0 and text.startswith("Host: ", end2 + 1):
        values.update(_host_line(text[end2 + 7 : end3] if end3 >= 0 else text[end2 + 7 :]))
    values["root_causes"] = _failed_checks(text)
    return row


def _has_space(item: str) -> bool:
    """Whether any character is whitespace (decided in C for the usual printable string:
    every whitespace character but the space is unprintable)."""
    if item.isprintable():
        return " " in item
    return any(ch.isspace() for ch in item)


def _undecided_lines(text: str) -> "Tuple[str, ...]":
    """The ``  - imds.identity: reason`` lines under "Could not observe or decide:", which the
    report writes after its checks (searched from the end), up to the first other line; each
    without its ``  - ``. The list ends at a blank line; what it holds is remembered (bounded),
    as a fleet's undecided hosts repeat the same reasons."""
    at = text.rfind(INCOMPLETE_TITLE)
    if at < 0:
        return ()
    start = at + len(INCOMPLETE_TITLE)
    end = text.find("\n\n", start)
    block = text[start:] if end < 0 else text[start : end + 1]
    found = _BLOCKS.get(block)
    if found is None:
        match = _INCOMPLETE_BLOCK_RE.match(block)
        items = ("\n" + match.group(0)).split(_ITEM_START)[1:] if match else ()
        found = _BLOCKS.keep(block, tuple(_joined(item) for item in items))
    return found


def _joined(item: str) -> str:
    """An item of the list, its continuation lines (if the report was wrapped) joined to its
    first line again at the spaces the wrapping broke."""
    first, _, rest = item.partition("\n")
    more = [line.strip() for line in rest.split("\n") if line.strip()]
    return " ".join([first, *more]) if more else first


def _failed_checks(text: str) -> "Tuple[str, ...]":
    """The ids of the ``  [FAIL] platform.kernel_supported: ...`` lines, found with str.find:
    a regular expression over the whole report costs ten times more, per output."""
    found = set()
    at = text.find(FAIL_MARK)
    while at >= 0:
        start = at + len(FAIL_MARK)
        end = text.find(": ", start, start + CHECK_ID_MAX)
        if end > start and _CHECK_ID_RE.match(text, start, end):
            found.add(text[start:end])
        at = text.find(FAIL_MARK, start)
    return tuple(sorted(found))


def _host_line(line: str) -> "Dict[str, str]":
    """The OS comes first when known, then ``kernel X``; architecture, account and VPC follow.
    Remembered (bounded): a fleet's hosts share a few of these lines."""
    found = _HOST_LINES.get(line)
    if found is None:
        found = _HOST_LINES.keep(line, _read_host_line(line))
    return found


def _read_host_line(line: str) -> "Dict[str, str]":
    parts = line.split(", ")
    out: Dict[str, str] = {}
    for n, part in enumerate(parts):
        if part.startswith("kernel "):
            out["kernel"] = part[len("kernel ") :]
            if n == 1:
                out["os"] = parts[0]
            break
    else:
        if parts and not parts[0].startswith(("account ", "vpc-")) and " " in parts[0]:
            out["os"] = parts[0]
    return out


@functools.lru_cache(maxsize=None)
def _codes() -> "Dict[Tuple[str, str], str]":
    from .. import catalog

    codes: Dict[Tuple[str, str], str] = {}
    for issue in catalog.issues().values():
        codes.setdefault((issue.issue_type, issue.issue_message), issue.code)
    return codes
