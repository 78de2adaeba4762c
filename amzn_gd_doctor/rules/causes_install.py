"""Host causes in the install itself (docs/causes.md): a package manager locked by another
process, and an install script that exits 126 (could not be executed) or 127 (a command not
found). Pure functions of host.package_locks, ssm.step_outputs, host.mounts and
ssm.guardduty_plugin.
"""

from typing import Dict, List, Optional, Sequence, Tuple

from ..facts.causes import (
    HOST_MOUNTS,
    HOST_PACKAGE_LOCKS,
    SSM_DATA,
    SSM_STEP_OUTPUTS,
    HostMounts,
    LockHolder,
    PackageLocks,
    StepOutputs,
    StepSign,
)
from ..facts.ssm import GD_PACKAGE, SSM_GUARDDUTY_PLUGIN, PluginInstallState
from ..model import Confidence, Verdict, failed, inconclusive, not_applicable, passed, warned
from ..registry import rule
from .causes_common import ISSUE, quoted, sign_lines

LOCK_FIX = (
    "Let the other package manager finish (`ps -o pid,etime,args -p <pid>`; on Ubuntu, "
    "unattended-upgrades runs after boot: `systemctl status unattended-upgrades "
    "apt-daily.service apt-daily-upgrade.service`), never remove the lock file; a dpkg left "
    "half-done needs `sudo dpkg --configure -a`. Then let the association run again "
    "(`aws ssm start-associations-once --association-ids <id>`)."
)
BY_HAND = "sudo lsof /var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/rpm/.rpm.lock"
EXIT_FIX = {
    "exit_126": (
        "The script could not be executed: look for a noexec mount (`findmnt -T "
        "/var/lib/amazon/ssm`) or a script without execute permission where the step ran it, "
        "then let the association run again."
    ),
    "exit_127": (
        "A command the install runs is missing ({0}): install it, or put its directory on "
        "the PATH the SSM agent runs with (`systemctl show amazon-ssm-agent -p Environment`), "
        "then let the association run again."
    ),
}


def _holders(holders: "Sequence[LockHolder]") -> str:
    """``dpkg's /var/lib/dpkg/lock and /var/lib/dpkg/lock-frontend are locked by pid 1426
    (unattended-upgr, POSIX lock)``; a pid file: ``yum's pid file /var/run/yum.pid names pid
    3523 (yum), which runs``."""
    by_pid: Dict[Tuple[str, int], List[LockHolder]] = {}
    for h in holders:
        by_pid.setdefault((h.manager, h.pid), []).append(h)
    said = []
    for (manager, pid), group in by_pid.items():
        first, files = group[0], " and ".join(g.lock for g in group)
        name = f" ({first.command})" if first.command else ""
        if first.how == "pid file":
            said.append(f"{manager}'s pid file {files} names pid {pid}{name}, which runs")
            continue
        verb = "are" if len(group) > 1 else "is"
        how = ", ".join(x for x in (first.command, first.how) if x)
        said.append(f"{manager}'s {files} {verb} locked by pid {pid} ({how})")
    return "; ".join(said)


@rule(
    "host.package_manager_unlocked",
    title="No other package manager holds dpkg's, apt's, rpm's, yum's or dnf's lock",
    facts=(HOST_PACKAGE_LOCKS,),
    optional=(SSM_STEP_OUTPUTS, SSM_GUARDDUTY_PLUGIN),
    issues=(ISSUE,),
)
def package_manager_unlocked(
    locks: PackageLocks, steps: "Optional[StepOutputs]", plugin: "Optional[PluginInstallState]"
) -> Verdict:
    lines = steps.of("package_lock") if steps else ()
    gd_lines = [s for s in lines if s.guardduty]
    installed = plugin is not None and plugin.state_name == "Installed"
    held = _holders(locks.holders)
    if gd_lines and not installed:
        return _install_locked_out(gd_lines, held, locks)
    if locks.holders and plugin is not None and plugin.failed:
        return failed(
            ISSUE,
            f"the package manager is locked: {held}, and {GD_PACKAGE} is {plugin.state_name}; "
            "the package manager its install runs fails while another process holds that lock.",
            evidence=(held,),
            fix=(LOCK_FIX,),
            confidence=Confidence.LIKELY,
        )
    if locks.holders or lines:
        said = f"a step's output says {quoted(lines[0].line)}" if lines else ""
        now = f"the package manager is locked: {held}" if held else ""
        return warned("; ".join(x for x in (now, said) if x) + ".", sign_lines(lines), (LOCK_FIX,))
    return _unlocked(locks)


