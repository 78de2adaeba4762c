"""GuardDuty's host container on Bottlerocket in the journal: whether host-ctr could pull its
image from Amazon ECR.

host-ctr runs each host container as the unit host-containers@NAME.service, whose output the
journal tags host-containers@NAME. Pulling, it logs (bottlerocket-core-kit, host-ctr main.go;
the lines as a Bottlerocket journal shows them, bottlerocket PRs #1508 and core-kit #337)::

    time="2021-04-21T00:26:02Z" level=warning msg="failed to pull image. waiting 5.053s
    before retrying..." error="failed to resolve reference ..."
    time="2025-01-23T21:08:23Z" level=info msg="pulled image successfully" img="..."

and, after five failed attempts, its error wrapped as "retries exhausted: ...". Read only on
Bottlerocket (family.bottlerocket); reading the system journal needs root.
"""

from typing import TYPE_CHECKING, List, Tuple

from ..facts.family import (
    FAMILY_BOTTLEROCKET,
    FAMILY_CONTAINER_JOURNAL,
    GUARDDUTY_CONTAINER,
    ContainerJournal,
)
from ..host import CouldNotLook
from ..host.protocols import JOURNAL
from ..probing import probe
from ..sanitize import clean

if TYPE_CHECKING:
    from ..host.journal import JournalEntry
    from ..host.protocols import JournalPart
    from ..probing import ProbeContext

IDENTIFIER = f"host-containers@{GUARDDUTY_CONTAINER}"
MATCHES = ((f"SYSLOG_IDENTIFIER={IDENTIFIER}",), (f"_SYSTEMD_UNIT={IDENTIFIER}.service",))
# host-ctr logs a dozen lines a start and restarts the container every 45 s when it fails: a
# day of that is under 30000 entries; the latest 5000 (about 2 MiB of them) say how its pulls
# go now. One journal query, bounded as the agent's own journal queries are.
MAX_ENTRIES = 5000
MAX_BYTES = 2 * 1024 * 1024
QUERY_TIMEOUT_S = 2.5
FAILED = ("failed to pull image", "retries exhausted")
PULLED = "pulled image successfully"
MAX_SAMPLES = 3  # the latest failures, as evidence: enough to show the error repeats


def summarise(entries: "List[JournalEntry]", problems: "Tuple[str, ...]" = ()) -> ContainerJournal:
    """Counts of failed and successful pulls, oldest entry first, and which came last."""
    failures: List[str] = []
    pulls = 0
    latest = ""
    for entry in entries:
        message = entry.get("MESSAGE")
        if any(phrase in message for phrase in FAILED):
            failures.append(clean(message, 300))
            latest = "failed"
        elif PULLED in message:
            pulls += 1
            latest = "pulled"
    samples = tuple(failures[-MAX_SAMPLES:])
    return ContainerJournal(len(entries), len(failures), pulls, latest, samples, problems)


@probe(
    FAMILY_CONTAINER_JOURNAL,
    parts=(JOURNAL,),
    needs=(FAMILY_BOTTLEROCKET,),
    timeout=QUERY_TIMEOUT_S + 1.0,
)
def agent_container_journal(ctx: "ProbeContext", reader: "JournalPart") -> ContainerJournal:
    """host-ctr's image pulls for amazon-guardduty-agent, on Bottlerocket's host only."""
    host = ctx.need(FAMILY_BOTTLEROCKET)
    if not host.found or host.container(GUARDDUTY_CONTAINER) is None:
        return ContainerJournal(0, 0, 0, "")
    read = reader.journal_entries(MATCHES, None, MAX_ENTRIES, MAX_BYTES, QUERY_TIMEOUT_S)
    if read.problems and not read.entries and not read.files:
        raise CouldNotLook("no journal file could be read: " + "; ".join(read.problems))
    return summarise(list(read.entries), read.problems)
