"""The SSM agent's own logs: a bounded tail of amazon-ssm-agent.log and errors.log, cut into
entries (a line and its "caused by:" lines), the causes they name (see ssm_log_causes), and the
other kinds of line that explain why GuardDuty's association did or did not run.

/var/log/amazon/ssm is root-only. Honours --root. Lines are made printable before they are kept.
"""

import re
from typing import TYPE_CHECKING, Dict, List, Sequence, Set, Tuple

from .. import lazy_re
from ..facts.ssm import GD_DOCUMENT, GD_PACKAGE, SSM_LOGS, LogCause, SsmLogs
from ..host.protocols import FILES
from ..probing import probe
from ..sanitize import clean
from ..values import value
from .ssm_common import SSM_LOG_DIR, denied
from .ssm_log_causes import find_causes
from .ssm_log_lines import parse_entries

if TYPE_CHECKING:
    from ..host.protocols import FilesPart
    from ..probing import ProbeContext

LOG_FILES = (f"{SSM_LOG_DIR}/amazon-ssm-agent.log", f"{SSM_LOG_DIR}/errors.log")
# The agent logs a few lines a minute when idle; 256 KiB covers roughly the last day, and
# association runs every 10 minutes, so several runs are always inside it.
LOG_TAIL_BYTES = 256 * 1024
# Evidence kept per kind: the latest few lines say enough, more would flood the report.
MAX_LINES_PER_KIND = 3

# (kind, pattern) for entries that name no cause, first match wins. Phrases are the agent's own
# (see docs/ssm.md); "credentials" keeps credential errors whose cause the entry does not say.
KINDS: "Tuple[Tuple[str, re.Pattern[str]], ...]" = (
    ("associations_unavailable", lazy_re.compile(r"Unable to load instance associations")),
    (
        "registration",
        lazy_re.compile(
            r"MachineFingerprintDoesNotMatch|InvalidActivation|ActivationExpired|"
            r"Failed to register|registration failed|error while loading server info",
            re.I,
        ),
    ),
    (
        "credentials",
        lazy_re.compile(
            r"EC2RoleRequestError|NoCredentialProviders|no valid credentials could be retrieved|"
            r"Retrieve credentials produced error|AccessDeniedException|ExpiredToken|"
            r"Health ping failed|instance management role is not configured"
        ),
    ),
    (
        "guardduty_failure",
        lazy_re.compile(
            rf"(?=.*(?:{GD_DOCUMENT}|{GD_PACKAGE}))(?=.*\b(?:ERROR|fail(?:ed|ure)?)\b)", re.I
        ),
    ),
    ("guardduty", lazy_re.compile(rf"{GD_DOCUMENT}|{GD_PACKAGE}")),
    ("association_run", lazy_re.compile(r"Executing association")),
    ("error", lazy_re.compile(r"^\S+ \S+ ERROR ")),
)


@value
class LogTally:
    counts: "Dict[str, int]"
    lines: "Dict[str, Tuple[str, ...]]"
    causes: "Tuple[LogCause, ...]"


def parse_log(data: bytes, truncated: bool = False) -> LogTally:
    """One file's tail: ``2024-06-10 09:10:28 ERROR [CredentialRefresher] Retrieve
    credentials produced error: ...`` and its ``caused by:`` lines sorted into a cause or a
    kind. A tail that starts mid-line drops that first partial line."""
    return parse_logs([(data, truncated)])


def parse_logs(tails: "Sequence[Tuple[bytes, bool]]") -> LogTally:
    """Several files' tails (data, cut) together. errors.log repeats the ERROR entries of
    amazon-ssm-agent.log, so an entry already seen in an earlier file is counted once."""
    entries = []
    seen: Set[str] = set()
    for data, truncated in tails:
        lines = data.decode("utf-8", errors="replace").splitlines()
        for entry in parse_entries("\n".join(lines[1:] if truncated else lines)):
            if entry.text not in seen:
                seen.add(entry.text)
                entries.append(entry)
    causes, explained = find_causes(entries)
    counts: Dict[str, int] = {}
    kept: Dict[str, List[str]] = {}
    for i, entry in enumerate(entries):
        if i in explained:
            continue
        for kind, pattern in KINDS:
            if pattern.search(entry.text):
                counts[kind] = counts.get(kind, 0) + 1
                bucket = kept.setdefault(kind, [])
                bucket.append(clean(entry.text))
                del bucket[:-MAX_LINES_PER_KIND]
                break
    return LogTally(counts, {k: tuple(v) for k, v in kept.items()}, causes)


@probe(SSM_LOGS, parts=(FILES,))
def logs(ctx: "ProbeContext", files: "FilesPart") -> SsmLogs:
    """Why associations fail shows in these logs first (credentials, network, registration,
    documents)."""
    read: List[str] = []
    unreadable: List[str] = []
    tails: List[Tuple[bytes, bool]] = []
    for path in LOG_FILES:
        try:
            size = files.file_size(path)
            data = files.read_bytes(path, LOG_TAIL_BYTES, tail=True)
        except FileNotFoundError:
            continue
        except PermissionError:
            unreadable.append(path)
            continue
        read.append(path)
        tails.append((data, size > LOG_TAIL_BYTES))
    if unreadable and not read:
        raise denied(unreadable[0], f"sudo tail -n 200 {' '.join(LOG_FILES)}")
    tally = parse_logs(tails)
    return SsmLogs(
        tuple(read),
        tally.counts,
        tally.lines,
        any(cut for _, cut in tails),
        tuple(unreadable),
        tally.causes,
    )
