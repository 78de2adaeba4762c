"""What systemd (PID 1) and the kernel write about the agent's unit, read from journal
entries: starts, stops, restarts, exit statuses, unit results, start-limit hits and OOM kills.

Registers no probe. Reads nothing by itself.
"""

import re
from typing import Dict, List, Optional, Tuple

from .. import lazy_re
from ..facts.agent import SIGKILL_EXIT
from ..host.journal import JournalEntry
from ..numbers import parse_count
from ..values import field, value
from .agent_common import PROCESS_PREFIX

# systemd's catalogue ids (src/systemd/sd-messages.h), present on v246+; older systemd is
# recognised by its message text.
_STARTED = "39f53479d3a045ac8e11786248231fbf"
_STOPPED = "9d1aaa27d60140bd96365438aad20286"
_RESTART = "5eb03494b6584870a536b337290809b3"
_RESTART_RE = lazy_re.compile(r"Scheduled restart job|holdoff time over, scheduling restart", re.I)
# Numbers are ASCII digits only (\d would take any script's digits), and bounded in length.
_COUNTER_RE = lazy_re.compile(r"restart counter is at ([0-9]{1,19})\b", re.ASCII)
_EXIT_RE = lazy_re.compile(
    r"main process exited, code=(\w{1,20}), status=([0-9]{1,10})(?:/(\w{1,20}))?", re.I | re.ASCII
)
_RESULT_RE = lazy_re.compile(r"Failed with result '([\w-]{1,40})'", re.ASCII)
_OLD_FAILED_RE = lazy_re.compile(r"entered failed state")
_OOM_UNIT_RE = lazy_re.compile(r"killed by the OOM killer", re.I)
_START_LIMIT_RE = lazy_re.compile(r"Start request repeated too quickly", re.I)
_KILLED_RE = lazy_re.compile(
    r"Killed process ([0-9]{1,10}) \((" + PROCESS_PREFIX + r"[^)]*)\)", re.ASCII
)
_OOM_KILL_RE = lazy_re.compile(
    r"oom-kill:.*task=" + PROCESS_PREFIX + r"[^,]*,pid=([0-9]{1,10})", re.ASCII
)


@value(frozen=False)
class UnitCounts:
    starts: int = 0
    restarts: "List[int]" = field(default_factory=list)
    counter: "Optional[int]" = None
    start_limit: int = 0
    exits: "Dict[str, int]" = field(default_factory=dict)
    results: "Dict[str, int]" = field(default_factory=dict)
    systemd_ooms: "List[int]" = field(default_factory=list)
    sigkills: "List[int]" = field(default_factory=list)  # times the main process died of SIGKILL
    last_state: "Optional[Tuple[str, int]]" = None

    def state(self, name: str, when: int) -> None:
        if self.last_state is None or when >= self.last_state[1]:
            self.last_state = (name, when)


def count_pid1_entry(entry: JournalEntry, counts: UnitCounts) -> None:
    """One of systemd's messages about the unit, e.g. ``amazon-guardduty-agent.service: Main
    process exited, code=exited, status=1/FAILURE`` or ``... Scheduled restart job, restart
    counter is at 3.``, added to the counts."""
    message, mid = entry.get("MESSAGE"), entry.get("MESSAGE_ID")
    when = entry.realtime_us
    if mid == _RESTART or _RESTART_RE.search(message):
        counts.restarts.append(when)
        found = parse_count(entry.get("N_RESTARTS")) if entry.get("N_RESTARTS") else None
        if found is None:
            counter = _COUNTER_RE.search(message)
            found = int(counter[1]) if counter else None
        if found is not None:
            counts.counter = max(counts.counter or 0, found)
    exited = _EXIT_RE.search(message)
    if exited:
        label = f"{exited[1]}, status={exited[2]}" + (f"/{exited[3]}" if exited[3] else "")
        counts.exits[label] = counts.exits.get(label, 0) + 1
        if label == SIGKILL_EXIT:
            counts.sigkills.append(when)
    result = _RESULT_RE.search(message)
    if result or _OLD_FAILED_RE.search(message):
        name = result[1] if result else "failed"
        counts.results[name] = counts.results.get(name, 0) + 1
        counts.state("failed", when)
    if _OOM_UNIT_RE.search(message):
        counts.systemd_ooms.append(when)
    if _START_LIMIT_RE.search(message):
        counts.start_limit += 1
    if mid == _STARTED or (not mid and message.startswith("Started ")):
        counts.starts += 1
        counts.state("started", when)
    elif mid == _STOPPED or (not mid and message.startswith("Stopped ")):
        counts.state("stopped", when)


def oom_kills(entries: "List[JournalEntry]") -> "Dict[Tuple[str, str], Tuple[int, bool]]":
    """Kernel OOM kills of the agent: (boot, pid) -> (time, inside its memory cgroup). A kill
    shows as ``Memory cgroup out of memory: Killed process 4242 (amazon-guarddut) ...`` (or
    ``Out of memory: Killed process ...`` when the whole host ran out) and, on 5.x kernels,
    an ``oom-kill:constraint=CONSTRAINT_MEMCG,...,task=amazon-guarddut,pid=4242`` line."""
    kills: Dict[Tuple[str, str], Tuple[int, bool]] = {}
    for entry in entries:
        message = entry.get("MESSAGE")
        found = _KILLED_RE.search(message) or _OOM_KILL_RE.search(message)
        if not found:
            continue
        memcg = "Memory cgroup" in message or "CONSTRAINT_MEMCG" in message
        key = (entry.get("_BOOT_ID"), found[1])
        seen = kills.get(key)
        kills[key] = (
            min(seen[0], entry.realtime_us) if seen else entry.realtime_us,
            memcg or bool(seen and seen[1]),
        )
    return kills
