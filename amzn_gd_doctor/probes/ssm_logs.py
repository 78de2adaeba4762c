"""The SSM agent's own logs: a bounded tail of amazon-ssm-agent.log and errors.log, sorted into
the kinds of line that explain why GuardDuty's association did or did not run.

/var/log/amazon/ssm is root-only. Honours --root. Lines are made printable before they are kept.
"""

import re
from typing import TYPE_CHECKING, Dict, List, Tuple

from .. import lazy_re
from ..registry import probe
from ..sanitize import clean
from ..values import value
from .ssm_common import GD_DOCUMENT, GD_PACKAGE, SSM_LOG_DIR, denied

if TYPE_CHECKING:
    from ..doctor import ProbeContext

LOG_FILES = (f"{SSM_LOG_DIR}/amazon-ssm-agent.log", f"{SSM_LOG_DIR}/errors.log")
# The agent logs a few lines a minute when idle; 256 KiB covers roughly the last day, and
# association runs every 10 minutes, so several runs are always inside it.
LOG_TAIL_BYTES = 256 * 1024
# Evidence kept per kind: the latest few lines say enough, more would flood the report.
MAX_LINES_PER_KIND = 3

# (kind, pattern), first match wins. Phrases are the agent's own (see docs/ssm.md).
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
class SsmLogs:
    files: "Tuple[str, ...]"  # log files read
    counts: "Dict[str, int]"  # lines of each kind in the tails read
    lines: "Dict[str, Tuple[str, ...]]"  # the latest lines of each kind, printable
    truncated: bool = False  # a file was larger than the tail read
    unreadable: "Tuple[str, ...]" = ()


def parse_log(
    data: bytes, truncated: bool = False
) -> "Tuple[Dict[str, int], Dict[str, List[str]]]":
    """Sort agent log lines such as ``2024-06-10 09:10:28 ERROR [CredentialRefresher]
    Retrieve credentials produced error: ...`` into kinds. A tail that starts mid-line drops
    that first partial line."""
    text = data.decode("utf-8", errors="replace")
    lines = text.splitlines()
    if truncated and lines:
        lines = lines[1:]
    counts: Dict[str, int] = {}
    kept: Dict[str, List[str]] = {}
    for raw in lines:
        for kind, pattern in KINDS:
            if pattern.search(raw):
                counts[kind] = counts.get(kind, 0) + 1
                bucket = kept.setdefault(kind, [])
                bucket.append(clean(raw.strip()))
                del bucket[:-MAX_LINES_PER_KIND]
                break
    return counts, kept


@probe("ssm.logs")
def logs(ctx: "ProbeContext") -> SsmLogs:
    """Why associations fail shows in these logs first (credentials, registration, documents)."""
    host = ctx.host
    files: List[str] = []
    unreadable: List[str] = []
    counts: Dict[str, int] = {}
    kept: Dict[str, List[str]] = {}
    cut = False
    for path in LOG_FILES:
        try:
            size = host.file_size(path)
            data = host.read_bytes(path, LOG_TAIL_BYTES, tail=True)
        except FileNotFoundError:
            continue
        except PermissionError:
            unreadable.append(path)
            continue
        files.append(path)
        cut = cut or size > LOG_TAIL_BYTES
        c, k = parse_log(data, size > LOG_TAIL_BYTES)
        for kind, n in c.items():
            counts[kind] = counts.get(kind, 0) + n
            kept[kind] = (kept.get(kind, []) + k[kind])[-MAX_LINES_PER_KIND:]
    if unreadable and not files:
        raise denied(unreadable[0], f"sudo tail -n 200 {' '.join(LOG_FILES)}")
    return SsmLogs(
        tuple(files), counts, {k: tuple(v) for k, v in kept.items()}, cut, tuple(unreadable)
    )
