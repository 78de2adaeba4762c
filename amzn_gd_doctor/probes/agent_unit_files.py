"""The agent's unit as files describe it: the unit file, its drop-ins, the enablement and
masking links, and system.conf's DefaultLimitMEMLOCK. Read where systemd is not asked (the
units part says so, under --root). Registers no probe; needs no privilege.
"""

import re
import shlex
from typing import TYPE_CHECKING, Dict, List, Mapping, Optional, Tuple

from .. import lazy_re
from ..facts.agent import UNIT, Memlock
from ..sanitize import clean
from ..values import field, value
from .agent_common import UNIT_DIRS, parse_size

if TYPE_CHECKING:
    from ..host.protocols import FilesPart

# Unit files and drop-ins are under 4 KiB; system.conf about 2 KiB.
UNIT_FILE_LIMIT = 64 * 1024
MAX_DROP_INS = 32
# systemd's default RLIMIT_MEMLOCK before v253; from v253 on it is 8 MiB. Every distribution
# whose kernel is 5.10 or older (where the limit matters) ships a systemd before 253.
SYSTEMD_DEFAULT_MEMLOCK = 64 * 1024
# A unit sets a handful of variables; more is not a service's environment.
MAX_VARIABLES = 64
VALUE_CHARS = 2048

_QUOTA_RE = lazy_re.compile(r"^([0-9]{1,6})(?:\.([0-9]+))?%$", re.ASCII)


@value
class UnitFiles:
    masked: bool
    fragment: "Optional[str]"  # the unit file systemd would load, None when there is none
    enabled: bool = False
    memory_max: "Optional[int]" = None
    memory_limit: "Optional[int]" = None
    cpu_quota_per_sec_us: "Optional[int]" = None
    environment: "Mapping[str, str]" = field(default_factory=dict)
    memlock: "Optional[Memlock]" = None
    memlock_source: str = ""


def parse_environment(assignments: "List[str]") -> "Dict[str, str]":
    """Environment= lines as systemd splits them:
    ``HTTPS_PROXY=http://10.0.0.5:3128 "NO_PROXY=a b"`` -> {"HTTPS_PROXY": ..., "NO_PROXY": "a b"};
    values made printable and cut, at most MAX_VARIABLES."""
    found: Dict[str, str] = {}
    for text in assignments:
        try:
            words = shlex.split(text)
        except ValueError:
            words = text.split()
        for word in words:
            key, sep, value = word.partition("=")
            if sep and key and len(found) < MAX_VARIABLES:
                found[clean(key, 100)] = clean(value, VALUE_CHARS)
    return found


def parse_unit_settings(texts: "List[bytes]") -> "Dict[str, List[str]]":
    """[Service] assignments of a unit file then its drop-ins, in order; an empty assignment
    resets a list (``Environment=``). ``MemoryMax=128M`` -> {"MemoryMax": ["128M"]}."""
    settings: Dict[str, List[str]] = {}
    for data in texts:
        section = ""
        for raw in data.decode("utf-8", "replace").splitlines():
            line = raw.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("[") and line.endswith("]"):
                section = line[1:-1]
                continue
            key, sep, value = line.partition("=")
            if not sep or section not in ("Service", "Manager"):
                continue
            key, value = key.strip(), value.strip()
            if value == "":
                settings[key] = []
            else:
                settings.setdefault(key, []).append(value)
    return settings


def parse_memlock_setting(value: str) -> "Optional[Memlock]":
    """``32M`` -> (32M, 32M); ``64K:32M`` -> (64K, 32M); ``infinity`` -> (None, None)."""
    soft_text, _, hard_text = value.partition(":")
    hard_text = hard_text or soft_text

    def one(text: str) -> "Tuple[bool, Optional[int]]":
        if text.strip() == "infinity":
            return True, None
        size = parse_size(text)
        return size is not None, size

    ok_soft, soft = one(soft_text)
    ok_hard, hard = one(hard_text)
    return (soft, hard) if ok_soft and ok_hard else None


