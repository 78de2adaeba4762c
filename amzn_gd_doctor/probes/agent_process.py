"""The agent's running process: pid, memory (RSS), start time, its locked-memory limit
(/proc/<pid>/limits) and the proxy variables it runs with (/proc/<pid>/environ).

Live: psutil, by systemd's MainPID and by name. Under --root: the tree's /proc if one was
captured. limits is world-readable; environ needs root (without it the proxies are unknown).
"""

from typing import TYPE_CHECKING

from ..facts.agent import AgentProcess
from ..registry import probe
from .agent_common import PROCESS_PREFIX

if TYPE_CHECKING:
    from ..doctor import ProbeContext

# The agent's own processes: its name is cut to 15 characters in comm; a full command line
# (`/usr/bin/amazon-guardduty-agent`) starts with the same prefix.
NAMES = (PROCESS_PREFIX,)


@probe("agent.process", needs=("agent.unit",))
def process(ctx: "ProbeContext") -> AgentProcess:
    """Which agent processes run now, with their limits and proxy environment."""
    unit = ctx.fact("agent.unit")
    main_pid = getattr(unit.value, "main_pid", None) if unit.ok else None
    pids = (main_pid,) if main_pid else ()
    found = ctx.host.find_processes(NAMES, pids)
    return AgentProcess(found, main_pid)
