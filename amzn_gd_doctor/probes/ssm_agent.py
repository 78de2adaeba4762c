"""The SSM agent on this host: how it is installed (deb, rpm or snap), its systemd unit, and
whether its process runs.

The package database (see ssm_packages), the units part, the snap directory and /proc/*/comm.
Where systemd is not asked (under --root) the unit files and enablement symlinks say what they
can, and the unit's runtime state is then unknown; /proc is read if one was captured. Needs no
privilege.
"""

from typing import TYPE_CHECKING, Dict, Optional, Tuple

from ..facts.ssm import SSM_AGENT, SsmAgent
from ..host.protocols import FILES, PACKAGES, UNITS
from ..host.units import UnitFilesOnly, UnitShow
from ..numbers import ascii_digits
from ..probing import probe
from ..sanitize import clean
from .ssm_packages import package_record, parse_snap_version

if TYPE_CHECKING:
    from ..host.protocols import FilesPart, PackagesPart, UnitsPart
    from ..probing import ProbeContext

UNIT = "amazon-ssm-agent.service"
SNAP_DIR = "/snap/amazon-ssm-agent/current"
SNAP_UNIT = "snap.amazon-ssm-agent.amazon-ssm-agent.service"
BINARY = "/usr/bin/amazon-ssm-agent"
# /proc/<pid>/comm holds at most 15 characters, so the agent shows truncated.
AGENT_COMM = b"amazon-ssm-agen"
SHOW_PROPS = ("LoadState", "ActiveState", "SubState", "Result", "NRestarts", "UnitFileState")
UNIT_DIRS = ("/etc/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system")
# Far above any real process table; a bound so the scan cannot run away.
MAX_PIDS = 65536
COMM_LIMIT = 64
# snap.yaml of the agent is under 2 KiB.
SNAP_META_LIMIT = 64 * 1024


def parse_systemctl_show(stdout: bytes) -> "Dict[str, str]":
    """``LoadState=loaded\\nActiveState=active\\nSubState=running\\nNRestarts=0`` -> dict."""
    props = {}
    for line in stdout.decode("utf-8", "replace").splitlines():
        key, sep, value = line.partition("=")
        if sep and key in SHOW_PROPS:
            props[key] = clean(value.strip(), 80)
    return props


def scan_processes(files: "FilesPart") -> "Optional[Tuple[int, ...]]":
    """Pids whose comm is the agent's; None when there is no process table to read."""
    try:
        pids = [int(n) for n in files.list_dir("/proc") if ascii_digits(n)][:MAX_PIDS]
    except OSError:
        return None
    found = []
    for pid in pids:
        try:
            if files.read_bytes(f"/proc/{pid}/comm", COMM_LIMIT).strip() == AGENT_COMM:
                found.append(pid)
        except OSError:
            continue  # the process exited while we looked
    return tuple(found) if pids else None


def unit_file_state(files: "FilesPart", unit: str) -> "Dict[str, str]":
    """UnitFileState read from the unit's files: a link to /dev/null masks, a wants/ link
    enables."""
    try:
        if files.readlink(f"/etc/systemd/system/{unit}") == "/dev/null":
            return {"UnitFileState": "masked"}
    except OSError:
        pass  # not a symlink, or absent
    if files.exists(f"/etc/systemd/system/multi-user.target.wants/{unit}"):
        return {"UnitFileState": "enabled"}
    if any(files.exists(f"{d}/{unit}") for d in UNIT_DIRS):
        return {"UnitFileState": "disabled"}
    return {}


@probe(SSM_AGENT, parts=(PACKAGES, UNITS, FILES), timeout=8.0)
def agent(
    ctx: "ProbeContext", packages: "PackagesPart", units: "UnitsPart", files: "FilesPart"
) -> SsmAgent:
    """Installed, how, which version, and running: what makes the host an SSM managed node."""
    notes = []
    installed, how, version = package_record(packages)
    unit = UNIT
    if files.is_dir(SNAP_DIR):
        unit, installed = SNAP_UNIT, True
        if not how:
            how = "snap"
            try:
                version = parse_snap_version(
                    files.read_bytes(f"{SNAP_DIR}/meta/snap.yaml", SNAP_META_LIMIT)
                )
            except OSError:
                version = None
    runtime = True  # whether systemd was asked for the unit's runtime state
    shown = units.show(unit, SHOW_PROPS)
    state: Dict[str, str] = {}
    if isinstance(shown, UnitFilesOnly):  # the unit's files say what they can
        runtime = False
        state = unit_file_state(files, unit)
        notes.append(shown.note)
    elif isinstance(shown, UnitShow):  # (without systemd, systemctl would say nothing)
        state = parse_systemctl_show(shown.result.stdout)
        if shown.result.not_found:
            notes.append("systemctl not found: unit state unknown")
    if not installed and (
        state.get("LoadState") == "loaded" or state.get("UnitFileState") or files.exists(BINARY)
    ):
        installed, how = True, "files"
    pids = scan_processes(files)
    running = bool(pids) or state.get("ActiveState") == "active"
    known = running or pids is not None or (runtime and "ActiveState" in state)
    if not known:
        notes.append("no /proc captured in the tree: whether the agent runs is unknown")
    found = installed  # a package, snap, unit or binary of it
    if pids and not installed:
        # A running agent is an installed one, wherever its binary lives (a container, a path
        # of its own): the host is SSM managed, whatever no package or unit says.
        installed, how = True, "process"
    return SsmAgent(
        installed,
        running,
        known,
        how,
        version,
        unit if found else None,
        state,
        pids or (),
        tuple(notes),
    )
