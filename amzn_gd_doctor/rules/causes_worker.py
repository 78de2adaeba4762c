"""Host causes in the SSM agent's document worker (docs/causes.md): inotify watches or
instances used up (its channel cannot be watched), the worker timing out, a step's plugin "not
found". Pure functions of host.inotify, ssm.logs and ssm.step_outputs.
"""

from typing import Optional, Sequence, Tuple

from ..facts.causes import HOST_INOTIFY, SSM_STEP_OUTPUTS, InotifyUse, StepOutputs
from ..facts.ssm import SSM_LOGS, LogCause, SsmLogs
from ..model import (
    Confidence,
    Verdict,
    failed,
    inconclusive,
    not_applicable,
    passed,
    warned,
)
from ..registry import rule
from .causes_common import ISSUE, log_causes, log_lines, quoted, sign_lines, times

INOTIFY_FIX = (
    "Raise the inotify limits, which every root daemon shares: `sudo sysctl -w "
    "fs.inotify.max_user_watches=524288 fs.inotify.max_user_instances=256` (the values given in "
    "aws/amazon-ssm-agent#677), keep them in /etc/sysctl.d/99-inotify.conf, then `sudo "
    "systemctl restart amazon-ssm-agent` and let the association run again."
)
WORKER_FIX = (
    "Read why the worker stopped: `sudo grep -h ssm-document-worker "
    "/var/log/amazon/ssm/errors.log* | tail -n 20` (a crash, the inotify limits, memory); then "
    "let the association run again."
)
PLUGIN_FIX = (
    "The SSM agent could not start the step's plugin, which is reported on a full or read-only "
    "root and with inotify exhausted (aws/amazon-ssm-agent#90): check `df -h /; df -i /`, "
    "`findmnt /` and the inotify limits, then restart the SSM agent."
)
# Use at or above this share of a limit leaves too little for the next document worker: each
# needs an instance and a few watches, and the daemons that share root's limits grow.
NEAR_SHARE = 0.9


def _use(used: "Optional[int]", limit: "Optional[int]", what: str) -> str:
    if used is None or limit is None:
        return f"the {what} limit is {limit}" if limit is not None else ""
    return f"root holds {used} of {limit} {what}"


def _exhausted(ino: InotifyUse, share: float) -> bool:
    pairs = ((ino.watches, ino.max_watches), (ino.instances, ino.max_instances))
    return any(u is not None and m and u >= share * m for u, m in pairs)


def _now(ino: InotifyUse) -> str:
    parts = [_use(ino.watches, ino.max_watches, "inotify watches")]
    instances = _use(ino.instances, ino.max_instances, "instances")
    parts.append(instances.replace("root holds ", "") if parts[0].startswith("root") else instances)
    top = ", ".join(f"{h.command or h.pid} {h.watches}" for h in ino.top)
    floor = "" if ino.complete else " (at least: not every process could be read)"
    return " and ".join(p for p in parts if p) + floor + (f"; the most: {top}" if top else "")


def _cause_phrase(causes: "Sequence[LogCause]") -> str:
    """The first kept line of the latest cause, how often the causes were logged, and when
    last: the SSM agent logs a cause before what follows from it."""
    c = max(causes, key=lambda x: x.latest)
    n = sum(x.entries for x in causes)
    when = f", last {c.latest}" if c.latest else ""
    return f"{quoted(c.lines[0] if c.lines else c.cause)} ({times(n)}{when})"


