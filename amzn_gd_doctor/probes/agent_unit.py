"""The agent's systemd unit: loaded, active, restarts, last exit, memory and CPU caps,
enablement, environment, locked-memory limit.

Asks the host's units part (host/units.py): `systemctl show` on a live host; when systemd is not
PID 1 (a container, a chroot) that is the value, never "inactive". Where systemd is not asked
(under --root) the unit's files say what they can (agent_unit_files): its runtime state is then
unknown. Needs no privilege.
"""

import re
from typing import TYPE_CHECKING, Dict, Mapping, Optional

from .. import lazy_re
from ..facts.agent import AGENT_UNIT, UNIT, AgentUnit, Systemd
from ..host import CouldNotLook
from ..host.protocols import FILES, UNITS
from ..host.units import NoSystemd, UnitFilesOnly
from ..numbers import parse_bytes, parse_count
from ..probing import probe
from ..sanitize import clean
from .agent_unit_files import parse_environment, read_unit_files

if TYPE_CHECKING:
    from ..host.protocols import FilesPart, UnitsPart
    from ..probing import ProbeContext

SHOW_PROPS = (
    "LoadState",
    "ActiveState",
    "SubState",
    "Result",
    "NRestarts",
    "ExecMainStatus",
    "ExecMainCode",
    "ExecMainStartTimestamp",
    "MainPID",
    "MemoryCurrent",
    "MemoryMax",
    "MemoryLimit",
    "CPUQuotaPerSecUSec",
    "UnitFileState",
    "FragmentPath",
    "Environment",
    "LimitMEMLOCK",
    "LimitMEMLOCKSoft",
)
NOT_BOOTED = "System has not been booted with systemd"

_TIMESPAN_RE = lazy_re.compile(
    r"(?<![0-9.])([0-9]{1,12})(?:\.([0-9]{1,6}))?\s*(us|ms|min|s|h)\b", re.ASCII
)
_SPAN_US = {"us": 1, "ms": 1000, "s": 1_000_000, "min": 60_000_000, "h": 3_600_000_000}
_UNSET = ("", "[not set]", "infinity", "18446744073709551615")


def parse_timespan_us(text: str) -> "Optional[int]":
    """``100ms`` -> 100000; ``1s 500ms`` -> 1500000; ``infinity`` -> None. A number is taken
    to twelve digits (a CPU quota per second is at most seven), so none can overflow."""
    parts = _TIMESPAN_RE.findall(text or "")
    if not parts:
        return None
    total = 0
    for whole, fraction, unit in parts:
        scale = _SPAN_US[unit]
        total += int(whole) * scale + (
            int(fraction) * scale // 10 ** len(fraction) if fraction else 0
        )
    return total


def parse_show(stdout: bytes) -> "Dict[str, str]":
    """``LoadState=loaded\\nActiveState=failed\\nResult=oom-kill\\n`` -> dict of every key;
    lines without ``=`` are skipped."""
    props = {}
    for line in stdout.decode("utf-8", "replace").splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() and " " not in key.strip():
            props[key.strip()] = value.strip()
    return props


def _int(text: "Optional[str]") -> "Optional[int]":
    """A count (NRestarts, MainPID, ExecMainStatus): ASCII digits only, at most 19 of them."""
    if text is None or text.strip() in _UNSET:
        return None
    return parse_count(text)


def _bytes(text: "Optional[str]") -> "Optional[int]":
    """A size in bytes (MemoryMax, LimitMEMLOCK): unset or infinity -> None, 2^63 or more ->
    SIZE_ABSURD."""
    if text is None or text.strip() in _UNSET:
        return None
    return parse_bytes(text)


def unit_from_show(props: "Mapping[str, str]") -> AgentUnit:
    """An AgentUnit from `systemctl show` properties (values cleaned, sizes in bytes)."""

    def text(key: str) -> "Optional[str]":
        value = props.get(key)
        return clean(value, 120) if value not in (None, "") else None

    soft, hard = props.get("LimitMEMLOCKSoft"), props.get("LimitMEMLOCK")
    memlock = None
    if hard is not None:
        memlock = (_bytes(soft if soft is not None else hard), _bytes(hard))
    pid = _int(props.get("MainPID"))
    return AgentUnit(
        systemd=Systemd.RUNNING,
        load_state=text("LoadState"),
        active_state=text("ActiveState"),
        sub_state=text("SubState"),
        result=text("Result"),
        n_restarts=_int(props.get("NRestarts")),
        exec_main_code=_code_name(props.get("ExecMainCode")),
        exec_main_status=_int(props.get("ExecMainStatus")),
        main_pid=pid or None,
        started=text("ExecMainStartTimestamp"),
        memory_current=_bytes(props.get("MemoryCurrent")),
        memory_max=_bytes(props.get("MemoryMax")),
        memory_limit=_bytes(props.get("MemoryLimit")),
        cpu_quota_per_sec_us=parse_timespan_us(props.get("CPUQuotaPerSecUSec", "")),
        unit_file_state=text("UnitFileState"),
        fragment_path=text("FragmentPath"),
        environment=parse_environment([props.get("Environment", "")]),
        memlock=memlock,
        memlock_source="systemctl show" if memlock else "",
    )


def _code_name(value: "Optional[str]") -> "Optional[str]":
    """ExecMainCode is a number in `systemctl show` (CLD_EXITED=1, CLD_KILLED=2, CLD_DUMPED=3)."""
    names = {"1": "exited", "2": "killed", "3": "dumped"}
    if value is None or value.strip() in ("", "0"):
        return None
    return names.get(value.strip(), clean(value.strip(), 20))


def unit_from_files(files: "FilesPart") -> AgentUnit:
    """What the unit's files say (systemd not asked); its runtime state is unknown."""
    found = read_unit_files(files)
    if found.masked:
        return AgentUnit(Systemd.UNIT_FILES, "masked", unit_file_state="masked")
    if found.fragment is None:
        return AgentUnit(Systemd.UNIT_FILES, "not-found")
    return AgentUnit(
        systemd=Systemd.UNIT_FILES,
        load_state="loaded",
        memory_max=found.memory_max,
        memory_limit=found.memory_limit,
        cpu_quota_per_sec_us=found.cpu_quota_per_sec_us,
        unit_file_state="enabled" if found.enabled else "disabled",
        fragment_path=found.fragment,
        environment=found.environment,
        memlock=found.memlock,
        memlock_source=found.memlock_source,
    )


@probe(AGENT_UNIT, parts=(UNITS, FILES))
def unit(ctx: "ProbeContext", units: "UnitsPart", files: "FilesPart") -> AgentUnit:
    """The unit as systemd sees it, or as its files describe it where systemd is not asked."""
    shown = units.show(UNIT, SHOW_PROPS)
    if isinstance(shown, NoSystemd):  # nothing to ask
        return AgentUnit(Systemd.NOT_RUNNING, detail=shown.reason)
    if isinstance(shown, UnitFilesOnly):
        return unit_from_files(files)
    res = shown.result
    if res.not_found:
        return AgentUnit(Systemd.NOT_RUNNING, detail="systemctl is not installed")
    stderr = clean(" ".join(res.stderr.decode("utf-8", "replace").split()), 200)
    if NOT_BOOTED in stderr:
        return AgentUnit(Systemd.NOT_RUNNING, detail=stderr)
    props = parse_show(res.stdout)
    if res.returncode != 0 or "LoadState" not in props:
        raise CouldNotLook(
            f"`systemctl show {UNIT}` failed (exit {res.returncode}): {stderr or 'no output'}"
        )
    return unit_from_show(props)