def _unlocked(locks: PackageLocks) -> Verdict:
    """No holder named: a pass only when every lock holder's open files were read."""
    if not locks.lock_table or locks.unread:
        why = (
            f"the open files of {locks.unread} lock holder(s) could not be read (run as root)"
            if locks.lock_table
            else "/proc/locks was not read (a tree captured without it)"
        )
        return inconclusive(f"no lock is named, but {why}; by hand: `{BY_HAND}`.")
    entries = "1 entry" if locks.locks == 1 else f"{locks.locks} entries"
    return passed(
        f"no package manager lock is held ({entries} in /proc/locks, none on dpkg's, apt's or "
        "rpm's lock files; no yum or dnf pid file of a running process)."
    )


def _install_locked_out(lines: "Sequence[StepSign]", held: str, locks: PackageLocks) -> Verdict:
    """GuardDuty's own install wrote that the package manager was locked: the cause, seen."""
    known = locks.lock_table and not locks.unread
    now = f"; now {held}" if held else ("; no lock is held now" if known else "")
    return failed(
        ISSUE,
        f"GuardDuty's install found the package manager locked by another process "
        f"({quoted(lines[-1].line)}, run {lines[-1].run}){now}.",
        evidence=sign_lines(lines),
        fix=(LOCK_FIX,),
    )


@rule(
    "host.install_script_executes",
    title="SSM steps' scripts can be executed and find their commands (no exit 126 or 127)",
    facts=(SSM_STEP_OUTPUTS,),
    optional=(HOST_MOUNTS,),
    issues=(ISSUE,),
)
def install_script_executes(steps: StepOutputs, mounts: "Optional[HostMounts]") -> Verdict:
    if not steps.runs and not steps.signs:
        return not_applicable(
            "no step output kept under /var/lib/amazon/ssm/*/document/orchestration: "
            "no document ran here, or the SSM agent cleaned its outputs."
        )
    exits = steps.of("exit_126", "exit_127")
    if not exits:
        return passed(
            f"no step output shows exit status 126 or 127 ({steps.files} output file(s) of "
            f"{steps.runs} run(s) read{', the newest only' if steps.truncated else ''})."
        )
    gd = [s for s in exits if s.guardduty]
    first = (gd or exits)[0]
    seen = f"(run {first.run}) exited {first.sign[5:]}: {quoted(first.line)}"
    why = _exit_meaning(first, mounts)
    fix = (EXIT_FIX[first.sign].format(first.subject or "see the quoted line"),)
    if not gd:
        return warned(
            f"a step that is not GuardDuty's {seen} ({why}); GuardDuty's steps run the same way.",
            sign_lines(exits),
            fix,
        )
    return failed(ISSUE, f"GuardDuty's step {seen}: {why}.", sign_lines(gd), fix)


def _exit_meaning(sign: StepSign, mounts: "Optional[HostMounts]") -> str:
    """126: found but not executable; 127: not found (POSIX, XCU 2.8.2)."""
    if sign.sign == "exit_127":
        return f"the command {sign.subject or 'it runs'} was not found"
    places = mounts.places if mounts is not None else ()
    noexec = next(
        (pm for pm in places if pm.place.path == SSM_DATA and pm.mount and pm.mount.noexec), None
    )
    on = (
        f" (it lies on the noexec mount {noexec.mount.mount_point})"
        if noexec and noexec.mount
        else ""
    )
    return f"the script was found but could not be executed{on}"
