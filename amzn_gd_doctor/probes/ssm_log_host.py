"""Host causes the SSM agent's log names (docs/causes.md): inotify exhausted under the document
worker's channel, the worker timing out, a step's plugin "not found", a full disk. The host
checks judge them (rules/causes_*.py); ssm.logs_clean counts their entries as explained.

Where the phrases come from (aws/amazon-ssm-agent @1c217c89 unless said otherwise):
- "filewatcher listener encountered error when add watch: %v" / "... when start watcher: %v"
  (common/filewatcherbasedipc/filewatcherchannel.go), "failed to create channel: %v"
  (agent/framework/processor/executer/outofproc/worker/main.go); with "no space left on
  device" in aws/amazon-ssm-agent#262, "too many open files" in #265 and #677.
- "ipc messaging received timedout signal!", "messaging worker encountered error: %v",
  "document process failed unexpectedly: %s , check [ssm-document-worker]/[ssm-session-worker]
  log for crash reason" (outofproc/messaging/messaging.go, outofproc/master.go); 2019-2020
  agents: "received timedout signal!", "document worker timed out" (#262, #234, #346).
- "Plugin with name aws:runShellScript not found. Step name: aws:runShellScript" (#90, on a
  full or read-only root; "Plugin with name Standard_Stream is not found" in
  aws/session-manager-plugin#91).
- "Insufficient available disk space - %d Mb" (agent/updateutil/updateutil.go).

Pure: reads nothing, registers no probe.
"""

from typing import FrozenSet, Sequence, Set, Tuple

from .. import lazy_re
from ..facts.ssm import LogCause
from .ssm_log_causes import match_entries, run_ids, tally_hits
from .ssm_log_lines import Entry
from .ssm_log_patterns import CausePattern

_RUN = r"\[([0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12})"

HOST_CAUSES = (
    # filewatcher listener encountered error when add watch: no space left on device
    CausePattern(
        "inotify_watches",
        lazy_re.compile(
            r"(?:filewatcher listener encountered error when add watch|failed to create "
            r"channel): no space left on device"
        ),
        lazy_re.compile(_RUN),
    ),
    # filewatcher listener encountered error when start watcher: too many open files
    CausePattern(
        "inotify_instances",
        lazy_re.compile(
            r"(?:filewatcher listener encountered error when start watcher|failed to create "
            r"channel): too many open file"
        ),
        lazy_re.compile(_RUN),
    ),
    # ipc messaging received timedout signal! / document worker timed out
    CausePattern(
        "worker_timeout",
        lazy_re.compile(
            r"received timedout signal|received timeout signal|document worker timed out|"
            r"document process failed unexpectedly"
        ),
        lazy_re.compile(_RUN),
    ),
    # Plugin with name aws:runShellScript not found. Step name: aws:runShellScript
    CausePattern(
        "plugin_not_found",
        lazy_re.compile(r"Plugin with name \S+ (?:is )?not found"),
        lazy_re.compile(r"Plugin with name (\S+) (?:is )?not found"),
    ),
    # Insufficient available disk space - 62 Mb
    CausePattern(
        "disk_insufficient",
        lazy_re.compile(r"Insufficient available disk space"),
        lazy_re.compile(r"Insufficient available disk space - (\d+) ?Mb"),
        "{0} MB free",
    ),
    # open /var/lib/amazon/ssm/...: no space left on device (Go's os.PathError: "op path: err",
    # which the inotify errors above are not)
    CausePattern(
        "disk_full",
        lazy_re.compile(r"\b(?:open|write|mkdir|create|rename) /\S*: no space left on device"),
        lazy_re.compile(r"\b(?:open|write|mkdir|create|rename) (/\S*): no space left"),
    ),
)
INOTIFY = ("inotify_watches", "inotify_instances")


def find_host_causes(
    entries: "Sequence[Entry]", explained: "FrozenSet[int]"
) -> "Tuple[Tuple[LogCause, ...], FrozenSet[int]]":
    """The host causes the entries name, and which entries named one. A worker's time-out for
    a run whose channel could not be watched follows from that inotify cause: it is explained,
    not a cause of its own: ``... [608016b8-...] filewatcher listener encountered error when
    add watch: no space left on device`` then ``... [608016b8-...] received timedout signal!``
    -> inotify_watches ×1, the time-out explained."""
    hits = match_entries(entries, HOST_CAUSES, explained)
    starved: Set[str] = set()
    for i, pattern in hits.items():
        if pattern.cause in INOTIFY:
            starved.update(run_ids(entries[i].text))
    followed = {
        i
        for i, pattern in hits.items()
        if pattern.cause == "worker_timeout" and starved & set(run_ids(entries[i].text))
    }
    kept = {i: p for i, p in hits.items() if i not in followed}
    return tally_hits(entries, kept), frozenset(hits)
