"""Host causes in the filesystems (docs/causes.md): a noexec or read-only mount, or a full disk,
where GuardDuty's install runs and writes. Pure functions of host.mounts, host.disk_space and,
for what corroborates them, ssm.step_outputs and ssm.logs.
"""

from typing import Dict, List, Optional

from ..facts.causes import (
    HOST_DISK_SPACE,
    HOST_MOUNTS,
    SSM_DATA,
    SSM_STEP_OUTPUTS,
    HostDiskSpace,
    HostMounts,
    Mount,
    PlaceMount,
    PlaceSpace,
    StepOutputs,
)
from ..facts.ssm import SSM_LOGS, SsmLogs
from ..model import Confidence, Verdict, failed, passed, warned
from ..numbers import fmt_bytes
from ..registry import rule
from .causes_common import ISSUE, corroboration, quoted, sign_lines

NOEXEC_FIX = (
    "Remount the filesystem that holds /var/lib/amazon/ssm with exec (`findmnt -T "
    "/var/lib/amazon/ssm`, then `sudo mount -o remount,exec <mount point>`) and drop noexec "
    "from its line in /etc/fstab. AWS: give /var/log/amazon and /var/lib/amazon partitions of "
    "their own, mounted with exec (Patch Manager troubleshooting). Then let the association "
    "run again (or re-apply it: `aws ssm start-associations-once --association-ids <id>`)."
)
READ_ONLY_FIX = (
    "Find why the filesystem is read-only (`findmnt -T /var/lib/amazon/ssm`, `dmesg | grep -i "
    "'remount\\|error'`: ext4 remounts itself read-only after I/O errors), repair it "
    "(`fsck` from a rescue instance if needed) and remount it read-write, then restart the "
    "SSM agent."
)
FULL_FIX = (
    "Free room on that filesystem (`df -h /var/lib/amazon/ssm; df -i /var/lib/amazon/ssm`; "
    "old logs under /var/log, `sudo journalctl --vacuum-size=200M`, package caches: `sudo "
    "apt-get clean`, `sudo yum clean all` or `sudo dnf clean all`) or grow the volume, then "
    "restart the SSM agent and let the association run again."
)
# Free room below which GuardDuty's install cannot be done: the SSM agent refuses its own
# update under 100 MB (agent/updateutil/updateutil.go, "Insufficient available disk space"),
# the least SSM itself asks for to download and install a package.
INSTALL_FULL_BYTES = 100 * 1024 * 1024
# Below this it still fits, just: five times that, room for a download, its unpacked copy and
# the SSM agent's log rolls (30 MB each, seelog_unix.xml).
INSTALL_LOW_BYTES = 5 * INSTALL_FULL_BYTES
# Inodes: an association run writes tens of files (its state, orchestration folder, the
# package downloaded and unpacked); under a thousand, a handful of runs use them up.
FULL_INODES = 1000
LOW_INODES = 10 * FULL_INODES
# Where the agents only log, a place is full when not one more roll of a log fits in it.
LOG_FULL_BYTES = 1024 * 1024


def _mount(m: Mount) -> str:
    """``/var (xfs /dev/nvme1n1p1: rw,nosuid,nodev,noexec)``; a filesystem read-only under a
    read-write mount (ext4's errors=remount-ro) shows its own options too."""
    own = f"; filesystem {','.join(m.super_options)}" if "ro" in m.super_options else ""
    return f"{m.mount_point} ({m.fs_type} {m.source}: {','.join(m.options)}{own})"


def _grouped(places: "List[PlaceMount]") -> str:
    """``/var/lib/amazon/ssm and /var/lib/dpkg are on / (ext4 ...)``: places by their mount."""
    by_mount: Dict[str, List[PlaceMount]] = {}
    for pm in places:
        by_mount.setdefault(pm.mount.mount_point if pm.mount else "", []).append(pm)
    parts = []
    for group in by_mount.values():
        paths = [pm.place.path for pm in group]
        names = ", ".join(paths[:-1]) + " and " + paths[-1] if len(paths) > 1 else paths[0]
        verb = "are" if len(paths) > 1 else "is"
        parts.append(f"{names} {verb} on {_mount(group[0].mount) if group[0].mount else '?'}")
    return "; ".join(parts)


def _on(pm: PlaceMount) -> str:
    assert pm.mount is not None
    return f"{pm.place.path} is on {_mount(pm.mount)}"


@rule(
    "host.mounts_allow_install",
    title="The install's and the agents' directories are on mounts that allow exec and writes",
    facts=(HOST_MOUNTS,),
    optional=(SSM_STEP_OUTPUTS, SSM_LOGS),
    issues=(ISSUE,),
)
def mounts_allow_install(
    mounts: HostMounts, steps: "Optional[StepOutputs]", logs: "Optional[SsmLogs]"
) -> Verdict:
    held = [pm for pm in mounts.places if pm.mount is not None]
    noexec = [pm for pm in held if pm.mount and pm.mount.noexec and pm.place.executes]
    read_only = [pm for pm in held if pm.mount and pm.mount.read_only and pm.place.path != "/tmp"]
    ssm = next((pm for pm in noexec if pm.place.path == SSM_DATA), None)
    if ssm is not None:
        return _noexec_ssm(ssm, steps)
    if any(pm.place.install for pm in read_only):
        return _read_only(read_only, steps, logs)
    if noexec or read_only:
        return warned(
            "noexec or read-only: "
            + "; ".join(
                f"{_on(pm)}: {pm.place.role} cannot "
                + ("run programs" if pm in noexec else "be written")
                for pm in noexec + read_only
            )
            + "."
        )
    return _clean(mounts, held)