@rule(
    "host.inotify_not_exhausted",
    title="inotify watches and instances left for the SSM agent's document worker",
    facts=(HOST_INOTIFY,),
    optional=(SSM_LOGS,),
    issues=(ISSUE,),
)
def inotify_not_exhausted(ino: InotifyUse, logs: "Optional[SsmLogs]") -> Verdict:
    lines = log_causes(logs, "inotify_watches", "inotify_instances")
    now = _now(ino)
    if lines:
        seen = _exhausted(ino, 1.0) or any(c.guardduty for c in lines)
        return failed(
            ISSUE,
            f"the SSM agent's document worker could not watch its channel: "
            f"{_cause_phrase(lines)}" + (f"; now {now}" if now else "") + ".",
            evidence=log_lines(lines),
            fix=(INOTIFY_FIX,),
            confidence=Confidence.CONFIRMED if seen else Confidence.LIKELY,
        )
    if _exhausted(ino, 1.0):
        return failed(
            ISSUE,
            f"root's inotify is used up: {now}; the SSM agent's next document worker cannot watch "
            "its channel.",
            fix=(INOTIFY_FIX,),
            confidence=Confidence.LIKELY,
        )
    if _exhausted(ino, NEAR_SHARE):
        return warned(f"root's inotify is nearly used up: {now}.", fix=(INOTIFY_FIX,))
    if not now:
        return inconclusive("the inotify limits and their use could not be read.")
    return passed(f"{now}; the SSM agent's log has no filewatcher error.")


def _worker_signs(
    logs: "Optional[SsmLogs]", steps: "Optional[StepOutputs]", name: str
) -> "Tuple[Tuple[LogCause, ...], Tuple[str, ...], bool]":
    """A worker cause in the log and in step outputs: its log causes, the evidence, and
    whether GuardDuty's run is among them."""
    causes = log_causes(logs, name)
    signs = steps.of(name) if steps else ()
    gd = any(c.guardduty for c in causes) or any(s.guardduty for s in signs)
    return causes, log_lines(causes) + sign_lines(signs), gd


@rule(
    "host.document_worker_completes",
    title="The SSM agent's document worker runs its steps (no time-out, no plugin not found)",
    facts=(SSM_LOGS,),
    optional=(SSM_STEP_OUTPUTS,),
    issues=(ISSUE,),
)
def document_worker_completes(logs: SsmLogs, steps: "Optional[StepOutputs]") -> Verdict:
    timeouts, t_evidence, t_gd = _worker_signs(logs, steps, "worker_timeout")
    missing, m_evidence, m_gd = _worker_signs(logs, steps, "plugin_not_found")
    if t_gd:
        return failed(
            ISSUE,
            "the SSM document worker running GuardDuty's association stopped before it "
            f"finished: {_shown(timeouts, t_evidence)}; no filewatcher error precedes it, so "
            "the worker's own log must say why.",
            evidence=t_evidence,
            fix=(WORKER_FIX,),
            confidence=Confidence.LIKELY,
        )
    if m_gd:
        return failed(
            ISSUE,
            f"GuardDuty's association step could not start its plugin: "
            f"{_shown(missing, m_evidence)}.",
            evidence=m_evidence,
            fix=(PLUGIN_FIX,),
            confidence=Confidence.SUSPECTED,
        )
    if t_evidence or m_evidence:
        return _others_stopped(t_evidence, m_evidence)
    return _clean_worker(logs, steps)


def _shown(causes: "Sequence[LogCause]", evidence: "Sequence[str]") -> str:
    return _cause_phrase(causes) if causes else quoted(evidence[0].split(": ", 1)[-1])


def _others_stopped(timeouts: "Tuple[str, ...]", missing: "Tuple[str, ...]") -> Verdict:
    """Another document's worker stopped: GuardDuty's association shares that worker."""
    return warned(
        "documents that are not GuardDuty's stopped early: "
        + "; ".join(quoted(e.split(": ", 1)[-1]) for e in (timeouts + missing)[:2])
        + "; GuardDuty's association runs through the same worker.",
        timeouts + missing,
        (WORKER_FIX,) if timeouts else (PLUGIN_FIX,),
    )


def _clean_worker(logs: SsmLogs, steps: "Optional[StepOutputs]") -> Verdict:
    outputs = steps.files if steps else 0
    if not logs.files and not outputs:
        return not_applicable("no SSM agent log and no step output to read.")
    return passed(
        f"no document worker time-out or plugin not found in {len(logs.files)} SSM log "
        f"file(s) and {outputs} step output file(s)."
    )