def parse_cpu_quota(text: str) -> "Optional[int]":
    """``CPUQuota=10%`` -> 100000 (microseconds of CPU per second); at most six digits of
    percent (a host has far fewer than 10,000 CPUs) and ASCII digits only, else None."""
    match = _QUOTA_RE.match(text)
    if not match:
        return None
    hundredths = int(match[1]) * 100 + (int(match[2].ljust(2, "0")[:2]) if match[2] else 0)
    return hundredths * 100


def _read_optional(files: "FilesPart", path: str) -> "Optional[bytes]":
    try:
        return files.read_bytes(path, UNIT_FILE_LIMIT)
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None


def _conf_dir(files: "FilesPart", directory: str) -> "List[bytes]":
    if not files.is_dir(directory):
        return []
    names = sorted(n for n in files.list_dir(directory) if n.endswith(".conf"))[:MAX_DROP_INS]
    return [d for d in (_read_optional(files, f"{directory}/{n}") for n in names) if d is not None]


def _wants_dirs(files: "FilesPart") -> "List[str]":
    if not files.is_dir("/etc/systemd/system"):
        return []
    return [n for n in files.list_dir("/etc/systemd/system") if n.endswith((".wants", ".requires"))]


def _files_memlock(
    files: "FilesPart", unit_value: "Optional[str]"
) -> "Tuple[Optional[Memlock], str]":
    """The unit's LimitMEMLOCK, else DefaultLimitMEMLOCK from system.conf (and its drop-ins),
    else systemd's built-in default as that systemd would apply it."""
    if unit_value:
        return parse_memlock_setting(unit_value), "LimitMEMLOCK in the unit"
    texts = [_read_optional(files, "/etc/systemd/system.conf") or b""]
    for directory in ("/usr/lib/systemd/system.conf.d", "/etc/systemd/system.conf.d"):
        texts += _conf_dir(files, directory)
    values = parse_unit_settings(texts).get("DefaultLimitMEMLOCK")
    if values:
        return parse_memlock_setting(values[-1]), "DefaultLimitMEMLOCK in system.conf"
    return (
        (SYSTEMD_DEFAULT_MEMLOCK, SYSTEMD_DEFAULT_MEMLOCK),
        "systemd's default (nothing in the unit or system.conf sets it)",
    )


def read_unit_files(files: "FilesPart") -> UnitFiles:
    """The unit as its files describe it (files under /etc win over /usr/lib and /lib)."""
    try:
        if files.readlink(f"/etc/systemd/system/{UNIT}") == "/dev/null":
            return UnitFiles(True, None)
    except OSError:
        pass  # not a symlink, or absent
    fragment = next((f"{d}/{UNIT}" for d in UNIT_DIRS if files.exists(f"{d}/{UNIT}")), None)
    if fragment is None:
        return UnitFiles(False, None)
    texts = [_read_optional(files, fragment) or b""]
    for directory in reversed(UNIT_DIRS):  # /etc drop-ins come last and win
        texts += _conf_dir(files, f"{directory}/{UNIT}.d")
    settings = parse_unit_settings(texts)

    def last(key: str) -> "Optional[str]":
        values = settings.get(key)
        return values[-1] if values else None

    memlock, source = _files_memlock(files, last("LimitMEMLOCK"))
    quota = last("CPUQuota")
    return UnitFiles(
        masked=False,
        fragment=fragment,
        enabled=any(files.exists(f"/etc/systemd/system/{d}/{UNIT}") for d in _wants_dirs(files)),
        memory_max=parse_size(last("MemoryMax") or ""),
        memory_limit=parse_size(last("MemoryLimit") or ""),
        cpu_quota_per_sec_us=parse_cpu_quota(quota or ""),
        environment=parse_environment(settings.get("Environment", [])),
        memlock=memlock,
        memlock_source=source,
    )