def _clean(mounts: HostMounts, held: "List[PlaceMount]") -> Verdict:
    """Where /var/lib/amazon/ssm lies, and a noexec /tmp named (CIS hardening sets it) without
    a warning: no public source says GuardDuty's install uses /tmp."""
    tmp = any(pm.place.path == "/tmp" and pm.mount and pm.mount.noexec for pm in held)
    note = "; /tmp is noexec, which no public source ties to GuardDuty's install" if tmp else ""
    where = next((f"; {_on(pm)}" for pm in held if pm.place.path == SSM_DATA), "")
    return passed(
        f"no place the install or the agents use is on a noexec or read-only mount "
        f"({mounts.mounts} mounts read{where}{note})."
    )


def _noexec_ssm(pm: PlaceMount, steps: "Optional[StepOutputs]") -> Verdict:
    """noexec under /var/lib/amazon/ssm fails every runShellScript step with exit 126 (the SSM
    Patch Manager troubleshooting page): confirmed when a step's output shows it."""
    denied = [s for s in (steps.of("exit_126") if steps else ()) if "Permission denied" in s.line]
    seen = f"; a step's output shows it: {quoted(denied[0].line)}" if denied else ""
    return failed(
        ISSUE,
        f"the SSM agent's data directory {_on(pm)}, which is noexec: the SSM agent runs every "
        f"document step (and "
        f"Distributor's `sh install.sh` for GuardDuty's package) from there, so each exits 126 "
        f"with Permission denied{seen}.",
        evidence=sign_lines(denied),
        fix=(NOEXEC_FIX,),
        confidence=Confidence.CONFIRMED if denied else Confidence.LIKELY,
    )


def _read_only(
    places: "List[PlaceMount]", steps: "Optional[StepOutputs]", logs: "Optional[SsmLogs]"
) -> Verdict:
    """A read-only mount under the install's places: nothing can be written there. The one
    public report of the symptom (aws/amazon-ssm-agent#90, "Plugin with name ... not found") is
    a single source, so the diagnosis stays suspected."""
    also = corroboration(steps, logs, "plugin_not_found")
    return failed(
        ISSUE,
        f"read-only: {_grouped(places)}; the SSM agent cannot write the documents it runs nor "
        "Distributor unpack and install GuardDuty's package"
        + (
            f"; the SSM agent reported {quoted(also[0])}, what a read-only or full root is "
            "reported to look like (aws/amazon-ssm-agent#90)"
            if also
            else ""
        )
        + ".",
        evidence=also,
        fix=(READ_ONLY_FIX,),
        confidence=Confidence.SUSPECTED,
    )


def _room(ps: PlaceSpace) -> str:
    inodes = f", {ps.free_inodes} inodes" if ps.total_inodes else ""
    where = "" if ps.measured == ps.place.path else f", measured at {ps.measured}"
    free = f"{fmt_bytes(ps.free_bytes)} free of {fmt_bytes(ps.total_bytes)}"
    return f"{ps.place.path}: {free}{inodes}{where}"


def _short(ps: PlaceSpace, floor_bytes: int, floor_inodes: int) -> bool:
    inodes = ps.total_inodes > 0 and ps.free_inodes < floor_inodes
    return ps.free_bytes < floor_bytes or inodes


@rule(
    "host.disk_not_full",
    title="Room left where the install and the agents write (bytes and inodes)",
    facts=(HOST_DISK_SPACE,),
    optional=(SSM_STEP_OUTPUTS, SSM_LOGS),
    issues=(ISSUE,),
)
def disk_not_full(
    space: HostDiskSpace, steps: "Optional[StepOutputs]", logs: "Optional[SsmLogs]"
) -> Verdict:
    install = [ps for ps in space.places if ps.place.install]
    full = [ps for ps in install if _short(ps, INSTALL_FULL_BYTES, FULL_INODES)]
    if full:
        return _full(full, steps, logs)
    low = [ps for ps in install if _short(ps, INSTALL_LOW_BYTES, LOW_INODES)]
    logs_full = [
        ps for ps in space.places if not ps.place.install and _short(ps, LOG_FULL_BYTES, 1)
    ]
    if low or logs_full:
        return warned(
            "little room left: "
            + "; ".join(_room(ps) for ps in low + logs_full)
            + f" (GuardDuty's install needs over {fmt_bytes(INSTALL_FULL_BYTES)} and "
            f"{FULL_INODES} inodes)."
        )
    if not space.places:
        return warned(f"no place could be measured: {'; '.join(space.problems)}.")
    # The figures go in the evidence: they change from one run to the next, what they show
    # does not.
    return passed(
        f"room left wherever the install writes: over {fmt_bytes(INSTALL_LOW_BYTES)} and "
        f"{LOW_INODES} inodes free in each of {len(install)} place(s).",
        evidence=tuple(_room(ps) for ps in space.places),
    )


def _full(
    full: "List[PlaceSpace]", steps: "Optional[StepOutputs]", logs: "Optional[SsmLogs]"
) -> Verdict:
    """A full filesystem under the install: the cause is seen; that the install failed of it
    is confirmed only by "no space left on device" in its output or the SSM agent's log."""
    nospace = corroboration(steps, logs, "no_space", "disk_full", "disk_insufficient")
    also = nospace or corroboration(steps, logs, "plugin_not_found")
    said = f"; the SSM agent reported {quoted(also[0])}" if also else ""
    return failed(
        ISSUE,
        "full: "
        + "; ".join(_room(ps) for ps in full)
        + f": Distributor cannot download and unpack GuardDuty's package there (it needs "
        f"over {fmt_bytes(INSTALL_FULL_BYTES)} and {FULL_INODES} inodes){said}.",
        evidence=also,
        fix=(FULL_FIX,),
        confidence=Confidence.CONFIRMED if nospace else Confidence.LIKELY,
    )
