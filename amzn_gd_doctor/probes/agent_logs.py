"""The agent's own log files under /var/log/amzn-guardduty-agent/: a bounded tail of the newest
files (rotated and .gz ones too), each line given a level and, where it shows one, a phrase
class from the catalogue (BTF, memlock, access denied, DNS, timeouts, TLS, IMDS...).

The file names and line format are not published, so any line format is read: JSON, logfmt,
bracketed or bare levels, glog, or none. Binary garbage and terminal escape sequences never
leave this module. The directory is root-only on most hosts.
"""

from typing import TYPE_CHECKING, Dict, List, Tuple

from ..facts.agent import AGENT_LOGS, LOG_DIR, AgentLogs, LogFile
from ..host import CouldNotLook
from ..host.protocols import FILES
from ..probing import probe
from ..sanitize import clean
from .agent_log_files import gunzip_tail as gunzip_tail  # also read here by the tests
from .agent_log_files import read_file
from .agent_log_files import split_lines as split_lines
from .agent_text import (
    ERROR_LEVELS,
    SAMPLE_CHARS,
    PhraseTally,
    is_failure_line,
    line_level,
    printable,
)
from .cause_errors import ErrorGrouper, when_of

if TYPE_CHECKING:
    from ..host.protocols import FilesPart
    from ..probing import ProbeContext

# The current file and up to three rotations: enough to see a cause that keeps repeating.
MAX_FILES = 4
# Tail of one file, and of all files together. A restart loop writes a few KiB per cycle, so
# 512 KiB holds hundreds of cycles; reading it is milliseconds even for a 2 GB file.
TAIL_BYTES = 512 * 1024
TOTAL_BYTES = 1024 * 1024
# An occurrence among the last RECENT_LINES lines is current, not history.
RECENT_LINES = 500


def analyse(chunks: "List[Tuple[LogFile, List[str]]]", directory: str) -> AgentLogs:
    """Levels and phrase classes over files given newest first, lines in file order; error
    and fatal lines that no phrase class explains, grouped."""
    tally = PhraseTally()
    errors = ErrorGrouper(newest_first=True)
    levels: Dict[str, int] = {}
    garbage = 0
    total = 0
    last_failure = None
    for _, lines in chunks:
        for line in reversed(lines):
            text = printable(line)
            if not text:
                garbage += text is None
                continue
            level = line_level(text)
            levels[level or "none"] = levels.get(level or "none", 0) + 1
            failure = is_failure_line(text, level)
            named = tally.add(text, failure, recent=total < RECENT_LINES)
            if named is None and level in ERROR_LEVELS:
                errors.add(text, when_of(text))
            if failure and last_failure is None and level is not None:
                last_failure = clean(text, SAMPLE_CHARS)
            total += 1
    return AgentLogs(
        directory,
        True,
        tuple(f for f, _ in chunks),
        total,
        levels,
        tally.hits(),
        garbage,
        last_failure,
        errors.result(),
    )


def read_logs(files: "FilesPart", directory: str = LOG_DIR) -> AgentLogs:
    if not files.is_dir(directory):
        return AgentLogs(directory, files.exists(directory))
    entries = []
    for name in files.list_dir(directory):
        path = f"{directory}/{name}"
        try:
            if not files.is_dir(path):
                entries.append((files.mtime(path), name))
        except OSError:
            continue  # removed while we looked
    entries.sort(reverse=True)
    chunks: List[Tuple[LogFile, List[str]]] = []
    remaining = TOTAL_BYTES
    denied = []
    for _, name in entries[:MAX_FILES]:
        if remaining <= 0:
            break
        try:
            chunk = read_file(files, f"{directory}/{name}", name, min(TAIL_BYTES, remaining))
        except PermissionError:
            denied.append(name)
            chunks.append((LogFile(name, 0, False, 0, 0, "permission denied"), []))
            continue
        except OSError as exc:
            chunks.append((LogFile(name, 0, False, 0, 0, exc.strerror or str(exc)), []))
            continue
        remaining -= chunk[0].bytes_read
        chunks.append(chunk)
    if denied and not any(f.error is None for f, _ in chunks):
        raise CouldNotLook(
            f"permission denied reading {directory}/{denied[0]} (root-only): run "
            f"the doctor as root, or by hand: `sudo tail -n 200 {directory}/*`"
        )
    return analyse(chunks, directory)


@probe(AGENT_LOGS, parts=(FILES,))
def logs(ctx: "ProbeContext", files: "FilesPart") -> AgentLogs:
    """What the agent's own recent log lines say, classified; no raw log leaves the probe."""
    return read_logs(files)
