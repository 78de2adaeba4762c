"""The SSM agent's own logs: a bounded tail of amazon-ssm-agent.log and errors.log, cut into
entries (a line and its "caused by:" lines), the causes they name (see ssm_log_causes), the
host causes they name (ssm_log_host), the other kinds of line that explain why GuardDuty's
association did or did not run (ssm_log_kinds), and the ERROR entries nothing explains,
grouped (cause_errors).

/var/log/amazon/ssm is root-only. Honours --root. Lines are made printable before they are kept.
"""

from typing import TYPE_CHECKING, Dict, List, Sequence, Set, Tuple

from .. import lazy_re
from ..facts.ssm import SSM_LOGS, LogCause, SsmLogs
from ..host.protocols import FILES
from ..probing import probe
from ..sanitize import clean
from ..values import value
from .cause_errors import ErrorGrouper
from .ssm_common import SSM_LOG_DIR, denied
from .ssm_log_causes import EVIDENCE_CHARS, find_causes, guardduty_runs
from .ssm_log_host import find_host_causes
from .ssm_log_kinds import ERROR_LEVELS, KINDS, NAMED_KINDS
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
# GuardDuty's association runs every 10 minutes: a day's tail names a few ids (one association,
# its runs); more than this is a loop of new associations, and the first ids say enough.
MAX_RUN_IDS = 32

# errors.log writes "[Func @ file.line] " after the level, amazon-ssm-agent.log does not
# (seelog_unix.xml: fmterror, fmtinfo): set aside, an entry of both files is counted once.
_ERRORS_LOG_FUNC_RE = lazy_re.compile(r"^(\S+ \S+ [A-Z]+ )\[[^\]@]* @ [^\]]*\] ")


@value
class LogTally:
    counts: "Dict[str, int]"
    lines: "Dict[str, Tuple[str, ...]]"
    causes: "Tuple[LogCause, ...]"
    host_causes: "Tuple[LogCause, ...]"
    errors: ErrorGrouper
    guardduty_runs: "Tuple[str, ...]" = ()


def parse_log(data: bytes, truncated: bool = False) -> LogTally:
    """One file's tail: ``2024-06-10 09:10:28 ERROR [CredentialRefresher] Retrieve
    credentials produced error: ...`` and its ``caused by:`` lines sorted into a cause or a
    kind. A tail that starts mid-line drops that first partial line."""
    return parse_logs([(data, truncated)])


def parse_logs(tails: "Sequence[Tuple[bytes, bool]]") -> LogTally:
    """Several files' tails (data, cut) together. errors.log repeats the ERROR entries of
    amazon-ssm-agent.log, so an entry already seen in an earlier file is not counted again
    (its ``[Func @ file.line]`` set aside)."""
    entries = []
    seen: Set[str] = set()  # entries of the files before this one
    for data, truncated in tails:
        lines = data.decode("utf-8", errors="replace").splitlines()
        here: Set[str] = set()
        for entry in parse_entries("\n".join(lines[1:] if truncated else lines)):
            key = _ERRORS_LOG_FUNC_RE.sub(r"\1", entry.text, count=1)
            if key not in seen:  # a line repeated within one file is counted each time
                here.add(key)
                entries.append(entry)
        seen |= here
    causes, explained = find_causes(entries)
    host_causes, host_explained = find_host_causes(entries, explained)
    counts: Dict[str, int] = {}
    kept: Dict[str, List[str]] = {}
    errors = ErrorGrouper()
    for i, entry in enumerate(entries):
        if i in explained or i in host_explained:
            continue
        kind = next((k for k, pattern in KINDS if pattern.search(entry.text)), None)
        if kind is not None:
            counts[kind] = counts.get(kind, 0) + 1
            bucket = kept.setdefault(kind, [])
            bucket.append(clean(entry.text))
            del bucket[:-MAX_LINES_PER_KIND]
        if entry.level in ERROR_LEVELS and kind not in NAMED_KINDS:
            errors.add(entry.text, entry.when, EVIDENCE_CHARS)
    gd_runs = tuple(sorted(guardduty_runs(entries)))[:MAX_RUN_IDS]
    kept_lines = {k: tuple(v) for k, v in kept.items()}
    return LogTally(counts, kept_lines, causes, host_causes, errors, gd_runs)


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
        tally.host_causes,
        tally.errors.result(),
        tally.errors.total,
        tally.guardduty_runs,
    )
