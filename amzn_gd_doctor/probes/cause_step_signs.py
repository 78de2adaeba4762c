"""The lines of an SSM step's output that show a host cause, and what each names. Where the
phrases come from (docs/causes.md):

- "failed to run commands: exit status N" (amazon-ssm-agent agent/plugins/runscript/
  runscript.go); 126: found but not executable, 127: not found (POSIX XCU 2.8.2); the shell's
  own "sh: 1: <path>: Permission denied" (dash; bash "line 1: ..."), as in the SSM Patch
  Manager troubleshooting page's noexec case, and "sh: 1: <cmd>: not found" (bash: "command
  not found");
- a package manager's lock: dpkg "dpkg frontend is locked by another process" (Patch Manager
  troubleshooting) and "dpkg frontend lock was locked by another process with pid N"; apt
  "Could not get lock %s. It is held by process %d (%s)" (apt-pkg/contrib/fileutl.cc); yum
  "Existing lock /var/run/yum.pid: another copy is running as pid N." and "Another app is
  currently holding the yum lock"; dnf "Waiting for process with pid %d to finish."
  (dnf/lock.py); rpm "waiting for %s lock on %s" (lib/rpmlock.c);
- "Plugin with name aws:runShellScript not found" (aws/amazon-ssm-agent#90);
- "no space left on device" (ENOSPC as strerror writes it), not the inotify ones;
- "document process failed unexpectedly" / "document worker timed out" (outofproc/master.go).

Pure: reads nothing, registers no probe.
"""

import re
from typing import List, Optional, Tuple

from .. import lazy_re
from ..facts.causes import StepSign
from ..sanitize import clean

# A line quoted as a sign: the shell's or the package manager's words and the path they name.
# A script's path in the orchestration folder runs to about 150 characters.
LINE_CHARS = 240
SUBJECT_CHARS = 200
_EXIT_RE = lazy_re.compile(r"exit status (12[67])\b")
_DENIED_RE = lazy_re.compile(r"(\S+): Permission denied")
_NOT_FOUND_RE = lazy_re.compile(r"(?:^|: )([^\s:]+): (?:command )?not found")

# (sign, what shows it, what it names: its groups, the first non-empty one kept)
SIGNS: "Tuple[Tuple[str, re.Pattern[str], Optional[re.Pattern[str]]], ...]" = (
    (
        "package_lock",
        lazy_re.compile(
            r"dpkg frontend (?:lock )?(?:is|was) locked by another process|Could not get lock|"
            r"Unable to acquire the dpkg frontend lock|dpkg status database is locked|"
            r"Existing lock \S+: another copy is running|currently holding the yum lock|"
            r"another process has acquired yum lock|Waiting for process with pid \d+ to "
            r"finish|waiting for \w+ lock on "
        ),
        lazy_re.compile(
            r"Could not get lock (/\S+?)\.? |Existing lock (\S+):|lock on (/\S+)|"
            r"\b(pid \d+)|held by (process \d+)"
        ),
    ),
    (
        "plugin_not_found",
        lazy_re.compile(r"Plugin with name \S+ (?:is )?not found"),
        lazy_re.compile(r"Plugin with name (\S+)"),
    ),
    (
        "worker_timeout",
        lazy_re.compile(
            r"document process failed unexpectedly|document worker timed out|"
            r"received timeout signal|received timedout signal"
        ),
        None,
    ),
    ("no_space", lazy_re.compile(r"(?i)^(?!.*(?:watch|inotify)).*no space left on device"), None),
)


def _subject(pattern: "Optional[re.Pattern[str]]", line: str) -> str:
    match = pattern.search(line) if pattern is not None else None
    found = next((g for g in match.groups() if g), "") if match else ""
    return clean(found.rstrip("."), SUBJECT_CHARS)


def find_signs(text: str, run: str, guardduty: bool) -> "List[StepSign]":
    """The signs one output shows, each once: ``sh: 1: /var/lib/amazon/ssm/i-.../_script.sh:
    Permission denied`` then ``failed to run commands: exit status 126`` -> exit_126 naming
    the script; ``E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process
    1426 (apt-get)`` -> package_lock naming the lock file."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    signs: List[StepSign] = []
    for code in sorted({m.group(1) for m in map(_EXIT_RE.search, lines) if m}):
        signs.append(_exit_sign(code, lines, run, guardduty))
    for name, pattern, subject in SIGNS:
        line = next((ln for ln in lines if pattern.search(ln)), None)
        if line is not None:
            signs.append(
                StepSign(name, run, clean(line, LINE_CHARS), _subject(subject, line), guardduty)
            )
    return signs


def _exit_sign(code: str, lines: "List[str]", run: str, guardduty: bool) -> StepSign:
    """Exit 126 quotes the shell's "Permission denied" line, 127 its "not found" one: they
    name the file that could not run, or the command that is missing."""
    pattern = _DENIED_RE if code == "126" else _NOT_FOUND_RE
    said = next((ln for ln in lines if pattern.search(ln)), None)
    shown = said or next(ln for ln in lines if f"exit status {code}" in ln)
    subject = _subject(pattern, said) if said else ""
    return StepSign(f"exit_{code}", run, clean(shown, LINE_CHARS), subject, guardduty)
