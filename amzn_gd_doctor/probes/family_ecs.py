"""An ECS container instance: its cluster (ECS_CLUSTER) and the ECS agent's version.

Files only: ecs-init's unit and /etc/ecs/ecs.config on the ECS-optimized AMIs (Bottlerocket's
ECS variants render ECS_CLUSTER into a systemd drop-in instead), and the ECS agent's start line
in /var/log/ecs/ecs-agent.log and its hourly rotations. The logs are root-only; without root
their problem is named, not raised.
"""

from typing import TYPE_CHECKING, List, Optional, Tuple

from .. import lazy_re
from ..facts.family import FAMILY_ECS, EcsInstance
from ..host.protocols import FILES
from ..probing import probe
from .family_text import listing, parse_os_release, read_text, value_of

if TYPE_CHECKING:
    from ..host.protocols import FilesPart
    from ..probing import ProbeContext

# aws/amazon-ecs-agent: packaging/amazon-linux-ami-integrated (ecs.service, ecs-init), and
# ecs-init/config/common.go (/etc/ecs/ecs.config, /var/log/ecs). Bottlerocket: core-kit
# packages/ecs-agent (ecs.service, and ECS_CLUSTER in the drop-in 10-base.conf).
UNIT_FILES = (
    "/usr/lib/systemd/system/ecs.service",
    "/lib/systemd/system/ecs.service",
    "/etc/systemd/system/ecs.service",
)
INIT = "/usr/libexec/amazon-ecs-init"
CONFIGS = ("/etc/ecs/ecs.config", "/var/lib/ecs/ecs.config")
DROP_IN = "/etc/systemd/system/ecs.service.d/10-base.conf"
LOG_DIR = "/var/log/ecs"
AGENT_LOG = "ecs-agent.log"
# ecs.config is a few dozen lines.
CONFIG_LIMIT = 64 * 1024
# The agent logs its version once, when it starts; it rotates its log hourly and keeps 24
# (ecs-agent/logger: DEFAULT_MAX_ROLL_COUNT), so the start line is in one of them. Each is
# read from its end, at most LOG_TAIL bytes (an hour of the agent at info level is tens of
# KiB), at most LOG_BUDGET bytes over all of them, which an evidence bundle also keeps.
MAX_LOG_FILES = 25  # ecs-agent.log and its 24 rotations
LOG_TAIL = 256 * 1024
LOG_BUDGET = 2 * 1024 * 1024

# Three forms, oldest first: seelog "Amazon ECS agent Version: 1.17.1, Commit: 2be41090"
# (1.17.3 to 1.59), the same inside logfmt's msg="..." (1.36 to 1.59), and from 1.60.0 on the
# structured `msg="Starting Amazon ECS Agent" version="1.68.2" commit="..."` (logfmt) or
# `"msg":"Starting Amazon ECS Agent","version":"1.68.2"` (JSON); fields may come in any order.
_OLD_RE = lazy_re.compile(r"Amazon ECS [Aa]gent Version: v?([0-9]+\.[0-9]+(?:\.[0-9]+)?)")
_NEW_RE = lazy_re.compile(r"""\bversion"?[=:]"?v?([0-9]+\.[0-9]+(?:\.[0-9]+)?)""")
STARTING = "Starting Amazon ECS Agent"


def parse_agent_version(text: str) -> "Optional[str]":
    """The version in the latest start line of an ECS agent log, e.g. from
    ``level=info time=2026-06-30T10:00:00Z msg="Starting Amazon ECS Agent" version="1.105.1"
    commit="8dfceca6"`` -> "1.105.1"; None when the text holds no start line."""
    for line in reversed(text.splitlines()):
        old = _OLD_RE.search(line)
        if old:
            return old[1]
        if STARTING in line:
            new = _NEW_RE.search(line.split(STARTING, 1)[1])
            if new:
                return new[1]
    return None


def parse_cluster(text: str) -> "Optional[str]":
    """ECS_CLUSTER from ecs.config (``ECS_CLUSTER=qa-platform``) or from Bottlerocket's
    drop-in (``Environment=ECS_CLUSTER="prod"``); None when it does not set it."""
    lines = [line.strip() for line in text.splitlines()]
    lines = [
        line[len("Environment=") :] if line.startswith("Environment=") else line for line in lines
    ]
    found = parse_os_release("\n".join(lines)).get("ECS_CLUSTER")
    return None if found is None else value_of(found, 255)


def _logs(files: "FilesPart", problems: "List[str]") -> "Tuple[str, ...]":
    """ecs-agent.log first, then its rotations, newest first (their names end in the hour)."""
    names = [n for n in listing(files, LOG_DIR, problems) if n.startswith(AGENT_LOG)]
    rotated = sorted((n for n in names if n != AGENT_LOG), reverse=True)
    return tuple(f"{LOG_DIR}/{n}" for n in ([AGENT_LOG] if AGENT_LOG in names else []) + rotated)


def _version(files: "FilesPart", problems: "List[str]") -> "Tuple[str, str]":
    spent = 0
    for path in _logs(files, problems)[:MAX_LOG_FILES]:
        if spent >= LOG_BUDGET:
            break
        try:
            data = files.read_bytes(path, LOG_TAIL, tail=True)
        except PermissionError:
            problems.append(f"permission denied reading {path} (run as root)")
            break
        except OSError:
            continue  # rotated away while we looked
        spent += len(data)
        found = parse_agent_version(data.decode("utf-8", "replace"))
        if found:
            return found, path
    return "", ""


@probe(FAMILY_ECS, parts=(FILES,))
def ecs(ctx: "ProbeContext", files: "FilesPart") -> EcsInstance:
    """Whether this is an ECS container instance, in which cluster, with which ECS agent."""
    problems: List[str] = []
    signs = tuple(p for p in UNIT_FILES + (INIT, DROP_IN) + CONFIGS if files.exists(p))
    if not signs:
        return EcsInstance(False)
    cluster, source = "", ""
    for path in (DROP_IN,) + CONFIGS:
        text = read_text(files, path, CONFIG_LIMIT, problems)
        found = parse_cluster(text) if text is not None else None
        if found is not None:
            cluster, source = found, path
            break
    version, where = _version(files, problems)
    return EcsInstance(True, cluster, source, version, where, signs, tuple(problems))
