"""What the host-cause rules share: the console issue they lead to, and how they quote the
lines that corroborate a cause (a step's output, the SSM agent's log).

Pure: no rule here.
"""

from typing import Optional, Sequence, Tuple

from .. import lazy_re
from ..facts.causes import StepOutputs, StepSign
from ..facts.ssm import LogCause, SsmLogs

# Every host cause here stops GuardDuty's association run (its Distributor install), which the
# console reports as "SSM Instance Association Execution Failed" / "Architectural requirements
# or other prerequisites are not met." (docs/causes.md says why for each).
ISSUE = "ssm_association_execution_failed"
# A line quoted in a summary: the words that say what happened, within one sentence.
QUOTE_CHARS = 160


# An SSM log entry's time and level, errors.log's "[Func @ file.line]" and the bracketed
# contexts ([ssm-document-worker] [<run id>]): a quote goes without them.
_CONTEXTS_RE = lazy_re.compile(r"^(?:\[[^\]]*\] )+")
_HEADER_RE = lazy_re.compile(
    r"^\d{2,4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? [A-Z]+ (?:\[[^\]@]* @ [^\]]*\] )?"
)


def quoted(text: str) -> str:
    """``2020-03-16 14:41:15 ERROR [main @ main.go.73] [ssm-document-worker] [6080...] failed
    to create channel: no space left on device`` -> ``'failed to create channel: no space left
    on device'``, cut to QUOTE_CHARS: the words that say what happened (the summary gives the
    time, the evidence the whole line)."""
    text = _CONTEXTS_RE.sub("", _HEADER_RE.sub("", text, count=1), count=1)
    cut = text if len(text) <= QUOTE_CHARS else text[: QUOTE_CHARS - 3] + "..."
    return f"'{cut}'"


def sign_lines(signs: "Sequence[StepSign]") -> "Tuple[str, ...]":
    """Evidence lines of step signs, each naming its run."""
    return tuple(f"step output of run {s.run}: {s.line}" for s in signs)


def log_causes(logs: "Optional[SsmLogs]", *names: str) -> "Tuple[LogCause, ...]":
    return tuple(c for c in (logs.host_causes if logs else ()) if c.cause in names)


def log_lines(causes: "Sequence[LogCause]") -> "Tuple[str, ...]":
    """Evidence lines of the SSM log's host causes: their latest entries."""
    return tuple(
        f"SSM log, {c.cause.replace('_', ' ')}: {line}" for c in causes for line in c.lines
    )


def corroboration(
    steps: "Optional[StepOutputs]", logs: "Optional[SsmLogs]", *names: str
) -> "Tuple[str, ...]":
    """The lines, in step outputs and then the SSM log, that show any of ``names`` (a step
    sign or a log cause), newest log entries last."""
    signs = tuple(s.line for s in (steps.of(*names) if steps else ()))
    return signs + tuple(line for c in log_causes(logs, *names) for line in c.lines)


def times(n: int) -> str:
    return f"{n} time{'s' if n != 1 else ''}"
