"""The SSM agent's log cut into entries: a line that starts with the agent's header (a time and
a level) and the lines that continue it (an AWS SDK error's ``caused by:`` and ``status code:``
lines). The same whether the text is amazon-ssm-agent.log, errors.log, or journal or syslog
text whose lines carry the identifier ``amazon-ssm-agent[PID]:``.

Pure: reads nothing, registers no probe.
"""

import datetime
from typing import List, Tuple

from .. import lazy_re
from ..values import value

# An SDK error chain is two to four lines (the error, one or two "caused by:", a status code).
# Eight keep any real chain whole and stop a run of indented lines from becoming one huge entry;
# continuation lines beyond it are dropped.
MAX_CONTINUATION_LINES = 8
# Patterns read an entry only this far: a full chain of eight lines is well inside it, and one
# pathological line cannot make every pattern scan megabytes.
MAX_ENTRY_CHARS = 4096
# How the lines of one entry are shown side by side, as the plugin outputs are.
JOIN = " | "
# rsyslog writes a TAB inside a message as "#011".
RSYSLOG_TAB = "#011"

# The agent's header in the forms its versions have written:
#   2018-05-30 12:43:59 ERROR [HandleAwsError @ awserr.go.48] [instanceID=i-...] ...  (errors.log)
#   2023-10-27 10:43:14 WARN EC2RoleProvider ...
#   2024-11-04 09:08:13.4731 INFO ...                       (3.3.x, four fraction digits)
#   1704967520066534055 [Debug] [ssm-agent-worker] ...     (seelog debug form, Unix nanoseconds)
_HEADER_RE = lazy_re.compile(
    r"^(?:(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)(?:\.\d+)? ([A-Z]+)\b|(\d{19}) \[(\w+)\])"
)
# The journal's and syslog's prefix, which the agent's own header follows:
#   Mar  5 14:10:29 ip-10-0-1-23 amazon-ssm-agent[2301]: ...      (journalctl, syslog)
#   2025-03-05T14:10:29+0000 ip-10-0-1-23 amazon-ssm-agent[2301]: ...   (short-iso, RFC 3339)
#   ... amazon-ssm-agent.amazon-ssm-agent[1187]: ...                (the snap)
_JOURNAL_PREFIX_RE = lazy_re.compile(
    r"^(?:\S+(?: +\S+){0,3} +)?amazon-ssm-agent(?:\.amazon-ssm-agent)?\[\d+\]: ?"
)
# "caused by: ..." and "<TAB>status code: 404, request id: ..." belong to the entry before.
_CONTINUATION_RE = lazy_re.compile(r"^(?:caused by:|\s)")


@value
class Entry:
    text: str  # the header line and its continuation lines joined, TABs as spaces
    when: str  # "2023-10-27 10:43:14" (the nanosecond form in UTC), or "" when unknown
    level: str  # the agent's level as written ("ERROR", "WARN", "Debug"), or ""


def parse_entries(text: str) -> "List[Entry]":
    """``2023-10-27 10:43:14 WARN EC2RoleProvider ... no EC2 instance role found`` followed
    by ``caused by: EC2MetadataError: failed to make EC2Metadata request`` and
    ``\\tstatus code: 404, request id:`` -> one entry of the three lines."""
    entries: List[Entry] = []
    parts: List[str] = []
    header: Tuple[str, str] = ("", "")
    for raw in text.splitlines():
        line = _JOURNAL_PREFIX_RE.sub("", raw.replace(RSYSLOG_TAB, "\t"), count=1)
        if parts and _CONTINUATION_RE.match(line):
            if len(parts) <= MAX_CONTINUATION_LINES and line.strip():
                parts.append(line.strip())
            continue
        if parts:
            entries.append(_finish(header, parts))
        parts = [line.strip()] if line.strip() else []
        header = _header(line)
    if parts:
        entries.append(_finish(header, parts))
    return entries


def _header(line: str) -> "Tuple[str, str]":
    """(when, level) of a header line; ("", "") for a line without one."""
    match = _HEADER_RE.match(line)
    if match is None:
        return "", ""
    if match.group(3):
        seconds = int(match.group(3)) // 10**9
        when = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
        return when.strftime("%Y-%m-%d %H:%M:%S"), match.group(4)
    return match.group(1), match.group(2)


def _finish(header: "Tuple[str, str]", parts: "List[str]") -> Entry:
    text = JOIN.join(p.replace("\t", " ") for p in parts)[:MAX_ENTRY_CHARS]
    return Entry(text, header[0], header[1])
